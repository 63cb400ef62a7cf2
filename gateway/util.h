/* Small helpers used everywhere: allocation that aborts, clocks, fatal. */
#ifndef FMQ_UTIL_H
#define FMQ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define FMQ_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation helpers: they abort the process on failure (systemd restarts it). */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * Reads a whole regular file of at most max bytes into a new buffer
 * (NUL-terminated; *lenp excludes the NUL). st (may be NULL) gets its
 * fstat. -1 with "PATH: why" in err.
 */
struct stat;
int	 read_file_max(const char *path, size_t max, char **textp,
	    size_t *lenp, struct stat *st, char *err, size_t errsz);

/* Logs a broken invariant or a start-up failure and exits with status 1. */
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Monotonic milliseconds and microseconds; wall-clock Unix milliseconds. */
uint64_t mono_ms(void);
uint64_t mono_us(void);
uint64_t wall_ms(void);

#endif
