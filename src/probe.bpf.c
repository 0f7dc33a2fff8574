// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What kernel.c asks the kernel to load to learn whether it lets one
 * program replace a function of another (freplace), which libxdp's
 * dispatcher is made of: a slot, as the dispatcher's, and a program for it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) int probe_slot(struct xdp_md *ctx)
{
	volatile int ret = XDP_PASS;

	return ctx ? ret : XDP_ABORTED;
}

SEC("xdp")
int probe_dispatcher(struct xdp_md *ctx)
{
	return probe_slot(ctx);
}

SEC("freplace/probe_slot")
int probe_component(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
