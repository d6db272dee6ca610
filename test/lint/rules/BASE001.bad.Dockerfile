ARG BASE=ubuntu
FROM jupyterhub/jupyterhub
FROM python:latest AS tools
FROM ${BASE}
COPY --from=busybox /bin/busybox /bin/busybox
CMD ["/bin/bash"]
