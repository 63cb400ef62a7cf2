/*
 * Sessions: the table of client ids, subscriptions, and the delivery of
 * messages to one client with its in-flight window and its bounded queue.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/acl.h"
#include "broker/internal.h"
#include "broker/packet.h"
#include "broker/topic.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "util.h"

struct session_table {
	struct session	**v;
	size_t		  cap;		/* power of two */
	size_t		  n;
};

static uint32_t
hash_id(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

struct session_table *
session_table_new(void)
{
	struct session_table *t = xcalloc(1, sizeof(*t));

	t->cap = 64;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	return t;
}

void
session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t);
}

size_t
session_count(const struct session_table *t)
{
	return t->n;
}

struct session *
session_find(struct session_table *t, const char *id, size_t len)
{
	struct session *s = t->v[hash_id(id, len) & (t->cap - 1)];

	for (; s != NULL; s = s->hnext)
		if (s->id_len == len && memcmp(s->id, id, len) == 0)
			return s;
	return NULL;
}

/* Doubles the table when it is full. */
static void
table_grow(struct session_table *t)
{
	size_t		  cap = t->cap * 2;
	struct session	**v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < t->cap; i++) {
		struct session *s = t->v[i], *next;

		for (; s != NULL; s = next) {
			size_t h = hash_id(s->id, s->id_len) & (cap - 1);

			next = s->hnext;
			s->hnext = v[h];
			v[h] = s;
		}
	}
	free(t->v);
	t->v = v;
	t->cap = cap;
}

struct session *
session_add(struct broker *b, const char *id, size_t len)
{
	struct session_table	*t = b->sessions;
	struct session		*s = xcalloc(1, sizeof(*s));
	size_t			 h;

	s->id = xstrndup(id, len);
	s->id_len = len;
	s->offline_since = loop_now(b->loop);
	s->next_id = 1;
	if (t->n >= t->cap)
		table_grow(t);
	h = hash_id(id, len) & (t->cap - 1);
	s->hnext = t->v[h];
	t->v[h] = s;
	t->n++;
	b->st.clients_total = t->n;
	return s;
}

/* Unlinks s from the table. */
static void
table_remove(struct session_table *t, struct session *s)
{
	struct session **pp = &t->v[hash_id(s->id, s->id_len) & (t->cap - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			t->n--;
			return;
		}
	}
}

/* ---- rings of pending messages --------------------------------------- */

static struct pending *
ring_at(struct pending_ring *r, uint32_t i)
{
	return &r->v[(r->head + i) & (r->cap - 1)];
}

static void
ring_push(struct pending_ring *r, struct pending p)
{
	if (r->n == r->cap) {
		uint32_t	 cap = r->cap ? r->cap * 2 : 8;
		struct pending	*v = xcalloc(cap, sizeof(*v));

		for (uint32_t i = 0; i < r->n; i++)
			v[i] = *ring_at(r, i);
		free(r->v);
		r->v = v;
		r->cap = cap;
		r->head = 0;
	}
	*ring_at(r, r->n++) = p;
}

static void
ring_pop(struct pending_ring *r)
{
	r->head = (r->head + 1) & (r->cap - 1);
	r->n--;
}

void
session_compact(struct session *s)
{
	/* An idle session keeps no ring memory (the sweep calls this). */
	if (s->inflight.n == 0 && s->inflight.cap > 0) {
		free(s->inflight.v);
		memset(&s->inflight, 0, sizeof(s->inflight));
	}
	if (s->queue.n == 0 && s->queue.cap > 0) {
		free(s->queue.v);
		memset(&s->queue, 0, sizeof(s->queue));
	}
}

static void
ring_clear(struct pending_ring *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		msg_unref(ring_at(r, i)->m);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- lifecycle --------------------------------------------------------- */

/* True if s is written through to the store. */
static int
persists(const struct broker *b, const struct session *s)
{
	return b->store != NULL && !b->loading && !s->clean && !s->internal;
}


void
session_destroy(struct broker *b, struct session *s)
{
	if (persists(b, s))
		store_session_delete(b->store, s->id);
	for (size_t i = 0; i < s->nsubs; i++) {
		topic_tree_remove(b->subs, s->subs[i].filter,
		    strlen(s->subs[i].filter), s);
		free(s->subs[i].filter);
	}
	free(s->subs);
	ring_clear(&s->inflight);
	ring_clear(&s->queue);
	free(s->qos2_in);
	table_remove(b->sessions, s);
	b->st.clients_total = session_count(b->sessions);
	b->st.subscriptions = topic_tree_count(b->subs);
	free(s->id);
	free(s->username);
	free(s);
}

uint8_t
session_subscribe(struct broker *b, struct session *s, const char *filter,
    size_t len, uint8_t qos)
{
	size_t i;

	topic_tree_add(b->subs, filter, len, s, qos);
	for (i = 0; i < s->nsubs; i++)
		if (strlen(s->subs[i].filter) == len &&
		    memcmp(s->subs[i].filter, filter, len) == 0)
			break;
	if (i == s->nsubs) {
		s->subs = xreallocarray(s->subs, s->nsubs + 1, sizeof(*s->subs));
		s->subs[s->nsubs++].filter = xstrndup(filter, len);
	}
	s->subs[i].qos = qos;
	b->st.subscriptions = topic_tree_count(b->subs);
	if (persists(b, s))
		store_sub_put(b->store, s->id, filter, len, qos);
	return qos;
}

int
session_unsubscribe(struct broker *b, struct session *s, const char *filter,
    size_t len)
{
	int found = topic_tree_remove(b->subs, filter, len, s);

	for (size_t i = 0; i < s->nsubs; i++) {
		if (strlen(s->subs[i].filter) != len ||
		    memcmp(s->subs[i].filter, filter, len) != 0)
			continue;
		free(s->subs[i].filter);
		s->subs[i] = s->subs[--s->nsubs];
		break;
	}
	b->st.subscriptions = topic_tree_count(b->subs);
	if (found && persists(b, s))
		store_sub_delete(b->store, s->id, filter, len);
	return found;
}

/* ---- delivery ---------------------------------------------------------- */

/* True if a message of this QoS may go onto the socket now. */
static int
can_send(const struct broker *b, const struct session *s, uint8_t qos)
{
	const struct conn *c = s->conn;

	if (c == NULL || c->state != CONN_ACTIVE ||
	    buf_pending(&c->out) >= CONN_OUT_HIGH)
		return 0;
	/* Ids in the ring are consecutive: keep the ring below 65535. */
	return qos == 0 || (s->inflight_active < b->lim.max_inflight &&
	    s->inflight.n < 65000);
}

/* Encodes m for s's connection; QoS 1/2 enter the in-flight window. */
static void
send_now(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
    int retain)
{
	struct conn	*c = s->conn;
	uint16_t	 id = 0;

	if (qos > 0) {
		id = s->next_id;
		s->next_id = s->next_id == 65535 ? 1 : s->next_id + 1;
		ring_push(&s->inflight, (struct pending){ msg_ref(m), id, qos,
		    qos == 1 ? PENDING_PUBACK : PENDING_PUBREC, (uint8_t)retain });
		s->inflight_active++;
	}
	mqtt_encode_publish(&c->out, m->topic, m->topic_len, m->payload,
	    m->payload_len, qos, retain, 0, id);
	conn_mark_dirty(c);
	b->st.msgs_sent++;
}

/* Queues m for later, within the session's limits; 0, or -1 if dropped. */
static int
enqueue(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
    int retain)
{
	if (s->queue.n >= b->lim.max_queued ||
	    s->queued_bytes + m->payload_len > b->lim.max_queued_bytes) {
		if (s->dropped++ == 0 || (s->dropped & 0xffff) == 0)
			log_warn("broker", s->id, "queue full (%u messages, %llu "
			    "bytes): dropping; %llu dropped so far", s->queue.n,
			    (unsigned long long)s->queued_bytes,
			    (unsigned long long)s->dropped);
		b->st.msgs_dropped++;
		if (b->lim.disconnect_when_full && s->conn != NULL)
			conn_close(s->conn, "queue full", 1);
		return -1;
	}
	ring_push(&s->queue, (struct pending){ msg_ref(m), 0, qos,
	    PENDING_QUEUED, (uint8_t)retain });
	s->queued_bytes += m->payload_len;
	return 0;
}

void
session_deliver(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
    int retain)
{
	if (s->internal) {
		struct broker_message bm = {
			.topic = m->topic, .topic_len = m->topic_len,
			.payload = m->payload, .payload_len = m->payload_len,
			.qos = qos, .retain = retain, .time_ms = m->time_ms,
			.client_id = b->route_from,
			.published_retain = m->retain,
		};

		b->st.msgs_sent++;
		s->cb(&bm, s->cb_arg);
		return;
	}
	/* An offline session keeps QoS 1 and 2 messages only. */
	if (s->conn == NULL && qos == 0)
		return;
	if (b->acl != NULL && !acl_check(b->acl, s->id, s->username, m->topic,
	    m->topic_len, ACL_READ))
		return;
	if (s->queue.n == 0 && can_send(b, s, qos))
		send_now(b, s, m, qos, retain);
	else if (enqueue(b, s, m, qos, retain) == 0 && s->conn == NULL &&
	    persists(b, s))
		/* Kept on disk while the client is away. */
		store_smsg_add(b->store, s->id, m->topic, m->topic_len,
		    m->payload, m->payload_len, qos, retain);
}

void
session_pump(struct broker *b, struct session *s)
{
	while (s->queue.n > 0) {
		struct pending p = *ring_at(&s->queue, 0);

		if (!can_send(b, s, p.qos))
			break;
		ring_pop(&s->queue);
		s->queued_bytes -= p.m->payload_len;
		send_now(b, s, p.m, p.qos, p.retain);
		msg_unref(p.m);
	}
}

void
session_resend(struct broker *b, struct session *s)
{
	struct conn *c = s->conn;

	for (uint32_t i = 0; i < s->inflight.n; i++) {
		struct pending *p = ring_at(&s->inflight, i);

		if (p->state == PENDING_PUBACK || p->state == PENDING_PUBREC)
			mqtt_encode_publish(&c->out, p->m->topic, p->m->topic_len,
			    p->m->payload, p->m->payload_len, p->qos, p->retain, 1,
			    p->id);
		else if (p->state == PENDING_PUBCOMP)
			mqtt_encode_ack(&c->out, MQTT_PUBREL, p->id);
	}
	if (s->inflight.n > 0)
		conn_mark_dirty(c);
	session_pump(b, s);
}

/* The in-flight entry with id in state, or NULL; acks come mostly in order. */
static struct pending *
inflight_find(struct session *s, uint16_t id, uint8_t state)
{
	for (uint32_t i = 0; i < s->inflight.n; i++) {
		struct pending *p = ring_at(&s->inflight, i);

		if (p->id == id && p->state == state)
			return p;
	}
	return NULL;
}

/* Marks p acknowledged and trims acknowledged entries from the front. */
static void
inflight_done(struct broker *b, struct session *s, struct pending *p)
{
	msg_unref(p->m);
	p->m = NULL;
	p->state = PENDING_DONE;
	s->inflight_active--;
	while (s->inflight.n > 0 && ring_at(&s->inflight, 0)->state == PENDING_DONE)
		ring_pop(&s->inflight);
	session_pump(b, s);
}

void
session_puback(struct broker *b, struct session *s, uint16_t id)
{
	struct pending *p = inflight_find(s, id, PENDING_PUBACK);

	if (p != NULL)
		inflight_done(b, s, p);
}

void
session_pubrec(struct broker *b, struct session *s, uint16_t id)
{
	struct pending *p = inflight_find(s, id, PENDING_PUBREC);

	if (p != NULL) {
		msg_unref(p->m);
		p->m = NULL;
		p->state = PENDING_PUBCOMP;
	}
	/* PUBREL also answers a repeated PUBREC whose PUBREL was lost. */
	if (p != NULL || inflight_find(s, id, PENDING_PUBCOMP) != NULL) {
		mqtt_encode_ack(&s->conn->out, MQTT_PUBREL, id);
		conn_mark_dirty(s->conn);
	}
}

void
session_pubcomp(struct broker *b, struct session *s, uint16_t id)
{
	struct pending *p = inflight_find(s, id, PENDING_PUBCOMP);

	if (p != NULL)
		inflight_done(b, s, p);
}

int
session_qos2_seen(struct session *s, uint16_t id)
{
	uint8_t bit = (uint8_t)(1u << (id & 7));
	int seen;

	if (s->qos2_in == NULL)
		s->qos2_in = xcalloc(8192, 1);
	seen = (s->qos2_in[id >> 3] & bit) != 0;
	s->qos2_in[id >> 3] |= bit;
	return seen;
}

void
session_qos2_release(struct session *s, uint16_t id)
{
	if (s->qos2_in != NULL)
		s->qos2_in[id >> 3] &= (uint8_t)~(1u << (id & 7));
}

size_t
session_table_list(struct session_table *t, size_t off, struct session **out,
    size_t max)
{
	size_t n = 0, seen = 0;

	for (size_t i = 0; i < t->cap && n < max; i++)
		for (struct session *s = t->v[i]; s != NULL && n < max; s = s->hnext)
			if (seen++ >= off)
				out[n++] = s;
	return n;
}

void
session_save(struct broker *b, struct session *s)
{
	if (!persists(b, s))
		return;
	store_smsg_clear(b->store, s->id);
	for (int r = 0; r < 2; r++) {
		struct pending_ring *ring = r == 0 ? &s->inflight : &s->queue;

		for (uint32_t i = 0; i < ring->n; i++) {
			struct pending *p = ring_at(ring, i);

			if (p->m != NULL && p->qos > 0)
				store_smsg_add(b->store, s->id, p->m->topic,
				    p->m->topic_len, p->m->payload, p->m->payload_len,
				    p->qos, p->retain);
		}
	}
}

void
session_persist(struct broker *b, struct session *s, int resumed)
{
	if (!persists(b, s))
		return;
	if (resumed)
		store_smsg_clear(b->store, s->id);
	else
		store_session_put(b->store, s->id);
}

void
session_expire(struct broker *b, uint64_t now)
{
	struct session	*v[256];
	size_t		 n, off = 0;

	if (b->lim.session_expiry_ms == 0)
		return;
	while ((n = session_table_list(b->sessions, off, v, FMQ_NELEM(v))) > 0) {
		off += n;
		for (size_t i = 0; i < n; i++) {
			struct session *s = v[i];

			if (s->conn != NULL || s->internal || s->clean ||
			    now - s->offline_since < b->lim.session_expiry_ms)
				continue;
			log_info("broker", s->id, "session expired after %llu s offline",
			    (unsigned long long)(now - s->offline_since) / 1000);
			session_destroy(b, s);
			off--;
		}
	}
}
