/*
 * The MQTT 3.1 / 3.1.1 codec. Decoders never allocate: what they return
 * points into the caller's bytes. Encoders reserve a whole packet in the
 * output buffer once, then write it in place.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "broker/packet.h"
#include "buf.h"
#include "util.h"

/* Which decoder a packet type belongs to. */
enum kind {
	KIND_NONE,		/* reserved, or not decoded here (AUTH) */
	KIND_CONNECT,
	KIND_CONNACK,
	KIND_PUBLISH,
	KIND_ACK,		/* a packet id and nothing else */
	KIND_SUBSCRIBE,		/* SUBSCRIBE and UNSUBSCRIBE */
	KIND_SUBACK,
	KIND_EMPTY,		/* no body */
};

#define FLAGS_ANY	0xff	/* PUBLISH: dup, QoS, retain, checked apart */

/* Every packet type: its name, decoder and fixed-header flags (3.1.1 2.2.2). */
static const struct type_info {
	const char	*name;
	enum kind	 kind;
	uint8_t		 flags;
} types[16] = {
	{ "reserved",	 KIND_NONE,	 FLAGS_ANY },
	{ "CONNECT",	 KIND_CONNECT,	 0x0 },
	{ "CONNACK",	 KIND_CONNACK,	 0x0 },
	{ "PUBLISH",	 KIND_PUBLISH,	 FLAGS_ANY },
	{ "PUBACK",	 KIND_ACK,	 0x0 },
	{ "PUBREC",	 KIND_ACK,	 0x0 },
	{ "PUBREL",	 KIND_ACK,	 0x2 },
	{ "PUBCOMP",	 KIND_ACK,	 0x0 },
	{ "SUBSCRIBE",	 KIND_SUBSCRIBE, 0x2 },
	{ "SUBACK",	 KIND_SUBACK,	 0x0 },
	{ "UNSUBSCRIBE", KIND_SUBSCRIBE, 0x2 },
	{ "UNSUBACK",	 KIND_ACK,	 0x0 },
	{ "PINGREQ",	 KIND_EMPTY,	 0x0 },
	{ "PINGRESP",	 KIND_EMPTY,	 0x0 },
	{ "DISCONNECT",	 KIND_EMPTY,	 0x0 },
	{ "AUTH",	 KIND_NONE,	 FLAGS_ANY },
};

static const char *const err_names[] = {
	[MQTT_OK] = "ok",
	[MQTT_NEED_MORE] = "need more",
	[MQTT_ERR_MALFORMED] = "malformed",
	[MQTT_ERR_PROTOCOL] = "protocol error",
	[MQTT_ERR_TOO_LARGE] = "too large",
	[MQTT_ERR_VERSION] = "unsupported version",
};

/* The protocol name and level pairs CONNECT may carry. */
static const struct protocol {
	const char	*name;
	uint16_t	 len;
	uint8_t		 level;
} protocols[] = {
	{ "MQTT",	4, 4 },		/* 3.1.1 */
	{ "MQIsdp",	6, 3 },		/* 3.1 */
};

/* CONNECT flags (3.1.1 section 3.1.2.3). */
#define CF_RESERVED	0x01
#define CF_CLEAN	0x02
#define CF_WILL		0x04
#define CF_WILL_QOS(f)	(((f) >> 3) & 3)
#define CF_WILL_RETAIN	0x20
#define CF_PASSWORD	0x40
#define CF_USERNAME	0x80

/*
 * The lead bytes of multi-byte UTF-8 and the range of their first
 * continuation byte (Unicode table 3-7), which rules out overlongs,
 * surrogates and code points above U+10FFFF.
 */
static const struct utf8_lead {
	uint8_t		 first, last;	/* lead byte range */
	uint8_t		 more;		/* continuation bytes */
	uint8_t		 lo, hi;	/* range of the first continuation */
} utf8_leads[] = {
	{ 0xc2, 0xdf, 1, 0x80, 0xbf },
	{ 0xe0, 0xe0, 2, 0xa0, 0xbf },
	{ 0xe1, 0xec, 2, 0x80, 0xbf },
	{ 0xed, 0xed, 2, 0x80, 0x9f },
	{ 0xee, 0xef, 2, 0x80, 0xbf },
	{ 0xf0, 0xf0, 3, 0x90, 0xbf },
	{ 0xf1, 0xf3, 3, 0x80, 0xbf },
	{ 0xf4, 0xf4, 3, 0x80, 0x8f },
};

/* A cursor over a packet body. */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

static inline int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return -1;
	*v = *r->p++;
	r->left--;
	return 0;
}

static inline int
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->left < 2)
		return -1;
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return 0;
}

/* Reads a length-prefixed field (binary data). */
static inline int
rd_bin(struct rd *r, struct mqtt_str *s)
{
	if (rd_u16(r, &s->len) == -1 || r->left < s->len)
		return -1;
	s->p = (const char *)r->p;
	r->p += s->len;
	r->left -= s->len;
	return 0;
}

/* Reads a length-prefixed UTF-8 string. */
static inline int
rd_utf8(struct rd *r, struct mqtt_str *s)
{
	if (rd_bin(r, s) == -1 || !mqtt_valid_utf8(s->p, s->len))
		return -1;
	return 0;
}

/* Tells whether s can name a topic to publish to: not empty, no wildcard. */
static int
valid_topic_name(const struct mqtt_str *s)
{
	return s->len > 0 && memchr(s->p, '+', s->len) == NULL &&
	    memchr(s->p, '#', s->len) == NULL;
}

/* Checks that f is of a type kind k decodes, with the flags it must carry. */
static enum mqtt_err
check_fixed(const struct mqtt_frame *f, enum kind k)
{
	const struct type_info *t;

	if (f->type > 15)
		return MQTT_ERR_PROTOCOL;
	t = &types[f->type];
	if (t->kind != k)
		return MQTT_ERR_PROTOCOL;
	if (t->flags != FLAGS_ANY && f->flags != t->flags)
		return MQTT_ERR_PROTOCOL;
	return MQTT_OK;
}

/* UTF-8 as MQTT wants it: well-formed, no U+0000, no surrogates. */
int
mqtt_valid_utf8(const char *str, size_t len)
{
	const uint8_t		*s = (const uint8_t *)str, *end;
	const struct utf8_lead	*l, *lend = utf8_leads + FMQ_NELEM(utf8_leads);
	uint64_t		 v;
	size_t			 i;

	if (len == 0)
		return 1;
	end = s + len;
	while (s < end) {
		/* ASCII fast path: eight bytes without a top bit or a zero. */
		while (end - s >= 8) {
			memcpy(&v, s, sizeof(v));
			if ((v & 0x8080808080808080ULL) != 0 ||
			    ((v - 0x0101010101010101ULL) & ~v &
			    0x8080808080808080ULL) != 0)
				break;
			s += 8;
		}
		if (s == end)
			break;
		if (*s < 0x80) {
			if (*s == 0)
				return 0;
			s++;
			continue;
		}
		for (l = utf8_leads; l < lend; l++)
			if (*s >= l->first && *s <= l->last)
				break;
		if (l == lend)
			return 0;
		if ((size_t)(end - s) <= l->more)
			return 0;
		if (s[1] < l->lo || s[1] > l->hi)
			return 0;
		for (i = 2; i <= l->more; i++)
			if ((s[i] & 0xc0) != 0x80)
				return 0;
		s += 1 + l->more;
	}
	return 1;
}

/* Reads the fixed header; the length is judged before the body is here. */
enum mqtt_err
mqtt_frame(const uint8_t *buf, size_t len, size_t max_packet,
    struct mqtt_frame *f)
{
	size_t	 n = 0, i;

	if (len < 1)
		return MQTT_NEED_MORE;
	f->type = buf[0] >> 4;
	f->flags = buf[0] & 0x0f;
	if (f->type == 0 || f->type == MQTT_AUTH)
		return MQTT_ERR_PROTOCOL;
	for (i = 1;; i++) {
		if (i > 4)
			return MQTT_ERR_MALFORMED;
		if (i >= len)
			return MQTT_NEED_MORE;
		n |= (size_t)(buf[i] & 0x7f) << (7 * (i - 1));
		if ((buf[i] & 0x80) == 0)
			break;
	}
	f->header_len = i + 1;
	f->body_len = n;
	if (f->header_len + n > max_packet)
		return MQTT_ERR_TOO_LARGE;
	if (len - f->header_len < n)
		return MQTT_NEED_MORE;
	return MQTT_OK;
}

/* Sets c's flag fields from the connect flags byte and checks their rules. */
static enum mqtt_err
connect_flags(struct mqtt_connect *c, uint8_t flags)
{
	if (flags & CF_RESERVED)
		return MQTT_ERR_PROTOCOL;
	c->clean = (flags & CF_CLEAN) != 0;
	c->has_will = (flags & CF_WILL) != 0;
	c->will_qos = CF_WILL_QOS(flags);
	c->will_retain = (flags & CF_WILL_RETAIN) != 0;
	c->has_username = (flags & CF_USERNAME) != 0;
	c->has_password = (flags & CF_PASSWORD) != 0;
	if (!c->has_will && (c->will_qos != 0 || c->will_retain))
		return MQTT_ERR_PROTOCOL;
	if (c->will_qos == 3)
		return MQTT_ERR_PROTOCOL;
	if (c->has_password && !c->has_username)
		return MQTT_ERR_PROTOCOL;
	return MQTT_OK;
}

/* Tells whether a protocol name and level are ones we speak. */
static int
known_protocol(const struct mqtt_str *name, uint8_t level)
{
	const struct protocol	*p;

	for (p = protocols; p < protocols + FMQ_NELEM(protocols); p++)
		if (name->len == p->len && level == p->level &&
		    memcmp(name->p, p->name, p->len) == 0)
			return 1;
	return 0;
}

/*
 * CONNECT. The protocol name and level are judged before anything else,
 * so that a client of another version (whose packet may not parse as
 * ours) is answered with CONNACK 1.
 */
enum mqtt_err
mqtt_decode_connect(const struct mqtt_frame *f, const uint8_t *body,
    struct mqtt_connect *c)
{
	struct rd	 r = { body, f->body_len };
	struct mqtt_str	 name;
	uint8_t		 flags;
	enum mqtt_err	 e;

	if ((e = check_fixed(f, KIND_CONNECT)) != MQTT_OK)
		return e;
	memset(c, 0, sizeof(*c));
	if (rd_bin(&r, &name) == -1 || rd_u8(&r, &c->level) == -1)
		return MQTT_ERR_MALFORMED;
	if (!known_protocol(&name, c->level))
		return MQTT_ERR_VERSION;
	if (rd_u8(&r, &flags) == -1)
		return MQTT_ERR_MALFORMED;
	if ((e = connect_flags(c, flags)) != MQTT_OK)
		return e;
	if (rd_u16(&r, &c->keepalive) == -1 ||
	    rd_utf8(&r, &c->client_id) == -1)
		return MQTT_ERR_MALFORMED;
	if (c->has_will) {
		if (rd_utf8(&r, &c->will_topic) == -1 ||
		    rd_bin(&r, &c->will_payload) == -1)
			return MQTT_ERR_MALFORMED;
		if (!valid_topic_name(&c->will_topic))
			return MQTT_ERR_PROTOCOL;
	}
	if (c->has_username && rd_utf8(&r, &c->username) == -1)
		return MQTT_ERR_MALFORMED;
	if (c->has_password && rd_bin(&r, &c->password) == -1)
		return MQTT_ERR_MALFORMED;
	if (r.left != 0)
		return MQTT_ERR_MALFORMED;
	return MQTT_OK;
}

/* PUBLISH: the hot path; nothing copied, nothing allocated. */
enum mqtt_err
mqtt_decode_publish(const struct mqtt_frame *f, const uint8_t *body,
    struct mqtt_publish *p)
{
	struct rd	 r = { body, f->body_len };

	if (f->type != MQTT_PUBLISH)
		return MQTT_ERR_PROTOCOL;
	p->retain = f->flags & 1;
	p->qos = (f->flags >> 1) & 3;
	p->dup = (f->flags >> 3) & 1;
	if (p->qos == 3 || (p->dup && p->qos == 0))
		return MQTT_ERR_PROTOCOL;
	if (rd_utf8(&r, &p->topic) == -1)
		return MQTT_ERR_MALFORMED;
	if (!valid_topic_name(&p->topic))
		return MQTT_ERR_PROTOCOL;
	p->id = 0;
	if (p->qos > 0) {
		if (rd_u16(&r, &p->id) == -1)
			return MQTT_ERR_MALFORMED;
		if (p->id == 0)
			return MQTT_ERR_PROTOCOL;
	}
	p->payload = r.p;
	p->payload_len = r.left;
	return MQTT_OK;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: a packet id, not 0. */
enum mqtt_err
mqtt_decode_ack(const struct mqtt_frame *f, const uint8_t *body, uint16_t *id)
{
	enum mqtt_err	 e;

	if ((e = check_fixed(f, KIND_ACK)) != MQTT_OK)
		return e;
	if (f->body_len != 2)
		return MQTT_ERR_MALFORMED;
	*id = (uint16_t)(body[0] << 8 | body[1]);
	if (*id == 0)
		return MQTT_ERR_PROTOCOL;
	return MQTT_OK;
}

/*
 * SUBSCRIBE and UNSUBSCRIBE: validates every entry so that
 * mqtt_topics_next() can walk the list without checks. Wildcard misuse in
 * a filter is not an error here: the broker refuses that one filter.
 */
enum mqtt_err
mqtt_decode_subscribe(const struct mqtt_frame *f, const uint8_t *body,
    struct mqtt_subscribe *s)
{
	struct rd	 r = { body, f->body_len };
	struct mqtt_str	 filter;
	uint8_t		 options;
	enum mqtt_err	 e;

	if ((e = check_fixed(f, KIND_SUBSCRIBE)) != MQTT_OK)
		return e;
	if (rd_u16(&r, &s->id) == -1)
		return MQTT_ERR_MALFORMED;
	if (s->id == 0)
		return MQTT_ERR_PROTOCOL;
	s->with_options = f->type == MQTT_SUBSCRIBE;
	s->list = r.p;
	s->list_len = r.left;
	s->count = 0;
	while (r.left > 0) {
		if (rd_utf8(&r, &filter) == -1 || filter.len == 0)
			return MQTT_ERR_MALFORMED;
		/* Requested QoS: the upper six bits reserved, 3 invalid. */
		if (s->with_options &&
		    (rd_u8(&r, &options) == -1 || options > 2))
			return MQTT_ERR_MALFORMED;
		s->count++;
	}
	if (s->count == 0)
		return MQTT_ERR_PROTOCOL;
	return MQTT_OK;
}

/* Steps over one entry of a list mqtt_decode_subscribe() validated. */
int
mqtt_topics_next(const struct mqtt_subscribe *s, size_t *pos,
    struct mqtt_str *filter, uint8_t *options)
{
	const uint8_t	*p;
	size_t		 n, need;

	if (*pos + 2 > s->list_len)
		return 0;
	p = s->list + *pos;
	n = (size_t)p[0] << 8 | p[1];
	need = 2 + n + (s->with_options ? 1 : 0);
	if (need > s->list_len - *pos)
		return 0;
	filter->p = (const char *)p + 2;
	filter->len = (uint16_t)n;
	if (options != NULL)
		*options = s->with_options ? p[2 + n] : 0;
	*pos += need;
	return 1;
}

/* PINGREQ, PINGRESP, DISCONNECT: flags 0, no body. */
enum mqtt_err
mqtt_decode_empty(const struct mqtt_frame *f)
{
	enum mqtt_err	 e;

	if ((e = check_fixed(f, KIND_EMPTY)) != MQTT_OK)
		return e;
	if (f->body_len != 0)
		return MQTT_ERR_MALFORMED;
	return MQTT_OK;
}

/* CONNACK: reserved bits 0, a known code, no session with a refusal. */
enum mqtt_err
mqtt_decode_connack(const struct mqtt_frame *f, const uint8_t *body,
    int *session_present, uint8_t *code)
{
	enum mqtt_err	 e;

	if ((e = check_fixed(f, KIND_CONNACK)) != MQTT_OK)
		return e;
	if (f->body_len != 2)
		return MQTT_ERR_MALFORMED;
	if ((body[0] & 0xfe) != 0 || body[1] > MQTT_CONNACK_NOT_AUTHORIZED)
		return MQTT_ERR_PROTOCOL;
	*session_present = body[0] & 1;
	*code = body[1];
	if (*session_present && *code != MQTT_CONNACK_ACCEPTED)
		return MQTT_ERR_PROTOCOL;
	return MQTT_OK;
}

/* The bytes of a remaining-length field for n. */
size_t
mqtt_varint_size(size_t n)
{
	if (n < 128)
		return 1;
	if (n < 16384)
		return 2;
	if (n < 2097152)
		return 3;
	return 4;
}

/* Writes a fixed header at p; returns its length. */
static size_t
put_fixed(uint8_t *p, uint8_t first_byte, size_t body_len)
{
	size_t	 i = 0;

	if (body_len > MQTT_MAX_REMAINING)
		fatal("%s: remaining length %zu", __func__, body_len);
	p[i++] = first_byte;
	do {
		p[i] = body_len & 0x7f;
		body_len >>= 7;
		if (body_len > 0)
			p[i] |= 0x80;
		i++;
	} while (body_len > 0);
	return i;
}

/* Appends a fixed header alone; the caller appends the body. */
void
mqtt_put_header(struct buf *out, uint8_t first_byte, size_t body_len)
{
	out->len += put_fixed(buf_reserve(out, 5), first_byte, body_len);
}

/* Appends a whole packet's room to out, header written; returns the body. */
static uint8_t *
packet_begin(struct buf *out, uint8_t first_byte, size_t body_len)
{
	uint8_t	*p;
	size_t	 total;

	total = 1 + mqtt_varint_size(body_len) + body_len;
	p = buf_reserve(out, total);
	out->len += total;
	return p + put_fixed(p, first_byte, body_len);
}

static inline uint8_t *
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *
put_bytes(uint8_t *p, const void *v, size_t n)
{
	if (n > 0)
		memcpy(p, v, n);
	return p + n;
}

/* A length-prefixed field. */
static inline uint8_t *
put_str(uint8_t *p, const void *v, uint16_t n)
{
	return put_bytes(put_u16(p, n), v, n);
}

void
mqtt_encode_connack(struct buf *out, int session_present, uint8_t code)
{
	uint8_t	*p;

	p = packet_begin(out, MQTT_CONNACK << 4, 2);
	p[0] = session_present ? 1 : 0;
	p[1] = code;
}

/* PUBLISH: the packet id only with QoS 1 or 2. */
void
mqtt_encode_publish(struct buf *out, const char *topic, uint16_t topic_len,
    const void *payload, size_t payload_len, uint8_t qos, int retain, int dup,
    uint16_t id)
{
	uint8_t	*p, first;
	size_t	 body;

	qos &= 3;
	first = (uint8_t)(MQTT_PUBLISH << 4 | (dup ? 0x8 : 0) | qos << 1 |
	    (retain ? 1 : 0));
	body = 2 + (size_t)topic_len + (qos > 0 ? 2 : 0) + payload_len;
	p = packet_begin(out, first, body);
	p = put_str(p, topic, topic_len);
	if (qos > 0)
		p = put_u16(p, id);
	put_bytes(p, payload, payload_len);
}

/* An acknowledgement: a packet id; PUBREL carries flags 0x2. */
void
mqtt_encode_ack(struct buf *out, enum mqtt_type type, uint16_t id)
{
	uint8_t	 first = (uint8_t)(type << 4);

	if (type == MQTT_PUBREL)
		first |= types[MQTT_PUBREL].flags;
	put_u16(packet_begin(out, first, 2), id);
}

/* SUBACK: one return code per filter, in order. */
void
mqtt_encode_suback(struct buf *out, uint16_t id, const uint8_t *codes, size_t n)
{
	put_bytes(put_u16(packet_begin(out, MQTT_SUBACK << 4, 2 + n), id),
	    codes, n);
}

void
mqtt_encode_empty(struct buf *out, enum mqtt_type type)
{
	packet_begin(out, (uint8_t)(type << 4), 0);
}

/* CONNECT from a client: "MQTT" level 4, or "MQIsdp" level 3. */
void
mqtt_encode_connect(struct buf *out, const struct mqtt_connect *c)
{
	const struct protocol	*proto = &protocols[c->level == 3 ? 1 : 0];
	uint8_t			*p, flags = 0;
	size_t			 body;

	body = 2 + proto->len + 1 + 1 + 2 + 2 + (size_t)c->client_id.len;
	if (c->clean)
		flags |= CF_CLEAN;
	if (c->has_will) {
		flags |= CF_WILL | (c->will_qos & 3) << 3 |
		    (c->will_retain ? CF_WILL_RETAIN : 0);
		body += 4 + (size_t)c->will_topic.len + c->will_payload.len;
	}
	if (c->has_username) {
		flags |= CF_USERNAME;
		body += 2 + (size_t)c->username.len;
	}
	if (c->has_password) {
		flags |= CF_PASSWORD;
		body += 2 + (size_t)c->password.len;
	}
	p = packet_begin(out, MQTT_CONNECT << 4, body);
	p = put_str(p, proto->name, proto->len);
	*p++ = proto->level;
	*p++ = flags;
	p = put_u16(p, c->keepalive);
	p = put_str(p, c->client_id.p, c->client_id.len);
	if (c->has_will) {
		p = put_str(p, c->will_topic.p, c->will_topic.len);
		p = put_str(p, c->will_payload.p, c->will_payload.len);
	}
	if (c->has_username)
		p = put_str(p, c->username.p, c->username.len);
	if (c->has_password)
		put_str(p, c->password.p, c->password.len);
}

/* SUBSCRIBE (an options byte after each filter) or UNSUBSCRIBE. */
static void
encode_filters(struct buf *out, enum mqtt_type type, uint16_t id,
    const char *const *filters, const uint8_t *qos, size_t n)
{
	int	 with_options = type == MQTT_SUBSCRIBE;
	uint8_t	*p;
	size_t	 body = 2, i, len;

	for (i = 0; i < n; i++)
		body += 2 + strlen(filters[i]) + (with_options ? 1 : 0);
	p = put_u16(packet_begin(out, (uint8_t)(type << 4 | types[type].flags),
	    body), id);
	for (i = 0; i < n; i++) {
		len = strlen(filters[i]);
		p = put_str(p, filters[i], (uint16_t)len);
		if (with_options)
			*p++ = qos != NULL ? qos[i] : 0;
	}
}

void
mqtt_encode_subscribe(struct buf *out, uint16_t id, const char *const *filters,
    const uint8_t *qos, size_t n)
{
	encode_filters(out, MQTT_SUBSCRIBE, id, filters, qos, n);
}

void
mqtt_encode_unsubscribe(struct buf *out, uint16_t id,
    const char *const *filters, size_t n)
{
	encode_filters(out, MQTT_UNSUBSCRIBE, id, filters, NULL, n);
}

const char *
mqtt_type_name(uint8_t type)
{
	return type < FMQ_NELEM(types) ? types[type].name : "unknown";
}

const char *
mqtt_err_name(enum mqtt_err e)
{
	if ((unsigned int)e >= FMQ_NELEM(err_names) || err_names[e] == NULL)
		return "unknown";
	return err_names[e];
}
