// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* JSON Lines: one object per interface and report; counts cumulative, rates
 * over the interval that really passed ("interval", seconds):
 * {"time":"2026-11-25T02:30:00.123Z","interface":"eth0","ifindex":2,"interval":1.000214,
 *  "sources":[{"address":"198.18.0.1","packets":3,"bytes":294,"pps":1.000,"bps":784.000}],
 *  "tracked_sources":1,"other":{...},"untracked":{...},"total":{...}}
 * With --vlan each key also has "vlan": its VLAN ids, outermost first. A key
 * of other fields than one address has a member per field in place of
 * "address" (key_to_json()):
 *  {"src":"198.18.0.1","proto":6,"dport":443,"packets":3,...} */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include "output.h"

struct json_sink {
	struct stream_sink stream;
	const struct round *round;
	const struct report *current;	/* while it is written */
};

static int json_open(struct sink **out, const struct sink_options *o)
{
	return stream_sink_open(out, &sink_json, o, sizeof(struct json_sink));
}

static int json_begin(struct sink *base, const struct round *r)
{
	((struct json_sink *)base)->round = r;
	return 0;
}

/* The interval, in seconds to the microsecond, as written. */
static json_object *seconds_json(double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.6f", v);
	return json_object_new_double_s(v, buf);
}

static void vlans_to_json(struct printbuf *pb, __u32 meta)
{
	__u16 ids[2];
	int n = key_vlans(meta, ids);

	printbuf_strappend(pb, ",\"vlan\":[");
	for (int i = 0; i < n; i++)
		sprintbuf(pb, "%s%u", i ? "," : "", ids[i]);
	printbuf_strappend(pb, "]");
}

/* Rows are written by hand: sprintbuf is a vsnprintf per call, and with
 * rates a row has six numbers; a report can hold a million rows. */
static void append_str(struct printbuf *pb, const char *str)
{
	printbuf_memappend(pb, str, (int)strlen(str));
}

static void append_uint(struct printbuf *pb, unsigned long long v)
{
	char buf[24], *p = buf + sizeof(buf);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	printbuf_memappend(pb, p, (int)(buf + sizeof(buf) - p));
}

/* A key's members: "address" for an address key, else one per field
 * ("family" first when it has no address); "vlan" with --vlan. No comma
 * before the first, none after the last. */
static void key_to_json(struct printbuf *pb, const struct key_spec *spec,
			const struct xdptop_key *k)
{
	char text[KEY_FIELD_LEN];
	int shown[KEY_SHOWN_MAX], n = key_shown(spec, shown);

	for (int i = 0; i < n; i++) {
		const char *name = key_is_address(spec) ? "address" :
				   shown[i] == KEY_SHOWN_FAMILY ? "family" : key_field_name(shown[i]);

		append_str(pb, i ? ",\"" : "\"");
		append_str(pb, name);
		append_str(pb, "\":");
		if (shown[i] == KEY_SHOWN_FAMILY) {
			append_uint(pb, key_family(k));
		} else if (shown[i] & XDPTOP_FIELDS_ADDRESS) {
			append_str(pb, "\"");
			append_str(pb, key_format_field(spec, k, shown[i], text));
			append_str(pb, "\"");
		} else {
			append_uint(pb, key_field_number(k, shown[i]));
		}
	}
	if (spec->vlan)
		vlans_to_json(pb, k->meta);
}

/* v with 3 decimals, rounded half up, written as integers are (%f costs
 * several times more, and a report can hold a million rows); every rate of
 * a report goes through here, so that rows and totals round alike. Past
 * 10^15 (no real rate, but a clock that hardly moved) as printf writes it. */
#define RATE_TEXT_LEN 32

static const char *rate_text(double v, char buf[RATE_TEXT_LEN])
{
	char *p = buf + RATE_TEXT_LEN - 1;
	unsigned long long t;

	if (!(v >= 0 && v < 1e15)) {
		snprintf(buf, RATE_TEXT_LEN, "%.3f", v);
		return buf;
	}
	t = (unsigned long long)(v * 1000 + 0.5);
	*p = '\0';
	for (int i = 0; i < 3; i++, t /= 10)
		*--p = (char)('0' + t % 10);
	*--p = '.';
	do
		*--p = (char)('0' + t % 10);
	while (t /= 10);
	return p;
}

static void append_rate(struct printbuf *pb, double v)
{
	char buf[RATE_TEXT_LEN];

	append_str(pb, rate_text(v, buf));
}

static json_object *counter_json(const struct counter_report *c)
{
	json_object *o = json_object_new_object();
	char buf[RATE_TEXT_LEN];

	json_object_object_add(o, "packets", json_object_new_uint64(c->cum.packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(c->cum.bytes));
	json_object_object_add(o, "pps", json_object_new_double_s(c->pps, rate_text(c->pps, buf)));
	json_object_object_add(o, "bps", json_object_new_double_s(c->bps, rate_text(c->bps, buf)));
	return o;
}

/* The sources array can hold a million rows: rather than a json-c object
 * per row (a hash table each), json-c calls this to write the array, and
 * each row goes straight into its buffer. Addresses from inet_ntop and
 * numbers need no escaping. */
static int sources_to_json(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const struct json_sink *s = json_object_get_userdata(jso);
	const struct report *r = s->current;

	(void)level;
	(void)flags;
	printbuf_strappend(pb, "[");
	for (size_t i = 0; i < s->stream.rows.n; i++) {
		const struct source_count *k = s->stream.rows.row[i];
		struct key_report kr;
		struct xdptop_key key;

		report_key(r, k, &kr);
		tally_key(r->tally, k, &key);
		append_str(pb, i ? ",{" : "{");
		key_to_json(pb, r->key, &key);
		printbuf_strappend(pb, ",\"packets\":");
		append_uint(pb, k->packets);
		printbuf_strappend(pb, ",\"bytes\":");
		append_uint(pb, k->bytes);
		printbuf_strappend(pb, ",\"pps\":");
		append_rate(pb, kr.pps);
		printbuf_strappend(pb, ",\"bps\":");
		append_rate(pb, kr.bps);
		printbuf_strappend(pb, "}");
	}
	printbuf_strappend(pb, "]");
	return 0;
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

static int json_report(struct sink *base, const struct report *r)
{
	struct json_sink *s = (struct json_sink *)base;
	json_object *o, *sources;
	int err;

	if (rows_rank(&s->stream.rows, r, s->stream.o.sort, false, s->stream.o.top))
		return -ENOMEM;
	s->current = r;
	sources = json_object_new_array();
	json_object_set_serializer(sources, sources_to_json, s, NULL);
	o = json_object_new_object();
	json_object_object_add(o, "time", time_json(&s->round->when));
	json_object_object_add(o, "interface", json_object_new_string(r->iface->name));
	json_object_object_add(o, "ifindex", json_object_new_int(r->iface->ifindex));
	json_object_object_add(o, "interval", seconds_json(r->interval));
	json_object_object_add(o, "sources", sources);
	json_object_object_add(o, "tracked_sources", json_object_new_uint64(r->n_keys));
	json_object_object_add(o, "other", counter_json(&r->other));
	json_object_object_add(o, "untracked", counter_json(&r->untracked));
	json_object_object_add(o, "total", counter_json(&r->total));
	fprintf(s->stream.o.out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	err = stream_sink_written(&s->stream);	/* at once: errno is the write's */
	json_object_put(o);
	s->current = NULL;
	return err;
}

const struct sink_ops sink_json = {
	.name = "json",
	.open = json_open,
	.begin = json_begin,
	.report = json_report,
	.end = stream_sink_end,
	.close = stream_sink_close,
};
