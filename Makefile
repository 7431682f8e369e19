# The two commands a newcomer needs: `make demo` and `make test`. Both install what is
# missing first (scripts/setup.sh).
.PHONY: setup demo test lint bench bench-all build

CARGO ?= cargo
# Where cargo puts its output: $CARGO_TARGET_DIR when set, as cargo does.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

setup:
	@./scripts/setup.sh

build: setup
	$(CARGO) build --release --locked --workspace --bins

## Runs the main job: the CRM-sync demo (sluice demo) with the example sheets, crm and
## chat MCP servers as real child processes, on embedded defaults.
demo: build
	$(TARGET_DIR)/release/sluice demo

## Runs the whole test suite (what CI runs).
test: setup
	./scripts/mcp-sdk-venv.sh
	$(CARGO) test --workspace --locked

## Formatting and lints, warnings as errors.
lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## Criterion benchmarks (see docs/BENCHMARKS.md).
bench: setup
	$(CARGO) bench --workspace --locked

## Every figure in docs/BENCHMARKS.md: criterion benches, detector accuracy, vault timing,
## the `sluice bench load` runs and the 10-minute soak (about 30 minutes). Outputs go to
## target/bench-results/<time>/. `make bench-all BENCH_ALL_FLAGS=--quick` checks the
## script with short durations.
BENCH_ALL_FLAGS ?=
bench-all: setup
	./scripts/bench-all.sh $(BENCH_ALL_FLAGS)
