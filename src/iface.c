// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "iface.h"

#ifndef ALTIFNAMSIZ
#define ALTIFNAMSIZ 128
#endif

/* RTM_GETLINK by altname (Linux 5.5): the one way to a name longer than
 * IFNAMSIZ. Returns its index, or 0. */
static int altname_index(const char *name)
{
	size_t len = strlen(name) + 1;
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attr[RTA_SPACE(ALTIFNAMSIZ)];
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)) + RTA_SPACE(len),
			.nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	struct rtattr *rta = (struct rtattr *)req.attr;
	char reply[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlmsghdr *nh = (const struct nlmsghdr *)reply;
	ssize_t n;
	int fd;

	if (len > ALTIFNAMSIZ)
		return 0;
	rta->rta_type = IFLA_ALT_IFNAME;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), name, len);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return 0;
	n = send(fd, &req, req.nh.nlmsg_len, 0) < 0 ? -1 : recv(fd, reply, sizeof(reply), 0);
	close(fd);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct ifinfomsg)) || !NLMSG_OK(nh, (size_t)n) ||
	    nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	return ((const struct ifinfomsg *)NLMSG_DATA(nh))->ifi_index;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int index_of(const char *arg)
{
	int ifindex = if_nametoindex(arg);

	if (ifindex)
		return ifindex;
	if (all_digits(arg) && strlen(arg) < 10)
		return atoi(arg);
	return strlen(arg) >= IF_NAMESIZE ? altname_index(arg) : 0;
}

int iface_index(const char *arg, char kernel_name[IF_NAMESIZE])
{
	int ifindex = index_of(arg);

	return ifindex && if_indextoname(ifindex, kernel_name) ? ifindex : 0;
}
