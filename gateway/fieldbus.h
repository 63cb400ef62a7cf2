/*
 * The field drivers wired to the broker: readings become publishes on
 * "<device topic>/<tag>" and state changes retained messages on
 * "<device topic>/$state". Main thread: start and stop.
 */
#ifndef FMQ_FIELDBUS_H
#define FMQ_FIELDBUS_H

struct broker;
struct drv_lines;
struct fmq_config;

/* Starts a thread per line of cfg's devices; NULL if there are none. */
struct drv_lines *fieldbus_start(const struct fmq_config *, struct broker *);
/* Stops and frees the lines; accepts NULL. */
void		 fieldbus_stop(struct drv_lines *);

#endif
