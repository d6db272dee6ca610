#!/bin/sh
echo "analysis tools ready"
