// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agent's userspace work per interval, timed alone: drain the retired
 * epoch (table_drain: read the regions through mmap, merge the per-CPU
 * values into the tally, clear; the interval's end: averages), rank
 * (rows_rank, timed alone), then the JSON sink (which ranks, then formats,
 * to /dev/null): total = drain + the sink. The table is the real one (attachment_load, sized
 * like the agent's), filled by the real program: the rotator of
 * progs.bpf.c feeds xdptop a stream of distinct sources with test_run, on
 * every CPU in turn, so the table holds what the program would have kept.
 * Then the memory the maps and the tally take, from the loaded maps and the
 * agent's own sizing code. Prints Markdown. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include "attach.h"
#include "http.h"
#include "ledger.h"
#include "output.h"
#include "report.h"
#include "table.h"
#include "tally.h"
#include "xdptop.skel.h"
#include "bench_progs.skel.h"
#include "frames.h"
#include "util.h"

#define ROUNDS 7

static double now(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* One interval's traffic on every CPU: frames cycling over sources 0 .. n-1
 * of f, through the rotator into xdptop; the first third of the sources get
 * 3 frames, the others 2, so the ranking has work to do. */
static void fill(struct bench_progs *p, int xdptop_fd, const struct frame *f, __u32 n,
		 int ncpu)
{
	__u32 zero = 0;
	int err = bpf_map_update_elem(bpf_map__fd(p->maps.jmp), &zero, &xdptop_fd, BPF_ANY);

	if (err)
		die("prog array update", err);
	for (int cpu = 0; cpu < ncpu; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->buf, .data_size_in = f->len,
			    .repeat = 2 * n + n / 3);

		pin_cpu(cpu);
		p->bss->n_sources = n;
		p->bss->src_off = f->src_off;
		p->bss->base = f->base;
		p->bss->next = 0;
		err = bpf_prog_test_run_opts(bpf_program__fd(p->progs.rotate), &o);
		if (err || o.retval != XDP_PASS)
			die("bpf_prog_test_run_opts", err ? err : EPROTO);
	}
	pin_cpu(0);
}

struct timing {
	double drain, rank, format, total;	/* s, CLOCK_MONOTONIC */
	double cpu;				/* s, CLOCK_THREAD_CPUTIME_ID */
	double exporter;			/* s, the Prometheus sink's round */
};

static const struct sockaddr_in loopback = { .sin_family = AF_INET,
					     .sin_addr.s_addr = __builtin_bswap32(0x7f000001) };

/* Summary lines for run.sh, printed after the table. */
static char markers[1024];
static const struct key_spec key = KEY_SPEC_DEFAULT;

/* One round of one report, as main.c hands it to a sink. */
static int write_round(struct sink *s, const struct round *round, const struct report *rep)
{
	int err = s->ops->begin(s, round);

	err = err ?: s->ops->report(s, rep);
	return err ?: s->ops->end(s);
}

static void run(struct bench_progs *p, __u32 n, __u32 max_sources, enum frame_kind kind,
		FILE *devnull)
{
	static struct frame f;
	struct attachment a = ATTACHMENT_UNOPENED("");
	struct timing first = { 0 }, steady[ROUNDS];
	double v[ROUNDS], grace[ROUNDS + 1], sort_all, format_all, t0, t1, t2, t3, c0;
	static const struct iface_info iface = { .name = "v1", .shown = "v1", .mode = "native",
						 .program = "xdptop" };
	struct sink_options opts = { .out = devnull, .sort = SORT_PPS, .top = 20, .n_ifaces = 1 };
	struct sink *top20, *all, *prom;
	struct report rep;
	struct round round = { .reports = &rep, .n_reports = 1 };
	struct rows rows = {};
	struct table_maps maps;
	struct tally tally;
	struct table t;
	int err;

	frame_build(&f, kind);
	if (attachment_load(&a, max_sources, &key, true))
		exit(1);
	attachment_table_maps(&a, &maps);
	err = table_map(&t, &maps);
	if (err)
		die("table_map", err);
	if (tally_init(&tally, max_sources, key.fields))
		die("tally_init", ENOMEM);
	if (sink_json.open(&top20, &opts))
		die("sink_json", ENOMEM);
	opts.top = 0;
	if (sink_json.open(&all, &opts))
		die("sink_json", ENOMEM);
	/* Its server on loopback, port chosen by the kernel; never scraped. */
	opts.listen_fd = http_listen((const struct sockaddr *)&loopback, sizeof(loopback));
	opts.metrics_top = METRICS_TOP_DEFAULT;
	if (opts.listen_fd < 0 || sink_prom.open(&prom, &opts))
		die("sink_prom", opts.listen_fd < 0 ? -opts.listen_fd : ENOMEM);
	for (int r = 0; r <= ROUNDS; r++) {
		struct timing *tm = r ? &steady[r - 1] : &first;
		__u32 retired;

		fill(p, bpf_program__fd(attachment_program(&a, false)), &f, n, a.size.nr_cpus);
		t0 = now(CLOCK_MONOTONIC);
		retired = table_flip(&t);
		err = table_grace_period();
		if (err)
			die("table_grace_period", err);
		grace[r] = now(CLOCK_MONOTONIC) - t0;

		c0 = now(CLOCK_THREAD_CPUTIME_ID);
		t0 = now(CLOCK_MONOTONIC);
		tally_cut(&tally, r + 1);
		table_drain(&t, retired, &tally);
		tally_end_interval(&tally);
		report_build(&rep, &iface, &key, &tally);
		t1 = now(CLOCK_MONOTONIC);
		if (rows_rank(&rows, &rep, SORT_PPS, false, 20))
			die("rows_rank", ENOMEM);
		t2 = now(CLOCK_MONOTONIC);
		/* The JSON sink ranks for itself, then formats. */
		err = write_round(top20, &round, &rep);
		if (err)
			die("write", err);
		t3 = now(CLOCK_MONOTONIC);
		tm->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
		/* The exporter, beside: choose its keys, render its page. */
		round.elapsed = r + 1;
		err = write_round(prom, &round, &rep);
		if (err)
			die("prometheus sink", err);
		*tm = (struct timing){ t1 - t0, t2 - t1, t3 - t2, t1 - t0 + t3 - t2,
				       tm->cpu, now(CLOCK_MONOTONIC) - t3 };
	}
	__u32 tracked = tally.n_sources;
	double untracked = 100.0 * tally.cum.untracked.packets / tally.cum.total.packets;

	/* For comparison: rank everything (a full sort), and format it all. */
	t0 = now(CLOCK_MONOTONIC);
	if (rows_rank(&rows, &rep, SORT_PPS, false, 0))
		die("rows_rank", ENOMEM);
	t1 = now(CLOCK_MONOTONIC);
	write_round(all, &round, &rep);
	t2 = now(CLOCK_MONOTONIC);
	sort_all = t1 - t0;
	format_all = t2 - t1;
	rows_free(&rows);
	top20->ops->close(top20);
	all->ops->close(all);
	prom->ops->close(prom);

#define MED(field) ({ for (int i = 0; i < ROUNDS; i++) v[i] = steady[i].field; median(v, ROUNDS); })
	double target = n >= 1000000 ? 20e-3 : 1e-3, total = MED(total);

	printf("| %u %s (%u tracked, %.2f%% of frames untracked) | %u x %u + %u | %.3f | %.3f | %.3f | "
	       "**%.3f** (first: %.3f) | %.3f | %s | %s | %.1f | %.1f | %.1f | %.1f |\n",
	       n, f.family == 4 ? "IPv4" : "IPv6", tracked, untracked, a.size.nr_cpus,
	       a.size.region_slots, a.size.shared_slots,
	       MED(drain) * 1e3, MED(rank) * 1e3, MED(format) * 1e3, total * 1e3,
	       first.total * 1e3, MED(cpu) * 1e3, target > 1e-3 ? "<= 20 ms" : "<= 1 ms",
	       total <= target ? "met" : "**not met**", sort_all * 1e3, format_all * 1e3,
	       median(grace, ROUNDS + 1) * 1e3, MED(exporter) * 1e3);
	snprintf(markers + strlen(markers), sizeof(markers) - strlen(markers),
		 "<!-- target | 3a | drain, merge, rank and format the top 20 of %u sources | "
		 "%.3f ms | %s | %s -->\n", n, total * 1e3, target > 1e-3 ? "<= 20 ms" : "<= 1 ms",
		 total <= target ? "met" : "not met");
	table_unmap(&t);
	tally_free(&tally);
	attachment_close(&a);
	(void)xdptop_bpf__destroy;
}

/* An agent run.sh measured: the real agent on a veth in namespaces of its
 * own, after a fill of `sources` sources (-m MAX:SOURCES:TRACKED:HWM:RSS:LABEL,
 * in KiB). */
struct agent_mem {
	__u32 max_sources, sources, tracked;
	unsigned long hwm_kib, rss_kib;
	char label[64];
};

#define MAX_AGENTS 4
static struct agent_mem agents[MAX_AGENTS];
static int n_agents;

static void agent_parse(const char *arg)
{
	struct agent_mem *m = &agents[n_agents];
	int end = 0;

	if (n_agents == MAX_AGENTS ||
	    sscanf(arg, "%u:%u:%u:%lu:%lu:%n", &m->max_sources, &m->sources, &m->tracked,
		   &m->hwm_kib, &m->rss_kib, &end) != 5 || !end) {
		fprintf(stderr, "read_cost: -m MAX:SOURCES:TRACKED:HWM_KIB:RSS_KIB:LABEL\n");
		exit(2);
	}
	snprintf(m->label, sizeof(m->label), "%s", arg + end);
	n_agents++;
}

static double mib(double bytes)
{
	return bytes / 1048576;
}

/* The BPF maps an agent of max_sources on nr_cpus CPUs mmaps: all of them,
 * slots, claim logs and stats, in its RSS from the mmap on. */
static double maps_bytes(__u32 max_sources, __u32 nr_cpus)
{
	struct table_size z = table_size(max_sources, nr_cpus, 1, XDPTOP_FIELD_SRC);

	return (double)table_map_bytes(&z);
}

/* The agent's memory beside the maps: its peak RSS less them. */
static double agent_own(const struct agent_mem *m, __u32 nr_cpus)
{
	return m->hwm_kib * 1024.0 - maps_bytes(m->max_sources, nr_cpus);
}

static double tally_of(__u32 max_sources, __u32 fields)
{
	struct tally t;
	double bytes;

	if (tally_init(&t, max_sources, fields))
		die("tally_init", ENOMEM);
	bytes = (double)tally_bytes(&t);
	tally_free(&t);
	return bytes;
}

/* What --pin adds for n_ifaces interfaces: the ledger, as ledger_create()
 * makes it. */
static double ledger_of(__u32 max_sources, __u32 nr_cpus, __u32 n_ifaces)
{
	struct table_size z = table_size(max_sources, nr_cpus, n_ifaces, XDPTOP_FIELD_SRC);
	struct iface_arg ifaces[MAX_INTERFACES];
	struct ledger_identity id;
	struct ledger l;
	double bytes;
	int err;

	for (__u32 i = 0; i < n_ifaces; i++) {
		ifaces[i] = (struct iface_arg){ .ifindex = i + 1 };
		snprintf(ifaces[i].kernel_name, IF_NAMESIZE, "eth%u", i);
	}
	ledger_identity(&id, &z, max_sources, &key, false, ifaces);
	err = ledger_create(&l, &id);
	if (err)
		die("ledger_create", err);
	bytes = (double)l.len;
	ledger_close(&l);
	return bytes;
}

static void print_agents(__u32 ncpu)
{
	printf("Measured (bench/run.sh): the real agent (`build/xdptop --format json --interval 1 "
	       "--max-sources N v1`) on a veth in namespaces of its own, after the sender sent "
	       "every source twice; its peak RSS (VmHWM) read 2.5 s later. The BPF maps it "
	       "mmaps are in its RSS whole from the mmap on (as file pages): its own memory is "
	       "the peak less them.\n\n");
	printf("| agent | --max-sources | sources sent | tracked | peak RSS | RSS at the end | "
	       "of which BPF maps (computed) | **agent's own** | its tally (computed) |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < n_agents; i++) {
		const struct agent_mem *m = &agents[i];

		printf("| %s | %u | %u | %u | %.1f MiB | %.1f MiB | %.1f MiB | **%.1f MiB** | "
		       "%.1f MiB |\n", m->label, m->max_sources, m->sources, m->tracked,
		       m->hwm_kib / 1024.0, m->rss_kib / 1024.0,
		       mib(maps_bytes(m->max_sources, ncpu)), mib(agent_own(m, ncpu)),
		       mib(tally_of(m->max_sources, XDPTOP_FIELD_SRC)));
	}
	printf("\n");
}

/* The first measured agent of max_sources (the default output comes
 * first), or NULL. */
static const struct agent_mem *agent_for(__u32 max_sources)
{
	for (int i = 0; i < n_agents; i++)
		if (agents[i].max_sources == max_sources)
			return &agents[i];
	return NULL;
}

struct mem_row {
	double maps, own, all_in, per_source;
};

/* One row of the all-in table: maps computed for nr_cpus, the agent's own
 * memory as measured here (its tally, computed, when it was not). */
static struct mem_row mem_row(__u32 max_sources, __u32 sources, __u32 nr_cpus, __u32 here)
{
	const struct agent_mem *m = agent_for(max_sources);
	struct mem_row r = { .maps = maps_bytes(max_sources, nr_cpus) };

	r.own = m ? agent_own(m, here) : tally_of(max_sources, XDPTOP_FIELD_SRC);
	r.all_in = r.maps + r.own;
	r.per_source = r.all_in / (m ? m->tracked : sources);
	return r;
}

static void memory_table(void)
{
	static const __u32 cpus[] = { 2, 64, 256 }, maxes[] = { 65536, 1048576 },
			   sources[] = { 65536, 1000000 };
	__u32 here = libbpf_num_possible_cpus();
	double at256 = 0, worst = 0;

	printf("### 3c. Memory, all in: the BPF maps, the agent, the ledger\n\n");
	if (n_agents)
		print_agents(here);
	printf("All in = the BPF maps as the agent sizes them (table_size(), table_map_bytes(): "
	       "slots, claim logs and stats, page-rounded; computed, also for CPU counts this "
	       "machine does not have: only the regions and claim logs grow with CPUs) + the "
	       "agent's own memory (%s; it does not depend on the CPU count). BPF arrays are "
	       "allocated whole at load, whatever the traffic. Per source: all in over the "
	       "sources tracked (65,536 or 1,000,000 sent). --pin adds the ledger (two images of "
	       "%zu B per --max-sources key, as ledger_create() makes it), beside.\n\n",
	       n_agents ? "measured above, default output" :
	       "**not measured**: its tally alone, computed",
	       (size_t)tally_entry_size(XDPTOP_FIELD_SRC));
	printf("| --max-sources | CPUs | region slots per CPU | shared slots | BPF maps | agent's "
	       "own | **all in** | per source | --pin adds |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t m = 0; m < 2; m++) {
		double ledger = ledger_of(maxes[m], here, 1);

		for (size_t c = 0; c < 3; c++) {
			struct table_size z = table_size(maxes[m], cpus[c], 1, XDPTOP_FIELD_SRC);
			struct mem_row r = mem_row(maxes[m], sources[m], cpus[c], here);

			printf("| %u | %u | %u | %u | %.1f MiB | %.1f MiB | **%.1f MiB** | %.0f B | "
			       "%.1f MiB |\n", maxes[m], cpus[c], z.region_slots, z.shared_slots,
			       mib(r.maps), mib(r.own), mib(r.all_in), r.per_source, mib(ledger));
			if (m == 0 && cpus[c] == 256)
				at256 = r.all_in;
			if (m == 1 && r.per_source > worst)
				worst = r.per_source;
		}
	}
	printf("\n<!-- target | 3c | memory all in per interface, --max-sources 65536, 256 CPUs "
	       "(BPF maps + the agent's own) | %.1f MiB | <= 64 MiB | %s -->\n", mib(at256),
	       mib(at256) <= 64 ? "met" : "not met");
	printf("<!-- target | 3c | memory all in per tracked source, 1,000,000 sources, worst of "
	       "2, 64 and 256 CPUs | %.0f B | <= 160 B | %s -->\n\n", worst,
	       worst <= 160 ? "met" : "not met");
}

/* What a key's width costs: a key of one address keeps 32-byte slots and
 * 64-byte tally entries, any other 64-byte slots and 80-byte entries
 * (tally_entry_size()). */
static void key_width_table(void)
{
	static const __u32 cpus[] = { 2, 64, 256 }, maxes[] = { 65536, 1048576 };
	const __u32 wide = XDPTOP_FIELDS_ADDRESS | XDPTOP_FIELDS_L4;

	printf("Memory per key width: the BPF maps of a narrow key (one address, with or without "
	       "prefixes and VLANs: 32-byte slots) and of a wide one (any other --key, up to the "
	       "5-tuple with tcpflags: 64-byte slots), computed (table_map_bytes()); the tally "
	       "(tally_bytes(): a key's entry, %u B narrow and %u B wide, its averages and its "
	       "index) at --max-sources keys. Per key: all of it over --max-sources.\n\n",
	       tally_entry_size(XDPTOP_FIELD_SRC), tally_entry_size(wide));
	printf("| --max-sources | CPUs | BPF maps, narrow | BPF maps, wide | tally, narrow | "
	       "tally, wide | **per key, narrow** | **per key, wide** |\n"
	       "|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t m = 0; m < 2; m++) {
		double tally = tally_of(maxes[m], XDPTOP_FIELD_SRC), tally_w = tally_of(maxes[m], wide);

		for (size_t c = 0; c < 3; c++) {
			struct table_size zn = table_size(maxes[m], cpus[c], 1, XDPTOP_FIELD_SRC);
			struct table_size zw = table_size(maxes[m], cpus[c], 1, wide);
			double narrow = (double)table_map_bytes(&zn), w = (double)table_map_bytes(&zw);

			printf("| %u | %u | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | **%.0f B** | "
			       "**%.0f B** |\n", maxes[m], cpus[c], mib(narrow), mib(w), mib(tally),
			       mib(tally_w), (narrow + tally) / maxes[m], (w + tally_w) / maxes[m]);
		}
	}
	printf("\n");
}

/* One agent of 30 interfaces against one of 1: what is allocated whole
 * whatever the traffic (the maps, and with --pin the ledger); the tallies
 * grow with the keys they track, within the one budget. */
static void interfaces_table(void)
{
	static const __u32 cpus[] = { 2, 64, 256 };
	double worst = 0;

	printf("Several interfaces, --max-sources 65536 (the default) shared by all: the BPF maps "
	       "(table_size(65536, CPUs, interfaces), table_map_bytes()) and the ledger of --pin "
	       "(ledger_create(), one for the set), computed. The tallies are not in it: they "
	       "grow with the keys they track (each starts at 1,024 keys, %.0f KiB), 65,536 keys "
	       "in all.\n\n", tally_of(1024, XDPTOP_FIELD_SRC) / 1024);
	printf("| CPUs | BPF maps, 1 interface | BPF maps, 30 interfaces | ledger, 1 | ledger, 30 | "
	       "**30 over 1** (maps + ledger) |\n|---:|---:|---:|---:|---:|---:|\n");
	for (size_t c = 0; c < 3; c++) {
		struct table_size one = table_size(65536, cpus[c], 1, XDPTOP_FIELD_SRC);
		struct table_size thirty = table_size(65536, cpus[c], 30, XDPTOP_FIELD_SRC);
		double maps1 = (double)table_map_bytes(&one), maps30 = (double)table_map_bytes(&thirty);
		double ledger1 = ledger_of(65536, cpus[c], 1), ledger30 = ledger_of(65536, cpus[c], 30);
		double ratio = (maps30 + ledger30) / (maps1 + ledger1);

		printf("| %u | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | **%.2fx** |\n", cpus[c],
		       mib(maps1), mib(maps30), mib(ledger1), mib(ledger30), ratio);
		if (ratio > worst)
			worst = ratio;
	}
	printf("\n<!-- target | 3c | 30 interfaces at the default (one budget), maps and ledger, "
	       "worst of 2, 64 and 256 CPUs | %.2fx one interface | <= 2x one (30 tables: 30x) | %s -->\n\n",
	       worst, worst < 2 ? "met" : "not met");
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void userspace_table(void)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct bench_progs *p;
	int ncpu = libbpf_num_possible_cpus();

	if (!devnull)
		die("/dev/null", errno);
	p = bench_progs__open_and_load();
	if (!p)
		die("bench_progs__open_and_load", errno);
	printf("### 3a. Userspace work per interval: drain, merge, rank, format\n\n");
	printf("The real table (attachment_load on this %d-CPU machine) filled by the real "
	       "program: test_run of the rotator (see Method) feeding xdptop every source on "
	       "every CPU in turn (a third of them 3 frames, the rest 2), so the drain merges "
	       "%d per-CPU values per source. Then what the agent does each interval, timed with "
	       "CLOCK_MONOTONIC around the userspace work only: table_drain (read the retired "
	       "epoch, merge into the tally, clear) and the interval's end (the 10 s averages), "
	       "then the JSON sink with --top 20 (it ranks, then writes the 20 rows to "
	       "/dev/null); the ranking alone is timed apart too. Median of %d intervals once the tally knows every "
	       "source (the first interval, which inserts them all, in brackets); CPU = "
	       "CLOCK_THREAD_CPUTIME_ID of the same work. For comparison: ranking every source "
	       "(a full sort) and the JSON sink writing them all (sort and format), the flip's grace period (wall time, "
	       "no CPU), and beside, not in the total, the Prometheus exporter's round (--listen, "
	       "--metrics-top 1000: choose the keys by rate with hysteresis, count, render the "
	       "page; its server is never scraped here).\n\n", ncpu, ncpu, ROUNDS);
	printf("| sources | CPUs x region slots + shared slots | drain+merge+averages ms | rank top 20 ms (alone) | "
	       "JSON sink ms (rank, format) | **total ms** | CPU ms | target | met? | full sort ms | "
	       "JSON of all ms |"
	       " grace period ms | exporter ms |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|\n");
	fflush(stdout);
	run(p, 10000, 65536, K_IPV4, devnull);
	fflush(stdout);
	run(p, 1000000, 1048576, K_IPV6, devnull);
	printf("\n%s\n", markers);
	bench_progs__destroy(p);
	fclose(devnull);
}

/* read_cost [-p ac] [-m AGENT]...: 3a (the userspace work) and 3c (memory,
 * with the agents run.sh measured). */
int main(int argc, char **argv)
{
	const char *parts = "ac";
	int c;

	while ((c = getopt(argc, argv, "p:m:")) != -1) {
		switch (c) {
		case 'p': parts = optarg; break;
		case 'm': agent_parse(optarg); break;
		default:
			fprintf(stderr, "usage: read_cost [-p ac] "
				"[-m MAX:SOURCES:TRACKED:HWM_KIB:RSS_KIB:LABEL]...\n");
			return 2;
		}
	}
	libbpf_set_print(quiet);
	if (strchr(parts, 'a'))
		userspace_table();
	fflush(stdout);
	if (strchr(parts, 'c')) {
		memory_table();
		key_width_table();
		interfaces_table();
	}
	return 0;
}
