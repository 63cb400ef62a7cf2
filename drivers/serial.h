/*
 * Serial-line sensors: a device that prints ASCII lines ("T=21.5 H=40")
 * read with a regular expression whose named groups become tags. The
 * pattern code is pure (any thread; fuzzed); the reader is a thread per
 * port, like a Modbus line.
 */
#ifndef FMQ_DRIVERS_SERIAL_H
#define FMQ_DRIVERS_SERIAL_H

#include <regex.h>
#include <stddef.h>

#include "drivers/value.h"

struct cfg_device;
struct drv_sink;
struct sline;

#define SLINE_MAX_GROUPS	32

/* A compiled pattern: POSIX ERE with (?<name>...) or (?P<name>...) groups. */
struct sline_pattern {
	regex_t		 re;
	size_t		 ngroups;		/* named groups */
	char		*names[SLINE_MAX_GROUPS];
	size_t		 index[SLINE_MAX_GROUPS];	/* their POSIX group numbers */
};

/* Compiles pattern; 0, or -1 with the reason in why. */
int	 sline_pattern_compile(struct sline_pattern *, const char *pattern,
	    char *why, size_t whysz);
void	 sline_pattern_free(struct sline_pattern *);
typedef void (*sline_value_cb)(const char *name, const struct drv_value *, void *arg);
/*
 * Matches one line; for every named group that matched, cb gets its value:
 * a number when the text is one, else a string. Returns the number of
 * values, or -1 if the line does not match.
 */
int	 sline_match(const struct sline_pattern *, const char *line,
	    sline_value_cb cb, void *arg);

/* A reader thread for dev (borrowed). */
struct sline	*sline_new(const struct cfg_device *, const struct drv_sink *);
int		 sline_start(struct sline *);
void		 sline_stop(struct sline *);
void		 sline_free(struct sline *);

#endif
