/*
 * Actuators: command topics mapped to device tag writes. A message on an
 * actuator's topic filter (published locally, or brought in from the
 * cloud later by a bridge) writes the tag; the outcome is published on
 * "<command topic>/result". Loop thread.
 */
#ifndef FMQ_ACTUATOR_H
#define FMQ_ACTUATOR_H

struct actuators;
struct broker;
struct drv_lines;
struct fmq_config;

/* Subscribes the config's actuators; NULL if there are none. */
struct actuators *actuators_start(const struct fmq_config *, struct broker *,
		    struct drv_lines *);
void		 actuators_free(struct actuators *);

#endif
