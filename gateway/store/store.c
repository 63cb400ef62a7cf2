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
};

struct op {
	enum op_type	 type;
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
	int		 failing;	/* the last commit failed */
};

/* Runs SQL without results; returns 0, or -1 with the message in err. */
static int
exec_sql(sqlite3 *db, const char *sql, char *err, size_t errsz)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

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
		if (exec_sql(s->db, "BEGIN IMMEDIATE", why, sizeof(why)) == -1 ||
		    exec_sql(s->db, m->sql, why, sizeof(why)) == -1 ||
		    exec_sql(s->db, sql, why, sizeof(why)) == -1 ||
		    exec_sql(s->db, "COMMIT", why, sizeof(why)) == -1) {
			exec_sql(s->db, "ROLLBACK", sql, sizeof(sql));
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
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		snprintf(err, errsz, "%s: cannot use WAL mode: %s", cfg->path,
		    sqlite3_errmsg(s->db));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (exec_sql(s->db, sync_sql[cfg->synchronous], why, sizeof(why)) == -1 ||
	    exec_sql(s->db, "PRAGMA foreign_keys = ON", why, sizeof(why)) == -1) {
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

/* Applies one operation inside the open transaction. */
static void
op_apply(struct store *s, struct op *o)
{
	sqlite3_stmt	*st = s->stmt[o->type];
	const char	*b = o->data + o->alen + 1;
	const char	*c = b + o->blen + 1;

	sqlite3_bind_text(st, 1, o->data, (int)o->alen, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b, (int)o->blen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, c, (int)o->clen, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, o->qos);
	sqlite3_bind_int(st, 5, o->retain);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)o->time_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("store", NULL, "%s: %s", op_sql[o->type],
		    sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Commits a batch; on failure retries with backoff, keeping the batch. */
static void
commit_batch(struct store *s, struct op **ops, size_t n)
{
	char		 why[256];
	unsigned	 backoff_ms = 100;

	for (;;) {
		if (exec_sql(s->db, "BEGIN", why, sizeof(why)) == 0) {
			for (size_t i = 0; i < n; i++)
				if (ops[i]->type != OP_BARRIER)
					op_apply(s, ops[i]);
			if (exec_sql(s->db, "COMMIT", why, sizeof(why)) == 0)
				break;
			exec_sql(s->db, "ROLLBACK", why + 128, 128);
		}
		if (!s->failing)
			log_error("store", NULL, "%s: commit failed: %s: retrying",
			    s->path, why);
		s->failing = 1;
		struct timespec ts = { backoff_ms / 1000,
		    (long)(backoff_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		if (backoff_ms < 5000)
			backoff_ms *= 2;
	}
	if (s->failing)
		log_info("store", NULL, "%s: commits work again", s->path);
	s->failing = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->done != NULL)
			ops[i]->done(ops[i]->arg);
		free(ops[i]);
	}
}

/* The writer thread: gathers a batch by count or time, commits it. */
static void *
store_main(void *arg)
{
	struct store	*s = arg;
	size_t		 cap = (size_t)s->batch_rows, n;
	struct op	**ops = xcalloc(cap, sizeof(*ops));

	for (;;) {
		n = queue_pop_wait(s->q, (void **)ops, cap, -1);
		if (n == 0)
			break;		/* closed and empty */
		uint64_t deadline = mono_ms() + s->batch_ms;
		int barrier = 0;

		for (size_t i = 0; i < n; i++)
			barrier |= ops[i]->type == OP_BARRIER;
		while (n < cap && !barrier) {
			uint64_t now = mono_ms();
			size_t got;

			if (now >= deadline)
				break;
			got = queue_pop_wait(s->q, (void **)ops + n, cap - n,
			    (int)(deadline - now));
			if (got == 0)
				break;
			for (size_t i = n; i < n + got; i++)
				barrier |= ops[i]->type == OP_BARRIER;
			n += got;
		}
		commit_batch(s, ops, n);
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
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_error("store", NULL, "%s: close: %s", s->path,
		    sqlite3_errmsg(s->db));
	queue_free(s->q);
	free(s->path);
	free(s);
}

/* Queues an operation with up to three byte strings (copied). */
static void
op_push(struct store *s, enum op_type type, const char *a, size_t alen,
    const char *b, size_t blen, const void *c, size_t clen, int qos,
    int retain, uint64_t time_ms)
{
	struct op *o = xmalloc(sizeof(*o) + alen + blen + clen + 3);
	char *p = o->data;

	o->type = type;
	o->qos = qos;
	o->retain = retain;
	o->time_ms = time_ms;
	o->done = NULL;
	o->arg = NULL;
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

		if ((d & (d - 1)) == 0)
			log_error("store", NULL, "queue full: %llu operations "
			    "dropped so far", (unsigned long long)d);
		free(o);
	}
}

void
store_retain_set(struct store *s, const char *topic, size_t tlen,
    const void *payload, size_t len, int qos, uint64_t time_ms)
{
	op_push(s, OP_RETAIN_SET, topic, tlen, "", 0, payload, len, qos, 0, time_ms);
}

void
store_retain_delete(struct store *s, const char *topic, size_t tlen)
{
	op_push(s, OP_RETAIN_DELETE, topic, tlen, "", 0, "", 0, 0, 0, 0);
}

void
store_session_put(struct store *s, const char *id)
{
	op_push(s, OP_SESSION_PUT, id, strlen(id), "", 0, "", 0, 0, 0, wall_ms());
}

void
store_session_delete(struct store *s, const char *id)
{
	op_push(s, OP_SESSION_DELETE, id, strlen(id), "", 0, "", 0, 0, 0, 0);
}

void
store_sub_put(struct store *s, const char *id, const char *filter, size_t flen,
    int qos)
{
	op_push(s, OP_SUB_PUT, id, strlen(id), filter, flen, "", 0, qos, 0, 0);
}

void
store_sub_delete(struct store *s, const char *id, const char *filter, size_t flen)
{
	op_push(s, OP_SUB_DELETE, id, strlen(id), filter, flen, "", 0, 0, 0, 0);
}

void
store_smsg_add(struct store *s, const char *id, const char *topic, size_t tlen,
    const void *payload, size_t len, int qos, int retain)
{
	op_push(s, OP_SMSG_ADD, id, strlen(id), topic, tlen, payload, len, qos,
	    retain, 0);
}

void
store_smsg_clear(struct store *s, const char *id)
{
	op_push(s, OP_SMSG_CLEAR, id, strlen(id), "", 0, "", 0, 0, 0, 0);
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
