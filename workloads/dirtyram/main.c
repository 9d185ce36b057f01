// SPDX-License-Identifier: MIT
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "dirtyram: the workload is not built yet\n");
	return 3;
}
