FROM debian:12 AS base
ENV LANG="C.UTF-8" LC_ALL="C.UTF-8"
FROM base
CMD ["/bin/bash"]
