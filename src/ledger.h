/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The cumulative counts of the interfaces of a pinned table (--pin), kept
 * where the agent's death cannot take them: a BPF array pinned beside the
 * table, mmapped, that holds the tallies of every interface counting into
 * the table (its set), committed together. Crash-consistent: kill -9 at
 * any instant neither loses nor doubles a frame.
 *
 * Protocol, one interval: the agent drains the retired epoch into its tally
 * without clearing it, writes the tally into the image not committed,
 * commits it with one store (the image's index), and only then clears the
 * retired epoch. The committed image names the flip that retired the
 * epoch it absorbed: a new agent finds either no flip since, and that
 * epoch maybe half cleared (it clears it again), or a flip since (the
 * clear had finished before it); any epoch not absorbed is drained as
 * usual. Two images, so that a death while one is written leaves the other
 * whole. */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "cli.h"
#include "key.h"
#include "table.h"
#include "tally.h"

/* What a pinned table and its ledger were made with: a new agent adopts
 * them only when it would make the same. */
struct ledger_identity {
	__u32 layout;		/* XDPTOP_LAYOUT_VERSION */
	__u32 nr_cpus;
	__u32 region_slots;
	__u32 shared_slots;
	__u32 max_sources;
	__u32 key_fields;	/* enum xdptop_field bits */
	__u8 prefix4, prefix6;
	__u8 vlan;
	__u8 single_buffer;
	/* The interfaces that count into the table, by slot (its place in
	 * every slot's bytes, and its tally's in the ledger), by index and
	 * name: an index may be given again to another interface. */
	struct ledger_set {
		__u32 n;
		__s32 ifindex[MAX_INTERFACES];
		char name[MAX_INTERFACES][IF_NAMESIZE];	/* the kernel's */
	} set;
};

/* What --ipfix sent of the rounds committed (out_ipfix.c writes it), so
 * that the next agent sends what an agent killed while sending did not,
 * and nothing twice: a message is marked sent once it was sent to every
 * collector (whatever each send said: a collector's loss is its own), and
 * a round done once its last message was. Each field is one store;
 * their order makes every instant readable (out_ipfix.c). */
struct ledger_export {
	__u32 commit;		/* the commit whose round is, or was, being sent */
	__u32 done;		/* that round went out whole */
	__u32 first;		/* the IPFIX sequence number at its start */
	__u32 sequence;		/* after its records sent so far */
	__u64 slots;		/* the interfaces it reported, a bit each by slot */
};

struct ledger {
	int fd;
	void *mem;		/* mapped; read-only: a copy (ledger_fetch()) */
	size_t len;
	__u32 *keys;		/* read-only: the batch lookups' keys */
	struct ledger_header *hdr;
	struct ledger_image *image[2];
};

/* The identity of a table made for these options on this machine, counting
 * the size->nr_ifaces interfaces of ifaces. */
void ledger_identity(struct ledger_identity *id, const struct table_size *size,
		     __u32 max_sources, const struct key_spec *key, bool single_buffer,
		     const struct iface_arg *ifaces);

/* Whether a and b count the same way (all but the set). */
bool ledger_same_options(const struct ledger_identity *a, const struct ledger_identity *b);

/* The options that make id: "--key dst --prefix4 24 --prefix6 128 --vlan
 * --max-sources 1000". */
void ledger_options(const struct ledger_identity *id, char *buf, size_t len);

/* Its set as a command line names it, each name as a shell word: "v1 w1"
 * ("w1 (gone)" for one no longer here, or whose index another has now).
 * Returns how many are gone. */
int ledger_set_names(const struct ledger_identity *id, char *buf, size_t len);

/* The slot of ifindex in set, or -1. */
int ledger_set_slot(const struct ledger_set *set, int ifindex);

/* Whether the interface at slot is still here, under its name. */
bool ledger_set_here(const struct ledger_set *set, __u32 slot);

/* Records the name of the interface at slot: renamed, it is still the
 * same device. */
void ledger_rename(struct ledger *l, __u32 slot, const char *name);

/* Renames in set each interface renamed since it was recorded (its index
 * now has another name) that same_device(ifindex, ctx) says is still the
 * one counted. */
void ledger_set_follow_renames(struct ledger_set *set,
			       bool (*same_device)(int ifindex, const void *ctx), const void *ctx);

/* The same in the ledger's own set: the new names are recorded. */
void ledger_follow_renames(struct ledger *l, bool (*same_device)(int ifindex, const void *ctx),
			   const void *ctx);

/* Creates an empty ledger for id. Returns 0 or a negative errno. */
int ledger_create(struct ledger *l, const struct ledger_identity *id);

/* Maps a pinned ledger (fd is taken). -EPROTO when it is not one this
 * xdptop can read. A descriptor that may only read (a watcher's) cannot be
 * mapped: the ledger is copied then, by ledger_fetch(). */
int ledger_open(struct ledger *l, int fd);

/* Of a ledger opened to read only: copies what ledger_committed() reads of
 * slot. 0, 1 when the agent committed while it was read (the copy may be
 * torn: fetch again later), or a negative errno. */
int ledger_fetch(struct ledger *l, __u32 slot);

const struct ledger_identity *ledger_id(const struct ledger *l);

/* Takes up what a pinned state kept, into fresh tallies for table, one per
 * interface of the set, by slot (their clock reads `start` seconds on
 * CLOCK_MONOTONIC at its 0): the tallies as last committed, and the epoch
 * that commit absorbed, cleared if an agent died before it had. From here
 * table_drain() leaves what it reads, for ledger_persist(). 0 or a
 * negative errno. */
int ledger_recover(struct ledger *l, struct table *table, struct tally *tallies, double start);

/* After table_drain() of epoch `retired` into the tallies and the
 * interval's end (cut_ns on CLOCK_MONOTONIC, when_ns on CLOCK_REALTIME, as
 * the round reports it): commits them, then clears the epoch. */
void ledger_persist(struct ledger *l, struct table *table, const struct tally *tallies,
		    __u32 retired, __u64 cut_ns, __u64 when_ns);

/* The committed image: the tally of the interface at slot, to restore,
 * the flips after the one that retired the epoch it absorbed (0 before
 * the first commit) and when (CLOCK_MONOTONIC ns). */
void ledger_committed(const struct ledger *l, __u32 slot, struct tally_saved *saved,
		      __u32 *flips, __u64 *cut_ns);

/* Commits the set's tallies (by slot), which have absorbed the epoch that
 * the flips-th flip retired, cut at cut_ns (when_ns: the same instant on
 * CLOCK_REALTIME). */
void ledger_commit(struct ledger *l, const struct tally *tallies, __u32 flips, __u64 cut_ns,
		   __u64 when_ns);

/* The committed cut as its round reported it (CLOCK_REALTIME, ns): a round
 * sent again says the same times. */
__u64 ledger_committed_when(const struct ledger *l);

/* The mark of what --ipfix sent, in the pinned ledger. */
struct ledger_export *ledger_export(struct ledger *l);

/* Commits so far: the one the tallies were recovered from, after
 * ledger_recover(); the round's own, after ledger_persist(). */
__u32 ledger_commits(const struct ledger *l);

void ledger_close(struct ledger *l);

#endif /* LEDGER_H */
