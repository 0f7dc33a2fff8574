/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the fuzz targets share: an invariant that, broken, stops the fuzzer
 * with a line naming it (libFuzzer keeps the input). */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define require(cond)								\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s: broken invariant: %s\n", __FILE__, #cond); \
			abort();						\
		}								\
	} while (0)

#endif /* FUZZ_H */
