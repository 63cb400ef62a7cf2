/*
 * The rule engine, loop side. A table's client receives each message once
 * (the broker sends one copy per client, whatever the number of its
 * filters that match), at the QoS it was published with. Retained
 * messages replayed on subscribe are skipped: they were recorded when
 * they were published, and a restart must not write them again.
 *
 * When rows queue up faster than the writer commits them (more than half
 * of store.queue_rows waiting), the network client whose message we just
 * took is not read until the queue is down to a quarter: a QoS 0 burst is
 * slowed down by TCP instead of being dropped. While the database fails,
 * nobody is paused (the broker keeps serving), and past queue_rows
 * messages are dropped and counted.
 *
 * A QoS 1 or 2 message from a network client is acknowledged (PUBACK,
 * PUBREC) only once its row, or its dead letter, is committed: a crash
 * or a power cut loses nothing that was acknowledged. A message refused
 * because the store's queue is full is acknowledged and counted as
 * dropped (MQTT 3.1.1 has no negative acknowledgement).
 *
 * The counters of each table are published every broker.sys_interval,
 * retained, on $SYS/fieldmq/tables/<name>; a full store queue is logged
 * at most that often.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "rules.h"
#include "store.h"
#include "util.h"

struct rtable {
	struct rules		*r;
	unsigned		 idx;
	const struct cfg_table	*cfg;
	struct broker_client	*client;
	uint64_t		 dropped;	/* the store's queue was full */
	uint64_t		 dropped_logged;
	uint64_t		 dropped_log_ms;
};

struct rules {
	size_t			 high, low;	/* backpressure, in queued rows */
	uint64_t		 since_check;
	struct loop		*loop;
	struct broker		*broker;
	struct store		*store;
	struct rtable		*t;
	size_t			 n;
	struct loop_timer	*stats;
	uint64_t		 interval_ms;
};

static void
log_drops(struct rtable *t, uint64_t now)
{
	if (t->dropped == t->dropped_logged ||
	    (t->dropped_logged > 0 && now < t->dropped_log_ms +
	    t->r->interval_ms))
		return;
	log_error("rules", t->cfg->name, "the store's queue is full (the "
	    "database is slow or failing): %" PRIu64 " message%s not written "
	    "(%" PRIu64 " in all)", t->dropped - t->dropped_logged,
	    t->dropped - t->dropped_logged == 1 ? "" : "s", t->dropped);
	t->dropped_logged = t->dropped;
	t->dropped_log_ms = now;
}

/* Rows pile up while the writer is healthy: publishers should wait. */
static int
congested(void *arg)
{
	struct rules *r = arg;

	return !store_failing(r->store) && store_backlog(r->store) > r->low;
}

static void
release(void *arg)
{
	broker_release(arg);
}

static void
on_message(const struct broker_message *m, void *arg)
{
	struct rtable *t = arg;

	struct broker_hold *h;

	if (m->retain)
		return;		/* a replay on subscribe */
	/* A QoS 1/2 publisher gets its PUBACK once the row is committed. */
	h = m->qos > 0 ? broker_hold(t->r->broker) : NULL;
	if (store_row(t->r->store, t->idx, m->topic, m->topic_len, m->payload,
	    m->payload_len, m->qos, m->published_retain, m->time_ms,
	    m->client_id, h ? release : NULL, h) == -1) {
		broker_release(h);
		t->dropped++;
		log_drops(t, loop_now(t->r->loop));
		return;
	}
	/* A burst faster than the writer: the publisher waits (TCP) rather
	 * than the rows being dropped, unless the database is failing. */
	if ((++t->r->since_check & 63) == 0 &&
	    store_backlog(t->r->store) > t->r->high && !store_failing(t->r->store))
		broker_pause_publisher(t->r->broker, congested, t->r);
}

static void
on_stats(struct loop *l, struct loop_timer *timer, void *arg)
{
	struct rules *r = arg;
	char topic[128], json[256];

	for (size_t i = 0; i < r->n; i++) {
		struct rtable *t = &r->t[i];
		struct store_table_stats st;

		log_drops(t, loop_now(l));
		store_table_stats(r->store, i, &st);
		snprintf(topic, sizeof(topic), "$SYS/fieldmq/tables/%s",
		    t->cfg->name);
		snprintf(json, sizeof(json), "{\"rows\":%" PRIu64 ",\"filtered\":%"
		    PRIu64 ",\"dead_letters\":%" PRIu64 ",\"dropped\":%" PRIu64
		    ",\"failing\":%s}", st.rows, st.filtered, st.rejected,
		    t->dropped, store_failing(r->store) ? "true" : "false");
		broker_client_publish(t->client, topic, json, strlen(json), 0, 1);
	}
}

struct rules *
rules_start(const struct fmq_config *cfg, struct loop *loop,
    struct broker *b, struct store *s)
{
	struct rules *r;
	char name[96];

	if (cfg->ntables == 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->broker = b;
	r->store = s;
	r->n = cfg->ntables;
	r->high = (size_t)cfg->store.queue_rows / 2;
	r->low = (size_t)cfg->store.queue_rows / 4;
	r->t = xcalloc(r->n, sizeof(*r->t));
	for (size_t i = 0; i < r->n; i++) {
		struct rtable *t = &r->t[i];

		t->r = r;
		t->idx = (unsigned)i;
		t->cfg = &cfg->tables[i];
		snprintf(name, sizeof(name), "$fieldmq/rules/%s", t->cfg->name);
		t->client = broker_client_new(b, name, on_message, t);
		for (size_t j = 0; j < t->cfg->ntopics; j++)
			broker_client_subscribe(t->client, t->cfg->topics[j], 2);
		log_info("rules", t->cfg->name, "%zu column%s from %zu topic "
		    "filter%s%s%s", t->cfg->ncolumns, t->cfg->ncolumns == 1 ?
		    "" : "s", t->cfg->ntopics, t->cfg->ntopics == 1 ? "" : "s",
		    t->cfg->nkey > 0 ? ", latest value per key" : "",
		    t->cfg->keep_ms > 0 || t->cfg->max_rows > 0 ?
		    ", with retention" : "");
	}
	r->stats = loop_timer_new(loop, on_stats, r);
	if ((r->interval_ms = cfg->broker.sys_interval_ms) > 0)
		loop_timer_arm(r->stats, r->interval_ms, r->interval_ms);
	else
		r->interval_ms = 10000;		/* for the log only */
	return r;
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	loop_timer_free(r->stats);
	for (size_t i = 0; i < r->n; i++)
		broker_client_free(r->t[i].client);
	free(r->t);
	free(r);
}
