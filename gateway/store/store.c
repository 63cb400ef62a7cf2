/*
 * The store: one SQLite write connection, migrations at open, and a
 * writer thread that applies queued operations in batched transactions
 * (commit after batch_rows operations or batch_time, whichever first).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "queue.h"
#include "store.h"
#include "store/schema.h"
#include "store/table.h"
#include "util.h"

enum op_type {
	OP_RETAIN_SET,
	OP_RETAIN_DELETE,
	OP_SESSION_PUT,
	OP_SESSION_DELETE,
	OP_SUB_PUT,
	OP_SUB_DELETE,
	OP_SMSG_ADD,
	OP_SMSG_CLEAR,
	OP_BARRIER,
	OP_ROW,		/* a message for a rule-engine table */
	OP_OUTBOX_ADD,
	OP_OUTBOX_DELETE,
	OP_NTYPES,
};

/*
 * Every statement takes the same parameters, those it does not use
 * unbound: ?1 a (text), ?2 b (text), ?3 c (blob), ?4 qos, ?5 retain,
 * ?6 time (Unix ms).
 */
static const char *const op_sql[OP_NTYPES] = {
	[OP_RETAIN_SET] = "INSERT INTO retained (topic, payload, qos, time_ms) "
	    "VALUES (?1, ?3, ?4, ?6) ON CONFLICT (topic) DO UPDATE SET "
	    "payload = excluded.payload, qos = excluded.qos, "
	    "time_ms = excluded.time_ms",
	[OP_RETAIN_DELETE] = "DELETE FROM retained WHERE topic = ?1",
	[OP_SESSION_PUT] = "INSERT INTO sessions (client_id, created_ms) "
	    "VALUES (?1, ?6) ON CONFLICT DO NOTHING",
	[OP_SESSION_DELETE] = "DELETE FROM sessions WHERE client_id = ?1",
	[OP_SUB_PUT] = "INSERT INTO subscriptions (client_id, filter, qos) "
	    "VALUES (?1, ?2, ?4) ON CONFLICT DO UPDATE SET qos = excluded.qos",
	[OP_SUB_DELETE] = "DELETE FROM subscriptions WHERE client_id = ?1 AND "
	    "filter = ?2",
	[OP_SMSG_ADD] = "INSERT INTO session_messages (client_id, seq, topic, "
	    "payload, qos, retain) VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 "
	    "FROM session_messages WHERE client_id = ?1), ?2, ?3, ?4, ?5)",
	[OP_SMSG_CLEAR] = "DELETE FROM session_messages WHERE client_id = ?1",
	[OP_OUTBOX_ADD] = "INSERT INTO outbox (bridge, topic, payload, qos, "
	    "retain, time_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* ?6 carries the row id. */
	[OP_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?6",
};

struct op {
	enum op_type	 type;
	unsigned	 table;		/* OP_ROW */
	int		 qos;
	int		 retain;
	uint64_t	 time_ms;
	void		(*done)(void *);
	void		*arg;
	size_t		 alen, blen, clen;
	char		 data[];	/* a NUL b NUL c */
};

struct store {
	sqlite3		*db;
	char		*path;
	int		 batch_rows;
	uint64_t	 batch_ms;
	struct queue	*q;
	pthread_t	 thread;
	int		 running;
	sqlite3_stmt	*stmt[OP_NTYPES];
	sqlite3_stmt	*dead;		/* INSERT INTO dead_letters */
	sqlite3_stmt	*dead_trim;
	int		 failing;	/* the last commit failed */
	int		 closing;	/* store_stop() was called */
	void		(*on_outbox)(void *);	/* rows were added */
	void		*on_outbox_arg;
	struct stable	*tables;
	size_t		 ntables;
	uint64_t	 next_upkeep_ms;
};

/* A rule-engine table with its counters (written here, read anywhere). */
struct stable {
	struct tbl	*t;
	uint64_t	 rows, filtered, rejected;	/* atomics */
	/* Batch-local counts, added after the commit. */
	uint64_t	 b_rows, b_filtered, b_rejected;
	/* Dead letters are logged at the first and then once a minute. */
	uint64_t	 logged, log_ms;
	char		 last_topic[128], last_why[256];
};

#define DEAD_PAYLOAD	1024		/* bytes of a payload kept */
#define DEAD_KEEP	100000		/* dead letters kept */
#define FMQ_STR2(x)	#x
#define FMQ_STR(x)	FMQ_STR2(x)
#define UPKEEP_MS	1000		/* retention, at most this often */
#define RETAIN_BATCH	1000		/* rows deleted per transaction */


static int
user_version(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Applies the migrations newer than the database, each in a transaction. */
static int
migrate(struct store *s, char *err, size_t errsz)
{
	int	 v = user_version(s->db);
	unsigned latest = schema_migrations[schema_nmigrations - 1].version;
	char	 sql[64], why[256];

	if (v < 0) {
		snprintf(err, errsz, "%s: cannot read the schema version: %s",
		    s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	if ((unsigned)v > latest) {
		snprintf(err, errsz, "%s: schema version %d is newer than this "
		    "fieldmqd knows (%u): refusing to use it", s->path, v, latest);
		return -1;
	}
	for (unsigned i = 0; i < schema_nmigrations; i++) {
		const struct schema_migration *m = &schema_migrations[i];

		if (m->version <= (unsigned)v)
			continue;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", m->version);
		if (sql_exec(s->db, "BEGIN IMMEDIATE", why, sizeof(why)) == -1 ||
		    sql_exec(s->db, m->sql, why, sizeof(why)) == -1 ||
		    sql_exec(s->db, sql, why, sizeof(why)) == -1 ||
		    sql_exec(s->db, "COMMIT", why, sizeof(why)) == -1) {
			sql_exec(s->db, "ROLLBACK", sql, sizeof(sql));
			snprintf(err, errsz, "%s: migration %s failed: %s", s->path,
			    m->name, why);
			return -1;
		}
		log_info("store", NULL, "%s: applied migration %s", s->path, m->name);
	}
	return 0;
}

struct store *
store_open(const struct cfg_store *cfg, char *err, size_t errsz)
{
	static const char *const sync_sql[] = {
		"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL",
		"PRAGMA synchronous = FULL",
	};
	struct store	*s = xcalloc(1, sizeof(*s));
	char		 why[256];
	sqlite3_stmt	*st = NULL;

	s->path = xstrdup(cfg->path);
	s->batch_rows = (int)cfg->batch_rows;
	s->batch_ms = cfg->batch_ms;
	if (sqlite3_open_v2(cfg->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: cannot open: %s", cfg->path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, (int)cfg->busy_timeout_ms);
	/* A file that is not SQLite, or whose first pages are damaged: said
	 * as such, and left as it is. */
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_schema", -1,
	    &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		int code = sqlite3_errcode(s->db) & 0xff;

		if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
			snprintf(err, errsz, "%s: not a usable SQLite database (%s): "
			    "fieldmqd leaves it as it is; move it aside, or recover "
			    "what it holds with `sqlite3 %s .recover`, and start "
			    "again", cfg->path, sqlite3_errmsg(s->db), cfg->path);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		snprintf(err, errsz, "%s: cannot use WAL mode: %s", cfg->path,
		    sqlite3_errmsg(s->db));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* The WAL is checkpointed every 1000 pages (SQLite's default) and cut
	 * back to 64 MiB after a reader held it longer. */
	if (sql_exec(s->db, sync_sql[cfg->synchronous], why, sizeof(why)) == -1 ||
	    sql_exec(s->db, "PRAGMA foreign_keys = ON", why, sizeof(why)) == -1 ||
	    sql_exec(s->db, "PRAGMA journal_size_limit = 67108864", why,
	    sizeof(why)) == -1) {
		snprintf(err, errsz, "%s: %s", cfg->path, why);
		goto fail;
	}
	if (migrate(s, err, errsz) == -1)
		goto fail;
	for (int i = 0; i < OP_NTYPES; i++) {
		if (op_sql[i] == NULL)
			continue;
		if (sqlite3_prepare_v3(s->db, op_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &s->stmt[i], NULL) != SQLITE_OK) {
			snprintf(err, errsz, "%s: %s", cfg->path, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	if (sqlite3_prepare_v3(s->db, "INSERT INTO dead_letters (time_ms, "
	    "table_name, topic, payload, payload_bytes, reason) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6)", -1, SQLITE_PREPARE_PERSISTENT, &s->dead,
	    NULL) != SQLITE_OK || sqlite3_prepare_v3(s->db, "DELETE FROM "
	    "dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - "
	    FMQ_STR(DEAD_KEEP), -1, SQLITE_PREPARE_PERSISTENT, &s->dead_trim,
	    NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", cfg->path, sqlite3_errmsg(s->db));
		goto fail;
	}
	s->q = queue_new("store", (size_t)cfg->queue_rows, QUEUE_REJECT, free);
	return s;
fail:
	sqlite3_finalize(st);
	store_free(s);
	return NULL;
}

int
store_version(struct store *s)
{
	return user_version(s->db);
}

uint64_t
store_dropped(struct store *s)
{
	struct queue_stats st;

	queue_get_stats(s->q, &st);
	return st.rejected;
}

int
store_tables(struct store *s, const struct cfg_table *cfg, size_t n,
    char *err, size_t errsz)
{
	char why[512], ignored[128];

	if (sql_exec(s->db, "BEGIN IMMEDIATE", why, sizeof(why)) == -1) {
		snprintf(err, errsz, "%s: %s", s->path, why);
		return -1;
	}
	s->tables = xcalloc(n, sizeof(*s->tables));
	for (size_t i = 0; i < n; i++) {
		if ((s->tables[i].t = tbl_open(s->db, &cfg[i], why,
		    sizeof(why))) == NULL) {
			snprintf(err, errsz, "%s: %s", s->path, why);
			goto fail;
		}
		s->ntables++;
	}
	if (sql_exec(s->db, "COMMIT", why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errsz, "%s: %s", s->path, why);
fail:
	sql_exec(s->db, "ROLLBACK", ignored, sizeof(ignored));
	for (size_t i = 0; i < s->ntables; i++)
		tbl_close(s->tables[i].t);
	free(s->tables);
	s->tables = NULL;
	s->ntables = 0;
	return -1;
}

void
store_table_stats(struct store *s, size_t i, struct store_table_stats *st)
{
	st->rows = __atomic_load_n(&s->tables[i].rows, __ATOMIC_RELAXED);
	st->filtered = __atomic_load_n(&s->tables[i].filtered, __ATOMIC_RELAXED);
	st->rejected = __atomic_load_n(&s->tables[i].rejected, __ATOMIC_RELAXED);
}

size_t
store_backlog(struct store *s)
{
	struct queue_stats st;

	queue_get_stats(s->q, &st);
	return st.depth;
}

int
store_failing(struct store *s)
{
	return __atomic_load_n(&s->failing, __ATOMIC_RELAXED);
}

/* Files a message that did not fit its table in dead_letters. */
static int
dead_letter(struct store *s, struct stable *st, const struct tbl_msg *m,
    const char *why)
{
	sqlite3_stmt *d = s->dead;
	int r;

	sqlite3_bind_int64(d, 1, (sqlite3_int64)m->time_ms);
	sqlite3_bind_text(d, 2, tbl_name(st->t), -1, SQLITE_STATIC);
	sqlite3_bind_text(d, 3, m->topic, (int)m->topic_len, SQLITE_STATIC);
	sqlite3_bind_blob(d, 4, m->payload, m->payload_len > DEAD_PAYLOAD ?
	    DEAD_PAYLOAD : (int)m->payload_len, SQLITE_STATIC);
	sqlite3_bind_int64(d, 5, (sqlite3_int64)m->payload_len);
	sqlite3_bind_text(d, 6, why, -1, SQLITE_STATIC);
	r = sqlite3_step(d);
	sqlite3_reset(d);
	if (r != SQLITE_DONE)
		return -1;
	st->b_rejected++;
	snprintf(st->last_topic, sizeof(st->last_topic), "%.*s",
	    (int)m->topic_len, m->topic);
	snprintf(st->last_why, sizeof(st->last_why), "%s", why);
	return 0;
}

/*
 * Applies one operation inside the open transaction. -1 when the
 * database failed (the batch is rolled back and retried), with SQLite's
 * message in why.
 */
static int
op_apply(struct store *s, struct op *o, char *why, size_t whysz)
{
	sqlite3_stmt	*st = s->stmt[o->type];
	const char	*b = o->data + o->alen + 1;
	const char	*c = b + o->blen + 1;
	int		 r;

	if (o->type == OP_ROW) {
		struct stable *t = &s->tables[o->table];
		struct tbl_msg m = {
			.topic = o->data, .topic_len = o->alen,
			.payload = c, .payload_len = o->clen,
			.qos = o->qos, .retain = o->retain, .time_ms = o->time_ms,
			.client_id = o->blen > 0 ? b : NULL,
		};
		char reason[256];

		switch (tbl_insert(t->t, &m, reason, sizeof(reason))) {
		case TBL_ROW:
			t->b_rows++;
			return 0;
		case TBL_FILTERED:
			t->b_filtered++;
			return 0;
		case TBL_REJECTED:
			if (dead_letter(s, t, &m, reason) == 0)
				return 0;
			snprintf(why, whysz, "dead_letters: %s",
			    sqlite3_errmsg(s->db));
			return -1;
		case TBL_ERROR:
			snprintf(why, whysz, "table %s: %s", tbl_name(t->t), reason);
			return -1;
		}
	}
	sqlite3_bind_text(st, 1, o->data, (int)o->alen, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b, (int)o->blen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, c, (int)o->clen, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, o->qos);
	sqlite3_bind_int(st, 5, o->retain);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)o->time_ms);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r == SQLITE_DONE)
		return 0;
	if ((sqlite3_errcode(s->db) & 0xff) == SQLITE_CONSTRAINT) {
		/* Not the disk's fault: retrying would not help. */
		log_error("store", NULL, "%s: %s", op_sql[o->type],
		    sqlite3_errmsg(s->db));
		return 0;
	}
	snprintf(why, whysz, "%s", sqlite3_errmsg(s->db));
	return -1;
}

/* After a commit: the batch's counts become visible; rejects are logged. */
static void
tables_committed(struct store *s)
{
	uint64_t now = mono_ms();

	for (size_t i = 0; i < s->ntables; i++) {
		struct stable *t = &s->tables[i];
		uint64_t total;

		__atomic_add_fetch(&t->rows, t->b_rows, __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->filtered, t->b_filtered, __ATOMIC_RELAXED);
		total = __atomic_add_fetch(&t->rejected, t->b_rejected,
		    __ATOMIC_RELAXED);
		t->b_rows = t->b_filtered = t->b_rejected = 0;
		if (total == t->logged || (t->logged > 0 && now < t->log_ms + 60000))
			continue;
		log_warn("rules", tbl_name(t->t), "%llu message%s went to "
		    "dead_letters%s (%llu in all; the latest on %s: %s)",
		    (unsigned long long)(total - t->logged), total - t->logged == 1 ?
		    "" : "s", t->logged == 0 ? "" : " in the last minute",
		    (unsigned long long)total, t->last_topic, t->last_why);
		t->logged = total;
		t->log_ms = now;
	}
}

static void
tables_rolled_back(struct store *s)
{
	for (size_t i = 0; i < s->ntables; i++)
		s->tables[i].b_rows = s->tables[i].b_filtered =
		    s->tables[i].b_rejected = 0;
}

/* Sleeps for the retry backoff; returns early when stopping. */
static void
backoff_sleep(unsigned *ms)
{
	struct timespec ts = { *ms / 1000, (long)(*ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	if (*ms < 5000)
		*ms *= 2;
}

/*
 * Commits a batch; on failure (a full disk, a read-only or locked file)
 * rolls back and retries with backoff, keeping the batch, while the
 * queue holds what comes next. Once stopping, it gives up after a few
 * more tries, saying how much was not written.
 */
static void
commit_batch(struct store *s, struct op **ops, size_t n)
{
	char		 why[512];
	unsigned	 backoff_ms = 100;
	int		 tries = 0, ok;

	for (;;) {
		ok = 0;
		if (sql_exec(s->db, "BEGIN", why, sizeof(why)) == 0) {
			size_t i;

			for (i = 0; i < n; i++)
				if (ops[i]->type != OP_BARRIER &&
				    op_apply(s, ops[i], why, sizeof(why)) == -1)
					break;
			if (i == n && sql_exec(s->db, "COMMIT", why,
			    sizeof(why)) == 0)
				ok = 1;
			else {
				char ignored[128];

				sql_exec(s->db, "ROLLBACK", ignored, sizeof(ignored));
			}
		}
		if (ok)
			break;
		tables_rolled_back(s);
		if (!s->failing)
			log_error("store", NULL, "%s: commit failed: %s: retrying "
			    "(new operations wait in the queue)", s->path, why);
		__atomic_store_n(&s->failing, 1, __ATOMIC_RELAXED);
		if (__atomic_load_n(&s->closing, __ATOMIC_RELAXED) && ++tries > 3) {
			log_error("store", NULL, "%s: stopping: %zu operations not "
			    "written: %s", s->path, n, why);
			break;
		}
		backoff_sleep(&backoff_ms);
	}
	if (ok) {
		tables_committed(s);
		for (size_t i = 0; i < n && s->on_outbox != NULL; i++)
			if (ops[i]->type == OP_OUTBOX_ADD) {
				s->on_outbox(s->on_outbox_arg);
				break;
			}
		if (s->failing)
			log_info("store", NULL, "%s: commits work again", s->path);
		__atomic_store_n(&s->failing, 0, __ATOMIC_RELAXED);
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->done != NULL)
			ops[i]->done(ops[i]->arg);
		free(ops[i]);
	}
}

/*
 * Retention, between batches: each table's expired rows go in short
 * transactions of RETAIN_BATCH rows, a few per turn, so that readers and
 * the next batch never wait long; dead_letters keeps its newest rows.
 */
static void
upkeep(struct store *s)
{
	uint64_t	now = wall_ms();
	char		why[256], ignored[128];

	for (size_t i = 0; i < s->ntables; i++) {
		struct tbl *t = s->tables[i].t;
		long n = RETAIN_BATCH;

		if (!tbl_has_retention(t))
			continue;
		for (int turn = 0; turn < 10 && n == RETAIN_BATCH; turn++) {
			if (sql_exec(s->db, "BEGIN", why, sizeof(why)) == -1)
				break;
			n = tbl_retain(t, now, RETAIN_BATCH, why, sizeof(why));
			if (n < 0 || sql_exec(s->db, "COMMIT", why,
			    sizeof(why)) == -1) {
				sql_exec(s->db, "ROLLBACK", ignored, sizeof(ignored));
				log_debug("rules", tbl_name(t), "retention: %s: "
				    "retrying later", why);
				break;
			}
		}
	}
	if (s->ntables > 0 && sqlite3_step(s->dead_trim) != SQLITE_DONE)
		log_debug("store", NULL, "dead_letters: %s", sqlite3_errmsg(s->db));
	if (s->ntables > 0)
		sqlite3_reset(s->dead_trim);
}

/*
 * Runs upkeep when it is due; returns ms until it is due again, or -1.
 * Retention runs every UPKEEP_MS; without it, only dead_letters is kept
 * short, once a minute (an idle gateway sleeps).
 */
static int
upkeep_due(struct store *s)
{
	uint64_t	now = mono_ms(), every = 60000;

	if (s->ntables == 0)
		return -1;
	for (size_t i = 0; i < s->ntables; i++)
		if (tbl_has_retention(s->tables[i].t))
			every = UPKEEP_MS;
	if (now >= s->next_upkeep_ms) {
		upkeep(s);
		s->next_upkeep_ms = now + every;
		return (int)every;
	}
	return (int)(s->next_upkeep_ms - now);
}

/* The writer thread: gathers a batch by count or time, commits it. */
static void *
store_main(void *arg)
{
	struct store	*s = arg;
	size_t		 cap = (size_t)s->batch_rows, n;
	struct op	**ops = xcalloc(cap, sizeof(*ops));

	for (;;) {
		n = queue_pop_wait(s->q, (void **)ops, cap, upkeep_due(s));
		if (n == 0) {
			struct queue_stats qs;

			queue_get_stats(s->q, &qs);
			if (__atomic_load_n(&s->closing, __ATOMIC_RELAXED) &&
			    qs.depth == 0)
				break;		/* closed and empty */
			continue;
		}
		uint64_t deadline = mono_ms() + s->batch_ms;
		int barrier = 0, waited = 0;

		for (size_t i = 0; i < n; i++) {
			barrier |= ops[i]->type == OP_BARRIER;
			waited |= ops[i]->done != NULL;
		}
		/* Until batch_rows or batch_time; but when someone waits for
		 * this batch (a publisher's PUBACK) and nothing more is queued,
		 * now: under load, batches still fill up meanwhile. */
		while (n < cap && !barrier) {
			uint64_t now = mono_ms();
			size_t got;

			if (now >= deadline)
				break;
			got = queue_pop_wait(s->q, (void **)ops + n, cap - n,
			    waited ? 0 : (int)(deadline - now));
			if (got == 0)
				break;
			for (size_t i = n; i < n + got; i++) {
				barrier |= ops[i]->type == OP_BARRIER;
				waited |= ops[i]->done != NULL;
			}
			n += got;
		}
		commit_batch(s, ops, n);
		if (s->ntables > 0 && mono_ms() >= s->next_upkeep_ms)
			upkeep_due(s);
	}
	free(ops);
	return NULL;
}

int
store_start(struct store *s)
{
	int r;

	if ((r = pthread_create(&s->thread, NULL, store_main, s)) != 0) {
		log_error("store", NULL, "cannot start the writer thread: %s",
		    strerror(r));
		return -1;
	}
	s->running = 1;
	return 0;
}

void
store_stop(struct store *s)
{
	if (s == NULL || !s->running)
		return;
	queue_close(s->q);
	__atomic_store_n(&s->closing, 1, __ATOMIC_RELAXED);
	pthread_join(s->thread, NULL);
	s->running = 0;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	store_stop(s);
	for (int i = 0; i < OP_NTYPES; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_finalize(s->dead);
	sqlite3_finalize(s->dead_trim);
	for (size_t i = 0; i < s->ntables; i++)
		tbl_close(s->tables[i].t);
	free(s->tables);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_error("store", NULL, "%s: close: %s", s->path,
		    sqlite3_errmsg(s->db));
	queue_free(s->q);
	free(s->path);
	free(s);
}

/* Queues an operation with up to three byte strings (copied). */
static int
op_push(struct store *s, enum op_type type, unsigned table, const char *a,
    size_t alen,
    const char *b, size_t blen, const void *c, size_t clen, int qos,
    int retain, uint64_t time_ms, void (*done)(void *), void *arg)
{
	struct op *o = xmalloc(sizeof(*o) + alen + blen + clen + 3);
	char *p = o->data;

	o->type = type;
	o->table = table;
	o->qos = qos;
	o->retain = retain;
	o->time_ms = time_ms;
	o->done = done;
	o->arg = arg;
	o->alen = alen;
	o->blen = blen;
	o->clen = clen;
	memcpy(p, a, alen);
	p[alen] = '\0';
	p += alen + 1;
	if (blen > 0)
		memcpy(p, b, blen);
	p[blen] = '\0';
	p += blen + 1;
	if (clen > 0)
		memcpy(p, c, clen);
	p[clen] = '\0';
	if (queue_push(s->q, o, 0) == -1) {
		uint64_t d = store_dropped(s);

		if (type != OP_ROW && (d & (d - 1)) == 0)
			log_error("store", NULL, "queue full: %llu operations "
			    "dropped so far", (unsigned long long)d);
		free(o);
		return -1;
	}
	return 0;
}

int
store_row(struct store *s, unsigned table, const char *topic, size_t tlen,
    const void *payload, size_t len, int qos, int retain, uint64_t time_ms,
    const char *client_id, void (*done)(void *), void *arg)
{
	return op_push(s, OP_ROW, table, topic, tlen, client_id ? client_id : "",
	    client_id ? strlen(client_id) : 0, payload, len, qos, retain, time_ms,
	    done, arg);
}

int
store_outbox_add(struct store *s, const char *bridge, const char *topic,
    size_t tlen, const void *payload, size_t len, int qos, int retain,
    uint64_t time_ms, void (*done)(void *), void *arg)
{
	return op_push(s, OP_OUTBOX_ADD, 0, bridge, strlen(bridge), topic, tlen,
	    payload, len, qos, retain, time_ms, done, arg);
}

void
store_outbox_delete(struct store *s, int64_t id)
{
	op_push(s, OP_OUTBOX_DELETE, 0, "", 0, "", 0, "", 0, 0, 0, (uint64_t)id,
	    NULL, NULL);
}

void
store_on_outbox(struct store *s, void (*cb)(void *), void *arg)
{
	s->on_outbox = cb;
	s->on_outbox_arg = arg;
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

void
store_retain_set(struct store *s, const char *topic, size_t tlen,
    const void *payload, size_t len, int qos, uint64_t time_ms)
{
	op_push(s, OP_RETAIN_SET, 0, topic, tlen, "", 0, payload, len, qos, 0,
	    time_ms, NULL,
	    NULL);
}

void
store_retain_delete(struct store *s, const char *topic, size_t tlen)
{
	op_push(s, OP_RETAIN_DELETE, 0, topic, tlen, "", 0, "", 0, 0, 0, 0, NULL,
	    NULL);
}

void
store_session_put(struct store *s, const char *id)
{
	op_push(s, OP_SESSION_PUT, 0, id, strlen(id), "", 0, "", 0, 0, 0, wall_ms(), NULL,
	    NULL);
}

void
store_session_delete(struct store *s, const char *id)
{
	op_push(s, OP_SESSION_DELETE, 0, id, strlen(id), "", 0, "", 0, 0, 0, 0, NULL,
	    NULL);
}

void
store_sub_put(struct store *s, const char *id, const char *filter, size_t flen,
    int qos)
{
	op_push(s, OP_SUB_PUT, 0, id, strlen(id), filter, flen, "", 0, qos, 0, 0, NULL,
	    NULL);
}

void
store_sub_delete(struct store *s, const char *id, const char *filter, size_t flen)
{
	op_push(s, OP_SUB_DELETE, 0, id, strlen(id), filter, flen, "", 0, 0, 0, 0, NULL,
	    NULL);
}

void
store_smsg_add(struct store *s, const char *id, const char *topic, size_t tlen,
    const void *payload, size_t len, int qos, int retain)
{
	op_push(s, OP_SMSG_ADD, 0, id, strlen(id), topic, tlen, payload, len, qos,
	    retain, 0, NULL,
	    NULL);
}

void
store_smsg_clear(struct store *s, const char *id)
{
	op_push(s, OP_SMSG_CLEAR, 0, id, strlen(id), "", 0, "", 0, 0, 0, 0, NULL,
	    NULL);
}

void
store_barrier(struct store *s, void (*done)(void *), void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o) + 3);

	o->type = OP_BARRIER;
	o->done = done;
	o->arg = arg;
	if (queue_push(s->q, o, 0) == -1) {
		free(o);
		done(arg);
	}
}

int
store_load_retained(struct store *s, store_retained_cb cb, void *arg)
{
	sqlite3_stmt	*st;
	int		 r;

	if (sqlite3_prepare_v2(s->db, "SELECT topic, payload, qos, time_ms FROM "
	    "retained", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
		    sqlite3_column_int(st, 2),
		    (uint64_t)sqlite3_column_int64(st, 3), arg);
	sqlite3_finalize(st);
	if (r == SQLITE_DONE)
		return 0;
fail:
	log_error("store", NULL, "%s: loading retained messages: %s", s->path,
	    sqlite3_errmsg(s->db));
	return -1;
}

int
store_load_sessions(struct store *s, store_session_cb scb, store_sub_cb subcb,
    store_smsg_cb mcb, void *arg)
{
	static const char *const sql[] = {
		"SELECT client_id FROM sessions",
		"SELECT client_id, filter, qos FROM subscriptions",
		"SELECT client_id, topic, payload, qos, retain FROM session_messages "
		    "ORDER BY client_id, seq",
	};
	sqlite3_stmt *st;
	int r = SQLITE_DONE;

	for (size_t q = 0; q < FMQ_NELEM(sql) && r == SQLITE_DONE; q++) {
		if (sqlite3_prepare_v2(s->db, sql[q], -1, &st, NULL) != SQLITE_OK) {
			r = SQLITE_ERROR;
			break;
		}
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(st, 0);

			if (q == 0)
				scb(id, arg);
			else if (q == 1)
				subcb(id, (const char *)sqlite3_column_text(st, 1),
				    sqlite3_column_int(st, 2), arg);
			else
				mcb(id, (const char *)sqlite3_column_text(st, 1),
				    sqlite3_column_blob(st, 2),
				    (size_t)sqlite3_column_bytes(st, 2),
				    sqlite3_column_int(st, 3), sqlite3_column_int(st, 4),
				    arg);
		}
		sqlite3_finalize(st);
	}
	if (r == SQLITE_DONE)
		return 0;
	log_error("store", NULL, "%s: loading sessions: %s", s->path,
	    sqlite3_errmsg(s->db));
	return -1;
}
