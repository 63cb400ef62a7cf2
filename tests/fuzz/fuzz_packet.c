/* libFuzzer target: the MQTT codec on a stream of packets from a client. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/packet.h"
#include "buf.h"

#define MAX_PACKET	(1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static int
same_str(const struct mqtt_str *a, const struct mqtt_str *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->p, b->p, a->len) == 0);
}

/*
 * A plain UTF-8 check to hold mqtt_valid_utf8 against: decode each code
 * point, then judge it.
 */
static int
ref_utf8(const uint8_t *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			n = 0, cp = s[i], min = 0;
		} else if ((s[i] & 0xe0) == 0xc0) {
			n = 1, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3, cp = s[i] & 0x07, min = 0x10000;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp == 0 || cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Frames out, which must hold exactly one packet; returns its body. */
static const uint8_t *
reframe(const struct buf *out, struct mqtt_frame *f)
{
	check(mqtt_frame(buf_data(out), buf_pending(out), MAX_PACKET, f) ==
	    MQTT_OK);
	check(f->header_len + f->body_len == buf_pending(out));
	return buf_data(out) + f->header_len;
}

/* Every bit of a CONNECT or PUBLISH follows from its fields: same bytes. */
static void
check_same_body(const struct mqtt_frame *f, const uint8_t *body,
    const struct mqtt_frame *g, const uint8_t *body2)
{
	check(g->type == f->type && g->flags == f->flags);
	check(g->body_len == f->body_len);
	check(f->body_len == 0 || memcmp(body, body2, f->body_len) == 0);
}

/* Encodes a decoded CONNECT again and decodes that. */
static void
reencode_connect(const struct mqtt_frame *f, const uint8_t *body,
    const struct mqtt_connect *c)
{
	struct buf		 out = { 0 };
	struct mqtt_frame	 g;
	struct mqtt_connect	 d;
	const uint8_t		*body2;

	mqtt_encode_connect(&out, c);
	body2 = reframe(&out, &g);
	check(mqtt_decode_connect(&g, body2, &d) == MQTT_OK);
	check(d.level == c->level && d.clean == c->clean &&
	    d.keepalive == c->keepalive &&
	    same_str(&d.client_id, &c->client_id));
	check(d.has_will == c->has_will && d.will_qos == c->will_qos &&
	    d.will_retain == c->will_retain &&
	    same_str(&d.will_topic, &c->will_topic) &&
	    same_str(&d.will_payload, &c->will_payload));
	check(d.has_username == c->has_username &&
	    same_str(&d.username, &c->username) &&
	    d.has_password == c->has_password &&
	    same_str(&d.password, &c->password));
	check_same_body(f, body, &g, body2);
	buf_free(&out);
}

/* Encodes a decoded PUBLISH again and decodes that. */
static void
reencode_publish(const struct mqtt_frame *f, const uint8_t *body,
    const struct mqtt_publish *p)
{
	struct buf		 out = { 0 };
	struct mqtt_frame	 g;
	struct mqtt_publish	 d;
	const uint8_t		*body2;

	mqtt_encode_publish(&out, p->topic.p, p->topic.len, p->payload,
	    p->payload_len, p->qos, p->retain, p->dup, p->id);
	body2 = reframe(&out, &g);
	check(mqtt_decode_publish(&g, body2, &d) == MQTT_OK);
	check(same_str(&d.topic, &p->topic) && d.qos == p->qos &&
	    d.dup == p->dup && d.retain == p->retain && d.id == p->id);
	check(d.payload_len == p->payload_len && (p->payload_len == 0 ||
	    memcmp(d.payload, p->payload, p->payload_len) == 0));
	check_same_body(f, body, &g, body2);
	buf_free(&out);
}

/* Walks a decoded topic list: count entries, all valid, nothing left over. */
static void
walk_topics(const struct mqtt_subscribe *s)
{
	struct mqtt_str	 filter;
	uint8_t		 options;
	size_t		 pos = 0, n = 0;

	while (mqtt_topics_next(s, &pos, &filter, &options)) {
		check(filter.len > 0 && mqtt_valid_utf8(filter.p, filter.len));
		check(s->with_options ? options <= 2 : options == 0);
		n++;
	}
	check(n == s->count && pos == s->list_len);
}

/* Decodes one framed packet by its type. */
static enum mqtt_err
decode(const struct mqtt_frame *f, const uint8_t *body)
{
	struct mqtt_connect	 c;
	struct mqtt_publish	 p;
	struct mqtt_subscribe	 s;
	enum mqtt_err		 e;
	uint16_t		 id;
	uint8_t			 code;
	int			 sp;

	switch (f->type) {
	case MQTT_CONNECT:
		if ((e = mqtt_decode_connect(f, body, &c)) == MQTT_OK)
			reencode_connect(f, body, &c);
		return e;
	case MQTT_CONNACK:
		return mqtt_decode_connack(f, body, &sp, &code);
	case MQTT_PUBLISH:
		if ((e = mqtt_decode_publish(f, body, &p)) == MQTT_OK)
			reencode_publish(f, body, &p);
		return e;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK:
		if ((e = mqtt_decode_ack(f, body, &id)) == MQTT_OK)
			check(id != 0);
		return e;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		if ((e = mqtt_decode_subscribe(f, body, &s)) == MQTT_OK)
			walk_topics(&s);
		return e;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
	case MQTT_DISCONNECT:
		return mqtt_decode_empty(f);
	default:
		/* SUBACK: no decoder here. */
		return MQTT_OK;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqtt_frame	 f;
	enum mqtt_err		 e;
	size_t			 off = 0;

	check(mqtt_valid_utf8((const char *)data, size) ==
	    ref_utf8(data, size));
	while (off < size) {
		e = mqtt_frame(data + off, size - off, MAX_PACKET, &f);
		check(mqtt_err_name(e) != NULL);
		if (e != MQTT_OK)
			break;
		check(f.header_len >= 2 && f.header_len <= 5 &&
		    f.header_len + f.body_len <= size - off);
		check(mqtt_type_name(f.type) != NULL);
		if (decode(&f, data + off + f.header_len) != MQTT_OK)
			break;
		off += f.header_len + f.body_len;
	}
	return 0;
}
