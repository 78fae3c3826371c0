#!/usr/bin/env bash
# The Rust artifacts of `make dist`: the crates as crates.io would receive
# them, dist/sessile-<version>.crate and dist/sessile-sled-<version>.crate
# (sled 0.34.7 with sessile's fixes, a crate of this workspace so that the
# fixes travel with sessile). `cargo package --workspace` builds each one
# from its packaged sources alone, the one against the other, as a check.
#
# Usage: packaging/dist-rust.sh DIST_DIR   (from the repository root)
set -euo pipefail
dist=$1
cargo=${CARGO:-cargo}
target_dir=$("$cargo" metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
# --allow-dirty: dist packages the tree as it is checked out (CI's is clean).
"$cargo" package --workspace --allow-dirty
mkdir -p "$dist"
for pkg in sessile sessile-sled; do
  version=$("$cargo" metadata --no-deps --format-version 1 \
    | python3 -c "import json,sys; print(next(p['version'] for p in json.load(sys.stdin)['packages'] if p['name']=='$pkg'))")
  cp "$target_dir/package/$pkg-$version.crate" "$dist/"
done
echo "wrote the crates to $dist"
