from setuptools import setup

setup(name="attrs", version="23.2.0", py_modules=[])
