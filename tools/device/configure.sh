# Sourced by the device scripts (needs $ROOT): points pkg-config at the carried Debian PCRE2
# (.pcre2) and cpp-httplib (.httplib), drops app/server from the copy when no cpp-httplib is
# there, and defines `configure_device_build BUILD_DIR [cmake args]`: the GPU machine's build
# (Release, CUDA on, OpenCV and the desktop off, the carried .stb headers).
#   carry: .stb .pcre2 .httplib   (tools/device/prepare_carry.sh)
mkdir -p "$ROOT/build-pc"
if [ -f "$ROOT/.pcre2/include/pcre2.h" ]; then
  printf 'Name: libpcre2-8\nDescription: carried Debian PCRE2\nVersion: 10.42\nLibs: -L%s -lpcre2-8 -Wl,-rpath,%s\nCflags: -I%s\n' \
    "$ROOT/.pcre2/lib" "$ROOT/.pcre2/lib" "$ROOT/.pcre2/include" > "$ROOT/build-pc/libpcre2-8.pc"
fi
export PKG_CONFIG_PATH=$ROOT/build-pc:${PKG_CONFIG_PATH:-}
. "$ROOT/tools/device/httplib_pc.sh"
if ! pkg-config --exists cpp-httplib 2>/dev/null && [ -d "$ROOT/app/server" ]; then
  sed -i '/add_subdirectory(server)/d; s/ mvl_server / /' "$ROOT/app/CMakeLists.txt"
  sed -i '/add_serve_command(app, run);/d' "$ROOT/app/cli/main.cpp"
  rm -rf "$ROOT/app/cli/cmd_serve.cpp" "$ROOT/tests/server"
  echo "note: built without app/server (no cpp-httplib on this machine)"
fi
configure_device_build() {  # configure_device_build BUILD_DIR [extra cmake args]
  local b=$1; shift
  cmake -S "$ROOT" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMVL_CUDA=ON -DMVL_OPENCV=OFF \
    -DMVL_DESKTOP=OFF -DSTB_INCLUDE_DIR="$ROOT/.stb" "$@"
}
