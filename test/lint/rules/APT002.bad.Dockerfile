FROM debian:12
RUN apt-get update \
    && apt-get install --no-install-recommends build-essential gfortran \
    && rm -rf /var/lib/apt/lists/*
