// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* JSON Lines: one object per interface and report, counts cumulative:
 * {"time":"2026-11-25T02:30:00.123Z","interface":"eth0","ifindex":2,
 *  "sources":[{"address":"198.18.0.1","packets":3,"bytes":294}],
 *  "other":{...},"untracked":{...},"total":{"packets":N,"bytes":N}} */
#include <errno.h>
#include <json-c/json.h>
#include "output.h"

static json_object *counter_json(const struct xdptop_counter *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets", json_object_new_uint64(c->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(c->bytes));
	return o;
}

static json_object *source_json(const struct source_count *s)
{
	char addr[INET6_ADDRSTRLEN];
	json_object *o = json_object_new_object();

	json_object_object_add(o, "address", json_object_new_string(format_address(s, addr)));
	json_object_object_add(o, "packets", json_object_new_uint64(s->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(s->bytes));
	return o;
}

static json_object *time_json(const struct timespec *when)
{
	char buf[64], stamp[32];
	struct tm tm;

	gmtime_r(&when->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s.%03dZ", stamp, (int)(when->tv_nsec / 1000000));
	return json_object_new_string(buf);
}

static int write_json(FILE *out, const struct report *r)
{
	json_object *o = json_object_new_object(), *sources = json_object_new_array();
	int err;

	json_object_object_add(o, "time", time_json(&r->when));
	json_object_object_add(o, "interface", json_object_new_string(r->ifname));
	json_object_object_add(o, "ifindex", json_object_new_int(r->ifindex));
	for (size_t i = 0; i < r->n_rows; i++)
		json_object_array_add(sources, source_json(r->rows[i]));
	json_object_object_add(o, "sources", sources);
	json_object_object_add(o, "tracked_sources", json_object_new_uint64(r->n_sources));
	json_object_object_add(o, "other", counter_json(&r->other));
	json_object_object_add(o, "untracked", counter_json(&r->untracked));
	json_object_object_add(o, "total", counter_json(&r->total));
	fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	err = fflush(out) ? -errno : 0;
	json_object_put(o);
	return err;
}

const struct output output_json = { .write = write_json };
