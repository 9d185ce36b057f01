// SPDX-License-Identifier: MIT
/*
 * The guest console parser (collectors/console.c, behind `dirtybench
 * console`): any bytes a booted guest or its kernel may print. The
 * verdict on them must come with a message whenever it is not a pass.
 */
#include "fuzz.h"

#include "dirtybench/common.h"
#include "../collectors/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const required[] = { "system", "module" };
	struct db_console c;
	char *text = (char *)fuzz_dup(data, size);
	size_t i;

	if (!db_console_parse(&c, text, size)) {
		for (i = 0; i < c.nresults; i++)
			fuzz_touch(c.results[i].name, strlen(c.results[i].name));
		if (db_console_check(&c, required, 2) && !db_strerror()[0])
			fuzz_fail("a failed verdict without a message");
		db_console_free(&c);
	}
	free(text);
	return 0;
}
