FROM python:3.8-slim
RUN pip install --no-cache-dir astropy "numpy>=1.16" scipy~=1.5
