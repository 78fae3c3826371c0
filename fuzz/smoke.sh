#!/usr/bin/env bash
# Builds every fuzz target and runs each one briefly: a target that stops
# compiling, a regression input that crashes again, or a crash found within
# the time given fails the step. CI runs it (.ci/run); so does
# `make fuzz-smoke`. Long runs are `make fuzz` (cargo-fuzz).
#
# No cargo-fuzz: the targets are built with cargo itself, with the flags
# `cargo fuzz build` passes rustc (libFuzzer's coverage instrumentation,
# `--cfg fuzzing`), debug assertions on (overflow checks), no sanitizer
# (the targets run sessile's safe Rust, not src/ffi; FUZZ_SANITIZER=address
# adds ASan). The binaries are libFuzzer programs, run directly.
#
# Environment: FUZZ_SECONDS (per target, default 12), FUZZ_TOOLCHAIN
# (default nightly), FUZZ_SANITIZER (default none), FUZZ_TARGET_DIR
# (default fuzz/target, gitignored, whatever CARGO_TARGET_DIR says).
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_EACH=${FUZZ_SECONDS:-12}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
# An explicit --target keeps RUSTFLAGS away from build scripts and proc
# macros, as cargo-fuzz does; the binaries land where cargo-fuzz puts them.
if ! rustc +"$TOOLCHAIN" -V >/dev/null 2>&1; then
  echo "fuzz/smoke.sh needs the $TOOLCHAIN toolchain" \
    "(rustup toolchain install $TOOLCHAIN --profile minimal)" >&2
  exit 1
fi
TRIPLE=$(rustc +"$TOOLCHAIN" -vV | sed -n 's/^host: //p')
BIN_DIR=$TARGET_DIR/$TRIPLE/release

flags="-Cpasses=sancov-module"
flags+=" -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
flags+=" -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
flags+=" --cfg fuzzing -Cdebug-assertions"
if [ -n "${FUZZ_SANITIZER:-}" ]; then
  flags+=" -Zsanitizer=$FUZZ_SANITIZER"
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0
fi

targets=()
for f in fuzz_targets/*.rs; do
  targets+=("$(basename "$f" .rs)")
done

echo "== fuzz: building ${targets[*]} (cargo +$TOOLCHAIN, $TRIPLE)"
start=$(date +%s)
# No debug info (cargo-fuzz adds it): a panic still says where it was and
# names the functions on the stack, and the build costs a third less.
RUSTFLAGS="$flags" cargo +"$TOOLCHAIN" build --release --bins --target "$TRIPLE" \
  --target-dir "$TARGET_DIR"
echo "   built in $(($(date +%s) - start)) s"

mkdir -p "$TARGET_DIR/smoke-logs"
failed=()
for t in "${targets[@]}"; do
  bin=$BIN_DIR/$t
  if [ ! -x "$bin" ]; then
    echo "fuzz_targets/$t.rs has no [[bin]] in fuzz/Cargo.toml" >&2
    exit 1
  fi
  # The first directory is where libFuzzer adds what it finds (cargo-fuzz's
  # corpus, gitignored); the committed ones are only read: inputs that once
  # failed (regressions/<target>/) and hand-made starts (seeds/<target>/).
  dirs=("corpus/$t")
  mkdir -p "corpus/$t" "artifacts/$t"
  for d in "regressions/$t" "seeds/$t"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  log=$TARGET_DIR/smoke-logs/$t.log
  echo "== fuzz: $t for ${SECONDS_EACH} s (inputs from ${dirs[*]})"
  if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" "${dirs[@]}" >"$log" 2>&1; then
    # "Done 12345 runs in 13 second(s)" and the coverage it ended with.
    grep -E '^Done [0-9]+ runs' "$log" | sed 's/^/   /'
    grep -E '^#[0-9]+.*DONE' "$log" | sed 's/^/   /' || true
  else
    echo "   FAILED: $log ends with:" >&2
    tail -n 40 "$log" >&2
    ls artifacts/"$t"/ >&2 || true
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]} (inputs in fuzz/artifacts/; keep a" \
    "real crash in fuzz/regressions/<target>/)" >&2
  exit 1
fi
echo "== fuzz: ${#targets[@]} targets ok in $(($(date +%s) - start)) s"
