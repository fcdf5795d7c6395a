# Samsa build and test entry points. `make test` is what CI runs (.ci/run)
# and what the README tells a newcomer to run.

GO        ?= go
PKGS      ?= ./...
# Tests start brokers and child processes; keep the whole suite well inside
# CI's budget on a 2-core machine.
TEST_TIMEOUT ?= 20m

.PHONY: all build test vet unit fuzz-smoke bench clean

all: build

build:
	$(GO) build -o bin/samsa ./cmd/samsa

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# test: static checks, then every test (unit, integration, crash loops).
test: vet unit

# bench: storage benchmarks beside their raw-I/O baselines (see docs/performance.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/storage/... ./internal/record/...

clean:
	rm -rf bin
