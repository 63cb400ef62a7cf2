/*
 * The rule engine's loop side: one in-process broker client per table,
 * subscribed to the table's topic filters; each message it receives is
 * queued for the store thread, which turns it into a row (store/table.c).
 * Loop thread.
 */
#ifndef FMQ_RULES_H
#define FMQ_RULES_H

struct broker;
struct fmq_config;
struct loop;
struct rules;
struct store;

/* Subscribes the config's tables (store_tables() ran); NULL if none. */
struct rules	*rules_start(const struct fmq_config *, struct loop *,
		    struct broker *, struct store *);
void		 rules_free(struct rules *);

#endif
