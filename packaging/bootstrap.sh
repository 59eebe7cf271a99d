#!/usr/bin/env bash
# One-step setup for minimax-vl on Debian 12 / Ubuntu 24.04 (as root or with sudo).
#   packaging/bootstrap.sh demo   install missing packages, configure, build, run the demo
#   packaging/bootstrap.sh test   same setup, then run the whole test suite (ctest)
#   packaging/bootstrap.sh build  setup and build only
#   packaging/bootstrap.sh fuzz [SECONDS]  also install clang-14 + libclang-rt-14-dev, then run
#                                  tools/fuzz/run_fuzzers.sh (libFuzzer, own build in build-fuzz)
# Options (after the mode): --build-dir DIR (default: build), --sanitize (ASan+UBSan build
# in build-asan), --targets "T1 T2..." (build only these targets; `test` then runs only the
# tests of the test executables built), --package (afterwards: build the .deb, install it with
# apt-get and ask the installed minimax-vl a question from /), any -D... flag goes to cmake.
set -euo pipefail

mode="${1:-}"
[ -n "$mode" ] && shift || true
case "$mode" in
  demo|test|build) ;;
  fuzz) fuzz_seconds="${1:-30}"; [ $# -gt 0 ] && shift ;;
  *) echo "usage: packaging/bootstrap.sh demo|test|build|fuzz [--build-dir DIR] [--sanitize] [-DKEY=VALUE...]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$root/build"
cmake_args=()
targets=()
package=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$(realpath -m "$2")"; shift 2 ;;
    --sanitize) build_dir="$root/build-asan"; cmake_args+=("-DMVL_SANITIZE=address,undefined" "-DCMAKE_BUILD_TYPE=RelWithDebInfo"); shift ;;
    --targets) read -r -a targets <<<"$2"; shift 2 ;;
    --package) package=1; shift ;;
    -D*) cmake_args+=("$1"); shift ;;
    *) echo "bootstrap.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

# ---- 1. Debian packages (only the missing ones) ------------------------------------
packages=(build-essential cmake ninja-build pkg-config ccache file
  libopencv-core-dev libopencv-imgcodecs-dev libopencv-imgproc-dev libstb-dev
  libimgui-dev libglfw3-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev
  nlohmann-json3-dev libpcre2-dev libicu-dev
  libcpp-httplib-dev curl python3-venv
  libedit-dev tmux
  libmd4c-dev xvfb xauth fonts-noto-cjk fonts-symbola)
# The fuzz step only: clang and its libFuzzer/sanitizer runtimes.
[ "$mode" = fuzz ] && packages+=(clang-14 libclang-rt-14-dev)
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$mode" = fuzz ]; then
  exec "$root/tools/fuzz/run_fuzzers.sh" "$fuzz_seconds"
fi

# ---- 2. configure + build ------------------------------------------------------------
jobs="$(nproc)"
t0=$SECONDS
echo "== configuring in $build_dir"
cmake -S "$root" -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
build_args=()
[ ${#targets[@]} -gt 0 ] && build_args=(--target "${targets[@]}")
echo "== building with $jobs jobs ${targets[*]}"
cmake --build "$build_dir" -j "$jobs" "${build_args[@]}"
echo "== built in $((SECONDS - t0)) s"

# ---- 3. the job ---------------------------------------------------------------------
cli="$build_dir/app/minimax-vl"
case "$mode" in
  build) echo "== built $cli" ;;
  test)
    echo "== running the test suite"
    t1=$SECONDS
    # With --targets, the unbuilt test executables show up as <name>_NOT_BUILT; they, and the
    # tests that need the whole build (install, the server's Python client), are left out.
    ctest_filter=()
    [ ${#targets[@]} -gt 0 ] && ctest_filter=(-E '_NOT_BUILT$|^install_test$|^server_openai_')
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 900 "${ctest_filter[@]}"
    echo "== tests passed in $((SECONDS - t1)) s"
    ;;
  demo)
    "$root/packaging/demo.sh" "$cli"
    ;;
esac

# ---- 4. the .deb (--package) ---------------------------------------------------------
# The .deb's Depends are Debian package names (dpkg-shlibdeps), so it is made from a CPU-only
# build: the CUDA 13 libraries are not Debian packages. A CUDA build dir gets a CPU twin.
if [ "$package" = 1 ]; then
  deb_dir="$build_dir"
  if grep -q '^MVL_CUDA_ENABLED:INTERNAL=ON' "$build_dir/CMakeCache.txt"; then
    deb_dir="$build_dir-deb"
    echo "== configuring a CPU-only build for the .deb in $deb_dir"
    cmake -S "$root" -B "$deb_dir" -G Ninja -DMVL_CUDA=OFF -DMVL_TESTS=OFF "${cmake_args[@]}" >/dev/null
  fi
  echo "== building the .deb"
  cmake --build "$deb_dir" -j "$jobs" --target deb
  deb=$(ls -t "$deb_dir"/minimax-vl_*.deb | head -n 1)
  echo "== installing $deb"
  dpkg-deb --field "$deb" Depends
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
  echo "== the installed minimax-vl, from /"
  (cd / && /usr/bin/minimax-vl --version && \
    /usr/bin/minimax-vl ask --image /usr/share/minimax-vl/samples/invoice.png -n 16 "What is the total amount due?")
  echo "== .deb installed and answered: $deb"
fi
