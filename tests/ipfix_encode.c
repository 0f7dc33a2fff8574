// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ipfix_encode SIZE RECORDS FILE: src/ipfix.c's messages of at most SIZE
 * bytes, written one after another into FILE, for tests/test_ipfix.py to
 * decode with another decoder (python3-ipfix): one options record (the
 * sampling interval), then RECORDS data records, each message holding the
 * templates of its records, record i
 * holding source 198.18.0.0 + i, i + 1 packets, 100 (i + 1) bytes, start
 * 1,700,000,000,000 + i ms, end a second later, interface 7.
 * ipfix_encode refusals: what the encoder refuses, one line a case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ipfix.h"

#define DOMAIN 42
#define EXPORT_TIME 1700000000u

static int write_message(void *ctx, const __u8 *msg, size_t len)
{
	return fwrite(msg, 1, len, ctx) == len ? 0 : -EIO;
}

static int no_send(void *ctx, const __u8 *msg, size_t len)
{
	(void)ctx, (void)msg, (void)len;
	return -EIO;
}

static int refusals(void)
{
	struct ipfix_template full = { .id = 256 }, big = { .id = 257 }, low = { .id = 255 },
			      scope = { .id = 258, .n_scope = 2 };
	struct ipfix_writer w;
	int err = 0;

	for (int i = 0; i < IPFIX_TEMPLATE_MAX_FIELDS; i++)
		err |= ipfix_template_add(&full, 1, 8);
	printf("fields up to the most: %d\n", err);
	printf("one field more: %d\n", ipfix_template_add(&full, 1, 8));
	printf("an enterprise field: %d\n", ipfix_template_add(&big, 0x8001, 4));
	printf("a variable length: %d\n", ipfix_template_add(&big, 1, 65535));
	printf("a length of 0: %d\n", ipfix_template_add(&big, 1, 0));
	ipfix_template_add(&big, 1, 60000);
	printf("a record past 65535: %d\n", ipfix_template_add(&big, 1, 6000));
	if (ipfix_writer_init(&w, 200, 1, no_send, NULL))
		return 1;
	ipfix_template_add(&low, 1, 8);
	ipfix_template_add(&scope, 1, 8);
	printf("a template id below 256: %d\n", ipfix_template_check(&w, &low));
	low.id = IPFIX_FIRST_TEMPLATE_ID + IPFIX_TEMPLATES_MAX;
	printf("a template id past the most: %d\n", ipfix_template_check(&w, &low));
	printf("more scope fields than fields: %d\n", ipfix_template_check(&w, &scope));
	printf("a record larger than a message: %d\n", ipfix_template_check(&w, &full));
	scope.n_scope = 0;
	scope.n_fields = 0;
	printf("no fields: %d\n", ipfix_template_check(&w, &scope));
	ipfix_writer_free(&w);
	printf("a size below the least: %d\n", ipfix_writer_init(&w, 121, 1, no_send, NULL));
	printf("a size past 65535: %d\n", ipfix_writer_init(&w, 65536, 1, no_send, NULL));
	return 0;
}

int main(int argc, char **argv)
{
	struct ipfix_template data = { .id = 256 }, options = { .id = 257, .n_scope = 1 };
	struct ipfix_writer w;
	FILE *out;
	long records;

	if (argc == 2 && !strcmp(argv[1], "refusals"))
		return refusals();
	if (argc != 4 || (records = atol(argv[2])) < 0 || !(out = fopen(argv[3], "wb"))) {
		fprintf(stderr, "usage: ipfix_encode SIZE RECORDS FILE\n");
		return 2;
	}
	ipfix_template_add(&data, 8, 4);	/* sourceIPv4Address */
	ipfix_template_add(&data, 2, 8);	/* packetDeltaCount */
	ipfix_template_add(&data, 1, 8);	/* octetDeltaCount */
	ipfix_template_add(&data, 152, 8);	/* flowStartMilliseconds */
	ipfix_template_add(&data, 153, 8);	/* flowEndMilliseconds */
	ipfix_template_add(&data, 10, 4);	/* ingressInterface */
	ipfix_template_add(&options, 149, 4);	/* observationDomainId (scope) */
	ipfix_template_add(&options, 305, 4);	/* samplingPacketInterval */
	if (ipfix_writer_init(&w, atol(argv[1]), DOMAIN, write_message, out)) {
		fprintf(stderr, "ipfix_encode: bad SIZE %s\n", argv[1]);
		return 2;
	}
	ipfix_set_time(&w, EXPORT_TIME);
	if (ipfix_template_check(&w, &data) || ipfix_template_check(&w, &options))
		return 1;
	ipfix_put32(ipfix_put32(ipfix_record(&w, &options), DOMAIN), 1);
	for (long i = 0; i < records; i++) {
		__u8 *p = ipfix_record(&w, &data);
		__u64 start = 1700000000000ull + i;

		p = ipfix_put32(p, 0xc6120000u + i);
		p = ipfix_put64(p, i + 1);
		p = ipfix_put64(p, 100 * (i + 1));
		p = ipfix_put64(p, start);
		p = ipfix_put64(p, start + 1000);
		ipfix_put32(p, 7);
	}
	ipfix_flush(&w);
	ipfix_writer_free(&w);
	return fclose(out) || w.err ? 1 : 0;
}
