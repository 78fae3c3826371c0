#!/usr/bin/env bash
# `make dist-check`, Rust part: a crate outside this repository that
# depends on the packaged crates of `make dist` (dist/*.crate, unpacked as
# cargo would unpack them from a registry), built with its own target
# directory. It guards what a Rust developer meets: the crate builds from
# its packaged sources; its sled is sessile-sled, the one with the fixes
# (not crates.io's sled); the library pulls in none of what only the CLI or
# the header generation need (clap, indicatif, cbindgen); a session
# round-trips through a real database.
#
# Until the crates are on crates.io, the downstream crate points at them
# with a path and a [patch] (once published: `sessile = "<version>"`).
#
# Usage: packaging/check-rust.sh DIST_DIR
set -euo pipefail
dist=$(cd "$1" && pwd)
cargo=${CARGO:-cargo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/crates"
for crate in "$dist"/*.crate; do tar -xzf "$crate" -C "$work/crates"; done
sessile_dir=$(ls -d "$work"/crates/sessile-[0-9]*)
sled_dir=$(ls -d "$work"/crates/sessile-sled-*)

mkdir -p "$work/app/src"
cat > "$work/app/Cargo.toml" <<TOML
[package]
name = "downstream"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
sessile = { path = "$sessile_dir" }

[patch.crates-io]
sessile-sled = { path = "$sled_dir" }
TOML
cat > "$work/app/src/main.rs" <<'RS'
fn main() -> sessile::Result<()> {
    let dir = std::env::args().nth(1).expect("a directory");
    let engine = sessile::Engine::open(sessile::Config::new(dir))?;
    let mut login = engine.begin_request(None);
    login.insert("user", "alice")?;
    login.cycle_key()?;
    let cookie = engine.end_request(&mut login, 200)?.set_cookie.expect("a cookie");
    let cookie = cookie.split(';').next().expect("name=value");
    let mut visit = engine.begin_request(Some(cookie));
    assert_eq!(visit.get::<String>("user")?.as_deref(), Some("alice"));
    println!("alice is logged in");
    Ok(())
}
RS
cd "$work/app"
export CARGO_TARGET_DIR=$work/target
"$cargo" build --quiet
"$cargo" run --quiet -- "$work/db"
tree=$("$cargo" tree -e normal,build)
echo "$tree" | grep -q '^│\?\s*[├└]── sessile-sled v' \
  || { echo "sessile's sled is not sessile-sled:"; echo "$tree"; exit 1; } >&2
for unwanted in clap indicatif cbindgen; do
  if echo "$tree" | grep -q "── $unwanted v"; then
    echo "the library pulls in $unwanted" >&2; exit 1
  fi
done
if echo "$tree" | grep -q '── sled v'; then echo "crates.io's sled is in the tree" >&2; exit 1; fi
"$cargo" tree -i sessile-sled -e normal | head -3
echo "Rust: the packaged crates build downstream, with sessile-sled"
