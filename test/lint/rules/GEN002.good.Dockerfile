FROM debian:12 AS base
ENTRYPOINT ["tini", "--"]
FROM base
ENV LANG=C.UTF-8
