from setuptools import setup

setup(name="packaging", version="24.2", py_modules=[])
