/*
 * A rule-engine table: the mapping of a message to a row.
 *
 * JSON paths and the where: condition are evaluated by SQLite's JSON
 * functions in one prepared "extract" statement per table, with the
 * payload bound as ?1 and the paths and literals bound once as later
 * parameters; for each JSON column it returns json_extract() (and
 * json_type() too for text and blob columns, where true must stay "true"
 * rather than 1, and timestamps, which take no booleans), and last the
 * where: result. Whether a NULL was a JSON
 * null or a missing path is only asked when it matters (a reason). The values are then
 * converted to the column's type here and bound to the prepared INSERT
 * (or UPSERT). Names come from the config, already checked to be plain
 * identifiers, and are quoted all the same (%w); values are only ever
 * bound parameters.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "config/schema.h"
#include "store/table.h"
#include "util.h"

enum src {
	SRC_JSON, SRC_TOPIC, SRC_LEVEL, SRC_PAYLOAD, SRC_RECEIVED, SRC_QOS,
	SRC_RETAIN, SRC_CLIENT, SRC_USER_PROPERTY,
};

struct col {
	const struct cfg_column	*cfg;
	enum src		 src;
	int			 level;		/* SRC_LEVEL */
	int			 ex;		/* SRC_JSON: json_extract's column */
	int			 ty;		/* and json_type's, or -1 */
	int			 required;	/* not_null, or part of the key */
};

struct tbl {
	sqlite3			*db;
	const struct cfg_table	*cfg;
	struct col		*cols;
	size_t			 ncols;
	sqlite3_stmt		*extract;	/* NULL: no JSON column, no where */
	int			 where_idx;	/* where:'s column in extract, or -1 */
	sqlite3_stmt		*insert;
	sqlite3_stmt		*to_ms;		/* text time -> Unix ms */
	sqlite3_stmt		*type_of;	/* json_type(?1, ?2), for reasons */
	sqlite3_stmt		*del_keep;	/* oldest rows older than ?1 */
	sqlite3_stmt		*del_rows;	/* rows up to rowid ?1 */
	sqlite3_stmt		*nth;		/* the rowid past max_rows */
	const char		*time_col;	/* for keep */
	int64_t			 count;		/* rows, estimated, for max_rows */
};

/* A value on its way to a column. */
enum vkind {
	V_NULL, V_MISSING, V_UNKNOWN_NULL,	/* null, missing, or either */
	V_INT, V_REAL, V_BOOL, V_TEXT, V_JSON, V_BLOB,
};
struct val {
	enum vkind	 k;
	int64_t		 i;
	double		 d;
	const char	*s;
	size_t		 n;
};

static const char *const decl_types[] = {
	[CFG_COL_INTEGER] = "INTEGER", [CFG_COL_REAL] = "REAL",
	[CFG_COL_TEXT] = "TEXT", [CFG_COL_BLOB] = "BLOB",
	[CFG_COL_TIMESTAMP] = "INTEGER", [CFG_COL_AUTO] = "",
};
static const char *const type_names[] = {
	[CFG_COL_INTEGER] = "integer", [CFG_COL_REAL] = "real",
	[CFG_COL_TEXT] = "text", [CFG_COL_BLOB] = "blob",
	[CFG_COL_TIMESTAMP] = "timestamp", [CFG_COL_AUTO] = "auto",
};

const char *
tbl_name(const struct tbl *t)
{
	return t->cfg->name;
}

int
tbl_has_retention(const struct tbl *t)
{
	return t->cfg->keep_ms > 0 || t->cfg->max_rows > 0;
}

int
sql_exec(sqlite3 *db, const char *sql, char *err, size_t errsz)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

/* Prepares the SQL in str (consumed); -1 with SQLite's message in err. */
static int
prepare(sqlite3 *db, sqlite3_str *str, sqlite3_stmt **st, char *err,
    size_t errsz)
{
	char	*sql = sqlite3_str_finish(str);
	int	 r;

	if (sql == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	r = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (r != SQLITE_OK)
		snprintf(err, errsz, "%s", sqlite3_errmsg(db));
	sqlite3_free(sql);
	return r == SQLITE_OK ? 0 : -1;
}

static void
classify(struct col *c)
{
	const char *f = c->cfg->from;

	if (f[0] == '$')
		c->src = SRC_JSON;
	else if ((c->level = cfg_topic_index(f)) >= 0)
		c->src = SRC_LEVEL;
	else if (strcmp(f, "topic") == 0)
		c->src = SRC_TOPIC;
	else if (strcmp(f, "payload") == 0)
		c->src = SRC_PAYLOAD;
	else if (strcmp(f, "received_at") == 0)
		c->src = SRC_RECEIVED;
	else if (strcmp(f, "qos") == 0)
		c->src = SRC_QOS;
	else if (strcmp(f, "retain") == 0)
		c->src = SRC_RETAIN;
	else if (strcmp(f, "client_id") == 0)
		c->src = SRC_CLIENT;
	else
		c->src = SRC_USER_PROPERTY;
}

/*
 * Brings the table in the database to the mapping: creates it, or checks
 * the declared type of each existing column and adds the missing ones.
 */
static int
sync_columns(struct tbl *t, char *err, size_t errsz)
{
	const struct cfg_table	*cfg = t->cfg;
	sqlite3_stmt		*st = NULL;
	sqlite3_str		*s;
	char			*sql, why[256];
	int			*seen = xcalloc(t->ncols, sizeof(*seen));
	int			 ncols = 0, r = -1;

	sql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", cfg->name);
	r = sqlite3_prepare_v2(t->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (r != SQLITE_OK) {
		snprintf(err, errsz, "%s", sqlite3_errmsg(t->db));
		r = -1;
		goto out;
	}
	r = -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *decl = (const char *)sqlite3_column_text(st, 2);

		ncols++;
		for (size_t i = 0; i < t->ncols; i++) {
			const struct cfg_column *c = t->cols[i].cfg;

			if (strcasecmp(name, c->name) != 0)
				continue;
			seen[i] = 1;
			if (strcasecmp(decl ? decl : "", decl_types[c->type]) != 0) {
				snprintf(err, errsz, "column %s is declared %s in the "
				    "database but the mapping makes it %s (%s): the "
				    "gateway does not rewrite existing data; map it "
				    "to a new column or table, or change the table "
				    "yourself", c->name, decl && *decl ? decl :
				    "without a type", type_names[c->type],
				    *decl_types[c->type] ? decl_types[c->type] :
				    "no declared type");
				goto out;
			}
		}
	}
	if (ncols == 0) {
		s = sqlite3_str_new(t->db);
		sqlite3_str_appendf(s, "CREATE TABLE \"%w\" (", cfg->name);
		for (size_t i = 0; i < t->ncols; i++)
			sqlite3_str_appendf(s, "%s\"%w\"%s%s", i ? ", " : "",
			    t->cols[i].cfg->name, *decl_types[t->cols[i].cfg->type] ?
			    " " : "", decl_types[t->cols[i].cfg->type]);
		sqlite3_str_appendf(s, ")");
		sql = sqlite3_str_finish(s);
		r = sql_exec(t->db, sql, why, sizeof(why));
		sqlite3_free(sql);
		if (r == -1) {
			snprintf(err, errsz, "cannot create it: %s", why);
			goto out;
		}
		goto out;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const struct cfg_column *c = t->cols[i].cfg;

		if (seen[i])
			continue;
		sql = sqlite3_mprintf("ALTER TABLE \"%w\" ADD COLUMN \"%w\"%s%s",
		    cfg->name, c->name, *decl_types[c->type] ? " " : "",
		    decl_types[c->type]);
		r = sql_exec(t->db, sql, why, sizeof(why));
		sqlite3_free(sql);
		if (r == -1) {
			snprintf(err, errsz, "cannot add column %s: %s", c->name, why);
			goto out;
		}
	}
	r = 0;
out:
	sqlite3_finalize(st);
	free(seen);
	return r;
}

/*
 * A table with a key gets a unique index "fieldmq_<table>_key" on it (the
 * UPSERT's conflict target); one on other columns, or on a table that no
 * longer has a key, is dropped (indexes hold no data of their own).
 */
static int
sync_key(struct tbl *t, char *err, size_t errsz)
{
	const struct cfg_table	*cfg = t->cfg;
	char			*sql, *want = NULL, why[256];
	char			 idx[96];
	sqlite3_stmt		*st = NULL;
	int			 r = 0;

	snprintf(idx, sizeof(idx), "fieldmq_%s_key", cfg->name);
	if (cfg->nkey > 0) {
		sqlite3_str *s = sqlite3_str_new(t->db);

		sqlite3_str_appendf(s, "CREATE UNIQUE INDEX \"%w\" ON \"%w\" (",
		    idx, cfg->name);
		for (size_t i = 0; i < cfg->nkey; i++)
			sqlite3_str_appendf(s, "%s\"%w\"", i ? ", " : "", cfg->key[i]);
		sqlite3_str_appendf(s, ")");
		want = sqlite3_str_finish(s);
	}
	sql = sqlite3_mprintf("SELECT sql FROM sqlite_schema WHERE type = 'index' "
	    "AND name = %Q", idx);
	if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *have = (const char *)sqlite3_column_text(st, 0);

		if (want != NULL && have != NULL && strcmp(have, want) == 0)
			goto out;	/* as it should be */
		sqlite3_reset(st);
		sqlite3_free(sql);
		sql = sqlite3_mprintf("DROP INDEX \"%w\"", idx);
		if ((r = sql_exec(t->db, sql, why, sizeof(why))) == -1) {
			snprintf(err, errsz, "cannot drop the old key index %s: %s",
			    idx, why);
			goto out;
		}
	}
	if (want != NULL && (r = sql_exec(t->db, want, why, sizeof(why))) == -1)
		snprintf(err, errsz, "cannot make (%s%s) its key: %s%s", cfg->key[0],
		    cfg->nkey > 1 ? ", ..." : "", why,
		    strstr(why, "UNIQUE") ? " (rows already in the table share a "
		    "key: the gateway does not delete them)" : "");
out:
	sqlite3_finalize(st);
	sqlite3_free(sql);
	sqlite3_free(want);
	return r;
}

static int
prepare_extract(struct tbl *t, char *err, size_t errsz)
{
	const struct cfg_table	*cfg = t->cfg;
	static const char *const ops[] = {
		[CFG_OP_EQ] = "=", [CFG_OP_NE] = "<>", [CFG_OP_LT] = "<",
		[CFG_OP_LE] = "<=", [CFG_OP_GT] = ">", [CFG_OP_GE] = ">=",
	};
	struct cfg_where	 w;
	sqlite3_str		*s;
	int			 param = 2, idx = 0, njson = 0;

	for (size_t i = 0; i < t->ncols; i++)
		njson += t->cols[i].src == SRC_JSON;
	t->where_idx = -1;
	if (njson == 0 && cfg->where == NULL)
		return 0;
	s = sqlite3_str_new(t->db);
	sqlite3_str_appendf(s, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (t->cols[i].src != SRC_JSON)
			continue;
		int type = t->cols[i].cfg->type;

		t->cols[i].ty = -1;
		if (type == CFG_COL_TEXT || type == CFG_COL_BLOB ||
		    type == CFG_COL_TIMESTAMP) {
			sqlite3_str_appendf(s, "%sjson_type(?1, ?%d)", idx ? ", " :
			    "", param);
			t->cols[i].ty = idx++;
		}
		sqlite3_str_appendf(s, "%sjson_extract(?1, ?%d)", idx ? ", " : "",
		    param);
		t->cols[i].ex = idx++;
		param++;
	}
	if (cfg->where != NULL) {
		if (cfg_where_parse(cfg->where, &w) == -1) {
			sqlite3_free(sqlite3_str_finish(s));
			snprintf(err, errsz, "where: \"%s\" is not a condition",
			    cfg->where);
			return -1;
		}
		if (w.lit == CFG_LIT_NULL)
			sqlite3_str_appendf(s, "%sjson_extract(?1, ?%d) IS %sNULL",
			    idx ? ", " : "", param, w.op == CFG_OP_NE ? "NOT " : "");
		else if (w.lit == CFG_LIT_NUMBER && w.op != CFG_OP_EQ &&
		    w.op != CFG_OP_NE)
			/* SQLite orders all text above all numbers: an order
			 * against a number holds for numbers only. */
			sqlite3_str_appendf(s, "%s(json_type(?1, ?%d) IN ('integer', "
			    "'real', 'true', 'false') AND json_extract(?1, ?%d) %s ?%d)",
			    idx ? ", " : "", param, param, ops[w.op], param + 1);
		else
			sqlite3_str_appendf(s, "%sjson_extract(?1, ?%d) %s ?%d",
			    idx ? ", " : "", param, ops[w.op], param + 1);
		t->where_idx = idx;
	}
	if (prepare(t->db, s, &t->extract, err, errsz) == -1)
		return -1;
	/* The paths and the literal stay bound: only ?1 changes per row. */
	param = 2;
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].src == SRC_JSON)
			sqlite3_bind_text(t->extract, param++, t->cols[i].cfg->from, -1,
			    SQLITE_STATIC);
	if (cfg->where != NULL) {
		sqlite3_bind_text(t->extract, param, w.path, -1, SQLITE_TRANSIENT);
		if (w.lit == CFG_LIT_STRING)
			sqlite3_bind_text(t->extract, param + 1, w.str, (int)w.len,
			    SQLITE_TRANSIENT);
		else if (w.lit == CFG_LIT_NUMBER)
			sqlite3_bind_double(t->extract, param + 1, w.num);
	}
	return 0;
}

static int
prepare_insert(struct tbl *t, char *err, size_t errsz)
{
	const struct cfg_table	*cfg = t->cfg;
	sqlite3_str		*s = sqlite3_str_new(t->db);
	int			 first = 1;

	sqlite3_str_appendf(s, "INSERT INTO \"%w\" (", cfg->name);
	for (size_t i = 0; i < t->ncols; i++)
		sqlite3_str_appendf(s, "%s\"%w\"", i ? ", " : "", t->cols[i].cfg->name);
	sqlite3_str_appendf(s, ") VALUES (");
	for (size_t i = 0; i < t->ncols; i++)
		sqlite3_str_appendf(s, "%s?%d", i ? ", " : "", (int)i + 1);
	sqlite3_str_appendf(s, ")");
	if (cfg->nkey > 0) {
		sqlite3_str_appendf(s, " ON CONFLICT (");
		for (size_t i = 0; i < cfg->nkey; i++)
			sqlite3_str_appendf(s, "%s\"%w\"", i ? ", " : "", cfg->key[i]);
		sqlite3_str_appendf(s, ") DO ");
		for (size_t i = 0; i < t->ncols; i++) {
			if (t->cols[i].required == 2)
				continue;	/* a key column */
			sqlite3_str_appendf(s, "%s\"%w\" = excluded.\"%w\"",
			    first ? "UPDATE SET " : ", ", t->cols[i].cfg->name,
			    t->cols[i].cfg->name);
			first = 0;
		}
		if (first)
			sqlite3_str_appendf(s, "NOTHING");
	}
	return prepare(t->db, s, &t->insert, err, errsz);
}

static int
prepare_retention(struct tbl *t, char *err, size_t errsz)
{
	const struct cfg_table	*cfg = t->cfg;
	sqlite3_str		*s;
	sqlite3_stmt		*st;
	char			*sql;
	int			 r;

	if (cfg->keep_ms > 0) {
		for (size_t i = 0; i < t->ncols && t->time_col == NULL; i++)
			if (t->cols[i].src == SRC_RECEIVED)
				t->time_col = t->cols[i].cfg->name;
		for (size_t i = 0; i < t->ncols && t->time_col == NULL; i++)
			if (t->cols[i].cfg->type == CFG_COL_TIMESTAMP)
				t->time_col = t->cols[i].cfg->name;
		if (t->time_col == NULL) {
			snprintf(err, errsz, "keep: needs a column from received_at "
			    "or of type timestamp");
			return -1;
		}
		/* The oldest rows by rowid (appends come in time order): no
		 * index needed, and each batch touches few pages. */
		s = sqlite3_str_new(t->db);
		sqlite3_str_appendf(s, "DELETE FROM \"%w\" WHERE rowid IN (SELECT "
		    "rowid FROM \"%w\" ORDER BY rowid LIMIT ?2) AND \"%w\" < ?1",
		    cfg->name, cfg->name, t->time_col);
		if (prepare(t->db, s, &t->del_keep, err, errsz) == -1)
			return -1;
	}
	if (cfg->max_rows > 0) {
		s = sqlite3_str_new(t->db);
		sqlite3_str_appendf(s, "SELECT rowid FROM \"%w\" ORDER BY rowid DESC "
		    "LIMIT 1 OFFSET ?1", cfg->name);
		if (prepare(t->db, s, &t->nth, err, errsz) == -1)
			return -1;
		s = sqlite3_str_new(t->db);
		sqlite3_str_appendf(s, "DELETE FROM \"%w\" WHERE rowid IN (SELECT "
		    "rowid FROM \"%w\" WHERE rowid <= ?1 ORDER BY rowid LIMIT ?2)",
		    cfg->name, cfg->name);
		if (prepare(t->db, s, &t->del_rows, err, errsz) == -1)
			return -1;
		sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", cfg->name);
		r = sqlite3_prepare_v2(t->db, sql, -1, &st, NULL);
		sqlite3_free(sql);
		if (r != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
			snprintf(err, errsz, "%s", sqlite3_errmsg(t->db));
			sqlite3_finalize(st);
			return -1;
		}
		t->count = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return 0;
}

struct tbl *
tbl_open(sqlite3 *db, const struct cfg_table *cfg, char *err, size_t errsz)
{
	struct tbl	*t = xcalloc(1, sizeof(*t));
	char		 why[512];

	t->db = db;
	t->cfg = cfg;
	t->ncols = cfg->ncolumns;
	t->cols = xcalloc(t->ncols, sizeof(*t->cols));
	for (size_t i = 0; i < t->ncols; i++) {
		t->cols[i].cfg = &cfg->columns[i];
		classify(&t->cols[i]);
		t->cols[i].required = cfg->columns[i].not_null;
		for (size_t k = 0; k < cfg->nkey; k++)
			if (strcmp(cfg->key[k], cfg->columns[i].name) == 0)
				t->cols[i].required = 2;
	}
	if (sync_columns(t, why, sizeof(why)) == -1 ||
	    sync_key(t, why, sizeof(why)) == -1 ||
	    prepare_extract(t, why, sizeof(why)) == -1 ||
	    prepare_insert(t, why, sizeof(why)) == -1 ||
	    prepare_retention(t, why, sizeof(why)) == -1) {
		snprintf(err, errsz, "table %s: %s", cfg->name, why);
		tbl_close(t);
		return NULL;
	}
	return t;
}

void
tbl_close(struct tbl *t)
{
	if (t == NULL)
		return;
	sqlite3_finalize(t->extract);
	sqlite3_finalize(t->insert);
	sqlite3_finalize(t->to_ms);
	sqlite3_finalize(t->type_of);
	sqlite3_finalize(t->del_keep);
	sqlite3_finalize(t->del_rows);
	sqlite3_finalize(t->nth);
	free(t->cols);
	free(t);
}

/* The whole text is an integer / a finite number. */
static int
text_int(const char *s, size_t n, int64_t *out)
{
	char	 buf[32], *end;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return *end == '\0' && errno == 0 && buf[0] != ' ';
}

static int
text_real(const char *s, size_t n, double *out)
{
	char	 buf[64], *end;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0' && isfinite(*out) && buf[0] != ' ';
}

/* A real as an integer: only whole numbers, unless rounding (times). */
static int
real_int(double d, int round, int64_t *out)
{
	if ((!round && d != floor(d)) || !(fabs(d) < 9.2e18))
		return 0;
	*out = llround(d);
	return 1;
}

/* Text time (ISO 8601 and the other forms SQLite's date functions take). */
static int
text_time(struct tbl *t, const char *s, size_t n, int64_t *ms)
{
	int ok;

	if (t->to_ms == NULL && sqlite3_prepare_v3(t->db, "SELECT CAST(round("
	    "(julianday(?1) - 2440587.5) * 86400000.0) AS INTEGER)", -1,
	    SQLITE_PREPARE_PERSISTENT, &t->to_ms, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(t->to_ms, 1, s, (int)n, SQLITE_STATIC);
	ok = sqlite3_step(t->to_ms) == SQLITE_ROW &&
	    sqlite3_column_type(t->to_ms, 0) != SQLITE_NULL;
	if (ok)
		*ms = sqlite3_column_int64(t->to_ms, 0);
	sqlite3_reset(t->to_ms);
	return ok;
}

/*
 * Binds v to parameter pos as the column's type; -1 with the reason in
 * why when it does not convert.
 */
static int
bind_value(struct tbl *t, const struct col *c, int pos, const struct val *v,
    char *why, size_t whysz)
{
	sqlite3_stmt	*st = t->insert;
	int64_t		 i;
	double		 d;

	if (v->k == V_NULL || v->k == V_MISSING) {
		if (c->required) {
			snprintf(why, whysz, "column %s: %s %s%s", c->cfg->name,
			    c->cfg->from, v->k == V_NULL ? "is null" : "is missing",
			    c->required == 2 ? " (a key column)" : " (not_null)");
			return -1;
		}
		sqlite3_bind_null(st, pos);
		return 0;
	}
	switch (c->cfg->type) {
	case CFG_COL_INTEGER:
	case CFG_COL_TIMESTAMP: {
		int ts = c->cfg->type == CFG_COL_TIMESTAMP, ok;

		if (v->k == V_INT || (v->k == V_BOOL && !ts)) {
			i = v->i;
			ok = 1;
		} else if (v->k == V_REAL)
			ok = real_int(v->d, ts, &i);
		else if (v->k == V_TEXT)
			ok = text_int(v->s, v->n, &i) ||
			    (text_real(v->s, v->n, &d) && real_int(d, ts, &i)) ||
			    (ts && text_time(t, v->s, v->n, &i));
		else
			ok = 0;
		if (!ok)
			goto nope;
		sqlite3_bind_int64(st, pos, i);
		return 0;
	}
	case CFG_COL_REAL:
		if (v->k == V_INT || v->k == V_BOOL)
			d = (double)v->i;
		else if (v->k == V_REAL)
			d = v->d;
		else if (v->k == V_TEXT && text_real(v->s, v->n, &d))
			;
		else
			goto nope;
		sqlite3_bind_double(st, pos, d);
		return 0;
	case CFG_COL_BLOB:
		if (v->k == V_INT)
			sqlite3_bind_int64(st, pos, v->i);	/* as SQLite would */
		else if (v->k == V_REAL)
			sqlite3_bind_double(st, pos, v->d);
		else if (v->k == V_BOOL)
			sqlite3_bind_text(st, pos, v->i ? "true" : "false", -1,
			    SQLITE_STATIC);
		else
			sqlite3_bind_blob(st, pos, v->s, (int)v->n, SQLITE_STATIC);
		return 0;
	case CFG_COL_TEXT:
		if (v->k == V_BOOL) {
			sqlite3_bind_text(st, pos, v->i ? "true" : "false", -1,
			    SQLITE_STATIC);
			return 0;
		}
		if (v->k == V_INT || v->k == V_REAL) {
			char buf[32];

			if (v->k == V_INT)
				snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
			else	/* the shortest text that reads back the same */
				for (int prec = 15; prec <= 17; prec++) {
					snprintf(buf, sizeof(buf), "%.*g", prec, v->d);
					if (strtod(buf, NULL) == v->d)
						break;
				}
			sqlite3_bind_text(st, pos, buf, -1, SQLITE_TRANSIENT);
			return 0;
		}
		sqlite3_bind_text(st, pos, v->s, (int)v->n, SQLITE_STATIC);
		return 0;
	default:	/* auto: the value's own type */
		if (v->k == V_INT || v->k == V_BOOL)
			sqlite3_bind_int64(st, pos, v->i);
		else if (v->k == V_REAL)
			sqlite3_bind_double(st, pos, v->d);
		else if (v->k == V_BLOB)
			sqlite3_bind_blob(st, pos, v->s, (int)v->n, SQLITE_STATIC);
		else
			sqlite3_bind_text(st, pos, v->s, (int)v->n, SQLITE_STATIC);
		return 0;
	}
nope:
	if (v->k == V_TEXT || v->k == V_JSON)
		snprintf(why, whysz, "column %s: %s \"%.*s\" does not convert to "
		    "%s", c->cfg->name, c->cfg->from, v->n > 40 ? 40 : (int)v->n,
		    v->s, type_names[c->cfg->type]);
	else if (v->k == V_REAL)
		snprintf(why, whysz, "column %s: %s %.17g does not convert to %s",
		    c->cfg->name, c->cfg->from, v->d, type_names[c->cfg->type]);
	else
		snprintf(why, whysz, "column %s: %s does not convert to %s",
		    c->cfg->name, c->cfg->from, type_names[c->cfg->type]);
	return -1;
}

/*
 * The JSON value of column c in the extract row: by json_type() when the
 * row has it, else by the SQL type of json_extract() (a JSON true is 1
 * there, an array or object its JSON text, a null or missing path NULL).
 */
static void
json_val(sqlite3_stmt *ex, const struct col *c, struct val *v)
{
	const char	*type = NULL;
	int		 sqltype = sqlite3_column_type(ex, c->ex);

	memset(v, 0, sizeof(*v));
	if (c->ty >= 0 && (type = (const char *)sqlite3_column_text(ex,
	    c->ty)) == NULL) {
		v->k = V_MISSING;
		return;
	}
	if (sqltype == SQLITE_NULL) {
		v->k = type != NULL ? V_NULL : V_UNKNOWN_NULL;
		return;
	}
	if (type != NULL && (strcmp(type, "true") == 0 ||
	    strcmp(type, "false") == 0)) {
		v->k = V_BOOL;
		v->i = type[0] == 't';
		return;
	}
	switch (sqltype) {
	case SQLITE_INTEGER:
		v->k = V_INT;
		v->i = sqlite3_column_int64(ex, c->ex);
		return;
	case SQLITE_FLOAT:	/* also integers past 64 bits */
		v->k = V_REAL;
		v->d = sqlite3_column_double(ex, c->ex);
		return;
	default:
		v->k = type != NULL && (type[0] == 'a' || type[0] == 'o') ?
		    V_JSON : V_TEXT;
		v->s = (const char *)sqlite3_column_text(ex, c->ex);
		v->n = (size_t)sqlite3_column_bytes(ex, c->ex);
		if (v->s == NULL)
			v->s = "";
		return;
	}
}

/* A NULL from json_extract(): a JSON null, or no value at that path? */
static enum vkind
null_kind(struct tbl *t, const struct tbl_msg *m, const char *path)
{
	enum vkind k = V_NULL;

	if (t->type_of == NULL && sqlite3_prepare_v3(t->db, "SELECT "
	    "json_type(?1, ?2)", -1, SQLITE_PREPARE_PERSISTENT, &t->type_of,
	    NULL) != SQLITE_OK)
		return k;
	sqlite3_bind_text(t->type_of, 1, m->payload, (int)m->payload_len,
	    SQLITE_STATIC);
	sqlite3_bind_text(t->type_of, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(t->type_of) == SQLITE_ROW &&
	    sqlite3_column_type(t->type_of, 0) == SQLITE_NULL)
		k = V_MISSING;
	sqlite3_reset(t->type_of);
	return k;
}

/* Level n of a topic. */
static int
topic_level(const char *topic, size_t len, int n, struct val *v)
{
	const char *p = topic, *end = topic + len, *slash;

	for (int i = 0; i < n; i++) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			return -1;
		p = slash + 1;
	}
	slash = memchr(p, '/', (size_t)(end - p));
	v->k = V_TEXT;
	v->s = p;
	v->n = (size_t)((slash ? slash : end) - p);
	return 0;
}

static int
valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; ) {
		unsigned char c = s[i];
		size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
		    (c >> 3) == 30 ? 4 : 0;

		if (c == 0 || k == 0 || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

enum tbl_result
tbl_insert(struct tbl *t, const struct tbl_msg *m, char *why, size_t whysz)
{
	sqlite3_stmt		*ex = t->extract;
	enum tbl_result		 res = TBL_ROW;
	int			 r;

	if (m->payload_len > (size_t)t->cfg->max_payload) {
		snprintf(why, whysz, "payload of %zu bytes is over max_payload "
		    "(%lld)", m->payload_len, (long long)t->cfg->max_payload);
		return TBL_REJECTED;
	}
	if (ex != NULL) {
		sqlite3_bind_text(ex, 1, m->payload, (int)m->payload_len,
		    SQLITE_STATIC);
		if ((r = sqlite3_step(ex)) != SQLITE_ROW) {
			const char *msg = sqlite3_errmsg(t->db);

			if (r == SQLITE_ERROR && strstr(msg, "JSON") != NULL) {
				snprintf(why, whysz, "payload is not JSON (%s)", msg);
				res = TBL_REJECTED;
			} else {
				snprintf(why, whysz, "%s", msg);
				res = TBL_ERROR;
			}
			sqlite3_reset(ex);
			return res;
		}
		if (t->where_idx >= 0 && sqlite3_column_int(ex, t->where_idx) == 0) {
			sqlite3_reset(ex);
			return TBL_FILTERED;
		}
	}
	for (size_t i = 0; i < t->ncols && res == TBL_ROW; i++) {
		const struct col *c = &t->cols[i];
		struct val v = { .k = V_NULL };

		switch (c->src) {
		case SRC_JSON:
			json_val(ex, c, &v);
			if (v.k == V_UNKNOWN_NULL)
				v.k = c->required ? null_kind(t, m, c->cfg->from) :
				    V_NULL;
			break;
		case SRC_TOPIC:
			v = (struct val){ .k = V_TEXT, .s = m->topic, .n = m->topic_len };
			break;
		case SRC_LEVEL:
			if (topic_level(m->topic, m->topic_len, c->level, &v) == -1)
				v.k = V_MISSING;
			break;
		case SRC_PAYLOAD:
			v = (struct val){ .k = V_TEXT, .s = m->payload,
			    .n = m->payload_len };
			if (c->cfg->type == CFG_COL_AUTO &&
			    !valid_utf8(m->payload, m->payload_len))
				v.k = V_BLOB;
			break;
		case SRC_RECEIVED:
			v = (struct val){ .k = V_INT, .i = (int64_t)m->time_ms };
			break;
		case SRC_QOS:
			v = (struct val){ .k = V_INT, .i = m->qos };
			break;
		case SRC_RETAIN:
			v = (struct val){ .k = V_INT, .i = m->retain != 0 };
			break;
		case SRC_CLIENT:
			if (m->client_id != NULL)
				v = (struct val){ .k = V_TEXT, .s = m->client_id,
				    .n = strlen(m->client_id) };
			break;
		case SRC_USER_PROPERTY:
			v.k = V_MISSING;	/* MQTT 5 properties: not carried yet */
			break;
		}
		if (bind_value(t, c, (int)i + 1, &v, why, whysz) == -1)
			res = TBL_REJECTED;
	}
	if (res == TBL_ROW) {
		r = sqlite3_step(t->insert);
		if (r == SQLITE_DONE) {
			t->count++;
		} else {
			int code = sqlite3_errcode(t->db) & 0xff;

			snprintf(why, whysz, "%s", sqlite3_errmsg(t->db));
			/* The data's fault (a constraint of the user's own, a
			 * value too big) rejects the row; anything else is the
			 * database's and is retried. */
			res = code == SQLITE_CONSTRAINT || code == SQLITE_MISMATCH ||
			    code == SQLITE_TOOBIG || code == SQLITE_RANGE ?
			    TBL_REJECTED : TBL_ERROR;
		}
		sqlite3_reset(t->insert);
	}
	if (ex != NULL)
		sqlite3_reset(ex);
	return res;
}

long
tbl_retain(struct tbl *t, uint64_t now_ms, int limit, char *why, size_t whysz)
{
	long	n = 0;
	int	r;

	if (t->del_keep != NULL && now_ms > t->cfg->keep_ms) {
		sqlite3_bind_int64(t->del_keep, 1, (int64_t)(now_ms - t->cfg->keep_ms));
		sqlite3_bind_int(t->del_keep, 2, limit);
		r = sqlite3_step(t->del_keep);
		sqlite3_reset(t->del_keep);
		if (r != SQLITE_DONE)
			goto fail;
		n += sqlite3_changes(t->db);
		t->count -= sqlite3_changes(t->db);
	}
	if (t->nth != NULL && t->count > t->cfg->max_rows && n < limit) {
		int64_t upto;
		int want = limit - (int)n, deleted;

		sqlite3_bind_int64(t->nth, 1, t->cfg->max_rows);
		r = sqlite3_step(t->nth);
		if (r != SQLITE_ROW) {
			sqlite3_reset(t->nth);
			if (r != SQLITE_DONE)
				goto fail;
			/* Fewer rows than we thought (someone deleted some). */
			t->count = t->cfg->max_rows;
			return n;
		}
		upto = sqlite3_column_int64(t->nth, 0);
		sqlite3_reset(t->nth);
		sqlite3_bind_int64(t->del_rows, 1, upto);
		sqlite3_bind_int(t->del_rows, 2, want);
		r = sqlite3_step(t->del_rows);
		sqlite3_reset(t->del_rows);
		if (r != SQLITE_DONE)
			goto fail;
		deleted = sqlite3_changes(t->db);
		n += deleted;
		/* Fewer than asked: every row past max_rows is gone. */
		t->count = deleted < want ? t->cfg->max_rows : t->count - deleted;
	}
	return n;
fail:
	snprintf(why, whysz, "%s", sqlite3_errmsg(t->db));
	return -1;
}
