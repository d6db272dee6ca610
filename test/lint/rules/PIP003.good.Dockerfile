FROM python:3.8-slim
RUN pip install --no-cache-dir --upgrade pip
