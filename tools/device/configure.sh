# Sourced by the device scripts (needs $ROOT), the GPU machine's one build configuration:
#  - pkg-config finds the carried Debian PCRE2 (.pcre2), or a stub when none was carried and none
#    is installed (enough for scripts that build kernels/ targets only);
#  - cpp-httplib from the carried .httplib (httplib_pc.sh); without it app/server is dropped from
#    this copy of the tree (the GPU image has no libcpp-httplib-dev) and DEVICE_NOTE says so;
#  - STB_DIR: the carried .stb headers, or an empty folder when none were carried;
#  - configure_device_build SRC BUILD [cmake args]: Release, CUDA on, OpenCV and the desktop off.
#   carry: .stb .pcre2 .httplib   (tools/device/prepare_carry.sh)
mkdir -p "$ROOT/build-pc"
if [ -f "$ROOT/.pcre2/include/pcre2.h" ]; then
  printf 'Name: libpcre2-8\nDescription: carried Debian PCRE2\nVersion: 10.42\nLibs: -L%s -lpcre2-8 -Wl,-rpath,%s\nCflags: -I%s\n' \
    "$ROOT/.pcre2/lib" "$ROOT/.pcre2/lib" "$ROOT/.pcre2/include" > "$ROOT/build-pc/libpcre2-8.pc"
elif ! pkg-config --exists libpcre2-8 2>/dev/null; then
  printf 'Name: libpcre2-8\nDescription: stub (kernels/ targets only)\nVersion: 10.42\nLibs: -lpcre2-8\nCflags:\n' \
    > "$ROOT/build-pc/libpcre2-8.pc"
fi
export PKG_CONFIG_PATH=$ROOT/build-pc:${PKG_CONFIG_PATH:-}
. "$ROOT/tools/device/httplib_pc.sh"
DEVICE_NOTE=
if ! pkg-config --exists cpp-httplib 2>/dev/null && [ -d "$ROOT/app/server" ]; then
  sed -i '/add_subdirectory(server)/d; s/ mvl_server / /' "$ROOT/app/CMakeLists.txt"
  sed -i '/add_serve_command(app, run);/d' "$ROOT/app/cli/main.cpp"
  rm -rf "$ROOT/app/cli/cmd_serve.cpp" "$ROOT/tests/server"
  DEVICE_NOTE="note: built without app/server (no cpp-httplib on this machine)"
  echo "$DEVICE_NOTE"
fi
STB_DIR=$ROOT/.stb
[ -f "$STB_DIR/stb_image.h" ] || { STB_DIR=$ROOT/build-pc/stb-missing; mkdir -p "$STB_DIR"; }
configure_device_build() {  # configure_device_build SRC BUILD [extra cmake args]
  local src=$1 b=$2; shift 2
  cmake -S "$src" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMVL_CUDA=ON -DMVL_OPENCV=OFF \
    -DMVL_DESKTOP=OFF -DSTB_INCLUDE_DIR="$STB_DIR" "$@"
}
