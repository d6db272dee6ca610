FROM debian:12
ENV DEBIAN_FRONTEND="noninteractive"
ENV DEBIAN_FRONTEND noninteractive
ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
