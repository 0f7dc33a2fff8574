// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* argp options -> struct config, with every value checked. */
#include <argp.h>
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include "cli.h"
#include "iface.h"
#include "pin.h"

#ifndef XDPTOP_VERSION
#define XDPTOP_VERSION "0.1.0"
#endif

const char *argp_program_version = "xdptop " XDPTOP_VERSION;

/* argp prints the text before \v above the options, the rest below them. */
static const char doc[] =
"See who sends traffic to a host, at line rate, with XDP.\n"
"\n"
"Attaches a counting XDP program to each IFACE (it passes every frame on) and\n"
"reports, every interval, each key seen (source address by default) with its\n"
"packets, bytes and rates, busiest first, plus the frames that have no IP\n"
"address (\"other\"), those of keys not listed (\"untracked\": no room, or\n"
"forgotten after being idle to make room) and the total. keys + other +\n"
"untracked == total, exactly, in every report. In a terminal it shows a live\n"
"view (keys: s or < > sort, r reverse, p or space pause, arrows or j/k select,\n"
"Esc unselect, K another key, q quit); otherwise it writes log lines. Where an\n"
"xdptop started with --pin counts IFACE, it shows that one's counts instead,\n"
"read-only."
"\v"
"EXAMPLES:\n"
"    xdptop eth0                  # live view (in a terminal; else log lines)\n"
"    xdptop -k dst --prefix4 24 eth0   # which /24 is attacked, by rate\n"
"    xdptop -k src,proto,dport eth0    # who sends what to which port\n"
"    xdptop --prefix6 64 --vlan eth0   # IPv6 hosts by /64, VLANs apart\n"
"    xdptop -f json -i 10 eth0 eth1    # JSON Lines every 10 s, per interface\n"
"    xdptop -f log -c 1 -i 5 -t 20 eth0  # the 20 busiest now, after 5 s\n"
"    xdptop --pin -f none --listen 0.0.0.0:9464 eth0   # a Prometheus exporter\n"
"                                 # whose counts survive restarts\n"
"    xdptop -f none --ipfix collector.example:4739 eth0   # every key, every\n"
"                                 # second, to a flow collector (nfacctd)\n"
"\n"
"EXIT STATUS:\n"
"    0  success\n"
"    1  runtime failure\n"
"    2  bad command line\n"
"    3  missing privilege (CAP_BPF, CAP_NET_ADMIN; CAP_PERFMON with\n       --single-buffer)\n"
"    4  interface problem (missing, busy with an XDP program, mode unsupported,\n"
"       or taken over by another program while running)\n"
"    5  BPF unavailable, or the kernel rejected the program\n"
"    6  every interface disappeared while running\n"
"    7  cannot listen on the --listen address";

static const char args_doc[] = "IFACE...";

enum { OPT_FORCE = 256, OPT_PREFIX4, OPT_PREFIX6, OPT_VLAN, OPT_SINGLE_BUFFER, OPT_PIN,
       OPT_STATUS, OPT_DETACH, OPT_LISTEN, OPT_METRICS_TOP, OPT_MULTIPROG, OPT_PRIORITY,
       OPT_IPFIX, OPT_IPFIX_MTU, OPT_IPFIX_DOMAIN };

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Reports:", 1 },
	{ "format", 'f', "FORMAT", 0, "top (live view: the default in a terminal), log (the "
	  "default otherwise), json (JSON Lines), or none (with --listen)", 1 },
	{ "interval", 'i', "SECONDS", 0, "Report every SECONDS (default 1; fractions allowed)", 1 },
	{ "count", 'c', "N", 0, "Exit after N reports (default: run until Ctrl-C)", 1 },
	{ "sort", 's', "BY", 0, "Rank keys by pps (default: the last interval's packets), bps, "
	  "packets or bytes (cumulative)", 1 },
	{ "top", 't', "N", 0, "Show only the N first keys (default: all; the view: as many as "
	  "fit)", 1 },
	{ "listen", OPT_LISTEN, "[ADDR:]PORT", 0, "Serve Prometheus metrics on /metrics (a port "
	  "alone: 127.0.0.1; 0.0.0.0:PORT or [::]:PORT for every address)", 1 },
	{ "metrics-top", OPT_METRICS_TOP, "N", 0, "Keys exported per interface, the busiest "
	  "(default 1000); the others' frames count as unlisted", 1 },
	{ "ipfix", OPT_IPFIX, "HOST:PORT", 0, "Send every key's counts of every interval to "
	  "this IPFIX flow collector over UDP ([IPV6]:PORT; repeat for several)", 1 },
	{ "ipfix-mtu", OPT_IPFIX_MTU, "BYTES", 0, "The largest IP packet an IPFIX message may "
	  "take (default " IPFIX_MTU_DEFAULT_TEXT ")", 1 },
	{ "ipfix-domain", OPT_IPFIX_DOMAIN, "N", 0, "The IPFIX observation domain id (default: "
	  "one from the interfaces' names and the key, so that each xdptop of a host has its "
	  "own)", 1 },
	{ NULL, 0, NULL, 0, "What is counted:", 2 },
	{ "key", 'k', "FIELDS", 0, "What a key is, fields with commas: src (the default: the "
	  "source address), dst, proto, sport, dport, tcpflags (src,proto,dport; the 5-tuple "
	  "src,dst,proto,sport,dport)", 2 },
	{ "prefix4", OPT_PREFIX4, "LEN", 0, "Count IPv4 addresses by their /LEN prefix (1-32)", 2 },
	{ "prefix6", OPT_PREFIX6, "LEN", 0, "Count IPv6 addresses by their /LEN prefix (1-128)", 2 },
	{ "vlan", OPT_VLAN, NULL, 0, "Tell keys apart by their VLAN ids too", 2 },
	{ "max-sources", 'n', "N", 0, "Keys tracked, by all interfaces together (default 65536)", 2 },
	{ NULL, 0, NULL, 0, "Attaching:", 3 },
	{ "mode", 'm', "MODE", 0, "auto (default: native, else generic), native or generic", 3 },
	{ "force", OPT_FORCE, NULL, 0, "Replace an XDP program already on an interface", 3 },
	{ "multiprog", OPT_MULTIPROG, NULL, 0, "Attach through a libxdp dispatcher, so that "
	  "other XDP programs can join (xdp-loader load); an interface that has one is joined "
	  "without it", 3 },
	{ "priority", OPT_PRIORITY, "N", 0, "xdptop's place in a dispatcher: libxdp runs "
	  "lower first (default " XDPTOP_PRIORITY_TEXT ", before a filter can drop a frame)", 3 },
	{ "single-buffer", OPT_SINGLE_BUFFER, NULL, 0, "Attach the single-buffer program: a few "
	  "ns less per frame, but while it is attached natively the link refuses an MTU that "
	  "needs multi-buffer frames (a veth's peer: above ~3.5 KB)", 3 },
	{ "pin", OPT_PIN, "DIR", OPTION_ARG_OPTIONAL, "Pin the program, its link and its counts "
	  "under DIR (a BPF filesystem; default " PIN_ROOT_DEFAULT "): they keep counting when "
	  "xdptop exits or dies, and the next xdptop --pin adopts them, counts included", 3 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 3 },
	{ NULL, 0, NULL, 0, "Pinned state (with --pin=DIR when not the default):", 4 },
	{ "status", OPT_STATUS, NULL, 0, "List the XDP programs attached in this network "
	  "namespace, and what xdptop has pinned", 4 },
	{ "detach", OPT_DETACH, NULL, 0, "Detach xdptop's program from each IFACE and remove "
	  "what it pinned", 4 },
	{ 0 },
};


/* Prints "xdptop: <cause>: <fix>" and returns the usage exit code. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "xdptop: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return EXIT_USAGE;
}

/* A whole number in [min, max]; strtoull alone accepts "-1" and " 7".
 * Returns 0, -EINVAL (not one, or below min) or -ERANGE (above max). */
static int parse_whole_quiet(const char *arg, __u64 min, __u64 max, __u64 *out)
{
	bool digits = *arg >= '0' && *arg <= '9';
	unsigned long long v;
	char *end = NULL;

	errno = 0;
	v = digits ? strtoull(arg, &end, 10) : 0;
	if (!digits || *end || (v < min && errno != ERANGE))
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_whole(const char *opt, const char *arg, __u64 min, __u64 max, __u64 *out)
{
	int err = parse_whole_quiet(arg, min, max, out);

	if (err == -EINVAL)
		return usage_error("%s must be a whole number >= %llu, not \"%s\"", opt,
				   (unsigned long long)min, arg);
	if (err)
		return usage_error("%s %s is too large: the most is %llu", opt, arg,
				   (unsigned long long)max);
	return 0;
}

static int parse_interval(const char *arg, double *out)
{
	/* Decimal only: strtod would also take " 1", "0x10", "inf" and "nan". */
	bool decimal = ((*arg >= '0' && *arg <= '9') || *arg == '.') && !strpbrk(arg, "xX");
	char *end = NULL;
	double v;

	errno = 0;
	v = decimal ? strtod(arg, &end) : 0;
	if (!decimal || *end || errno || v < 0.01 || v > 86400)
		return usage_error("--interval must be a number of seconds from 0.01 to 86400, "
				   "not \"%s\"", arg);
	*out = v;
	return 0;
}

/* --format given: else the view in a terminal, log lines otherwise. */
static bool format_given;
/* --ipfix-mtu or --ipfix-domain given, which need --ipfix; the domain,
 * else one of the interfaces and the key. */
static bool ipfix_options_given, domain_given;

static int parse_format(const char *arg, struct config *cfg)
{
	if (!strcmp(arg, "log"))
		cfg->format = FORMAT_LOG;
	else if (!strcmp(arg, "json"))
		cfg->format = FORMAT_JSON;
	else if (!strcmp(arg, "top"))
		cfg->format = FORMAT_TOP;
	else if (!strcmp(arg, "none"))
		cfg->format = FORMAT_NONE;
	else
		return usage_error("unknown --format \"%s\": use top, log, json or none", arg);
	format_given = true;
	return 0;
}

/* "9100", "198.18.0.1:9100", "[2001:db8::1]:9100": an address literal,
 * never a name to resolve. */
static int parse_listen(const char *arg, struct listen_spec *l)
{
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	const char *colon = strrchr(arg, ':'), *port_text = colon ? colon + 1 : arg;
	struct sockaddr_in *in = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&l->addr;
	size_t host_len = colon ? (size_t)(colon - arg) : 0;
	__u64 port = 0;

	if (colon && (host_len == 0 || host_len >= sizeof(host)))
		goto bad;
	if (colon)
		snprintf(host, sizeof(host), "%.*s", (int)host_len, arg);
	if (parse_whole_quiet(port_text, 1, 65535, &port))
		goto bad;
	memset(l, 0, sizeof(*l));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			goto bad;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		l->len = sizeof(*in6);
		snprintf(l->text, sizeof(l->text), "[%s]:%u", host + 1, (unsigned)port);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
		goto bad;
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	l->len = sizeof(*in);
	snprintf(l->text, sizeof(l->text), "%s:%u", host, (unsigned)port);
	return 0;
bad:
	return usage_error("--listen \"%s\" is not [ADDR:]PORT: use a port (9100: loopback "
			   "only), 0.0.0.0:9100 or [::]:9100 (every address), or one address",
			   arg);
}

/* --ipfix HOST:PORT, resolved now: a name that does not resolve fails
 * before anything is attached. */
static int add_collector(struct ipfix_config *ipfix, const char *arg)
{
	struct collector_spec *spec = &ipfix->to[ipfix->n];
	int err;

	if (ipfix->n == IPFIX_COLLECTORS_MAX)
		return usage_error("too many --ipfix collectors: at most %d, \"%s\" is one too "
				   "many", IPFIX_COLLECTORS_MAX, arg);
	err = collector_parse(arg, spec);
	if (err == -ERANGE)
		return usage_error("--ipfix \"%s\": the port must be 1-65535", arg);
	if (err)
		return usage_error("--ipfix \"%s\" is not HOST:PORT: use a name or an address and "
				   "a port (collector.example:4739, 198.18.0.2:4739, "
				   "[2001:db8::2]:4739)", arg);
	err = collector_resolve(spec);
	if (err)
		return usage_error("cannot resolve --ipfix host \"%s\" (%s): check the name, or "
				   "give the collector's address", spec->host, gai_strerror(err));
	for (int i = 0; i < ipfix->n; i++)
		if (ipfix->to[i].len == spec->len && !memcmp(&ipfix->to[i].addr, &spec->addr,
							     spec->len))
			return usage_error("--ipfix \"%s\" is \"%s\" again: name each collector "
					   "once", arg, ipfix->to[i].text);
	ipfix->n++;
	return EXIT_OK;
}

/* A prefix length from 1 to max: /0 would count every address as one. */
static int parse_prefix(const char *opt, const char *arg, __u64 max, __u8 *out)
{
	__u64 v = 0;
	int err = parse_whole(opt, arg, 1, max, &v);

	*out = v;
	return err;
}

/* --key's list of fields: a name it does not know, or twice, is named. */
static int parse_key_fields(const char *arg, __u32 *fields)
{
	char bad[32];
	int err = key_parse_fields(arg, fields, bad, sizeof(bad));

	if (err == -EEXIST)
		return usage_error("--key \"%s\" names %s twice: name each field once", arg, bad);
	if (err)
		return usage_error("unknown --key field \"%s\" in \"%s\": use src, dst, proto, "
				   "sport, dport or tcpflags, comma-separated (src,proto,dport)",
				   bad, arg);
	return EXIT_OK;
}

/* Resolves name now, so that a typo fails before anything is loaded, and so
 * that two names of one interface (an altname) are caught as one. */
static int add_interface(struct config *cfg, const char *name)
{
	struct iface_arg *arg = &cfg->ifaces[cfg->n_ifaces];
	int ifindex;

	if (cfg->n_ifaces == MAX_INTERFACES)
		return usage_error("too many interfaces: at most %d, \"%s\" is one too many",
				   MAX_INTERFACES, name);
	ifindex = iface_index(name, arg->kernel_name);
	/* What was pinned for an interface since gone is named by its index. */
	if (!ifindex && cfg->action == ACTION_DETACH && !name[strspn(name, "0123456789")] &&
	    strlen(name) < 10) {
		ifindex = atoi(name);
		snprintf(arg->kernel_name, sizeof(arg->kernel_name), "%s", name);
	}
	if (!ifindex) {
		fprintf(stderr, "xdptop: no interface named \"%s\": list them with 'ip link'\n", name);
		return EXIT_INTERFACE;
	}
	for (int i = 0; i < cfg->n_ifaces; i++) {
		const char *seen = cfg->ifaces[i].name;

		if (cfg->ifaces[i].ifindex != ifindex)
			continue;
		if (!strcmp(seen, name))
			return usage_error("interface \"%s\" is named twice: name it once", name);
		return usage_error("interface \"%s\" is \"%s\" named twice: name it once", name,
				   seen);
	}
	/* An index says nothing to a reader: reports name the interface. */
	arg->name = name[strspn(name, "0123456789")] ? name : arg->kernel_name;
	arg->shown = printable(arg->name, arg->escaped, sizeof(arg->escaped));
	arg->ifindex = ifindex;
	cfg->n_ifaces++;
	return 0;
}

/* parse_option()'s answer for a key it does not handle. */
#define UNKNOWN_KEY (-1)

/* Returns EXIT_OK, an exit code after one line naming the cause and the
 * fix, or UNKNOWN_KEY. */
static int parse_option(int key, char *arg, struct config *cfg)
{
	__u64 v = 0;
	int err;

	switch (key) {
	case 'i':
		return parse_interval(arg, &cfg->interval);
	case 'c':
		return parse_whole("--count", arg, 1, UINT64_MAX, &cfg->count);
	case 'n':
		err = parse_whole("--max-sources", arg, 1, MAX_SOURCES_LIMIT, &v);
		cfg->max_sources = v;
		return err;
	case 't':
		err = parse_whole("--top", arg, 1, UINT32_MAX, &v);
		cfg->top = v;
		return err;
	case 'f':
		return parse_format(arg, cfg);
	case 's':
		err = sort_key_parse(arg);
		if (err < 0)
			return usage_error("unknown --sort \"%s\": use pps, bps, packets or bytes", arg);
		cfg->sort = err;
		return 0;
	case 'k':
		return parse_key_fields(arg, &cfg->key.fields);
	case OPT_PREFIX4:
		return parse_prefix("--prefix4", arg, 32, &cfg->key.prefix4);
	case OPT_PREFIX6:
		return parse_prefix("--prefix6", arg, 128, &cfg->key.prefix6);
	case OPT_VLAN:
		cfg->key.vlan = true;
		return 0;
	case 'm':
		if (!strcmp(arg, "auto"))
			cfg->mode = MODE_AUTO;
		else if (!strcmp(arg, "native"))
			cfg->mode = MODE_NATIVE;
		else if (!strcmp(arg, "generic"))
			cfg->mode = MODE_GENERIC;
		else
			return usage_error("unknown --mode \"%s\": use auto, native or generic", arg);
		return 0;
	case OPT_FORCE:
		cfg->force = true;
		return 0;
	case OPT_SINGLE_BUFFER:
		cfg->single_buffer = true;
		return 0;
	case OPT_MULTIPROG:
		cfg->multiprog = true;
		return 0;
	case OPT_PRIORITY:
		err = parse_whole("--priority", arg, 0, XDPTOP_PRIORITY_MAX, &v);
		cfg->priority = v;
		return err;
	case 'v':
		cfg->verbose = true;
		return 0;
	case OPT_PIN:
		cfg->pin_root = arg ? arg : PIN_ROOT_DEFAULT;
		if (arg && *arg != '/')
			return usage_error("--pin=%s must be an absolute path", arg);
		if (strlen(cfg->pin_root) > PIN_ROOT_MAX)
			return usage_error("--pin=DIR is %zu characters long: the most is %zu",
					   strlen(cfg->pin_root), PIN_ROOT_MAX);
		return 0;
	case OPT_LISTEN:
		return parse_listen(arg, &cfg->listen);
	case OPT_IPFIX:
		return add_collector(&cfg->ipfix, arg);
	case OPT_IPFIX_MTU:
		ipfix_options_given = true;
		err = parse_whole("--ipfix-mtu", arg, IPFIX_MTU_MIN, 65535, &v);
		cfg->ipfix.mtu = v;
		return err;
	case OPT_IPFIX_DOMAIN:
		ipfix_options_given = true;
		domain_given = true;
		err = parse_whole("--ipfix-domain", arg, 1, UINT32_MAX, &v);
		cfg->ipfix.domain = v;
		return err;
	case OPT_METRICS_TOP:
		err = parse_whole("--metrics-top", arg, 1, MAX_SOURCES_LIMIT, &v);
		cfg->metrics_top = v;
		return err;
	case OPT_STATUS:
		cfg->action = ACTION_STATUS;
		return 0;
	case OPT_DETACH:
		cfg->action = ACTION_DETACH;
		return 0;
	case ARGP_KEY_ARG:
		return add_interface(cfg, arg);
	case ARGP_KEY_NO_ARGS:
		if (cfg->action == ACTION_STATUS)
			return 0;
		fprintf(stderr, "xdptop: no interface given: name one or more, e.g. 'xdptop eth0' "
				"(see 'ip link'); for the service, set XDPTOP_IFACES in "
				"/etc/default/xdptop\n");
		return EXIT_USAGE;
	default:
		return UNKNOWN_KEY;
	}
}

/* What argp's parser fills: the config, and the exit code of the option
 * that failed. argp takes only its own error numbers back (an exit code
 * such as 7 would read as ARGP_ERR_UNKNOWN, E2BIG): a failed option is
 * EINVAL to it, and the exit code waits here. */
struct parse {
	struct config *cfg;
	int exit;
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct parse *p = state->input;
	int code = parse_option(key, arg, p->cfg);

	if (code == UNKNOWN_KEY)
		return ARGP_ERR_UNKNOWN;
	p->exit = code;
	return code ? EINVAL : 0;
}

/* FNV-1a of s, on from h. */
static __u32 fnv1a(__u32 h, const char *s)
{
	do	/* its terminating zero too: "ab" "c" is not "a" "bc" */
		h = (h ^ (unsigned char)*s) * 16777619u;
	while (*s++);
	return h;
}

/* An observation domain of the interfaces' names and the key: the same on
 * every restart of the same command, and another for another xdptop of
 * the host (another interface, or another key beside with --multiprog), so
 * that a collector never mixes their templates. Never 0, which RFC 7011
 * keeps for records of no domain. */
static __u32 default_domain(const struct config *cfg)
{
	char fields[KEY_FIELDS_TEXT_LEN], text[KEY_FIELDS_TEXT_LEN + 32];
	__u32 h = 2166136261u;

	snprintf(text, sizeof(text), "%s/%u/%u/%d", key_format_fields(cfg->key.fields, fields),
		 cfg->key.prefix4, cfg->key.prefix6, cfg->key.vlan);
	h = fnv1a(h, text);
	for (int i = 0; i < cfg->n_ifaces; i++)
		h = fnv1a(h, cfg->ifaces[i].kernel_name);
	return h ?: 1;
}

const char *mode_name(enum attach_mode mode)
{
	switch (mode) {
	case MODE_NATIVE:
		return "native";
	case MODE_GENERIC:
		return "generic";
	default:
		return "auto";
	}
}

int cli_parse(int argc, char **argv, struct config *cfg)
{
	static const struct argp argp = { options, parse_opt, args_doc, doc, NULL, NULL, NULL };
	/* argp names the program after argv[0] ("build/xdptop: unrecognized
	 * option"); every other message says "xdptop:". */
	static char name[] = "xdptop";
	struct parse p = { .cfg = cfg };
	int err;

	*cfg = (struct config){
		.interval = 1.0,
		.max_sources = 65536,
		.sort = SORT_PPS,
		.key = KEY_SPEC_DEFAULT,
		.mode = MODE_AUTO,
		.format = FORMAT_LOG,
		.metrics_top = METRICS_TOP_DEFAULT,
		.priority = XDPTOP_PRIORITY,
		.ipfix.mtu = IPFIX_MTU_DEFAULT,
	};
	/* argp's own errors (unknown option, missing value) exit with
	 * argp_err_exit_status; ours come back from parse_opt as exit codes. */
	argp_err_exit_status = EXIT_USAGE;
	format_given = false;
	ipfix_options_given = false;
	domain_given = false;
	if (argc > 0)
		argv[0] = name;
	err = argp_parse(&argp, argc, argv, 0, NULL, &p);
	if (err)
		return p.exit ?: EXIT_USAGE;
	if (!format_given && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
		cfg->format = FORMAT_TOP;
	if (cfg->format == FORMAT_TOP && !(isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)))
		return usage_error("--format top needs a terminal on stdin and stdout: use "
				   "--format log or --format json");
	if (cfg->format == FORMAT_NONE && !cfg->listen.len && !cfg->ipfix.n &&
	    cfg->action == ACTION_COUNT)
		return usage_error("--format none shows nothing without --listen or --ipfix: add "
				   "--listen PORT or --ipfix HOST:PORT, or choose another format");
	if (ipfix_options_given && !cfg->ipfix.n)
		return usage_error("--ipfix-mtu and --ipfix-domain need --ipfix: add --ipfix "
				   "HOST:PORT");
	if (!domain_given)
		cfg->ipfix.domain = default_domain(cfg);
	return EXIT_OK;
}
