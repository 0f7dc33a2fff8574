// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF unit tests: hand-built frames run through the loaded XDP programs with
 * BPF_PROG_TEST_RUN, collected exactly as the agent does (flip, grace period,
 * drain into a tally), and checked against a model of where every frame must
 * be counted: under its key (an address, or any fields: test_fields_*), in
 * other, or in untracked. Every collection also checks sum(keys) + other +
 * untracked == total (packets and bytes), total == every frame run, and
 * that the drained epoch is left all zero.
 *
 * The main thread is pinned to one CPU, so a test's frames all land in one
 * region and the table's layout is predictable; only the concurrent test
 * moves its writer from CPU to CPU. Needs root (or CAP_BPF + CAP_NET_ADMIN). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "key.h"
#include "ledger.h"
#include "table.h"
#include "tally.h"
#include "xdptop.h"
#include "xdptop.skel.h"

#define FRAME_MAX 9216
#define JUMBO 9000
#define MAX_MODEL 8192

/* The CPUs the process may use, saved before main pins itself to the first. */
static cpu_set_t all_cpus;

/* ---- frames -------------------------------------------------------------- */

struct frame {
	__u8 buf[FRAME_MAX];
	__u32 len;
};

/* A source as the test names it: the address in network order, IPv4 in the
 * first 4 bytes and the rest zero (the layout of the table's keys). With
 * --vlan, vlans holds the meta bits of the key's VLAN tags (xdptop.h). */
struct src {
	__u32 family;
	__u8 addr[16];
	__u32 vlans;
};

/* The meta word the table and the tally hold for s. */
static __u32 src_meta(const struct src *s)
{
	return s->family | s->vlans;
}

#define IP4(a, b, c, d) ((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (__u32)(d))

static struct src v4(__u32 host_order)
{
	struct src s = { .family = XDPTOP_FAMILY_IPV4 };
	__u32 be = htonl(host_order);

	memcpy(s.addr, &be, 4);
	return s;
}

/* 2001:db8::/32 with the given last 32 bits, or any prefix given in w0. */
static struct src v6(__u32 w0, __u32 w3)
{
	struct src s = { .family = XDPTOP_FAMILY_IPV6 };
	__u32 words[4] = { htonl(w0), 0, 0, htonl(w3) };

	memcpy(s.addr, words, 16);
	return s;
}

static void src_key(const struct src *s, __u64 key[2])
{
	memcpy(key, s->addr, 16);
}

/* The key the table and the tally hold for s under a source-address key
 * (the default). */
static struct xdptop_key src_xkey(const struct src *s)
{
	struct xdptop_key k = { .meta = src_meta(s) };

	memcpy(k.src, s->addr, 16);
	return k;
}

/* Whether k is s's key under an address key, source or destination: the
 * other address is zero, and so is the rest. */
static bool key_is_src(const struct xdptop_key *k, const struct src *s)
{
	__u64 a[2];

	src_key(s, a);
	return k->meta == src_meta(s) && !k->l4 &&
	       ((k->src[0] == a[0] && k->src[1] == a[1] && !k->dst[0] && !k->dst[1]) ||
		(k->dst[0] == a[0] && k->dst[1] == a[1] && !k->src[0] && !k->src[1]));
}

static const char *src_str(const struct src *s, char *buf, size_t len)
{
	inet_ntop(s->family == XDPTOP_FAMILY_IPV4 ? AF_INET : AF_INET6, s->addr, buf, len);
	return buf;
}

static void put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->len + n <= FRAME_MAX);
	memcpy(f->buf + f->len, p, n);
	f->len += n;
}

static void put8(struct frame *f, __u8 v)
{
	put(f, &v, 1);
}

static void put16(struct frame *f, __u16 v)
{
	__u16 be = htons(v);

	put(f, &be, 2);
}

static void put32(struct frame *f, __u32 v)
{
	__u32 be = htonl(v);

	put(f, &be, 4);
}

/* Starts f: Ethernet addresses, one 4-byte tag (TPID tpids[i], TCI
 * tcis[i]) per tag, then the EtherType. Without tcis: PCP 0, DEI 0 and
 * VID 100 + i. */
static void put_l2_tci(struct frame *f, const __u16 *tpids, const __u16 *tcis, int n_tags,
		       __u16 ethertype)
{
	static const __u8 dst[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 src[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };

	f->len = 0;
	put(f, dst, sizeof(dst));
	put(f, src, sizeof(src));
	for (int i = 0; i < n_tags; i++) {
		put16(f, tpids[i]);
		put16(f, tcis ? tcis[i] : 100 + i);
	}
	put16(f, ethertype);
}

static void put_l2(struct frame *f, const __u16 *tpids, int n_tags, __u16 ethertype)
{
	put_l2_tci(f, tpids, NULL, n_tags, ethertype);
}

/* An IPv4 header of ihl 32-bit words (options are NOPs), at least 20
 * bytes whatever ihl says; any version. */
static void put_ipv4_to(struct frame *f, __u8 version, __u8 ihl, const __u8 saddr[4],
			const __u8 daddr[4])
{
	put8(f, version << 4 | (ihl & 0x0f));
	put8(f, 0);		/* DSCP, ECN */
	put16(f, 0);		/* total length: fix_lengths() */
	put16(f, 0x1234);	/* identification */
	put16(f, 0x4000);	/* DF */
	put8(f, 64);		/* TTL */
	put8(f, IPPROTO_UDP);
	put16(f, 0);		/* checksum: XDP does not check it */
	put(f, saddr, 4);
	put(f, daddr, 4);
	for (int i = 20; i < ihl * 4; i++)
		put8(f, 1);	/* IPOPT_NOOP */
}

static const __u8 DADDR4[4] = { 192, 0, 2, 1 };
static const __u8 DADDR6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };

/* The same to 192.0.2.1. */
static void put_ipv4(struct frame *f, __u8 version, __u8 ihl, const __u8 saddr[4])
{
	put_ipv4_to(f, version, ihl, saddr, DADDR4);
}

/* An IPv6 header, any version. */
static void put_ipv6_to(struct frame *f, __u8 version, const __u8 saddr[16],
			const __u8 daddr[16])
{
	put32(f, (__u32)version << 28);
	put16(f, 0);		/* payload length: fix_lengths() */
	put8(f, 59);		/* no next header */
	put8(f, 64);		/* hop limit */
	put(f, saddr, 16);
	put(f, daddr, 16);
}

/* The same to 2001:db8::1. */
static void put_ipv6(struct frame *f, __u8 version, const __u8 saddr[16])
{
	put_ipv6_to(f, version, saddr, DADDR6);
}

/* Pads f with payload up to len bytes; the IP header's length field (at
 * l3, when l3 > 0) is set to match. */
static void pad_to(struct frame *f, __u32 len, __u32 l3)
{
	assert_true(len >= f->len && len <= FRAME_MAX);
	memset(f->buf + f->len, 0xa5, len - f->len);
	f->len = len;
	if (l3 && (f->buf[l3] >> 4) == 4) {
		__u16 tot = htons(len - l3 > 0xffff ? 0xffff : len - l3);

		memcpy(f->buf + l3 + 2, &tot, 2);
	} else if (l3 && (f->buf[l3] >> 4) == 6 && len >= l3 + 40) {
		__u16 pl = htons(len - l3 - 40 > 0xffff ? 0xffff : len - l3 - 40);

		memcpy(f->buf + l3 + 4, &pl, 2);
	}
}

/* A well-formed frame of len bytes from s behind n_tags VLAN tags. */
static void frame_from(struct frame *f, const struct src *s, const __u16 *tpids, int n_tags,
		       __u32 len)
{
	__u32 l3;

	if (s->family == XDPTOP_FAMILY_IPV4) {
		put_l2(f, tpids, n_tags, ETH_P_IP);
		l3 = f->len;
		put_ipv4(f, 4, 5, s->addr);
	} else {
		put_l2(f, tpids, n_tags, ETH_P_IPV6);
		l3 = f->len;
		put_ipv6(f, 6, s->addr);
	}
	pad_to(f, len, l3);
}

/* A well-formed frame of len bytes from s to d (of the same family) behind
 * n_tags VLAN tags with the given TCIs (NULL: put_l2's). */
static void frame_between(struct frame *f, const struct src *s, const struct src *d,
			  const __u16 *tpids, const __u16 *tcis, int n_tags, __u32 len)
{
	__u32 l3;

	assert_int_equal(s->family, d->family);
	if (s->family == XDPTOP_FAMILY_IPV4) {
		put_l2_tci(f, tpids, tcis, n_tags, ETH_P_IP);
		l3 = f->len;
		put_ipv4_to(f, 4, 5, s->addr, d->addr);
	} else {
		put_l2_tci(f, tpids, tcis, n_tags, ETH_P_IPV6);
		l3 = f->len;
		put_ipv6_to(f, 6, s->addr, d->addr);
	}
	pad_to(f, len, l3);
}

/* An untagged frame from s. */
static void frame_plain(struct frame *f, const struct src *s, __u32 len)
{
	frame_from(f, s, NULL, 0, len);
}

/* An ARP request (who-has 192.0.2.1 tell 192.0.2.2), padded to len. */
static void frame_arp(struct frame *f, const __u16 *tpids, int n_tags, __u32 len)
{
	static const __u8 sha[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const __u8 spa[4] = { 192, 0, 2, 2 }, tha[ETH_ALEN] = { 0 };
	static const __u8 tpa[4] = { 192, 0, 2, 1 };

	put_l2(f, tpids, n_tags, ETH_P_ARP);
	put16(f, 1);		/* Ethernet */
	put16(f, ETH_P_IP);
	put8(f, ETH_ALEN);
	put8(f, 4);
	put16(f, 1);		/* request */
	put(f, sha, sizeof(sha));
	put(f, spa, sizeof(spa));
	put(f, tha, sizeof(tha));
	put(f, tpa, sizeof(tpa));
	pad_to(f, len, 0);
}

static const __u16 TAG_8021Q[] = { ETH_P_8021Q };
static const __u16 TAG_8021AD[] = { ETH_P_8021AD };
static const __u16 TAGS_QINQ[] = { ETH_P_8021AD, ETH_P_8021Q };
static const __u16 TAGS_THREE[] = { ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q };

/* ---- the program, the table, the model ----------------------------------- */

/* Entries of the model's index: a power of 2, twice its keys. */
#define MODEL_INDEX (2 * MAX_MODEL)

/* What a test expects the tally to hold: its keys, other and untracked.
 * The keys are whole (struct xdptop_key), whatever the env's key is; the
 * index (linear probing over their hashes, index + 1, 0 free) keeps the
 * fuzz's million lookups from scanning thousands of keys each. */
struct model {
	struct xdptop_key keys[MAX_MODEL];
	struct xdptop_counter counts[MAX_MODEL];
	__u32 index[MODEL_INDEX];
	int n;
	struct xdptop_counter other, untracked, total;
};

struct writer;

struct env {
	struct attachment a;
	struct key_spec key;	/* KEY_SPEC_DEFAULT unless a test sets another */
	struct table t;
	struct tally tally;
	__u32 intervals;	/* ended: the tally's clock, one second each */
	int prog;		/* SEC("xdp"): length = data_end - data */
	int prog_frags;		/* SEC("xdp.frags"): length = bpf_xdp_get_buff_len */
	__u32 cpu;		/* where this thread runs (pinned) */
	struct model m;
	struct writer *writer;	/* test_concurrent_reader's */
	bool writer_running;
};

static void add(struct xdptop_counter *c, __u64 packets, __u64 bytes)
{
	c->packets += packets;
	c->bytes += bytes;
}

/* A program instance sized for max_sources, its table mapped, and an empty
 * tally of tally_max sources. Stored in *state first, so env_teardown()
 * releases what was made even when an assertion fails half-way. */
static struct env *env_open_key(void **state, __u32 max_sources, __u32 tally_max,
				 const struct key_spec *key)
{
	struct env *e = calloc(1, sizeof(*e));
	struct table_maps maps;

	assert_non_null(e);
	*state = e;
	e->key = *key;
	e->a = ATTACHMENT_UNOPENED("");
	assert_int_equal(attachment_load(&e->a, max_sources, &e->key, true), EXIT_OK);
	attachment_table_maps(&e->a, &maps);
	assert_int_equal(table_map(&e->t, &maps), 0);
	assert_int_equal(tally_init(&e->tally, tally_max, e->key.fields), 0);
	e->prog = bpf_program__fd(attachment_program(&e->a, false));
	e->prog_frags = bpf_program__fd(attachment_program(&e->a, true));
	assert_true(e->prog >= 0 && e->prog_frags >= 0);
	e->cpu = sched_getcpu();
	assert_true(e->cpu < e->a.size.nr_cpus);
	return e;
}

/* The same, with the default key: source addresses, whole, no VLANs. */
static struct env *env_open(void **state, __u32 max_sources, __u32 tally_max)
{
	const struct key_spec key = KEY_SPEC_DEFAULT;

	return env_open_key(state, max_sources, tally_max, &key);
}

static void writer_stop(struct writer *w);

/* Pins this thread to the first CPU it may use: a test's frames then all go
 * to one CPU's region. */
static int pin_first_cpu(void)
{
	cpu_set_t one;

	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, &all_cpus)) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			return sched_setaffinity(0, sizeof(one), &one);
		}
	}
	return -1;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	if (e) {
		if (e->writer_running)
			writer_stop(e->writer);
		pin_first_cpu();
		free(e->writer);
		tally_free(&e->tally);
		table_unmap(&e->t);
		attachment_close(&e->a);
		free(e);
	}
	*state = NULL;
	return 0;
}

/* Runs f through prog, repeat times in one BPF_PROG_TEST_RUN, into out.
 * Returns the syscall's result, with the program's verdict in *retval. */
static int test_run(int prog, const struct frame *f, __u32 repeat, struct frame *out,
		    __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->buf, .data_size_in = f->len,
		    .data_out = out->buf, .data_size_out = sizeof(out->buf), .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog, &opts);

	out->len = opts.data_size_out;
	*retval = opts.retval;
	return err;
}

/* The same, and when the kernel accepted the frame, the program must have
 * passed it on unchanged: counting never changes traffic. A call with
 * repeat > 1 takes some 20 ms here: for it the kernel puts the program in
 * the XDP dispatcher, then takes it out, and each update waits for RCU. One
 * frame per call takes microseconds. */
static int try_run(int prog, const struct frame *f, __u32 repeat)
{
	static struct frame out;
	__u32 retval;
	int err = test_run(prog, f, repeat, &out, &retval);

	if (!err) {
		assert_int_equal(retval, XDP_PASS);
		assert_int_equal(out.len, f->len);
		assert_memory_equal(out.buf, f->buf, f->len);
	}
	return err;
}

/* Runs f times times, one frame per call; the kernel must accept it. */
static void run(struct env *e, int prog, const struct frame *f, __u32 times)
{
	for (__u32 i = 0; i < times; i++)
		assert_int_equal(try_run(prog, f, 1), 0);
	add(&e->m.total, times, (__u64)times * f->len);
}

/* Runs f repeat times in one call; the kernel must accept it. */
static void run_repeat(struct env *e, int prog, const struct frame *f, __u32 repeat)
{
	assert_int_equal(try_run(prog, f, repeat), 0);
	add(&e->m.total, repeat, (__u64)repeat * f->len);
}

/* The index entry where k is, or the free one where it would go. */
static __u32 *model_slot(struct model *m, const struct xdptop_key *k)
{
	for (__u32 h = xdptop_key_hash(k);; h++) {
		__u32 *at = &m->index[h & (MODEL_INDEX - 1)];

		if (!*at || key_equal(&m->keys[*at - 1], k))
			return at;
	}
}

/* k's place in the model's keys, taken when it has none. */
static int model_key(struct model *m, const struct xdptop_key *k)
{
	__u32 *at = model_slot(m, k);

	if (!*at) {
		assert_true(m->n < MAX_MODEL);
		m->keys[m->n] = *k;
		m->counts[m->n] = (struct xdptop_counter){ 0, 0 };
		*at = ++m->n;
	}
	return *at - 1;
}

/* s's key under the env's key of one address: s's address in the field
 * the key names. */
static struct xdptop_key address_key(const struct env *e, const struct src *s)
{
	struct xdptop_key k = { .meta = src_meta(s) };

	assert_true(key_is_address(&e->key));
	memcpy(e->key.fields == XDPTOP_FIELD_DST ? k.dst : k.src, s->addr, 16);
	return k;
}

/* Expects packets frames, bytes in all, under k. */
static void expect_key(struct env *e, const struct xdptop_key *k, __u64 packets, __u64 bytes)
{
	add(&e->m.counts[model_key(&e->m, k)], packets, bytes);
}

/* Expects packets frames, bytes in all, under s (or in other when s is NULL). */
static void expect(struct env *e, const struct src *s, __u64 packets, __u64 bytes)
{
	struct xdptop_key k;

	if (!s) {
		add(&e->m.other, packets, bytes);
		return;
	}
	k = address_key(e, s);
	expect_key(e, &k, packets, bytes);
}

/* Expects the tally to forget s: its counts so far move to untracked. The
 * last key takes its place, and the index is built again. */
static void expect_forgotten(struct env *e, const struct src *s)
{
	struct model *m = &e->m;
	struct xdptop_key k = address_key(e, s);
	__u32 i = *model_slot(m, &k);

	assert_true(i > 0);
	add(&m->untracked, m->counts[i - 1].packets, m->counts[i - 1].bytes);
	m->n--;
	m->keys[i - 1] = m->keys[m->n];
	m->counts[i - 1] = m->counts[m->n];
	memset(m->index, 0, sizeof(m->index));
	for (int j = 0; j < m->n; j++)
		*model_slot(m, &m->keys[j]) = j + 1;
}

/* Runs f times times through prog and expects it under s (NULL: other). */
static void feed_prog(struct env *e, int prog, const struct frame *f, __u32 times,
		      const struct src *s)
{
	run(e, prog, f, times);
	expect(e, s, times, (__u64)times * f->len);
}

/* The same through the single-buffer program, the one a 1500 MTU gets. */
static void feed(struct env *e, const struct frame *f, __u32 times, const struct src *s)
{
	feed_prog(e, e->prog, f, times, s);
}

/* Runs f times times and expects it in untracked: no slot in the table's
 * probe window, or no room in the tally. */
static void feed_untracked(struct env *e, const struct frame *f, __u32 times)
{
	run(e, e->prog, f, times);
	add(&e->m.untracked, times, (__u64)times * f->len);
}

static void assert_counter(const struct xdptop_counter *c, __u64 packets, __u64 bytes)
{
	assert_int_equal(c->packets, packets);
	assert_int_equal(c->bytes, bytes);
}

static const struct source_count *tally_find(const struct tally *t, const struct src *s)
{
	for (size_t i = 0; i < t->n_sources; i++) {
		const struct source_count *c = tally_source(t, i);
		struct xdptop_key k;

		tally_key(t, c, &k);
		if (key_is_src(&k, s))
			return c;
	}
	return NULL;
}

static void assert_source(const struct tally *t, const struct src *s, __u64 packets,
			  __u64 bytes)
{
	const struct source_count *c = tally_find(t, s);
	char buf[INET6_ADDRSTRLEN];

	if (!c || c->packets != packets || c->bytes != bytes)
		print_error("source %s: expected %llu packets %llu bytes, tally has %s %llu %llu\n",
			    src_str(s, buf, sizeof(buf)), (unsigned long long)packets,
			    (unsigned long long)bytes, c ? "" : "(absent)",
			    c ? (unsigned long long)c->packets : 0ULL,
			    c ? (unsigned long long)c->bytes : 0ULL);
	assert_non_null(c);
	assert_int_equal(c->packets, packets);
	assert_int_equal(c->bytes, bytes);
}

/* The tally's counts of k, whole: fields, family and VLANs. */
static const struct source_count *tally_find_key(const struct tally *t,
						 const struct xdptop_key *k)
{
	for (size_t i = 0; i < t->n_sources; i++)
		if (tally_has_key(t, tally_source(t, i), k))
			return tally_source(t, i);
	return NULL;
}

/* Says what the tally holds, key by key, as the log names them. */
static void print_tally(const struct env *e)
{
	char text[KEY_TEXT_LEN];

	for (size_t i = 0; i < e->tally.n_sources; i++) {
		const struct source_count *c = tally_source(&e->tally, i);
		struct xdptop_key k;

		tally_key(&e->tally, c, &k);
		print_error("  tally: %s (meta %#x): %llu packets %llu bytes\n",
			    key_format_text(&e->key, &k, text), c->meta,
			    (unsigned long long)c->packets, (unsigned long long)c->bytes);
	}
}

/* The tally has packets and bytes under k; else it names k and what it has. */
static void assert_key(const struct env *e, const struct xdptop_key *k, __u64 packets,
		       __u64 bytes)
{
	const struct source_count *c = tally_find_key(&e->tally, k);
	char text[KEY_TEXT_LEN];

	if (!c || c->packets != packets || c->bytes != bytes) {
		print_error("key %s (meta %#x): expected %llu packets %llu bytes, tally has %s\n",
			    key_format_text(&e->key, k, text), k->meta,
			    (unsigned long long)packets, (unsigned long long)bytes,
			    c ? "other counts" : "none");
		print_tally(e);
	}
	assert_non_null(c);
	assert_int_equal(c->packets, packets);
	assert_int_equal(c->bytes, bytes);
}

/* sum(sources) + other + untracked == total, packets and bytes. */
static void check_identity(const struct tally *t)
{
	struct xdptop_counter sum = t->cum.other;
	__u32 n = 0;

	add(&sum, t->cum.untracked.packets, t->cum.untracked.bytes);
	for (size_t i = 0; i < t->n_sources; i++) {
		const struct source_count *c = tally_source(t, i);

		if (c->meta) {
			add(&sum, c->packets, c->bytes);
			n++;
		}
	}
	assert_int_equal(n, t->n_sources);
	assert_true(t->n_sources <= t->budget->max_sources);
	assert_counter(&sum, t->cum.total.packets, t->cum.total.bytes);
}

/* The tests that look into the table's slots have narrow ones (an address
 * key): they index them as arrays of struct xdptop_slot. A wide table is
 * read through table_slot(). */
static struct xdptop_slot *epoch_slots(const struct env *e, __u32 epoch)
{
	assert_int_equal(e->t.size.slot_elements, 1);
	return table_slot(&e->t, epoch * table_epoch_slots(&e->t.size));
}

static struct xdptop_slot *region_of(const struct env *e, __u32 epoch, __u32 cpu)
{
	return &epoch_slots(e, epoch)[(size_t)cpu * e->t.size.region_slots];
}

/* The shared part of epoch: after every CPU's region. */
static struct xdptop_slot *shared_of(const struct env *e, __u32 epoch)
{
	return region_of(e, epoch, e->t.size.nr_cpus);
}

/* Every slot (of either width) and every CPU's stats of epoch are zero. */
static void assert_epoch_clear(const struct env *e, __u32 epoch)
{
	static const struct xdptop_slot zero_slot[2];
	static const struct xdptop_cpu_stats zero_stats;
	const __u64 first = epoch * table_epoch_slots(&e->t.size);

	for (__u32 cpu = 0; cpu < e->t.size.nr_cpus; cpu++)
		assert_memory_equal(&e->t.stats[epoch * e->t.size.nr_cpus + cpu], &zero_stats,
				    sizeof(zero_stats));
	for (__u64 i = 0; i < table_epoch_slots(&e->t.size); i++)
		assert_memory_equal(table_slot(&e->t, first + i), zero_slot,
				    e->t.size.slot_elements * sizeof(zero_slot[0]));
}

/* The claim log (count, then offsets) of the CPU's region in epoch, and
 * that of the shared part: table.bpf.h's layout. */
static __u64 *region_log_of(const struct env *e, __u32 epoch, __u32 cpu)
{
	const struct table_size *z = &e->t.size;

	return &e->t.claims[((size_t)epoch * z->nr_cpus + cpu) * (1 + z->region_log_len)];
}

static __u64 *shared_log_of(const struct env *e, __u32 epoch)
{
	const struct table_size *z = &e->t.size;

	return &e->t.claims[(size_t)XDPTOP_EPOCHS * z->nr_cpus * (1 + z->region_log_len) +
			    (size_t)epoch * (1 + z->shared_log_len)];
}

/* Slots claimed in epoch in the CPU's region (its claim log's count). */
static __u64 claimed_by(const struct env *e, __u32 epoch, __u32 cpu)
{
	return region_log_of(e, epoch, cpu)[0];
}

/* Slots claimed in epoch in the shared part (its claim log's count). */
static __u64 shared_claimed(const struct env *e, __u32 epoch)
{
	return shared_log_of(e, epoch)[0];
}

static __u32 slots_used(const struct xdptop_slot *first, __u32 n)
{
	__u32 used = 0;

	for (__u32 i = 0; i < n; i++)
		used += first[i].tag_packets != 0;
	return used;
}

/* Slots in use in one CPU's region. */
static __u32 region_used(const struct env *e, __u32 epoch, __u32 cpu)
{
	return slots_used(region_of(e, epoch, cpu), e->t.size.region_slots);
}

/* Slots in use in the shared part. */
static __u32 shared_used(const struct env *e, __u32 epoch)
{
	return slots_used(shared_of(e, epoch), e->t.size.shared_slots);
}

/* One report cycle as the agent runs it (flip, grace period, drain, end of
 * the tally's interval), with the checks every cycle must pass. Adds each
 * CPU's frames to cpu_packets when not NULL. Returns the drained epoch. */
static __u32 drain_once(struct env *e, __u64 *cpu_packets)
{
	__u32 retired = table_flip(&e->t);

	assert_true(retired < XDPTOP_EPOCHS);
	assert_int_equal(table_active_epoch(&e->t), retired ^ 1);
	assert_int_equal(table_grace_period(), 0);
	for (__u32 cpu = 0; cpu_packets && cpu < e->t.size.nr_cpus; cpu++)
		cpu_packets[cpu] += e->t.stats[retired * e->t.size.nr_cpus + cpu].total.packets;
	tally_cut(&e->tally, ++e->intervals);
	table_drain(&e->t, retired, &e->tally);
	check_identity(&e->tally);
	tally_end_interval(&e->tally);
	check_identity(&e->tally);
	assert_epoch_clear(e, retired);
	return retired;
}

/* The tally holds exactly what the model says. */
static void check_model(const struct env *e)
{
	const struct model *m = &e->m;

	assert_counter(&e->tally.cum.total, m->total.packets, m->total.bytes);
	assert_counter(&e->tally.cum.other, m->other.packets, m->other.bytes);
	assert_counter(&e->tally.cum.untracked, m->untracked.packets, m->untracked.bytes);
	for (int i = 0; i < m->n; i++)
		assert_key(e, &m->keys[i], m->counts[i].packets, m->counts[i].bytes);
	if (e->tally.n_sources != (size_t)m->n)
		print_tally(e);
	assert_int_equal(e->tally.n_sources, m->n);
}

/* Collects, then checks the tally against the model. */
static __u32 collect(struct env *e)
{
	__u32 retired = drain_once(e, NULL);

	check_model(e);
	return retired;
}

/* The slot where s's probe starts, in a region of region_slots
 * (table.bpf.h: the hash's halves swapped). */
static __u32 home_slot(const struct src *s, __u32 region_slots)
{
	struct xdptop_key k = src_xkey(s);
	__u32 h = xdptop_key_hash(&k);

	return (h >> 16 | h << 16) & (region_slots - 1);
}

/* How far the searches below look before they give up. */
#define SEARCH_LIMIT (1U << 22)

/* Candidate sources, IPv4 and IPv6 in turn, all distinct. */
static struct src candidate(__u32 i)
{
	return i & 1 ? v6(0x20010db8, 0x10000 + i) : v4(IP4(10, 64, 0, 0) + i);
}

/* Fills out[0..n) with distinct candidates that share one home slot, and
 * returns that slot. */
static __u32 find_colliding(struct src *out, int n, __u32 region_slots)
{
	__u32 *hits = calloc(region_slots, sizeof(*hits));
	__u32 home = 0;

	assert_non_null(hits);
	for (__u32 i = 0;; i++) {
		struct src s = candidate(i);
		__u32 h = home_slot(&s, region_slots);

		if (i == SEARCH_LIMIT)
			fail_msg("no %d candidates share a home slot", n);
		if (++hits[h] < (__u32)n)
			continue;
		/* The n-th in slot h: collect all of them again from the start. */
		home = h;
		for (__u32 j = 0, k = 0; k < (__u32)n; j++) {
			s = candidate(j);
			if (home_slot(&s, region_slots) == home)
				out[k++] = s;
		}
		break;
	}
	free(hits);
	return home;
}

/* A candidate whose probe window shares no slot with the one at home. */
static struct src find_far(__u32 home, __u32 region_slots)
{
	for (__u32 i = 100000;; i++) {
		struct src s = candidate(i);
		__u32 d = (home_slot(&s, region_slots) - home) & (region_slots - 1);

		if (i == 100000 + SEARCH_LIMIT)
			fail_msg("no candidate far from slot %u", home);
		if (d >= XDPTOP_PROBE_WINDOW && d <= region_slots - XDPTOP_PROBE_WINDOW)
			return s;
	}
}

static bool slot_holds(const struct xdptop_slot *slot, const struct src *s)
{
	__u64 key[2];

	src_key(s, key);
	return slot->tag_packets >> XDPTOP_META_SHIFT == src_meta(s) &&
	       slot->key[0] == key[0] && slot->key[1] == key[1];
}

/* A candidate, other than those in avoid[0..n), whose home slot is slot. */
static struct src candidate_at(__u32 slot, __u32 region_slots, const struct src *avoid, int n)
{
	for (__u32 i = 0;; i++) {
		struct src s = candidate(i);
		bool taken = false;

		if (i == SEARCH_LIMIT)
			fail_msg("no candidate has home slot %u", slot);
		for (int k = 0; k < n; k++)
			taken |= src_meta(&s) == src_meta(&avoid[k]) &&
				 !memcmp(s.addr, avoid[k].addr, 16);
		if (!taken && home_slot(&s, region_slots) == slot)
			return s;
	}
}

/* ---- parsing --------------------------------------------------------------- */

static void test_ipv4(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(10, 0, 0, 1)), b = v4(IP4(198, 51, 100, 7));
	struct frame f;

	frame_plain(&f, &a, 64);
	feed(e, &f, 3, &a);
	frame_plain(&f, &b, 1000);
	feed(e, &f, 5, &b);
	frame_plain(&f, &a, 34); /* headers only */
	feed(e, &f, 2, &a);
	collect(e);
	assert_source(&e->tally, &a, 5, 3 * 64 + 2 * 34);
	assert_source(&e->tally, &b, 5, 5000);
}

static void test_ipv6(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v6(0x20010db8, 1), b = v6(0xfe800000, 0xabcd);
	struct frame f;

	frame_plain(&f, &a, 80);
	feed(e, &f, 4, &a);
	frame_plain(&f, &b, 1280);
	feed(e, &f, 2, &b);
	frame_plain(&f, &a, 54); /* headers only */
	feed(e, &f, 1, &a);
	collect(e);
	assert_source(&e->tally, &a, 5, 4 * 80 + 54);
	assert_source(&e->tally, &b, 2, 2560);
}

/* IPv4 and IPv6 behind the given tags count under their sources. */
static void check_tagged(void **state, const __u16 *tpids, int n_tags)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(172, 16, 0, n_tags)), b = v6(0x20010db8, 0x100 + n_tags);
	struct frame f;

	frame_from(&f, &a, tpids, n_tags, 14 + 4 * n_tags + 20);
	feed(e, &f, 2, &a);
	frame_from(&f, &a, tpids, n_tags, 300);
	feed(e, &f, 3, &a);
	frame_from(&f, &b, tpids, n_tags, 14 + 4 * n_tags + 40);
	feed(e, &f, 1, &b);
	frame_from(&f, &b, tpids, n_tags, 700);
	feed(e, &f, 4, &b);
	collect(e);
	assert_source(&e->tally, &a, 5, 2 * (14 + 4 * n_tags + 20) + 900);
	assert_source(&e->tally, &b, 5, 14 + 4 * n_tags + 40 + 2800);
	assert_counter(&e->tally.cum.other, 0, 0);
}

static void test_vlan_8021q(void **state)
{
	check_tagged(state, TAG_8021Q, 1);
}

static void test_vlan_8021ad(void **state)
{
	check_tagged(state, TAG_8021AD, 1);
}

static void test_qinq(void **state)
{
	check_tagged(state, TAGS_QINQ, 2);
}

/* Any two of the tag types are skipped, not only the standard QinQ order. */
static void test_two_tags_any_order(void **state)
{
	static const __u16 orders[][2] = {
		{ ETH_P_8021Q, ETH_P_8021Q },
		{ ETH_P_8021Q, ETH_P_8021AD },
		{ ETH_P_8021AD, ETH_P_8021AD },
	};
	struct env *e = env_open(state, 1024, 1024);
	struct frame f;

	for (int i = 0; i < 3; i++) {
		struct src a = v4(IP4(172, 17, 0, i)), b = v6(0x20010db8, 0x200 + i);

		frame_from(&f, &a, orders[i], 2, 100 + i);
		feed(e, &f, 2, &a);
		frame_from(&f, &b, orders[i], 2, 200 + i);
		feed(e, &f, 3, &b);
	}
	collect(e);
}

/* A third tag is not skipped: IPv4 and IPv6 behind three tags are other. */
static void test_three_tags_other(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(172, 16, 3, 1)), b = v6(0x20010db8, 0x300);
	struct frame f;

	frame_from(&f, &a, TAGS_THREE, 3, 100);
	feed(e, &f, 3, NULL);
	frame_from(&f, &b, TAGS_THREE, 3, 150);
	feed(e, &f, 2, NULL);
	collect(e);
	assert_int_equal(e->tally.n_sources, 0);
	assert_counter(&e->tally.cum.other, 5, 600);
}

/* IHL 6..15: options come after the source address, which still counts. */
static void test_ipv4_options(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct frame f;

	for (__u8 ihl = 6; ihl <= 15; ihl++) {
		struct src s = v4(IP4(10, 1, 0, ihl));

		put_l2(&f, NULL, 0, ETH_P_IP);
		put_ipv4(&f, 4, ihl, s.addr);
		pad_to(&f, 14 + ihl * 4 + ihl, 14);
		feed(e, &f, ihl - 4, &s);
		/* The same behind QinQ. */
		put_l2(&f, TAGS_QINQ, 2, ETH_P_IP);
		put_ipv4(&f, 4, ihl, s.addr);
		feed(e, &f, 1, &s);
	}
	collect(e);
	assert_int_equal(e->tally.n_sources, 10);
	assert_counter(&e->tally.cum.other, 0, 0);
}

/* Cut at and inside every header: nothing counts as a source until 20 (IPv4)
 * or 40 (IPv6) bytes of IP header are left, and exactly that many do. */
static void test_truncated(void **state)
{
	static const __u16 *const tag_sets[] = { NULL, TAG_8021Q, TAGS_QINQ, TAG_8021AD };
	static const int n_tags[] = { 0, 1, 2, 1 };
	static const __u16 types[] = { ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q, ETH_P_8021AD };
	struct env *e = env_open(state, 1024, 1024);
	struct frame f;

	/* The Ethernet header only, whatever its EtherType announces. */
	for (int i = 0; i < 4; i++) {
		put_l2(&f, NULL, 0, types[i]);
		assert_int_equal(f.len, 14);
		feed(e, &f, 2, NULL);
	}
	for (int t = 0; t < 4; t++) {
		const int n = n_tags[t];
		const __u32 l3 = 14 + 4 * n;
		struct src a = v4(IP4(10, 2, 0, t)), b = v6(0x20010db8, 0x400 + t);

		/* 1..3 bytes of the last tag (after the TPID in the header before). */
		for (__u32 cut = 1; n && cut < 4; cut++) {
			frame_from(&f, &a, tag_sets[t], n, l3 + 20);
			f.len = l3 - 4 + cut;
			feed(e, &f, 1, NULL);
		}
		/* 0..19 bytes of IPv4, 0..39 of IPv6 after the tags. */
		for (__u32 left = 0; left < 20; left++) {
			frame_from(&f, &a, tag_sets[t], n, l3 + 20);
			f.len = l3 + left;
			feed(e, &f, 1, NULL);
		}
		for (__u32 left = 0; left < 40; left++) {
			frame_from(&f, &b, tag_sets[t], n, l3 + 40);
			f.len = l3 + left;
			feed(e, &f, 1, NULL);
		}
		/* Exactly 20 / 40 left: counted. */
		frame_from(&f, &a, tag_sets[t], n, l3 + 20);
		feed(e, &f, 3, &a);
		frame_from(&f, &b, tag_sets[t], n, l3 + 40);
		feed(e, &f, 2, &b);
		/* 20 left and IHL 15: the rule asks for 20 bytes, not IHL x 4. */
		frame_from(&f, &a, tag_sets[t], n, l3 + 20);
		f.buf[l3] = 0x4f;
		feed(e, &f, 1, &a);
	}
	collect(e);
	assert_int_equal(e->tally.n_sources, 8);
	assert_int_equal(e->tally.cum.other.packets, 4 * 2 + 3 * 3 + 4 * (20 + 40));
}

static void test_ihl_below_5_other(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src s = v4(IP4(10, 3, 0, 1));
	struct frame f;

	for (__u8 ihl = 0; ihl < 5; ihl++) {
		put_l2(&f, NULL, 0, ETH_P_IP);
		put_ipv4(&f, 4, ihl, s.addr);
		pad_to(&f, 100 + ihl, 14);
		feed(e, &f, 2, NULL);
		put_l2(&f, TAG_8021AD, 1, ETH_P_IP);
		put_ipv4(&f, 4, ihl, s.addr);
		feed(e, &f, 1, NULL);
	}
	/* IHL 5 in the same frame counts: the frames are right otherwise. */
	put_l2(&f, NULL, 0, ETH_P_IP);
	put_ipv4(&f, 4, 5, s.addr);
	feed(e, &f, 1, &s);
	collect(e);
	assert_int_equal(e->tally.n_sources, 1);
	assert_int_equal(e->tally.cum.other.packets, 5 * 3);
}

/* The version must match the EtherType: 6 (or anything but 4) in 0x0800,
 * 4 (or anything but 6) in 0x86DD is other. */
static void test_wrong_version_other(void **state)
{
	static const __u8 not4[] = { 6, 0, 5, 15 }, not6[] = { 4, 0, 7, 15 };
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(10, 4, 0, 1)), b = v6(0x20010db8, 0x500);
	struct frame f;

	for (int i = 0; i < 4; i++) {
		put_l2(&f, NULL, 0, ETH_P_IP);
		put_ipv4(&f, not4[i], 5, a.addr);
		pad_to(&f, 60 + i, 14);
		feed(e, &f, 2, NULL);
		put_l2(&f, NULL, 0, ETH_P_IPV6);
		put_ipv6(&f, not6[i], b.addr);
		pad_to(&f, 90 + i, 14);
		feed(e, &f, 3, NULL);
		/* A whole IPv6 packet in an IPv4 EtherType and the reverse. */
		put_l2(&f, TAG_8021Q, 1, ETH_P_IP);
		put_ipv6(&f, 6, b.addr);
		feed(e, &f, 1, NULL);
		put_l2(&f, TAG_8021Q, 1, ETH_P_IPV6);
		put_ipv4(&f, 4, 5, a.addr);
		pad_to(&f, 18 + 40, 0);
		feed(e, &f, 1, NULL);
	}
	collect(e);
	assert_int_equal(e->tally.n_sources, 0);
	assert_int_equal(e->tally.cum.other.packets, 4 * 7);
}

static void test_arp_other(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct frame f;

	frame_arp(&f, NULL, 0, 42);
	feed(e, &f, 3, NULL);
	frame_arp(&f, NULL, 0, 60);
	feed(e, &f, 2, NULL);
	frame_arp(&f, TAG_8021Q, 1, 64);
	feed(e, &f, 1, NULL);
	frame_arp(&f, TAGS_QINQ, 2, 68);
	feed(e, &f, 1, NULL);
	collect(e);
	assert_counter(&e->tally.cum.other, 7, 3 * 42 + 2 * 60 + 64 + 68);
	assert_int_equal(e->tally.n_sources, 0);
}

/* Frames shorter than an Ethernet header: the kernel's test_run refuses them
 * (EINVAL: it wants at least ETH_HLEN bytes); should it run them, they are
 * other. Either way nothing is counted that did not run. */
static void test_shorter_than_ethernet(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src s = v4(IP4(10, 5, 0, 1));
	struct frame f;

	for (__u32 len = 1; len < 14; len++) {
		for (int p = 0; p < 2; p++) {
			int err;

			frame_plain(&f, &s, 64);
			f.len = len;
			err = try_run(p ? e->prog_frags : e->prog, &f, 2);
			if (err) {
				assert_int_equal(err, -EINVAL);
				continue;
			}
			add(&e->m.total, 2, 2 * len);
			expect(e, NULL, 2, 2 * len);
		}
	}
	frame_plain(&f, &s, 64);
	feed(e, &f, 1, &s);
	collect(e);
}

/* ---- lengths ---------------------------------------------------------------- */

/* 9000-byte frames are multi-buffer in test_run (more than a page): the
 * frags program counts their whole length, not the first buffer's. */
static void test_frags_jumbo(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(10, 6, 0, 1)), b = v6(0x20010db8, 0x600), c = v4(IP4(10, 6, 0, 2));
	struct frame f;

	frame_plain(&f, &a, JUMBO);
	feed_prog(e, e->prog_frags, &f, 3, &a);
	frame_from(&f, &b, TAGS_QINQ, 2, JUMBO);
	feed_prog(e, e->prog_frags, &f, 2, &b);
	frame_arp(&f, TAG_8021Q, 1, JUMBO);
	feed_prog(e, e->prog_frags, &f, 1, NULL);
	/* A single-buffer frame through the frags program counts the same. */
	frame_plain(&f, &c, 1500);
	feed_prog(e, e->prog_frags, &f, 4, &c);
	collect(e);
	assert_source(&e->tally, &a, 3, 3 * JUMBO);
	assert_source(&e->tally, &b, 2, 2 * JUMBO);
	assert_source(&e->tally, &c, 4, 4 * 1500);
	assert_counter(&e->tally.cum.other, 1, JUMBO);
}

static void test_single_buffer_1500(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(10, 7, 0, 1)), b = v6(0x20010db8, 0x700);
	struct frame f;

	frame_plain(&f, &a, 1500);
	feed(e, &f, 7, &a);
	frame_from(&f, &b, TAG_8021AD, 1, 1500);
	feed(e, &f, 3, &b);
	frame_arp(&f, NULL, 0, 1500);
	feed(e, &f, 2, NULL);
	collect(e);
	assert_source(&e->tally, &a, 7, 7 * 1500);
	assert_source(&e->tally, &b, 3, 3 * 1500);
	assert_counter(&e->tally.cum.other, 2, 3000);
}

/* The kernel's repeat runs the program again for every repetition: each one
 * counts, multi-buffer frames too. */
static void test_kernel_repeat(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(10, 8, 0, 1)), b = v6(0x20010db8, 0x800);
	struct frame f;

	frame_plain(&f, &a, 1500);
	run_repeat(e, e->prog, &f, 1000);
	expect(e, &a, 1000, 1000 * 1500);
	frame_from(&f, &b, TAG_8021Q, 1, JUMBO);
	run_repeat(e, e->prog_frags, &f, 300);
	expect(e, &b, 300, 300 * JUMBO);
	frame_arp(&f, NULL, 0, 60);
	run_repeat(e, e->prog, &f, 77);
	expect(e, NULL, 77, 77 * 60);
	collect(e);
}

/* 10.1.2.3 and 0a01:0203:: have the same 16 key bytes: the family alone
 * tells them apart. Also when the IPv4 one's probe meets the IPv6 one: a pair
 * whose home slots are at most 7 apart, the IPv6 one at its home, the slots
 * from the IPv4 one's home up to there taken. (The family is hashed, so such
 * a pair's home slots are far apart in big regions: this uses 16 slots.) */
static void test_ipv4_ipv6_same_bytes(void **state)
{
	struct env *e = env_open(state, 8, 1024);	/* a 16-slot region */
	struct src a = v4(IP4(10, 1, 2, 3)), b = v6(0x0a010203, 0), c = v6(0x0a010203, 1);
	const __u32 epoch = table_active_epoch(&e->t), mask = e->a.size.region_slots - 1;
	struct src p[2];	/* IPv4, IPv6 */
	__u32 h4, h6;
	__u64 ka[2], kb[2];
	struct frame f;

	src_key(&a, ka);
	src_key(&b, kb);
	assert_memory_equal(ka, kb, sizeof(ka));
	frame_plain(&f, &a, 100);
	feed(e, &f, 2, &a);
	frame_plain(&f, &b, 200);
	feed(e, &f, 3, &b);
	frame_plain(&f, &c, 300);
	feed(e, &f, 4, &c);
	frame_plain(&f, &a, 100);
	feed(e, &f, 1, &a);
	collect(e);
	assert_int_equal(e->tally.n_sources, 3);
	assert_source(&e->tally, &a, 3, 300);
	assert_source(&e->tally, &b, 3, 600);
	assert_source(&e->tally, &c, 4, 1200);

	for (__u32 x = IP4(10, 128, 0, 0);; x++) {
		if (x == IP4(10, 128, 0, 0) + SEARCH_LIMIT)
			fail_msg("no IPv4/IPv6 pair of the same bytes within a probe window");
		p[0] = v4(x);
		p[1] = v6(x, 0);
		h4 = home_slot(&p[0], e->a.size.region_slots);
		h6 = home_slot(&p[1], e->a.size.region_slots);
		if (((h6 - h4) & mask) < XDPTOP_PROBE_WINDOW)
			break;
	}
	assert_int_equal(e->a.size.region_slots, 16);
	frame_plain(&f, &p[1], 90);
	feed(e, &f, 3, &p[1]);
	for (__u32 slot = h4; slot != h6; slot = (slot + 1) & mask) {
		struct src filler = candidate_at(slot, e->a.size.region_slots, p, 2);

		frame_plain(&f, &filler, 64);
		feed(e, &f, 1, &filler);
	}
	frame_plain(&f, &p[0], 70);
	feed(e, &f, 2, &p[0]);
	assert_true(slot_holds(&region_of(e, epoch ^ 1, e->cpu)[h6], &p[1]));
	assert_true(slot_holds(&region_of(e, epoch ^ 1, e->cpu)[(h6 + 1) & mask], &p[0]));
	collect(e);
	assert_source(&e->tally, &p[0], 2, 140);
	assert_source(&e->tally, &p[1], 3, 270);
}

/* ---- the table ------------------------------------------------------------ */

/* Makes slot (in the active epoch, already holding s: one frame run) hold
 * packets frames of len bytes, as if they had run: the slot and the CPU's
 * total, and the model. */
static void preload_slot(struct env *e, const struct src *s, struct xdptop_slot *slot,
			 __u64 packets, __u32 len)
{
	__u32 epoch = table_active_epoch(&e->t);
	struct xdptop_cpu_stats *stats = &e->t.stats[epoch * e->t.size.nr_cpus + e->cpu];
	__u64 had = slot->tag_packets & XDPTOP_PACKETS_MASK;

	assert_true(slot_holds(slot, s));
	assert_true(packets >= had && packets <= XDPTOP_PACKETS_MASK);
	slot->tag_packets = (__u64)src_meta(s) << XDPTOP_META_SHIFT | packets;
	slot->iface_bytes += (packets - had) * len;
	add(&stats->total, packets - had, (packets - had) * len);
	add(&e->m.total, packets - had, (packets - had) * len);
	expect(e, s, packets - had, (packets - had) * len);
}

/* Where s's probe starts in the shared part. */
static __u32 shared_home(const struct src *s, __u32 shared_slots)
{
	struct xdptop_key k = src_xkey(s);

	return xdptop_key_hash(&k) & (shared_slots - 1);
}

/* Fills the free slots of s's probe window in the shared part with other
 * keys of one frame each, as if they had run: claimed, logged, counted. */
static void fill_shared_window(struct env *e, const struct src *s)
{
	const struct table_size *z = &e->t.size;
	const __u32 n = z->shared_slots, home = shared_home(s, n), epoch = table_active_epoch(&e->t);
	struct xdptop_slot *shared = shared_of(e, epoch);
	__u64 *log = shared_log_of(e, epoch);

	for (__u32 i = 0; i < XDPTOP_PROBE_WINDOW; i++) {
		struct xdptop_slot *slot = &shared[(home + i) & (n - 1)];
		struct src other = v6(0x20010db8, 0x7e000000 + i);
		__u64 key[2];

		if (slot->tag_packets)
			continue;
		src_key(&other, key);
		*slot = (struct xdptop_slot){ .key = { key[0], key[1] },
					      .tag_packets = (__u64)src_meta(&other) << XDPTOP_META_SHIFT,
					      .iface_bytes = 0 };
		assert_true(log[0] < z->shared_log_len);
		log[1 + log[0]++] = slot - epoch_slots(e, epoch);
		preload_slot(e, &other, slot, 1, 60);
	}
}

/* Sources with one home slot take consecutive slots, each counted under its
 * own address. */
static void test_collisions(void **state)
{
	struct env *e = env_open(state, 512, 1024);
	struct src s[4];
	struct frame f;
	__u32 home, epoch = table_active_epoch(&e->t);

	assert_int_equal(e->a.size.region_slots, 1024);	/* twice max_sources */
	home = find_colliding(s, 4, e->a.size.region_slots);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++) {
			frame_plain(&f, &s[i], 64 + 10 * i + round);
			feed(e, &f, i + 1, &s[i]);
		}
	}
	/* In the region, in order of arrival, from home on. */
	for (int i = 0; i < 4; i++) {
		const struct xdptop_slot *slot =
			&region_of(e, epoch, e->cpu)[(home + i) & (e->a.size.region_slots - 1)];

		assert_true(slot_holds(slot, &s[i]));
		assert_int_equal(slot->tag_packets & XDPTOP_PACKETS_MASK, 3 * (i + 1));
	}
	assert_int_equal(region_used(e, epoch, e->cpu), 4);
	collect(e);
	assert_int_equal(e->tally.n_sources, 4);
}

/* Ten sources with one home slot in the region: the first eight fill the
 * probe window there, the ninth goes to the shared part, where its window
 * starts elsewhere (the hash's halves swapped); the tenth finds its window
 * there held by other keys too: its frames are untracked. A source
 * elsewhere is not affected. */
static void test_probe_window_full(void **state)
{
	enum { W = XDPTOP_PROBE_WINDOW };
	struct env *e = env_open(state, 1024, 1024);
	const __u32 epoch = table_active_epoch(&e->t), mask = e->t.size.region_slots - 1;
	struct xdptop_slot *shared = shared_of(e, epoch);
	struct src s[W + 2], far;
	struct frame f;
	__u32 home;

	home = find_colliding(s, W + 2, e->t.size.region_slots);
	far = find_far(home, e->t.size.region_slots);
	for (int i = 0; i < W; i++) {
		frame_plain(&f, &s[i], 100 + i);
		feed(e, &f, i + 1, &s[i]);
	}
	frame_plain(&f, &s[W], 300);
	feed(e, &f, 2, &s[W]);
	assert_true(slot_holds(&shared[shared_home(&s[W], e->t.size.shared_slots)], &s[W]));
	fill_shared_window(e, &s[W + 1]);
	frame_plain(&f, &s[W + 1], 500);
	feed_untracked(e, &f, 7);
	frame_plain(&f, &far, 600);
	feed(e, &f, 2, &far);
	/* The tracked ones still count with the windows full. */
	frame_plain(&f, &s[0], 90);
	feed(e, &f, 5, &s[0]);
	frame_plain(&f, &s[W - 1], 91);
	feed(e, &f, 1, &s[W - 1]);
	frame_plain(&f, &s[W], 92);
	feed(e, &f, 1, &s[W]);
	frame_from(&f, &s[W + 1], TAG_8021Q, 1, 510);
	feed_untracked(e, &f, 3);
	for (int i = 0; i < W; i++)
		assert_true(slot_holds(&region_of(e, epoch, e->cpu)[(home + i) & mask], &s[i]));
	assert_int_equal(region_used(e, epoch, e->cpu), W + 1);
	collect(e);
	assert_counter(&e->tally.cum.untracked, 10, 7 * 500 + 3 * 510);
	assert_null(tally_find(&e->tally, &s[W + 1]));

	/* Next interval: the windows are empty again, the last one gets a slot. */
	frame_plain(&f, &s[W + 1], 500);
	feed(e, &f, 2, &s[W + 1]);
	collect(e);
}

/* max_sources 4: a region of 8 slots and a shared part of 8, each all in
 * every probe window. The region takes the first 6 sources of an interval
 * (3/4 of it: then it is full), the shared part the next 8, later ones are
 * untracked until a drain empties both. In a full region a source still
 * counts in its first slot; one elsewhere in its window looks for a second
 * slot, in the shared part (which the reader would add up): full here. */
static void test_region_full(void **state)
{
	enum { N = 20, IN_REGION = 6, FIT = 14 };
	struct env *e = env_open(state, 4, 64);
	const __u32 epoch = table_active_epoch(&e->t);
	const struct xdptop_slot *region = region_of(e, epoch, e->cpu);
	int at_home = -1, moved = -1;
	struct src s[N];
	struct frame f;

	assert_int_equal(e->a.size.region_slots, 8);
	assert_int_equal(e->a.size.shared_slots, 8);
	for (int i = 0; i < N; i++)
		s[i] = candidate(i);
	for (int i = 0; i < N; i++) {
		frame_plain(&f, &s[i], 64 + i);
		if (i < FIT)
			feed(e, &f, 1, &s[i]);
		else
			feed_untracked(e, &f, 1);
	}
	assert_int_equal(region_used(e, epoch, e->cpu), IN_REGION);
	assert_int_equal(shared_used(e, epoch), 8);
	for (int i = 0; i < IN_REGION; i++) {
		if (slot_holds(&region[home_slot(&s[i], 8)], &s[i]))
			at_home = at_home < 0 ? i : at_home;
		else
			moved = moved < 0 ? i : moved;
	}
	assert_true(at_home >= 0);
	/* Known sources still count: in their first slot, without a new one. */
	frame_plain(&f, &s[at_home], 70);
	feed(e, &f, 2, &s[at_home]);
	frame_plain(&f, &s[12], 71);
	feed(e, &f, 2, &s[12]);
	assert_int_equal(region_used(e, epoch, e->cpu) + shared_used(e, epoch), FIT);
	/* One in the region, not in its first slot: untracked now. */
	assert_true(moved >= 0);
	frame_plain(&f, &s[moved], 72);
	feed_untracked(e, &f, 1);
	collect(e);
	assert_int_equal(e->tally.n_sources, FIT);

	/* After the drain both are empty: 14..19 and then 0..7 fit, 8..13 not. */
	for (int k = 0; k < N; k++) {
		int i = (k + FIT) % N;

		frame_plain(&f, &s[i], 200 + i);
		if (k < FIT)
			feed(e, &f, 1, &s[i]);
		else
			feed_untracked(e, &f, 1);
	}
	assert_int_equal(collect(e), 1);
	assert_int_equal(e->tally.n_sources, N);
}

/* Sources come and go over five intervals: each drain leaves the epoch it
 * read all zero, frames after a flip go to the other epoch, a source gone
 * from the table keeps its counts in the tally, and counts add up across
 * intervals. */
static void test_epochs(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src s[6];
	struct frame f;

	for (int i = 0; i < 6; i++)
		s[i] = candidate(1000 + i);
	assert_int_equal(table_active_epoch(&e->t), 0);
	for (__u32 round = 0; round < 5; round++) {
		__u32 active = table_active_epoch(&e->t);

		assert_int_equal(active, round & 1);
		frame_plain(&f, &s[round], 100);
		feed(e, &f, round + 1, &s[round]);
		frame_from(&f, &s[round + 1], TAG_8021Q, 1, 200 + round);
		feed(e, &f, 2, &s[round + 1]);
		frame_arp(&f, NULL, 0, 60);
		feed(e, &f, 1, NULL);
		/* This interval's sources only, and only in the active epoch. */
		assert_int_equal(region_used(e, active, e->cpu), 2);
		assert_true(slot_holds(&region_of(e, active, e->cpu)
				       [home_slot(&s[round], e->t.size.region_slots)], &s[round]));
		if (round)
			assert_epoch_clear(e, active ^ 1);
		assert_int_equal(collect(e), active);
		assert_epoch_clear(e, active);
		assert_int_equal(region_used(e, active ^ 1, e->cpu), 0);
	}
	assert_int_equal(e->tally.n_sources, 6);
	assert_source(&e->tally, &s[0], 1, 100);
	assert_source(&e->tally, &s[2], 3 + 2, 300 + 2 * 201);
	assert_source(&e->tally, &s[5], 2, 2 * 204);
	assert_counter(&e->tally.cum.other, 5, 300);
	/* A drain with no frames changes nothing. */
	collect(e);
	collect(e);
}

/* A tally of 3 sources fed 6 in each interval: it keeps the first 3 it met
 * (all active, none gives way), the others' counts go to untracked; the
 * identity stays exact. */
static void test_tally_overflow(void **state)
{
	enum { N = 3, SOURCES = 6 };
	struct env *e = env_open(state, 1024, N);
	struct src s[SOURCES];
	bool kept[SOURCES];
	struct frame f;

	for (int i = 0; i < SOURCES; i++)
		s[i] = candidate(2000 + i);
	for (__u64 round = 1; round <= 3; round++) {
		struct xdptop_counter lost = { 0, 0 };
		int n_kept = 0;

		for (int i = 0; i < SOURCES; i++) {
			frame_plain(&f, &s[i], 80 + 4 * i);
			run(e, e->prog, &f, i + 1);
		}
		frame_arp(&f, NULL, 0, 60);
		feed(e, &f, 1, NULL);
		drain_once(e, NULL);
		assert_counter(&e->tally.cum.total, e->m.total.packets, e->m.total.bytes);
		assert_counter(&e->tally.cum.other, e->m.other.packets, e->m.other.bytes);
		assert_int_equal(e->tally.n_sources, N);
		for (int i = 0; i < SOURCES; i++) {
			const struct source_count *c = tally_find(&e->tally, &s[i]);
			const __u64 packets = round * (i + 1), bytes = packets * (80 + 4 * i);

			if (round == 1)
				kept[i] = c != NULL;
			assert_int_equal(c != NULL, kept[i]);
			if (c)
				assert_counter(&(struct xdptop_counter){ c->packets, c->bytes },
					       packets, bytes);
			else
				add(&lost, packets, bytes);
			n_kept += kept[i];
		}
		assert_int_equal(n_kept, N);
		assert_counter(&e->tally.cum.untracked, lost.packets, lost.bytes);
	}
}

/* A tally of 4: when a newcomer is turned away, the sources idle the longest
 * give way at the end of that interval, down to 3 (of two equally idle, the
 * one with fewer packets; its counts move to untracked), and the newcomer is
 * tracked from its next frames on. */
static void test_tally_idle_give_way(void **state)
{
	struct env *e = env_open(state, 1024, 4);
	struct src s[5];
	struct frame f;

	for (int i = 0; i < 5; i++)
		s[i] = candidate(3000 + i);
	/* Interval 1: 0..3 fill the tally. */
	for (int i = 0; i < 4; i++) {
		frame_plain(&f, &s[i], 100 + i);
		feed(e, &f, i + 1, &s[i]);
	}
	collect(e);
	/* Interval 2: 0 and 1 stay, 2 and 3 idle, 4 is turned away... */
	frame_plain(&f, &s[0], 100);
	feed(e, &f, 1, &s[0]);
	frame_plain(&f, &s[1], 101);
	feed(e, &f, 1, &s[1]);
	frame_plain(&f, &s[4], 104);
	feed_untracked(e, &f, 5);
	/* ...and at its end 2 (3 packets) gives way; 3 (4 packets) stays. */
	expect_forgotten(e, &s[2]);
	collect(e);
	assert_int_equal(e->tally.n_sources, 3);
	assert_null(tally_find(&e->tally, &s[2]));
	/* Interval 3: 4, turned away before, takes the place freed. */
	frame_plain(&f, &s[4], 104);
	feed(e, &f, 2, &s[4]);
	collect(e);
	assert_int_equal(e->tally.n_sources, 4);
	/* Interval 4: nobody is turned away, so nobody is forgotten, however idle. */
	frame_plain(&f, &s[4], 104);
	feed(e, &f, 1, &s[4]);
	collect(e);
	collect(e);
	assert_int_equal(e->tally.n_sources, 4);
	assert_source(&e->tally, &s[0], 2, 200);
	assert_source(&e->tally, &s[3], 4, 412);
	assert_source(&e->tally, &s[4], 3, 312);
}

/* Frees the tally a test of the tally alone keeps in *state. */
static int tally_teardown(void **state)
{
	if (*state)
		tally_free(*state);
	free(*state);
	*state = NULL;
	return 0;
}

/* Source i of test_tally_forget_down_to_three_quarters' flood sends
 * 1 + i % 5 frames of 100 bytes. */
static __u64 flood_packets(__u32 i)
{
	return 1 + i % 5;
}

static struct src flood_source(__u32 i)
{
	return candidate(6000 + i);
}

/* Source i's frames, as a drain hands them over: the source, and the total. */
static void flood_add(struct tally *t, __u32 i)
{
	struct src s = flood_source(i);
	struct tally_counters c = { .total = { flood_packets(i), 100 * flood_packets(i) } };
	struct xdptop_key key = src_xkey(&s);

	tally_add_source(t, &key, xdptop_key_hash(&key), c.total.packets, c.total.bytes);
	tally_add_counters(t, &c);
}

/* After the flood's first forgetting (the 1,000 sources of its first interval
 * all idle one interval), the 200 of 1 packet went, and the first 50 of 2
 * (i = 1, 6, .., 246); the others stay, their counts exact. */
static void check_fewest_went_first(const struct tally *t)
{
	for (__u32 i = 0; i < t->budget->max_sources; i++) {
		struct src s = flood_source(i);

		if (flood_packets(i) > 2 || (flood_packets(i) == 2 && i > 250))
			assert_source(t, &s, flood_packets(i), 100 * flood_packets(i));
		else
			assert_null(tally_find(t, &s));
	}
}

/* A tally of 1,000 under a flood of 2,000 new sources an interval, the tally
 * alone (no BPF). The interval that fills it forgets nothing: every source
 * was counted in it. Every later one forgets exactly down to 750: the room
 * freed goes to the first 250 of its sources, which stay (counted in it);
 * of the idle ones, those with the fewest packets go, of equal counts the
 * first tracked. It once forgot every source of the idlest age at once, all
 * 1,000, and the tracked sources went 1000 / 0 / 1000. The totals stay exact. */
static void test_tally_forget_down_to_three_quarters(void **state)
{
	enum { MAX = 1000, TARGET = 750, PER_INTERVAL = 2000, INTERVALS = 6 };
	struct tally *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	*state = t;
	assert_int_equal(tally_init(t, MAX, XDPTOP_FIELD_SRC), 0);
	for (__u32 ival = 0; ival < INTERVALS; ival++) {
		/* This interval's sources that are tracked: the first 1,000 fill
		 * the tally, none while it is full, then as many as were forgotten. */
		__u32 first = ival * PER_INTERVAL, fit = !ival ? MAX : ival == 1 ? 0 : MAX - TARGET;
		struct tally_counters before;

		tally_cut(t, ival + 1);
		for (__u32 i = first; i < first + PER_INTERVAL; i++)
			flood_add(t, i);
		before = t->cum;
		tally_end_interval(t);
		assert_counter(&t->cum.total, before.total.packets, before.total.bytes);
		assert_counter(&t->cum.other, 0, 0);
		check_identity(t);
		assert_int_equal(t->n_sources, ival ? TARGET : MAX);
		for (__u32 i = first; i < first + fit; i++) {
			struct src s = flood_source(i);

			assert_source(t, &s, flood_packets(i), 100 * flood_packets(i));
		}
		if (ival == 1)
			check_fewest_went_first(t);
	}
}

/* A tally of 8, so down to 6: with one source idle (two intervals, none
 * idle just one) and two to go, every idle one goes, and those counted in
 * the interval stay, though the tally stays above 6. */
static void test_tally_too_few_idle_all_go(void **state)
{
	struct tally *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	*state = t;
	assert_int_equal(tally_init(t, 8, XDPTOP_FIELD_SRC), 0);
	for (__u32 ival = 0; ival < 3; ival++) {
		tally_cut(t, ival + 1);
		for (__u32 i = 0; i < (ival ? 7 : 8); i++)	/* 7 idle from the second */
			flood_add(t, i);
		if (ival == 2)
			flood_add(t, 8);			/* turned away */
		tally_end_interval(t);
		check_identity(t);
		assert_int_equal(t->n_sources, ival == 2 ? 7 : 8);
	}
	for (__u32 i = 0; i <= 8; i++) {
		struct src s = flood_source(i);

		if (i < 7)
			assert_source(t, &s, 3 * flood_packets(i), 300 * flood_packets(i));
		else
			assert_null(tally_find(t, &s));
	}
}

/* The 10 s averages against a model that shares no code with the tally:
 * each interval, every key's average decays by exp(-length / 10) and takes
 * (1 - exp(-length / 10)) x the interval's rate, counted or idle; the
 * tally shows it over the weight of the time it has tracked the key (from
 * the start of its first interval). Intervals of uneven lengths; key 0
 * comes in two slots in most (the drain adds each: one decay, both
 * counts), key 1 is new in the fourth, key 2 idle from the second to the
 * fourth, key 0 idle in the last. */
static void test_tally_averages_model(void **state)
{
	enum { INTERVALS = 6, KEYS = 3, BYTES_PER_PACKET = 100 };
	static const double length[INTERVALS] = { 0.5, 1.0, 2.0, 1.3, 0.7, 1.0 };
	/* Packets of key k in interval i, in each of its two slots (0: none). */
	static const __u64 slots[INTERVALS][KEYS][2] = {
		{ { 3, 5 }, { 0, 0 }, { 7, 0 } },  { { 1, 1 }, { 0, 0 }, { 0, 0 } },
		{ { 10, 2 }, { 0, 0 }, { 0, 0 } }, { { 4, 4 }, { 9, 0 }, { 0, 0 } },
		{ { 6, 0 }, { 2, 1 }, { 11, 0 } }, { { 0, 0 }, { 5, 0 }, { 1, 0 } },
	};
	struct tally *t = calloc(1, sizeof(*t));
	double model[KEYS] = { 0 }, born[KEYS] = { 0 }, end = 0;
	bool seen[KEYS] = { false };

	assert_non_null(t);
	*state = t;
	assert_int_equal(tally_init(t, 16, XDPTOP_FIELD_SRC), 0);
	for (int i = 0; i < INTERVALS; i++) {
		double start = end, keep = exp(-length[i] / 10);

		end += length[i];
		tally_cut(t, end);
		for (int k = 0; k < KEYS; k++) {
			struct src src = flood_source(k);
			struct xdptop_key key = src_xkey(&src);
			__u64 packets = 0;

			for (int s = 0; s < 2; s++) {
				__u64 p = slots[i][k][s];

				if (p)
					tally_add_source(t, &key, xdptop_key_hash(&key), p,
							 BYTES_PER_PACKET * p);
				packets += p;
			}
			if (packets && !seen[k]) {
				seen[k] = true;
				born[k] = start;
			}
			model[k] = model[k] * keep + (1 - keep) * packets / length[i];
		}
		tally_end_interval(t);
		for (int k = 0; k < KEYS; k++) {
			struct src src = flood_source(k);
			const struct source_count *c = tally_find(t, &src);
			double pps, bps, want;

			if (!seen[k])
				continue;
			assert_non_null(c);
			tally_average(t, c, &pps, &bps);
			want = model[k] / (1 - exp(-(end - born[k]) / 10));
			if (fabs(pps - want) > 1e-9 * want || fabs(bps - 8 * BYTES_PER_PACKET * want) >
								    1e-9 * 8 * BYTES_PER_PACKET * want)
				print_error("interval %d key %d: %.12g pps %.12g bps, model %.12g pps\n",
					    i, k, pps, bps, want);
			assert_true(fabs(pps - want) <= 1e-9 * want);
			assert_true(fabs(bps - 8 * BYTES_PER_PACKET * want) <=
				    1e-9 * 8 * BYTES_PER_PACKET * want);
		}
	}
}

/* A drain visits the slots claimed in a CPU's region, or in the shared
 * part, through the part's claim log while the log holds them all, and
 * scans the part in order past that: either way it reads every source
 * exactly once and leaves the epoch empty (collect() checks). A region 3/4
 * claimed (96 of 128 slots here) takes no more: the sources after go to the
 * shared part, whose log holds 16. */
static void test_claim_log_and_scan(void **state)
{
	struct env *e = env_open(state, 64, 1024);	/* 128 slots in each part */
	const struct table_size *z = &e->t.size;
	const __u32 full = XDPTOP_REGION_FULL(z->region_slots);
	/* Around each log's length; a few sources may go to the shared part
	 * before the region is full (their windows are). */
	const __u32 sizes[] = { 16, 17, full - 32, full - 24, full - 16, full - 8, full,
				full + 8, full + 16, full + 24 };
	bool region_log = false, region_scan = false, shared_log = false, shared_scan = false;
	__u32 next = 5000;
	struct frame f;

	assert_int_equal(z->region_log_len, 16);
	assert_int_equal(z->shared_log_len, 16);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		const __u32 epoch = table_active_epoch(&e->t), n = sizes[k];
		__u64 in_region, in_shared;

		for (__u32 i = 0; i < n; i++) {
			struct src c = candidate(next++);

			frame_plain(&f, &c, 64 + i % 50);
			feed(e, &f, 1 + i % 3, &c);
		}
		in_region = claimed_by(e, epoch, e->cpu);
		in_shared = shared_claimed(e, epoch);
		assert_int_equal(in_region, region_used(e, epoch, e->cpu));
		assert_int_equal(in_shared, shared_used(e, epoch));
		assert_int_equal(in_region + in_shared, n);
		assert_true(in_region <= full);
		if (n >= full + XDPTOP_PROBE_WINDOW)
			assert_int_equal(in_region, full);
		region_log |= in_region <= z->region_log_len;
		region_scan |= in_region > z->region_log_len;
		shared_log |= in_shared && in_shared <= z->shared_log_len;
		shared_scan |= in_shared > z->shared_log_len;
		collect(e);
	}
	assert_true(region_log && region_scan && shared_log && shared_scan);
}

/* The longest idle give way first, and only as many as bring the tally to
 * 3/4 full: with room for 4, forgetting the one idle for two intervals is
 * enough; the one idle for one interval stays. */
static void test_tally_oldest_give_way_first(void **state)
{
	struct env *e = env_open(state, 1024, 4);
	struct src s[5];
	struct frame f;

	for (int i = 0; i < 5; i++)
		s[i] = candidate(4000 + i);
	for (int i = 0; i < 4; i++) {		/* interval 1: 0..3 */
		frame_plain(&f, &s[i], 100 + i);
		feed(e, &f, 1, &s[i]);
	}
	collect(e);
	for (int i = 0; i < 4; i++) {		/* interval 2: 0, 1, 3 */
		if (i == 2)
			continue;
		frame_plain(&f, &s[i], 100 + i);
		feed(e, &f, 1, &s[i]);
	}
	collect(e);
	for (int i = 0; i < 2; i++) {		/* interval 3: 0, 1; 4 turned away */
		frame_plain(&f, &s[i], 100 + i);
		feed(e, &f, 1, &s[i]);
	}
	frame_plain(&f, &s[4], 104);
	feed_untracked(e, &f, 1);
	expect_forgotten(e, &s[2]);		/* idle 2 intervals: goes */
	collect(e);
	assert_int_equal(e->tally.n_sources, 3);
	assert_null(tally_find(&e->tally, &s[2]));
	assert_source(&e->tally, &s[3], 2, 206);	/* idle 1 interval: stays */
}

/* ---- key modes: --key dst, --prefix4/--prefix6, --vlan ----------------------- */

/* A pointer to a struct src value, for the calls below. */
#define SRC_PTR(value) (&(struct src[1]){ value }[0])

/* An instance keyed by address (XDPTOP_FIELD_SRC or _DST), cut to p4 and p6 bits,
 * with or without VLAN ids; 1,024 sources. */
static struct env *env_key(void **state, __u32 address, __u8 p4, __u8 p6, bool vlan)
{
	const struct key_spec key = { .fields = address, .prefix4 = p4, .prefix6 = p6,
				      .vlan = vlan };

	return env_open_key(state, 1024, 1024, &key);
}

/* s with bit (0: the most significant of the address) flipped. */
static struct src flip_bit(const struct src *s, unsigned int bit)
{
	struct src c = *s;

	c.addr[bit / 8] ^= 0x80 >> (bit % 8);
	return c;
}

/* s cut to its first len bits, bit by bit. */
static struct src cut(const struct src *s, unsigned int len)
{
	struct src c = *s;

	for (unsigned int bit = len; bit < 128; bit++)
		c.addr[bit / 8] &= ~(0x80 >> (bit % 8));
	return c;
}

/* s with every bit from len on set (of its family's bits). */
static struct src host_ones(const struct src *s, unsigned int len)
{
	struct src c = *s;
	unsigned int bits = s->family == XDPTOP_FAMILY_IPV4 ? 32 : 128;

	for (unsigned int bit = len; bit < bits; bit++)
		c.addr[bit / 8] |= 0x80 >> (bit % 8);
	return c;
}

/* s as a key with n VLAN tags of ids id0 (outermost) and id1. */
static struct src in_vlans(const struct src *s, int n, __u16 id0, __u16 id1)
{
	struct src c = *s;

	c.vlans = (__u32)n << XDPTOP_META_NVLANS_SHIFT | (__u32)id0 << XDPTOP_META_VLAN0_SHIFT |
		  (__u32)id1 << XDPTOP_META_VLAN1_SHIFT;
	return c;
}

static struct src v6_text(const char *text)
{
	struct src s = { .family = XDPTOP_FAMILY_IPV6 };

	assert_int_equal(inet_pton(AF_INET6, text, s.addr), 1);
	return s;
}

static void assert_src_text(const struct src *s, const char *text)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(src_str(s, buf, sizeof(buf)), text);
}

/* A frame of len bytes from s to d behind tags with the given TCIs. */
static void frame_tci(struct frame *f, const struct src *s, const __u16 *tpids, const __u16 *tcis,
		      int n_tags, __u32 len)
{
	struct src d = { .family = s->family };

	memcpy(d.addr, s->family == XDPTOP_FAMILY_IPV4 ? DADDR4 : DADDR6,
	       s->family == XDPTOP_FAMILY_IPV4 ? 4 : 16);
	frame_between(f, s, &d, tpids, tcis, n_tags, len);
}

static void check_config(__u8 p4, __u8 p6, const __u8 m4[16], const __u8 m6[16])
{
	const struct key_spec spec = { .fields = XDPTOP_FIELD_DST, .prefix4 = p4, .prefix6 = p6,
				       .vlan = true };
	struct key_program_config k;

	memset(&k, 0x5a, sizeof(k));
	key_program_config(&spec, &k);
	assert_int_equal(k.fields, XDPTOP_FIELD_DST);
	assert_true(k.vlan);
	assert_memory_equal(k.mask4, m4, 16);
	assert_memory_equal(k.mask6, m6, 16);
}

/* The masks the loader puts in rodata, byte for byte, at every length
 * boundary: network order over the key's 16 bytes. */
static void test_key_config_masks(void **state)
{
	static const __u8 m1[16] = { 0x80 };
	static const __u8 m31[16] = { 0xff, 0xff, 0xff, 0xfe };
	static const __u8 m32[16] = { 0xff, 0xff, 0xff, 0xff };
	static const __u8 m63[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	static const __u8 m64[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const __u8 m127[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	static const __u8 m128[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const __u8 m24[16] = { 0xff, 0xff, 0xff };
	static const __u8 m9[16] = { 0xff, 0x80 };
	const struct key_spec def = KEY_SPEC_DEFAULT;
	struct key_program_config k;

	(void)state;
	check_config(1, 1, m1, m1);
	check_config(31, 63, m31, m63);
	check_config(32, 64, m32, m64);
	check_config(32, 127, m32, m127);
	check_config(1, 128, m1, m128);
	check_config(24, 9, m24, m9);
	memset(&k, 0x5a, sizeof(k));
	key_program_config(&def, &k);
	assert_int_equal(k.fields, XDPTOP_FIELD_SRC);
	assert_false(k.vlan);
	assert_memory_equal(k.mask4, m32, 16);
	assert_memory_equal(k.mask6, m128, 16);
}

/* key_compare() of s with VLAN bits va and t with vb, as source keys. */
static int key_order(const struct src *s, __u32 va, const struct src *t, __u32 vb)
{
	struct xdptop_key a = src_xkey(s), b = src_xkey(t);

	a.meta |= va;
	b.meta |= vb;
	return key_compare(&a, &b);
}

/* How the outputs name keys: a prefix shorter than the family's whole
 * address with its length, a whole one as a plain address; VLAN ids
 * outermost first; and the key order (family, untagged first, VLAN ids,
 * address). */
static void test_key_format(void **state)
{
	const struct key_spec p24_64 = { .prefix4 = 24, .prefix6 = 64 };
	const struct key_spec p1_1 = { .prefix4 = 1, .prefix6 = 1 };
	const struct key_spec whole = KEY_SPEC_DEFAULT;
	struct src a = v4(IP4(198, 18, 7, 0)), b = v6_text("2001:db8:1::");
	struct src z4 = v4(0), z6 = v6_text("::");
	char buf[KEY_ADDRESS_LEN], vl[KEY_VLANS_LEN];
	__u64 ka[2], kb[2], kz4[2], kz6[2];
	__u16 ids[2];

	(void)state;
	src_key(&a, ka);
	src_key(&b, kb);
	src_key(&z4, kz4);
	src_key(&z6, kz6);
	assert_string_equal(key_format_address(&p24_64, 4, ka, buf),
			    "198.18.7.0/24");
	assert_string_equal(key_format_address(&p24_64, 6, kb, buf),
			    "2001:db8:1::/64");
	assert_string_equal(key_format_address(&whole, 4, ka, buf), "198.18.7.0");
	assert_string_equal(key_format_address(&whole, 6, kb, buf),
			    "2001:db8:1::");
	assert_string_equal(key_format_address(&p1_1, 4, kz4, buf), "0.0.0.0/1");
	assert_string_equal(key_format_address(&p1_1, 6, kz6, buf), "::/1");
	/* The VLAN bits of meta do not change the address. */
	assert_string_equal(key_format_address(&p24_64, 4, ka, buf),
			    "198.18.7.0/24");

	assert_int_equal(key_vlans(XDPTOP_FAMILY_IPV4, ids), 0);
	assert_string_equal(key_format_vlans(XDPTOP_FAMILY_IPV4, vl), "");
	assert_int_equal(key_vlans(src_meta(SRC_PTR(in_vlans(&a, 1, 100, 0))), ids), 1);
	assert_int_equal(ids[0], 100);
	assert_string_equal(key_format_vlans(XDPTOP_FAMILY_IPV6 | in_vlans(&a, 1, 0, 0).vlans, vl),
			    "0");
	assert_string_equal(key_format_vlans(XDPTOP_FAMILY_IPV6 | in_vlans(&a, 2, 100, 200).vlans,
					     vl), "100.200");
	assert_int_equal(key_vlans(XDPTOP_FAMILY_IPV6 | in_vlans(&a, 2, 4095, 7).vlans, ids), 2);
	assert_int_equal(ids[0], 4095);
	assert_int_equal(ids[1], 7);
	assert_string_equal(key_format_vlans(XDPTOP_FAMILY_IPV4 | in_vlans(&a, 2, 4095, 4095).vlans,
					     vl), "4095.4095");

	/* Order: IPv4 before IPv6 whatever the bytes; untagged before tagged;
	 * VLAN ids outermost first; then the address bytes. */
	assert_true(key_order(&a, 0, &z6, 0) < 0);
	assert_true(key_order(&a, 0, &z4, in_vlans(&a, 1, 0, 0).vlans) < 0);
	assert_true(key_order(&a, in_vlans(&a, 1, 5, 0).vlans, &z4, in_vlans(&a, 1, 6, 0).vlans) < 0);
	assert_true(key_order(&a, in_vlans(&a, 2, 5, 9).vlans, &z4, in_vlans(&a, 2, 6, 1).vlans) < 0);
	assert_true(key_order(&z6, in_vlans(&a, 2, 5, 9).vlans, &b, in_vlans(&a, 2, 5, 9).vlans) < 0);
	assert_int_equal(key_order(&b, in_vlans(&a, 2, 5, 9).vlans, &b, in_vlans(&a, 2, 5, 9).vlans),
			 0);
}

/* With --prefix4 LEN: addresses that differ in the last bit of the prefix
 * are two keys; those that differ only after it (the first host bit, all
 * host bits zero or one) are one; the key's bytes are exactly the address
 * cut to LEN bits, IPv4 in the first 4 bytes and the rest zero. IPv6 is not
 * cut (its prefix is 128); tags do not change the key. */
static void test_prefix4_boundaries(void **state)
{
	static const struct { __u8 len; const char *base, *in; } cases[] = {
		{ 1, "128.0.0.0", "0.0.0.0" },
		{ 31, "198.18.255.254", "198.18.255.252" },
		{ 32, "198.18.255.255", "198.18.255.254" },
	};
	const struct src base = v4(IP4(198, 18, 255, 255)), six = v6_text("2001:db8:ffff::ffff");
	struct frame f;

	for (int i = 0; i < 3; i++) {
		const unsigned int len = cases[i].len;
		struct env *e = env_key(state, XDPTOP_FIELD_SRC, len, 128, false);
		struct src in = flip_bit(&base, len - 1);
		struct src k_base = cut(&base, len), k_in = cut(&in, len);
		char buf[INET_ADDRSTRLEN];

		assert_string_equal(src_str(&k_base, buf, sizeof(buf)), cases[i].base);
		assert_string_equal(src_str(&k_in, buf, sizeof(buf)), cases[i].in);
		for (int b = 4; b < 16; b++)
			assert_int_equal(k_base.addr[b] | k_in.addr[b], 0);
		frame_plain(&f, &base, 100);
		feed(e, &f, 2, &k_base);
		frame_plain(&f, &in, 110);
		feed(e, &f, 3, &k_in);
		if (len < 32) {
			struct src out = flip_bit(&base, len), lo = cut(&base, len);
			struct src hi = host_ones(&base, len);

			frame_plain(&f, &out, 120);
			feed(e, &f, 4, &k_base);
			frame_plain(&f, &lo, 130);
			feed(e, &f, 1, &k_base);
			frame_plain(&f, &hi, 140);
			feed(e, &f, 2, &k_base);
			frame_from(&f, &hi, TAGS_QINQ, 2, 150);
			feed(e, &f, 1, &k_base);
			hi = host_ones(&in, len);
			frame_from(&f, &hi, TAG_8021Q, 1, 160);
			feed(e, &f, 2, &k_in);
		}
		frame_plain(&f, &six, 200);
		feed(e, &f, 3, &six);
		collect(e);
		assert_int_equal(e->tally.n_sources, 3);
		env_teardown(state);
	}
}

/* The same for --prefix6 at /1, /63, /64, /127 and /128; IPv4 is not cut. */
static void test_prefix6_boundaries(void **state)
{
	static const struct { __u8 len; const char *base, *in; } cases[] = {
		{ 1, "::", "8000::" },
		{ 63, "2001:db8:ffff:fffe::", "2001:db8:ffff:fffc::" },
		{ 64, "2001:db8:ffff:ffff::", "2001:db8:ffff:fffe::" },
		{ 127, "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe",
		  "2001:db8:ffff:ffff:ffff:ffff:ffff:fffc" },
		{ 128, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		  "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe" },
	};
	const struct src base = v6_text("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	const struct src four = v4(IP4(198, 18, 255, 255));
	struct frame f;

	for (int i = 0; i < 5; i++) {
		const unsigned int len = cases[i].len;
		struct env *e = env_key(state, XDPTOP_FIELD_SRC, 32, len, false);
		struct src in = flip_bit(&base, len - 1);
		struct src k_base = cut(&base, len), k_in = cut(&in, len);

		assert_src_text(&k_base, cases[i].base);
		assert_src_text(&k_in, cases[i].in);
		frame_plain(&f, &base, 100);
		feed(e, &f, 2, &k_base);
		frame_plain(&f, &in, 110);
		feed(e, &f, 3, &k_in);
		if (len < 128) {
			struct src out = flip_bit(&base, len), lo = cut(&base, len);
			struct src lo_in = cut(&in, len);

			frame_plain(&f, &out, 120);
			feed(e, &f, 4, &k_base);
			frame_plain(&f, &lo, 130);
			feed(e, &f, 1, &k_base);
			frame_from(&f, &lo, TAG_8021AD, 1, 140);
			feed(e, &f, 2, &k_base);
			frame_from(&f, &lo_in, TAGS_QINQ, 2, 150);
			feed(e, &f, 1, &k_in);
			frame_plain(&f, SRC_PTR(host_ones(&lo_in, len)), 160);
			feed(e, &f, 2, &k_in);
		}
		frame_plain(&f, &four, 64);
		feed(e, &f, 3, &four);
		collect(e);
		assert_int_equal(e->tally.n_sources, 3);
		env_teardown(state);
	}
}

/* --key dst: IPv4 and IPv6 frames count under their destination, behind
 * zero, one or two tags (and IPv4 options); their sources are no keys. */
static void test_key_dst(void **state)
{
	static const __u16 two_q[] = { ETH_P_8021Q, ETH_P_8021Q };
	struct env *e = env_key(state, XDPTOP_FIELD_DST, 32, 128, false);
	struct src s1 = v4(IP4(198, 18, 1, 1)), s2 = v4(IP4(198, 18, 1, 2));
	struct src d1 = v4(IP4(198, 19, 0, 1)), d2 = v4(IP4(198, 19, 0, 2));
	struct src s6a = v6(0x20010db8, 0x1a), s6b = v6(0x20010db8, 0x1b);
	struct src d6a = v6(0x20010db8, 0xda), d6b = v6_text("2001:db8:ffff:1::db");
	struct frame f;

	frame_between(&f, &s1, &d1, NULL, NULL, 0, 64);
	feed(e, &f, 2, &d1);
	frame_between(&f, &s2, &d1, TAG_8021Q, NULL, 1, 80);
	feed(e, &f, 3, &d1);
	frame_between(&f, &s1, &d2, TAG_8021AD, NULL, 1, 90);
	feed(e, &f, 1, &d2);
	frame_between(&f, &s2, &d2, TAGS_QINQ, NULL, 2, 100);
	feed(e, &f, 4, &d2);
	frame_between(&f, &s1, &d1, two_q, NULL, 2, 110);
	feed(e, &f, 1, &d1);
	/* Options after the addresses change nothing. */
	put_l2(&f, TAGS_QINQ, 2, ETH_P_IP);
	put_ipv4_to(&f, 4, 15, s1.addr, d2.addr);
	pad_to(&f, 200, 22);
	feed(e, &f, 2, &d2);
	frame_between(&f, &s6a, &d6a, NULL, NULL, 0, 100);
	feed(e, &f, 2, &d6a);
	frame_between(&f, &s6b, &d6a, TAGS_QINQ, NULL, 2, 120);
	feed(e, &f, 1, &d6a);
	frame_between(&f, &s6a, &d6b, TAG_8021Q, NULL, 1, 130);
	feed(e, &f, 5, &d6b);
	frame_between(&f, &s6b, &d6b, TAG_8021AD, NULL, 1, 140);
	feed(e, &f, 1, &d6b);
	/* Truncated before the destination's end: other. */
	frame_between(&f, &s1, &d1, NULL, NULL, 0, 34);
	f.len = 33;
	feed(e, &f, 1, NULL);
	frame_between(&f, &s6a, &d6a, TAG_8021Q, NULL, 1, 58);
	f.len = 57;
	feed(e, &f, 1, NULL);
	collect(e);
	assert_int_equal(e->tally.n_sources, 4);
	assert_source(&e->tally, &d1, 6, 2 * 64 + 3 * 80 + 110);
	assert_source(&e->tally, &d2, 7, 90 + 4 * 100 + 2 * 200);
	assert_source(&e->tally, &d6b, 6, 5 * 130 + 140);
	assert_null(tally_find(&e->tally, &s1));
	assert_null(tally_find(&e->tally, &s6a));
}

/* --key dst --prefix4 24 --prefix6 64 --vlan at once: destinations cut to
 * their prefixes, told apart by VLAN. */
static void test_dst_prefix_vlan(void **state)
{
	static const __u16 tci7[] = { 7 }, tci7_8[] = { 7, 8 };
	struct env *e = env_key(state, XDPTOP_FIELD_DST, 24, 64, true);
	struct src s = v4(IP4(198, 18, 0, 1)), s6 = v6(0x20010db8, 1);
	struct src da = v4(IP4(198, 19, 5, 1)), db = v4(IP4(198, 19, 5, 254));
	struct src dc = v4(IP4(198, 19, 6, 1));
	struct src d6a = v6_text("2001:db8:5:0:a::1"), d6b = v6_text("2001:db8:5:0:ffff::2");
	struct src k5 = v4(IP4(198, 19, 5, 0)), k6 = v4(IP4(198, 19, 6, 0));
	struct src k6_64 = v6_text("2001:db8:5::");
	struct frame f;

	frame_between(&f, &s, &da, NULL, NULL, 0, 64);
	feed(e, &f, 1, &k5);
	frame_between(&f, &s, &db, NULL, NULL, 0, 70);
	feed(e, &f, 2, &k5);
	frame_between(&f, &s, &da, TAG_8021Q, tci7, 1, 80);
	feed(e, &f, 3, SRC_PTR(in_vlans(&k5, 1, 7, 0)));
	frame_between(&f, &s, &db, TAG_8021AD, tci7, 1, 90);
	feed(e, &f, 1, SRC_PTR(in_vlans(&k5, 1, 7, 0)));
	frame_between(&f, &s, &dc, TAGS_QINQ, tci7_8, 2, 100);
	feed(e, &f, 2, SRC_PTR(in_vlans(&k6, 2, 7, 8)));
	frame_between(&f, &s6, &d6a, NULL, NULL, 0, 110);
	feed(e, &f, 1, &k6_64);
	frame_between(&f, &s6, &d6b, TAGS_QINQ, tci7_8, 2, 120);
	feed(e, &f, 4, SRC_PTR(in_vlans(&k6_64, 2, 7, 8)));
	frame_between(&f, &s6, &d6a, TAGS_QINQ, tci7_8, 2, 130);
	feed(e, &f, 1, SRC_PTR(in_vlans(&k6_64, 2, 7, 8)));
	/* The multi-buffer program builds the same keys. */
	frame_between(&f, &s, &db, TAG_8021AD, tci7, 1, JUMBO);
	feed_prog(e, e->prog_frags, &f, 2, SRC_PTR(in_vlans(&k5, 1, 7, 0)));
	frame_between(&f, &s6, &d6b, NULL, NULL, 0, JUMBO);
	feed_prog(e, e->prog_frags, &f, 1, &k6_64);
	collect(e);
	assert_int_equal(e->tally.n_sources, 5);
	assert_source(&e->tally, SRC_PTR(in_vlans(&k5, 1, 7, 0)), 3 + 1 + 2,
		      3 * 80 + 90 + 2 * JUMBO);
	assert_source(&e->tally, &k6_64, 2, 110 + JUMBO);
}

#define AD ETH_P_8021AD
#define Q ETH_P_8021Q

/* One address behind many tags: TPIDs, TCIs (PCP and DEI set or not) and
 * the VLAN ids they carry (n tags, outermost id, inner id). */
static const struct tag_case {
	__u16 tpids[2], tcis[2];
	int n_tags;
	__u32 times;
	__u16 id0, id1;
} TAG_CASES[] = {
	{ { 0 }, { 0 }, 0, 1, 0, 0 },
	{ { Q }, { 100 }, 1, 2, 100, 0 },
	{ { AD }, { 100 }, 1, 3, 100, 0 },		/* the TPID is not in the key */
	{ { Q }, { 0xe000 | 0x1000 | 100 }, 1, 1, 100, 0 },	/* PCP 7, DEI 1 */
	{ { Q }, { 200 }, 1, 1, 200, 0 },
	{ { AD, Q }, { 100, 200 }, 2, 2, 100, 200 },
	{ { AD, Q }, { 200, 100 }, 2, 1, 200, 100 },	/* the order is */
	{ { Q, Q }, { 0x2000 | 100, 0x1000 | 200 }, 2, 1, 100, 200 },
	{ { Q }, { 0 }, 1, 4, 0, 0 },			/* VLAN 0 is a tag */
	{ { Q }, { 4095 }, 1, 1, 4095, 0 },
	{ { AD }, { 0xffff }, 1, 2, 4095, 0 },
	{ { AD, Q }, { 0xefff, 0x1000 }, 2, 1, 4095, 0 },
	{ { AD, AD }, { 0, 4095 }, 2, 3, 0, 4095 },
};
#define N_TAG_CASES (sizeof(TAG_CASES) / sizeof(TAG_CASES[0]))
/* untagged, 100, 200, 100.200, 200.100, 0, 4095, 4095.0, 0.4095 */
#define DISTINCT_TAG_KEYS 9

#undef AD
#undef Q

/* Runs every tag case for a and b; expects them under their VLAN keys with
 * --vlan, under a and b alone without. */
static void feed_tag_cases(struct env *e, const struct src *a, const struct src *b, bool vlan)
{
	struct frame f;

	for (size_t i = 0; i < N_TAG_CASES; i++) {
		const struct tag_case *c = &TAG_CASES[i];

		for (int k = 0; k < 2; k++) {
			const struct src *s = k ? b : a;
			struct src key = vlan ? in_vlans(s, c->n_tags, c->id0, c->id1) : *s;

			frame_tci(&f, s, c->tpids, c->tcis, c->n_tags, 100 + 4 * i + 2 * k);
			feed(e, &f, c->times + k, &key);
		}
	}
	/* Not IP, or three tags: other, with or without --vlan. */
	frame_arp(&f, TAG_8021Q, 1, 64);
	feed(e, &f, 2, NULL);
	frame_from(&f, a, TAGS_THREE, 3, 120);
	feed(e, &f, 1, NULL);
	frame_from(&f, b, TAGS_THREE, 3, 130);
	feed(e, &f, 1, NULL);
}

/* --vlan: the same addresses in different VLANs (and untagged, and QinQ
 * both ways) are different keys, in the table and in the tally; the ids
 * are the TCI's low 12 bits (0 and 4095 too), PCP and DEI are not part of
 * them; the outputs read the ids back from the key. */
static void test_vlan_keys(void **state)
{
	struct env *e = env_key(state, XDPTOP_FIELD_SRC, 32, 128, true);
	struct src a = v4(IP4(198, 18, 3, 1)), b = v6(0x20010db8, 0x31);
	char vl[KEY_VLANS_LEN];

	feed_tag_cases(e, &a, &b, true);
	collect(e);
	assert_int_equal(e->tally.n_sources, 2 * DISTINCT_TAG_KEYS);
	/* What the outputs show of some. */
	for (int k = 0; k < 2; k++) {
		const struct src *s = k ? &b : &a;
		const struct source_count *c;

		c = tally_find(&e->tally, SRC_PTR(in_vlans(s, 0, 0, 0)));
		assert_non_null(c);
		assert_string_equal(key_format_vlans(c->meta, vl), "");
		c = tally_find(&e->tally, SRC_PTR(in_vlans(s, 1, 100, 0)));
		assert_non_null(c);
		assert_string_equal(key_format_vlans(c->meta, vl), "100");
		assert_int_equal(c->packets, 2 + 3 + 1 + 3 * k);
		c = tally_find(&e->tally, SRC_PTR(in_vlans(s, 2, 100, 200)));
		assert_non_null(c);
		assert_string_equal(key_format_vlans(c->meta, vl), "100.200");
		assert_int_equal(c->packets, 2 + 1 + 2 * k);
		c = tally_find(&e->tally, SRC_PTR(in_vlans(s, 2, 200, 100)));
		assert_non_null(c);
		assert_string_equal(key_format_vlans(c->meta, vl), "200.100");
		c = tally_find(&e->tally, SRC_PTR(in_vlans(s, 1, 0, 0)));
		assert_non_null(c);
		assert_string_equal(key_format_vlans(c->meta, vl), "0");
		c = tally_find(&e->tally, SRC_PTR(in_vlans(s, 2, 4095, 0)));
		assert_non_null(c);
		assert_string_equal(key_format_vlans(c->meta, vl), "4095.0");
		c = tally_find(&e->tally, SRC_PTR(in_vlans(s, 2, 0, 4095)));
		assert_non_null(c);
		assert_string_equal(key_format_vlans(c->meta, vl), "0.4095");
		assert_int_equal(c->packets, 3 + k);
	}
}

/* Without --vlan the same frames make one key per address. */
static void test_vlan_off_one_key(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src a = v4(IP4(198, 18, 3, 1)), b = v6(0x20010db8, 0x31);

	feed_tag_cases(e, &a, &b, false);
	collect(e);
	assert_int_equal(e->tally.n_sources, 2);
	assert_int_equal(tally_find(&e->tally, &a)->meta, XDPTOP_FAMILY_IPV4);
	assert_int_equal(tally_find(&e->tally, &b)->meta, XDPTOP_FAMILY_IPV6);
}

/* A slot counts bytes up to 2^47 (its top 16 bits hold the interface):
 * below that a frame still counts there, at or past it the key takes
 * another slot of its window. */
static void test_count_bytes_full(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src s = v4(IP4(198, 18, 7, 7));
	const __u32 epoch = table_active_epoch(&e->t), mask = e->a.size.region_slots - 1;
	const __u32 home = home_slot(&s, e->a.size.region_slots);
	struct xdptop_slot *r = region_of(e, epoch, e->cpu);
	struct xdptop_cpu_stats *stats = &e->t.stats[epoch * e->t.size.nr_cpus + e->cpu];
	const __u64 more = XDPTOP_BYTES_MAX - 100 - 64;
	struct frame f;

	frame_plain(&f, &s, 64);
	feed(e, &f, 1, &s);
	/* As if it had counted 2^47 - 100 bytes so far. */
	r[home].iface_bytes += more;
	add(&stats->total, 0, more);
	add(&e->m.total, 0, more);
	expect(e, &s, 0, more);
	feed(e, &f, 2, &s);		/* 2^47 - 36, then 2^47 + 28 */
	assert_int_equal(r[home].iface_bytes, XDPTOP_BYTES_MAX + 28);
	feed(e, &f, 1, &s);		/* takes the next slot */
	assert_int_equal(r[home].iface_bytes, XDPTOP_BYTES_MAX + 28);
	assert_true(slot_holds(&r[(home + 1) & mask], &s));
	assert_int_equal(r[(home + 1) & mask].iface_bytes, 64);
	collect(e);
	assert_source(&e->tally, &s, 4, XDPTOP_BYTES_MAX + 28 + 64);
}

/* A slot counts 2^32 - 1 frames at most: at 2^32 - 2, the next frame fills
 * it and the ones after take another slot of the key's window (the next
 * one); the drain adds both up, exactly, under one key. Then a new
 * interval starts from one slot again. */
static void test_count_spill(void **state)
{
	struct env *e = env_key(state, XDPTOP_FIELD_SRC, 32, 128, true);
	struct src s = in_vlans(SRC_PTR(v4(IP4(198, 18, 9, 9))), 2, 100, 200);
	struct src t = v6(0x20010db8, 0x99);
	static const __u16 tcis[] = { 100, 200 };
	const __u32 epoch = table_active_epoch(&e->t), mask = e->a.size.region_slots - 1;
	const __u32 home = home_slot(&s, e->a.size.region_slots);
	struct xdptop_slot *r = region_of(e, epoch, e->cpu);
	struct frame f, g;

	frame_tci(&f, &s, TAGS_QINQ, tcis, 2, 1500);
	feed(e, &f, 1, &s);
	frame_plain(&g, &t, 100);
	feed(e, &g, 1, &t);
	preload_slot(e, &s, &r[home], XDPTOP_PACKETS_MASK - 1, 1500);
	feed(e, &f, 1, &s);			/* the last one that fits */
	assert_int_equal(r[home].tag_packets & XDPTOP_PACKETS_MASK, XDPTOP_PACKETS_MASK);
	assert_int_equal(region_used(e, epoch, e->cpu), 2);
	feed(e, &f, 3, &s);			/* spill over */
	feed(e, &g, 2, &t);
	assert_int_equal(r[home].tag_packets & XDPTOP_PACKETS_MASK, XDPTOP_PACKETS_MASK);
	assert_int_equal(r[home].iface_bytes, (__u64)XDPTOP_PACKETS_MASK * 1500);
	if (home_slot(&t, e->a.size.region_slots) != ((home + 1) & mask)) {
		assert_true(slot_holds(&r[(home + 1) & mask], &s));
		assert_int_equal(r[(home + 1) & mask].tag_packets & XDPTOP_PACKETS_MASK, 3);
		assert_int_equal(r[(home + 1) & mask].iface_bytes, 3 * 1500);
	}
	assert_int_equal(region_used(e, epoch, e->cpu), 3);
	assert_int_equal(claimed_by(e, epoch, e->cpu), 3);
	collect(e);
	assert_int_equal(e->tally.n_sources, 2);
	assert_source(&e->tally, &s, (1ULL << 32) + 2, ((1ULL << 32) + 2) * 1500);
	assert_source(&e->tally, &t, 3, 300);

	/* Next interval: one slot again, added to the same key. */
	feed(e, &f, 2, &s);
	assert_int_equal(region_used(e, epoch ^ 1, e->cpu), 1);
	collect(e);
	assert_source(&e->tally, &s, (1ULL << 32) + 4, ((1ULL << 32) + 4) * 1500);
}

/* A full slot whose region window has no other free slot: the key's next
 * frames go to the shared part (never counted twice, never wrapped to 0);
 * the other keys of the window still count. A shared slot stops short of
 * the limit (CPUs add at once there): with no other room in its shared
 * window either, the key's frames are untracked. */
static void test_count_full_no_room(void **state)
{
	enum { W = XDPTOP_PROBE_WINDOW };
	struct env *e = env_open(state, 1024, 1024);
	const __u32 epoch = table_active_epoch(&e->t), mask = e->a.size.region_slots - 1;
	struct xdptop_slot *region = region_of(e, epoch, e->cpu), *shared = shared_of(e, epoch);
	struct xdptop_slot *in_shared;
	struct src s[W];
	__u32 home;
	struct frame f;

	home = find_colliding(s, W, e->a.size.region_slots);
	in_shared = &shared[shared_home(&s[0], e->a.size.shared_slots)];
	for (int i = 0; i < W; i++) {
		frame_plain(&f, &s[i], 100 + i);
		feed(e, &f, 1, &s[i]);
	}
	preload_slot(e, &s[0], &region[home], XDPTOP_PACKETS_MASK, 100);
	frame_plain(&f, &s[0], 100);
	feed(e, &f, 3, &s[0]);
	assert_true(slot_holds(in_shared, &s[0]));
	assert_int_equal(in_shared->tag_packets & XDPTOP_PACKETS_MASK, 3);
	frame_plain(&f, &s[5], 105);
	feed(e, &f, 2, &s[5]);
	assert_int_equal(region[home].tag_packets & XDPTOP_PACKETS_MASK, XDPTOP_PACKETS_MASK);
	assert_true(slot_holds(&region[(home + 5) & mask], &s[5]));
	assert_int_equal(region_used(e, epoch, e->cpu), W);
	/* The rest of the shared window, then the shared slot at its limit. */
	fill_shared_window(e, &s[0]);
	preload_slot(e, &s[0], in_shared, XDPTOP_SHARED_PACKETS_MAX, 100);
	frame_plain(&f, &s[0], 100);
	feed_untracked(e, &f, 4);
	assert_int_equal(in_shared->tag_packets & XDPTOP_PACKETS_MASK, XDPTOP_SHARED_PACKETS_MAX);
	collect(e);
	assert_source(&e->tally, &s[0], XDPTOP_PACKETS_MASK + XDPTOP_SHARED_PACKETS_MAX,
		      (XDPTOP_PACKETS_MASK + XDPTOP_SHARED_PACKETS_MAX) * 100);
	assert_counter(&e->tally.cum.untracked, 4, 400);
}

/* ---- key fields: protocol, ports, TCP flags -------------------------------- */

/* Each test below builds its frames byte by byte and writes the key each
 * must count under as numbers (README, "What is counted"); none is derived
 * from the frame by code the tests share. */

/* The field tests' frames go from these to DADDR4 and DADDR6. */
static const __u8 SADDR4[4] = { 198, 51, 100, 1 };
static const __u8 SADDR6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x05 };

#define WIDE_FIELDS (XDPTOP_FIELDS_ADDRESS | XDPTOP_FIELDS_L4)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Numbers of IPv6's extension headers and of headers that end the walk;
 * of the families; of the protocols with L4 fields. */
enum { HOPOPTS = 0, ROUTING = 43, FRAGMENT = 44, DSTOPTS = 60, ESP = 50, AH = 51, NONXT = 59 };
enum { V4 = XDPTOP_FAMILY_IPV4, V6 = XDPTOP_FAMILY_IPV6 };
enum { ICMP = 1, TCP = 6, UDP = 17, DCCP = 33, ICMPV6 = 58, SCTP = 132, UDPLITE = 136 };

/* An instance keyed by fields (whole addresses), with or without VLAN ids. */
static struct env *env_fields(void **state, __u32 fields, bool vlan)
{
	const struct key_spec key = { .fields = fields, .prefix4 = 32, .prefix6 = 128,
				      .vlan = vlan };

	return env_open_key(state, 1024, 1024, &key);
}

/* The wide key of a frame from SADDR4 to DADDR4 with these L4 fields. */
static struct xdptop_key k4(__u8 proto, __u16 sport, __u16 dport, __u8 tcpflags)
{
	struct xdptop_key k = { .meta = XDPTOP_FAMILY_IPV4, .proto = proto, .sport = sport,
				.dport = dport, .tcpflags = tcpflags };

	memcpy(k.src, SADDR4, 4);
	memcpy(k.dst, DADDR4, 4);
	return k;
}

/* The same from SADDR6 to DADDR6. */
static struct xdptop_key k6(__u8 proto, __u16 sport, __u16 dport, __u8 tcpflags)
{
	struct xdptop_key k = { .meta = XDPTOP_FAMILY_IPV6, .proto = proto, .sport = sport,
				.dport = dport, .tcpflags = tcpflags };

	memcpy(k.src, SADDR6, 16);
	memcpy(k.dst, DADDR6, 16);
	return k;
}

/* k with the VLAN bits vlans in its meta (--vlan). */
static struct xdptop_key tagged(struct xdptop_key k, __u32 vlans)
{
	k.meta |= vlans;
	return k;
}

/* Starts f: the tags, then an IPv4 header from SADDR4 to DADDR4 of ihl
 * words (options NOPs), protocol proto, flags and fragment offset frag.
 * Returns where the IP header starts. */
static __u32 start4(struct frame *f, const __u16 *tpids, int n_tags, __u8 ihl, __u8 proto,
		    __u16 frag)
{
	__u32 l3;

	put_l2(f, tpids, n_tags, ETH_P_IP);
	l3 = f->len;
	put_ipv4_to(f, 4, ihl, SADDR4, DADDR4);
	f->buf[l3 + 6] = frag >> 8;
	f->buf[l3 + 7] = frag & 0xff;
	f->buf[l3 + 9] = proto;
	return l3;
}

/* The same for IPv6, from SADDR6 to DADDR6, next header nh. */
static __u32 start6(struct frame *f, const __u16 *tpids, int n_tags, __u8 nh)
{
	__u32 l3;

	put_l2(f, tpids, n_tags, ETH_P_IPV6);
	l3 = f->len;
	put_ipv6_to(f, 6, SADDR6, DADDR6);
	f->buf[l3 + 6] = nh;
	return l3;
}

/* An IPv6 extension header of (len + 1) * 8 bytes (not a fragment
 * header), next header nh. Its options are bytes of 6: a walk that reads
 * one of them as a header's number sees TCP. */
static void put_ext(struct frame *f, __u8 nh, __u8 len)
{
	put8(f, nh);
	put8(f, len);
	for (int i = 2; i < (len + 1) * 8; i++)
		put8(f, TCP);
}

/* An IPv6 fragment header: next header nh, then the word of the offset
 * (in 8-byte units, from bit 3) and the M flag (bit 0). */
static void put_frag(struct frame *f, __u8 nh, __u16 offset_word)
{
	put8(f, nh);
	put8(f, 0);
	put16(f, offset_word);
	put32(f, 0xf00d);	/* identification */
}

/* A TCP header of 20 bytes. Any L4 header of the tests is one: its first
 * two words are the ports of TCP, UDP, UDP-Lite, SCTP and DCCP. */
static void put_tcp(struct frame *f, __u16 sport, __u16 dport, __u8 flags)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 0x11223344);	/* sequence number */
	put32(f, 0x55667788);	/* acknowledgment number */
	put8(f, 0x50);		/* data offset 5 */
	put8(f, flags);
	put16(f, 0xfaf0);	/* window */
	put16(f, 0xc0de);	/* checksum */
	put16(f, 0);		/* urgent pointer */
}

/* An ICMP or ICMPv6 header: type, code, a checksum, 4 more bytes. */
static void put_icmp(struct frame *f, __u8 type, __u8 code)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0xabcd);
	put32(f, 0x00070001);	/* identifier, sequence */
}

/* Sets the length field of the IP header at l3 (IPv4's total length,
 * IPv6's payload length) to len, whatever the frame holds. */
static void set_ip_length(struct frame *f, __u32 l3, __u16 len)
{
	__u32 at = l3 + ((f->buf[l3] >> 4) == 4 ? 2 : 4);

	f->buf[at] = len >> 8;
	f->buf[at + 1] = len & 0xff;
}

/* Runs f once through each program, single- and multi-buffer, and expects
 * both frames under k. */
static void feed_key(struct env *e, const struct frame *f, struct xdptop_key k)
{
	run(e, e->prog, f, 1);
	run(e, e->prog_frags, f, 1);
	expect_key(e, &k, 2, 2 * f->len);
}

/* TCP, UDP, UDP-Lite, SCTP and DCCP have ports over IPv4 and IPv6: the L4
 * header's first two 16-bit words. Every header here has 0x12 in byte 13:
 * TCP's flags, no field of the others. */
static void test_fields_ports(void **state)
{
	static const struct {
		__u8 proto;
		__u16 sport, dport;
		__u8 tcpflags;
	} c[] = {
		{ TCP, 40000, 443, 0x12 },
		{ UDP, 53, 33000, 0 },
		{ UDPLITE, 5060, 5061, 0 },
		{ SCTP, 2905, 36412, 0 },
		{ DCCP, 5004, 5005, 0 },
	};
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		l3 = start4(&f, NULL, 0, 5, c[i].proto, 0);
		put_tcp(&f, c[i].sport, c[i].dport, 0x12);
		pad_to(&f, 80, l3);
		feed_key(e, &f, k4(c[i].proto, c[i].sport, c[i].dport, c[i].tcpflags));
		l3 = start6(&f, NULL, 0, c[i].proto);
		put_tcp(&f, c[i].sport, c[i].dport, 0x12);
		pad_to(&f, 100, l3);
		feed_key(e, &f, k6(c[i].proto, c[i].sport, c[i].dport, c[i].tcpflags));
	}
	/* Port 0 and 65535 are ports like any other. */
	l3 = start4(&f, NULL, 0, 5, UDP, 0);
	put_tcp(&f, 0, 65535, 0x12);
	pad_to(&f, 64, l3);
	feed_key(e, &f, k4(UDP, 0, 65535, 0));
	l3 = start6(&f, NULL, 0, TCP);
	put_tcp(&f, 65535, 0, 0x12);
	pad_to(&f, 90, l3);
	feed_key(e, &f, k6(TCP, 65535, 0, 0x12));
	collect(e);
	assert_int_equal(e->tally.n_sources, 12);
}

/* Other protocols count under their number with ports and flags 0,
 * whatever their first bytes hold: GRE, ESP, AH, unassigned ones, and in
 * IPv4 the numbers of IPv6's extension headers (IPv4 walks none). */
static void test_fields_other_protocols(void **state)
{
	static const __u8 v4[] = { HOPOPTS, ROUTING, FRAGMENT, DSTOPTS, 47, ESP, AH, NONXT, 253,
				   255 };
	static const __u8 v6[] = { 47, ESP, AH, NONXT, 253, 255 };
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (size_t i = 0; i < sizeof(v4); i++) {
		l3 = start4(&f, NULL, 0, 5, v4[i], 0);
		put_tcp(&f, 1111, 2222, 0x12);
		pad_to(&f, 70, l3);
		feed_key(e, &f, k4(v4[i], 0, 0, 0));
	}
	for (size_t i = 0; i < sizeof(v6); i++) {
		l3 = start6(&f, NULL, 0, v6[i]);
		put_tcp(&f, 1111, 2222, 0x12);
		pad_to(&f, 90, l3);
		feed_key(e, &f, k6(v6[i], 0, 0, 0));
	}
	collect(e);
	assert_int_equal(e->tally.n_sources, sizeof(v4) + sizeof(v6));
}

/* One ICMP or ICMPv6 frame of len bytes, type and code, in IPv4 or IPv6 (of
 * protocol proto, either one), fed and expected under dport. */
static void icmp_case(struct env *e, int version, __u8 proto, __u8 type, __u8 code, __u32 len,
		      __u16 dport)
{
	struct frame f;
	__u32 l3 = version == 4 ? start4(&f, NULL, 0, 5, proto, 0) : start6(&f, NULL, 0, proto);

	put_icmp(&f, type, code);
	pad_to(&f, len, l3);
	feed_key(e, &f, version == 4 ? k4(proto, 0, dport, 0) : k6(proto, 0, dport, 0));
}

/* ICMP and ICMPv6, in either IP version: sport 0, dport type << 8 | code
 * (echo request 0x0800, each code of destination unreachable apart). */
static void test_fields_icmp(void **state)
{
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	icmp_case(e, 4, ICMP, 8, 0, 98, 0x0800);
	icmp_case(e, 4, ICMP, 0, 0, 98, 0x0000);
	for (__u8 code = 0; code < 16; code++)
		icmp_case(e, 4, ICMP, 3, code, 70, 0x0300 | code);
	icmp_case(e, 4, ICMP, 11, 1, 70, 0x0b01);
	icmp_case(e, 6, ICMPV6, 128, 0, 118, 0x8000);
	icmp_case(e, 6, ICMPV6, 1, 4, 118, 0x0104);
	icmp_case(e, 6, ICMPV6, 135, 0, 86, 0x8700);
	/* Behind a hop-by-hop header (an MLDv2 report). */
	l3 = start6(&f, NULL, 0, HOPOPTS);
	put_ext(&f, ICMPV6, 0);
	put_icmp(&f, 143, 0);
	pad_to(&f, 90, l3);
	feed_key(e, &f, k6(ICMPV6, 0, 0x8f00, 0));
	/* Each in the other's IP version. */
	icmp_case(e, 4, ICMPV6, 129, 0, 70, 0x8100);
	icmp_case(e, 6, ICMP, 8, 0, 90, 0x0800);
	collect(e);
	assert_int_equal(e->tally.n_sources, 2 + 16 + 1 + 4 + 2);
}

/* IPv4 options move the L4 header to IHL * 4, for each IHL from 5 to 15.
 * A total length that ends inside the options, or where they end, leaves
 * the ports out; one that leaves 2 bytes of the L4 header, sport alone. */
static void test_fields_ipv4_options(void **state)
{
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (__u8 ihl = 5; ihl <= 15; ihl++) {
		l3 = start4(&f, NULL, 0, ihl, TCP, 0);
		put_tcp(&f, 1000 + ihl, 2000 + ihl, 0x18);
		pad_to(&f, 120, l3);
		feed_key(e, &f, k4(TCP, 1000 + ihl, 2000 + ihl, 0x18));
	}
	l3 = start4(&f, NULL, 0, 15, TCP, 0);
	put_tcp(&f, 3000, 4000, 0x18);
	pad_to(&f, 140, l3);
	set_ip_length(&f, l3, 40);	/* inside the options */
	feed_key(e, &f, k4(TCP, 0, 0, 0));
	set_ip_length(&f, l3, 60);	/* where they end */
	feed_key(e, &f, k4(TCP, 0, 0, 0));
	set_ip_length(&f, l3, 62);
	feed_key(e, &f, k4(TCP, 3000, 0, 0));
	collect(e);
	assert_int_equal(e->tally.n_sources, 11 + 2);
}

/* IPv6 extension headers from the fixed header on: n of types[] (a
 * fragment header with offset 0 and M set, the others lens[i]), the last
 * one's next header last; the fixed header's next header must be types[0]. */
static void put_chain(struct frame *f, int n, const __u8 *types, const __u8 *lens, __u8 last)
{
	for (int i = 0; i < n; i++) {
		__u8 nh = i + 1 < n ? types[i + 1] : last;

		if (types[i] == FRAGMENT)
			put_frag(f, nh, 0x0001);
		else
			put_ext(f, nh, lens[i]);
	}
}

/* Chains of 1 to 6 extension headers (hop-by-hop, routing, fragment,
 * destination options, in any order, of any length) are walked to the L4
 * header; after the 6th, proto is the next header's number (a 7th, an
 * 8th) and there are no ports. The L4 header of case i has ports 7000 + i
 * and 8000 + i. */
static void test_fields_ipv6_chains(void **state)
{
	static const struct {
		int n;
		__u8 types[8], lens[8];
		__u8 proto;	/* expected */
		__u16 sport, dport;
	} c[] = {
		{ 1, { HOPOPTS }, { 0 }, UDP, 7000, 8000 },
		{ 1, { ROUTING }, { 2 }, UDP, 7001, 8001 },
		{ 1, { FRAGMENT }, { 0 }, UDP, 7002, 8002 },
		{ 1, { DSTOPTS }, { 1 }, UDP, 7003, 8003 },
		{ 2, { HOPOPTS, DSTOPTS }, { 0, 0 }, UDP, 7004, 8004 },
		{ 3, { DSTOPTS, HOPOPTS, ROUTING }, { 1, 0, 4 }, UDP, 7005, 8005 },
		{ 4, { HOPOPTS, ROUTING, FRAGMENT, DSTOPTS }, { 0, 4, 0, 1 }, UDP, 7006, 8006 },
		{ 5, { HOPOPTS, DSTOPTS, ROUTING, FRAGMENT, DSTOPTS }, { 3, 0, 2, 0, 0 }, UDP, 7007,
		  8007 },
		{ 6, { HOPOPTS, ROUTING, DSTOPTS, FRAGMENT, DSTOPTS, DSTOPTS },
		  { 0, 255, 3, 0, 0, 20 }, UDP, 7008, 8008 },
		{ 6, { DSTOPTS, DSTOPTS, DSTOPTS, DSTOPTS, DSTOPTS, DSTOPTS },
		  { 0 }, UDP, 7009, 8009 },
		/* Past the bound. */
		{ 7, { HOPOPTS, ROUTING, DSTOPTS, FRAGMENT, DSTOPTS, ROUTING, DSTOPTS },
		  { 0 }, DSTOPTS, 0, 0 },
		{ 7, { DSTOPTS, DSTOPTS, DSTOPTS, DSTOPTS, DSTOPTS, DSTOPTS, FRAGMENT },
		  { 1, 1 }, FRAGMENT, 0, 0 },
		{ 8, { HOPOPTS, ROUTING, DSTOPTS, DSTOPTS, DSTOPTS, DSTOPTS, ROUTING, DSTOPTS },
		  { 0 }, ROUTING, 0, 0 },
	};
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		l3 = start6(&f, NULL, 0, c[i].types[0]);
		put_chain(&f, c[i].n, c[i].types, c[i].lens, UDP);
		put_tcp(&f, 7000 + i, 8000 + i, 0x12);
		pad_to(&f, f.len + 10, l3);
		feed_key(e, &f, k6(c[i].proto, c[i].sport, c[i].dport, 0));
	}
	/* TCP after 6 headers has its flags. */
	l3 = start6(&f, NULL, 0, ROUTING);
	put_chain(&f, 6, (const __u8[]){ ROUTING, HOPOPTS, FRAGMENT, DSTOPTS, ROUTING, HOPOPTS },
		  (const __u8[]){ 1, 0, 0, 2, 0, 1 }, TCP);
	put_tcp(&f, 7100, 8100, 0xc2);
	pad_to(&f, f.len, l3);
	feed_key(e, &f, k6(TCP, 7100, 8100, 0xc2));
	collect(e);
	assert_int_equal(e->tally.n_sources, ARRAY_SIZE(c) + 1);
}

/* The walk stops at any header but hop-by-hop, routing, fragment and
 * destination options: at ESP and AH (with TCP behind them, IPv6 and
 * IPv4), No Next Header, an unassigned one; proto is that header's number,
 * the ports 0. */
static void test_fields_ipv6_stop(void **state)
{
	static const __u8 stop[] = { ESP, AH, NONXT, 253 };
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (size_t i = 0; i < sizeof(stop); i++) {
		l3 = start6(&f, NULL, 0, stop[i]);
		put_ext(&f, TCP, 4);	/* an AH is one, with TCP behind it */
		put_tcp(&f, 5555, 6666, 0x12);
		pad_to(&f, f.len, l3);
		feed_key(e, &f, k6(stop[i], 0, 0, 0));
		l3 = start6(&f, NULL, 0, HOPOPTS);
		put_chain(&f, 2, (const __u8[]){ HOPOPTS, ROUTING }, (const __u8[]){ 0, 0 },
			  stop[i]);
		put_ext(&f, TCP, 4);
		put_tcp(&f, 5555, 6666, 0x12);
		pad_to(&f, f.len + 20, l3);
		feed_key(e, &f, k6(stop[i], 0, 0, 0));
	}
	l3 = start4(&f, NULL, 0, 5, AH, 0);
	put_ext(&f, TCP, 4);
	put_tcp(&f, 5555, 6666, 0x12);
	pad_to(&f, f.len, l3);
	feed_key(e, &f, k4(AH, 0, 0, 0));
	collect(e);
	assert_int_equal(e->tally.n_sources, sizeof(stop) + 1);
}

/* The walk reads a header only when its first 2 bytes are inside the
 * limit, else proto is that header's number: cut by the frame and by the
 * payload length, after 0, 1 and 2 bytes of a destination options header
 * (behind a hop-by-hop one) and of the first header. A fragment header of
 * a later fragment whose offset word is not inside is walked over: proto
 * its next header, with the L4 header past the limit. */
static void test_fields_ipv6_cut_in_chain(void **state)
{
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (__u32 n = 0; n <= 2; n++) {
		l3 = start6(&f, NULL, 0, HOPOPTS);
		put_chain(&f, 2, (const __u8[]){ HOPOPTS, DSTOPTS }, (const __u8[]){ 0, 0 }, UDP);
		put_tcp(&f, 9000, 9001, 0);
		pad_to(&f, 200, l3);
		set_ip_length(&f, l3, 8 + n);
		feed_key(e, &f, k6(n < 2 ? DSTOPTS : UDP, 0, 0, 0));
		set_ip_length(&f, l3, 200);	/* longer than the frame */
		f.len = l3 + 48 + n;
		feed_key(e, &f, k6(n < 2 ? DSTOPTS : UDP, 0, 0, 0));

		l3 = start6(&f, NULL, 0, ROUTING);
		put_ext(&f, UDP, 0);
		put_tcp(&f, 9000, 9001, 0);
		pad_to(&f, 200, l3);
		set_ip_length(&f, l3, n);
		feed_key(e, &f, k6(n < 2 ? ROUTING : UDP, 0, 0, 0));

		l3 = start6(&f, NULL, 0, FRAGMENT);
		put_frag(&f, TCP, 0x0008);	/* offset 1: a later fragment */
		put_tcp(&f, 9000, 9001, 0);
		pad_to(&f, 200, l3);
		set_ip_length(&f, l3, 2 + n);
		feed_key(e, &f, k6(TCP, 0, 0, 0));
	}
	collect(e);
	assert_int_equal(e->tally.n_sources, 4);
}

/* IPv4 fragments: offset 0 is the first fragment, with its L4 fields
 * whatever the flags (DF, MF, the reserved bit); any other offset is a
 * later one, counted under its protocol with ports and flags 0. */
static void test_fields_ipv4_fragments(void **state)
{
	static const struct {
		__u16 frag;
		__u16 sport, dport;	/* expected: the frame's are 3000 + i, 4000 + i */
		__u8 tcpflags;
	} c[] = {
		{ 0x0000, 3000, 4000, 0x02 },
		{ 0x4000, 3001, 4001, 0x02 },	/* DF */
		{ 0x2000, 3002, 4002, 0x02 },	/* MF: the first of several */
		{ 0x8000, 3003, 4003, 0x02 },	/* the reserved bit */
		{ 0xe000, 3004, 4004, 0x02 },
		{ 0x0001, 0, 0, 0 },		/* offset 8 bytes */
		{ 0x2001, 0, 0, 0 },
		{ 0x1000, 0, 0, 0 },
		{ 0x1fff, 0, 0, 0 },
		{ 0x4001, 0, 0, 0 },
		{ 0xffff, 0, 0, 0 },
	};
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		l3 = start4(&f, NULL, 0, 5, TCP, c[i].frag);
		put_tcp(&f, 3000 + i, 4000 + i, 0x02);
		pad_to(&f, 80 + i, l3);
		feed_key(e, &f, k4(TCP, c[i].sport, c[i].dport, c[i].tcpflags));
	}
	/* A later fragment of ICMP has no type and code either. */
	l3 = start4(&f, NULL, 0, 5, ICMP, 0x00b9);
	put_icmp(&f, 8, 0);
	pad_to(&f, 80, l3);
	feed_key(e, &f, k4(ICMP, 0, 0, 0));
	l3 = start4(&f, NULL, 0, 5, ICMP, 0x2000);
	put_icmp(&f, 8, 0);
	pad_to(&f, 80, l3);
	feed_key(e, &f, k4(ICMP, 0, 0x0800, 0));
	collect(e);
	assert_int_equal(e->tally.n_sources, 5 + 1 + 2);
}

/* IPv6 fragments: a fragment header with offset 0 (the M flag and the
 * reserved bits set or not) is walked over to the first fragment's L4
 * header; one with another offset is a later fragment: proto is its next
 * header (whatever it is: the walk ends there), ports and flags 0. */
static void test_fields_ipv6_fragments(void **state)
{
	static const struct {
		__u16 offset_word;
		__u16 sport, dport;	/* expected: the frame's are 3000 + i, 4000 + i */
		__u8 tcpflags;
	} c[] = {
		{ 0x0000, 3000, 4000, 0x02 },
		{ 0x0001, 3001, 4001, 0x02 },	/* M: the first of several */
		{ 0x0006, 3002, 4002, 0x02 },	/* the reserved bits */
		{ 0x0007, 3003, 4003, 0x02 },
		{ 0x0008, 0, 0, 0 },		/* offset 8 bytes */
		{ 0x0009, 0, 0, 0 },
		{ 0x0010, 0, 0, 0 },
		{ 0x8000, 0, 0, 0 },
		{ 0xfff8, 0, 0, 0 },
		{ 0xffff, 0, 0, 0 },
	};
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		l3 = start6(&f, NULL, 0, FRAGMENT);
		put_frag(&f, TCP, c[i].offset_word);
		put_tcp(&f, 3000 + i, 4000 + i, 0x02);
		pad_to(&f, 100 + i, l3);
		feed_key(e, &f, k6(TCP, c[i].sport, c[i].dport, c[i].tcpflags));
	}
	/* Behind other headers, first and later. */
	l3 = start6(&f, NULL, 0, HOPOPTS);
	put_chain(&f, 2, (const __u8[]){ HOPOPTS, ROUTING }, (const __u8[]){ 0, 1 }, FRAGMENT);
	put_frag(&f, UDP, 0x0001);
	put_tcp(&f, 3100, 4100, 0x02);
	pad_to(&f, f.len, l3);
	feed_key(e, &f, k6(UDP, 3100, 4100, 0));
	l3 = start6(&f, NULL, 0, HOPOPTS);
	put_chain(&f, 2, (const __u8[]){ HOPOPTS, ROUTING }, (const __u8[]){ 0, 1 }, FRAGMENT);
	put_frag(&f, UDP, 0x00a9);
	put_tcp(&f, 3100, 4100, 0x02);
	pad_to(&f, f.len, l3);
	feed_key(e, &f, k6(UDP, 0, 0, 0));
	/* A first fragment's destination options are walked; a later one's
	 * are not (its next header is the proto), nor is ICMPv6 read. */
	l3 = start6(&f, NULL, 0, FRAGMENT);
	put_frag(&f, DSTOPTS, 0x0001);
	put_ext(&f, UDP, 0);
	put_tcp(&f, 3200, 4200, 0x02);
	pad_to(&f, f.len, l3);
	feed_key(e, &f, k6(UDP, 3200, 4200, 0));
	l3 = start6(&f, NULL, 0, FRAGMENT);
	put_frag(&f, DSTOPTS, 0x0100);
	put_ext(&f, UDP, 0);
	put_tcp(&f, 3200, 4200, 0x02);
	pad_to(&f, f.len, l3);
	feed_key(e, &f, k6(DSTOPTS, 0, 0, 0));
	l3 = start6(&f, NULL, 0, FRAGMENT);
	put_frag(&f, ICMPV6, 0x0100);
	put_icmp(&f, 128, 0);
	pad_to(&f, 90, l3);
	feed_key(e, &f, k6(ICMPV6, 0, 0, 0));
	collect(e);
	assert_int_equal(e->tally.n_sources, 4 + 1 + 2 + 3);
}

/* Frames that end inside the L4 header, after each of its bytes 0 to 14,
 * while the IP length says it is all there: sport needs 2 bytes, dport 4,
 * ICMP's type and code 2, tcpflags 14. IPv4 with options and IPv6 behind
 * a destination options header: the count starts at the L4 header. */
static void test_fields_cut_by_frame(void **state)
{
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (__u32 n = 0; n <= 14; n++) {
		l3 = start4(&f, NULL, 0, 6, TCP, 0);
		put_tcp(&f, 0x1234, 0x5678, 0x3f);
		pad_to(&f, 100, l3);
		f.len = l3 + 24 + n;
		feed_key(e, &f, k4(TCP, n >= 2 ? 0x1234 : 0, n >= 4 ? 0x5678 : 0,
				   n >= 14 ? 0x3f : 0));
		l3 = start6(&f, NULL, 0, DSTOPTS);
		put_ext(&f, TCP, 0);
		put_tcp(&f, 0x1234, 0x5678, 0x3f);
		pad_to(&f, 120, l3);
		f.len = l3 + 48 + n;
		feed_key(e, &f, k6(TCP, n >= 2 ? 0x1234 : 0, n >= 4 ? 0x5678 : 0,
				   n >= 14 ? 0x3f : 0));
		l3 = start4(&f, NULL, 0, 5, UDP, 0);
		put_tcp(&f, 0x4321, 0x8765, 0x3f);
		pad_to(&f, 100, l3);
		f.len = l3 + 20 + n;
		feed_key(e, &f, k4(UDP, n >= 2 ? 0x4321 : 0, n >= 4 ? 0x8765 : 0, 0));
		l3 = start4(&f, NULL, 0, 5, ICMP, 0);
		put_icmp(&f, 3, 3);
		pad_to(&f, 100, l3);
		f.len = l3 + 20 + n;
		feed_key(e, &f, k4(ICMP, 0, n >= 2 ? 0x0303 : 0, 0));
		l3 = start6(&f, NULL, 0, ICMPV6);
		put_icmp(&f, 1, 4);
		pad_to(&f, 120, l3);
		f.len = l3 + 40 + n;
		feed_key(e, &f, k6(ICMPV6, 0, n >= 2 ? 0x0104 : 0, 0));
	}
	collect(e);
	/* TCP: none, sport, both, all three; UDP: 3; ICMP: 2 each. */
	assert_int_equal(e->tally.n_sources, 4 + 4 + 3 + 2 + 2);
}

/* The same cut by an IP length that ends inside the L4 header, the frame
 * going on past it (the rest of the header there: nothing past the limit
 * is read); and by lengths that end before the L4 header, or before the
 * IP header's own end. */
static void test_fields_cut_by_ip_length(void **state)
{
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (__u32 n = 0; n <= 14; n++) {
		l3 = start4(&f, NULL, 0, 7, TCP, 0);
		put_tcp(&f, 0x1234, 0x5678, 0x3f);
		pad_to(&f, 120, l3);
		set_ip_length(&f, l3, 28 + n);
		feed_key(e, &f, k4(TCP, n >= 2 ? 0x1234 : 0, n >= 4 ? 0x5678 : 0,
				   n >= 14 ? 0x3f : 0));
		l3 = start6(&f, NULL, 0, HOPOPTS);
		put_ext(&f, TCP, 1);
		put_tcp(&f, 0x1234, 0x5678, 0x3f);
		pad_to(&f, 140, l3);
		set_ip_length(&f, l3, 16 + n);
		feed_key(e, &f, k6(TCP, n >= 2 ? 0x1234 : 0, n >= 4 ? 0x5678 : 0,
				   n >= 14 ? 0x3f : 0));
		l3 = start4(&f, NULL, 0, 5, SCTP, 0);
		put_tcp(&f, 0x4321, 0x8765, 0x3f);
		pad_to(&f, 100, l3);
		set_ip_length(&f, l3, 20 + n);
		feed_key(e, &f, k4(SCTP, n >= 2 ? 0x4321 : 0, n >= 4 ? 0x8765 : 0, 0));
		l3 = start6(&f, NULL, 0, ICMP);
		put_icmp(&f, 3, 1);
		pad_to(&f, 100, l3);
		set_ip_length(&f, l3, n);
		feed_key(e, &f, k6(ICMP, 0, n >= 2 ? 0x0301 : 0, 0));
	}
	/* Before the L4 header: in the IPv4 header, or 0. */
	for (__u16 len = 0; len < 28; len += 9) {
		l3 = start4(&f, NULL, 0, 7, TCP, 0);
		put_tcp(&f, 0x1234, 0x5678, 0x3f);
		pad_to(&f, 120, l3);
		set_ip_length(&f, l3, len);
		feed_key(e, &f, k4(TCP, 0, 0, 0));
	}
	collect(e);
	/* TCP: none, sport, both, all three, each family; SCTP 3; ICMP 2. */
	assert_int_equal(e->tally.n_sources, 4 + 4 + 3 + 2);
}

/* tcpflags is byte 13 of the TCP header: each flag, and combinations of
 * them; byte 12 (the data offset, here 15 words) is not part of it. */
static void test_fields_tcpflags(void **state)
{
	static const __u8 flags[] = { 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80,
				      0x11, 0x12, 0x14, 0x18, 0x19, 0xc2, 0xff };
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	struct frame f;
	__u32 l3;

	for (size_t i = 0; i < sizeof(flags); i++) {
		l3 = start4(&f, NULL, 0, 5, TCP, 0);
		put_tcp(&f, 50000, 80, flags[i]);
		f.buf[l3 + 20 + 12] = 0xf0;
		pad_to(&f, 100, l3);
		feed_key(e, &f, k4(TCP, 50000, 80, flags[i]));
		l3 = start6(&f, NULL, 0, TCP);
		put_tcp(&f, 50000, 80, flags[i]);
		pad_to(&f, 80, l3);
		feed_key(e, &f, k6(TCP, 50000, 80, flags[i]));
	}
	collect(e);
	assert_int_equal(e->tally.n_sources, 2 * sizeof(flags));
}

/* The meta bits of VLAN ids 100 (and 101 inside it): put_l2()'s tags. */
#define VLAN_100 (1U << XDPTOP_META_NVLANS_SHIFT | 100U << XDPTOP_META_VLAN0_SHIFT)
#define VLAN_100_101 \
	(2U << XDPTOP_META_NVLANS_SHIFT | 100U << XDPTOP_META_VLAN0_SHIFT | \
	 101U << XDPTOP_META_VLAN1_SHIFT)

/* Frames behind one tag and two, their keys' VLAN bits one and two. */
static void feed_tagged(struct env *e, __u32 one, __u32 two)
{
	struct frame f;
	__u32 l3;

	l3 = start4(&f, TAG_8021Q, 1, 5, TCP, 0);
	put_tcp(&f, 1111, 22, 0x02);
	pad_to(&f, 80, l3);
	feed_key(e, &f, tagged(k4(TCP, 1111, 22, 0x02), one));
	l3 = start4(&f, TAGS_QINQ, 2, 6, TCP, 0);
	put_tcp(&f, 1112, 22, 0x10);
	pad_to(&f, 90, l3);
	feed_key(e, &f, tagged(k4(TCP, 1112, 22, 0x10), two));
	l3 = start4(&f, TAGS_QINQ, 2, 5, ICMP, 0);
	put_icmp(&f, 8, 0);
	pad_to(&f, 90, l3);
	feed_key(e, &f, tagged(k4(ICMP, 0, 0x0800, 0), two));
	/* The IP length counts from the IP header, not the frame's start. */
	l3 = start4(&f, TAGS_QINQ, 2, 5, TCP, 0);
	put_tcp(&f, 1113, 22, 0x10);
	pad_to(&f, 120, l3);
	set_ip_length(&f, l3, 23);
	feed_key(e, &f, tagged(k4(TCP, 1113, 0, 0), two));
	l3 = start6(&f, TAG_8021AD, 1, HOPOPTS);
	put_ext(&f, UDP, 0);
	put_tcp(&f, 546, 547, 0x02);
	pad_to(&f, 110, l3);
	feed_key(e, &f, tagged(k6(UDP, 546, 547, 0), one));
	l3 = start6(&f, TAGS_QINQ, 2, TCP);
	put_tcp(&f, 1114, 22, 0x18);
	pad_to(&f, 120, l3);
	f.len = l3 + 40 + 13;
	feed_key(e, &f, tagged(k6(TCP, 1114, 22, 0), two));
	l3 = start6(&f, TAGS_QINQ, 2, TCP);
	put_tcp(&f, 1114, 22, 0x18);
	pad_to(&f, 140, l3);
	set_ip_length(&f, l3, 14);
	feed_key(e, &f, tagged(k6(TCP, 1114, 22, 0x18), two));
}

/* Behind one tag and two (QinQ) the L4 header moves with the IP header,
 * and so does the IP length's limit; with --vlan the keys hold the VLAN
 * ids too, without it the family alone. */
static void test_fields_vlan(void **state)
{
	struct env *e = env_fields(state, WIDE_FIELDS, true);

	feed_tagged(e, VLAN_100, VLAN_100_101);
	collect(e);
	assert_int_equal(e->tally.n_sources, 7);
	env_teardown(state);
	e = env_fields(state, WIDE_FIELDS, false);
	feed_tagged(e, 0, 0);
	collect(e);
	assert_int_equal(e->tally.n_sources, 7);
}

/* Keys of a few fields, or one, hold those alone: the others are 0, the
 * addresses too, and the family stays (IPv4 and IPv6 to port 443 are two
 * keys). The frames: IPv4 TCP 40000 -> 443 SYN-ACK, IPv6 TCP 40001 -> 443
 * SYN, IPv4 UDP 53 -> 443, IPv4 ICMP echo, a later IPv4 fragment of TCP. */
static void test_fields_narrow(void **state)
{
	static const struct {
		__u32 fields;
		struct xdptop_key keys[5];	/* each frame's */
		int distinct;
	} c[] = {
		{ XDPTOP_FIELD_DPORT,
		  { { .meta = V4, .dport = 443 }, { .meta = V6, .dport = 443 },
		    { .meta = V4, .dport = 443 }, { .meta = V4, .dport = 0x0800 }, { .meta = V4 } },
		  4 },
		{ XDPTOP_FIELD_SPORT,
		  { { .meta = V4, .sport = 40000 }, { .meta = V6, .sport = 40001 },
		    { .meta = V4, .sport = 53 }, { .meta = V4 }, { .meta = V4 } },
		  4 },
		{ XDPTOP_FIELD_PROTO,
		  { { .meta = V4, .proto = TCP }, { .meta = V6, .proto = TCP },
		    { .meta = V4, .proto = UDP }, { .meta = V4, .proto = ICMP },
		    { .meta = V4, .proto = TCP } },
		  4 },
		{ XDPTOP_FIELD_TCPFLAGS,
		  { { .meta = V4, .tcpflags = 0x12 }, { .meta = V6, .tcpflags = 0x02 },
		    { .meta = V4 }, { .meta = V4 }, { .meta = V4 } },
		  3 },
		{ XDPTOP_FIELD_PROTO | XDPTOP_FIELD_DPORT,
		  { { .meta = V4, .proto = TCP, .dport = 443 },
		    { .meta = V6, .proto = TCP, .dport = 443 },
		    { .meta = V4, .proto = UDP, .dport = 443 },
		    { .meta = V4, .proto = ICMP, .dport = 0x0800 }, { .meta = V4, .proto = TCP } },
		  5 },
	};
	static struct frame f[5];
	__u32 l3;

	l3 = start4(&f[0], NULL, 0, 5, TCP, 0);
	put_tcp(&f[0], 40000, 443, 0x12);
	pad_to(&f[0], 80, l3);
	l3 = start6(&f[1], NULL, 0, TCP);
	put_tcp(&f[1], 40001, 443, 0x02);
	pad_to(&f[1], 90, l3);
	l3 = start4(&f[2], NULL, 0, 5, UDP, 0);
	put_tcp(&f[2], 53, 443, 0x12);
	pad_to(&f[2], 100, l3);
	l3 = start4(&f[3], NULL, 0, 5, ICMP, 0);
	put_icmp(&f[3], 8, 0);
	pad_to(&f[3], 110, l3);
	l3 = start4(&f[4], NULL, 0, 5, TCP, 0x0010);
	put_tcp(&f[4], 40000, 443, 0x12);
	pad_to(&f[4], 120, l3);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct env *e = env_fields(state, c[i].fields, false);

		for (int j = 0; j < 5; j++)
			feed_key(e, &f[j], c[i].keys[j]);
		collect(e);
		assert_int_equal(e->tally.n_sources, c[i].distinct);
		env_teardown(state);
	}
}

/* Runs f through the multi-buffer program alone (a frame longer than a
 * page: the single-buffer one refuses it) and expects it under k. */
static void feed_frags_key(struct env *e, const struct frame *f, struct xdptop_key k)
{
	run(e, e->prog_frags, f, 1);
	expect_key(e, &k, 1, f->len);
}

/* Jumbo frames through the multi-buffer program: the fields are read
 * wherever they are, also past the frame's first buffer (BPF_PROG_TEST_RUN
 * puts at most a page less headroom and tailroom there, 3,520 bytes): the
 * TCP header 4,150 bytes in, behind two IPv6 extension headers of 2 KB,
 * and cut there by the IP length. */
static void test_fields_jumbo(void **state)
{
	struct env *e = env_fields(state, WIDE_FIELDS, false);
	static struct frame f;
	__u32 l3;

	l3 = start4(&f, NULL, 0, 5, TCP, 0);
	put_tcp(&f, 2049, 2050, 0x18);
	pad_to(&f, JUMBO, l3);
	feed_frags_key(e, &f, k4(TCP, 2049, 2050, 0x18));
	l3 = start6(&f, NULL, 0, HOPOPTS);
	put_chain(&f, 2, (const __u8[]){ HOPOPTS, DSTOPTS }, (const __u8[]){ 255, 255 }, TCP);
	put_tcp(&f, 2051, 2052, 0x18);
	pad_to(&f, JUMBO, l3);
	feed_frags_key(e, &f, k6(TCP, 2051, 2052, 0x18));
	set_ip_length(&f, l3, 4096 + 3);
	feed_frags_key(e, &f, k6(TCP, 2051, 0, 0));
	collect(e);
	assert_int_equal(e->tally.n_sources, 3);
}

/* ---- a reader running while frames are counted ----------------------------- */

/* 20 rounds of 10,000 frames: 9,500 one per call, frames in turn, then one
 * call that repeats a frame 500 times in the kernel (a flip may land in the
 * middle of it). The writer moves to the next CPU every 1,000 calls. */
enum {
	WRITER_ROUNDS = 20,
	WRITER_SINGLE = 9500,
	WRITER_REPEAT = 500,
	WRITER_MIGRATE = 1000,
	WRITER_FRAMES = 5,
};

struct writer {
	pthread_t thread;
	int prog;
	struct frame frames[WRITER_FRAMES];
	struct frame out;
	__u64 ran[WRITER_FRAMES];	/* frames run of each; read after join */
	__u64 started, done;	/* frames; atomic */
	__u32 drains;		/* the reader's drains so far; atomic */
	int stop, finished;	/* atomic */
	int err, retval, migrate_err;	/* the first failure; read after join */
};

static int writer_run(struct writer *w, int i, __u32 repeat)
{
	const struct frame *f = &w->frames[i];
	__u32 retval = 0;
	int err;

	__atomic_add_fetch(&w->started, repeat, __ATOMIC_SEQ_CST);
	err = test_run(w->prog, f, repeat, &w->out, &retval);
	if (err || retval != XDP_PASS || w->out.len != f->len) {
		w->err = err ?: -1;
		w->retval = retval;
		return -1;
	}
	w->ran[i] += repeat;
	__atomic_add_fetch(&w->done, repeat, __ATOMIC_SEQ_CST);
	return 0;
}

/* Each round waits for the reader's next drain first, so that drains and
 * writes overlap all along. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int cpus[CPU_SETSIZE], n_cpus = 0, next_cpu = 0;
	__u32 calls = 0;

	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all_cpus))
			cpus[n_cpus++] = c;
	for (__u32 round = 0; round < WRITER_ROUNDS; round++) {
		while (__atomic_load_n(&w->drains, __ATOMIC_ACQUIRE) < round &&
		       !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			sched_yield();
		for (__u32 k = 0; k < WRITER_SINGLE + 1; k++, calls++) {
			if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
				goto out;
			if (calls % WRITER_MIGRATE == 0) {
				cpu_set_t one;
				int err;

				CPU_ZERO(&one);
				CPU_SET(cpus[next_cpu++ % n_cpus], &one);
				err = pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
				if (err && !w->migrate_err)
					w->migrate_err = err;
			}
			if (k < WRITER_SINGLE ? writer_run(w, k % WRITER_FRAMES, 1)
					      : writer_run(w, round % WRITER_FRAMES, WRITER_REPEAT))
				goto out;
		}
	}
out:
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void writer_stop(struct writer *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_join(w->thread, NULL);
}

/* ---- fuzzing: random and mutated frames against a model of the rule ------ */

#define FUZZ_FRAMES 1000000
#define FUZZ_POOL 16	/* sources per family: the keys stay few, the counts exact */

#define FUZZ_SEED 0x9e3779b97f4a7c15ULL

static __u64 fuzz_state;	/* each fuzz starts from FUZZ_SEED */

static __u64 fuzz_next(void)	/* xorshift64: the same frames every run */
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return fuzz_state;
}

static __u16 fuzz_ethertype(void)
{
	static const __u16 types[] = { ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q, ETH_P_8021AD, ETH_P_ARP };
	__u64 r = fuzz_next();

	return r % 8 < 5 ? types[r % 5] : (__u16)(r >> 16);
}

/* The rule, written again from the README for the test alone: up to two
 * tags of 0x8100 or 0x88A8; 0x0800 with 20 bytes left, version 4 and IHL
 * >= 5; 0x86DD with 40 bytes left and version 6; else other. Returns
 * whether f has a source, written to s, its IP header at *l3. */
static bool fuzz_model(const struct frame *f, struct src *s, __u32 *l3)
{
	const __u8 *b = f->buf;
	__u32 off = 14, type = (__u32)b[12] << 8 | b[13];

	for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
		if (off + 4 > f->len)
			break;
		type = (__u32)b[off + 2] << 8 | b[off + 3];
		off += 4;
	}
	*s = (struct src){};
	*l3 = off;
	if (type == 0x0800 && f->len - off >= 20 && b[off] >> 4 == 4 && (b[off] & 15) >= 5) {
		s->family = XDPTOP_FAMILY_IPV4;
		memcpy(s->addr, b + off + 12, 4);
		return true;
	}
	if (type == 0x86dd && f->len - off >= 40 && b[off] >> 4 == 6) {
		s->family = XDPTOP_FAMILY_IPV6;
		memcpy(s->addr, b + off + 8, 16);
		return true;
	}
	return false;
}

/* Random bytes shaped like frames: an ethertype (often IP or a tag), up to
 * three tags, an IP first byte of any version and IHL, a source from a
 * small pool where one would be, lengths that cut any header anywhere. */
static void fuzz_frame(struct frame *f)
{
	static const __u8 first[] = { 0x45, 0x46, 0x4f, 0x44, 0x40, 0x60, 0x6f, 0x65, 0x55 };
	__u32 off = 12, len = 14 + fuzz_next() % 100;
	__u64 pick = fuzz_next();

	f->len = len;
	for (__u32 i = 0; i < len; i++)
		f->buf[i] = (__u8)fuzz_next();
	for (int tags = 0; tags < 4 && off + 2 <= len; tags++, off += 4) {
		__u16 type = fuzz_ethertype();

		f->buf[off] = type >> 8;
		f->buf[off + 1] = type & 0xff;
		if (type != ETH_P_8021Q && type != ETH_P_8021AD)
			break;
	}
	off += 2;				/* the network header's first byte */
	if (off < len)
		f->buf[off] = first[pick % sizeof(first)];
	pick /= sizeof(first);
	if (off + 16 <= len)			/* an IPv4 source */
		memcpy(f->buf + off + 12, &(__u32){ htonl(IP4(198, 18, 0, pick % FUZZ_POOL)) }, 4);
	if (off + 24 <= len) {			/* an IPv6 source */
		__u32 words[4] = { htonl(0x20010db8), 0, 0, htonl(pick / 16 % FUZZ_POOL) };

		memcpy(f->buf + off + 8, words, 16);
	}
}

/* A million random and mutated frames through both programs: every verdict
 * XDP_PASS with the frame unchanged (try_run), every count exact against
 * the model above, collected every 100,000 frames. */
static void test_fuzz_frames(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	static struct frame f;

	fuzz_state = FUZZ_SEED;
	for (__u32 i = 1; i <= FUZZ_FRAMES; i++) {
		struct src s;
		__u32 l3;
		bool has = (fuzz_frame(&f), fuzz_model(&f, &s, &l3));

		run(e, i & 1 ? e->prog : e->prog_frags, &f, 1);
		expect(e, has ? &s : NULL, 1, f.len);
		if (i % 100000 == 0)
			collect(e);
	}
	assert_true(e->m.n > FUZZ_POOL);		/* both families were reached */
	assert_true(e->m.other.packets > FUZZ_FRAMES / 4);
}


/* ---- fuzzing the key fields ----------------------------------------------- */

/* Bytes a fuzzed frame stays under: the single-buffer program takes a page
 * less XDP's headroom and tailroom, 3,520. */
#define FIELDS_FUZZ_CAP 3300

/* The L4 fields' values come from small pools, so that the keys stay about
 * a thousand and every count is exact: ports (also ICMP's type and code,
 * the same bytes), TCP flags, protocols (of each class of the rules, and
 * IPv6's extension headers: the L4 header is then read as one). */
static const __u16 FUZZ_SPORTS[] = { 0x0035, 0x01bb, 0xc001 };
static const __u16 FUZZ_DPORTS[] = { 0x0050, 0x0800, 0xffff };
static const __u8 FUZZ_FLAGS[] = { 0x02, 0x12, 0x10, 0x11 };
static const __u8 FUZZ_PROTOS[] = { ICMP, TCP, UDP, DCCP, ICMPV6, SCTP, UDPLITE, ESP, AH, NONXT,
				    47, HOPOPTS, ROUTING, FRAGMENT, DSTOPTS };
static const __u8 FUZZ_EXTS[] = { HOPOPTS, ROUTING, FRAGMENT, DSTOPTS };
/* IPv4's flags and offset word, IPv6's fragment offset word: first and
 * later fragments, and the bits around the offset. */
static const __u16 FUZZ_FRAG4[] = { 0x0001, 0x2000, 0x2001, 0x1000, 0x1fff, 0x8000, 0xe000 };
static const __u16 FUZZ_FRAG6[] = { 0x0000, 0x0001, 0x0006, 0x0008, 0x0009, 0xfff8, 0x8000 };

#define PICK(pool) ((pool)[fuzz_next() % ARRAY_SIZE(pool)])

/* n random bytes. */
static void put_random(struct frame *f, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		put8(f, (__u8)fuzz_next());
}

/* An IPv4 header of any IHL (random options) and fragment word, its
 * source from a pool of 2, protocol proto. */
static void fuzz_ipv4_header(struct frame *f, __u8 proto)
{
	__u64 r = fuzz_next();
	__u8 ihl = r % 2 ? 5 : 5 + (r >> 1) % 11;
	__u16 frag = r % 3 ? (r >> 8) % 2 * 0x4000 : PICK(FUZZ_FRAG4);
	const __u8 saddr[4] = { 198, 18, 0, (r >> 16) % 2 };

	put8(f, 0x40 | ihl);
	put8(f, 0);
	put16(f, 0);		/* total length: set at the end */
	put16(f, (__u16)r);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put(f, saddr, 4);
	put(f, DADDR4, 4);
	put_random(f, ihl * 4 - 20);
}

/* An IPv6 header, its source from a pool of 2, then up to 9 extension
 * headers (past the bound of 6), of random lengths (mostly short: a long
 * one only while the frame stays under FIELDS_FUZZ_CAP), the last one's
 * next header proto. */
static void fuzz_ipv6_header(struct frame *f, __u8 proto)
{
	__u64 r = fuzz_next();
	int n = r % 10;
	__u8 saddr[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = (r >> 8) % 2 };
	__u8 types[9];

	for (int i = 0; i < n; i++)
		types[i] = PICK(FUZZ_EXTS);
	put32(f, 6U << 28);
	put16(f, 0);		/* payload length: set at the end */
	put8(f, n ? types[0] : proto);
	put8(f, 64);
	put(f, saddr, 16);
	put(f, DADDR6, 16);
	for (int i = 0; i < n; i++) {
		__u8 nh = i + 1 < n ? types[i + 1] : proto;
		__u64 len = fuzz_next();

		len = len % 16 ? len % 4 : (len >> 4) % 256;
		if (f->len + (len + 1) * 8 > FIELDS_FUZZ_CAP - 64)	/* 64: the L4 header's room */
			len = 0;
		if (types[i] == FRAGMENT) {
			put_frag(f, nh, PICK(FUZZ_FRAG6));
		} else {
			put8(f, nh);
			put8(f, len);
			put_random(f, (len + 1) * 8 - 2);
		}
	}
}

/* A frame shaped to meet the rules of the L4 fields: up to two tags, an
 * IPv4 or IPv6 header as above, an L4 header of 20 bytes whose ports and
 * flags come from the pools (the rest random), random payload; then an IP
 * length that is right, or lies short or long (or is random), and a frame
 * often cut short, mostly around the L4 header. */
static void fuzz_fields_frame(struct frame *f)
{
	__u64 r = fuzz_next();
	int tags = r % 4 < 2 ? 0 : r % 4 - 1;
	bool v6 = r >> 2 & 1;
	__u8 proto = r >> 3 & 7 ? PICK(FUZZ_PROTOS) : (__u8)(r >> 8);
	__u32 l3, l4, real;

	put_l2(f, TAGS_QINQ, tags, v6 ? ETH_P_IPV6 : ETH_P_IP);
	l3 = f->len;
	if (v6)
		fuzz_ipv6_header(f, proto);
	else
		fuzz_ipv4_header(f, proto);
	l4 = f->len;
	put16(f, PICK(FUZZ_SPORTS));
	put16(f, PICK(FUZZ_DPORTS));
	put_random(f, 9);
	put8(f, PICK(FUZZ_FLAGS));
	put_random(f, 6 + fuzz_next() % 32);
	real = f->len - l3 - (v6 ? 40 : 0);
	r = fuzz_next();
	switch (r % 8) {
	case 5:
		real = real > r / 8 % 24 ? real - r / 8 % 24 : 0;
		break;
	case 6:
		real += r / 8 % 24;
		break;
	case 7:
		real = r / 8;
		break;
	}
	set_ip_length(f, l3, (__u16)real);
	r = fuzz_next();
	if (r % 4 == 0)
		f->len = l4 - 6 + r / 4 % 24 < f->len ? l4 - 6 + r / 4 % 24 : f->len;
	else if (r % 8 == 1)
		f->len = l3 + r / 8 % (f->len - l3);
}

/* What the field model met in a frame (fuzz_fields_model()). */
enum fuzz_case {
	FZ_PORTS,	/* ports read, both */
	FZ_ICMP,	/* ICMP's type and code read */
	FZ_ICMPV6,
	FZ_FLAGS,	/* TCP's flags read */
	FZ_NO_PORTS,	/* a protocol without L4 fields */
	FZ_CUT,		/* the limit inside the first 14 bytes of an L4 header */
	FZ_LENGTH,	/* the limit set by the IP length, before the frame's end */
	FZ_OPTIONS,	/* IPv4 options before ports */
	FZ_LATER4,	/* a later fragment */
	FZ_LATER6,
	FZ_CHAIN6,	/* 6 extension headers walked, then ports */
	FZ_BOUND,	/* 6 walked, the next one too: past the bound */
	FZ_EXT_CUT,	/* an extension header with less than 2 bytes inside */
	FZ_STOP,	/* the walk stopped at ESP or AH after a header */
	FZ_CASES
};

static __u32 be16_at(const __u8 *p)
{
	return (__u32)p[0] << 8 | p[1];
}

/* The IPv6 header types the walk goes over. */
static bool fuzz_is_ext(__u32 nh)
{
	return nh == HOPOPTS || nh == ROUTING || nh == FRAGMENT || nh == DSTOPTS;
}

/* The rules of the L4 fields, written again from the README for the fuzz
 * alone (no code shared with parse.bpf.h): the limit; the protocol,
 * IPv6's past up to 6 extension headers; later fragments; then ports,
 * ICMP's type and code and TCP's flags, each if its bytes are inside the
 * limit. The IP header of f starts at l3; k holds its family and
 * addresses. Adds 1 << FZ_* to cases for each case met. */
static void fuzz_fields_model(const struct frame *f, __u32 l3, struct xdptop_key *k,
			      __u32 *cases)
{
	const __u8 *b = f->buf;
	bool v6 = k->meta == XDPTOP_FAMILY_IPV6, later = false;
	__u32 end = v6 ? l3 + 40 + be16_at(b + l3 + 4) : l3 + be16_at(b + l3 + 2);
	__u32 limit = end < f->len ? end : f->len;
	__u32 nh = v6 ? b[l3 + 6] : b[l3 + 9], l4 = v6 ? l3 + 40 : l3 + (b[l3] & 15) * 4;
	int walked = 0;

	if (!v6)
		later = be16_at(b + l3 + 6) & 0x1fff;
	for (; v6 && walked < 6 && fuzz_is_ext(nh) && !later; walked++) {
		__u32 next;

		if (l4 + 2 > limit) {
			*cases |= 1 << FZ_EXT_CUT;
			break;
		}
		next = b[l4];
		if (nh == FRAGMENT)
			later = l4 + 4 <= limit && (be16_at(b + l4 + 2) & 0xfff8);
		l4 += nh == FRAGMENT ? 8 : (b[l4 + 1] + 1) * 8;
		nh = next;
	}
	*cases |= walked == 6 && !later && fuzz_is_ext(nh) ? 1 << FZ_BOUND : 0;
	*cases |= walked && (nh == ESP || nh == AH) ? 1 << FZ_STOP : 0;
	*cases |= limit < f->len ? 1 << FZ_LENGTH : 0;
	k->proto = nh;
	if (later) {
		*cases |= 1 << (v6 ? FZ_LATER6 : FZ_LATER4);
		return;
	}
	if (nh == TCP || nh == UDP || nh == UDPLITE || nh == SCTP || nh == DCCP) {
		if (l4 + 2 <= limit)
			k->sport = be16_at(b + l4);
		if (l4 + 4 <= limit) {
			k->dport = be16_at(b + l4 + 2);
			*cases |= 1 << FZ_PORTS | (walked == 6) << FZ_CHAIN6 |
				  (!v6 && l4 > l3 + 20) << FZ_OPTIONS;
		}
	} else if (nh == ICMP || nh == ICMPV6) {
		if (l4 + 2 <= limit) {
			k->dport = be16_at(b + l4);
			*cases |= 1 << (nh == ICMP ? FZ_ICMP : FZ_ICMPV6);
		}
	} else {
		*cases |= 1 << FZ_NO_PORTS;
		return;
	}
	if (nh == TCP && l4 + 14 <= limit) {
		k->tcpflags = b[l4 + 13];
		*cases |= 1 << FZ_FLAGS;
	}
	*cases |= l4 < limit && limit < l4 + 14 ? 1 << FZ_CUT : 0;
}

/* The wide key of f: its family and addresses by the address rule
 * (fuzz_model()), then the fields. Returns whether f has one. */
static bool fuzz_fields_key(const struct frame *f, struct xdptop_key *k, __u32 *cases)
{
	struct src s;
	__u32 l3;

	*k = (struct xdptop_key){};
	if (!fuzz_model(f, &s, &l3))
		return false;
	k->meta = s.family;
	memcpy(k->src, s.addr, 16);
	if (s.family == XDPTOP_FAMILY_IPV4)
		memcpy(k->dst, f->buf + l3 + 16, 4);
	else
		memcpy(k->dst, f->buf + l3 + 24, 16);
	fuzz_fields_model(f, l3, k, cases);
	return true;
}

/* A million frames shaped by fuzz_fields_frame() through both programs,
 * keyed by every field: each frame's key predicted by the model above,
 * every count exact, collected every 100,000 frames; each case of the
 * rules met many times. */
static void test_fields_fuzz(void **state)
{
	struct env *e = env_open_key(state, 8192, 8192,
				     &(struct key_spec){ .fields = WIDE_FIELDS, .prefix4 = 32,
							 .prefix6 = 128 });
	static struct frame f;
	__u32 met[FZ_CASES] = { 0 };

	fuzz_state = FUZZ_SEED;
	for (__u32 i = 1; i <= FUZZ_FRAMES; i++) {
		struct xdptop_key k;
		__u32 cases = 0;

		fuzz_fields_frame(&f);
		run(e, i & 1 ? e->prog : e->prog_frags, &f, 1);
		if (fuzz_fields_key(&f, &k, &cases))
			expect_key(e, &k, 1, f.len);
		else
			add(&e->m.other, 1, f.len);
		for (int c = 0; c < FZ_CASES; c++)
			met[c] += cases >> c & 1;
		if (i % 100000 == 0)
			collect(e);
	}
	for (int c = 0; c < FZ_CASES; c++) {
		if (met[c] < 1000)
			print_error("case %d met %u times\n", c, met[c]);
		assert_true(met[c] >= 1000);
	}
	print_message("%d keys\n", e->m.n);
}

/* Where an agent can die within a round of --pin (ledger.h's protocol). */
enum crash_point {
	BEFORE_FLIP, AFTER_FLIP, AFTER_GRACE, AFTER_DRAIN, AFTER_INTERVAL_END, MID_COMMIT,
	AFTER_COMMIT, MID_CLEAR, AFTER_CLEAR, AFTER_NEXT_FLIP, CRASH_POINTS
};

/* Garbage in the image not committed: a commit cut short. */
static void scribble_uncommitted(struct ledger *l)
{
	struct tally_saved saved;
	__u32 flips;
	__u64 cut_ns;
	int other;

	ledger_committed(l, 0, &saved, &flips, &cut_ns);
	other = (const void *)saved.entries > (const void *)l->image[1] ? 0 : 1;
	memset(l->image[other], 0xa5, 4096);
}

/* One round of the agent with a ledger, cut short at `crash` (the
 * agent's death: its tally is lost, the maps and the ledger stay).
 * Returns whether it died. */
/* What a clear cut short leaves of epoch: the first half (rounded up) of
 * the slots this CPU logged in its region cleared, as table_clear() begins,
 * and everything else as it was, the counts that say what to clear too. */
static void clear_cut_short(struct env *e, __u32 epoch)
{
	const struct table_size *z = &e->t.size;
	const __u64 *log = region_log_of(e, epoch, e->cpu);
	struct xdptop_slot *all = epoch_slots(e, epoch);

	assert_true(log[0] >= 1 && log[0] <= z->region_log_len);
	for (__u64 i = 0; i < (log[0] + 1) / 2; i++)
		memset(&all[log[1 + i]], 0, sizeof(*all));
	assert_true(claimed_by(e, epoch, e->cpu) >= 1);
}

static bool pinned_round(struct env *e, struct ledger *l, enum crash_point crash)
{
	__u32 retired;

	if (crash == BEFORE_FLIP)
		return true;
	retired = table_flip(&e->t);
	if (crash == AFTER_FLIP)
		return true;
	assert_int_equal(table_grace_period(), 0);
	if (crash == AFTER_GRACE)
		return true;
	tally_cut(&e->tally, ++e->intervals);
	table_drain(&e->t, retired, &e->tally);
	if (crash == AFTER_DRAIN)
		return true;
	tally_end_interval(&e->tally);
	if (crash == AFTER_INTERVAL_END)
		return true;
	if (crash == MID_COMMIT) {
		scribble_uncommitted(l);
		return true;
	}
	ledger_commit(l, &e->tally, table_flips(&e->t), e->intervals * 1000000000ULL, 0);
	if (crash == AFTER_COMMIT)
		return true;
	if (crash == MID_CLEAR) {
		clear_cut_short(e, retired);
		return true;
	}
	table_clear(&e->t, retired);
	if (crash == AFTER_CLEAR)
		return true;
	if (crash == AFTER_NEXT_FLIP) {	/* the next round's first step */
		table_flip(&e->t);
		return true;
	}
	return false;
}

/* kill -9 at every point of a round: the next agent (a fresh tally that
 * recovers from the ledger) neither loses nor doubles a frame, whatever
 * was fed before, during and after. */
static void test_ledger_crash_points(void **state)
{
	for (int crash = 0; crash < CRASH_POINTS; crash++) {
		struct env *e = env_open(state, 1024, 1024);
		struct ledger_identity id;
		struct ledger l;
		struct src s[4];
		struct frame f;

		for (int i = 0; i < 4; i++)
			s[i] = candidate(7000 + i);
		ledger_identity(&id, &e->a.size, 1024, &e->key, true,
				(const struct iface_arg[]){ { .kernel_name = "v1", .ifindex = 1 } });
		assert_int_equal(ledger_create(&l, &id), 0);
		assert_int_equal(ledger_recover(&l, &e->t, &e->tally, 0), 0);
		for (int round = 0; round < 3; round++) {
			frame_plain(&f, &s[round], 100 + round);
			feed(e, &f, 2 + round, &s[round]);
			frame_arp(&f, NULL, 0, 60);
			feed(e, &f, 1, NULL);
			assert_false(pinned_round(e, &l, CRASH_POINTS));
		}
		frame_plain(&f, &s[3], 300);
		feed(e, &f, 3, &s[3]);
		assert_true(pinned_round(e, &l, crash));
		frame_plain(&f, &s[0], 400);	/* while no agent runs */
		feed(e, &f, 5, &s[0]);
		/* The next agent. */
		tally_free(&e->tally);
		assert_int_equal(tally_init(&e->tally, 1024, e->key.fields), 0);
		assert_int_equal(ledger_recover(&l, &e->t, &e->tally, 0), 0);
		feed(e, &f, 1, &s[0]);
		assert_false(pinned_round(e, &l, CRASH_POINTS));
		assert_false(pinned_round(e, &l, CRASH_POINTS));
		check_model(e);
		ledger_close(&l);
		env_teardown(state);
	}
}

/* One thread counts 200,000 frames of four sources and other, on every CPU
 * in turn, while this one flips, waits and drains: after every drain the
 * identity holds, the drained epoch is all zero, and the total lies between
 * the frames finished before the flip and those started after the drain;
 * after the last drain every count is exact. */
static void test_concurrent_reader(void **state)
{
	struct env *e = env_open(state, 1024, 1024);
	struct src s[4] = { v4(IP4(10, 9, 0, 1)), v6(0x20010db8, 0x900),
			    v4(IP4(10, 9, 0, 2)), v6(0x20010db8, 0x901) };
	const __u64 total = WRITER_ROUNDS * (__u64)(WRITER_SINGLE + WRITER_REPEAT);
	__u64 cpu_packets[CPU_SETSIZE] = { 0 };
	__u32 drains = 0, cpus_used = 0;
	struct writer *w;

	w = e->writer = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->prog = e->prog;
	frame_plain(&w->frames[0], &s[0], 64);
	frame_plain(&w->frames[1], &s[1], 1280);
	frame_from(&w->frames[2], &s[2], TAG_8021Q, 1, 200);
	frame_from(&w->frames[3], &s[3], TAGS_QINQ, 2, 90);
	frame_arp(&w->frames[4], NULL, 0, 60);
	assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
	e->writer_running = true;
	/* Free to run beside the writer, wherever it is. */
	assert_int_equal(sched_setaffinity(0, sizeof(all_cpus), &all_cpus), 0);
	for (bool finished = false; !finished;) {
		__u64 done_before, started_after;

		finished = __atomic_load_n(&w->finished, __ATOMIC_ACQUIRE);
		done_before = __atomic_load_n(&w->done, __ATOMIC_SEQ_CST);
		drain_once(e, cpu_packets);
		started_after = __atomic_load_n(&w->started, __ATOMIC_SEQ_CST);
		assert_true(e->tally.cum.total.packets >= done_before);
		assert_true(e->tally.cum.total.packets <= started_after);
		__atomic_store_n(&w->drains, ++drains, __ATOMIC_RELEASE);
	}
	assert_int_equal(pthread_join(w->thread, NULL), 0);
	e->writer_running = false;
	if (w->err)
		print_error("writer: error %d, verdict %d\n", w->err, w->retval);
	assert_int_equal(w->err, 0);
	assert_int_equal(w->migrate_err, 0);
	assert_int_equal(w->done, total);
	assert_true(drains >= WRITER_ROUNDS);
	print_message("%u drains while %llu frames ran\n", drains, (unsigned long long)total);
	for (__u32 cpu = 0; cpu < e->a.size.nr_cpus; cpu++)
		cpus_used += cpu_packets[cpu] != 0;
	assert_int_equal(cpus_used, CPU_COUNT(&all_cpus));

	/* The last drain, after the writer finished, had it all. */
	for (int i = 0; i < WRITER_FRAMES; i++) {
		const __u64 n = w->ran[i], bytes = n * w->frames[i].len;

		assert_int_equal(n, total / WRITER_FRAMES);
		add(&e->m.total, n, bytes);
		expect(e, i < 4 ? &s[i] : NULL, n, bytes);
	}
	check_model(e);
	/* And one more cycle finds nothing new. */
	collect(e);
}

/* ---- the shared part: two CPUs, full capacity, sizes ------------------------ */

/* Sends sources base + first .. base + first + n - 1 (IPv4), rounds times
 * over, on one CPU, starting with the others at a barrier. No cmocka
 * assertion off the main thread: the first failure is kept in err. */
struct claimer {
	pthread_t thread;
	pthread_barrier_t *start;
	int prog, cpu, err;
	__u32 first, n, rounds;
};

#define FLOOD_BASE IP4(198, 18, 0, 0)

static __u32 flood_len(__u32 i)
{
	return 64 + i % 50;
}

static int send_flood(int prog, __u32 first, __u32 n)
{
	static __thread struct frame f, out;
	__u32 retval;

	for (__u32 i = first; i < first + n; i++) {
		struct src s = v4(FLOOD_BASE + i);

		frame_plain(&f, &s, flood_len(i));
		if (test_run(prog, &f, 1, &out, &retval))
			return errno;
		if (retval != XDP_PASS)
			return EPROTO;
	}
	return 0;
}

static int pin_to(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one) ? errno : 0;
}

static void *claimer_main(void *arg)
{
	struct claimer *c = arg;

	c->err = pin_to(c->cpu);
	pthread_barrier_wait(c->start);
	for (__u32 r = 0; r < c->rounds && !c->err; r++)
		c->err = send_flood(c->prog, c->first, c->n);
	return NULL;
}

/* The first two CPUs this test may use. */
static void two_cpus(int cpus[2])
{
	int found = 0;

	for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
		if (CPU_ISSET(c, &all_cpus))
			cpus[found++] = c;
	if (found < 2)
		fail_msg("this test needs two CPUs, it may use %d", found);
}

static __u32 slots_busy(const struct xdptop_slot *first, __u32 n)
{
	__u32 busy = 0;

	for (__u32 i = 0; i < n; i++)
		busy += first[i].tag_packets == XDPTOP_SLOT_BUSY;
	return busy;
}

/* Two CPUs send the same 6,000 sources at once, twice each: more than
 * their regions hold, so both claim the same keys in the shared part at the
 * same time. Every count is exact (a key claimed twice is added up), and no
 * claim is left half done. */
static void test_shared_claims_two_cpus(void **state)
{
	enum { N = 6000, ROUNDS = 2, THREADS = 2 };
	struct env *e = env_open(state, 65536, 65536);
	const __u32 epoch = table_active_epoch(&e->t);
	struct claimer c[THREADS];
	pthread_barrier_t start;
	int cpus[THREADS];
	__u64 claims = 0, slots = 0;

	two_cpus(cpus);
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (int k = 0; k < THREADS; k++) {
		c[k] = (struct claimer){ .start = &start, .prog = e->prog, .cpu = cpus[k],
					 .first = 0, .n = N, .rounds = ROUNDS };
		assert_int_equal(pthread_create(&c[k].thread, NULL, claimer_main, &c[k]), 0);
	}
	for (int k = 0; k < THREADS; k++)
		assert_int_equal(pthread_join(c[k].thread, NULL), 0);
	pthread_barrier_destroy(&start);
	for (int k = 0; k < THREADS; k++)
		assert_int_equal(c[k].err, 0);
	for (__u32 i = 0; i < N; i++) {
		struct src s = v4(FLOOD_BASE + i);
		const __u64 n = THREADS * ROUNDS;

		add(&e->m.total, n, n * flood_len(i));
		expect(e, &s, n, n * flood_len(i));
	}
	/* Each CPU's region took what it could, the shared part every other
	 * source of either CPU (a key two CPUs claimed at once, twice), and
	 * every claim is one slot. */
	for (int k = 0; k < THREADS; k++) {
		__u32 in_region = region_used(e, epoch, cpus[k]);

		assert_true(in_region <= e->t.size.region_slots);
		assert_true(shared_used(e, epoch) >= N - in_region);
		claims += claimed_by(e, epoch, cpus[k]);
		slots += in_region;
	}
	assert_int_equal(claims + shared_claimed(e, epoch), slots + shared_used(e, epoch));
	assert_int_equal(slots_busy(shared_of(e, epoch), e->t.size.shared_slots), 0);
	print_message("%u shared slots, %u and %u in the regions, for %u sources\n",
		      shared_used(e, epoch), region_used(e, epoch, cpus[0]),
		      region_used(e, epoch, cpus[1]), N);
	collect(e);
	assert_int_equal(e->tally.n_sources, N);
}

/* Where the n sources of one interval went: each counted one more frame
 * than it had (had[i], then updated) or none, at least 99% counted, and the
 * others' frames exactly the interval's untracked ones. */
static void check_full_interval(struct env *e, __u32 n, __u64 *had,
				const struct xdptop_counter *untracked_before)
{
	struct xdptop_counter lost = *untracked_before;
	bool *counted = calloc(n, sizeof(*counted));
	__u32 tracked = 0;

	assert_non_null(counted);
	for (__u32 k = 0; k < e->tally.n_sources; k++) {
		const struct source_count *c = tally_source(&e->tally, k);
		__u32 i = ntohl((__u32)c->words[0]) - FLOOD_BASE;	/* src: a narrow key */

		assert_true(i < n);
		if (c->packets == had[i])
			continue;
		assert_int_equal(c->packets, had[i] + 1);
		assert_int_equal(c->bytes, c->packets * flood_len(i));
		had[i]++;
		counted[i] = true;
		tracked++;
	}
	for (__u32 i = 0; i < n; i++)
		if (!counted[i])
			add(&lost, 1, flood_len(i));
	free(counted);
	print_message("%u of %u sources tracked\n", tracked, n);
	assert_true(tracked >= n / 100 * 99);
	assert_counter(&e->tally.cum.untracked, lost.packets, lost.bytes);
}

/* --max-sources distinct sources in one interval, all on ONE CPU (a
 * single-queue NIC, a veth): its region takes 1,536 (3/4 of its 2,048
 * slots: then it is full), the shared part the rest, and at least 99% are tracked; then the same sources spread over
 * every CPU in turn. Every count is exact, the others' frames are untracked. */
static void test_full_capacity(void **state)
{
	enum { MAX = 65536 };
	struct env *e = env_open(state, MAX, MAX);
	__u64 *had = calloc(MAX, sizeof(*had));

	assert_non_null(had);
	for (int spread = 0; spread < 2; spread++) {
		struct xdptop_counter untracked = e->tally.cum.untracked;
		const __u32 epoch = table_active_epoch(&e->t);
		__u32 cpus_used = 0;
		int cpu = -1;

		for (__u32 i = 0; i < MAX; i += MAX / 64) {
			if (spread || cpu < 0) {
				do
					cpu = (cpu + 1) % CPU_SETSIZE;
				while (!CPU_ISSET(cpu, &all_cpus));
				assert_int_equal(pin_to(cpu), 0);
			}
			assert_int_equal(send_flood(e->prog, i, MAX / 64), 0);
		}
		for (__u32 i = 0; i < MAX; i++)
			add(&e->m.total, 1, flood_len(i));
		for (__u32 c = 0; c < e->t.size.nr_cpus; c++)
			cpus_used += e->t.stats[epoch * e->t.size.nr_cpus + c].total.packets > 0;
		assert_int_equal(cpus_used, spread ? CPU_COUNT(&all_cpus) : 1);
		for (__u32 c = 0; c < e->t.size.nr_cpus; c++)
			if (e->t.stats[epoch * e->t.size.nr_cpus + c].total.packets)
				assert_int_equal(claimed_by(e, epoch, c),
						 XDPTOP_REGION_FULL(e->t.size.region_slots));
		drain_once(e, NULL);
		check_full_interval(e, MAX, had, &untracked);
	}
	free(had);
	pin_first_cpu();
}

/* The sizes of every table the agent may make: no 32-bit index overflows
 * at any --max-sources it accepts on up to 8,192 CPUs (Linux's most), the
 * CPUs only add their regions, and 256 CPUs at the default take under
 * 64 MiB with the tally. */
static void test_sizing(void **state)
{
	static const __u32 cpus[] = { 1, 2, 3, 64, 256, 8192 };
	static const __u32 maxes[] = { 1, 4, 1000, 65536, 1000000, 1048576, MAX_SOURCES_LIMIT };
	struct table_size two, many;
	struct tally t;

	(void)state;
	for (size_t c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++) {
		assert_true(table_max_sources(cpus[c], XDPTOP_FIELDS_ADDRESS | XDPTOP_FIELDS_L4) >=
			    MAX_SOURCES_LIMIT);
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
			struct table_size z = table_size(maxes[m], cpus[c], 1, XDPTOP_FIELD_SRC);

			assert_int_equal(z.nr_cpus, cpus[c]);
			assert_int_equal(z.shared_slots & (z.shared_slots - 1), 0);
			assert_int_equal(z.region_slots & (z.region_slots - 1), 0);
			assert_true(z.shared_slots >= 2ULL * maxes[m]);
			assert_true(z.shared_slots < 4ULL * maxes[m] ||
				    z.shared_slots == XDPTOP_PROBE_WINDOW);
			assert_true(z.region_slots <= XDPTOP_REGION_MAX_SLOTS);
			assert_true(z.region_slots <= z.shared_slots);
			assert_true(z.region_log_len >= 1 && z.shared_log_len >= 1);
			assert_true(XDPTOP_EPOCHS * table_epoch_slots(&z) <= UINT32_MAX);
			assert_true(XDPTOP_EPOCHS * table_epoch_claims(&z) <= UINT32_MAX);
		}
	}
	two = table_size(65536, 2, 1, XDPTOP_FIELD_SRC);
	many = table_size(65536, 256, 1, XDPTOP_FIELD_SRC);
	assert_int_equal(two.shared_slots, many.shared_slots);
	assert_true(table_map_bytes(&many) - table_map_bytes(&two) <=
		    254ULL * XDPTOP_EPOCHS * (XDPTOP_REGION_MAX_SLOTS * sizeof(struct xdptop_slot) +
					      XDPTOP_REGION_MAX_SLOTS / 8 * sizeof(__u64) +
					      sizeof(struct xdptop_cpu_stats)) + 2 * 4096);
	assert_int_equal(tally_init(&t, 65536, XDPTOP_FIELD_SRC), 0);
	assert_true(table_map_bytes(&many) + tally_bytes(&t) <= 64ULL << 20);
	tally_free(&t);
}

/* ---- interfaces sharing one table ---------------------------------------- */

/* Two interfaces' programs on one table, their tallies sharing a budget. */
struct shared_env {
	struct attachment a[2];
	struct table t;
	struct tally tallies[2];
	struct tally_budget budget;
	int prog[2];
	__u32 intervals;
};

static int shared_teardown(void **state)
{
	struct shared_env *s = *state;

	if (s) {
		table_unmap(&s->t);
		for (int i = 0; i < 2; i++) {
			tally_free(&s->tallies[i]);
			attachment_close(&s->a[i]);
		}
		free(s);
	}
	*state = NULL;
	return 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static struct shared_env *shared_open(void **state, __u32 max_sources)
{
	const struct key_spec key = KEY_SPEC_DEFAULT;
	struct shared_env *s = calloc(1, sizeof(*s));
	struct table_maps maps;

	assert_non_null(s);
	*state = s;
	s->budget.max_sources = max_sources;
	for (__u32 i = 0; i < 2; i++) {
		const struct table_share share = { .owner = i ? &s->a[0] : NULL, .slot = i,
						   .nr_ifaces = 2 };

		s->a[i] = ATTACHMENT_UNOPENED("");
		assert_int_equal(attachment_load_shared(&s->a[i], max_sources, &key, true, &share),
				 EXIT_OK);
		s->prog[i] = bpf_program__fd(attachment_program(&s->a[i], false));
		assert_int_equal(tally_init(&s->tallies[i], max_sources, key.fields), 0);
		tally_share(&s->tallies[i], &s->budget);
	}
	assert_int_equal(map_id(bpf_map__fd(s->a[0].skel->maps.slots)),
			 map_id(bpf_map__fd(s->a[1].skel->maps.slots)));
	assert_int_equal(map_id(bpf_map__fd(s->a[0].skel->maps.bss)),
			 map_id(bpf_map__fd(s->a[1].skel->maps.bss)));
	attachment_table_maps(&s->a[0], &maps);
	assert_int_equal(table_map(&s->t, &maps), 0);
	assert_int_equal(s->t.size.nr_ifaces, 2);
	return s;
}

static void shared_send(struct shared_env *s, int iface, const struct src *src, __u32 len,
			__u32 times)
{
	struct frame f;

	if (src)
		frame_plain(&f, src, len);
	else
		frame_arp(&f, NULL, 0, len);
	for (__u32 i = 0; i < times; i++)
		assert_int_equal(try_run(s->prog[iface], &f, 1), 0);
}

/* One round: flip, grace period, one drain for both, both intervals end. */
static void shared_collect(struct shared_env *s)
{
	__u32 retired = table_flip(&s->t);

	assert_int_equal(table_grace_period(), 0);
	s->intervals++;
	for (int i = 0; i < 2; i++)
		tally_cut(&s->tallies[i], s->intervals);
	table_drain(&s->t, retired, s->tallies);
	for (int i = 0; i < 2; i++) {
		tally_end_interval(&s->tallies[i]);
		check_identity(&s->tallies[i]);
	}
}

/* Two interfaces count into one table: the same address on each is two
 * keys, each interface's frames and other go to its own tally, and the
 * budget of 8 keys is theirs together: when one interface's newcomers find
 * it spent, the idle keys of both give way (down to 3/4 of what each
 * tracks), and the newcomers are tracked from their next frames on. */
static void test_two_interfaces_share(void **state)
{
	struct shared_env *s = shared_open(state, 8);
	struct src a = v4(IP4(198, 18, 1, 1)), b = v6(0x20010db8, 0x77), n[6];
	const __u32 epoch = table_active_epoch(&s->t);
	const struct xdptop_slot *r;
	__u32 on[2] = {};

	shared_send(s, 0, &a, 100, 3);
	shared_send(s, 1, &a, 200, 2);
	shared_send(s, 1, &b, 300, 1);
	shared_send(s, 0, NULL, 60, 1);
	/* a twice in this CPU's region: once per interface. */
	r = (struct xdptop_slot *)table_slot(&s->t, epoch * table_epoch_slots(&s->t.size) +
			(size_t)sched_getcpu() * s->t.size.region_slots);
	for (__u32 i = 0; i < s->t.size.region_slots; i++)
		if (r[i].tag_packets)
			on[r[i].iface_bytes >> XDPTOP_IFACE_SHIFT]++;
	assert_int_equal(on[0], 1);
	assert_int_equal(on[1], 2);
	shared_collect(s);
	assert_source(&s->tallies[0], &a, 3, 300);
	assert_int_equal(s->tallies[0].n_sources, 1);
	assert_counter(&s->tallies[0].cum.other, 1, 60);
	assert_counter(&s->tallies[0].cum.total, 4, 360);
	assert_source(&s->tallies[1], &a, 2, 400);
	assert_source(&s->tallies[1], &b, 1, 300);
	assert_int_equal(s->tallies[1].n_sources, 2);
	assert_counter(&s->tallies[1].cum.total, 3, 700);
	assert_int_equal(s->budget.used, 3);

	/* Interface 1: six newcomers, five fit the budget, one is turned away;
	 * a and b, idle, give way on both interfaces. */
	for (int i = 0; i < 6; i++) {
		n[i] = candidate(8000 + i);
		shared_send(s, 1, &n[i], 64 + i, 1);
	}
	shared_collect(s);
	assert_int_equal(s->tallies[0].n_sources + s->tallies[1].n_sources, s->budget.used);
	assert_null(tally_find(&s->tallies[0], &a));
	assert_counter(&s->tallies[0].cum.untracked, 3, 300);
	assert_null(tally_find(&s->tallies[1], &a));
	assert_null(tally_find(&s->tallies[1], &b));
	assert_int_equal(s->tallies[1].n_sources, 5);
	assert_int_equal(s->budget.used, 5);
	assert_int_equal(s->tallies[1].cum.untracked.packets, 2 + 1 + 1);

	/* The one turned away is tracked from its next frame on. */
	for (int i = 0; i < 6; i++)
		if (!tally_find(&s->tallies[1], &n[i]))
			shared_send(s, 1, &n[i], 64 + i, 2);
	shared_collect(s);
	assert_int_equal(s->tallies[1].n_sources, 6);
	assert_int_equal(s->budget.used, 6);
}

/* One round of an agent with a ledger of both interfaces (collect()). */
static void shared_persist(struct shared_env *s, struct ledger *l)
{
	__u32 retired = table_flip(&s->t);

	assert_int_equal(table_grace_period(), 0);
	s->intervals++;
	for (int i = 0; i < 2; i++)
		tally_cut(&s->tallies[i], s->intervals);
	table_drain(&s->t, retired, s->tallies);
	for (int i = 0; i < 2; i++)
		tally_end_interval(&s->tallies[i]);
	ledger_persist(l, &s->t, s->tallies, retired, s->intervals * 1000000000ULL, 0);
}

/* --pin with two interfaces: one ledger holds both tallies, committed
 * together. An agent dies after a commit; frames keep coming on both
 * interfaces meanwhile; the next agent (fresh tallies, a fresh budget)
 * takes both up, each interface's counts where they were, the budget spent
 * as much as before, and the frames counted meanwhile on top. */
static void test_ledger_two_interfaces(void **state)
{
	struct shared_env *s = shared_open(state, 8);
	const struct key_spec key = KEY_SPEC_DEFAULT;
	struct src a = v4(IP4(198, 18, 1, 1)), b = v6(0x20010db8, 0x77);
	struct ledger_identity id;
	struct tally_saved saved;
	struct ledger l;
	__u32 flips;
	__u64 cut_ns;

	ledger_identity(&id, &s->a[0].size, 8, &key, true,
			(const struct iface_arg[]){ { .kernel_name = "v1", .ifindex = 11 },
						    { .kernel_name = "w1", .ifindex = 12 } });
	assert_int_equal(id.set.n, 2);
	assert_int_equal(ledger_set_slot(&id.set, 12), 1);
	assert_int_equal(ledger_set_slot(&id.set, 13), -1);
	assert_int_equal(ledger_create(&l, &id), 0);
	assert_int_equal(ledger_recover(&l, &s->t, s->tallies, 0), 0);
	shared_send(s, 0, &a, 100, 3);
	shared_send(s, 1, &a, 200, 2);
	shared_send(s, 1, &b, 300, 1);
	shared_send(s, 0, NULL, 60, 1);
	shared_persist(s, &l);
	ledger_committed(&l, 1, &saved, &flips, &cut_ns);
	assert_int_equal(saved.n_sources, 2);
	assert_int_equal(saved.cum.total.packets, 3);
	assert_int_equal(saved.cum.total.bytes, 700);

	/* The agent dies; the programs count on. */
	shared_send(s, 0, &b, 400, 1);
	shared_send(s, 1, &a, 200, 1);
	for (int i = 0; i < 2; i++) {
		tally_free(&s->tallies[i]);
		assert_int_equal(tally_init(&s->tallies[i], 8, XDPTOP_FIELD_SRC), 0);
	}
	s->budget = (struct tally_budget){ .max_sources = 8 };
	for (int i = 0; i < 2; i++)
		tally_share(&s->tallies[i], &s->budget);
	assert_int_equal(ledger_recover(&l, &s->t, s->tallies, 0), 0);
	assert_int_equal(s->budget.used, 3);
	shared_persist(s, &l);
	assert_source(&s->tallies[0], &a, 3, 300);
	assert_source(&s->tallies[0], &b, 1, 400);
	assert_counter(&s->tallies[0].cum.other, 1, 60);
	assert_counter(&s->tallies[0].cum.total, 5, 760);
	assert_source(&s->tallies[1], &a, 3, 600);
	assert_source(&s->tallies[1], &b, 1, 300);
	assert_counter(&s->tallies[1].cum.total, 4, 900);
	assert_int_equal(s->budget.used, 4);
	for (int i = 0; i < 2; i++)
		check_identity(&s->tallies[i]);
	ledger_close(&l);
}

/* bpf_unit [PATTERN]: the tests whose names match PATTERN ('*' and '?'),
 * or all of them. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ipv4, env_teardown),
		cmocka_unit_test_teardown(test_ipv6, env_teardown),
		cmocka_unit_test_teardown(test_vlan_8021q, env_teardown),
		cmocka_unit_test_teardown(test_vlan_8021ad, env_teardown),
		cmocka_unit_test_teardown(test_qinq, env_teardown),
		cmocka_unit_test_teardown(test_two_tags_any_order, env_teardown),
		cmocka_unit_test_teardown(test_three_tags_other, env_teardown),
		cmocka_unit_test_teardown(test_ipv4_options, env_teardown),
		cmocka_unit_test_teardown(test_truncated, env_teardown),
		cmocka_unit_test_teardown(test_ihl_below_5_other, env_teardown),
		cmocka_unit_test_teardown(test_wrong_version_other, env_teardown),
		cmocka_unit_test_teardown(test_arp_other, env_teardown),
		cmocka_unit_test_teardown(test_shorter_than_ethernet, env_teardown),
		cmocka_unit_test_teardown(test_frags_jumbo, env_teardown),
		cmocka_unit_test_teardown(test_single_buffer_1500, env_teardown),
		cmocka_unit_test_teardown(test_kernel_repeat, env_teardown),
		cmocka_unit_test_teardown(test_ipv4_ipv6_same_bytes, env_teardown),
		cmocka_unit_test_teardown(test_collisions, env_teardown),
		cmocka_unit_test_teardown(test_probe_window_full, env_teardown),
		cmocka_unit_test_teardown(test_region_full, env_teardown),
		cmocka_unit_test_teardown(test_epochs, env_teardown),
		cmocka_unit_test_teardown(test_tally_overflow, env_teardown),
		cmocka_unit_test_teardown(test_tally_idle_give_way, env_teardown),
		cmocka_unit_test_teardown(test_tally_forget_down_to_three_quarters, tally_teardown),
		cmocka_unit_test_teardown(test_tally_too_few_idle_all_go, tally_teardown),
		cmocka_unit_test_teardown(test_tally_averages_model, tally_teardown),
		cmocka_unit_test_teardown(test_tally_oldest_give_way_first, env_teardown),
		cmocka_unit_test_teardown(test_claim_log_and_scan, env_teardown),
		cmocka_unit_test_teardown(test_key_config_masks, env_teardown),
		cmocka_unit_test_teardown(test_key_format, env_teardown),
		cmocka_unit_test_teardown(test_prefix4_boundaries, env_teardown),
		cmocka_unit_test_teardown(test_prefix6_boundaries, env_teardown),
		cmocka_unit_test_teardown(test_key_dst, env_teardown),
		cmocka_unit_test_teardown(test_dst_prefix_vlan, env_teardown),
		cmocka_unit_test_teardown(test_vlan_keys, env_teardown),
		cmocka_unit_test_teardown(test_vlan_off_one_key, env_teardown),
		cmocka_unit_test_teardown(test_fields_ports, env_teardown),
		cmocka_unit_test_teardown(test_fields_other_protocols, env_teardown),
		cmocka_unit_test_teardown(test_fields_icmp, env_teardown),
		cmocka_unit_test_teardown(test_fields_ipv4_options, env_teardown),
		cmocka_unit_test_teardown(test_fields_ipv6_chains, env_teardown),
		cmocka_unit_test_teardown(test_fields_ipv6_stop, env_teardown),
		cmocka_unit_test_teardown(test_fields_ipv6_cut_in_chain, env_teardown),
		cmocka_unit_test_teardown(test_fields_ipv4_fragments, env_teardown),
		cmocka_unit_test_teardown(test_fields_ipv6_fragments, env_teardown),
		cmocka_unit_test_teardown(test_fields_cut_by_frame, env_teardown),
		cmocka_unit_test_teardown(test_fields_cut_by_ip_length, env_teardown),
		cmocka_unit_test_teardown(test_fields_tcpflags, env_teardown),
		cmocka_unit_test_teardown(test_fields_vlan, env_teardown),
		cmocka_unit_test_teardown(test_fields_narrow, env_teardown),
		cmocka_unit_test_teardown(test_fields_jumbo, env_teardown),
		cmocka_unit_test_teardown(test_count_spill, env_teardown),
		cmocka_unit_test_teardown(test_count_full_no_room, env_teardown),
		cmocka_unit_test_teardown(test_count_bytes_full, env_teardown),
		cmocka_unit_test_teardown(test_fuzz_frames, env_teardown),
		cmocka_unit_test_teardown(test_fields_fuzz, env_teardown),
		cmocka_unit_test_teardown(test_concurrent_reader, env_teardown),
		cmocka_unit_test_teardown(test_ledger_crash_points, env_teardown),
		cmocka_unit_test_teardown(test_shared_claims_two_cpus, env_teardown),
		cmocka_unit_test_teardown(test_full_capacity, env_teardown),
		cmocka_unit_test(test_sizing),
		cmocka_unit_test_teardown(test_two_interfaces_share, shared_teardown),
		cmocka_unit_test_teardown(test_ledger_two_interfaces, shared_teardown),
	};
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) || pin_first_cpu()) {
		perror("bpf_unit: sched_setaffinity");
		return 1;
	}
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
