/*
 * transport: MQTT throughput over one transport with a real client
 * library, Eclipse Paho C (MQTTAsync, libpaho-mqtt3as), so that tcp://,
 * ssl://, ws:// and wss:// are all driven by the same code.
 *
 *   transport URL [--ca FILE] [--count N] [--qos Q] [--size 64]
 *                 [--window W] [--stall S] [--time-limit S] [--pub-url URL]
 *                 [--poke-ms MS]
 *
 * URL is anything Paho accepts: tcp://127.0.0.1:1883,
 * ssl://localhost:8883, ws://127.0.0.1:8080/mqtt (the path is the
 * WebSocket request path; Paho sends "Sec-WebSocket-Protocol: mqtt"),
 * wss://localhost:8443/mqtt. --ca is the PEM file the server certificate
 * must verify against (its name too: Paho's post-connect check is on);
 * without it the system's default trust store is used. --pub-url connects
 * the publisher elsewhere (another listener or transport of the same
 * broker: to tell which side of a transport a problem is on).
 *
 * A subscriber on one topic (at QoS Q) and a publisher that sends N
 * messages of --size bytes at QoS Q to it. Every payload begins with its
 * sequence number (8 bytes, little-endian), the rest is filler, so the
 * subscriber counts distinct messages, duplicates and reordering. The
 * rate is measured at the subscriber: messages received (duplicates
 * included) over the time from the first message received to the last.
 *
 * Two processes, one client each: the publisher runs in a child forked
 * before any Paho call, and reports what it sent through a pipe. Paho C
 * (1.3.x) keeps its WebSocket receive state - the frame being read and
 * its unread bytes - in globals of WebSocket.c shared by every client of
 * a process: with both clients on ws:// in one process, PUBLISHes meant
 * for the subscriber were handed to the publisher (seen as stray= here
 * before the split, one for each message lost at QoS 1).
 *
 * Flow control in the publisher. MQTTAsync_sendMessage() only queues a
 * command; Paho's send thread writes it later, one packet a write, and
 * only when the socket has no write pending. Nothing is dropped silently
 * at QoS 0 as long as:
 *  - the client is created with MQTTAsync_createWithOptions() and
 *    deleteOldestMessages = 0, so that a full queue (maxBufferedMessages)
 *    makes sendMessage() fail with MQTTASYNC_MAX_BUFFERED_MESSAGES
 *    instead of discarding the oldest queued publish;
 *  - every return code of sendMessage() is checked.
 * On top of that the publisher keeps a window: at most W messages (default
 * 1000) sent but not complete, where complete is Paho's onSuccess for the
 * publish - at QoS 0 called once the packet has been written to the socket
 * (for TLS/WebSocket: handed to SSL_write / framed and written), at QoS 1
 * once the PUBACK arrived. maxBufferedMessages is W + 16, so the queue
 * never fills; should sendMessage() still refuse with MAX_BUFFERED, the
 * message is retried after a short wait and counted (retries=), not lost.
 * A publish onFailure is counted as pub_failed= (such a message cannot
 * arrive and is part of lost=). The publisher disconnects only once every
 * publish is complete (unfinished= counts those that never were).
 *
 * Pokes: a Paho C quirk over ws:// and wss://. Paho reads a whole
 * WebSocket frame into its own buffer but takes MQTT packets out of it
 * only when poll() says the socket is readable, one packet each time. A
 * broker that packs many packets into one frame (MQTT-6.0.0-2 allows
 * it; fieldmqd sends frames of up to about 64 KiB) leaves the rest of the
 * last frame of a burst in Paho's buffer until more bytes arrive - at the
 * end of a run they never do: the subscriber misses the tail (hundreds of
 * messages) and a QoS 1 publisher its last PUBACKs. So once it has
 * queued its N messages the publisher sends a poke every --poke-ms
 * (default 2; 0: none) until the subscriber's process has all N: a
 * message with sequence number 2^64-1, at the run's QoS, that the
 * subscriber does not count. Any byte arriving makes Paho empty its
 * buffer, so a tail is held at most about --poke-ms. Over tcp:// and
 * ssl:// the pokes change nothing (a few dozen, after the publisher is
 * done, while the broker still delivers the backlog).
 *
 * Output, one line on stdout:
 *   transport url=URL msgs=M seconds=S rate=R lost=L dup=D qos=Q size=B
 *     reorder=O lost_tail=T sent=N pub_failed=F unfinished=U retries=R
 *     stray=X pokes=SEEN/SENT stalled=0|1 [pub_url=URL]
 * msgs = messages received (duplicates included, pokes not), seconds =
 * first to last received, rate = msgs / seconds, lost = N - distinct
 * messages received, lost_tail = how many of those come after the
 * highest one received (lost_tail = lost: only the end of the run is
 * missing). The run ends when all N arrived, or after --stall seconds
 * (default 5) with nothing new, or at --time-limit (default 100 s): then
 * stalled=1 and what is missing is lost. Missing ranges are printed on
 * stderr. Loss is a figure; the exit status is 1 only when a client
 * cannot connect or subscribe, loses its connection, or nothing at all
 * arrives.
 */
#include "config.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS		1000000000ull
#define SEQ_LEN		8
#define MAX_SIZE	(256 * 1024)
#define TOPIC		"bench/transport"
#define POKE_SEQ	UINT64_MAX	/* the sequence number of a poke */

static struct {
	const char	*url;
	const char	*pub_url;	/* the publisher's, default url */
	const char	*ca;
	uint64_t	 count;
	int		 qos;
	size_t		 size;
	unsigned	 window;
	double		 stall_s;
	double		 limit_s;
	unsigned	 poke_ms;
} opt = {
	.count = 200000,
	.qos = 0,
	.size = 64,
	.window = 1000,
	.stall_s = 5,
	.limit_s = 100,
	.poke_ms = 2,
};

static pid_t		 child;		/* the publisher, in the parent */

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cond;		/* CLOCK_MONOTONIC */

/* Connection state of the process's client: all under mtx. */
static int		 ops_pending;	/* connects/subscribes not answered */
static int		 op_failed;
static char		 op_why[256];
static int		 lost_conn;
static char		 lost_why[256];

/* Publisher: under mtx. */
static unsigned		 outstanding;	/* sent, not yet complete */
static uint64_t		 pub_failed;

/* Subscriber: written only by Paho's receive thread, read under mtx. */
static uint8_t		*seen;		/* a bit per sequence number */
static uint64_t		 received, uniq, dups, reorder, bad, next_seq;
static uint64_t		 top;		/* the highest sequence seen + 1 */
static uint64_t		 first_ns, last_ns;
static uint64_t		 pokes_seen;
static uint64_t		 stray;		/* messages that reached the publisher */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("transport: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* Not exit(): Paho's threads are still running, and the library and
	 * OpenSSL tearing down under them may crash. */
	fflush(NULL);
	if (child > 0)
		kill(child, SIGKILL);
	_exit(1);
}

/* Waits on cond until the absolute CLOCK_MONOTONIC time deadline_ns. */
static int
wait_until(uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / NS),
		.tv_nsec = (long)(deadline_ns % NS),
	};

	return pthread_cond_timedwait(&cond, &mtx, &ts);
}

static int
was_seen(uint64_t seq)
{
	return (seen[seq / 8] & (1u << (seq % 8))) != 0;
}

/* ---- Paho callbacks (on Paho's threads) -------------------------------- */

static void
on_conn_lost(void *ctx, char *cause)
{
	pthread_mutex_lock(&mtx);
	if (!lost_conn)
		snprintf(lost_why, sizeof(lost_why), "%s lost its connection: %s",
		    (const char *)ctx, cause != NULL ? cause : "(no cause given)");
	lost_conn = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
	MQTTAsync_free(cause);
}

static int
on_message(void *ctx, char *topic, int topiclen, MQTTAsync_message *m)
{
	uint64_t t = now_ns(), seq = 0;

	if (m->payloadlen >= SEQ_LEN) {
		const uint8_t *p = m->payload;

		for (int i = SEQ_LEN - 1; i >= 0; i--)
			seq = seq << 8 | p[i];
	}
	pthread_mutex_lock(&mtx);
	if (m->payloadlen >= SEQ_LEN && seq == POKE_SEQ) {
		pokes_seen++;	/* not a benchmark message */
		goto out;
	}
	if (received == 0)
		first_ns = t;
	last_ns = t;
	received++;
	if (m->payloadlen < SEQ_LEN || seq >= opt.count)
		bad++;
	else if (was_seen(seq))
		dups++;
	else {
		seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		uniq++;
		if (seq != next_seq)
			reorder++;
		next_seq = seq + 1;
		if (seq + 1 > top)
			top = seq + 1;
	}
	if (uniq == opt.count)
		pthread_cond_broadcast(&cond);
out:
	pthread_mutex_unlock(&mtx);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

/* The publisher's: it subscribes to nothing, so anything arriving here
 * was meant for another client (see the header). */
static int
on_stray(void *ctx, char *topic, int topiclen, MQTTAsync_message *m)
{
	pthread_mutex_lock(&mtx);
	stray++;
	pthread_mutex_unlock(&mtx);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void
on_op_ok(void *ctx, MQTTAsync_successData *r)
{
	pthread_mutex_lock(&mtx);
	ops_pending--;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
}

static void
on_op_fail(void *ctx, MQTTAsync_failureData *r)
{
	int code = r != NULL && r->code != 0 ? r->code : -1;

	pthread_mutex_lock(&mtx);
	ops_pending--;
	if (!op_failed)
		snprintf(op_why, sizeof(op_why), "%s: %s (%d)",
		    (const char *)ctx, r != NULL && r->message != NULL ?
		    r->message : MQTTAsync_strerror(code), code);
	op_failed = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
}

static void
on_sub_ok(void *ctx, MQTTAsync_successData *r)
{
	/* A SUBACK with 0x80 is reported as success with that QoS. */
	if (r != NULL && r->alt.qos == MQTT_BAD_SUBSCRIBE) {
		MQTTAsync_failureData f = { .code = MQTT_BAD_SUBSCRIBE,
		    .message = "SUBACK 0x80 (refused)" };
		on_op_fail(ctx, &f);
	} else
		on_op_ok(ctx, r);
}

static void
on_pub_ok(void *ctx, MQTTAsync_successData *r)
{
	pthread_mutex_lock(&mtx);
	outstanding--;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
}

static void
on_pub_fail(void *ctx, MQTTAsync_failureData *r)
{
	pthread_mutex_lock(&mtx);
	outstanding--;
	pub_failed++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
}

/* ---- clients ----------------------------------------------------------- */

/* Waits for the answers to the connects/subscribes started; dies on a
 * failure. */
static void
await_ops(const char *what)
{
	uint64_t deadline = now_ns() + 15 * NS;

	pthread_mutex_lock(&mtx);
	while (ops_pending > 0 && !op_failed && !lost_conn)
		if (wait_until(deadline) == ETIMEDOUT)
			die("%s: no answer in 15 s", what);
	if (op_failed)
		die("%s", op_why);
	if (lost_conn)
		die("%s", lost_why);
	pthread_mutex_unlock(&mtx);
}

static void
start_op(void)
{
	pthread_mutex_lock(&mtx);
	ops_pending++;
	pthread_mutex_unlock(&mtx);
}

/* Creates a client and starts its connect (await_ops() waits for it). */
static MQTTAsync
client(const char *id, const char *url, int publisher)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	MQTTAsync_connectOptions cn = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTAsync c;
	int rc;

	co.MQTTVersion = MQTTVERSION_3_1_1;
	co.sendWhileDisconnected = 0;
	co.deleteOldestMessages = 0;	/* a full queue is an error, not a drop */
	co.maxBufferedMessages = publisher ? (int)opt.window + 16 : 100;
	co.persistQoS0 = 0;
	if ((rc = MQTTAsync_createWithOptions(&c, url, id,
	    MQTTCLIENT_PERSISTENCE_NONE, NULL, &co)) != MQTTASYNC_SUCCESS)
		die("create %s for %s: %s (%d)", id, url,
		    MQTTAsync_strerror(rc), rc);
	/* Paho refuses a NULL messageArrived: the publisher gets one that
	 * counts what should never come. */
	if ((rc = MQTTAsync_setCallbacks(c, (void *)id, on_conn_lost,
	    publisher ? on_stray : on_message, NULL)) != MQTTASYNC_SUCCESS)
		die("setCallbacks: %s (%d)", MQTTAsync_strerror(rc), rc);

	cn.MQTTVersion = MQTTVERSION_3_1_1;
	cn.keepAliveInterval = 60;
	cn.cleansession = 1;
	cn.connectTimeout = 10;
	cn.retryInterval = 0;
	cn.automaticReconnect = 0;
	cn.maxInflight = 65535;
	cn.onSuccess = on_op_ok;
	cn.onFailure = on_op_fail;
	cn.context = (void *)id;
	if (strncmp(url, "ssl://", 6) == 0 ||
	    strncmp(url, "mqtts://", 8) == 0 ||
	    strncmp(url, "wss://", 6) == 0) {
		ssl.trustStore = opt.ca;
		ssl.enableServerCertAuth = 1;
		ssl.verify = 1;
		cn.ssl = &ssl;
	}
	start_op();
	if ((rc = MQTTAsync_connect(c, &cn)) != MQTTASYNC_SUCCESS)
		die("connect %s to %s: %s (%d)", id, url,
		    MQTTAsync_strerror(rc), rc);
	return c;
}

static void
close_client(MQTTAsync c)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	d.timeout = 1000;
	MQTTAsync_disconnect(c, &d);
	for (int i = 0; i < 100 && MQTTAsync_isConnected(c); i++)
		usleep(10000);
	MQTTAsync_destroy(&c);
}

/* ---- the run ----------------------------------------------------------- */

static uint64_t
publish_all(MQTTAsync pub, uint64_t deadline, uint64_t *retries)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	uint8_t *payload;
	uint64_t seq;

	if ((payload = malloc(opt.size)) == NULL)
		die("out of memory");
	memset(payload, 'x', opt.size);
	msg.payload = payload;
	msg.payloadlen = (int)opt.size;
	msg.qos = opt.qos;
	msg.retained = 0;
	ro.onSuccess = on_pub_ok;
	ro.onFailure = on_pub_fail;
	*retries = 0;

	for (seq = 0; seq < opt.count; seq++) {
		int rc;

		pthread_mutex_lock(&mtx);
		while (outstanding >= opt.window && !lost_conn)
			if (wait_until(deadline) == ETIMEDOUT)
				break;
		if (lost_conn || now_ns() >= deadline) {
			pthread_mutex_unlock(&mtx);
			break;
		}
		outstanding++;
		pthread_mutex_unlock(&mtx);

		for (int i = 0; i < SEQ_LEN; i++)
			payload[i] = (uint8_t)(seq >> (8 * i));
		/* Paho copies the payload: the buffer may be reused at once. */
		while ((rc = MQTTAsync_sendMessage(pub, TOPIC, &msg, &ro)) ==
		    MQTTASYNC_MAX_BUFFERED_MESSAGES && now_ns() < deadline) {
			(*retries)++;
			usleep(100);
		}
		if (rc != MQTTASYNC_SUCCESS) {
			int lost;

			pthread_mutex_lock(&mtx);
			outstanding--;
			lost = lost_conn;
			pthread_mutex_unlock(&mtx);
			if (lost || rc == MQTTASYNC_MAX_BUFFERED_MESSAGES)
				break;
			die("publish %llu: %s (%d)", (unsigned long long)seq,
			    MQTTAsync_strerror(rc), rc);
		}
	}
	free(payload);
	return seq;
}

/* Publishes one poke: a message with sequence number POKE_SEQ, at the
 * run's QoS, not counted and not tracked (see the header). */
static int
poke(MQTTAsync pub)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	uint8_t payload[MAX_SIZE < 4096 ? MAX_SIZE : 4096];
	size_t len = opt.size < sizeof(payload) ? opt.size : sizeof(payload);

	memset(payload, 0xff, SEQ_LEN);
	memset(payload + SEQ_LEN, 'p', len - SEQ_LEN);
	msg.payload = payload;
	msg.payloadlen = (int)len;
	msg.qos = opt.qos;
	return MQTTAsync_sendMessage(pub, TOPIC, &msg, NULL) == MQTTASYNC_SUCCESS;
}

/* On stderr: the first ranges of sequence numbers that never arrived. */
static void
print_missing(void)
{
	unsigned shown = 0;

	fprintf(stderr, "transport: missing:");
	for (uint64_t i = 0; i < opt.count && shown < 8;) {
		uint64_t j = i;

		if (was_seen(i)) {
			i++;
			continue;
		}
		while (j + 1 < opt.count && !was_seen(j + 1))
			j++;
		fprintf(stderr, " %llu-%llu", (unsigned long long)i,
		    (unsigned long long)j);
		shown++;
		i = j + 1;
	}
	fprintf(stderr, "%s\n", shown == 8 ? " ..." : "");
}

static double
num(const char *name, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("--%s: '%s' is not a number from %g to %g", name, s, lo, hi);
	return v;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: transport URL [--ca FILE] [--count N] "
	    "[--qos 0|1|2] [--size 64] [--window 1000] [--stall 5] "
	    "[--time-limit 100] [--pub-url URL] [--poke-ms 2]\n"
	    "  URL: tcp://HOST:PORT ssl://HOST:PORT ws://HOST:PORT/PATH "
	    "wss://HOST:PORT/PATH\n");
	exit(2);
}

/* ---- the two processes ------------------------------------------------- */

/* What the publisher reports to the subscriber's process. */
struct pubreport {
	uint64_t	 sent, pub_failed, retries, stray, pokes;
	unsigned	 unfinished;
	int		 lost_conn;
};

/* Reads exactly len bytes from fd within timeout_ms; 0, or -1 on EOF,
 * error or timeout. */
static int
read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t t = now_ns();
		ssize_t n;

		if (t >= deadline)
			return -1;
		if (poll(&pfd, 1, (int)((deadline - t) / 1000000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd.revents == 0)
			continue;
		if ((n = read(fd, (char *)buf + got, len - got)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void
write_full(int fd, const void *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("pipe: %s", strerror(errno));
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
}

/* The child: connects, says so ('r'), waits for the go ('g'), publishes;
 * then pokes every --poke-ms until the subscriber's process says it is
 * done ('d') and every publish is complete (or 2 s after 'd'); reports
 * and exits. */
static void __attribute__((noreturn))
publisher(int go_fd, int report_fd, pid_t parent)
{
	struct pubreport rep = { 0 };
	char id[64], c;
	MQTTAsync pub;
	uint64_t deadline;

	snprintf(id, sizeof(id), "transport-pub-%ld", (long)parent);
	pub = client(id, opt.pub_url, 1);
	await_ops("publisher connect");
	write_full(report_fd, "r", 1);
	if (read_full(go_fd, &c, 1, (int)(opt.limit_s * 1000)) != 0 || c != 'g')
		die("publisher: no go from the subscriber");

	deadline = now_ns() + (uint64_t)(opt.limit_s * NS);
	rep.sent = publish_all(pub, deadline, &rep.retries);
	for (uint64_t done_at = 0;;) {
		uint64_t t = now_ns();
		int complete, lost;

		pthread_mutex_lock(&mtx);
		complete = outstanding == 0;
		lost = lost_conn;
		pthread_mutex_unlock(&mtx);
		if (lost || t >= deadline ||
		    (done_at > 0 && (complete || t - done_at > 2 * NS)))
			break;
		if (opt.poke_ms > 0 && poke(pub))
			rep.pokes++;
		if (done_at == 0) {
			struct pollfd pfd = { .fd = go_fd, .events = POLLIN };
			int ms = opt.poke_ms > 0 ? (int)opt.poke_ms : 10;

			/* 'd', or EOF: the other process is gone. */
			if (poll(&pfd, 1, ms) > 0) {
				done_at = now_ns();
				if (read(go_fd, &c, 1) != 1)
					c = 0;
			}
		} else
			usleep(opt.poke_ms > 0 ? opt.poke_ms * 1000 : 10000);
	}
	pthread_mutex_lock(&mtx);
	rep.pub_failed = pub_failed;
	rep.unfinished = outstanding;
	rep.stray = stray;
	rep.lost_conn = lost_conn;
	if (lost_conn)
		fprintf(stderr, "transport: %s\n", lost_why);
	pthread_mutex_unlock(&mtx);
	write_full(report_fd, &rep, sizeof(rep));
	close_client(pub);
	fflush(NULL);
	_exit(rep.lost_conn ? 1 : 0);
}

/* Reaps the child within a few seconds, or kills it. */
static void
reap_child(void)
{
	int status;

	for (int i = 0; i < 500; i++) {
		if (waitpid(child, &status, WNOHANG) == child) {
			child = 0;
			return;
		}
		usleep(10000);
	}
	fprintf(stderr, "transport: the publisher (pid %ld) did not exit: "
	    "killed\n", (long)child);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	child = 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "pub-url", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "qos", required_argument, NULL, 'q' },
		{ "size", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "stall", required_argument, NULL, 'S' },
		{ "time-limit", required_argument, NULL, 'T' },
		{ "poke-ms", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pthread_condattr_t ca;
	MQTTAsync sub;
	MQTTAsync_responseOptions so = MQTTAsync_responseOptions_initializer;
	struct pubreport rep = { 0 };
	char subid[64], c;
	int go[2], report[2];
	uint64_t start, deadline, seen_at, last_uniq, lost;
	double secs;
	int ch, rc, stalled = 0, have_rep;
	pid_t parent;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': opt.ca = optarg; break;
		case 'p': opt.pub_url = optarg; break;
		case 'n': opt.count = (uint64_t)num("count", optarg, 1, 1e9); break;
		case 'q': opt.qos = (int)num("qos", optarg, 0, 2); break;
		case 's': opt.size = (size_t)num("size", optarg, SEQ_LEN, MAX_SIZE); break;
		case 'w': opt.window = (unsigned)num("window", optarg, 1, 60000); break;
		case 'S': opt.stall_s = num("stall", optarg, 0.1, 3600); break;
		case 'T': opt.limit_s = num("time-limit", optarg, 1, 86400); break;
		case 'k': opt.poke_ms = (unsigned)num("poke-ms", optarg, 0, 1000); break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	opt.url = argv[optind];
	if (opt.pub_url == NULL)
		opt.pub_url = opt.url;
	if (opt.ca != NULL && access(opt.ca, R_OK) != 0)
		die("--ca %s: %s", opt.ca, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &ca);

	/* The fork comes before any Paho call: each process gets its own
	 * library state and threads. */
	fflush(NULL);
	parent = getpid();
	if (pipe(go) != 0 || pipe(report) != 0)
		die("pipe: %s", strerror(errno));
	if ((child = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		/* Dies with the subscriber's process (timeout(1) kills only
		 * that one). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(1);
		close(go[1]);
		close(report[0]);
		publisher(go[0], report[1], parent);
	}
	close(go[0]);
	close(report[1]);

	if ((seen = calloc(opt.count / 8 + 1, 1)) == NULL)
		die("out of memory");
	snprintf(subid, sizeof(subid), "transport-sub-%ld", (long)getpid());
	sub = client(subid, opt.url, 0);
	await_ops("subscriber connect");
	so.onSuccess = on_sub_ok;
	so.onFailure = on_op_fail;
	so.context = "subscribe";
	start_op();
	if ((rc = MQTTAsync_subscribe(sub, TOPIC, opt.qos, &so)) !=
	    MQTTASYNC_SUCCESS)
		die("subscribe: %s (%d)", MQTTAsync_strerror(rc), rc);
	await_ops("subscribe");
	if (read_full(report[0], &c, 1, 20000) != 0 || c != 'r')
		die("the publisher did not connect");
	write_full(go[1], "g", 1);

	/* Until all arrived, the stall time passes with nothing new, the
	 * time limit, or a lost connection. */
	start = now_ns();
	deadline = start + (uint64_t)(opt.limit_s * NS);
	pthread_mutex_lock(&mtx);
	seen_at = start;
	last_uniq = uniq;
	while (uniq < opt.count && !lost_conn) {
		uint64_t t = now_ns(), until = seen_at + (uint64_t)(opt.stall_s * NS);

		if (uniq != last_uniq) {
			last_uniq = uniq;
			seen_at = t;
			continue;
		}
		if (t >= until || t >= deadline) {
			stalled = 1;
			break;
		}
		wait_until(until < deadline ? until : deadline);
	}
	if (lost_conn) {
		fprintf(stderr, "transport: %s\n", lost_why);
		stalled = 1;
	}
	pthread_mutex_unlock(&mtx);

	/* Done: the publisher stops poking, finishes and reports. */
	write_full(go[1], "d", 1);
	have_rep = read_full(report[0], &rep, sizeof(rep), 10000) == 0;
	if (!have_rep)
		fprintf(stderr, "transport: no report from the publisher\n");
	reap_child();

	pthread_mutex_lock(&mtx);
	secs = last_ns > first_ns ? (double)(last_ns - first_ns) / NS : 0;
	lost = opt.count - uniq;
	printf("transport url=%s msgs=%llu seconds=%.3f rate=%.0f lost=%llu "
	    "dup=%llu qos=%d size=%zu reorder=%llu lost_tail=%llu sent=%lld "
	    "pub_failed=%llu unfinished=%u retries=%llu stray=%llu "
	    "pokes=%llu/%llu stalled=%d%s%s\n", opt.url,
	    (unsigned long long)received, secs,
	    secs > 0 ? (double)received / secs : 0, (unsigned long long)lost,
	    (unsigned long long)dups, opt.qos, opt.size,
	    (unsigned long long)reorder, (unsigned long long)(opt.count - top),
	    have_rep ? (long long)rep.sent : -1LL,
	    (unsigned long long)rep.pub_failed, rep.unfinished,
	    (unsigned long long)rep.retries, (unsigned long long)rep.stray,
	    (unsigned long long)pokes_seen, (unsigned long long)rep.pokes,
	    stalled, opt.pub_url != opt.url ? " pub_url=" : "",
	    opt.pub_url != opt.url ? opt.pub_url : "");
	if (bad > 0)
		fprintf(stderr, "transport: %llu messages with a bad payload\n",
		    (unsigned long long)bad);
	if (lost > 0)
		print_missing();
	fflush(NULL);
	rc = lost_conn || received == 0 || !have_rep || rep.lost_conn;
	pthread_mutex_unlock(&mtx);

	close_client(sub);
	free(seen);
	return rc;
}
