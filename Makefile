# make run   — installs what is missing, builds a release binary, runs the agent
# make test  — installs what is missing, builds, runs every test
# make bench — the benchmarks (figures in README.md's Performance section)
SWIFT ?= swift
RELEASE_FLAGS = -c release --static-swift-stdlib
BUILD_DEPS = libcurl4-openssl-dev zlib1g-dev pkg-config
# Real peers the tests run against on 127.0.0.1.
TEST_DEPS = $(BUILD_DEPS) python3 prometheus prometheus-alertmanager prometheus-node-exporter systemd
BENCH_DEPS = $(TEST_DEPS) mtail hyperfine

.PHONY: all build release run demo test bench deps test-deps bench-deps clean

all: build

deps:
	@scripts/ensure-deps.sh $(BUILD_DEPS)

test-deps:
	@scripts/ensure-deps.sh $(TEST_DEPS)

bench-deps:
	@scripts/ensure-deps.sh $(BENCH_DEPS)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product agent

run: release
	.build/release/agent run $(ARGS)

demo: release
	.build/release/agent demo

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/check-deploy.sh .build/debug/agent

bench: bench-deps release
	scripts/bench.sh

clean:
	rm -rf .build Benchmarks/.build
