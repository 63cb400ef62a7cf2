/*
 * A real MQTT client library against the broker: Eclipse Paho C
 * (MQTTClient). Publishes at QoS 0, 1 and 2 to a subscriber and checks
 * that every message arrives once and in order; then checks a persistent
 * session across a reconnect. usage: paho_check HOST:PORT
 */
#include "config.h"

#include <MQTTClient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N	200

static const char *uri;

static void __attribute__((noreturn))
die(const char *what, int rc)
{
	fprintf(stderr, "paho_check: %s: %s (%d)\n", what, MQTTClient_strerror(rc), rc);
	exit(1);
}

/* Connects a client; returns it, with session present in *present. */
static MQTTClient
open_client(const char *id, int clean, int *present)
{
	MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
	MQTTClient c;
	int rc;

	if ((rc = MQTTClient_create(&c, uri, id, MQTTCLIENT_PERSISTENCE_NONE,
	    NULL)) != MQTTCLIENT_SUCCESS)
		die("create", rc);
	opts.keepAliveInterval = 30;
	opts.cleansession = clean;
	opts.MQTTVersion = MQTTVERSION_3_1_1;
	if ((rc = MQTTClient_connect(c, &opts)) != MQTTCLIENT_SUCCESS)
		die("connect", rc);
	if (present != NULL)
		*present = opts.returned.sessionPresent;
	return c;
}

static void
publish(MQTTClient c, const char *topic, int qos, int seq)
{
	MQTTClient_deliveryToken tok;
	char payload[32];
	int rc, len = snprintf(payload, sizeof(payload), "%d", seq);

	rc = MQTTClient_publish(c, topic, len, payload, qos, 0, &tok);
	if (rc != MQTTCLIENT_SUCCESS)
		die("publish", rc);
	if (qos > 0 && (rc = MQTTClient_waitForCompletion(c, tok, 5000)) !=
	    MQTTCLIENT_SUCCESS)
		die("waitForCompletion", rc);
}

/* Receives n messages on topic and checks they are 0..n-1 in order. */
static void
expect(MQTTClient c, const char *topic, int qos, int n)
{
	for (int want = 0; want < n;) {
		MQTTClient_message *m = NULL;
		char *t = NULL, buf[32];
		int tlen, rc;

		rc = MQTTClient_receive(c, &t, &tlen, &m, 5000);
		if (rc != MQTTCLIENT_SUCCESS && rc != MQTTCLIENT_TOPICNAME_TRUNCATED)
			die("receive", rc);
		if (m == NULL) {
			fprintf(stderr, "paho_check: %s: timed out at message %d of %d\n",
			    topic, want, n);
			exit(1);
		}
		snprintf(buf, sizeof(buf), "%.*s", m->payloadlen, (char *)m->payload);
		if (strcmp(t, topic) != 0 || atoi(buf) != want || m->qos != qos) {
			fprintf(stderr, "paho_check: got %s \"%s\" at QoS %d, want %s "
			    "\"%d\" at QoS %d\n", t, buf, m->qos, topic, want, qos);
			exit(1);
		}
		want++;
		MQTTClient_freeMessage(&m);
		MQTTClient_free(t);
	}
}

int
main(int argc, char **argv)
{
	static const char *topics[] = { "paho/q0", "paho/q1", "paho/q2" };
	MQTTClient sub, pub;
	char buf[256];
	int present, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: paho_check HOST:PORT\n");
		return 2;
	}
	snprintf(buf, sizeof(buf), "tcp://%s", argv[1]);
	uri = buf;

	sub = open_client("paho-sub", 1, NULL);
	if ((rc = MQTTClient_subscribe(sub, "paho/#", 2)) != MQTTCLIENT_SUCCESS)
		die("subscribe", rc);
	pub = open_client("paho-pub", 1, NULL);
	for (int q = 0; q < 3; q++) {
		for (int i = 0; i < N; i++)
			publish(pub, topics[q], q, i);
		expect(sub, topics[q], q, N);
	}
	printf("paho_check: %d messages at each of QoS 0, 1, 2: all arrived once, "
	    "in order\n", N);
	MQTTClient_disconnect(sub, 1000);
	MQTTClient_destroy(&sub);

	/* A persistent session: messages wait while the client is away. */
	sub = open_client("paho-persist", 0, NULL);
	if ((rc = MQTTClient_subscribe(sub, "keep/#", 1)) != MQTTCLIENT_SUCCESS)
		die("subscribe", rc);
	MQTTClient_disconnect(sub, 1000);
	MQTTClient_destroy(&sub);
	for (int i = 0; i < 20; i++)
		publish(pub, "keep/x", 1, i);
	sub = open_client("paho-persist", 0, &present);
	if (!present) {
		fprintf(stderr, "paho_check: session present is 0 on reconnect\n");
		return 1;
	}
	expect(sub, "keep/x", 1, 20);
	printf("paho_check: a persistent session kept 20 QoS 1 messages across "
	    "a reconnect (session present 1)\n");
	MQTTClient_disconnect(sub, 1000);
	MQTTClient_destroy(&sub);
	/* A clean session ends the stored one. */
	sub = open_client("paho-persist", 1, &present);
	if (present) {
		fprintf(stderr, "paho_check: session present with clean session\n");
		return 1;
	}
	MQTTClient_disconnect(sub, 1000);
	MQTTClient_destroy(&sub);
	MQTTClient_disconnect(pub, 1000);
	MQTTClient_destroy(&pub);
	return 0;
}
