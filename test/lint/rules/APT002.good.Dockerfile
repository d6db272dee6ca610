FROM debian:12
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && apt-get -qq install --no-install-recommends gfortran \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
