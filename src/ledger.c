// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* See ledger.h for the protocol. The map is an mmapped BPF array of 64-byte
 * elements: the header, then two images, each its own header, a line per
 * interface of the set (its tally's counters), and then the sources of
 * every tally, one after the other, as the tallies hold them: they share
 * --max-sources, and so the room for them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "ledger.h"
#include "msg.h"
#include "table.h"
#include "xdptop.h"

#define LEDGER_MAGIC 0x32474c5054504458ULL	/* "XDPTPLG2" */
#define LINE 64

struct ledger_header {
	__u64 magic;
	__u32 max_sources;	/* of each image; also in id, checked apart */
	__u32 committed;	/* commits so far: odd, image 1 holds the counts; stored last */
	struct ledger_identity id;
	struct ledger_export export;
} __attribute__((aligned(LINE)));

struct ledger_image {
	__u64 cut_ns;		/* CLOCK_MONOTONIC of the cut it ends at */
	__u64 when_ns;		/* CLOCK_REALTIME of it: what reports said */
	__u32 flips;		/* the table's, after the flip that retired what it took in */
} __attribute__((aligned(LINE)));

/* One interface's tally in an image; its sources follow those of the
 * interfaces before it. */
struct ledger_member {
	struct tally_counters cum;
	__u32 n_sources;
	__u32 now;
	struct tally_counters last;	/* the interval it ended */
	double last_length;
} __attribute__((aligned(LINE)));

/* The first element alone says how large the rest is. */
static_assert(offsetof(struct ledger_header, id.set.ifindex) <= LINE, "sized by element 0");

/* An image holds each interface's member, then its tally's entries, of
 * the key's size, in whole lines. */
static size_t image_size(const struct ledger_identity *id)
{
	size_t size = sizeof(struct ledger_image) + id->set.n * sizeof(struct ledger_member) +
		      (size_t)id->max_sources * tally_entry_size(id->key_fields);

	return (size + LINE - 1) & ~(size_t)(LINE - 1);
}

static size_t ledger_size(const struct ledger_identity *id)
{
	return sizeof(struct ledger_header) + 2 * image_size(id);
}

static struct ledger_member *image_members(const struct ledger_image *img)
{
	return (struct ledger_member *)(img + 1);
}

static unsigned char *image_entries(const struct ledger_image *img, __u32 n_ifaces)
{
	return (unsigned char *)(image_members(img) + n_ifaces);
}

static size_t entry_size(const struct ledger *l)
{
	return tally_entry_size(l->hdr->id.key_fields);
}

void ledger_identity(struct ledger_identity *id, const struct table_size *size,
		     __u32 max_sources, const struct key_spec *key, bool single_buffer,
		     const struct iface_arg *ifaces)
{
	*id = (struct ledger_identity){
		.layout = XDPTOP_LAYOUT_VERSION, .nr_cpus = size->nr_cpus,
		.region_slots = size->region_slots, .shared_slots = size->shared_slots,
		.max_sources = max_sources, .key_fields = key->fields,
		.prefix4 = key->prefix4, .prefix6 = key->prefix6, .vlan = key->vlan,
		.single_buffer = single_buffer, .set.n = size->nr_ifaces,
	};
	for (__u32 i = 0; i < size->nr_ifaces; i++) {
		id->set.ifindex[i] = ifaces[i].ifindex;
		memcpy(id->set.name[i], ifaces[i].kernel_name, IF_NAMESIZE);
		id->set.name[i][IF_NAMESIZE - 1] = '\0';
	}
}

bool ledger_same_options(const struct ledger_identity *a, const struct ledger_identity *b)
{
	return !memcmp(a, b, offsetof(struct ledger_identity, set));
}

bool ledger_set_here(const struct ledger_set *set, __u32 slot)
{
	char name[IF_NAMESIZE];

	return if_indextoname(set->ifindex[slot], name) &&
	       !strncmp(name, set->name[slot], IF_NAMESIZE);
}

int ledger_set_names(const struct ledger_identity *id, char *buf, size_t len)
{
	size_t used = 0;
	int gone = 0;

	buf[0] = '\0';
	for (__u32 i = 0; i < id->set.n; i++) {
		bool here = ledger_set_here(&id->set, i);
		char name[IF_NAMESIZE], word[QUOTED_LEN(IF_NAMESIZE)];

		gone += !here;
		snprintf(name, sizeof(name), "%.*s", IF_NAMESIZE - 1, id->set.name[i]);
		if (used < len)
			used += snprintf(buf + used, len - used, "%s%s%s", i ? " " : "",
					 shell_word(name, word, sizeof(word)), here ? "" : " (gone)");
	}
	return gone;
}

static void set_rename(struct ledger_set *set, __u32 slot, const char *name)
{
	memset(set->name[slot], 0, IF_NAMESIZE);
	snprintf(set->name[slot], IF_NAMESIZE, "%s", name);
}

void ledger_rename(struct ledger *l, __u32 slot, const char *name)
{
	set_rename(&l->hdr->id.set, slot, name);
}

void ledger_set_follow_renames(struct ledger_set *set,
			       bool (*same_device)(int ifindex, const void *ctx), const void *ctx)
{
	char name[IF_NAMESIZE];

	for (__u32 i = 0; i < set->n; i++)
		if (if_indextoname(set->ifindex[i], name) &&
		    strncmp(name, set->name[i], IF_NAMESIZE) && same_device(set->ifindex[i], ctx))
			set_rename(set, i, name);
}

void ledger_follow_renames(struct ledger *l, bool (*same_device)(int ifindex, const void *ctx),
			   const void *ctx)
{
	ledger_set_follow_renames(&l->hdr->id.set, same_device, ctx);
}

int ledger_set_slot(const struct ledger_set *set, int ifindex)
{
	for (__u32 i = 0; i < set->n; i++)
		if (set->ifindex[i] == ifindex)
			return i;
	return -1;
}

void ledger_options(const struct ledger_identity *id, char *buf, size_t len)
{
	char fields[KEY_FIELDS_TEXT_LEN];

	snprintf(buf, len, "--key %s --prefix4 %u --prefix6 %u%s --max-sources %u%s",
		 key_format_fields(id->key_fields, fields), id->prefix4, id->prefix6,
		 id->vlan ? " --vlan" : "", id->max_sources,
		 id->single_buffer ? " --single-buffer" : "");
}

/* Maps the ledger of fd, len bytes; finds its images. The kernel maps a BPF
 * array shared only through a descriptor that may write: one that may only
 * read gets memory of its own, which ledger_fetch() fills. */
static int ledger_map(struct ledger *l, int fd, const struct ledger_identity *id)
{
	size_t len = ledger_size(id);
	bool readonly = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY;
	char *mem = readonly ? calloc(1, len) :
		    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	*l = (struct ledger){ .fd = fd };
	if (readonly && mem)
		l->keys = calloc(len / LINE, sizeof(*l->keys));
	if (readonly && (!mem || !l->keys)) {
		free(mem);
		return -ENOMEM;
	}
	if (mem == MAP_FAILED)
		return -errno;
	l->mem = mem;
	l->len = len;
	l->hdr = (struct ledger_header *)mem;
	l->image[0] = (struct ledger_image *)(mem + sizeof(struct ledger_header));
	l->image[1] = (struct ledger_image *)(mem + sizeof(struct ledger_header) +
					      image_size(id));
	return 0;
}

int ledger_create(struct ledger *l, const struct ledger_identity *id)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	size_t len = ledger_size(id);
	struct timespec now;
	int fd, err;

	*l = (struct ledger){ .fd = -1 };
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdptop_ledger", 4, LINE, len / LINE, &opts);
	if (fd < 0)
		return fd;
	err = ledger_map(l, fd, id);
	if (err) {
		close(fd);
		l->fd = -1;
		return err;
	}
	/* A new array is zeroed: both images are empty tallies, of no flip,
	 * cut now: the program counts from now on, and an agent that takes up
	 * a ledger never committed (its maker died first) starts its first
	 * interval here. */
	*l->hdr = (struct ledger_header){ .magic = LEDGER_MAGIC, .max_sources = id->max_sources,
					  .id = *id };
	clock_gettime(CLOCK_MONOTONIC, &now);
	l->image[0]->cut_ns = l->image[1]->cut_ns = now.tv_sec * 1000000000ULL + now.tv_nsec;
	return 0;
}

/* Copies the lines that hold len bytes from offset of a read-only ledger
 * into its memory, with as few batch lookups as the kernel allows. */
static int read_lines(const struct ledger *l, size_t offset, size_t len)
{
	__u32 first, n, last;
	char *to;

	if (offset > l->len || len > l->len - offset)
		return -EPROTO;
	first = offset / LINE;
	n = (offset + len + LINE - 1) / LINE - first;
	last = first - 1;
	to = (char *)l->mem + (size_t)first * LINE;

	while (n) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = n;
		/* An array's batch starts after the key given: none for the first */
		int err = bpf_map_lookup_batch(l->fd, first ? &last : NULL, &last, l->keys, to,
					       &count, &opts);

		if (err && errno != ENOENT)
			return -errno;
		if (!count)
			return -EIO;
		to += (size_t)count * LINE;
		first += count;
		n -= count;
	}
	return 0;
}

/* One line of the ledger as the map holds it now, into buf (a line). */
static int read_line(const struct ledger *l, const void *at, void *buf)
{
	__u32 key = ((const char *)at - (const char *)l->mem) / LINE;

	return bpf_map_lookup_elem(l->fd, &key, buf) ? -errno : 0;
}

int ledger_open(struct ledger *l, int fd)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	struct ledger_header hdr;
	__u32 zero = 0;
	int err;

	*l = (struct ledger){ .fd = fd };
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	/* The header's first line alone first: it says how large the rest is. */
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != LINE ||
	    bpf_map_lookup_elem(fd, &zero, &hdr) || hdr.magic != LEDGER_MAGIC ||
	    !hdr.id.set.n || hdr.id.set.n > MAX_INTERFACES ||
	    hdr.id.max_sources != hdr.max_sources ||
	    (size_t)info.max_entries * LINE != ledger_size(&hdr.id))
		return -EPROTO;
	err = ledger_map(l, fd, &hdr.id);
	if (!err && l->keys)	/* read-only: the header, once */
		err = read_lines(l, 0, sizeof(struct ledger_header));
	return err;
}

const struct ledger_identity *ledger_id(const struct ledger *l)
{
	return &l->hdr->id;
}

static const struct ledger_image *committed_image(const struct ledger *l)
{
	return l->image[__atomic_load_n(&l->hdr->committed, __ATOMIC_ACQUIRE) & 1];
}

void ledger_committed(const struct ledger *l, __u32 slot, struct tally_saved *saved,
		      __u32 *flips, __u64 *cut_ns)
{
	const struct ledger_image *img = committed_image(l);
	const struct ledger_member *m = image_members(img);
	const unsigned char *entries = image_entries(img, l->hdr->id.set.n);

	for (__u32 i = 0; i < slot; i++)
		entries += m[i].n_sources * entry_size(l);
	*saved = (struct tally_saved){ entries, m[slot].n_sources, m[slot].now, m[slot].cum,
				       m[slot].last, m[slot].last_length };
	*flips = img->flips;
	*cut_ns = img->cut_ns;
}

void ledger_commit(struct ledger *l, const struct tally *tallies, __u32 flips, __u64 cut_ns,
		   __u64 when_ns)
{
	__u32 next = (l->hdr->committed & 1) ^ 1, n_ifaces = l->hdr->id.set.n;
	/* Counted, not flipped: a reader that copies while two commits pass
	 * sees the count change (ledger_fetch()). Its low bit is the image. */
	__u32 count = l->hdr->committed + 1;
	struct ledger_image *img = l->image[next];
	struct ledger_member *m = image_members(img);
	unsigned char *entries = image_entries(img, n_ifaces);

	/* The tallies share max_sources: together they fit. */
	for (__u32 i = 0; i < n_ifaces; i++) {
		const struct tally_saved saved = tally_saved(&tallies[i]);

		memcpy(entries, saved.entries, saved.n_sources * entry_size(l));
		entries += saved.n_sources * entry_size(l);
		m[i] = (struct ledger_member){ .cum = saved.cum, .n_sources = saved.n_sources,
					       .now = saved.now, .last = saved.last,
					       .last_length = saved.last_length };
	}
	img->flips = flips;
	img->cut_ns = cut_ns;
	img->when_ns = when_ns;
	/* The one store that commits: the image is whole before it. A killed
	 * process's stores are all in the map; only the compiler could
	 * reorder them, and the release forbids it. */
	__atomic_store_n(&l->hdr->committed, count, __ATOMIC_RELEASE);
}

/* The open interval starts at the last commit (a ledger never committed:
 * when it was made), so the first rates are true. With no flip since that
 * commit, the epoch it absorbed may be half cleared: clear it again, after
 * a grace period (an agent may have died between flip and wait). After a
 * flip, its clear had finished. */
int ledger_recover(struct ledger *l, struct table *table, struct tally *tallies, double start)
{
	struct tally_saved saved;
	__u32 flips = 0;
	__u64 cut_ns = 0;
	int err = 0;

	table->keep_retired = true;
	for (__u32 i = 0; !err && i < l->hdr->id.set.n; i++) {
		ledger_committed(l, i, &saved, &flips, &cut_ns);
		err = tally_restore(&tallies[i], &saved, cut_ns / 1e9 - start);
	}
	if (err || !flips || flips != table_flips(table))
		return err;
	err = table_grace_period();
	if (!err)
		table_clear(table, (flips - 1) & 1);
	return err;
}

void ledger_persist(struct ledger *l, struct table *table, const struct tally *tallies,
		    __u32 retired, __u64 cut_ns, __u64 when_ns)
{
	ledger_commit(l, tallies, table_flips(table), cut_ns, when_ns);
	table_clear(table, retired);
}

int ledger_fetch(struct ledger *l, __u32 slot)
{
	const __u32 n_ifaces = l->hdr->id.set.n;
	const struct ledger_image *img;
	const struct ledger_member *m;
	const unsigned char *entries;
	__u32 before = 0;	/* entries of the interfaces before slot */
	char line[2][LINE];
	int err = read_lines(l, 0, LINE);	/* committed */

	img = committed_image(l);
	m = image_members(img);
	err = err ?: read_lines(l, (const char *)img - (const char *)l->mem,
				sizeof(*img) + n_ifaces * sizeof(*m));
	if (err)
		return err;
	for (__u32 i = 0; i <= slot; i++) {
		/* Counts read while the agent wrote them may not add up. */
		if (m[i].n_sources > l->hdr->max_sources - before)
			return 1;
		if (i < slot)
			before += m[i].n_sources;
	}
	entries = image_entries(img, n_ifaces) + before * entry_size(l);
	err = read_lines(l, (const char *)entries - (const char *)l->mem,
			 m[slot].n_sources * entry_size(l));
	/* The agent writes an image whole, then commits it: one it has not
	 * committed again since, under the same cut, was not written meanwhile. */
	err = err ?: read_line(l, l->hdr, line[0]) ?: read_line(l, img, line[1]);
	if (err)
		return err;
	return memcmp(line[0], l->hdr, LINE) || memcmp(line[1], img, LINE) ? 1 : 0;
}

__u64 ledger_committed_when(const struct ledger *l)
{
	return committed_image(l)->when_ns;
}

struct ledger_export *ledger_export(struct ledger *l)
{
	return &l->hdr->export;
}

__u32 ledger_commits(const struct ledger *l)
{
	return __atomic_load_n(&l->hdr->committed, __ATOMIC_ACQUIRE);
}

void ledger_close(struct ledger *l)
{
	if (l->keys) {
		free(l->mem);
		free(l->keys);
	} else if (l->mem) {
		munmap(l->mem, l->len);
	}
	if (l->fd >= 0)
		close(l->fd);
	*l = (struct ledger){ .fd = -1 };
}
