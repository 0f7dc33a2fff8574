// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xdptop's lifecycle: configure, attach, then every interval read the tables
 * and write a report per interface; on a signal, one last report, detach.
 * One report travels one way: tick -> table -> tally -> report -> output. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "cli.h"
#include "output.h"
#include "report.h"
#include "table.h"
#include "tally.h"

struct monitor {
	struct attachment att;
	struct table table;
	struct tally tally;
	enum link_state state;	/* LINK_ATTACHED while it is counted */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static int monitor_open(struct monitor *m, const struct config *cfg, const struct iface_arg *iface)
{
	struct table_maps maps;
	int err = attachment_open(&m->att, cfg, iface);

	if (err)
		return err;
	attachment_table_maps(&m->att, &maps);
	err = table_map(&m->table, &maps);
	err = err ?: tally_init(&m->tally, cfg->max_sources);
	if (err) {
		fprintf(stderr, "xdptop: cannot map the counting table of iface \"%s\" (%s): "
				"lower --max-sources\n", iface->name, strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static void monitor_close(struct monitor *m)
{
	table_unmap(&m->table);
	tally_free(&m->tally);
	attachment_close(&m->att);
}

/* Retires every table's epoch, waits once for the programs still using it,
 * then adds what it counted to each tally. */
static int collect(struct monitor *mons, int n)
{
	__u32 retired[MAX_INTERFACES];
	int err;

	for (int i = 0; i < n; i++)
		retired[i] = table_flip(&mons[i].table);
	err = table_grace_period();
	if (err) {
		fprintf(stderr, "xdptop: cannot wait for the XDP programs to finish (%s): "
				"is this kernel older than 5.18?\n", strerror(-err));
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < n; i++) {
		table_drain(&mons[i].table, retired[i], &mons[i].tally);
		tally_end_interval(&mons[i].tally);
	}
	return EXIT_OK;
}

static int write_report(const struct monitor *m, const struct config *cfg,
			const struct output *out, int n_ifaces)
{
	struct report r = { .ifname = m->att.ifname, .ifindex = m->att.ifindex,
			    .name_iface = n_ifaces > 1 };
	int err;

	clock_gettime(CLOCK_REALTIME, &r.when);
	if (report_build(&r, &m->tally, cfg->top))
		return -ENOMEM;
	err = out->write(stdout, &r);
	report_free(&r);
	return err;
}

/* Says once why an interface is no longer counted. */
static void say_lost(const struct monitor *m)
{
	if (m->state == LINK_DETACHED)
		fprintf(stderr, "xdptop: xdptop's XDP program was detached from iface \"%s\" "
				"(replaced by another program?): no longer counting it\n",
			m->att.ifname);
	else
		fprintf(stderr, "xdptop: iface \"%s\" disappeared: no longer counting it\n",
			m->att.ifname);
}

/* Reports every interface still counted; drops those lost since (after their
 * last report). Returns how many remain. */
static int report_all(struct monitor *mons, int n, const struct config *cfg,
		      const struct output *out, int *err)
{
	int attached = 0;

	for (int i = 0; i < n; i++) {
		struct monitor *m = &mons[i];

		if (m->state != LINK_ATTACHED)
			continue;
		if (!*err)
			*err = write_report(m, cfg, out, n);
		m->state = attachment_state(&m->att);
		if (m->state == LINK_ATTACHED)
			attached++;
		else
			say_lost(m);
	}
	return attached;
}

/* With nothing left to count: 6 when every interface went away, 4 when
 * another program took one over. */
static int lost_all_exit(const struct monitor *mons, int n)
{
	for (int i = 0; i < n; i++)
		if (mons[i].state == LINK_DETACHED)
			return EXIT_INTERFACE;
	return EXIT_ALL_GONE;
}

static void add_seconds(struct timespec *t, double s)
{
	long long ns = t->tv_nsec + (long long)(s * 1e9);

	t->tv_sec += ns / 1000000000;
	t->tv_nsec = ns % 1000000000;
}

/* Sleeps until deadline; returns false when a signal asked to stop. */
static bool sleep_until(const struct timespec *deadline)
{
	while (!stop_requested) {
		int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL);

		if (!err)
			return true;
		if (err != EINTR)
			return false;
	}
	return false;
}

static int run(struct monitor *mons, int n, const struct config *cfg)
{
	const struct output *out = cfg->format == FORMAT_JSON ? &output_json : &output_log;
	struct timespec deadline;
	__u64 reports = 0;
	int attached = n, err = 0;
	bool more = true;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	while (more && attached) {
		add_seconds(&deadline, cfg->interval);
		more = sleep_until(&deadline);
		if (collect(mons, n))
			return EXIT_RUNTIME;
		attached = report_all(mons, n, cfg, out, &err);
		if (err) {
			fprintf(stderr, "xdptop: cannot write the report (%s): check stdout\n",
				strerror(-err));
			return EXIT_RUNTIME;
		}
		if (cfg->count && ++reports >= cfg->count)
			more = false;
	}
	return attached ? EXIT_OK : lost_all_exit(mons, n);
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: the sleep must end at once. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error we report */
}

int main(int argc, char **argv)
{
	static struct monitor mons[MAX_INTERFACES];
	struct config cfg;
	int err, opened = 0; /* attempted, so also the one that failed half-way */

	err = cli_parse(argc, argv, &cfg);
	if (err)
		return err;
	verbose = cfg.verbose;
	libbpf_set_print(print_libbpf);
	catch_signals();

	err = attach_check_privileges();
	for (; !err && opened < cfg.n_ifaces; opened++)
		err = monitor_open(&mons[opened], &cfg, &cfg.ifaces[opened]);
	if (!err) {
		fprintf(stderr, "Press Ctrl-C to exit and remove the program\n");
		err = run(mons, cfg.n_ifaces, &cfg);
	}
	for (int i = 0; i < opened; i++)
		monitor_close(&mons[i]);
	return err;
}
