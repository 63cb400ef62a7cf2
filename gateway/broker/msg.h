/*
 * A message on the topic tree: topic, payload and the publish flags in
 * one allocation, with a reference count so that fan-out shares it.
 * Loop thread only (the count is not atomic).
 */
#ifndef FMQ_BROKER_MSG_H
#define FMQ_BROKER_MSG_H

#include <stddef.h>
#include <stdint.h>

struct msg {
	uint32_t	 refs;
	uint8_t		 qos;		/* as published */
	uint8_t		 retain;	/* as published */
	uint16_t	 topic_len;
	uint32_t	 payload_len;
	uint64_t	 time_ms;	/* wall clock when received */
	const void	*origin;	/* the publishing session (never dereferenced) */
	char		*origin_id;	/* wills: the client's id (owned), else NULL */
	char		*topic;		/* NUL-terminated, inside this allocation */
	uint8_t		*payload;	/* inside this allocation */
};

/* A new message with one reference. */
struct msg	*msg_new(const char *topic, size_t topic_len, const void *payload,
		    size_t payload_len, uint8_t qos, int retain);
static inline struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}
/* Drops a reference; the last one frees. Accepts NULL. */
void		 msg_unref(struct msg *);

#endif
