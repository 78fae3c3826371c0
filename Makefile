# The commands a newcomer runs; the README lists them first.
CARGO ?= cargo

.PHONY: demo test test-rust doc bench clean

## make demo: walk one visitor through a session's life on ./sessile-demo.db
demo:
	$(CARGO) run --quiet --release --example demo

## make test: every test suite
test: test-rust

test-rust:
	$(CARGO) test --all-targets
	$(CARGO) test --doc

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

## make bench: criterion benchmarks
bench:
	$(CARGO) bench --bench hot_path

clean:
	$(CARGO) clean
	rm -rf sessile-demo.db
