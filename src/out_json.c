// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* JSON Lines: one object per interface and report, counts cumulative:
 * {"time":"2026-11-25T02:30:00.123Z","interface":"eth0","ifindex":2,
 *  "sources":[{"address":"198.18.0.1","packets":3,"bytes":294}],
 *  "tracked_sources":1,"other":{...},"untracked":{...},"total":{...}} */
#include <errno.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include "output.h"

static json_object *counter_json(const struct xdptop_counter *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets", json_object_new_uint64(c->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(c->bytes));
	return o;
}

/* The sources array can hold a million rows: rather than a json-c object
 * per row (a hash table each), json-c calls this to write the array, and
 * each row goes straight into its buffer. Addresses from inet_ntop and
 * numbers need no escaping. */
static int sources_to_json(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const struct report *r = json_object_get_userdata(jso);
	char addr[INET6_ADDRSTRLEN];

	(void)level;
	(void)flags;
	printbuf_strappend(pb, "[");
	for (size_t i = 0; i < r->n_rows; i++)
		sprintbuf(pb, "%s{\"address\":\"%s\",\"packets\":%llu,\"bytes\":%llu}",
			  i ? "," : "", format_address(r->rows[i], addr),
			  (unsigned long long)r->rows[i]->packets,
			  (unsigned long long)r->rows[i]->bytes);
	printbuf_strappend(pb, "]");
	return 0;
}

static json_object *sources_json(const struct report *r)
{
	json_object *o = json_object_new_array();

	json_object_set_serializer(o, sources_to_json, (void *)r, NULL);
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
	json_object *o = json_object_new_object();
	int err;

	json_object_object_add(o, "time", time_json(&r->when));
	json_object_object_add(o, "interface", json_object_new_string(r->ifname));
	json_object_object_add(o, "ifindex", json_object_new_int(r->ifindex));
	json_object_object_add(o, "sources", sources_json(r));
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
