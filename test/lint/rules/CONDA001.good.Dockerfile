FROM continuumio/miniconda3:4.8.2
RUN conda create -y -n myenv python=3.8 && conda clean -afy
SHELL ["conda", "run", "--name", "myenv", "bash", "-c"]
RUN python -c 'import numpy'
