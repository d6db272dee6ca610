FROM ubuntu:18.04
RUN apt-get update \
      && apt-get install -y --no-install-recommends \
           build-essential \
           gfortran
RUN apt-get clean all \
      && rm -r /var/lib/apt/lists/*
