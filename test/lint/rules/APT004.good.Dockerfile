# syntax=docker/dockerfile:1
FROM ubuntu:18.04
RUN apt-get update \
      && apt-get install -y --no-install-recommends gfortran \
      && apt-get clean all \
      && rm -r /var/lib/apt/lists/*
RUN --mount=type=cache,target=/var/lib/apt,sharing=locked \
    --mount=type=cache,target=/var/cache/apt \
    apt-get update && apt-get install -y --no-install-recommends git
RUN <<EOF
set -e
apt-get update
apt-get install -y --no-install-recommends wget
rm -rf /var/lib/apt/lists/*
EOF
