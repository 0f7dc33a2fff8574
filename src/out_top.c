// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The live view, in the spirit of top and iftop: every interface's state and
 * totals, then one row per key, busiest first, ranked together across
 * interfaces; redrawn every round, and at once on a key press. Laid out for
 * 80x24 first:
 *
 *   xdptop  elapsed 0:00:07  key: source address  sort: pps, busiest first
 *   rx0  native xdptop_frags  table 82/65536 (0.1%)
 *     last interval: 20.4k pps  17.0M bit/s  other   1.0%  untracked   0.0%
 *     total since start: 42239 packets  4636335 bytes  other 924 (2.2%)
 *     untracked 0 (0.0%)
 *   SOURCE                       PPS  BIT/S  AVG PPS  PACKETS  BYTES   SHARE
 *   2000:0:0:40::              9.52k  6.55M    3.78k    18.8k  1.62M   46.7% ###
 *   1.0.0.0                    9.52k  5.03M    3.78k    18.8k  1.24M   46.7% ###
 *   ...
 *   fe80::e091:f5ff:fecc:7abd      0      0       20      132  21.4k    0.0%
 *   s < > sort  r reverse  p pause  up/down select  Esc unselect  q quit
 *
 * Nothing is cut: the header's fields wrap whole onto the next line, and
 * where the columns do not fit, the least needed go (never the sort's):
 * above, AVG BIT/S made room for an IPv6 address.
 *
 * Keys: s cycles the sort, < and > move it a column, r reverses it, p or
 * space pauses the display (counting goes on), up/down (k/j) select a row,
 * which then follows its key wherever the ranking puts it, Esc unselects,
 * K says how to count by another key (the program's key is set when it
 * loads, and the agent keeps no privilege to load another), q quits.
 * Messages (an interface lost) show in the bottom line. On exit, the last
 * screen stays on the terminal as text.
 *
 * What is on screen is a frame: copies of a round's reports and of its
 * ranked rows, so that a paused display outlives the tallies it was taken
 * from. Live, the frame is rebuilt from the last round at every round and
 * key press: the tallies do not change between rounds. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curses.h>
#include <term.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include "msg.h"
#include "output.h"

/* Lines between the header (as many as its fields take) and the rows:
 * the columns' titles; below the rows: the status line. */
#define COLUMN_LINES 1
#define STATUS_LINES 1

#define LINE_MAX_CHARS 512
#define FIELD_LEN 128
#define GAP 2			/* spaces between columns, and between the header's fields */
#define WRAP_INDENT 2		/* where a line of the header after an interface's first starts */
#define VLAN_WIDTH 9		/* "4095.4095" */
#define PAUSED " PAUSED "
#define HELP_LINE "s < > sort  r reverse  p pause  up/down select  Esc unselect  K key  q quit"
/* K: the key is set when the program loads; another counts beside it. */
#define KEY_HINT "another key: xdptop -k FIELDS IFACE, beside this one with --multiprog"
#define HELP_SHORT "s sort  r reverse  p pause  q quit"	/* the way out, at any width */
#define TERM_WHY_LEN 128
#define UNIT_LEN 16
#define KEY_ESC 27
#define SORT_KEYS (SORT_BYTES + 1)

enum color { COLOR_BAR = 1, COLOR_MESSAGE };

/* One key's row: copies, since a paused frame outlives the tally's. */
struct view_row {
	const struct iface_info *iface;
	struct xdptop_key key;
	struct xdptop_counter cum;
	struct key_report fig;
	double avg_pps, avg_bps;
};

/* A round and its reports, copied: main reuses its arrays. */
struct round_copy {
	struct round round;
	struct report *reports;		/* sink_options.n_ifaces long */
};

struct frame {
	struct round_copy data;
	struct view_row *rows;
	size_t n_rows, cap;
};

/* A selected key on its interface. */
struct selection {
	bool on;
	int ifindex;
	struct xdptop_key key;
};

struct top_sink {
	struct sink base;
	struct sink_options o;
	SCREEN *screen;
	int winch_fd;
	bool winch_was_blocked;
	bool has_round;
	struct round_copy last;		/* the last round, as it comes in */
	struct frame frame;		/* what is on screen */
	struct rows ranked;		/* one interface's ranking, while a frame is built */
	enum sort_key sort;
	bool reverse, paused;
	bool key_hint;			/* K: KEY_HINT in the status line, until a key */
	struct selection sel;
	char status[LINE_MAX_CHARS];	/* the last message */
};

/* The columns after the key's own, in order; those one can sort by say so. */
enum column { COL_PPS, COL_BPS, COL_AVG_PPS, COL_AVG_BPS, COL_PACKETS, COL_BYTES, COL_SHARE,
	      N_COLUMNS };

/* A column is as wide as its title, or as its widest value: si_units()
 * writes at most 5 characters, a share 6 ("100.0%"). */
static const struct {
	const char *title;
	int width;
	int sort;	/* the sort_key it shows, or -1 */
} column_defs[N_COLUMNS] = {
	[COL_PPS] = { "PPS", 5, SORT_PPS },
	[COL_BPS] = { "BIT/S", 5, SORT_BPS },
	[COL_AVG_PPS] = { "AVG PPS", 7, -1 },
	[COL_AVG_BPS] = { "AVG BIT/S", 9, -1 },
	[COL_PACKETS] = { "PACKETS", 7, SORT_PACKETS },
	[COL_BYTES] = { "BYTES", 5, SORT_BYTES },
	[COL_SHARE] = { "SHARE", 6, -1 },
};

/* Where the screen is too narrow, columns go in this order (never the
 * sort's): the averages first; the last interval's rates, what an
 * incident is read from, last. */
static const enum column drop_order[N_COLUMNS] = {
	COL_AVG_BPS, COL_AVG_PPS, COL_BYTES, COL_PACKETS, COL_SHARE, COL_BPS, COL_PPS,
};

/* Where a frame's columns go on the current screen. */
struct layout {
	int iface_width;	/* 0: one interface, no IFACE column */
	int n_key_columns;	/* what the key shows: key_shown() */
	struct {
		int field;	/* enum xdptop_field, or KEY_SHOWN_FAMILY */
		int width;
	} key_column[KEY_SHOWN_MAX];
	bool vlan;
	bool shown[N_COLUMNS];
	int x[N_COLUMNS];	/* where each shown one starts */
	int bar_x;
};

/* The header's text, laid out as fields, GAP apart, each whole on one
 * line: one that does not fit in what is left of a line starts the next,
 * indented. Without draw, only counts the lines: the rows' room depends on
 * them. */
struct flow {
	int y, x;
	int start;	/* where the line's first field goes */
	bool draw;
};

/* SI units as network people read them: 600k bit/s is 600,000 bit/s; at
 * most three digits, so that a column keeps its width. */
static const char *si_units(double v, char buf[UNIT_LEN])
{
	static const char prefixes[] = " kMGTPE";
	int p = 0;

	/* Rounding decides the unit: 999.7 is "1.00k", not "1000". */
	while (v >= 999.5 && p < (int)sizeof(prefixes) - 2) {
		v /= 1000;
		p++;
	}
	if (!p)
		snprintf(buf, UNIT_LEN, "%.0f", v);
	else
		snprintf(buf, UNIT_LEN, "%.*f%c", v < 9.995 ? 2 : v < 99.95 ? 1 : 0, v,
			 prefixes[p]);
	return buf;
}

static double share(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* A row's measure for the sort: rows of one frame share its round's
 * interval, so interval counts rank (and share) as rates do. */
static double row_measure(const struct view_row *v, enum sort_key by)
{
	return (double)sort_measure(by, &v->cum, &v->fig.last);
}

/* The sort's measure over every interface of a frame, for shares. */
static double frame_measure(const struct frame *f, enum sort_key by)
{
	double sum = 0;

	for (size_t i = 0; i < f->data.round.n_reports; i++) {
		const struct counter_report *t = &f->data.reports[i].total;

		sum += (double)sort_measure(by, &t->cum, &t->last);
	}
	return sum;
}

struct view_order {
	enum sort_key by;
	bool reverse;
};

/* report_rank()'s order (within an interface every key shares the
 * interval, so rates rank as its counts do), then interface order: merging
 * each interface's first rows keeps each one's own ranking. */
static int row_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct view_order *o = ctx;
	const struct view_row *a = pa, *b = pb;
	double ma = row_measure(a, o->by), mb = row_measure(b, o->by);
	int order = report_order(ma == mb ? 0 : ma > mb ? -1 : 1, &a->cum, &b->cum, o->reverse) ?:
		    key_compare(&a->key, &b->key);

	if (order)
		return order;
	return (a->iface->ifindex > b->iface->ifindex) - (a->iface->ifindex < b->iface->ifindex);
}

static void frame_sort(struct top_sink *s)
{
	struct view_order o = { .by = s->sort, .reverse = s->reverse };

	qsort_r(s->frame.rows, s->frame.n_rows, sizeof(*s->frame.rows), row_cmp, &o);
}

static void copy_round(struct round_copy *to, const struct round_copy *from)
{
	to->round = from->round;
	to->round.reports = to->reports;
	memcpy(to->reports, from->reports, from->round.n_reports * sizeof(*to->reports));
}

/* Starts the next line of the header at x. */
static void flow_line(struct flow *f, int x)
{
	f->y++;
	f->x = f->start = x;
}

static void flow_field(struct flow *f, attr_t attr, const char *text)
{
	int len = (int)strlen(text);

	if (f->x > f->start && f->x + GAP + len > COLS)
		flow_line(f, WRAP_INDENT);
	if (f->x > f->start)
		f->x += GAP;
	if (f->draw && f->x < COLS) {
		attron(attr);
		mvaddnstr(f->y, f->x, text, COLS - f->x);
		attroff(attr);
	}
	f->x += len;
}

static void flow_fields(struct flow *f, attr_t attr, char fields[][FIELD_LEN], int n)
{
	for (int i = 0; i < n; i++)
		flow_field(f, attr, fields[i]);
}

static void describe_key(const struct key_spec *k, char *buf, size_t len)
{
	const char *what = k->fields == XDPTOP_FIELD_DST ? "destination" : "source";
	bool cut = (k->fields & XDPTOP_FIELDS_ADDRESS) && (k->prefix4 != 32 || k->prefix6 != 128);
	char fields[KEY_FIELDS_TEXT_LEN];
	int n;

	if (!key_is_address(k))
		n = snprintf(buf, len, "%s%s", key_format_fields(k->fields, fields),
			     cut ? " by prefix" : "");
	else
		n = snprintf(buf, len, "%s %s", what, cut ? "prefix" : "address");
	if (cut && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " /%u (IPv4) /%u (IPv6)", k->prefix4, k->prefix6);
	if (k->vlan && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " and VLAN");
}

static const struct key_spec *round_key(const struct round_copy *d)
{
	return d->round.n_reports ? d->reports[0].key : NULL;
}

static void flow_title(struct flow *f, const struct top_sink *s, const struct round_copy *d)
{
	long t = (long)d->round.elapsed;
	char fields[4][FIELD_LEN] = { "xdptop" }, key[96] = "";

	if (round_key(d))
		describe_key(round_key(d), key, sizeof(key));
	snprintf(fields[1], FIELD_LEN, "elapsed %ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	snprintf(fields[2], FIELD_LEN, "key: %s", key);
	snprintf(fields[3], FIELD_LEN, "sort: %s, %s first", sort_key_name(s->sort),
		 s->reverse ? "quietest" : "busiest");
	flow_line(f, 0);
	flow_fields(f, A_BOLD, fields, 4);
	if (s->paused)
		flow_field(f, A_REVERSE | A_BOLD, PAUSED);
}

/* Three lines, each of fields that wrap: the interface's state; the last
 * interval, its figures as wide as they can be (so that a changing value
 * never moves the line's wrap); the totals since the start. An ARP storm
 * that begins after hours shows at once on the second line. */
static void flow_iface(struct flow *f, const struct report *r)
{
	const struct counter_report *t = &r->total;
	char fields[4][FIELD_LEN], pps[UNIT_LEN], bps[UNIT_LEN];

	snprintf(fields[0], FIELD_LEN, "%s", r->iface->shown);
	snprintf(fields[1], FIELD_LEN, "%s %s", r->iface->mode, r->iface->program);
	snprintf(fields[2], FIELD_LEN, "table %zu/%u (%.1f%%)", r->n_keys, r->iface->capacity,
		 share(r->n_keys, r->iface->capacity));
	flow_line(f, 0);
	flow_fields(f, A_NORMAL, fields, 3);

	snprintf(fields[0], FIELD_LEN, "last interval: %5s pps", si_units(t->pps, pps));
	snprintf(fields[1], FIELD_LEN, "%5s bit/s", si_units(t->bps, bps));
	snprintf(fields[2], FIELD_LEN, "other %5.1f%%", share(r->other.last.packets,
							    t->last.packets));
	snprintf(fields[3], FIELD_LEN, "untracked %5.1f%%", share(r->untracked.last.packets,
								t->last.packets));
	flow_line(f, WRAP_INDENT);
	flow_fields(f, A_NORMAL, fields, 4);

	snprintf(fields[0], FIELD_LEN, "total since start: %llu packets",
		 (unsigned long long)t->cum.packets);
	snprintf(fields[1], FIELD_LEN, "%llu bytes", (unsigned long long)t->cum.bytes);
	snprintf(fields[2], FIELD_LEN, "other %llu (%.1f%%)",
		 (unsigned long long)r->other.cum.packets,
		 share(r->other.cum.packets, t->cum.packets));
	snprintf(fields[3], FIELD_LEN, "untracked %llu (%.1f%%)",
		 (unsigned long long)r->untracked.cum.packets,
		 share(r->untracked.cum.packets, t->cum.packets));
	flow_line(f, WRAP_INDENT);
	flow_fields(f, A_NORMAL, fields, 4);
}

/* Draws (or, without draw, only measures) the title and each interface's
 * lines; returns the line after them. */
static int flow_header(const struct top_sink *s, const struct round_copy *data, bool draw)
{
	struct flow f = { .y = -1, .draw = draw };

	flow_title(&f, s, data);
	for (size_t i = 0; i < data->round.n_reports; i++)
		flow_iface(&f, &data->reports[i]);
	return f.y + 1;
}

/* Rows the screen has room for under the frame's header, or fewer with
 * --top. */
static size_t rows_wanted(const struct top_sink *s)
{
	int room = LINES - flow_header(s, &s->frame.data, false) - COLUMN_LINES - STATUS_LINES;
	size_t n = room > 0 ? (size_t)room : 0;

	return s->o.top && s->o.top < n ? s->o.top : n;
}

static int frame_reserve(struct frame *f, size_t n)
{
	struct view_row *grown;

	if (n <= f->cap)
		return 0;
	grown = realloc(f->rows, n * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	f->rows = grown;
	f->cap = n;
	return 0;
}

static void view_row_set(struct view_row *v, const struct report *r, const struct source_count *k)
{
	v->iface = r->iface;
	tally_key(r->tally, k, &v->key);
	v->cum = (struct xdptop_counter){ k->packets, k->bytes };
	report_key(r, k, &v->fig);
	report_key_average(r, k, &v->avg_pps, &v->avg_bps);
}

static bool row_is_selected(const struct view_row *v, const struct selection *sel)
{
	return sel->on && v->iface->ifindex == sel->ifindex && key_equal(&v->key, &sel->key);
}

static long selected_row(const struct top_sink *s)
{
	for (size_t i = 0; i < s->frame.n_rows; i++)
		if (row_is_selected(&s->frame.rows[i], &s->sel))
			return (long)i;
	return -1;
}

/* The selected key in the last round, wherever it ranks; NULL when it is
 * no longer tracked (forgotten, or its interface gone). */
static const struct source_count *find_selected(const struct top_sink *s,
						const struct report **in)
{
	for (size_t i = 0; i < s->last.round.n_reports; i++) {
		const struct report *r = &s->last.reports[i];

		if (r->iface->ifindex != s->sel.ifindex)
			continue;
		for (size_t j = 0; j < r->n_keys; j++) {
			const struct source_count *k = tally_source(r->tally, j);

			if (tally_has_key(r->tally, k, &s->sel.key)) {
				*in = r;
				return k;
			}
		}
	}
	return NULL;
}

/* A selected key ranked out of view takes the last row, so that the
 * operator does not lose it; one no longer tracked is unselected. */
static void pin_selection(struct top_sink *s)
{
	const struct report *r = NULL;
	const struct source_count *k;

	if (!s->sel.on || selected_row(s) >= 0)
		return;
	k = find_selected(s, &r);
	if (!k)
		s->sel.on = false;
	else if (s->frame.n_rows)
		view_row_set(&s->frame.rows[s->frame.n_rows - 1], r, k);
}

/* Ranks the last round: each interface's first rows (a bounded heap in
 * report_rank), merged and cut to what fits. */
static int frame_build(struct top_sink *s)
{
	struct frame *f = &s->frame;
	size_t want, n_reports = s->last.round.n_reports;

	copy_round(&f->data, &s->last);
	want = rows_wanted(s);
	f->n_rows = 0;
	if (!want)
		return 0;
	if (frame_reserve(f, want * n_reports))
		return -ENOMEM;
	for (size_t i = 0; i < n_reports; i++) {
		const struct report *r = &s->last.reports[i];

		if (rows_rank(&s->ranked, r, s->sort, s->reverse, want))
			return -ENOMEM;
		for (size_t j = 0; j < s->ranked.n; j++)
			view_row_set(&f->rows[f->n_rows++], r, s->ranked.row[j]);
	}
	frame_sort(s);
	if (f->n_rows > want)
		f->n_rows = want;
	pin_selection(s);
	return 0;
}

static int iface_name_width(const struct frame *f)
{
	int w = 5;	/* "IFACE" */

	for (size_t i = 0; i < f->data.round.n_reports; i++) {
		int n = (int)strlen(f->data.reports[i].iface->shown);

		w = n > w ? n : w;
	}
	return w;
}

static int columns_width(const struct layout *l)
{
	int w = 0;

	for (int c = 0; c < N_COLUMNS; c++)
		w += l->shown[c] ? GAP + column_defs[c].width : 0;
	return w;
}

/* Drops columns in drop_order until the rest fit the screen. */
static void fit_columns(struct layout *l, int key_width, enum sort_key sort)
{
	for (int c = 0; c < N_COLUMNS; c++)
		l->shown[c] = true;
	for (int i = 0; i < N_COLUMNS && key_width + columns_width(l) > COLS; i++)
		if (column_defs[drop_order[i]].sort != (int)sort)
			l->shown[drop_order[i]] = false;
}

/* k, or before any report the default key, whose columns the view shows. */
static const struct key_spec *key_or_default(const struct key_spec *k)
{
	static const struct key_spec default_key = KEY_SPEC_DEFAULT;

	return k ? k : &default_key;
}

static const char *key_column_title(const struct key_spec *k, int field)
{
	k = key_or_default(k);
	switch (field) {
	case KEY_SHOWN_FAMILY:
		return "IP";
	case XDPTOP_FIELD_SRC:
		return key_is_address(k) ? "SOURCE" : "SRC";
	case XDPTOP_FIELD_DST:
		return key_is_address(k) ? "DESTINATION" : "DST";
	case XDPTOP_FIELD_PROTO:
		return "PROTO";
	case XDPTOP_FIELD_SPORT:
		return "SPORT";
	case XDPTOP_FIELD_DPORT:
		return "DPORT";
	default:
		return "FLAGS";
	}
}

static const char *key_column_text(const struct key_spec *k, const struct xdptop_key *key,
				   int field, char buf[KEY_FIELD_LEN])
{
	if (field == KEY_SHOWN_FAMILY)
		return key_family(key) == 4 ? "ipv4" : "ipv6";
	return key_format_field(k, key, field, buf);
}

/* The key's columns, each as wide as its title. */
static void key_columns(struct layout *l, const struct key_spec *k)
{
	int shown[KEY_SHOWN_MAX];

	k = key_or_default(k);
	l->n_key_columns = key_shown(k, shown);
	for (int i = 0; i < l->n_key_columns; i++) {
		l->key_column[i].field = shown[i];
		l->key_column[i].width = (int)strlen(key_column_title(k, shown[i]));
	}
}

static struct layout layout_of(const struct top_sink *s)
{
	const struct frame *f = &s->frame;
	const struct key_spec *k = round_key(&f->data);
	struct layout l = { .iface_width = s->o.n_ifaces > 1 ? iface_name_width(f) : 0,
			    .vlan = k && k->vlan };
	int x;

	key_columns(&l, k);
	if (!k || key_is_address(k))	/* room for an IPv4 address, as before */
		l.key_column[0].width = 11;
	for (size_t i = 0; i < f->n_rows; i++) {
		for (int c = 0; c < l.n_key_columns; c++) {
			char text[KEY_FIELD_LEN];
			int n = (int)strlen(key_column_text(k, &f->rows[i].key,
							     l.key_column[c].field, text));

			if (n > l.key_column[c].width)
				l.key_column[c].width = n;
		}
	}
	x = l.iface_width ? l.iface_width + GAP : 0;
	for (int c = 0; c < l.n_key_columns; c++)
		x += (c ? GAP : 0) + l.key_column[c].width;
	x += l.vlan ? GAP + VLAN_WIDTH : 0;
	fit_columns(&l, x, s->sort);
	for (int c = 0; c < N_COLUMNS; c++) {
		if (!l.shown[c])
			continue;
		l.x[c] = x + GAP;
		x += GAP + column_defs[c].width;
	}
	l.bar_x = x + 1;
	return l;
}

/* Appends to a line being built at its length n; returns the new length
 * (what does not fit is cut). */
__attribute__((format(printf, 3, 4)))
static int append(char line[LINE_MAX_CHARS], int n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(line + n, LINE_MAX_CHARS - n, fmt, ap);
	va_end(ap);
	return k < 0 ? n : n + k < LINE_MAX_CHARS ? n + k : LINE_MAX_CHARS - 1;
}

/* The key's columns, then the numbers' (right-aligned), as the layout
 * places them. */
static int format_row(char line[LINE_MAX_CHARS], const struct layout *l, const char *iface,
		      const char *const key[KEY_SHOWN_MAX], const char *vlan,
		      const char *const num[N_COLUMNS])
{
	int n = 0;

	if (l->iface_width)
		n = append(line, n, "%-*s%*s", l->iface_width, iface, GAP, "");
	for (int c = 0; c < l->n_key_columns; c++)
		n = append(line, n, "%*s%-*s", c ? GAP : 0, "", l->key_column[c].width, key[c]);
	if (l->vlan)
		n = append(line, n, "%*s%-*s", GAP, "", VLAN_WIDTH, vlan);
	for (int c = 0; c < N_COLUMNS; c++)
		if (l->shown[c])
			n = append(line, n, "%*s%*s", GAP, "", column_defs[c].width, num[c]);
	return n;
}

static void draw_column_titles(const struct top_sink *s, const struct layout *l, int y)
{
	const struct key_spec *k = round_key(&s->frame.data);
	const char *titles[N_COLUMNS];
	char line[LINE_MAX_CHARS];

	const char *key_titles[KEY_SHOWN_MAX];

	for (int c = 0; c < N_COLUMNS; c++)
		titles[c] = column_defs[c].title;
	for (int c = 0; c < l->n_key_columns; c++)
		key_titles[c] = key_column_title(k, l->key_column[c].field);
	format_row(line, l, "IFACE", key_titles, "VLAN", titles);
	attron(A_BOLD);
	mvaddnstr(y, 0, line, COLS);
	attroff(A_BOLD);
	for (int c = 0; c < N_COLUMNS; c++)
		if (l->shown[c] && column_defs[c].sort == (int)s->sort)
			mvchgat(y, l->x[c], column_defs[c].width, A_BOLD | A_REVERSE, 0, NULL);
}

static void draw_bar(int y, int x, double pct, attr_t attr)
{
	int room = COLS - x, n = (int)(pct / 100.0 * room + 0.5);

	if (room <= 0)
		return;
	if (has_colors())
		attr |= COLOR_PAIR(COLOR_BAR);
	mvhline(y, x, '#' | attr, n > room ? room : n);
}

static void draw_row(const struct top_sink *s, const struct layout *l, int y,
		     const struct view_row *v, double whole)
{
	char keys[KEY_SHOWN_MAX][KEY_FIELD_LEN], vlans[KEY_VLANS_LEN], num[N_COLUMNS][UNIT_LEN];
	const char *key_texts[KEY_SHOWN_MAX];
	char line[LINE_MAX_CHARS];
	const char *texts[N_COLUMNS];
	attr_t attr = row_is_selected(v, &s->sel) ? A_REVERSE : A_NORMAL;
	double pct = share(row_measure(v, s->sort), whole);

	si_units(v->fig.pps, num[COL_PPS]);
	si_units(v->fig.bps, num[COL_BPS]);
	si_units(v->avg_pps, num[COL_AVG_PPS]);
	si_units(v->avg_bps, num[COL_AVG_BPS]);
	si_units((double)v->cum.packets, num[COL_PACKETS]);
	si_units((double)v->cum.bytes, num[COL_BYTES]);
	snprintf(num[COL_SHARE], UNIT_LEN, "%.1f%%", pct);
	for (int c = 0; c < N_COLUMNS; c++)
		texts[c] = num[c];
	for (int c = 0; c < l->n_key_columns; c++)
		key_texts[c] = key_column_text(round_key(&s->frame.data), &v->key,
					       l->key_column[c].field, keys[c]);
	format_row(line, l, v->iface->shown, key_texts, key_format_vlans(v->key.meta, vlans),
		   texts);
	mvhline(y, 0, ' ' | attr, COLS);	/* a selection spans the whole line */
	attron(attr);
	mvaddnstr(y, 0, line, COLS);
	attroff(attr);
	draw_bar(y, l->bar_x, pct, attr);
}

static void draw_status(const struct top_sink *s)
{
	bool message = s->status[0];
	attr_t attr = A_NORMAL;

	if (message)
		attr = has_colors() ? COLOR_PAIR(COLOR_MESSAGE) | A_BOLD : A_BOLD;
	move(LINES - 1, 0);
	clrtoeol();
	attron(attr);
	mvaddnstr(LINES - 1, 0, message ? s->status : s->key_hint ? KEY_HINT :
		  COLS < (int)strlen(HELP_LINE) ? HELP_SHORT : HELP_LINE, COLS);
	attroff(attr);
}

static void draw(const struct top_sink *s)
{
	const struct frame *f = &s->frame;
	struct layout l = layout_of(s);
	int y, last = LINES - 1 - STATUS_LINES;
	double whole = frame_measure(f, s->sort);

	erase();
	y = flow_header(s, &f->data, true);
	draw_column_titles(s, &l, y++);
	for (size_t i = 0; i < f->n_rows && y <= last; i++, y++)
		draw_row(s, &l, y, &f->rows[i], whole);
	draw_status(s);
	refresh();
}

/* Live, ranks the last round again (the sort or the screen changed);
 * paused, re-sorts the rows on screen. */
static int redraw(struct top_sink *s)
{
	int err = 0;

	if (s->paused)
		frame_sort(s);
	else if (s->has_round)
		err = frame_build(s);
	draw(s);
	return err;
}

static void show_message(void *ctx, const char *message)
{
	struct top_sink *s = ctx;

	snprintf(s->status, sizeof(s->status), "%s", message);
	draw_status(s);
	refresh();
}

/* Moves the selection a row up or down the screen; with none, down selects
 * the first row and up the last. */
static void select_move(struct top_sink *s, int delta)
{
	long n = (long)s->frame.n_rows, i = selected_row(s);
	const struct view_row *v;

	if (!n)
		return;
	if (i < 0)
		i = delta > 0 ? 0 : n - 1;
	else
		i = i + delta < 0 ? 0 : i + delta >= n ? n - 1 : i + delta;
	v = &s->frame.rows[i];
	s->sel = (struct selection){ .on = true, .ifindex = v->iface->ifindex,
				     .key = v->key };
}

/* Applies a key; false when it means nothing here. */
static bool apply_key(struct top_sink *s, int key)
{
	switch (key) {
	case 's':
		s->sort = (s->sort + 1) % SORT_KEYS;
		break;
	case '<':
		s->sort = s->sort > 0 ? s->sort - 1 : s->sort;
		break;
	case '>':
		s->sort = s->sort + 1 < SORT_KEYS ? s->sort + 1 : s->sort;
		break;
	case 'r':
		s->reverse = !s->reverse;
		break;
	case 'p':
	case ' ':
		s->paused = !s->paused;
		break;
	case KEY_UP:
	case 'k':
		select_move(s, -1);
		break;
	case KEY_DOWN:
	case 'j':
		select_move(s, 1);
		break;
	case KEY_ESC:
		s->sel.on = false;
		break;
	case 'K':	/* below */
		break;
	default:
		return false;
	}
	s->key_hint = key == 'K';	/* until the next key it knows */
	return true;
}

/* SIGWINCH, read from a descriptor main's loop watches: ncurses' own
 * handler would only be noticed at the next key. */
static int watch_resizes(struct top_sink *s)
{
	sigset_t set, was;

	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, &was))
		return -errno;
	s->winch_was_blocked = sigismember(&was, SIGWINCH);
	s->winch_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->winch_fd < 0 ? -errno : 0;
}

/* Reads every pending SIGWINCH; true when there was one. */
static bool drain_resizes(int fd)
{
	struct signalfd_siginfo si;
	bool any = false;

	while (read(fd, &si, sizeof(si)) == sizeof(si))
		any = true;
	return any;
}

/* True when the terminal was resized (and the screen follows it). */
static bool follow_resize(struct top_sink *s)
{
	struct winsize ws;

	if (!drain_resizes(s->winch_fd))
		return false;
	if (!ioctl(fileno(s->o.out), TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	return true;
}

/* Still readable with no key to read: a terminal that hung up, or one
 * that only answers EIO (a background process group that lost it); else
 * poll would wake us for ever. */
static bool terminal_gone(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && p.revents;
}

static int top_input(struct sink *base)
{
	struct top_sink *s = (struct top_sink *)base;
	bool changed = follow_resize(s), read_any = changed;
	int key;

	while ((key = getch()) != ERR) {
		read_any = true;
		if (key == 'q' || key == 'Q')
			return SINK_QUIT;
		changed |= apply_key(s, key);
	}
	if (!read_any && terminal_gone())
		return SINK_QUIT;
	return changed ? redraw(s) : SINK_GO_ON;
}

static int top_watch(struct sink *base, int fds[SINK_MAX_FDS])
{
	fds[0] = STDIN_FILENO;
	fds[1] = ((struct top_sink *)base)->winch_fd;
	return 2;
}

static int top_begin(struct sink *base, const struct round *r)
{
	struct top_sink *s = (struct top_sink *)base;

	s->last.round = *r;
	s->last.round.reports = s->last.reports;
	s->last.round.n_reports = 0;
	return 0;
}

static int top_report(struct sink *base, const struct report *r)
{
	struct top_sink *s = (struct top_sink *)base;

	if (s->last.round.n_reports >= s->o.n_ifaces)
		return -EINVAL;
	s->last.reports[s->last.round.n_reports++] = *r;
	return 0;
}

static int top_end(struct sink *base)
{
	struct top_sink *s = (struct top_sink *)base;

	s->has_round = true;
	return s->paused ? 0 : redraw(s);
}

static void top_free(struct top_sink *s)
{
	if (s->winch_fd >= 0) {
		sigset_t set;

		/* Unblocked only once read: a pending SIGWINCH must not reach
		 * ncurses' handler after the screen is gone. */
		drain_resizes(s->winch_fd);
		close(s->winch_fd);
		sigemptyset(&set);
		sigaddset(&set, SIGWINCH);
		if (!s->winch_was_blocked)
			sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	rows_free(&s->ranked);
	free(s->frame.rows);
	free(s->frame.data.reports);
	free(s->last.reports);
	free(s);
}

/* Line y of the window as text, without its trailing blanks; its length. */
static int screen_line(int y, char line[LINE_MAX_CHARS])
{
	int n = mvinnstr(y, 0, line, COLS < LINE_MAX_CHARS ? COLS : LINE_MAX_CHARS - 1);

	n = n > 0 ? n : 0;	/* ERR: nothing read */
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	return n;
}

/* Leaves the last screen on the terminal, as text, read back from the
 * window once endwin() took the view's own screen away: the ranking one
 * quit on stays in sight. Not the status line: its message goes to stderr,
 * and its keys do nothing there. */
static void print_last_screen(FILE *out)
{
	char line[LINE_MAX_CHARS];
	int blank = 0;

	for (int y = 0; y < LINES - STATUS_LINES; y++) {
		if (!screen_line(y, line)) {
			blank++;
			continue;
		}
		for (; blank; blank--)	/* between lines; none after the last */
			fputc('\n', out);
		fprintf(out, "%s\n", line);
	}
	fflush(out);
}

static void top_close(struct sink *base)
{
	struct top_sink *s = (struct top_sink *)base;

	endwin();
	print_last_screen(s->o.out);
	delscreen(s->screen);
	/* Messages go to stderr again, now that the terminal is back; main's
	 * own msg_release() then finds none kept. */
	msg_release();
	top_free(s);
}

static void setup_screen(void)
{
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);	/* Esc alone: not the start of an arrow's sequence */
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(COLOR_BAR, COLOR_GREEN, -1);
		init_pair(COLOR_MESSAGE, COLOR_YELLOW, -1);
	}
}

/* Whether the terminal on fd cannot hold the view; why in why. The view
 * moves the cursor: on a terminal that cannot (TERM=dumb), curses would
 * write its lines one after another, garbage. */
static bool terminal_unusable(int fd, char why[TERM_WHY_LEN])
{
	const char *term = getenv("TERM");
	int err = 0;
	bool known = term && *term && setupterm(NULL, fd, &err) == OK;
	const char *cup = known ? tigetstr("cup") : NULL;
	bool moves = cup && cup != (const char *)-1;

	if (known)
		del_curterm(cur_term);
	if (moves)
		return false;
	if (!term || !*term)
		snprintf(why, TERM_WHY_LEN, "TERM is not set");
	else if (!known && err != 1)	/* 1: a hardcopy terminal, known */
		snprintf(why, TERM_WHY_LEN, "TERM=%.64s names no terminal this system describes",
			 term);
	else
		snprintf(why, TERM_WHY_LEN, "TERM=%.64s cannot move the cursor", term);
	return true;
}

int top_check_terminal(FILE *out)
{
	char why[TERM_WHY_LEN];

	if (!terminal_unusable(fileno(out), why))
		return 0;
	fprintf(stderr, "xdptop: cannot start the live view: %s: set TERM to your terminal's "
			"type (e.g. TERM=xterm-256color), or use --format log or --format json\n",
		why);
	return -ENOTTY;
}

static int top_open(struct sink **out, const struct sink_options *o)
{
	struct top_sink *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	*s = (struct top_sink){ .base.ops = &sink_top, .o = *o, .winch_fd = -1, .sort = o->sort };
	s->last.reports = calloc(o->n_ifaces, sizeof(*s->last.reports));
	s->frame.data.reports = calloc(o->n_ifaces, sizeof(*s->frame.data.reports));
	if (!s->last.reports || !s->frame.data.reports) {
		top_free(s);
		return -ENOMEM;
	}
	/* Asked again (main() asked before attaching) before newterm():
	 * one that fails leaks what it allocated (ncurses 6.4). */
	if (top_check_terminal(o->out)) {
		top_free(s);
		return -ENOTTY;
	}
	s->screen = newterm(NULL, o->out, stdin);
	if (!s->screen) {
		fprintf(stderr, "xdptop: cannot start the live view (the terminal cannot be set "
				"up): use --format log or --format json\n");
		top_free(s);
		return -ENOTTY;
	}
	setup_screen();
	err = watch_resizes(s);
	if (err) {
		top_close(&s->base);
		fprintf(stderr, "xdptop: cannot watch the terminal's size (%s)\n", strerror(-err));
		return err;
	}
	msg_hold(show_message, s);
	redraw(s);
	*out = &s->base;
	return 0;
}

const struct sink_ops sink_top = {
	.name = "top",
	.open = top_open,
	.begin = top_begin,
	.report = top_report,
	.end = top_end,
	.watch = top_watch,
	.input = top_input,
	.close = top_close,
};
