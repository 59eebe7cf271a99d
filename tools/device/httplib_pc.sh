# Sourced by the tools/device/ scripts: where .httplib/ was carried (Debian's cpp-httplib 0.11:
# its header, its shared library, OpenSSL's headers and the libssl/brotli libraries it links;
# see prepare_carry.sh),
# writes build-pc/cpp-httplib.pc so CMake's pkg-config finds it and `minimax-vl serve` builds
# on the GPU image, which has no libcpp-httplib-dev. Uses $ROOT.
if [ -f "$ROOT/.httplib/include/httplib.h" ] && ! pkg-config --exists cpp-httplib 2>/dev/null; then
  mkdir -p "$ROOT/build-pc"
  # -DCPPHTTPLIB_OPENSSL_SUPPORT as Debian built the library: it adds a member to
  # httplib::Request, so compiling without it would mismatch the library's layout (OpenSSL's
  # headers and libssl3 are carried too). ZLIB/BROTLI only change internal classes.
  printf 'Name: cpp-httplib\nDescription: carried Debian cpp-httplib\nVersion: 0.11.4\nLibs: -L%s -lcpp-httplib -Wl,-rpath,%s -pthread\nCflags: -I%s -DCPPHTTPLIB_OPENSSL_SUPPORT\n' \
    "$ROOT/.httplib/lib" "$ROOT/.httplib/lib" "$ROOT/.httplib/include" > "$ROOT/build-pc/cpp-httplib.pc"
  export PKG_CONFIG_PATH=$ROOT/build-pc:${PKG_CONFIG_PATH:-}
  # The library's own dependencies are not found through our binary's rpath: where the image
  # lacks one of them, the carried copies go on LD_LIBRARY_PATH.
  for lib in libssl.so.3 libcrypto.so.3 libbrotlidec.so.1 libbrotlienc.so.1 libbrotlicommon.so.1; do
    if ! ldconfig -p 2>/dev/null | grep -q "$lib"; then
      export LD_LIBRARY_PATH=$ROOT/.httplib/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      break
    fi
  done
fi
