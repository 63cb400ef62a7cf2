/*
 * bench_topic: how fast the subscription and retained trees match.
 *
 * A subscription tree of 100,000 "plant/<dev>/<tag>" filters (one per
 * device, 100,000 children under "plant") and 1,000 wildcard filters
 * ("plant/+/<tag>", "plant/<dev>/#") is matched against 1,000,000 random
 * topics; a retained tree of 10,000 topics is matched by "plant/+/temp"
 * and "#". Each figure is the median of three runs. Prints figures only.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/topic.h"
#include "util.h"

#define NDEV		100000
#define NTAG		8
#define NWILD		1000
#define NTOPIC		1000000
#define NRETAIN		10000
#define RUNS		3

static const char *const tags[NTAG] = {
	"temp", "hum", "pres", "flow", "level", "power", "speed", "state",
};

/* xorshift64*, state passed by the caller. */
static uint32_t
rng_below(uint64_t *s, uint32_t n)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v)
{
	qsort(v, RUNS, sizeof(*v), dbl_cmp);
	return v[RUNS / 2];
}

static void
count_sub(void *owner, uint8_t options, void *arg)
{
	(*(uint64_t *)arg)++;
}

static void
count_retained(const char *topic, size_t len, void *value, void *arg)
{
	(*(uint64_t *)arg)++;
}

/* Random topics, one after another, NUL-separated. */
struct topics {
	char	*buf;
	size_t	*off;
	size_t	*len;
};

static void
topics_make(struct topics *t, uint64_t *seed)
{
	size_t	 i, at = 0;
	int	 n;

	t->buf = xmalloc((size_t)NTOPIC * 32);
	t->off = xcalloc(NTOPIC, sizeof(*t->off));
	t->len = xcalloc(NTOPIC, sizeof(*t->len));
	for (i = 0; i < NTOPIC; i++) {
		n = snprintf(t->buf + at, 32, "plant/dev%06u/%s",
		    rng_below(seed, NDEV), tags[rng_below(seed, NTAG)]);
		t->off[i] = at;
		t->len[i] = (size_t)n;
		at += (size_t)n + 1;
	}
}

static void
topics_free(struct topics *t)
{
	free(t->buf);
	free(t->off);
	free(t->len);
}

/* Times NTOPIC matches, RUNS times; returns the median rate. */
static double
time_matches(struct topic_tree *t, const struct topics *tp, uint64_t *hits)
{
	double	 rate[RUNS], t0;
	size_t	 k;
	int	 r;

	for (r = 0; r < RUNS; r++) {
		*hits = 0;
		t0 = now_s();
		for (k = 0; k < NTOPIC; k++)
			topic_tree_match(t, tp->buf + tp->off[k], tp->len[k],
			    count_sub, hits);
		rate[r] = NTOPIC / (now_s() - t0);
	}
	return median(rate);
}

static void
print_rate(const char *what, double rate, uint64_t hits)
{
	printf("subs: %s: %.0f matches/s (%.0f ns each), %.2f subscribers "
	    "per topic\n", what, rate, 1e9 / rate, (double)hits / NTOPIC);
}

/* Builds the subscription tree and times random matches. */
static void
bench_subs(uint64_t *seed)
{
	struct topic_tree	*t = topic_tree_new();
	struct topics		 tp;
	char			 f[64];
	double			 build, rate, t0;
	uint64_t		 hits = 0;
	size_t			 i;

	topics_make(&tp, seed);
	t0 = now_s();
	for (i = 0; i < NDEV; i++) {
		snprintf(f, sizeof(f), "plant/dev%06zu/%s", i, tags[i % NTAG]);
		topic_tree_add(t, f, strlen(f), (void *)(uintptr_t)(i + 1), 1);
	}
	build = now_s() - t0;
	printf("subs: %zu exact subscriptions added in %.1f ms\n",
	    topic_tree_count(t), build * 1e3);
	rate = time_matches(t, &tp, &hits);
	print_rate("exact only", rate, hits);

	for (i = 0; i < NWILD; i++) {
		if (i % 2 == 0)
			snprintf(f, sizeof(f), "plant/+/%s", tags[i % NTAG]);
		else
			snprintf(f, sizeof(f), "plant/dev%06u/#",
			    rng_below(seed, NDEV));
		topic_tree_add(t, f, strlen(f),
		    (void *)(uintptr_t)(NDEV + i + 1), 0);
	}
	printf("subs: %zu subscriptions with the wildcards\n",
	    topic_tree_count(t));
	rate = time_matches(t, &tp, &hits);
	print_rate("with wildcards", rate, hits);
	topics_free(&tp);
	t0 = now_s();
	topic_tree_free(t);
	printf("subs: freed in %.1f ms\n", (now_s() - t0) * 1e3);
}

/* Times retained matches of one filter; prints filters/s and topics/s. */
static void
bench_retain_filter(struct retain_tree *t, const char *filter, int iters)
{
	double		 rate[RUNS], t0;
	uint64_t	 hits = 0;
	int		 r, k;

	for (r = 0; r < RUNS; r++) {
		hits = 0;
		t0 = now_s();
		for (k = 0; k < iters; k++)
			retain_tree_match(t, filter, strlen(filter),
			    count_retained, &hits);
		rate[r] = iters / (now_s() - t0);
	}
	printf("retain: \"%s\": %.0f matches/s, %llu topics each, "
	    "%.1f M topics/s\n", filter, median(rate),
	    (unsigned long long)(hits / (uint64_t)iters),
	    median(rate) * (double)hits / iters / 1e6);
}

static void
bench_retain(void)
{
	struct retain_tree	*t = retain_tree_new(NULL);
	char			 topic[64];
	size_t			 i;

	for (i = 0; i < NRETAIN; i++) {
		snprintf(topic, sizeof(topic), "plant/dev%06zu/%s",
		    i / (NTAG / 2), tags[i % (NTAG / 2)]);
		retain_tree_set(t, topic, strlen(topic), (void *)(uintptr_t)1);
	}
	printf("retain: %zu topics\n", retain_tree_count(t));
	bench_retain_filter(t, "plant/+/temp", 2000);
	bench_retain_filter(t, "#", 2000);
	bench_retain_filter(t, "plant/dev000042/temp", 1000000);
	retain_tree_free(t);
}

int
main(void)
{
	uint64_t	 seed = 0x9e3779b97f4a7c15ULL;

	bench_subs(&seed);
	bench_retain();
	return 0;
}
