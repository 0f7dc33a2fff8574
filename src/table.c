// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reads the XDP program's counting table through mmap: no syscall per key
 * or per CPU. See table.bpf.h for the design. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "table.h"

/* At most half full when one CPU sees all max_sources in one interval: an
 * 8-slot probe window then turns away under 0.5% of new sources (about 4% at
 * 3/4 full, 12% when full). */
__u32 table_region_slots(__u32 max_sources)
{
	__u32 slots = XDPTOP_PROBE_WINDOW;

	while (slots < 2ULL * max_sources)
		slots <<= 1;
	return slots;
}

__u32 table_max_sources(__u32 nr_cpus)
{
	__u64 region_max = 0xffffffffULL / ((__u64)XDPTOP_EPOCHS * nr_cpus);
	__u32 slots = 1U << 31;

	while (slots > region_max)
		slots >>= 1;
	return slots / 2;	/* table_region_slots(n) is twice n, rounded up */
}

__u32 table_claim_log_len(__u32 region_slots)
{
	__u32 len = region_slots >> XDPTOP_CLAIM_LOG_SHIFT;

	return len ? len : 1;
}

static void *map_shared(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(size_t len)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return (len + page - 1) / page * page;
}

int table_map(struct table *t, const struct table_maps *maps)
{
	size_t regions = (size_t)XDPTOP_EPOCHS * maps->nr_cpus;
	size_t slots = regions * maps->region_slots;
	__u32 claim_log_len = table_claim_log_len(maps->region_slots);

	*t = (struct table){
		.slots_len = page_round(slots * sizeof(struct xdptop_slot)),
		.claims_len = page_round(regions * claim_log_len * sizeof(__u64)),
		.stats_len = page_round(regions * sizeof(struct xdptop_cpu_stats)),
		.epoch = maps->epoch,
		.nr_cpus = maps->nr_cpus,
		.region_slots = maps->region_slots,
		.claim_log_len = claim_log_len,
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

static void drain_slot(struct xdptop_slot *slot, struct tally *tally, bool keep)
{
	__u64 tag_packets = slot->tag_packets;

	if (!tag_packets)
		return;
	tally_add_source(tally, tag_packets >> XDPTOP_META_SHIFT, slot->addr,
			 tag_packets & XDPTOP_PACKETS_MASK, slot->bytes);
	if (!keep)
		memset(slot, 0, sizeof(*slot));
}

/* How far ahead the drain fetches: slots at twice this distance, the tally
 * entries of the slots at this distance (their keys are in cache by then). */
#define AHEAD 8

static void prefetch_tally_entry(const struct xdptop_slot *slot, const struct tally *tally)
{
	__u64 tag_packets = slot->tag_packets;

	if (tag_packets)
		tally_prefetch(tally, tag_packets >> XDPTOP_META_SHIFT, slot->addr);
}

/* A sparse region is read through its claim log, a fuller one in order (the
 * claim log only holds the first claims). Either way the misses, on slots
 * and on the tally, are overlapped by fetching ahead. */
static void drain_region(struct table *t, size_t region, __u64 claimed, struct tally *tally)
{
	struct xdptop_slot *slots = &t->slots[region * t->region_slots];
	const __u64 *log = &t->claims[region * t->claim_log_len];

	if (claimed <= t->claim_log_len) {
		for (__u64 i = 0; i < claimed; i++) {
			if (i + 2 * AHEAD < claimed)
				__builtin_prefetch(&slots[log[i + 2 * AHEAD]], 1);
			if (i + AHEAD < claimed)
				prefetch_tally_entry(&slots[log[i + AHEAD]], tally);
			drain_slot(&slots[log[i]], tally, t->keep_retired);
		}
		return;
	}
	for (__u32 i = 0; i < t->region_slots; i++) {
		if (i + AHEAD < t->region_slots)
			prefetch_tally_entry(&slots[i + AHEAD], tally);
		drain_slot(&slots[i], tally, t->keep_retired);
	}
}

void table_drain(struct table *t, __u32 epoch, struct tally *tally)
{
	for (__u32 cpu = 0; cpu < t->nr_cpus; cpu++) {
		size_t region = (size_t)epoch * t->nr_cpus + cpu;
		struct xdptop_cpu_stats *stats = &t->stats[region];
		struct tally_counters counts = { stats->total, stats->other, stats->untracked };

		tally_add_counters(tally, &counts);
		drain_region(t, region, stats->claimed, tally);
		if (!t->keep_retired)
			memset(stats, 0, sizeof(*stats));
	}
}

void table_clear(struct table *t, __u32 epoch)
{
	for (__u32 cpu = 0; cpu < t->nr_cpus; cpu++) {
		size_t region = (size_t)epoch * t->nr_cpus + cpu;
		struct xdptop_slot *slots = &t->slots[region * t->region_slots];
		const __u64 *log = &t->claims[region * t->claim_log_len];
		struct xdptop_cpu_stats *stats = &t->stats[region];

		if (stats->claimed <= t->claim_log_len)
			for (__u64 i = 0; i < stats->claimed; i++)
				memset(&slots[log[i]], 0, sizeof(*slots));
		else
			memset(slots, 0, t->region_slots * sizeof(*slots));
		/* Last: until then, claimed says which slots to clear. */
		memset(stats, 0, sizeof(*stats));
	}
}
