/*
 * `fieldmq probe`: one read from a device named on the command line, shown
 * raw, decoded by drivers/value.c as every numeric type in every order,
 * and as text. On a terminal the tables are aligned (and coloured unless
 * NO_COLOR is set); otherwise they are tab-separated, one value per cell,
 * each under a header line, with a blank line between tables, for scripts.
 */
#include "config.h"

#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "config/value.h"
#include "drivers/modbus.h"
#include "drivers/probe.h"
#include "drivers/value.h"
#include "util.h"

#define PROBE_COUNT		8	/* registers or bits by default */
#define PROBE_MAX_REGS		125	/* one Modbus read */
#define PROBE_MAX_BITS		2000
#define PROBE_TCP_PORT		502
#define PROBE_TIMEOUT_MS	1000
#define PROBE_TIMEOUT_MAX_MS	60000
#define PROBE_FLOAT_MAX		1e12	/* larger floats: "-" */
#define PROBE_PATH_MAX		256
#define PROBE_CELL_MAX		(2 * PROBE_MAX_REGS + 1)
#define PTAB_COLS_MAX		8

#define SGR_BOLD		"\033[1m"
#define SGR_DIM			"\033[2m"
#define SGR_RESET		"\033[0m"

/* The tables, by --table name and by the first digit of a Modicon address. */
static const struct probe_table {
	const char	*name;
	enum plan_table	 table;
	char		 modicon;	/* 0xxxx, 1xxxx, 3xxxx, 4xxxx */
	unsigned	 max;		/* registers or bits in one read */
	int		 bits;
} probe_tables[] = {
	{ "holding", PLAN_HOLDING, '4', PROBE_MAX_REGS, 0 },
	{ "input", PLAN_INPUT, '3', PROBE_MAX_REGS, 0 },
	{ "coil", PLAN_COIL, '0', PROBE_MAX_BITS, 1 },
	{ "discrete", PLAN_DISCRETE, '1', PROBE_MAX_BITS, 1 },
};

/* The types of the decoded table, in the order shown. */
static const struct probe_type {
	const char	*name;
	enum drv_type	 type;
	unsigned	 nregs;
	double		 tiny;		/* floats: nonzero below: subnormal */
} probe_types[] = {
	{ "int16", DRV_INT16, 1, 0 },
	{ "uint16", DRV_UINT16, 1, 0 },
	{ "int32", DRV_INT32, 2, 0 },
	{ "uint32", DRV_UINT32, 2, 0 },
	{ "int64", DRV_INT64, 4, 0 },
	{ "uint64", DRV_UINT64, 4, 0 },
	{ "float32", DRV_FLOAT32, 2, FLT_MIN },
	{ "float64", DRV_FLOAT64, 4, DBL_MIN },
};

/* The orders, one column each; text has only the first two (value.h). */
static const struct probe_order {
	const char	*name;
	enum drv_order	 order;
} probe_orders[] = {
	{ "ABCD", DRV_ABCD }, { "BADC", DRV_BADC },
	{ "CDAB", DRV_CDAB }, { "DCBA", DRV_DCBA },
};
#define PROBE_TEXT_ORDERS	2

/* Parities for -r, by name or letter. */
static const struct probe_parity {
	const char	*name;
	const char	*letter;
	int		 parity;	/* CFG_PARITY_* */
} probe_parities[] = {
	{ "none", "N", CFG_PARITY_NONE },
	{ "even", "E", CFG_PARITY_EVEN },
	{ "odd", "O", CFG_PARITY_ODD },
};

/* A column of an output table. */
struct ptab_col {
	const char	*name;
	int		 left;		/* terminal: align left */
};

/* An output table, kept whole until the column widths are known. */
struct ptab {
	const struct ptab_col	*cols;
	size_t			 ncols;
	char			**cells;	/* nrows * ncols, or NULL */
	int			*gap;		/* starts a group */
	size_t			 nrows, cap;
};

/* One run: the options, then what was read. */
struct probe {
	struct cfg_device	 dev;		/* from -t or -r */
	char			 path[PROBE_PATH_MAX]; /* host or serial */
	char			 name[160];	/* "tcp 10.0.0.5:502" */
	const struct probe_table *table;
	int			 table_set;	/* --table was given */
	int			 modicon;	/* --modicon; then 5 or 6 digits */
	uint16_t		 addr;
	uint16_t		 count;
	uint16_t		 regs[PROBE_MAX_REGS];
	uint8_t			 bits[PROBE_MAX_BITS];
	int			 tty;		/* stdout is one */
	int			 colour;
};

static void	 ptab_set(struct ptab *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 probe_usage(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

void
probe_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq probe [-t HOST[:PORT] | -r DEVICE[:BAUD[:PARITY:DATA:STOP]]]\n"
	    "                     [-u UNIT] [--table holding|input|coil|discrete]\n"
	    "                     [--timeout 1s] [--modicon] ADDRESS [COUNT]\n"
	    "Reads COUNT registers (default %d, at most %d; coils and discrete\n"
	    "inputs: %d) from ADDRESS and prints them raw, decoded as every type in\n"
	    "every byte and word order, and as text: the type, order and address\n"
	    "of a new device's values in one look.\n"
	    "\n"
	    "  -t, --tcp HOST[:PORT]  a Modbus TCP device (port %d)\n"
	    "  -r, --rtu DEVICE[:BAUD[:PARITY:DATA:STOP]]\n"
	    "                         a Modbus RTU device (9600:N:8:1)\n"
	    "  -u, --unit UNIT        the unit (slave) id (default 1)\n"
	    "  --table TABLE          holding (default), input, coil or discrete\n"
	    "  --timeout DURATION     how long to wait for an answer (default 1s)\n"
	    "  --modicon              ADDRESS is 1-based with the table in front:\n"
	    "                         40001 or 400001 is holding 0, 30001 input 0,\n"
	    "                         10001 discrete 0, 1 coil 0\n"
	    "\n"
	    "ADDRESS is 0-based, as on the wire and in a tag's address. Floats that\n"
	    "are not finite, subnormal or larger than 1e12 are shown as '-'. When\n"
	    "stdout is not a terminal the tables are tab-separated with a header.\n"
	    "Exit status: 0, 1 if the device cannot be read, 2 for bad usage.\n",
	    PROBE_COUNT, PROBE_MAX_REGS, PROBE_MAX_BITS, PROBE_TCP_PORT);
}

/* ---- output tables ------------------------------------------------------ */

/* An empty table with these columns (at most PTAB_COLS_MAX). */
static void
ptab_init(struct ptab *t, const struct ptab_col *cols, size_t ncols)
{
	if (ncols > PTAB_COLS_MAX)
		fatal("probe: a table of %zu columns", ncols);
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
}

/* Frees the cells; the table itself is the caller's. */
static void
ptab_free(struct ptab *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->gap);
}

/* Starts a row; gap: a blank line before it on a terminal. */
static void
ptab_row(struct ptab *t, int gap)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 64 : 2 * t->cap;
		t->cells = xreallocarray(t->cells, t->cap * t->ncols,
		    sizeof(*t->cells));
		t->gap = xreallocarray(t->gap, t->cap, sizeof(*t->gap));
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*t->cells));
	t->gap[t->nrows++] = gap;
}

/* Fills a cell of the last row. */
static void
ptab_set(struct ptab *t, size_t col, const char *fmt, ...)
{
	char	 buf[PROBE_CELL_MAX + 1];
	char	**cell = &t->cells[(t->nrows - 1) * t->ncols + col];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(*cell);
	*cell = xstrdup(buf);
}

/* A cell's text; row -1 is the header. */
static const char *
ptab_text(const struct ptab *t, long r, size_t c)
{
	const char	*s;

	if (r < 0)
		return t->cols[c].name;
	s = t->cells[(size_t)r * t->ncols + c];
	return s != NULL ? s : "";
}

/* The widths of the columns over the header and rows [from, to). */
static void
ptab_widths(const struct ptab *t, size_t from, size_t to, size_t *w)
{
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->cols[c].name);
		for (size_t r = from; r < to; r++)
			if (strlen(ptab_text(t, (long)r, c)) > w[c])
				w[c] = strlen(ptab_text(t, (long)r, c));
	}
}

/* Writes one cell padded to width w; the last column is not padded. */
static void
ptab_cell(const struct probe *p, const struct ptab_col *c, const char *s,
    size_t w, int last, const char *sgr)
{
	int	 pad = (int)(w - strlen(s));

	if (!c->left)
		printf("%*s", pad, "");
	if (p->colour && sgr != NULL)
		printf("%s%s%s", sgr, s, SGR_RESET);
	else
		fputs(s, stdout);
	if (c->left && !last)
		printf("%*s", pad, "");
}

/* Writes row r (-1: the header): aligned to w, or if w is NULL with tabs. */
static void
ptab_line(const struct probe *p, const struct ptab *t, long r,
    const size_t *w)
{
	const char	*s;

	for (size_t c = 0; c < t->ncols; c++) {
		s = ptab_text(t, r, c);
		if (w == NULL) {
			printf("%s%s", c > 0 ? "\t" : "", s);
			continue;
		}
		if (c > 0)
			fputs("  ", stdout);
		ptab_cell(p, &t->cols[c], s, w[c], c + 1 == t->ncols,
		    r < 0 ? SGR_BOLD : strcmp(s, "-") == 0 ? SGR_DIM : NULL);
	}
	putchar('\n');
}

/* Writes the header and rows [from, to). */
static void
ptab_lines(const struct probe *p, const struct ptab *t, size_t from,
    size_t to, const size_t *w)
{
	ptab_line(p, t, -1, w);
	for (size_t r = from; r < to; r++)
		ptab_line(p, t, (long)r, w);
}

/*
 * Prints a table: on a terminal each group of rows aligned under its own
 * header, so narrow values stay narrow; otherwise all rows tab-separated
 * under one header.
 */
static void
ptab_print(const struct probe *p, const struct ptab *t)
{
	size_t	 w[PTAB_COLS_MAX], from = 0, to;

	if (!p->tty) {
		ptab_lines(p, t, 0, t->nrows, NULL);
		return;
	}
	do {
		for (to = from + 1; to < t->nrows && !t->gap[to]; to++)
			;
		if (to > t->nrows)
			to = t->nrows;
		if (from > 0)
			putchar('\n');
		ptab_widths(t, from, to, w);
		ptab_lines(p, t, from, to, w);
		from = to;
	} while (from < t->nrows);
}

/* Starts a table: a blank line, and on a terminal its title. */
static void
probe_section(const struct probe *p, const char *title)
{
	putchar('\n');
	if (p->colour)
		printf(SGR_BOLD "%s" SGR_RESET "\n", title);
	else if (p->tty)
		printf("%s\n", title);
}

/* ---- the tables -------------------------------------------------------- */

/* An address as the user gave it: 0-based, or Modicon (40001: holding 0). */
static void
probe_addr(const struct probe *p, unsigned addr, char *buf, size_t sz)
{
	if (p->modicon == 0)
		snprintf(buf, sz, "%u", addr);
	else
		snprintf(buf, sz, "%c%0*u", p->table->modicon, p->modicon - 1,
		    addr + 1);
}

/* A byte as itself if it is printable ASCII, else '.'. */
static char
probe_ascii(unsigned c)
{
	return c >= 0x20 && c < 0x7f ? (char)c : '.';
}

/* The first line: the device, the unit and the block read. */
static void
probe_title(const struct probe *p)
{
	char	 first[16], last[16];

	probe_addr(p, p->addr, first, sizeof(first));
	probe_addr(p, p->addr + p->count - 1u, last, sizeof(last));
	printf("%s%s unit %lld: %s %s%s%s (%u %s%s", p->colour ? SGR_BOLD :
	    p->tty ? "" : "# ", p->name, (long long)p->dev.unit_id,
	    p->table->name, first, p->count > 1 ? ".." : "",
	    p->count > 1 ? last : "", p->count,
	    p->table->bits ? "bit" : "register", p->count > 1 ? "s" : "");
	if (p->modicon)
		printf(", 0-based %u", p->addr);
	printf(")%s\n", p->colour ? SGR_RESET : "");
}

/* Coils and discrete inputs: one row per bit. */
static void
probe_bits(const struct probe *p)
{
	static const struct ptab_col cols[] = {
		{ "address", 0 }, { "value", 0 },
	};
	struct ptab	 t;
	char		 a[16];

	ptab_init(&t, cols, FMQ_NELEM(cols));
	for (unsigned i = 0; i < p->count; i++) {
		probe_addr(p, p->addr + i, a, sizeof(a));
		ptab_row(&t, 0);
		ptab_set(&t, 0, "%s", a);
		ptab_set(&t, 1, "%u", p->bits[i] != 0);
	}
	probe_section(p, "bits");
	ptab_print(p, &t);
	ptab_free(&t);
}

/* The registers as read: address, hex, decimal and the two bytes as ASCII. */
static void
probe_raw(const struct probe *p)
{
	static const struct ptab_col cols[] = {
		{ "address", 0 }, { "hex", 0 }, { "dec", 0 }, { "ascii", 1 },
	};
	struct ptab	 t;
	char		 a[16];

	ptab_init(&t, cols, FMQ_NELEM(cols));
	for (unsigned i = 0; i < p->count; i++) {
		probe_addr(p, p->addr + i, a, sizeof(a));
		ptab_row(&t, 0);
		ptab_set(&t, 0, "%s", a);
		ptab_set(&t, 1, "0x%04x", p->regs[i]);
		ptab_set(&t, 2, "%u", p->regs[i]);
		ptab_set(&t, 3, "%c%c", probe_ascii(p->regs[i] >> 8),
		    probe_ascii(p->regs[i] & 0xff));
	}
	probe_section(p, "registers");
	ptab_print(p, &t);
	ptab_free(&t);
}

/* One decoded value: "-" for a float that no meter would send. */
static void
probe_value(const struct probe_type *pt, enum drv_order order,
    const uint16_t *regs, size_t nregs, char *buf, size_t sz)
{
	struct drv_format	 f = { .type = pt->type, .order = order,
				    .bit = -1, .scale = 1, .offset = 0 };
	struct drv_value	 v;
	double			 a;

	if (drv_decode(&f, regs, nregs, &v) == -1) {
		snprintf(buf, sz, "?");
		return;
	}
	if (v.kind == DRV_V_DOUBLE) {
		a = fabs(v.d);
		if (!isfinite(a) || a > PROBE_FLOAT_MAX ||
		    (a != 0 && a < pt->tiny)) {
			snprintf(buf, sz, "-");
			return;
		}
	}
	drv_value_json(&v, buf, sz);
}

/* Every type at every start address that fits, one column per order. */
static void
probe_decoded(const struct probe *p)
{
	static const struct ptab_col cols[] = {
		{ "type", 1 }, { "address", 0 }, { "ABCD", 0 }, { "BADC", 0 },
		{ "CDAB", 0 }, { "DCBA", 0 },
	};
	const struct probe_type	*pt;
	struct ptab		 t;
	char			 a[16], v[32];

	_Static_assert(FMQ_NELEM(cols) == 2 + FMQ_NELEM(probe_orders),
	    "a column per order");
	ptab_init(&t, cols, FMQ_NELEM(cols));
	for (size_t k = 0; k < FMQ_NELEM(probe_types); k++) {
		pt = &probe_types[k];
		for (unsigned i = 0; i + pt->nregs <= p->count; i++) {
			probe_addr(p, p->addr + i, a, sizeof(a));
			ptab_row(&t, k > 0 && i == 0);
			ptab_set(&t, 0, "%s", pt->name);
			ptab_set(&t, 1, "%s", a);
			for (size_t o = 0; o < FMQ_NELEM(probe_orders); o++) {
				probe_value(pt, probe_orders[o].order,
				    p->regs + i, p->count - i, v, sizeof(v));
				ptab_set(&t, 2 + o, "%s", v);
			}
		}
	}
	probe_section(p, "decoded");
	ptab_print(p, &t);
	ptab_free(&t);
}

/*
 * The whole block as text: first character in the high byte (ABCD) or
 * the low byte (BADC) of each register, as for string tags; bytes that
 * are not printable ASCII are shown as '.'.
 */
static void
probe_text(const struct probe *p)
{
	static const struct ptab_col cols[] = { { "order", 1 }, { "text", 1 } };
	struct ptab	 t;
	char		 s[PROBE_CELL_MAX];
	unsigned	 swap;

	ptab_init(&t, cols, FMQ_NELEM(cols));
	for (size_t o = 0; o < PROBE_TEXT_ORDERS; o++) {
		swap = probe_orders[o].order == DRV_BADC;
		for (unsigned i = 0; i < 2u * p->count; i++)
			s[i] = probe_ascii((p->regs[i / 2] >>
			    (i % 2 != swap ? 0 : 8)) & 0xff);
		s[2 * p->count] = '\0';
		ptab_row(&t, 0);
		ptab_set(&t, 0, "%s", probe_orders[o].name);
		ptab_set(&t, 1, "%s", s);
	}
	probe_section(p, "text");
	ptab_print(p, &t);
	ptab_free(&t);
}

/* ---- the command line -------------------------------------------------- */

/* Prints "probe: message" and returns -1 (bad usage). */
static int
probe_usage(const char *fmt, ...)
{
	va_list	 ap;

	fputs("probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Sets p->path to the n bytes at s; -1 if empty or too long. */
static int
probe_path(struct probe *p, const char *s, size_t n)
{
	if (n == 0 || n >= sizeof(p->path))
		return -1;
	memcpy(p->path, s, n);
	p->path[n] = '\0';
	return 0;
}

/* HOST[:PORT], [V6]:PORT or a bare V6 address; port 502 by default. */
static int
probe_parse_tcp(struct probe *p, const char *arg)
{
	const char	*host = arg, *end, *colon = strchr(arg, ':');
	size_t		 hlen = strlen(arg);
	int64_t		 port = PROBE_TCP_PORT;

	if (arg[0] == '[') {
		if ((end = strchr(arg, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':'))
			return -1;
		host = arg + 1;
		hlen = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else if (colon != NULL && strchr(colon + 1, ':') != NULL)
		colon = NULL;
	else if (colon != NULL)
		hlen = (size_t)(colon - arg);
	if (colon != NULL && cfg_parse_int(colon + 1, 1, 65535, &port) == -1)
		return -1;
	if (probe_path(p, host, hlen) == -1)
		return -1;
	p->dev.driver = CFG_DRIVER_MODBUS_TCP;
	p->dev.host = p->path;
	p->dev.port = port;
	return 0;
}

/* N, E, O or none, even, odd, in any case. */
static int
probe_parse_parity(const char *s, int *parity)
{
	for (size_t i = 0; i < FMQ_NELEM(probe_parities); i++) {
		if (strcasecmp(s, probe_parities[i].name) == 0 ||
		    strcasecmp(s, probe_parities[i].letter) == 0) {
			*parity = probe_parities[i].parity;
			return 0;
		}
	}
	return -1;
}

/* DEVICE[:BAUD[:PARITY:DATA:STOP]], 9600:N:8:1 by default. */
static int
probe_parse_rtu(struct probe *p, const char *arg)
{
	char	 buf[PROBE_PATH_MAX + 64], *f[6], *s;
	size_t	 n = 0;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	memcpy(buf, arg, strlen(arg) + 1);
	for (s = buf; n < FMQ_NELEM(f) && s != NULL; n++)
		f[n] = strsep(&s, ":");
	if (s != NULL || (n != 1 && n != 2 && n != 5) ||
	    probe_path(p, f[0], strlen(f[0])) == -1)
		return -1;
	p->dev.driver = CFG_DRIVER_MODBUS_RTU;
	p->dev.serial = p->path;
	p->dev.baud = 9600;
	p->dev.parity = CFG_PARITY_NONE;
	p->dev.data_bits = 8;
	p->dev.stop_bits = 1;
	if (n >= 2 && cfg_parse_int(f[1], 50, 4000000, &p->dev.baud) == -1)
		return -1;
	if (n == 5 && (probe_parse_parity(f[2], &p->dev.parity) == -1 ||
	    cfg_parse_int(f[3], 5, 8, &p->dev.data_bits) == -1 ||
	    cfg_parse_int(f[4], 1, 2, &p->dev.stop_bits) == -1))
		return -1;
	return 0;
}

/* A table by --table name, or if name is NULL by its Modicon digit. */
static const struct probe_table *
probe_table_find(const char *name, char modicon)
{
	for (size_t i = 0; i < FMQ_NELEM(probe_tables); i++)
		if (name != NULL ? strcmp(name, probe_tables[i].name) == 0 :
		    modicon == probe_tables[i].modicon)
			return &probe_tables[i];
	return NULL;
}

/*
 * A Modicon address: six digits are the table's digit and 00001..65536,
 * up to five digits the table's digit (0 if fewer) and 0001..9999.
 */
static int
probe_parse_modicon(struct probe *p, const char *s)
{
	const struct probe_table	*t;
	size_t				 len = strlen(s);
	unsigned long			 n;

	if (len == 0 || len > 6 || strspn(s, "0123456789") != len)
		goto fail;
	n = strtoul(len >= 5 ? s + 1 : s, NULL, 10);
	if (n == 0 || n > (len == 6 ? 65536u : 9999u) ||
	    (t = probe_table_find(NULL, len >= 5 ? s[0] : '0')) == NULL)
		goto fail;
	if (p->table_set && t != p->table)
		return probe_usage("%s is a %s address, not %s", s, t->name,
		    p->table->name);
	p->table = t;
	p->modicon = len == 6 ? 6 : 5;
	p->addr = (uint16_t)(n - 1);
	return 0;
fail:
	return probe_usage("ADDRESS wants a Modicon address such as 40001 or "
	    "300001, not '%s'", s);
}

/* ADDRESS [COUNT], after the options. */
static int
probe_parse_block(struct probe *p, int argc, char **argv)
{
	int64_t	 addr, v = PROBE_COUNT;

	if (argc < 1)
		return probe_usage("ADDRESS is missing");
	if (argc > 2)
		return probe_usage("unexpected argument '%s'", argv[2]);
	if (p->modicon) {
		if (probe_parse_modicon(p, argv[0]) == -1)
			return -1;
	} else if (cfg_parse_int(argv[0], 0, 65535, &addr) == 0)
		p->addr = (uint16_t)addr;
	else
		return probe_usage("ADDRESS wants 0..65535, not '%s'", argv[0]);
	if (argc == 2 && cfg_parse_int(argv[1], 1, p->table->max, &v) == -1)
		return probe_usage("COUNT wants 1..%u, not '%s'",
		    p->table->max, argv[1]);
	if (p->addr + v > 65536)
		return probe_usage("%s+%lld goes past address 65535", argv[0],
		    (long long)v);
	p->count = (uint16_t)v;
	return 0;
}

/* Checks the options against each other once all are read. */
static int
probe_check(struct probe *p, const char *tcp, const char *rtu)
{
	if (tcp != NULL && rtu != NULL)
		return probe_usage("-t and -r name two devices; give one");
	if (tcp == NULL && rtu == NULL)
		return probe_usage("no device: give -t HOST[:PORT] or "
		    "-r DEVICE");
	if (rtu != NULL && (p->dev.unit_id < 1 || p->dev.unit_id > 247))
		return probe_usage("-u wants 1..247 on a serial line, not %lld",
		    (long long)p->dev.unit_id);
	if (tcp != NULL && p->dev.unit_id > 247 && p->dev.unit_id != 255)
		return probe_usage("-u wants 0..247 or 255 over TCP, not %lld",
		    (long long)p->dev.unit_id);
	return 0;
}

enum { PROBE_OPT_TABLE = 256, PROBE_OPT_TIMEOUT, PROBE_OPT_MODICON };

static const struct option probe_longopts[] = {
	{ "tcp", required_argument, NULL, 't' },
	{ "rtu", required_argument, NULL, 'r' },
	{ "unit", required_argument, NULL, 'u' },
	{ "table", required_argument, NULL, PROBE_OPT_TABLE },
	{ "timeout", required_argument, NULL, PROBE_OPT_TIMEOUT },
	{ "modicon", no_argument, NULL, PROBE_OPT_MODICON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Reads the command line into p: 0, 1 after --help, -1 after a message. */
static int
probe_options(struct probe *p, int argc, char **argv)
{
	const char	*tcp = NULL, *rtu = NULL;
	int		 c;

	p->dev.unit_id = 1;
	p->dev.timeout_ms = PROBE_TIMEOUT_MS;
	p->table = &probe_tables[0];
	optind = 0;
	while ((c = getopt_long(argc, argv, "t:r:u:h", probe_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 't':
			if (probe_parse_tcp(p, tcp = optarg) == -1)
				return probe_usage("-t wants HOST[:PORT], not "
				    "'%s'", optarg);
			break;
		case 'r':
			if (probe_parse_rtu(p, rtu = optarg) == -1)
				return probe_usage("-r wants DEVICE[:BAUD"
				    "[:PARITY:DATA:STOP]], not '%s'", optarg);
			break;
		case 'u':
			if (cfg_parse_int(optarg, 0, 255,
			    &p->dev.unit_id) == -1)
				return probe_usage("-u wants a unit id 0..255, "
				    "not '%s'", optarg);
			break;
		case PROBE_OPT_TABLE:
			if ((p->table = probe_table_find(optarg, 0)) == NULL)
				return probe_usage("--table wants holding, "
				    "input, coil or discrete, not '%s'",
				    optarg);
			p->table_set = 1;
			break;
		case PROBE_OPT_TIMEOUT:
			if (cfg_parse_duration(optarg,
			    &p->dev.timeout_ms) == -1 ||
			    p->dev.timeout_ms == 0 ||
			    p->dev.timeout_ms > PROBE_TIMEOUT_MAX_MS)
				return probe_usage("--timeout wants a duration "
				    "up to 60s such as 500ms or 2s, not '%s'",
				    optarg);
			break;
		case PROBE_OPT_MODICON:
			p->modicon = 1;
			break;
		case 'h':
			probe_help(stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (probe_check(p, tcp, rtu) == -1)
		return -1;
	return probe_parse_block(p, argc - optind, argv + optind);
}

/* ---- the read ---------------------------------------------------------- */

/* A 0-based address that reads as a Modicon one of its table (40101). */
static int
probe_looks_modicon(const struct probe *p)
{
	return !p->modicon && p->addr > 10000 && p->addr < 50000 &&
	    p->addr % 10000 != 0 && '0' + p->addr / 10000 == p->table->modicon;
}

/* Connects and reads the block; 0, or -1 after a message. */
static int
probe_read(struct probe *p)
{
	struct mb		*mb;
	struct mb_result	 r;
	char			 err[256], first[16];
	int			 rc = -1;

	if ((mb = mb_new(&p->dev, err, sizeof(err))) == NULL) {
		fprintf(stderr, "probe: %s\n", err);
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", mb_name(mb));
	if (mb_connect(mb, &r) == -1) {
		fprintf(stderr, "probe: %s: connect: %s\n", p->name, r.text);
		goto fail;
	}
	if (mb_read(mb, (int)p->dev.unit_id, p->table->table, p->addr,
	    p->count, p->regs, p->bits, &r) == -1) {
		probe_addr(p, p->addr, first, sizeof(first));
		fprintf(stderr, "probe: %s: read %s %s+%u: %s\n", p->name,
		    p->table->name, first, p->count, r.text);
		if (r.err == MB_EXCEPTION && r.exception == 2 &&
		    probe_looks_modicon(p))
			fprintf(stderr, "probe: (a 1-based Modicon address? "
			    "try --modicon %s)\n", first);
		goto fail;
	}
	rc = 0;
fail:
	mb_free(mb);
	return rc;
}

/* Prints what was read: the raw block, then decoded every way. */
static void
probe_print(const struct probe *p)
{
	probe_title(p);
	if (p->table->bits) {
		probe_bits(p);
		return;
	}
	probe_raw(p);
	probe_decoded(p);
	probe_text(p);
}

int
probe_main(int argc, char **argv)
{
	struct probe	*p = xcalloc(1, sizeof(*p));
	const char	*nc = getenv("NO_COLOR"), *term = getenv("TERM");
	int		 rc;

	if ((rc = probe_options(p, argc, argv)) != 0) {
		if (rc == -1)
			fprintf(stderr, "'fieldmq probe --help' describes the "
			    "options.\n");
		free(p);
		return rc == 1 ? 0 : 2;
	}
	p->tty = isatty(STDOUT_FILENO);
	p->colour = p->tty && (nc == NULL || nc[0] == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	if (probe_read(p) == 0) {
		probe_print(p);
		rc = fflush(stdout) == 0 ? 0 : 1;
	} else
		rc = 1;
	free(p);
	return rc;
}
