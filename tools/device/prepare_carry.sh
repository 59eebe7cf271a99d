#!/usr/bin/env bash
# Fills the git-ignored folders session_check.sh carries to the GPU machine (which has no stb
# or PCRE2): .stb (Debian's stb_image*.h), .pcre2 (Debian's PCRE2 header and library) and
# .base (a base commit's tree without its goldens, for before/after timings).
#   tools/device/prepare_carry.sh [BASE_COMMIT]      (default f105f07, the end of session 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-f105f07}
rm -rf .stb .pcre2 .base
mkdir -p .stb .pcre2/include .pcre2/lib .base
cp /usr/include/stb/stb_image.h /usr/include/stb/stb_image_write.h /usr/include/stb/stb_image_resize.h .stb/
cp /usr/include/pcre2.h .pcre2/include/
cp -a /usr/lib/x86_64-linux-gnu/libpcre2-8.so* .pcre2/lib/
git archive "$base" -- . ':!tests/golden' | tar -x -C .base
git rev-parse --short "$base" > .base/BASE_COMMIT
du -sh .stb .pcre2 .base
