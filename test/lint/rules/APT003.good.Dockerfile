FROM debian:12
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && apt-get install -y -o APT::Install-Recommends=false wget \
    && rm -rf /var/lib/apt/lists/*
