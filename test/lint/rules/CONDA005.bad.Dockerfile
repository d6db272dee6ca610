FROM continuumio/miniconda3:4.8.2
RUN conda update -y --all && conda clean -afy
