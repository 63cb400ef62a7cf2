/*
 * modbusbench: the Modbus side of the field-driver benchmark
 * (tests/bench/drivers.sh), on libmodbus and the project's own planner and
 * decoder (drivers/plan.h, drivers/value.h).
 *
 *   modbusbench raw   -t HOST:PORT [--tags 1000] [--seconds 3] [--per-tag]
 *                     [--gap 10] [--address 0] [--unit 1] [--check]
 *   modbusbench plan  [--tags 1000] [--gap 10]
 *   modbusbench count [-h HOST] [-p PORT] [-t FILTER] [--seconds 3]
 *                     [--warmup 1] [--sys]
 *
 * raw is the ceiling fieldmqd is compared with: one plain libmodbus loop
 * polling N uint16 holding registers (address .. address+N-1) in full
 * cycles, as planned blocks (plan_new, max_gap --gap, 125 registers) or
 * one request per tag, decoding every value; --check counts registers
 * that do not hold their own address (drivers.sh's description). plan
 * prints the requests per cycle of a contiguous and of a sparse layout.
 * count subscribes to FILTER on an MQTT broker and counts the messages
 * that arrive in --seconds after a --warmup (from the first message);
 * --sys also reads the broker's $SYS message counters (fieldmqd publishes
 * them every sys_interval) and prints how they moved meanwhile.
 *
 * Each mode prints key=value lines on stdout; failures go to stderr with
 * exit status 1. Figures are printed, never judged.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <modbus.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/packet.h"
#include "buf.h"
#include "drivers/plan.h"
#include "drivers/value.h"
#include "util.h"

#define NS		1000000000ull
#define MAX_REGS	125		/* registers per request */
#define IN_CAP		(1024 * 1024)	/* the subscriber's receive buffer */
#define MAX_PACKET	(64 * 1024)
#define FIRST_WAIT_S	10		/* count: the longest wait for a message */
#define SPARSE_SEED	20261125u

enum mode { MODE_RAW, MODE_PLAN, MODE_COUNT };

/* The options of one run. */
static struct opts {
	enum mode	 mode;
	const char	*target;	/* raw: HOST:PORT */
	const char	*host;		/* count */
	const char	*port;
	const char	*filter;
	unsigned	 tags;
	unsigned	 gap;
	unsigned	 address;
	int		 unit;
	double		 seconds;
	double		 warmup;
	int		 per_tag;
	int		 check;
	int		 sys;
} o = {
	.host = "127.0.0.1",
	.port = "1883",
	.filter = "plant/#",
	.tags = 1000,
	.gap = 10,
	.unit = 1,
	.seconds = 3,
	.warmup = 1,
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
	fprintf(stderr, "modbusbench: %s\n", line);
	fflush(stdout);
	exit(1);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* This process's CPU time (user and system) in nanoseconds. */
static uint64_t
cpu_ns(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NS +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* ---- raw: the plain libmodbus loop --------------------------------------- */

/* Connects to HOST:PORT (the last colon splits them). */
static modbus_t *
raw_connect(const char *target)
{
	char		*host = xstrdup(target), *colon = strrchr(host, ':');
	modbus_t	*ctx;

	if (colon == NULL || colon == host || colon[1] == '\0')
		die("-t %s: expected HOST:PORT", target);
	*colon = '\0';
	if ((ctx = modbus_new_tcp_pi(host, colon + 1)) == NULL)
		die("%s: cannot create a Modbus context: %s", target,
		    modbus_strerror(errno));
	modbus_set_response_timeout(ctx, 1, 0);
	modbus_set_slave(ctx, o.unit);
	if (modbus_connect(ctx) == -1)
		die("%s: connect: %s", target, modbus_strerror(errno));
	free(host);
	return ctx;
}

/*
 * One full cycle: every block read and every item decoded. Returns the
 * items whose value is not their address (with --check), else 0.
 */
static uint64_t
raw_cycle(modbus_t *ctx, const struct plan *p, const struct drv_format *fmt)
{
	const struct plan_item	*items = plan_items(p);
	uint16_t		 regs[MAX_REGS];
	struct drv_value	 v;
	uint64_t		 bad = 0;

	for (size_t i = 0; i < plan_nblocks(p); i++) {
		const struct plan_block *b = plan_block(p, i);

		if (modbus_read_registers(ctx, b->address, b->count, regs) !=
		    b->count)
			die("read holding %u+%u: %s", b->address, b->count,
			    modbus_strerror(errno));
		for (size_t k = b->first; k < b->first + b->nitems; k++) {
			size_t off = items[k].address - b->address;

			if (drv_decode(fmt, regs + off, b->count - off, &v) == -1)
				die("cannot decode the item at %u",
				    items[k].address);
			if (o.check && v.u != items[k].address)
				bad++;
		}
	}
	return bad;
}

/* Polls the tags in full cycles for o.seconds and prints the figures. */
static void
run_raw(void)
{
	struct drv_format	 fmt = { DRV_UINT16, DRV_ABCD, -1, 0, 1, 0 };
	struct plan_item	*items;
	struct plan		*p;
	modbus_t		*ctx;
	uint64_t		 t0, t1, c0, cycles = 0, bad = 0, limit;
	size_t			 nreq;
	double			 secs;

	if (o.target == NULL)
		die("raw needs -t HOST:PORT");
	if ((uint64_t)o.address + o.tags > 65536)
		die("--address %u with --tags %u goes past register 65535",
		    o.address, o.tags);
	items = xcalloc(o.tags, sizeof(*items));
	for (unsigned i = 0; i < o.tags; i++)
		items[i] = (struct plan_item){ PLAN_HOLDING,
		    (uint16_t)(o.address + i), 1, i };
	/* One request per tag is the plan with no merging at all. */
	p = o.per_tag ? plan_new(items, o.tags, 0, 1) :
	    plan_new(items, o.tags, o.gap, MAX_REGS);
	nreq = plan_nblocks(p);
	ctx = raw_connect(o.target);

	raw_cycle(ctx, p, &fmt);	/* warm: connection, caches */
	limit = (uint64_t)(o.seconds * NS);
	c0 = cpu_ns();
	t0 = t1 = now_ns();
	while (t1 - t0 < limit) {
		bad += raw_cycle(ctx, p, &fmt);
		cycles++;
		t1 = now_ns();
	}
	secs = (double)(t1 - t0) / NS;
	printf("raw layout=%s tags=%u requests_per_cycle=%zu cycles=%llu "
	    "requests=%llu seconds=%.3f requests_per_s=%.0f tags_per_s=%.0f "
	    "cycle_ms=%.3f cpu_pct=%.0f bad=%llu\n",
	    o.per_tag ? "per-tag" : "planned",
	    o.tags, nreq, (unsigned long long)cycles,
	    (unsigned long long)(cycles * nreq), secs,
	    (double)(cycles * nreq) / secs, (double)(cycles * o.tags) / secs,
	    secs * 1e3 / (double)cycles,
	    (double)(cpu_ns() - c0) / (double)(t1 - t0) * 100,
	    (unsigned long long)bad);
	fflush(stdout);
	modbus_close(ctx);
	modbus_free(ctx);
	plan_free(p);
	free(items);
}

/* ---- plan: requests per cycle of two layouts ----------------------------- */

/* A small deterministic generator, so every run plans the same layout. */
static unsigned
lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

/*
 * A register map as devices have them: groups of 10 to 40 tags of mixed
 * widths (uint16, float32, uint32, int16, float64) with an occasional
 * 1 to 4 register hole inside, the groups 20 to 500 registers apart.
 * Gaps shrink until the map fits in 65,536 registers. Returns the span.
 */
static uint32_t
sparse_layout(struct plan_item *items, unsigned n)
{
	static const uint16_t	 widths[] = { 1, 2, 2, 1, 4 };
	unsigned		 div = 1;

	for (;;) {
		unsigned	 seed = SPARSE_SEED, left = 0;
		uint32_t	 at = 0;
		unsigned	 i;

		for (i = 0; i < n; i++) {
			uint16_t w = widths[lcg(&seed) % FMQ_NELEM(widths)];

			if (left == 0) {
				left = 10 + lcg(&seed) % 31;
				if (i > 0)
					at += (20 + lcg(&seed) % 481) / div;
			} else if (lcg(&seed) % 8 == 0)
				at += 1 + lcg(&seed) % 4;
			left--;
			if (at + w > 65536)
				break;
			items[i] = (struct plan_item){ PLAN_HOLDING,
			    (uint16_t)at, w, i };
			at += w;
		}
		if (i == n)
			return at - items[0].address;
		if (div > 1024)
			die("%u tags do not fit in 65,536 registers", n);
		div *= 2;
	}
}

/* Prints the plan of one layout: planned requests against one per tag. */
static void
plan_print(const char *layout, const struct plan_item *items, unsigned n,
    uint32_t span)
{
	struct plan	*p = plan_new(items, n, o.gap, MAX_REGS);
	struct plan	*p0 = plan_new(items, n, 0, MAX_REGS);
	uint64_t	 regs = 0, used = 0;

	for (size_t i = 0; i < plan_nblocks(p); i++)
		regs += plan_block(p, i)->count;
	for (unsigned i = 0; i < n; i++)
		used += items[i].count;
	printf("plan layout=%s tags=%u span=%u registers=%llu max_gap=%u "
	    "planned=%zu planned_gap0=%zu per_tag=%u registers_read=%llu "
	    "tags_per_request=%.1f\n", layout, n, span,
	    (unsigned long long)used, o.gap, plan_nblocks(p), plan_nblocks(p0),
	    n, (unsigned long long)regs, (double)n / (double)plan_nblocks(p));
	plan_free(p0);
	plan_free(p);
}

static void
run_plan(void)
{
	struct plan_item	*items = xcalloc(o.tags, sizeof(*items));
	uint32_t		 span;

	if (o.tags > 65536)
		die("--tags %u: at most 65,536 registers", o.tags);
	for (unsigned i = 0; i < o.tags; i++)
		items[i] = (struct plan_item){ PLAN_HOLDING, (uint16_t)i, 1, i };
	plan_print("contiguous", items, o.tags, o.tags);
	span = sparse_layout(items, o.tags);
	plan_print("sparse", items, o.tags, span);
	fflush(stdout);
	free(items);
}

/* ---- count: an MQTT subscriber that counts ------------------------------- */

/* The subscriber's connection and what it has seen. */
struct counter {
	int		 fd;
	struct buf	 out;
	uint8_t		*in;
	size_t		 inlen;
	size_t		 inpos;
	uint64_t	 msgs, good, bad, states;
	uint64_t	 sys_received, sys_dropped;	/* the latest $SYS values */
	int		 sys_seen;
};

/* Opens a TCP connection to the broker (TCP_NODELAY, 100 ms receive timeout). */
static int
count_open(void)
{
	struct addrinfo	 hints, *res, *ai;
	struct timeval	 tv = { .tv_sec = 0, .tv_usec = 100000 };
	int		 fd = -1, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(o.host, o.port, &hints, &res)) != 0)
		die("%s:%s: %s", o.host, o.port, gai_strerror(e));
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
		die("connect to %s:%s: %s", o.host, o.port, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Writes the output buffer out (blocking). */
static void
count_flush(struct counter *c)
{
	while (buf_pending(&c->out) > 0) {
		ssize_t n = send(c->fd, buf_data(&c->out), buf_pending(&c->out),
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to the broker: %s", strerror(errno));
		buf_consume(&c->out, (size_t)n);
	}
}

/* Reads what came, waiting up to the receive timeout; 0 if nothing did. */
static size_t
count_fill(struct counter *c)
{
	ssize_t	n;

	if (c->inpos > 0) {
		memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
		c->inlen -= c->inpos;
		c->inpos = 0;
	}
	do
		n = recv(c->fd, c->in + c->inlen, IN_CAP - c->inlen, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n == 0)
		die("the broker closed the connection");
	if (n < 0)
		die("read from the broker: %s", strerror(errno));
	c->inlen += (size_t)n;
	return (size_t)n;
}

/* The next whole packet in the input buffer; 0 if there is none yet. */
static int
count_next(struct counter *c, struct mqtt_frame *f, const uint8_t **body)
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
		die("bad packet from the broker: %s", mqtt_err_name(e));
	*body = c->in + c->inpos + f->header_len;
	c->inpos += f->header_len + f->body_len;
	return 1;
}

/* Waits up to 10 s for a packet of one type (CONNACK, SUBACK). */
static const uint8_t *
count_expect(struct counter *c, uint8_t type, struct mqtt_frame *f)
{
	uint64_t	 deadline = now_ns() + 10 * NS;
	const uint8_t	*body;

	while (!count_next(c, f, &body)) {
		if (now_ns() > deadline)
			die("no %s from the broker after 10 s", mqtt_type_name(type));
		count_fill(c);
	}
	if (f->type != type)
		die("expected %s, got %s", mqtt_type_name(type),
		    mqtt_type_name(f->type));
	return body;
}

/* A $SYS counter's text as a number. */
static uint64_t
sys_value(const struct mqtt_publish *m)
{
	char	s[32];
	size_t	n = m->payload_len < sizeof(s) - 1 ? m->payload_len : sizeof(s) - 1;

	memcpy(s, m->payload, n);
	s[n] = '\0';
	return strtoull(s, NULL, 10);
}

/* Counts one PUBLISH: a reading (good or bad), a $state, or a $SYS value. */
static void
count_publish(struct counter *c, const struct mqtt_publish *m)
{
	static const char	 good[] = "\"quality\":\"good\"";
	const char		*t = m->topic.p;
	size_t			 tl = m->topic.len;

	if (tl > 5 && memcmp(t, "$SYS/", 5) == 0) {
		if (tl == 29 && memcmp(t, "$SYS/broker/messages/received", 29) == 0)
			c->sys_received = sys_value(m);
		else if (tl == 28 &&
		    memcmp(t, "$SYS/broker/messages/dropped", 28) == 0) {
			c->sys_dropped = sys_value(m);
			c->sys_seen = 1;
		}
		return;
	}
	c->msgs++;
	if (tl >= 7 && memcmp(t + tl - 7, "/$state", 7) == 0)
		c->states++;
	else if (memmem(m->payload, m->payload_len, good, sizeof(good) - 1))
		c->good++;
	else
		c->bad++;
}

/* Handles the packets in the buffer. */
static void
count_handle(struct counter *c)
{
	struct mqtt_frame	 f;
	struct mqtt_publish	 m;
	const uint8_t		*body;
	uint16_t		 id;
	enum mqtt_err		 e;

	while (count_next(c, &f, &body)) {
		switch (f.type) {
		case MQTT_PUBLISH:
			if ((e = mqtt_decode_publish(&f, body, &m)) != MQTT_OK)
				die("bad PUBLISH: %s", mqtt_err_name(e));
			if (m.qos == 1)
				mqtt_encode_ack(&c->out, MQTT_PUBACK, m.id);
			else if (m.qos == 2)
				mqtt_encode_ack(&c->out, MQTT_PUBREC, m.id);
			count_publish(c, &m);
			break;
		case MQTT_PUBREL:
			if ((e = mqtt_decode_ack(&f, body, &id)) != MQTT_OK)
				die("bad PUBREL: %s", mqtt_err_name(e));
			mqtt_encode_ack(&c->out, MQTT_PUBCOMP, id);
			break;
		case MQTT_PINGRESP:
			break;
		default:
			die("unexpected %s", mqtt_type_name(f.type));
		}
	}
	count_flush(c);
}

/* Connects with a clean session and subscribes to the filters at QoS 0. */
static void
count_start(struct counter *c)
{
	const char		*filters[2] = { o.filter, "$SYS/broker/messages/+" };
	uint8_t			 qos[2] = { 0, 0 };
	size_t			 nf = o.sys ? 2 : 1;
	struct mqtt_connect	 cn;
	struct mqtt_frame	 f;
	const uint8_t		*body;
	char			 id[64];
	int			 sp;
	uint8_t			 code;

	memset(&cn, 0, sizeof(cn));
	snprintf(id, sizeof(id), "modbusbench-%ld", (long)getpid());
	c->fd = count_open();
	c->in = xmalloc(IN_CAP);
	cn.level = 4;
	cn.clean = 1;
	cn.keepalive = 0;
	cn.client_id.p = id;
	cn.client_id.len = (uint16_t)strlen(id);
	mqtt_encode_connect(&c->out, &cn);
	count_flush(c);
	body = count_expect(c, MQTT_CONNACK, &f);
	if (mqtt_decode_connack(&f, body, &sp, &code) != MQTT_OK ||
	    code != MQTT_CONNACK_ACCEPTED)
		die("the broker refused the connection");
	mqtt_encode_subscribe(&c->out, 1, filters, qos, nf);
	count_flush(c);
	body = count_expect(c, MQTT_SUBACK, &f);
	if (f.body_len != 2 + nf)
		die("malformed SUBACK");
	for (size_t i = 0; i < nf; i++)
		if (body[2 + i] == MQTT_SUBACK_FAILURE)
			die("the broker refused the subscription to %s", filters[i]);
}

/* Reads and counts until the monotonic time end (ns). */
static void
count_until(struct counter *c, uint64_t end)
{
	while (now_ns() < end) {
		count_fill(c);
		count_handle(c);
	}
}

/* Waits for the first message, warms up, counts, prints the figures. */
static void
run_count(void)
{
	struct counter	 c;
	uint64_t	 t0, t1, msgs, good, bad, states, rx = 0, drop = 0;
	uint64_t	 deadline, c0;
	double		 secs, cpu;
	int		 had_sys;

	memset(&c, 0, sizeof(c));
	count_start(&c);
	deadline = now_ns() + FIRST_WAIT_S * NS;
	while (c.msgs == 0) {
		if (now_ns() > deadline)
			die("no message on %s after %d s", o.filter, FIRST_WAIT_S);
		count_fill(&c);
		count_handle(&c);
	}
	count_until(&c, now_ns() + (uint64_t)(o.warmup * NS));

	c0 = cpu_ns();
	t0 = now_ns();
	msgs = c.msgs;
	good = c.good;
	bad = c.bad;
	states = c.states;
	had_sys = c.sys_seen;
	rx = c.sys_received;
	drop = c.sys_dropped;
	count_until(&c, t0 + (uint64_t)(o.seconds * NS));
	t1 = now_ns();
	cpu = (double)(cpu_ns() - c0) / (double)(t1 - t0) * 100;
	secs = (double)(t1 - t0) / NS;
	msgs = c.msgs - msgs;
	printf("count filter=%s msgs=%llu seconds=%.3f rate=%.0f good=%llu "
	    "bad=%llu states=%llu cpu_pct=%.0f", o.filter,
	    (unsigned long long)msgs, secs, (double)msgs / secs,
	    (unsigned long long)(c.good - good),
	    (unsigned long long)(c.bad - bad),
	    (unsigned long long)(c.states - states), cpu);
	if (o.sys && had_sys)
		printf(" broker_received=%llu broker_dropped=%llu",
		    (unsigned long long)(c.sys_received - rx),
		    (unsigned long long)(c.sys_dropped - drop));
	printf("\n");
	fflush(stdout);
	buf_reset(&c.out, 0);
	mqtt_encode_empty(&c.out, MQTT_DISCONNECT);
	send(c.fd, buf_data(&c.out), buf_pending(&c.out),
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	close(c.fd);
	buf_free(&c.out);
	free(c.in);
}

/* ---- main ---------------------------------------------------------------- */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: modbusbench raw -t HOST:PORT [--tags 1000] [--seconds 3] [--per-tag]\n"
	    "                       [--gap 10] [--address 0] [--unit 1] [--check]\n"
	    "       modbusbench plan [--tags 1000] [--gap 10]\n"
	    "       modbusbench count [-h HOST] [-p PORT] [-t FILTER] [--seconds 3]\n"
	    "                       [--warmup 1] [--sys]\n");
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
		fprintf(stderr, "modbusbench: --%s: %s is not a number from %g "
		    "to %g\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "tags", required_argument, NULL, 'n' },
		{ "gap", required_argument, NULL, 'g' },
		{ "address", required_argument, NULL, 'a' },
		{ "unit", required_argument, NULL, 'u' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "per-tag", no_argument, NULL, 'P' },
		{ "check", no_argument, NULL, 'C' },
		{ "sys", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*cmd;
	int		 ch;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "raw") == 0)
		o.mode = MODE_RAW;
	else if (strcmp(cmd, "plan") == 0)
		o.mode = MODE_PLAN;
	else if (strcmp(cmd, "count") == 0)
		o.mode = MODE_COUNT;
	else
		usage();
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "t:h:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (o.mode == MODE_COUNT)
				o.filter = optarg;
			else
				o.target = optarg;
			break;
		case 'h': o.host = optarg; break;
		case 'p': o.port = optarg; break;
		case 'n': o.tags = (unsigned)num("tags", optarg, 1, 65536); break;
		case 'g': o.gap = (unsigned)num("gap", optarg, 0, 125); break;
		case 'a': o.address = (unsigned)num("address", optarg, 0, 65535); break;
		case 'u': o.unit = (int)num("unit", optarg, 0, 255); break;
		case 's': o.seconds = num("seconds", optarg, 0.1, 3600); break;
		case 'w': o.warmup = num("warmup", optarg, 0, 3600); break;
		case 'P': o.per_tag = 1; break;
		case 'C': o.check = 1; break;
		case 'S': o.sys = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	signal(SIGPIPE, SIG_IGN);
	switch (o.mode) {
	case MODE_RAW:
		run_raw();
		break;
	case MODE_PLAN:
		run_plan();
		break;
	case MODE_COUNT:
		run_count();
		break;
	}
	return 0;
}
