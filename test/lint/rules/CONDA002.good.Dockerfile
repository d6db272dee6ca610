FROM continuumio/miniconda3:4.8.2
RUN conda create -y -n myenv python=3.8 numpy=1.19 && conda clean -afy
RUN conda run -n myenv python -c 'import numpy'
ENV PATH=/opt/conda/envs/myenv/bin:$PATH
RUN python -c 'import numpy'
