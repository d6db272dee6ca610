FROM continuumio/miniconda3:4.8.2
RUN conda install -y -c conda-forge astropy "numpy>=1.16" && conda clean -afy
