FROM debian:12
ADD https://example.org/tool-1.2.tar.gz /tmp/
ADD git@github.com:example/tool.git /src/tool
