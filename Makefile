# Samsa build and test entry points. `make test` is what CI runs (.ci/run)
# and what the README tells a newcomer to run.

GO        ?= go
PKGS      ?= ./...
# Tests start brokers and child processes; keep the whole suite well inside
# CI's budget on a 2-core machine.
TEST_TIMEOUT ?= 20m
# The race detector is on by default: the broker is concurrent everywhere and
# the whole suite still runs in about a minute on 2 cores. TEST_FLAGS= turns
# it off.
TEST_FLAGS ?= -race

.PHONY: all build test vet unit fuzz-smoke bench clean

all: build

build:
	$(GO) build -o bin/samsa ./cmd/samsa

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test $(TEST_FLAGS) -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# test: static checks, then every test (unit, integration, crash loops).
test: vet unit

# bench: storage benchmarks beside their raw-I/O baselines (see docs/performance.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/storage/... ./internal/record/...

clean:
	rm -rf bin

.PHONY: compat bench-e2e

# compat: Samsa against clients from other ecosystems (kcat, kafka-python,
# confluent-kafka-python, KafkaJS), each producing and consuming back 10,000
# records on a freshly started `samsa serve`. Installs the clients itself
# (apt-get, npm ci); see compat/run.sh. CI runs it after `make test`.
compat:
	bash compat/run.sh

# bench-e2e: the same produce/consume workload against `samsa serve` and
# against franz-go's in-memory kfake broker, side by side (bench/ is its own
# module so that kfake never enters the product's go.mod). Figures and the
# command line are recorded in docs/performance.md ("End to end").
BENCH_E2E_FLAGS ?=
bench-e2e:
	cd bench && $(GO) run . $(BENCH_E2E_FLAGS)
