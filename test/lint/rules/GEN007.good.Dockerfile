FROM debian:12
ARG MINIFORGE_VERSION=24.3.0-0
RUN wget -q "https://github.com/conda-forge/miniforge/releases/download/${MINIFORGE_VERSION}/Miniforge3-Linux-x86_64.sh"
RUN echo "latest and greatest" > /etc/motd
