// SPDX-License-Identifier: MIT
/* dirtyram workload library: being written. */
#include "dirtybench/dirtyram.h"
