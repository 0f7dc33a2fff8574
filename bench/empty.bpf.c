// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The empty XDP program veth.sh and peers.sh attach with 'ip link ... xdp
 * obj' as the baseline: the cost of having any XDP program on the device. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_empty(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
