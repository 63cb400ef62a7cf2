/* Reference-counted messages. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/msg.h"
#include "util.h"

struct msg *
msg_new(const char *topic, size_t tlen, const void *payload, size_t plen,
    uint8_t qos, int retain)
{
	struct msg *m = xmalloc(sizeof(*m) + tlen + 1 + plen);

	m->refs = 1;
	m->qos = qos;
	m->retain = retain ? 1 : 0;
	m->topic_len = (uint16_t)tlen;
	m->payload_len = (uint32_t)plen;
	m->time_ms = 0;
	m->origin = NULL;
	m->origin_id = NULL;
	m->topic = (char *)(m + 1);
	memcpy(m->topic, topic, tlen);
	m->topic[tlen] = '\0';
	m->payload = (uint8_t *)m->topic + tlen + 1;
	if (plen > 0)
		memcpy(m->payload, payload, plen);
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m != NULL && --m->refs == 0) {
		free(m->origin_id);
		free(m);
	}
}
