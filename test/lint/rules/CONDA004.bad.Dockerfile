FROM continuumio/miniconda3:4.8.2
ARG ASTRO_VERSION="3.2.3"
RUN conda install -y --no-update-deps astropy==$ASTRO_VERSION
RUN mamba create -y -n sci python=3.11
