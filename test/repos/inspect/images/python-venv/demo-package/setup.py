from setuptools import setup

setup(name="demo-package", version="1.2.3", packages=["demo_package"], description="A package for strata's tests")
