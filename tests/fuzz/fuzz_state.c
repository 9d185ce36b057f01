// SPDX-License-Identifier: MIT
/*
 * The workload state restore (dr_state_restore), which the destination
 * runs on the STATE frame's bytes. Whatever it accepts must leave a
 * workload that saves a state of the same size and runs.
 */
#include "fuzz.h"

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[64 * 2 * DB_PAGE_SIZE];
	static const struct dr_config cfg = FUZZ_STATE_CONFIG;
	struct dr_workload *w;
	uint8_t *in = fuzz_dup(data, size), *out;
	size_t n;

	if (dr_create(&w, &cfg, ram, 128, NULL))
		abort();
	if (!dr_state_restore(w, in, size)) {
		n = dr_state_size(w);
		if (n != size)
			fuzz_fail("state of %zu bytes accepted, %zu expected", size, n);
		out = malloc(n);
		if (!out || dr_state_save(w, out, n))
			fuzz_fail("a restored workload cannot save its state");
		free(out);
	}
	dr_destroy(w);
	free(in);
	return 0;
}
