/*
 * The embedded MQTT broker: listeners, sessions, the topic tree, retained
 * messages, wills, $SYS statistics, and the in-process API that drivers,
 * rules and the bridge use. Everything runs on the event loop's thread;
 * other threads reach it through broker_post() only.
 */
#ifndef FMQ_BROKER_H
#define FMQ_BROKER_H

#include <stddef.h>
#include <stdint.h>

struct broker;
struct broker_client;
struct fmq_config;
struct loop;
struct store;

/* What an in-process subscriber receives (borrowed for the callback). */
struct broker_message {
	const char	*topic;
	size_t		 topic_len;
	const void	*payload;
	size_t		 payload_len;
	uint8_t		 qos;		/* the delivery QoS */
	int		 retain;	/* set for retained messages sent on subscribe */
	int		 published_retain;	/* the publisher's retain flag */
	uint64_t	 time_ms;	/* when the broker received it (wall clock) */
	const char	*client_id;	/* the publisher's; "fieldmqd" for the
					 * gateway's own, NULL when unknown
					 * (retained messages) */
};

typedef void (*broker_deliver_cb)(const struct broker_message *, void *arg);

/*
 * Creates the broker on loop from the config's broker section (copied).
 * With a store (borrowed; may be NULL), retained messages and persistent
 * sessions are loaded from it and written through to it.
 */
struct broker	*broker_new(struct loop *, const struct fmq_config *,
		    struct store *);
/* Opens the listeners; -1 if one cannot be opened (logged). */
int		 broker_start(struct broker *);
/*
 * Closes listeners and connections (clients see the socket close) and
 * saves the persistent sessions' messages to the store.
 */
void		 broker_stop(struct broker *);
/*
 * On SIGHUP: loads the password and ACL files again (the config's paths);
 * connected clients stay. On an error the previous files stay in use.
 */
void		 broker_reload(struct broker *, const struct fmq_config *);
void		 broker_free(struct broker *);

/*
 * An in-process client: it publishes and subscribes through the same
 * topic tree and QoS rules as network clients, without a socket. Its
 * deliveries arrive through cb on the loop thread.
 */
struct broker_client *broker_client_new(struct broker *, const char *name,
		    broker_deliver_cb cb, void *arg);
void		 broker_client_free(struct broker_client *);
/* Returns the granted QoS, or -1 for an invalid filter. */
int		 broker_client_subscribe(struct broker_client *, const char *filter,
		    uint8_t qos);
int		 broker_client_unsubscribe(struct broker_client *, const char *filter);
/* Publishes; -1 for an invalid topic. */
int		 broker_client_publish(struct broker_client *, const char *topic,
		    const void *payload, size_t len, uint8_t qos, int retain);

/*
 * Durable deliveries. An in-process subscriber that writes a QoS 1/2
 * message somewhere durable calls broker_hold() in its callback; the
 * publisher's PUBACK (PUBREC) then waits until broker_release() was
 * called for every hold on the message, from any thread. NULL (nothing
 * to release) when nobody waits: QoS 0, or an in-process publisher.
 */
struct broker_hold;
struct broker_hold *broker_hold(struct broker *);
/* Any thread; accepts NULL. */
void		 broker_release(struct broker_hold *);

/*
 * Backpressure. Called by an in-process subscriber during a delivery: the
 * broker stops reading from the network client that published the
 * message (what it already read is still handled) until congested(arg)
 * returns 0, asked every few milliseconds; TCP then slows the publisher
 * down and nothing is dropped. One congestion source: the last one given.
 */
void		 broker_pause_publisher(struct broker *, int (*congested)(void *),
		    void *arg);

/*
 * From any thread: queues a publish for the loop (copied). Returns -1 when
 * the inbound queue is full; the drop is counted.
 */
int		 broker_post(struct broker *, const char *topic, const void *payload,
		    size_t len, uint8_t qos, int retain);
/* The same, naming the publisher (client_id) for in-process subscribers. */
int		 broker_post_as(struct broker *, const char *from, const char *topic,
		    const void *payload, size_t len, uint8_t qos, int retain);

/*
 * A batch of publishes built on one thread and posted at once: one queue
 * operation and one wake-up of the loop for all of them.
 */
struct broker_batch;

struct broker_batch *broker_batch_new(void);
/* Adds a publish (copied); -1 for an invalid topic or QoS. */
int		 broker_batch_add(struct broker_batch *, const char *topic,
		    const void *payload, size_t len, uint8_t qos, int retain);
size_t		 broker_batch_count(const struct broker_batch *);
/* Posts the batch (taken, also on failure); -1 if the queue was full (counted). */
int		 broker_post_batch(struct broker *, struct broker_batch *);
void		 broker_batch_free(struct broker_batch *);

/* Counters, for $SYS and `fieldmq status`. */
struct broker_stats {
	uint64_t	clients_connected;
	uint64_t	clients_total;		/* sessions, online or not */
	uint64_t	msgs_received;
	uint64_t	msgs_sent;
	uint64_t	msgs_dropped;
	uint64_t	bytes_received;
	uint64_t	bytes_sent;
	uint64_t	retained;
	uint64_t	subscriptions;
};
void		 broker_get_stats(const struct broker *, struct broker_stats *);

#endif
