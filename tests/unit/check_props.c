/* Unit tests of MQTT 5.0 properties, integers, reason codes (broker/props.c). */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/packet.h"
#include "broker/props.h"
#include "buf.h"
#include "util.h"

/* Bytes in the tables: hex, with ASCII text in single quotes. */
static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t		 n = 0;
	unsigned int	 v;

	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s == '\'') {
			for (s++; *s != '\'' && *s != '\0'; s++) {
				ck_assert_uint_lt(n, cap);
				out[n++] = (uint8_t)*s;
			}
			ck_assert_msg(*s == '\'', "unterminated text in %s", s);
			s++;
			continue;
		}
		ck_assert_msg(sscanf(s, "%2x", &v) == 1 && s[1] != '\0' &&
		    s[1] != ' ', "bad hex at \"%s\"", s);
		ck_assert_uint_lt(n, cap);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* Writes the property length of n bytes of properties, then them, at out. */
static size_t
block(const uint8_t *props, size_t n, uint8_t *out)
{
	size_t	 h;

	h = mqtt_vbi_put(out, (uint32_t)n);
	memmove(out + h, props, n);
	return h + n;
}

/* A block from properties written in hex. */
static size_t
block_hex(const char *hex, uint8_t *out, size_t cap)
{
	uint8_t	 tmp[4096];
	size_t	 n;

	n = unhex(hex, tmp, sizeof(tmp));
	ck_assert_uint_le(n + 4, cap);
	return block(tmp, n, out);
}

static void
check_err(const char *name, enum mqtt_err got, enum mqtt_err want)
{
	ck_assert_msg(got == want, "%s: got %s, want %s", name,
	    mqtt_err_name(got), mqtt_err_name(want));
}

/* Encodes pr, checks the size it announced, decodes it, compares. */
static void
roundtrip(const char *name, uint8_t packet, const struct mqtt_props *pr,
    struct buf *out)
{
	struct mqtt_props	 back;
	size_t			 used = 0;

	buf_reset(out, 0);
	mqtt_props_encode(out, pr);
	ck_assert_msg(buf_pending(out) == mqtt_props_size(pr), "%s: size "
	    "%zu, encoded %zu", name, mqtt_props_size(pr), buf_pending(out));
	check_err(name, mqtt_props_decode(packet, buf_data(out),
	    buf_pending(out), &used, &back), MQTT_OK);
	ck_assert_uint_eq(used, buf_pending(out));
	ck_assert_msg(mqtt_props_equal(pr, &back), "%s: not equal after "
	    "round trip", name);
	ck_assert_msg(mqtt_props_equal(&back, pr), "%s: equality not "
	    "symmetric", name);
}

/* ---- variable byte integers (1.5.5) ----------------------------------- */

static const struct vbi_case {
	const char	*hex;
	enum mqtt_err	 err;
	uint32_t	 v;
	size_t		 used;
} vbi_cases[] = {
	{ "00",			MQTT_OK, 0, 1 },
	{ "01",			MQTT_OK, 1, 1 },
	{ "7f",			MQTT_OK, 127, 1 },
	{ "80 01",		MQTT_OK, 128, 2 },
	{ "ff 7f",		MQTT_OK, 16383, 2 },
	{ "80 80 01",		MQTT_OK, 16384, 3 },
	{ "ff ff 7f",		MQTT_OK, 2097151, 3 },
	{ "80 80 80 01",	MQTT_OK, 2097152, 4 },
	{ "ff ff ff 7f",	MQTT_OK, 268435455, 4 },
	{ "7f ff",		MQTT_OK, 127, 1 },	/* trailing bytes stay */
	/* A fifth byte. */
	{ "ff ff ff ff 01",	MQTT_ERR_MALFORMED, 0, 0 },
	{ "80 80 80 80 00",	MQTT_ERR_MALFORMED, 0, 0 },
	{ "ff ff ff ff",	MQTT_ERR_MALFORMED, 0, 0 },
	/* Longer than needed. */
	{ "80 00",		MQTT_ERR_MALFORMED, 0, 0 },
	{ "81 00",		MQTT_ERR_MALFORMED, 0, 0 },
	{ "ff 00",		MQTT_ERR_MALFORMED, 0, 0 },
	{ "80 80 00",		MQTT_ERR_MALFORMED, 0, 0 },
	{ "ff ff 00",		MQTT_ERR_MALFORMED, 0, 0 },
	{ "80 80 80 00",	MQTT_ERR_MALFORMED, 0, 0 },
	{ "ff ff ff 00",	MQTT_ERR_MALFORMED, 0, 0 },
	/* Cut short. */
	{ "",			MQTT_NEED_MORE, 0, 0 },
	{ "80",			MQTT_NEED_MORE, 0, 0 },
	{ "ff ff",		MQTT_NEED_MORE, 0, 0 },
	{ "ff ff ff",		MQTT_NEED_MORE, 0, 0 },
};

START_TEST(test_vbi_decode)
{
	const struct vbi_case	*c = &vbi_cases[_i];
	uint8_t			 b[8], out[4];
	uint32_t		 v = 0xdeadbeef;
	size_t			 n, used = 99;
	enum mqtt_err		 e;

	n = unhex(c->hex, b, sizeof(b));
	e = mqtt_vbi_decode(b, n, &v, &used);
	check_err(c->hex, e, c->err);
	if (e != MQTT_OK)
		return;
	ck_assert_uint_eq(v, c->v);
	ck_assert_uint_eq(used, c->used);
	/* The minimal encoding is the only one: it writes the same bytes. */
	ck_assert_uint_eq(mqtt_vbi_size(v), used);
	ck_assert_uint_eq(mqtt_vbi_put(out, v), used);
	ck_assert_mem_eq(out, b, used);
}
END_TEST

/* Every boundary value encodes to its size and decodes back. */
START_TEST(test_vbi_roundtrip)
{
	static const uint32_t	 vals[] = { 0, 1, 127, 128, 16383, 16384,
	    2097151, 2097152, 268435455 };
	static const size_t	 sizes[] = { 1, 1, 1, 2, 2, 3, 3, 4, 4 };
	struct buf		 b = { 0 };
	uint32_t		 v;
	size_t			 i, used;

	for (i = 0; i < FMQ_NELEM(vals); i++) {
		buf_reset(&b, 0);
		mqtt_vbi_encode(&b, vals[i]);
		ck_assert_uint_eq(buf_pending(&b), sizes[i]);
		ck_assert_uint_eq(mqtt_vbi_size(vals[i]), sizes[i]);
		check_err("vbi", mqtt_vbi_decode(buf_data(&b), buf_pending(&b),
		    &v, &used), MQTT_OK);
		ck_assert_uint_eq(v, vals[i]);
		ck_assert_uint_eq(used, sizes[i]);
		/* Every shorter prefix needs more. */
		while (used-- > 0)
			check_err("vbi prefix", mqtt_vbi_decode(buf_data(&b),
			    used, &v, &used), MQTT_NEED_MORE);
	}
	buf_free(&b);
}
END_TEST

/* ---- every identifier: type, packets, round trip ------------------- */

#define B(t)	(1u << (t))
#define CONNECT		B(1)
#define CONNACK		B(2)
#define PUBLISH		B(3)
#define PUBACK		B(4)
#define PUBREC		B(5)
#define PUBREL		B(6)
#define PUBCOMP		B(7)
#define SUBSCRIBE	B(8)
#define SUBACK		B(9)
#define UNSUBSCRIBE	B(10)
#define UNSUBACK	B(11)
#define DISCONNECT	B(14)
#define AUTH		B(15)
#define WILL		B(16)

/* Table 2-4 of the spec, written again here to hold props.c against. */
static const struct id_case {
	uint8_t			 id;
	const char		*name;
	enum mqtt_prop_type	 type;
	uint32_t		 packets;
	const char		*value;		/* a valid value, hex */
} id_cases[] = {
	{ 0x01, "Payload Format Indicator", MQTT_PT_BYTE, PUBLISH | WILL,
	    "01" },
	{ 0x02, "Message Expiry Interval", MQTT_PT_U32, PUBLISH | WILL,
	    "00 00 0e 10" },
	{ 0x03, "Content Type", MQTT_PT_UTF8, PUBLISH | WILL,
	    "00 10 'application/json'" },
	{ 0x08, "Response Topic", MQTT_PT_UTF8, PUBLISH | WILL,
	    "00 03 'a/b'" },
	{ 0x09, "Correlation Data", MQTT_PT_BINARY, PUBLISH | WILL,
	    "00 04 00 ff 80 c0" },
	{ 0x0b, "Subscription Identifier", MQTT_PT_VBI, PUBLISH | SUBSCRIBE,
	    "80 01" },
	{ 0x11, "Session Expiry Interval", MQTT_PT_U32,
	    CONNECT | CONNACK | DISCONNECT, "ff ff ff ff" },
	{ 0x12, "Assigned Client Identifier", MQTT_PT_UTF8, CONNACK,
	    "00 02 'id'" },
	{ 0x13, "Server Keep Alive", MQTT_PT_U16, CONNACK, "00 3c" },
	{ 0x15, "Authentication Method", MQTT_PT_UTF8,
	    CONNECT | CONNACK | AUTH, "00 0d 'SCRAM-SHA-256'" },
	{ 0x16, "Authentication Data", MQTT_PT_BINARY,
	    CONNECT | CONNACK | AUTH, "00 02 00 01" },
	{ 0x17, "Request Problem Information", MQTT_PT_BYTE, CONNECT, "00" },
	{ 0x18, "Will Delay Interval", MQTT_PT_U32, WILL, "00 00 00 05" },
	{ 0x19, "Request Response Information", MQTT_PT_BYTE, CONNECT,
	    "01" },
	{ 0x1a, "Response Information", MQTT_PT_UTF8, CONNACK,
	    "00 04 'resp'" },
	{ 0x1c, "Server Reference", MQTT_PT_UTF8, CONNACK | DISCONNECT,
	    "00 03 'srv'" },
	{ 0x1f, "Reason String", MQTT_PT_UTF8, CONNACK | PUBACK | PUBREC |
	    PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH,
	    "00 02 'ok'" },
	{ 0x21, "Receive Maximum", MQTT_PT_U16, CONNECT | CONNACK, "00 0a" },
	{ 0x22, "Topic Alias Maximum", MQTT_PT_U16, CONNECT | CONNACK,
	    "00 00" },
	{ 0x23, "Topic Alias", MQTT_PT_U16, PUBLISH, "ff ff" },
	{ 0x24, "Maximum QoS", MQTT_PT_BYTE, CONNACK, "00" },
	{ 0x25, "Retain Available", MQTT_PT_BYTE, CONNACK, "01" },
	{ 0x26, "User Property", MQTT_PT_PAIR, CONNECT | CONNACK | PUBLISH |
	    WILL | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBSCRIBE | SUBACK |
	    UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH,
	    "00 01 'k' 00 01 'v'" },
	{ 0x27, "Maximum Packet Size", MQTT_PT_U32, CONNECT | CONNACK,
	    "00 01 00 00" },
	{ 0x28, "Wildcard Subscription Available", MQTT_PT_BYTE, CONNACK,
	    "00" },
	{ 0x29, "Subscription Identifier Available", MQTT_PT_BYTE, CONNACK,
	    "01" },
	{ 0x2a, "Shared Subscription Available", MQTT_PT_BYTE, CONNACK,
	    "00" },
};

/* The single property of id_cases[i] as a block. */
static size_t
id_block(const struct id_case *c, int twice, uint8_t *out, size_t cap)
{
	char	 hex[256];

	if (twice)
		snprintf(hex, sizeof(hex), "%02x %s %02x %s", c->id, c->value,
		    c->id, c->value);
	else
		snprintf(hex, sizeof(hex), "%02x %s", c->id, c->value);
	return block_hex(hex, out, cap);
}

/*
 * Decodes in each of the 17 places (0 to 16): accepted where the table
 * allows it, Malformed elsewhere (2.2.2.2); where accepted, encoding gives
 * back the same bytes and the round trip gives an equal struct.
 */
START_TEST(test_ids)
{
	const struct id_case	*c = &id_cases[_i];
	struct mqtt_props	 pr;
	struct buf		 out = { 0 };
	uint8_t			 b[256];
	size_t			 n, used;
	unsigned int		 t;
	enum mqtt_err		 e, want;
	char			 name[64];

	ck_assert_str_eq(mqtt_prop_name(c->id), c->name);
	ck_assert_int_eq(mqtt_prop_type(c->id), c->type);
	ck_assert_uint_eq(mqtt_prop_allowed(c->id), c->packets);
	n = id_block(c, 0, b, sizeof(b));
	for (t = 0; t <= MQTT_PROPS_NPACKETS; t++) {
		snprintf(name, sizeof(name), "%s in %u", c->name, t);
		used = 0;
		e = mqtt_props_decode((uint8_t)t, b, n, &used, &pr);
		if (t == 0 || t >= MQTT_PROPS_NPACKETS)
			want = MQTT_ERR_PROTOCOL;	/* no such place */
		else if ((c->packets & B(t)) == 0)
			want = MQTT_ERR_MALFORMED;
		else if (c->id == MQTT_PROP_AUTH_DATA && t == 1)
			want = MQTT_ERR_PROTOCOL;	/* needs a method */
		else
			want = MQTT_OK;
		check_err(name, e, want);
		if (e != MQTT_OK)
			continue;
		ck_assert_uint_eq(used, n);
		ck_assert_msg(mqtt_props_has(&pr, c->id), "%s: not present",
		    name);
		ck_assert_uint_eq(pr.have, MQTT_PROP_BIT(c->id));
		buf_reset(&out, 0);
		mqtt_props_encode(&out, &pr);
		ck_assert_uint_eq(buf_pending(&out), n);
		ck_assert_mem_eq(buf_data(&out), b, n);
		roundtrip(name, (uint8_t)t, &pr, &out);
	}
	buf_free(&out);
}
END_TEST

/* Twice: a Protocol Error, but User Property, and Subscription Id in PUBLISH. */
START_TEST(test_duplicates)
{
	const struct id_case	*c = &id_cases[_i];
	struct mqtt_props	 pr;
	uint8_t			 b[256];
	size_t			 n, used;
	unsigned int		 t;
	enum mqtt_err		 want;
	char			 name[64];

	n = id_block(c, 1, b, sizeof(b));
	for (t = 1; t < MQTT_PROPS_NPACKETS; t++) {
		if ((c->packets & B(t)) == 0)
			continue;
		if (c->id == MQTT_PROP_USER)
			want = MQTT_OK;
		else if (c->id == MQTT_PROP_SUBSCRIPTION_ID)
			want = t == MQTT_PUBLISH ? MQTT_OK : MQTT_ERR_PROTOCOL;
		else
			want = MQTT_ERR_PROTOCOL;
		snprintf(name, sizeof(name), "%s twice in %u", c->name, t);
		check_err(name, mqtt_props_decode((uint8_t)t, b, n, &used, &pr),
		    want);
		if (want == MQTT_OK) {
			ck_assert_uint_eq(used, n);
			ck_assert_uint_eq(pr.nuser_props +
			    pr.nsubscription_ids, 2);
		}
	}
}
END_TEST

/* ---- decoding rules, as a table of blocks ------------------------------ */

static const struct decode_case {
	const char	*name;
	uint8_t		 packet;
	const char	*hex;		/* the properties (the length is added) */
	enum mqtt_err	 err;
} decode_cases[] = {
	{ "empty", MQTT_CONNECT, "", MQTT_OK },
	{ "empty in PINGREQ", MQTT_PINGREQ, "", MQTT_OK },
	/* Ranges: a Protocol Error. */
	{ "payload format 1", MQTT_PUBLISH, "01 01", MQTT_OK },
	{ "payload format 2", MQTT_PUBLISH, "01 02", MQTT_ERR_PROTOCOL },
	{ "payload format ff", MQTT_PROPS_WILL, "01 ff", MQTT_ERR_PROTOCOL },
	{ "request problem 2", MQTT_CONNECT, "17 02", MQTT_ERR_PROTOCOL },
	{ "request response 2", MQTT_CONNECT, "19 02", MQTT_ERR_PROTOCOL },
	{ "receive maximum 0", MQTT_CONNECT, "21 00 00", MQTT_ERR_PROTOCOL },
	{ "receive maximum 0 connack", MQTT_CONNACK, "21 00 00",
	    MQTT_ERR_PROTOCOL },
	{ "receive maximum 1", MQTT_CONNECT, "21 00 01", MQTT_OK },
	{ "max packet size 0", MQTT_CONNECT, "27 00 00 00 00",
	    MQTT_ERR_PROTOCOL },
	{ "max packet size 0 connack", MQTT_CONNACK, "27 00 00 00 00",
	    MQTT_ERR_PROTOCOL },
	{ "max packet size 1", MQTT_CONNECT, "27 00 00 00 01", MQTT_OK },
	{ "topic alias 0", MQTT_PUBLISH, "23 00 00", MQTT_ERR_PROTOCOL },
	{ "topic alias 1", MQTT_PUBLISH, "23 00 01", MQTT_OK },
	{ "topic alias maximum 0", MQTT_CONNECT, "22 00 00", MQTT_OK },
	{ "subscription id 0", MQTT_PUBLISH, "0b 00", MQTT_ERR_PROTOCOL },
	{ "subscription id 0 sub", MQTT_SUBSCRIBE, "0b 00", MQTT_ERR_PROTOCOL },
	{ "subscription id max", MQTT_SUBSCRIBE, "0b ff ff ff 7f", MQTT_OK },
	{ "subscription id 5 bytes", MQTT_SUBSCRIBE, "0b ff ff ff ff 01",
	    MQTT_ERR_MALFORMED },
	{ "subscription id over-long", MQTT_SUBSCRIBE, "0b 81 00",
	    MQTT_ERR_MALFORMED },
	{ "subscription id cut", MQTT_SUBSCRIBE, "0b 81", MQTT_ERR_MALFORMED },
	{ "max qos 1", MQTT_CONNACK, "24 01", MQTT_OK },
	{ "max qos 2", MQTT_CONNACK, "24 02", MQTT_ERR_PROTOCOL },
	{ "retain available 2", MQTT_CONNACK, "25 02", MQTT_ERR_PROTOCOL },
	{ "wildcard available 2", MQTT_CONNACK, "28 02", MQTT_ERR_PROTOCOL },
	{ "subid available 2", MQTT_CONNACK, "29 02", MQTT_ERR_PROTOCOL },
	{ "shared available 2", MQTT_CONNACK, "2a 02", MQTT_ERR_PROTOCOL },
	{ "session expiry 0", MQTT_DISCONNECT, "11 00 00 00 00", MQTT_OK },
	/* Response Topic is a topic name. */
	{ "response topic empty", MQTT_PUBLISH, "08 00 00", MQTT_ERR_PROTOCOL },
	{ "response topic +", MQTT_PUBLISH, "08 00 03 'a/+'",
	    MQTT_ERR_PROTOCOL },
	{ "response topic #", MQTT_PROPS_WILL, "08 00 01 '#'",
	    MQTT_ERR_PROTOCOL },
	/* Authentication Data without a method, in CONNECT only (3.1.2.11.10). */
	{ "auth data alone", MQTT_CONNECT, "16 00 01 00", MQTT_ERR_PROTOCOL },
	{ "auth data then method", MQTT_CONNECT,
	    "16 00 01 00 15 00 01 'x'", MQTT_OK },
	{ "auth data alone in AUTH", MQTT_AUTH, "16 00 01 00", MQTT_OK },
	/* Unknown identifiers: not valid for any packet, so Malformed. */
	{ "id 00", MQTT_CONNECT, "00 00", MQTT_ERR_MALFORMED },
	{ "id 04", MQTT_PUBLISH, "04 00", MQTT_ERR_MALFORMED },
	{ "id 0a", MQTT_PUBLISH, "0a 00", MQTT_ERR_MALFORMED },
	{ "id 14", MQTT_CONNACK, "14 00", MQTT_ERR_MALFORMED },
	{ "id 2b", MQTT_CONNACK, "2b 00", MQTT_ERR_MALFORMED },
	{ "id 7f", MQTT_CONNACK, "7f 00", MQTT_ERR_MALFORMED },
	{ "id 80 01 (two bytes)", MQTT_CONNACK, "80 01 00", MQTT_ERR_MALFORMED },
	{ "id a6 00 (0x26 over-long)", MQTT_CONNACK, "a6 00 00 00 00 00",
	    MQTT_ERR_MALFORMED },
	{ "id ff", MQTT_CONNACK, "ff", MQTT_ERR_MALFORMED },
	/* Malformed wins over a Protocol Error found later or earlier. */
	{ "dup then bad utf8", MQTT_CONNACK, "1f 00 01 'a' 1f 00 01 c0",
	    MQTT_ERR_MALFORMED },
	{ "range then unknown", MQTT_CONNACK, "24 02 2b 00",
	    MQTT_ERR_PROTOCOL },
	/* UTF-8 in every string property; binary takes any byte. */
	{ "content type U+0000", MQTT_PUBLISH, "03 00 03 'a' 00 'b'",
	    MQTT_ERR_MALFORMED },
	{ "content type bad lead", MQTT_PUBLISH, "03 00 01 ff",
	    MQTT_ERR_MALFORMED },
	{ "content type overlong", MQTT_PUBLISH, "03 00 02 c0 80",
	    MQTT_ERR_MALFORMED },
	{ "content type surrogate", MQTT_PUBLISH, "03 00 03 ed a0 80",
	    MQTT_ERR_MALFORMED },
	{ "content type cut seq", MQTT_PUBLISH, "03 00 02 e2 82",
	    MQTT_ERR_MALFORMED },
	{ "content type U+10FFFF", MQTT_PUBLISH, "03 00 04 f4 8f bf bf",
	    MQTT_OK },
	{ "content type above U+10FFFF", MQTT_PUBLISH, "03 00 04 f4 90 80 80",
	    MQTT_ERR_MALFORMED },
	{ "content type euro", MQTT_PUBLISH, "03 00 03 e2 82 ac", MQTT_OK },
	{ "response topic U+0000", MQTT_PUBLISH, "08 00 01 00",
	    MQTT_ERR_MALFORMED },
	{ "assigned id bad", MQTT_CONNACK, "12 00 01 80", MQTT_ERR_MALFORMED },
	{ "auth method bad", MQTT_AUTH, "15 00 01 00", MQTT_ERR_MALFORMED },
	{ "response info bad", MQTT_CONNACK, "1a 00 01 fe",
	    MQTT_ERR_MALFORMED },
	{ "server ref bad", MQTT_DISCONNECT, "1c 00 01 00",
	    MQTT_ERR_MALFORMED },
	{ "reason string bad", MQTT_PUBACK, "1f 00 02 c3 28",
	    MQTT_ERR_MALFORMED },
	{ "user key U+0000", MQTT_PUBLISH, "26 00 01 00 00 01 'v'",
	    MQTT_ERR_MALFORMED },
	{ "user value U+0000", MQTT_PUBLISH, "26 00 01 'k' 00 01 00",
	    MQTT_ERR_MALFORMED },
	{ "user value bad", MQTT_PUBLISH, "26 00 01 'k' 00 01 c0",
	    MQTT_ERR_MALFORMED },
	{ "correlation any bytes", MQTT_PUBLISH, "09 00 03 00 ff c0", MQTT_OK },
	{ "auth data any bytes", MQTT_AUTH, "16 00 02 00 ff", MQTT_OK },
	/* Lengths inside properties. */
	{ "string length past block", MQTT_PUBLISH, "03 00 05 'abc'",
	    MQTT_ERR_MALFORMED },
	{ "user value missing", MQTT_PUBLISH, "26 00 01 'k'",
	    MQTT_ERR_MALFORMED },
	{ "u32 cut", MQTT_PUBLISH, "02 00 00 01", MQTT_ERR_MALFORMED },
	{ "u16 cut", MQTT_PUBLISH, "23 00", MQTT_ERR_MALFORMED },
	{ "byte missing", MQTT_PUBLISH, "01", MQTT_ERR_MALFORMED },
};

START_TEST(test_decode)
{
	const struct decode_case	*c = &decode_cases[_i];
	struct mqtt_props		 pr;
	uint8_t				 b[512];
	size_t				 n, used = 0;
	enum mqtt_err			 e;

	n = block_hex(c->hex, b, sizeof(b));
	e = mqtt_props_decode(c->packet, b, n, &used, &pr);
	check_err(c->name, e, c->err);
	if (e == MQTT_OK)
		ck_assert_uint_eq(used, n);
}
END_TEST

/* Blocks whose length field is wrong, and bytes after the block. */
static const struct length_case {
	const char	*name;
	const char	*hex;		/* the whole block, length included */
	enum mqtt_err	 err;
	size_t		 used;
} length_cases[] = {
	{ "nothing at all", "", MQTT_ERR_MALFORMED, 0 },
	{ "length past the packet", "03 01 00", MQTT_ERR_MALFORMED, 0 },
	{ "length 1 of nothing", "01", MQTT_ERR_MALFORMED, 0 },
	{ "length cut", "80", MQTT_ERR_MALFORMED, 0 },
	{ "length over-long", "80 00", MQTT_ERR_MALFORMED, 0 },
	{ "length 5 bytes", "80 80 80 80 00", MQTT_ERR_MALFORMED, 0 },
	{ "length max, packet short", "ff ff ff 7f 01 00",
	    MQTT_ERR_MALFORMED, 0 },
	{ "length short of a property", "01 01 00", MQTT_ERR_MALFORMED, 0 },
	{ "payload after", "02 01 01 'payload'", MQTT_OK, 3 },
	{ "empty, payload after", "00 'x'", MQTT_OK, 1 },
};

START_TEST(test_lengths)
{
	const struct length_case	*c = &length_cases[_i];
	struct mqtt_props		 pr;
	uint8_t				 b[64];
	size_t				 n, used = 0;
	enum mqtt_err			 e;

	n = unhex(c->hex, b, sizeof(b));
	e = mqtt_props_decode(MQTT_PUBLISH, b, n, &used, &pr);
	check_err(c->name, e, c->err);
	if (e == MQTT_OK)
		ck_assert_uint_eq(used, c->used);
}
END_TEST

/* ---- whole blocks ------------------------------------------------------ */

#define CONNACK_ALL \
	"11 00 00 00 3c  12 00 02 'id'  13 00 1e  15 00 04 'meth' " \
	"16 00 02 01 02  1a 00 02 'ri'  1c 00 02 'sr'  1f 00 02 'rs' " \
	"21 00 14  22 00 0a  24 01  25 00  26 00 01 'a' 00 01 'b' " \
	"27 00 00 10 00  28 01  29 00  2a 01  26 00 00 00 00"
#define PUBLISH_ALL \
	"01 01  02 00 00 00 0a  03 00 04 'text'  08 00 03 'r/t' " \
	"09 00 02 ab cd  0b 05  0b ff ff ff 7f  23 00 07 " \
	"26 00 02 'k1' 00 02 'v1'  26 00 02 'k2' 00 00"

/* Every field lands where it should. */
START_TEST(test_fields)
{
	struct mqtt_props	 pr;
	struct mqtt_str		 k, v;
	struct buf		 out = { 0 };
	uint8_t			 b[512];
	uint32_t		 sid;
	size_t			 n, used, pos;

	n = block_hex(CONNACK_ALL, b, sizeof(b));
	check_err("connack", mqtt_props_decode(MQTT_CONNACK, b, n, &used, &pr),
	    MQTT_OK);
	ck_assert_uint_eq(pr.session_expiry, 60);
	ck_assert_uint_eq(pr.assigned_client_id.len, 2);
	ck_assert_mem_eq(pr.assigned_client_id.p, "id", 2);
	ck_assert_uint_eq(pr.server_keep_alive, 30);
	ck_assert_mem_eq(pr.auth_method.p, "meth", 4);
	ck_assert_uint_eq(pr.auth_data.len, 2);
	ck_assert_mem_eq(pr.response_info.p, "ri", 2);
	ck_assert_mem_eq(pr.server_reference.p, "sr", 2);
	ck_assert_mem_eq(pr.reason_string.p, "rs", 2);
	ck_assert_uint_eq(pr.receive_maximum, 20);
	ck_assert_uint_eq(pr.topic_alias_maximum, 10);
	ck_assert_uint_eq(pr.max_qos, 1);
	ck_assert_uint_eq(pr.retain_available, 0);
	ck_assert_uint_eq(pr.max_packet_size, 4096);
	ck_assert_uint_eq(pr.wildcard_available, 1);
	ck_assert_uint_eq(pr.subid_available, 0);
	ck_assert_uint_eq(pr.shared_available, 1);
	ck_assert_uint_eq(pr.nuser_props, 2);
	pos = 0;
	ck_assert(mqtt_props_user_next(&pr, &pos, &k, &v));
	ck_assert(k.len == 1 && k.p[0] == 'a' && v.len == 1 && v.p[0] == 'b');
	ck_assert(mqtt_props_user_next(&pr, &pos, &k, &v));
	ck_assert(k.len == 0 && v.len == 0);
	ck_assert(!mqtt_props_user_next(&pr, &pos, &k, &v));
	roundtrip("connack", MQTT_CONNACK, &pr, &out);

	n = block_hex(PUBLISH_ALL, b, sizeof(b));
	check_err("publish", mqtt_props_decode(MQTT_PUBLISH, b, n, &used, &pr),
	    MQTT_OK);
	ck_assert_uint_eq(pr.payload_format, 1);
	ck_assert_uint_eq(pr.message_expiry, 10);
	ck_assert_mem_eq(pr.content_type.p, "text", 4);
	ck_assert_mem_eq(pr.response_topic.p, "r/t", 3);
	ck_assert_mem_eq(pr.correlation_data.p, "\xab\xcd", 2);
	ck_assert_uint_eq(pr.topic_alias, 7);
	ck_assert_uint_eq(pr.nsubscription_ids, 2);
	pos = 0;
	ck_assert(mqtt_props_subid_next(&pr, &pos, &sid));
	ck_assert_uint_eq(sid, 5);
	ck_assert(mqtt_props_subid_next(&pr, &pos, &sid));
	ck_assert_uint_eq(sid, MQTT_VBI_MAX);
	ck_assert(!mqtt_props_subid_next(&pr, &pos, &sid));
	ck_assert_uint_eq(pr.nuser_props, 2);
	/* Already in identifier order: the encoder gives the same bytes. */
	buf_reset(&out, 0);
	mqtt_props_encode(&out, &pr);
	ck_assert_uint_eq(buf_pending(&out), n);
	ck_assert_mem_eq(buf_data(&out), b, n);
	roundtrip("publish", MQTT_PUBLISH, &pr, &out);

	/* Will Properties, CONNECT, SUBSCRIBE. */
	n = block_hex("18 00 00 00 09  01 00  26 00 00 00 00", b, sizeof(b));
	check_err("will", mqtt_props_decode(MQTT_PROPS_WILL, b, n, &used, &pr),
	    MQTT_OK);
	ck_assert_uint_eq(pr.will_delay, 9);
	ck_assert_uint_eq(pr.payload_format, 0);
	n = block_hex("17 01  19 01  21 ff ff  27 ff ff ff ff", b, sizeof(b));
	check_err("connect", mqtt_props_decode(MQTT_CONNECT, b, n, &used,
	    &pr), MQTT_OK);
	ck_assert_uint_eq(pr.request_problem_info, 1);
	ck_assert_uint_eq(pr.request_response_info, 1);
	ck_assert_uint_eq(pr.receive_maximum, 65535);
	ck_assert_uint_eq(pr.max_packet_size, UINT32_MAX);
	buf_free(&out);
}
END_TEST

/* The encoder sorts by identifier and keeps the order of user properties. */
START_TEST(test_encode_order)
{
	struct mqtt_props	 pr;
	struct buf		 out = { 0 };
	uint8_t			 b[512], want[512];
	size_t			 n, wn, used;

	/* Out of order on the wire: re-encoded in identifier order. */
	n = block_hex("26 00 01 'z' 00 00  2a 01  26 00 01 'a' 00 00  11 00 00 "
	    "00 01  1f 00 01 'r'  26 00 01 'm' 00 00", b, sizeof(b));
	check_err("order", mqtt_props_decode(MQTT_CONNACK, b, n, &used, &pr),
	    MQTT_OK);
	mqtt_props_encode(&out, &pr);
	wn = block_hex("11 00 00 00 01  1f 00 01 'r'  26 00 01 'z' 00 00 "
	    "26 00 01 'a' 00 00  26 00 01 'm' 00 00  2a 01", want,
	    sizeof(want));
	ck_assert_uint_eq(buf_pending(&out), wn);
	ck_assert_mem_eq(buf_data(&out), want, wn);
	ck_assert_uint_eq(mqtt_props_size(&pr), wn);
	roundtrip("order", MQTT_CONNACK, &pr, &out);
	buf_free(&out);
}
END_TEST

/* Properties built by hand: every single-valued field, and the list helpers. */
START_TEST(test_encode_built)
{
	struct mqtt_props	 pr;
	struct buf		 out = { 0 }, list = { 0 };
	uint8_t			 want[512];
	size_t			 wn;

	memset(&pr, 0, sizeof(pr));
	mqtt_props_encode(&out, &pr);
	ck_assert_uint_eq(buf_pending(&out), 1);
	ck_assert_uint_eq(buf_data(&out)[0], 0);
	ck_assert_uint_eq(mqtt_props_size(&pr), 1);

	pr.have = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT) |
	    MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY) |
	    MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS) |
	    MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA);
	pr.payload_format = 1;
	pr.message_expiry = 0x01020304;
	pr.topic_alias = 0x0506;
	pr.correlation_data.p = "\x00\x01";
	pr.correlation_data.len = 2;
	pr.max_qos = 1;		/* not in have: not written */
	mqtt_props_add_subid(&list, 300);
	mqtt_props_add_user(&list, "k", 1, "v", 1);
	mqtt_props_add_subid(&list, 1);
	mqtt_props_add_user(&list, "", 0, "", 0);
	pr.list = buf_data(&list);
	pr.list_len = buf_pending(&list);
	buf_reset(&out, 0);
	mqtt_props_encode(&out, &pr);
	wn = block_hex("01 01  02 01 02 03 04  09 00 02 00 01  0b ac 02  0b 01 "
	    "23 05 06  26 00 01 'k' 00 01 'v'  26 00 00 00 00", want,
	    sizeof(want));
	ck_assert_uint_eq(buf_pending(&out), wn);
	ck_assert_mem_eq(buf_data(&out), want, wn);
	roundtrip("built", MQTT_PUBLISH, &pr, &out);
	buf_free(&out);
	buf_free(&list);
}
END_TEST

/* Many user properties (a multi-byte property length), order kept. */
START_TEST(test_many_users)
{
	struct mqtt_props	 pr, back;
	struct mqtt_str		 k, v;
	struct buf		 list = { 0 }, out = { 0 };
	char			 key[16], val[16];
	size_t			 i, pos, used;
	int			 kl, vl;

	memset(&pr, 0, sizeof(pr));
	for (i = 0; i < 5000; i++) {
		kl = snprintf(key, sizeof(key), "key%zu", i);
		vl = snprintf(val, sizeof(val), "%zu", i * 7);
		mqtt_props_add_user(&list, key, (uint16_t)(i % 3 == 0 ? 0 : kl),
		    val, (uint16_t)(i % 5 == 0 ? 0 : vl));
	}
	pr.list = buf_data(&list);
	pr.list_len = buf_pending(&list);
	mqtt_props_encode(&out, &pr);
	ck_assert_uint_eq(mqtt_vbi_size((uint32_t)buf_pending(&list)), 3);
	check_err("many", mqtt_props_decode(MQTT_PUBLISH, buf_data(&out),
	    buf_pending(&out), &used, &back), MQTT_OK);
	ck_assert_uint_eq(used, buf_pending(&out));
	ck_assert_uint_eq(back.nuser_props, 5000);
	ck_assert(mqtt_props_equal(&pr, &back));
	for (i = 0, pos = 0; mqtt_props_user_next(&back, &pos, &k, &v); i++) {
		kl = snprintf(key, sizeof(key), "key%zu", i);
		vl = snprintf(val, sizeof(val), "%zu", i * 7);
		kl = i % 3 == 0 ? 0 : kl;
		vl = i % 5 == 0 ? 0 : vl;
		ck_assert_uint_eq(k.len, (size_t)kl);
		ck_assert_uint_eq(v.len, (size_t)vl);
		ck_assert(kl == 0 || memcmp(k.p, key, (size_t)kl) == 0);
		ck_assert(vl == 0 || memcmp(v.p, val, (size_t)vl) == 0);
	}
	ck_assert_uint_eq(i, 5000);
	/* A different order is not equal. */
	back.list = NULL;
	back.list_len = 0;
	ck_assert(!mqtt_props_equal(&pr, &back));
	buf_free(&list);
	buf_free(&out);
}
END_TEST

/* The bytes of the valid property at p (test-side, from the types). */
static size_t
prop_len(const uint8_t *p)
{
	size_t	 n;

	switch (mqtt_prop_type(p[0])) {
	case MQTT_PT_BYTE:
		return 2;
	case MQTT_PT_U16:
		return 3;
	case MQTT_PT_U32:
		return 5;
	case MQTT_PT_VBI:
		for (n = 1; p[n] & 0x80; n++)
			;
		return n + 1;
	case MQTT_PT_UTF8:
	case MQTT_PT_BINARY:
		return 3 + (size_t)(p[1] << 8 | p[2]);
	case MQTT_PT_PAIR:
		n = 3 + (size_t)(p[1] << 8 | p[2]);
		return n + 2 + (size_t)(p[n] << 8 | p[n + 1]);
	default:
		ck_abort_msg("unknown id %02x", p[0]);
	}
	return 0;
}

/*
 * Truncation at every cut point: the packet ending early (Malformed), and
 * a property length cut at each byte (Malformed unless it falls between
 * two properties, where what is left is a shorter valid block).
 */
START_TEST(test_truncated)
{
	static const struct {
		uint8_t		 packet;
		const char	*hex;
	} blocks[] = {
		{ MQTT_CONNACK, CONNACK_ALL },
		{ MQTT_PUBLISH, PUBLISH_ALL },
	};
	struct mqtt_props	 pr;
	uint8_t			 props[512], b[520];
	size_t			 n, bn, cut, used, t, pos;
	uint32_t		 at[64];
	size_t			 nat;
	enum mqtt_err		 e;
	char			 name[64];

	for (t = 0; t < FMQ_NELEM(blocks); t++) {
		n = unhex(blocks[t].hex, props, sizeof(props));
		bn = block(props, n, b);
		for (cut = 0; cut < bn; cut++) {
			snprintf(name, sizeof(name), "%zu: packet cut at %zu",
			    t, cut);
			check_err(name, mqtt_props_decode(blocks[t].packet, b,
			    cut, &used, &pr), MQTT_ERR_MALFORMED);
		}
		/* The property boundaries, walked here by type. */
		nat = 0;
		for (pos = 0; pos < n; pos += prop_len(props + pos))
			at[nat++] = (uint32_t)pos;
		ck_assert_uint_eq(pos, n);
		ck_assert_uint_ge(nat, 10);
		for (cut = 0; cut <= n; cut++) {
			bn = block(props, cut, b);
			e = mqtt_props_decode(blocks[t].packet, b, bn, &used,
			    &pr);
			for (pos = 0; pos < nat && at[pos] != cut; pos++)
				;
			snprintf(name, sizeof(name), "%zu: length cut at %zu",
			    t, cut);
			check_err(name, e, pos < nat || cut == n ? MQTT_OK :
			    MQTT_ERR_MALFORMED);
		}
	}
}
END_TEST

/* ---- reason codes (2.4) ------------------------------------------------- */

static const struct reason_case {
	uint8_t		 code;
	const char	*name;
	uint32_t	 packets;
} reason_cases[] = {
	{ 0x00, "Success", CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP |
	    UNSUBACK | AUTH | DISCONNECT | SUBACK },
	{ 0x01, "Granted QoS 1", SUBACK },
	{ 0x02, "Granted QoS 2", SUBACK },
	{ 0x04, "Disconnect with Will Message", DISCONNECT },
	{ 0x10, "No matching subscribers", PUBACK | PUBREC },
	{ 0x11, "No subscription existed", UNSUBACK },
	{ 0x18, "Continue authentication", AUTH },
	{ 0x19, "Re-authenticate", AUTH },
	{ 0x80, "Unspecified error", CONNACK | PUBACK | PUBREC | SUBACK |
	    UNSUBACK | DISCONNECT },
	{ 0x81, "Malformed Packet", CONNACK | DISCONNECT },
	{ 0x82, "Protocol Error", CONNACK | DISCONNECT },
	{ 0x83, "Implementation specific error", CONNACK | PUBACK | PUBREC |
	    SUBACK | UNSUBACK | DISCONNECT },
	{ 0x84, "Unsupported Protocol Version", CONNACK },
	{ 0x85, "Client Identifier not valid", CONNACK },
	{ 0x86, "Bad User Name or Password", CONNACK },
	{ 0x87, "Not authorized", CONNACK | PUBACK | PUBREC | SUBACK |
	    UNSUBACK | DISCONNECT },
	{ 0x88, "Server unavailable", CONNACK },
	{ 0x89, "Server busy", CONNACK | DISCONNECT },
	{ 0x8a, "Banned", CONNACK },
	{ 0x8b, "Server shutting down", DISCONNECT },
	{ 0x8c, "Bad authentication method", CONNACK | DISCONNECT },
	{ 0x8d, "Keep Alive timeout", DISCONNECT },
	{ 0x8e, "Session taken over", DISCONNECT },
	{ 0x8f, "Topic Filter invalid", SUBACK | UNSUBACK | DISCONNECT },
	{ 0x90, "Topic Name invalid", CONNACK | PUBACK | PUBREC | DISCONNECT },
	{ 0x91, "Packet Identifier in use", PUBACK | PUBREC | SUBACK |
	    UNSUBACK },
	{ 0x92, "Packet Identifier not found", PUBREL | PUBCOMP },
	{ 0x93, "Receive Maximum exceeded", DISCONNECT },
	{ 0x94, "Topic Alias invalid", DISCONNECT },
	{ 0x95, "Packet too large", CONNACK | DISCONNECT },
	{ 0x96, "Message rate too high", DISCONNECT },
	{ 0x97, "Quota exceeded", CONNACK | PUBACK | PUBREC | SUBACK |
	    DISCONNECT },
	{ 0x98, "Administrative action", DISCONNECT },
	{ 0x99, "Payload format invalid", CONNACK | PUBACK | PUBREC |
	    DISCONNECT },
	{ 0x9a, "Retain not supported", CONNACK | DISCONNECT },
	{ 0x9b, "QoS not supported", CONNACK | DISCONNECT },
	{ 0x9c, "Use another server", CONNACK | DISCONNECT },
	{ 0x9d, "Server moved", CONNACK | DISCONNECT },
	{ 0x9e, "Shared Subscriptions not supported", SUBACK | DISCONNECT },
	{ 0x9f, "Connection rate exceeded", CONNACK | DISCONNECT },
	{ 0xa0, "Maximum connect time", DISCONNECT },
	{ 0xa1, "Subscription Identifiers not supported", SUBACK | DISCONNECT },
	{ 0xa2, "Wildcard Subscriptions not supported", SUBACK | DISCONNECT },
};

/* Every code of 0 to 255: its name and the packets it is valid in. */
START_TEST(test_reasons)
{
	const struct reason_case	*c;
	unsigned int			 code, t, i;
	uint32_t			 packets;

	for (code = 0; code < 256; code++) {
		c = NULL;
		for (i = 0; i < FMQ_NELEM(reason_cases); i++)
			if (reason_cases[i].code == code)
				c = &reason_cases[i];
		ck_assert_str_eq(mqtt_reason_name((uint8_t)code),
		    c != NULL ? c->name : "unknown");
		packets = c != NULL ? c->packets : 0;
		for (t = 0; t < 20; t++)
			ck_assert_msg(mqtt_reason_valid((uint8_t)t,
			    (uint8_t)code) == ((packets & B(t)) != 0),
			    "code %02x in packet %u", code, t);
	}
	ck_assert_str_eq(mqtt_reason_name_in(MQTT_DISCONNECT, 0),
	    "Normal disconnection");
	ck_assert_str_eq(mqtt_reason_name_in(MQTT_SUBACK, 0), "Granted QoS 0");
	ck_assert_str_eq(mqtt_reason_name_in(MQTT_PUBACK, 0), "Success");
	ck_assert_str_eq(mqtt_reason_name_in(MQTT_PUBACK, 0x8b),
	    "Server shutting down");
	ck_assert_str_eq(mqtt_reason_name_in(99, 0x87), "Not authorized");
	ck_assert_str_eq(mqtt_reason_name_in(MQTT_CONNACK, 0x03), "unknown");
	ck_assert_ptr_null(mqtt_prop_name(0));
	ck_assert_ptr_null(mqtt_prop_name(0x2b));
	ck_assert_ptr_null(mqtt_prop_name(0xff));
	ck_assert_int_eq(mqtt_prop_type(0x04), MQTT_PT_NONE);
	ck_assert_uint_eq(mqtt_prop_allowed(0x80), 0);
}
END_TEST

static void
add_loop(Suite *s, const char *name, const TTest *test, size_t rows)
{
	TCase	*tc = tcase_create(name);

	tcase_add_loop_test(tc, test, 0, (int)rows);
	suite_add_tcase(s, tc);
}

static void
add_one(Suite *s, const char *name, const TTest *test)
{
	TCase	*tc = tcase_create(name);

	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

static Suite *
props_suite(void)
{
	Suite	*s = suite_create("props");

	add_loop(s, "vbi_decode", test_vbi_decode, FMQ_NELEM(vbi_cases));
	add_one(s, "vbi_roundtrip", test_vbi_roundtrip);
	add_loop(s, "ids", test_ids, FMQ_NELEM(id_cases));
	add_loop(s, "duplicates", test_duplicates, FMQ_NELEM(id_cases));
	add_loop(s, "decode", test_decode, FMQ_NELEM(decode_cases));
	add_loop(s, "lengths", test_lengths, FMQ_NELEM(length_cases));
	add_one(s, "fields", test_fields);
	add_one(s, "encode_order", test_encode_order);
	add_one(s, "encode_built", test_encode_built);
	add_one(s, "many_users", test_many_users);
	add_one(s, "truncated", test_truncated);
	add_one(s, "reasons", test_reasons);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(props_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
