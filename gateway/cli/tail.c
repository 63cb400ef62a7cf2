/*
 * `fieldmq tail`: follows topics on the gateway's broker like
 * `mosquitto_sub -v` (Paho MQTT C), one message a line; on a terminal the
 * topic is coloured and a JSON payload gets a space after ':' and ','.
 */
#include "config.h"

#include <MQTTAsync.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf.h"
#include "util.h"

void
tail_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq tail [-c CONFIG] [-h HOST] [-p PORT] [-u USER]\n"
	    "                    [-n COUNT] [TOPIC_FILTER...]\n"
	    "Prints the messages on the filters (default '#') as TOPIC PAYLOAD\n"
	    "lines, as they arrive. The broker is HOST:PORT, else the first\n"
	    "listener of CONFIG (default %s), else 127.0.0.1:1883. The password\n"
	    "for -u is read from the environment variable FIELDMQ_PASSWORD.\n"
	    "-n COUNT: exit after COUNT messages.\n", FMQ_SYSCONF_FILE);
}

static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 done;
	int		 status;
	long		 left;		/* messages to print; -1: no end */
	int		 tty;
} g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, -1, 0 };

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

/* A JSON payload with a space after ':' and ',' outside strings. */
static void
print_json(const char *p, size_t n)
{
	int in_string = 0;

	for (size_t i = 0; i < n; i++) {
		putchar(p[i]);
		if (in_string) {
			if (p[i] == '\\' && i + 1 < n)
				putchar(p[++i]);
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"')
			in_string = 1;
		else if ((p[i] == ':' || p[i] == ',') && i + 1 < n && p[i + 1] != ' ')
			putchar(' ');
	}
}

static int
on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
	size_t len = tlen > 0 ? (size_t)tlen : strlen(topic);

	pthread_mutex_lock(&g.lock);
	if (g.left != 0) {
		if (g.tty)
			printf("\033[36m%.*s\033[0m ", (int)len, topic);
		else
			printf("%.*s ", (int)len, topic);
		if (g.tty && m->payloadlen > 0 &&
		    (((char *)m->payload)[0] == '{' || ((char *)m->payload)[0] == '['))
			print_json(m->payload, (size_t)m->payloadlen);
		else
			fwrite(m->payload, 1, (size_t)m->payloadlen, stdout);
		putchar('\n');
		fflush(stdout);
		if (g.left > 0 && --g.left == 0) {
			pthread_mutex_unlock(&g.lock);
			finish(0);
			goto out;
		}
	}
	pthread_mutex_unlock(&g.lock);
out:
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void
on_lost(void *ctx, char *cause)
{
	fprintf(stderr, "fieldmq tail: connection lost%s%s\n", cause ? ": " : "",
	    cause ? cause : "");
	finish(1);
}

static void
on_failure(void *ctx, MQTTAsync_failureData *r)
{
	fprintf(stderr, "fieldmq tail: %s: %s\n", (const char *)ctx,
	    r && r->message ? r->message : MQTTAsync_strerror(r ? r->code : -1));
	finish(1);
}

static void
on_subscribed(void *ctx, MQTTAsync_successData *r)
{
	if (r != NULL && r->alt.qos == 0x80) {
		fprintf(stderr, "fieldmq tail: the broker refused the subscription\n");
		finish(1);
	}
}

static char	**filters;
static int	  nfilters;

static void
on_connected(void *ctx, MQTTAsync_successData *r)
{
	MQTTAsync			 c = ctx;
	MQTTAsync_responseOptions	 o = MQTTAsync_responseOptions_initializer;
	int				*qos = xcalloc((size_t)nfilters, sizeof(*qos));

	o.onSuccess = on_subscribed;
	o.onFailure = on_failure;
	o.context = "subscribe";
	if (MQTTAsync_subscribeMany(c, nfilters, filters, qos, &o) !=
	    MQTTASYNC_SUCCESS) {
		fprintf(stderr, "fieldmq tail: cannot subscribe\n");
		finish(1);
	}
	free(qos);
}

/* The first listener of a config, if there is one. */
static int
config_broker(const char *path, char *host, size_t hsz, long *port)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;

	if ((cfg = config_load(path, &errs)) == NULL) {
		cfg_errors_free(&errs);
		return -1;
	}
	if (cfg->broker.nlisteners == 0) {
		config_free(cfg);
		return -1;
	}
	snprintf(host, hsz, "%s", strcmp(cfg->broker.listeners[0].bind,
	    "0.0.0.0") == 0 || strcmp(cfg->broker.listeners[0].bind, "::") == 0 ?
	    "127.0.0.1" : cfg->broker.listeners[0].bind);
	*port = (long)cfg->broker.listeners[0].port;
	config_free(cfg);
	return 0;
}

int
tail_main(int argc, char **argv)
{
	MQTTAsync			 c;
	MQTTAsync_connectOptions	 co = MQTTAsync_connectOptions_initializer;
	const char			*config = NULL, *user = NULL, *host = NULL;
	static char			*all[] = { "#" };
	char				 url[300], chost[256], id[64], *end;
	long				 port = -1;
	int				 ch;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:h:p:u:n:")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || port < 1 || port > 65535) {
				tail_help(stderr);
				return 2;
			}
			break;
		case 'u':
			user = optarg;
			break;
		case 'n':
			g.left = strtol(optarg, &end, 10);
			if (*end != '\0' || g.left < 1) {
				tail_help(stderr);
				return 2;
			}
			break;
		default:
			tail_help(stderr);
			return 2;
		}
	}
	filters = optind < argc ? argv + optind : all;
	nfilters = optind < argc ? argc - optind : 1;
	if (host == NULL || port < 0) {
		long cport = 1883;

		snprintf(chost, sizeof(chost), "127.0.0.1");
		if (config_broker(config ? config : FMQ_SYSCONF_FILE, chost,
		    sizeof(chost), &cport) == -1 && config != NULL) {
			fprintf(stderr, "fieldmq tail: %s: no usable broker "
			    "listener (try fieldmq check-config)\n", config);
			return 1;
		}
		if (host == NULL)
			host = chost;
		if (port < 0)
			port = cport;
	}
	g.tty = isatty(STDOUT_FILENO);
	snprintf(url, sizeof(url), "tcp://%s:%ld", host, port);
	snprintf(id, sizeof(id), "fieldmq-tail-%ld", (long)getpid());
	if (MQTTAsync_create(&c, url, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS) {
		fprintf(stderr, "fieldmq tail: %s: cannot create a client\n", url);
		return 1;
	}
	MQTTAsync_setCallbacks(c, NULL, on_lost, on_message, NULL);
	co.keepAliveInterval = 30;
	co.cleansession = 1;
	co.onSuccess = on_connected;
	co.onFailure = on_failure;
	co.context = c;
	if (user != NULL) {
		co.username = user;
		co.password = getenv("FIELDMQ_PASSWORD");
	}
	if (MQTTAsync_connect(c, &co) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "fieldmq tail: %s: cannot connect\n", url);
		MQTTAsync_destroy(&c);
		return 1;
	}
	pthread_mutex_lock(&g.lock);
	while (!g.done)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
	MQTTAsync_disconnect(c, NULL);
	MQTTAsync_destroy(&c);
	return g.status;
}
