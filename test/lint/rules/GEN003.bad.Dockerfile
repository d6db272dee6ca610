FROM debian:12
ENTRYPOINT /usr/local/bin/start.sh --verbose
