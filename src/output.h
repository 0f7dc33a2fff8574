/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The face every output format shows. A new format is one more out_*.c that
 * defines a struct output, and one line in main.c's format table. */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stdio.h>
#include "report.h"

struct output {
	/* Writes one interface's report; returns 0 or a negative errno. */
	int (*write)(FILE *out, const struct report *r);
};

extern const struct output output_log;
extern const struct output output_json;

#endif /* OUTPUT_H */
