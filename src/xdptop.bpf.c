// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xdptop's XDP programs: count every received frame under its key (or as
 * "other"), then pass it on. Counting never changes traffic.
 *
 * Four programs, of which the loader loads the two for its key's width
 * (src/program.c): one per frame kind (below) and key width. A narrow key
 * (one address: --key src, the default, or dst) has programs of its own,
 * built knowing that: no code of the other fields, and slots of one
 * element. A wide key's read its fields from key_fields. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdptop.h"
#include "parse.bpf.h"
#include "table.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int count_frame(struct xdp_md *ctx, __u32 len, bool wide)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 e = epoch & 1;
	__u32 stats_idx = xdptop_stats_index(e, iface_slot, cpu, nr_ifaces, nr_cpus);
	struct xdptop_cpu_stats *stats;
	/* Zeroed whole: clang may load a word of it that the key does not
	 * use, and a verifier refuses stack never written (Linux 6.12,
	 * without CAP_PERFMON). */
	struct xdptop_key key = {};

	stats = array_elem(&cpu_stats, stats_idx);
	if (!stats) /* cpu >= nr_cpus: only with the object's default sizes */
		return XDP_PASS;
	counter_add(&stats->total, len);

	key.meta = parse_key(ctx, len, wide, &key);
	if (key.meta == XDPTOP_FAMILY_NONE)
		counter_add(&stats->other, len);
	else if (!table_count(e, cpu, &key, wide, len))
		counter_add(&stats->untracked, len);
	return XDP_PASS;
}

/* Standard MTU: a frame is one buffer, so its length is data_end - data and
 * costs no helper call. */
SEC("xdp")
int xdptop(struct xdp_md *ctx)
{
	return count_frame(ctx, ctx->data_end - ctx->data, false);
}

SEC("xdp")
int xdptop_wide(struct xdp_md *ctx)
{
	return count_frame(ctx, ctx->data_end - ctx->data, true);
}

/* Jumbo MTU: frames may span several buffers; only the helper knows their
 * whole length. Headers past the first buffer are read with
 * bpf_xdp_load_bytes() (parse.bpf.h). */
SEC("xdp.frags")
int xdptop_frags(struct xdp_md *ctx)
{
	return count_frame(ctx, bpf_xdp_get_buff_len(ctx), false);
}

/* Program names have 15 characters at most: "xdptop_wide_frags" would be
 * cut. */
SEC("xdp.frags")
int xdptop_wfrags(struct xdp_md *ctx)
{
	return count_frame(ctx, bpf_xdp_get_buff_len(ctx), true);
}
