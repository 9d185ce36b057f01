// SPDX-License-Identifier: MIT
/* The host target, built in (the same text as bench/targets/host.ini). */


#include "runner/target.h"

const char db_target_host_ini[] =
	"; host: the default target of `make bench`, a quick look at this machine\n"
	"; in under two minutes. dirtybench has this file built in, so it runs from\n"
	"; anywhere; a bench/targets/host.ini next to it takes precedence.\n"
	"[target]\n"
	"description = quick look: the best three trackers here, idle to non-converging\n"
	"repetitions = 1\n"
	"tracker = best:3 uffd-async kmod-cow fork-cow uffd-wp stage2-lazy mprotect hash\n"
	"backing = anon\n"
	"ram = 32M\n"
	"copies = 1\n"
	"pattern = seq\n"
	"; 50 MB/s: one full pass over 32 MiB takes 0.7 s\n"
	"bandwidth = 400mbit\n"
	"link = loopback\n"
	"downtime_limit = 50ms\n"
	"stop = downtime\n"
	"max_rounds = 20\n"
	"max_time = 6s\n"
	"on_timeout = force\n"
	"; measure the unthrottled guest: a rate above the link never converges\n"
	"dirty_limit = off\n"	"; idle; 3200 pages/s (lambda 0.26); 51200 pages/s (lambda 4.2, never converges)\n"
	"rate = idle, 32x10, 512x10\n"
;
