/* Builds a position-annotated node tree from libyaml's event stream. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/yaml.h"
#include "util.h"

struct anchor {
	char		*name;
	struct ynode	*node;
};

struct ydoc {
	struct ynode	*root;
	struct ynode	**nodes;	/* every node, for freeing */
	size_t		 nnodes, capnodes;
	struct anchor	*anchors;
	size_t		 nanchors, capanchors;
};

struct builder {
	struct ydoc	*doc;
	struct ynode	*stack[YDOC_MAX_DEPTH];
	char		*pending[YDOC_MAX_DEPTH];	/* anchors of open collections */
	int		 depth;
	int		 docs;
	unsigned	*line, *col;
	char		*msg;
	size_t		 msgsz;
};

/* Records an error at a libyaml mark. */
static int
fail_at(struct builder *b, yaml_mark_t m, const char *what)
{
	*b->line = (unsigned)m.line + 1;
	*b->col = (unsigned)m.column + 1;
	snprintf(b->msg, b->msgsz, "%s", what);
	return -1;
}

static struct ynode *
node_new(struct builder *b, enum ynode_kind kind, yaml_mark_t m)
{
	struct ydoc	*d = b->doc;
	struct ynode	*n;

	if (d->nnodes >= YDOC_MAX_NODES)
		return NULL;
	if (d->nnodes == d->capnodes) {
		d->capnodes = d->capnodes ? d->capnodes * 2 : 64;
		d->nodes = xreallocarray(d->nodes, d->capnodes, sizeof(*d->nodes));
	}
	n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)m.line + 1;
	n->col = (unsigned)m.column + 1;
	d->nodes[d->nnodes++] = n;
	return n;
}

static void
node_append(struct ynode *parent, struct ynode *child)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 4;
		parent->items = xreallocarray(parent->items, parent->cap,
		    sizeof(*parent->items));
	}
	parent->items[parent->n++] = child;
}

static void
anchor_add(struct ydoc *d, const char *name, struct ynode *node)
{
	if (d->nanchors == d->capanchors) {
		d->capanchors = d->capanchors ? d->capanchors * 2 : 8;
		d->anchors = xreallocarray(d->anchors, d->capanchors,
		    sizeof(*d->anchors));
	}
	d->anchors[d->nanchors].name = xstrdup(name);
	d->anchors[d->nanchors].node = node;
	d->nanchors++;
}

/* The most recent node with this anchor name (YAML allows redefinition). */
static struct ynode *
anchor_find(struct ydoc *d, const char *name)
{
	for (size_t i = d->nanchors; i-- > 0;)
		if (strcmp(d->anchors[i].name, name) == 0)
			return d->anchors[i].node;
	return NULL;
}

/* Attaches a finished node to the open collection, or makes it the root. */
static void
attach(struct builder *b, struct ynode *n)
{
	if (b->depth == 0)
		b->doc->root = n;
	else
		node_append(b->stack[b->depth - 1], n);
}

/* Handles one event; returns 1 at stream end, 0 to go on, -1 on error. */
static int
on_event(struct builder *b, yaml_event_t *ev)
{
	struct ynode	*n;
	yaml_char_t	*anchor = NULL;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1)
			return fail_at(b, ev->start_mark,
			    "only one YAML document is allowed in the file");
		return 0;
	case YAML_ALIAS_EVENT:
		n = anchor_find(b->doc, (const char *)ev->data.alias.anchor);
		if (n == NULL)
			return fail_at(b, ev->start_mark, "alias to an unknown anchor");
		attach(b, n);
		return 0;
	case YAML_SCALAR_EVENT:
		if ((n = node_new(b, YN_SCALAR, ev->start_mark)) == NULL)
			goto toobig;
		n->value = xstrndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		anchor = ev->data.scalar.anchor;
		attach(b, n);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (b->depth >= YDOC_MAX_DEPTH)
			return fail_at(b, ev->start_mark,
			    "the document is nested too deeply");
		n = node_new(b, ev->type == YAML_MAPPING_START_EVENT ? YN_MAP :
		    YN_SEQ, ev->start_mark);
		if (n == NULL)
			goto toobig;
		anchor = ev->type == YAML_MAPPING_START_EVENT ?
		    ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		attach(b, n);
		/* A collection's anchor counts once it is complete: no cycles. */
		b->pending[b->depth] = anchor ? xstrdup((char *)anchor) : NULL;
		b->stack[b->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		if (b->pending[b->depth] != NULL) {
			anchor_add(b->doc, b->pending[b->depth], b->stack[b->depth]);
			free(b->pending[b->depth]);
			b->pending[b->depth] = NULL;
		}
		return 0;
	default:
		return 0;
	}
	if (anchor != NULL)
		anchor_add(b->doc, (const char *)anchor, n);
	return 0;
toobig:
	return fail_at(b, ev->start_mark, "the document has too many nodes");
}

/* Appends libyaml's parser error, with a hint for the usual tab mistake. */
static void
parser_error(struct builder *b, yaml_parser_t *p, const char *buf, size_t len)
{
	const char	*problem = p->problem ? p->problem : "malformed YAML";
	yaml_mark_t	 m = p->problem_mark;
	const char	*hint = "";
	char		 byte[32];

	if (p->error == YAML_READER_ERROR) {
		/* Reader errors give a byte offset, not a mark. */
		m.index = p->problem_offset < len ? p->problem_offset : len;
		m.line = m.column = 0;
		for (size_t i = 0; i < m.index; i++) {
			m.column = buf[i] == '\n' ? 0 : m.column + 1;
			m.line += buf[i] == '\n';
		}
		if (p->problem_value >= 0) {
			snprintf(byte, sizeof(byte), " (byte 0x%02X)",
			    (unsigned)p->problem_value & 0xff);
			hint = byte;
		}
	} else if (m.index < len && buf[m.index] == '\t')
		hint = " (a tab: YAML is indented with spaces)";
	*b->line = (unsigned)m.line + 1;
	*b->col = (unsigned)m.column + 1;
	if (p->context != NULL)
		snprintf(b->msg, b->msgsz, "%s %s%s", problem, p->context, hint);
	else
		snprintf(b->msg, b->msgsz, "%s%s", problem, hint);
}

struct ydoc *
ydoc_parse(const char *buf, size_t len, unsigned *line, unsigned *col,
    char *msg, size_t msgsz)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	struct builder	 b;
	int		 r = 0;

	memset(&b, 0, sizeof(b));
	b.line = line;
	b.col = col;
	b.msg = msg;
	b.msgsz = msgsz;
	*line = *col = 1;
	if (len > YDOC_MAX_BYTES) {
		snprintf(msg, msgsz, "the file is larger than %u bytes",
		    YDOC_MAX_BYTES);
		return NULL;
	}
	b.doc = xcalloc(1, sizeof(*b.doc));
	if (!yaml_parser_initialize(&p))
		fatal("yaml: cannot initialise the parser");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(&b, &p, buf, len);
			r = -1;
			break;
		}
		r = on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (int i = 0; i < YDOC_MAX_DEPTH; i++)
		free(b.pending[i]);
	if (r < 0) {
		ydoc_free(b.doc);
		return NULL;
	}
	return b.doc;
}

void
ydoc_free(struct ydoc *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nnodes; i++) {
		free(d->nodes[i]->value);
		free(d->nodes[i]->items);
		free(d->nodes[i]);
	}
	for (size_t i = 0; i < d->nanchors; i++)
		free(d->anchors[i].name);
	free(d->anchors);
	free(d->nodes);
	free(d);
}

size_t
ydoc_nodes(const struct ydoc *d)
{
	return d->nnodes;
}

const struct ynode *
ydoc_root(const struct ydoc *d)
{
	return d->root;
}

const struct ynode *
ynode_map_find(const struct ynode *map, const char *key, const struct ynode **val)
{
	if (map == NULL || map->kind != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->items[i];

		if (k->kind == YN_SCALAR && strcmp(k->value, key) == 0) {
			if (val != NULL)
				*val = map->items[i + 1];
			return k;
		}
	}
	return NULL;
}

int
ynode_is_null(const struct ynode *n)
{
	return n->kind == YN_SCALAR && n->plain && (n->len == 0 ||
	    strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	    strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0);
}

const char *
ynode_kind_name(const struct ynode *n)
{
	switch (n->kind) {
	case YN_MAP:
		return "a map";
	case YN_SEQ:
		return "a list";
	default:
		return "a single value";
	}
}
