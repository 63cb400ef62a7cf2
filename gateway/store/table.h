/*
 * One user table of the rule engine, on the store's write connection:
 * its DDL (create, add columns, refuse conflicts), the statements that
 * turn a message into a row, and its retention. Store thread only.
 */
#ifndef FMQ_STORE_TABLE_H
#define FMQ_STORE_TABLE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_table;
struct tbl;

/* A message as the rule engine sees it (borrowed). */
struct tbl_msg {
	const char	*topic;
	size_t		 topic_len;
	const void	*payload;
	size_t		 payload_len;
	int		 qos;
	int		 retain;
	uint64_t	 time_ms;	/* when the broker received it */
	const char	*client_id;	/* the publisher; NULL if unknown */
};

enum tbl_result {
	TBL_ERROR = -1,		/* SQLite failed (disk full, locked...): retry */
	TBL_ROW = 0,		/* a row was written */
	TBL_FILTERED,		/* where: said no */
	TBL_REJECTED,		/* the payload does not fit: a dead letter */
};

/*
 * Creates the table and its key index if missing, adds the columns the
 * mapping has and the table lacks, and prepares the statements. A column
 * whose declared type differs from the mapping's, or a key the rows
 * already break, is refused: NULL with the reason in err. The config
 * (borrowed) must outlive the table.
 */
struct tbl	*tbl_open(sqlite3 *, const struct cfg_table *, char *err,
		    size_t errsz);
void		 tbl_close(struct tbl *);
const char	*tbl_name(const struct tbl *);

/*
 * Turns m into a row inside the caller's transaction. TBL_REJECTED fills
 * why with the reason; TBL_ERROR fills it with SQLite's message.
 */
enum tbl_result	 tbl_insert(struct tbl *, const struct tbl_msg *m, char *why,
		    size_t whysz);

/* Runs SQL without results; 0, or -1 with SQLite's message in err. */
int		 sql_exec(sqlite3 *, const char *sql, char *err, size_t errsz);

/* Whether the table has retention (keep or max_rows). */
int		 tbl_has_retention(const struct tbl *);
/*
 * Deletes at most limit of the oldest rows that keep or max_rows no
 * longer allow, inside the caller's transaction. Returns the number
 * deleted, or -1 (SQLite's message in why).
 */
long		 tbl_retain(struct tbl *, uint64_t now_ms, int limit, char *why,
		    size_t whysz);

#endif
