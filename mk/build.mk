# Called by the top-level Makefile after configure and mk/gen.sh.
.POSIX:

include $(O)/config.mk
include $(O)/rules.mk

CC = cc
# extra flags from the command line (make CFLAGS=... LDFLAGS=...)
CFLAGS =
LDFLAGS =
WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-align \
	-Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings \
	-Wformat=2 -Wundef -Wvla -Wno-unused-parameter
SANFLAGS_1 = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# SAN=fuzz (make fuzz-build, with clang): libFuzzer's coverage in the
# library, ASan and UBSan; the targets add -fsanitize=fuzzer (mk/gen.sh).
SANFLAGS_fuzz = -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT_ = -O2
OPT_1 = -O1
OPT_fuzz = -O1
# clang warns of casts that raise alignment even where the target allows
# them (gcc only where it does not)
WARN_fuzz = -Wno-cast-align
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(OPT_$(SAN)) -g $(WARN) $(WARN_$(SAN)) -pthread \
	-Iinclude -Ilib -Ikmod -I$(O) $(SANFLAGS_$(SAN)) $(CONF_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS_$(SAN)) $(LDFLAGS)
# One short line per step unless V=1, which prints the commands in full.
V =
Q_ = @
Q = $(Q_$(V))
SAY_ = echo
SAY_1 = :
SAY = $(SAY_$(V))
LIBS = $(CONF_LIBS) -lm

LIBDB = $(O)/libdirtybench.a
TESTBIN = $(O)/dirtybench-tests

all: $(BIN)/dirtybench $(BIN)/dirtyram

$(LIBDB): $(LIB_OBJS)
	@rm -f $@
	@$(SAY) "  AR      $@"
	$(Q)$(AR) rcs $@ $(LIB_OBJS)

$(BIN)/dirtybench: $(BENCH_OBJS) $(LIBDB)
	@mkdir -p $(BIN)
	@$(SAY) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(BENCH_OBJS) $(LIBDB) $(LIBS)

$(BIN)/dirtyram: $(DIRTYRAM_OBJS)
	@mkdir -p $(BIN)
	@$(SAY) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(DIRTYRAM_OBJS) -lm

dirtyram-static: $(BIN)/dirtyram-static
$(BIN)/dirtyram-static: workloads/dirtyram/dirtyram.c workloads/dirtyram/main.c include/dirtybench/dirtyram.h
	@mkdir -p $(BIN)
	@$(SAY) "  LD      $@"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) -Iinclude -static -pthread \
		-o $@ workloads/dirtyram/dirtyram.c workloads/dirtyram/main.c -lm

# The same for an aarch64 QEMU guest (vmm/qemu, --vmm-arch aarch64).
dirtyram-static-arm64: $(BIN)/dirtyram-static-arm64
$(BIN)/dirtyram-static-arm64: workloads/dirtyram/dirtyram.c workloads/dirtyram/main.c include/dirtybench/dirtyram.h
	@mkdir -p $(BIN)
	@$(SAY) "  CROSS   $@"
	$(Q)$(CROSS_CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) -Iinclude -static -pthread \
		-o $@ workloads/dirtyram/dirtyram.c workloads/dirtyram/main.c -lm

tests: $(TESTBIN)
$(TESTBIN): $(TEST_OBJS) $(LIBDB)
	@$(SAY) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJS) $(LIBDB) $(LIBS) $(TEST_LIBS)

# The module's ioctl suite and its random-call loop run inside a booted
# kernel: static, so that the initramfs needs no libraries for them.
KTEST = $(O)/kernel-progs/cowtrack-ioctl
KFUZZ = $(O)/kernel-progs/cowtrack-fuzz
kernel-progs: $(KTEST) $(KFUZZ)
$(KTEST): tests/kernel/cowtrack_ioctl.c kmod/cowtrack_uapi.h
	@mkdir -p $(O)/kernel-progs
	@$(SAY) "  LD      $@"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Ikmod -static -pthread \
		-o $@ tests/kernel/cowtrack_ioctl.c

$(KFUZZ): tests/kernel/cowtrack_fuzz.c kmod/cowtrack_uapi.h
	@mkdir -p $(O)/kernel-progs
	@$(SAY) "  LD      $@"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Ikmod -static -pthread \
		-o $@ tests/kernel/cowtrack_fuzz.c

# The arm64 VMM runs inside the arm64 test bed's guest (ci/kernel-arm64):
# cross-built and static, so that the initramfs needs no arm64 libraries.
CROSS_CC = aarch64-linux-gnu-gcc
KVMPROG = $(O)/kvm-progs/kvmdirty
KVM_SRCS = vmm/kvm/main.c vmm/kvm/guest.S lib/ram/kvm_vm.c lib/base/common.c
kvm-progs: $(KVMPROG)
$(KVMPROG): $(KVM_SRCS) lib/ram/kvm_vm.h include/dirtybench/common.h
	@mkdir -p $(O)/kvm-progs
	@$(SAY) "  CROSS   $@"
	$(Q)$(CROSS_CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -static -pthread -Iinclude -Ilib \
		-o $@ $(KVM_SRCS) -lm

# Criterion's synthesis line is the last line of the run.
check: all $(TESTBIN) $(KTEST) $(KFUZZ) $(KVMPROG) $(BIN)/dirtyram-static $(BIN)/dirtyram-static-arm64
	@sh mk/layers.sh
	DIRTYBENCH_BIN=$(BIN) sh ci/check.sh $(TESTBIN)

check-kernel: all $(TESTBIN) $(KTEST) $(KFUZZ)
	O=$(O) DIRTYBENCH_BIN=$(BIN) sh ci/kernel/run.sh

check-kvm: all $(KVMPROG)
	O=$(O) DIRTYBENCH_BIN=$(BIN) sh ci/kernel-arm64/run.sh

# libFuzzer targets (tests/fuzz): a short run over the seed corpus for
# `make check`, a long one for `make fuzz` (FUZZ_RUNS executions per
# target, or FUZZ_SECONDS each).
FUZZ_RUNS = 10000000
FUZZ_SECONDS =
FUZZ_CHECK_SECONDS = 3
FUZZ_SEEDS = $(O)/fuzz/fuzz-seeds
fuzz-build: $(FUZZ_BINS) $(FUZZ_SEEDS)
# the seed corpus, rewritten from real encoders and a workload that ran
fuzz-seeds: $(FUZZ_SEEDS)
	$(FUZZ_SEEDS) tests/fuzz/corpus
	@for t in bench/targets/*.ini; do mkdir -p tests/fuzz/corpus/target; \
		cp "$$t" tests/fuzz/corpus/target/; done
$(FUZZ_SEEDS): tests/fuzz/seeds.c tests/fuzz/fuzz.h $(LIBDB)
	@mkdir -p $(O)/fuzz
	@$(SAY) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $(ALL_LDFLAGS) -o $@ tests/fuzz/seeds.c $(LIBDB) $(LIBS)
fuzz-check: $(FUZZ_BINS)
	sh tests/fuzz/run.sh check $(O)/fuzz $(FUZZ_CHECK_SECONDS)
fuzz: $(FUZZ_BINS)
	sh tests/fuzz/run.sh long $(O)/fuzz $(FUZZ_RUNS) $(FUZZ_SECONDS)

bench: all
	$(BIN)/dirtybench bench --target $(TARGET)
	@if [ "$(TARGET)" = exynos ]; then O=$(O) DIRTYBENCH_BIN=$(BIN) sh ci/kvm-bench.sh; fi

perf: all
	$(BIN)/dirtybench perf --json $(O)/perf.json
	@echo "perf: the same figures as JSON in $(O)/perf.json"

.PHONY: all dirtyram-static dirtyram-static-arm64 tests kernel-progs kvm-progs check check-kernel check-kvm \
	bench perf fuzz-build fuzz-check fuzz fuzz-seeds
