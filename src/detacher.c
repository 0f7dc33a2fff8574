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
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* What the agent tells the child, one record a write (under PIPE_BUF, so
 * never torn): a program to take out, or that the start succeeded. */
struct record {
	char kind;		/* 'p': a program; 'k': the start succeeded */
	bool pinned;
	int ifindex;
	__u32 prog_id;
	char ifname[QUOTED_LEN(IFACE_NAME_MAX)];	/* as messages show it */
	char kernel_name[IF_NAMESIZE];
};

static_assert(sizeof(struct record) <= PIPE_BUF, "a record is written at once");

/* This agent's detacher: -1 until its first program joins a dispatcher. */
static struct {
	pid_t pid;
	int fd;		/* the agent's end of the pipe: the child waits for it to close */
} child = { .pid = -1, .fd = -1 };

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

static bool take_out(const struct record *r)
{
	char word[QUOTED_LEN(IF_NAMESIZE)];
	int err = dispatcher_leave(r->ifindex, r->prog_id);

	/* ENOENT: no longer there (the interface went, or it was taken out). */
	if (!err || err == -ENOENT)
		return true;
	fprintf(stderr, "xdptop: could not take xdptop's program %u out of the dispatcher on iface "
			"\"%s\" (%s): remove it with 'xdptop --detach %s'\n", r->prog_id, r->ifname,
		strerror(-err), shell_word(r->kernel_name, word, sizeof(word)));
	return false;
}

/* Reads the agent's records until it ends, claiming each unpinned
 * program's name meanwhile; then takes out what is to go. */
static _Noreturn void run_child(int fd)
{
	static struct record programs[MAX_INTERFACES];
	struct record r;
	bool ok = true, settled = false;
	int n = 0;
	ssize_t got;

	prctl(PR_SET_NAME, "xdptop-detach");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	keep_only(fd);
	keep_only_dispatcher_caps();
	while ((got = read(fd, &r, sizeof(r))) > 0 || (got < 0 && errno == EINTR)) {
		if (got == sizeof(r) && r.kind == 'k')
			settled = true;
		else if (got == sizeof(r) && r.kind == 'p' && n < MAX_INTERFACES) {
			programs[n++] = r;
			if (!r.pinned)
				detacher_claim(r.prog_id);	/* held until it exits */
		}
	}
	for (int i = 0; i < n; i++)
		if (!programs[i].pinned || !settled)
			ok &= take_out(&programs[i]);
	_exit(!ok);
}

static int start(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	child.pid = fork();
	if (child.pid < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	if (child.pid == 0) {
		close(p[1]);
		run_child(p[0]);
	}
	close(p[0]);
	child.fd = p[1];
	return 0;
}

int detacher_take(struct attachment *a)
{
	struct record r = { .kind = 'p', .pinned = a->pin.dir_fd >= 0, .ifindex = a->ifindex,
			    .prog_id = a->prog_id };
	int err = child.pid < 0 ? start() : 0;

	snprintf(r.ifname, sizeof(r.ifname), "%s", a->ifname);
	memcpy(r.kernel_name, a->kernel_name, IF_NAMESIZE);
	if (!err && write(child.fd, &r, sizeof(r)) != sizeof(r))
		err = -errno;
	if (err) {
		fprintf(stderr, "xdptop: cannot hand xdptop's program to the process that takes it "
				"out of the dispatcher at exit (%s): check the process and file "
				"limits\n", strerror(-err));
		return EXIT_RUNTIME;
	}
	a->left_at_exit = true;
	return EXIT_OK;
}

void detacher_settle(void)
{
	const struct record r = { .kind = 'k' };

	if (child.pid >= 0 && write(child.fd, &r, sizeof(r)) != sizeof(r))
		msg("cannot tell the detacher the start succeeded (%s): xdptop's pinned programs "
		    "will be taken out of their dispatchers at exit", strerror(errno));
}

void detacher_finish(void)
{
	if (child.pid < 0)
		return;
	close(child.fd);
	while (waitpid(child.pid, NULL, 0) < 0 && errno == EINTR)
		;
	child.pid = child.fd = -1;
}
