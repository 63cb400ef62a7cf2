/*
 * The broker: start and stop, routing a message to its subscribers,
 * retained messages, in-process clients and publishes from other threads.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "broker/internal.h"
#include "broker/security.h"
#include "broker/tls.h"
#include "broker/packet.h"
#include "broker/topic.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "queue.h"
#include "store.h"
#include "util.h"

#define RBUF_SIZE	(64 * 1024)
#define INBOUND_CAP	65536
#define RELEASED_CAP	(1u << 20)	/* acknowledgements waiting for the loop */
#define SWEEP_MS	500

struct broker_client {
	struct broker	*b;
	struct session	*s;
};

/* One publish inside a batch posted from another thread. */
struct posted {
	uint8_t		 qos;
	uint8_t		 retain;
	uint16_t	 topic_len;
	uint32_t	 len;
	/* then the topic and the payload, padded to 8 bytes */
};

struct broker_batch {
	struct buf	 b;
	size_t		 n;
	char		*from;		/* the publisher named to subscribers */
};

static void
batch_free_item(void *p)
{
	broker_batch_free(p);
}

static void
retained_free(void *v)
{
	msg_unref(v);
}

static void broker_load(struct broker *);

/* Whether an address to bind is on this machine only. */
static int
is_loopback(const char *bind)
{
	return strncmp(bind, "127.", 4) == 0 || strcmp(bind, "::1") == 0 ||
	    strcmp(bind, "localhost") == 0;
}

struct broker *
broker_new(struct loop *loop, const struct fmq_config *cfg, struct store *store)
{
	const struct cfg_broker	*c = &cfg->broker;
	struct broker		*b = xcalloc(1, sizeof(*b));

	b->loop = loop;
	b->lim.max_packet = c->max_packet_size;
	b->lim.max_inflight = (uint32_t)c->max_inflight;
	b->lim.max_queued = (uint32_t)c->max_queued_messages;
	b->lim.max_queued_bytes = c->max_queued_bytes;
	b->lim.disconnect_when_full = c->when_queue_full == CFG_OVERFLOW_DISCONNECT;
	b->lim.max_connections = (uint64_t)c->max_connections;
	b->lim.sys_interval_ms = c->sys_interval_ms;
	b->lim.max_keepalive = (uint16_t)(c->max_keepalive_ms / 1000 > 65535 ?
	    65535 : c->max_keepalive_ms / 1000);
	b->lim.session_expiry_ms = c->session_expiry_ms;
	b->nlisteners = c->nlisteners;
	b->listeners = xcalloc(c->nlisteners ? c->nlisteners : 1,
	    sizeof(*b->listeners));
	for (size_t i = 0; i < c->nlisteners; i++) {
		const struct cfg_listener *cl = &c->listeners[i];
		struct listener *l = &b->listeners[i];

		l->b = b;
		l->fd = -1;
		l->port = cl->port;
		l->bind = xstrdup(cl->bind);
		l->max_connections = cl->max_connections > 0 ?
		    (uint64_t)cl->max_connections : b->lim.max_connections;
		l->max_packet = cl->max_packet_size > 0 ?
		    cl->max_packet_size : b->lim.max_packet;
		l->connect_timeout_ms = cl->connect_timeout_ms;
		/* Unless said otherwise: anonymous clients on loopback only. */
		l->allow_anonymous = cl->allow_anonymous >= 0 ?
		    cl->allow_anonymous : c->allow_anonymous >= 0 ?
		    c->allow_anonymous : is_loopback(cl->bind);
		l->websocket = cl->websocket;
		l->ws_path = xstrdup(cl->path);
		if (cl->tls.enabled) {
			char err[512];

			if ((l->tls = tls_server_ctx(&cl->tls, err,
			    sizeof(err))) == NULL)
				l->tls_error = xstrdup(err);
			l->cn_as_username = cl->tls.cn_as_username;
		}
	}
	{
		char err[512];

		if ((b->sec = security_new(b, c, err, sizeof(err))) == NULL)
			b->sec_error = xstrdup(err);
	}
	b->sessions = session_table_new();
	b->subs = topic_tree_new();
	b->retained = retain_tree_new(retained_free);
	b->rbuf_size = RBUF_SIZE;
	b->rbuf = xmalloc(RBUF_SIZE);
	b->inbound = queue_new("broker-inbound", INBOUND_CAP, QUEUE_REJECT,
	    batch_free_item);
	b->released = queue_new("broker-acks", RELEASED_CAP, QUEUE_REJECT, free);
	b->store = store;
	if (store != NULL)
		broker_load(b);
	return b;
}

/* A retained message from the store. */
static void
load_retained(const char *topic, const void *payload, size_t len, int qos,
    uint64_t time_ms, void *arg)
{
	struct broker	*b = arg;
	struct msg	*m = msg_new(topic, strlen(topic), payload, len,
	    (uint8_t)qos, 1);

	m->time_ms = time_ms;
	retain_tree_set(b->retained, m->topic, m->topic_len, m);
}

static void
load_session(const char *id, void *arg)
{
	struct broker	*b = arg;
	struct session	*s = session_add(b, id, strlen(id));

	s->clean = 0;
}

static void
load_sub(const char *id, const char *filter, int qos, void *arg)
{
	struct broker	*b = arg;
	struct session	*s = session_find(b->sessions, id, strlen(id));

	if (s != NULL && topic_valid_filter(filter, strlen(filter)))
		session_subscribe(b, s, filter, strlen(filter), (uint8_t)qos);
}

static void
load_smsg(const char *id, const char *topic, const void *payload, size_t len,
    int qos, int retain, void *arg)
{
	struct broker	*b = arg;
	struct session	*s = session_find(b->sessions, id, strlen(id));
	struct msg	*m;

	if (s == NULL)
		return;
	m = msg_new(topic, strlen(topic), payload, len, (uint8_t)qos, retain);
	m->time_ms = wall_ms();
	session_deliver(b, s, m, (uint8_t)qos, retain);
	msg_unref(m);
}

/* Restores retained messages and persistent sessions (start-up). */
static void
broker_load(struct broker *b)
{
	b->loading = 1;
	store_load_retained(b->store, load_retained, b);
	store_load_sessions(b->store, load_session, load_sub, load_smsg, b);
	b->loading = 0;
	b->st.retained = retain_tree_count(b->retained);
	if (b->st.retained > 0 || session_count(b->sessions) > 0)
		log_info("broker", NULL, "restored %llu retained messages and %zu "
		    "persistent sessions", (unsigned long long)b->st.retained,
		    session_count(b->sessions));
}

/* Saves what persistent sessions hold in memory, in order (shutdown). */
static void
broker_save_sessions(struct broker *b)
{
	struct session	*all[256];
	size_t		 n, off = 0;

	if (b->store == NULL)
		return;
	while ((n = session_table_list(b->sessions, off, all,
	    FMQ_NELEM(all))) > 0) {
		for (size_t i = 0; i < n; i++)
			session_save(b, all[i]);
		off += n;
	}
}

static void
on_sweep(struct loop *l, struct loop_timer *t, void *arg)
{
	struct broker *b = arg;

	conn_sweep(b, loop_now(l));
	/* Offline sessions are looked at every 40 sweeps (10 s). */
	if (++b->sweeps % 40 == 0)
		session_expire(b, loop_now(l));
	/* Nothing to watch: an idle gateway does not wake up for it. The
	 * next connection arms the sweep again (conn_accept). */
	if (b->nconns == 0 && b->nlinger == 0 && b->lim.session_expiry_ms == 0)
		loop_timer_disarm(t);
}

void
broker_sweep_needed(struct broker *b)
{
	if (b->sweep != NULL && !loop_timer_armed(b->sweep))
		loop_timer_arm(b->sweep, SWEEP_MS, SWEEP_MS);
}

static void
on_sys(struct loop *l, struct loop_timer *t, void *arg)
{
	sys_publish(arg);
	broker_flush(arg);
}

#define UNPAUSE_MS	2

void
broker_reload(struct broker *b, const struct fmq_config *cfg)
{
	if (b->sec != NULL)
		security_reload(b->sec, &cfg->broker);
}

/* Reads paused connections again once the congestion is over. */
static void
on_unpause(struct loop *l, struct loop_timer *t, void *arg)
{
	struct broker *b = arg;

	if (b->congested != NULL && b->congested(b->congested_arg))
		return;
	loop_timer_disarm(t);
	while (b->npaused > 0) {
		struct conn *c = b->paused[--b->npaused];

		c->paused = 0;
		conn_watch(c);
	}
}

void
broker_pause_publisher(struct broker *b, int (*congested)(void *), void *arg)
{
	struct conn *c = b->route_conn;

	if (c == NULL || c->paused || c->state != CONN_ACTIVE)
		return;
	b->congested = congested;
	b->congested_arg = arg;
	c->paused = 1;
	conn_watch(c);
	if (b->npaused == b->cappaused) {
		b->cappaused = b->cappaused ? b->cappaused * 2 : 16;
		b->paused = xreallocarray(b->paused, b->cappaused,
		    sizeof(*b->paused));
	}
	b->paused[b->npaused++] = c;
	if (b->unpause == NULL)
		b->unpause = loop_timer_new(b->loop, on_unpause, b);
	if (!loop_timer_armed(b->unpause))
		loop_timer_arm(b->unpause, UNPAUSE_MS, UNPAUSE_MS);
}

void
broker_unpause(struct broker *b, struct conn *c)
{
	for (size_t i = 0; i < b->npaused; i++)
		if (b->paused[i] == c) {
			b->paused[i] = b->paused[--b->npaused];
			break;
		}
	c->paused = 0;
}

/* Acknowledgements whose holds other threads released. */
static void
on_released(struct loop *l, int fd, uint32_t events, void *arg)
{
	hold_released(arg);
	broker_flush(arg);
}

/* Routes the publishes that other threads posted. */
static void
on_inbound(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct broker	*b = arg;
	void		*items[256];
	size_t		 n;

	n = queue_pop(b->inbound, items, FMQ_NELEM(items));
	for (size_t i = 0; i < n; i++) {
		struct broker_batch	*bt = items[i];
		size_t			 off = 0;
		uint64_t		 now = wall_ms();

		while (off < bt->b.len) {
			struct posted	 p;
			const char	*data;
			struct msg	*m;

			memcpy(&p, bt->b.p + off, sizeof(p));
			data = (const char *)bt->b.p + off + sizeof(p);
			m = msg_new(data, p.topic_len, data + p.topic_len, p.len,
			    p.qos, p.retain);
			m->time_ms = now;
			b->st.msgs_received++;
			if (m->retain)
				broker_retain(b, m);
			broker_route(b, m, bt->from != NULL ? bt->from : "fieldmqd");
			msg_unref(m);
			off += (sizeof(p) + p.topic_len + p.len + 7) & ~(size_t)7;
		}
		broker_batch_free(bt);
	}
	broker_flush(b);
}

int
broker_start(struct broker *b)
{
	if (b->sec_error != NULL) {
		log_error("broker", NULL, "%s", b->sec_error);
		return -1;
	}
	if (security_start(b->sec) == -1)
		return -1;
	for (size_t i = 0; i < b->nlisteners; i++) {
		struct listener *l = &b->listeners[i];

		if (l->tls_error != NULL) {
			log_error("broker", NULL, "broker.listeners[%zu] (port %lld): "
			    "%s", i, (long long)l->port, l->tls_error);
			return -1;
		}
	}
	for (size_t i = 0; i < b->nlisteners; i++)
		if (listener_open(b, &b->listeners[i]) == -1)
			return -1;
	b->started = loop_now(b->loop);
	b->sweep = loop_timer_new(b->loop, on_sweep, b);
	loop_timer_arm(b->sweep, SWEEP_MS, SWEEP_MS);
	if (b->lim.sys_interval_ms > 0) {
		b->sys = loop_timer_new(b->loop, on_sys, b);
		/* The first at once: `fieldmq status` works from the start. */
		loop_timer_arm(b->sys, 1, b->lim.sys_interval_ms);
	}
	if (loop_add_fd(b->loop, queue_fd(b->inbound), EPOLLIN, on_inbound, b) == -1 ||
	    loop_add_fd(b->loop, queue_fd(b->released), EPOLLIN, on_released,
	    b) == -1)
		return -1;
	return 0;
}

void
broker_stop(struct broker *b)
{
	for (size_t i = 0; i < b->nlisteners; i++)
		listener_close(&b->listeners[i]);
	/* Say goodbye with what is already queued, then close. */
	broker_flush(b);
	while (b->conns != NULL)
		conn_close(b->conns, "the broker is stopping", 0);
	broker_flush(b);
	broker_save_sessions(b);
	if (b->inbound != NULL)
		loop_del_fd(b->loop, queue_fd(b->inbound));
	if (b->released != NULL)
		loop_del_fd(b->loop, queue_fd(b->released));
	loop_timer_free(b->sweep);
	loop_timer_free(b->sys);
	loop_timer_free(b->unpause);
	b->sweep = b->sys = b->unpause = NULL;
}

void
broker_free(struct broker *b)
{
	struct session	*all[64];
	size_t		 n;

	if (b == NULL)
		return;
	while (b->conns != NULL)
		conn_close(b->conns, "the broker is stopping", 0);
	broker_flush(b);
	security_free(b->sec);
	b->sec = NULL;
	conn_linger_sweep(b, 0, 1);
	free(b->sec_error);
	/* Freeing memory is not ending sessions: the store keeps them. */
	b->store = NULL;
	/* Sessions are freed through the table, a bucket at a time. */
	while ((n = session_table_list(b->sessions, 0, all, FMQ_NELEM(all))) > 0)
		for (size_t i = 0; i < n; i++)
			session_destroy(b, all[i]);
	session_table_free(b->sessions);
	topic_tree_free(b->subs);
	retain_tree_free(b->retained);
	for (size_t i = 0; i < b->nlisteners; i++) {
		free(b->listeners[i].bind);
		free(b->listeners[i].tls_error);
		free(b->listeners[i].ws_path);
		SSL_CTX_free(b->listeners[i].tls);
	}
	free(b->listeners);
	for (size_t i = 0; i < b->nwills; i++)
		msg_unref(b->wills[i]);
	free(b->wills);
	queue_free(b->inbound);
	/* Every connection is closed: what is left was orphaned. */
	queue_free(b->released);
	free(b->paused);
	free(b->match);
	free(b->rbuf);
	free(b);
}

void
broker_queue_will(struct broker *b, struct msg *m)
{
	if (b->nwills == b->capwills) {
		b->capwills = b->capwills ? b->capwills * 2 : 8;
		b->wills = xreallocarray(b->wills, b->capwills, sizeof(*b->wills));
	}
	b->wills[b->nwills++] = m;
}

/* Collects matches; an owner with several matching filters counts once. */
struct route_ctx {
	struct broker	*b;
	struct match	*v;
	size_t		 n, cap;
	uint64_t	 stamp;
	int		 heap;		/* v is this route's own (nested route) */
};

static void
route_match(void *owner, uint8_t options, void *arg)
{
	struct route_ctx	*r = arg;
	struct session		*s = owner;
	uint8_t			 qos = options & 3;

	if (s->stamp == r->stamp) {
		if (qos > r->v[s->match_idx].qos)
			r->v[s->match_idx].qos = qos;
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	s->stamp = r->stamp;
	s->match_idx = (uint32_t)r->n;
	r->v[r->n++] = (struct match){ s, qos };
}

void
broker_route(struct broker *b, struct msg *m, const char *from)
{
	struct route_ctx r = { .b = b, .stamp = ++b->stamp };
	const char *outer = b->route_from;

	/* The outermost route reuses one array; a nested one has its own. */
	if (b->routing == 0) {
		r.v = b->match;
		r.cap = b->capmatch;
	} else
		r.heap = 1;
	b->routing++;
	b->route_from = from;
	topic_tree_match(b->subs, m->topic, m->topic_len, route_match, &r);
	if (!r.heap) {
		b->match = r.v;
		b->capmatch = r.cap;
	}
	for (size_t i = 0; i < r.n; i++) {
		uint8_t qos = m->qos < r.v[i].qos ? m->qos : r.v[i].qos;

		session_deliver(b, r.v[i].s, m, qos, 0);
	}
	b->routing--;
	b->route_from = outer;
	if (r.heap)
		free(r.v);
}

void
broker_retain(struct broker *b, struct msg *m)
{
	retain_tree_set(b->retained, m->topic, m->topic_len,
	    m->payload_len > 0 ? msg_ref(m) : NULL);
	b->st.retained = retain_tree_count(b->retained);
	/* $SYS values are made again at every start: not worth a write. */
	if (b->store == NULL || b->loading ||
	    (m->topic_len > 5 && memcmp(m->topic, "$SYS/", 5) == 0))
		return;
	if (m->payload_len > 0)
		store_retain_set(b->store, m->topic, m->topic_len, m->payload,
		    m->payload_len, m->qos, m->time_ms);
	else
		store_retain_delete(b->store, m->topic, m->topic_len);
}

struct retained_ctx {
	struct msg	**v;
	size_t		  n, cap;
};

static void
retained_match(const char *topic, size_t len, void *value, void *arg)
{
	struct retained_ctx *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	r->v[r->n++] = msg_ref(value);
}

void
broker_send_retained(struct broker *b, struct session *s, const char *filter,
    size_t len, uint8_t qos)
{
	struct retained_ctx r = { 0 };
	const char *outer;

	/* Collected first: a delivery may change the tree (an in-process
	 * subscriber that publishes a retained message). */
	retain_tree_match(b->retained, filter, len, retained_match, &r);
	outer = b->route_from;
	b->route_from = NULL;	/* a retained message's publisher is unknown */
	for (size_t i = 0; i < r.n; i++) {
		struct msg *m = r.v[i];

		session_deliver(b, s, m, m->qos < qos ? m->qos : qos, 1);
		msg_unref(m);
	}
	b->route_from = outer;
	free(r.v);
}

/* ---- in-process clients ------------------------------------------------ */

struct broker_client *
broker_client_new(struct broker *b, const char *name, broker_deliver_cb cb,
    void *arg)
{
	struct broker_client	*c;
	struct session		*s;

	if (session_find(b->sessions, name, strlen(name)) != NULL)
		return NULL;
	s = session_add(b, name, strlen(name));
	s->internal = 1;
	s->cb = cb;
	s->cb_arg = arg;
	c = xcalloc(1, sizeof(*c));
	c->b = b;
	c->s = s;
	return c;
}

void
broker_client_free(struct broker_client *c)
{
	if (c == NULL)
		return;
	session_destroy(c->b, c->s);
	free(c);
}

int
broker_client_subscribe(struct broker_client *c, const char *filter, uint8_t qos)
{
	size_t len = strlen(filter);

	if (!topic_valid_filter(filter, len) || !mqtt_valid_utf8(filter, len))
		return -1;
	qos = session_subscribe(c->b, c->s, filter, len, qos > 2 ? 2 : qos);
	broker_send_retained(c->b, c->s, filter, len, qos);
	broker_flush(c->b);
	return qos;
}

int
broker_client_unsubscribe(struct broker_client *c, const char *filter)
{
	return session_unsubscribe(c->b, c->s, filter, strlen(filter)) ? 0 : -1;
}

int
broker_client_publish(struct broker_client *c, const char *topic,
    const void *payload, size_t len, uint8_t qos, int retain)
{
	struct broker	*b = c->b;
	size_t		 tlen = strlen(topic);
	struct msg	*m;

	if (!topic_valid_name(topic, tlen) || !mqtt_valid_utf8(topic, tlen) ||
	    qos > 2)
		return -1;
	m = msg_new(topic, tlen, payload, len, qos, retain);
	m->time_ms = wall_ms();
	m->origin = c->s;
	b->st.msgs_received++;
	if (retain)
		broker_retain(b, m);
	broker_route(b, m, c->s->id);
	msg_unref(m);
	broker_flush(b);
	return 0;
}

struct broker_batch *
broker_batch_new(void)
{
	return xcalloc(1, sizeof(struct broker_batch));
}

int
broker_batch_add(struct broker_batch *bt, const char *topic, const void *payload,
    size_t len, uint8_t qos, int retain)
{
	size_t		 tlen = strlen(topic), size;
	struct posted	 p;
	uint8_t		*at;

	if (!topic_valid_name(topic, tlen) || !mqtt_valid_utf8(topic, tlen) ||
	    qos > 2 || len > UINT32_MAX)
		return -1;
	p = (struct posted){ qos, retain ? 1 : 0, (uint16_t)tlen, (uint32_t)len };
	size = (sizeof(p) + tlen + len + 7) & ~(size_t)7;
	at = buf_reserve(&bt->b, size);
	memcpy(at, &p, sizeof(p));
	memcpy(at + sizeof(p), topic, tlen);
	if (len > 0)
		memcpy(at + sizeof(p) + tlen, payload, len);
	bt->b.len += size;
	bt->n++;
	return 0;
}

size_t
broker_batch_count(const struct broker_batch *bt)
{
	return bt->n;
}

void
broker_batch_free(struct broker_batch *bt)
{
	if (bt == NULL)
		return;
	buf_free(&bt->b);
	free(bt->from);
	free(bt);
}

int
broker_post_batch(struct broker *b, struct broker_batch *bt)
{
	if (bt->n == 0) {
		broker_batch_free(bt);
		return 0;
	}
	if (queue_push(b->inbound, bt, 0) == -1) {
		/* One refused push of n messages counts n drops. */
		__atomic_add_fetch(&b->post_dropped, bt->n - 1, __ATOMIC_RELAXED);
		broker_batch_free(bt);
		return -1;
	}
	return 0;
}

int
broker_post_as(struct broker *b, const char *from, const char *topic,
    const void *payload, size_t len, uint8_t qos, int retain)
{
	struct broker_batch *bt = broker_batch_new();

	bt->from = xstrdup(from);
	if (broker_batch_add(bt, topic, payload, len, qos, retain) == -1) {
		broker_batch_free(bt);
		return -1;
	}
	return broker_post_batch(b, bt);
}

int
broker_post(struct broker *b, const char *topic, const void *payload, size_t len,
    uint8_t qos, int retain)
{
	struct broker_batch *bt = broker_batch_new();

	if (broker_batch_add(bt, topic, payload, len, qos, retain) == -1) {
		broker_batch_free(bt);
		return -1;
	}
	return broker_post_batch(b, bt);
}

void
broker_get_stats(const struct broker *b, struct broker_stats *st)
{
	struct queue_stats qs;

	*st = b->st;
	queue_get_stats(b->inbound, &qs);
	st->msgs_dropped += qs.rejected +
	    __atomic_load_n(&b->post_dropped, __ATOMIC_RELAXED);
}
