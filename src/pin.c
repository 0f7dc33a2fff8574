// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "dispatcher.h"
#include "msg.h"
#include "pin.h"

static const char *const object_names[PIN_OBJECTS] = {
	[PIN_SLOTS] = "slots", [PIN_CLAIMS] = "claims", [PIN_STATS] = "cpu_stats",
	[PIN_BSS] = "bss", [PIN_LEDGER] = "ledger", [PIN_PROG] = "prog", [PIN_LINK] = "link",
};

void pin_detach_command(const char *root, const char *iface, char *buf, size_t len)
{
	char dir[QUOTED_LEN(PATH_MAX)], name[QUOTED_LEN(IF_NAMESIZE)];

	iface = shell_word(iface, name, sizeof(name));
	if (!strcmp(root, PIN_ROOT_DEFAULT))
		snprintf(buf, len, "xdptop --detach %s", iface);
	else
		snprintf(buf, len, "xdptop --pin=%s --detach %s", shell_word(root, dir, sizeof(dir)),
			 iface);
}

int pin_netns_dir(const char *root, char *buf, size_t len)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	if ((size_t)snprintf(buf, len, "%s/net%lu", root, (unsigned long)st.st_ino) >= len)
		return -ENAMETOOLONG;
	return 0;
}

bool pin_on_bpffs(const char *path)
{
	struct statfs fs;

	return !statfs(path, &fs) && fs.f_type == BPF_FS_MAGIC;
}

/* The deepest existing directory on the way to path: 0, or a negative
 * errno when one on the way cannot be reached. */
static int existing_ancestor(const char *path, char *buf, size_t len)
{
	struct stat st;
	char *slash;

	snprintf(buf, len, "%s", path);
	while (stat(buf, &st)) {
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return -ENOENT;
		*slash = '\0';
	}
	return 0;
}

/* Whether xdptop mounted the BPF filesystem it pins to in a mount
 * namespace of its own: ip netns exec makes one per command, with a /sys
 * that has no bpffs. That mount, and the pins, go with the namespace, so
 * when xdptop, its only process, exits. */
static bool pins_private;

bool pin_private(void)
{
	return pins_private;
}

/* Whether xdptop runs in a mount namespace made for it alone, one that
 * goes when it exits: ip netns exec makes one for the command it execs,
 * which is then not its parent's. (A shell run there shares it with what
 * it starts: the namespace lasts as long as the shell.) False when it
 * cannot tell. */
static bool in_own_mount_namespace(void)
{
	struct stat self, parent;
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)getppid());
	return !stat("/proc/self/ns/mnt", &self) && !stat(path, &parent) &&
	       self.st_ino != parent.st_ino;
}

int pin_failed(const char *doing, const char *path, int err)
{
	const char *fix;
	int code;

	switch (err) {
	case -EACCES:
	case -EPERM:
		fix = "run as root, or have root give this user that directory";
		code = EXIT_PRIVILEGE;
		break;
	case -EROFS:
		fix = "mount it read-write (a service's sandbox: ReadWritePaths=/sys/fs/bpf), or "
		      "choose another --pin=DIR";
		code = EXIT_RUNTIME;
		break;
	case -ENAMETOOLONG:
		fix = "a name on the way is too long: choose a shorter --pin=DIR";
		code = EXIT_USAGE;
		break;
	case -ENOMEM:
		fix = "not enough memory (a memory cgroup's limit?): raise it, or lower "
		      "--max-sources";
		code = EXIT_BPF;
		break;
	default:
		fix = "choose another --pin=DIR";
		code = EXIT_RUNTIME;
		break;
	}
	fprintf(stderr, "xdptop: cannot %s %s (%s): %s\n", doing, path, strerror(-err), fix);
	return code;
}

/* Whether sysfs is on /sys: without it there is no /sys/fs/bpf to mount
 * a BPF filesystem on. */
static bool sysfs_mounted(void)
{
	struct statfs fs;

	return !statfs("/sys", &fs) && fs.f_type == SYSFS_MAGIC;
}

const char *pin_unseen(const char *root)
{
	char base[PATH_MAX];

	if (!existing_ancestor(root, base, sizeof(base)) && pin_on_bpffs(base))
		return NULL;
	if (!strncmp(root, "/sys/", 5) && !sysfs_mounted())
		return "/sys is not mounted, so there is no /sys/fs/bpf";
	if (in_own_mount_namespace())
		return "no BPF filesystem there in this mount namespace (ip netns exec gives each "
		       "command a /sys of its own, without one: an agent started that way keeps its "
		       "pins in its own namespace, out of sight)";
	return "no BPF filesystem there: nothing was pinned";
}

/* Pins need a BPF filesystem; systemd mounts one on /sys/fs/bpf, a bare
 * container may not. */
static int need_bpffs(const char *root)
{
	char base[PATH_MAX];
	int err = existing_ancestor(root, base, sizeof(base));

	if (err)
		return pin_failed("reach", root, err);
	if (pin_on_bpffs(base))
		return EXIT_OK;
	if (!strncmp(root, "/sys/", 5) && !sysfs_mounted()) {
		fprintf(stderr, "xdptop: /sys is not mounted, so there is no /sys/fs/bpf to pin to: "
				"mount sysfs ('mount -t sysfs sysfs /sys'), or use --pin=DIR on a "
				"BPF filesystem mounted elsewhere\n");
		return EXIT_RUNTIME;
	}
	if (!strncmp(root, "/sys/fs/bpf/", 12) && !strcmp(base, "/sys/fs/bpf") &&
	    !mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") && pin_on_bpffs(base)) {
		pins_private = in_own_mount_namespace();
		return EXIT_OK;
	}
	if (!strncmp(root, "/sys/fs/bpf/", 12))
		fprintf(stderr, "xdptop: no BPF filesystem on /sys/fs/bpf to pin to, and it could "
				"not be mounted (%s): mount it ('mount -t bpf bpf /sys/fs/bpf')\n",
			strerror(errno));
	else
		fprintf(stderr, "xdptop: --pin=%s is not on a BPF filesystem: mount one there "
				"('mount -t bpf bpf DIR'), or use --pin alone (%s)\n", root,
			PIN_ROOT_DEFAULT);
	return EXIT_USAGE;
}

static int make_dir(const char *dir)
{
	if (!mkdir(dir, 0700) || errno == EEXIST)
		return EXIT_OK;
	return pin_failed("create", dir, -errno);
}

/* mkdir -p, from the existing part down. */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];
	int err = EXIT_OK;

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; !err && (p = strchr(p, '/')); p++) {
		*p = '\0';
		err = make_dir(path);
		*p = '/';
	}
	return err ?: make_dir(path);
}

/* Tries to lock for about a second: --status holds the lock for a few
 * milliseconds while it looks, and an agent starting then must not fail. */
static int lock_briefly(int fd)
{
	for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB); tries++) {
		if (errno != EWOULDBLOCK || tries == 20)
			return -1;
		usleep(50 * 1000);
	}
	return 0;
}

int pin_lock(struct pin *p, const char *dir)
{
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	p->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0)
		return -errno;
	if (lock_briefly(p->dir_fd)) {
		int err = -errno;

		pin_close(p);
		return err;
	}
	return 0;
}

bool pin_in_use(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool held = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;

	if (fd >= 0)
		close(fd);	/* and the shared lock with it, when it got one */
	return held;
}

static void object_path(const struct pin *p, enum pin_object o, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", p->dir, object_names[o]);
}

/* Gives path the watchers' group, readable (searchable: a directory) by
 * it; says once why not (root without CAP_CHOWN cannot give a group it is
 * not in). */
static void share(const struct pin *p, const char *path, mode_t mode)
{
	static bool said;

	if (!chown(path, -1, p->watchers) && !chmod(path, mode))
		return;
	if (errno != ENOENT && !said)
		fprintf(stderr, "xdptop: cannot give group %u what it pins in %s (%s): that group "
				"cannot watch it; grant CAP_CHOWN\n", (unsigned)p->watchers, p->dir,
			strerror(errno));
	said = said || errno != ENOENT;
}

/* A pin root whose group may read it (chgrp adm /sys/fs/bpf/xdptop; chmod
 * 750) lets that group watch what is pinned under it: each directory and
 * object xdptop makes there gets the group, and its read (and search)
 * permission, never write; what an agent before pinned too. */
static void share_with_watchers(struct pin *p, const char *root, const char *netns,
				const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	p->watchers = !stat(root, &st) && st.st_gid &&
		      (st.st_mode & (S_IRGRP | S_IXGRP)) == (S_IRGRP | S_IXGRP) ? st.st_gid : 0;
	if (!p->watchers || (size_t)snprintf(p->dir, sizeof(p->dir), "%s", dir) >= sizeof(p->dir))
		return;
	share(p, netns, 0750);
	share(p, dir, 0750);
	for (int o = 0; o < PIN_OBJECTS; o++) {
		object_path(p, o, path, sizeof(path));
		share(p, path, 0640);
	}
}

int pin_open(struct pin *p, const char *root, int ifindex, const char *ifname)
{
	char netns[PATH_MAX], dir[PATH_MAX];
	int err;

	p->dir_fd = -1;
	err = need_bpffs(root);
	if (err)
		return err;
	err = pin_netns_dir(root, netns, sizeof(netns));
	if (err || (size_t)snprintf(dir, sizeof(dir), "%s/%d", netns, ifindex) >= sizeof(dir)) {
		fprintf(stderr, "xdptop: cannot name this network namespace's pin directory (%s): "
				"mount /proc, or use a shorter --pin=DIR\n",
			strerror(err ? -err : ENAMETOOLONG));
		return EXIT_RUNTIME;
	}
	err = make_dirs(dir);
	if (err)
		return err;
	share_with_watchers(p, root, netns, dir);
	err = pin_lock(p, dir);
	if (err == -EWOULDBLOCK) {
		fprintf(stderr, "xdptop: iface \"%s\" is counted by another xdptop with --pin (its "
				"state: %s): stop that one first\n", ifname, dir);
		return EXIT_INTERFACE;
	}
	if (err)
		return pin_failed("lock", dir, err);
	return EXIT_OK;
}

__u32 pin_prog_id(const struct pin *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = pin_get(p, PIN_PROG);
	bool known = fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len);

	if (fd >= 0)
		close(fd);
	return known ? info.id : 0;
}

bool pin_holds_device(int ifindex, const void *netns_dir)
{
	struct pin p = { .dir_fd = -1 };
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	bool holds;
	int fd;

	if ((size_t)snprintf(p.dir, sizeof(p.dir), "%s/%d", (const char *)netns_dir, ifindex) >=
	    sizeof(p.dir))
		return false;
	fd = pin_get(&p, PIN_LINK);
	holds = fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		(int)info.xdp.ifindex == ifindex;
	if (fd >= 0)
		close(fd);
	/* A program pinned without a link that holds it may run in a libxdp
	 * dispatcher, which holds it (dispatcher.c). */
	return holds || dispatcher_runs(ifindex, pin_prog_id(&p));
}

bool pin_has(const struct pin *p, enum pin_object o)
{
	char path[PATH_MAX];

	if (p->dir_fd < 0)
		return false;
	object_path(p, o, path, sizeof(path));
	return !access(path, F_OK);
}

int pin_get(const struct pin *p, enum pin_object o)
{
	char path[PATH_MAX];
	int fd;

	object_path(p, o, path, sizeof(path));
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int pin_get_readonly(const struct pin *p, enum pin_object o)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
	char path[PATH_MAX];
	int fd;

	object_path(p, o, path, sizeof(path));
	fd = bpf_obj_get_opts(path, &opts);
	return fd < 0 ? -errno : fd;
}

/* Where an object is pinned before it takes its name (rename). */
static void new_path(const struct pin *p, enum pin_object o, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s_new", p->dir, object_names[o]);	/* bpffs refuses dots */
}

__u32 pin_map_id(const struct pin *p, enum pin_object o)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = pin_get(p, o);
	bool known = fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len);

	if (fd >= 0)
		close(fd);
	return known ? info.id : 0;
}

int pin_put(const struct pin *p, enum pin_object o, int fd)
{
	char path[PATH_MAX], staged[PATH_MAX];

	object_path(p, o, path, sizeof(path));
	new_path(p, o, staged, sizeof(staged));
	/* Never a moment without the object: a death here leaves the old one
	 * or the new one under its name (a staged one left over goes first). */
	if (unlink(staged) && errno != ENOENT)
		return -errno;
	if (bpf_obj_pin(fd, staged))
		return -errno;
	if (p->watchers)
		share(p, staged, 0640);
	if (rename(staged, path)) {
		int err = -errno;

		unlink(staged);
		return err;
	}
	return 0;
}

void pin_unpin(const struct pin *p, enum pin_object o)
{
	char path[PATH_MAX];

	if (p->dir_fd < 0)
		return;
	object_path(p, o, path, sizeof(path));
	unlink(path);
	new_path(p, o, path, sizeof(path));
	unlink(path);
}

void pin_unpin_all(const struct pin *p)
{
	/* The link first: from then on the rest is not a pinned state. */
	for (int o = PIN_OBJECTS - 1; o >= 0; o--)
		pin_unpin(p, o);
}

void pin_remove(struct pin *p)
{
	char path[PATH_MAX], *slash;

	if (p->dir_fd < 0)
		return;
	pin_unpin_all(p);
	snprintf(path, sizeof(path), "%s", p->dir);
	rmdir(path);
	slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		rmdir(path);	/* the namespace's, when it was the last */
	}
	slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		/* The default root is xdptop's own; a --pin=DIR is the user's. */
		if (!strcmp(path, PIN_ROOT_DEFAULT))
			rmdir(path);
	}
}

void pin_close(struct pin *p)
{
	if (p->dir_fd >= 0)
		close(p->dir_fd);	/* unlocks */
	p->dir_fd = -1;
}
