/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Command line -> one checked configuration. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "collector.h"
#include "key.h"
#include "msg.h"
#include "report.h"

/* Exit codes, one per failure class; --help lists them. They never reach
 * argp as error numbers (cli.c keeps them apart). */
enum xdptop_exit {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,	/* an unexpected failure while running */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_PRIVILEGE = 3,	/* missing CAP_BPF / CAP_NET_ADMIN */
	EXIT_INTERFACE = 4,	/* no such interface, busy, mode unsupported */
	EXIT_BPF = 5,		/* BPF unavailable or the program rejected */
	EXIT_ALL_GONE = 6,	/* every interface disappeared while running */
	EXIT_LISTEN = 7,	/* --listen: cannot listen on that address */
};

enum attach_mode { MODE_AUTO, MODE_NATIVE, MODE_GENERIC };
enum output_format { FORMAT_LOG, FORMAT_JSON, FORMAT_TOP, FORMAT_NONE };
/* What a run does: count (the default), or tend pinned state. */
enum action { ACTION_COUNT, ACTION_STATUS, ACTION_DETACH };

#define MAX_INTERFACES 64
#define MAX_SOURCES_LIMIT (1U << 24)

/* The longest name of an interface: an altname's (ALTIFNAMSIZ, less its
 * terminating zero). */
#define IFACE_NAME_MAX 127

struct iface_arg {
	const char *name;		/* as given; the kernel's for an index */
	/* name with control characters escaped: what stderr, log lines and
	 * the view show (JSON and Prometheus escape it their own way) */
	const char *shown;
	char escaped[QUOTED_LEN(IFACE_NAME_MAX)];
	char kernel_name[IF_NAMESIZE];	/* its name, not an altname */
	int ifindex;
};

/* --listen [ADDR:]PORT: where the Prometheus exporter listens. */
struct listen_spec {
	struct sockaddr_storage addr;
	socklen_t len;			/* 0: no exporter */
	char text[64];			/* as "198.18.0.1:9100" or "[::]:9100" */
};

#define METRICS_TOP_DEFAULT 1000

/* --ipfix: the flow collectors every interval's keys go to. */
struct ipfix_config {
	struct collector_spec to[IPFIX_COLLECTORS_MAX];
	int n;			/* 0: no export */
	__u32 mtu;		/* the largest IP packet a message may take */
	__u32 domain;		/* observation domain id */
};

/* The smallest MTU an IPv4 host must take (RFC 791): room for every
 * template xdptop writes and a record. */
#define IPFIX_MTU_MIN 576
#define IPFIX_MTU_DEFAULT 1400
#define IPFIX_MTU_DEFAULT_TEXT "1400"

/* xdptop's run priority in a libxdp dispatcher, where lower runs first:
 * ahead of the default (50) and of programs that set their own, so it counts
 * what a filter after it drops. */
#define XDPTOP_PRIORITY 1
#define XDPTOP_PRIORITY_TEXT "1"
#define XDPTOP_PRIORITY_MAX 1000

struct config {
	struct iface_arg ifaces[MAX_INTERFACES];
	int n_ifaces;
	double interval;	/* seconds */
	__u64 count;		/* reports before exiting; 0 = until a signal */
	__u32 max_sources;
	__u32 top;		/* rows per report; 0 = every key (the view: as fit) */
	enum sort_key sort;
	struct key_spec key;
	enum attach_mode mode;
	enum output_format format;
	enum action action;
	struct listen_spec listen;
	__u32 metrics_top;	/* keys exported per interface */
	struct ipfix_config ipfix;
	const char *pin_root;	/* --pin: where on bpffs; NULL without */
	bool single_buffer;	/* the cheaper program, which caps the link's MTU */
	bool multiprog;		/* through a dispatcher even on a free interface */
	__u32 priority;		/* in a dispatcher */
	bool force;
	bool verbose;
};

/* Fills cfg from argv. Returns EXIT_OK, or the exit code after printing one
 * line that names the cause and the fix. --help and --version exit here. */
int cli_parse(int argc, char **argv, struct config *cfg);

const char *mode_name(enum attach_mode mode);

#endif /* CLI_H */
