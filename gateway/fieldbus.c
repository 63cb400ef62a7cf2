/* The sink of the field drivers: readings and states as broker publishes. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "conf.h"
#include "drivers/driver.h"
#include "fieldbus.h"
#include "log.h"

/* The readings of the poll in progress on this line thread. */
static __thread struct broker_batch *pending;

/* Queues one publish of this thread's poll. */
static void
add(const char *topic, const char *payload, size_t len, int qos, int retain)
{
	if (pending == NULL)
		pending = broker_batch_new();
	broker_batch_add(pending, topic, payload, len, (uint8_t)qos, retain);
}

/* Sends the poll's readings to the broker in one go. Line thread. */
static void
on_flush(void *arg)
{
	struct broker *b = arg;

	if (pending != NULL)
		broker_post_batch(b, pending);
	pending = NULL;
}

/* Appends n bytes of s at *p. */
static char *
put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LITERAL(p, lit)	put((p), (lit), sizeof(lit) - 1)

/*
 * {"value": ..., "ts": ..., "quality": "good"} or the bare value, built
 * without printf: this runs for every reading. Line thread.
 */
static void
on_reading(void *arg, const struct drv_reading *r)
{
	static const char bad[] = "null";
	struct drv_value ts = { .kind = DRV_V_UINT, .u = r->time_ms };
	char		 val[6 * DRV_STRING_MAX + 16], num[32];
	char		 buf[sizeof(val) + 96], *p = buf;
	size_t		 vlen, tlen;

	(void)arg;
	if (r->value == NULL && r->bare)
		return;		/* a bare payload has no quality: $state says it */
	if (r->value != NULL)
		vlen = drv_value_json(r->value, val, sizeof(val));
	else
		vlen = strlen(strcpy(val, bad));
	if (vlen >= sizeof(val))
		return;
	if (r->bare) {
		add(r->topic, val, vlen, r->qos, r->retain);
		return;
	}
	tlen = drv_value_json(&ts, num, sizeof(num));
	p = PUT_LITERAL(p, "{\"value\":");
	p = put(p, val, vlen);
	p = PUT_LITERAL(p, ",\"ts\":");
	p = put(p, num, tlen);
	p = r->value != NULL ? PUT_LITERAL(p, ",\"quality\":\"good\"}") :
	    PUT_LITERAL(p, ",\"quality\":\"bad\"}");
	add(r->topic, buf, (size_t)(p - buf), r->qos, r->retain);
}

/* Retained {"state": "online"} or {"state": "offline", "reason": ...}. */
static void
on_state(void *arg, const struct drv_state *s)
{
	struct drv_value	 why = { .kind = DRV_V_STRING };
	char			 reason[300], buf[400];
	int			 n;

	if (s->online) {
		n = snprintf(buf, sizeof(buf), "{\"state\":\"online\",\"ts\":%" PRIu64
		    "}", s->time_ms);
	} else {
		snprintf(why.str, sizeof(why.str), "%s", s->reason ? s->reason : "");
		drv_value_json(&why, reason, sizeof(reason));
		n = snprintf(buf, sizeof(buf), "{\"state\":\"offline\",\"reason\":%s,"
		    "\"ts\":%" PRIu64 "}", reason, s->time_ms);
	}
	(void)arg;
	if (n > 0 && (size_t)n < sizeof(buf))
		add(s->topic, buf, (size_t)n, 1, 1);
}

/* Retained counters on $SYS/fieldmq/devices/<name>. */
static void
on_stats(void *arg, const struct drv_stats *st)
{
	struct broker		*b = arg;
	struct drv_value	 e = { .kind = DRV_V_STRING };
	char			 err[400], topic[200], buf[800];
	int			 n;

	snprintf(e.str, sizeof(e.str), "%s", st->last_error);
	drv_value_json(&e, err, sizeof(err));
	snprintf(topic, sizeof(topic), "$SYS/fieldmq/devices/%s", st->device);
	n = snprintf(buf, sizeof(buf), "{\"online\":%s,\"requests\":%" PRIu64
	    ",\"timeouts\":%" PRIu64 ",\"exceptions\":%" PRIu64
	    ",\"connection_errors\":%" PRIu64 ",\"other_errors\":%" PRIu64
	    ",\"last_success\":%" PRIu64 ",\"last_error\":%s,\"rtt_avg_ms\":%.3f"
	    ",\"rtt_max_ms\":%.3f}", st->online ? "true" : "false", st->requests,
	    st->timeouts, st->exceptions, st->conn_errors, st->other_errors,
	    st->last_success_ms, err, st->rtt_avg_ms, st->rtt_max_ms);
	if (n > 0 && (size_t)n < sizeof(buf))
		broker_post(b, topic, buf, (size_t)n, 0, 1);
}

struct drv_lines *
fieldbus_start(const struct fmq_config *cfg, struct broker *b)
{
	struct drv_sink		 sink = { on_reading, on_state, on_stats, on_flush, b };
	struct drv_lines	*lines;

	if (cfg->ndevices == 0)
		return NULL;
	lines = drv_lines_new(cfg, &sink);
	if (drv_lines_start(lines) == -1) {
		drv_lines_free(lines);
		return NULL;
	}
	log_info("drivers", NULL, "polling %zu device%s on %zu line%s",
	    cfg->ndevices, cfg->ndevices == 1 ? "" : "s", drv_lines_count(lines),
	    drv_lines_count(lines) == 1 ? "" : "s");
	return lines;
}

void
fieldbus_stop(struct drv_lines *lines)
{
	drv_lines_free(lines);
}
