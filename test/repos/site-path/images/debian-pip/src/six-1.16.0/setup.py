from setuptools import setup

setup(name="six", version="1.16.0", py_modules=[])
