/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* IPFIX (RFC 7011) messages, encoded by hand: libfixbuf (Debian's) has a
 * fixed size limit over UDP, swallows send errors, resolves a bad name
 * once per record, and encodes 20-30 times slower (README, How it works).
 * A message is a 16-byte header, then sets; a set is a 4-byte
 * header (its id: 2 templates, 3 options templates, a template's id for its
 * data records; its length), then records. A writer fills one message at a
 * time, never past its size limit, and hands each full one to a send
 * callback: encoded once, a message may go to several collectors.
 *
 * Every message describes itself: the template of each record in it comes
 * first in the same message. Over UDP a collector that starts, restarts or
 * lost a message decodes the very next one, so nothing sent after it came
 * back is lost waiting for a template resent on a timer; it costs a
 * template record (about 30 bytes) a template a message. */
#ifndef IPFIX_H
#define IPFIX_H

#include <stddef.h>
#include <linux/types.h>

#define IPFIX_VERSION 10
#define IPFIX_MESSAGE_HEADER_LEN 16
#define IPFIX_SET_HEADER_LEN 4
#define IPFIX_SET_TEMPLATES 2
#define IPFIX_SET_OPTIONS_TEMPLATES 3
#define IPFIX_FIRST_TEMPLATE_ID 256
/* The largest message: its length is 16 bits (over UDP, the path's MTU
 * less the IP and UDP headers is the limit that matters). */
#define IPFIX_MESSAGE_MAX 65535
#define IPFIX_TEMPLATE_MAX_FIELDS 24
/* Template ids a writer takes: IPFIX_FIRST_TEMPLATE_ID and the next ones. */
#define IPFIX_TEMPLATES_MAX 64

/* An information element of a template: its IANA id, its length in a
 * record. */
struct ipfix_field {
	__u16 id;
	__u16 len;
};

struct ipfix_template {
	__u16 id;		/* >= IPFIX_FIRST_TEMPLATE_ID */
	__u16 n_scope;		/* an options template's scope fields (the first ones); 0 for data */
	__u16 n_fields;
	__u16 record_len;	/* the fields' lengths added up */
	struct ipfix_field field[IPFIX_TEMPLATE_MAX_FIELDS];
};

/* Adds a field of IANA's (no enterprise number) of fixed length to t;
 * record_len follows. 0, or -EINVAL when t is full or the field is not
 * one of those. */
int ipfix_template_add(struct ipfix_template *t, __u16 id, __u16 len);

/* Sends one whole message; returns 0 or a negative errno, which the writer
 * keeps (ipfix_writer.err) and goes on. */
typedef int (*ipfix_send_fn)(void *ctx, const __u8 *msg, size_t len);

struct ipfix_writer {
	__u8 *buf;
	size_t size;		/* the largest message (the path's MTU less IP and UDP) */
	size_t len;		/* of the message being filled; 0 before its header */
	size_t set_at;		/* where the open set's header is; 0: no set open */
	__u16 set_id;
	__u32 domain;		/* observation domain */
	__u32 sequence;		/* data records sent in this domain before this message */
	__u32 records;		/* data records in the message being filled */
	__u32 skip;		/* records to take and drop: sent before (a catch-up) */
	__u8 *scratch;		/* where they go */
	__u64 described;	/* the templates it holds, a bit an id from 256 */
	__u32 export_time;	/* seconds since the epoch, of every message until changed */
	ipfix_send_fn send;
	void *ctx;
	int err;		/* the first error of send */
};

/* size: at least the header, a set header and the largest template
 * record (a record's own room is ipfix_template_check()'s); at most
 * IPFIX_MESSAGE_MAX. 0 or -ENOMEM/-EINVAL. */
int ipfix_writer_init(struct ipfix_writer *w, size_t size, __u32 domain, ipfix_send_fn send,
		      void *ctx);
void ipfix_writer_free(struct ipfix_writer *w);

/* The export time of the messages from now on. */
void ipfix_set_time(struct ipfix_writer *w, __u32 export_time);

/* Whether w can write records of t (an options template when it has scope
 * fields): 0, or -EINVAL for a template that is not one: an id out of
 * IPFIX_FIRST_TEMPLATE_ID's IPFIX_TEMPLATES_MAX, no fields, more scope
 * fields than fields, or a template record and a record that no message of
 * the writer's size holds. */
int ipfix_template_check(const struct ipfix_writer *w, const struct ipfix_template *t);

/* Room for one data record of t (a template ipfix_template_check() took),
 * record_len bytes to fill at once: in a set of t's, after t's template
 * record if the message has none yet, in this message or, when it is full,
 * the next. While w->skip is not 0, room that goes nowhere (the record was
 * sent before) and one less to skip. */
__u8 *ipfix_record(struct ipfix_writer *w, const struct ipfix_template *t);

/* Sends the message being filled, if it holds a set. */
void ipfix_flush(struct ipfix_writer *w);

/* Big-endian stores into a record: every IPFIX field is in network order. */
__u8 *ipfix_put16(__u8 *p, __u16 v);
__u8 *ipfix_put32(__u8 *p, __u32 v);
__u8 *ipfix_put64(__u8 *p, __u64 v);

#endif /* IPFIX_H */
