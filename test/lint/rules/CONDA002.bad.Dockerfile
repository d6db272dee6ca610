FROM continuumio/miniconda3:4.8.2
RUN conda create -y -n myenv python=3.8 numpy=1.19 && conda clean -afy
RUN python -c 'import numpy'
