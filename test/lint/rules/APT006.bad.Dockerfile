FROM debian:12
RUN echo hello
CMD ["/bin/bash"]
