#!/usr/bin/env bash
# Runs actix-session's and tower-sessions' own published tests against
# sessile's stores (`make test-rust-upstream`, part of `make test`). It
# guards that `ActixStore` and `TowerStore` pass the suites the frameworks
# hold their own stores to, at the versions pinned in harness.toml:
#   - actix-session: `acceptance_test_suite` (src/lib.rs, `test_helpers`),
#     with invalidation supported, on ActixStore;
#   - tower-sessions: the `route_tests!` instance of
#     tests/integration-tests.rs (tests/common/mod.rs unchanged) and the
#     tests of src/service.rs, MemoryStore swapped for TowerStore.
# None of their test code is in this repository: cargo fetches the pinned
# crates from crates.io into a harness generated under target/upstream/,
# this script extracts the tests from the fetched packages, rewrites only
# the store they build, and runs them. One line per suite goes to
# target/test-results/rust-frameworks.txt; any failure fails the script.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/upstream
CARGO=${CARGO:-cargo}
H=$ROOT/target/upstream
RESULTS_DIR=$ROOT/target/test-results
RESULTS=$RESULTS_DIR/rust-frameworks.txt
rm -f "$RESULTS"
# A target directory of its own: sessile is also a cdylib, whose outputs
# carry no hash in their names, so the harness's build of sessile (other
# dependency features) would overwrite the one sessile's own tests link.
export CARGO_TARGET_DIR=$H/target

die() {
  echo "tests/upstream/run.sh: $*" >&2
  if [ -n "${RESULTS:-}" ] && [ ! -s "$RESULTS" ]; then
    mkdir -p "$RESULTS_DIR"
    echo "actix-session and tower-sessions suites (crates.io) on ActixStore and TowerStore: not run: $*" >"$RESULTS"
  fi
  exit 1
}

# The pinned version of a crate in harness.toml (`name = { version = "=X"`).
pinned() {
  sed -n "s/^$1 = { version = \"=\([^\"]*\)\".*/\1/p" "$HERE/harness.toml"
}
ACTIX_SESSION=$(pinned actix-session)
TOWER_SESSIONS=$(pinned tower-sessions)
[ -n "$ACTIX_SESSION" ] && [ -n "$TOWER_SESSIONS" ] || die "no =version pins in harness.toml"

rm -rf "$H/src" "$H/tests" "$H/tmp"
mkdir -p "$H/src" "$H/tests/upstream" "$H/tests/common" "$H/tmp" "$RESULTS_DIR"
cp "$HERE/harness.toml" "$H/Cargo.toml"
# Resolve from sessile's own lock file: the harness builds the dependency
# versions sessile's tests use, and cargo adds only what the suites need
# beyond them (actix-test, awc, tower-cookies).
cp "$ROOT/Cargo.lock" "$H/Cargo.lock"
cp "$HERE/stores.rs" "$H/src/lib.rs"
cp "$HERE/actix_acceptance.rs" "$HERE/tower_service.rs" "$H/tests/"

# Fetches the pinned crates (from crates.io on a fresh machine) and finds
# where cargo unpacked them.
meta=$("$CARGO" metadata --format-version 1 --manifest-path "$H/Cargo.toml") ||
  die "cargo metadata could not resolve or fetch the harness's crates"
package_dir() {
  local manifest
  manifest=$(grep -o "\"manifest_path\":\"[^\"]*/$1-$2/Cargo.toml\"" <<<"$meta" | head -n 1 |
    sed 's/^"manifest_path":"//; s/"$//')
  [ -n "$manifest" ] || die "cargo metadata lists no $1 $2"
  dirname "$manifest"
}
ACTIX_DIR=$(package_dir actix-session "$ACTIX_SESSION")
TOWER_DIR=$(package_dir tower-sessions "$TOWER_SESSIONS")

# Prints the lines of $1 from the first line matching the regex $2 to the
# end of the file, after checking that this is one item: its braces balance
# only at the last non-empty line (the item is the file's last).
last_item() {
  awk -v start="$2" '
    !on && $0 ~ start { on = 1 }
    on {
      if (closed && $0 !~ /^[[:space:]]*$/) { bad = 1 }
      print
      depth += gsub(/\{/, "{") - gsub(/\}/, "}")
      if (depth == 0) { closed = 1 }
    }
    END { if (!on || !closed || bad) exit 1 }
  ' "$1" || die "$1: no item from /$2/ to the end of the file (the upstream layout changed)"
}

# Replaces the fixed string $2 by $3 in file $1, failing unless it occurs
# exactly $4 times.
rewrite() {
  local n text
  n=$(grep -cF -- "$2" "$1" || true)
  [ "$n" = "$4" ] || die "$1: expected $4 line(s) with '$2', found $n (the upstream code changed)"
  text=$(<"$1")
  printf '%s\n' "${text//"$2"/"$3"}" >"$1"
}

banner() {
  printf '// Extracted by tests/upstream/run.sh from %s\n// (crates.io); do not edit, do not commit.%s\n' "$1" "${2:+$'\n'// $2}"
}

# actix-session: the `test_helpers` module, unchanged (the driver provides
# what it reaches as `crate::`).
out=$H/tests/upstream/actix_session_test_helpers.rs
{
  banner "actix-session $ACTIX_SESSION, src/lib.rs"
  last_item "$ACTIX_DIR/src/lib.rs" '^pub mod test_helpers \{'
} >"$out"
# The tests the suite runs (each under both cookie content policies).
ACTIX_TESTS=$(grep -o 'acceptance_tests::[a-z_]*(' "$out" | sort -u | wc -l)
[ "$ACTIX_TESTS" -gt 0 ] || die "$out: acceptance_test_suite calls no tests"

# tower-sessions: tests/common/mod.rs unchanged; integration-tests.rs with
# its MemoryStore instance made a TowerStore instance (same options).
{
  banner "tower-sessions $TOWER_SESSIONS, tests/common/mod.rs"
  cat "$TOWER_DIR/tests/common/mod.rs"
} >"$H/tests/common/mod.rs"
out=$H/tests/tower_routes.rs
{
  banner "tower-sessions $TOWER_SESSIONS, tests/integration-tests.rs" \
    "with MemoryStore swapped for sessile's TowerStore."
  cat "$TOWER_DIR/tests/integration-tests.rs"
} >"$out"
rewrite "$out" '#[cfg(all(test, feature = "axum-core", feature = "memory-store"))]' '#[cfg(test)]' 1
rewrite "$out" 'mod memory_store_tests {' 'mod tower_store_tests {' 1
rewrite "$out" 'use tower_sessions::{MemoryStore, SessionManagerLayer};' 'use tower_sessions::SessionManagerLayer;' 1
rewrite "$out" 'MemoryStore::default()' 'sessile_upstream::tower_store()' 1
! grep -v "^//" "$out" | grep -n MemoryStore || die "$out: MemoryStore left after the swap"

# tower-sessions: the tests of src/service.rs, MemoryStore swapped.
out=$H/tests/upstream/tower_sessions_service_tests.rs
{
  banner "tower-sessions $TOWER_SESSIONS, src/service.rs" \
    "with MemoryStore swapped for sessile's TowerStore."
  last_item "$TOWER_DIR/src/service.rs" '^mod tests \{'
} >"$out"
rewrite "$out" 'use tower_sessions_memory_store::MemoryStore;' '' 1
n=$(grep -cF 'MemoryStore::default()' "$out" || true)
[ "$n" -gt 0 ] || die "$out: no MemoryStore::default() to swap"
rewrite "$out" 'MemoryStore::default()' 'sessile_upstream::tower_store()' "$n"
! grep -v "^//" "$out" | grep -n MemoryStore || die "$out: MemoryStore left after the swap"

# Run every suite, even after a failure, and keep the log.
export SESSILE_UPSTREAM_TMP=$H/tmp
log=$H/test.log
set +e
"$CARGO" test --manifest-path "$H/Cargo.toml" --no-fail-fast --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
rm -rf "$H/tmp"

# "passed failed" from the libtest summary of test binary $1 ("" when it
# did not run).
counts() {
  awk -v bin="$1" '
    /^ *Running / { cur = ($0 ~ "tests/" bin "\\.rs") }
    cur && /^test result:/ {
      for (i = 1; i <= NF; i++) {
        if ($(i + 1) ~ /^passed/) p = $i
        if ($(i + 1) ~ /^failed/) f = $i
      }
      print p + 0, f + 0
      exit
    }
  ' "$log"
}
failed=0
line() {
  echo "$1" >>"$RESULTS"
}

read -r ap af <<<"$(counts actix_acceptance)" || true
if [ "${ap:-0}" = 1 ] && [ "${af:-1}" = 0 ]; then
  line "actix-session $ACTIX_SESSION acceptance suite (crates.io) on ActixStore: $ACTIX_TESTS passed, 0 failed (each under signed and private cookies; invalidation supported), allowed differences: none"
else
  failed=1
  line "actix-session $ACTIX_SESSION acceptance suite (crates.io) on ActixStore: FAILED (it stops at its first failing test; see target/upstream/test.log)"
fi

read -r rp rf <<<"$(counts tower_routes)" || true
read -r sp sf <<<"$(counts tower_service)" || true
if [ -z "${rp:-}" ] || [ -z "${sp:-}" ]; then
  failed=1
  line "tower-sessions $TOWER_SESSIONS route_tests! + service tests (crates.io) on TowerStore: did not run (see target/upstream/test.log)"
else
  [ "$rf" = 0 ] && [ "$sf" = 0 ] || failed=1
  line "tower-sessions $TOWER_SESSIONS route_tests! + service tests (crates.io) on TowerStore: $((rp + sp)) passed, $((rf + sf)) failed ($rp route, $sp service), allowed differences: none"
fi

cat "$RESULTS"
[ "$status" = 0 ] && [ "$failed" = 0 ] || die "the frameworks' own tests failed on sessile's stores"
