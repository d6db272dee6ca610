FROM jupyterhub/jupyterhub:1.0
COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /usr/local/bin/uv
CMD ["/bin/bash"]
