from setuptools import setup

setup(name="packaging", version="24.1", py_modules=[])
