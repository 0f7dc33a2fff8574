// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The child that takes xdptop's programs out of libxdp dispatchers. It
 * shares nothing with the agent but a pipe: it learns that the agent ended
 * when the pipe closes, which the kernel does also when the agent is killed
 * (SIGKILL included). It ignores the signals a terminal or a service
 * manager sends the whole group (Ctrl-C, SIGTERM, SIGHUP): the agent ends on
 * them, and then the child does its one job. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "detacher.h"
#include "dispatcher.h"

void detacher_add(struct detacher *d, struct attachment *a)
{
	if (a->dispatched && a->pin.dir_fd < 0)
		d->atts[d->n++] = a;
}

/* Only the pipe (and stderr, for what goes wrong) stays open: the child
 * must not hold the agent's maps, links or sockets, nor a stdout that a
 * reader waits to see closed. */
static void keep_only(int fd)
{
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	close_range(STDERR_FILENO + 1, fd - 1, 0);
	close_range(fd + 1, ~0U, 0);
}

static void wait_for_agent(int fd)
{
	char c;
	ssize_t r;

	while ((r = read(fd, &c, 1)) > 0 || (r < 0 && errno == EINTR))
		;
}

static _Noreturn void run_child(const struct detacher *d, int fd)
{
	int failed = 0;

	prctl(PR_SET_NAME, "xdptop-detach");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	keep_only(fd);
	wait_for_agent(fd);
	for (int i = 0; i < d->n; i++) {
		const struct attachment *a = d->atts[i];
		int err = dispatcher_leave(a->ifindex, a->prog_id);

		/* ENOENT: no longer there (the interface went, or it was taken out). */
		if (err && err != -ENOENT) {
			fprintf(stderr, "xdptop: could not take xdptop's program %u out of the "
					"dispatcher on iface \"%s\" (%s): remove it with 'xdptop "
					"--detach %s'\n", a->prog_id, a->ifname, strerror(-err),
				a->ifname);
			failed = 1;
		}
	}
	_exit(failed);
}

int detacher_start(struct detacher *d)
{
	int p[2];

	if (!d->n)
		return EXIT_OK;
	if (pipe2(p, O_CLOEXEC)) {
		p[0] = p[1] = -1;
		d->pid = -1;
	} else {
		d->pid = fork();
	}
	if (d->pid < 0) {
		int err = errno;

		close(p[0]);
		close(p[1]);
		fprintf(stderr, "xdptop: cannot start the process that takes xdptop's program out "
				"of the dispatcher at exit (%s): check the process and file limits\n",
			strerror(err));
		return EXIT_RUNTIME;
	}
	if (d->pid == 0) {
		close(p[1]);
		run_child(d, p[0]);
	}
	close(p[0]);
	d->fd = p[1];
	for (int i = 0; i < d->n; i++)
		d->atts[i]->left_at_exit = true;
	return EXIT_OK;
}

void detacher_finish(struct detacher *d)
{
	if (d->pid < 0)
		return;
	close(d->fd);
	while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
		;
	*d = DETACHER_NONE;
}
