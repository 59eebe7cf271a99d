#!/bin/sh
# ctest fixture for the openai-client test: a fresh venv in the build tree with the official
# `openai` package from PyPI (the product itself never needs Python). Where PyPI cannot be
# reached (no network, or a TLS proxy this machine does not trust, as in a brand-new root
# behind an egress proxy) it exits 77: ctest reports the test as skipped, never as passed.
set -eu
venv="$1"
python3 -m venv --clear "$venv"
if ! "$venv/bin/pip" install --disable-pip-version-check --no-cache-dir -q --timeout 60 --retries 1 openai; then
  echo "make_venv: could not install 'openai' from PyPI; the openai-client test is skipped" >&2
  exit 77
fi
"$venv/bin/python" -c 'import openai; print("openai", openai.__version__)'
