/*
 * Bridges to cloud brokers (Paho MQTT C), with store-and-forward in the
 * SQLite outbox: forward rules send local messages out, subscribe rules
 * bring the cloud's in. Loop thread, except each bridge's sender thread.
 */
#ifndef FMQ_BRIDGE_H
#define FMQ_BRIDGE_H

struct bridges;
struct broker;
struct fmq_config;
struct store;

/* Starts the config's bridges (after store_start); NULL if none. */
struct bridges	*bridges_start(const struct fmq_config *, struct broker *,
		    struct store *);
/* Stops them: rows not acknowledged stay in the outbox for the next start. */
void		 bridges_free(struct bridges *);

#endif
