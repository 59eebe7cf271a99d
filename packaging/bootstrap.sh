#!/usr/bin/env bash
# One-step setup for minimax-vl on Debian 12 / Ubuntu 24.04 (as root or with sudo).
#   packaging/bootstrap.sh demo   install missing packages, configure, build, run the demo
#   packaging/bootstrap.sh test   same setup, then run the whole test suite (ctest)
#   packaging/bootstrap.sh build  setup and build only
# Options (after the mode): --build-dir DIR (default: build), --sanitize (ASan+UBSan build
# in build-asan), any -D... flag is passed to cmake.
set -euo pipefail

mode="${1:-}"
[ -n "$mode" ] && shift || true
case "$mode" in
  demo|test|build) ;;
  *) echo "usage: packaging/bootstrap.sh demo|test|build [--build-dir DIR] [--sanitize] [-DKEY=VALUE...]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$root/build"
cmake_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$(realpath -m "$2")"; shift 2 ;;
    --sanitize) build_dir="$root/build-asan"; cmake_args+=("-DMVL_SANITIZE=address,undefined" "-DCMAKE_BUILD_TYPE=RelWithDebInfo"); shift ;;
    -D*) cmake_args+=("$1"); shift ;;
    *) echo "bootstrap.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

# ---- 1. Debian packages (only the missing ones) ------------------------------------
packages=(build-essential cmake ninja-build pkg-config ccache
  libopencv-core-dev libopencv-imgcodecs-dev libopencv-imgproc-dev libstb-dev
  libimgui-dev libglfw3-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev
  nlohmann-json3-dev libpcre2-dev libicu-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- 2. configure + build ------------------------------------------------------------
jobs="$(nproc)"
t0=$SECONDS
echo "== configuring in $build_dir"
cmake -S "$root" -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
echo "== building with $jobs jobs"
cmake --build "$build_dir" -j "$jobs"
echo "== built in $((SECONDS - t0)) s"

# ---- 3. the job ---------------------------------------------------------------------
cli="$build_dir/app/minimax-vl"
case "$mode" in
  build) echo "== built $cli" ;;
  test)
    echo "== running the test suite"
    t1=$SECONDS
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 900
    echo "== tests passed in $((SECONDS - t1)) s"
    ;;
  demo)
    "$root/packaging/demo.sh" "$cli"
    ;;
esac
