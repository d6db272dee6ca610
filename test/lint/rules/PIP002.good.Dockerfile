FROM python:3.8-slim
ARG ASTRO_VERSION="3.2.3"
COPY requirements.txt /tmp/
RUN pip install --no-cache-dir astropy==$ASTRO_VERSION -r /tmp/requirements.txt . \
    && pip install --no-cache-dir --upgrade pip \
    && pip install --no-cache-dir -c /tmp/constraints.txt numpy
