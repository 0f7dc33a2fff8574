// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reads the XDP program's counting table through mmap: no syscall per key
 * or per CPU. See table.bpf.h for the design. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "table.h"

/* The shared part at most half full when one CPU sees all max_sources in
 * one interval: an 8-slot probe window then turns away under 0.5% of new
 * sources (about 4% at 3/4 full, 12% when full). */
static __u32 shared_slots(__u32 max_sources)
{
	__u32 slots = XDPTOP_PROBE_WINDOW;

	while (slots < 2ULL * max_sources)
		slots <<= 1;
	return slots;
}

struct table_size table_size(__u32 max_sources, __u32 nr_cpus, __u32 nr_ifaces, __u32 fields)
{
	__u32 shared = shared_slots(max_sources);
	__u32 region = shared < XDPTOP_REGION_MAX_SLOTS ? shared : XDPTOP_REGION_MAX_SLOTS;

	return (struct table_size){
		.nr_cpus = nr_cpus,
		.nr_ifaces = nr_ifaces,
		.region_slots = region,
		.shared_slots = shared,
		.region_log_len = region >> XDPTOP_CLAIM_LOG_SHIFT,	/* >= 1: region >= 8 */
		.shared_log_len = shared >> XDPTOP_CLAIM_LOG_SHIFT,
		.fields = fields,
		.slot_elements = xdptop_fields_slot_elements(fields),
	};
}

__u32 table_max_sources(__u32 nr_cpus, __u32 fields)
{
	for (__u32 max = 1U << 30; max; max >>= 1) {
		struct table_size z = table_size(max, nr_cpus, 1, fields);

		if (XDPTOP_EPOCHS * table_epoch_slots(&z) * z.slot_elements <= 0xffffffffULL)
			return max;
	}
	return 0;
}

static size_t page_round(size_t len)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return (len + page - 1) / page * page;
}

static size_t slots_bytes(const struct table_size *z)
{
	return page_round(XDPTOP_EPOCHS * table_epoch_slots(z) * z->slot_elements *
			  sizeof(struct xdptop_slot));
}

static size_t claims_bytes(const struct table_size *z)
{
	return page_round(XDPTOP_EPOCHS * table_epoch_claims(z) * sizeof(__u64));
}

static size_t stats_bytes(const struct table_size *z)
{
	return page_round((size_t)XDPTOP_EPOCHS * z->nr_ifaces * z->nr_cpus *
			  sizeof(struct xdptop_cpu_stats));
}

__u64 table_map_bytes(const struct table_size *z)
{
	return slots_bytes(z) + claims_bytes(z) + stats_bytes(z);
}

static void *map_shared(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int table_map(struct table *t, const struct table_maps *maps)
{
	const struct table_size *z = &maps->size;

	*t = (struct table){
		.slots_len = slots_bytes(z),
		.claims_len = claims_bytes(z),
		.stats_len = stats_bytes(z),
		.epoch = maps->epoch,
		.size = *z,
	};
	t->slots = map_shared(maps->slots_fd, t->slots_len);
	t->claims = map_shared(maps->claims_fd, t->claims_len);
	t->stats = map_shared(maps->stats_fd, t->stats_len);
	if (!t->slots || !t->claims || !t->stats) {
		int err = -errno;

		table_unmap(t);
		return err;
	}
	return 0;
}

void table_unmap(struct table *t)
{
	if (t->slots)
		munmap(t->slots, t->slots_len);
	if (t->claims)
		munmap(t->claims, t->claims_len);
	if (t->stats)
		munmap(t->stats, t->stats_len);
	t->slots = NULL;
	t->claims = NULL;
	t->stats = NULL;
}

__u32 table_flip(struct table *t)
{
	__u32 flips = *t->epoch;

	__atomic_store_n(t->epoch, flips + 1, __ATOMIC_SEQ_CST);
	return flips & 1;
}

/* The kernel waits for an RCU grace period (synchronize_rcu) before it
 * returns from an update of a map-in-map, so that userspace knows no program
 * still uses the old inner map; XDP programs run inside RCU read sections.
 * The kernel's own selftests use the same property. One pair of maps serves
 * every table. */
static int grace_outer_fd = -1, grace_inner_fd = -1;

int table_grace_open(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);

	if (grace_outer_fd >= 0)
		return 0;
	if (grace_inner_fd < 0)
		grace_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdptop_grace_in", 4, 4, 1,
						NULL);
	if (grace_inner_fd < 0)
		return grace_inner_fd;
	opts.inner_map_fd = grace_inner_fd;
	grace_outer_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "xdptop_grace", 4, 4, 1,
					&opts);
	return grace_outer_fd < 0 ? grace_outer_fd : 0;
}

int table_grace_period(void)
{
	__u32 zero = 0;
	int err = table_grace_open();

	return err ?: bpf_map_update_elem(grace_outer_fd, &zero, &grace_inner_fd, BPF_ANY);
}

void table_slot_key(const struct table *t, const struct xdptop_slot *slot,
		    struct xdptop_key *key)
{
	__u32 first = xdptop_fields_first_word(t->size.fields);

	*key = (struct xdptop_key){ .meta = slot->tag_packets >> XDPTOP_META_SHIFT };
	key->words[first] = slot->key[0];
	key->words[first + 1] = slot->key[1];
	if (xdptop_fields_wide(t->size.fields)) {
		const struct xdptop_slot_rest *rest = (const struct xdptop_slot_rest *)&slot[1];

		key->words[2] = rest->key[0];
		key->words[3] = rest->key[1];
		key->words[4] = rest->key[2];
	}
}

/* The tally of the interface an occupied slot was counted on, or NULL for
 * none of them: no program of the table writes that, but a slot read from
 * a map is checked before it indexes an array. */
static struct tally *slot_tally(const struct table *t, const struct xdptop_slot *slot,
				struct tally *tallies)
{
	__u32 iface = slot->iface_bytes >> XDPTOP_IFACE_SHIFT;

	return iface < t->size.nr_ifaces ? &tallies[iface] : NULL;
}

/* A slot's counts, read, on their way to the tally of the interface they
 * were counted on (NULL: none, or a free slot). */
struct drained {
	struct tally *tally;
	struct xdptop_key key;
	__u32 hash;
	__u64 packets, bytes;
};

/* Stores, not a call to memset() a slot: a drain clears up to millions. */
static void clear_slot(const struct table *t, struct xdptop_slot *slot)
{
	slot[0] = (struct xdptop_slot){};
	if (t->size.slot_elements > 1)
		slot[1] = (struct xdptop_slot){};
}

/* Reads a slot, clears it (unless the table keeps its retired counts), and
 * starts fetching its key's tally entry. */
static void take_slot(const struct table *t, struct xdptop_slot *slot, struct tally *tallies,
		      struct drained *d)
{
	__u64 tag_packets = slot->tag_packets;

	d->tally = tag_packets ? slot_tally(t, slot, tallies) : NULL;
	if (!tag_packets)
		return;
	if (d->tally) {
		table_slot_key(t, slot, &d->key);
		d->hash = xdptop_key_hash(&d->key);
		d->packets = tag_packets & XDPTOP_PACKETS_MASK;
		d->bytes = slot->iface_bytes & XDPTOP_BYTES_MASK;
		tally_prefetch(d->tally, d->hash);
	}
	if (!t->keep_retired)
		clear_slot(t, slot);
}

static void add_drained(const struct drained *d)
{
	if (d->tally)
		tally_add_source(d->tally, &d->key, d->hash, d->packets, d->bytes);
}

/* How far ahead the drain fetches: slots at twice this distance, the tally
 * entries of the slots at this distance (read and hashed once, kept until
 * their turn). */
#define AHEAD 8

/* What one epoch's drain or clear looks at. */
struct epoch_view {
	__u64 slots;			/* the epoch's first slot, by its number */
	struct xdptop_cpu_stats *stats;	/* its interfaces' CPUs' stats */
	__u64 *region_logs;		/* its CPUs' claim logs: count, offsets */
	__u64 *shared_log;		/* the shared part's */
	__u64 shared;			/* offset of the shared part */
};

static __u64 *region_log(const struct table *t, const struct epoch_view *v, __u32 cpu)
{
	return &v->region_logs[xdptop_region_log(0, cpu, t->size.nr_cpus, t->size.region_log_len)];
}

/* The claim logs of both epochs' regions come first, then the shared
 * part's of each epoch. */
static struct epoch_view epoch_view(const struct table *t, __u32 epoch)
{
	const struct table_size *z = &t->size;

	return (struct epoch_view){
		.slots = epoch * table_epoch_slots(z),
		.stats = &t->stats[xdptop_stats_index(epoch, 0, 0, z->nr_ifaces, z->nr_cpus)],
		.region_logs = &t->claims[xdptop_region_log(epoch, 0, z->nr_cpus, z->region_log_len)],
		.shared_log = &t->claims[xdptop_shared_log(epoch, z->nr_cpus, z->region_log_len,
							   z->shared_log_len)],
		.shared = xdptop_region_offset(z->nr_cpus, z->region_slots),
	};
}

/* Slot j of a drain: log[j] slots on from first, or without a log, j. */
static struct xdptop_slot *slot_at(const struct table *t, __u64 first, const __u64 *log, __u64 j)
{
	return table_slot(t, first + (log ? log[j] : j));
}

/* Drains n slots (slot_at). Misses, on slots and on the tally, are
 * overlapped by fetching ahead. */
static void drain_slots(const struct table *t, __u64 first, const __u64 *log, __u64 n,
			struct tally *tallies)
{
	struct drained ahead[AHEAD];

	for (__u64 i = 0; i < n + AHEAD; i++) {
		struct drained *d = &ahead[i % AHEAD];

		if (i >= AHEAD)
			add_drained(d);
		if (i >= n)
			continue;
		if (log && i + 2 * AHEAD < n)	/* in order, the CPU fetches them */
			__builtin_prefetch(slot_at(t, first, log, i + 2 * AHEAD), 1);
		take_slot(t, slot_at(t, first, log, i), tallies, d);
	}
}

/* The slots of an epoch's part (a CPU's region, or the shared part) that a
 * drain or a clear visits: slot_at(first, log, j) for j < n. */
struct part {
	__u64 first;			/* a slot's index in the table */
	const __u64 *log;	/* NULL: every slot of the part, in order */
	__u64 n;
};

/* Part number `which` of an epoch (CPUs' regions, then the shared part):
 * through its claim log (count, offsets) while the log holds every claim,
 * else all of its slots. */
static struct part part_of(const struct table *t, const struct epoch_view *v, __u32 which)
{
	const struct table_size *z = &t->size;
	bool shared = which == z->nr_cpus;
	const __u64 *log = shared ? v->shared_log : region_log(t, v, which);

	if (log[0] <= (shared ? z->shared_log_len : z->region_log_len))
		return (struct part){ v->slots, log + 1, log[0] };
	if (shared)
		return (struct part){ v->slots + v->shared, NULL, z->shared_slots };
	return (struct part){ v->slots + xdptop_region_offset(which, z->region_slots), NULL,
			      z->region_slots };
}

static void clear_part(const struct table *t, const struct part *p)
{
	__u32 bytes = t->size.slot_elements * sizeof(struct xdptop_slot);

	if (!p->log) {
		memset(table_slot(t, p->first), 0, p->n * bytes);
		return;
	}
	for (__u64 i = 0; i < p->n; i++)
		clear_slot(t, slot_at(t, p->first, p->log, i));
}

/* The stats and claim counts of an epoch, once its slots are clear: until
 * then, the claim counts say which slots to clear. */
static void clear_counts(const struct table *t, const struct epoch_view *v)
{
	const struct table_size *z = &t->size;

	memset(v->stats, 0, (size_t)z->nr_ifaces * z->nr_cpus * sizeof(*v->stats));
	for (__u32 cpu = 0; cpu < z->nr_cpus; cpu++)
		region_log(t, v, cpu)[0] = 0;
	v->shared_log[0] = 0;
}

/* Each interface's frames outside the slots, from each CPU. */
static void drain_stats(const struct table *t, const struct epoch_view *v, struct tally *tallies)
{
	const struct table_size *z = &t->size;

	for (__u32 i = 0; i < z->nr_ifaces; i++) {
		for (__u32 cpu = 0; cpu < z->nr_cpus; cpu++) {
			const struct xdptop_cpu_stats *s =
				&v->stats[xdptop_stats_index(0, i, cpu, z->nr_ifaces, z->nr_cpus)];
			struct tally_counters counts = { s->total, s->other, s->untracked };

			tally_add_counters(&tallies[i], &counts);
		}
	}
}

void table_drain(struct table *t, __u32 epoch, struct tally *tallies)
{
	const struct table_size *z = &t->size;
	struct epoch_view v = epoch_view(t, epoch);

	drain_stats(t, &v, tallies);
	for (__u32 which = 0; which <= z->nr_cpus; which++) {
		struct part p = part_of(t, &v, which);

		drain_slots(t, p.first, p.log, p.n, tallies);
	}
	if (!t->keep_retired)
		clear_counts(t, &v);
}

/* So that a clear cut short (kill -9) is finished by the next one, the
 * counts go last. */
void table_clear(struct table *t, __u32 epoch)
{
	const struct table_size *z = &t->size;
	struct epoch_view v = epoch_view(t, epoch);

	for (__u32 which = 0; which <= z->nr_cpus; which++) {
		struct part p = part_of(t, &v, which);

		clear_part(t, &p);
	}
	clear_counts(t, &v);
}
