// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The child that takes xdptop's programs out of libxdp dispatchers. It
 * shares nothing with the agent but a pipe: it learns that the agent ended
 * when the pipe closes, which the kernel does also when the agent is killed
 * (SIGKILL included). It ignores the signals a terminal or a service
 * manager sends the whole group (Ctrl-C, SIGTERM, SIGHUP): the agent ends on
 * them, and then the child does its one job. It keeps CAP_SYS_ADMIN and
 * CAP_NET_ADMIN alone, and while it waits it holds a name for each program
 * (an abstract socket of its network namespace), which tells xdptop
 * --detach that a running agent owns it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cap-ng.h>
#include <sys/wait.h>
#include "detacher.h"
#include "dispatcher.h"
#include "msg.h"

void detacher_add(struct detacher *d, struct attachment *a)
{
	if (a->dispatched && !a->adopted)
		d->atts[d->n++] = a;
}

int detacher_claim(__u32 prog_id)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int len = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "xdptop-dispatched-%u",
			   prog_id);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, offsetof(struct sockaddr_un, sun_path) + 1 + len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
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

/* What taking a program out of a dispatcher needs, and nothing else: libxdp
 * opens programs by id, loads a new dispatcher and attaches it. */
static void keep_only_dispatcher_caps(void)
{
	bool bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);

	capng_clear(CAPNG_SELECT_ALL);
	capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SYS_ADMIN, CAP_NET_ADMIN,
		      -1);
	if (bounding)
		capng_updatev(CAPNG_ADD, CAPNG_BOUNDING_SET, CAP_SYS_ADMIN, CAP_NET_ADMIN, -1);
	capng_apply(bounding ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* Until the agent ends: whether its start succeeded ('k': pinned programs
 * are to stay, counting). */
static bool wait_for_agent(int fd)
{
	bool settled = false;
	char c;
	ssize_t r;

	while ((r = read(fd, &c, 1)) > 0 || (r < 0 && errno == EINTR))
		settled |= r > 0 && c == 'k';
	return settled;
}

static bool take_out(const struct detacher *d, int i)
{
	const struct attachment *a = d->atts[i];
	char word[QUOTED_LEN(IF_NAMESIZE)];
	int err = dispatcher_leave(a->ifindex, a->prog_id);

	/* ENOENT: no longer there (the interface went, or it was taken out). */
	if (!err || err == -ENOENT)
		return true;
	fprintf(stderr, "xdptop: could not take xdptop's program %u out of the dispatcher on iface "
			"\"%s\" (%s): remove it with 'xdptop --detach %s'\n", a->prog_id, a->ifname,
		strerror(-err), shell_word(a->kernel_name, word, sizeof(word)));
	return false;
}

static _Noreturn void run_child(const struct detacher *d, int fd)
{
	bool ok = true, settled;

	prctl(PR_SET_NAME, "xdptop-detach");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	keep_only(fd);
	keep_only_dispatcher_caps();
	for (int i = 0; i < d->n; i++)
		if (d->atts[i]->pin.dir_fd < 0)
			detacher_claim(d->atts[i]->prog_id);	/* held until it exits */
	settled = wait_for_agent(fd);
	for (int i = 0; i < d->n; i++)
		if (d->atts[i]->pin.dir_fd < 0 || !settled)
			ok &= take_out(d, i);
	_exit(!ok);
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

void detacher_settle(struct detacher *d)
{
	if (d->pid >= 0 && write(d->fd, "k", 1) != 1)
		msg("cannot tell the detacher the start succeeded (%s): xdptop's pinned programs "
		    "will be taken out of their dispatchers at exit", strerror(errno));
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
