#!/usr/bin/env bash
# Fills the git-ignored folders session_check.sh carries to the GPU machine (which has no stb
# or PCRE2): .stb (Debian's stb_image*.h), .pcre2 (Debian's PCRE2 header and library),
# .httplib (Debian's cpp-httplib header + shared library, OpenSSL's headers, the libssl and
# brotli libraries it links,
# for `serve` there; tools/device/httplib_pc.sh) and .base (a base commit's tree without its
# goldens, for before/after timings).
#   tools/device/prepare_carry.sh [BASE_COMMIT]      (default f105f07, the end of session 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-f105f07}
rm -rf .stb .pcre2 .httplib .base
mkdir -p .stb .pcre2/include .pcre2/lib .httplib/include .httplib/lib .base
cp /usr/include/stb/stb_image.h /usr/include/stb/stb_image_write.h /usr/include/stb/stb_image_resize.h .stb/
cp /usr/include/pcre2.h .pcre2/include/
cp -a /usr/lib/x86_64-linux-gnu/libpcre2-8.so* .pcre2/lib/
cp /usr/include/httplib.h .httplib/include/
cp -a /usr/lib/x86_64-linux-gnu/libcpp-httplib.so* /usr/lib/x86_64-linux-gnu/libbrotli*.so.1* \
  /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3 .httplib/lib/
cp -r /usr/include/openssl .httplib/include/
cp /usr/include/x86_64-linux-gnu/openssl/*.h .httplib/include/openssl/
git archive "$base" -- . ':!tests/golden' | tar -x -C .base
git rev-parse --short "$base" > .base/BASE_COMMIT
# The tree sent along (for the rows the scripts print; the GPU copy has no .git).
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)" > .base/THIS_COMMIT
du -sh .stb .pcre2 .httplib .base
