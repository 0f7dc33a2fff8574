// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* IPFIX messages (RFC 7011, sections 3.1-3.4): see ipfix.h. */
#include <errno.h>
#include <stdlib.h>
#include "ipfix.h"

__u8 *ipfix_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
	return p + 2;
}

__u8 *ipfix_put32(__u8 *p, __u32 v)
{
	return ipfix_put16(ipfix_put16(p, v >> 16), v);
}

__u8 *ipfix_put64(__u8 *p, __u64 v)
{
	return ipfix_put32(ipfix_put32(p, v >> 32), v);
}

int ipfix_template_add(struct ipfix_template *t, __u16 id, __u16 len)
{
	/* 0x8000: an enterprise number follows; 65535: variable length. */
	if (t->n_fields >= IPFIX_TEMPLATE_MAX_FIELDS || (id & 0x8000) || !len || len == 65535 ||
	    t->record_len + len > IPFIX_MESSAGE_MAX)
		return -EINVAL;
	t->field[t->n_fields++] = (struct ipfix_field){ id, len };
	t->record_len += len;
	return 0;
}

int ipfix_writer_init(struct ipfix_writer *w, size_t size, __u32 domain, ipfix_send_fn send,
		      void *ctx)
{
	/* The largest template record: 6 bytes, then 4 a field. */
	size_t least = IPFIX_MESSAGE_HEADER_LEN + IPFIX_SET_HEADER_LEN + 6 +
		       4 * IPFIX_TEMPLATE_MAX_FIELDS;

	if (size < least || size > IPFIX_MESSAGE_MAX)
		return -EINVAL;
	*w = (struct ipfix_writer){ .size = size, .domain = domain, .send = send, .ctx = ctx };
	w->buf = malloc(size);
	w->scratch = malloc(size);
	return w->buf && w->scratch ? 0 : -ENOMEM;
}

void ipfix_writer_free(struct ipfix_writer *w)
{
	free(w->buf);
	free(w->scratch);
	w->buf = NULL;
	w->scratch = NULL;
}

void ipfix_set_time(struct ipfix_writer *w, __u32 export_time)
{
	w->export_time = export_time;
}

static void close_set(struct ipfix_writer *w)
{
	if (!w->set_at)
		return;
	ipfix_put16(w->buf + w->set_at + 2, w->len - w->set_at);
	w->set_at = 0;
}

void ipfix_flush(struct ipfix_writer *w)
{
	__u8 *p = w->buf;
	int err;

	close_set(w);
	if (w->len <= IPFIX_MESSAGE_HEADER_LEN)
		return;
	p = ipfix_put16(p, IPFIX_VERSION);
	p = ipfix_put16(p, w->len);
	p = ipfix_put32(p, w->export_time);
	p = ipfix_put32(p, w->sequence);
	ipfix_put32(p, w->domain);
	err = w->send(w->ctx, w->buf, w->len);
	if (err && !w->err)
		w->err = err;
	/* Counted sent whatever the send said: a collector that missed the
	 * message sees a gap in the sequence, which is what it tells loss by. */
	w->sequence += w->records;
	w->records = 0;
	w->len = 0;
	w->described = 0;
}

static size_t template_record_len(const struct ipfix_template *t)
{
	return (t->n_scope ? 6 : 4) + 4 * t->n_fields;
}

static __u64 template_bit(const struct ipfix_template *t)
{
	return 1ULL << (t->id - IPFIX_FIRST_TEMPLATE_ID);
}

int ipfix_template_check(const struct ipfix_writer *w, const struct ipfix_template *t)
{
	size_t first = IPFIX_MESSAGE_HEADER_LEN + 2 * IPFIX_SET_HEADER_LEN +
		       template_record_len(t) + t->record_len;

	if (t->id < IPFIX_FIRST_TEMPLATE_ID || t->id >= IPFIX_FIRST_TEMPLATE_ID + IPFIX_TEMPLATES_MAX ||
	    !t->n_fields || t->n_scope > t->n_fields || first > w->size)
		return -EINVAL;
	return 0;
}

/* Opens a set of this id where the message ends. */
static void begin_set(struct ipfix_writer *w, __u16 id)
{
	close_set(w);
	w->set_at = w->len;
	w->set_id = id;
	ipfix_put16(w->buf + w->len, id);
	w->len += IPFIX_SET_HEADER_LEN;
}

/* t's template record, in a set of its own. */
static void describe(struct ipfix_writer *w, const struct ipfix_template *t)
{
	__u8 *p;

	begin_set(w, t->n_scope ? IPFIX_SET_OPTIONS_TEMPLATES : IPFIX_SET_TEMPLATES);
	p = w->buf + w->len;
	p = ipfix_put16(p, t->id);
	p = ipfix_put16(p, t->n_fields);
	if (t->n_scope)
		p = ipfix_put16(p, t->n_scope);
	for (int i = 0; i < t->n_fields; i++) {
		p = ipfix_put16(p, t->field[i].id);
		p = ipfix_put16(p, t->field[i].len);
	}
	w->len += template_record_len(t);
	close_set(w);
	w->described |= template_bit(t);
}

/* The bytes a record of t adds to the message being filled: its template
 * first when the message has not described it yet, and a set header when
 * the open set is not t's. */
static size_t record_cost(const struct ipfix_writer *w, const struct ipfix_template *t)
{
	if (!(w->described & template_bit(t)))
		return 2 * IPFIX_SET_HEADER_LEN + template_record_len(t) + t->record_len;
	if (!w->set_at || w->set_id != t->id)
		return IPFIX_SET_HEADER_LEN + t->record_len;
	return t->record_len;
}

__u8 *ipfix_record(struct ipfix_writer *w, const struct ipfix_template *t)
{
	__u8 *p;

	if (w->skip) {
		w->skip--;
		return w->scratch;	/* a record checked to fit a message */
	}
	if (w->len && w->len + record_cost(w, t) > w->size)
		ipfix_flush(w);
	if (!w->len)
		w->len = IPFIX_MESSAGE_HEADER_LEN;	/* written by ipfix_flush() */
	if (!(w->described & template_bit(t)))
		describe(w, t);
	if (!w->set_at || w->set_id != t->id)
		begin_set(w, t->id);
	p = w->buf + w->len;
	w->len += t->record_len;
	w->records++;
	return p;
}
