# Thin wrapper: CMake does the building, ctest the testing.
#   make run     install packages, build, start the server on ./data
#   make test    install packages and npm modules, build, run every test
#   make bench   release build + benchmarks (bench/run.sh)
#   make format-check   C style check (.clang-format), run by CI
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PORT ?= 8080
DATA ?= ./data

.PHONY: all deps build run test test-unit test-sanitize bench clean format format-check

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# serves the example function plugins built with the project
run: build
	$(BUILD)/basalt serve --port $(PORT) --data $(DATA) --functions-dir $(BUILD)/functions/examples

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: test-deps
test-deps:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory node_modules/.package-lock.json

test: test-deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBASALT_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# ASan + UBSan build of the same suites, plus short libFuzzer runs.
test-sanitize: test-deps
	@CC=clang cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DBASALT_WERROR=ON \
	  -DBASALT_SANITIZE=ON -DBASALT_FUZZ=ON >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS)

bench:
	@scripts/deps.sh bench
	@cmake -S . -B $(BUILD)-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD)-release -j$(JOBS)
	bench/run.sh $(BUILD)-release

# C style (.clang-format): format rewrites, format-check (CI) only compares.
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	@scripts/deps.sh format
	clang-format -i $(C_SOURCES)

format-check:
	@scripts/deps.sh format
	@clang-format --dry-run --Werror $(C_SOURCES) && echo "format-check: every C file matches .clang-format"

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-release
