FROM debian:12
ARG DEBIAN_FRONTEND=noninteractive
ENV LANG=C.UTF-8
RUN DEBIAN_FRONTEND=noninteractive apt-get update && rm -rf /var/lib/apt/lists/*
