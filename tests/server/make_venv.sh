#!/bin/sh
# ctest fixture for the openai-client test: a fresh venv in the build tree with the official
# `openai` package from PyPI (the product itself never needs Python), every file pinned by
# sha256 in openai-requirements.txt and installed with --require-hashes.
#
# A brand-new root behind a TLS-intercepting egress proxy (CI's fresh Debian root) does not
# trust the proxy's CA, so the verified download fails there. Then the install is retried with
# PyPI's hosts marked trusted: TLS no longer vouches for the bytes, but the pinned hashes do
# (pip refuses any file whose sha256 differs, and so does this script: a mismatch fails the
# test). Where PyPI cannot be reached at all it exits 77: ctest reports the test as skipped,
# never as passed.
set -eu
venv="$1"
req="$(dirname "$0")/openai-requirements.txt"
python3 -m venv --clear "$venv"
log="$venv.pip.log"
install() {
  if "$venv/bin/pip" install --disable-pip-version-check --no-cache-dir -q --timeout 60 --retries 1 \
    --only-binary :all: --require-hashes -r "$req" "$@" > "$log" 2>&1; then
    return 0
  fi
  if grep -q "DO NOT MATCH THE HASHES" "$log"; then
    cat "$log" >&2
    echo "make_venv: a downloaded file does not match its pinned sha256 (see above): refusing it" >&2
    exit 1
  fi
  tail -3 "$log" >&2
  return 1
}
if ! install; then
  echo "make_venv: verified download failed; retrying with PyPI's hosts trusted (the hashes still check every file)" >&2
  if ! install --trusted-host pypi.org --trusted-host files.pythonhosted.org; then
    echo "make_venv: could not install 'openai' from PyPI; the openai-client test is skipped" >&2
    exit 77
  fi
fi
"$venv/bin/python" -c 'import openai; print("openai", openai.__version__)'
