FROM python:3.12-slim
WORKDIR /app
COPY requirements.lock /app/
RUN pip install --no-cache-dir --no-deps --require-hashes -r requirements.lock
COPY . /app
RUN python -m compileall /app
