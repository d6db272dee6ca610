FROM debian:12
LABEL maintainer="john.doe@nowhere.com"
