/* Unit tests for topic names and filters, subscription and retained trees. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/topic.h"
#include "util.h"

#define OWNER(n)	((void *)(uintptr_t)(n))
#define OWNER_ID(p)	((uintptr_t)(p))

/* ---- tables -------------------------------------------------------- */

struct valid_row {
	const char	*s;
	int		 ok;
};

static const struct valid_row names[] = {
	{ "", 0 },
	{ "a", 1 },
	{ "/", 1 },
	{ "//", 1 },
	{ "a/b", 1 },
	{ "a//b", 1 },
	{ "/a", 1 },
	{ "a/", 1 },
	{ "$SYS/broker", 1 },
	{ "Accounts payable", 1 },
	{ "#", 0 },
	{ "+", 0 },
	{ "a/#", 0 },
	{ "a/+/b", 0 },
	{ "a#", 0 },
	{ "+a", 0 },
	{ "sport/tennis#", 0 },
	{ "sport+", 0 },
};

static const struct valid_row filters[] = {
	{ "", 0 },
	{ "#", 1 },
	{ "+", 1 },
	{ "/", 1 },
	{ "//", 1 },
	{ "a", 1 },
	{ "a/#", 1 },
	{ "a/+/b", 1 },
	{ "+/+", 1 },
	{ "/+", 1 },
	{ "+/", 1 },
	{ "+/#", 1 },
	{ "a//b", 1 },
	{ "$SYS/#", 1 },
	{ "sport/tennis/+/#", 1 },
	{ "a/#/b", 0 },
	{ "#/", 0 },
	{ "a#", 0 },
	{ "#a", 0 },
	{ "+a", 0 },
	{ "a+", 0 },
	{ "a/b#", 0 },
	{ "a/+b", 0 },
	{ "++", 0 },
	{ "##", 0 },
	{ "+#", 0 },
	{ "sport/tennis#", 0 },
	{ "sport/tennis/#/ranking", 0 },
};

struct match_row {
	const char	*filter;
	const char	*topic;
	int		 match;
};

/* MQTT 3.1.1 section 4.7 examples first, then edge cases. */
static const struct match_row matches[] = {
	{ "sport/tennis/player1/#", "sport/tennis/player1", 1 },
	{ "sport/tennis/player1/#", "sport/tennis/player1/ranking", 1 },
	{ "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", 1 },
	{ "sport/tennis/player1/#", "sport/tennis/player1/", 1 },
	{ "sport/tennis/player1/#", "sport/tennis/player2", 0 },
	{ "sport/tennis/player1/#", "sport/tennis", 0 },
	{ "sport/#", "sport", 1 },
	{ "sport/#", "sport/", 1 },
	{ "#", "sport/tennis/player1", 1 },
	{ "#", "/", 1 },
	{ "#", "/finance", 1 },
	{ "sport/tennis/+", "sport/tennis/player1", 1 },
	{ "sport/tennis/+", "sport/tennis/player2", 1 },
	{ "sport/tennis/+", "sport/tennis/player1/ranking", 0 },
	{ "sport/tennis/+", "sport/tennis", 0 },
	{ "sport/+", "sport", 0 },
	{ "sport/+", "sport/", 1 },
	{ "+/+", "/finance", 1 },
	{ "/+", "/finance", 1 },
	{ "+", "/finance", 0 },
	{ "+", "finance", 1 },
	{ "+/tennis/#", "sport/tennis/player1/ranking", 1 },
	{ "#", "$SYS/x", 0 },
	{ "#", "$SYS", 0 },
	{ "#", "$", 0 },
	{ "+", "$SYS", 0 },
	{ "+/+", "$SYS/x", 0 },
	{ "+/#", "$SYS/x", 0 },
	{ "+/monitor/Clients", "$SYS/monitor/Clients", 0 },
	{ "$SYS/#", "$SYS/x", 1 },
	{ "$SYS/#", "$SYS", 1 },
	{ "$SYS/monitor/+", "$SYS/monitor/Clients", 1 },
	{ "$SYS/+", "$SYS/monitor/Clients", 0 },
	{ "$SYS", "$SYS", 1 },
	{ "a/+", "a/$SYS", 1 },
	{ "a/#", "a/$SYS/b", 1 },
	{ "ACCOUNTS", "Accounts", 0 },
	{ "a/b", "A/b", 0 },
	{ "Accounts payable", "Accounts payable", 1 },
	{ "/finance", "finance", 0 },
	{ "finance", "/finance", 0 },
	{ "a/b", "a/bc", 0 },
	{ "a/bc", "a/b", 0 },
	{ "a/b", "ab", 0 },
	{ "a/b", "a/b/", 0 },
	{ "a/b/", "a/b", 0 },
	{ "a/b/+", "a/b/", 1 },
	{ "a//b", "a//b", 1 },
	{ "a//b", "a/b", 0 },
	{ "a/+/b", "a//b", 1 },
	{ "a/+/b", "a/b", 0 },
	{ "+/+/+", "//", 1 },
	{ "/", "/", 1 },
	{ "+/", "/", 1 },
	{ "/#", "/", 1 },
	{ "/#", "/x/y", 1 },
	{ "/#", "x", 0 },
	{ "a/#", "a", 1 },
	{ "a/#", "ab", 0 },
	{ "a/#", "a/b/c/d", 1 },
	{ "a/+/#", "a/b", 1 },
	{ "a/+/#", "a", 0 },
	{ "+/#", "a", 1 },
	{ "a/b/c", "a/b/c", 1 },
	{ "a/b/c", "a/b", 0 },
	{ "a/b", "a/b/c", 0 },
	{ "+/b/+", "a/b/c", 1 },
	{ "+", "a/b", 0 },
	{ "caf\xc3\xa9/+", "caf\xc3\xa9/x", 1 },
	{ "caf\xc3\xa9", "cafe", 0 },
};

/* ---- helpers ------------------------------------------------------- */

/* xorshift64*: a deterministic generator, state passed by the caller. */
struct rng {
	uint64_t	 s;
};

static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static const char *const alphabet[] = { "a", "b", "c", "", "$SYS", "dev1" };

/* Writes a random topic (or filter, with wildcards) of 1-4 levels. */
static size_t
random_topic(struct rng *r, char *buf, size_t cap, int wildcards)
{
	uint32_t	 nlevels = 1 + rng_below(r, 4), i;
	size_t		 len = 0;
	const char	*l;

	for (i = 0; i < nlevels; i++) {
		if (wildcards && i + 1 == nlevels && rng_below(r, 5) == 0)
			l = "#";
		else if (wildcards && rng_below(r, 4) == 0)
			l = "+";
		else
			l = alphabet[rng_below(r, FMQ_NELEM(alphabet))];
		len += (size_t)snprintf(buf + len, cap - len, "%s%s",
		    i > 0 ? "/" : "", l);
		ck_assert_uint_lt(len, cap);
	}
	/* A lone empty level is no topic: make it two, "/". */
	if (len == 0)
		len = (size_t)snprintf(buf, cap, "%s", "/");
	return len;
}

/* One subscription reported by a match. */
struct hit {
	uintptr_t	 owner;
	uint8_t		 options;
};

struct hits {
	struct hit	*v;
	size_t		 n;
	size_t		 cap;
};

static void
hits_add(struct hits *h, uintptr_t owner, uint8_t options)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	h->v[h->n++] = (struct hit){ owner, options };
}

static void
collect(void *owner, uint8_t options, void *arg)
{
	hits_add(arg, OWNER_ID(owner), options);
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct hit	*x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return (int)x->options - (int)y->options;
}

/* Asserts that two multisets of hits are equal (sorting both). */
static void
hits_assert_eq(struct hits *a, struct hits *b, const char *topic)
{
	size_t	 i;

	ck_assert_msg(a->n == b->n, "%s: %zu hits, want %zu", topic, a->n,
	    b->n);
	if (a->n == 0)
		return;
	qsort(a->v, a->n, sizeof(*a->v), hit_cmp);
	qsort(b->v, b->n, sizeof(*b->v), hit_cmp);
	for (i = 0; i < a->n; i++)
		ck_assert_msg(a->v[i].owner == b->v[i].owner &&
		    a->v[i].options == b->v[i].options,
		    "%s: hit %zu differs", topic, i);
}

static size_t
tree_hits(struct topic_tree *t, const char *topic, struct hits *h)
{
	h->n = 0;
	topic_tree_match(t, topic, strlen(topic), collect, h);
	return h->n;
}

/* A subscription the brute-force reference knows about. */
struct ref {
	char		 filter[64];
	uintptr_t	 owner;
	uint8_t		 options;
	int		 live;
};

/* Collects what the subscriptions in refs should give for topic. */
static void
ref_hits(const struct ref *refs, size_t n, const char *topic, struct hits *h)
{
	size_t	 i;

	h->n = 0;
	for (i = 0; i < n; i++)
		if (refs[i].live && topic_match(refs[i].filter,
		    strlen(refs[i].filter), topic, strlen(topic)))
			hits_add(h, refs[i].owner, refs[i].options);
}

/* Values of the retained tree are strdup'd topics; frees are counted. */
static size_t	 nfreed;

static void
free_value(void *v)
{
	free(v);
	nfreed++;
}

static void *
value_of(const char *topic)
{
	return xstrdup(topic);
}

struct topics {
	char		**v;
	size_t		  n;
	size_t		  cap;
};

/* Collects a retained topic, checking its value belongs to it. */
static void
collect_topic(const char *topic, size_t len, void *value, void *arg)
{
	struct topics	*t = arg;

	ck_assert_uint_eq(strlen(value), len);
	ck_assert_int_eq(memcmp(value, topic, len), 0);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = xstrndup(topic, len);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
topics_clear(struct topics *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	t->n = 0;
}

static void
topics_free(struct topics *t)
{
	topics_clear(t);
	free(t->v);
}

/* Asserts that two lists of topics hold the same set (sorting both). */
static void
topics_assert_eq(struct topics *a, struct topics *b, const char *filter)
{
	size_t	 i;

	ck_assert_msg(a->n == b->n, "%s: %zu topics, want %zu", filter, a->n,
	    b->n);
	if (a->n == 0)
		return;
	qsort(a->v, a->n, sizeof(*a->v), str_cmp);
	qsort(b->v, b->n, sizeof(*b->v), str_cmp);
	for (i = 0; i < a->n; i++)
		ck_assert_str_eq(a->v[i], b->v[i]);
}

static size_t
retain_hits(struct retain_tree *t, const char *filter, struct topics *out)
{
	topics_clear(out);
	retain_tree_match(t, filter, strlen(filter), collect_topic, out);
	return out->n;
}

/* ---- validation ---------------------------------------------------- */

START_TEST(test_valid_name)
{
	const struct valid_row	*r = &names[_i];

	ck_assert_msg(topic_valid_name(r->s, strlen(r->s)) == r->ok,
	    "name \"%s\": want %d", r->s, r->ok);
}
END_TEST

START_TEST(test_valid_filter)
{
	const struct valid_row	*r = &filters[_i];

	ck_assert_msg(topic_valid_filter(r->s, strlen(r->s)) == r->ok,
	    "filter \"%s\": want %d", r->s, r->ok);
}
END_TEST

START_TEST(test_valid_length)
{
	char	*s = xmalloc(65537);

	memset(s, 'a', 65536);
	s[65536] = '\0';
	ck_assert_int_eq(topic_valid_name(s, 65535), 1);
	ck_assert_int_eq(topic_valid_name(s, 65536), 0);
	ck_assert_int_eq(topic_valid_filter(s, 65535), 1);
	ck_assert_int_eq(topic_valid_filter(s, 65536), 0);
	/* Lengths are the caller's: bytes past len are not looked at. */
	s[65533] = '/';
	s[65534] = '#';
	ck_assert_int_eq(topic_valid_filter(s, 65535), 1);
	ck_assert_int_eq(topic_valid_name(s, 65535), 0);
	ck_assert_int_eq(topic_valid_name(s, 65534), 1);
	ck_assert_int_eq(topic_valid_name("a#", 1), 1);
	ck_assert_int_eq(topic_valid_filter("a#", 1), 1);
	free(s);
}
END_TEST

/* ---- topic_match --------------------------------------------------- */

START_TEST(test_match_row)
{
	const struct match_row	*r = &matches[_i];

	ck_assert_msg(topic_valid_filter(r->filter, strlen(r->filter)),
	    "row %d: bad filter", _i);
	ck_assert_msg(topic_valid_name(r->topic, strlen(r->topic)),
	    "row %d: bad topic", _i);
	ck_assert_msg(topic_match(r->filter, strlen(r->filter), r->topic,
	    strlen(r->topic)) == r->match, "\"%s\" vs \"%s\": want %d",
	    r->filter, r->topic, r->match);
}
END_TEST

START_TEST(test_match_lengths)
{
	/* Only len bytes count, whatever follows. */
	ck_assert_int_eq(topic_match("a/b/c", 3, "a/b", 3), 1);
	ck_assert_int_eq(topic_match("a/#", 3, "a/bc", 3), 1);
	ck_assert_int_eq(topic_match("a/b", 3, "a/bc", 4), 0);
	ck_assert_int_eq(topic_match("a/+x", 3, "a/b", 3), 1);
}
END_TEST

/* ---- subscription tree --------------------------------------------- */

/* A tree holding a row's filter alone agrees with topic_match, every row. */
START_TEST(test_tree_rows)
{
	struct topic_tree	*t = topic_tree_new();
	struct hits		 h = { 0 };
	size_t			 i;

	for (i = 0; i < FMQ_NELEM(matches); i++) {
		const struct match_row *r = &matches[i];

		ck_assert_int_eq(topic_tree_add(t, r->filter,
		    strlen(r->filter), OWNER(7), 2), 1);
		ck_assert_msg(tree_hits(t, r->topic, &h) == (size_t)r->match,
		    "tree: \"%s\" vs \"%s\": want %d", r->filter, r->topic,
		    r->match);
		if (h.n == 1) {
			ck_assert_uint_eq(h.v[0].owner, 7);
			ck_assert_uint_eq(h.v[0].options, 2);
		}
		ck_assert_int_eq(topic_tree_remove(t, r->filter,
		    strlen(r->filter), OWNER(7)), 1);
		ck_assert_uint_eq(tree_hits(t, r->topic, &h), 0);
		ck_assert_uint_eq(topic_tree_count(t), 0);
	}
	free(h.v);
	topic_tree_free(t);
}
END_TEST

/* One tree holding every row's filter gives each topic the right owners. */
START_TEST(test_tree_all_rows)
{
	struct topic_tree	*t = topic_tree_new();
	struct hits		 got = { 0 }, want = { 0 };
	const char		*topic;
	size_t			 i, j;

	for (i = 0; i < FMQ_NELEM(matches); i++)
		topic_tree_add(t, matches[i].filter,
		    strlen(matches[i].filter), OWNER(i + 1), (uint8_t)(i % 3));
	for (i = 0; i < FMQ_NELEM(matches); i++) {
		topic = matches[i].topic;
		tree_hits(t, topic, &got);
		want.n = 0;
		for (j = 0; j < FMQ_NELEM(matches); j++)
			if (topic_match(matches[j].filter,
			    strlen(matches[j].filter), topic, strlen(topic)))
				hits_add(&want, j + 1, (uint8_t)(j % 3));
		hits_assert_eq(&got, &want, topic);
	}
	free(got.v);
	free(want.v);
	topic_tree_free(t);
}
END_TEST

START_TEST(test_tree_add_remove)
{
	struct topic_tree	*t = topic_tree_new();
	struct hits		 h = { 0 };

	ck_assert_uint_eq(topic_tree_count(t), 0);
	ck_assert_int_eq(topic_tree_add(t, "a/b", 3, OWNER(1), 0), 1);
	ck_assert_int_eq(topic_tree_add(t, "a/b", 3, OWNER(2), 1), 1);
	ck_assert_uint_eq(topic_tree_count(t), 2);
	/* The same (filter, owner) replaces the options. */
	ck_assert_int_eq(topic_tree_add(t, "a/b", 3, OWNER(1), 2), 0);
	ck_assert_uint_eq(topic_tree_count(t), 2);
	ck_assert_uint_eq(tree_hits(t, "a/b", &h), 2);
	qsort(h.v, h.n, sizeof(*h.v), hit_cmp);
	ck_assert_uint_eq(h.v[0].owner, 1);
	ck_assert_uint_eq(h.v[0].options, 2);
	ck_assert_uint_eq(h.v[1].owner, 2);
	ck_assert_uint_eq(h.v[1].options, 1);

	ck_assert_int_eq(topic_tree_remove(t, "a/b", 3, OWNER(1)), 1);
	ck_assert_int_eq(topic_tree_remove(t, "a/b", 3, OWNER(1)), 0);
	ck_assert_int_eq(topic_tree_remove(t, "a/c", 3, OWNER(2)), 0);
	ck_assert_int_eq(topic_tree_remove(t, "a", 1, OWNER(2)), 0);
	ck_assert_int_eq(topic_tree_remove(t, "a/b/c", 5, OWNER(2)), 0);
	ck_assert_uint_eq(topic_tree_count(t), 1);
	ck_assert_uint_eq(tree_hits(t, "a/b", &h), 1);
	ck_assert_uint_eq(h.v[0].owner, 2);
	ck_assert_int_eq(topic_tree_remove(t, "a/b", 3, OWNER(2)), 1);
	ck_assert_uint_eq(topic_tree_count(t), 0);
	ck_assert_uint_eq(tree_hits(t, "a/b", &h), 0);

	/* Wildcard nodes come and go the same way. */
	ck_assert_int_eq(topic_tree_add(t, "+/#", 3, OWNER(3), 1), 1);
	ck_assert_int_eq(topic_tree_add(t, "+/#", 3, OWNER(3), 0), 0);
	ck_assert_uint_eq(tree_hits(t, "x", &h), 1);
	ck_assert_uint_eq(h.v[0].options, 0);
	ck_assert_int_eq(topic_tree_remove(t, "+", 1, OWNER(3)), 0);
	ck_assert_int_eq(topic_tree_remove(t, "+/#", 3, OWNER(3)), 1);
	ck_assert_uint_eq(tree_hits(t, "x", &h), 0);
	free(h.v);
	topic_tree_free(t);
	topic_tree_free(NULL);
}
END_TEST

/* An owner with overlapping filters is reported once per filter. */
START_TEST(test_tree_overlap)
{
	static const char *const own[] = {
		"a/b", "a/+", "a/#", "#", "+/b", "+/+", "a/b/#", "+/#",
	};
	static const char *const other[] = { "a/c", "a/b/c", "b/#", "+" };
	struct topic_tree	*t = topic_tree_new();
	struct hits		 h = { 0 };
	size_t			 i;
	unsigned int		 seen = 0;

	for (i = 0; i < FMQ_NELEM(own); i++)
		ck_assert_int_eq(topic_tree_add(t, own[i], strlen(own[i]),
		    OWNER(1), (uint8_t)i), 1);
	for (i = 0; i < FMQ_NELEM(other); i++)
		ck_assert_int_eq(topic_tree_add(t, other[i], strlen(other[i]),
		    OWNER(2), 0), 1);
	ck_assert_uint_eq(topic_tree_count(t),
	    FMQ_NELEM(own) + FMQ_NELEM(other));
	ck_assert_uint_eq(tree_hits(t, "a/b", &h), FMQ_NELEM(own));
	for (i = 0; i < h.n; i++) {
		ck_assert_uint_eq(h.v[i].owner, 1);
		seen |= 1u << h.v[i].options;
	}
	ck_assert_uint_eq(seen, (1u << FMQ_NELEM(own)) - 1);
	free(h.v);
	topic_tree_free(t);
}
END_TEST

/* Many owners of one filter: the subscriber map grows and shrinks. */
START_TEST(test_tree_many_owners)
{
	struct topic_tree	*t = topic_tree_new();
	struct hits		 h = { 0 };
	uintptr_t		 o;
	size_t			 i;

	for (o = 1; o <= 5000; o++)
		ck_assert_int_eq(topic_tree_add(t, "x/y", 3, OWNER(o),
		    (uint8_t)(o % 3)), 1);
	ck_assert_int_eq(topic_tree_add(t, "x/+", 3, OWNER(1), 2), 1);
	ck_assert_uint_eq(topic_tree_count(t), 5001);
	ck_assert_uint_eq(tree_hits(t, "x/y", &h), 5001);
	ck_assert_uint_eq(tree_hits(t, "x/z", &h), 1);

	for (o = 1; o <= 5000; o += 2)
		ck_assert_int_eq(topic_tree_remove(t, "x/y", 3, OWNER(o)), 1);
	ck_assert_int_eq(topic_tree_add(t, "x/y", 3, OWNER(4), 0), 0);
	ck_assert_uint_eq(topic_tree_count(t), 2501);
	ck_assert_uint_eq(tree_hits(t, "x/y", &h), 2501);
	qsort(h.v, h.n, sizeof(*h.v), hit_cmp);
	ck_assert_uint_eq(h.v[0].owner, 1);	/* through "x/+" */
	for (i = 1; i < h.n; i++) {
		ck_assert_uint_eq(h.v[i].owner, 2 * i);
		ck_assert_uint_eq(h.v[i].options, h.v[i].owner == 4 ? 0 :
		    h.v[i].owner % 3);
	}
	for (o = 2; o <= 5000; o += 2)
		ck_assert_int_eq(topic_tree_remove(t, "x/y", 3, OWNER(o)), 1);
	ck_assert_uint_eq(tree_hits(t, "x/y", &h), 1);
	free(h.v);
	topic_tree_free(t);
}
END_TEST

/* Deep topics: walks need more than the stack kept on the C stack. */
START_TEST(test_tree_deep)
{
	struct topic_tree	*t = topic_tree_new();
	struct hits		 h = { 0 };
	char			 f[256], topic[256];
	size_t			 k, i, len;
	char			*slashes;

	/* "a/.../a/+/.../+" for every split: each exact node has a '+'. */
	for (k = 0; k <= 100; k++) {
		len = 0;
		for (i = 0; i < 100; i++) {
			f[len++] = i < k ? 'a' : '+';
			f[len++] = '/';
		}
		f[--len] = '\0';
		ck_assert_int_eq(topic_tree_add(t, f, len, OWNER(k + 1), 0), 1);
	}
	memset(topic, 0, sizeof(topic));
	for (i = 0; i < 100; i++) {
		topic[2 * i] = 'a';
		topic[2 * i + 1] = '/';
	}
	topic[199] = '\0';
	ck_assert_uint_eq(tree_hits(t, topic, &h), 101);
	topic[0] = 'b';
	ck_assert_uint_eq(tree_hits(t, topic, &h), 1);

	/* A topic of 30000 empty levels, under "#" and an exact filter. */
	slashes = xmalloc(30001);
	memset(slashes, '/', 30000);
	slashes[30000] = '\0';
	ck_assert_int_eq(topic_tree_add(t, slashes, 30000, OWNER(500), 1), 1);
	ck_assert_int_eq(topic_tree_add(t, "#", 1, OWNER(501), 1), 1);
	ck_assert_uint_eq(tree_hits(t, slashes, &h), 2);
	ck_assert_int_eq(topic_tree_remove(t, slashes, 30000, OWNER(500)), 1);
	ck_assert_uint_eq(tree_hits(t, slashes, &h), 1);
	ck_assert_int_eq(topic_tree_add(t, slashes, 30000, OWNER(500), 1), 1);
	free(slashes);
	free(h.v);
	/* Freed without recursion. */
	topic_tree_free(t);
}
END_TEST

/* 10k random filters, removed in random order: the tree ends empty. */
START_TEST(test_tree_prune)
{
	enum { N = 10000 };
	struct topic_tree	*t = topic_tree_new();
	struct ref		*refs = xcalloc(N, sizeof(*refs));
	struct hits		 got = { 0 }, want = { 0 };
	struct rng		 r = { 0x9e3779b97f4a7c15ULL };
	size_t			*order = xcalloc(N, sizeof(*order));
	size_t			 i, j, tmp;
	char			 topic[64];

	for (i = 0; i < N; i++) {
		/* Wide levels: up to 1000 children per node. */
		snprintf(refs[i].filter, sizeof(refs[i].filter), "%u/%s/%u%s",
		    rng_below(&r, 20), rng_below(&r, 8) == 0 ? "+" : "d",
		    rng_below(&r, 1000), rng_below(&r, 6) == 0 ? "/#" : "");
		refs[i].owner = i + 1;
		refs[i].options = (uint8_t)rng_below(&r, 3);
		refs[i].live = 1;
		ck_assert_int_eq(topic_tree_add(t, refs[i].filter,
		    strlen(refs[i].filter), OWNER(refs[i].owner),
		    refs[i].options), 1);
		order[i] = i;
	}
	ck_assert_uint_eq(topic_tree_count(t), N);
	for (i = N - 1; i > 0; i--) {
		j = rng_below(&r, (uint32_t)i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < N; i++) {
		struct ref *f = &refs[order[i]];

		ck_assert_int_eq(topic_tree_remove(t, f->filter,
		    strlen(f->filter), OWNER(f->owner)), 1);
		f->live = 0;
		if (i != N / 2)
			continue;
		ck_assert_uint_eq(topic_tree_count(t), N - N / 2 - 1);
		for (j = 0; j < 300; j++) {
			snprintf(topic, sizeof(topic), "%u/d/%u%s",
			    rng_below(&r, 20), rng_below(&r, 1000),
			    rng_below(&r, 2) ? "/x" : "");
			tree_hits(t, topic, &got);
			ref_hits(refs, N, topic, &want);
			hits_assert_eq(&got, &want, topic);
		}
	}
	ck_assert_uint_eq(topic_tree_count(t), 0);
	for (i = 0; i < N; i++)
		ck_assert_uint_eq(tree_hits(t, refs[i].filter, &got), 0);
	ck_assert_uint_eq(tree_hits(t, "1/d/1", &got), 0);
	/* The emptied tree is still usable. */
	ck_assert_int_eq(topic_tree_add(t, "1/d/1", 5, OWNER(1), 0), 1);
	ck_assert_uint_eq(tree_hits(t, "1/d/1", &got), 1);
	free(got.v);
	free(want.v);
	free(order);
	free(refs);
	topic_tree_free(t);
}
END_TEST

/* 2,000 random filters against 2,000 random topics, tree vs brute force. */
START_TEST(test_tree_random)
{
	enum { NF = 2000, NT = 2000 };
	struct topic_tree	*t = topic_tree_new();
	struct ref		*refs = xcalloc(NF, sizeof(*refs));
	struct hits		 got = { 0 }, want = { 0 };
	struct rng		 r = { 0x1234567887654321ULL };
	size_t			 nrefs = 0, live, i, j, len;
	char			 buf[64];
	uintptr_t		 owner;
	uint8_t			 options;
	int			 found;

	for (i = 0; i < NF; i++) {
		len = random_topic(&r, buf, sizeof(buf), 1);
		ck_assert(topic_valid_filter(buf, len));
		owner = 1 + rng_below(&r, 40);
		options = (uint8_t)rng_below(&r, 3);
		for (found = 0, j = 0; j < nrefs && !found; j++) {
			if (refs[j].owner == owner &&
			    strcmp(refs[j].filter, buf) == 0) {
				refs[j].options = options;
				found = 1;
			}
		}
		ck_assert_int_eq(topic_tree_add(t, buf, len, OWNER(owner),
		    options), !found);
		if (!found) {
			memcpy(refs[nrefs].filter, buf, len + 1);
			refs[nrefs].owner = owner;
			refs[nrefs].options = options;
			refs[nrefs++].live = 1;
		}
	}
	/* Remove about a quarter, so the tree has pruned paths too. */
	live = nrefs;
	for (i = 0; i < nrefs; i++) {
		if (rng_below(&r, 4) != 0)
			continue;
		len = strlen(refs[i].filter);
		ck_assert_int_eq(topic_tree_remove(t, refs[i].filter, len,
		    OWNER(refs[i].owner)), 1);
		ck_assert_int_eq(topic_tree_remove(t, refs[i].filter, len,
		    OWNER(refs[i].owner)), 0);
		refs[i].live = 0;
		live--;
	}
	ck_assert_uint_eq(topic_tree_count(t), live);
	for (i = 0; i < NT; i++) {
		random_topic(&r, buf, sizeof(buf), 0);
		tree_hits(t, buf, &got);
		ref_hits(refs, nrefs, buf, &want);
		hits_assert_eq(&got, &want, buf);
	}
	free(got.v);
	free(want.v);
	free(refs);
	topic_tree_free(t);
}
END_TEST

/* ---- retained tree ------------------------------------------------- */

/* A retained tree holding a row's topic alone agrees with topic_match. */
START_TEST(test_retain_rows)
{
	struct retain_tree	*t;
	struct topics		 got = { 0 };
	size_t			 i;

	nfreed = 0;
	t = retain_tree_new(free_value);
	for (i = 0; i < FMQ_NELEM(matches); i++) {
		const struct match_row *r = &matches[i];

		ck_assert_uint_eq(retain_tree_set(t, r->topic,
		    strlen(r->topic), value_of(r->topic)), 1);
		ck_assert_msg(retain_hits(t, r->filter, &got) ==
		    (size_t)r->match, "retain: \"%s\" vs \"%s\": want %d",
		    r->filter, r->topic, r->match);
		if (got.n == 1)
			ck_assert_str_eq(got.v[0], r->topic);
		ck_assert_uint_eq(retain_tree_set(t, r->topic,
		    strlen(r->topic), NULL), 0);
		ck_assert_uint_eq(nfreed, i + 1);
	}
	topics_free(&got);
	retain_tree_free(t);
	ck_assert_uint_eq(nfreed, FMQ_NELEM(matches));
}
END_TEST

START_TEST(test_retain_set)
{
	struct retain_tree	*t;
	struct topics		 got = { 0 };
	void			*v;

	nfreed = 0;
	t = retain_tree_new(free_value);
	ck_assert_uint_eq(retain_tree_count(t), 0);
	ck_assert_uint_eq(retain_tree_set(t, "a/b", 3, value_of("a/b")), 1);
	ck_assert_uint_eq(retain_tree_set(t, "a/b", 3, value_of("a/b")), 1);
	ck_assert_uint_eq(nfreed, 1);	/* the replaced value */
	ck_assert_uint_eq(retain_tree_set(t, "a", 1, value_of("a")), 2);
	ck_assert_uint_eq(retain_tree_set(t, "a/b/c", 5, value_of("a/b/c")), 3);
	ck_assert_uint_eq(retain_tree_count(t), 3);

	/* Deleting: a value, a path without one, a missing topic. */
	ck_assert_uint_eq(retain_tree_set(t, "a/b", 3, NULL), 2);
	ck_assert_uint_eq(nfreed, 2);
	ck_assert_uint_eq(retain_tree_set(t, "a/b", 3, NULL), 2);
	ck_assert_uint_eq(retain_tree_set(t, "x/y", 3, NULL), 2);
	ck_assert_uint_eq(nfreed, 2);
	ck_assert_uint_eq(retain_hits(t, "a/b", &got), 0);
	ck_assert_uint_eq(retain_hits(t, "a/b/c", &got), 1);
	ck_assert_uint_eq(retain_hits(t, "#", &got), 2);

	/* Setting the value a topic already holds frees nothing. */
	v = value_of("a");
	ck_assert_uint_eq(retain_tree_set(t, "a", 1, v), 2);
	ck_assert_uint_eq(nfreed, 3);
	ck_assert_uint_eq(retain_tree_set(t, "a", 1, v), 2);
	ck_assert_uint_eq(nfreed, 3);

	/* The parent's value survives the child's deletion and vice versa. */
	ck_assert_uint_eq(retain_tree_set(t, "a/b/c", 5, NULL), 1);
	ck_assert_uint_eq(retain_hits(t, "a", &got), 1);
	ck_assert_uint_eq(retain_tree_set(t, "a/b/c", 5, value_of("a/b/c")), 2);
	ck_assert_uint_eq(retain_tree_set(t, "a", 1, NULL), 1);
	ck_assert_uint_eq(retain_hits(t, "a/b/c", &got), 1);
	ck_assert_uint_eq(nfreed, 5);
	topics_free(&got);
	retain_tree_free(t);
	ck_assert_uint_eq(nfreed, 6);
	retain_tree_free(NULL);
}
END_TEST

struct retain_case {
	const char	*filter;
	const char	*want[10];	/* NULL-terminated */
};

static const char *const stored[] = {
	"a", "a/b", "a/b/c", "a/", "/a", "$SYS/x", "$SYS", "b/$x", "ab", "/",
};

static const struct retain_case retain_cases[] = {
	{ "#", { "a", "a/b", "a/b/c", "a/", "/a", "b/$x", "ab", "/" } },
	{ "+/#", { "a", "a/b", "a/b/c", "a/", "/a", "b/$x", "ab", "/" } },
	{ "+", { "a", "ab" } },
	{ "a/#", { "a", "a/b", "a/b/c", "a/" } },
	{ "a/+", { "a/b", "a/" } },
	{ "+/+", { "a/b", "a/", "/a", "b/$x", "/" } },
	{ "/+", { "/a", "/" } },
	{ "/#", { "/a", "/" } },
	{ "$SYS/#", { "$SYS/x", "$SYS" } },
	{ "$SYS/+", { "$SYS/x" } },
	{ "$SYS", { "$SYS" } },
	{ "b/+", { "b/$x" } },
	{ "a/b", { "a/b" } },
	{ "a/+/c", { "a/b/c" } },
	{ "a/b/c/#", { "a/b/c" } },
	{ "+/+/+/+", { NULL } },
	{ "nothing/#", { NULL } },
};

START_TEST(test_retain_match)
{
	const struct retain_case	*c = &retain_cases[_i];
	struct retain_tree		*t = retain_tree_new(free_value);
	struct topics			 got = { 0 }, want = { 0 };
	size_t				 i;

	for (i = 0; i < FMQ_NELEM(stored); i++)
		retain_tree_set(t, stored[i], strlen(stored[i]),
		    value_of(stored[i]));
	for (i = 0; c->want[i] != NULL; i++)
		collect_topic(c->want[i], strlen(c->want[i]),
		    (void *)(uintptr_t)c->want[i], &want);
	retain_hits(t, c->filter, &got);
	topics_assert_eq(&got, &want, c->filter);
	topics_free(&got);
	topics_free(&want);
	retain_tree_free(t);
}
END_TEST

/* Random topics set and deleted, matched by random filters vs brute force. */
START_TEST(test_retain_random)
{
	enum { NT = 1000, NF = 1000 };
	struct retain_tree	*t;
	struct topics		 got = { 0 }, want = { 0 };
	struct rng		 r = { 0xdeadbeefcafef00dULL };
	char			(*topics)[64] = xcalloc(NT, sizeof(*topics));
	int			*live = xcalloc(NT, sizeof(*live));
	size_t			 i, j, n = 0, count = 0, len;
	char			 buf[64];

	nfreed = 0;
	t = retain_tree_new(free_value);
	for (i = 0; i < NT; i++) {
		len = random_topic(&r, buf, sizeof(buf), 0);
		for (j = 0; j < n && strcmp(topics[j], buf) != 0; j++)
			;
		if (j == n)
			memcpy(topics[n++], buf, len + 1);
		/* One time in four a delete, else a set. */
		if (rng_below(&r, 4) == 0) {
			count -= live[j];
			live[j] = 0;
			ck_assert_uint_eq(retain_tree_set(t, buf, len, NULL),
			    count);
		} else {
			count += !live[j];
			live[j] = 1;
			ck_assert_uint_eq(retain_tree_set(t, buf, len,
			    value_of(buf)), count);
		}
	}
	ck_assert_uint_eq(retain_tree_count(t), count);
	for (i = 0; i < NF; i++) {
		len = random_topic(&r, buf, sizeof(buf), 1);
		retain_hits(t, buf, &got);
		topics_clear(&want);
		for (j = 0; j < n; j++)
			if (live[j] && topic_match(buf, len, topics[j],
			    strlen(topics[j])))
				collect_topic(topics[j], strlen(topics[j]),
				    topics[j], &want);
		topics_assert_eq(&got, &want, buf);
	}
	topics_free(&got);
	topics_free(&want);
	free(topics);
	free(live);
	retain_tree_free(t);
}
END_TEST

/* 10k topics set then deleted: the tree ends empty; free frees the rest. */
START_TEST(test_retain_prune_free)
{
	enum { N = 10000 };
	struct retain_tree	*t;
	struct topics		 got = { 0 };
	char			 buf[64], *deep;
	size_t			 i;

	nfreed = 0;
	t = retain_tree_new(free_value);
	for (i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "plant/dev%zu/t%zu", i / 4, i % 4);
		ck_assert_uint_eq(retain_tree_set(t, buf, strlen(buf),
		    value_of(buf)), i + 1);
	}
	ck_assert_uint_eq(retain_hits(t, "#", &got), N);
	ck_assert_uint_eq(retain_hits(t, "plant/+/t1", &got), N / 4);
	for (i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "plant/dev%zu/t%zu",
		    (i * 7919) % N / 4, (i * 7919) % N % 4);
		ck_assert_uint_eq(retain_tree_set(t, buf, strlen(buf), NULL),
		    N - i - 1);
	}
	ck_assert_uint_eq(nfreed, N);
	ck_assert_uint_eq(retain_hits(t, "#", &got), 0);
	ck_assert_uint_eq(retain_hits(t, "plant/#", &got), 0);

	/* A topic of 30000 empty levels, then values left for free. */
	deep = xmalloc(30001);
	memset(deep, '/', 30000);
	deep[30000] = '\0';
	ck_assert_uint_eq(retain_tree_set(t, deep, 30000, value_of(deep)), 1);
	ck_assert_uint_eq(retain_hits(t, "#", &got), 1);
	ck_assert_uint_eq(retain_hits(t, deep, &got), 1);
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "left/%zu", i);
		retain_tree_set(t, buf, strlen(buf), value_of(buf));
	}
	ck_assert_uint_eq(retain_hits(t, "+/+", &got), 100);
	free(deep);
	topics_free(&got);
	retain_tree_free(t);
	ck_assert_uint_eq(nfreed, N + 101);
}
END_TEST

static Suite *
topic_suite(void)
{
	Suite	*s = suite_create("topic");
	TCase	*tc;

	tc = tcase_create("valid");
	tcase_add_loop_test(tc, test_valid_name, 0, (int)FMQ_NELEM(names));
	tcase_add_loop_test(tc, test_valid_filter, 0, (int)FMQ_NELEM(filters));
	tcase_add_test(tc, test_valid_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_loop_test(tc, test_match_row, 0, (int)FMQ_NELEM(matches));
	tcase_add_test(tc, test_match_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree_rows");
	tcase_add_test(tc, test_tree_rows);
	tcase_add_test(tc, test_tree_all_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree_add_remove");
	tcase_add_test(tc, test_tree_add_remove);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree_overlap");
	tcase_add_test(tc, test_tree_overlap);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree_many_owners");
	tcase_add_test(tc, test_tree_many_owners);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree_deep");
	tcase_add_test(tc, test_tree_deep);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree_prune");
	tcase_add_test(tc, test_tree_prune);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree_random");
	tcase_add_test(tc, test_tree_random);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("retain_rows");
	tcase_add_test(tc, test_retain_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("retain_set");
	tcase_add_test(tc, test_retain_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("retain_match");
	tcase_add_loop_test(tc, test_retain_match, 0,
	    (int)FMQ_NELEM(retain_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("retain_random");
	tcase_add_test(tc, test_retain_random);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("retain_prune_free");
	tcase_add_test(tc, test_retain_prune_free);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(topic_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
