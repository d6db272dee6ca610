FROM condaforge/miniforge3:24.3.0-0
RUN pip install --no-cache-dir astropy==6.0.1
