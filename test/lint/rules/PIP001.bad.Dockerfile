FROM python:3.8-slim
RUN pip install astropy==3.2.3
RUN python3 -m pip install numpy==1.19.1
