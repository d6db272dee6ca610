# syntax=docker/dockerfile:1
FROM python:3.8-slim
RUN pip --no-cache-dir install astropy==3.2.3
RUN --mount=type=cache,target=/root/.cache/pip pip install numpy==1.19.1
ENV PIP_NO_CACHE_DIR=1
RUN pip install scipy==1.5.2
