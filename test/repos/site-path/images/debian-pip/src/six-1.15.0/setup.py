from setuptools import setup

setup(name="six", version="1.15.0", py_modules=[])
