FROM continuumio/miniconda3:4.8.2
RUN conda install -y python=3.8.5 && conda clean -afy
