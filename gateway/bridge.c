/*
 * Bridges to cloud brokers, with store-and-forward in SQLite.
 *
 * Loop side: one in-process broker client per bridge subscribes to the
 * forward filters. A message that matches (and did not come in from a
 * bridge) is rewritten for the cloud and appended to the outbox by the
 * store thread; a QoS 1/2 publisher gets its acknowledgement only once
 * that row is committed.
 *
 * Sender side: one thread per bridge with its own read-only connection to
 * the database reads the outbox in id order and hands the rows to Paho
 * (MQTTAsync), keeping up to a window of them in flight; a row is deleted
 * (through the store thread) when Paho reports it done: the cloud's
 * PUBACK/PUBCOMP, or for QoS 0 the write. After every (re)connect the
 * sender starts again from the oldest row: what was in flight is sent
 * again (QoS 1 allows the duplicate). Paho reconnects by itself with
 * backoff, on its own threads: nothing here blocks the loop.
 *
 * Subscribe rules: what the cloud sends on their filters is posted into
 * the broker under the bridge's name, and a message published under any
 * bridge's name is never forwarded again (no loops). The rules are what
 * the cloud may write locally: a message lands only under a rule's "to"
 * (or on the rule's own filter), never on a $ topic.
 *
 * Topics: a rule's filter begins with fixed levels (its prefix, e.g.
 * "plant/" of "plant/#"); that prefix is replaced by the rule's "to":
 * forward { from: "plant/#", to: "site1/" } sends plant/boiler/temp as
 * site1/boiler/temp, subscribe { from: "site1/cmd/#", to: "cmd/" } brings
 * site1/cmd/boiler/set in as cmd/boiler/set.
 */
#include "config.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "broker.h"
#include "conf.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define WINDOW		100	/* rows handed to Paho and not done */
#define FROM_PREFIX	"$fieldmq/bridge/"

struct bridge {
	struct bridges		*all;
	const struct cfg_bridge	*cfg;
	char			 client_name[96];	/* FROM_PREFIX name */
	struct broker_client	*client;
	MQTTAsync		 mq;
	char			 url[512];
	pthread_t		 thread;
	int			 started;
	sqlite3			*db;			/* sender: read-only */
	sqlite3_stmt		*next;
	sqlite3_stmt		*count;			/* rows and oldest */
	uint64_t		 stats_ms;		/* 0: no $SYS */
	uint64_t		 next_stats;		/* mono ms */

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;
	int			 connected;
	int			 rows_maybe;		/* the outbox may have news */
	int64_t			 last_sent;		/* id handed to Paho */
	unsigned		 inflight;
	unsigned		 gen;			/* connections so far */
	uint64_t		 sent, acked;
};

struct bridges {
	uint64_t	 sys_interval_ms;
	struct broker	*broker;
	struct store	*store;
	struct bridge	*v;
	size_t		 n;
};

/* The fixed levels at the start of a filter, '/' included. */
static size_t
filter_prefix(const char *filter)
{
	size_t n = 0;

	for (const char *p = filter; *p != '\0'; p++) {
		if (*p == '+' || *p == '#')
			break;
		if (*p == '/')
			n = (size_t)(p - filter) + 1;
	}
	if (strpbrk(filter, "+#") == NULL)
		n = strlen(filter);
	return n;
}

/* topic (matched by filter) with the filter's prefix replaced by to. */
static char *
rewrite(const char *filter, const char *to, const char *topic, size_t tlen)
{
	size_t	 plen = filter_prefix(filter);

	if (to == NULL || plen > tlen)
		return xstrndup(topic, tlen);
	return xasprintf("%s%.*s", to, (int)(tlen - plen), topic + plen);
}

static int
filter_match(const char *filter, const char *topic, size_t tlen)
{
	/* Only the rule's own filter decides which rule applies. */
	const char	*f = filter, *t = topic, *end = topic + tlen;

	while (*f != '\0') {
		if (*f == '#')
			return 1;
		if (*f == '+') {
			while (t < end && *t != '/')
				t++;
			f++;
		} else {
			if (t >= end || *f != *t)
				return 0;
			f++;
			t++;
		}
	}
	return t == end;
}

/* ---- loop side -------------------------------------------------------- */

static void
release(void *arg)
{
	broker_release(arg);
}

static void
on_local(const struct broker_message *m, void *arg)
{
	struct bridge		*br = arg;
	const struct cfg_bridge	*cfg = br->cfg;
	struct broker_hold	*h;
	char			*topic;

	if (m->retain)
		return;		/* a replay on subscribe */
	if (m->client_id != NULL && strncmp(m->client_id, FROM_PREFIX,
	    strlen(FROM_PREFIX)) == 0)
		return;		/* it came in from a bridge: no loops */
	for (size_t i = 0; i < cfg->nforward; i++) {
		const struct cfg_forward *r = &cfg->forward[i];
		int qos = m->qos < r->qos ? m->qos : (int)r->qos;

		if (!filter_match(r->from, m->topic, m->topic_len))
			continue;
		if (qos == 0 && !cfg->buffer_qos0) {
			/* Not kept: sent only if the link is up now (never
			 * calling Paho with our lock held: its callbacks take it). */
			int up;

			pthread_mutex_lock(&br->lock);
			up = br->connected;
			pthread_mutex_unlock(&br->lock);
			if (up) {
				MQTTAsync_message pm = MQTTAsync_message_initializer;

				topic = rewrite(r->from, r->to, m->topic,
				    m->topic_len);
				pm.payload = (void *)m->payload;
				pm.payloadlen = (int)m->payload_len;
				pm.retained = r->retain && m->published_retain;
				MQTTAsync_sendMessage(br->mq, topic, &pm, NULL);
				free(topic);
			}
			return;
		}
		topic = rewrite(r->from, r->to, m->topic, m->topic_len);
		h = qos > 0 ? broker_hold(br->all->broker) : NULL;
		if (store_outbox_add(br->all->store, cfg->name, topic,
		    strlen(topic), m->payload, m->payload_len, qos,
		    r->retain && m->published_retain, m->time_ms,
		    h ? release : NULL, h) == -1) {
			broker_release(h);
			log_error("bridge", cfg->name, "the store's queue is full: "
			    "a message for the cloud was dropped");
		}
		free(topic);
		return;		/* the first rule that matches */
	}
}

/* After a commit that added rows: the senders look again. */
static void
on_outbox(void *arg)
{
	struct bridges *all = arg;

	for (size_t i = 0; i < all->n; i++) {
		struct bridge *br = &all->v[i];

		pthread_mutex_lock(&br->lock);
		br->rows_maybe = 1;
		pthread_cond_signal(&br->cond);
		pthread_mutex_unlock(&br->lock);
	}
}

/* ---- Paho callbacks (Paho's threads) ---------------------------------- */

struct sent {
	struct bridge	*br;
	int64_t		 id;
	unsigned	 gen;		/* the connection it was sent on */
};

/* One of our sends is done (either way): room in the window. */
static void
sent_done(struct sent *s, int ok)
{
	struct bridge *br = s->br;

	pthread_mutex_lock(&br->lock);
	if (s->gen == br->gen) {
		br->inflight--;
		br->rows_maybe = 1;
	}
	br->acked += ok;
	pthread_cond_signal(&br->cond);
	pthread_mutex_unlock(&br->lock);
	free(s);
}

static void
on_delivered(void *ctx, MQTTAsync_successData *r)
{
	struct sent	*s = ctx;

	store_outbox_delete(s->br->all->store, s->id);
	sent_done(s, 1);
}

static void
on_not_delivered(void *ctx, MQTTAsync_failureData *r)
{
	/* The row stays: it goes again after the reconnect. */
	sent_done(ctx, 0);
}

static void
on_connected(void *ctx, char *cause)
{
	struct bridge		*br = ctx;
	const struct cfg_bridge	*cfg = br->cfg;

	log_info("bridge", cfg->name, "connected to %s", br->url);
	pthread_mutex_lock(&br->lock);
	br->connected = 1;
	br->last_sent = 0;	/* from the oldest row again */
	br->rows_maybe = 1;
	br->gen++;		/* sends of the last connection no longer count */
	br->inflight = 0;
	pthread_cond_signal(&br->cond);
	pthread_mutex_unlock(&br->lock);
	for (size_t i = 0; i < cfg->nsubscribe; i++)
		MQTTAsync_subscribe(br->mq, cfg->subscribe[i].from,
		    (int)cfg->subscribe[i].qos, NULL);
}

static void
on_lost(void *ctx, char *cause)
{
	struct bridge *br = ctx;

	log_warn("bridge", br->cfg->name, "connection to %s lost%s%s: "
	    "reconnecting", br->url, cause ? ": " : "", cause ? cause : "");
	pthread_mutex_lock(&br->lock);
	br->connected = 0;
	pthread_mutex_unlock(&br->lock);
}

static void
on_connect_failed(void *ctx, MQTTAsync_failureData *r)
{
	struct bridge *br = ctx;

	log_warn("bridge", br->cfg->name, "cannot connect to %s: %s: retrying",
	    br->url, r && r->message ? r->message :
	    MQTTAsync_strerror(r ? r->code : -1));
}

/* A message from the cloud on a subscribe rule: into the broker. */
static int
on_remote(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
	struct bridge		*br = ctx;
	const struct cfg_bridge	*cfg = br->cfg;
	size_t			 len = tlen > 0 ? (size_t)tlen : strlen(topic);

	for (size_t i = 0; i < cfg->nsubscribe; i++) {
		const struct cfg_forward *r = &cfg->subscribe[i];
		char *local;

		if (!filter_match(r->from, topic, len))
			continue;
		local = rewrite(r->from, r->to, topic, len);
		/* The cloud writes only where the rule maps it, never $ topics. */
		if (local[0] == '$') {
			log_warn("bridge", cfg->name, "%s from the cloud: refused "
			    "($ topics are the gateway's)", local);
			free(local);
			break;
		}
		if (broker_post_as(br->all->broker, br->client_name, local,
		    m->payload, (size_t)m->payloadlen, (uint8_t)(m->qos <
		    r->qos ? m->qos : r->qos), m->retained) == -1)
			log_warn("bridge", cfg->name, "%s: not brought in: the "
			    "broker's queue is full or the topic is invalid", local);
		free(local);
		break;
	}
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

/* ---- sender thread ----------------------------------------------------- */

/*
 * Hands the rows after from to Paho, at most room of them; returns how
 * many. Called without the lock: Paho's callbacks take it from Paho's
 * threads while Paho holds its own, so it is never held around a call
 * into Paho.
 */
static int
send_rows(struct bridge *br, int64_t from, unsigned room, unsigned gen)
{
	int	n = 0, r;

	sqlite3_bind_int64(br->next, 1, from);
	sqlite3_bind_int(br->next, 2, (int)room);
	while ((r = sqlite3_step(br->next)) == SQLITE_ROW) {
		MQTTAsync_message		 pm = MQTTAsync_message_initializer;
		MQTTAsync_responseOptions	 o = MQTTAsync_responseOptions_initializer;
		struct sent			*s = xmalloc(sizeof(*s));
		int64_t				 id = sqlite3_column_int64(br->next, 0);
		int				 same;

		/* Counted before the call: its callback may come first. */
		pthread_mutex_lock(&br->lock);
		if ((same = br->gen == gen)) {
			br->inflight++;
			br->last_sent = id;
			br->sent++;
		}
		pthread_mutex_unlock(&br->lock);
		if (!same) {
			free(s);
			break;	/* reconnected meanwhile: from the start again */
		}
		s->br = br;
		s->id = id;
		s->gen = gen;
		pm.payload = (void *)sqlite3_column_blob(br->next, 2);
		pm.payloadlen = sqlite3_column_bytes(br->next, 2);
		pm.qos = sqlite3_column_int(br->next, 3);
		pm.retained = sqlite3_column_int(br->next, 4);
		o.onSuccess = on_delivered;
		o.onFailure = on_not_delivered;
		o.context = s;
		if ((r = MQTTAsync_sendMessage(br->mq, (const char *)
		    sqlite3_column_text(br->next, 1), &pm, &o)) != MQTTASYNC_SUCCESS) {
			log_debug("bridge", br->cfg->name, "send: %s",
			    MQTTAsync_strerror(r));
			sent_done(s, 0);
			r = SQLITE_DONE;
			break;	/* disconnected meanwhile: after the reconnect */
		}
		n++;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		log_warn("bridge", br->cfg->name, "reading the outbox: %s",
		    sqlite3_errmsg(br->db));
	sqlite3_reset(br->next);
	return n;
}

/*
 * The bridge's state, retained on $SYS/fieldmq/bridges/<name> every
 * broker.sys_interval (sender thread; the outbox is counted here, off the
 * loop).
 */
static void
publish_stats(struct bridge *br)
{
	char		 topic[160], json[512];
	int64_t		 rows = 0, oldest = 0;
	uint64_t	 sent, acked;
	unsigned	 inflight;
	int		 connected, n;

	if (sqlite3_step(br->count) == SQLITE_ROW) {
		rows = sqlite3_column_int64(br->count, 0);
		oldest = sqlite3_column_int64(br->count, 1);
	}
	sqlite3_reset(br->count);
	pthread_mutex_lock(&br->lock);
	connected = br->connected;
	sent = br->sent;
	acked = br->acked;
	inflight = br->inflight;
	pthread_mutex_unlock(&br->lock);
	snprintf(topic, sizeof(topic), "$SYS/fieldmq/bridges/%s", br->cfg->name);
	n = snprintf(json, sizeof(json), "{\"connected\":%s,\"outbox_rows\":%lld,"
	    "\"oldest_age_ms\":%lld,\"sent\":%llu,\"acknowledged\":%llu,"
	    "\"inflight\":%u}", connected ? "true" : "false", (long long)rows,
	    rows > 0 && oldest > 0 ? (long long)(wall_ms() - (uint64_t)oldest) :
	    0LL, (unsigned long long)sent, (unsigned long long)acked, inflight);
	if (n > 0 && (size_t)n < sizeof(json))
		broker_post(br->all->broker, topic, json, (size_t)n, 0, 1);
}

static void *
sender_main(void *arg)
{
	struct bridge	*br = arg;
	int64_t		 from;
	unsigned	 room, gen;
	int		 n;
	struct timespec	 until;

	/* rows_maybe is set by new rows, a (re)connect and each done send. */
	pthread_mutex_lock(&br->lock);
	while (!br->stop) {
		if (br->connected && br->rows_maybe && br->inflight < WINDOW) {
			br->rows_maybe = 0;
			from = br->last_sent;
			room = WINDOW - br->inflight;
			gen = br->gen;
			pthread_mutex_unlock(&br->lock);
			n = send_rows(br, from, room, gen);
			pthread_mutex_lock(&br->lock);
			if (n > 0)
				br->rows_maybe = 1;	/* maybe more behind */
			continue;
		}
		if (br->stats_ms == 0) {
			pthread_cond_wait(&br->cond, &br->lock);
			continue;
		}
		if (mono_ms() >= br->next_stats) {
			br->next_stats = mono_ms() + br->stats_ms;
			pthread_mutex_unlock(&br->lock);
			publish_stats(br);
			pthread_mutex_lock(&br->lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)((br->next_stats - mono_ms()) / 1000);
		until.tv_nsec += (long)((br->next_stats - mono_ms()) % 1000) *
		    1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&br->cond, &br->lock, &until);
	}
	pthread_mutex_unlock(&br->lock);
	return NULL;
}

/* ---- life ------------------------------------------------------------- */

/* Paho wants tcp:// and ssl://; the config also takes mqtt:// and mqtts://. */
static void
paho_url(const char *url, char *out, size_t sz)
{
	if (strncmp(url, "mqtt://", 7) == 0)
		snprintf(out, sz, "tcp://%s", url + 7);
	else if (strncmp(url, "mqtts://", 8) == 0)
		snprintf(out, sz, "ssl://%s", url + 8);
	else
		snprintf(out, sz, "%s", url);
}

static int
bridge_start(struct bridge *br, const char *dbpath)
{
	const struct cfg_bridge		*cfg = br->cfg;
	MQTTAsync_createOptions		 cr = MQTTAsync_createOptions_initializer;
	MQTTAsync_connectOptions	 co = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions		 ssl = MQTTAsync_SSLOptions_initializer;
	char				 id[128];
	int				 r;

	pthread_mutex_init(&br->lock, NULL);
	pthread_cond_init(&br->cond, NULL);
	snprintf(br->client_name, sizeof(br->client_name), FROM_PREFIX "%s",
	    cfg->name);
	paho_url(cfg->url, br->url, sizeof(br->url));
	if (sqlite3_open_v2(dbpath, &br->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(br->db, "SELECT id, topic, payload, qos, retain "
	    "FROM outbox WHERE bridge = ?3 AND id > ?1 ORDER BY id LIMIT ?2", -1,
	    &br->next, NULL) != SQLITE_OK) {
		log_error("bridge", cfg->name, "%s: %s", dbpath,
		    br->db ? sqlite3_errmsg(br->db) : "cannot open");
		return -1;
	}
	sqlite3_busy_timeout(br->db, 5000);
	sqlite3_bind_text(br->next, 3, cfg->name, -1, SQLITE_STATIC);
	if (sqlite3_prepare_v2(br->db, "SELECT count(*), min(time_ms) FROM "
	    "outbox WHERE bridge = ?1", -1, &br->count, NULL) != SQLITE_OK) {
		log_error("bridge", cfg->name, "%s: %s", dbpath,
		    sqlite3_errmsg(br->db));
		return -1;
	}
	sqlite3_bind_text(br->count, 1, cfg->name, -1, SQLITE_STATIC);
	br->stats_ms = br->all->sys_interval_ms;
	snprintf(id, sizeof(id), "%s", cfg->client_id ? cfg->client_id :
	    "fieldmq");
	/* Sending happens only while connected: Paho buffers nothing. */
	cr.sendWhileDisconnected = 0;
	if ((r = MQTTAsync_createWithOptions(&br->mq, br->url, id,
	    MQTTCLIENT_PERSISTENCE_NONE, NULL, &cr)) != MQTTASYNC_SUCCESS) {
		log_error("bridge", cfg->name, "%s: %s", br->url,
		    MQTTAsync_strerror(r));
		return -1;
	}
	MQTTAsync_setCallbacks(br->mq, br, on_lost, on_remote, NULL);
	MQTTAsync_setConnected(br->mq, br, on_connected);
	co.keepAliveInterval = (int)(cfg->keepalive_ms / 1000);
	co.cleansession = 1;
	co.automaticReconnect = 1;
	co.minRetryInterval = (int)(cfg->backoff_min_ms / 1000) ?
	    (int)(cfg->backoff_min_ms / 1000) : 1;
	co.maxRetryInterval = (int)(cfg->backoff_max_ms / 1000) ?
	    (int)(cfg->backoff_max_ms / 1000) : 1;
	co.connectTimeout = 10;
	co.username = cfg->username;
	co.password = cfg->password;
	co.onFailure = on_connect_failed;
	co.context = br;
	if (strncmp(br->url, "ssl://", 6) == 0 || strncmp(br->url, "wss://", 6) == 0) {
		ssl.trustStore = cfg->tls.ca;
		ssl.keyStore = cfg->tls.cert;
		ssl.privateKey = cfg->tls.key;
		ssl.enableServerCertAuth = 1;
		ssl.verify = cfg->tls.verify_hostname;
		co.ssl = &ssl;
	}
	if ((r = pthread_create(&br->thread, NULL, sender_main, br)) != 0) {
		log_error("bridge", cfg->name, "cannot start its thread: %s",
		    strerror(r));
		return -1;
	}
	br->started = 1;
	if ((r = MQTTAsync_connect(br->mq, &co)) != MQTTASYNC_SUCCESS)
		log_warn("bridge", cfg->name, "%s: %s: retrying", br->url,
		    MQTTAsync_strerror(r));
	br->client = broker_client_new(br->all->broker, br->client_name,
	    on_local, br);
	for (size_t i = 0; i < cfg->nforward; i++)
		broker_client_subscribe(br->client, cfg->forward[i].from, 2);
	log_info("bridge", cfg->name, "%zu forward and %zu subscribe rules to %s",
	    cfg->nforward, cfg->nsubscribe, br->url);
	return 0;
}

struct bridges *
bridges_start(const struct fmq_config *cfg, struct broker *b, struct store *s)
{
	struct bridges *all;

	if (cfg->nbridges == 0)
		return NULL;
	all = xcalloc(1, sizeof(*all));
	all->broker = b;
	all->store = s;
	all->sys_interval_ms = cfg->broker.sys_interval_ms;
	all->v = xcalloc(cfg->nbridges, sizeof(*all->v));
	all->n = cfg->nbridges;
	for (size_t i = 0; i < all->n; i++) {
		all->v[i].all = all;
		all->v[i].cfg = &cfg->bridges[i];
	}
	store_on_outbox(s, on_outbox, all);
	for (size_t i = 0; i < all->n; i++)
		bridge_start(&all->v[i], store_path(s));
	return all;
}

void
bridges_free(struct bridges *all)
{
	if (all == NULL)
		return;
	store_on_outbox(all->store, NULL, NULL);
	for (size_t i = 0; i < all->n; i++) {
		struct bridge *br = &all->v[i];

		broker_client_free(br->client);
		if (br->started) {
			pthread_mutex_lock(&br->lock);
			br->stop = 1;
			pthread_cond_signal(&br->cond);
			pthread_mutex_unlock(&br->lock);
			pthread_join(br->thread, NULL);
		}
		if (br->mq != NULL) {
			MQTTAsync_disconnect(br->mq, NULL);
			MQTTAsync_destroy(&br->mq);
		}
		sqlite3_finalize(br->next);
		sqlite3_finalize(br->count);
		sqlite3_close(br->db);
		pthread_mutex_destroy(&br->lock);
		pthread_cond_destroy(&br->cond);
	}
	free(all->v);
	free(all);
}
