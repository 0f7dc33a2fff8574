// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The part of a sink that writes a stream: log and JSON alike. */
#include <errno.h>
#include <stdlib.h>
#include "output.h"

int stream_sink_open(struct sink **out, const struct sink_ops *ops,
		     const struct sink_options *o, size_t size)
{
	struct stream_sink *s = calloc(1, size);

	if (!s)
		return -ENOMEM;
	s->base.ops = ops;
	s->o = *o;
	*out = &s->base;
	return 0;
}

int stream_sink_written(const struct stream_sink *s)
{
	return ferror(s->o.out) ? -(errno ?: EIO) : 0;
}

int stream_sink_end(struct sink *base)
{
	struct stream_sink *s = (struct stream_sink *)base;

	return fflush(s->o.out) ? -(errno ?: EIO) : stream_sink_written(s);
}

void stream_sink_close(struct sink *base)
{
	struct stream_sink *s = (struct stream_sink *)base;

	rows_free(&s->rows);
	free(s);
}
