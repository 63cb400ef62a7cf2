/*
 * A YAML document as a tree of nodes with their positions, built from
 * libyaml's events. Aliases point at their anchor's node (shared, never
 * copied), so an alias bomb costs no memory here; whoever walks the tree
 * bounds the walk. The tree owns every node and string.
 */
#ifndef FMQ_CONFIG_YAML_H
#define FMQ_CONFIG_YAML_H

#include <stddef.h>

enum ynode_kind {
	YN_SCALAR,
	YN_MAP,
	YN_SEQ,
};

struct ynode {
	enum ynode_kind	 kind;
	unsigned	 line;		/* 1-based */
	unsigned	 col;		/* 1-based */
	int		 plain;		/* scalar written without quotes */
	char		*value;		/* scalar text, NUL-terminated */
	size_t		 len;		/* scalar length (may hold NULs) */
	struct ynode	**items;	/* SEQ: n items; MAP: n keys and n values, interleaved */
	size_t		 n;
	size_t		 cap;
};

struct ydoc;

/* Limits that keep a hostile document small. */
#define YDOC_MAX_BYTES	(4u << 20)
#define YDOC_MAX_DEPTH	32
#define YDOC_MAX_NODES	1000000

/*
 * Parses buf into a tree. On error returns NULL and fills *line, *col
 * (1-based) and msg with what went wrong.
 */
struct ydoc	*ydoc_parse(const char *buf, size_t len, unsigned *line, unsigned *col,
		    char *msg, size_t msgsz);
void		 ydoc_free(struct ydoc *);
/* How many nodes the document has (aliases not expanded). */
size_t		 ydoc_nodes(const struct ydoc *);
/* The root node, or NULL for a document with no content. */
const struct ynode *ydoc_root(const struct ydoc *);

/* In a map: the key node named key, or NULL; *val gets its value node. */
const struct ynode *ynode_map_find(const struct ynode *, const char *key,
		    const struct ynode **val);
/* True for an unquoted empty, "~" or "null" scalar. */
int		 ynode_is_null(const struct ynode *);
const char	*ynode_kind_name(const struct ynode *);

#endif
