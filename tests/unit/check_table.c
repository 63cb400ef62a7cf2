/*
 * Unit tests of a rule-engine table (store/table.c) on an in-memory
 * database, with mappings loaded from YAML: where each column's value
 * comes from, the conversion of every kind of JSON value to every column
 * type, not_null and key columns, where: conditions, UPSERT, names that
 * are SQL keywords or that the config refuses, malformed and hostile
 * payloads, mapping changes on a reopen, and retention by age and by
 * row count.
 */
#include "config.h"

#include <check.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "config/schema.h"
#include "store/table.h"
#include "util.h"

#define T0	1795600800000ull	/* 2026-11-25T10:00:00Z */
#define HOUR	(3600ull * 1000)
#define EITHER	99			/* TBL_ROW or TBL_REJECTED */

/*
 * An assertion for hot loops: Check's own ck_assert reports every pass to
 * the parent process, which costs seconds over a million checks.
 */
#define REQUIRE(e) do {							\
	if (!(e))							\
		ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #e);	\
} while (0)

struct fx {
	sqlite3			*db;
	struct fmq_config	*cfg;
	struct tbl		*t;
};

static char	reason[256];

static char *
join(const struct cfg_errors *errs)
{
	size_t	 len = 1;
	char	*s;

	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->lines[i]) + 1;
	s = xcalloc(1, len);
	for (size_t i = 0; i < errs->n; i++) {
		if (i)
			strcat(s, "\n");
		strcat(s, errs->lines[i]);
	}
	return s;
}

/* A config of a store and the tables section given; it must load. */
static struct fmq_config *
load(const char *tables)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	char			*doc, *got;

	doc = xasprintf("store: { path: /tmp/fieldmq-check-table.db }\n%s",
	    tables);
	cfg = config_load_buffer("t.yaml", doc, strlen(doc), &errs);
	got = join(&errs);
	ck_assert_msg(cfg != NULL, "%s\n%s", got, doc);
	free(got);
	free(doc);
	cfg_errors_free(&errs);
	return cfg;
}

/* The errors of a config that must not load, one a line. */
static char *
refused(const char *tables)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	char			*doc, *got;

	doc = xasprintf("store: { path: /tmp/fieldmq-check-table.db }\n%s",
	    tables);
	cfg = config_load_buffer("t.yaml", doc, strlen(doc), &errs);
	ck_assert_msg(cfg == NULL, "loaded:\n%s", doc);
	got = join(&errs);
	free(doc);
	cfg_errors_free(&errs);
	return got;
}

static struct tbl *
open_ok(sqlite3 *db, const struct cfg_table *ct)
{
	struct tbl	*t;
	char		 err[512] = "";

	t = tbl_open(db, ct, err, sizeof(err));
	ck_assert_msg(t != NULL, "tbl_open: %s", err);
	ck_assert_str_eq(tbl_name(t), ct->name);
	return t;
}

static void
fx_open(struct fx *f, const char *tables)
{
	ck_assert_int_eq(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	f->cfg = load(tables);
	f->t = open_ok(f->db, &f->cfg->tables[0]);
}

static void
fx_close(struct fx *f)
{
	tbl_close(f->t);
	ck_assert_int_eq(sqlite3_close(f->db), SQLITE_OK);
	config_free(f->cfg);
}

static enum tbl_result
put_msg(struct tbl *t, const char *topic, const void *payload, size_t len,
    uint64_t time_ms)
{
	struct tbl_msg m = {
		.topic = topic, .topic_len = strlen(topic),
		.payload = payload, .payload_len = len,
		.qos = 1, .retain = 0, .time_ms = time_ms, .client_id = "dev-1",
	};

	reason[0] = '\0';
	return tbl_insert(t, &m, reason, sizeof(reason));
}

static enum tbl_result
put(struct tbl *t, const char *topic, const char *payload)
{
	return put_msg(t, topic, payload, strlen(payload), T0);
}

static sqlite3_stmt *
query(sqlite3 *db, const char *fmt, va_list ap)
{
	sqlite3_stmt	*st;
	char		*sql = sqlite3_vmprintf(fmt, ap);

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		ck_abort_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_free(sql);
	return st;
}

/* The first column of the first row as text: "(no row)", "(null)". */
static const char *
q(sqlite3 *db, const char *fmt, ...)
{
	static char	 bufs[4][2048];
	static int	 next;
	char		*out = bufs[next++ % 4];
	sqlite3_stmt	*st;
	va_list		 ap;

	va_start(ap, fmt);
	st = query(db, fmt, ap);
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_ROW)
		snprintf(out, sizeof(bufs[0]), "(no row)");
	else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		snprintf(out, sizeof(bufs[0]), "(null)");
	else
		snprintf(out, sizeof(bufs[0]), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static long long
num(sqlite3 *db, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	long long	 n;

	va_start(ap, fmt);
	st = query(db, fmt, ap);
	va_end(ap);
	REQUIRE(sqlite3_step(st) == SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Column col of the first row of tab where cond, as "typeof:quote". */
static const char *
cell(sqlite3 *db, const char *tab, const char *col, const char *cond)
{
	return q(db, "SELECT typeof(\"%w\") || ':' || quote(\"%w\") FROM \"%w\" "
	    "WHERE %s ORDER BY rowid LIMIT 1", col, col, tab,
	    cond ? cond : "1");
}

static long long
rows(sqlite3 *db, const char *tab)
{
	return num(db, "SELECT count(*) FROM \"%w\"", tab);
}

/* Whether the first row's col holds exactly the n bytes of want. */
static int
stored_is(sqlite3 *db, const char *tab, const char *col, const void *want,
    size_t n)
{
	sqlite3_stmt	*st;
	char		*sql;
	int		 ok;

	sql = sqlite3_mprintf("SELECT CAST(\"%w\" AS BLOB) FROM \"%w\" "
	    "ORDER BY rowid LIMIT 1", col, tab);
	REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	sqlite3_free(sql);
	ok = sqlite3_step(st) == SQLITE_ROW &&
	    (size_t)sqlite3_column_bytes(st, 0) == n &&
	    (n == 0 || memcmp(sqlite3_column_blob(st, 0), want, n) == 0);
	sqlite3_finalize(st);
	return ok;
}

static int
has_index(sqlite3 *db, const char *name)
{
	return num(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
	    "AND name = %Q", name) == 1;
}

/* ---- where each value comes from --------------------------------------- */

struct want_col {
	const char	*col;
	const char	*want;
};

START_TEST(test_sources)
{
	static const struct want_col first[] = {
		{ "ab", "integer:7" },
		{ "first", "text:'x'" },
		{ "spaced", "integer:1" },
		{ "obj", "text:'{\"b\":7}'" },
		{ "whole", "text:'plant/boiler/temp'" },
		{ "l0", "text:'plant'" },
		{ "l1", "text:'boiler'" },
		{ "l2", "text:'temp'" },
		{ "l5", "null:NULL" },
		{ "p", "text:'{\"a\":{\"b\":7},\"list\":[\"x\",\"y\"],"
		    "\"key with space\":true}'" },
		{ "at", "integer:1795600800000" },
		{ "qos", "integer:1" },
		{ "retain", "integer:0" },
		{ "client", "text:'dev-1'" },
		{ "prop", "null:NULL" },
		{ "all", "text:'{\"a\":{\"b\":7},\"list\":[\"x\",\"y\"],"
		    "\"key with space\":true}'" },
		{ "last", "text:'y'" },
	};
	static const struct want_col second[] = {
		{ "ab", "null:NULL" },
		{ "whole", "text:'plant//x'" },
		{ "l0", "text:'plant'" },
		{ "l1", "text:''" },
		{ "l2", "text:'x'" },
		{ "at", "integer:1795600801234" },
		{ "qos", "integer:2" },
		{ "retain", "integer:1" },
		{ "client", "null:NULL" },
		{ "prop", "null:NULL" },
	};
	static const char payload[] = "{\"a\":{\"b\":7},\"list\":[\"x\",\"y\"],"
	    "\"key with space\":true}";
	struct fx	 f;
	struct tbl_msg	 m = {
		.topic = "plant//x", .topic_len = 8, .payload = "{}",
		.payload_len = 2, .qos = 2, .retain = 7, .time_ms = T0 + 1234,
		.client_id = NULL,
	};

	fx_open(&f,
	    "tables:\n"
	    "  - name: t\n"
	    "    topic: \"plant/#\"\n"
	    "    columns:\n"
	    "      ab: $.a.b\n"
	    "      first: \"$.list[0]\"\n"
	    "      spaced: '$.\"key with space\"'\n"
	    "      obj: { from: $.a, type: text }\n"
	    "      whole: topic\n"
	    "      l0: \"topic[0]\"\n"
	    "      l1: \"topic[1]\"\n"
	    "      l2: \"topic[2]\"\n"
	    "      l5: \"topic[5]\"\n"
	    "      p: payload\n"
	    "      at: received_at\n"
	    "      qos: qos\n"
	    "      retain: retain\n"
	    "      client: client_id\n"
	    "      prop: \"user_property[unit]\"\n"
	    "      all: { from: $, type: text }\n"
	    "      last: \"$.list[#-1]\"\n");
	ck_assert(!tbl_has_retention(f.t));
	ck_assert_int_eq(put(f.t, "plant/boiler/temp", payload), TBL_ROW);
	for (size_t i = 0; i < FMQ_NELEM(first); i++)
		ck_assert_msg(strcmp(cell(f.db, "t", first[i].col, "rowid = 1"),
		    first[i].want) == 0, "%s: got %s, want %s", first[i].col,
		    cell(f.db, "t", first[i].col, "rowid = 1"), first[i].want);
	reason[0] = '\0';
	ck_assert_int_eq(tbl_insert(f.t, &m, reason, sizeof(reason)), TBL_ROW);
	for (size_t i = 0; i < FMQ_NELEM(second); i++)
		ck_assert_msg(strcmp(cell(f.db, "t", second[i].col, "rowid = 2"),
		    second[i].want) == 0, "%s: got %s, want %s", second[i].col,
		    cell(f.db, "t", second[i].col, "rowid = 2"), second[i].want);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(name || ':' || type, ' ') "
	    "FROM pragma_table_info('t')"), "ab: first: spaced: obj:TEXT "
	    "whole: l0: l1: l2: l5: p: at: qos: retain: client: prop: all:TEXT last:");
	fx_close(&f);
}
END_TEST

/* The payload as text, blob and auto: invalid UTF-8 and NUL make a blob. */
struct pcase {
	const char	*payload;
	size_t		 len;
	const char	*pt, *pb, *pa;	/* typeof:hex of each column */
};

static const struct pcase pcases[] = {
	{ "21.5", 4, "text:32312E35", "blob:32312E35", "text:32312E35" },
	{ "h\xc3\xa9", 3, "text:68C3A9", "blob:68C3A9", "text:68C3A9" },
	{ "\xff\xfe" "abc", 5, "text:FFFE616263", "blob:FFFE616263",
	  "blob:FFFE616263" },
	{ "\xc3", 1, "text:C3", "blob:C3", "blob:C3" },
	{ "a\0b", 3, "text:610062", "blob:610062", "blob:610062" },
	{ "", 0, "text:", "blob:", "text:" },
};

START_TEST(test_payload)
{
	const struct pcase	*c = &pcases[_i];
	struct fx		 f;

	fx_open(&f,
	    "tables:\n"
	    "  - name: t\n"
	    "    topic: \"plant/#\"\n"
	    "    columns:\n"
	    "      pt: { from: payload, type: text }\n"
	    "      pb: { from: payload, type: blob }\n"
	    "      pa: payload\n");
	ck_assert_int_eq(put_msg(f.t, "plant/a", c->payload, c->len, T0), TBL_ROW);
	ck_assert_str_eq(q(f.db, "SELECT typeof(pt) || ':' || hex(pt) FROM t"),
	    c->pt);
	ck_assert_str_eq(q(f.db, "SELECT typeof(pb) || ':' || hex(pb) FROM t"),
	    c->pb);
	ck_assert_str_eq(q(f.db, "SELECT typeof(pa) || ':' || hex(pa) FROM t"),
	    c->pa);
	fx_close(&f);
}
END_TEST

/* A bare number as the payload, into integer and real columns. */
START_TEST(test_payload_number)
{
	struct fx f;

	fx_open(&f,
	    "tables:\n"
	    "  - name: t\n"
	    "    topic: \"plant/#\"\n"
	    "    columns:\n"
	    "      n: { from: payload, type: integer }\n"
	    "      r: { from: payload, type: real }\n"
	    "      s: { from: \"topic[1]\", type: integer }\n");
	ck_assert_int_eq(put(f.t, "plant/12", "42"), TBL_ROW);
	ck_assert_str_eq(cell(f.db, "t", "n", NULL), "integer:42");
	ck_assert_str_eq(cell(f.db, "t", "r", NULL), "real:42.0");
	ck_assert_str_eq(cell(f.db, "t", "s", NULL), "integer:12");
	ck_assert_int_eq(put(f.t, "plant/12", "-1.5"), TBL_REJECTED);
	ck_assert_msg(strstr(reason, "column n") != NULL &&
	    strstr(reason, "does not convert to integer") != NULL, "%s", reason);
	ck_assert_int_eq(put(f.t, "plant/boiler", "1"), TBL_REJECTED);
	ck_assert_msg(strstr(reason, "column s") != NULL &&
	    strstr(reason, "\"boiler\"") != NULL, "%s", reason);
	ck_assert_int_eq(rows(f.db, "t"), 1);
	fx_close(&f);
}
END_TEST

/*
 * The user's own constraints reject a row; a database that cannot be
 * written is an error to retry; a small reason buffer is never overrun.
 */
START_TEST(test_errors)
{
	struct fx	 f;
	struct tbl_msg	 m = {
		.topic = "plant/a", .topic_len = 7, .payload = "{\"v\": \"abcdef\"}",
		.payload_len = 15, .time_ms = T0,
	};
	char		 small[16];

	fx_open(&f, "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { v: { from: $.v, type: integer } }\n");
	ck_assert_int_eq(sqlite3_exec(f.db, "CREATE TRIGGER no_neg BEFORE INSERT "
	    "ON t WHEN NEW.v < 0 BEGIN SELECT RAISE(ABORT, 'no negatives'); END",
	    NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(put(f.t, "plant/a", "{\"v\": -1}"), TBL_REJECTED);
	ck_assert_str_eq(reason, "no negatives");
	ck_assert_int_eq(put(f.t, "plant/a", "{\"v\": 1}"), TBL_ROW);
	ck_assert_int_eq(sqlite3_exec(f.db, "PRAGMA query_only = 1", NULL, NULL,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(put(f.t, "plant/a", "{\"v\": 2}"), TBL_ERROR);
	ck_assert_msg(strstr(reason, "readonly") != NULL, "%s", reason);
	ck_assert_int_eq(sqlite3_exec(f.db, "PRAGMA query_only = 0", NULL, NULL,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(put(f.t, "plant/a", "{\"v\": 3}"), TBL_ROW);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(v) FROM t"), "1,3");

	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(tbl_insert(f.t, &m, small, 8), TBL_REJECTED);
	ck_assert_str_eq(small, "column ");
	ck_assert_int_eq(small[8], 'x');
	fx_close(&f);
}
END_TEST

/* ---- conversions ------------------------------------------------------- */

struct conv {
	const char	*type;
	const char	*json;		/* v's value; NULL: no v at all */
	const char	*want;		/* the stored v as typeof:quote; NULL: rejected */
	const char	*why;		/* rejected: part of the reason */
};

static const struct conv convs[] = {
	{ "integer", "42", "integer:42" },
	{ "integer", "-7", "integer:-7" },
	{ "integer", "0", "integer:0" },
	{ "integer", "21.0", "integer:21" },
	{ "integer", "1e3", "integer:1000" },
	{ "integer", "21.5", NULL, "$.v 21.5 does not convert to integer" },
	{ "integer", "-0.5", NULL, "$.v -0.5 does not convert to integer" },
	{ "integer", "\"12\"", "integer:12" },
	{ "integer", "\"-12\"", "integer:-12" },
	{ "integer", "\"1e3\"", "integer:1000" },
	{ "integer", "\"21.0\"", "integer:21" },
	{ "integer", "\"21.5\"", NULL, "$.v \"21.5\" does not convert to integer" },
	{ "integer", "\"abc\"", NULL, "$.v \"abc\" does not convert to integer" },
	{ "integer", "\"\"", NULL, "does not convert to integer" },
	{ "integer", "\"12abc\"", NULL, "does not convert to integer" },
	{ "integer", "\" 12\"", NULL, "does not convert to integer" },
	{ "integer", "\"99999999999999999999\"", NULL, "does not convert to integer" },
	{ "integer", "\"9223372036854775807\"", "integer:9223372036854775807" },
	{ "integer", "true", "integer:1" },
	{ "integer", "false", "integer:0" },
	{ "integer", "null", "null:NULL" },
	{ "integer", NULL, "null:NULL" },
	{ "integer", "[1, 2]", NULL, "$.v \"[1,2]\" does not convert to integer" },
	{ "integer", "{\"a\": 1}", NULL, "does not convert to integer" },
	{ "integer", "9223372036854775807", "integer:9223372036854775807" },
	{ "integer", "-9223372036854775808", "integer:-9223372036854775808" },
	{ "integer", "9223372036854775808", NULL, "does not convert to integer" },
	{ "integer", "100000000000000000000", NULL, "does not convert to integer" },
	{ "integer", "1e300", NULL, "does not convert to integer" },

	{ "real", "21.5", "real:21.5" },
	{ "real", "21", "real:21.0" },
	{ "real", "-0.25", "real:-0.25" },
	{ "real", "\"12\"", "real:12.0" },
	{ "real", "\"1e3\"", "real:1000.0" },
	{ "real", "\"-2.5\"", "real:-2.5" },
	{ "real", "\"abc\"", NULL, "$.v \"abc\" does not convert to real" },
	{ "real", "\"nan\"", NULL, "does not convert to real" },
	{ "real", "\"inf\"", NULL, "does not convert to real" },
	{ "real", "true", "real:1.0" },
	{ "real", "false", "real:0.0" },
	{ "real", "null", "null:NULL" },
	{ "real", NULL, "null:NULL" },
	{ "real", "[1]", NULL, "$.v \"[1]\" does not convert to real" },
	{ "real", "{}", NULL, "does not convert to real" },
	{ "real", "1e300", "real:1.0e+300" },
	{ "real", "-1e-300", "real:-1.0e-300" },
	{ "real", "100000000000000000000", "real:1.0e+20" },

	{ "text", "\"abc\"", "text:'abc'" },
	{ "text", "\"\"", "text:''" },
	{ "text", "\"it's\"", "text:'it''s'" },
	{ "text", "42", "text:'42'" },
	{ "text", "-7", "text:'-7'" },
	{ "text", "21.5", "text:'21.5'" },
	{ "text", "0.1", "text:'0.1'" },
	{ "text", "true", "text:'true'" },
	{ "text", "false", "text:'false'" },
	{ "text", "null", "null:NULL" },
	{ "text", NULL, "null:NULL" },
	{ "text", "[1, 2]", "text:'[1,2]'" },
	{ "text", "{\"a\": {\"b\": null}}", "text:'{\"a\":{\"b\":null}}'" },
	{ "text", "9223372036854775807", "text:'9223372036854775807'" },

	{ "blob", "\"abc\"", "blob:X'616263'" },
	{ "blob", "42", "integer:42" },
	{ "blob", "21.5", "real:21.5" },
	{ "blob", "true", "text:'true'" },
	{ "blob", "[1,2]", "blob:X'5B312C325D'" },
	{ "blob", "null", "null:NULL" },
	{ "blob", NULL, "null:NULL" },

	{ "timestamp", "1795600800000", "integer:1795600800000" },
	{ "timestamp", "1795600800000.4", "integer:1795600800000" },
	{ "timestamp", "1795600800000.6", "integer:1795600800001" },
	{ "timestamp", "-1000", "integer:-1000" },
	{ "timestamp", "\"1795600800000\"", "integer:1795600800000" },
	{ "timestamp", "\"2026-11-25T10:00:00Z\"", "integer:1795600800000" },
	{ "timestamp", "\"2026-11-25T10:00:00.250Z\"", "integer:1795600800250" },
	{ "timestamp", "\"2026-11-25T11:30:00+01:30\"", "integer:1795600800000" },
	{ "timestamp", "\"2026-11-25 10:00:00\"", "integer:1795600800000" },
	{ "timestamp", "\"2026-11-25\"", "integer:1795564800000" },
	{ "timestamp", "\"yesterday\"", NULL,
	  "$.v \"yesterday\" does not convert to timestamp" },
	{ "timestamp", "\"2026-13-45T10:00:00Z\"", NULL,
	  "does not convert to timestamp" },
	{ "timestamp", "\"\"", NULL, "does not convert to timestamp" },
	{ "timestamp", "true", NULL, "does not convert to timestamp" },
	{ "timestamp", "[1]", NULL, "does not convert to timestamp" },
	{ "timestamp", "1e300", NULL, "does not convert to timestamp" },
	{ "timestamp", "null", "null:NULL" },
	{ "timestamp", NULL, "null:NULL" },

	{ "auto", "42", "integer:42" },
	{ "auto", "-7", "integer:-7" },
	{ "auto", "21.5", "real:21.5" },
	{ "auto", "21.0", "real:21.0" },
	{ "auto", "\"abc\"", "text:'abc'" },
	{ "auto", "\"12\"", "text:'12'" },
	{ "auto", "true", "integer:1" },
	{ "auto", "false", "integer:0" },
	{ "auto", "null", "null:NULL" },
	{ "auto", NULL, "null:NULL" },
	{ "auto", "[1, \"a\"]", "text:'[1,\"a\"]'" },
	{ "auto", "1e300", "real:1.0e+300" },
	{ "auto", "9223372036854775807", "integer:9223372036854775807" },
	{ "auto", "100000000000000000000", "real:1.0e+20" },
};

START_TEST(test_convert)
{
	const struct conv	*c = &convs[_i];
	struct fx		 f;
	char			*yaml, *payload;
	enum tbl_result		 r;

	yaml = xasprintf("tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { v: { from: $.v, type: %s } }\n", c->type);
	fx_open(&f, yaml);
	if (c->json != NULL)
		payload = xasprintf("{\"v\": %s, \"w\": 1}", c->json);
	else
		payload = xstrdup("{\"w\": 1}");
	r = put(f.t, "plant/a", payload);
	if (c->want != NULL) {
		ck_assert_msg(r == TBL_ROW, "%s %s: result %d (%s)", c->type,
		    payload, r, reason);
		ck_assert_msg(strcmp(cell(f.db, "t", "v", NULL), c->want) == 0,
		    "%s %s: got %s, want %s", c->type, payload,
		    cell(f.db, "t", "v", NULL), c->want);
	} else {
		ck_assert_msg(r == TBL_REJECTED, "%s %s: result %d, stored %s",
		    c->type, payload, r, cell(f.db, "t", "v", NULL));
		ck_assert_msg(strncmp(reason, "column v: ", 10) == 0 &&
		    strstr(reason, c->why) != NULL, "%s %s: reason \"%s\"",
		    c->type, payload, reason);
		ck_assert_int_eq(rows(f.db, "t"), 0);
	}
	free(payload);
	free(yaml);
	fx_close(&f);
}
END_TEST

/* ---- not_null and keys ------------------------------------------------- */

struct ncase {
	const char	*topic;
	const char	*payload;
	const char	*why;		/* NULL: a row */
};

static const struct ncase ncases[] = {
	{ "plant/b1", "{\"id\": 1, \"v\": 2}", NULL },
	{ "plant/b1", "{\"id\": 1, \"v\": 0, \"note\": null}", NULL },
	{ "plant/b1", "{\"id\": 1}", "column v: $.v is missing (not_null)" },
	{ "plant/b1", "{\"id\": 1, \"v\": null}", "column v: $.v is null (not_null)" },
	{ "plant/b1", "{\"v\": 1}", "column id: $.id is missing (a key column)" },
	{ "plant/b1", "{\"id\": null, \"v\": 1}",
	  "column id: $.id is null (a key column)" },
	{ "plant", "{\"id\": 1, \"v\": 1}",
	  "column device: topic[1] is missing (a key column)" },
	{ "plant/b1", "{\"id\": 1, \"v\": 1, \"u\": null}",
	  "column u: user_property[unit] is missing (not_null)" },
};

START_TEST(test_required)
{
	const struct ncase	*c = &ncases[_i];
	struct fx		 f;
	char			*yaml;
	enum tbl_result		 r;

	yaml = xasprintf(
	    "tables:\n"
	    "  - name: t\n"
	    "    topic: \"plant/+\"\n"
	    "    columns:\n"
	    "      device: \"topic[1]\"\n"
	    "      id: $.id\n"
	    "      v: { from: $.v, not_null: true }\n"
	    "      note: $.note\n"
	    "%s"
	    "    key: [ device, id ]\n",
	    strstr(c->payload, "\"u\"") ? "      u: { from: "
	    "\"user_property[unit]\", not_null: true }\n" : "");
	fx_open(&f, yaml);
	r = put(f.t, c->topic, c->payload);
	if (c->why == NULL) {
		ck_assert_msg(r == TBL_ROW, "%s: %d (%s)", c->payload, r, reason);
		ck_assert_int_eq(rows(f.db, "t"), 1);
	} else {
		ck_assert_msg(r == TBL_REJECTED, "%s: %d", c->payload, r);
		ck_assert_str_eq(reason, c->why);
		ck_assert_int_eq(rows(f.db, "t"), 0);
	}
	free(yaml);
	fx_close(&f);
}
END_TEST

/* ---- where: ------------------------------------------------------------ */

struct wcase {
	const char	*where;
	const char	*payload;
	int		 want;
};

static const struct wcase wcases[] = {
	{ "quality == \"good\"", "{\"quality\": \"good\"}", TBL_ROW },
	{ "quality == \"good\"", "{\"quality\": \"bad\"}", TBL_FILTERED },
	{ "quality == \"good\"", "{\"quality\": \"Good\"}", TBL_FILTERED },
	{ "quality == \"good\"", "{\"quality\": null}", TBL_FILTERED },
	{ "quality == \"good\"", "{\"q\": \"good\"}", TBL_FILTERED },
	{ "quality == \"good\"", "{\"quality\": 1}", TBL_FILTERED },
	{ "quality == 'good'", "{\"quality\": \"good\"}", TBL_ROW },
	{ "name == \"a b\"", "{\"name\": \"a b\"}", TBL_ROW },
	{ "quality != \"bad\"", "{\"quality\": \"good\"}", TBL_ROW },
	{ "quality != \"bad\"", "{\"quality\": \"bad\"}", TBL_FILTERED },
	{ "quality != \"bad\"", "{}", TBL_FILTERED },
	{ "$.v > 20", "{\"v\": 21}", TBL_ROW },
	{ "$.v > 20", "{\"v\": 20.5}", TBL_ROW },
	{ "$.v > 20", "{\"v\": 20}", TBL_FILTERED },
	{ "$.v > 20", "{\"v\": -100}", TBL_FILTERED },
	{ "$.v > 20", "{\"v\": null}", TBL_FILTERED },
	{ "$.v > 20", "{}", TBL_FILTERED },
	{ "$.v > 20", "{\"v\": \"abc\"}", TBL_FILTERED },
	{ "$.v > 20", "{\"v\": [30]}", TBL_FILTERED },
	{ "v >= 20", "{\"v\": 20}", TBL_ROW },
	{ "v >= 20", "{\"v\": 19.99}", TBL_FILTERED },
	{ "v < 0", "{\"v\": -0.5}", TBL_ROW },
	{ "v < 0", "{\"v\": 0}", TBL_FILTERED },
	{ "v < 0", "{}", TBL_FILTERED },
	{ "v <= -1.5", "{\"v\": -1.5}", TBL_ROW },
	{ "v <= -1.5", "{\"v\": -1.4}", TBL_FILTERED },
	{ "v == 21", "{\"v\": 21}", TBL_ROW },
	{ "v == 21", "{\"v\": 21.0}", TBL_ROW },
	{ "v == 21", "{\"v\": \"21\"}", TBL_FILTERED },
	{ "v==21", "{\"v\": 21}", TBL_ROW },
	{ "v != 21", "{\"v\": 22}", TBL_ROW },
	{ "v != 21", "{\"v\": 21}", TBL_FILTERED },
	{ "active == true", "{\"active\": true}", TBL_ROW },
	{ "active == true", "{\"active\": false}", TBL_FILTERED },
	{ "active == true", "{}", TBL_FILTERED },
	{ "active == false", "{\"active\": false}", TBL_ROW },
	{ "active == false", "{\"active\": true}", TBL_FILTERED },
	{ "active != true", "{\"active\": false}", TBL_ROW },
	{ "$.x == null", "{\"x\": null}", TBL_ROW },
	{ "$.x == null", "{\"x\": 0}", TBL_FILTERED },
	{ "$.x == null", "{\"x\": \"\"}", TBL_FILTERED },
	{ "$.x == null", "{\"x\": false}", TBL_FILTERED },
	{ "$.x == null", "{}", TBL_ROW },
	{ "x != null", "{\"x\": 0}", TBL_ROW },
	{ "x != null", "{\"x\": \"\"}", TBL_ROW },
	{ "x != null", "{\"x\": null}", TBL_FILTERED },
	{ "x != null", "{}", TBL_FILTERED },
	{ "$.a.b == \"deep\"", "{\"a\": {\"b\": \"deep\"}}", TBL_ROW },
	{ "$.a.b == \"deep\"", "{\"a\": \"deep\"}", TBL_FILTERED },
	{ "$.list[1] == 2", "{\"list\": [1, 2]}", TBL_ROW },
	{ "$.list[1] == 2", "{\"list\": [2]}", TBL_FILTERED },
	{ "quality == \"good\"", "not json", TBL_REJECTED },
};

START_TEST(test_where)
{
	const struct wcase	*c = &wcases[_i];
	struct fx		 f;
	char			*yaml, esc[128], *e = esc;
	enum tbl_result		 r;

	for (const char *s = c->where; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*e++ = '\\';
		*e++ = *s;
	}
	*e = '\0';
	yaml = xasprintf("tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { p: payload }\n    where: \"%s\"\n", esc);
	fx_open(&f, yaml);
	ck_assert_str_eq(f.cfg->tables[0].where, c->where);
	r = put(f.t, "plant/a", c->payload);
	ck_assert_msg((int)r == c->want, "where %s, payload %s: got %d, want %d "
	    "(%s)", c->where, c->payload, r, c->want, reason);
	ck_assert_int_eq(rows(f.db, "t"), c->want == TBL_ROW);
	if (c->want == TBL_ROW)
		ck_assert(stored_is(f.db, "t", "p", c->payload,
		    strlen(c->payload)));
	if (c->want == TBL_REJECTED)
		ck_assert_msg(strstr(reason, "not JSON") != NULL, "%s", reason);
	free(yaml);
	fx_close(&f);
}
END_TEST

static const char *const where_junk[] = {
	"", "   ", "==", "== 1", "x", "x ==", "x = 1", "x === 1", "x =! 1",
	"x ~ 1", "x <> 1", "x == 1 2", "x == 1e", "x == abc", "x == nullx",
	"x == truex", "x < null", "x >= null", "x == \"open", "x == 'open",
	"x == \"a' ", "$. == 1", "$..a == 1", "$.a[ == 1", "$.a[x] == 1",
	"$.a[1 == 1", "$a == 1", "a.\"\" == 1", "1 + 1 == 2", "x == nan",
};

START_TEST(test_where_junk)
{
	struct cfg_where	 w;
	char			*yaml, *errs;

	ck_assert_msg(cfg_where_parse(where_junk[_i], &w) == -1,
	    "\"%s\" parsed", where_junk[_i]);
	if (strpbrk(where_junk[_i], "\"'") != NULL || where_junk[_i][0] == '\0')
		return;
	yaml = xasprintf("tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { p: payload }\n    where: '%s'\n", where_junk[_i]);
	errs = refused(yaml);
	ck_assert_msg(strstr(errs, "is not a condition") != NULL, "%s", errs);
	free(errs);
	free(yaml);
}
END_TEST

START_TEST(test_where_parse)
{
	struct cfg_where w;

	ck_assert_int_eq(cfg_where_parse("x==1", &w), 0);
	ck_assert_str_eq(w.path, "$.x");
	ck_assert_int_eq(w.op, CFG_OP_EQ);
	ck_assert_int_eq(w.lit, CFG_LIT_NUMBER);
	ck_assert_double_eq(w.num, 1);
	ck_assert_int_eq(cfg_where_parse("  $.a.b >= -1.5  ", &w), 0);
	ck_assert_str_eq(w.path, "$.a.b");
	ck_assert_int_eq(w.op, CFG_OP_GE);
	ck_assert_double_eq(w.num, -1.5);
	ck_assert_int_eq(cfg_where_parse("$.list[#-1] < 3", &w), 0);
	ck_assert_str_eq(w.path, "$.list[#-1]");
	ck_assert_int_eq(w.op, CFG_OP_LT);
	ck_assert_int_eq(cfg_where_parse("x != null", &w), 0);
	ck_assert_int_eq(w.op, CFG_OP_NE);
	ck_assert_int_eq(w.lit, CFG_LIT_NULL);
	ck_assert_int_eq(cfg_where_parse("ok == false", &w), 0);
	ck_assert_int_eq(w.lit, CFG_LIT_NUMBER);
	ck_assert_double_eq(w.num, 0);
	ck_assert_int_eq(cfg_where_parse("s == 'it is'", &w), 0);
	ck_assert_int_eq(w.lit, CFG_LIT_STRING);
	ck_assert_uint_eq(w.len, 5);
	ck_assert_int_eq(strncmp(w.str, "it is", w.len), 0);
	ck_assert_int_eq(cfg_where_parse("s <= \"\"", &w), 0);
	ck_assert_int_eq(w.op, CFG_OP_LE);
	ck_assert_uint_eq(w.len, 0);
}
END_TEST

/* ---- UPSERT ------------------------------------------------------------ */

START_TEST(test_upsert)
{
	struct fx f;

	fx_open(&f,
	    "tables:\n"
	    "  - name: latest\n"
	    "    topic: \"plant/+/+\"\n"
	    "    columns:\n"
	    "      device: \"topic[1]\"\n"
	    "      tag: \"topic[2]\"\n"
	    "      v: $.v\n"
	    "      at: received_at\n"
	    "    key: [ device, tag ]\n");
	ck_assert(has_index(f.db, "fieldmq_latest_key"));
	ck_assert_int_eq(put_msg(f.t, "plant/b1/temp", "{\"v\": 1}", 8, T0),
	    TBL_ROW);
	ck_assert_int_eq(put_msg(f.t, "plant/b1/temp", "{\"v\": 2.5}", 10,
	    T0 + 1000), TBL_ROW);
	ck_assert_int_eq(rows(f.db, "latest"), 1);
	ck_assert_str_eq(cell(f.db, "latest", "v", NULL), "real:2.5");
	ck_assert_str_eq(cell(f.db, "latest", "at", NULL), "integer:1795600801000");
	ck_assert_int_eq(put(f.t, "plant/b1/press", "{\"v\": 3}"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b2/temp", "{\"v\": 4}"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/B1/temp", "{\"v\": 5}"), TBL_ROW);
	ck_assert_int_eq(rows(f.db, "latest"), 4);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(device || '/' || tag || '=' "
	    "|| v, ' ') FROM (SELECT * FROM latest ORDER BY device, tag)"),
	    "B1/temp=5 b1/press=3 b1/temp=2.5 b2/temp=4");
	ck_assert_int_eq(put(f.t, "plant/b1/temp", "{}"), TBL_ROW);
	ck_assert_int_eq(rows(f.db, "latest"), 4);
	ck_assert_str_eq(cell(f.db, "latest", "v",
	    "device = 'b1' AND tag = 'temp'"), "null:NULL");
	fx_close(&f);
}
END_TEST

START_TEST(test_upsert_all_keys)
{
	struct fx f;

	fx_open(&f,
	    "tables:\n"
	    "  - name: seen\n"
	    "    topic: \"plant/+/+\"\n"
	    "    columns: { device: \"topic[1]\", tag: \"topic[2]\" }\n"
	    "    key: [ device, tag ]\n");
	ck_assert_int_eq(put(f.t, "plant/b1/temp", "1"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b1/temp", "2"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b1/temp", "not json either"), TBL_ROW);
	ck_assert_int_eq(rows(f.db, "seen"), 1);
	ck_assert_int_eq(put(f.t, "plant/b2/temp", "3"), TBL_ROW);
	ck_assert_int_eq(rows(f.db, "seen"), 2);
	fx_close(&f);
}
END_TEST

/* ---- names ------------------------------------------------------------- */

START_TEST(test_keywords)
{
	struct fmq_config	*cfg;
	struct tbl		*t, *s;
	sqlite3			*db;
	char			 err[512];
	long			 n;

	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cfg = load(
	    "tables:\n"
	    "  - name: order\n"
	    "    topic: \"plant/+\"\n"
	    "    columns:\n"
	    "      select: \"topic[1]\"\n"
	    "      group: $.group\n"
	    "      where: { from: $.where, type: text }\n"
	    "      from: { from: $.from, type: real }\n"
	    "      table: received_at\n"
	    "    key: [ select ]\n"
	    "    where: group > 0\n"
	    "  - name: select\n"
	    "    topic: \"plant/+\"\n"
	    "    columns: { limit: $.limit, order: received_at }\n"
	    "    keep: 1h\n"
	    "    max_rows: 2\n");
	t = open_ok(db, &cfg->tables[0]);
	s = open_ok(db, &cfg->tables[1]);
	ck_assert(has_index(db, "fieldmq_order_key"));
	ck_assert_int_eq(put(t, "plant/a", "{\"group\": 1, \"where\": \"x\", "
	    "\"from\": 2.5}"), TBL_ROW);
	ck_assert_int_eq(put(t, "plant/a", "{\"group\": 2, \"where\": \"y\", "
	    "\"from\": 3}"), TBL_ROW);
	ck_assert_int_eq(put(t, "plant/b", "{\"group\": 0}"), TBL_FILTERED);
	ck_assert_int_eq(rows(db, "order"), 1);
	ck_assert_str_eq(cell(db, "order", "select", NULL), "text:'a'");
	ck_assert_str_eq(cell(db, "order", "group", NULL), "integer:2");
	ck_assert_str_eq(cell(db, "order", "where", NULL), "text:'y'");
	ck_assert_str_eq(cell(db, "order", "from", NULL), "real:3.0");
	ck_assert_str_eq(cell(db, "order", "table", NULL),
	    "integer:1795600800000");

	ck_assert(tbl_has_retention(s));
	for (int i = 0; i < 6; i++) {
		char p[32];

		snprintf(p, sizeof(p), "{\"limit\": %d}", i);
		ck_assert_int_eq(put_msg(s, "plant/a", p, strlen(p),
		    i < 3 ? T0 - 2 * HOUR : T0), TBL_ROW);
	}
	n = tbl_retain(s, T0, 10, err, sizeof(err));
	ck_assert_msg(n == 4, "%ld: %s", n, err);
	ck_assert_str_eq(q(db, "SELECT group_concat(\"limit\") FROM \"select\""),
	    "4,5");
	tbl_close(s);
	tbl_close(t);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	config_free(cfg);
}
END_TEST

struct bad_name {
	const char	*table;
	const char	*column;
	const char	*want;		/* in the errors */
};

static const struct bad_name bad_names[] = {
	{ "a b", "v", "\"a b\" is not a valid name" },
	{ "1x", "v", "\"1x\" is not a valid name" },
	{ "sqlite_x", "v", "\"sqlite_x\" is not a valid name" },
	{ "SQLITE_MASTER", "v", "\"SQLITE_MASTER\" is not a valid name" },
	{ "x;DROP TABLE t", "v", "\"x;DROP TABLE t\" is not a valid name" },
	{ "t-1", "v", "\"t-1\" is not a valid name" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" "
	  "is not a valid name" },
	{ "dead_letters", "v", "\"dead_letters\" is one of the gateway's own tables" },
	{ "retained", "v", "\"retained\" is one of the gateway's own tables" },
	{ "Sessions", "v", "\"Sessions\" is one of the gateway's own tables" },
	{ "meta", "v", "\"meta\" is one of the gateway's own tables" },
	{ "fieldmq_x", "v", "fieldmq_" },
	{ "FieldMQ_x", "v", "fieldmq_" },
	{ "t", "a b", "\"a b\" is not a valid name" },
	{ "t", "1x", "\"1x\" is not a valid name" },
	{ "t", "sqlite_x", "\"sqlite_x\" is not a valid name" },
	{ "t", "x\\\"y", "is not a valid name" },
	{ "t", "", "is not a valid name" },
};

START_TEST(test_bad_names)
{
	const struct bad_name	*c = &bad_names[_i];
	char			*yaml, *errs;

	yaml = xasprintf("tables:\n  - name: \"%s\"\n    topic: \"plant/#\"\n"
	    "    columns: { \"%s\": $.v }\n", c->table, c->column);
	errs = refused(yaml);
	ck_assert_msg(strstr(errs, c->want) != NULL, "%s\nwant: %s", errs, c->want);
	free(errs);
	free(yaml);
}
END_TEST

/* Names SQLite treats as one: the second cannot be another column. */
START_TEST(test_case_twins)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	struct tbl		*t;
	sqlite3			*db;
	char			 err[512] = "", *got;
	static const char	 doc[] =
	    "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { Value: $.a, value: $.b }\n";

	cfg = config_load_buffer("t.yaml", doc, strlen(doc), &errs);
	got = join(&errs);
	if (cfg == NULL) {
		ck_assert_msg(strstr(got, "alue") != NULL, "%s", got);
	} else {
		ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
		t = tbl_open(db, &cfg->tables[0], err, sizeof(err));
		ck_assert_ptr_null(t);
		ck_assert_msg(strstr(err, "table t: ") == err &&
		    strstr(err, "value") != NULL, "%s", err);
		ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
		config_free(cfg);
	}
	free(got);
	cfg_errors_free(&errs);
}
END_TEST

/*
 * A column called rowid hides the rowid that retention orders by: either
 * the config refuses the name, or max_rows still keeps the newest rows.
 */
static const char *const rowid_names[] = { "rowid", "oid", "_rowid_", "ROWID" };

START_TEST(test_rowid_column)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	struct fx		 f;
	const char		*kept;
	char			*doc, *got, err[256];
	static const int	 ids[] = { 5, 1, 9 };

	doc = xasprintf("store: { path: /tmp/x.db }\ntables:\n  - name: t\n"
	    "    topic: \"plant/#\"\n    columns: { %s: $.id, at: received_at }\n"
	    "    max_rows: 2\n", rowid_names[_i]);
	cfg = config_load_buffer("t.yaml", doc, strlen(doc), &errs);
	got = join(&errs);
	free(doc);
	if (cfg == NULL) {
		ck_assert_msg(strstr(got, rowid_names[_i]) != NULL, "%s", got);
		free(got);
		cfg_errors_free(&errs);
		return;
	}
	free(got);
	ck_assert_int_eq(sqlite3_open(":memory:", &f.db), SQLITE_OK);
	f.cfg = cfg;
	f.t = open_ok(f.db, &cfg->tables[0]);
	for (size_t i = 0; i < FMQ_NELEM(ids); i++) {
		char p[32];

		snprintf(p, sizeof(p), "{\"id\": %d}", ids[i]);
		ck_assert_int_eq(put_msg(f.t, "plant/a", p, strlen(p), T0 + i),
		    TBL_ROW);
	}
	ck_assert_int_eq(tbl_retain(f.t, T0 + 10, 100, err, sizeof(err)), 1);
	kept = q(f.db, "SELECT group_concat(at - %lld) FROM (SELECT at FROM t "
	    "ORDER BY at)", (long long)T0);
	ck_assert_msg(strcmp(kept, "1,2") == 0, "column %s, max_rows 2: kept "
	    "the rows received at T0+%s, want the newest, T0+1,2",
	    rowid_names[_i], kept);
	fx_close(&f);
}
END_TEST

/* ---- malformed and hostile payloads ------------------------------------ */

struct hostile {
	const char	*name;
	const char	*payload;
	size_t		 len;		/* 0: strlen(payload) */
	int		 want;		/* TBL_ROW, TBL_REJECTED or EITHER */
	const char	*v;		/* TBL_ROW: v's bytes, "": NULL, NULL: any */
	const char	*why;		/* TBL_REJECTED: part of the reason */
};

static const struct hostile hostiles[] = {
	{ "not JSON", "hello", 0, TBL_REJECTED, NULL, "payload is not JSON" },
	{ "truncated", "{\"v\": \"abc", 0, TBL_REJECTED, NULL, "not JSON" },
	{ "empty", "", 0, TBL_REJECTED, NULL, "not JSON" },
	{ "open brace", "{", 0, TBL_REJECTED, NULL, "not JSON" },
	{ "open list", "[1,2", 0, TBL_REJECTED, NULL, "not JSON" },
	{ "trailing garbage", "{\"v\": 1} x", 0, TBL_REJECTED, NULL, "not JSON" },
	{ "two documents", "{\"v\": 1}{\"v\": 2}", 0, TBL_REJECTED, NULL,
	  "not JSON" },
	{ "single quotes", "{'v': 1}", 0, TBL_REJECTED, NULL, "not JSON" },
	{ "bare key", "{v: 1}", 0, TBL_REJECTED, NULL, "not JSON" },
	{ "binary", "\xff\xfe\x00\x01", 4, TBL_REJECTED, NULL, "not JSON" },
	{ "NUL first", "\0{\"v\": 1}", 9, TBL_REJECTED, NULL, "not JSON" },
	{ "NUL inside a string", "{\"v\": \"a\0b\"}", 12, TBL_REJECTED, NULL,
	  "not JSON" },
	{ "NUL after the document", "{\"v\": \"a\"}\0junk", 15, EITHER, "a" },
	{ "escaped NUL", "{\"v\": \"a\\u0000b\"}", 0, TBL_ROW, NULL },
	{ "not an object", "[1, 2, 3]", 0, TBL_ROW, "" },
	{ "a number", "42", 0, TBL_ROW, "" },
	{ "unicode", "{\"v\": \"\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87\"}",
	  0, TBL_ROW, "\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87" },
	{ "unicode escapes", "{\"v\": \"caf\\u00e9 \\ud83d\\ude00 \\u4e2d "
	  "\\\"q\\\" \\\\ \\/\"}", 0, TBL_ROW,
	  "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad \"q\" \\ /" },
	{ "unicode key", "{\"v\": 1, \"\xc3\xa9\": 2}", 0, TBL_ROW, "1" },
	{ "SQL in a string", "{\"v\": \"'); DROP TABLE t; --\"}", 0, TBL_ROW,
	  "'); DROP TABLE t; --" },
	{ "SQL with double quotes", "{\"v\": \"\\\"; DROP TABLE \\\"t\\\"; --\"}",
	  0, TBL_ROW, "\"; DROP TABLE \"t\"; --" },
	{ "SQL as the payload", "'); DROP TABLE t; --", 0, TBL_REJECTED, NULL,
	  "not JSON" },
	{ "invalid UTF-8 in a string", "{\"v\": \"\xff\"}", 0, EITHER, "\xff" },
};

START_TEST(test_hostile)
{
	const struct hostile	*c = &hostiles[_i];
	struct fx		 f;
	size_t			 len = c->len ? c->len : strlen(c->payload);
	enum tbl_result		 r;

	fx_open(&f,
	    "tables:\n"
	    "  - name: t\n"
	    "    topic: \"plant/#\"\n"
	    "    max_payload: 1KiB\n"
	    "    columns:\n"
	    "      v: { from: $.v, type: text }\n"
	    "      p: { from: payload, type: blob }\n");
	r = put_msg(f.t, "plant/a", c->payload, len, T0);
	if (c->want == EITHER)
		ck_assert_msg(r == TBL_ROW || r == TBL_REJECTED, "%s: %d (%s)",
		    c->name, r, reason);
	else
		ck_assert_msg((int)r == c->want, "%s: got %d, want %d (%s)",
		    c->name, r, c->want, reason);
	if (r == TBL_ROW) {
		ck_assert_int_eq(rows(f.db, "t"), 1);
		ck_assert_msg(stored_is(f.db, "t", "p", c->payload, len),
		    "%s: payload not stored as sent", c->name);
		if (c->v != NULL && *c->v == '\0')
			ck_assert_str_eq(cell(f.db, "t", "v", NULL), "null:NULL");
		else if (c->v != NULL)
			ck_assert_msg(stored_is(f.db, "t", "v", c->v, strlen(c->v)),
			    "%s: v is %s", c->name, q(f.db, "SELECT hex(v) FROM t"));
	} else {
		ck_assert_int_eq(rows(f.db, "t"), 0);
		if (c->why != NULL)
			ck_assert_msg(strstr(reason, c->why) != NULL, "%s: %s",
			    c->name, reason);
	}
	ck_assert_int_eq(num(f.db, "SELECT count(*) FROM sqlite_schema WHERE "
	    "name = 't'"), 1);
	ck_assert_int_eq(put(f.t, "plant/a", "{\"v\": \"after\"}"), TBL_ROW);
	ck_assert_str_eq(cell(f.db, "t", "v", "v = 'after'"), "text:'after'");
	fx_close(&f);
}
END_TEST

/* Payloads of exactly, and just over, max_payload (1 KiB). */
START_TEST(test_max_payload)
{
	static const size_t	 sizes[] = { 1024, 1025, 4096, 1 << 20 };
	struct fx		 f;
	char			*p = xmalloc(1 << 20);

	fx_open(&f,
	    "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    max_payload: 1KiB\n    columns: { v: { from: $.v, type: text } }\n");
	ck_assert_uint_eq(f.cfg->tables[0].max_payload, 1024);
	for (size_t i = 0; i < FMQ_NELEM(sizes); i++) {
		size_t n = sizes[i];

		memcpy(p, "{\"v\": \"", 7);
		memset(p + 7, 'x', n - 9);
		memcpy(p + n - 2, "\"}", 2);
		if (n <= 1024) {
			ck_assert_int_eq(put_msg(f.t, "plant/a", p, n, T0), TBL_ROW);
			ck_assert_int_eq(num(f.db, "SELECT length(v) FROM t"),
			    (long long)n - 9);
			continue;
		}
		ck_assert_int_eq(put_msg(f.t, "plant/a", p, n, T0), TBL_REJECTED);
		ck_assert_msg(strstr(reason, "max_payload") != NULL &&
		    strstr(reason, "1024") != NULL, "%s", reason);
	}
	ck_assert_int_eq(rows(f.db, "t"), 1);
	free(p);
	fx_close(&f);
}
END_TEST

/* Deep nesting: refused or stored, never a crash or a database error. */
START_TEST(test_deep)
{
	const size_t	 depth = 5000;
	struct fx	 f;
	char		*p = xmalloc(2 * depth + 16), *e;
	enum tbl_result	 r;

	fx_open(&f,
	    "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { v: { from: $.v, type: text }, w: \"$.v[0][0]\" }\n"
	    "    where: \"$.v != null\"\n");
	memset(p, '[', depth);
	ck_assert_int_eq(put_msg(f.t, "plant/a", p, depth, T0), TBL_REJECTED);
	ck_assert_msg(strstr(reason, "not JSON") != NULL, "%s", reason);

	e = p + sprintf(p, "{\"v\": ");
	memset(e, '[', depth);
	memset(e + depth, ']', depth);
	memcpy(e + 2 * depth, "}", 2);
	r = put_msg(f.t, "plant/a", p, strlen(p), T0);
	ck_assert_msg(r == TBL_ROW || r == TBL_REJECTED, "%d (%s)", r, reason);

	e = p;
	for (size_t i = 0; i < depth / 5; i++)
		e += sprintf(e, "{\"a\":");
	ck_assert_int_eq(put_msg(f.t, "plant/a", p, strlen(p), T0), TBL_REJECTED);
	ck_assert_int_eq(put(f.t, "plant/a", "{\"v\": [[1]]}"), TBL_ROW);
	ck_assert_str_eq(cell(f.db, "t", "w", "v = '[[1]]'"), "integer:1");
	free(p);
	fx_close(&f);
}
END_TEST

/* ---- mapping changes --------------------------------------------------- */

static const char map_v[] =
    "tables:\n  - name: t\n    topic: \"plant/+\"\n"
    "    columns:\n      device: \"topic[1]\"\n"
    "      v: { from: $.v, type: real }\n";

START_TEST(test_add_column)
{
	struct fx		 f;
	struct fmq_config	*cfg2;
	struct tbl		*t2;

	fx_open(&f, map_v);
	ck_assert_int_eq(put(f.t, "plant/b1", "{\"v\": 1.5, \"unit\": \"C\"}"),
	    TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b2", "{\"v\": 2}"), TBL_ROW);
	tbl_close(f.t);
	cfg2 = load("tables:\n  - name: t\n    topic: \"plant/+\"\n"
	    "    columns:\n      device: \"topic[1]\"\n"
	    "      v: { from: $.v, type: real }\n"
	    "      unit: { from: $.unit, type: text }\n"
	    "      n: { from: $.n, type: integer }\n"
	    "      any: $.any\n");
	t2 = open_ok(f.db, &cfg2->tables[0]);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(name || ':' || type, ' ') "
	    "FROM pragma_table_info('t')"),
	    "device: v:REAL unit:TEXT n:INTEGER any:");
	ck_assert_int_eq(rows(f.db, "t"), 2);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(device || '=' || v || '/' "
	    "|| quote(unit) || '/' || quote(n), ' ') FROM t"),
	    "b1=1.5/NULL/NULL b2=2.0/NULL/NULL");
	ck_assert_int_eq(put(t2, "plant/b3", "{\"v\": 3, \"unit\": \"K\", "
	    "\"n\": 7, \"any\": \"x\"}"), TBL_ROW);
	ck_assert_str_eq(q(f.db, "SELECT unit || n || \"any\" FROM t WHERE "
	    "device = 'b3'"), "K7x");
	tbl_close(t2);
	config_free(cfg2);
	f.t = open_ok(f.db, &f.cfg->tables[0]);
	ck_assert_int_eq(put(f.t, "plant/b4", "{\"v\": 4, \"unit\": \"K\"}"),
	    TBL_ROW);
	ck_assert_str_eq(cell(f.db, "t", "unit", "device = 'b4'"), "null:NULL");
	ck_assert_int_eq(rows(f.db, "t"), 4);
	fx_close(&f);
}
END_TEST

struct retype {
	const char	*from;
	const char	*to;
	const char	*want;	/* in the error */
};

static const struct retype retypes[] = {
	{ "real", "text", "column v is declared REAL in the database but the "
	  "mapping makes it text (TEXT)" },
	{ "real", "integer", "column v is declared REAL" },
	{ "integer", "real", "column v is declared INTEGER" },
	{ "text", "blob", "column v is declared TEXT" },
	{ "auto", "integer", "column v is declared without a type" },
	{ "integer", "auto", "mapping makes it auto (no declared type)" },
	{ "timestamp", "real", "column v is declared INTEGER" },
};

START_TEST(test_retype)
{
	const struct retype	*c = &retypes[_i];
	struct fx		 f;
	struct fmq_config	*cfg2;
	char			*yaml, err[512] = "";

	yaml = xasprintf("tables:\n  - name: t\n    topic: \"plant/+\"\n"
	    "    columns: { v: { from: $.v, type: %s } }\n", c->from);
	fx_open(&f, yaml);
	free(yaml);
	ck_assert_int_eq(put(f.t, "plant/a", "{\"v\": 1}"), TBL_ROW);
	tbl_close(f.t);
	yaml = xasprintf("tables:\n  - name: t\n    topic: \"plant/+\"\n"
	    "    columns: { v: { from: $.v, type: %s }, w: $.w }\n", c->to);
	cfg2 = load(yaml);
	free(yaml);
	ck_assert_ptr_null(tbl_open(f.db, &cfg2->tables[0], err, sizeof(err)));
	ck_assert_msg(strncmp(err, "table t: ", 9) == 0 &&
	    strstr(err, c->want) != NULL, "%s", err);
	ck_assert_int_eq(rows(f.db, "t"), 1);
	config_free(cfg2);
	f.t = open_ok(f.db, &f.cfg->tables[0]);
	fx_close(&f);
}
END_TEST

/* Timestamp and integer are both INTEGER in the database: no conflict. */
START_TEST(test_retype_same_decl)
{
	struct fx		 f;
	struct fmq_config	*cfg2;
	struct tbl		*t2;

	fx_open(&f, "tables:\n  - name: t\n    topic: \"plant/+\"\n"
	    "    columns: { v: { from: $.v, type: integer } }\n");
	tbl_close(f.t);
	cfg2 = load("tables:\n  - name: t\n    topic: \"plant/+\"\n"
	    "    columns: { V: { from: $.v, type: timestamp } }\n");
	t2 = open_ok(f.db, &cfg2->tables[0]);
	ck_assert_int_eq(put(t2, "plant/a", "{\"v\": \"2026-11-25T10:00:00Z\"}"),
	    TBL_ROW);
	ck_assert_str_eq(cell(f.db, "t", "v", NULL), "integer:1795600800000");
	tbl_close(t2);
	config_free(cfg2);
	f.t = open_ok(f.db, &f.cfg->tables[0]);
	fx_close(&f);
}
END_TEST

static const char map_key[] =
    "tables:\n  - name: t\n    topic: \"plant/+\"\n"
    "    columns:\n      device: \"topic[1]\"\n"
    "      v: { from: $.v, type: real }\n"
    "    key: [ device ]\n";

START_TEST(test_key_on_duplicates)
{
	struct fx		 f;
	struct fmq_config	*cfg2;
	struct tbl		*t2;
	char			 err[512] = "";

	fx_open(&f, map_v);
	ck_assert_int_eq(put(f.t, "plant/b1", "{\"v\": 1}"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b1", "{\"v\": 2}"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b2", "{\"v\": 3}"), TBL_ROW);
	tbl_close(f.t);
	cfg2 = load(map_key);
	ck_assert_ptr_null(tbl_open(f.db, &cfg2->tables[0], err, sizeof(err)));
	ck_assert_msg(strncmp(err, "table t: cannot make (device) its key", 37)
	    == 0 && strstr(err, "share a key") != NULL, "%s", err);
	ck_assert_int_eq(rows(f.db, "t"), 3);
	ck_assert(!has_index(f.db, "fieldmq_t_key"));

	ck_assert_int_eq(sqlite3_exec(f.db, "DELETE FROM t WHERE v = 1", NULL,
	    NULL, NULL), SQLITE_OK);
	t2 = open_ok(f.db, &cfg2->tables[0]);
	ck_assert(has_index(f.db, "fieldmq_t_key"));
	ck_assert_int_eq(put(t2, "plant/b1", "{\"v\": 4}"), TBL_ROW);
	ck_assert_int_eq(rows(f.db, "t"), 2);
	ck_assert_str_eq(cell(f.db, "t", "v", "device = 'b1'"), "real:4.0");
	tbl_close(t2);
	config_free(cfg2);
	f.t = NULL;
	fx_close(&f);
}
END_TEST

/* The same key on a reopen keeps its index; another key replaces it. */
START_TEST(test_key_change)
{
	struct fx		 f;
	struct fmq_config	*cfg2;
	struct tbl		*t2;
	const char		*sql;

	fx_open(&f, map_key);
	ck_assert(has_index(f.db, "fieldmq_t_key"));
	ck_assert_int_eq(put(f.t, "plant/b1", "{\"v\": 1}"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b2", "{\"v\": 2}"), TBL_ROW);
	tbl_close(f.t);
	f.t = open_ok(f.db, &f.cfg->tables[0]);
	ck_assert(has_index(f.db, "fieldmq_t_key"));
	tbl_close(f.t);
	f.t = NULL;

	cfg2 = load("tables:\n  - name: t\n    topic: \"plant/+/+\"\n"
	    "    columns:\n      device: \"topic[1]\"\n"
	    "      v: { from: $.v, type: real }\n      tag: \"topic[2]\"\n"
	    "    key: [ device, tag ]\n");
	t2 = open_ok(f.db, &cfg2->tables[0]);
	sql = q(f.db, "SELECT sql FROM sqlite_schema WHERE name = "
	    "'fieldmq_t_key'");
	ck_assert_msg(strstr(sql, "(\"device\", \"tag\")") != NULL, "%s", sql);
	ck_assert_int_eq(put(t2, "plant/b1/x", "{\"v\": 3}"), TBL_ROW);
	ck_assert_int_eq(put(t2, "plant/b1/x", "{\"v\": 4}"), TBL_ROW);
	ck_assert_int_eq(rows(f.db, "t"), 3);
	ck_assert_str_eq(cell(f.db, "t", "v", "tag = 'x'"), "real:4.0");
	tbl_close(t2);
	config_free(cfg2);
	fx_close(&f);
}
END_TEST

/* A mapping without its key drops fieldmq_t_key and nothing else. */
START_TEST(test_key_removed)
{
	struct fx		 f;
	struct fmq_config	*cfg2;
	struct tbl		*t2;

	fx_open(&f, map_key);
	ck_assert_int_eq(sqlite3_exec(f.db, "CREATE INDEX mine ON t (v)", NULL,
	    NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(put(f.t, "plant/b1", "{\"v\": 1}"), TBL_ROW);
	ck_assert_int_eq(put(f.t, "plant/b2", "{\"v\": 2}"), TBL_ROW);
	tbl_close(f.t);
	f.t = NULL;
	cfg2 = load(map_v);
	t2 = open_ok(f.db, &cfg2->tables[0]);
	ck_assert(!has_index(f.db, "fieldmq_t_key"));
	ck_assert(has_index(f.db, "mine"));
	ck_assert_int_eq(rows(f.db, "t"), 2);
	ck_assert_int_eq(put(t2, "plant/b1", "{\"v\": 5}"), TBL_ROW);
	ck_assert_int_eq(put(t2, "plant/b1", "{\"v\": 6}"), TBL_ROW);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(v) FROM t WHERE device = "
	    "'b1'"), "1.0,5.0,6.0");
	tbl_close(t2);
	config_free(cfg2);
	fx_close(&f);
}
END_TEST

/* ---- retention --------------------------------------------------------- */

START_TEST(test_keep)
{
	struct fx	 f;
	char		 err[256] = "", p[32];
	long		 n;

	fx_open(&f, "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { at: received_at, i: $.i }\n    keep: 1h\n");
	ck_assert(tbl_has_retention(f.t));
	for (int i = 0; i < 16; i++) {
		uint64_t at = i < 10 ? T0 - 2 * HOUR + (uint64_t)i * 1000 :
		    i == 10 ? T0 - HOUR : T0 - HOUR + (uint64_t)i;

		snprintf(p, sizeof(p), "{\"i\": %d}", i);
		ck_assert_int_eq(put_msg(f.t, "plant/a", p, strlen(p), at), TBL_ROW);
	}
	ck_assert_int_eq(tbl_retain(f.t, T0 - 3 * HOUR, 100, err, sizeof(err)), 0);
	ck_assert_int_eq(tbl_retain(f.t, HOUR / 2, 100, err, sizeof(err)), 0);
	ck_assert_int_eq(rows(f.db, "t"), 16);
	n = tbl_retain(f.t, T0, 4, err, sizeof(err));
	ck_assert_msg(n == 4, "%ld %s", n, err);
	ck_assert_str_eq(q(f.db, "SELECT min(i) FROM t"), "4");
	ck_assert_int_eq(tbl_retain(f.t, T0, 4, err, sizeof(err)), 4);
	ck_assert_int_eq(tbl_retain(f.t, T0, 4, err, sizeof(err)), 2);
	ck_assert_int_eq(tbl_retain(f.t, T0, 4, err, sizeof(err)), 0);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(i) FROM t"),
	    "10,11,12,13,14,15");
	ck_assert_int_eq(tbl_retain(f.t, T0 + 1, 100, err, sizeof(err)), 1);
	ck_assert_int_eq(rows(f.db, "t"), 5);
	fx_close(&f);
}
END_TEST

/* keep: by a timestamp column of the payload when there is no received_at. */
START_TEST(test_keep_timestamp)
{
	static const char *const msgs[] = {
		"{\"v\": 1, \"ts\": \"2026-11-20T00:00:00Z\"}",
		"{\"v\": 2, \"ts\": \"2026-11-24T09:59:59Z\"}",
		"{\"v\": 3, \"ts\": \"2026-11-24T10:00:00Z\"}",
		"{\"v\": 4, \"ts\": 1795600800000}",
	};
	struct fx	 f;
	char		 err[256] = "";

	fx_open(&f, "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { v: $.v, ts: { from: $.ts, type: timestamp } }\n"
	    "    keep: 1d\n");
	for (size_t i = 0; i < FMQ_NELEM(msgs); i++)
		ck_assert_int_eq(put_msg(f.t, "plant/a", msgs[i], strlen(msgs[i]),
		    T0 - 10 * 24 * HOUR), TBL_ROW);
	ck_assert_int_eq(tbl_retain(f.t, T0, 100, err, sizeof(err)), 2);
	ck_assert_str_eq(q(f.db, "SELECT group_concat(v) FROM t"), "3,4");
	fx_close(&f);
}
END_TEST

START_TEST(test_max_rows)
{
	struct fx	 f;
	char		 err[256] = "", p[32];
	long		 n, total = 0;
	int		 calls = 0;

	fx_open(&f, "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { i: $.i, at: received_at }\n    max_rows: 1000\n");
	ck_assert(tbl_has_retention(f.t));
	ck_assert_int_eq(sqlite3_exec(f.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 2500; i++) {
		int len = snprintf(p, sizeof(p), "{\"i\": %d}", i);

		REQUIRE(put_msg(f.t, "plant/a", p, (size_t)len, T0 + (uint64_t)i) ==
		    TBL_ROW);
	}
	ck_assert_int_eq(sqlite3_exec(f.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	do {
		n = tbl_retain(f.t, T0 + 5000, 500, err, sizeof(err));
		ck_assert_msg(n >= 0 && n <= 500, "call %d: %ld %s", calls, n, err);
		ck_assert_int_eq(rows(f.db, "t"), 2500 - total - n);
		total += n;
		calls++;
	} while (n > 0 && calls < 20);
	ck_assert_int_eq(total, 1500);
	ck_assert_int_eq(calls, 4);
	ck_assert_str_eq(q(f.db, "SELECT count(*) || ' ' || min(i) || ' ' || "
	    "max(i) FROM t"), "1000 1500 2499");

	for (int i = 2500; i < 2600; i++) {
		int len = snprintf(p, sizeof(p), "{\"i\": %d}", i);

		REQUIRE(put_msg(f.t, "plant/a", p, (size_t)len, T0) == TBL_ROW);
	}
	ck_assert_int_eq(tbl_retain(f.t, T0, 30, err, sizeof(err)), 30);
	ck_assert_int_eq(tbl_retain(f.t, T0, 500, err, sizeof(err)), 70);
	ck_assert_int_eq(tbl_retain(f.t, T0, 500, err, sizeof(err)), 0);
	ck_assert_str_eq(q(f.db, "SELECT count(*) || ' ' || min(i) || ' ' || "
	    "max(i) FROM t"), "1000 1600 2599");
	fx_close(&f);
}
END_TEST

/* Rows already in the table when it opens count towards max_rows. */
START_TEST(test_max_rows_reopen)
{
	struct fx		 f;
	struct fmq_config	*cfg2;
	struct tbl		*t2;
	char			 err[256] = "", p[32];

	fx_open(&f, "tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { i: $.i }\n");
	for (int i = 0; i < 30; i++) {
		int len = snprintf(p, sizeof(p), "{\"i\": %d}", i);

		ck_assert_int_eq(put_msg(f.t, "plant/a", p, (size_t)len, T0),
		    TBL_ROW);
	}
	ck_assert_int_eq(tbl_retain(f.t, T0, 100, err, sizeof(err)), 0);
	tbl_close(f.t);
	cfg2 = load("tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { i: $.i }\n    max_rows: 10\n");
	t2 = open_ok(f.db, &cfg2->tables[0]);
	ck_assert_int_eq(tbl_retain(t2, T0, 100, err, sizeof(err)), 20);
	ck_assert_int_eq(tbl_retain(t2, T0, 100, err, sizeof(err)), 0);
	ck_assert_str_eq(q(f.db, "SELECT min(i) || '-' || max(i) FROM t"), "20-29");
	ck_assert_int_eq(sqlite3_exec(f.db, "DELETE FROM t WHERE i < 25", NULL,
	    NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(put(t2, "plant/a", "{\"i\": 30}"), TBL_ROW);
	ck_assert_int_eq(tbl_retain(t2, T0, 100, err, sizeof(err)), 0);
	ck_assert_int_eq(rows(f.db, "t"), 6);
	tbl_close(t2);
	config_free(cfg2);
	f.t = NULL;
	fx_close(&f);
}
END_TEST

/* keep: is refused without a time column, and with a key. */
START_TEST(test_retention_config)
{
	char *errs;

	errs = refused("tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { v: $.v }\n    keep: 1h\n");
	ck_assert_msg(strstr(errs, "keep needs a column from received_at") != NULL,
	    "%s", errs);
	free(errs);
	errs = refused("tables:\n  - name: t\n    topic: \"plant/#\"\n"
	    "    columns: { v: $.v, at: received_at }\n    key: [ v ]\n"
	    "    max_rows: 10\n");
	ck_assert_msg(strstr(errs, "keep and max_rows do not apply") != NULL,
	    "%s", errs);
	free(errs);
}
END_TEST

static Suite *
table_suite(void)
{
	Suite	*s = suite_create("table");
	TCase	*tc;

	tc = tcase_create("sources");
	tcase_add_test(tc, test_sources);
	tcase_add_loop_test(tc, test_payload, 0, FMQ_NELEM(pcases));
	tcase_add_test(tc, test_payload_number);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("convert");
	tcase_add_loop_test(tc, test_convert, 0, FMQ_NELEM(convs));
	suite_add_tcase(s, tc);
	tc = tcase_create("required");
	tcase_add_loop_test(tc, test_required, 0, FMQ_NELEM(ncases));
	suite_add_tcase(s, tc);
	tc = tcase_create("where");
	tcase_add_loop_test(tc, test_where, 0, FMQ_NELEM(wcases));
	tcase_add_loop_test(tc, test_where_junk, 0, FMQ_NELEM(where_junk));
	tcase_add_test(tc, test_where_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("upsert");
	tcase_add_test(tc, test_upsert);
	tcase_add_test(tc, test_upsert_all_keys);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_keywords);
	tcase_add_loop_test(tc, test_bad_names, 0, FMQ_NELEM(bad_names));
	tcase_add_test(tc, test_case_twins);
	tcase_add_loop_test(tc, test_rowid_column, 0, FMQ_NELEM(rowid_names));
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_loop_test(tc, test_hostile, 0, FMQ_NELEM(hostiles));
	tcase_add_test(tc, test_max_payload);
	tcase_add_test(tc, test_deep);
	suite_add_tcase(s, tc);
	tc = tcase_create("mapping");
	tcase_add_test(tc, test_add_column);
	tcase_add_loop_test(tc, test_retype, 0, FMQ_NELEM(retypes));
	tcase_add_test(tc, test_retype_same_decl);
	tcase_add_test(tc, test_key_on_duplicates);
	tcase_add_test(tc, test_key_change);
	tcase_add_test(tc, test_key_removed);
	suite_add_tcase(s, tc);
	tc = tcase_create("retention");
	tcase_add_test(tc, test_keep);
	tcase_add_test(tc, test_keep_timestamp);
	tcase_add_test(tc, test_max_rows);
	tcase_add_test(tc, test_max_rows_reopen);
	tcase_add_test(tc, test_retention_config);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(table_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
