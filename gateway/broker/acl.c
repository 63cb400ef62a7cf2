/*
 * Access control lists in mosquitto's acl_file format: parsing, and the
 * checks for a topic name (PUBLISH, delivery) and for a topic filter
 * (SUBSCRIBE). The rules of the anonymous clients, of each user and the
 * patterns are kept in file order; a check scans the rules that apply to
 * the client twice, denials first. User sections are sorted by name once
 * loaded, repeated sections merged.
 */
#include "config.h"


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/acl.h"
#include "broker/topic.h"
#include "util.h"

#define USES_C		0x1	/* the pattern holds "%c" */
#define USES_U		0x2	/* the pattern holds "%u" */
#define EXPAND_LOCAL	256	/* longer expansions: on the heap */
#define SHOW_MAX	64	/* bytes of a bad word or filter in errors */

struct rule {
	char		*filter;
	size_t		 len;
	int		 access;	/* ACL_READ | ACL_WRITE; 0: deny */
	int		 uses;		/* USES_C, USES_U */
};

struct rules {
	struct rule	*v;
	size_t		 n;
	size_t		 cap;
};

struct section {
	char		*user;
	size_t		 len;
	struct rules	 rules;
};

struct acl {
	struct rules	 anon;		/* before any user */
	struct rules	 patterns;
	struct section	*users;		/* sorted by name */
	size_t		 nusers;
	size_t		 capusers;
};

/* A pattern's filter with its values in place. */
struct expansion {
	char		*p;		/* local, or allocated */
	size_t		 len;
	char		 local[EXPAND_LOCAL];
};

enum expand_result {
	EXPAND_OK,
	EXPAND_SKIP,		/* a %u pattern, and no username */
	EXPAND_UNUSABLE		/* a value that could widen the filter */
};

static const struct {
	const char	*word;
	int		 access;
} access_words[] = {
	{ "read", ACL_READ },
	{ "write", ACL_WRITE },
	{ "readwrite", ACL_READ | ACL_WRITE },
	{ "deny", 0 },
};

/* ---- small helpers ------------------------------------------------- */

static void	 seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The length of s shown in an error message. */
static int
shown(size_t len)
{
	return len > SHOW_MAX ? SHOW_MAX : (int)len;
}

static void
rules_add(struct rules *r, const char *filter, size_t len, int access,
    int uses)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	r->v[r->n].filter = xstrndup(filter, len);
	r->v[r->n].len = len;
	r->v[r->n].access = access;
	r->v[r->n].uses = uses;
	r->n++;
}

static void
rules_free(struct rules *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].filter);
	free(r->v);
}

/* ---- parsing ------------------------------------------------------- */

/* Which %c / %u a pattern's filter holds. */
static int
pattern_uses(const char *s, size_t len)
{
	int	 uses = 0;
	size_t	 i;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '%')
			continue;
		if (s[i + 1] == 'c')
			uses |= USES_C;
		else if (s[i + 1] == 'u')
			uses |= USES_U;
	}
	return uses;
}

/* Returns the access of an access word, or -1. */
static int
access_word(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < FMQ_NELEM(access_words); i++)
		if (strlen(access_words[i].word) == len &&
		    memcmp(access_words[i].word, s, len) == 0)
			return access_words[i].access;
	return -1;
}

/* Starts the section of user (len bytes); returns its index. */
static size_t
section_add(struct acl *a, const char *user, size_t len)
{
	struct section	*s;

	if (a->nusers == a->capusers) {
		a->capusers = a->capusers ? a->capusers * 2 : 8;
		a->users = xreallocarray(a->users, a->capusers,
		    sizeof(*a->users));
	}
	s = &a->users[a->nusers];
	memset(s, 0, sizeof(*s));
	s->user = xstrndup(user, len);
	s->len = len;
	return a->nusers++;
}

/*
 * Parses the rest of a topic or pattern line: "[ACCESS] FILTER". Adds the
 * rule to r, or writes why.
 */
static int
parse_rule(struct rules *r, int pattern, const char *s, size_t len,
    char *why, size_t whysz)
{
	const char	*kw = pattern ? "pattern" : "topic", *filter;
	size_t		 wlen, flen;
	int		 access;

	if (len == 0) {
		seterr(why, whysz, "missing topic filter after \"%s\"", kw);
		return -1;
	}
	for (wlen = 0; wlen < len && !is_blank(s[wlen]); wlen++)
		;
	for (filter = s + wlen; filter < s + len && is_blank(*filter);
	    filter++)
		;
	flen = (size_t)(s + len - filter);
	access = access_word(s, wlen);
	if (flen == 0) {
		if (access != -1) {
			seterr(why, whysz, "missing topic filter after "
			    "\"%.*s\"", (int)wlen, s);
			return -1;
		}
		/* One word: the filter, read and write. */
		filter = s;
		flen = wlen;
		access = ACL_READ | ACL_WRITE;
	} else if (access == -1) {
		seterr(why, whysz, "unknown access \"%.*s\" (want read, write, "
		    "readwrite or deny)", shown(wlen), s);
		return -1;
	}
	if (!topic_valid_filter(filter, flen)) {
		seterr(why, whysz, "invalid topic filter \"%.*s\"%s",
		    shown(flen), filter, flen > SHOW_MAX ? "..." : "");
		return -1;
	}
	rules_add(r, filter, flen, access,
	    pattern ? pattern_uses(filter, flen) : 0);
	return 0;
}

/*
 * Parses one line (without its newline). *cur is the index of the
 * current user section, or -1 before the first. Writes why on failure.
 */
static int
parse_line(struct acl *a, long *cur, const char *s, size_t len, char *why,
    size_t whysz)
{
	size_t	 wlen;

	if (memchr(s, '\0', len) != NULL) {
		seterr(why, whysz, "NUL byte in the line");
		return -1;
	}
	while (len > 0 && (is_blank(s[len - 1]) || s[len - 1] == '\r'))
		len--;
	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	if (len == 0 || s[0] == '#')
		return 0;
	for (wlen = 0; wlen < len && !is_blank(s[wlen]); wlen++)
		;
	if (wlen == 4 && memcmp(s, "user", 4) == 0) {
		while (wlen < len && is_blank(s[wlen]))
			wlen++;
		if (wlen == len) {
			seterr(why, whysz, "missing username after \"user\"");
			return -1;
		}
		*cur = (long)section_add(a, s + wlen, len - wlen);
		return 0;
	}
	if ((wlen == 5 && memcmp(s, "topic", 5) == 0) ||
	    (wlen == 7 && memcmp(s, "pattern", 7) == 0)) {
		int	pattern = wlen == 7;
		size_t	off = wlen;

		while (off < len && is_blank(s[off]))
			off++;
		return parse_rule(pattern ? &a->patterns : *cur < 0 ?
		    &a->anon : &a->users[*cur].rules, pattern, s + off,
		    len - off, why, whysz);
	}
	seterr(why, whysz, "unknown keyword \"%.*s\" (want user, topic or "
	    "pattern)", shown(wlen), s);
	return -1;
}

static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
section_cmp(const void *x, const void *y)
{
	const struct section	*a = x, *b = y;

	return name_cmp(a->user, a->len, b->user, b->len);
}

/* Sorts the sections by name and merges those given more than once. */
static void
sections_merge(struct acl *a)
{
	struct section	*keep, *s;
	size_t		 i, j, n = 0;

	if (a->nusers == 0)
		return;
	qsort(a->users, a->nusers, sizeof(*a->users), section_cmp);
	for (i = 0; i < a->nusers; i++) {
		s = &a->users[i];
		keep = n > 0 ? &a->users[n - 1] : NULL;
		if (keep == NULL || section_cmp(keep, s) != 0) {
			a->users[n++] = *s;
			continue;
		}
		/* Move the rules over; their filters change hands. */
		for (j = 0; j < s->rules.n; j++) {
			if (keep->rules.n == keep->rules.cap) {
				keep->rules.cap = keep->rules.cap ?
				    keep->rules.cap * 2 : 8;
				keep->rules.v = xreallocarray(keep->rules.v,
				    keep->rules.cap, sizeof(*keep->rules.v));
			}
			keep->rules.v[keep->rules.n++] = s->rules.v[j];
		}
		free(s->rules.v);
		free(s->user);
	}
	a->nusers = n;
}

struct acl *
acl_load_buf(const char *name, const char *text, size_t len, char *err,
    size_t errsz)
{
	struct acl	*a = xcalloc(1, sizeof(*a));
	char		 why[256];
	const char	*nl;
	size_t		 off = 0, ll, lineno = 0;
	long		 cur = -1;

	while (off < len) {
		nl = memchr(text + off, '\n', len - off);
		ll = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		lineno++;
		if (ll > ACL_LINE_MAX) {
			seterr(err, errsz, "%s:%zu: line longer than %d bytes",
			    name, lineno, ACL_LINE_MAX);
			goto fail;
		}
		if (parse_line(a, &cur, text + off, ll, why, sizeof(why)) ==
		    -1) {
			seterr(err, errsz, "%s:%zu: %s", name, lineno, why);
			goto fail;
		}
		off += ll + (nl != NULL);
	}
	sections_merge(a);
	return a;
fail:
	acl_free(a);
	return NULL;
}

struct acl *
acl_load(const char *path, char *err, size_t errsz)
{
	struct acl	*a;
	char		*text;
	size_t		 len;

	if (read_file_max(path, ACL_FILE_MAX, &text, &len, NULL, err, errsz) == -1)
		return NULL;
	a = acl_load_buf(path, text, len, err, errsz);
	free(text);
	return a;
}

void
acl_free(struct acl *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	rules_free(&a->anon);
	rules_free(&a->patterns);
	for (i = 0; i < a->nusers; i++) {
		rules_free(&a->users[i].rules);
		free(a->users[i].user);
	}
	free(a->users);
	free(a);
}

/* ---- checks -------------------------------------------------------- */

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

static int
is_level(const char *s, size_t off, size_t end, char c)
{
	return end - off == 1 && s[off] == c;
}

int
acl_filter_covers(const char *rule, size_t rlen, const char *sub,
    size_t slen)
{
	size_t	 ri = 0, si = 0, re, se;

	/* A rule starting with a wildcard matches no topic starting '$'. */
	if (rlen > 0 && (rule[0] == '+' || rule[0] == '#') && slen > 0 &&
	    sub[0] == '$')
		return 0;
	for (;;) {
		if (ri > rlen)
			return si > slen;
		re = level_end(rule, ri, rlen);
		/* '#' matches what is left, the parent level included. */
		if (is_level(rule, ri, re, '#'))
			return 1;
		/* sub's topics end here; rule wants one more level. */
		if (si > slen)
			return 0;
		se = level_end(sub, si, slen);
		/*
		 * sub's '#' matches the parent topic and any depth below: only
		 * a '#' covers that. Where there is no parent topic (at the
		 * first level, or after an empty first level: "" is no topic)
		 * it is "+/#", so a rule ending in "+/#" covers it too.
		 */
		if (is_level(sub, si, se, '#'))
			return si <= 1 && is_level(rule, ri, re, '+') &&
			    rlen == re + 2 && rule[re + 1] == '#';
		if (!is_level(rule, ri, re, '+')) {
			if (is_level(sub, si, se, '+') || re - ri != se - si ||
			    memcmp(rule + ri, sub + si, re - ri) != 0)
				return 0;
		}
		ri = re + 1;
		si = se + 1;
	}
}

/* Can one topic match both filters? */
int
acl_filter_overlaps(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	 ai = 0, bi = 0, ae, be;

	/* A filter starting with a wildcard matches no topic starting '$'. */
	if (alen > 0 && blen > 0 && ((a[0] == '$' && (b[0] == '+' ||
	    b[0] == '#')) || (b[0] == '$' && (a[0] == '+' || a[0] == '#'))))
		return 0;
	for (;;) {
		if (ai > alen || bi > blen) {
			/* One ended: the other must end too, or go on with a
			 * '#', which also matches the parent level. */
			/* (The parent topic "" of "/#" is no topic.) */
			if (ai > alen && bi > blen)
				return 1;
			if (ai > alen)
				return bi > 1 &&
				    is_level(b, bi, level_end(b, bi, blen), '#');
			return ai > 1 && is_level(a, ai, level_end(a, ai, alen), '#');
		}
		ae = level_end(a, ai, alen);
		be = level_end(b, bi, blen);
		if (is_level(a, ai, ae, '#') || is_level(b, bi, be, '#'))
			return 1;
		if (!is_level(a, ai, ae, '+') && !is_level(b, bi, be, '+') &&
		    (ae - ai != be - bi || memcmp(a + ai, b + bi, ae - ai) != 0))
			return 0;
		ai = ae + 1;
		bi = be + 1;
	}
}

/* Can v stand for %c or %u? It must name exactly one ordinary level. */
static int
usable(const char *v)
{
	return v != NULL && v[0] != '\0' && v[0] != '$' &&
	    strpbrk(v, "/+#") == NULL;
}

/* Writes rule r's filter with the client's values in place into x. */
static enum expand_result
expand(const struct rule *r, const char *cid, const char *user,
    struct expansion *x)
{
	size_t	 clen = 0, ulen = 0, len = 0, i;
	char	*o;

	x->p = NULL;
	if ((r->uses & USES_U) && user == NULL)
		return EXPAND_SKIP;
	if (((r->uses & USES_C) && !usable(cid)) ||
	    ((r->uses & USES_U) && !usable(user)))
		return EXPAND_UNUSABLE;
	if (r->uses & USES_C)
		clen = strlen(cid);
	if (r->uses & USES_U)
		ulen = strlen(user);
	/* One pass to size, one to write: a value is never expanded again. */
	for (i = 0; i < r->len; i++) {
		if (r->filter[i] == '%' && i + 1 < r->len &&
		    (r->filter[i + 1] == 'c' || r->filter[i + 1] == 'u')) {
			len += r->filter[i + 1] == 'c' ? clen : ulen;
			i++;
		} else
			len++;
	}
	x->p = len <= sizeof(x->local) ? x->local : xmalloc(len);
	for (i = 0, o = x->p; i < r->len; i++) {
		if (r->filter[i] == '%' && i + 1 < r->len &&
		    (r->filter[i + 1] == 'c' || r->filter[i + 1] == 'u')) {
			if (r->filter[++i] == 'c') {
				memcpy(o, cid, clen);
				o += clen;
			} else {
				memcpy(o, user, ulen);
				o += ulen;
			}
		} else
			*o++ = r->filter[i];
	}
	x->len = len;
	return EXPAND_OK;
}

static void
expansion_free(struct expansion *x)
{
	if (x->p != NULL && x->p != x->local)
		free(x->p);
	x->p = NULL;
}

/*
 * Does filter f match topic s? For a subscription (filter s): does a deny
 * rule f cover all of s, does a grant f share a topic with it?
 */
static int
matches(const char *f, size_t flen, const char *s, size_t len, int subscribe,
    int deny)
{
	if (!subscribe)
		return topic_match(f, flen, s, len);
	return deny ? acl_filter_covers(f, flen, s, len) :
	    acl_filter_overlaps(f, flen, s, len);
}

/* The topic rules of the client: its user's, the anonymous ones, or none. */
static const struct rules *
own_rules(const struct acl *a, const char *user)
{
	size_t	 lo = 0, hi = a->nusers, mid, len;
	int	 c;

	if (user == NULL)
		return &a->anon;
	len = strlen(user);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = name_cmp(user, len, a->users[mid].user, a->users[mid].len);
		if (c == 0)
			return &a->users[mid].rules;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * Is there an applying rule, a deny rule if want is 0, else one granting
 * want, that matches (or covers) s? A deny pattern whose value is not
 * usable counts as matching: it refuses everything.
 */
static int
any_rule(const struct acl *a, const struct rules *own, const char *cid,
    const char *user, const char *s, size_t len, int want, int subscribe)
{
	const struct rule	*r;
	struct expansion	 x;
	size_t			 i;
	int			 hit;

	for (i = 0; own != NULL && i < own->n; i++) {
		r = &own->v[i];
		if ((want == 0 ? r->access == 0 : (r->access & want) != 0) &&
		    matches(r->filter, r->len, s, len, subscribe, want == 0))
			return 1;
	}
	for (i = 0; i < a->patterns.n; i++) {
		r = &a->patterns.v[i];
		if (want == 0 ? r->access != 0 : (r->access & want) == 0)
			continue;
		switch (expand(r, cid, user, &x)) {
		case EXPAND_SKIP:
			continue;
		case EXPAND_UNUSABLE:
			if (want == 0)
				return 1;
			continue;
		case EXPAND_OK:
			break;
		}
		hit = matches(x.p, x.len, s, len, subscribe, want == 0);
		expansion_free(&x);
		if (hit)
			return 1;
	}
	return 0;
}

/* Denials first, then grants of want. */
static int
decide(const struct acl *a, const char *cid, const char *user, const char *s,
    size_t len, int want, int subscribe)
{
	const struct rules	*own = own_rules(a, user);

	if (any_rule(a, own, cid, user, s, len, 0, subscribe))
		return 0;
	return any_rule(a, own, cid, user, s, len, want, subscribe);
}

int
acl_check(const struct acl *a, const char *client_id, const char *username,
    const char *topic, size_t len, int access)
{
	if ((access != ACL_READ && access != ACL_WRITE) ||
	    !topic_valid_name(topic, len))
		return 0;
	return decide(a, client_id, username, topic, len, access, 0);
}

int
acl_check_subscribe(const struct acl *a, const char *client_id,
    const char *username, const char *filter, size_t len)
{
	if (!topic_valid_filter(filter, len))
		return 0;
	return decide(a, client_id, username, filter, len, ACL_READ, 1);
}
