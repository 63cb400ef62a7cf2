/*
 * The configuration is described by tables of keys: a key's name, its
 * kind, where its value goes in the typed struct, its default and its
 * checks. load.c walks a YAML tree with these tables; schema.c holds the
 * tables for every section. Adding a setting is adding one line.
 */
#ifndef FMQ_CONFIG_SCHEMA_H
#define FMQ_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "config/yaml.h"

enum cfg_kind {
	CK_STRING,	/* char * */
	CK_SECRET,	/* char *, "${env:X}" / "${file:P}" resolved */
	CK_INT,		/* int64_t within [min, max] */
	CK_BOOL,	/* int */
	CK_DURATION,	/* uint64_t milliseconds, within [min, max] if max > 0 */
	CK_SIZE,	/* uint64_t bytes, within [min, max] if max > 0 */
	CK_DOUBLE,	/* double; has_off (int) set to 1 when given */
	CK_ENUM,	/* int: the index of the value in names */
	CK_STRUCT,	/* a nested struct, at off, described by sub */
	CK_LIST,	/* an array of sub structs at off, its count at count_off */
	CK_STRLIST,	/* char ** at off, count at count_off; a single value is a list of one */
	CK_NAMED_MAP,	/* a map of name -> sub struct; an array at off, count at count_off */
};

#define CF_REQUIRED	0x1	/* an error when missing */
#define CF_INHERIT	0x2	/* INT/BOOL/ENUM: -1 when missing ("use the parent's") */

struct cfg_ctx;
struct cfg_schema;

/* Checks a string value; returns 0, or -1 with the reason in why. */
typedef int (*cfg_valid_fn)(const char *, char *why, size_t whysz);
/* Checks an object whose keys are bound; node is its map (may be NULL). */
typedef void (*cfg_check_fn)(struct cfg_ctx *, void *obj, const struct ynode *node);

struct cfg_key {
	const char		*name;
	enum cfg_kind		 kind;
	size_t			 off;
	unsigned		 flags;
	const char		*def;		/* the default, written as in YAML */
	int64_t			 min, max;
	const char *const	*names;		/* CK_ENUM: NULL-terminated */
	const struct cfg_schema	*sub;
	size_t			 count_off;
	size_t			 has_off;
	const char		*unique;	/* CK_LIST: element key that must be unique */
	cfg_valid_fn		 valid;
};

struct cfg_schema {
	const char		*what;		/* "device", for messages */
	size_t			 size;		/* of one struct */
	const struct cfg_key	*keys;		/* ends with a NULL name */
	size_t			 pos_off;	/* struct cfg_pos, or NO_POS */
	size_t			 name_off;	/* CK_NAMED_MAP element: the key goes here */
	const char		*scalar_key;	/* CK_NAMED_MAP element: "k: v" means {scalar_key: v} */
	cfg_check_fn		 check;
	int			 check_always;	/* even after errors inside (NULL-safe) */
};

#define NO_POS	((size_t)-1)

/* The schema of the whole file (schema.c). */
extern const struct cfg_schema cfg_root_schema;

/* Reports an error at node, under the path being walked. */
void	 cfg_error(struct cfg_ctx *, const struct ynode *, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Reports an error about key of map (at the key's value, path + ".key"). */
void	 cfg_error_key(struct cfg_ctx *, const struct ynode *map, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Reports an error about element i of the list under key of map. */
void	 cfg_error_elem(struct cfg_ctx *, const struct ynode *map, const char *key,
	    size_t i, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Appends to the path in messages ("[%zu]", ".key"); returns what to pop. */
size_t	 cfg_path_push(struct cfg_ctx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 cfg_path_pop(struct cfg_ctx *, size_t);

/* The value node of key in map, or NULL. */
const struct ynode *cfg_value(const struct ynode *map, const char *key);
/* The i-th element node of the list under key in map, or NULL. */
const struct ynode *cfg_elem(const struct ynode *map, const char *key, size_t i);

/* String validators (check.c), usable as cfg_key.valid. */
int	 cfg_check_topic_filter(const char *, char *why, size_t);
int	 cfg_check_identifier(const char *, char *why, size_t);
int	 cfg_check_url(const char *, char *why, size_t);
int	 cfg_check_column_source(const char *, char *why, size_t);
int	 cfg_check_where(const char *, char *why, size_t);
int	 cfg_check_pattern(const char *, char *why, size_t);
int	 cfg_check_topic_template(const char *, char *why, size_t);
/* A where: condition, "PATH OP LITERAL" (PATH gets "$." unless it has it). */
enum { CFG_OP_EQ, CFG_OP_NE, CFG_OP_LT, CFG_OP_LE, CFG_OP_GT, CFG_OP_GE };
enum { CFG_LIT_NUMBER, CFG_LIT_STRING, CFG_LIT_NULL };
struct cfg_where {
	char		 path[256];
	int		 op;		/* CFG_OP_* */
	int		 lit;		/* CFG_LIT_*; true and false are numbers */
	double		 num;
	const char	*str;		/* CFG_LIT_STRING: inside the parsed text */
	size_t		 len;
};
int	 cfg_where_parse(const char *, struct cfg_where *);
/* "topic[N]": returns N, or -1 if s has another form. */
int	 cfg_topic_index(const char *s);

/* Frees what the schema's strings and lists own inside obj (not obj). */
void	 cfg_free_fields(const struct cfg_schema *, void *obj);

#endif
