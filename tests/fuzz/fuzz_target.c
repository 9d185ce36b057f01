// SPDX-License-Identifier: MIT
/*
 * The bench target parser (lib/runner/target.c): an ini text as a user
 * may write it. A refused text names its line and key; an accepted one
 * expands into scenarios whose run arguments can be built.
 */
#include "fuzz.h"

#include "dirtybench/common.h"
#include "runner/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct db_target_opts opts = { .scale = 0 };
	struct db_target *t = NULL;
	char *text, **argv;
	size_t i;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (db_target_parse(&t, text, "fuzz.ini", "fuzz", &opts)) {
		if (!db_strerror()[0])
			fuzz_fail("a refused target without a message");
	} else {
		for (i = 0; i < t->nsc && i < 64; i++) {
			argv = db_scenario_argv(&t->sc[i], "dirtybench", "/nonexistent");
			if (!argv)
				fuzz_fail("no argv for scenario %s", t->sc[i].name);
			db_argv_free(argv);
		}
		db_target_free(t);
	}
	free(text);
	return 0;
}
