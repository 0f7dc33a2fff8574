// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Prometheus exporter: a sink that renders each round into the text
 * exposition format and publishes it for http.c to serve. Which keys it
 * exports, and their counters, exported.c decides; here the interfaces'
 * counters (all frames, other, untracked) grow by each interval's frames,
 * so that exported keys + unlisted + other + untracked == all frames. */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "exported.h"
#include "http.h"
#include "output.h"

struct prom_iface {
	const struct iface_info *info;
	bool reported;			/* in this round */
	__u64 tracked;
	struct xdptop_counter all, other, untracked;
	struct exported ex;		/* the keys, and unlisted */
};

/* A growing text buffer; a failed allocation marks it, and the round is
 * not published. */
struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static bool reserve(struct text *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 65536;
	char *buf;

	if (t->len + more < t->cap)
		return true;
	while (cap <= t->len + more)
		cap *= 2;
	buf = realloc(t->buf, cap);
	if (!buf) {
		t->failed = true;
		return false;
	}
	t->buf = buf;
	t->cap = cap;
	return true;
}

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(t, n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, n + 1, fmt, ap);
	va_end(ap);
	t->len += n;
}

/* A label: name="value", with backslash, double quote and newline escaped
 * (interface names may hold the first two). */
static void put_label(struct text *t, const char *name, const char *value)
{
	size_t len = strlen(value);

	put(t, "%s=\"", name);
	if (!reserve(t, 2 * len + 2))
		return;
	for (const char *c = value; *c; c++) {
		if (*c == '\\' || *c == '"' || *c == '\n')
			t->buf[t->len++] = '\\';
		t->buf[t->len++] = *c == '\n' ? 'n' : *c;
	}
	t->buf[t->len++] = '"';
}

struct prom_sink {
	struct sink base;
	struct http *http;
	__u32 top;
	const struct key_spec *key;	/* from the first report */
	double now;			/* the round's, seconds since the start */
	struct timespec when;		/* the round's, CLOCK_REALTIME */
	struct prom_iface ifaces[MAX_INTERFACES];
	size_t n_ifaces;
	struct text out;
};

static struct prom_iface *iface_of(struct prom_sink *p, const struct iface_info *info)
{
	for (size_t i = 0; i < p->n_ifaces; i++)
		if (p->ifaces[i].info == info)
			return &p->ifaces[i];
	if (p->n_ifaces == MAX_INTERFACES)
		return NULL;
	p->ifaces[p->n_ifaces].info = info;
	return &p->ifaces[p->n_ifaces++];
}

/* What was counted before this interval: 0, unless a pinned state kept the
 * counts of the agents before this one (--pin). */
static struct xdptop_counter before(const struct counter_report *c)
{
	return (struct xdptop_counter){ c->cum.packets - c->last.packets,
					c->cum.bytes - c->last.bytes };
}

/* With room for every key and nothing untracked so far, the counters go
 * on from those counts: as in the agent before (with the same
 * --metrics-top), every key was exported from its first frame and nothing
 * was unlisted, and a restart is no reset to Prometheus. Else they start
 * from zero, the reset it is: the tally's untracked also holds the counts
 * of keys it forgot, which the exporter had counted under those keys. */
static void take_up(struct prom_iface *f, const struct report *r)
{
	struct xdptop_counter untracked = before(&r->untracked);

	if (r->n_keys > f->ex.top || untracked.packets)
		return;
	f->all = before(&r->total);
	f->other = before(&r->other);
	f->untracked = before(&r->untracked);
	exported_take_up(&f->ex, r->tally);
}

static void add_interval(struct prom_iface *f, const struct report *r)
{
	counter_merge(&f->all, &r->total.last);
	counter_merge(&f->other, &r->other.last);
	counter_merge(&f->untracked, &r->untracked.last);
	f->tracked = r->n_keys;
}

static int prom_report(struct sink *s, const struct report *r)
{
	struct prom_sink *p = (struct prom_sink *)s;
	struct prom_iface *f = iface_of(p, r->iface);

	if (!f)
		return 0;
	bool first = !f->ex.keys;

	/* No more keys than the interface tracks. */
	if (first && exported_init(&f->ex, p->top < r->iface->capacity ?
				   p->top : r->iface->capacity))
		return -ENOMEM;
	p->key = r->key;
	f->reported = true;
	exported_update(&f->ex, r, p->now);
	if (first)
		take_up(f, r);
	add_interval(f, r);
	return 0;
}

static int prom_begin(struct sink *s, const struct round *r)
{
	struct prom_sink *p = (struct prom_sink *)s;

	p->now = r->elapsed;
	p->when = r->when;
	for (size_t i = 0; i < p->n_ifaces; i++)
		p->ifaces[i].reported = false;
	return 0;
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void key_labels(struct prom_sink *p, const struct prom_iface *f,
		       const struct exported_key *m)
{
	const struct key_spec *spec = p->key;
	char text[KEY_FIELD_LEN], vlans[KEY_VLANS_LEN];
	int shown[KEY_SHOWN_MAX], n = key_shown(spec, shown);

	put_label(&p->out, "interface", f->info->name);
	for (int i = 0; i < n; i++) {
		put(&p->out, ",");
		if (key_is_address(spec))
			put_label(&p->out, "address", key_format_field(spec, &m->key, shown[i], text));
		else if (shown[i] == KEY_SHOWN_FAMILY)
			put_label(&p->out, "family", key_family(&m->key) == 4 ? "ipv4" : "ipv6");
		else
			put_label(&p->out, key_field_name(shown[i]),
				  key_format_field(spec, &m->key, shown[i], text));
	}
	if (spec->vlan) {
		put(&p->out, ",");
		put_label(&p->out, "vlan", key_format_vlans(m->key.meta, vlans));
	}
}

static void per_key(struct prom_sink *p, const char *name, const char *help, bool bytes)
{
	family(&p->out, name, "counter", help);
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct prom_iface *f = &p->ifaces[i];

		for (__u32 j = 0; f->reported && j < f->ex.n; j++) {
			const struct exported_key *m = &f->ex.keys[j];

			put(&p->out, "%s{", name);
			key_labels(p, f, m);
			put(&p->out, "} %llu\n",
			    (unsigned long long)(bytes ? m->count.bytes : m->count.packets));
		}
	}
}

static void interface_info(struct prom_sink *p)
{
	struct text *t = &p->out;

	family(t, "xdptop_interface_info", "gauge",
	       "An interface xdptop counts on: its attach mode and XDP program.");
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct prom_iface *f = &p->ifaces[i];

		if (!f->reported)
			continue;
		put(t, "xdptop_interface_info{");
		put_label(t, "interface", f->info->name);
		put(t, ",");
		put_label(t, "mode", f->info->mode);
		put(t, ",");
		put_label(t, "program", f->info->program);
		put(t, "} 1\n");
	}
}

/* A metric with one value per interface. */
enum iface_value { PACKETS, BYTES, TRACKED, CAPACITY, EXPORTED };

struct iface_metric {
	const char *name, *type, *help;
	enum iface_value value;
	size_t at;			/* PACKETS, BYTES: the counter's offset */
};

#define AT(field) offsetof(struct prom_iface, field)

static const struct iface_metric iface_metrics[] = {
	{ "xdptop_tracked_keys", "gauge", "Keys the agent tracks on the interface.", TRACKED, 0 },
	{ "xdptop_capacity_keys", "gauge",
	  "Keys the agent can track on the interface (--max-sources).", CAPACITY, 0 },
	{ "xdptop_exported_keys", "gauge",
	  "Keys exported as xdptop_source_* series on the interface (--metrics-top).", EXPORTED, 0 },
	{ "xdptop_packets_total", "counter", "Frames received.", PACKETS, AT(all) },
	{ "xdptop_bytes_total", "counter", "Bytes of frames received.", BYTES, AT(all) },
	{ "xdptop_other_packets_total", "counter",
	  "Frames with no IP address (ARP, LLDP, malformed).", PACKETS, AT(other) },
	{ "xdptop_other_bytes_total", "counter", "Bytes of those frames.", BYTES, AT(other) },
	{ "xdptop_untracked_packets_total", "counter", "Frames of keys the table had no room for.",
	  PACKETS, AT(untracked) },
	{ "xdptop_untracked_bytes_total", "counter", "Bytes of those frames.", BYTES,
	  AT(untracked) },
	{ "xdptop_unlisted_packets_total", "counter",
	  "Frames of tracked keys not exported (beyond --metrics-top).", PACKETS, AT(ex.unlisted) },
	{ "xdptop_unlisted_bytes_total", "counter", "Bytes of those frames.", BYTES,
	  AT(ex.unlisted) },
};

static __u64 value_of(const struct prom_iface *f, const struct iface_metric *m)
{
	const struct xdptop_counter *c = (const void *)((const char *)f + m->at);

	switch (m->value) {
	case PACKETS:
		return c->packets;
	case BYTES:
		return c->bytes;
	case TRACKED:
		return f->tracked;
	case CAPACITY:
		return f->info->capacity;
	default:
		return exported_active(&f->ex);
	}
}

static void per_iface(struct prom_sink *p, const struct iface_metric *m)
{
	family(&p->out, m->name, m->type, m->help);
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct prom_iface *f = &p->ifaces[i];

		if (!f->reported)
			continue;
		put(&p->out, "%s{", m->name);
		put_label(&p->out, "interface", f->info->name);
		put(&p->out, "} %llu\n", (unsigned long long)value_of(f, m));
	}
}

/* The round's wall clock: a page that stops moving says the agent stopped
 * reporting, although its server still answers. */
static void last_report(struct prom_sink *p)
{
	family(&p->out, "xdptop_last_report_timestamp_seconds", "gauge",
	       "When the agent last read its tables (this page's round), Unix time.");
	put(&p->out, "xdptop_last_report_timestamp_seconds %ld.%03ld\n", (long)p->when.tv_sec,
	    p->when.tv_nsec / 1000000);
}

static void build_info(struct prom_sink *p)
{
	char prefix[8], fields[KEY_FIELDS_TEXT_LEN];

	family(&p->out, "xdptop_build_info", "gauge",
	       "xdptop's version and what it counts under (the key).");
	put(&p->out, "xdptop_build_info{version=\"%s\",key=\"%s\",", XDPTOP_VERSION,
	    key_format_fields(p->key->fields, fields));
	snprintf(prefix, sizeof(prefix), "%u", p->key->prefix4);
	put_label(&p->out, "prefix4", prefix);
	snprintf(prefix, sizeof(prefix), "%u", p->key->prefix6);
	put(&p->out, ",");
	put_label(&p->out, "prefix6", prefix);
	/* Not "vlan": the keys' own label, which a join would clash with. */
	put(&p->out, ",key_vlan=\"%s\"} 1\n", p->key->vlan ? "true" : "false");
}

static int prom_end(struct sink *s)
{
	struct prom_sink *p = (struct prom_sink *)s;

	if (!p->key)	/* no interface reported */
		return 0;
	p->out.len = 0;
	p->out.failed = false;
	build_info(p);
	last_report(p);
	interface_info(p);
	for (size_t i = 0; i < sizeof(iface_metrics) / sizeof(*iface_metrics); i++)
		per_iface(p, &iface_metrics[i]);
	per_key(p, "xdptop_source_packets_total",
		"Frames of a key (an address, or a prefix) since it was exported.", false);
	per_key(p, "xdptop_source_bytes_total", "Bytes of those frames.", true);
	return p->out.failed ? -ENOMEM : http_publish(p->http, p->out.buf, p->out.len);
}

static int prom_open(struct sink **out, const struct sink_options *o)
{
	struct prom_sink *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->base.ops = &sink_prom;
	p->top = o->metrics_top;
	err = http_start(&p->http, o->listen_fd);
	if (err) {
		free(p);
		return err;
	}
	*out = &p->base;
	return 0;
}

static void prom_close(struct sink *s)
{
	struct prom_sink *p = (struct prom_sink *)s;

	http_stop(p->http);
	for (size_t i = 0; i < p->n_ifaces; i++)
		exported_free(&p->ifaces[i].ex);
	free(p->out.buf);
	free(p);
}

const struct sink_ops sink_prom = {
	.name = "prometheus",
	.open = prom_open,
	.begin = prom_begin,
	.report = prom_report,
	.end = prom_end,
	.close = prom_close,
};
