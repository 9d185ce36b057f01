/* SPDX-License-Identifier: MIT */
/*
 * A run set as a text table for terminals and CI logs: one row per
 * scenario (its median run, as in the report), aligned columns, a RAM
 * mismatch or a failed run marked so that it stands out without colour.
 */
#ifndef DIRTYBENCH_TABLE_H
#define DIRTYBENCH_TABLE_H

#include <stdbool.h>
#include <stdio.h>

#include "runset.h"

/*
 * Scenario, tracker, dirty rate, rounds, converged, stop reason,
 * downtime, total time, guest stall, ram_equal and the verdict. Rows in
 * trouble start with "!!" (and are red with colour); skipped ones say why.
 * Returns the number of rows in trouble.
 */
size_t db_runset_print_table(const struct db_runset *rs, FILE *f, bool colour);

#endif
