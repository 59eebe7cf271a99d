#!/bin/sh
# Proves tools/check_layers.sh can fail (ctest `layer_check_fixture`, label cpu): a clean
# fixture tree and a copy of this checkout's kernels/ vision/ llm/ app/ pass; each planted bad
# include (or an 801-line file) must make it exit 1 naming exactly the planted file:line.
#   usage: tools/check_layers_test.sh [ROOT]
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
CHECK="$ROOT/tools/check_layers.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/layer_check.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
failures=0

# A tiny tree that obeys every rule.
clean() {
  rm -rf "$TMP/t" && mkdir -p "$TMP/t" && cd "$TMP/t" || exit 2
  mkdir -p kernels/core kernels/ops kernels/cuda kernels/bench vision/model vision/image llm/model \
    app/engine/inspect app/cli app/desktop app/server tests/llm
  printf '#pragma once\n' > kernels/core/tensor.h
  printf '#pragma once\n#include "kernels/core/tensor.h"\n' > kernels/ops/linear.h
  printf '#include <cuda_runtime.h>\n#include "kernels/cuda/common.cuh"\n' > kernels/cuda/gemm.cu
  printf '#pragma once\n' > kernels/cuda/common.cuh
  printf '#include "kernels/ops/linear.h"\n#include "vision/model/vit.h"\n' > vision/model/vit.cpp
  printf '#pragma once\n' > vision/model/vit.h
  printf '#include <string>\n#include "kernels/ops/linear.h"\n' > llm/model/text_model.cpp
  printf '#pragma once\n' > llm/model/text_model.h
  printf '#include "vision/model/vit.h"\n#include "llm/model/text_model.h"\n' > app/engine/engine.cpp
  printf '#pragma once\n' > app/engine/engine.h
  printf '#pragma once\n' > kernels/bench/timing.h
  printf '#include "kernels/bench/timing.h"\n' > app/engine/inspect/kernel_bench.cpp
  printf '#include "app/engine/engine.h"\n#include "kernels/core/tensor.h"\n' > app/cli/cmd_ask.cpp
  printf '#include <imgui.h>\n#include <GLFW/glfw3.h>\n' > app/desktop/main.cpp
  printf '#include <httplib.h>\n#include "app/engine/engine.h"\n' > app/server/server.cpp
  printf '#include "app/cli/cmd_ask.h"\n#include "vision/model/vit.h"\n#include <cuda_runtime.h>\n' > tests/llm/x_test.cpp
}

# expect_pass NAME: the check exits 0 and prints nothing.
expect_pass() {
  out=$(sh "$CHECK" "$PWD" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL $1: expected a pass, got rc=$rc:"; echo "$out"; failures=$((failures + 1))
  else
    echo "ok   $1"
  fi
}

# expect_fail NAME FILE:LINE: the check exits 1 and names FILE:LINE: (and nothing else).
expect_fail() {
  out=$(sh "$CHECK" "$PWD" 2>&1)
  rc=$?
  if [ $rc -ne 1 ] || ! printf '%s\n' "$out" | grep -q "^$2: " || [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
    echo "FAIL $1: expected rc=1 and one line at $2, got rc=$rc:"; echo "$out"; failures=$((failures + 1))
  else
    echo "ok   $1: $out"
  fi
}

# plant NAME FILE:LINE TEXT: on a clean tree, put TEXT as line LINE of FILE (blank lines before it).
plant() {
  clean
  f=${2%:*}
  n=${2##*:}
  mkdir -p "$(dirname "$f")"
  : > "$f"
  i=1
  while [ $i -lt "$n" ]; do echo "// filler" >> "$f"; i=$((i + 1)); done
  printf '%s\n' "$3" >> "$f"
  expect_fail "$1" "$2"
}

clean
expect_pass "clean fixture"
plant "vision includes llm" vision/model/bad.cpp:3 '#include "llm/model/text_model.h"'
plant "llm includes vision" llm/model/bad.h:2 '#  include "vision/model/vit.h"'
plant "kernels include llm" kernels/ops/bad.cpp:4 '#include "llm/model/text_model.h"'
plant "core includes ops" kernels/core/bad.h:1 '#include "kernels/ops/linear.h"'
plant "llm includes app" llm/model/bad.cpp:5 '#include "app/engine/engine.h"'
plant "vision includes kernels/cuda" vision/model/bad.cpp:2 '#include "kernels/cuda/gemm.h"'
plant "engine includes a front end" app/engine/bad.cpp:2 '#include "app/cli/cmd_ask.h"'
plant "front end includes llm" app/desktop/bad.cpp:3 '#include "llm/model/text_model.h"'
plant "front end includes kernels/cuda" app/cli/bad.cpp:1 '#include "kernels/cuda/gemm.h"'
plant "front end includes kernels/bench" app/cli/bad.cpp:2 '#include "kernels/bench/timing.h"'
plant "front end includes vision" app/desktop/bad.h:4 '#include "vision/image/image.h"'
plant "engine core includes kernels/bench" app/engine/core/bad.cpp:2 '#include "kernels/bench/timing.h"'
plant "engine inspect includes kernels/cuda" app/engine/inspect/bad.cpp:3 '#include "kernels/cuda/gemm.h"'
plant "llm includes kernels/bench" llm/model/bad.cpp:1 '#include "kernels/bench/timing.h"'
plant "CUDA header outside kernels/cuda" llm/model/bad.cpp:2 '#include <cuda_runtime.h>'
plant "cublas outside kernels/cuda" kernels/ops/bad.cpp:6 '#include <cublasLt.h>'
plant ".cuh outside kernels/cuda" llm/model/bad.cu:2 '#include "helpers.cuh"'
plant "ImGui outside app/desktop" app/cli/bad.cpp:2 '#include <imgui.h>'
plant "GLFW outside app/desktop" app/engine/bad.cpp:3 '#include <GLFW/glfw3.h>'
plant "HTTP outside app/server" app/engine/bad.cpp:2 '#include <httplib.h>'
clean
i=0
while [ $i -lt 801 ]; do echo "int x$i;"; i=$((i + 1)); done > llm/model/long.cpp
expect_fail "801-line file" llm/model/long.cpp:801

# This checkout's own sources pass, and a bad include planted in a copy of them is caught.
rm -rf "$TMP/t" && mkdir -p "$TMP/t" && cd "$ROOT" || exit 2
for d in kernels vision llm app tools; do [ -d "$d" ] && cp -R "$d" "$TMP/t/"; done
cd "$TMP/t" || exit 2
expect_pass "copy of this checkout"
victim=$(find vision -name '*.cpp' | LC_ALL=C sort | head -n 1)
n=$(($(wc -l < "$victim") + 1))
echo '#include "llm/model/text_model.h"' >> "$victim"
expect_fail "copy with vision including llm" "$victim:$n"

[ $failures -eq 0 ] && echo "all layer-check cases behave" && exit 0
echo "$failures layer-check case(s) misbehaved"
exit 1
