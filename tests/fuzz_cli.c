// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer target for the option parser: the input is a command line, its
 * arguments separated by NUL bytes (argv[0] is "xdptop"). cli_parse() must
 * either refuse it with a usage or interface exit code, or return a config
 * that every later stage can trust; anything else aborts.
 *
 * argp exits the process on --help, --usage, --version and on its own errors
 * (unknown option, missing value), and a fuzz target must return. So the link
 * wraps argp_parse (-Wl,--wrap=argp_parse, tests/tests.mk) and adds two flags
 * to cli.c's call: ARGP_NO_EXIT, under which argp still stops at the first
 * error and prints the same lines, then returns EINVAL where xdptop exits
 * with argp_err_exit_status; and ARGP_NO_HELP, which drops argp's own options:
 * --help, --usage, --version (print and exit: nothing of ours), the hidden
 * --program-name (it keeps a pointer into argv in a libc global) and the
 * hidden --HANG (it sleeps for an hour). cli.c is fuzzed as it ships: no
 * hook, no #ifdef. Interface names are resolved for real (lookups only);
 * --ipfix hosts too, but never through DNS: the link also wraps
 * getaddrinfo, to which the wrapper adds AI_NUMERICHOST (a fuzzed name
 * must not become a query that leaves the machine). */
#include <argp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <netinet/in.h>
#include "cli.h"
#include "fuzz.h"

/* Above MAX_INTERFACES: one interface too many is in reach (given 65 of them). */
#define MAX_ARGS 128

error_t __real_argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags,
			  int *end_index, void *input);
error_t __wrap_argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags,
			  int *end_index, void *input);
int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res)
{
	struct addrinfo numeric = *hints;

	numeric.ai_flags |= AI_NUMERICHOST;
	return __real_getaddrinfo(node, service, &numeric, res);
}

error_t __wrap_argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags,
			  int *end_index, void *input)
{
	return __real_argp_parse(argp, argc, argv, flags | ARGP_NO_EXIT | ARGP_NO_HELP,
				 end_index, input);
}

/* --listen: an address http_listen() can bind, and its text for messages. */
static bool check_listen(const struct listen_spec *l)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&l->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&l->addr;

	if (!memchr(l->text, '\0', sizeof(l->text)) || !l->text[0])
		return false;
	if (l->addr.ss_family == AF_INET)
		return l->len == sizeof(*in) && in->sin_port;
	return l->addr.ss_family == AF_INET6 && l->len == sizeof(*in6) && in6->sin6_port;
}

/* --ipfix: collectors out_ipfix.c can send to, each once. */
static void check_ipfix(const struct ipfix_config *x)
{
	require(x->n >= 0 && x->n <= IPFIX_COLLECTORS_MAX);
	require(x->mtu >= IPFIX_MTU_MIN && x->mtu <= 65535 && x->domain);
	for (int i = 0; i < x->n; i++) {
		const struct collector_spec *c = &x->to[i];
		const struct sockaddr_in *in = (const struct sockaddr_in *)&c->addr;
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&c->addr;

		require(memchr(c->text, '\0', sizeof(c->text)) && c->text[0] && c->host[0]);
		if (c->addr.ss_family == AF_INET)
			require(c->len == sizeof(*in) && in->sin_port);
		else
			require(c->addr.ss_family == AF_INET6 && c->len == sizeof(*in6) &&
				in6->sin6_port);
		for (int j = 0; j < i; j++)
			require(x->to[j].len != c->len || memcmp(&x->to[j].addr, &c->addr, c->len));
	}
}

/* What main.c and the modules after it take for granted of a parsed config. */
static void check_config(const struct config *cfg, char **argv, int argc)
{
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	require(cfg->action >= ACTION_COUNT && cfg->action <= ACTION_DETACH);
	/* --status alone takes no interface. */
	require(cfg->n_ifaces >= (cfg->action != ACTION_STATUS) && cfg->n_ifaces <= MAX_INTERFACES);
	require(!cfg->pin_root || cfg->pin_root[0] == '/');
	require(cfg->interval >= 0.01 && cfg->interval <= 86400);	/* false for NaN too */
	require(cfg->max_sources >= 1 && cfg->max_sources <= MAX_SOURCES_LIMIT);
	require(cfg->sort >= SORT_PPS && cfg->sort <= SORT_BYTES);
	require(cfg->key.fields && !(cfg->key.fields & ~(XDPTOP_FIELDS_ADDRESS | XDPTOP_FIELDS_L4)));
	require(cfg->key.prefix4 >= 1 && cfg->key.prefix4 <= 32);
	require(cfg->key.prefix6 >= 1 && cfg->key.prefix6 <= 128);
	require(cfg->mode >= MODE_AUTO && cfg->mode <= MODE_GENERIC);
	require(cfg->format >= FORMAT_LOG && cfg->format <= FORMAT_NONE);
	require(cfg->format != FORMAT_TOP || tty);
	/* --format none: the exporter is the output, unless nothing is counted. */
	require(cfg->format != FORMAT_NONE || cfg->listen.len || cfg->ipfix.n ||
		cfg->action != ACTION_COUNT);
	check_ipfix(&cfg->ipfix);
	require(cfg->metrics_top >= 1 && cfg->metrics_top <= MAX_SOURCES_LIMIT);
	require(!cfg->listen.len || check_listen(&cfg->listen));
	for (int i = 0; i < cfg->n_ifaces; i++) {
		const struct iface_arg *a = &cfg->ifaces[i];
		bool from_argv = false;

		for (int j = 1; j < argc; j++)
			from_argv |= a->name == argv[j];
		require(from_argv || a->name == a->kernel_name);
		require(a->shown == a->name || a->shown == a->escaped);
		for (const char *c = a->shown; *c; c++)	/* escaped: a terminal shows it */
			require((unsigned char)*c >= 0x20 && *c != 0x7f);
		require(a->ifindex > 0);
		require(memchr(a->kernel_name, '\0', IF_NAMESIZE) && a->kernel_name[0]);
		for (int j = 0; j < i; j++)
			require(cfg->ifaces[j].ifindex != a->ifindex);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char prog[] = "xdptop";
	char *argv[MAX_ARGS + 2] = { prog };
	const uint8_t *end = data + size;
	struct config cfg;
	int argc = 1, err;

	/* One allocation per argument: ASan then sees a read past any one's end. */
	while (data < end && argc <= MAX_ARGS) {
		const uint8_t *nul = memchr(data, '\0', end - data);
		size_t len = (nul ? nul : end) - data;

		argv[argc] = malloc(len + 1);
		require(argv[argc]);
		memcpy(argv[argc], data, len);
		argv[argc++][len] = '\0';
		data += len + (nul != NULL);
	}
	argv[argc] = NULL;

	err = cli_parse(argc, argv, &cfg);
	if (err == EXIT_OK)
		check_config(&cfg, argv, argc);
	else	/* ours, or argp's own error (under ARGP_NO_EXIT), a usage error too */
		require(err == EXIT_USAGE || err == EXIT_INTERFACE);

	for (int i = 1; i < argc; i++)
		free(argv[i]);
	return 0;
}
