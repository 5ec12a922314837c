# Haven: top-level entry points. CMake does the building (CMakePresets.json);
# this file strings the steps together.
#
#   make demo    install deps if needed, build the programs in build/,
#                run deploy/demo/run.sh
#   make test    build/ (-Werror) + ctest, build-asan/ + ctest, build-fuzz/
#                + every fuzz target briefly, integration tests under
#                valgrind; ends with "N passed, N failed"
#   make bench   build haven-bench in build/ and run it (Haven vs Mosquitto)
#   make clean   remove the build trees this file makes
#
# Every step of `make test` runs even when an earlier one failed, so one
# broken part does not hide the state of the others; the exit status is
# non-zero if anything failed. Each ctest step is bounded by
# HAVEN_STEP_TIMEOUT (s), each fuzz target by HAVEN_FUZZ_SECONDS and
# HAVEN_FUZZ_RUNS (see tests/run-*.sh).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
JOBS ?= 2
OUT := $(CURDIR)/out
RESULTS := $(OUT)/test-results.txt
export HAVEN_JOBS := $(JOBS)

.PHONY: all deps build build-asan build-fuzz demo test test-dev test-asan \
	test-fuzz test-valgrind bench clean

all: build

deps:
	@[ -n "$(HAVEN_DEPS_DONE)" ] || bash deploy/install-deps.sh

# ---------------------------------------------------------------- builds

build: deps
	cmake --preset dev
	cmake --build --preset dev -j$(JOBS)

build-asan: deps
	cmake --preset asan
	cmake --build --preset asan -j$(JOBS)

build-fuzz: deps
	CC=clang cmake --preset fuzz
	cmake --build --preset fuzz -j$(JOBS)

# ------------------------------------------------------------------ demo

# The demo and the benchmark build only the programs they run, so that a
# test that does not compile yet cannot stop them.
PROGRAMS := haven-broker haven-agent havenctl

demo: deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j$(JOBS) --target $(PROGRAMS)
	bash deploy/demo/run.sh build

# ----------------------------------------------------------------- tests

# $(call ctbuild,PRESET,TAG): configure and build with make's keep-going, so
# that a part that does not compile yet does not stop the tests of the parts
# that do; a failed build is recorded as one failure of TAG.
define ctbuild
	@mkdir -p $(OUT)
	@echo "--- configure + build ($(1))"
	@cmake --preset $(1) >$(OUT)/configure-$(1).log 2>&1 || \
	    { cat $(OUT)/configure-$(1).log; echo "FAIL $(2):configure" >>$(RESULTS); exit 1; }
	@cmake --build --preset $(1) -j$(JOBS) -- -k >$(OUT)/build-$(1).log 2>&1 || \
	    { grep -E -B2 -A6 'error|Error' $(OUT)/build-$(1).log | head -n 120; \
	      echo "FAIL $(2):build" >>$(RESULTS); }
endef

test: deps
	@mkdir -p $(OUT) && : >$(RESULTS)
	@date +%s >$(OUT)/test-start
	@for s in dev asan fuzz valgrind; do \
	    echo; echo "===== $$s ====="; t0=$$(date +%s); \
	    $(MAKE) --no-print-directory HAVEN_DEPS_DONE=1 test-$$s || \
	        grep -q " $$s:" $(RESULTS) || echo "FAIL $$s:step" >>$(RESULTS); \
	    echo "----- $$s: $$(( $$(date +%s) - t0 ))s"; \
	done
	@echo; echo "===== summary ====="
	@grep '^FAIL' $(RESULTS) | sed 's/^/  /' || true
	@p=$$(grep -c '^PASS' $(RESULTS)); f=$$(grep -c '^FAIL' $(RESULTS)); \
	    t=$$(( $$(date +%s) - $$(cat $(OUT)/test-start) )); \
	    echo "(details in $(RESULTS) and $(OUT)/; took $$((t / 60))m$$((t % 60))s)"; \
	    echo "$$p passed, $$f failed"; \
	    [ "$$f" -eq 0 ] && [ "$$p" -gt 0 ]

test-dev: deps
	$(call ctbuild,dev,dev)
	@HAVEN_RESULTS=$(RESULTS) bash tests/run-ctest.sh build dev

test-asan: deps
	$(call ctbuild,asan,asan)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	HAVEN_RESULTS=$(RESULTS) bash tests/run-ctest.sh build-asan asan

test-fuzz: deps
	$(call ctbuild,fuzz,fuzz)
	@HAVEN_RESULTS=$(RESULTS) bash tests/run-fuzz.sh build-fuzz

# Uses build/ as test-dev left it (its build failures are counted there).
test-valgrind: deps
	@[ -f build/CMakeCache.txt ] || cmake --preset dev >/dev/null
	@cmake --build --preset dev -j$(JOBS) -- -k >/dev/null 2>&1 || true
	@HAVEN_RESULTS=$(RESULTS) bash tests/run-valgrind.sh build

# ----------------------------------------------------------------- bench

bench: deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j$(JOBS) --target $(PROGRAMS) haven-bench
	./build/haven-bench

clean:
	rm -rf build build-asan build-fuzz build-release $(OUT)
