// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The IPFIX exporter (--ipfix): a sink that turns each round into IPFIX
 * messages (ipfix.c) and sends them to every collector (collector.c).
 * Every key counted in the interval becomes one data record: its fields,
 * the interface, the interval's packets and bytes, and the interval's start
 * and end. Each interface's totals of the interval (all frames, other,
 * untracked) follow as an options record, so that a collector can check
 * keys + other + untracked == all; and each round states a sampling
 * interval of 1: the counts are exact, and some collectors (akvorado) drop
 * the records of an exporter that states no rate. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "cli.h"
#include "collector.h"
#include "ipfix.h"
#include "ledger.h"
#include "output.h"
#include "pacer.h"

/* Information elements (IANA's registry, RFC 7012 and later). */
enum ie {
	IE_OCTET_DELTA_COUNT = 1,
	IE_PACKET_DELTA_COUNT = 2,
	IE_PROTOCOL_IDENTIFIER = 4,
	IE_TCP_CONTROL_BITS = 6,
	IE_SOURCE_TRANSPORT_PORT = 7,
	IE_SOURCE_IPV4_ADDRESS = 8,
	IE_SOURCE_IPV4_PREFIX_LENGTH = 9,
	IE_INGRESS_INTERFACE = 10,
	IE_DESTINATION_TRANSPORT_PORT = 11,
	IE_DESTINATION_IPV4_ADDRESS = 12,
	IE_DESTINATION_IPV4_PREFIX_LENGTH = 13,
	IE_SOURCE_IPV6_ADDRESS = 27,
	IE_DESTINATION_IPV6_ADDRESS = 28,
	IE_SOURCE_IPV6_PREFIX_LENGTH = 29,
	IE_DESTINATION_IPV6_PREFIX_LENGTH = 30,
	IE_VLAN_ID = 58,
	IE_IP_VERSION = 60,
	IE_OBSERVATION_DOMAIN_ID = 149,
	IE_FLOW_START_MILLISECONDS = 152,
	IE_FLOW_END_MILLISECONDS = 153,
	IE_IGNORED_PACKET_TOTAL_COUNT = 164,
	IE_IGNORED_OCTET_TOTAL_COUNT = 165,
	IE_NOT_SENT_PACKET_TOTAL_COUNT = 167,
	IE_NOT_SENT_OCTET_TOTAL_COUNT = 168,
	IE_DOT1Q_VLAN_ID = 243,
	IE_DOT1Q_CUSTOMER_VLAN_ID = 245,
	IE_SAMPLING_PACKET_INTERVAL = 305,
	IE_SAMPLING_PACKET_SPACE = 306,
};

/* What a field of a key's record holds, in template order. */
enum value {
	V_SRC, V_SRC_PREFIX, V_DST, V_DST_PREFIX, V_IP_VERSION, V_PROTO, V_SPORT, V_DPORT,
	V_TCPFLAGS, V_VLAN, V_VLAN_INNER, V_IFACE, V_PACKETS, V_BYTES, V_START, V_END,
};

/* A data template of keys of one family (4 or 6; 0: a key without an
 * address, whose family is a field) and one number of VLAN tags. */
struct key_template {
	struct ipfix_template t;
	enum value value[IPFIX_TEMPLATE_MAX_FIELDS];
	int family;
};

enum template_id {
	TEMPLATE_SAMPLING = IPFIX_FIRST_TEMPLATE_ID,
	TEMPLATE_TOTALS,
	TEMPLATE_KEYS,		/* + family index * 3 + tags */
};

#define TAGS_MAX 2

struct ipfix_sink {
	struct sink base;
	struct ipfix_writer w;
	const struct key_spec *key;
	__u32 domain;
	struct key_template keys[2][TAGS_MAX + 1];	/* [IPv6][tags] */
	struct ipfix_template sampling, totals;
	struct collector collectors[IPFIX_COLLECTORS_MAX];
	int n_collectors;
	const struct round *round;
	struct ledger_export *mark;	/* with --pin: what was sent, pinned */
	__u32 commit;			/* of the round being sent */
	struct pacer pacer;		/* its messages, at a pace */
	double spread;			/* seconds to send a round over */
};

static void add(struct key_template *kt, __u16 id, __u16 len, enum value v)
{
	kt->value[kt->t.n_fields] = v;
	ipfix_template_add(&kt->t, id, len);	/* never full: the fields are fewer */
}

/* The key's own fields: its addresses (with their prefix lengths when the
 * key is a prefix), else its family; protocol, ports, TCP flags; the
 * VLAN ids: the outermost as vlanId (58), which every collector reads, and
 * a QinQ frame's outer and inner also as dot1qVlanId (243) and
 * dot1qCustomerVlanId (245), RFC 7133's names for them. */
static void add_key_fields(struct key_template *kt, const struct key_spec *key, int tags)
{
	bool v6 = kt->family == 6;
	__u16 addr_len = v6 ? 16 : 4;
	bool prefix = v6 ? key->prefix6 < 128 : key->prefix4 < 32;

	if (key->fields & XDPTOP_FIELD_SRC) {
		add(kt, v6 ? IE_SOURCE_IPV6_ADDRESS : IE_SOURCE_IPV4_ADDRESS, addr_len, V_SRC);
		if (prefix)
			add(kt, v6 ? IE_SOURCE_IPV6_PREFIX_LENGTH : IE_SOURCE_IPV4_PREFIX_LENGTH, 1,
			    V_SRC_PREFIX);
	}
	if (key->fields & XDPTOP_FIELD_DST) {
		add(kt, v6 ? IE_DESTINATION_IPV6_ADDRESS : IE_DESTINATION_IPV4_ADDRESS, addr_len,
		    V_DST);
		if (prefix)
			add(kt, v6 ? IE_DESTINATION_IPV6_PREFIX_LENGTH :
				     IE_DESTINATION_IPV4_PREFIX_LENGTH, 1, V_DST_PREFIX);
	}
	if (!(key->fields & XDPTOP_FIELDS_ADDRESS))
		add(kt, IE_IP_VERSION, 1, V_IP_VERSION);
	if (key->fields & XDPTOP_FIELD_PROTO)
		add(kt, IE_PROTOCOL_IDENTIFIER, 1, V_PROTO);
	if (key->fields & XDPTOP_FIELD_SPORT)
		add(kt, IE_SOURCE_TRANSPORT_PORT, 2, V_SPORT);
	if (key->fields & XDPTOP_FIELD_DPORT)
		add(kt, IE_DESTINATION_TRANSPORT_PORT, 2, V_DPORT);
	if (key->fields & XDPTOP_FIELD_TCPFLAGS)	/* reduced to a byte (RFC 7011, 6.2): */
		add(kt, IE_TCP_CONTROL_BITS, 1, V_TCPFLAGS);	/* nfacctd reads one */
	if (tags)
		add(kt, IE_VLAN_ID, 2, V_VLAN);
	if (tags == 2) {
		add(kt, IE_DOT1Q_VLAN_ID, 2, V_VLAN);
		add(kt, IE_DOT1Q_CUSTOMER_VLAN_ID, 2, V_VLAN_INNER);
	}
}

static void make_key_template(struct key_template *kt, const struct key_spec *key, int v6,
			      int tags)
{
	*kt = (struct key_template){ .t.id = TEMPLATE_KEYS + v6 * (TAGS_MAX + 1) + tags };
	kt->family = !(key->fields & XDPTOP_FIELDS_ADDRESS) ? 0 : v6 ? 6 : 4;
	add_key_fields(kt, key, tags);
	add(kt, IE_INGRESS_INTERFACE, 4, V_IFACE);
	add(kt, IE_PACKET_DELTA_COUNT, 8, V_PACKETS);
	add(kt, IE_OCTET_DELTA_COUNT, 8, V_BYTES);
	add(kt, IE_FLOW_START_MILLISECONDS, 8, V_START);
	add(kt, IE_FLOW_END_MILLISECONDS, 8, V_END);
}

/* The options templates: the sampling interval of the observation domain,
 * and each interface's totals of an interval. IANA has no delta counts of
 * frames not metered or not reported: the interval's other frames go in
 * ignored*TotalCount, its untracked ones in notSent*TotalCount, both
 * counted over the interval that flowStart and flowEnd bound, as
 * packetDeltaCount and octetDeltaCount are. */
static void make_options_templates(struct ipfix_sink *x)
{
	x->sampling = (struct ipfix_template){ .id = TEMPLATE_SAMPLING, .n_scope = 1 };
	ipfix_template_add(&x->sampling, IE_OBSERVATION_DOMAIN_ID, 4);
	ipfix_template_add(&x->sampling, IE_SAMPLING_PACKET_INTERVAL, 4);
	ipfix_template_add(&x->sampling, IE_SAMPLING_PACKET_SPACE, 4);
	x->totals = (struct ipfix_template){ .id = TEMPLATE_TOTALS, .n_scope = 1 };
	ipfix_template_add(&x->totals, IE_INGRESS_INTERFACE, 4);
	ipfix_template_add(&x->totals, IE_FLOW_START_MILLISECONDS, 8);
	ipfix_template_add(&x->totals, IE_FLOW_END_MILLISECONDS, 8);
	ipfix_template_add(&x->totals, IE_PACKET_DELTA_COUNT, 8);
	ipfix_template_add(&x->totals, IE_OCTET_DELTA_COUNT, 8);
	ipfix_template_add(&x->totals, IE_IGNORED_PACKET_TOTAL_COUNT, 8);
	ipfix_template_add(&x->totals, IE_IGNORED_OCTET_TOTAL_COUNT, 8);
	ipfix_template_add(&x->totals, IE_NOT_SENT_PACKET_TOTAL_COUNT, 8);
	ipfix_template_add(&x->totals, IE_NOT_SENT_OCTET_TOTAL_COUNT, 8);
}

/* Hands a message to every collector: encoded once, sent to each; then,
 * with --pin, marks its records sent (sequence: the number after them). */
static void send_all(void *ctx, const __u8 *message, size_t len, __u32 sequence)
{
	struct ipfix_sink *x = ctx;

	for (int i = 0; i < x->n_collectors; i++)
		collector_send(&x->collectors[i], message, len);
	if (x->mark && x->commit)
		__atomic_store_n(&x->mark->sequence, sequence, __ATOMIC_RELEASE);
}

/* The writer's message, queued to go at a pace (x->w.records: those of
 * the message, not yet counted in the sequence). Failures are the
 * collectors' to count: the writer is told none. */
static int queue_message(void *ctx, const __u8 *message, size_t len)
{
	struct ipfix_sink *x = ctx;

	pacer_push(&x->pacer, message, len, x->w.sequence + x->w.records);
	return 0;
}

/* The round went out whole: marked done with --pin; each collector says
 * whether sending fails, or works again. */
static void round_sent(struct ipfix_sink *x)
{
	if (x->mark && x->commit)
		__atomic_store_n(&x->mark->done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < x->n_collectors; i++)
		collector_settle(&x->collectors[i]);
}

/* The largest message: the MTU less the IP and UDP headers, IPv6's when a
 * collector is reached over IPv6 (the same message goes to every one). */
static size_t message_size(const struct ipfix_config *c)
{
	size_t headers = 20 + 8;

	for (int i = 0; i < c->n; i++)
		if (c->to[i].addr.ss_family == AF_INET6)
			headers = 40 + 8;
	return c->mtu - headers;
}

static int check_templates(struct ipfix_sink *x)
{
	int err = ipfix_template_check(&x->w, &x->sampling) ?:
		  ipfix_template_check(&x->w, &x->totals);

	for (int v6 = 0; v6 < 2; v6++)
		for (int tags = 0; tags <= TAGS_MAX; tags++)
			err = err ?: ipfix_template_check(&x->w, &x->keys[v6][tags].t);
	return err;
}

static void say_exporting(const struct ipfix_sink *x, const struct ipfix_config *c)
{
	fprintf(stderr, "xdptop: sending IPFIX to ");
	for (int i = 0; i < c->n; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", c->to[i].text);
	fprintf(stderr, " every interval (observation domain %u, messages of up to %zu bytes)\n",
		c->domain, x->w.size);
}

static void ipfix_close(struct sink *s);

static int ipfix_open(struct sink **out, const struct sink_options *o)
{
	const struct ipfix_config *c = o->ipfix;
	struct ipfix_sink *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	x->base.ops = &sink_ipfix;
	x->key = o->key;
	x->domain = c->domain;
	x->mark = o->export_mark;
	make_options_templates(x);
	for (int v6 = 0; v6 < 2; v6++)
		for (int tags = 0; tags <= TAGS_MAX; tags++)
			make_key_template(&x->keys[v6][tags], o->key, v6, tags);
	err = pacer_init(&x->pacer, send_all, x);
	err = err ?: ipfix_writer_init(&x->w, message_size(c), c->domain, queue_message, x);
	if (!err && x->mark && !x->mark->commit && !x->mark->done)	/* a new mark: */
		__atomic_store_n(&x->mark->done, 1, __ATOMIC_RELEASE);	/* after commit 0 */
	if (!err && x->mark)	/* the sequence goes on from the agent before */
		x->w.sequence = x->mark->sequence;
	err = err ?: check_templates(x);
	for (int i = 0; !err && i < c->n; i++, x->n_collectors++)
		err = collector_open(&x->collectors[i], &c->to[i]);
	if (err) {
		ipfix_close(&x->base);
		return err;
	}
	say_exporting(x, c);
	*out = &x->base;
	return 0;
}

/* With --pin, a round of a new commit starts: the mark says not done,
 * then where its sequence starts, then its commit, in that order: a death
 * in between leaves the mark of the commit before, not done, and the next
 * agent sends this round whole. A round caught up keeps the mark as the
 * agent before left it. */
static void mark_round(struct ipfix_sink *x, const struct round *r)
{
	if (!x->mark || !r->commit || x->mark->commit == r->commit)
		return;
	__atomic_store_n(&x->mark->done, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&x->mark->slots, r->slots, __ATOMIC_RELEASE);
	__atomic_store_n(&x->mark->first, x->w.sequence, __ATOMIC_RELEASE);
	__atomic_store_n(&x->mark->sequence, x->w.sequence, __ATOMIC_RELEASE);
	__atomic_store_n(&x->mark->commit, r->commit, __ATOMIC_RELEASE);
}

/* The round of the last commit is sent again when the agent before, which
 * exported, died sending it (the records it sent are skipped) or before it
 * started (it had marked the round before): from the sequence it reached.
 * Not when it sent it whole, nor when it is older: no agent exported the
 * rounds in between. */
static bool ipfix_catch_up(struct sink *s, __u32 commit, __u64 *slots)
{
	struct ipfix_sink *x = (struct ipfix_sink *)s;
	const struct ledger_export *m = x->mark;

	if (!m || (m->commit != commit && m->commit + 1 != commit) ||
	    (m->commit == commit && m->done))
		return false;
	if (m->commit == commit) {
		x->w.skip = m->sequence - m->first;
		*slots = m->slots;	/* the round as it was begun */
	}
	x->w.sequence = m->sequence;
	return true;
}

static int ipfix_begin(struct sink *s, const struct round *r)
{
	struct ipfix_sink *x = (struct ipfix_sink *)s;
	__u8 *p;

	if (pacer_fd(&x->pacer) >= 0) {	/* the last round, not all sent yet */
		pacer_drain(&x->pacer);
		round_sent(x);
	}
	x->round = r;
	x->commit = r->commit;
	mark_round(x, r);
	ipfix_set_time(&x->w, r->when.tv_sec);
	p = ipfix_record(&x->w, &x->sampling);
	p = ipfix_put32(p, x->domain);
	p = ipfix_put32(p, 1);	/* every packet: exact counts */
	ipfix_put32(p, 0);
	return 0;
}

/* Milliseconds since the epoch of the interval's start and end. */
static void interval_ms(const struct round *round, const struct report *r, __u64 *start,
			__u64 *end)
{
	*end = round->when.tv_sec * 1000ULL + round->when.tv_nsec / 1000000;
	*start = *end - (__u64)(r->interval * 1000 + 0.5);
}

struct record_context {
	__u32 ifindex;
	__u64 start, end;
	int prefix4, prefix6;
};

static __u8 *put_bytes(__u8 *p, const void *v, size_t len)
{
	memcpy(p, v, len);
	return p + len;
}

static void put_key_record(__u8 *p, const struct key_template *kt,
			   const struct record_context *rc, const struct xdptop_key *k,
			   const struct xdptop_counter *c)
{
	__u16 vlans[TAGS_MAX];
	int addr_len = key_family(k) == 6 ? 16 : 4;
	int prefix = key_family(k) == 6 ? rc->prefix6 : rc->prefix4;

	key_vlans(k->meta, vlans);
	for (int i = 0; i < kt->t.n_fields; i++) {
		switch (kt->value[i]) {
		case V_SRC: p = put_bytes(p, k->src, addr_len); break;
		case V_DST: p = put_bytes(p, k->dst, addr_len); break;
		case V_SRC_PREFIX:
		case V_DST_PREFIX: *p++ = prefix; break;
		case V_IP_VERSION: *p++ = key_family(k); break;
		case V_PROTO: *p++ = k->proto; break;
		case V_SPORT: p = ipfix_put16(p, k->sport); break;
		case V_DPORT: p = ipfix_put16(p, k->dport); break;
		case V_TCPFLAGS: *p++ = k->tcpflags; break;
		case V_VLAN: p = ipfix_put16(p, vlans[0]); break;
		case V_VLAN_INNER: p = ipfix_put16(p, vlans[1]); break;
		case V_IFACE: p = ipfix_put32(p, rc->ifindex); break;
		case V_PACKETS: p = ipfix_put64(p, c->packets); break;
		case V_BYTES: p = ipfix_put64(p, c->bytes); break;
		case V_START: p = ipfix_put64(p, rc->start); break;
		case V_END: p = ipfix_put64(p, rc->end); break;
		}
	}
}

static const struct key_template *template_of(const struct ipfix_sink *x,
					      const struct xdptop_key *k)
{
	__u16 ids[TAGS_MAX];
	int tags = x->key->vlan ? key_vlans(k->meta, ids) : 0;

	return &x->keys[key_family(k) == 6][tags];
}

static void put_totals(struct ipfix_sink *x, const struct report *r,
		       const struct record_context *rc)
{
	__u8 *p = ipfix_record(&x->w, &x->totals);

	p = ipfix_put32(p, rc->ifindex);
	p = ipfix_put64(p, rc->start);
	p = ipfix_put64(p, rc->end);
	p = ipfix_put64(p, r->total.last.packets);
	p = ipfix_put64(p, r->total.last.bytes);
	p = ipfix_put64(p, r->other.last.packets);
	p = ipfix_put64(p, r->other.last.bytes);
	p = ipfix_put64(p, r->untracked.last.packets);
	ipfix_put64(p, r->untracked.last.bytes);
}

/* Every key the interval counted, whatever --top and --metrics-top say:
 * a collector sums keys over hosts, and a key small on each may be large
 * on all. */
static int ipfix_report(struct sink *s, const struct report *r)
{
	struct ipfix_sink *x = (struct ipfix_sink *)s;
	const struct tally *t = r->tally;
	struct record_context rc = { .ifindex = r->iface->ifindex, .prefix4 = x->key->prefix4,
				     .prefix6 = x->key->prefix6 };

	interval_ms(x->round, r, &rc.start, &rc.end);
	x->spread = r->interval / 2;
	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *sc = tally_source(t, i);
		struct xdptop_counter c = tally_last_interval(t, sc);
		const struct key_template *kt;
		struct xdptop_key key;

		if (!c.packets)
			continue;
		tally_key(t, sc, &key);
		kt = template_of(x, &key);
		put_key_record(ipfix_record(&x->w, &kt->t), kt, &rc, &key, &c);
	}
	put_totals(x, r, &rc);
	return 0;
}

/* The round is encoded: it goes out over at most half its interval. A
 * collector that fails never stops it: counting and the other outputs go on
 * (collector.c says so once). */
static int ipfix_end(struct sink *s)
{
	struct ipfix_sink *x = (struct ipfix_sink *)s;

	ipfix_flush(&x->w);
	x->w.skip = 0;
	x->round = NULL;	/* a caught-up round's is gone after it */
	if (pacer_start(&x->pacer, x->spread))
		round_sent(x);
	return 0;
}

static int ipfix_watch(struct sink *s, int fds[SINK_MAX_FDS])
{
	fds[0] = pacer_fd(&((struct ipfix_sink *)s)->pacer);
	return fds[0] >= 0;
}

static int ipfix_input(struct sink *s)
{
	struct ipfix_sink *x = (struct ipfix_sink *)s;

	if (pacer_tick(&x->pacer))
		round_sent(x);
	return SINK_GO_ON;
}

/* At exit, what is left of the last round goes at once. */
static void ipfix_close(struct sink *s)
{
	struct ipfix_sink *x = (struct ipfix_sink *)s;

	if (pacer_fd(&x->pacer) >= 0) {
		pacer_drain(&x->pacer);
		round_sent(x);
	}
	pacer_free(&x->pacer);
	for (int i = 0; i < x->n_collectors; i++)
		collector_close(&x->collectors[i]);
	ipfix_writer_free(&x->w);
	free(x);
}

const struct sink_ops sink_ipfix = {
	.name = "ipfix",
	.open = ipfix_open,
	.begin = ipfix_begin,
	.report = ipfix_report,
	.end = ipfix_end,
	.watch = ipfix_watch,
	.input = ipfix_input,
	.catch_up = ipfix_catch_up,
	.close = ipfix_close,
};
