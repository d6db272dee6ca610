FROM debian:12
RUN apt-get update && apt-get -y upgrade && apt-get dist-upgrade -y \
    && rm -rf /var/lib/apt/lists/*
