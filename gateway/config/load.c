/*
 * Loads the configuration: parses the YAML tree, walks it with the key
 * tables of schema.c into typed structs, and collects every error of the
 * file (sorted by position) instead of stopping at the first.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/schema.h"
#include "config/value.h"
#include "config/yaml.h"
#include "util.h"
#include "conf.h"

/*
 * At most max(CFG_MIN_VISITS, 2 x the nodes in the file) values are bound,
 * counting each alias expansion: an alias bomb stops there.
 */
#define CFG_MIN_VISITS	200000
#define CFG_MAX_ERRORS	200

struct cfg_diag {
	unsigned	 line, col;
	size_t		 seq;
	char		*text;
};

struct cfg_ctx {
	const char	*file;
	char		 path[512];
	size_t		 pathlen;
	size_t		 visits;
	size_t		 max_visits;
	int		 aborted;
	struct cfg_diag	*diags;
	size_t		 ndiags, capdiags;
};

static void set_defaults(struct cfg_ctx *, const struct cfg_schema *, void *);
static void bind_struct(struct cfg_ctx *, const struct cfg_schema *, void *,
    const struct ynode *);

/* Appends ".key" or "[i]" to the path; returns the old length to restore. */
size_t
cfg_path_push(struct cfg_ctx *c, const char *fmt, ...)
{
	size_t	 old = c->pathlen;
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(c->path + c->pathlen, sizeof(c->path) - c->pathlen, fmt, ap);
	va_end(ap);
	if (r > 0)
		c->pathlen += (size_t)r;
	if (c->pathlen >= sizeof(c->path))
		c->pathlen = sizeof(c->path) - 1;
	return old;
}

void
cfg_path_pop(struct cfg_ctx *c, size_t old)
{
	c->pathlen = old;
	c->path[old] = '\0';
}

/* Pushes a key: ".key" below the root, "key" at it. */
static size_t
path_key(struct cfg_ctx *c, const char *key)
{
	return cfg_path_push(c, c->pathlen ? ".%s" : "%s", key);
}

static void
diag_vadd(struct cfg_ctx *c, unsigned line, unsigned col, const char *fmt,
    va_list ap)
{
	char		 msg[512];
	struct cfg_diag	*d;

	if (c->ndiags >= CFG_MAX_ERRORS)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->ndiags == c->capdiags) {
		c->capdiags = c->capdiags ? c->capdiags * 2 : 16;
		c->diags = xreallocarray(c->diags, c->capdiags, sizeof(*c->diags));
	}
	d = &c->diags[c->ndiags];
	d->line = line;
	d->col = col;
	d->seq = c->ndiags++;
	if (line == 0)
		d->text = xasprintf("%s: %s", c->file, msg);
	else if (c->pathlen)
		d->text = xasprintf("%s:%u:%u: %s: %s", c->file, line, col,
		    c->path, msg);
	else
		d->text = xasprintf("%s:%u:%u: %s", c->file, line, col, msg);
}

void
cfg_error(struct cfg_ctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	diag_vadd(c, at ? at->line : 0, at ? at->col : 0, fmt, ap);
	va_end(ap);
}

const struct ynode *
cfg_value(const struct ynode *map, const char *key)
{
	const struct ynode *v = NULL;

	ynode_map_find(map, key, &v);
	return v;
}

const struct ynode *
cfg_elem(const struct ynode *map, const char *key, size_t i)
{
	const struct ynode *v = cfg_value(map, key);

	if (v == NULL || v->kind != YN_SEQ || i >= v->n)
		return NULL;
	return v->items[i];
}

void
cfg_error_key(struct cfg_ctx *c, const struct ynode *map, const char *key,
    const char *fmt, ...)
{
	const struct ynode *at = cfg_value(map, key);
	size_t	 old = path_key(c, key);
	va_list	 ap;

	if (at == NULL)
		at = map;
	va_start(ap, fmt);
	diag_vadd(c, at ? at->line : 1, at ? at->col : 1, fmt, ap);
	va_end(ap);
	cfg_path_pop(c, old);
}

void
cfg_error_elem(struct cfg_ctx *c, const struct ynode *map, const char *key,
    size_t i, const char *fmt, ...)
{
	const struct ynode *at = cfg_elem(map, key, i);
	size_t	 old = cfg_path_push(c, c->pathlen ? ".%s[%zu]" : "%s[%zu]", key, i);
	va_list	 ap;

	if (at == NULL)
		at = map;
	va_start(ap, fmt);
	diag_vadd(c, at ? at->line : 1, at ? at->col : 1, fmt, ap);
	va_end(ap);
	cfg_path_pop(c, old);
}

/* Counts one bound node; past the budget, stops the walk with one error. */
static int
visit(struct cfg_ctx *c, const struct ynode *n)
{
	if (c->aborted)
		return -1;
	if (++c->visits > c->max_visits) {
		cfg_error(c, n, "the document expands to more than %zu values "
		    "(aliases used too often?)", c->max_visits);
		c->aborted = 1;
		return -1;
	}
	return 0;
}

#define FIELD(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))

/* Lists the accepted values of an enum key, e.g. "a, b or c". */
static void
enum_list(const char *const *names, char *buf, size_t sz)
{
	size_t	n = 0, len = 0;

	while (names[n] != NULL)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < sz; i++) {
		len += (size_t)snprintf(buf + len, sz - len, "%s%s",
		    i == 0 ? "" : (i + 1 == n ? " or " : ", "), names[i]);
	}
}

/* Binds one scalar value of a simple kind; returns 0 or -1 (reported). */
static int
bind_scalar(struct cfg_ctx *c, const struct cfg_key *k, void *obj,
    const struct ynode *n)
{
	const char	*s = n->value;
	char		 why[256], list[256];
	uint64_t	 u;
	int64_t		 i;
	double		 d;
	int		 b;
	char		*str;

	if (n->kind != YN_SCALAR) {
		cfg_error(c, n, "expected a single value, found %s",
		    ynode_kind_name(n));
		return -1;
	}
	if (strlen(s) != n->len) {
		cfg_error(c, n, "the value contains a NUL character");
		return -1;
	}
	switch (k->kind) {
	case CK_STRING:
	case CK_SECRET:
		why[0] = '\0';
		if (k->valid != NULL && k->valid(s, why, sizeof(why)) == -1) {
			cfg_error(c, n, "%s", why);
			return -1;
		}
		if (k->kind == CK_SECRET) {
			if ((str = cfg_resolve_secret(s, why, sizeof(why))) == NULL) {
				cfg_error(c, n, "%s", why);
				return -1;
			}
		} else
			str = xstrdup(s);
		free(*FIELD(obj, k->off, char *));
		*FIELD(obj, k->off, char *) = str;
		return 0;
	case CK_INT:
		if (cfg_parse_int(s, k->min, k->max, &i) == -1) {
			cfg_error(c, n, "\"%s\" is not an integer from %lld to %lld",
			    s, (long long)k->min, (long long)k->max);
			return -1;
		}
		*FIELD(obj, k->off, int64_t) = i;
		return 0;
	case CK_BOOL:
		if (cfg_parse_bool(s, &b) == -1) {
			cfg_error(c, n, "\"%s\" is not a boolean (use true or false)", s);
			return -1;
		}
		*FIELD(obj, k->off, int) = b;
		return 0;
	case CK_DURATION:
		if (cfg_parse_duration(s, &u) == -1) {
			cfg_error(c, n, "\"%s\" is not a duration (use e.g. 500ms, "
			    "1s, 5m)", s);
			return -1;
		}
		goto range;
	case CK_SIZE:
		if (cfg_parse_size(s, &u) == -1) {
			cfg_error(c, n, "\"%s\" is not a size (use e.g. 512B, "
			    "64KiB, 512MiB, 1GiB)", s);
			return -1;
		}
	range:
		if (k->max > 0 && (u < (uint64_t)k->min || u > (uint64_t)k->max)) {
			cfg_error(c, n, "\"%s\" is out of range", s);
			return -1;
		}
		*FIELD(obj, k->off, uint64_t) = u;
		return 0;
	case CK_DOUBLE:
		if (cfg_parse_double(s, &d) == -1) {
			cfg_error(c, n, "\"%s\" is not a number", s);
			return -1;
		}
		*FIELD(obj, k->off, double) = d;
		if (k->has_off)
			*FIELD(obj, k->has_off, int) = 1;
		return 0;
	case CK_ENUM:
		for (int j = 0; k->names[j] != NULL; j++) {
			if (strcmp(s, k->names[j]) == 0) {
				*FIELD(obj, k->off, int) = j;
				return 0;
			}
		}
		enum_list(k->names, list, sizeof(list));
		cfg_error(c, n, "\"%s\" is not one of %s", s, list);
		return -1;
	default:
		fatal("config: key %s: kind %d is not a scalar", k->name, k->kind);
	}
}

/* Binds a list of strings (a single value counts as a list of one). */
static void
bind_strlist(struct cfg_ctx *c, const struct cfg_key *k, void *obj,
    const struct ynode *n)
{
	char		***arr = FIELD(obj, k->off, char **);
	size_t		*cnt = FIELD(obj, k->count_off, size_t);
	struct cfg_key	 one = *k;
	char		*s = NULL;

	one.kind = CK_STRING;
	one.off = 0;
	if (n->kind == YN_SCALAR) {
		if (bind_scalar(c, &one, &s, n) == 0) {
			*arr = xcalloc(1, sizeof(char *));
			(*arr)[0] = s;
			*cnt = 1;
		}
		return;
	}
	if (n->kind != YN_SEQ) {
		cfg_error(c, n, "expected a value or a list of values, found %s",
		    ynode_kind_name(n));
		return;
	}
	*arr = xcalloc(n->n, sizeof(char *));
	for (size_t i = 0; i < n->n; i++) {
		size_t old = cfg_path_push(c, "[%zu]", i);

		if (visit(c, n->items[i]) == 0 &&
		    bind_scalar(c, &one, &s, n->items[i]) == 0) {
			(*arr)[(*cnt)++] = s;
			s = NULL;
		}
		cfg_path_pop(c, old);
	}
}

struct name_ref {
	const char	*name;
	size_t		 i;
};

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r != 0 ? r : (x->i < y->i ? -1 : x->i > y->i);
}

/* Reports elements whose unique key repeats an earlier one (n log n). */
static void
check_unique(struct cfg_ctx *c, const struct cfg_key *k, char *base,
    const struct ynode *n)
{
	const struct cfg_schema	*s = k->sub;
	const struct cfg_key	*u;
	struct name_ref		*refs;
	size_t			 m = 0, first = 0;

	for (u = s->keys; strcmp(u->name, k->unique) != 0; u++)
		;
	refs = xcalloc(n->n, sizeof(*refs));
	for (size_t i = 0; i < n->n; i++) {
		const char *v = *FIELD(base + i * s->size, u->off, char *);

		if (v != NULL)
			refs[m++] = (struct name_ref){ v, i };
	}
	qsort(refs, m, sizeof(*refs), name_ref_cmp);
	for (size_t j = 1; j < m; j++) {
		const struct ynode *at;
		size_t old;

		if (strcmp(refs[j].name, refs[first].name) != 0) {
			first = j;
			continue;
		}
		at = cfg_value(n->items[refs[first].i], u->name);
		old = cfg_path_push(c, "[%zu]", refs[j].i);
		cfg_error_key(c, n->items[refs[j].i], u->name,
		    "duplicate %s %s \"%s\" (first at line %u)", s->what, u->name,
		    refs[j].name, at ? at->line : 0);
		cfg_path_pop(c, old);
	}
	free(refs);
}

/* Binds a list of structs (one element per sequence item). */
static void
bind_list(struct cfg_ctx *c, const struct cfg_key *k, void *obj,
    const struct ynode *n)
{
	const struct cfg_schema *s = k->sub;
	void		**arr = FIELD(obj, k->off, void *);
	size_t		*cnt = FIELD(obj, k->count_off, size_t);
	char		*base;

	if (n->kind != YN_SEQ) {
		cfg_error(c, n, "expected a list (items starting with \"- \"), "
		    "found %s", ynode_kind_name(n));
		return;
	}
	base = *arr = xcalloc(n->n, s->size);
	*cnt = n->n;
	for (size_t i = 0; i < n->n; i++) {
		size_t old = cfg_path_push(c, "[%zu]", i);

		bind_struct(c, s, base + i * s->size, n->items[i]);
		cfg_path_pop(c, old);
	}
	if (k->unique != NULL)
		check_unique(c, k, base, n);
}

/* Binds "name: value", short for "name: {scalar_key: value}". */
static void
bind_shorthand(struct cfg_ctx *c, const struct cfg_schema *s, void *elem,
    const struct ynode *val)
{
	const struct cfg_key *k;

	set_defaults(c, s, elem);
	if (s->pos_off != NO_POS) {
		FIELD(elem, s->pos_off, struct cfg_pos)->line = val->line;
		FIELD(elem, s->pos_off, struct cfg_pos)->col = val->col;
	}
	for (k = s->keys; strcmp(k->name, s->scalar_key) != 0; k++)
		;
	if (visit(c, val) == 0 && bind_scalar(c, k, elem, val) == 0 &&
	    s->check != NULL)
		s->check(c, elem, NULL);
}

/* Binds a map of name -> struct (e.g. the columns of a table). */
static void
bind_named_map(struct cfg_ctx *c, const struct cfg_key *k, void *obj,
    const struct ynode *n)
{
	const struct cfg_schema *s = k->sub;
	void		**arr = FIELD(obj, k->off, void *);
	size_t		*cnt = FIELD(obj, k->count_off, size_t);
	char		*base, why[256];

	if (n->kind != YN_MAP) {
		cfg_error(c, n, "expected a map of names to settings, found %s",
		    ynode_kind_name(n));
		return;
	}
	base = *arr = xcalloc(n->n / 2, s->size);
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *key = n->items[i], *val = n->items[i + 1];
		char	*elem = base + (*cnt) * s->size;
		size_t	 old;

		if (key->kind != YN_SCALAR) {
			cfg_error(c, key, "a name must be a single value");
			continue;
		}
		old = path_key(c, key->value);
		why[0] = '\0';
		if (k->valid != NULL && k->valid(key->value, why, sizeof(why)) == -1)
			cfg_error(c, key, "%s", why);
		*FIELD(elem, s->name_off, char *) = xstrdup(key->value);
		(*cnt)++;
		if (val->kind == YN_SCALAR && !ynode_is_null(val) &&
		    s->scalar_key != NULL)
			bind_shorthand(c, s, elem, val);
		else if (visit(c, val) == 0)
			bind_struct(c, s, elem, val);
		cfg_path_pop(c, old);
	}
}

/* Binds the value of one key according to its kind. */
static void
bind_key(struct cfg_ctx *c, const struct cfg_key *k, void *obj,
    const struct ynode *n)
{
	if (visit(c, n) == -1)
		return;
	switch (k->kind) {
	case CK_STRUCT:
		bind_struct(c, k->sub, FIELD(obj, k->off, char), n);
		break;
	case CK_LIST:
		bind_list(c, k, obj, n);
		break;
	case CK_STRLIST:
		bind_strlist(c, k, obj, n);
		break;
	case CK_NAMED_MAP:
		bind_named_map(c, k, obj, n);
		break;
	default:
		bind_scalar(c, k, obj, n);
		break;
	}
}

/* Sets every key's default (from its text, as if written in the file). */
static void
set_defaults(struct cfg_ctx *c, const struct cfg_schema *s, void *obj)
{
	struct ynode	 fake;

	for (const struct cfg_key *k = s->keys; k->name != NULL; k++) {
		if (k->flags & CF_INHERIT) {
			if (k->kind == CK_INT)
				*FIELD(obj, k->off, int64_t) = -1;
			else
				*FIELD(obj, k->off, int) = -1;
		}
		if (k->kind == CK_STRUCT)
			set_defaults(c, k->sub, FIELD(obj, k->off, char));
		if (k->def == NULL)
			continue;
		memset(&fake, 0, sizeof(fake));
		fake.kind = YN_SCALAR;
		fake.value = (char *)k->def;
		fake.len = strlen(k->def);
		if (bind_scalar(c, k, obj, &fake) == -1)
			fatal("config: the default of %s is invalid", k->name);
	}
}

/* Suggests the known key closest to an unknown one, or NULL. */
static const char *
did_you_mean(const struct cfg_schema *s, const char *name)
{
	const char	*best = NULL;
	size_t		 bestd = (size_t)-1, d, lim;

	for (const struct cfg_key *k = s->keys; k->name != NULL; k++) {
		d = cfg_edit_distance(name, k->name);
		if (d < bestd) {
			bestd = d;
			best = k->name;
		}
	}
	lim = strlen(name) <= 4 ? 1 : (strlen(name) <= 8 ? 2 : 3);
	return bestd <= lim ? best : NULL;
}

/* Reports unknown and repeated keys of map n. */
static void
check_keys(struct cfg_ctx *c, const struct cfg_schema *s, const struct ynode *n)
{
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct ynode	*key = n->items[i];
		const struct cfg_key	*k;
		const char		*alt;

		if (key->kind != YN_SCALAR) {
			cfg_error(c, key, "a key must be a single value, found %s",
			    ynode_kind_name(key));
			continue;
		}
		for (size_t j = 0; j < i; j += 2) {
			if (n->items[j]->kind == YN_SCALAR &&
			    strcmp(n->items[j]->value, key->value) == 0) {
				size_t old = path_key(c, key->value);
				cfg_error(c, key, "the key appears twice (first at "
				    "line %u)", n->items[j]->line);
				cfg_path_pop(c, old);
				break;
			}
		}
		for (k = s->keys; k->name != NULL; k++)
			if (strcmp(k->name, key->value) == 0)
				break;
		if (k->name != NULL)
			continue;
		/* Top-level x-... keys hold anchors for aliases elsewhere. */
		if (s == &cfg_root_schema && strncmp(key->value, "x-", 2) == 0)
			continue;
		{
			size_t old = path_key(c, key->value);

			if (strcmp(key->value, "<<") == 0)
				cfg_error(c, key, "merge keys (<<) are not supported: "
				    "use an alias for a whole value instead");
			else if ((alt = did_you_mean(s, key->value)) != NULL)
				cfg_error(c, key, "unknown key (did you mean \"%s\"?)",
				    alt);
			else
				cfg_error(c, key, "unknown key in a %s", s->what);
			cfg_path_pop(c, old);
		}
	}
}

/*
 * Binds map n to obj. n is NULL for a section that is absent (every key
 * takes its default, nothing is required) and may be an empty value
 * ("broker:"), which is an empty map.
 */
static void
bind_struct(struct cfg_ctx *c, const struct cfg_schema *s, void *obj,
    const struct ynode *n)
{
	const struct ynode *at = n;
	size_t		 before = c->ndiags;

	set_defaults(c, s, obj);
	if (n != NULL && ynode_is_null(n))
		n = NULL;
	if (at != NULL && s->pos_off != NO_POS) {
		FIELD(obj, s->pos_off, struct cfg_pos)->line = at->line;
		FIELD(obj, s->pos_off, struct cfg_pos)->col = at->col;
	}
	if (n != NULL && n->kind != YN_MAP) {
		cfg_error(c, n, "expected a map of settings (key: value), found %s",
		    ynode_kind_name(n));
		return;
	}
	if (n != NULL)
		check_keys(c, s, n);
	for (const struct cfg_key *k = s->keys; k->name != NULL; k++) {
		const struct ynode *v = n ? cfg_value(n, k->name) : NULL;
		size_t old;

		if (v != NULL && ynode_is_null(v) && k->kind != CK_STRUCT)
			v = NULL;
		if (v == NULL) {
			if ((k->flags & CF_REQUIRED) && at != NULL)
				cfg_error(c, at, "missing required key \"%s\"",
				    k->name);
			continue;
		}
		old = path_key(c, k->name);
		bind_key(c, k, obj, v);
		cfg_path_pop(c, old);
		if (c->aborted)
			return;
	}
	/* A struct's own checks see only structs whose keys all bound. */
	if (s->check != NULL && !c->aborted &&
	    (c->ndiags == before || s->check_always))
		s->check(c, obj, n);
}

void
cfg_free_fields(const struct cfg_schema *s, void *obj)
{
	for (const struct cfg_key *k = s->keys; k->name != NULL; k++) {
		switch (k->kind) {
		case CK_STRING:
		case CK_SECRET:
			free(*FIELD(obj, k->off, char *));
			break;
		case CK_STRUCT:
			cfg_free_fields(k->sub, FIELD(obj, k->off, char));
			break;
		case CK_STRLIST: {
			char	**a = *FIELD(obj, k->off, char **);
			size_t	  n = *FIELD(obj, k->count_off, size_t);

			for (size_t i = 0; i < n; i++)
				free(a[i]);
			free(a);
			break;
		}
		case CK_LIST:
		case CK_NAMED_MAP: {
			char	*a = *FIELD(obj, k->off, char *);
			size_t	 n = *FIELD(obj, k->count_off, size_t);

			for (size_t i = 0; i < n; i++) {
				if (k->kind == CK_NAMED_MAP)
					free(*FIELD(a + i * k->sub->size,
					    k->sub->name_off, char *));
				cfg_free_fields(k->sub, a + i * k->sub->size);
			}
			free(a);
			break;
		}
		default:
			break;
		}
	}
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct cfg_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Moves the collected errors, sorted by position, into errs. */
static void
diags_flush(struct cfg_ctx *c, struct cfg_errors *errs)
{
	qsort(c->diags, c->ndiags, sizeof(*c->diags), diag_cmp);
	for (size_t i = 0; i < c->ndiags; i++) {
		if (errs == NULL) {
			free(c->diags[i].text);
			continue;
		}
		if (errs->n == errs->cap) {
			errs->cap = errs->cap ? errs->cap * 2 : 16;
			errs->lines = xreallocarray(errs->lines, errs->cap,
			    sizeof(*errs->lines));
		}
		errs->lines[errs->n++] = c->diags[i].text;
	}
	free(c->diags);
	c->diags = NULL;
	c->ndiags = c->capdiags = 0;
}

struct fmq_config *
config_load_buffer(const char *name, const char *buf, size_t len,
    struct cfg_errors *errs)
{
	struct cfg_ctx		 c;
	struct ydoc		*doc;
	const struct ynode	*root;
	struct fmq_config	*cfg;
	struct ynode		 at;
	char			 msg[256];

	memset(&c, 0, sizeof(c));
	c.file = name;
	memset(&at, 0, sizeof(at));
	doc = ydoc_parse(buf, len, &at.line, &at.col, msg, sizeof(msg));
	if (doc == NULL) {
		cfg_error(&c, &at, "%s", msg);
		diags_flush(&c, errs);
		return NULL;
	}
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->file = xstrdup(name);
	root = ydoc_root(doc);
	c.max_visits = 2 * ydoc_nodes(doc);
	if (c.max_visits < CFG_MIN_VISITS)
		c.max_visits = CFG_MIN_VISITS;
	if (root == NULL || ynode_is_null(root)) {
		at.line = at.col = 1;
		cfg_error(&c, &at, "the file is empty (expected sections such as "
		    "broker, devices, tables)");
	} else if (root->kind != YN_MAP) {
		cfg_error(&c, root, "expected a map of sections (broker:, "
		    "devices:, ...), found %s", ynode_kind_name(root));
	} else {
		bind_struct(&c, &cfg_root_schema, cfg, root);
	}
	ydoc_free(doc);
	if (c.ndiags > 0) {
		diags_flush(&c, errs);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct fmq_config *
config_load(const char *path, struct cfg_errors *errs)
{
	struct fmq_config	*cfg;
	struct cfg_ctx		 c;
	struct stat		 st;
	char			*buf = NULL;
	size_t			 len = 0;
	ssize_t			 r;
	int			 fd;

	memset(&c, 0, sizeof(c));
	c.file = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		cfg_error(&c, NULL, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)YDOC_MAX_BYTES) {
		cfg_error(&c, NULL, "%s", S_ISREG(st.st_mode) ?
		    "the file is larger than 4 MiB" : "not a regular file");
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cfg_error(&c, NULL, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	cfg = config_load_buffer(path, buf, len, errs);
	free(buf);
	return cfg;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	diags_flush(&c, errs);
	return NULL;
}

void
config_free(struct fmq_config *cfg)
{
	if (cfg == NULL)
		return;
	cfg_free_fields(&cfg_root_schema, cfg);
	free(cfg->file);
	free(cfg);
}

void
cfg_errors_free(struct cfg_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->lines[i]);
	free(e->lines);
	memset(e, 0, sizeof(*e));
}

const struct cfg_device *
config_device(const struct fmq_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].name && strcmp(cfg->devices[i].name, name) == 0)
			return &cfg->devices[i];
	return NULL;
}

const struct cfg_tag *
config_tag(const struct cfg_device *d, const char *name)
{
	for (size_t i = 0; i < d->ntags; i++)
		if (d->tags[i].name && strcmp(d->tags[i].name, name) == 0)
			return &d->tags[i];
	return NULL;
}

/* Pluralises a count: "1 device", "2 devices". */
static int
counted(char *buf, size_t sz, size_t n, const char *what)
{
	return snprintf(buf, sz, "%zu %s%s", n, what, n == 1 ? "" : "s");
}

void
config_describe(const struct fmq_config *cfg, char *buf, size_t sz)
{
	size_t	ntags = 0, len = 0;
	char	part[6][48];

	for (size_t i = 0; i < cfg->ndevices; i++)
		ntags += cfg->devices[i].ntags;
	counted(part[0], sizeof(part[0]), cfg->broker.nlisteners, "listener");
	counted(part[1], sizeof(part[1]), cfg->ndevices, "device");
	counted(part[2], sizeof(part[2]), ntags, "tag");
	counted(part[3], sizeof(part[3]), cfg->ntables, "table");
	counted(part[4], sizeof(part[4]), cfg->nbridges, "bridge");
	counted(part[5], sizeof(part[5]), cfg->nactuators, "actuator");
	for (size_t i = 0; i < 6 && len < sz; i++)
		len += (size_t)snprintf(buf + len, sz - len, "%s%s",
		    i ? ", " : "", part[i]);
}

char *
config_device_topic(const struct cfg_device *d)
{
	const char	*t = d->topic, *p;
	size_t		 occ = 0, n = 0, nlen = strlen(d->name);
	char		*out;

	for (p = t; (p = strstr(p, "{device}")) != NULL; p += 8)
		occ++;
	out = xmalloc(strlen(t) + occ * nlen + 1);
	while ((p = strstr(t, "{device}")) != NULL) {
		memcpy(out + n, t, (size_t)(p - t));
		n += (size_t)(p - t);
		memcpy(out + n, d->name, nlen);
		n += nlen;
		t = p + 8;
	}
	strcpy(out + n, t);
	return out;
}
