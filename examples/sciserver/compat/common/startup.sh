#!/bin/sh
echo "starting SciServer container"
