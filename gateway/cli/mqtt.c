/*
 * The fieldmq tool's MQTT client (Paho MQTT C): subscribes to filters on
 * the gateway's broker and hands each message to a callback, until a
 * count, a quiet time or an error ends it. Used by tail and status.
 */
#include "config.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf.h"
#include "util.h"

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 done;
	int			 status;
	long			 left;
	struct cli_sub		*sub;
} g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, -1, NULL };

static void
finish(int status)
{
	pthread_mutex_lock(&g.lock);
	if (!g.done) {
		g.done = 1;
		g.status = status;
	}
	pthread_cond_signal(&g.cond);
	pthread_mutex_unlock(&g.lock);
}

static int
on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
	size_t len = tlen > 0 ? (size_t)tlen : strlen(topic);

	pthread_mutex_lock(&g.lock);
	if (g.left != 0 && !g.done) {
		g.sub->on_message(topic, len, m->payload, (size_t)m->payloadlen,
		    m->retained, g.sub->arg);
		pthread_cond_signal(&g.cond);	/* restarts a quiet wait */
		if (g.left > 0 && --g.left == 0) {
			g.done = 1;
			g.status = 0;
		}
	}
	pthread_mutex_unlock(&g.lock);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void
on_lost(void *ctx, char *cause)
{
	fprintf(stderr, "fieldmq: connection lost%s%s\n", cause ? ": " : "",
	    cause ? cause : "");
	finish(1);
}

static void
on_failure(void *ctx, MQTTAsync_failureData *r)
{
	fprintf(stderr, "fieldmq: %s: %s: %s\n", g.sub->url, (const char *)ctx,
	    r && r->message ? r->message : MQTTAsync_strerror(r ? r->code : -1));
	finish(1);
}

static void
on_connect_failure(void *ctx, MQTTAsync_failureData *r)
{
	on_failure("connect", r);
}

static void
on_subscribed(void *ctx, MQTTAsync_successData *r)
{
	if (r != NULL && r->alt.qos == 0x80) {
		fprintf(stderr, "fieldmq: the broker refused the subscription\n");
		finish(1);
	}
}

static void
on_connected(void *ctx, MQTTAsync_successData *r)
{
	MQTTAsync			 c = ctx;
	MQTTAsync_responseOptions	 o = MQTTAsync_responseOptions_initializer;
	int				*qos;

	qos = xcalloc((size_t)g.sub->nfilters, sizeof(*qos));
	o.onSuccess = on_subscribed;
	o.onFailure = on_failure;
	o.context = "subscribe";
	if (MQTTAsync_subscribeMany(c, g.sub->nfilters, g.sub->filters, qos,
	    &o) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "fieldmq: cannot subscribe\n");
		finish(1);
	}
	free(qos);
}

int
cli_broker_address(const char *config, char *host, size_t hsz, long *port)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	const char		*bind;

	snprintf(host, hsz, "127.0.0.1");
	*port = 1883;
	if ((cfg = config_load(config ? config : FMQ_SYSCONF_FILE, &errs)) ==
	    NULL) {
		cfg_errors_free(&errs);
		return config != NULL ? -1 : 0;
	}
	if (cfg->broker.nlisteners > 0) {
		bind = cfg->broker.listeners[0].bind;
		if (strcmp(bind, "0.0.0.0") != 0 && strcmp(bind, "::") != 0)
			snprintf(host, hsz, "%s", bind);
		*port = (long)cfg->broker.listeners[0].port;
	}
	config_free(cfg);
	return 0;
}

int
cli_broker_option(struct cli_broker_opts *o, int ch, const char *arg)
{
	char *end;

	switch (ch) {
	case 'c':
		o->config = arg;
		return 1;
	case 'h':
		o->host = arg;
		return 1;
	case 'p':
		o->port = strtol(arg, &end, 10);
		return *end != '\0' || o->port < 1 || o->port > 65535 ? -1 : 1;
	case 'u':
		o->user = arg;
		return 1;
	default:
		return 0;
	}
}

int
cli_broker_resolve(struct cli_broker_opts *o, const char *cmd,
    struct cli_sub *sub)
{
	long port;

	if (cli_broker_address(o->config, o->hostbuf, sizeof(o->hostbuf),
	    &port) == -1) {
		fprintf(stderr, "fieldmq %s: %s: not a valid configuration (try "
		    "fieldmq check-config)\n", cmd, o->config);
		return -1;
	}
	sub->host = o->host != NULL ? o->host : o->hostbuf;
	sub->port = o->port > 0 ? o->port : port;
	sub->user = o->user;
	return 0;
}

int
cli_subscribe(struct cli_sub *sub)
{
	MQTTAsync			 c;
	MQTTAsync_connectOptions	 co = MQTTAsync_connectOptions_initializer;
	char				 id[64];
	struct timespec			 until;

	g.sub = sub;
	g.left = sub->max_messages > 0 ? sub->max_messages : -1;
	snprintf(sub->url, sizeof(sub->url), "tcp://%s:%ld", sub->host, sub->port);
	snprintf(id, sizeof(id), "fieldmq-%ld", (long)getpid());
	if (MQTTAsync_create(&c, sub->url, id, MQTTCLIENT_PERSISTENCE_NONE,
	    NULL) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "fieldmq: %s: cannot create a client\n", sub->url);
		return 1;
	}
	MQTTAsync_setCallbacks(c, NULL, on_lost, on_message, NULL);
	co.keepAliveInterval = 30;
	co.cleansession = 1;
	co.onSuccess = on_connected;
	co.onFailure = on_connect_failure;
	co.context = c;
	if (sub->user != NULL) {
		co.username = sub->user;
		co.password = getenv("FIELDMQ_PASSWORD");
	}
	if (MQTTAsync_connect(c, &co) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "fieldmq: %s: cannot connect\n", sub->url);
		MQTTAsync_destroy(&c);
		return 1;
	}
	pthread_mutex_lock(&g.lock);
	while (!g.done) {
		if (sub->quiet_ms <= 0) {
			pthread_cond_wait(&g.cond, &g.lock);
			continue;
		}
		/* Ends once nothing came for quiet_ms (retained messages first). */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += sub->quiet_ms / 1000;
		until.tv_nsec += (sub->quiet_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&g.cond, &g.lock, &until) == ETIMEDOUT &&
		    !g.done) {
			g.done = 1;
			g.status = 0;
		}
	}
	pthread_mutex_unlock(&g.lock);
	MQTTAsync_disconnect(c, NULL);
	MQTTAsync_destroy(&c);
	return g.status;
}
