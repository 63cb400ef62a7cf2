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

/* Logs a broken invariant or a start-up failure and exits with status 1. */
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Monotonic milliseconds and microseconds; wall-clock Unix milliseconds. */
uint64_t mono_ms(void);
uint64_t mono_us(void);
uint64_t wall_ms(void);

#endif
