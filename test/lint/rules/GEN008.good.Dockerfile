ARG BASE=debian:12
FROM ${BASE}
RUN echo fine
