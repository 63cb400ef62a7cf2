/*
 * Parsers for the value syntax of the configuration file. Pure functions:
 * each returns 0 and stores the value, or -1 and leaves *out alone.
 */
#ifndef FMQ_CONFIG_VALUE_H
#define FMQ_CONFIG_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* "500ms", "1s", "1.5m", "2h", "30d", or "0"; the result in milliseconds. */
int	 cfg_parse_duration(const char *, uint64_t *ms);
/* "512", "100B", "64KiB", "512MiB", "1GiB", "2TiB"; the result in bytes. */
int	 cfg_parse_size(const char *, uint64_t *bytes);
/* YAML booleans: true/false, yes/no, on/off in lower, Title or UPPER case. */
int	 cfg_parse_bool(const char *, int *);
/* A decimal (or 0x hex) integer within [min, max]. */
int	 cfg_parse_int(const char *, int64_t min, int64_t max, int64_t *);
/* A finite floating-point number. */
int	 cfg_parse_double(const char *, double *);

/*
 * Resolves a secret: "${env:NAME}" reads the environment, "${file:PATH}"
 * reads a file (one trailing newline removed), anything else is literal.
 * Returns a new string, or NULL with a reason in err.
 */
char	*cfg_resolve_secret(const char *, char *err, size_t errsz);

/* The edit distance between two short strings (for "did you mean"). */
size_t	 cfg_edit_distance(const char *, const char *);

/* The number of levels of a topic or filter ("a/b/c" has 3). */
size_t	 cfg_topic_levels(const char *);
/* An SQL identifier we accept: [A-Za-z_][A-Za-z0-9_]{0,63}, not sqlite_*. */
int	 cfg_valid_identifier(const char *);

#endif
