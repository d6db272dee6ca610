ARG OS_VERSION="18.04"
FROM ubuntu:${OS_VERSION} AS build
FROM build
FROM scratch
COPY --from=build /etc/os-release /os-release
FROM jupyterhub/jupyterhub@sha256:2bd3ea9602f61aa719a4f9458c64966c9cd839145cec08f0f1980124595dbd69
CMD ["/bin/bash"]
