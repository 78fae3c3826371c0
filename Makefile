# The commands a newcomer runs; the README lists them first.
CARGO ?= cargo

.PHONY: demo demo-rust test test-rust doc bench clean

## make demo: the Django demo (login, logout, visit counter) with
## SESSION_ENGINE = "sessile.django" on http://127.0.0.1:8000/; creates
## bindings/python/.venv and installs what it needs
demo:
	$(MAKE) --no-print-directory -C bindings/python demo CARGO="$(CARGO)"

## make demo-rust: walk one visitor through a session's life on ./sessile-demo.db
demo-rust:
	$(CARGO) run --quiet --release --example demo

## make test: every test suite; ends by printing what the frameworks' own
## suites (Django, Flask, actix-session, tower-sessions: downloaded from
## their packages) and sessile's express-session behaviour tests gave, with
## each allowed difference named (the suites write target/test-results/)
RESULTS := target/test-results
test: test-results-reset test-rust test-c test-python test-node
	@echo "== the frameworks' suites against sessile ($(RESULTS)/)"
	@cat $(RESULTS)/*.txt

.PHONY: test-results-reset
test-results-reset:
	rm -rf $(RESULTS)
	mkdir -p $(RESULTS)

## make redis-server: installs redis-server (and with it redis-cli) with
## apt-get when missing (CI runs as root). The Redis store's tests need it:
## the Rust tests start their own servers on free ports and stop them
## (tests/common/redis*.rs): plain ones, a TLS-only one (Debian's build has
## TLS), a master with a replica and three sentinels (`redis-server
## --sentinel`, so the redis-sentinel package is not needed), and clusters
## of three masters and three replicas (`redis-cli --cluster create`); the
## binding suites run under tests/with-redis-server, which starts one,
## exports SESSILE_TEST_REDIS_URL and stops it afterwards.
.PHONY: redis-server
redis-server:
	@{ command -v redis-server && command -v redis-cli; } >/dev/null || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq redis-server redis-tools </dev/null; }

# The tower-sessions (axum) and actix-session stores, off by default:
# their tests run with the features on.
ADAPTERS = tower-sessions,actix-session

# `internals`: the tests and benches that reach the raw trees under a store
# (tests/corruption.rs; `cargo test --all-targets` runs the benches once, quickly).
test-rust: redis-server
	$(CARGO) test --all-targets --features cli,internals
	$(CARGO) test --doc
	$(CARGO) test --features $(ADAPTERS) --lib --test tower_sessions --test actix_session
	$(CARGO) test --features $(ADAPTERS) --doc -- adapters
	$(MAKE) --no-print-directory test-rust-upstream CARGO="$(CARGO)"

## make test-rust-upstream: actix-session's and tower-sessions' own
## published tests (fetched from crates.io at the versions pinned in
## tests/upstream/harness.toml) on ActixStore and TowerStore, in a harness
## generated under target/upstream/; writes one line per suite to
## target/test-results/rust-frameworks.txt and fails on any failure
.PHONY: test-rust-upstream
test-rust-upstream:
	CARGO="$(CARGO)" tests/upstream/run.sh

## make test-c: the C ABI suite (ASan+UBSan, valgrind, header as C and C++,
## the example server); see bindings/c/README.md
.PHONY: test-c
test-c: redis-server
	tests/with-redis-server $(MAKE) --no-print-directory -C bindings/c test CARGO="$(CARGO)"

## make test-python / test-node: the bindings' suites (each sets up its own
## venv / node_modules); see bindings/python and bindings/node
.PHONY: test-python test-node
test-python: redis-server
	tests/with-redis-server $(MAKE) --no-print-directory -C bindings/python test CARGO="$(CARGO)"

test-node: redis-server
	tests/with-redis-server $(MAKE) --no-print-directory -C bindings/node test CARGO="$(CARGO)"

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

## make install PREFIX=/usr/local: the C library, header and pkg-config
## file under PREFIX (a release build); make uninstall removes them
PREFIX ?= /usr/local
.PHONY: install uninstall
install:
	$(MAKE) --no-print-directory -C bindings/c install PREFIX="$(PREFIX)" CARGO="$(CARGO)"
uninstall:
	$(MAKE) --no-print-directory -C bindings/c uninstall PREFIX="$(PREFIX)" CARGO="$(CARGO)"

## make dist: every artifact in dist/: the crates (sessile, sessile-sled),
## the C tarball and the CLI, the Python wheel and sdist, the npm tarball
DIST := $(abspath dist)
.PHONY: dist dist-rust dist-c dist-python dist-node
dist: dist-rust dist-c dist-python dist-node
	@ls -l $(DIST)
dist-rust:
	CARGO="$(CARGO)" packaging/dist-rust.sh $(DIST)
dist-c:
	CARGO="$(CARGO)" packaging/dist-c.sh $(DIST)
dist-python:
	$(MAKE) --no-print-directory -C bindings/python dist DIST=$(DIST) CARGO="$(CARGO)"
dist-node:
	$(MAKE) --no-print-directory -C bindings/node dist DIST=$(DIST) CARGO="$(CARGO)"

## make dist-check: installs each artifact of dist/ the way its users do,
## away from this checkout's target/, and runs a request through it
.PHONY: dist-check dist-check-rust dist-check-c dist-check-python dist-check-node
dist-check: dist-check-rust dist-check-c dist-check-python dist-check-node
	packaging/check-readme.sh
dist-check-rust:
	CARGO="$(CARGO)" packaging/check-rust.sh $(DIST)
dist-check-c:
	packaging/check-c.sh $(DIST)
	packaging/check-install.sh
dist-check-python:
	$(MAKE) --no-print-directory -C bindings/python dist-check DIST=$(DIST) CARGO="$(CARGO)"
dist-check-node:
	$(MAKE) --no-print-directory -C bindings/node dist-check DIST=$(DIST) CARGO="$(CARGO)"

## make bench: criterion benchmarks and the side-by-side scripts
bench: bench-python bench-node bench-redis bench-e2e redis-server
	$(CARGO) bench --features internals --bench hot_path
	python3 benches/ratios.py
	$(CARGO) bench --features cli,internals --bench scale
	$(CARGO) bench --features cli,internals --bench scale -- --compression
	$(CARGO) bench --bench versus_redis
	python3 benches/versus_redis_chart.py
	$(CARGO) bench --features internals --bench owners

## make bench-python: one Django request cycle with sessile.django against
## Django's db (SQLite), cache (locmem, Redis), file and signed_cookies
## engines; writes benches/results/django_engines.{json,svg}. Reuses
## bindings/python's venv; installs redis-server if missing (CI runs as root).
BENCH_PY := $(abspath bindings/python/.venv)/bin/python
.PHONY: bench-python bench-python-deps bench-node-deps
bench-python: bench-python-deps
	$(BENCH_PY) benches/django_engines.py

# What the Python and Node benches need, done once per `make` even when
# several bench targets ask for it.
bench-python-deps: redis-server
	$(MAKE) --no-print-directory -C bindings/python install CARGO="$(CARGO)"
	$(BENCH_PY) -m pip --disable-pip-version-check install -q -r benches/requirements-bench.txt
bench-node-deps: redis-server
	$(MAKE) --no-print-directory -C bindings/node lib deps CARGO="$(CARGO)"
	cd benches/node && npm ci --no-audit --no-fund

## make bench-redis: sessile's Redis store against the peers' Redis session
## stores, on redis-servers the scripts start on free 127.0.0.1 ports:
## sessile.django (SESSILE_URL) vs Django's cache engine on RedisCache, and
## SessileStore({url}) vs connect-redis under express-session; round trips
## (counted by a proxy), commands, µs per request, and Redis memory per
## session (also on a cluster node). Writes
## benches/results/redis_{django,express}.{json,svg}
.PHONY: bench-redis
bench-redis: bench-python-deps bench-node-deps
	$(BENCH_PY) benches/redis_django.py
	node benches/node/redis_express.js

## make bench-e2e: whole HTTP requests, the figure users feel: a tiny
## Django site under gunicorn (one worker, --threads 4) loaded by wrk, one
## server per engine (sessile.django, db on SQLite, cache on locmem and on
## Redis, file, signed_cookies), and an express app per express-session
## store (SessileStore, MemoryStore, connect-redis) loaded by autocannon
## from another process; every connection keeps its cookies over a pool
## of existing sessions; 5 interleaved rounds of 3 s per engine. About
## 4.5 min on 2 cores with the deps installed (3.5 min for the two
## scripts, the rest for the deps' rebuilds). Installs wrk (apt), gunicorn
## (pip, benches/requirements-bench.txt) and autocannon (npm,
## benches/node) when missing; writes
## benches/results/e2e_{django,express}.{json,svg}
.PHONY: bench-e2e wrk
bench-e2e: bench-python-deps bench-node-deps wrk
	$(BENCH_PY) benches/e2e_django.py
	node benches/node/e2e_express.js

wrk:
	@command -v wrk >/dev/null || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq wrk </dev/null; }

clean:
	$(CARGO) clean
	rm -rf $(DIST)
	rm -rf sessile-demo.db

## make fuzz: 60 s per cargo-fuzz target (installs cargo-fuzz if missing;
## RUSTC_BOOTSTRAP lets the stable toolchain use the sanitizer flags)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs)))
.PHONY: fuzz
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## make fuzz-smoke: builds every fuzz target and runs each for 12 s, its
## regression inputs and seeds first (what CI runs; no cargo-fuzz needed,
## nightly: fuzz/smoke.sh)
.PHONY: fuzz-smoke
fuzz-smoke:
	fuzz/smoke.sh

## make crash-test ROUNDS=N: the kill -9 crash-consistency test, N rounds
## (make test runs 20)
ROUNDS ?= 200
.PHONY: crash-test
crash-test:
	SESSILE_CRASH_ROUNDS=$(ROUNDS) $(CARGO) test --release --test crash_consistency

## make bench-node: express-session stores side by side — SessileStore,
## MemoryStore and connect-redis (on a redis-server the script starts on a
## free 127.0.0.1 port; installed with apt-get if missing); writes
## benches/results/express_stores.{json,svg}
.PHONY: bench-node
bench-node: bench-node-deps
	node benches/node/express_stores.js
