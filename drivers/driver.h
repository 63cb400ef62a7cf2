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

/* A device's counters, every few seconds (borrowed for the callback). */
struct drv_stats {
	const char	*device;
	uint64_t	 requests;
	uint64_t	 timeouts;
	uint64_t	 exceptions;
	uint64_t	 conn_errors;	/* refused, reset, port gone */
	uint64_t	 other_errors;	/* CRC, invalid answers */
	uint64_t	 last_success_ms;	/* Unix ms, 0: never */
	const char	*last_error;	/* "" when none */
	double		 rtt_avg_ms;	/* over the last interval */
	double		 rtt_max_ms;
	int		 online;
};

/* Called on the line threads: they must be thread-safe and not block. */
struct drv_sink {
	void	(*reading)(void *arg, const struct drv_reading *);
	void	(*state)(void *arg, const struct drv_state *);
	void	(*stats)(void *arg, const struct drv_stats *);	/* may be NULL */
	/* The readings of a poll are complete: send them on (may be NULL). */
	void	(*flush)(void *arg);
	void	 *arg;
};

/* The outcome of a write, for its callback (borrowed). */
struct drv_write_result {
	int			 ok;
	const char		*why;		/* when not ok */
	const struct drv_value	*written;	/* the value as the tag sees it */
	const struct drv_value	*readback;	/* NULL unless asked and read */
};

/* Called on the line thread once the write is done or refused. */
typedef void (*drv_write_cb)(void *arg, const struct drv_write_result *);

/* Builds the lines of the config's devices (borrowed until free). */
struct drv_lines *drv_lines_new(const struct fmq_config *, const struct drv_sink *);
/* Starts one thread per line; -1 if a thread cannot start (logged). */
int		 drv_lines_start(struct drv_lines *);
/* Asks every line to stop and joins them (each ends within its timeout). */
void		 drv_lines_stop(struct drv_lines *);
void		 drv_lines_free(struct drv_lines *);
size_t		 drv_lines_count(const struct drv_lines *);

/*
 * Queues a write of value to a device's tag, done on the device's line
 * thread between polls with the tag's own encoding (FC 05/15 for coils,
 * 06/16 for holding registers; a bit of a register is read, modified and
 * written). Any thread. Checked at once: the device and tag exist, the tag
 * is writable, the value fits its type and min/max; then -1 with why, and
 * cb is not called. Otherwise 0, and cb reports the outcome later (an
 * offline device fails fast). With readback, the tag is read again.
 */
int		 drv_write(struct drv_lines *, const char *device, const char *tag,
		    const struct drv_value *, int readback, drv_write_cb cb,
		    void *arg, char *why, size_t whysz);

#endif
