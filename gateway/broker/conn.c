/*
 * Network clients: reading and framing packets, the MQTT 3.1.1 protocol
 * of one connection, and batched writes (one write per socket per turn).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <unistd.h>

#include "broker/acl.h"
#include "broker/internal.h"
#include "broker/security.h"
#include "broker/tls.h"
#include "broker/ws.h"
#include "broker/packet.h"
#include "broker/topic.h"
#include "log.h"
#include "loop.h"
#include "util.h"

static void conn_io(struct loop *, int, uint32_t, void *);
static size_t conn_parse(struct conn *, const uint8_t *, size_t);
static ssize_t conn_send(struct conn *, const void *, size_t, char *, size_t);
static void conn_write(struct conn *);

void
conn_accept(struct listener *l, int fd, const char *addr, int over_limit)
{
	struct broker	*b = l->b;
	struct conn	*c = xcalloc(1, sizeof(*c));

	c->b = b;
	c->l = l;
	c->fd = fd;
	c->state = CONN_AWAIT_CONNECT;
	c->over_limit = over_limit;
	c->opened = c->last_rx = loop_now(b->loop);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	if (l->websocket)
		c->ws = xcalloc(1, sizeof(*c->ws));
	if (l->tls != NULL && (c->ssl = tls_accept(l->tls, fd)) == NULL) {
		log_error("broker", l->name, "%s: cannot start TLS", addr);
		close(fd);
		free(c->ws);
		free(c);
		return;
	}
	if (loop_add_fd(b->loop, fd, EPOLLIN, conn_io, c) == -1) {
		log_error("broker", l->name, "cannot watch a new connection: %s",
		    strerror(errno));
		SSL_free(c->ssl);
		close(fd);
		free(c->ws);
		free(c);
		return;
	}
	c->next = b->conns;
	if (b->conns != NULL)
		b->conns->prev = c;
	b->conns = c;
	b->nconns++;
	l->nconns++;
	broker_sweep_needed(b);
}

void
conn_mark_dirty(struct conn *c)
{
	if (c->dirty || c->state == CONN_CLOSED)
		return;
	/* First come, first written: a delivery goes out before the PUBACK
	 * of the publish that caused it. */
	c->dirty = 1;
	c->next_dirty = NULL;
	if (c->b->dirty == NULL)
		c->b->dirty = c;
	else
		c->b->dirty_tail->next_dirty = c;
	c->b->dirty_tail = c;
}

/* Watches the socket for what the connection needs now. */
void
conn_watch(struct conn *c)
{
	loop_mod_fd(c->b->loop, c->fd, (c->paused || c->authing ? 0 : EPOLLIN) |
	    (c->epollout ? EPOLLOUT : 0));
}

void
conn_close(struct conn *c, const char *why, int publish_will)
{
	struct broker	*b = c->b;
	struct session	*s = c->s;
	struct msg	*will = c->will;

	if (c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_ACTIVE)
		b->st.clients_connected--;
	/* A WebSocket client is told (best effort: one try, no waiting). */
	if (c->ws != NULL && c->ws->state == WS_OPEN && c->fd != -1) {
		char ignored[64];

		ws_encode_close(c->ws, &c->wire, 1000, NULL);
		if (buf_pending(&c->wire) > 0 && (c->ssl == NULL || c->tls_up))
			conn_send(c, buf_data(&c->wire), buf_pending(&c->wire),
			    ignored, sizeof(ignored));
	}
	c->state = CONN_CLOSED;
	loop_del_fd(b->loop, c->fd);
	if (c->ssl != NULL) {
		if (c->tls_up && !c->tls_failed)
			SSL_shutdown(c->ssl);	/* close_notify, not waited for */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	/* We sent a WebSocket close: the client's answer is awaited a moment,
	 * so that its last writes are not met with a reset. */
	if (c->ws != NULL && c->ws->state == WS_CLOSING)
		conn_linger(b, c->fd);
	else
		close(c->fd);
	c->fd = -1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		b->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	b->nconns--;
	c->l->nconns--;
	if (s != NULL)
		log_info("broker", c->l->name, "client %s (%s) disconnected: %s",
		    s->id, c->addr, why);
	else
		log_info("broker", c->l->name, "connection from %s closed: %s",
		    c->addr, why);
	c->will = NULL;
	hold_conn_closed(c);
	if (c->paused)
		broker_unpause(b, c);
	if (s != NULL) {
		s->conn = NULL;
		s->offline_since = loop_now(b->loop);
		c->s = NULL;
		if (s->clean)
			session_destroy(b, s);
	}
	/* Routed at the flush, not from deep inside another route. */
	if (will != NULL && publish_will)
		broker_queue_will(b, will);
	else
		msg_unref(will);
	free(c->cert_cn);
	c->cert_cn = NULL;
	free(c->username);
	c->username = NULL;
	free(c->auth_body);
	c->auth_body = NULL;
	security_forget(b->sec, c);
	free(c->ws);
	c->ws = NULL;
	buf_free(&c->ws_hs);
	buf_free(&c->wire);
	buf_free(&c->in);
	buf_free(&c->out);
	/* Freed at the next flush: a caller up the stack may still hold c. */
	c->next = b->dead;
	b->dead = c;
}

/* read(2), through TLS on a TLS listener; why gets a TLS failure. */
static ssize_t
conn_recv(struct conn *c, void *buf, size_t n, char *why, size_t whysz)
{
	ssize_t r;

	if (c->ssl == NULL)
		return read(c->fd, buf, n);
	r = tls_read(c->ssl, buf, n, why, whysz);
	if (r == -1 && errno != EAGAIN)
		c->tls_failed = 1;
	if (r > 0 && !c->tls_up) {
		char desc[96];

		c->tls_up = 1;
		tls_describe(c->ssl, desc, sizeof(desc));
		{
			char cn[256];

			if (tls_peer_cn(c->ssl, cn, sizeof(cn)) == 0)
				c->cert_cn = xstrdup(cn);
		}
		log_debug("broker", c->l->name, "%s: %s%s%s", c->addr, desc,
		    c->cert_cn ? ", certificate of " : "", c->cert_cn ?
		    c->cert_cn : "");
	}
	return r;
}

static ssize_t
conn_send(struct conn *c, const void *buf, size_t n, char *why, size_t whysz)
{
	ssize_t r;

	if (c->ssl == NULL)
		return write(c->fd, buf, n);
	if ((r = tls_write(c->ssl, buf, n, why, whysz)) == -1 && errno != EAGAIN)
		c->tls_failed = 1;
	return r;
}

#define LINGER_MS	2000

/* A lingering socket: read and dropped until the peer closes. */
static void
linger_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct broker	*b = arg;
	uint8_t		 junk[4096];
	ssize_t		 n;

	while ((n = read(fd, junk, sizeof(junk))) > 0)
		;
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	for (size_t i = 0; i < b->nlinger; i++)
		if (b->linger[i].fd == fd) {
			b->linger[i] = b->linger[--b->nlinger];
			break;
		}
	loop_del_fd(l, fd);
	close(fd);
}

void
conn_linger(struct broker *b, int fd)
{
	shutdown(fd, SHUT_WR);
	if (loop_add_fd(b->loop, fd, EPOLLIN, linger_io, b) == -1) {
		close(fd);
		return;
	}
	b->linger = xreallocarray(b->linger, b->nlinger + 1, sizeof(*b->linger));
	b->linger[b->nlinger].fd = fd;
	b->linger[b->nlinger++].until = loop_now(b->loop) + LINGER_MS;
	broker_sweep_needed(b);
}

void
conn_linger_sweep(struct broker *b, uint64_t now, int all)
{
	for (size_t i = 0; i < b->nlinger; ) {
		if (!all && now < b->linger[i].until) {
			i++;
			continue;
		}
		loop_del_fd(b->loop, b->linger[i].fd);
		close(b->linger[i].fd);
		b->linger[i] = b->linger[--b->nlinger];
	}
	if (all) {
		free(b->linger);
		b->linger = NULL;
	}
}

/* The MQTT bytes waiting in c->in: parsed as far as they go. */
static void
conn_parse_in(struct conn *c)
{
	size_t used;

	if (buf_pending(&c->in) == 0)
		return;
	used = conn_parse(c, buf_data(&c->in), buf_pending(&c->in));
	if (c->state == CONN_CLOSED)
		return;
	buf_consume(&c->in, used);
	if (buf_pending(&c->in) == 0)
		buf_reset(&c->in, 0);
}

/* Sends what the WebSocket layer queued (an error page, a close), closes. */
static void
ws_fail(struct conn *c, const char *why)
{
	char what[200];

	snprintf(what, sizeof(what), "WebSocket: %s", why);
	conn_write(c);
	conn_close(c, what, 1);
}

/*
 * Bytes from a WebSocket listener's socket: the HTTP upgrade request
 * first, then frames whose payloads are the MQTT stream (into c->in).
 */
static void
conn_ws_input(struct conn *c, const uint8_t *data, size_t len)
{
	enum ws_result	 r;
	size_t		 used = 0, max;
	char		 why[160] = "";
	int		 hs = 0;

	if (c->ws->state == WS_HANDSHAKE) {
		buf_append(&c->ws_hs, data, len);
		r = ws_handshake(c->ws, buf_data(&c->ws_hs),
		    buf_pending(&c->ws_hs), c->l->ws_path, &used, &c->wire, why,
		    sizeof(why));
		if (r == WS_MORE)
			return;
		if (r != WS_OK) {
			ws_fail(c, why);
			return;
		}
		log_debug("broker", c->l->name, "%s: WebSocket open (subprotocol "
		    "%s)", c->addr, ws_proto_name(c->ws->proto));
		conn_mark_dirty(c);
		data = buf_data(&c->ws_hs) + used;
		len = buf_pending(&c->ws_hs) - used;
		hs = 1;
	}
	/* A message may hold several packets: room for two of the largest. */
	max = c->l->max_packet * 2 + 1024;
	r = ws_decode(c->ws, data, len, max, &c->in, &c->wire, &used, why,
	    sizeof(why));
	if (hs)
		buf_free(&c->ws_hs);
	if (buf_pending(&c->wire) > 0)
		conn_mark_dirty(c);
	if (r == WS_CLOSE) {
		conn_write(c);
		conn_close(c, "WebSocket closed by the client", 1);
		return;
	}
	if (r == WS_ERROR) {
		ws_fail(c, why);
		return;
	}
	conn_parse_in(c);
}

/* Writes as much output as the socket takes; watches EPOLLOUT for the rest. */
static void
conn_write(struct conn *c)
{
	struct broker	*b = c->b;
	size_t		 n;
	ssize_t		 w;
	char		 why[160] = "";

	/* Nothing goes out before the TLS handshake is done. */
	if (c->ssl != NULL && !c->tls_up)
		return;
	for (;;) {
		struct buf *o = c->ws != NULL ? &c->wire : &c->out;

		/* MQTT packets become WebSocket frames once the frames before
		 * are out (c->out keeps the backlog, as for a plain socket),
		 * one packet a frame: some clients (Paho C) take only the first
		 * packet of a frame until more bytes arrive. */
		if (c->ws != NULL && buf_pending(&c->wire) == 0 &&
		    buf_pending(&c->out) > 0 && c->ws->state == WS_OPEN) {
			const uint8_t	*d = buf_data(&c->out);
			size_t		 left = buf_pending(&c->out), one;
			struct mqtt_frame f;

			while (left > 0) {
				one = mqtt_frame(d, left, SIZE_MAX, &f) == MQTT_OK ?
				    f.header_len + f.body_len : left;
				ws_encode(&c->wire, d, one);
				d += one;
				left -= one;
			}
			buf_consume(&c->out, buf_pending(&c->out));
		}
		if ((n = buf_pending(o)) == 0)
			break;
		w = conn_send(c, buf_data(o), n, why, sizeof(why));
		if (w > 0) {
			buf_consume(o, (size_t)w);
			b->st.bytes_sent += (uint64_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w == -1 && errno == EPROTO) {
			char what[200];

			snprintf(what, sizeof(what), "TLS error: %s", why);
			conn_close(c, what, 1);
			return;
		}
		conn_close(c, errno == EPIPE || errno == ECONNRESET ?
		    "connection reset" : "write error", 1);
		return;
	}
	n = buf_pending(&c->out) + buf_pending(&c->wire);
	if (n > 0 && !c->epollout) {
		c->epollout = 1;
		conn_watch(c);
	} else if (n == 0 && c->epollout) {
		c->epollout = 0;
		conn_watch(c);
	}
	/* Room again: messages that waited for the socket go out. */
	if (n < CONN_OUT_HIGH && c->s != NULL && c->s->queue.n > 0)
		session_pump(b, c->s);
}

void
broker_flush(struct broker *b)
{
	struct conn *c;

	for (size_t i = 0; i < b->nwills; i++) {
		struct msg *m = b->wills[i];

		if (m->retain)
			broker_retain(b, m);
		broker_route(b, m, m->origin_id);
		msg_unref(m);
	}
	b->nwills = 0;
	while ((c = b->dirty) != NULL) {
		b->dirty = c->next_dirty;
		if (b->dirty == NULL)
			b->dirty_tail = NULL;
		c->dirty = 0;
		if (c->state != CONN_CLOSED)
			conn_write(c);
	}
	while ((c = b->dead) != NULL) {
		b->dead = c->next;
		free(c);
	}
}

/* Makes a client id for a client that sent an empty one. */
static void
assign_id(char *buf, size_t sz)
{
	uint8_t	r[8] = { 0 };

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (uint8_t)(mono_us() >> (i * 3));
	snprintf(buf, sz, "auto-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
	    r[2], r[3], r[4], r[5], r[6], r[7]);
}


/* The keepalive the broker enforces: max_keepalive caps it (and 0). */
static uint16_t
effective_keepalive(const struct broker *b, uint16_t asked)
{
	if (b->lim.max_keepalive > 0 && (asked == 0 || asked > b->lim.max_keepalive))
		return b->lim.max_keepalive;
	return asked;
}

/* Refuses a CONNECT with a CONNACK return code, then closes. */
static void
connect_refuse(struct conn *c, uint8_t code, const char *why)
{
	mqtt_encode_connack(&c->out, 0, code);
	conn_write(c);
	conn_close(c, why, 0);
}

/*
 * The second half of a CONNECT, once the client is who it says it is
 * (user: NULL for an anonymous client): the will's ACL, the client id,
 * the session (taking over another connection), CONNACK.
 */
static void
connect_accept(struct conn *c, const struct mqtt_connect *k, const char *user,
    size_t ulen)
{
	struct broker		*b = c->b;
	struct session		*s;
	char			 idbuf[32];
	const char		*id = k->client_id.p;
	size_t			 idlen = k->client_id.len;
	int			 present = 0;

	if (idlen == 0) {
		if (!k->clean || k->level == 3) {
			connect_refuse(c, MQTT_CONNACK_BAD_CLIENT_ID,
			    "empty client id without clean session");
			return;
		}
		assign_id(idbuf, sizeof(idbuf));
		id = idbuf;
		idlen = strlen(idbuf);
	}
	free(c->username);
	c->username = user != NULL ? xstrndup(user, ulen) : NULL;
	if (k->has_will && b->acl != NULL) {
		char	*idz = xstrndup(id, idlen);
		int	 allowed = acl_check(b->acl, idz, c->username,
		    k->will_topic.p, k->will_topic.len, ACL_WRITE);

		free(idz);
		if (!allowed) {
			connect_refuse(c, MQTT_CONNACK_NOT_AUTHORIZED,
			    "the ACL does not allow its will topic");
			return;
		}
	}
	if ((s = session_find(b->sessions, id, idlen)) != NULL) {
		if (s->internal) {
			connect_refuse(c, MQTT_CONNACK_BAD_CLIENT_ID,
			    "client id of an internal client");
			return;
		}
		if (s->conn != NULL)
			conn_close(s->conn, "taken over by a new connection", 1);
		/* conn_close destroyed it if it was clean. */
		s = session_find(b->sessions, id, idlen);
	}
	if (s != NULL && k->clean) {
		session_destroy(b, s);
		s = NULL;
	}
	if (s != NULL)
		present = 1;
	else
		s = session_add(b, id, idlen);
	s->clean = k->clean;
	s->conn = c;
	free(s->username);
	s->username = c->username != NULL ? xstrdup(c->username) : NULL;
	c->s = s;
	session_persist(b, s, present);
	c->level = k->level;
	c->keepalive = effective_keepalive(b, k->keepalive);
	if (k->has_will) {
		c->will = msg_new(k->will_topic.p, k->will_topic.len,
		    k->will_payload.p, k->will_payload.len, k->will_qos,
		    k->will_retain);
		c->will->origin = s;
		c->will->origin_id = xstrdup(s->id);
	}
	c->state = CONN_ACTIVE;
	b->st.clients_connected++;
	mqtt_encode_connack(&c->out, present, MQTT_CONNACK_ACCEPTED);
	conn_mark_dirty(c);
	log_info("broker", c->l->name, "client %s connected from %s (MQTT %s, "
	    "clean %d, keepalive %us%s%s%s%s)", s->id, c->addr, k->level == 3 ?
	    "3.1" : "3.1.1", k->clean, k->keepalive, c->username ? ", user \"" :
	    "", c->username ? c->username : "", c->username ? "\"" : "",
	    present ? ", session resumed" : "");
	if (present)
		session_resend(b, s);
}

/*
 * CONNECT: who is it? A client certificate's name (cn_as_username), a
 * username and password checked against the password file (on the
 * security worker: the connection is not read meanwhile), a username
 * taken as given when there is no password file, or nobody.
 */
static void
handle_connect(struct conn *c, const struct mqtt_frame *f, const uint8_t *body)
{
	struct broker		*b = c->b;
	struct mqtt_connect	 k;
	enum mqtt_err		 e;

	if ((e = mqtt_decode_connect(f, body, &k)) != MQTT_OK) {
		if (e == MQTT_ERR_VERSION) {
			mqtt_encode_connack(&c->out, 0, MQTT_CONNACK_BAD_VERSION);
			conn_write(c);
		}
		conn_close(c, e == MQTT_ERR_VERSION ? "unsupported protocol "
		    "version" : mqtt_err_name(e), 0);
		return;
	}
	if (c->over_limit) {
		connect_refuse(c, MQTT_CONNACK_UNAVAILABLE,
		    "connection limit reached");
		return;
	}
	if (c->l->cn_as_username && c->cert_cn != NULL) {
		connect_accept(c, &k, c->cert_cn, strlen(c->cert_cn));
		return;
	}
	if (!k.has_username) {
		if (!c->l->allow_anonymous) {
			security_login_failed(b->sec, c->l->name, c->addr, NULL,
			    "anonymous clients are not allowed here");
			connect_refuse(c, MQTT_CONNACK_NOT_AUTHORIZED,
			    "anonymous clients are not allowed");
			return;
		}
		connect_accept(c, &k, NULL, 0);
		return;
	}
	if (!security_has_passwords(b->sec)) {
		/* No password file: a username proves nothing. */
		if (!c->l->allow_anonymous) {
			security_login_failed(b->sec, c->l->name, c->addr, NULL,
			    "no password file to check a username against");
			connect_refuse(c, MQTT_CONNACK_BAD_LOGIN,
			    "bad username or password (no password file)");
			return;
		}
		connect_accept(c, &k, k.username.p, k.username.len);
		return;
	}
	/* Kept until the worker answers; the connection is not read. */
	c->auth_f = *f;
	c->auth_body = xmalloc(f->body_len > 0 ? f->body_len : 1);
	memcpy(c->auth_body, body, f->body_len);
	if (security_check(b->sec, c, k.username.p, k.username.len,
	    k.password.p, k.has_password ? k.password.len : 0) == -1) {
		free(c->auth_body);
		c->auth_body = NULL;
		log_warn("broker", c->l->name, "%s: too many logins waiting for "
		    "their check: refused", c->addr);
		connect_refuse(c, MQTT_CONNACK_UNAVAILABLE, "too many logins at "
		    "once");
		return;
	}
	c->authing = 1;
	conn_watch(c);
}

void
conn_login_done(struct conn *c, int ok)
{
	struct mqtt_connect	 k;
	uint8_t			*body = c->auth_body;

	c->auth_body = NULL;
	c->authing = 0;
	if (c->state == CONN_CLOSED || body == NULL) {
		free(body);
		return;
	}
	/* Decoded before: it decodes again. */
	mqtt_decode_connect(&c->auth_f, body, &k);
	if (!ok) {
		char user[128];

		snprintf(user, sizeof(user), "%.*s", (int)(k.username.len > 100 ?
		    100 : k.username.len), k.username.p);
		security_login_failed(c->b->sec, c->l->name, c->addr, user,
		    "bad username or password");
		connect_refuse(c, MQTT_CONNACK_BAD_LOGIN, "bad username or "
		    "password");
		free(body);
		return;
	}
	connect_accept(c, &k, k.username.p, k.username.len);
	free(body);
	if (c->state == CONN_CLOSED)
		return;
	conn_watch(c);
	/* What the client sent after its CONNECT waited in c->in. */
	conn_parse_in(c);
}

/* PUBLISH from the client: route, retain, acknowledge. */
static void
handle_publish(struct conn *c, const struct mqtt_frame *f, const uint8_t *body)
{
	struct broker		*b = c->b;
	struct session		*s = c->s;
	struct mqtt_publish	 p;
	struct msg		*m;
	enum mqtt_err		 e;

	if ((e = mqtt_decode_publish(f, body, &p)) != MQTT_OK) {
		conn_close(c, e == MQTT_ERR_MALFORMED ? "malformed PUBLISH" :
		    "protocol error in PUBLISH", 1);
		return;
	}
	b->st.msgs_received++;
	if (p.qos == 2 && session_qos2_seen(s, p.id)) {
		/* A repeat of a QoS 2 message already routed: not again. */
		hold_begin(b, c);
		hold_end(b, c, MQTT_PUBREC, p.id);
		return;
	}
	if (b->acl != NULL && !acl_check(b->acl, s->id, s->username, p.topic.p,
	    p.topic.len, ACL_WRITE)) {
		/* MQTT 3.1.1: acknowledged as usual, not delivered. */
		b->st.msgs_dropped++;
		log_debug("broker", c->l->name, "client %s may not publish on "
		    "%.*s: dropped", s->id, (int)p.topic.len, p.topic.p);
		if (p.qos > 0) {
			hold_begin(b, c);
			hold_end(b, c, p.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
			    p.id);
		}
		return;
	}
	m = msg_new(p.topic.p, p.topic.len, p.payload, p.payload_len, p.qos,
	    p.retain);
	m->time_ms = wall_ms();
	m->origin = s;
	b->route_conn = c;
	if (p.qos > 0)
		hold_begin(b, c);
	if (p.retain)
		broker_retain(b, m);
	broker_route(b, m, s->id);
	msg_unref(m);
	b->route_conn = NULL;
	if (p.qos > 0)
		hold_end(b, c, p.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC, p.id);
}

/* SUBSCRIBE: grant, SUBACK, then the retained messages. */
static void
handle_subscribe(struct conn *c, const struct mqtt_frame *f, const uint8_t *body)
{
	struct broker		*b = c->b;
	struct mqtt_subscribe	 sub;
	struct mqtt_str		 filter;
	uint8_t			 opts, small[16], *codes;
	size_t			 pos = 0, i = 0;

	if (mqtt_decode_subscribe(f, body, &sub) != MQTT_OK) {
		conn_close(c, "malformed SUBSCRIBE", 1);
		return;
	}
	codes = sub.count <= sizeof(small) ? small : xmalloc(sub.count);
	while (mqtt_topics_next(&sub, &pos, &filter, &opts)) {
		uint8_t qos = opts & 3;

		if (!topic_valid_filter(filter.p, filter.len) ||
		    (b->acl != NULL && !acl_check_subscribe(b->acl, c->s->id,
		    c->s->username, filter.p, filter.len)))
			codes[i++] = MQTT_SUBACK_FAILURE;
		else
			codes[i++] = session_subscribe(b, c->s, filter.p,
			    filter.len, qos > 2 ? 2 : qos);
	}
	mqtt_encode_suback(&c->out, sub.id, codes, sub.count);
	conn_mark_dirty(c);
	pos = i = 0;
	while (mqtt_topics_next(&sub, &pos, &filter, &opts)) {
		if (codes[i] != MQTT_SUBACK_FAILURE)
			broker_send_retained(b, c->s, filter.p, filter.len, codes[i]);
		i++;
	}
	if (codes != small)
		free(codes);
}

/* UNSUBSCRIBE: remove, UNSUBACK. */
static void
handle_unsubscribe(struct conn *c, const struct mqtt_frame *f,
    const uint8_t *body)
{
	struct mqtt_subscribe	 sub;
	struct mqtt_str		 filter;
	uint8_t			 opts;
	size_t			 pos = 0;

	if (mqtt_decode_subscribe(f, body, &sub) != MQTT_OK) {
		conn_close(c, "malformed UNSUBSCRIBE", 1);
		return;
	}
	while (mqtt_topics_next(&sub, &pos, &filter, &opts))
		session_unsubscribe(c->b, c->s, filter.p, filter.len);
	mqtt_encode_ack(&c->out, MQTT_UNSUBACK, sub.id);
	conn_mark_dirty(c);
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
static void
handle_ack(struct conn *c, const struct mqtt_frame *f, const uint8_t *body)
{
	uint16_t id;

	if (mqtt_decode_ack(f, body, &id) != MQTT_OK) {
		conn_close(c, "malformed acknowledgement", 1);
		return;
	}
	switch (f->type) {
	case MQTT_PUBACK:
		session_puback(c->b, c->s, id);
		break;
	case MQTT_PUBREC:
		session_pubrec(c->b, c->s, id);
		break;
	case MQTT_PUBREL:
		session_qos2_release(c->s, id);
		mqtt_encode_ack(&c->out, MQTT_PUBCOMP, id);
		conn_mark_dirty(c);
		break;
	case MQTT_PUBCOMP:
		session_pubcomp(c->b, c->s, id);
		break;
	}
}

/* PINGREQ and DISCONNECT. */
static void
handle_empty(struct conn *c, const struct mqtt_frame *f, const uint8_t *body)
{
	if (mqtt_decode_empty(f) != MQTT_OK) {
		conn_close(c, "malformed packet", 1);
		return;
	}
	if (f->type == MQTT_PINGREQ) {
		mqtt_encode_empty(&c->out, MQTT_PINGRESP);
		conn_mark_dirty(c);
	} else {
		/* DISCONNECT: a clean goodbye, no will. */
		conn_close(c, "client sent DISCONNECT", 0);
	}
}

typedef void (*packet_fn)(struct conn *, const struct mqtt_frame *,
    const uint8_t *);

/* What a client may send once connected, by packet type. */
static const packet_fn active_handlers[16] = {
	[MQTT_PUBLISH] = handle_publish,
	[MQTT_PUBACK] = handle_ack,
	[MQTT_PUBREC] = handle_ack,
	[MQTT_PUBREL] = handle_ack,
	[MQTT_PUBCOMP] = handle_ack,
	[MQTT_SUBSCRIBE] = handle_subscribe,
	[MQTT_UNSUBSCRIBE] = handle_unsubscribe,
	[MQTT_PINGREQ] = handle_empty,
	[MQTT_DISCONNECT] = handle_empty,
};

/* Dispatches one framed packet. */
static void
conn_packet(struct conn *c, const struct mqtt_frame *f, const uint8_t *body)
{
	char why[64];

	if (c->state == CONN_AWAIT_CONNECT) {
		if (f->type == MQTT_CONNECT)
			handle_connect(c, f, body);
		else {
			snprintf(why, sizeof(why), "%s before CONNECT",
			    mqtt_type_name(f->type));
			conn_close(c, why, 0);
		}
		return;
	}
	if (f->type == MQTT_CONNECT) {
		conn_close(c, "second CONNECT", 1);
		return;
	}
	if (active_handlers[f->type & 15] == NULL) {
		snprintf(why, sizeof(why), "unexpected %s from a client",
		    mqtt_type_name(f->type));
		conn_close(c, why, 1);
		return;
	}
	active_handlers[f->type & 15](c, f, body);
}

/* Handles the complete packets in data; returns the bytes used. */
static size_t
conn_parse(struct conn *c, const uint8_t *data, size_t len)
{
	struct mqtt_frame	f;
	enum mqtt_err		e;
	size_t			off = 0;
	char			why[96];

	while (off < len && c->state != CONN_CLOSED && !c->authing) {
		e = mqtt_frame(data + off, len - off, c->l->max_packet, &f);
		if (e == MQTT_NEED_MORE)
			break;
		if (e != MQTT_OK) {
			snprintf(why, sizeof(why), e == MQTT_ERR_TOO_LARGE ?
			    "packet larger than %zu bytes" : "malformed packet "
			    "header", c->l->max_packet);
			conn_close(c, why, 1);
			break;
		}
		conn_packet(c, &f, data + off + f.header_len);
		off += f.header_len + f.body_len;
	}
	return off;
}

/* Reads what the socket has, a few rounds at most (fairness). */
static void
conn_read(struct conn *c)
{
	struct broker	*b = c->b;
	const uint8_t	*data;
	size_t		 len, used;
	ssize_t		 n;
	char		 why[160] = "";

	for (int round = 0; round < 4 && c->state != CONN_CLOSED && !c->paused &&
	    !c->authing; round++) {
		/* A WebSocket's MQTT bytes wait in c->in: its socket bytes don't. */
		int partial = buf_pending(&c->in) > 0 && c->ws == NULL;
		size_t want = b->rbuf_size;

		if (partial) {
			n = conn_recv(c, buf_reserve(&c->in, want), want, why,
			    sizeof(why));
			if (n > 0)
				c->in.len += (size_t)n;
		} else
			n = conn_recv(c, b->rbuf, want, why, sizeof(why));
		if (n == 0) {
			conn_close(c, "closed by the client", 1);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPROTO) {
				char what[200];

				snprintf(what, sizeof(what), "TLS error: %s", why);
				conn_close(c, what, 1);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c, errno == ECONNRESET ?
				    "connection reset" : "read error", 1);
			return;
		}
		c->last_rx = loop_now(b->loop);
		b->st.bytes_received += (uint64_t)n;
		if (c->ws != NULL) {
			conn_ws_input(c, b->rbuf, (size_t)n);
			if (c->state == CONN_CLOSED)
				return;
			if ((size_t)n < want && c->ssl == NULL)
				return;
			continue;
		}
		data = partial ? buf_data(&c->in) : b->rbuf;
		len = partial ? buf_pending(&c->in) : (size_t)n;
		used = conn_parse(c, data, len);
		if (c->state == CONN_CLOSED)
			return;
		if (partial) {
			buf_consume(&c->in, used);
			if (buf_pending(&c->in) == 0)
				buf_reset(&c->in, 0);
		} else if (used < len)
			buf_append(&c->in, data + used, len - used);
		/* A TLS read returns one record: go on while there are. */
		if ((size_t)n < want && c->ssl == NULL)
			return;
	}
	/* The handshake may have queued our answer: send what waits. */
	if (c->ssl != NULL && buf_pending(&c->out) > 0)
		conn_mark_dirty(c);
}

static void
conn_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (events & EPOLLOUT)
		conn_write(c);
	if ((c->paused || c->authing) && (events & (EPOLLHUP | EPOLLERR)))
		conn_close(c, "connection lost", 1);	/* not read: would spin */
	if (c->state != CONN_CLOSED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		conn_read(c);
	broker_flush(c->b);
}

void
conn_sweep(struct broker *b, uint64_t now)
{
	struct conn *c, *next;

	conn_linger_sweep(b, now, 0);
	for (c = b->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_AWAIT_CONNECT &&
		    now - c->opened > c->l->connect_timeout_ms) {
			conn_close(c, "no CONNECT in time", 0);
			continue;
		}
		/* A paused client is not silent: we are not reading it. */
		if (c->state == CONN_ACTIVE && c->keepalive > 0 && !c->paused &&
		    now - c->last_rx > (uint64_t)c->keepalive * 1500) {
			conn_close(c, "keepalive timeout", 1);
			continue;
		}
		/* Idle connections give their buffers back. */
		if (buf_pending(&c->out) == 0 && c->out.cap > 0 && !c->dirty)
			buf_reset(&c->out, 0);
		if (c->s != NULL)
			session_compact(c->s);
	}
	broker_flush(b);
}
