/*
 * Unit tests of the broker core: routing through the in-process API,
 * overlapping subscriptions, retained messages, and a network session
 * (over a socketpair) with its in-flight window, queue limits and drops.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "broker/internal.h"
#include "broker/packet.h"
#include "conf.h"
#include "loop.h"

struct got {
	char	topic[64];
	char	payload[64];
	int	qos;
	int	retain;
	int	n;
};

static void
on_msg(const struct broker_message *m, void *arg)
{
	struct got *g = arg;

	snprintf(g->topic, sizeof(g->topic), "%.*s", (int)m->topic_len, m->topic);
	snprintf(g->payload, sizeof(g->payload), "%.*s", (int)m->payload_len,
	    (const char *)m->payload);
	g->qos = m->qos;
	g->retain = m->retain;
	g->n++;
}

/* A config with no listeners and small limits. */
static struct fmq_config *
test_config(void)
{
	static const char yaml[] =
	    "broker:\n  max_inflight: 5\n  max_queued_messages: 10\n"
	    "  sys_interval: 0\n";
	struct cfg_errors errs = { 0 };
	struct fmq_config *cfg = config_load_buffer("t.yaml", yaml,
	    strlen(yaml), &errs);

	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

START_TEST(test_inprocess)
{
	struct loop		*loop = loop_new();
	struct fmq_config	*cfg = test_config();
	struct broker		*b = broker_new(loop, cfg, NULL);
	struct got		 g = { 0 }, h = { 0 };
	struct broker_client	*sub = broker_client_new(b, "sub", on_msg, &g);
	struct broker_client	*sub2 = broker_client_new(b, "sub2", on_msg, &h);
	struct broker_client	*pub = broker_client_new(b, "pub", NULL, NULL);
	struct broker_stats	 st;

	ck_assert_ptr_null(broker_client_new(b, "sub", on_msg, &g));
	ck_assert_int_eq(broker_client_subscribe(sub, "plant/+/temp", 1), 1);
	ck_assert_int_eq(broker_client_subscribe(sub, "plant/#", 2), 2);
	ck_assert_int_eq(broker_client_subscribe(sub2, "plant/boiler/+", 0), 0);
	ck_assert_int_eq(broker_client_subscribe(sub, "a/#/b", 0), -1);
	ck_assert_int_eq(broker_client_publish(pub, "plant/+", "x", 1, 0, 0), -1);

	/* Overlapping filters: one copy, at the highest granted QoS. */
	ck_assert_int_eq(broker_client_publish(pub, "plant/boiler/temp", "21.5",
	    4, 2, 0), 0);
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.topic, "plant/boiler/temp");
	ck_assert_str_eq(g.payload, "21.5");
	ck_assert_int_eq(g.qos, 2);
	ck_assert_int_eq(g.retain, 0);
	/* Delivery QoS is the minimum of publish and subscription QoS. */
	ck_assert_int_eq(h.n, 1);
	ck_assert_int_eq(h.qos, 0);
	ck_assert_int_eq(broker_client_publish(pub, "plant/boiler/temp", "22", 2,
	    1, 0), 0);
	ck_assert_int_eq(g.qos, 1);

	/* $ topics are not matched by a leading wildcard. */
	ck_assert_int_eq(broker_client_subscribe(sub2, "#", 0), 0);
	h.n = 0;
	broker_client_publish(pub, "$SYS/x", "1", 1, 0, 0);
	ck_assert_int_eq(h.n, 0);

	ck_assert_int_eq(broker_client_unsubscribe(sub, "plant/#"), 0);
	ck_assert_int_eq(broker_client_unsubscribe(sub, "plant/#"), -1);
	g.n = 0;
	broker_client_publish(pub, "plant/boiler/pressure", "1", 1, 0, 0);
	ck_assert_int_eq(g.n, 0);

	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.msgs_received, 4);
	ck_assert_uint_eq(st.subscriptions, 3);
	broker_client_free(sub);
	broker_client_free(sub2);
	broker_client_free(pub);
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.subscriptions, 0);
	broker_free(b);
	config_free(cfg);
	loop_free(loop);
}
END_TEST

START_TEST(test_retained)
{
	struct loop		*loop = loop_new();
	struct fmq_config	*cfg = test_config();
	struct broker		*b = broker_new(loop, cfg, NULL);
	struct got		 g = { 0 };
	struct broker_client	*pub = broker_client_new(b, "pub", NULL, NULL);
	struct broker_client	*sub = broker_client_new(b, "sub", on_msg, &g);
	struct broker_stats	 st;

	broker_client_publish(pub, "cfg/a", "one", 3, 1, 1);
	broker_client_publish(pub, "cfg/a", "two", 3, 1, 1);
	broker_client_publish(pub, "cfg/b", "bee", 3, 0, 1);
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.retained, 2);
	ck_assert_int_eq(broker_client_subscribe(sub, "cfg/a", 2), 2);
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.payload, "two");
	ck_assert_int_eq(g.retain, 1);
	ck_assert_int_eq(g.qos, 1);
	/* An empty payload deletes. */
	broker_client_publish(pub, "cfg/a", "", 0, 0, 1);
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.retained, 1);
	g.n = 0;
	broker_client_subscribe(sub, "cfg/#", 0);
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.payload, "bee");
	broker_client_free(pub);
	broker_client_free(sub);
	broker_free(b);
	config_free(cfg);
	loop_free(loop);
}
END_TEST

/* Reads what the broker wrote to the client's end into out. */
static void
drain(int fd, struct buf *out)
{
	ssize_t n;

	while ((n = read(fd, buf_reserve(out, 65536), 65536)) > 0)
		out->len += (size_t)n;
}

/* Counts PUBLISH packets in bytes and collects their packet ids. */
static size_t
count_publishes(struct buf *in, uint16_t *ids, size_t max)
{
	struct mqtt_frame	f;
	struct mqtt_publish	p;
	size_t			n = 0;

	while (mqtt_frame(buf_data(in), buf_pending(in), 1 << 20, &f) == MQTT_OK) {
		if (f.type == MQTT_PUBLISH &&
		    mqtt_decode_publish(&f, buf_data(in) + f.header_len, &p) == MQTT_OK &&
		    n < max)
			ids[n++] = p.id;
		buf_consume(in, f.header_len + f.body_len);
	}
	return n;
}

/* Runs loop turns until nothing happens for a moment. */
static void
settle(struct loop *loop)
{
	for (int i = 0; i < 20; i++)
		loop_run_once(loop, 10);
}

START_TEST(test_window_and_queue_limits)
{
	struct loop		*loop = loop_new();
	struct fmq_config	*cfg = test_config();
	struct broker		*b = broker_new(loop, cfg, NULL);
	struct listener		 l = { .b = b, .fd = -1, .max_packet = 1 << 20,
				   .connect_timeout_ms = 10000,
				   .max_connections = 10, .allow_anonymous = 1 };
	struct broker_client	*pub = broker_client_new(b, "pub", NULL, NULL);
	struct mqtt_connect	 k = { .level = 4, .clean = 1, .keepalive = 60,
				   .client_id = { "slow", 4 } };
	const char		*filters[] = { "t/#" };
	uint8_t			 qos[] = { 1 };
	struct buf		 w = { 0 }, in = { 0 };
	struct session		*s;
	struct broker_stats	 st;
	uint16_t		 ids[64];
	int			 sv[2];

	snprintf(l.name, sizeof(l.name), "test");
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	conn_accept(&l, sv[0], "socketpair", 0);
	mqtt_encode_connect(&w, &k);
	mqtt_encode_subscribe(&w, 1, filters, qos, 1);
	ck_assert_int_eq(write(sv[1], buf_data(&w), buf_pending(&w)),
	    (ssize_t)buf_pending(&w));
	settle(loop);
	drain(sv[1], &in);
	/* CONNACK (4 bytes) and SUBACK (5 bytes). */
	ck_assert_uint_eq(buf_pending(&in), 9);
	ck_assert_ptr_nonnull(s = session_find(b->sessions, "slow", 4));
	buf_reset(&in, 0);

	/* 100 QoS 1 messages to a client that does not acknowledge. */
	for (int i = 0; i < 100; i++)
		broker_client_publish(pub, "t/x", "payload", 7, 1, 0);
	settle(loop);
	ck_assert_uint_eq(s->inflight_active, 5);
	ck_assert_uint_eq(s->queue.n, 10);
	ck_assert_uint_eq(s->dropped, 85);
	broker_get_stats(b, &st);
	ck_assert_uint_eq(st.msgs_dropped, 85);
	drain(sv[1], &in);
	ck_assert_uint_eq(count_publishes(&in, ids, 64), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(ids[i], (uint16_t)(i + 1));

	/* Acknowledging the window lets the queue move, in order. */
	buf_reset(&w, 0);
	for (uint16_t id = 1; id <= 5; id++)
		mqtt_encode_ack(&w, MQTT_PUBACK, id);
	ck_assert_int_eq(write(sv[1], buf_data(&w), buf_pending(&w)),
	    (ssize_t)buf_pending(&w));
	settle(loop);
	ck_assert_uint_eq(s->inflight_active, 5);
	ck_assert_uint_eq(s->queue.n, 5);
	drain(sv[1], &in);
	ck_assert_uint_eq(count_publishes(&in, ids, 64), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(ids[i], (uint16_t)(i + 6));

	/* An acknowledgement out of order frees its slot too. */
	buf_reset(&w, 0);
	mqtt_encode_ack(&w, MQTT_PUBACK, 8);
	ck_assert_int_eq(write(sv[1], buf_data(&w), buf_pending(&w)),
	    (ssize_t)buf_pending(&w));
	settle(loop);
	ck_assert_uint_eq(s->inflight_active, 5);
	ck_assert_uint_eq(s->queue.n, 4);

	close(sv[1]);
	settle(loop);
	/* A clean session ends with its connection. */
	ck_assert_ptr_null(session_find(b->sessions, "slow", 4));
	buf_free(&w);
	buf_free(&in);
	broker_client_free(pub);
	broker_free(b);
	config_free(cfg);
	loop_free(loop);
}
END_TEST

START_TEST(test_offline_session)
{
	struct loop		*loop = loop_new();
	struct fmq_config	*cfg = test_config();
	struct broker		*b = broker_new(loop, cfg, NULL);
	struct broker_client	*pub = broker_client_new(b, "pub", NULL, NULL);
	struct session		*s = session_add(b, "away", 4);

	/* An offline persistent session: QoS 1 queued (to the limit), QoS 0 not. */
	session_subscribe(b, s, "t/#", 3, 2);
	for (int i = 0; i < 12; i++)
		broker_client_publish(pub, "t/x", "p", 1, 1, 0);
	broker_client_publish(pub, "t/x", "p", 1, 0, 0);
	ck_assert_uint_eq(s->queue.n, 10);
	ck_assert_uint_eq(s->dropped, 2);
	ck_assert(!session_qos2_seen(s, 7));
	ck_assert(session_qos2_seen(s, 7));
	session_qos2_release(s, 7);
	ck_assert(!session_qos2_seen(s, 7));
	broker_client_free(pub);
	broker_free(b);
	config_free(cfg);
	loop_free(loop);
}
END_TEST

struct poster {
	struct broker	*b;
	int		 n;
	int		 refused;
};

static void *
post_thread(void *arg)
{
	struct poster *p = arg;
	char buf[16];

	for (int i = 0; i < p->n; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		while (broker_post(p->b, "drv/x", buf, strlen(buf), 1, 0) == -1)
			p->refused++;	/* the queue is full: the loop catches up */
	}
	return NULL;
}

struct seq {
	int	next;
	int	bad;
};

static void
on_seq(const struct broker_message *m, void *arg)
{
	struct seq *q = arg;
	char buf[16];

	snprintf(buf, sizeof(buf), "%.*s", (int)m->payload_len,
	    (const char *)m->payload);
	if (atoi(buf) != q->next)
		q->bad++;
	q->next++;
}

/* Publishes from another thread reach subscribers in order, none lost. */
START_TEST(test_post_from_thread)
{
	struct loop		*loop = loop_new();
	struct fmq_config	*cfg = test_config();
	struct broker		*b = broker_new(loop, cfg, NULL);
	struct seq		 q = { 0 };
	struct broker_client	*sub = broker_client_new(b, "sub", on_seq, &q);
	struct poster		 p = { b, 200000, 0 };
	pthread_t		 t;

	ck_assert_int_eq(broker_start(b), 0);
	broker_client_subscribe(sub, "drv/#", 1);
	ck_assert_int_eq(broker_post(b, "drv/+", "x", 1, 0, 0), -1);
	ck_assert_int_eq(pthread_create(&t, NULL, post_thread, &p), 0);
	for (int i = 0; i < 100000 && q.next < p.n; i++)
		loop_run_once(loop, 100);
	pthread_join(t, NULL);
	ck_assert_int_eq(q.next, p.n);
	ck_assert_int_eq(q.bad, 0);
	broker_stop(b);
	broker_client_free(sub);
	broker_free(b);
	config_free(cfg);
	loop_free(loop);
}
END_TEST

static Suite *
broker_suite(void)
{
	Suite	*s = suite_create("broker");
	TCase	*tc;

	tc = tcase_create("in-process");
	tcase_add_test(tc, test_inprocess);
	tcase_add_test(tc, test_retained);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_post_from_thread);
	suite_add_tcase(s, tc);
	tc = tcase_create("sessions");
	tcase_add_test(tc, test_window_and_queue_limits);
	tcase_add_test(tc, test_offline_session);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(broker_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
