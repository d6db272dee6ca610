FROM continuumio/miniconda3:4.8.2
ARG ASTRO_VERSION="3.2.3"
COPY requirements.yaml /requirements.yaml
RUN conda install -y --no-update-deps astropy==$ASTRO_VERSION numpy=1.19.1=py38_0 \
    && conda install -y --no-deps --file /requirements.yaml \
    && conda clean -ay
