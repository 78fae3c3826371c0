#!/bin/sh
# dist-check: does the npm tarball work for a user who has neither Rust nor
# the sessile repository? Guards issue 19: a package without its native
# library, a loader that looked in the user's project for a cargo build,
# and a README install line that does not work.
#
# It copies the tarball into a fresh `mktemp -d` project, runs `npm init -y`
# and then exactly the install line README.md gives, with cargo and rustc
# removed from PATH and SESSILE_LIBRARY / CARGO_TARGET_DIR unset; installs
# express and express-session at the versions this package tests with;
# and runs dist-check.js there: an express app over real HTTP (login,
# counter, logout, restart) that must load the library from the installed
# package's prebuilds/.
#
# usage: dist-check.sh /abs/path/sessile-<version>.tgz   (make dist-check DIST=...)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tarball=$1
[ -f "$tarball" ] || { echo "dist-check: $tarball does not exist; run make dist DIST=$(dirname "$tarball") first" >&2; exit 1; }
version=$(node -p "require('$here/package.json').version")
pin() { node -p "require('$here/package.json').devDependencies['$1']"; }

# The README's install line, run as written: exactly one line in README.md
# starts with `npm install` and names a sessile tarball, and it names this
# version's.
install_line=$(grep -E '^npm install [^ ]*sessile-[0-9][^ ]*\.tgz' "$here/README.md" || true)
[ "$(printf '%s\n' "$install_line" | grep -c .)" = 1 ] ||
  { echo "dist-check: README.md must have exactly one 'npm install ...sessile-<version>.tgz' line, found: $install_line" >&2; exit 1; }
case "$install_line" in
  *"sessile-$version.tgz"*) ;;
  *) echo "dist-check: README.md installs '$install_line' but the package is $version" >&2; exit 1;;
esac

project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
cp "$tarball" "$project/"
cp "$here/dist-check.js" "$project/"

# PATH without any directory that holds cargo or rustc.
clean_path=$(printf '%s' "$PATH" | tr ':' '\n' |
  while read -r dir; do [ -x "$dir/cargo" ] || [ -x "$dir/rustc" ] || printf '%s:' "$dir"; done)
clean_path=${clean_path%:}

cd "$project"
env -u SESSILE_LIBRARY -u CARGO_TARGET_DIR -u CARGO_HOME -u RUSTUP_HOME PATH="$clean_path" sh -eu -c '
  if command -v cargo >/dev/null || command -v rustc >/dev/null; then echo "dist-check: cargo is still on PATH" >&2; exit 1; fi
  npm init -y >/dev/null
  echo "dist-check: $1"
  eval "$1"
  npm install --no-audit --no-fund "express@$2" "express-session@$3"
  node dist-check.js
' dist-check "$install_line" "$(pin express)" "$(pin express-session)"
