// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Prometheus exporter: a sink that renders each round into the text
 * exposition format and publishes it for http.c to serve.
 *
 * Bounded by design. Each interface exports at most metrics_top keys, its
 * "members", chosen by their recent rate (the tally's 10 s average) with
 * hysteresis: an outsider replaces the slowest member only when it is
 * HYSTERESIS times faster, so series do not flap. While an interface tracks
 * no more keys than that, every key is a member from its first frame.
 *
 * Every series is a true counter: each round adds the interval's frames to
 * a member's series, or to the interface's "unlisted" when the key is not a
 * member; other, untracked and all frames likewise. A key that joins
 * starts from zero (what it counted before stays in unlisted); one that
 * leaves stops being exported (its series goes stale); one that comes back
 * starts again from zero, a reset Prometheus reads as such. So, over any
 * window, members + unlisted + other + untracked == all frames, exactly,
 * with no spike from churn (a forgotten key's counts moving to the tally's
 * untracked are not new frames, and move nothing here). */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "http.h"
#include "output.h"

#define HYSTERESIS 1.25

struct member {
	__u64 addr[2];
	__u32 meta;
	bool seen;			/* still tracked, this round */
	double rate;			/* pps, the tally's average */
	struct xdptop_counter count;	/* since it joined */
};

/* A tracked key that is not a member, by rate: the heap of the best. */
struct candidate {
	const struct source_count *s;
	double rate;
};

struct prom_iface {
	const struct iface_info *info;
	bool reported;			/* in this round */
	__u64 tracked;
	struct xdptop_counter all, other, untracked, unlisted;
	struct member *members;		/* n_members, up to metrics_top */
	__u32 n_members;
	__u32 *index;			/* members' positions + 1, open addressing */
	__u32 mask;
};

/* A growing text buffer. */
struct text {
	char *buf;
	size_t len, cap;
};

struct prom_sink {
	struct sink base;
	struct http *http;
	__u32 top;
	const struct key_spec *key;	/* from the first report */
	struct prom_iface ifaces[MAX_INTERFACES];
	size_t n_ifaces;
	struct candidate *heap;		/* top candidates, metrics_top long */
	struct text out;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = t->cap - t->len, cap;
		char *buf;

		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			t->len += n;
			return;
		}
		cap = (t->cap ? t->cap * 2 : 65536) + n;
		buf = realloc(t->buf, cap);
		if (!buf)
			return;	/* the round is published short; the next tries again */
		t->buf = buf;
		t->cap = cap;
	}
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct text *t, const char *name, const char *value)
{
	put(t, "%s=\"", name);
	for (const char *c = value; *c; c++) {
		if (*c == '\\' || *c == '"')
			put(t, "\\%c", *c);
		else if (*c == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *c);
	}
	put(t, "\"");
}

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

static __u32 slot_of(const struct prom_iface *f, __u32 meta, const __u64 addr[2])
{
	return xdptop_hash(addr[0], addr[1], meta) & f->mask;
}

static struct member *find_member(const struct prom_iface *f, __u32 meta, const __u64 addr[2])
{
	for (__u32 i = slot_of(f, meta, addr);; i = (i + 1) & f->mask) {
		__u32 pos = f->index[i];
		struct member *m;

		if (!pos)
			return NULL;
		m = &f->members[pos - 1];
		if (key_equal(m->meta, m->addr, meta, addr))
			return m;
	}
}

static void reindex(struct prom_iface *f)
{
	memset(f->index, 0, ((size_t)f->mask + 1) * sizeof(*f->index));
	for (__u32 n = 0; n < f->n_members; n++) {
		const struct member *m = &f->members[n];
		__u32 i = slot_of(f, m->meta, m->addr);

		while (f->index[i])
			i = (i + 1) & f->mask;
		f->index[i] = n + 1;
	}
}

static int iface_alloc(struct prom_iface *f, __u32 top)
{
	__u32 slots = 1;

	while (slots < 2 * top)
		slots <<= 1;
	f->members = calloc(top, sizeof(*f->members));
	f->index = calloc(slots, sizeof(*f->index));
	f->mask = slots - 1;
	return f->members && f->index ? 0 : -ENOMEM;
}

static void join(struct prom_iface *f, const struct source_count *s, double rate)
{
	f->members[f->n_members++] = (struct member){
		.addr = { s->addr[0], s->addr[1] }, .meta = s->meta, .seen = true, .rate = rate };
}

static double rate_of(const struct report *r, const struct source_count *s)
{
	double pps, bps;

	report_key_average(r, s, &pps, &bps);
	return pps;
}

static void sift_down(struct candidate *h, __u32 n, __u32 i)
{
	for (;;) {
		__u32 l = 2 * i + 1, r = l + 1, m = i;
		struct candidate c;

		if (l < n && h[l].rate < h[m].rate)
			m = l;
		if (r < n && h[r].rate < h[m].rate)
			m = r;
		if (m == i)
			return;
		c = h[i];
		h[i] = h[m];
		h[m] = c;
		i = m;
	}
}

/* Keeps the cap best candidates by rate in a min-heap of *n. */
static void heap_push(struct candidate *h, __u32 *n, __u32 cap, struct candidate c)
{
	__u32 i;

	if (*n == cap) {
		if (c.rate > h[0].rate) {
			h[0] = c;
			sift_down(h, *n, 0);
		}
		return;
	}
	for (i = (*n)++; i && h[(i - 1) / 2].rate > c.rate; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = c;
}

static int by_rate_desc(const void *a, const void *b)
{
	double x = ((const struct candidate *)a)->rate, y = ((const struct candidate *)b)->rate;

	return (x < y) - (x > y);
}

static int member_by_rate(const void *a, const void *b)
{
	double x = ((const struct member *)a)->rate, y = ((const struct member *)b)->rate;

	return (x > y) - (x < y);
}

/* Members that are no longer tracked leave; those that are get their rate. */
static void refresh_members(struct prom_iface *f, const struct report *r)
{
	const struct tally *t = r->tally;
	__u32 kept = 0;

	for (__u32 i = 0; i < f->n_members; i++)
		f->members[i].seen = false;
	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = &t->sources[i];
		struct member *m = find_member(f, s->meta, s->addr);

		if (m) {
			m->seen = true;
			m->rate = rate_of(r, s);
		}
	}
	for (__u32 i = 0; i < f->n_members; i++)
		if (f->members[i].seen)
			f->members[kept++] = f->members[i];
	f->n_members = kept;
	reindex(f);
}

/* The metrics_top busiest outsiders fill free places, then replace the
 * slowest members while HYSTERESIS times faster. */
static void choose_members(struct prom_sink *p, struct prom_iface *f, const struct report *r)
{
	const struct tally *t = r->tally;
	__u32 n = 0, best = 0;

	refresh_members(f, r);
	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = &t->sources[i];

		if (find_member(f, s->meta, s->addr))
			continue;
		if (t->n_sources <= p->top)	/* room for all: no ranking */
			join(f, s, 0);
		else
			heap_push(p->heap, &n, p->top, (struct candidate){ s, rate_of(r, s) });
	}
	qsort(p->heap, n, sizeof(*p->heap), by_rate_desc);
	while (best < n && f->n_members < p->top) {
		join(f, p->heap[best].s, p->heap[best].rate);
		best++;
	}
	qsort(f->members, f->n_members, sizeof(*f->members), member_by_rate);
	for (__u32 slow = 0; best < n && slow < f->n_members; best++, slow++) {
		if (p->heap[best].rate <= HYSTERESIS * f->members[slow].rate)
			break;
		f->members[slow] = (struct member){
			.addr = { p->heap[best].s->addr[0], p->heap[best].s->addr[1] },
			.meta = p->heap[best].s->meta, .seen = true, .rate = p->heap[best].rate };
	}
	reindex(f);
}

/* The interval's frames: to a member's series, or to unlisted. */
static void add_interval(struct prom_iface *f, const struct report *r)
{
	const struct tally *t = r->tally;

	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = &t->sources[i];
		struct xdptop_counter last = tally_last_interval(t, s);
		struct member *m;

		if (!last.packets)
			continue;
		m = find_member(f, s->meta, s->addr);
		counter_merge(m ? &m->count : &f->unlisted, &last);
	}
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
	if (!f->members && iface_alloc(f, p->top))
		return -ENOMEM;
	p->key = r->key;
	f->reported = true;
	choose_members(p, f, r);
	add_interval(f, r);
	return 0;
}

static int prom_begin(struct sink *s, const struct round *r)
{
	struct prom_sink *p = (struct prom_sink *)s;

	(void)r;
	for (size_t i = 0; i < p->n_ifaces; i++)
		p->ifaces[i].reported = false;
	return 0;
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One per-interface family: name{interface="..."} value, for each. */
static void per_iface(struct prom_sink *p, const char *name, const char *type, const char *help,
		      size_t offset, bool bytes)
{
	family(&p->out, name, type, help);
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct prom_iface *f = &p->ifaces[i];
		const struct xdptop_counter *c = (const void *)((const char *)f + offset);

		if (!f->reported)
			continue;
		put(&p->out, "%s{", name);
		put_label(&p->out, "interface", f->info->name);
		put(&p->out, "} %llu\n", (unsigned long long)(bytes ? c->bytes : c->packets));
	}
}

static void key_labels(struct prom_sink *p, const struct prom_iface *f, const struct member *m)
{
	char addr[KEY_ADDRESS_LEN], vlans[KEY_VLANS_LEN];

	put_label(&p->out, "interface", f->info->name);
	put(&p->out, ",");
	put_label(&p->out, "address", key_format_address(p->key, m->meta, m->addr, addr));
	if (p->key->vlan) {
		put(&p->out, ",");
		put_label(&p->out, "vlan", key_format_vlans(m->meta, vlans));
	}
}

static void per_key(struct prom_sink *p, const char *name, const char *help, bool bytes)
{
	family(&p->out, name, "counter", help);
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct prom_iface *f = &p->ifaces[i];

		for (__u32 j = 0; f->reported && j < f->n_members; j++) {
			const struct member *m = &f->members[j];

			put(&p->out, "%s{", name);
			key_labels(p, f, m);
			put(&p->out, "} %llu\n",
			    (unsigned long long)(bytes ? m->count.bytes : m->count.packets));
		}
	}
}

static void gauges(struct prom_sink *p)
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
	family(t, "xdptop_tracked_keys", "gauge", "Keys the agent tracks on the interface.");
	for (size_t i = 0; i < p->n_ifaces; i++)
		if (p->ifaces[i].reported) {
			put(t, "xdptop_tracked_keys{");
			put_label(t, "interface", p->ifaces[i].info->name);
			put(t, "} %llu\n", (unsigned long long)p->ifaces[i].tracked);
		}
	family(t, "xdptop_capacity_keys", "gauge",
	       "Keys the agent can track on the interface (--max-sources).");
	for (size_t i = 0; i < p->n_ifaces; i++)
		if (p->ifaces[i].reported) {
			put(t, "xdptop_capacity_keys{");
			put_label(t, "interface", p->ifaces[i].info->name);
			put(t, "} %u\n", p->ifaces[i].info->capacity);
		}
	family(t, "xdptop_exported_keys", "gauge",
	       "Keys exported as xdptop_source_* series on the interface (--metrics-top).");
	for (size_t i = 0; i < p->n_ifaces; i++)
		if (p->ifaces[i].reported) {
			put(t, "xdptop_exported_keys{");
			put_label(t, "interface", p->ifaces[i].info->name);
			put(t, "} %u\n", p->ifaces[i].n_members);
		}
}

static void build_info(struct prom_sink *p)
{
	char prefix[8];

	family(&p->out, "xdptop_build_info", "gauge",
	       "xdptop's version and what it counts under (the key).");
	put(&p->out, "xdptop_build_info{version=\"%s\",key=\"%s\",", XDPTOP_VERSION,
	    p->key->address == KEY_DST ? "dst" : "src");
	snprintf(prefix, sizeof(prefix), "%u", p->key->prefix4);
	put_label(&p->out, "prefix4", prefix);
	snprintf(prefix, sizeof(prefix), "%u", p->key->prefix6);
	put(&p->out, ",");
	put_label(&p->out, "prefix6", prefix);
	put(&p->out, ",vlan=\"%s\"} 1\n", p->key->vlan ? "true" : "false");
}

#define AT(field) offsetof(struct prom_iface, field)

static int prom_end(struct sink *s)
{
	struct prom_sink *p = (struct prom_sink *)s;

	if (!p->key)	/* no interface reported */
		return 0;
	p->out.len = 0;
	build_info(p);
	gauges(p);
	per_iface(p, "xdptop_packets_total", "counter", "Frames received.", AT(all), false);
	per_iface(p, "xdptop_bytes_total", "counter", "Bytes of frames received.", AT(all), true);
	per_iface(p, "xdptop_other_packets_total", "counter",
		  "Frames with no IP address (ARP, LLDP, malformed).", AT(other), false);
	per_iface(p, "xdptop_other_bytes_total", "counter", "Bytes of those frames.", AT(other),
		  true);
	per_iface(p, "xdptop_untracked_packets_total", "counter",
		  "Frames of keys the table had no room for.", AT(untracked), false);
	per_iface(p, "xdptop_untracked_bytes_total", "counter", "Bytes of those frames.",
		  AT(untracked), true);
	per_iface(p, "xdptop_unlisted_packets_total", "counter",
		  "Frames of tracked keys not exported (beyond --metrics-top).", AT(unlisted), false);
	per_iface(p, "xdptop_unlisted_bytes_total", "counter", "Bytes of those frames.",
		  AT(unlisted), true);
	per_key(p, "xdptop_source_packets_total",
		"Frames of a key (an address, or a prefix) since it was exported.", false);
	per_key(p, "xdptop_source_bytes_total", "Bytes of those frames.", true);
	return p->out.buf ? http_publish(p->http, p->out.buf, p->out.len) : -ENOMEM;
}

static int prom_open(struct sink **out, const struct sink_options *o)
{
	struct prom_sink *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->base.ops = &sink_prom;
	p->top = o->metrics_top;
	p->heap = calloc(p->top, sizeof(*p->heap));
	err = p->heap ? http_start(&p->http, o->listen_fd) : -ENOMEM;
	if (err) {
		free(p->heap);
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
	for (size_t i = 0; i < p->n_ifaces; i++) {
		free(p->ifaces[i].members);
		free(p->ifaces[i].index);
	}
	free(p->heap);
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
