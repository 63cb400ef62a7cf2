/*
 * Logging to stderr, one line per event, in the form
 *   component[instance]: what happened: why
 * Safe to call from any thread: each line goes out in one write(2).
 */
#ifndef FMQ_LOG_H
#define FMQ_LOG_H

enum log_level {
	LOGL_ERROR,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG,
};

/* Sets the most verbose level that is printed (any thread). */
void	 log_set_level(enum log_level);
enum log_level log_get_level(void);

/* Parses "error", "warn", "info" or "debug"; returns 0, or -1 if unknown. */
int	 log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);

/* Writes one line; instance may be NULL. */
void	 log_msg(enum log_level, const char *component, const char *instance,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(c, i, ...) log_msg(LOGL_ERROR, c, i, __VA_ARGS__)
#define log_warn(c, i, ...)  log_msg(LOGL_WARN, c, i, __VA_ARGS__)
#define log_info(c, i, ...)  log_msg(LOGL_INFO, c, i, __VA_ARGS__)
#define log_debug(c, i, ...) \
	do { \
		if (log_get_level() >= LOGL_DEBUG) \
			log_msg(LOGL_DEBUG, c, i, __VA_ARGS__); \
	} while (0)

#endif
