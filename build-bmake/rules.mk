HDRS = bench/cmd.h bench/cmdopt.h bench/commands.def collectors/procfs.h collectors/sampler.h include/dirtybench/bitmap.h include/dirtybench/common.h include/dirtybench/dirtyram.h include/dirtybench/ram.h include/dirtybench/tracker.h lib/compat.h lib/files.h lib/matrix.h lib/mmtrack.h lib/re.h lib/segv.h lib/target.h lib/trackers.def lib/vec.h reports/compare.h reports/html.h reports/http.h reports/plot.h reports/report.h reports/runset.h tests/fixture.h tests/httpd.h vmm-shims/stage2/sim.h vmm-shims/stage2/stage2.h 
$(O)/lib/bitmap.o: lib/bitmap.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/bitmap.c -o $(O)/lib/bitmap.o
$(O)/lib/common.o: lib/common.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/common.c -o $(O)/lib/common.o
$(O)/lib/files.o: lib/files.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/files.c -o $(O)/lib/files.o
$(O)/lib/matrix.o: lib/matrix.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/matrix.c -o $(O)/lib/matrix.o
$(O)/lib/mmtrack.o: lib/mmtrack.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/mmtrack.c -o $(O)/lib/mmtrack.o
$(O)/lib/ram.o: lib/ram.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/ram.c -o $(O)/lib/ram.o
$(O)/lib/re.o: lib/re.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/re.c -o $(O)/lib/re.o
$(O)/lib/segv.o: lib/segv.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/segv.c -o $(O)/lib/segv.o
$(O)/lib/target.o: lib/target.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/target.c -o $(O)/lib/target.o
$(O)/lib/target_host.o: lib/target_host.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/target_host.c -o $(O)/lib/target_host.o
$(O)/lib/tracker.o: lib/tracker.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib
	$(CC) $(ALL_CFLAGS) -c lib/tracker.c -o $(O)/lib/tracker.o
$(O)/lib/trackers/faulty.o: lib/trackers/faulty.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib/trackers
	$(CC) $(ALL_CFLAGS) -c lib/trackers/faulty.c -o $(O)/lib/trackers/faulty.o
$(O)/lib/trackers/fork_cow.o: lib/trackers/fork_cow.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib/trackers
	$(CC) $(ALL_CFLAGS) -c lib/trackers/fork_cow.c -o $(O)/lib/trackers/fork_cow.o
$(O)/lib/trackers/hash.o: lib/trackers/hash.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib/trackers
	$(CC) $(ALL_CFLAGS) -c lib/trackers/hash.c -o $(O)/lib/trackers/hash.o
$(O)/lib/trackers/mprotect.o: lib/trackers/mprotect.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib/trackers
	$(CC) $(ALL_CFLAGS) -c lib/trackers/mprotect.c -o $(O)/lib/trackers/mprotect.o
$(O)/lib/trackers/softdirty.o: lib/trackers/softdirty.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib/trackers
	$(CC) $(ALL_CFLAGS) -c lib/trackers/softdirty.c -o $(O)/lib/trackers/softdirty.o
$(O)/lib/trackers/uffd_async.o: lib/trackers/uffd_async.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib/trackers
	$(CC) $(ALL_CFLAGS) -c lib/trackers/uffd_async.c -o $(O)/lib/trackers/uffd_async.o
$(O)/lib/trackers/uffd_wp.o: lib/trackers/uffd_wp.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/lib/trackers
	$(CC) $(ALL_CFLAGS) -c lib/trackers/uffd_wp.c -o $(O)/lib/trackers/uffd_wp.o
$(O)/vmm-shims/stage2/sim.o: vmm-shims/stage2/sim.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/vmm-shims/stage2
	$(CC) $(ALL_CFLAGS) -c vmm-shims/stage2/sim.c -o $(O)/vmm-shims/stage2/sim.o
$(O)/vmm-shims/stage2/stage2.o: vmm-shims/stage2/stage2.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/vmm-shims/stage2
	$(CC) $(ALL_CFLAGS) -c vmm-shims/stage2/stage2.c -o $(O)/vmm-shims/stage2/stage2.o
$(O)/vmm-shims/stage2/tracker.o: vmm-shims/stage2/tracker.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/vmm-shims/stage2
	$(CC) $(ALL_CFLAGS) -c vmm-shims/stage2/tracker.c -o $(O)/vmm-shims/stage2/tracker.o
$(O)/collectors/procfs.o: collectors/procfs.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/collectors
	$(CC) $(ALL_CFLAGS) -c collectors/procfs.c -o $(O)/collectors/procfs.o
$(O)/collectors/sampler.o: collectors/sampler.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/collectors
	$(CC) $(ALL_CFLAGS) -c collectors/sampler.c -o $(O)/collectors/sampler.o
$(O)/reports/compare.o: reports/compare.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/reports
	$(CC) $(ALL_CFLAGS) -c reports/compare.c -o $(O)/reports/compare.o
$(O)/reports/html.o: reports/html.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/reports
	$(CC) $(ALL_CFLAGS) -c reports/html.c -o $(O)/reports/html.o
$(O)/reports/http.o: reports/http.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/reports
	$(CC) $(ALL_CFLAGS) -c reports/http.c -o $(O)/reports/http.o
$(O)/reports/plot.o: reports/plot.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/reports
	$(CC) $(ALL_CFLAGS) -c reports/plot.c -o $(O)/reports/plot.o
$(O)/reports/report.o: reports/report.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/reports
	$(CC) $(ALL_CFLAGS) -c reports/report.c -o $(O)/reports/report.o
$(O)/reports/runset.o: reports/runset.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/reports
	$(CC) $(ALL_CFLAGS) -c reports/runset.c -o $(O)/reports/runset.o
$(O)/workloads/dirtyram/dirtyram.o: workloads/dirtyram/dirtyram.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/workloads/dirtyram
	$(CC) $(ALL_CFLAGS) -c workloads/dirtyram/dirtyram.c -o $(O)/workloads/dirtyram/dirtyram.o
LIB_OBJS = $(O)/lib/bitmap.o $(O)/lib/common.o $(O)/lib/files.o $(O)/lib/matrix.o $(O)/lib/mmtrack.o $(O)/lib/ram.o $(O)/lib/re.o $(O)/lib/segv.o $(O)/lib/target.o $(O)/lib/target_host.o $(O)/lib/tracker.o $(O)/lib/trackers/faulty.o $(O)/lib/trackers/fork_cow.o $(O)/lib/trackers/hash.o $(O)/lib/trackers/mprotect.o $(O)/lib/trackers/softdirty.o $(O)/lib/trackers/uffd_async.o $(O)/lib/trackers/uffd_wp.o $(O)/vmm-shims/stage2/sim.o $(O)/vmm-shims/stage2/stage2.o $(O)/vmm-shims/stage2/tracker.o $(O)/collectors/procfs.o $(O)/collectors/sampler.o $(O)/reports/compare.o $(O)/reports/html.o $(O)/reports/http.o $(O)/reports/plot.o $(O)/reports/report.o $(O)/reports/runset.o $(O)/workloads/dirtyram/dirtyram.o
$(O)/workloads/dirtyram/main.o: workloads/dirtyram/main.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/workloads/dirtyram
	$(CC) $(ALL_CFLAGS) -c workloads/dirtyram/main.c -o $(O)/workloads/dirtyram/main.o
DIRTYRAM_OBJS = $(O)/workloads/dirtyram/dirtyram.o $(O)/workloads/dirtyram/main.o
$(O)/bench/cmd_bench.o: bench/cmd_bench.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmd_bench.c -o $(O)/bench/cmd_bench.o
$(O)/bench/cmd_collect.o: bench/cmd_collect.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmd_collect.c -o $(O)/bench/cmd_collect.o
$(O)/bench/cmd_compare.o: bench/cmd_compare.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmd_compare.c -o $(O)/bench/cmd_compare.o
$(O)/bench/cmd_publish.o: bench/cmd_publish.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmd_publish.c -o $(O)/bench/cmd_publish.o
$(O)/bench/cmd_report.o: bench/cmd_report.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmd_report.c -o $(O)/bench/cmd_report.o
$(O)/bench/cmd_stage2_bench.o: bench/cmd_stage2_bench.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmd_stage2_bench.c -o $(O)/bench/cmd_stage2_bench.o
$(O)/bench/cmd_trackers.o: bench/cmd_trackers.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmd_trackers.c -o $(O)/bench/cmd_trackers.o
$(O)/bench/cmdopt.o: bench/cmdopt.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/cmdopt.c -o $(O)/bench/cmdopt.o
$(O)/bench/main.o: bench/main.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -c bench/main.c -o $(O)/bench/main.o
BENCH_OBJS = $(O)/bench/cmd_bench.o $(O)/bench/cmd_collect.o $(O)/bench/cmd_compare.o $(O)/bench/cmd_publish.o $(O)/bench/cmd_report.o $(O)/bench/cmd_stage2_bench.o $(O)/bench/cmd_trackers.o $(O)/bench/cmdopt.o $(O)/bench/main.o
$(O)/tests/fixture.o: tests/fixture.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/fixture.c -o $(O)/tests/fixture.o
$(O)/tests/httpd.o: tests/httpd.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/httpd.c -o $(O)/tests/httpd.o
$(O)/tests/test_collectors.o: tests/test_collectors.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_collectors.c -o $(O)/tests/test_collectors.o
$(O)/tests/test_common.o: tests/test_common.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_common.c -o $(O)/tests/test_common.o
$(O)/tests/test_compare.o: tests/test_compare.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_compare.c -o $(O)/tests/test_compare.o
$(O)/tests/test_dirtyram.o: tests/test_dirtyram.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_dirtyram.c -o $(O)/tests/test_dirtyram.o
$(O)/tests/test_report.o: tests/test_report.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_report.c -o $(O)/tests/test_report.o
$(O)/tests/test_stage2.o: tests/test_stage2.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_stage2.c -o $(O)/tests/test_stage2.o
$(O)/tests/test_targets.o: tests/test_targets.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_targets.c -o $(O)/tests/test_targets.o
$(O)/tests/test_trackers.o: tests/test_trackers.c $(HDRS) $(O)/config.h
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -c tests/test_trackers.c -o $(O)/tests/test_trackers.o
TEST_OBJS = $(O)/tests/fixture.o $(O)/tests/httpd.o $(O)/tests/test_collectors.o $(O)/tests/test_common.o $(O)/tests/test_compare.o $(O)/tests/test_dirtyram.o $(O)/tests/test_report.o $(O)/tests/test_stage2.o $(O)/tests/test_targets.o $(O)/tests/test_trackers.o
