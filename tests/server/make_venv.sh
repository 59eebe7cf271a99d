#!/bin/sh
# ctest fixture for the openai-client test: a fresh venv in the build tree with the official
# `openai` package from PyPI. Fails (and so fails the suite) when PyPI cannot be reached;
# the product itself never needs Python.
set -eu
venv="$1"
python3 -m venv --clear "$venv"
"$venv/bin/pip" install --disable-pip-version-check --no-cache-dir -q --timeout 60 openai
"$venv/bin/python" -c 'import openai; print("openai", openai.__version__)'
