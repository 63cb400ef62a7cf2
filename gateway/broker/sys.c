/* $SYS/broker/... statistics, published (retained) every sys_interval. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "broker/internal.h"
#include "broker/topic.h"
#include "loop.h"
#include "util.h"

/* Publishes one retained $SYS value as text. */
static void
sys_put(struct broker *b, const char *topic, const char *value)
{
	struct msg *m = msg_new(topic, strlen(topic), value, strlen(value), 0, 1);

	m->time_ms = wall_ms();
	broker_retain(b, m);
	broker_route(b, m, NULL);
	msg_unref(m);
}

static void
sys_u64(struct broker *b, const char *topic, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	sys_put(b, topic, buf);
}

static void
sys_rate(struct broker *b, const char *topic, double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.2f", v);
	sys_put(b, topic, buf);
}

void
sys_publish(struct broker *b)
{
	struct broker_stats	 st;
	uint64_t		 up = (loop_now(b->loop) - b->started) / 1000;
	double			 secs = (double)b->lim.sys_interval_ms / 1000.0;
	double			 k = exp(-secs / 60.0);
	char			 buf[64];

	broker_get_stats(b, &st);
	/* Messages per minute, averaged exponentially over about a minute. */
	b->load_rx = b->load_rx * k + (double)(st.msgs_received - b->last_rx) /
	    secs * 60.0 * (1 - k);
	b->load_tx = b->load_tx * k + (double)(st.msgs_sent - b->last_tx) /
	    secs * 60.0 * (1 - k);
	b->last_rx = st.msgs_received;
	b->last_tx = st.msgs_sent;
	snprintf(buf, sizeof(buf), "%" PRIu64 " seconds", up);
	sys_put(b, "$SYS/broker/uptime", buf);
	sys_put(b, "$SYS/broker/version", "fieldmq " PACKAGE_VERSION);
	sys_u64(b, "$SYS/broker/clients/connected", st.clients_connected);
	sys_u64(b, "$SYS/broker/clients/total", st.clients_total);
	sys_u64(b, "$SYS/broker/messages/received", st.msgs_received);
	sys_u64(b, "$SYS/broker/messages/sent", st.msgs_sent);
	sys_u64(b, "$SYS/broker/messages/dropped", st.msgs_dropped);
	sys_u64(b, "$SYS/broker/bytes/received", st.bytes_received);
	sys_u64(b, "$SYS/broker/bytes/sent", st.bytes_sent);
	sys_u64(b, "$SYS/broker/retained messages/count", st.retained);
	sys_u64(b, "$SYS/broker/subscriptions/count", st.subscriptions);
	sys_rate(b, "$SYS/broker/load/messages/received/1min", b->load_rx);
	sys_rate(b, "$SYS/broker/load/messages/sent/1min", b->load_tx);
}
