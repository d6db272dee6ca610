FROM debian:12
RUN cd /opt && make install
