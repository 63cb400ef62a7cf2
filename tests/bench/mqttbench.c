/*
 * mqttbench: an MQTT 3.1.1 load generator for comparing brokers, built on
 * the project's own codec (broker/packet.h). One thread per client, each
 * with a blocking socket (TCP_NODELAY) and a 100 ms receive timeout so it
 * can watch its deadlines.
 *
 *   mqttbench fanin   -h HOST -p PORT [--pubs 4] [--count N] [--qos Q] [--size 64]
 *   mqttbench fanout  -h HOST -p PORT [--subs 16] [--count N] [--qos Q] [--size 64]
 *   mqttbench latency -h HOST -p PORT [--rate 1000] [--seconds 5] [--qos 1]
 *   mqttbench idle    -h HOST -p PORT [--conns 5000]
 *
 * Every payload starts with (publisher index, sequence number, send time)
 * so subscribers count loss, duplicates and reordering per publisher. Each
 * mode prints one line of key=value figures on stdout. Any protocol
 * failure (refused CONNACK, failed SUBACK, an unexpected packet, a closed
 * connection) is printed on stderr and the exit status is 1; loss is a
 * figure, not a failure.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/packet.h"
#include "buf.h"
#include "util.h"

#define IN_CAP		(256 * 1024)	/* a client's receive buffer */
#define MAX_PACKET	(64 * 1024)	/* larger packets from the broker are an error */
#define HDR_LEN		20		/* u32 publisher, u64 sequence, u64 send time */
#define MAX_SIZE	4096		/* largest --size */
#define QOS0_BATCH	64		/* QoS 0 publishes per write */
#define DRAIN_GRACE_NS	(2 * NS)	/* after --time-limit, time left to deliver */
#define NS		1000000000ull

enum mode { MODE_FANIN, MODE_FANOUT, MODE_LATENCY, MODE_IDLE };

/* One client connection: a socket, an output buffer and an input buffer. */
struct conn {
	int		 fd;
	char		 name[16];
	struct buf	 out;
	uint8_t		*in;
	size_t		 inlen;	/* bytes held */
	size_t		 inpos;	/* bytes already parsed */
};

/* What one subscriber saw of one publisher's sequence. */
struct track {
	uint8_t		*seen;	/* a bit per sequence number */
	uint64_t	 uniq;
	uint64_t	 dup;
	uint64_t	 reorder;
	uint64_t	 hi;	/* highest sequence seen + 1 */
};

struct sub {
	struct conn	 c;
	pthread_t	 thr;
	struct track	*tr;	/* one per publisher */
	uint64_t	 uniq;	/* all publishers */
	uint64_t	 last_rx;	/* ns, the last benchmark message */
	uint64_t	*lat;	/* latency mode: ns per message, in arrival order */
	size_t		 nlat;
	int		 stalled;
	int		 cut;	/* stopped by the --time-limit drain deadline */
};

struct pub {
	struct conn	 c;
	pthread_t	 thr;
	uint32_t	 index;
	char		 topic[32];
	uint64_t	 sent;
	uint16_t	 next_id;
	unsigned	 inflight;
	uint8_t		*state;	/* per packet id: 0 free, 1 sent, 2 PUBREC'd */
	int		 stalled;
	int		 limited;
};

/* The options and the shared state of one run. */
static struct bench {
	enum mode	 mode;
	const char	*host;
	const char	*port;
	unsigned	 npubs;
	unsigned	 nsubs;
	uint64_t	 count;		/* messages per publisher */
	unsigned	 qos;
	size_t		 size;
	int		 json;		/* JSON payloads (--json) */
	unsigned	 window;
	double		 rate;		/* latency: messages per second */
	double		 seconds;
	unsigned	 conns;
	double		 stall_s;
	double		 limit_s;	/* 0: none */

	struct pub	*pubs;
	struct sub	*subs;
	pthread_barrier_t start;
	uint64_t	 t0;		/* ns, when the publishers were released */
	atomic_uint	 pubs_done;
	atomic_uint_fast64_t total_sent;	/* of the publishers that are done */
	atomic_int	 aborting;	/* sockets are being shut down: exit quietly */
} g = {
	.host = "127.0.0.1",
	.port = "1883",
	.npubs = 4,
	.nsubs = 16,
	.count = 50000,
	.qos = 0,
	.size = 64,
	.window = 100,
	.rate = 1000,
	.seconds = 5,
	.conns = 5000,
	.stall_s = 10,
};

/* Prints why the benchmark cannot go on and exits with status 1. */
static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list	ap;
	char	line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mqttbench: %s\n", line);
	fflush(stdout);
	_exit(1);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Opens a TCP connection to the broker (TCP_NODELAY, 100 ms receive timeout). */
static int
tcp_open(const char *who)
{
	struct addrinfo	 hints, *res, *ai;
	struct timeval	 tv = { .tv_sec = 0, .tv_usec = 100000 };
	int		 fd = -1, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(g.host, g.port, &hints, &res)) != 0)
		die("%s: %s:%s: %s", who, g.host, g.port, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, 0)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd == -1)
		die("%s: connect to %s:%s: %s", who, g.host, g.port, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Writes everything in the output buffer (blocking). */
static void
conn_flush(struct conn *c)
{
	while (buf_pending(&c->out) > 0) {
		ssize_t n = send(c->fd, buf_data(&c->out), buf_pending(&c->out),
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;	/* SO_SNDTIMEO is not set: should not happen */
		if (n <= 0) {
			if (atomic_load(&g.aborting))
				pthread_exit(NULL);
			die("%s: write to the broker: %s", c->name, strerror(errno));
		}
		buf_consume(&c->out, (size_t)n);
	}
}

/*
 * Reads what the broker sent; flags 0 blocks up to the receive timeout,
 * MSG_DONTWAIT does not block. Returns the bytes read, 0 if none came.
 */
static size_t
conn_fill(struct conn *c, int flags)
{
	ssize_t	n;

	if (c->inpos > 0) {
		memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
		c->inlen -= c->inpos;
		c->inpos = 0;
	}
	do
		n = recv(c->fd, c->in + c->inlen, IN_CAP - c->inlen, flags);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		if (atomic_load(&g.aborting))
			pthread_exit(NULL);
		if (n == 0)
			die("%s: the broker closed the connection", c->name);
		die("%s: read from the broker: %s", c->name, strerror(errno));
	}
	c->inlen += (size_t)n;
	return (size_t)n;
}

/* The next whole packet in the input buffer; 0 if there is none yet. */
static int
conn_next(struct conn *c, struct mqtt_frame *f, const uint8_t **body)
{
	enum mqtt_err	e;

	if (c->inpos == c->inlen) {
		c->inpos = c->inlen = 0;
		return 0;
	}
	e = mqtt_frame(c->in + c->inpos, c->inlen - c->inpos, MAX_PACKET, f);
	if (e == MQTT_NEED_MORE)
		return 0;
	if (e != MQTT_OK)
		die("%s: bad packet from the broker: %s", c->name, mqtt_err_name(e));
	*body = c->in + c->inpos + f->header_len;
	c->inpos += f->header_len + f->body_len;
	return 1;
}

/* Blocks until a whole packet is in, for up to 10 s. */
static void
conn_wait(struct conn *c, struct mqtt_frame *f, const uint8_t **body,
    const char *what)
{
	uint64_t deadline = now_ns() + 10 * NS;

	while (!conn_next(c, f, body)) {
		if (now_ns() > deadline)
			die("%s: no %s from the broker after 10 s", c->name, what);
		conn_fill(c, 0);
	}
}

/* Sends the CONNECT of a clean session (not waiting for the CONNACK). */
static void
conn_start(struct conn *c, const char *name, const char *id, uint16_t keepalive)
{
	struct mqtt_connect	cn;

	memset(&cn, 0, sizeof(cn));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->fd = tcp_open(c->name);
	if (c->in == NULL)
		c->in = xmalloc(IN_CAP);
	c->inlen = c->inpos = 0;
	cn.level = 4;
	cn.clean = 1;
	cn.keepalive = keepalive;
	cn.client_id.p = id;
	cn.client_id.len = (uint16_t)strlen(id);
	mqtt_encode_connect(&c->out, &cn);
	conn_flush(c);
}

/* Reads the CONNACK and checks that it accepts the connection. */
static void
conn_connack(struct conn *c)
{
	struct mqtt_frame	 f;
	const uint8_t		*body;
	enum mqtt_err		 e;
	int			 sp;
	uint8_t			 code;

	conn_wait(c, &f, &body, "CONNACK");
	if (f.type != MQTT_CONNACK)
		die("%s: expected CONNACK, got %s", c->name, mqtt_type_name(f.type));
	if ((e = mqtt_decode_connack(&f, body, &sp, &code)) != MQTT_OK)
		die("%s: bad CONNACK: %s", c->name, mqtt_err_name(e));
	if (code != MQTT_CONNACK_ACCEPTED)
		die("%s: connection refused, CONNACK code %u", c->name, code);
	if (sp)
		die("%s: CONNACK says a session is present for a clean session",
		    c->name);
}

/* Subscribes to one filter and checks the SUBACK grants the QoS asked for. */
static void
conn_subscribe(struct conn *c, const char *filter, uint8_t qos)
{
	struct mqtt_frame	 f;
	const uint8_t		*body;

	mqtt_encode_subscribe(&c->out, 1, &filter, &qos, 1);
	conn_flush(c);
	conn_wait(c, &f, &body, "SUBACK");
	if (f.type != MQTT_SUBACK)
		die("%s: expected SUBACK, got %s", c->name, mqtt_type_name(f.type));
	if (f.flags != 0 || f.body_len != 3 || get_be(body, 2) != 1)
		die("%s: malformed SUBACK", c->name);
	if (body[2] == MQTT_SUBACK_FAILURE)
		die("%s: the broker refused the subscription to %s", c->name, filter);
	if (body[2] != qos)
		die("%s: SUBACK granted QoS %u for %s, asked %u", c->name, body[2],
		    filter, qos);
}

/* Sends DISCONNECT (best effort) and closes the socket. */
static void
conn_close(struct conn *c)
{
	if (c->fd == -1)
		return;
	buf_reset(&c->out, 0);
	mqtt_encode_empty(&c->out, MQTT_DISCONNECT);
	send(c->fd, buf_data(&c->out), buf_pending(&c->out),
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	close(c->fd);
	c->fd = -1;
	buf_free(&c->out);
	free(c->in);
	c->in = NULL;
}

/* ---- publishers ---------------------------------------------------------- */

/* Handles PUBACK, PUBREC and PUBCOMP; returns the messages completed. */
static unsigned
pub_handle(struct pub *p)
{
	struct mqtt_frame	 f;
	const uint8_t		*body;
	unsigned		 done = 0;
	uint16_t		 id;
	enum mqtt_err		 e;

	while (conn_next(&p->c, &f, &body)) {
		if (f.type == MQTT_PINGRESP)
			continue;
		if (f.type != MQTT_PUBACK && f.type != MQTT_PUBREC &&
		    f.type != MQTT_PUBCOMP)
			die("%s: unexpected %s", p->c.name, mqtt_type_name(f.type));
		if ((e = mqtt_decode_ack(&f, body, &id)) != MQTT_OK)
			die("%s: bad %s: %s", p->c.name, mqtt_type_name(f.type),
			    mqtt_err_name(e));
		if (f.type == MQTT_PUBREC && g.qos == 2 && p->state[id] == 1) {
			p->state[id] = 2;
			mqtt_encode_ack(&p->c.out, MQTT_PUBREL, id);
			continue;
		}
		if ((f.type == MQTT_PUBACK && g.qos == 1 && p->state[id] == 1) ||
		    (f.type == MQTT_PUBCOMP && g.qos == 2 && p->state[id] == 2)) {
			p->state[id] = 0;
			p->inflight--;
			done++;
			continue;
		}
		die("%s: %s for packet id %u, which is not waiting for it (QoS %u)",
		    p->c.name, mqtt_type_name(f.type), id, g.qos);
	}
	conn_flush(&p->c);	/* the PUBRELs */
	return done;
}

/* A free packet id for the next QoS 1/2 publish. */
static uint16_t
pub_next_id(struct pub *p)
{
	do {
		if (++p->next_id == 0)
			p->next_id = 1;
	} while (p->state[p->next_id] != 0);
	return p->next_id;
}

/* Appends one publish of sequence seq to the output buffer. */
static void
pub_encode(struct pub *p, uint8_t *payload, uint64_t seq)
{
	uint16_t id = 0;

	if (g.json) {
		/* JSON with a value, padded with spaces (still JSON). */
		int n = snprintf((char *)payload, g.size + 1, "{\"value\":%llu.25,"
		    "\"p\":%u,\"s\":%llu,\"t\":%llu}", (unsigned long long)seq,
		    p->index, (unsigned long long)seq,
		    (unsigned long long)now_ns());

		if (n < 0 || (size_t)n > g.size)
			die("--json: --size %zu is too small for the JSON payload "
			    "(%d bytes)", g.size, n);
		memset(payload + n, ' ', g.size - (size_t)n);
	} else {
		put_be64(payload + 4, seq);
		put_be64(payload + 12, now_ns());
	}
	if (g.qos > 0) {
		id = pub_next_id(p);
		p->state[id] = 1;
		p->inflight++;
	}
	mqtt_encode_publish(&p->c.out, p->topic, (uint16_t)strlen(p->topic),
	    payload, g.size, (uint8_t)g.qos, 0, 0, id);
}

/*
 * Waits for acknowledgements until fewer than max messages are in flight.
 * Returns 0, or -1 after stall_s seconds without one.
 */
static int
pub_wait(struct pub *p, unsigned max)
{
	uint64_t last = now_ns();

	while (p->inflight >= max && p->inflight > 0) {
		if (conn_fill(&p->c, 0) > 0 && pub_handle(p) > 0)
			last = now_ns();
		else if (now_ns() - last > (uint64_t)(g.stall_s * NS)) {
			fprintf(stderr, "mqttbench: %s: no acknowledgement for "
			    "%.0f s with %u in flight\n", p->c.name, g.stall_s,
			    p->inflight);
			p->stalled = 1;
			return -1;
		}
	}
	return 0;
}

/*
 * Waits for the next paced deadline. At QoS 2 it keeps answering PUBRECs
 * meanwhile: a broker may hold the message until the PUBREL arrives, and
 * that wait would be ours, not the broker's.
 */
static void
pub_sleep_until(struct pub *p, uint64_t deadline)
{
	struct timespec	ts;
	struct pollfd	pfd = { .fd = p->c.fd, .events = POLLIN };
	uint64_t	now;

	if (g.qos < 2) {
		ts.tv_sec = (time_t)(deadline / NS);
		ts.tv_nsec = (long)(deadline % NS);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR)
			;
		return;
	}
	while ((now = now_ns()) < deadline) {
		ts.tv_sec = (time_t)((deadline - now) / NS);
		ts.tv_nsec = (long)((deadline - now) % NS);
		if (ppoll(&pfd, 1, &ts, NULL) > 0 &&
		    conn_fill(&p->c, MSG_DONTWAIT) > 0)
			pub_handle(p);
	}
}

/* True once --time-limit is over (checked before each batch). */
static int
pub_over_time(void)
{
	return g.limit_s > 0 && now_ns() - g.t0 > (uint64_t)(g.limit_s * NS);
}

/* A publisher: sends count messages as fast as it may, or paced at --rate. */
static void *
pub_main(void *arg)
{
	struct pub	*p = arg;
	uint8_t		 payload[MAX_SIZE];
	uint64_t	 period = 0, deadline = 0;

	memset(payload, 'x', sizeof(payload));
	put_be32(payload, p->index);
	pthread_barrier_wait(&g.start);
	if (g.mode == MODE_LATENCY) {
		period = (uint64_t)(NS / g.rate);
		deadline = g.t0;
	}
	while (p->sent < g.count) {
		unsigned n;

		if (pub_over_time()) {
			p->limited = 1;
			break;
		}
		if (g.qos > 0 && pub_wait(p, g.window) == -1)
			break;
		if (period > 0) {
			pub_sleep_until(p, deadline);
			deadline += period;
			n = 1;
		} else if (g.qos == 0)
			n = QOS0_BATCH;
		else
			n = g.window - p->inflight;
		if (n > g.count - p->sent)
			n = (unsigned)(g.count - p->sent);
		for (unsigned i = 0; i < n; i++)
			pub_encode(p, payload, p->sent++);
		conn_flush(&p->c);
		if (g.qos > 0 && conn_fill(&p->c, MSG_DONTWAIT) > 0)
			pub_handle(p);
	}
	if (g.qos > 0 && !p->stalled)
		pub_wait(p, 1);
	atomic_fetch_add(&g.total_sent, p->sent);
	atomic_fetch_add(&g.pubs_done, 1);
	return NULL;
}

/* ---- subscribers --------------------------------------------------------- */

/* Counts one received benchmark message. */
static void
sub_record(struct sub *s, const struct mqtt_publish *m, uint64_t now)
{
	struct track	*t;
	uint64_t	 idx, seq, sent_ns;

	if (m->topic.len < 6 || memcmp(m->topic.p, "bench/", 6) != 0)
		die("%s: a message on an unexpected topic %.*s", s->c.name,
		    (int)m->topic.len, m->topic.p);
	if (m->payload_len != g.size)
		die("%s: a payload of %zu bytes, sent %zu", s->c.name,
		    m->payload_len, g.size);
	if (g.json) {
		char		 text[MAX_SIZE + 1];
		const char	*ps, *ss, *ts;

		memcpy(text, m->payload, m->payload_len);
		text[m->payload_len] = '\0';
		if ((ps = strstr(text, "\"p\":")) == NULL ||
		    (ss = strstr(text, "\"s\":")) == NULL ||
		    (ts = strstr(text, "\"t\":")) == NULL)
			die("%s: a JSON payload without p, s and t: %s", s->c.name,
			    text);
		idx = strtoull(ps + 4, NULL, 10);
		seq = strtoull(ss + 4, NULL, 10);
		sent_ns = strtoull(ts + 4, NULL, 10);
	} else {
		idx = get_be(m->payload, 4);
		seq = get_be(m->payload + 4, 8);
		sent_ns = get_be(m->payload + 12, 8);
	}
	if (idx >= g.npubs || seq >= g.count)
		die("%s: a payload that no publisher sent (publisher %llu, "
		    "sequence %llu)", s->c.name, (unsigned long long)idx,
		    (unsigned long long)seq);
	t = &s->tr[idx];
	if (t->seen[seq / 8] & (1u << (seq % 8))) {
		t->dup++;
		return;
	}
	t->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	t->uniq++;
	s->uniq++;
	if (seq + 1 < t->hi)
		t->reorder++;
	else
		t->hi = seq + 1;
	if (s->lat != NULL)
		s->lat[s->nlat++] = now - sent_ns;
}

/* Handles what one read brought; returns the benchmark messages in it. */
static unsigned
sub_handle(struct sub *s, uint64_t now)
{
	struct mqtt_frame	 f;
	struct mqtt_publish	 m;
	const uint8_t		*body;
	unsigned		 got = 0;
	uint16_t		 id;
	enum mqtt_err		 e;

	while (conn_next(&s->c, &f, &body)) {
		switch (f.type) {
		case MQTT_PUBLISH:
			if ((e = mqtt_decode_publish(&f, body, &m)) != MQTT_OK)
				die("%s: bad PUBLISH: %s", s->c.name, mqtt_err_name(e));
			if (m.qos != g.qos)
				die("%s: a message at QoS %u, expected %u",
				    s->c.name, m.qos, g.qos);
			if (m.qos == 1)
				mqtt_encode_ack(&s->c.out, MQTT_PUBACK, m.id);
			else if (m.qos == 2)
				mqtt_encode_ack(&s->c.out, MQTT_PUBREC, m.id);
			sub_record(s, &m, now);
			got++;
			break;
		case MQTT_PUBREL:
			if ((e = mqtt_decode_ack(&f, body, &id)) != MQTT_OK)
				die("%s: bad PUBREL: %s", s->c.name, mqtt_err_name(e));
			mqtt_encode_ack(&s->c.out, MQTT_PUBCOMP, id);
			break;
		case MQTT_PINGRESP:
			break;
		default:
			die("%s: unexpected %s", s->c.name, mqtt_type_name(f.type));
		}
	}
	conn_flush(&s->c);
	return got;
}

/* True when this subscriber has all it will get (or waited long enough). */
static int
sub_finished(struct sub *s, uint64_t now)
{
	uint64_t quiet = now - (s->last_rx > g.t0 ? s->last_rx : g.t0);

	if (s->uniq == g.npubs * g.count)
		return 1;
	if (atomic_load(&g.pubs_done) == g.npubs &&
	    s->uniq >= atomic_load(&g.total_sent))
		return 1;
	if (g.limit_s > 0 && now > g.t0 + (uint64_t)(g.limit_s * NS) +
	    DRAIN_GRACE_NS) {
		s->cut = 1;
		return 1;
	}
	if (quiet > (uint64_t)(g.stall_s * NS)) {
		s->stalled = 1;
		return 1;
	}
	return 0;
}

/* A subscriber: receives and acknowledges until it has everything. */
static void *
sub_main(void *arg)
{
	struct sub	*s = arg;
	uint64_t	 now;

	for (;;) {
		conn_fill(&s->c, 0);
		now = now_ns();
		if (sub_handle(s, now) > 0)
			s->last_rx = now;
		if (sub_finished(s, now))
			break;
	}
	return NULL;
}

/* ---- runs ---------------------------------------------------------------- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Connects and subscribes everyone, runs the publishers, prints the figures. */
static void
run_pubsub(void)
{
	char		 name[16], id[64];
	uint64_t	 last = 0, got = 0, lost = 0, dup = 0, reorder = 0;
	uint64_t	 pending = 0, sent;
	int		 limited = 0, stalled = 0;
	double		 secs;

	g.pubs = xcalloc(g.npubs, sizeof(*g.pubs));
	g.subs = xcalloc(g.nsubs, sizeof(*g.subs));
	for (unsigned i = 0; i < g.nsubs; i++) {
		struct sub *s = &g.subs[i];

		snprintf(name, sizeof(name), "sub%u", i);
		snprintf(id, sizeof(id), "bench-%ld-sub%u", (long)getpid(), i);
		conn_start(&s->c, name, id, 60);
		conn_connack(&s->c);
		conn_subscribe(&s->c, "bench/#", (uint8_t)g.qos);
		s->tr = xcalloc(g.npubs, sizeof(*s->tr));
		for (unsigned j = 0; j < g.npubs; j++)
			s->tr[j].seen = xcalloc(g.count / 8 + 1, 1);
		if (g.mode == MODE_LATENCY)
			s->lat = xcalloc(g.npubs * g.count, sizeof(*s->lat));
	}
	for (unsigned i = 0; i < g.npubs; i++) {
		struct pub *p = &g.pubs[i];

		snprintf(name, sizeof(name), "pub%u", i);
		snprintf(id, sizeof(id), "bench-%ld-pub%u", (long)getpid(), i);
		conn_start(&p->c, name, id, 60);
		conn_connack(&p->c);
		p->index = i;
		snprintf(p->topic, sizeof(p->topic), "bench/p%u", i);
		p->state = xcalloc(65536, 1);
	}

	pthread_barrier_init(&g.start, NULL, g.npubs + 1);
	for (unsigned i = 0; i < g.npubs; i++)
		if (pthread_create(&g.pubs[i].thr, NULL, pub_main, &g.pubs[i]))
			die("pthread_create failed");
	g.t0 = now_ns();
	for (unsigned i = 0; i < g.nsubs; i++)
		if (pthread_create(&g.subs[i].thr, NULL, sub_main, &g.subs[i]))
			die("pthread_create failed");
	pthread_barrier_wait(&g.start);

	for (unsigned i = 0; i < g.nsubs; i++)
		pthread_join(g.subs[i].thr, NULL);
	/* Publishers still blocked on a stalled broker are cut off. */
	atomic_store(&g.aborting, 1);
	if (atomic_load(&g.pubs_done) < g.npubs)
		for (unsigned i = 0; i < g.npubs; i++)
			shutdown(g.pubs[i].c.fd, SHUT_RDWR);
	for (unsigned i = 0; i < g.npubs; i++)
		pthread_join(g.pubs[i].thr, NULL);

	sent = 0;
	for (unsigned i = 0; i < g.npubs; i++) {
		sent += g.pubs[i].sent;
		limited |= g.pubs[i].limited;
		stalled |= g.pubs[i].stalled;
	}
	for (unsigned i = 0; i < g.nsubs; i++) {
		stalled |= g.subs[i].stalled;
		limited |= g.subs[i].cut;
	}
	for (unsigned i = 0; i < g.nsubs; i++) {
		struct sub *s = &g.subs[i];

		if (s->last_rx > last)
			last = s->last_rx;
		got += s->uniq;
		for (unsigned j = 0; j < g.npubs; j++) {
			struct track *t = &s->tr[j];
			uint64_t missing = g.pubs[j].sent - t->uniq;

			dup += t->dup;
			reorder += t->reorder;
			if (limited) {
				/* Past the highest one received: not yet delivered. */
				lost += t->hi - t->uniq;
				pending += missing - (t->hi - t->uniq);
			} else
				lost += missing;
		}
	}
	secs = last > g.t0 ? (double)(last - g.t0) / NS : 0;

	if (g.mode == MODE_LATENCY) {
		struct sub	*s = &g.subs[0];
		uint64_t	 p50 = 0, p99 = 0, max = 0;

		if (s->nlat > 0) {
			qsort(s->lat, s->nlat, sizeof(*s->lat), cmp_u64);
			p50 = s->lat[(s->nlat - 1) * 50 / 100];
			p99 = s->lat[(s->nlat - 1) * 99 / 100];
			max = s->lat[s->nlat - 1];
		}
		printf("latency qos=%u target_rate=%.0f msgs=%llu p50_us=%.1f "
		    "p99_us=%.1f max_us=%.1f lost=%llu dup=%llu reorder=%llu "
		    "sent=%llu stalled=%d\n", g.qos, g.rate,
		    (unsigned long long)got, p50 / 1e3, p99 / 1e3, max / 1e3,
		    (unsigned long long)lost, (unsigned long long)dup,
		    (unsigned long long)reorder, (unsigned long long)sent, stalled);
	} else {
		printf("%s qos=%u msgs=%llu seconds=%.3f rate=%.0f lost=%llu "
		    "dup=%llu reorder=%llu sent=%llu pending=%llu limited=%d "
		    "stalled=%d pubs=%u subs=%u\n",
		    g.mode == MODE_FANIN ? "fanin" : "fanout", g.qos,
		    (unsigned long long)got, secs, secs > 0 ? got / secs : 0,
		    (unsigned long long)lost, (unsigned long long)dup,
		    (unsigned long long)reorder, (unsigned long long)sent,
		    (unsigned long long)pending, limited, stalled, g.npubs, g.nsubs);
	}
	fflush(stdout);
	for (unsigned i = 0; i < g.nsubs; i++)
		conn_close(&g.subs[i].c);
}

/* Raises RLIMIT_NOFILE to fit n sockets, or dies. */
static void
raise_nofile(rlim_t n)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= n)
		return;
	if (rl.rlim_max < n)
		rl.rlim_max = n;	/* only root may; tried anyway */
	rl.rlim_cur = n;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("cannot raise the open files limit to %llu: %s (try ulimit -n)",
		    (unsigned long long)n, strerror(errno));
}

/*
 * Opens conns idle connections, 100 at a time (so the broker's listen
 * backlog never overflows), then holds them until SIGTERM, SIGINT or the
 * end of stdin.
 */
static void
run_idle(void)
{
	struct conn	*cs = xcalloc(g.conns, sizeof(*cs));
	struct pollfd	 pfd[2];
	sigset_t	 set;
	char		 name[16], id[64];
	unsigned	 closed = 0, stdin_open = 1;

	raise_nofile(g.conns + 64);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < g.conns; i += 100) {
		unsigned end = i + 100 < g.conns ? i + 100 : g.conns;

		for (unsigned j = i; j < end; j++) {
			snprintf(name, sizeof(name), "idle%u", j);
			snprintf(id, sizeof(id), "bench-%ld-idle%u",
			    (long)getpid(), j);
			conn_start(&cs[j], name, id, 600);
		}
		for (unsigned j = i; j < end; j++) {
			conn_connack(&cs[j]);
			free(cs[j].in);	/* keep this process small */
			cs[j].in = NULL;
			buf_free(&cs[j].out);
		}
	}
	printf("idle connected=%u\n", g.conns);
	fflush(stdout);

	pfd[0].fd = signalfd(-1, &set, 0);
	pfd[0].events = POLLIN;
	pfd[1].fd = STDIN_FILENO;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, stdin_open ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents) {
			char	c[256];
			ssize_t	n = read(STDIN_FILENO, c, sizeof(c));

			if (n == 0)
				break;
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				stdin_open = 0;	/* /dev/null-like: wait for a signal */
		}
	}
	/* Connections the broker closed meanwhile are worth knowing about. */
	for (unsigned i = 0; i < g.conns; i++) {
		char c;

		if (recv(cs[i].fd, &c, 1, MSG_DONTWAIT) == 0)
			closed++;
	}
	for (unsigned i = 0; i < g.conns; i++)
		conn_close(&cs[i]);
	free(cs);
	if (closed > 0)
		die("%u of %u idle connections were closed by the broker",
		    closed, g.conns);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: mqttbench fanin   [-h HOST] [-p PORT] [--pubs 4] [--count N] [--qos Q] [--size 64]\n"
	    "       mqttbench fanout  [-h HOST] [-p PORT] [--subs 16] [--count N] [--qos Q] [--size 64]\n"
	    "       mqttbench latency [-h HOST] [-p PORT] [--rate 1000] [--seconds 5] [--qos 1]\n"
	    "       mqttbench idle    [-h HOST] [-p PORT] [--conns 5000]\n"
	    "common: [--window 100] [--stall 10] [--time-limit SECONDS] [--json]\n"
	    "  --count is per publisher; --window bounds unacknowledged QoS 1/2\n"
	    "  messages per publisher; --stall ends a run after that long with\n"
	    "  nothing received; --time-limit stops publishing after that long\n"
	    "  (then 2 s more to deliver) and reports what arrived; --json sends\n"
	    "  {\"value\":N.25,\"p\":..,\"s\":..,\"t\":..} padded with spaces to --size.\n");
	exit(2);
}

/* Parses a number in [min, max] or exits with the usage. */
static double
num(const char *opt, const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "mqttbench: --%s: %s is not a number from %g to "
		    "%g\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "pubs", required_argument, NULL, 'P' },
		{ "subs", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'n' },
		{ "qos", required_argument, NULL, 'q' },
		{ "size", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 't' },
		{ "conns", required_argument, NULL, 'c' },
		{ "stall", required_argument, NULL, 'T' },
		{ "time-limit", required_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*cmd;
	int		 ch, qos_set = 0, pubs_set = 0, subs_set = 0;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "fanin") == 0)
		g.mode = MODE_FANIN;
	else if (strcmp(cmd, "fanout") == 0)
		g.mode = MODE_FANOUT;
	else if (strcmp(cmd, "latency") == 0)
		g.mode = MODE_LATENCY;
	else if (strcmp(cmd, "idle") == 0)
		g.mode = MODE_IDLE;
	else
		usage();
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "h:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': g.host = optarg; break;
		case 'p': g.port = optarg; break;
		case 'P': g.npubs = (unsigned)num("pubs", optarg, 1, 1000); pubs_set = 1; break;
		case 'S': g.nsubs = (unsigned)num("subs", optarg, 1, 1000); subs_set = 1; break;
		case 'n': g.count = (uint64_t)num("count", optarg, 1, 1e9); break;
		case 'q': g.qos = (unsigned)num("qos", optarg, 0, 2); qos_set = 1; break;
		case 's': g.size = (size_t)num("size", optarg, HDR_LEN, MAX_SIZE); break;
		case 'w': g.window = (unsigned)num("window", optarg, 1, 60000); break;
		case 'r': g.rate = num("rate", optarg, 1, 1e6); break;
		case 't': g.seconds = num("seconds", optarg, 0.1, 3600); break;
		case 'c': g.conns = (unsigned)num("conns", optarg, 1, 1000000); break;
		case 'T': g.stall_s = num("stall", optarg, 0.1, 3600); break;
		case 'L': g.limit_s = num("time-limit", optarg, 0, 86400); break;
		case 'J': g.json = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	signal(SIGPIPE, SIG_IGN);
	switch (g.mode) {
	case MODE_FANIN:
		if (!subs_set)
			g.nsubs = 1;
		break;
	case MODE_FANOUT:
		if (!pubs_set)
			g.npubs = 1;
		break;
	case MODE_LATENCY:
		g.npubs = g.nsubs = 1;
		if (!qos_set)
			g.qos = 1;
		g.count = (uint64_t)(g.rate * g.seconds);
		if (g.count == 0)
			g.count = 1;
		break;
	case MODE_IDLE:
		run_idle();
		return 0;
	}
	run_pubsub();
	return 0;
}
