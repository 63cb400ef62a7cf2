/*
 * The broker's own structures, shared by the files of gateway/broker/
 * and hidden from the rest of the gateway (which sees broker.h only).
 * Everything here belongs to the loop thread.
 */
#ifndef FMQ_BROKER_INTERNAL_H
#define FMQ_BROKER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "broker/msg.h"
#include "broker/packet.h"
#include "buf.h"

struct conn;
struct listener;
struct ws;
struct ssl_st;
struct ssl_ctx_st;
struct loop_timer;
struct queue;
struct retain_tree;
struct session_table;
struct topic_tree;

/* Copied from the config at start and reload. */
struct broker_limits {
	size_t		 max_packet;
	uint32_t	 max_inflight;
	uint32_t	 max_queued;
	uint64_t	 max_queued_bytes;
	int		 disconnect_when_full;
	uint64_t	 max_connections;
	uint64_t	 sys_interval_ms;
	uint16_t	 max_keepalive;		/* seconds; 0: any */
	uint64_t	 session_expiry_ms;	/* offline persistent sessions; 0: never */
};

/* A message waiting for (or in) delivery to one session. */
struct pending {
	struct msg	*m;		/* NULL once a QoS 2 message got its PUBREC */
	uint16_t	 id;
	uint8_t		 qos;
	uint8_t		 state;		/* enum pending_state */
	uint8_t		 retain;	/* send with the retain flag */
};

enum pending_state {
	PENDING_QUEUED,		/* not sent yet */
	PENDING_PUBACK,		/* QoS 1 sent, waiting for PUBACK */
	PENDING_PUBREC,		/* QoS 2 sent, waiting for PUBREC */
	PENDING_PUBCOMP,	/* PUBREL sent, waiting for PUBCOMP */
	PENDING_DONE,		/* acknowledged out of order: skipped */
};

/* A ring of pending messages. */
struct pending_ring {
	struct pending	*v;
	uint32_t	 head;		/* index of the oldest */
	uint32_t	 n;		/* entries in use */
	uint32_t	 cap;		/* power of two, or 0 */
};

struct sub {
	char		*filter;
	uint8_t		 qos;
};

/* The state of one client id: it outlives connections when not clean. */
struct session {
	char			*id;
	char			*username;	/* NULL: anonymous */
	size_t			 id_len;
	struct session		*hnext;		/* session table chain */
	struct conn		*conn;		/* NULL while offline */
	int			 clean;
	int			 internal;	/* an in-process client */
	broker_deliver_cb	 cb;		/* internal clients */
	void			*cb_arg;

	struct sub		*subs;
	size_t			 nsubs;

	struct pending_ring	 inflight;	/* sent QoS 1/2, in packet id order */
	struct pending_ring	 queue;		/* waiting to be sent */
	uint64_t		 queued_bytes;
	uint16_t		 next_id;
	uint32_t		 inflight_active;	/* in flight, not DONE */
	uint8_t			*qos2_in;	/* bitmap of received QoS 2 ids awaiting PUBREL */

	uint64_t		 stamp;		/* routing: last match stamp */
	uint32_t		 match_idx;	/* routing: its entry in the match list */
	uint64_t		 dropped;
	uint64_t		 offline_since;	/* loop time when the last connection ended */
};

enum conn_state {
	CONN_AWAIT_CONNECT,
	CONN_ACTIVE,
	CONN_CLOSED,
};

struct conn {
	struct broker	*b;
	struct listener	*l;
	int		 fd;
	enum conn_state	 state;
	struct session	*s;
	struct buf	 in;		/* a partial packet between reads */
	struct buf	 out;		/* bytes not yet written */
	uint8_t		 level;		/* protocol level */
	uint16_t	 keepalive;	/* seconds */
	uint64_t	 last_rx;	/* loop time, ms */
	uint64_t	 opened;	/* loop time, ms */
	struct msg	*will;
	int		 epollout;	/* EPOLLOUT is watched */
	int		 over_limit;	/* accepted past max_connections: CONNACK 3 */
	int		 dirty;		/* on the flush list */
	struct conn	*next_dirty;
	struct conn	*prev, *next;	/* every connection */
	struct broker_hold *acks, *acks_tail;	/* acknowledgements in order */
	int		 paused;	/* not read: backpressure */
	struct ssl_st	*ssl;		/* TLS listeners */
	int		 tls_up;	/* the handshake is done */
	int		 tls_failed;	/* no close_notify after an error */
	char		*cert_cn;	/* a verified client certificate's CN */
	int		 authing;	/* CONNECT waits for the password check */
	struct mqtt_frame auth_f;	/* that CONNECT, kept */
	uint8_t		*auth_body;
	char		*username;	/* as authenticated; NULL: anonymous */
	struct ws	*ws;		/* WebSocket listeners */
	struct buf	 ws_hs;		/* the HTTP upgrade request so far */
	struct buf	 wire;		/* WebSocket frames for the socket */
	char		 addr[48];
};

struct listener {
	struct broker	*b;
	int		 fd;
	char		 name[64];	/* "127.0.0.1:1883" */
	int64_t		 port;
	char		*bind;
	uint64_t	 max_connections;
	size_t		 max_packet;
	uint64_t	 connect_timeout_ms;
	int		 allow_anonymous;
	struct ssl_ctx_st *tls;		/* TLS listener */
	char		*tls_error;	/* its context could not be made */
	int		 cn_as_username;
	int		 websocket;
	char		*ws_path;
	uint64_t	 nconns;
};

/* One subscriber matched by a publish, with the best QoS of its filters. */
struct match {
	struct session	*s;
	uint8_t		 qos;
};

struct broker {
	struct loop		*loop;
	struct broker_limits	 lim;
	struct listener		*listeners;
	size_t			 nlisteners;
	struct session_table	*sessions;
	struct topic_tree	*subs;
	struct retain_tree	*retained;
	struct conn		*conns;		/* every connection */
	struct conn		*dirty;		/* connections with output to flush, */
	struct conn		*dirty_tail;	/* in the order they got it */
	struct conn		*dead;		/* closed, freed at the next flush */
	uint64_t		 nconns;
	uint64_t		 stamp;
	struct match		*match;		/* routing scratch (outermost route) */
	size_t			 capmatch;
	int			 routing;	/* depth of nested broker_route calls */
	const char		*route_from;	/* the publisher being routed */
	struct msg		**wills;	/* published at the next flush */
	size_t			 nwills, capwills;
	uint8_t			*rbuf;		/* read scratch */
	size_t			 rbuf_size;
	struct loop_timer	*sweep;
	uint64_t		 sweeps;
	struct loop_timer	*sys;
	struct queue		*inbound;	/* broker_post() from other threads */
	struct queue		*released;	/* holds released by other threads */
	struct conn		*hold_conn;	/* the publisher a hold would wait for */
	struct broker_hold	*hold;		/* the hold of the publish being routed */
	struct conn		*route_conn;	/* the client whose PUBLISH is routed */
	struct security		*sec;		/* passwords and ACLs */
	char			*sec_error;	/* their files could not be loaded */
	struct acl		*acl;		/* NULL: everything allowed */
	struct conn		**paused;	/* connections not read (backpressure) */
	size_t			 npaused, cappaused;
	int			(*congested)(void *);
	void			*congested_arg;
	struct loop_timer	*unpause;
	struct {
		int		 fd;
		uint64_t	 until;
	}			*linger;	/* closed WebSocket sockets */
	size_t			 nlinger;
	uint64_t		 post_dropped;	/* extra drops of refused batches (atomic) */
	uint64_t		 started;
	struct broker_stats	 st;
	struct store		*store;		/* NULL: nothing persists */
	int			 loading;	/* restoring from the store: no write-through */
	double			 load_rx, load_tx;	/* per-minute averages */
	uint64_t		 last_rx, last_tx;
};

/* session.c */
struct session_table *session_table_new(void);
void		 session_table_free(struct session_table *);
struct session	*session_find(struct session_table *, const char *id, size_t len);
/* Creates and adds a session (the id is copied). */
struct session	*session_add(struct broker *, const char *id, size_t len);
/* Removes the session's subscriptions, frees its queues and the session. */
void		 session_destroy(struct broker *, struct session *);
size_t		 session_count(const struct session_table *);
/* Up to max sessions of the table, skipping the first off (they stay in it). */
size_t		 session_table_list(struct session_table *, size_t off,
		    struct session **, size_t max);
/* A persistent session was created (resumed 0) or resumed (1): tell the store. */
void		 session_persist(struct broker *, struct session *, int resumed);
/* Writes what a persistent session holds in memory to the store (shutdown). */
void		 session_save(struct broker *, struct session *);
/* Adds or replaces a subscription; returns the granted QoS. */
uint8_t		 session_subscribe(struct broker *, struct session *,
		    const char *filter, size_t len, uint8_t qos);
int		 session_unsubscribe(struct broker *, struct session *,
		    const char *filter, size_t len);
/* Delivers m at qos: sends now, queues, or drops (counted). */
void		 session_deliver(struct broker *, struct session *, struct msg *,
		    uint8_t qos, int retain);
/* Sends what the queue holds while the window and the socket allow. */
void		 session_pump(struct broker *, struct session *);
/* Frees the memory of empty queues (an idle session costs little). */
void		 session_compact(struct session *);
/* After a reconnect: sends the in-flight messages again with DUP, then the queue. */
void		 session_resend(struct broker *, struct session *);
/* Acknowledgements from the client. */
void		 session_puback(struct broker *, struct session *, uint16_t id);
void		 session_pubrec(struct broker *, struct session *, uint16_t id);
void		 session_pubcomp(struct broker *, struct session *, uint16_t id);
/* Inbound QoS 2: marks id received; returns 1 if it was already. */
int		 session_qos2_seen(struct session *, uint16_t id);
void		 session_qos2_release(struct session *, uint16_t id);

/* conn.c */
/* Takes an accepted socket; over_limit: answer CONNECT with CONNACK 3. */
void		 conn_accept(struct listener *, int fd, const char *addr,
		    int over_limit);
/* Closes a connection; the will is published unless the client said DISCONNECT. */
void		 conn_close(struct conn *, const char *why, int publish_will);
/* Queues bytes for the socket; they are written at the next flush. */
void		 conn_mark_dirty(struct conn *);
/* Writes every dirty connection's output and frees dead connections. */
void		 broker_flush(struct broker *);
/* Closes connections past their keepalive or connect timeout. */
void		 conn_sweep(struct broker *, uint64_t now);
/* Ends persistent sessions offline for longer than session_expiry. */
void		 session_expire(struct broker *, uint64_t now);
/* The bytes already waiting in a connection's output. */
#define CONN_OUT_HIGH	(256u * 1024)

/* listener.c */
int		 listener_open(struct broker *, struct listener *);
void		 listener_close(struct listener *);

/* broker.c */
/* Publishes a will at the next flush (its reference is taken). */
void		 broker_queue_will(struct broker *, struct msg *);
/* Routes m (the caller keeps its reference) to every matching subscriber. */
/*
 * Holds (hold.c): around the routing of a QoS 1/2 PUBLISH from c,
 * hold_begin() lets subscribers take holds and hold_end() sends the
 * acknowledgement, at once or after the last release, in order.
 */
void		 hold_begin(struct broker *, struct conn *);
void		 hold_end(struct broker *, struct conn *, uint8_t type, uint16_t id);
void		 hold_conn_closed(struct conn *);
/* Removes c from the paused connections (it closes). */
void		 broker_unpause(struct broker *, struct conn *);
void		 conn_watch(struct conn *);
/* Arms the 500 ms sweep (timeouts, keepalive) if it rests. */
void		 broker_sweep_needed(struct broker *);
/* Keeps a closed socket a moment, reading until the peer closes. */
void		 conn_linger(struct broker *, int fd);
/* Closes the lingering sockets whose time is up (all: every one). */
void		 conn_linger_sweep(struct broker *, uint64_t now, int all);
/* The password check of a waiting CONNECT came back (security.c). */
void		 conn_login_done(struct conn *, int ok);
/* Handles the holds released by other threads (loop thread). */
void		 hold_released(struct broker *);

/* Routes m; from is the publisher's client id (NULL if none) for
 * in-process subscribers. */
void		 broker_route(struct broker *, struct msg *, const char *from);
/* Stores or deletes (empty payload) a retained message. */
void		 broker_retain(struct broker *, struct msg *);
/* Sends the retained messages that filter matches to s. */
void		 broker_send_retained(struct broker *, struct session *,
		    const char *filter, size_t len, uint8_t qos);

/* sys.c */
void		 sys_publish(struct broker *);

#endif
