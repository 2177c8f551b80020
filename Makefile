# Thin wrapper over CMake. The two commands a newcomer needs:
#   make run    install missing packages, build, serve on 127.0.0.1:8080
#   make test   install missing packages, build with ASan/UBSan, run every test
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
DB     ?= data/tracestore.db
LISTEN ?= 127.0.0.1:8080
PREFIX ?= /usr/local

.PHONY: all build run test test-build bench soak fuzz clean deps format install

all: build

deps:
	@scripts/deps.sh run

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: bin/, etc/tracestore/,
# share/man/man5 and man8, lib/systemd/system (CMake install rules).
install: build
	@DESTDIR="$(DESTDIR)" cmake --install build --prefix "$(PREFIX)"

run: build
	@mkdir -p $(dir $(DB))
	exec build/tracestore serve --db $(DB) --listen $(LISTEN)

test-build:
	@scripts/deps.sh test
	@cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DTS_SANITIZE=ON -DTS_WERROR=ON -DTS_TESTS=ON >/dev/null
	@cmake --build build-test -j $(JOBS)

test: test-build
	@cd build-test && ctest --output-on-failure -j $(JOBS)

bench:
	@scripts/deps.sh test
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTS_BENCH=ON >/dev/null
	@cmake --build build-release -j $(JOBS)
	@if [ "$(STORE)" = postgres ]; then bench/pg.sh build-release; else \
	  cmake -S . -B build-release-nometrics -DCMAKE_BUILD_TYPE=Release -DTS_NO_METRICS=ON >/dev/null && \
	  cmake --build build-release-nometrics -j $(JOBS) --target tracestore && \
	  bench/run.sh build-release $(SIZE); fi

soak:
	@$(MAKE) --no-print-directory bench SIZE=soak

fuzz:
	@scripts/deps.sh test
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DTS_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

format:
	@clang-format -i src/*.c src/*/*.c src/*/*.h include/tracestore/*.h tests/*/*.c tests/*/*.h

clean:
	rm -rf build build-test build-release build-release-nometrics build-fuzz
