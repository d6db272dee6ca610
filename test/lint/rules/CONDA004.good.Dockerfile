# syntax=docker/dockerfile:1
FROM continuumio/miniconda3:4.8.2
ARG ASTRO_VERSION="3.2.3"
RUN conda install -y --no-update-deps astropy==$ASTRO_VERSION \
      && conda clean -ay
RUN --mount=type=cache,target=/opt/conda/pkgs mamba install -y numpy=1.19.1
