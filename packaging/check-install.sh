#!/usr/bin/env bash
# `make dist-check`, C part 2: the top-level `make install PREFIX=...` puts
# the header, the libraries (with the SONAME link) and the pkg-config file
# under PREFIX, a program builds against them with pkg-config, and
# `make uninstall PREFIX=...` removes every file it installed.
#
# Usage: packaging/check-install.sh   (from the repository root)
set -euo pipefail
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory install PREFIX="$prefix" >/dev/null
for f in include/sessile.h lib/libsessile.a lib/libsessile.so lib/pkgconfig/sessile.pc; do
  [ -e "$prefix/$f" ] || { echo "make install did not install $f" >&2; exit 1; }
done
cat > "$prefix/version.c" <<'C'
#include <sessile.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    puts(sessile_version());
    return strcmp(sessile_version(), SESSILE_VERSION_STRING) != 0;
}
C
# shellcheck disable=SC2046
cc "$prefix/version.c" $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs sessile) \
  -o "$prefix/version"
LD_LIBRARY_PATH=$prefix/lib "$prefix/version" >/dev/null
rm "$prefix/version" "$prefix/version.c"
make --no-print-directory uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || { echo "make uninstall left: $left" >&2; exit 1; }
echo "C: make install / make uninstall ok"
