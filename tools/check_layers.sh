#!/bin/sh
# The layer check (design.md "Dependency rules"), run by ctest as `layer_check` (label cpu).
# Prints one `file:line: why` per include that crosses a layer the wrong way, and one
# `file:N: ...` per source file over 800 lines; exits 1 when it printed any, 0 otherwise.
#   usage: tools/check_layers.sh [ROOT]    (ROOT defaults to this checkout's top)
# Plain POSIX sh + find + awk; tests/ may include anything (they test every layer). There is no
# allow-list: an include that breaks a rule is moved, or the rule is changed here with a reason.
#
# Layers: kernels <- vision, llm <- app/engine <- app/{cli,desktop,eval,server}.
#   kernels/core   includes only kernels/core
#   kernels/*      never includes vision/, llm/ or app/
#   vision/, llm/  never include each other; no app/, no kernels/cuda or kernels/bench
#                  (device code is reached through kernels/ops)
#   app/engine     no front end, no kernels/cuda; kernels/bench only from app/engine/inspect/
#                  (bench's kernel-level replica and timing, fronted by inspect/kernel_bench.h)
#   front ends     app/engine, their own folder, kernels/core and kernels/ops only
#                  (app/cli, the command dispatcher, may also include the other front ends)
#   tools/ etc.    never include app/
# Third-party headers: CUDA (cuda*.h, cublas*, nccl, cub/thrust/cute/cutlass, any .cuh) only in
# kernels/cuda, kernels/comm, kernels/bench; imgui/GLFW only in app/desktop; HTTP libraries
# only in app/server.
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2
MAX_LINES=800

DIRS=
for d in kernels vision llm app tools tests; do [ -d "$d" ] && DIRS="$DIRS $d"; done
[ -n "$DIRS" ] || { echo "check_layers: no kernels/ vision/ llm/ app/ under $ROOT" >&2; exit 2; }

# shellcheck disable=SC2086  # DIRS is a list of plain folder names
find $DIRS -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) \
  ! -path 'tests/golden/*' -print | LC_ALL=C sort | tr '\n' '\0' |
  xargs -0 awk -v max="$MAX_LINES" '
function fail(line, msg) { printf "%s:%d: %s\n", FILENAME, line, msg; bad = 1 }
function finish(file, n) {
  if (file != "" && n > max) { printf "%s:%d: %d lines, over the %d-line limit; split it by concept\n", file, n, n, max; bad = 1 }
}
function area(p,   a) {  # the layer a repo path belongs to
  split(p, a, "/")
  if (a[1] == "kernels") return (a[2] == "core" ? "core" : "kernels/" a[2])
  if (a[1] == "app") return (a[2] == "engine" ? "engine" : "front")
  return a[1]
}
BEGIN {
  cuda_re = "(^|/)(cuda|cublas|cudnn|curand|cufft|cusparse|cusolver|nccl|nvrtc|nvToolsExt)[A-Za-z0-9_]*\\.h$|^(cub|thrust|cute|cutlass|cuda)/|\\.cuh$"
  gui_re = "(^|/)(imgui[A-Za-z0-9_]*\\.h|GLFW/)"
  http_re = "^(httplib\\.h|microhttpd\\.h|civetweb\\.h|CivetServer\\.h|mongoose\\.h|crow(\\.h|/)|drogon/|pistache/|cpprest/|boost/beast|curl/|uWebSockets/|oatpp/)"
}
FNR == 1 { finish(prev, prev_n); prev = FILENAME; src = area(FILENAME); split(FILENAME, sp, "/") }
{ prev_n = FNR }
/^[ \t]*#[ \t]*include[ \t]*[<"]/ {
  line = $0
  sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
  quoted = substr(line, 1, 1) == "\""
  inc = substr(line, 2)
  sub(/[">].*$/, "", inc)
  if (src == "tests") next
  split(inc, t, "/")
  ours = quoted && (t[1] == "kernels" || t[1] == "vision" || t[1] == "llm" || t[1] == "app")
  if ((!ours || inc ~ /\.cuh$/) && inc ~ cuda_re && src != "kernels/cuda" && src != "kernels/comm" && src != "kernels/bench")
    fail(FNR, "includes CUDA header \"" inc "\"; CUDA headers belong in kernels/cuda, kernels/comm or kernels/bench only")
  if (!ours && inc ~ gui_re && !(sp[1] == "app" && sp[2] == "desktop"))
    fail(FNR, "includes GUI header \"" inc "\"; ImGui/GLFW belong in app/desktop only")
  if (!ours && inc ~ http_re && !(sp[1] == "app" && sp[2] == "server"))
    fail(FNR, "includes HTTP library header \"" inc "\"; HTTP belongs in app/server only")
  if (!ours) next
  dst = area(inc)
  why = ""
  if (src == "core" && dst != "core") why = "kernels/core includes only kernels/core"
  else if (src ~ /^kernels\// && t[1] != "kernels") why = "kernels/ never includes vision/, llm/ or app/ (layers: kernels <- vision, llm <- app/engine <- front ends)"
  else if ((src == "vision" && t[1] == "llm") || (src == "llm" && t[1] == "vision")) why = "vision/ and llm/ never include each other"
  else if (src != "front" && src != "engine" && t[1] == "app") why = "nothing outside app/ includes app/"
  else if (src == "engine" && dst == "kernels/bench") { if (sp[3] != "inspect") why = "app/engine reaches kernels/bench only from app/engine/inspect/ (benchmark tooling)" }
  else if ((src == "vision" || src == "llm" || src == "engine") && (dst == "kernels/cuda" || dst == "kernels/bench")) why = src "/ reaches device code through kernels/ops, not " t[1] "/" t[2] "/"
  else if (src == "engine" && dst == "front") why = "app/engine never includes a front end (app/" t[2] "/)"
  else if (src == "front") {
    own = (t[1] == "app" && t[2] == sp[2])
    ok = own || dst == "engine" || dst == "core" || dst == "kernels/ops" || (sp[2] == "cli" && dst == "front")
    if (!ok) why = "front ends (app/" sp[2] "/) include app/engine, kernels/core and kernels/ops only, not " t[1] "/" (t[1] == "kernels" ? t[2] "/" : "")
  }
  if (why != "") fail(FNR, "includes \"" inc "\": " why)
}
END { finish(prev, prev_n); exit bad }
'
# xargs reports 123 when any awk run found a violation.
[ $? -eq 0 ] || exit 1
