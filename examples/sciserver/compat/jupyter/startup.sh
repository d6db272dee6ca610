#!/bin/sh
echo "starting Jupyter for SciServer"
