#!/usr/bin/env bash
# `cmake --install` gives a complete install that works with no source or build tree around:
# it installs into a temporary prefix, then from / runs the installed minimax-vl (--version,
# and ask about an installed sample page, which must use the installed bundled model) and
# checks the desktop entry, its icon and the docs.
#   tests/packaging/install_test.sh BUILD_DIR
set -euo pipefail
build=$1
prefix=$(mktemp -d /tmp/mvl-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
cli="$prefix/bin/minimax-vl"
[ -x "$cli" ] || fail "no $cli"
share="$prefix/share/minimax-vl"
for f in models/tiny-docs/config.json models/tiny-docs/tokenizer.json samples/invoice.png \
         tokenizer/minimax_like.json; do
  [ -f "$share/$f" ] || fail "missing share/minimax-vl/$f"
done
[ -f "$prefix/share/doc/minimax-vl/README.md" ] || fail "missing the README in share/doc"
ls "$prefix"/share/doc/minimax-vl/docs/*.md >/dev/null 2>&1 || fail "missing docs/*.md in share/doc"
if [ -x "$build/app/desktop/minimax-vl-desktop" ]; then
  [ -x "$prefix/bin/minimax-vl-desktop" ] || fail "the desktop app was built but not installed"
  entry="$prefix/share/applications/minimax-vl-desktop.desktop"
  [ -f "$entry" ] || fail "missing $entry"
  icon=$(sed -n 's/^Icon=//p' "$entry")
  [ -n "$icon" ] || fail "the desktop entry has no Icon="
  [ -f "$prefix/share/icons/hicolor/scalable/apps/$icon.svg" ] || fail "icon '$icon' is not installed"
fi

cd /
"$cli" --version | grep -q '^minimax-vl [0-9]' || fail "--version"
err=$(mktemp)
out=$("$cli" ask --image "$share/samples/invoice.png" -n 8 "What is the total amount due?" 2>"$err") ||
  { cat "$err" >&2; fail "ask exited $?"; }
[ -n "$out" ] || fail "ask printed no answer"
# The bundled model reads this page's total (the invoice says TOTAL DUE $513.81).
case "$out" in *513.81*) ;; *) fail "the installed default model answered '$out', not the invoice total 513.81" ;; esac
grep -q "($share/models/tiny-docs)" "$err" || { cat "$err" >&2; fail "ask did not use the installed bundled model"; }
rm -f "$err"
echo "install_test: ok ($prefix)"
