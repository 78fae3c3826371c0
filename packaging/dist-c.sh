#!/usr/bin/env bash
# The C artifact of `make dist`: dist/sessile-<version>-linux-<arch>.tar.gz,
# one directory to unpack into a prefix (or anywhere: its pkg-config file is
# relocatable). Also dist/sessile-<version>-linux-<arch>, the CLI alone.
#
#   sessile-<version>/include/sessile.h
#   sessile-<version>/lib/libsessile.so.<version>   (SONAME libsessile.so.<major>)
#   sessile-<version>/lib/libsessile.so.<major> -> libsessile.so.<version>
#   sessile-<version>/lib/libsessile.so         -> libsessile.so.<major>
#   sessile-<version>/lib/libsessile.a          (debug info stripped)
#   sessile-<version>/lib/pkgconfig/sessile.pc
#   sessile-<version>/bin/sessile               (the CLI)
#   sessile-<version>/README.md, LICENSE-MIT, LICENSE-APACHE
#
# Usage: packaging/dist-c.sh DIST_DIR   (from the repository root)
set -euo pipefail
dist=$1
cargo=${CARGO:-cargo}
version=$(sed -n 's/^#define SESSILE_VERSION_STRING "\(.*\)"/\1/p' include/sessile.h)
major=${version%%.*}
arch=$(uname -m)
target_dir=$("$cargo" metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

"$cargo" build --release --lib
"$cargo" build --release --features cli --bin sessile

name=sessile-$version
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/$name
install -d "$root/include" "$root/lib/pkgconfig" "$root/bin"
install -m 644 include/sessile.h "$root/include/"
install -m 755 "$target_dir/release/libsessile.so" "$root/lib/libsessile.so.$version"
ln -s "libsessile.so.$version" "$root/lib/libsessile.so.$major"
ln -s "libsessile.so.$major" "$root/lib/libsessile.so"
install -m 644 "$target_dir/release/libsessile.a" "$root/lib/"
# rustc strips what it links; the static archive carries the debug info
# of std and every dependency (about 100 MB) unless stripped here.
strip --strip-debug "$root/lib/libsessile.a"
install -m 755 "$target_dir/release/sessile" "$root/bin/"
# Relocatable: pkg-config expands ${pcfiledir} to the file's directory.
sed -e 's|@PREFIX@|${pcfiledir}/../..|' -e 's|@LIBDIR@|${prefix}/lib|' \
    -e 's|@INCLUDEDIR@|${prefix}/include|' -e "s|@VERSION@|$version|" \
    -e 's|@LIBS_PRIVATE@|-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc|' \
    bindings/c/sessile.pc.in > "$root/lib/pkgconfig/sessile.pc"
install -m 644 README.md LICENSE-MIT LICENSE-APACHE "$root/"

mkdir -p "$dist"
tar -C "$stage" -czf "$dist/$name-linux-$arch.tar.gz" "$name"
install -m 755 "$target_dir/release/sessile" "$dist/$name-linux-$arch"
echo "wrote $dist/$name-linux-$arch.tar.gz and $dist/$name-linux-$arch (the CLI)"
