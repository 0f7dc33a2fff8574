// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A bounded frame sender for the veth benchmarks: AF_PACKET with
 * PACKET_QDISC_BYPASS, batches through sendmmsg.
 *
 *   sender -i IFACE -c COUNT [-f 4|6|6low] [-n SOURCES] [-r PPS] [-t SECONDS]
 *          [-b BATCH]
 *
 * Frames are those of frames.h (64 bytes, to 02:00:00:00:00:01, UDP to port
 * 9 of an address nobody has): frame k carries source k mod SOURCES, so
 * source i gets COUNT / SOURCES frames, plus one if i < COUNT % SOURCES.
 * A frame the device refuses (ENOBUFS: the peer's queue is full) is sent
 * again, so every frame counted was taken by the veth and reaches the other
 * side. Stops after COUNT frames or SECONDS (default 60), whichever first;
 * -r paces to PPS frames per second. Prints one line:
 *   sent=N elapsed=S pps=R retries=K sources=N len=L */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include "frames.h"

#define MAX_BATCH 256

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_until(double when)
{
	struct timespec t = { .tv_sec = (time_t)when,
			      .tv_nsec = (long)((when - (time_t)when) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

/* Writes source i into frame buf (a copy of f->buf). */
static void set_source(const struct frame *f, uint8_t *buf, __u32 i)
{
	__u32 v = htonl(f->base + i);

	memcpy(buf + f->src_off, &v, 4);
	if (f->family == 4) {
		uint8_t *ip = buf + f->src_off - 12;

		ip[10] = ip[11] = 0;
		put16(ip + 10, frame_csum(ip, 20, 0));
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: sender -i IFACE -c COUNT [-f 4|6|6low] [-n SOURCES] [-r PPS] "
			"[-t SECONDS] [-b BATCH]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static uint8_t bufs[MAX_BATCH][128];
	static struct frame f;
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	const char *ifname = NULL, *family = "4";
	unsigned long long count = 0, sent = 0, retries = 0;
	unsigned long sources = 1, batch = 64;
	double rate = 0, limit = 60, start, deadline;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int c, fd, one = 1;

	while ((c = getopt(argc, argv, "i:c:f:n:r:t:b:")) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 'f': family = optarg; break;
		case 'n': sources = strtoul(optarg, NULL, 0); break;
		case 'r': rate = atof(optarg); break;
		case 't': limit = atof(optarg); break;
		case 'b': batch = strtoul(optarg, NULL, 0); break;
		default: return usage();
		}
	}
	if (!ifname || !count || !sources || !batch || batch > MAX_BATCH || limit <= 0 ||
	    limit > 600)
		return usage();
	if (!strcmp(family, "4"))
		frame_build(&f, K_IPV4);
	else if (!strcmp(family, "6"))
		frame_build(&f, K_IPV6);
	else if (!strcmp(family, "6low"))
		frame_build(&f, K_IPV6_LOW);
	else
		return usage();
	/* IPv4 sources stay in 198.18.0.0/16, clear of the destination. */
	if (f.family == 4 && sources > 65536) {
		fprintf(stderr, "sender: at most 65536 IPv4 sources (198.18.0.0/16)\n");
		return 2;
	}

	ll.sll_ifindex = if_nametoindex(ifname);
	if (!ll.sll_ifindex) {
		fprintf(stderr, "sender: no interface %s\n", ifname);
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ll, sizeof(ll))) {
		perror("sender: AF_PACKET socket");
		return 1;
	}
	for (unsigned long i = 0; i < batch; i++) {
		memcpy(bufs[i], f.buf, f.len);
		iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = f.len };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}

	start = now();
	deadline = start + limit;
	while (sent < count) {
		unsigned long n = count - sent < batch ? count - sent : batch, off = 0;
		double t;

		for (unsigned long i = 0; i < n; i++)
			set_source(&f, bufs[i], (sent + i) % sources);
		if (rate > 0)
			sleep_until(start + sent / rate);
		while (off < n) {
			int r = sendmmsg(fd, msgs + off, n - off, 0);

			if (r > 0) {
				off += r;
				continue;
			}
			if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				perror("sender: sendmmsg");
				return 1;
			}
			retries++;
			if (now() > deadline)
				break;
		}
		sent += off;
		t = now();
		if (t > deadline)
			break;
	}
	double elapsed = now() - start;

	printf("sent=%llu elapsed=%.6f pps=%.0f retries=%llu sources=%lu len=%u\n", sent, elapsed,
	       sent / elapsed, retries, sources, f.len);
	return sent == count ? 0 : 3;
}
