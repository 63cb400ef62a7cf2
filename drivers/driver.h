/*
 * Field drivers: lines (a TCP connection or a serial port) that poll the
 * devices behind them, each line on its own thread because libmodbus
 * blocks. Readings and state changes leave through a sink that main
 * hands in; the drivers know nothing of the broker, SQL or the loop.
 */
#ifndef FMQ_DRIVERS_DRIVER_H
#define FMQ_DRIVERS_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/value.h"

struct fmq_config;
struct drv_lines;

/* One reading of one tag (borrowed for the callback). */
struct drv_reading {
	const char		*device;
	const char		*tag;
	const char		*topic;		/* "<device topic>/<tag>" */
	const struct drv_value	*value;		/* NULL when the quality is bad */
	const char		*unit;		/* may be NULL */
	uint64_t		 time_ms;	/* Unix ms; one poll, one time */
	int			 qos;
	int			 retain;
	int			 bare;		/* payload: the bare value, not JSON */
};

/* A device went online or offline (borrowed for the callback). */
struct drv_state {
	const char	*device;
	const char	*topic;		/* "<device topic>/$state" */
	int		 online;
	const char	*reason;	/* why it is offline, or NULL */
	uint64_t	 time_ms;
};

/* Called on the line threads: they must be thread-safe and not block. */
struct drv_sink {
	void	(*reading)(void *arg, const struct drv_reading *);
	void	(*state)(void *arg, const struct drv_state *);
	void	 *arg;
};

/* Builds the lines of the config's devices (borrowed until free). */
struct drv_lines *drv_lines_new(const struct fmq_config *, const struct drv_sink *);
/* Starts one thread per line; -1 if a thread cannot start (logged). */
int		 drv_lines_start(struct drv_lines *);
/* Asks every line to stop and joins them (each ends within its timeout). */
void		 drv_lines_stop(struct drv_lines *);
void		 drv_lines_free(struct drv_lines *);
size_t		 drv_lines_count(const struct drv_lines *);

#endif
