/*
 * The store: the one SQLite write connection, its migrations, and a
 * writer thread that applies operations in batched transactions.
 * store_open() and the loaders run before the thread starts (start-up);
 * the operations may be called from any thread afterwards: they are
 * queued (copied) and never block. A full queue refuses and counts.
 */
#ifndef FMQ_STORE_H
#define FMQ_STORE_H

#include <stddef.h>
#include <stdint.h>

struct cfg_store;
struct cfg_table;
struct store;

/*
 * Opens the database (WAL), applies the missing migrations and refuses a
 * database newer than this program. NULL with the reason in err.
 */
struct store	*store_open(const struct cfg_store *, char *err, size_t errsz);
/* Starts the writer thread. */
int		 store_start(struct store *);
/* Commits everything queued, then stops the writer (bounded by the queue). */
void		 store_stop(struct store *);
void		 store_free(struct store *);
/* The schema version of the open database. */
int		 store_version(struct store *);
/* Operations refused because the queue was full. */
uint64_t	 store_dropped(struct store *);

/*
 * The rule engine's tables (config borrowed, must outlive the store),
 * before store_start(): creates or updates each in one transaction.
 * -1 with the reason in err when a mapping conflicts with the database.
 */
int		 store_tables(struct store *, const struct cfg_table *, size_t n,
		    char *err, size_t errsz);
/*
 * Queues a message for table i (copied); -1 when the queue is full.
 * done(arg), if not NULL, is called on the writer thread once the row
 * (or its dead letter) is committed, or given up at a stop; a waiting
 * done makes the writer commit as soon as its queue is empty.
 */
int		 store_row(struct store *, unsigned table, const char *topic,
		    size_t tlen, const void *payload, size_t len, int qos,
		    int retain, uint64_t time_ms, const char *client_id,
		    void (*done)(void *), void *arg);
/* Committed counts of table i: rows written, filtered out by where:, and
 * rejected to dead_letters. */
struct store_table_stats {
	uint64_t	rows;
	uint64_t	filtered;
	uint64_t	rejected;
};
void		 store_table_stats(struct store *, size_t i,
		    struct store_table_stats *);
/* Operations queued, not yet taken by the writer. */
size_t		 store_backlog(struct store *);
/* Whether commits are failing now (retrying). */
int		 store_failing(struct store *);

/* Loaders, before store_start(). */
typedef void (*store_retained_cb)(const char *topic, const void *payload,
		    size_t len, int qos, uint64_t time_ms, void *arg);
int		 store_load_retained(struct store *, store_retained_cb, void *arg);
typedef void (*store_session_cb)(const char *client_id, void *arg);
typedef void (*store_sub_cb)(const char *client_id, const char *filter, int qos,
		    void *arg);
typedef void (*store_smsg_cb)(const char *client_id, const char *topic,
		    const void *payload, size_t len, int qos, int retain, void *arg);
/* Sessions, then their subscriptions, then their messages in order. */
int		 store_load_sessions(struct store *, store_session_cb,
		    store_sub_cb, store_smsg_cb, void *arg);

/* Operations (queued). Strings and payloads are copied. */
void		 store_retain_set(struct store *, const char *topic, size_t tlen,
		    const void *payload, size_t len, int qos, uint64_t time_ms);
void		 store_retain_delete(struct store *, const char *topic, size_t tlen);
void		 store_session_put(struct store *, const char *client_id);
/* Deletes a session with its subscriptions and messages. */
void		 store_session_delete(struct store *, const char *client_id);
void		 store_sub_put(struct store *, const char *client_id,
		    const char *filter, size_t flen, int qos);
void		 store_sub_delete(struct store *, const char *client_id,
		    const char *filter, size_t flen);
void		 store_smsg_add(struct store *, const char *client_id,
		    const char *topic, size_t tlen, const void *payload, size_t len,
		    int qos, int retain);
void		 store_smsg_clear(struct store *, const char *client_id);
/*
 * The bridges' outbox: a message for a bridge's cloud broker (copied;
 * done as for store_row), and the deletion of a row the cloud
 * acknowledged. -1 when the queue is full.
 */
int		 store_outbox_add(struct store *, const char *bridge,
		    const char *topic, size_t tlen, const void *payload, size_t len,
		    int qos, int retain, uint64_t time_ms, void (*done)(void *),
		    void *arg);
void		 store_outbox_delete(struct store *, int64_t id);
/* cb(arg) on the writer thread after a commit that added outbox rows. */
void		 store_on_outbox(struct store *, void (*cb)(void *), void *arg);
/* The database file (for readers' own connections). */
const char	*store_path(const struct store *);
/* Calls done(arg) on the writer thread once everything before it is committed. */
void		 store_barrier(struct store *, void (*done)(void *), void *arg);

#endif
