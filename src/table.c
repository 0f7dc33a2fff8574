// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reads the XDP program's counting table through mmap: no syscall per key
 * or per CPU. See table.bpf.h for the design. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "table.h"

__u32 table_region_slots(__u32 max_sources)
{
	__u32 slots = XDPTOP_PROBE_WINDOW;

	while (slots < max_sources)
		slots <<= 1;
	return slots;
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

int table_map(struct table *t, int slots_fd, int stats_fd, volatile __u32 *active_epoch,
	      __u32 nr_cpus, __u32 region_slots)
{
	size_t regions = (size_t)XDPTOP_EPOCHS * nr_cpus;

	*t = (struct table){
		.slots_len = page_round(regions * region_slots * sizeof(struct xdptop_slot)),
		.stats_len = page_round(regions * sizeof(struct xdptop_cpu_stats)),
		.active_epoch = active_epoch,
		.nr_cpus = nr_cpus,
		.region_slots = region_slots,
	};
	t->slots = map_shared(slots_fd, t->slots_len);
	t->stats = map_shared(stats_fd, t->stats_len);
	if (!t->slots || !t->stats) {
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
	if (t->stats)
		munmap(t->stats, t->stats_len);
	t->slots = NULL;
	t->stats = NULL;
}

__u32 table_flip(struct table *t)
{
	__u32 retired = *t->active_epoch & 1;

	__atomic_store_n(t->active_epoch, retired ^ 1, __ATOMIC_SEQ_CST);
	return retired;
}

/* The kernel waits for an RCU grace period (synchronize_rcu) before it
 * returns from an update of a map-in-map, so that userspace knows no program
 * still uses the old inner map; XDP programs run inside RCU read sections.
 * The kernel's own selftests use the same property. One pair of maps serves
 * every table. */
int table_grace_period(void)
{
	static int outer_fd = -1, inner_fd = -1;
	__u32 zero = 0;

	if (outer_fd < 0) {
		LIBBPF_OPTS(bpf_map_create_opts, opts);

		inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdptop_grace_in", 4, 4, 1, NULL);
		if (inner_fd < 0)
			return inner_fd;
		opts.inner_map_fd = inner_fd;
		outer_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "xdptop_grace", 4, 4, 1,
					  &opts);
		if (outer_fd < 0)
			return outer_fd;
	}
	return bpf_map_update_elem(outer_fd, &zero, &inner_fd, BPF_ANY);
}

static void drain_region(struct xdptop_slot *slot, __u32 n, struct tally *tally)
{
	for (const struct xdptop_slot *end = slot + n; slot < end; slot++) {
		__u64 tag_packets = slot->tag_packets;

		if (!tag_packets)
			continue;
		tally_add_source(tally, tag_packets >> XDPTOP_TAG_SHIFT, slot->addr,
				 tag_packets & XDPTOP_PACKETS_MASK, slot->bytes);
		memset(slot, 0, sizeof(*slot));
	}
}

void table_drain(struct table *t, __u32 epoch, struct tally *tally)
{
	for (__u32 cpu = 0; cpu < t->nr_cpus; cpu++) {
		size_t region = (size_t)epoch * t->nr_cpus + cpu;
		struct xdptop_cpu_stats *stats = &t->stats[region];

		counter_merge(&tally->total, &stats->total);
		counter_merge(&tally->other, &stats->other);
		counter_merge(&tally->untracked, &stats->untracked);
		memset(stats, 0, sizeof(*stats));
		drain_region(&t->slots[region * t->region_slots], t->region_slots, tally);
	}
}
