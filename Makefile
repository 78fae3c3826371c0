# The commands a newcomer runs; the README lists them first.
CARGO ?= cargo

.PHONY: demo test test-rust doc bench clean

## make demo: walk one visitor through a session's life on ./sessile-demo.db
demo:
	$(CARGO) run --quiet --release --example demo

## make test: every test suite
test: test-rust test-c

test-rust:
	$(CARGO) test --all-targets
	$(CARGO) test --doc

## make test-c: the C ABI suite (ASan+UBSan, valgrind, header as C and C++,
## the example server); see bindings/c/README.md
.PHONY: test-c
test-c:
	$(MAKE) --no-print-directory -C bindings/c test CARGO="$(CARGO)"

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

## make bench: criterion benchmarks
bench:
	$(CARGO) bench --bench hot_path

clean:
	$(CARGO) clean
	rm -rf sessile-demo.db

## make fuzz: 60 s per cargo-fuzz target (installs cargo-fuzz if missing;
## RUSTC_BOOTSTRAP lets the stable toolchain use the sanitizer flags)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = record_decode cookie_parse key_validate engine_ops
.PHONY: fuzz
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done
