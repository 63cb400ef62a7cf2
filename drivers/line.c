/*
 * Lines: one thread per TCP connection or serial port, polling the
 * devices behind it with planned requests, publishing through the sink,
 * and going offline and back with capped exponential backoff. Devices at
 * the same host:port (unit ids) or on the same serial port (multi-drop)
 * share a line, which serialises their requests.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "drivers/driver.h"
#include "drivers/modbus.h"
#include "drivers/plan.h"
#include "drivers/serial.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000

struct tagrt {
	const struct cfg_tag	*cfg;
	struct drv_format	 fmt;
	char			*topic;
	struct drv_value	 last;
	int			 has_last;
	int			 bad;		/* quality bad was published */
	int			 qos, retain;
};

/* The tags of a device that share a poll interval, and their plan. */
struct group {
	uint64_t		 poll_ms;
	uint64_t		 next_ms;
	struct plan		*plan;
};

struct devrt {
	const struct cfg_device	*cfg;
	struct tagrt		*tags;
	size_t			 ntags;
	struct group		*groups;
	size_t			 ngroups;
	char			*state_topic;
	int			 online;	/* -1 unknown, 0, 1 */
	uint64_t		 retry_at;	/* mono ms */
	uint64_t		 backoff_ms;
	uint64_t		 requests, errors;
	uint64_t		 timeouts, exceptions, conn_errors, other_errors;
	uint64_t		 last_success_ms;
	char			 last_error[160];
	uint64_t		 rtt_sum_us, rtt_max_us, rtt_n;
	uint64_t		 stats_at;	/* mono ms of the next stats */
};

#define STATS_MS	10000

/* A write waiting for its line thread. */
struct wreq {
	struct wreq		*next;
	struct devrt		*dev;
	struct tagrt		*tag;
	struct drv_value	 value;
	uint16_t		 regs[125];
	int			 nregs;
	int			 readback;
	drv_write_cb		 cb;
	void			*arg;
};

#define WRITES_MAX	64	/* queued per line; more are refused */

struct line {
	struct drv_lines	*all;
	struct mb		*mb;
	char			*key;
	struct devrt		*devs;
	size_t			 ndevs;
	pthread_t		 thread;
	int			 started;
	atomic_int		 stop;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	uint64_t		 retry_at;
	uint64_t		 backoff_ms;
	unsigned		 gap_us;	/* RTU: the silence between frames */
	struct wreq		*writes;	/* under mu, oldest first */
	struct wreq		**writes_tail;
	int			 nwrites;
	char			 last_error[128];
};

struct drv_lines {
	struct line		*v;
	size_t			 n;
	struct sline		**serial;	/* serial-line sensors */
	size_t			 nserial;
	struct drv_sink		 sink;
};

static const enum plan_table table_of[] = {
	[CFG_TABLE_COIL] = PLAN_COIL, [CFG_TABLE_DISCRETE] = PLAN_DISCRETE,
	[CFG_TABLE_INPUT] = PLAN_INPUT, [CFG_TABLE_HOLDING] = PLAN_HOLDING,
};

/* The line a device belongs to: "tcp host:port" or "rtu /dev/x". */
static char *
line_key(const struct cfg_device *d)
{
	if (d->driver == CFG_DRIVER_MODBUS_TCP)
		return xasprintf("tcp %s:%lld", d->host, (long long)d->port);
	return xasprintf("rtu %s", d->serial);
}

/* Builds a device's runtime: tags, topics, and a plan per poll interval. */
static void
devrt_init(struct devrt *r, const struct cfg_device *d)
{
	char			*base = config_device_topic(d);
	struct plan_item	*items = xcalloc(d->ntags ? d->ntags : 1, sizeof(*items));

	r->cfg = d;
	r->online = -1;
	r->state_topic = xasprintf("%s/$state", base);
	r->ntags = d->ntags;
	r->tags = xcalloc(d->ntags ? d->ntags : 1, sizeof(*r->tags));
	for (size_t i = 0; i < d->ntags; i++) {
		const struct cfg_tag	*c = &d->tags[i];
		struct tagrt		*t = &r->tags[i];
		uint64_t		 poll = c->poll_ms ? c->poll_ms : d->poll_ms;
		size_t			 g;

		t->cfg = c;
		t->topic = xasprintf("%s/%s", base, c->name);
		t->fmt = (struct drv_format){ (enum drv_type)c->type,
		    (enum drv_order)c->word_order, (int)c->bit,
		    (unsigned)c->length, c->scale, c->offset };
		t->qos = c->qos >= 0 ? (int)c->qos : (int)d->qos;
		t->retain = c->retain >= 0 ? c->retain : d->retain;
		for (g = 0; g < r->ngroups; g++)
			if (r->groups[g].poll_ms == poll)
				break;
		if (g == r->ngroups) {
			r->groups = xreallocarray(r->groups, r->ngroups + 1,
			    sizeof(*r->groups));
			r->groups[r->ngroups++] = (struct group){ poll, 0, NULL };
		}
	}
	/* One plan per poll interval, over the tags that have it. */
	for (size_t g = 0; g < r->ngroups; g++) {
		size_t n = 0;

		for (size_t i = 0; i < d->ntags; i++) {
			const struct cfg_tag *c = &d->tags[i];

			if ((c->poll_ms ? c->poll_ms : d->poll_ms) != r->groups[g].poll_ms)
				continue;
			items[n++] = (struct plan_item){ table_of[c->table],
			    (uint16_t)c->address,
			    (uint16_t)(c->table == CFG_TABLE_COIL ||
			    c->table == CFG_TABLE_DISCRETE ? 1 :
			    drv_registers(&r->tags[i].fmt)), i };
		}
		r->groups[g].plan = plan_new(items, n, (unsigned)d->max_gap,
		    (unsigned)d->max_registers);
	}
	free(items);
	free(base);
}

static void
devrt_free(struct devrt *r)
{
	for (size_t i = 0; i < r->ntags; i++)
		free(r->tags[i].topic);
	for (size_t g = 0; g < r->ngroups; g++)
		plan_free(r->groups[g].plan);
	free(r->groups);
	free(r->tags);
	free(r->state_topic);
}

struct drv_lines *
drv_lines_new(const struct fmq_config *cfg, const struct drv_sink *sink)
{
	struct drv_lines *all = xcalloc(1, sizeof(*all));
	char err[256];

	all->sink = *sink;
	all->v = xcalloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*all->v));
	for (size_t i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		char *key;
		struct line *l = NULL;

		if (d->driver == CFG_DRIVER_SERIAL_LINE) {
			struct sline *sl = sline_new(d, &all->sink);

			if (sl != NULL) {
				all->serial = xreallocarray(all->serial,
				    all->nserial + 1, sizeof(*all->serial));
				all->serial[all->nserial++] = sl;
			}
			continue;
		}
		key = line_key(d);
		for (size_t j = 0; j < all->n; j++)
			if (strcmp(all->v[j].key, key) == 0)
				l = &all->v[j];
		if (l == NULL) {
			struct mb *mb = mb_new(d, err, sizeof(err));

			if (mb == NULL) {
				log_error("modbus", d->name, "%s", err);
				free(key);
				continue;
			}
			l = &all->v[all->n++];
			l->all = all;
			l->mb = mb;
			l->key = key;
			pthread_mutex_init(&l->mu, NULL);
			l->writes_tail = &l->writes;
			{
				pthread_condattr_t ca;

				pthread_condattr_init(&ca);
				pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
				pthread_cond_init(&l->cv, &ca);
				pthread_condattr_destroy(&ca);
			}
			/* 3.5 characters of 11 bits, at least 1.75 ms (spec). */
			if (mb_is_serial(mb)) {
				unsigned us = (unsigned)(38500000 / d->baud);

				l->gap_us = us < 1750 ? 1750 : us;
			}
		} else
			free(key);
		l->devs = xreallocarray(l->devs, l->ndevs + 1, sizeof(*l->devs));
		memset(&l->devs[l->ndevs], 0, sizeof(l->devs[0]));
		devrt_init(&l->devs[l->ndevs++], d);
	}
	return all;
}

size_t
drv_lines_count(const struct drv_lines *all)
{
	return all->n + all->nserial;
}

/* Sleeps until the monotonic time deadline (ms) or a stop request. */
static void
line_sleep_until(struct line *l, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000),
	    (long)(deadline % 1000) * 1000000 };

	pthread_mutex_lock(&l->mu);
	while (!atomic_load(&l->stop) && l->writes == NULL && mono_ms() < deadline)
		if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&l->mu);
}

static void
publish_state(struct line *l, struct devrt *r, int online, const char *reason)
{
	struct drv_state st = { r->cfg->name, r->state_topic, online, reason,
	    wall_ms() };

	l->all->sink.state(l->all->sink.arg, &st);
}

/* Marks a device offline (once per change) and its tags bad. */
static void
dev_offline(struct line *l, struct devrt *r, const char *why, uint64_t now)
{
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (r->backoff_ms > BACKOFF_MAX_MS)
		r->backoff_ms = BACKOFF_MAX_MS;
	/* A little jitter keeps devices of one line from retrying together. */
	r->retry_at = now + r->backoff_ms + (now % 97);
	if (r->online == 0)
		return;
	r->online = 0;
	log_warn("modbus", r->cfg->name, "offline: %s (%s); retrying with backoff",
	    why, mb_name(l->mb));
	publish_state(l, r, 0, why);
	for (size_t i = 0; i < r->ntags; i++) {
		struct tagrt *t = &r->tags[i];
		struct drv_reading rd = { r->cfg->name, t->cfg->name, t->topic, NULL,
		    t->cfg->unit, wall_ms(), t->qos, t->retain,
		    r->cfg->payload == CFG_PAYLOAD_BARE };

		if (t->bad)
			continue;
		t->bad = 1;
		t->has_last = 0;
		l->all->sink.reading(l->all->sink.arg, &rd);
	}
}

static void
dev_online(struct line *l, struct devrt *r)
{
	r->backoff_ms = 0;
	r->retry_at = 0;
	if (r->online == 1)
		return;
	if (r->online == 0)
		log_info("modbus", r->cfg->name, "online again (%s)", mb_name(l->mb));
	else
		log_info("modbus", r->cfg->name, "online (%s)", mb_name(l->mb));
	r->online = 1;
	publish_state(l, r, 1, NULL);
}

/* Publishes one decoded tag, unless publish: change and it did not change. */
static void
tag_publish(struct line *l, struct devrt *r, struct tagrt *t,
    const struct drv_value *v, uint64_t ts)
{
	struct drv_reading rd = { r->cfg->name, t->cfg->name, t->topic, v,
	    t->cfg->unit, ts, t->qos, t->retain, r->cfg->payload == CFG_PAYLOAD_BARE };

	if (t->cfg->publish == CFG_PUBLISH_CHANGE && t->has_last &&
	    !drv_value_changed(&t->last, v, t->cfg->deadband))
		return;
	t->last = *v;
	t->has_last = 1;
	t->bad = 0;
	l->all->sink.reading(l->all->sink.arg, &rd);
}

/* Decodes the items of a block that was read. */
static void
block_publish(struct line *l, struct devrt *r, const struct plan *p,
    const struct plan_block *b, const uint16_t *regs, const uint8_t *bits,
    uint64_t ts)
{
	const struct plan_item *items = plan_items(p);

	for (size_t k = b->first; k < b->first + b->nitems; k++) {
		struct tagrt		*t = &r->tags[items[k].tag];
		size_t			 off = items[k].address - b->address;
		struct drv_value	 v;

		if (b->table == PLAN_COIL || b->table == PLAN_DISCRETE)
			drv_decode_bit(bits[off], &v);
		else if (drv_decode(&t->fmt, regs + off, b->count - off, &v) == -1)
			continue;
		tag_publish(l, r, t, &v, ts);
	}
}

/* Counts a failed request by kind and keeps its text. */
static void
count_error(struct devrt *r, const struct mb_result *res)
{
	r->errors++;
	switch (res->err) {
	case MB_TIMEOUT:
		r->timeouts++;
		break;
	case MB_EXCEPTION:
		r->exceptions++;
		break;
	case MB_CONN:
		r->conn_errors++;
		break;
	default:
		r->other_errors++;
		break;
	}
	snprintf(r->last_error, sizeof(r->last_error), "%s", res->text);
}

/* Hands the device's counters to the sink every STATS_MS. */
static void
dev_stats(struct line *l, struct devrt *r, uint64_t now)
{
	struct drv_stats st;

	if (l->all->sink.stats == NULL || now < r->stats_at)
		return;
	r->stats_at = now + STATS_MS;
	st = (struct drv_stats){ r->cfg->name, r->requests, r->timeouts,
	    r->exceptions, r->conn_errors, r->other_errors, r->last_success_ms,
	    r->last_error, r->rtt_n ? (double)r->rtt_sum_us / r->rtt_n / 1000.0 : 0,
	    (double)r->rtt_max_us / 1000.0, r->online == 1 };
	r->rtt_sum_us = r->rtt_max_us = r->rtt_n = 0;
	l->all->sink.stats(l->all->sink.arg, &st);
}

/*
 * Polls one group of a device: every block of its plan. Returns 0, or -1
 * when the device did not answer (the caller marks it offline).
 */
static int
poll_group(struct line *l, struct devrt *r, struct group *g, char *why,
    size_t whysz)
{
	static __thread uint16_t regs[125];
	static __thread uint8_t bits[2000];
	struct mb_result res;
	uint64_t ts = wall_ms();

	for (size_t i = 0; i < plan_nblocks(g->plan); i++) {
		const struct plan_block *b = plan_block(g->plan, i);

		if (l->gap_us > 0 && r->requests > 0) {
			struct timespec gap = { 0, (long)l->gap_us * 1000 };

			nanosleep(&gap, NULL);
		}
		if (b->count > (b->table <= PLAN_DISCRETE ? 2000 : 125)) {
			snprintf(why, whysz, "a tag at %u spans %u registers, more "
			    "than one request holds", b->address, b->count);
			return -1;
		}
		uint64_t t0 = mono_us(), rtt;
		int rc = mb_read(l->mb, (int)r->cfg->unit_id, b->table, b->address,
		    b->count, regs, bits, &res);

		rtt = mono_us() - t0;
		r->requests++;
		if (rc == 0) {
			r->rtt_sum_us += rtt;
			r->rtt_n++;
			if (rtt > r->rtt_max_us)
				r->rtt_max_us = rtt;
			r->last_success_ms = wall_ms();
			block_publish(l, r, g->plan, b, regs, bits, ts);
			continue;
		}
		count_error(r, &res);
		if (res.err == MB_EXCEPTION && res.exception == 2 &&
		    b->nitems > 1) {
			log_info("modbus", r->cfg->name, "read %u+%u: illegal data "
			    "address: splitting the request", b->address, b->count);
			plan_split(g->plan, i);
			i--;	/* the first half now has this index */
			continue;
		}
		if (res.err == MB_EXCEPTION) {
			/* The device is there: only these tags are wrong. */
			log_warn("modbus", r->cfg->name, "read %u+%u: %s", b->address,
			    b->count, res.text);
			continue;
		}
		snprintf(why, whysz, "read %u+%u: %s", b->address, b->count,
		    res.text);
		return -1;
	}
	return 0;
}

/* The next group due on the line, or NULL; its device in *rp. */
static struct group *
next_due(struct line *l, struct devrt **rp, uint64_t *due)
{
	struct group *best = NULL;

	for (size_t d = 0; d < l->ndevs; d++) {
		struct devrt *r = &l->devs[d];

		for (size_t g = 0; g < r->ngroups; g++) {
			uint64_t at = r->groups[g].next_ms;

			if (r->retry_at > at)
				at = r->retry_at;
			if (best == NULL || at < *due) {
				best = &r->groups[g];
				*rp = r;
				*due = at;
			}
		}
	}
	return best;
}

/* Does one write on the line thread; the result goes to its callback. */
static void
do_write(struct line *l, struct wreq *w)
{
	struct devrt		*r = w->dev;
	const struct cfg_tag	*c = w->tag->cfg;
	struct drv_write_result	 res = { 0, NULL, &w->value, NULL };
	struct drv_value	 back;
	struct mb_result	 mr;
	uint16_t		 reg, regs[125];
	uint8_t			 bit;
	int			 unit = (int)r->cfg->unit_id, rc;
	char			 why[200];

	if (r->online != 1 || !mb_connected(l->mb)) {
		snprintf(why, sizeof(why), "device %s is offline", r->cfg->name);
		res.why = why;
		w->cb(w->arg, &res);
		return;
	}
	if (c->table == CFG_TABLE_COIL) {
		bit = w->regs[0] ? 1 : 0;
		rc = mb_write_bits(l->mb, unit, (uint16_t)c->address, 1, &bit, &mr);
	} else if (c->bit >= 0) {
		/* One bit of a register: read, modify, write. */
		rc = mb_read(l->mb, unit, PLAN_HOLDING, (uint16_t)c->address, 1,
		    &reg, NULL, &mr);
		if (rc == 0) {
			reg = (uint16_t)((reg & ~(1u << c->bit)) | w->regs[0]);
			rc = mb_write_regs(l->mb, unit, (uint16_t)c->address, 1,
			    &reg, &mr);
		}
	} else
		rc = mb_write_regs(l->mb, unit, (uint16_t)c->address,
		    (uint16_t)w->nregs, w->regs, &mr);
	if (rc == -1) {
		snprintf(why, sizeof(why), "write %lld: %s", (long long)c->address,
		    mr.text);
		res.why = why;
		log_warn("modbus", r->cfg->name, "tag %s: %s", c->name, why);
		w->cb(w->arg, &res);
		return;
	}
	log_info("modbus", r->cfg->name, "tag %s written", c->name);
	res.ok = 1;
	if (w->readback) {
		unsigned n = c->table == CFG_TABLE_COIL ? 1 :
		    drv_registers(&w->tag->fmt);

		if (mb_read(l->mb, unit, table_of[c->table], (uint16_t)c->address,
		    (uint16_t)n, regs, &bit, &mr) == 0) {
			if (c->table == CFG_TABLE_COIL)
				drv_decode_bit(bit, &back);
			else
				drv_decode(&w->tag->fmt, regs, n, &back);
			res.readback = &back;
		}
	}
	w->cb(w->arg, &res);
}

/* Does the writes queued for this line, oldest first. */
static void
line_writes(struct line *l)
{
	struct wreq *w;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		if ((w = l->writes) != NULL) {
			l->writes = w->next;
			if (l->writes == NULL)
				l->writes_tail = &l->writes;
			l->nwrites--;
		}
		pthread_mutex_unlock(&l->mu);
		if (w == NULL)
			return;
		do_write(l, w);
		free(w);
	}
}

int
drv_write(struct drv_lines *all, const char *device, const char *tag,
    const struct drv_value *v, int readback, drv_write_cb cb, void *arg,
    char *why, size_t whysz)
{
	struct line	*l = NULL;
	struct devrt	*r = NULL;
	struct tagrt	*t = NULL;
	struct wreq	*w;
	double		 x;

	for (size_t i = 0; all != NULL && i < all->n && r == NULL; i++)
		for (size_t d = 0; d < all->v[i].ndevs; d++)
			if (strcmp(all->v[i].devs[d].cfg->name, device) == 0) {
				l = &all->v[i];
				r = &l->devs[d];
				break;
			}
	if (r == NULL) {
		snprintf(why, whysz, "no device is called \"%s\"", device);
		return -1;
	}
	for (size_t i = 0; i < r->ntags; i++)
		if (strcmp(r->tags[i].cfg->name, tag) == 0)
			t = &r->tags[i];
	if (t == NULL) {
		snprintf(why, whysz, "device %s has no tag \"%s\"", device, tag);
		return -1;
	}
	if (!t->cfg->writable) {
		snprintf(why, whysz, "tag %s of %s is not writable", tag, device);
		return -1;
	}
	x = v->kind == DRV_V_DOUBLE ? v->d : v->kind == DRV_V_INT ? (double)v->i :
	    v->kind == DRV_V_UINT ? (double)v->u : v->kind == DRV_V_BOOL ? v->b : 0;
	if (v->kind != DRV_V_STRING && ((t->cfg->has_min && x < t->cfg->min) ||
	    (t->cfg->has_max && x > t->cfg->max))) {
		snprintf(why, whysz, "%g is outside %s's range [%g, %g]", x, tag,
		    t->cfg->has_min ? t->cfg->min : -INFINITY,
		    t->cfg->has_max ? t->cfg->max : INFINITY);
		return -1;
	}
	w = xcalloc(1, sizeof(*w));
	if (t->cfg->table == CFG_TABLE_COIL) {
		if (v->kind == DRV_V_STRING) {
			snprintf(why, whysz, "a coil takes true or false");
			free(w);
			return -1;
		}
		w->regs[0] = x != 0;
		w->nregs = 1;
	} else if ((w->nregs = drv_encode(&t->fmt, v, w->regs, FMQ_NELEM(w->regs),
	    why, whysz)) == -1) {
		free(w);
		return -1;
	}
	w->dev = r;
	w->tag = t;
	w->value = *v;
	w->readback = readback;
	w->cb = cb;
	w->arg = arg;
	pthread_mutex_lock(&l->mu);
	if (l->nwrites >= WRITES_MAX) {
		pthread_mutex_unlock(&l->mu);
		snprintf(why, whysz, "%d writes already wait for %s", WRITES_MAX,
		    mb_name(l->mb));
		free(w);
		return -1;
	}
	*l->writes_tail = w;
	l->writes_tail = &w->next;
	l->nwrites++;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

/* The line thread: connect with backoff, then poll what is due. */
static void *
line_main(void *arg)
{
	struct line	*l = arg;
	struct mb_result res;
	char		 why[256];

	while (!atomic_load(&l->stop)) {
		uint64_t	 now = mono_ms(), due = 0;
		struct devrt	*r = NULL;
		struct group	*g;

		if (!mb_connected(l->mb)) {
			if (now < l->retry_at) {
				line_sleep_until(l, l->retry_at);
				continue;
			}
			if (mb_connect(l->mb, &res) == -1) {
				snprintf(why, sizeof(why), "connect: %s", res.text);
				for (size_t d = 0; d < l->ndevs; d++) {
					count_error(&l->devs[d], &res);
					dev_offline(l, &l->devs[d], why, now);
					dev_stats(l, &l->devs[d], now);
				}
				if (l->all->sink.flush != NULL)
					l->all->sink.flush(l->all->sink.arg);
				l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 :
				    BACKOFF_MIN_MS;
				if (l->backoff_ms > BACKOFF_MAX_MS)
					l->backoff_ms = BACKOFF_MAX_MS;
				l->retry_at = now + l->backoff_ms;
				continue;
			}
			l->backoff_ms = 0;
			for (size_t d = 0; d < l->ndevs; d++)
				l->devs[d].retry_at = 0;
		}
		line_writes(l);
		if ((g = next_due(l, &r, &due)) == NULL) {
			line_sleep_until(l, now + 1000);
			continue;
		}
		if (due > now) {
			line_sleep_until(l, due);
			continue;
		}
		if (poll_group(l, r, g, why, sizeof(why)) == 0)
			dev_online(l, r);
		else
			dev_offline(l, r, why, mono_ms());
		if (l->all->sink.flush != NULL)
			l->all->sink.flush(l->all->sink.arg);
		dev_stats(l, r, mono_ms());
		/* The next poll on the grid; one that is late starts at once. */
		g->next_ms = (g->next_ms ? g->next_ms : now) + g->poll_ms;
		if (g->next_ms < mono_ms())
			g->next_ms = mono_ms();
	}
	mb_disconnect(l->mb);
	/* Writes still queued are refused: the line is stopping. */
	for (struct wreq *w = l->writes, *next; w != NULL; w = next) {
		struct drv_write_result wr = { 0, "the gateway is stopping",
		    &w->value, NULL };

		next = w->next;
		w->cb(w->arg, &wr);
		free(w);
	}
	l->writes = NULL;
	return NULL;
}

int
drv_lines_start(struct drv_lines *all)
{
	for (size_t i = 0; i < all->n; i++) {
		struct line *l = &all->v[i];
		int e;

		if ((e = pthread_create(&l->thread, NULL, line_main, l)) != 0) {
			log_error("drivers", l->key, "cannot start a thread: %s",
			    strerror_r(e, (char[96]){ 0 }, 96));
			return -1;
		}
		l->started = 1;
	}
	for (size_t i = 0; i < all->nserial; i++)
		if (sline_start(all->serial[i]) == -1)
			return -1;
	return 0;
}

void
drv_lines_stop(struct drv_lines *all)
{
	if (all == NULL)
		return;
	for (size_t i = 0; i < all->n; i++) {
		struct line *l = &all->v[i];

		pthread_mutex_lock(&l->mu);
		atomic_store(&l->stop, 1);
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
	}
	for (size_t i = 0; i < all->n; i++) {
		if (all->v[i].started)
			pthread_join(all->v[i].thread, NULL);
		all->v[i].started = 0;
	}
	for (size_t i = 0; i < all->nserial; i++)
		sline_stop(all->serial[i]);
}

void
drv_lines_free(struct drv_lines *all)
{
	if (all == NULL)
		return;
	drv_lines_stop(all);
	for (size_t i = 0; i < all->n; i++) {
		struct line *l = &all->v[i];

		for (size_t d = 0; d < l->ndevs; d++)
			devrt_free(&l->devs[d]);
		free(l->devs);
		mb_free(l->mb);
		free(l->key);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
	}
	for (size_t i = 0; i < all->nserial; i++)
		sline_free(all->serial[i]);
	free(all->serial);
	free(all->v);
	free(all);
}
