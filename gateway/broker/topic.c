#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/topic.h"
#include "util.h"

/*
 * Topic names and filters: validation, matching one filter against one
 * topic, the subscription tree and the retained-message tree.
 *
 * Both trees are tries of topic levels. A node's children live in a map:
 * up to MAP_LINEAR slots it is a short array scanned in full, above that
 * an open-addressing table (linear probing, backward-shift deletion) with
 * the level's hash and length in the slot, so one probe usually decides.
 * A subscription node keeps its subscribers in the same kind of map, keyed
 * by owner. Walks use an explicit stack of frames that stays on the C
 * stack up to STACK_LOCAL entries and moves to the heap only beyond.
 */

#define TOPIC_MAX	65535
#define MAP_LINEAR	8
#define STACK_LOCAL	32

#define FNV_OFFSET	2166136261u
#define FNV_PRIME	16777619u

/* A child node keyed by its level, or a subscriber keyed by its owner. */
struct slot {
	void		*p;	/* NULL: free */
	uint32_t	 h;
	uint32_t	 aux;	/* level length, or subscription options */
};

struct map {
	struct slot	*v;
	uint32_t	 n;
	uint32_t	 cap;	/* 0 or a power of two; table if > MAP_LINEAR */
};

/* Both node kinds start with this, so a map can compare levels. */
struct key {
	const char	*level;	/* the bytes allocated after the node */
};

struct tnode {
	struct key	 k;
	struct tnode	*parent;
	struct tnode	*plus;
	struct tnode	*multi;	/* the '#' child */
	struct map	 kids;	/* every other level */
	struct map	 subs;	/* owner -> options */
	uint32_t	 h;
	uint32_t	 len;
};

struct topic_tree {
	struct tnode	*root;
	size_t		 count;
};

struct rnode {
	struct key	 k;
	struct rnode	*parent;
	struct map	 kids;
	void		*value;
	char		*topic;	/* the full topic while value is set */
	size_t		 topic_len;
	uint32_t	 h;
	uint32_t	 len;
};

struct retain_tree {
	struct rnode	*root;
	retain_free_cb	 free_value;
	size_t		 count;
};

struct frame {
	void		*node;
	size_t		 off;	/* where the next level starts; len + 1: done */
	uint32_t	 i;	/* the next child slot to visit */
	int		 kind;
};

struct stack {
	struct frame	*v;
	size_t		 n;
	size_t		 cap;
	struct frame	 local[STACK_LOCAL];
};

enum {
	R_VISIT,	/* match the filter from off at node */
	R_PLUS,		/* visit every child at off ('+') */
	R_ALL		/* report every descendant ('#') */
};

/* ---- validation and one-to-one matching ------------------------------- */

int
topic_valid_name(const char *s, size_t len)
{
	if (len == 0 || len > TOPIC_MAX)
		return 0;
	return memchr(s, '+', len) == NULL && memchr(s, '#', len) == NULL;
}

int
topic_valid_filter(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > TOPIC_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] != '+' && s[i] != '#')
			continue;
		/* A wildcard fills its level; '#' is also the last one. */
		if (i > 0 && s[i - 1] != '/')
			return 0;
		if (s[i] == '#' && i + 1 != len)
			return 0;
		if (s[i] == '+' && i + 1 < len && s[i + 1] != '/')
			return 0;
	}
	return 1;
}

/* Returns where the level starting at off ends: a '/' or len. */
static size_t
level_end(const char *s, size_t off, size_t len)
{
	const char	*p;

	if (off >= len)
		return len;
	p = memchr(s + off, '/', len - off);
	return p != NULL ? (size_t)(p - s) : len;
}

int
topic_match(const char *filter, size_t flen, const char *topic, size_t tlen)
{
	size_t	 fi = 0, ti = 0, fe, te;
	int	 plus;

	if (tlen > 0 && topic[0] == '$' && flen > 0 &&
	    (filter[0] == '+' || filter[0] == '#'))
		return 0;
	for (;;) {
		if (fi > flen)
			return ti > tlen;
		fe = level_end(filter, fi, flen);
		if (fe - fi == 1 && filter[fi] == '#')
			return 1;
		if (ti > tlen)
			return 0;
		te = level_end(topic, ti, tlen);
		plus = fe - fi == 1 && filter[fi] == '+';
		if (!plus && (fe - fi != te - ti ||
		    memcmp(filter + fi, topic + ti, fe - fi) != 0))
			return 0;
		fi = fe + 1;
		ti = te + 1;
	}
}

/* ---- hashing and maps ---------------------------------------------- */

/* The murmur3 finaliser: spreads every input bit over the low bits. */
static uint32_t
mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* FNV-1a over the bytes of one level, mixed. */
static uint32_t
level_hash(const char *s, size_t len)
{
	uint32_t	 h = FNV_OFFSET;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= FNV_PRIME;
	}
	return mix32(h);
}

/* Finds the end of the level starting at off and hashes it in one pass. */
static size_t
level_scan(const char *s, size_t off, size_t len, uint32_t *hp)
{
	uint32_t	 h = FNV_OFFSET;
	size_t		 i;

	for (i = off; i < len && s[i] != '/'; i++) {
		h ^= (uint8_t)s[i];
		h *= FNV_PRIME;
	}
	*hp = mix32(h);
	return i;
}

/* Hashes an owner pointer (its low bits are mostly alignment). */
static uint32_t
owner_hash(const void *p)
{
	uint64_t	 x = (uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* The capacity for n entries: a short array, or a table at most half full. */
static uint32_t
map_capfor(uint32_t n)
{
	uint64_t	 want = n > MAP_LINEAR ? (uint64_t)n * 2 : n;
	uint32_t	 cap = 1;

	if (n == 0)
		return 0;
	while (cap < want)
		cap <<= 1;
	return cap;
}

/* Puts s in the first free slot of its probe sequence (table mode). */
static void
map_place(struct map *m, const struct slot *s)
{
	uint32_t	 mask = m->cap - 1, i = s->h & mask;

	while (m->v[i].p != NULL)
		i = (i + 1) & mask;
	m->v[i] = *s;
}

/* Moves every entry into a new array of cap slots. */
static void
map_resize(struct map *m, uint32_t cap)
{
	struct slot	*old = m->v;
	uint32_t	 oldcap = m->cap, i, j = 0;

	m->v = cap > 0 ? xcalloc(cap, sizeof(*m->v)) : NULL;
	m->cap = cap;
	for (i = 0; i < oldcap; i++) {
		if (old[i].p == NULL)
			continue;
		if (cap <= MAP_LINEAR)
			m->v[j++] = old[i];
		else
			map_place(m, &old[i]);
	}
	free(old);
}

/* Adds an entry the caller knows is absent. */
static void
map_insert(struct map *m, void *p, uint32_t h, uint32_t aux)
{
	struct slot	 s = { p, h, aux };
	uint32_t	 i;

	if (m->cap <= MAP_LINEAR ? m->n == m->cap :
	    ((uint64_t)m->n + 1) * 4 > (uint64_t)m->cap * 3)
		map_resize(m, map_capfor(m->n + 1));
	if (m->cap > MAP_LINEAR)
		map_place(m, &s);
	else {
		for (i = 0; m->v[i].p != NULL; i++)
			;
		m->v[i] = s;
	}
	m->n++;
}

/* Empties slot i, closing the gap in its probe run, and shrinks if sparse. */
static void
map_delete(struct map *m, uint32_t i)
{
	uint32_t	 mask = m->cap - 1, j = i, home;

	m->v[i].p = NULL;
	m->n--;
	if (m->cap > MAP_LINEAR) {
		for (;;) {
			j = (j + 1) & mask;
			if (m->v[j].p == NULL)
				break;
			home = m->v[j].h & mask;
			/* Stays if its home lies cyclically in (i, j]. */
			if (i <= j ? (i < home && home <= j) :
			    (i < home || home <= j))
				continue;
			m->v[i] = m->v[j];
			m->v[j].p = NULL;
			i = j;
		}
	}
	if (m->n == 0)
		map_resize(m, 0);
	else if (m->cap > MAP_LINEAR && (uint64_t)m->n * 8 < m->cap)
		map_resize(m, map_capfor(m->n));
}

/* Returns the slot of the child named by level s, or UINT32_MAX. */
static uint32_t
map_find_level(const struct map *m, const char *s, uint32_t len, uint32_t h)
{
	const struct slot	*v = m->v;
	uint32_t		 i, mask;

	if (m->cap <= MAP_LINEAR) {
		for (i = 0; i < m->cap; i++)
			if (v[i].p != NULL && v[i].h == h && v[i].aux == len &&
			    memcmp(((const struct key *)v[i].p)->level, s,
			    len) == 0)
				return i;
		return UINT32_MAX;
	}
	mask = m->cap - 1;
	for (i = h & mask; v[i].p != NULL; i = (i + 1) & mask)
		if (v[i].h == h && v[i].aux == len &&
		    memcmp(((const struct key *)v[i].p)->level, s, len) == 0)
			return i;
	return UINT32_MAX;
}

/* Returns the child named by level s, or NULL. */
static void *
map_child(const struct map *m, const char *s, size_t len, uint32_t h)
{
	uint32_t	 i = map_find_level(m, s, (uint32_t)len, h);

	return i == UINT32_MAX ? NULL : m->v[i].p;
}

/* Returns the slot holding owner, or UINT32_MAX. */
static uint32_t
map_find_owner(const struct map *m, const void *owner, uint32_t h)
{
	const struct slot	*v = m->v;
	uint32_t		 i, mask;

	if (m->cap <= MAP_LINEAR) {
		for (i = 0; i < m->cap; i++)
			if (v[i].p == owner)
				return i;
		return UINT32_MAX;
	}
	mask = m->cap - 1;
	for (i = h & mask; v[i].p != NULL; i = (i + 1) & mask)
		if (v[i].p == owner)
			return i;
	return UINT32_MAX;
}

/* Returns the entry after slot *i, advancing *i, or NULL at the end. */
static void *
map_next(const struct map *m, uint32_t *i)
{
	void	*p;

	while (*i < m->cap) {
		p = m->v[(*i)++].p;
		if (p != NULL)
			return p;
	}
	return NULL;
}

/* ---- walk stack ---------------------------------------------------- */

static void
stack_init(struct stack *s)
{
	s->v = s->local;
	s->n = 0;
	s->cap = STACK_LOCAL;
}

/* Pushes a frame; the stack leaves the C stack only when it is deep. */
static void
stack_push(struct stack *s, void *node, size_t off, int kind)
{
	struct frame	*f;

	if (s->n == s->cap) {
		if (s->v == s->local) {
			s->v = xreallocarray(NULL, s->cap * 2, sizeof(*s->v));
			memcpy(s->v, s->local, sizeof(s->local));
		} else
			s->v = xreallocarray(s->v, s->cap * 2, sizeof(*s->v));
		s->cap *= 2;
	}
	f = &s->v[s->n++];
	f->node = node;
	f->off = off;
	f->i = 0;
	f->kind = kind;
}

static void
stack_free(struct stack *s)
{
	if (s->v != s->local)
		free(s->v);
}

/* ---- subscription tree --------------------------------------------- */

/* Allocates a node with its level bytes after it. */
static struct tnode *
tnode_new(struct tnode *parent, const char *s, size_t len, uint32_t h)
{
	struct tnode	*n = xcalloc(1, sizeof(*n) + len + 1);
	char		*level = (char *)(n + 1);

	memcpy(level, s, len);
	n->k.level = level;
	n->parent = parent;
	n->h = h;
	n->len = (uint32_t)len;
	return n;
}

/* Returns the child for one filter level, creating it if asked. */
static struct tnode *
tnode_step(struct tnode *n, const char *s, size_t len, int create)
{
	struct tnode	**wild = NULL, *c;
	uint32_t	  h;

	if (len == 1 && s[0] == '+')
		wild = &n->plus;
	else if (len == 1 && s[0] == '#')
		wild = &n->multi;
	if (wild != NULL) {
		if (*wild == NULL && create)
			*wild = tnode_new(n, s, len, 0);
		return *wild;
	}
	h = level_hash(s, len);
	c = map_child(&n->kids, s, len, h);
	if (c == NULL && create) {
		c = tnode_new(n, s, len, h);
		map_insert(&n->kids, c, h, (uint32_t)len);
	}
	return c;
}

/* Returns the node of filter, or NULL (or a new path) if there is none. */
static struct tnode *
tnode_find(struct topic_tree *t, const char *filter, size_t len, int create)
{
	struct tnode	*n = t->root;
	size_t		 off = 0, e;

	while (n != NULL && off <= len) {
		e = level_end(filter, off, len);
		n = tnode_step(n, filter + off, e - off, create);
		off = e + 1;
	}
	return n;
}

/* Frees n and its ancestors while they hold nothing. */
static void
tnode_prune(struct topic_tree *t, struct tnode *n)
{
	struct tnode	*p;

	while (n != t->root && n->subs.n == 0 && n->kids.n == 0 &&
	    n->plus == NULL && n->multi == NULL) {
		p = n->parent;
		if (n == p->plus)
			p->plus = NULL;
		else if (n == p->multi)
			p->multi = NULL;
		else
			map_delete(&p->kids, map_find_level(&p->kids,
			    n->k.level, n->len, n->h));
		free(n->kids.v);
		free(n->subs.v);
		free(n);
		n = p;
	}
}

/* Returns the child after position *i: the levels, then '+', then '#'. */
static struct tnode *
tnode_next(const struct tnode *n, uint32_t *i)
{
	struct tnode	*c;

	if (*i < n->kids.cap && (c = map_next(&n->kids, i)) != NULL)
		return c;
	if (*i == n->kids.cap) {
		(*i)++;
		if (n->plus != NULL)
			return n->plus;
	}
	if (*i == n->kids.cap + 1) {
		(*i)++;
		if (n->multi != NULL)
			return n->multi;
	}
	return NULL;
}

struct topic_tree *
topic_tree_new(void)
{
	struct topic_tree	*t = xcalloc(1, sizeof(*t));

	t->root = tnode_new(NULL, "", 0, 0);
	return t;
}

void
topic_tree_free(struct topic_tree *t)
{
	struct stack	 st;
	struct frame	*f;
	struct tnode	*n, *c;

	if (t == NULL)
		return;
	stack_init(&st);
	stack_push(&st, t->root, 0, 0);
	while (st.n > 0) {
		f = &st.v[st.n - 1];
		n = f->node;
		if ((c = tnode_next(n, &f->i)) != NULL) {
			stack_push(&st, c, 0, 0);
			continue;
		}
		st.n--;
		free(n->kids.v);
		free(n->subs.v);
		free(n);
	}
	stack_free(&st);
	free(t);
}

int
topic_tree_add(struct topic_tree *t, const char *filter, size_t len,
    void *owner, uint8_t options)
{
	struct tnode	*n;
	uint32_t	 h = owner_hash(owner), i;

	if (owner == NULL)
		fatal("%s: NULL owner", __func__);
	n = tnode_find(t, filter, len, 1);
	if ((i = map_find_owner(&n->subs, owner, h)) != UINT32_MAX) {
		n->subs.v[i].aux = options;
		return 0;
	}
	map_insert(&n->subs, owner, h, options);
	t->count++;
	return 1;
}

int
topic_tree_remove(struct topic_tree *t, const char *filter, size_t len,
    void *owner)
{
	struct tnode	*n;
	uint32_t	 i;

	if (owner == NULL || (n = tnode_find(t, filter, len, 0)) == NULL)
		return 0;
	if ((i = map_find_owner(&n->subs, owner, owner_hash(owner))) ==
	    UINT32_MAX)
		return 0;
	map_delete(&n->subs, i);
	t->count--;
	tnode_prune(t, n);
	return 1;
}

/* Calls cb for every subscriber of n. */
static void
tnode_report(const struct tnode *n, topic_match_cb cb, void *arg)
{
	const struct slot	*v = n->subs.v;
	uint32_t		 i;

	for (i = 0; i < n->subs.cap; i++)
		if (v[i].p != NULL)
			cb(v[i].p, (uint8_t)v[i].aux, arg);
}

void
topic_tree_match(struct topic_tree *t, const char *topic, size_t len,
    topic_match_cb cb, void *arg)
{
	struct stack	 st;
	struct tnode	*n = t->root, *exact, *plus;
	size_t		 off = 0, e;
	uint32_t	 h;
	int		 dollar = len > 0 && topic[0] == '$', wild;

	stack_init(&st);
	for (;;) {
		if (off > len) {
			/* Every level is used: "a" and "a/#" match "a". */
			tnode_report(n, cb, arg);
			if (n->multi != NULL)
				tnode_report(n->multi, cb, arg);
		} else {
			wild = !dollar || n != t->root;
			if (wild && n->multi != NULL)
				tnode_report(n->multi, cb, arg);
			plus = wild ? n->plus : NULL;
			exact = NULL;
			e = len;
			if (n->kids.n > 0) {
				e = level_scan(topic, off, len, &h);
				exact = map_child(&n->kids, topic + off,
				    e - off, h);
			} else if (plus != NULL)
				e = level_end(topic, off, len);
			if (exact != NULL || plus != NULL) {
				if (exact != NULL && plus != NULL)
					stack_push(&st, plus, e + 1, 0);
				n = exact != NULL ? exact : plus;
				off = e + 1;
				continue;
			}
		}
		if (st.n == 0)
			break;
		st.n--;
		n = st.v[st.n].node;
		off = st.v[st.n].off;
	}
	stack_free(&st);
}

size_t
topic_tree_count(const struct topic_tree *t)
{
	return t->count;
}

/* ---- retained messages --------------------------------------------- */

/* Allocates a node with its level bytes after it. */
static struct rnode *
rnode_new(struct rnode *parent, const char *s, size_t len, uint32_t h)
{
	struct rnode	*n = xcalloc(1, sizeof(*n) + len + 1);
	char		*level = (char *)(n + 1);

	memcpy(level, s, len);
	n->k.level = level;
	n->parent = parent;
	n->h = h;
	n->len = (uint32_t)len;
	return n;
}

/* Returns the node of topic, or NULL (or a new path) if there is none. */
static struct rnode *
rnode_find(struct retain_tree *t, const char *topic, size_t len, int create)
{
	struct rnode	*n = t->root, *c;
	size_t		 off = 0, e;
	uint32_t	 h;

	while (off <= len) {
		e = level_scan(topic, off, len, &h);
		c = map_child(&n->kids, topic + off, e - off, h);
		if (c == NULL) {
			if (!create)
				return NULL;
			c = rnode_new(n, topic + off, e - off, h);
			map_insert(&n->kids, c, h, (uint32_t)(e - off));
		}
		n = c;
		off = e + 1;
	}
	return n;
}

/* Frees n and its ancestors while they hold nothing. */
static void
rnode_prune(struct retain_tree *t, struct rnode *n)
{
	struct rnode	*p;

	while (n != t->root && n->value == NULL && n->kids.n == 0) {
		p = n->parent;
		map_delete(&p->kids, map_find_level(&p->kids, n->k.level,
		    n->len, n->h));
		free(n->kids.v);
		free(n);
		n = p;
	}
}

/* Returns the child after slot *i, skipping '$' levels if asked. */
static struct rnode *
rnode_next(const struct rnode *n, uint32_t *i, int nodollar)
{
	struct rnode	*c;

	while ((c = map_next(&n->kids, i)) != NULL)
		if (!nodollar || c->len == 0 || c->k.level[0] != '$')
			return c;
	return NULL;
}

struct retain_tree *
retain_tree_new(retain_free_cb free_value)
{
	struct retain_tree	*t = xcalloc(1, sizeof(*t));

	t->root = rnode_new(NULL, "", 0, 0);
	t->free_value = free_value;
	return t;
}

void
retain_tree_free(struct retain_tree *t)
{
	struct stack	 st;
	struct frame	*f;
	struct rnode	*n, *c;

	if (t == NULL)
		return;
	stack_init(&st);
	stack_push(&st, t->root, 0, 0);
	while (st.n > 0) {
		f = &st.v[st.n - 1];
		n = f->node;
		if ((c = rnode_next(n, &f->i, 0)) != NULL) {
			stack_push(&st, c, 0, 0);
			continue;
		}
		st.n--;
		if (n->value != NULL && t->free_value != NULL)
			t->free_value(n->value);
		free(n->topic);
		free(n->kids.v);
		free(n);
	}
	stack_free(&st);
	free(t);
}

size_t
retain_tree_set(struct retain_tree *t, const char *topic, size_t len,
    void *value)
{
	struct rnode	*n;
	void		*old;

	n = rnode_find(t, topic, len, value != NULL);
	if (n == NULL)
		return t->count;
	old = n->value;
	n->value = value;
	if (old == NULL && value != NULL) {
		n->topic = xstrndup(topic, len);
		n->topic_len = len;
		t->count++;
	} else if (old != NULL && value == NULL) {
		free(n->topic);
		n->topic = NULL;
		t->count--;
		rnode_prune(t, n);
	}
	if (old != NULL && old != value && t->free_value != NULL)
		t->free_value(old);
	return t->count;
}

/* Calls cb for n if it holds a value. */
static void
rnode_report(const struct rnode *n, retain_match_cb cb, void *arg)
{
	if (n->value != NULL)
		cb(n->topic, n->topic_len, n->value, arg);
}

/* Matches one filter level at n: reports, or pushes what to do next. */
static void
retain_visit(struct stack *st, struct rnode *n, const char *filter,
    size_t off, size_t len, retain_match_cb cb, void *arg)
{
	struct rnode	*c;
	size_t		 e;
	uint32_t	 h;

	if (off > len) {
		rnode_report(n, cb, arg);
		return;
	}
	e = level_scan(filter, off, len, &h);
	if (e - off == 1 && filter[off] == '#') {
		/* The parent level too: "a/#" matches "a". */
		rnode_report(n, cb, arg);
		if (n->kids.n > 0)
			stack_push(st, n, 0, R_ALL);
	} else if (e - off == 1 && filter[off] == '+') {
		if (n->kids.n > 0)
			stack_push(st, n, e + 1, R_PLUS);
	} else if ((c = map_child(&n->kids, filter + off, e - off, h)) != NULL)
		stack_push(st, c, e + 1, R_VISIT);
}

void
retain_tree_match(struct retain_tree *t, const char *filter, size_t len,
    retain_match_cb cb, void *arg)
{
	struct stack	 st;
	struct frame	*f;
	struct rnode	*n, *c;
	size_t		 off;

	stack_init(&st);
	stack_push(&st, t->root, 0, R_VISIT);
	while (st.n > 0) {
		f = &st.v[st.n - 1];
		n = f->node;
		off = f->off;
		if (f->kind == R_VISIT) {
			st.n--;
			retain_visit(&st, n, filter, off, len, cb, arg);
			continue;
		}
		/* Wildcards at the first level skip "$SYS" and the like. */
		if ((c = rnode_next(n, &f->i, n == t->root)) == NULL) {
			st.n--;
			continue;
		}
		if (f->kind == R_PLUS)
			stack_push(&st, c, off, R_VISIT);
		else {
			rnode_report(c, cb, arg);
			if (c->kids.n > 0)
				stack_push(&st, c, 0, R_ALL);
		}
	}
	stack_free(&st);
}

size_t
retain_tree_count(const struct retain_tree *t)
{
	return t->count;
}
