from setuptools import setup

setup(name="attrs", version="24.2.0", py_modules=[])
