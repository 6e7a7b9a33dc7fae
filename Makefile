# natter: `make run` serves the app at http://127.0.0.1:3000; `make test` runs every check.
# Both install what is missing first (scripts/setup.sh) and are quick when already set up.

SHELL := /bin/bash
TOOLS := source scripts/tools-path.sh &&

.PHONY: run dev test bench bench-micro setup build fmt clippy

# --precompress: the site's files get .br (quality 11) and .gz copies once, served as they are.
run: setup
	$(TOOLS) cargo leptos serve --release --precompress

dev: setup
	$(TOOLS) cargo leptos watch

test:
	scripts/test.sh

# The benchmarks (docs/PERFORMANCE.md): the release server against real sockets, about 6
# minutes; `make bench ARGS="--quick"` or ARGS="knee --runs 3" to choose. Then the
# micro-benchmarks (ARGS are the chat bench's only).
bench:
	cargo bench -p server --bench chat -- $(ARGS)
	$(MAKE) bench-micro

# Criterion micro-benchmarks of the hot paths (benches/hot.rs), about 1½ minutes; the
# PostgreSQL ones only when NATTER_TEST_PG_URL is set.
bench-micro:
	cargo bench -p natter --bench hot

setup:
	scripts/setup.sh

build: setup
	$(TOOLS) cargo leptos build --release --precompress

fmt:
	cargo fmt --all
