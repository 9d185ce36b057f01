# dirtybench: plain POSIX make (GNU make and bmake). The kernel module
# alone builds with kbuild (kmod/Kbuild).
#
#   make                 bin/dirtybench, bin/dirtyram
#   make check           every Criterion suite (SAN=1: ASan + UBSan build)
#   make check-kernel    module built with kbuild, tested in a booted kernel
#   make check-kvm       arm64 KVM dirty logging (vmm/kvm) in a booted arm64
#                        kernel under emulation, eager and lazy
#   make bench [TARGET=host]   a target's matrix, ends with the report path
#   make perf            figures against references measured in the same run,
#                        with targets; also as JSON in build/perf.json
#   make fuzz-build      libFuzzer targets (tests/fuzz) with clang, in
#                        build-fuzz/ (ASan + UBSan); make check runs each
#                        for a few seconds
#   make fuzz [FUZZ_RUNS=N | FUZZ_SECONDS=S]   the long run (10 M each)
#   make deps            install missing Debian packages (as root)
#   make install PREFIX=/usr/local    make clean

.POSIX:
# Each goal runs its own make of mk/build.mk in the same directories: one
# goal at a time, so two of them never rewrite one library (the inner make
# still builds in parallel).
.NOTPARALLEL:

SAN =
# V=1: print every compiler command in full
V =
TARGET = host
PREFIX = /usr/local
DESTDIR =
# build/ and bin/, or build-san/ and bin-san/ with SAN=1
O = build$(SAN:1=-san)
BIN = bin$(SAN:1=-san)
SUB = sh mk/sub.sh $(MAKE) O=$(O) BIN=$(BIN) SAN=$(SAN) V=$(V)
PREP = sh mk/prepare.sh $(O) $(SAN)
# the fuzz build: always clang, its own directories
FUZZ_CC = clang-14
FUZZ_O = build-fuzz
FSUB = sh mk/sub.sh $(MAKE) O=$(FUZZ_O) BIN=bin-fuzz SAN=fuzz CC=$(FUZZ_CC) V=$(V)
FPREP = CC=$(FUZZ_CC) sh mk/prepare.sh $(FUZZ_O) fuzz
FUZZ_RUNS = 10000000
FUZZ_SECONDS =

all: prepare
	+@$(SUB) all

prepare:
	@$(PREP)

deps:
	@sh ci/deps.sh

check: deps
	@$(FPREP)
	+@$(FSUB) fuzz-check
	@$(PREP)
	+@$(SUB) check

fuzz-build: deps
	@$(FPREP)
	+@$(FSUB) fuzz-build

fuzz-seeds: deps
	@$(FPREP)
	+@$(FSUB) fuzz-seeds

fuzz: deps
	@$(FPREP)
	+@$(FSUB) fuzz FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS)

check-kernel: deps
	@$(PREP)
	+@$(SUB) check-kernel

check-kvm: deps
	@$(PREP)
	+@$(SUB) check-kvm

bench: deps
	@$(PREP)
	+@$(SUB) bench TARGET=$(TARGET)

perf: deps
	@$(PREP)
	+@$(SUB) perf

dirtyram-static: prepare
	+@$(SUB) dirtyram-static

dirtyram-static-arm64: prepare
	+@$(SUB) dirtyram-static-arm64

tests: prepare
	+@$(SUB) tests

kernel-progs: prepare
	+@$(SUB) kernel-progs

kvm-progs: prepare
	+@$(SUB) kvm-progs

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	cp $(BIN)/dirtybench $(BIN)/dirtyram $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-san build-fuzz bin bin-san bin-fuzz
	@if [ -f kmod/Makefile ]; then $(MAKE) -C kmod clean >/dev/null 2>&1 || true; fi

.PHONY: all prepare deps check fuzz-build fuzz fuzz-seeds check-kernel check-kvm bench perf dirtyram-static dirtyram-static-arm64 tests kernel-progs kvm-progs install clean
