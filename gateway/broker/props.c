/*
 * MQTT 5.0 properties (section 2.2.2), variable byte integers (1.5.5) and
 * reason codes (2.4). One table says, for each property identifier, its
 * name, data type, the packets it may appear in, where its value lives in
 * struct mqtt_props and the range the spec allows; the decoder, encoder and
 * comparison are walks over that table.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/packet.h"
#include "broker/props.h"
#include "buf.h"
#include "util.h"

#define IN(t)		MQTT_PROPS_IN(MQTT_##t)
#define WILL		MQTT_PROPS_IN(MQTT_PROPS_WILL)
#define OFF(f)		offsetof(struct mqtt_props, f)

/* Rules beyond the type and range. */
#define R_REPEAT	0x1	/* may appear more than once */
#define R_REPEAT_PUB	0x2	/* may appear more than once in PUBLISH */
#define R_TOPIC		0x4	/* a topic name: not empty, no wildcard */

static const struct prop_info {
	const char		*name;
	enum mqtt_prop_type	 type;
	uint32_t		 allowed;	/* MQTT_PROPS_IN() mask */
	size_t			 off;		/* the value in struct mqtt_props */
	uint32_t		 lo, hi;	/* range of an integer value */
	uint8_t			 rules;
} props[MQTT_PROP_LAST + 1] = {
	[MQTT_PROP_PAYLOAD_FORMAT] = { "Payload Format Indicator",
	    MQTT_PT_BYTE, IN(PUBLISH) | WILL, OFF(payload_format), 0, 1, 0 },
	[MQTT_PROP_MESSAGE_EXPIRY] = { "Message Expiry Interval",
	    MQTT_PT_U32, IN(PUBLISH) | WILL, OFF(message_expiry), 0,
	    UINT32_MAX, 0 },
	[MQTT_PROP_CONTENT_TYPE] = { "Content Type",
	    MQTT_PT_UTF8, IN(PUBLISH) | WILL, OFF(content_type), 0, 0, 0 },
	[MQTT_PROP_RESPONSE_TOPIC] = { "Response Topic",
	    MQTT_PT_UTF8, IN(PUBLISH) | WILL, OFF(response_topic), 0, 0,
	    R_TOPIC },
	[MQTT_PROP_CORRELATION_DATA] = { "Correlation Data",
	    MQTT_PT_BINARY, IN(PUBLISH) | WILL, OFF(correlation_data), 0, 0,
	    0 },
	[MQTT_PROP_SUBSCRIPTION_ID] = { "Subscription Identifier",
	    MQTT_PT_VBI, IN(PUBLISH) | IN(SUBSCRIBE), 0, 1, MQTT_VBI_MAX,
	    R_REPEAT_PUB },
	[MQTT_PROP_SESSION_EXPIRY] = { "Session Expiry Interval",
	    MQTT_PT_U32, IN(CONNECT) | IN(CONNACK) | IN(DISCONNECT),
	    OFF(session_expiry), 0, UINT32_MAX, 0 },
	[MQTT_PROP_ASSIGNED_CLIENT_ID] = { "Assigned Client Identifier",
	    MQTT_PT_UTF8, IN(CONNACK), OFF(assigned_client_id), 0, 0, 0 },
	[MQTT_PROP_SERVER_KEEP_ALIVE] = { "Server Keep Alive",
	    MQTT_PT_U16, IN(CONNACK), OFF(server_keep_alive), 0, UINT16_MAX,
	    0 },
	[MQTT_PROP_AUTH_METHOD] = { "Authentication Method",
	    MQTT_PT_UTF8, IN(CONNECT) | IN(CONNACK) | IN(AUTH),
	    OFF(auth_method), 0, 0, 0 },
	[MQTT_PROP_AUTH_DATA] = { "Authentication Data",
	    MQTT_PT_BINARY, IN(CONNECT) | IN(CONNACK) | IN(AUTH),
	    OFF(auth_data), 0, 0, 0 },
	[MQTT_PROP_REQUEST_PROBLEM_INFO] = { "Request Problem Information",
	    MQTT_PT_BYTE, IN(CONNECT), OFF(request_problem_info), 0, 1, 0 },
	[MQTT_PROP_WILL_DELAY] = { "Will Delay Interval",
	    MQTT_PT_U32, WILL, OFF(will_delay), 0, UINT32_MAX, 0 },
	[MQTT_PROP_REQUEST_RESPONSE_INFO] = { "Request Response Information",
	    MQTT_PT_BYTE, IN(CONNECT), OFF(request_response_info), 0, 1, 0 },
	[MQTT_PROP_RESPONSE_INFO] = { "Response Information",
	    MQTT_PT_UTF8, IN(CONNACK), OFF(response_info), 0, 0, 0 },
	[MQTT_PROP_SERVER_REFERENCE] = { "Server Reference",
	    MQTT_PT_UTF8, IN(CONNACK) | IN(DISCONNECT), OFF(server_reference),
	    0, 0, 0 },
	[MQTT_PROP_REASON_STRING] = { "Reason String",
	    MQTT_PT_UTF8, IN(CONNACK) | IN(PUBACK) | IN(PUBREC) | IN(PUBREL) |
	    IN(PUBCOMP) | IN(SUBACK) | IN(UNSUBACK) | IN(DISCONNECT) | IN(AUTH),
	    OFF(reason_string), 0, 0, 0 },
	[MQTT_PROP_RECEIVE_MAXIMUM] = { "Receive Maximum",
	    MQTT_PT_U16, IN(CONNECT) | IN(CONNACK), OFF(receive_maximum), 1,
	    UINT16_MAX, 0 },
	[MQTT_PROP_TOPIC_ALIAS_MAXIMUM] = { "Topic Alias Maximum",
	    MQTT_PT_U16, IN(CONNECT) | IN(CONNACK), OFF(topic_alias_maximum),
	    0, UINT16_MAX, 0 },
	[MQTT_PROP_TOPIC_ALIAS] = { "Topic Alias",
	    MQTT_PT_U16, IN(PUBLISH), OFF(topic_alias), 1, UINT16_MAX, 0 },
	[MQTT_PROP_MAX_QOS] = { "Maximum QoS",
	    MQTT_PT_BYTE, IN(CONNACK), OFF(max_qos), 0, 1, 0 },
	[MQTT_PROP_RETAIN_AVAILABLE] = { "Retain Available",
	    MQTT_PT_BYTE, IN(CONNACK), OFF(retain_available), 0, 1, 0 },
	[MQTT_PROP_USER] = { "User Property",
	    MQTT_PT_PAIR, IN(CONNECT) | IN(CONNACK) | IN(PUBLISH) | WILL |
	    IN(PUBACK) | IN(PUBREC) | IN(PUBREL) | IN(PUBCOMP) | IN(SUBSCRIBE) |
	    IN(SUBACK) | IN(UNSUBSCRIBE) | IN(UNSUBACK) | IN(DISCONNECT) |
	    IN(AUTH), 0, 0, 0, R_REPEAT },
	[MQTT_PROP_MAX_PACKET_SIZE] = { "Maximum Packet Size",
	    MQTT_PT_U32, IN(CONNECT) | IN(CONNACK), OFF(max_packet_size), 1,
	    UINT32_MAX, 0 },
	[MQTT_PROP_WILDCARD_AVAILABLE] = { "Wildcard Subscription Available",
	    MQTT_PT_BYTE, IN(CONNACK), OFF(wildcard_available), 0, 1, 0 },
	[MQTT_PROP_SUBID_AVAILABLE] = { "Subscription Identifier Available",
	    MQTT_PT_BYTE, IN(CONNACK), OFF(subid_available), 0, 1, 0 },
	[MQTT_PROP_SHARED_AVAILABLE] = { "Shared Subscription Available",
	    MQTT_PT_BYTE, IN(CONNACK), OFF(shared_available), 0, 1, 0 },
};

/* The repeatable identifiers: kept in list, not in fields. */
#define REPEATABLE	(MQTT_PROP_BIT(MQTT_PROP_USER) | \
	    MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID))

/* Reason codes and the packets each may be sent in (table 2-6). */
#define RC_CONNACK	IN(CONNACK)
#define RC_PUBACKS	(IN(PUBACK) | IN(PUBREC))
#define RC_ERR		(IN(CONNACK) | RC_PUBACKS | IN(SUBACK) | \
	    IN(UNSUBACK) | IN(DISCONNECT))
static const struct reason_info {
	uint8_t		 code;
	const char	*name;
	uint32_t	 packets;
} reasons[] = {
	{ 0x00, "Success", IN(CONNACK) | RC_PUBACKS | IN(PUBREL) |
	    IN(PUBCOMP) | IN(UNSUBACK) | IN(AUTH) },
	{ 0x00, "Normal disconnection", IN(DISCONNECT) },
	{ 0x00, "Granted QoS 0", IN(SUBACK) },
	{ 0x01, "Granted QoS 1", IN(SUBACK) },
	{ 0x02, "Granted QoS 2", IN(SUBACK) },
	{ 0x04, "Disconnect with Will Message", IN(DISCONNECT) },
	{ 0x10, "No matching subscribers", RC_PUBACKS },
	{ 0x11, "No subscription existed", IN(UNSUBACK) },
	{ 0x18, "Continue authentication", IN(AUTH) },
	{ 0x19, "Re-authenticate", IN(AUTH) },
	{ 0x80, "Unspecified error", RC_ERR },
	{ 0x81, "Malformed Packet", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x82, "Protocol Error", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x83, "Implementation specific error", RC_ERR },
	{ 0x84, "Unsupported Protocol Version", RC_CONNACK },
	{ 0x85, "Client Identifier not valid", RC_CONNACK },
	{ 0x86, "Bad User Name or Password", RC_CONNACK },
	{ 0x87, "Not authorized", RC_ERR },
	{ 0x88, "Server unavailable", RC_CONNACK },
	{ 0x89, "Server busy", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x8a, "Banned", RC_CONNACK },
	{ 0x8b, "Server shutting down", IN(DISCONNECT) },
	{ 0x8c, "Bad authentication method", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x8d, "Keep Alive timeout", IN(DISCONNECT) },
	{ 0x8e, "Session taken over", IN(DISCONNECT) },
	{ 0x8f, "Topic Filter invalid", IN(SUBACK) | IN(UNSUBACK) |
	    IN(DISCONNECT) },
	{ 0x90, "Topic Name invalid", IN(CONNACK) | RC_PUBACKS |
	    IN(DISCONNECT) },
	{ 0x91, "Packet Identifier in use", RC_PUBACKS | IN(SUBACK) |
	    IN(UNSUBACK) },
	{ 0x92, "Packet Identifier not found", IN(PUBREL) | IN(PUBCOMP) },
	{ 0x93, "Receive Maximum exceeded", IN(DISCONNECT) },
	{ 0x94, "Topic Alias invalid", IN(DISCONNECT) },
	{ 0x95, "Packet too large", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x96, "Message rate too high", IN(DISCONNECT) },
	{ 0x97, "Quota exceeded", IN(CONNACK) | RC_PUBACKS | IN(SUBACK) |
	    IN(DISCONNECT) },
	{ 0x98, "Administrative action", IN(DISCONNECT) },
	{ 0x99, "Payload format invalid", IN(CONNACK) | RC_PUBACKS |
	    IN(DISCONNECT) },
	{ 0x9a, "Retain not supported", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x9b, "QoS not supported", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x9c, "Use another server", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x9d, "Server moved", IN(CONNACK) | IN(DISCONNECT) },
	{ 0x9e, "Shared Subscriptions not supported", IN(SUBACK) |
	    IN(DISCONNECT) },
	{ 0x9f, "Connection rate exceeded", IN(CONNACK) | IN(DISCONNECT) },
	{ 0xa0, "Maximum connect time", IN(DISCONNECT) },
	{ 0xa1, "Subscription Identifiers not supported", IN(SUBACK) |
	    IN(DISCONNECT) },
	{ 0xa2, "Wildcard Subscriptions not supported", IN(SUBACK) |
	    IN(DISCONNECT) },
};

/* A cursor over property bytes. */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

static const struct prop_info *
prop_info(uint8_t id)
{
	if (id > MQTT_PROP_LAST || props[id].name == NULL)
		return NULL;
	return &props[id];
}

const char *
mqtt_prop_name(uint8_t id)
{
	const struct prop_info	*pi = prop_info(id);

	return pi != NULL ? pi->name : NULL;
}

enum mqtt_prop_type
mqtt_prop_type(uint8_t id)
{
	const struct prop_info	*pi = prop_info(id);

	return pi != NULL ? pi->type : MQTT_PT_NONE;
}

uint32_t
mqtt_prop_allowed(uint8_t id)
{
	const struct prop_info	*pi = prop_info(id);

	return pi != NULL ? pi->allowed : 0;
}

/* Reads a variable byte integer: at most 4 bytes, and no longer than needed. */
enum mqtt_err
mqtt_vbi_decode(const uint8_t *p, size_t len, uint32_t *v, size_t *used)
{
	uint32_t	 n = 0;
	size_t		 i;

	for (i = 0; i < 4; i++) {
		if (i >= len)
			return MQTT_NEED_MORE;
		n |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			/* A last byte of 0 after others adds nothing. */
			if (i > 0 && p[i] == 0)
				return MQTT_ERR_MALFORMED;
			*v = n;
			*used = i + 1;
			return MQTT_OK;
		}
	}
	return MQTT_ERR_MALFORMED;
}

size_t
mqtt_vbi_size(uint32_t v)
{
	return mqtt_varint_size(v);
}

size_t
mqtt_vbi_put(uint8_t *p, uint32_t v)
{
	size_t	 i = 0;

	if (v > MQTT_VBI_MAX)
		fatal("%s: %u does not fit", __func__, v);
	do {
		p[i] = v & 0x7f;
		v >>= 7;
		if (v > 0)
			p[i] |= 0x80;
		i++;
	} while (v > 0);
	return i;
}

void
mqtt_vbi_encode(struct buf *out, uint32_t v)
{
	out->len += mqtt_vbi_put(buf_reserve(out, 4), v);
}

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return -1;
	*v = *r->p++;
	r->left--;
	return 0;
}

static int
rd_uint(struct rd *r, size_t n, uint32_t *v)
{
	size_t	 i;

	if (r->left < n)
		return -1;
	for (*v = 0, i = 0; i < n; i++)
		*v = *v << 8 | r->p[i];
	r->p += n;
	r->left -= n;
	return 0;
}

static int
rd_vbi(struct rd *r, uint32_t *v)
{
	size_t	 n;

	if (mqtt_vbi_decode(r->p, r->left, v, &n) != MQTT_OK)
		return -1;
	r->p += n;
	r->left -= n;
	return 0;
}

static int
rd_bin(struct rd *r, struct mqtt_str *s)
{
	uint32_t	 n;

	if (rd_uint(r, 2, &n) == -1 || r->left < n)
		return -1;
	s->p = (const char *)r->p;
	s->len = (uint16_t)n;
	r->p += n;
	r->left -= n;
	return 0;
}

static int
rd_utf8(struct rd *r, struct mqtt_str *s)
{
	if (rd_bin(r, s) == -1 || !mqtt_valid_utf8(s->p, s->len))
		return -1;
	return 0;
}

/* A decoded value of any type. */
struct value {
	uint32_t	 n;
	struct mqtt_str	 s, s2;
};

/* Reads a value of type t; -1 if it is cut short or not of its type. */
static int
rd_value(struct rd *r, enum mqtt_prop_type t, struct value *v)
{
	uint8_t	 b;

	memset(v, 0, sizeof(*v));
	switch (t) {
	case MQTT_PT_BYTE:
		if (rd_u8(r, &b) == -1)
			return -1;
		v->n = b;
		return 0;
	case MQTT_PT_U16:
		return rd_uint(r, 2, &v->n);
	case MQTT_PT_U32:
		return rd_uint(r, 4, &v->n);
	case MQTT_PT_VBI:
		return rd_vbi(r, &v->n);
	case MQTT_PT_UTF8:
		return rd_utf8(r, &v->s);
	case MQTT_PT_BINARY:
		return rd_bin(r, &v->s);
	case MQTT_PT_PAIR:
		if (rd_utf8(r, &v->s) == -1)
			return -1;
		return rd_utf8(r, &v->s2);
	case MQTT_PT_NONE:
		break;
	}
	return -1;
}

/* Stores a single-valued property's value in its field. */
static void
store(struct mqtt_props *pr, const struct prop_info *pi, const struct value *v)
{
	uint8_t	*f = (uint8_t *)pr + pi->off;

	switch (pi->type) {
	case MQTT_PT_BYTE:
		*f = (uint8_t)v->n;
		break;
	case MQTT_PT_U16:
		*(uint16_t *)(void *)f = (uint16_t)v->n;
		break;
	case MQTT_PT_U32:
		*(uint32_t *)(void *)f = v->n;
		break;
	case MQTT_PT_UTF8:
	case MQTT_PT_BINARY:
		*(struct mqtt_str *)(void *)f = v->s;
		break;
	default:
		fatal("%s: %s has no field", __func__, pi->name);
	}
}

/* Reads one property into pr; r is past it on MQTT_OK. */
static enum mqtt_err
decode_one(uint8_t packet, struct rd *r, struct mqtt_props *pr)
{
	const struct prop_info	*pi;
	struct value		 v;
	uint8_t			 id;
	int			 repeat;

	/*
	 * The identifier is a variable byte integer, but all of 5.0's fit
	 * one byte: a byte with the top bit set is no known identifier.
	 */
	if (rd_u8(r, &id) == -1)
		return MQTT_ERR_MALFORMED;
	if ((pi = prop_info(id)) == NULL ||
	    (pi->allowed & MQTT_PROPS_IN(packet)) == 0)
		return MQTT_ERR_MALFORMED;
	if (rd_value(r, pi->type, &v) == -1)
		return MQTT_ERR_MALFORMED;
	repeat = (pi->rules & R_REPEAT) ||
	    ((pi->rules & R_REPEAT_PUB) && packet == MQTT_PUBLISH);
	if (!repeat && mqtt_props_has(pr, id))
		return MQTT_ERR_PROTOCOL;
	if (pi->type != MQTT_PT_UTF8 && pi->type != MQTT_PT_BINARY &&
	    pi->type != MQTT_PT_PAIR && (v.n < pi->lo || v.n > pi->hi))
		return MQTT_ERR_PROTOCOL;
	if ((pi->rules & R_TOPIC) && (v.s.len == 0 ||
	    memchr(v.s.p, '+', v.s.len) != NULL ||
	    memchr(v.s.p, '#', v.s.len) != NULL))
		return MQTT_ERR_PROTOCOL;
	pr->have |= MQTT_PROP_BIT(id);
	if (id == MQTT_PROP_USER)
		pr->nuser_props++;
	else if (id == MQTT_PROP_SUBSCRIPTION_ID)
		pr->nsubscription_ids++;
	else
		store(pr, pi, &v);
	return MQTT_OK;
}

/* A property block: its length, then properties until that length is used. */
enum mqtt_err
mqtt_props_decode(uint8_t packet, const uint8_t *p, size_t len, size_t *used,
    struct mqtt_props *pr)
{
	struct rd	 r;
	const uint8_t	*start, *first = NULL, *end = NULL;
	uint32_t	 plen;
	size_t		 n;
	enum mqtt_err	 e;

	memset(pr, 0, sizeof(*pr));
	if (packet == 0 || packet >= MQTT_PROPS_NPACKETS)
		return MQTT_ERR_PROTOCOL;
	if (mqtt_vbi_decode(p, len, &plen, &n) != MQTT_OK)
		return MQTT_ERR_MALFORMED;
	if (plen > len - n)
		return MQTT_ERR_MALFORMED;
	r.p = p + n;
	r.left = plen;
	while (r.left > 0) {
		start = r.p;
		if ((e = decode_one(packet, &r, pr)) != MQTT_OK)
			return e;
		if (*start == MQTT_PROP_USER ||
		    *start == MQTT_PROP_SUBSCRIPTION_ID) {
			if (first == NULL)
				first = start;
			end = r.p;
		}
	}
	/* 3.1.2.11.10: no Authentication Data without a method. */
	if (packet == MQTT_CONNECT && mqtt_props_has(pr, MQTT_PROP_AUTH_DATA) &&
	    !mqtt_props_has(pr, MQTT_PROP_AUTH_METHOD))
		return MQTT_ERR_PROTOCOL;
	/* The repeatable properties lie between first and end. */
	if (first != NULL) {
		pr->list = first;
		pr->list_len = (size_t)(end - first);
	}
	*used = n + plen;
	return MQTT_OK;
}

/*
 * Steps over the property at *pos of pr's list: its identifier and value.
 * Returns 0 at the end (or at bytes that are not a property).
 */
static int
list_next(const struct mqtt_props *pr, size_t *pos, uint8_t *id,
    struct value *v, const uint8_t **raw, size_t *raw_len)
{
	const struct prop_info	*pi;
	struct rd		 r;

	if (*pos >= pr->list_len)
		return 0;
	r.p = pr->list + *pos;
	r.left = pr->list_len - *pos;
	*raw = r.p;
	if (rd_u8(&r, id) == -1 || (pi = prop_info(*id)) == NULL ||
	    rd_value(&r, pi->type, v) == -1)
		return 0;
	*raw_len = (size_t)(r.p - *raw);
	*pos += *raw_len;
	return 1;
}

int
mqtt_props_user_next(const struct mqtt_props *pr, size_t *pos,
    struct mqtt_str *key, struct mqtt_str *value)
{
	const uint8_t	*raw;
	struct value	 v;
	size_t		 n;
	uint8_t		 id;

	while (list_next(pr, pos, &id, &v, &raw, &n))
		if (id == MQTT_PROP_USER) {
			*key = v.s;
			*value = v.s2;
			return 1;
		}
	return 0;
}

int
mqtt_props_subid_next(const struct mqtt_props *pr, size_t *pos, uint32_t *sid)
{
	const uint8_t	*raw;
	struct value	 v;
	size_t		 n;
	uint8_t		 id;

	while (list_next(pr, pos, &id, &v, &raw, &n))
		if (id == MQTT_PROP_SUBSCRIPTION_ID) {
			*sid = v.n;
			return 1;
		}
	return 0;
}

void
mqtt_props_add_user(struct buf *list, const char *key, uint16_t key_len,
    const char *value, uint16_t value_len)
{
	buf_put_u8(list, MQTT_PROP_USER);
	buf_put_u16(list, key_len);
	buf_append(list, key, key_len);
	buf_put_u16(list, value_len);
	buf_append(list, value, value_len);
}

void
mqtt_props_add_subid(struct buf *list, uint32_t id)
{
	buf_put_u8(list, MQTT_PROP_SUBSCRIPTION_ID);
	mqtt_vbi_encode(list, id);
}

/* The bytes of a single-valued property's value. */
static size_t
value_size(const struct mqtt_props *pr, const struct prop_info *pi)
{
	const uint8_t	*f = (const uint8_t *)pr + pi->off;

	switch (pi->type) {
	case MQTT_PT_BYTE:
		return 1;
	case MQTT_PT_U16:
		return 2;
	case MQTT_PT_U32:
		return 4;
	case MQTT_PT_UTF8:
	case MQTT_PT_BINARY:
		return 2 + (size_t)
		    ((const struct mqtt_str *)(const void *)f)->len;
	default:
		fatal("%s: %s has no field", __func__, pi->name);
	}
}

/* The bytes of the properties alone, without the length field. */
static size_t
body_size(const struct mqtt_props *pr)
{
	const uint8_t	*raw;
	struct value	 v;
	size_t		 n = 0, pos = 0, rn;
	uint8_t		 id;

	for (id = 1; id <= MQTT_PROP_LAST; id++)
		if (props[id].name != NULL &&
		    (MQTT_PROP_BIT(id) & REPEATABLE) == 0 && mqtt_props_has(pr, id))
			n += 1 + value_size(pr, &props[id]);
	while (list_next(pr, &pos, &id, &v, &raw, &rn))
		if (MQTT_PROP_BIT(id) & REPEATABLE)
			n += rn;
	if (n > MQTT_VBI_MAX)
		fatal("%s: %zu bytes of properties", __func__, n);
	return n;
}

size_t
mqtt_props_size(const struct mqtt_props *pr)
{
	size_t	 n = body_size(pr);

	return mqtt_vbi_size((uint32_t)n) + n;
}

/* Writes a single-valued property at p; returns where it ends. */
static uint8_t *
put_one(uint8_t *p, const struct mqtt_props *pr, uint8_t id)
{
	const struct prop_info	*pi = &props[id];
	const uint8_t		*f = (const uint8_t *)pr + pi->off;
	const struct mqtt_str	*s;
	uint32_t		 n;
	size_t			 w, i;

	*p++ = id;
	switch (pi->type) {
	case MQTT_PT_BYTE:
		*p++ = *f;
		return p;
	case MQTT_PT_U16:
		n = *(const uint16_t *)(const void *)f;
		w = 2;
		break;
	case MQTT_PT_U32:
		n = *(const uint32_t *)(const void *)f;
		w = 4;
		break;
	case MQTT_PT_UTF8:
	case MQTT_PT_BINARY:
		s = (const struct mqtt_str *)(const void *)f;
		*p++ = (uint8_t)(s->len >> 8);
		*p++ = (uint8_t)s->len;
		if (s->len > 0)
			memcpy(p, s->p, s->len);
		return p + s->len;
	default:
		fatal("%s: %s has no field", __func__, pi->name);
	}
	for (i = 0; i < w; i++)
		*p++ = (uint8_t)(n >> (8 * (w - 1 - i)));
	return p;
}

/* Identifier order; each repeatable one as its entries come in list. */
void
mqtt_props_encode(struct buf *out, const struct mqtt_props *pr)
{
	const uint8_t	*raw;
	struct value	 v;
	uint8_t		*p, id, rid;
	size_t		 body, total, pos, rn;

	body = body_size(pr);
	total = mqtt_vbi_size((uint32_t)body) + body;
	p = buf_reserve(out, total);
	out->len += total;
	p += mqtt_vbi_put(p, (uint32_t)body);
	for (id = 1; id <= MQTT_PROP_LAST; id++) {
		if (props[id].name == NULL)
			continue;
		if (MQTT_PROP_BIT(id) & REPEATABLE) {
			pos = 0;
			while (list_next(pr, &pos, &rid, &v, &raw, &rn))
				if (rid == id) {
					memcpy(p, raw, rn);
					p += rn;
				}
		} else if (mqtt_props_has(pr, id))
			p = put_one(p, pr, id);
	}
}

static int
same_str(const struct mqtt_str *a, const struct mqtt_str *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->p, b->p, a->len) == 0);
}

/* The repeatable entries with identifier id, in order, compared. */
static int
same_list(const struct mqtt_props *a, const struct mqtt_props *b, uint8_t id)
{
	const uint8_t	*raw;
	struct value	 va, vb;
	size_t		 pa = 0, pb = 0, rn;
	uint8_t		 ia, ib;
	int		 more_a, more_b;

	for (;;) {
		while ((more_a = list_next(a, &pa, &ia, &va, &raw, &rn)) &&
		    ia != id)
			;
		while ((more_b = list_next(b, &pb, &ib, &vb, &raw, &rn)) &&
		    ib != id)
			;
		if (!more_a || !more_b)
			return more_a == more_b;
		if (va.n != vb.n || (id == MQTT_PROP_USER &&
		    (!same_str(&va.s, &vb.s) || !same_str(&va.s2, &vb.s2))))
			return 0;
	}
}

int
mqtt_props_equal(const struct mqtt_props *a, const struct mqtt_props *b)
{
	const uint8_t	*fa, *fb;
	uint8_t		 id;
	size_t		 w;

	if ((a->have & ~REPEATABLE) != (b->have & ~REPEATABLE))
		return 0;
	for (id = 1; id <= MQTT_PROP_LAST; id++) {
		if (props[id].name == NULL ||
		    (MQTT_PROP_BIT(id) & REPEATABLE) || !mqtt_props_has(a, id))
			continue;
		fa = (const uint8_t *)a + props[id].off;
		fb = (const uint8_t *)b + props[id].off;
		switch (props[id].type) {
		case MQTT_PT_UTF8:
		case MQTT_PT_BINARY:
			if (!same_str((const struct mqtt_str *)(const void *)fa,
			    (const struct mqtt_str *)(const void *)fb))
				return 0;
			continue;
		case MQTT_PT_BYTE:
			w = 1;
			break;
		case MQTT_PT_U16:
			w = 2;
			break;
		default:
			w = 4;
			break;
		}
		if (memcmp(fa, fb, w) != 0)
			return 0;
	}
	return same_list(a, b, MQTT_PROP_USER) &&
	    same_list(a, b, MQTT_PROP_SUBSCRIPTION_ID);
}

const char *
mqtt_reason_name(uint8_t code)
{
	size_t	 i;

	for (i = 0; i < FMQ_NELEM(reasons); i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return "unknown";
}

const char *
mqtt_reason_name_in(uint8_t packet, uint8_t code)
{
	size_t	 i;

	if (packet < MQTT_PROPS_NPACKETS)
		for (i = 0; i < FMQ_NELEM(reasons); i++)
			if (reasons[i].code == code &&
			    (reasons[i].packets & MQTT_PROPS_IN(packet)))
				return reasons[i].name;
	return mqtt_reason_name(code);
}

int
mqtt_reason_valid(uint8_t packet, uint8_t code)
{
	size_t	 i;

	if (packet >= MQTT_PROPS_NPACKETS)
		return 0;
	for (i = 0; i < FMQ_NELEM(reasons); i++)
		if (reasons[i].code == code &&
		    (reasons[i].packets & MQTT_PROPS_IN(packet)))
			return 1;
	return 0;
}
