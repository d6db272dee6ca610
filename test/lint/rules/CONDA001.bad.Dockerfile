FROM continuumio/miniconda3:4.8.2
RUN conda create -y -n myenv python=3.8 && conda clean -afy
RUN source activate myenv
RUN conda activate myenv && python -c 'import numpy'
