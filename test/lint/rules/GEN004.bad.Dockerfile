FROM debian:12
MAINTAINER John Doe <john.doe@nowhere.com>
