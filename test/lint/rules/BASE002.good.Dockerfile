FROM jupyterhub/jupyterhub:1.0@sha256:2bd3ea9602f61aa719a4f9458c64966c9cd839145cec08f0f1980124595dbd69
CMD ["/bin/bash"]
