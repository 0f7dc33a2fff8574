// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Another XDP program sharing an interface with xdptop, as a filter would:
 * it drops IPv4 UDP to port 9 (discard), and counts every frame it sees and
 * those it drops, so the tests can tell that it ran, and that xdptop
 * counted what it dropped. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

__u64 frames_seen = 0;
__u64 frames_dropped = 0;

SEC("xdp")
int foreign_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	__sync_fetch_and_add(&frames_seen, 1);
	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	if (udp->dest != bpf_htons(9))
		return XDP_PASS;
	__sync_fetch_and_add(&frames_dropped, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
