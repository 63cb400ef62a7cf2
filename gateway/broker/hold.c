/*
 * Acknowledgements that wait for a commit. While a QoS 1 or 2 PUBLISH
 * from a network client is routed, an in-process subscriber that writes
 * the message somewhere durable (the rule engine's tables, later the
 * bridge's outbox) takes a hold on it; the PUBACK or PUBREC goes out once
 * every hold was released, after the commit. A connection's
 * acknowledgements leave in the order of its publishes (MQTT 3.1.1 4.6),
 * so an acknowledgement that waits for nothing queues behind one that
 * waits.
 *
 * A hold counts its releases atomically: the broker holds one reference
 * itself while routing, each subscriber one more. Whoever drops the count
 * to zero makes it ready: the broker directly, or the releasing thread
 * through the broker's "released" queue, handled on the loop.
 */
#include "config.h"

#include <stdlib.h>

#include "broker/internal.h"
#include "broker/packet.h"
#include "log.h"
#include "queue.h"
#include "util.h"

struct broker_hold {
	struct broker		*b;
	struct conn		*c;		/* NULL once the connection closed */
	struct broker_hold	*next;		/* the connection's FIFO */
	int			 refs;		/* atomic */
	uint8_t			 ready;		/* loop thread */
	uint8_t			 type;		/* MQTT_PUBACK or MQTT_PUBREC */
	uint16_t		 id;
};

/* Sends the acknowledgements at the head of c's FIFO that are ready. */
static void
hold_flush(struct conn *c)
{
	struct broker_hold *h;

	while ((h = c->acks) != NULL && h->ready) {
		if ((c->acks = h->next) == NULL)
			c->acks_tail = NULL;
		mqtt_encode_ack(&c->out, h->type, h->id);
		conn_mark_dirty(c);
		free(h);
	}
}

struct broker_hold *
broker_hold(struct broker *b)
{
	struct broker_hold *h = b->hold;

	if (b->hold_conn == NULL)
		return NULL;	/* nothing waits: QoS 0, or not from a client */
	if (h == NULL) {
		h = b->hold = xcalloc(1, sizeof(*h));
		h->b = b;
		h->refs = 1;	/* the broker's own, while routing */
	}
	__atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
	return h;
}

void
broker_release(struct broker_hold *h)
{
	if (h == NULL || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (queue_push(h->b->released, h, 0) == -1)
		log_error("broker", NULL, "the acknowledgement queue is full: a "
		    "publisher waits for its PUBACK until it reconnects");
}

void
hold_begin(struct broker *b, struct conn *c)
{
	b->hold_conn = c;
	b->hold = NULL;
}

void
hold_end(struct broker *b, struct conn *c, uint8_t type, uint16_t id)
{
	struct broker_hold *h = b->hold;

	b->hold_conn = NULL;
	b->hold = NULL;
	if (c->state != CONN_ACTIVE) {
		/* Closed while routing: nobody to acknowledge. */
		if (h != NULL && __atomic_sub_fetch(&h->refs, 1,
		    __ATOMIC_ACQ_REL) == 0)
			free(h);
		return;
	}
	if (h == NULL && c->acks == NULL) {
		mqtt_encode_ack(&c->out, type, id);
		conn_mark_dirty(c);
		return;
	}
	if (h == NULL) {
		h = xcalloc(1, sizeof(*h));
		h->b = b;
		h->ready = 1;
	} else if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0)
		h->ready = 1;	/* every subscriber released already */
	h->c = c;
	h->type = type;
	h->id = id;
	if (c->acks_tail != NULL)
		c->acks_tail->next = h;
	else
		c->acks = h;
	c->acks_tail = h;
	hold_flush(c);
}

void
hold_conn_closed(struct conn *c)
{
	struct broker_hold *h, *next;

	for (h = c->acks; h != NULL; h = next) {
		next = h->next;
		if (h->ready)
			free(h);
		else
			h->c = NULL;	/* freed when released */
	}
	c->acks = c->acks_tail = NULL;
}

void
hold_released(struct broker *b)
{
	void	*items[256];
	size_t	 n;

	while ((n = queue_pop(b->released, items, FMQ_NELEM(items))) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct broker_hold *h = items[i];

			h->ready = 1;
			if (h->c == NULL)
				free(h);
			else
				hold_flush(h->c);
		}
		if (n < FMQ_NELEM(items))
			break;
	}
}
