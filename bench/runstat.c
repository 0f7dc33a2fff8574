// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Runs a command in a session of its own and reports what all of its
 * processes used: CPU and memory, for tools made of several processes
 * (pmacctd forks its plugins).
 *
 *   runstat -o FILE [-t SECONDS] -- COMMAND [ARG...]
 *
 * SIGINT or SIGTERM to runstat is passed to the whole session as SIGINT;
 * after SECONDS (default 120) runstat sends SIGINT itself, and SIGKILL 10 s
 * later. Every 20 ms it reads /proc for the session's processes: CPU is the
 * sum of each one's last utime+stime seen, also after it exits (ticks of
 * 1/CLK_TCK s); RSS is the largest sum of VmRSS seen at one time. When the
 * command exits it writes one line to FILE:
 *   exit=N cpu_s=S rusage_cpu_s=S peak_rss_kb=K max_rss_kb=K nproc=N
 * rusage_cpu_s and max_rss_kb (largest single process) come from
 * getrusage(RUSAGE_CHILDREN): processes their parent waited for. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct proc {
	int pid;
	unsigned long long ticks;
};

static struct proc procs[MAX_PROCS];
static int nprocs;

/* Reads session, utime + stime and RSS pages of pid; 0 on success. */
static int read_proc(int pid, int *sid, unsigned long long *ticks, long *rss_pages)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long size, rss;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %d %*d %*d %*u %*u %*u %*u %*u %llu %llu", sid, &ut,
			 &st) != 3)
		return -1;
	*ticks = ut + st;
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%ld %ld", &size, &rss);
	fclose(f);
	*rss_pages = n == 2 ? rss : 0;
	return 0;
}

/* One look at the session's processes; returns their RSS in pages. */
static long sample(int sid_wanted)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long rss_sum = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		int pid = atoi(e->d_name), sid, i;
		unsigned long long ticks;
		long rss;

		if (pid <= 0 || read_proc(pid, &sid, &ticks, &rss) || sid != sid_wanted)
			continue;
		rss_sum += rss;
		for (i = 0; i < nprocs && procs[i].pid != pid; i++)
			;
		if (i == nprocs && nprocs < MAX_PROCS)
			procs[nprocs++].pid = pid;
		if (i < nprocs && ticks > procs[i].ticks)
			procs[i].ticks = ticks;
	}
	closedir(d);
	return rss_sum;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *out = NULL;
	double limit = 120, t0;
	struct timespec ts;
	long peak = 0, page_kb = sysconf(_SC_PAGESIZE) / 1024, hz = sysconf(_SC_CLK_TCK);
	int c, pid, status = 0, sent_int = 0;
	struct rusage ru;
	unsigned long long ticks = 0;
	FILE *f;

	while ((c = getopt(argc, argv, "+o:t:")) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 't': limit = atof(optarg); break;
		default: goto usage;
		}
	}
	if (!out || optind >= argc)
		goto usage;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		setsid();
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[optind], argv + optind);
		perror("runstat: exec");
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	for (;;) {
		long rss = sample(pid);
		double t;
		int r = waitpid(pid, &status, WNOHANG);

		if (rss > peak)
			peak = rss;
		if (r == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = ts.tv_sec + ts.tv_nsec / 1e9 - t0;
		if ((stop || t > limit) && !sent_int) {
			kill(-pid, SIGINT);
			sent_int = 1;
			limit = t;
		}
		if (sent_int && t > limit + 10)
			kill(-pid, SIGKILL);
		usleep(20000);
	}
	/* Plugins may outlive the command for a moment. */
	for (int i = 0; i < 50 && sample(pid); i++)
		usleep(20000);
	for (int i = 0; i < nprocs; i++)
		ticks += procs[i].ticks;
	getrusage(RUSAGE_CHILDREN, &ru);
	f = fopen(out, "w");
	if (!f)
		return 1;
	fprintf(f, "exit=%d cpu_s=%.3f rusage_cpu_s=%.3f peak_rss_kb=%ld max_rss_kb=%ld nproc=%d\n",
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		(double)ticks / hz,
		ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		peak * page_kb, ru.ru_maxrss, nprocs);
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
usage:
	fprintf(stderr, "usage: runstat -o FILE [-t SECONDS] -- COMMAND [ARG...]\n");
	return 2;
}
