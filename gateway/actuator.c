/* Command topics to validated tag writes, with a result message. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator.h"
#include "broker.h"
#include "broker/topic.h"
#include "conf.h"
#include "config/schema.h"
#include "drivers/driver.h"
#include "log.h"
#include "util.h"

struct last_write {
	char		*key;		/* "device/tag" */
	uint64_t	 at;		/* mono ms */
};

struct actuators {
	const struct fmq_config	*cfg;
	struct broker		*b;
	struct drv_lines	*lines;
	struct broker_client	*client;
	struct last_write	*last;
	size_t			 nlast;
};

/* What a write's callback needs after the command message is gone. */
struct pending_cmd {
	struct broker	*b;
	char		*result_topic;
	char		 device[64];
	char		 tag[64];
};

/* Publishes {"ok":...} on the result topic (any thread). */
static void
publish_result(struct broker *b, const char *topic, const char *device,
    const char *tag, const struct drv_value *v, const struct drv_value *back,
    const char *error)
{
	char	 val[600] = "null", rb[600] = "", err[400] = "", buf[2048];
	struct drv_value e = { .kind = DRV_V_STRING };
	int	 n;

	if (v != NULL)
		drv_value_json(v, val, sizeof(val));
	if (back != NULL) {
		memcpy(rb, ",\"readback\":", 12);
		drv_value_json(back, rb + 12, sizeof(rb) - 12);
	}
	if (error != NULL) {
		snprintf(e.str, sizeof(e.str), "%s", error);
		memcpy(err, ",\"error\":", 9);
		drv_value_json(&e, err + 9, sizeof(err) - 9);
	}
	n = snprintf(buf, sizeof(buf), "{\"ok\":%s,\"device\":\"%s\",\"tag\":\"%s\","
	    "\"value\":%s%s%s,\"ts\":%" PRIu64 "}", error ? "false" : "true",
	    device, tag, val, rb, err, wall_ms());
	if (n > 0 && (size_t)n < sizeof(buf))
		broker_post(b, topic, buf, (size_t)n, 1, 0);
}

/* A write is done (line thread). */
static void
on_written(void *arg, const struct drv_write_result *r)
{
	struct pending_cmd *p = arg;

	publish_result(p->b, p->result_topic, p->device, p->tag, r->written,
	    r->readback, r->ok ? NULL : r->why);
	free(p->result_topic);
	free(p);
}

/* Level n of topic into buf; 0, or -1 if there is no such level. */
static int
topic_level(const char *topic, int n, char *buf, size_t sz)
{
	const char *p = topic, *end;

	for (int i = 0; i < n; i++)
		if ((p = strchr(p, '/')) == NULL)
			return -1;
		else
			p++;
	end = strchr(p, '/');
	if (end == NULL)
		end = p + strlen(p);
	if ((size_t)(end - p) >= sz || end == p)
		return -1;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return 0;
}

/* A fixed name, or the topic level that "topic[N]" names. */
static int
resolve(const char *spec, const char *topic, char *buf, size_t sz)
{
	int n;

	if ((n = cfg_topic_index(spec)) >= 0)
		return topic_level(topic, n, buf, sz);
	snprintf(buf, sz, "%s", spec);
	return 0;
}

/* True if the tag was written less than min_interval ago (and notes now). */
static int
rate_limited(struct actuators *a, const char *device, const char *tag,
    uint64_t min_ms)
{
	char		 key[130];
	uint64_t	 now = mono_ms();

	snprintf(key, sizeof(key), "%s/%s", device, tag);
	for (size_t i = 0; i < a->nlast; i++) {
		if (strcmp(a->last[i].key, key) != 0)
			continue;
		if (now - a->last[i].at < min_ms)
			return 1;
		a->last[i].at = now;
		return 0;
	}
	a->last = xreallocarray(a->last, a->nlast + 1, sizeof(*a->last));
	a->last[a->nlast++] = (struct last_write){ xstrdup(key), now };
	return 0;
}

/* A command arrived on an actuator topic (loop thread). */
static void
on_command(const struct broker_message *m, void *arg)
{
	struct actuators		*a = arg;
	const struct cfg_actuator	*act = NULL;
	struct pending_cmd		*p;
	struct drv_value		 v;
	char				 topic[512], device[64], tag[64], why[256];
	char				*result;

	if (m->topic_len >= sizeof(topic))
		return;
	memcpy(topic, m->topic, m->topic_len);
	topic[m->topic_len] = '\0';
	if (m->retain) {
		log_warn("actuator", topic, "a retained command is never executed");
		return;
	}
	for (size_t i = 0; i < a->cfg->nactuators && act == NULL; i++)
		if (topic_match(a->cfg->actuators[i].topic,
		    strlen(a->cfg->actuators[i].topic), topic, m->topic_len))
			act = &a->cfg->actuators[i];
	if (act == NULL)
		return;
	result = xasprintf("%s/result", topic);
	if (resolve(act->device, topic, device, sizeof(device)) == -1 ||
	    resolve(act->tag, topic, tag, sizeof(tag)) == -1) {
		publish_result(a->b, result, "", "", NULL, NULL,
		    "the topic does not name a device and a tag");
		goto done;
	}
	if (drv_parse_value(m->payload, m->payload_len, &v, why, sizeof(why)) == -1) {
		publish_result(a->b, result, device, tag, NULL, NULL, why);
		goto done;
	}
	if (rate_limited(a, device, tag, act->min_interval_ms)) {
		snprintf(why, sizeof(why), "written less than %llu ms ago: "
		    "rate limited", (unsigned long long)act->min_interval_ms);
		publish_result(a->b, result, device, tag, &v, NULL, why);
		goto done;
	}
	p = xcalloc(1, sizeof(*p));
	p->b = a->b;
	p->result_topic = result;
	snprintf(p->device, sizeof(p->device), "%s", device);
	snprintf(p->tag, sizeof(p->tag), "%s", tag);
	if (drv_write(a->lines, device, tag, &v, act->readback, on_written, p,
	    why, sizeof(why)) == 0) {
		log_info("actuator", topic, "write %s.%s queued", device, tag);
		return;		/* the result topic now belongs to p */
	}
	log_warn("actuator", topic, "refused: %s", why);
	publish_result(a->b, result, device, tag, &v, NULL, why);
	free(p);
done:
	free(result);
}

struct actuators *
actuators_start(const struct fmq_config *cfg, struct broker *b,
    struct drv_lines *lines)
{
	struct actuators *a;

	if (cfg->nactuators == 0)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->cfg = cfg;
	a->b = b;
	a->lines = lines;
	a->client = broker_client_new(b, "$fieldmq/actuators", on_command, a);
	for (size_t i = 0; i < cfg->nactuators; i++)
		broker_client_subscribe(a->client, cfg->actuators[i].topic, 1);
	log_info("actuator", NULL, "%zu command topic%s subscribed",
	    cfg->nactuators, cfg->nactuators == 1 ? "" : "s");
	return a;
}

void
actuators_free(struct actuators *a)
{
	if (a == NULL)
		return;
	broker_client_free(a->client);
	for (size_t i = 0; i < a->nlast; i++)
		free(a->last[i].key);
	free(a->last);
	free(a);
}
