FROM python:3.8-slim
RUN pip install --no-cache-dir --upgrade pip numpy==1.19.1
RUN pip install --no-cache-dir -U -r /requirements.txt
