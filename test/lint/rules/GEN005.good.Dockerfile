FROM debian:12
WORKDIR /opt
RUN mkdir -p /tmp/tool-build \
      && cd /tmp/tool-build \
      && make install \
      && cd / \
      && rm -rf /tmp/tool-build
