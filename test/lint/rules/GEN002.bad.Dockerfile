FROM debian:12 AS build
CMD ["make"]
FROM debian:12
ENV LANG=C.UTF-8
