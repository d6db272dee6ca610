FROM condaforge/miniforge3:24.3.0-0
RUN mamba install -y astropy=6.0.1 && mamba clean -afy
RUN conda run -n sci pip install --no-cache-dir astropy==6.0.1
