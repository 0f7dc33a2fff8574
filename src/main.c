// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xdptop's lifecycle: configure, attach, open the sinks, then one loop:
 * every interval read the tables and hand every sink one round of reports;
 * on a signal (or a sink's quit), one last round, close, detach.
 * One round travels one way: tick -> table -> tally -> report -> sinks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "attach.h"
#include "cli.h"
#include "detacher.h"
#include "kernel.h"
#include "msg.h"
#include "output.h"
#include "http.h"
#include "privs.h"
#include "report.h"
#include "status.h"
#include "table.h"
#include "tally.h"
#include "watch.h"

struct monitor {
	struct attachment att;
	struct tally *tally;	/* its group's, at its slot */
	struct iface_info info;
	enum link_state state;	/* LINK_ATTACHED while it is counted */
};

/* The agent's interfaces: they count into one table and share
 * --max-sources (with --pin, the table and the ledger of their tallies are
 * pinned with each of them and outlive the agent). */
struct group {
	struct table table;
	struct tally_budget budget;
	struct tally *tallies;	/* its members', by slot */
	struct monitor *members;
	int n;
	bool settled;	/* its first round written: what --force replaced is let go */
};

static const struct sink_ops *const format_sinks[] = {
	[FORMAT_LOG] = &sink_log,
	[FORMAT_JSON] = &sink_json,
	[FORMAT_TOP] = &sink_top,
	[FORMAT_NONE] = NULL,	/* --listen or --ipfix alone */
};

#define MAX_SINKS 3

struct sinks {
	struct sink *sink[MAX_SINKS];
	int n;
};

/* The loop's clocks and signals: a periodic timer (missed ticks collapse
 * into one: a late wake-up skips to the next deadline, never fires the
 * missed reports back to back) and the stop signals, as descriptors. */
struct ticker {
	int timer_fd;
	int signal_fd;
	struct timespec start;
};

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

/* libxdp's messages too: xdptop says what went wrong in its own words. */
static int print_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static __u64 ns_of(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

/* Opens the member at slot of group g; the first maps the group's table. */
static int monitor_open(struct group *g, __u32 slot, const struct config *cfg,
			const struct iface_arg *iface)
{
	struct monitor *m = &g->members[slot];
	const struct table_share share = { .owner = slot ? &g->members[0].att : NULL,
					   .slot = slot, .nr_ifaces = g->n };
	struct table_maps maps;
	int err = attachment_open(&m->att, cfg, iface, &share);

	if (err)
		return err;
	m->tally = &g->tallies[slot];
	err = tally_init(m->tally, cfg->max_sources, cfg->key.fields);
	tally_share(m->tally, &g->budget);
	if (err) {
		fprintf(stderr, "xdptop: out of memory for the tally of iface \"%s\" (%s): lower "
				"--max-sources\n", iface->name, strerror(-err));
		return EXIT_RUNTIME;
	}
	if (!slot) {
		attachment_table_maps(&m->att, &maps);
		err = table_map(&g->table, &maps);
	}
	if (err) {
		fprintf(stderr, "xdptop: cannot map the counting table of iface \"%s\" (%s): "
				"lower --max-sources\n", iface->name, strerror(-err));
		return EXIT_RUNTIME;
	}
	m->info = (struct iface_info){
		.name = iface->name, .shown = m->att.ifname, .ifindex = m->att.ifindex,
		.mode = mode_name(m->att.mode), .program = attachment_program_name(&m->att),
		.capacity = cfg->max_sources,
	};
	return EXIT_OK;
}

static bool needs_net_admin(const struct monitor *mons, int n)
{
	for (int i = 0; i < n; i++)
		if (attachment_needs_net_admin(&mons[i].att))
			return true;
	return false;
}

/* The grace period's maps, made while xdptop may still create maps. */
static int grace_open(void)
{
	int err = table_grace_open();

	if (err)
		fprintf(stderr, "xdptop: cannot create the map that waits for the XDP programs "
				"(%s): rerun with -v for libbpf's view\n", strerror(-err));
	return err ? EXIT_BPF : EXIT_OK;
}

static void monitor_close(struct monitor *m)
{
	if (m->tally)
		tally_free(m->tally);
	attachment_close(&m->att);
}

static double seconds_since(const struct timespec *start, const struct timespec *now)
{
	return (now->tv_sec - start->tv_sec) + (now->tv_nsec - start->tv_nsec) / 1e9;
}

/* Retires the table's epoch and takes the cut's time (the counts move to
 * the new epoch there), waits for the programs still using the old one,
 * then adds what each interface counted to its tally: the tallies end their
 * interval together, after the whole table is read (they share a budget). */
static int collect(struct group *g, const struct ticker *tk, struct round *round)
{
	struct ledger *ledger = &g->members[0].att.ledger;
	__u32 retired = table_flip(&g->table);
	struct timespec cut;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &cut);
	clock_gettime(CLOCK_REALTIME, &round->when);
	err = table_grace_period();
	if (err) {
		msg("cannot wait for the XDP programs to finish (%s): rerun with -v for libbpf's "
		    "messages", strerror(-err));
		return EXIT_RUNTIME;
	}
	round->elapsed = seconds_since(&tk->start, &cut);
	for (int k = 0; k < g->n; k++)
		tally_cut(&g->tallies[k], round->elapsed);
	table_drain(&g->table, retired, g->tallies);
	for (int k = 0; k < g->n; k++)
		tally_end_interval(&g->tallies[k]);
	if (ledger->fd >= 0) {	/* --pin */
		ledger_persist(ledger, &g->table, g->tallies, retired, ns_of(&cut),
			       ns_of(&round->when));
		round->commit = ledger_commits(ledger);
	}
	return EXIT_OK;
}

/* A sink could not show a round (or redraw): out of memory, or its
 * output is gone. A reader that closed the pipe (xdptop eth0 | head) is a
 * normal way to stop: quietly, with success. */
static int sink_failed(int err)
{
	if (err == -EPIPE)
		return EXIT_OK;
	if (err == -ENOMEM)
		msg("out of memory for the report: lower --max-sources or --top");
	else
		msg("cannot write the report (%s): check stdout", strerror(-err));
	return EXIT_RUNTIME;
}

/* A report into reports for each member round->slots names, in slot
 * order. */
static void build_reports(const struct group *g, const struct key_spec *key,
			  struct round *round, struct report *reports)
{
	round->n_reports = 0;
	for (int i = 0; i < g->n; i++)
		if (round->slots & (1ULL << i))
			report_build(&reports[round->n_reports++], &g->members[i].info, key,
				     g->members[i].tally);
}

/* Hands a sink the round: begin, each interface's report, end. */
static int write_round_to(struct sink *s, const struct round *round)
{
	int err = s->ops->begin(s, round);

	for (size_t j = 0; j < round->n_reports && !err; j++)
		err = s->ops->report(s, &round->reports[j]);
	return err ?: s->ops->end(s);
}

static int write_round(const struct sinks *sinks, const struct round *round)
{
	int err = 0;

	for (int i = 0; i < sinks->n && !err; i++)
		err = write_round_to(sinks->sink[i], round);
	return err;
}

/* With --pin, before the first round: hands the sinks that ask for it (the
 * IPFIX exporter) the round the agent before committed last, made again of
 * the tallies taken up: its interfaces (those it reported, which the sink
 * says) and its time. */
static int catch_up(const struct group *g, const struct key_spec *key, const struct sinks *sinks)
{
	static struct report reports[MAX_INTERFACES];
	const struct ledger *l = &g->members[0].att.ledger;
	struct round round = { .reports = reports };
	int err = 0;

	round.commit = l->fd < 0 ? 0 : ledger_commits(l);
	if (!round.commit)
		return 0;
	round.when.tv_sec = ledger_committed_when(l) / 1000000000;
	round.when.tv_nsec = ledger_committed_when(l) % 1000000000;
	for (int i = 0; i < sinks->n && !err; i++) {
		struct sink *s = sinks->sink[i];

		/* Every interface, unless the sink knows those the round had. */
		round.slots = g->n == MAX_INTERFACES ? ~0ULL : (1ULL << g->n) - 1;
		if (!s->ops->catch_up || !s->ops->catch_up(s, round.commit, &round.slots))
			continue;
		build_reports(g, key, &round, reports);
		err = write_round_to(s, &round);
	}
	return err ? sink_failed(err) : EXIT_OK;
}

/* Says once why an interface is no longer counted. */
static void say_lost(const struct monitor *m)
{
	if (m->state == LINK_DETACHED)
		msg("xdptop's XDP program was detached from iface \"%s\" (replaced by another "
		    "program?): no longer counting it%s", m->att.ifname,
		    m->att.pin.dir_fd >= 0 ? " (its counts stay pinned for the next xdptop --pin)" :
		    "");
	else if (m->state == LINK_IFACE_MOVED)
		msg("iface \"%s\" moved to another network namespace: no longer counting it "
		    "(xdptop's program taken off it)", m->att.ifname);
	else
		msg("iface \"%s\" disappeared: no longer counting it", m->att.ifname);
}

/* An interface renamed while counted is reported under its new name from
 * the next round on, and pinned under it (the ledger's set). */
static void follow_rename(struct group *g, int slot)
{
	struct monitor *m = &g->members[slot];
	struct ledger *ledger = &g->members[0].att.ledger;

	if (!attachment_follow_rename(&m->att))
		return;
	m->info.name = m->att.kernel_name;
	m->info.shown = m->att.ifname;
	if (ledger->fd >= 0)
		ledger_rename(ledger, slot, m->att.kernel_name);
}

/* Reports every interface still counted; drops those lost since (after their
 * last report). Returns how many remain, or a negative errno when a sink
 * failed. */
static int report_all(struct group *g, const struct key_spec *key, const struct sinks *sinks,
		      struct round *round)
{
	static struct report reports[MAX_INTERFACES];
	struct monitor *mons = g->members;
	const int n = g->n;
	int attached = 0, err;

	round->reports = reports;
	round->slots = 0;
	for (int i = 0; i < n; i++)
		if (mons[i].state == LINK_ATTACHED)
			round->slots |= 1ULL << i;
	build_reports(g, key, round, reports);
	err = write_round(sinks, round);
	for (int i = 0; i < n; i++) {
		struct monitor *m = &mons[i];

		if (m->state != LINK_ATTACHED)
			continue;
		m->state = attachment_state(&m->att);
		if (m->state == LINK_ATTACHED) {
			attached++;
			follow_rename(g, i);
		} else {
			/* also moved: not ours to count there */
			attachment_forget(&m->att, m->state == LINK_DETACHED);
			say_lost(m);
		}
	}
	return err ?: attached;
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

/* The stop signals are blocked from the start and read from a descriptor:
 * one that arrives while attaching is not lost, and the loop sees it. */
static int block_stop_signals(struct ticker *tk)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);	/* the terminal (an ssh session) went away */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout comes back as EPIPE: a quiet stop */
	tk->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return tk->signal_fd < 0 ? -errno : 0;
}

/* The first interval runs from tk->start, taken before the first attach:
 * counting starts at each attach, so its rates are never overstated. */
static int ticker_start(struct ticker *tk, double interval)
{
	struct timespec every = { .tv_sec = (time_t)interval,
				  .tv_nsec = (long)((interval - (time_t)interval) * 1e9) };
	struct itimerspec spec = { .it_interval = every, .it_value = every };

	tk->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tk->timer_fd < 0 || timerfd_settime(tk->timer_fd, 0, &spec, NULL))
		return -errno;
	return 0;
}

static void ticker_close(struct ticker *tk)
{
	if (tk->timer_fd >= 0)
		close(tk->timer_fd);
	if (tk->signal_fd >= 0)
		close(tk->signal_fd);
}

enum wake { WAKE_TICK, WAKE_STOP };

#define MAX_FDS (2 + MAX_SINKS * SINK_MAX_FDS)

/* Waits for the next tick or a stop (a signal, or a sink asking to quit);
 * hands sinks their input meanwhile. Returns a wake, or a negative errno. */
static int wait_for_tick(const struct ticker *tk, const struct sinks *sinks)
{
	for (;;) {
		struct pollfd fds[MAX_FDS] = { { .fd = tk->signal_fd, .events = POLLIN },
					       { .fd = tk->timer_fd, .events = POLLIN } };
		struct sink *owner[MAX_FDS] = {};
		int nfds = 2;
		__u64 ticks;

		for (int i = 0; i < sinks->n; i++) {
			struct sink *s = sinks->sink[i];
			int watched[SINK_MAX_FDS];
			int k = s->ops->watch ? s->ops->watch(s, watched) : 0;

			for (int j = 0; j < k; j++) {
				owner[nfds] = s;
				fds[nfds++] = (struct pollfd){ .fd = watched[j], .events = POLLIN };
			}
		}
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (fds[0].revents)
			return WAKE_STOP;
		for (int i = 2; i < nfds; i++) {
			int req = fds[i].revents ? owner[i]->ops->input(owner[i]) : SINK_GO_ON;

			if (req < 0)
				return req;
			if (req == SINK_QUIT)
				return WAKE_STOP;
		}
		if (fds[1].revents && read(tk->timer_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
			return WAKE_TICK;
	}
}

/* The first round is written: the start succeeded, and what --force
 * replaced is let go for good. */
static void settle(struct group *g)
{
	for (int i = 0; i < g->n; i++)
		attachment_settle(&g->members[i].att);
	detacher_settle();
	g->settled = true;
}

static int run(struct group *group, const struct config *cfg, struct ticker *tk,
	       const struct sinks *sinks)
{
	struct monitor *mons = group->members;
	const int n = group->n;
	struct round round = {};
	__u64 reports = 0;
	int attached = n;
	bool more = true;

	if (ticker_start(tk, cfg->interval)) {
		msg("cannot start the interval timer (%s): check the open file limit (ulimit -n)",
		    strerror(errno));
		return EXIT_RUNTIME;
	}
	while (more && attached > 0) {
		int wake = wait_for_tick(tk, sinks);

		if (wake < 0)
			return sink_failed(wake);
		more = wake == WAKE_TICK;
		if (collect(group, tk, &round))
			return EXIT_RUNTIME;
		attached = report_all(group, &cfg->key, sinks, &round);
		if (attached < 0)
			return sink_failed(attached);
		if (!group->settled)
			settle(group);
		if (cfg->count && ++reports >= cfg->count)
			more = false;
	}
	return attached ? EXIT_OK : lost_all_exit(mons, n);
}

static int open_sink(struct sinks *sinks, const struct sink_ops *ops,
		     const struct sink_options *o)
{
	int err = ops->open(&sinks->sink[sinks->n], o);

	if (err == -ENOMEM)
		fprintf(stderr, "xdptop: out of memory for the %s output: lower --max-sources\n",
			ops->name);
	else if (err == -EIO)
		fprintf(stderr, "xdptop: cannot start the %s output's server: check the open "
				"file and thread limits\n", ops->name);
	if (err)
		return EXIT_RUNTIME;	/* any other cause, the sink said */
	sinks->n++;
	return EXIT_OK;
}

/* The format's sink, and the exporter's with --listen (it takes *listen_fd). */
static int open_sinks(struct sinks *sinks, const struct config *cfg, int *listen_fd,
		      struct ledger_export *export_mark)
{
	const struct sink_options o = { .out = stdout, .sort = cfg->sort, .top = cfg->top,
					.n_ifaces = cfg->n_ifaces, .listen_fd = *listen_fd,
					.metrics_top = cfg->metrics_top, .key = &cfg->key,
					.ipfix = &cfg->ipfix, .export_mark = export_mark };
	const struct sink_ops *ops = format_sinks[cfg->format];
	int err = ops ? open_sink(sinks, ops, &o) : EXIT_OK;

	if (!err && *listen_fd >= 0) {
		*listen_fd = -1;	/* the sink's, even when it fails */
		err = open_sink(sinks, &sink_prom, &o);
	}
	if (!err && cfg->ipfix.n)
		err = open_sink(sinks, &sink_ipfix, &o);
	return err;
}

/* The exporter's socket, bound before anything is attached: a port in
 * use fails first. */
static int listen_open(const struct listen_spec *l, int *fd)
{
	*fd = l->len ? http_listen((const struct sockaddr *)&l->addr, l->len) : -1;
	if (*fd >= 0 || !l->len)
		return EXIT_OK;
	fprintf(stderr, "xdptop: cannot listen on %s (%s): %s\n", l->text, strerror(-*fd),
		*fd == -EADDRINUSE ? "stop what listens there, or choose another port" :
		*fd == -EACCES ? "use a port above 1023, or grant CAP_NET_BIND_SERVICE" :
		*fd == -EADDRNOTAVAIL ? "use an address of this host (ip addr), or 0.0.0.0" :
		"choose another --listen address");
	return EXIT_LISTEN;
}

static void close_sinks(struct sinks *sinks)
{
	for (int i = 0; i < sinks->n; i++)
		sinks->sink[i]->ops->close(sinks->sink[i]);
	sinks->n = 0;
}

/* Reports what the watched agents committed, each time they did. */
static int run_watch(struct watch *w, const struct config *cfg, struct ticker *tk,
		     const struct sinks *sinks)
{
	static struct report reports[MAX_INTERFACES];
	struct round round = { .reports = reports };
	__u64 written = 0;
	bool more = true;

	if (ticker_start(tk, cfg->interval)) {
		msg("cannot start the interval timer (%s): check the open file limit (ulimit -n)",
		    strerror(errno));
		return EXIT_RUNTIME;
	}
	while (more) {
		int wake = wait_for_tick(tk, sinks), fresh, err, end;
		struct timespec now;

		if (wake < 0)
			return sink_failed(wake);
		more = wake == WAKE_TICK;
		fresh = watch_collect(w, &end);
		if (fresh < 0)
			return end;
		if (!fresh)	/* no commit since: the next tick's round covers both */
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		clock_gettime(CLOCK_REALTIME, &round.when);
		round.elapsed = seconds_since(&tk->start, &now);
		round.n_reports = 0;
		for (int i = 0; i < w->n; i++)
			if (w->w[i].fresh)
				report_build(&reports[round.n_reports++], &w->w[i].info, &cfg->key,
					     watch_tally(w, i));
		err = write_round(sinks, &round);
		if (err)
			return sink_failed(err);
		if (cfg->count && ++written >= cfg->count)
			more = false;
	}
	return EXIT_OK;
}

static const struct watch *watched;

static int read_watched(void)
{
	return watch_probe(watched);
}

/* Watching a pinned agent: no capability needed, none kept (but CAP_BPF
 * where the kernel asks for it on every bpf() call). */
static int watch(struct watch *w, const struct config *cfg, struct ticker *tk)
{
	struct sinks sinks = {};
	int listen_fd = -1;
	int err = listen_open(&cfg->listen, &listen_fd);

	watched = w;
	err = err ?: privs_drop_all(read_watched);
	err = err ?: open_sinks(&sinks, cfg, &listen_fd, NULL);
	if (!err)
		err = run_watch(w, cfg, tk, &sinks);
	close_sinks(&sinks);
	if (listen_fd >= 0)
		close(listen_fd);
	msg_release();
	watch_close(w);
	return err;
}

/* With --pin, where the IPFIX exporter marks what it sent; else NULL. */
static struct ledger_export *export_mark(struct group *g)
{
	struct ledger *l = &g->members[0].att.ledger;

	return l->fd < 0 ? NULL : ledger_export(l);
}

/* With --pin, once every tally of g is there: takes up the counts pinned. */
static int recover_group(struct group *g, const struct timespec *start)
{
	struct ledger *l = &g->members[0].att.ledger;
	int err = l->fd < 0 ? 0 : ledger_recover(l, &g->table, g->tallies,
						 ((double)ns_of(start)) / 1e9);

	if (err)
		fprintf(stderr, "xdptop: cannot take up the counts pinned for iface \"%s\" (%s): "
				"lower --max-sources\n", g->members[0].att.ifname, strerror(-err));
	return err ? EXIT_RUNTIME : EXIT_OK;
}

/* Opens the group's members in the order of the command line; counts in
 * *opened those it tried, also one that failed half-way. */
static int open_group(struct group *g, const struct config *cfg, const struct timespec *start,
		      int *opened)
{
	int err = EXIT_OK;

	for (int slot = 0; !err && slot < g->n; slot++, (*opened)++)
		err = monitor_open(g, slot, cfg, &cfg->ifaces[slot]);
	return err ?: recover_group(g, start);
}

/* A start that failed leaves nothing behind: what it attached and pinned
 * goes; a pinned state it took up stays as it was, counting. */
static void forget_new(struct monitor *mons, int opened)
{
	for (int i = 0; i < opened; i++)
		if (!mons[i].att.adopted)
			attachment_forget(&mons[i].att, false);
}

/* What becomes of the program when xdptop exits, and, when a stream
 * output runs until stopped, how to stop it (the view says its own keys;
 * --count ends by itself). */
static void say_how_to_stop(const struct config *cfg)
{
	bool press = cfg->format != FORMAT_TOP && !cfg->count;
	char cmd[PIN_DETACH_COMMAND_LEN];

	if (cfg->pin_root && pin_private()) {
		fprintf(stderr, "xdptop: the pins are in a mount namespace of this command's own (ip "
				"netns exec makes one), so the program goes when xdptop exits: for "
				"pins that outlive it, use --pin=DIR on a BPF filesystem mounted "
				"outside\n");
	} else if (cfg->pin_root) {
		pin_detach_command(cfg->pin_root, "IFACE", cmd, sizeof(cmd));
		fprintf(stderr, "%s the program stays attached, counting (%s removes it)\n",
			press ? "Press Ctrl-C to exit;" : "When xdptop exits,", cmd);
		return;
	}
	if (press)
		fprintf(stderr, "Press Ctrl-C to exit and remove the program\n");
}

/* A standard descriptor left closed would be taken by the next file xdptop
 * opens (a map, say: a report written there fails with EINVAL, naming no
 * cause): /dev/null holds it. stdout must really be open where something
 * is written there. */
static int hold_std_fds(const struct config *cfg)
{
	bool writes_stdout = cfg->action != ACTION_COUNT || cfg->format != FORMAT_NONE;

	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == STDOUT_FILENO && writes_stdout) {
			fprintf(stderr, "xdptop: stdout is closed, so nothing can be written: "
					"redirect it (> FILE), or use --format none with --listen\n");
			return EXIT_USAGE;
		}
		if (open("/dev/null", O_RDWR) != fd) {
			fprintf(stderr, "xdptop: cannot open /dev/null (%s) in place of closed "
					"descriptor %d: check /dev\n", strerror(errno), fd);
			return EXIT_RUNTIME;
		}
	}
	return EXIT_OK;
}

/* The view needs a terminal that can move its cursor (not TERM=dumb):
 * known before anything is attached. */
static int check_terminal(const struct config *cfg)
{
	if (cfg->action != ACTION_COUNT || cfg->format != FORMAT_TOP)
		return EXIT_OK;
	return top_check_terminal(stdout) ? EXIT_USAGE : EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct monitor mons[MAX_INTERFACES];
	static struct tally tallies[MAX_INTERFACES];
	static struct group group;
	struct ticker tk = { .timer_fd = -1, .signal_fd = -1 };
	static struct watch watching;
	struct sinks sinks = {};
	struct config cfg;
	int err, opened = 0;
	int listen_fd = -1;

	err = cli_parse(argc, argv, &cfg) ?: hold_std_fds(&cfg) ?: check_terminal(&cfg);
	if (err)
		return err;
	verbose = cfg.verbose;
	libbpf_set_print(print_libbpf);
	libxdp_set_print(print_libxdp);
	if (cfg.action == ACTION_STATUS)
		return status_show(cfg.pin_root ?: PIN_ROOT_DEFAULT);
	if (cfg.action == ACTION_DETACH)
		return status_detach(cfg.pin_root ?: PIN_ROOT_DEFAULT, cfg.ifaces, cfg.n_ifaces);
	if (block_stop_signals(&tk)) {
		fprintf(stderr, "xdptop: cannot watch for signals (%s): check the open file limit "
				"(ulimit -n)\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	clock_gettime(CLOCK_MONOTONIC, &tk.start);
	err = watch_open(&watching, &cfg);
	if (err || watching.n) {
		err = err ?: watch(&watching, &cfg, &tk);
		ticker_close(&tk);
		return err;
	}

	group = (struct group){ .members = mons, .tallies = tallies, .n = cfg.n_ifaces,
				.budget.max_sources = cfg.max_sources };
	err = kernel_check(&cfg.single_buffer, cfg.key.fields);
	err = err ?: privs_check(cfg.single_buffer);
	err = err ?: listen_open(&cfg.listen, &listen_fd);
	err = err ?: open_group(&group, &cfg, &tk.start, &opened);
	err = err ?: grace_open();
	err = err ?: privs_drop(table_grace_period, needs_net_admin(mons, opened));
	if (!err) {
		say_how_to_stop(&cfg);
		err = open_sinks(&sinks, &cfg, &listen_fd, export_mark(&group));
		err = err ?: catch_up(&group, &cfg.key, &sinks);
	}
	if (!err)
		err = run(&group, &cfg, &tk, &sinks);
	if (err && !group.settled)	/* nothing written yet: as if it never started */
		forget_new(mons, opened);
	close_sinks(&sinks);	/* gives the terminal back first: messages follow */
	if (listen_fd >= 0)
		close(listen_fd);
	msg_release();
	ticker_close(&tk);
	for (int i = 0; i < opened; i++)
		monitor_close(&mons[i]);
	detacher_finish();
	table_unmap(&group.table);
	return err;
}
