/* Unit tests of the MQTT codec (broker/packet.c). */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "broker/packet.h"
#include "buf.h"
#include "util.h"

#define MAX_PACKET	(1024 * 1024)

/*
 * Packets in the tables are written as hex bytes with ASCII text in single
 * quotes: "30 05 00 03 'a/b'" is a PUBLISH to a/b.
 */
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

/* An expected string or binary field; p NULL when the field is absent. */
struct want {
	const char	*p;
	size_t		 len;
};

#define S(x)	{ (x), sizeof(x) - 1 }
#define NONE	{ NULL, 0 }

static void
check_str(const char *name, const char *field, const struct mqtt_str *got,
    const struct want *w)
{
	const char	*p = w->p != NULL ? w->p : "";

	ck_assert_msg(got->len == w->len && (w->len == 0 ||
	    memcmp(got->p, p, w->len) == 0), "%s: %s is \"%.*s\" (%u bytes), "
	    "want \"%s\" (%zu bytes)", name, field, (int)got->len,
	    got->len > 0 ? got->p : "", got->len, p, w->len);
}

/* Frames b, which must hold exactly one whole packet; returns its body. */
static const uint8_t *
frame_one(const char *name, const uint8_t *b, size_t n, struct mqtt_frame *f)
{
	enum mqtt_err	 e;

	e = mqtt_frame(b, n, MAX_PACKET, f);
	ck_assert_msg(e == MQTT_OK, "%s: frame: %s", name, mqtt_err_name(e));
	ck_assert_msg(f->header_len + f->body_len == n, "%s: frame of %zu+%zu "
	    "bytes in a packet of %zu", name, f->header_len, f->body_len, n);
	ck_assert_uint_eq(f->type, b[0] >> 4);
	ck_assert_uint_eq(f->flags, b[0] & 15);
	return b + f->header_len;
}

/* Fails unless the result of a decoder is the expected one. */
static void
check_err(const char *name, enum mqtt_err got, enum mqtt_err want)
{
	ck_assert_msg(got == want, "%s: got %s, want %s", name,
	    mqtt_err_name(got), mqtt_err_name(want));
}

/* Fails unless b holds the packet written as hex in the tables' notation. */
static void
check_bytes(const char *name, const struct buf *b, const char *hex)
{
	uint8_t	 want[512];
	size_t	 n, i;

	n = unhex(hex, want, sizeof(want));
	ck_assert_msg(buf_pending(b) == n, "%s: %zu bytes, want %zu", name,
	    buf_pending(b), n);
	for (i = 0; i < n; i++)
		ck_assert_msg(buf_data(b)[i] == want[i], "%s: byte %zu is "
		    "%02x, want %02x", name, i, buf_data(b)[i], want[i]);
}

/*
 * Framing: the fixed header alone decides. avail zero bytes of body follow
 * the header bytes (mapped, not touched, so 256 MB costs nothing).
 */
static const struct frame_case {
	const char	*name;
	const char	*hex;
	size_t		 avail;
	size_t		 max;
	enum mqtt_err	 err;
	size_t		 header_len, body_len;
} frame_cases[] = {
	{ "empty buffer", "", 0, MAX_PACKET, MQTT_NEED_MORE, 0, 0 },
	{ "first byte only", "30", 0, MAX_PACKET, MQTT_NEED_MORE, 0, 0 },
	{ "PINGREQ", "c0 00", 0, MAX_PACKET, MQTT_OK, 2, 0 },
	{ "two packets: the first", "c0 00 e0 00", 0, MAX_PACKET, MQTT_OK,
	    2, 0 },
	{ "type 0", "00 00", 0, MAX_PACKET, MQTT_ERR_PROTOCOL, 0, 0 },
	{ "type 0, first byte only", "0f", 0, MAX_PACKET, MQTT_ERR_PROTOCOL,
	    0, 0 },
	{ "type 15 (AUTH)", "f0 00", 0, MAX_PACKET, MQTT_ERR_PROTOCOL, 0, 0 },
	{ "length 0", "30 00", 0, MAX_PACKET, MQTT_OK, 2, 0 },
	{ "length 127", "30 7f", 127, MAX_PACKET, MQTT_OK, 2, 127 },
	{ "length 127, one short", "30 7f", 126, MAX_PACKET, MQTT_NEED_MORE,
	    0, 0 },
	{ "length 128", "30 80 01", 128, MAX_PACKET, MQTT_OK, 3, 128 },
	{ "length 128, header cut", "30 80", 0, MAX_PACKET, MQTT_NEED_MORE,
	    0, 0 },
	{ "length 16383", "30 ff 7f", 16383, MAX_PACKET, MQTT_OK, 3, 16383 },
	{ "length 16384", "30 80 80 01", 16384, MAX_PACKET, MQTT_OK, 4, 16384 },
	{ "length 2097151", "30 ff ff 7f", 2097151, 4 * MAX_PACKET, MQTT_OK, 4,
	    2097151 },
	{ "length 2097152", "30 80 80 80 01", 2097152, 4 * MAX_PACKET, MQTT_OK,
	    5, 2097152 },
	{ "length 268435455", "30 ff ff ff 7f", MQTT_MAX_REMAINING,
	    MQTT_MAX_REMAINING + 5, MQTT_OK, 5, MQTT_MAX_REMAINING },
	{ "length 268435455, body not here", "30 ff ff ff 7f", 1000,
	    MQTT_MAX_REMAINING + 5, MQTT_NEED_MORE, 0, 0 },
	{ "length 268435455 above max", "30 ff ff ff 7f", 0, MAX_PACKET,
	    MQTT_ERR_TOO_LARGE, 0, 0 },
	{ "256 MB prefix, small max", "30 ff ff ff 7f", 0, 1024,
	    MQTT_ERR_TOO_LARGE, 0, 0 },
	{ "2 MB prefix, 1 MB max", "30 80 80 80 01", 0, MAX_PACKET,
	    MQTT_ERR_TOO_LARGE, 0, 0 },
	{ "exactly max", "30 7e", 126, 128, MQTT_OK, 2, 126 },
	{ "one above max", "30 7f", 0, 128, MQTT_ERR_TOO_LARGE, 0, 0 },
	{ "5-byte length", "30 ff ff ff ff 01", 0, MAX_PACKET,
	    MQTT_ERR_MALFORMED, 0, 0 },
	{ "5th length byte announced", "30 80 80 80 80", 0, MAX_PACKET,
	    MQTT_ERR_MALFORMED, 0, 0 },
	{ "4 length bytes, cut", "30 80 80 80", 0, MAX_PACKET, MQTT_NEED_MORE,
	    0, 0 },
};

START_TEST(test_frame)
{
	const struct frame_case	*c = &frame_cases[_i];
	struct mqtt_frame	 f;
	uint8_t			 small[64], *b = small;
	size_t			 n, total;
	enum mqtt_err		 e;

	n = unhex(c->hex, small, sizeof(small));
	total = n + c->avail;
	if (total > sizeof(small)) {
		b = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ck_assert_ptr_ne(b, MAP_FAILED);
		memcpy(b, small, n);
	} else
		memset(small + n, 0, c->avail);
	e = mqtt_frame(b, total, c->max, &f);
	check_err(c->name, e, c->err);
	if (e == MQTT_OK) {
		ck_assert_uint_eq(f.type, b[0] >> 4);
		ck_assert_uint_eq(f.flags, b[0] & 15);
		ck_assert_uint_eq(f.header_len, c->header_len);
		ck_assert_uint_eq(f.body_len, c->body_len);
	}
	if (b != small)
		munmap(b, total);
}
END_TEST

/* Valid packets of every type, cut at every length. */
static const char *const whole_packets[] = {
	("10 1e 00 04 'MQTT' 04 ee 00 3c 00 01 'c' 00 03 'w/t' 00 03 'bye' "
	    "00 01 'u' 00 02 'pw'"),
	"20 02 00 00",
	"30 0a 00 03 'a/b' 'hello'",
	"32 0c 00 03 'a/b' 00 07 'hello'",
	"3d 07 00 03 'a/b' 12 34",
	"40 02 00 01",
	"50 02 00 01",
	"62 02 00 01",
	"70 02 00 01",
	"82 12 00 0a 00 03 'a/#' 00 00 03 '+/b' 01 00 01 'c' 02",
	"90 03 00 0a 01",
	"a2 07 00 02 00 03 'a/b'",
	"b0 02 00 02",
	"c0 00",
	"d0 00",
	"e0 00",
};

START_TEST(test_truncated)
{
	struct mqtt_frame	 f;
	uint8_t			 b[512];
	size_t			 n, i;

	n = unhex(whole_packets[_i], b, sizeof(b));
	for (i = 0; i < n; i++)
		ck_assert_msg(mqtt_frame(b, i, MAX_PACKET, &f) ==
		    MQTT_NEED_MORE, "%s cut to %zu bytes", whole_packets[_i],
		    i);
	frame_one(whole_packets[_i], b, n, &f);
}
END_TEST

/* A packet with a 2-byte and one with a 3-byte length, cut everywhere. */
START_TEST(test_truncated_long)
{
	static const size_t	 sizes[] = { 200, 20000 };
	struct mqtt_frame	 f;
	struct buf		 b = { 0 };
	uint8_t			*payload;
	size_t			 i, k, n;

	for (k = 0; k < FMQ_NELEM(sizes); k++) {
		payload = xcalloc(1, sizes[k]);
		buf_reset(&b, 0);
		mqtt_encode_publish(&b, "t", 1, payload, sizes[k], 1, 0, 0, 1);
		n = buf_pending(&b);
		for (i = 0; i < n; i++)
			ck_assert_int_eq(mqtt_frame(buf_data(&b), i, MAX_PACKET,
			    &f), MQTT_NEED_MORE);
		frame_one("long", buf_data(&b), n, &f);
		free(payload);
	}
	buf_free(&b);
}
END_TEST

static const struct connect_case {
	const char	*name;
	const char	*hex;
	enum mqtt_err	 err;
	uint8_t		 level;
	int		 clean;
	uint16_t	 keepalive;
	struct want	 client_id;
	uint8_t		 will_qos;
	int		 will_retain;
	struct want	 will_topic;	/* NONE: no will */
	struct want	 will_payload;
	struct want	 username;	/* NONE: no username */
	struct want	 password;	/* NONE: no password */
} connect_cases[] = {
	{ "3.1.1 minimal", "10 10 00 04 'MQTT' 04 02 00 3c 00 04 'abcd'",
	    MQTT_OK, 4, 1, 60, S("abcd"), 0, 0, NONE, NONE, NONE, NONE },
	{ "3.1 MQIsdp level 3", "10 12 00 06 'MQIsdp' 03 02 00 3c 00 04 'abcd'",
	    MQTT_OK, 3, 1, 60, S("abcd"), 0, 0, NONE, NONE, NONE, NONE },
	{ "empty client id", "10 0c 00 04 'MQTT' 04 02 00 00 00 00",
	    MQTT_OK, 4, 1, 0, S(""), 0, 0, NONE, NONE, NONE, NONE },
	{ "no clean session, keepalive 65535",
	    "10 0d 00 04 'MQTT' 04 00 ff ff 00 01 'c'",
	    MQTT_OK, 4, 0, 65535, S("c"), 0, 0, NONE, NONE, NONE, NONE },
	{ "will QoS 1 retained, username, password",
	    "10 1e 00 04 'MQTT' 04 ee 00 3c 00 01 'c' 00 03 'w/t' 00 03 'bye' "
	    "00 01 'u' 00 02 'pw'",
	    MQTT_OK, 4, 1, 60, S("c"), 1, 1, S("w/t"), S("bye"), S("u"),
	    S("pw") },
	{ "will QoS 2, empty will payload",
	    "10 12 00 04 'MQTT' 04 16 00 3c 00 01 'c' 00 01 'a' 00 00",
	    MQTT_OK, 4, 1, 60, S("c"), 2, 0, S("a"), S(""), NONE, NONE },
	{ "will payload is binary",
	    "10 14 00 04 'MQTT' 04 26 00 3c 00 01 'c' 00 01 't' 00 02 00 80",
	    MQTT_OK, 4, 1, 60, S("c"), 0, 1, S("t"), S("\0\x80"), NONE, NONE },
	{ "username only", "10 10 00 04 'MQTT' 04 82 00 3c 00 01 'c' 00 01 'u'",
	    MQTT_OK, 4, 1, 60, S("c"), 0, 0, NONE, NONE, S("u"), NONE },
	{ "password is binary",
	    "10 15 00 04 'MQTT' 04 c2 00 3c 00 01 'c' 00 01 'u' 00 03 00 ff 00",
	    MQTT_OK, 4, 1, 60, S("c"), 0, 0, NONE, NONE, S("u"),
	    S("\0\xff\0") },
	{ "UTF-8 client id", "10 0e 00 04 'MQTT' 04 02 00 3c 00 02 c3 a9",
	    MQTT_OK, 4, 1, 60, S("\xc3\xa9"), 0, 0, NONE, NONE, NONE, NONE },

	{ "fixed-header flags 1",
	    "11 10 00 04 'MQTT' 04 02 00 3c 00 04 'abcd'", MQTT_ERR_PROTOCOL },
	{ "fixed-header flags 2",
	    "12 10 00 04 'MQTT' 04 02 00 3c 00 04 'abcd'", MQTT_ERR_PROTOCOL },

	{ "MQTT level 3", "10 10 00 04 'MQTT' 03 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "MQTT level 5", "10 10 00 04 'MQTT' 05 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "MQTT level 6", "10 10 00 04 'MQTT' 06 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "MQTT level 0", "10 10 00 04 'MQTT' 00 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "MQIsdp level 4", "10 12 00 06 'MQIsdp' 04 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "MQTX", "10 10 00 04 'MQTX' 04 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "mqtt in lower case", "10 10 00 04 'mqtt' 04 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "empty protocol name", "10 0c 00 00 04 02 00 3c 00 04 'abcd'",
	    MQTT_ERR_VERSION },
	{ "5.0 CONNECT (properties follow)",
	    "10 0b 00 04 'MQTT' 05 02 00 3c 00", MQTT_ERR_VERSION },

	{ "empty body", "10 00", MQTT_ERR_MALFORMED },
	{ "protocol name cut", "10 04 00 04 'MQ'", MQTT_ERR_MALFORMED },
	{ "no level", "10 06 00 04 'MQTT'", MQTT_ERR_MALFORMED },
	{ "no connect flags", "10 07 00 04 'MQTT' 04", MQTT_ERR_MALFORMED },
	{ "no keepalive", "10 08 00 04 'MQTT' 04 02", MQTT_ERR_MALFORMED },
	{ "keepalive cut", "10 09 00 04 'MQTT' 04 02 00", MQTT_ERR_MALFORMED },
	{ "no client id", "10 0a 00 04 'MQTT' 04 02 00 3c",
	    MQTT_ERR_MALFORMED },
	{ "client id cut", "10 0e 00 04 'MQTT' 04 02 00 3c 00 05 'ab'",
	    MQTT_ERR_MALFORMED },
	{ "trailing byte", "10 11 00 04 'MQTT' 04 02 00 3c 00 04 'abcd' 00",
	    MQTT_ERR_MALFORMED },
	{ "trailing bytes after password",
	    "10 16 00 04 'MQTT' 04 c2 00 3c 00 01 'c' 00 01 'u' 00 02 'pw' "
	    "'xx'",
	    MQTT_ERR_MALFORMED },
	{ "will flag, no will topic",
	    "10 0d 00 04 'MQTT' 04 06 00 3c 00 01 'c'",
	    MQTT_ERR_MALFORMED },
	{ "will topic, no will payload",
	    "10 10 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 01 'a'",
	    MQTT_ERR_MALFORMED },
	{ "will payload cut",
	    "10 12 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 01 'a' 00 05",
	    MQTT_ERR_MALFORMED },
	{ "username flag, no username",
	    "10 0d 00 04 'MQTT' 04 82 00 3c 00 01 'c'", MQTT_ERR_MALFORMED },
	{ "password cut",
	    "10 13 00 04 'MQTT' 04 c2 00 3c 00 01 'c' 00 01 'u' 00 05 'p'",
	    MQTT_ERR_MALFORMED },

	{ "reserved connect flag",
	    "10 10 00 04 'MQTT' 04 03 00 3c 00 04 'abcd'",
	    MQTT_ERR_PROTOCOL },
	{ "will QoS 1 without will flag",
	    "10 10 00 04 'MQTT' 04 0a 00 3c 00 04 'abcd'", MQTT_ERR_PROTOCOL },
	{ "will QoS 2 without will flag",
	    "10 10 00 04 'MQTT' 04 12 00 3c 00 04 'abcd'", MQTT_ERR_PROTOCOL },
	{ "will retain without will flag",
	    "10 10 00 04 'MQTT' 04 22 00 3c 00 04 'abcd'", MQTT_ERR_PROTOCOL },
	{ "will QoS 3",
	    "10 12 00 04 'MQTT' 04 1e 00 3c 00 01 'c' 00 01 'a' 00 00",
	    MQTT_ERR_PROTOCOL },
	{ "password without username",
	    "10 11 00 04 'MQTT' 04 42 00 3c 00 01 'c' 00 02 'pw'",
	    MQTT_ERR_PROTOCOL },
	{ "password without username, 3.1",
	    "10 13 00 06 'MQIsdp' 03 42 00 3c 00 01 'c' 00 02 'pw'",
	    MQTT_ERR_PROTOCOL },
	{ "will topic with +",
	    "10 14 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 03 'a/+' 00 00",
	    MQTT_ERR_PROTOCOL },
	{ "will topic with #",
	    "10 14 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 03 'a/#' 00 00",
	    MQTT_ERR_PROTOCOL },
	{ "empty will topic",
	    "10 11 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 00 00 00",
	    MQTT_ERR_PROTOCOL },

	{ "client id: invalid UTF-8",
	    "10 0e 00 04 'MQTT' 04 02 00 3c 00 02 c3 28", MQTT_ERR_MALFORMED },
	{ "client id: U+0000",
	    "10 0f 00 04 'MQTT' 04 02 00 3c 00 03 'a' 00 'b'",
	    MQTT_ERR_MALFORMED },
	{ "client id: surrogate U+D800",
	    "10 0f 00 04 'MQTT' 04 02 00 3c 00 03 ed a0 80",
	    MQTT_ERR_MALFORMED },
	{ "client id: overlong '/'",
	    "10 0e 00 04 'MQTT' 04 02 00 3c 00 02 c0 af", MQTT_ERR_MALFORMED },
	{ "client id: overlong 3 bytes",
	    "10 0f 00 04 'MQTT' 04 02 00 3c 00 03 e0 80 af",
	    MQTT_ERR_MALFORMED },
	{ "will topic: invalid UTF-8",
	    "10 12 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 01 ff 00 00",
	    MQTT_ERR_MALFORMED },
	{ "will topic: U+0000",
	    "10 14 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 03 'a' 00 'b' 00 00",
	    MQTT_ERR_MALFORMED },
	{ "username: invalid UTF-8",
	    "10 10 00 04 'MQTT' 04 82 00 3c 00 01 'c' 00 01 80",
	    MQTT_ERR_MALFORMED },
	{ "username: surrogate U+DC00",
	    "10 12 00 04 'MQTT' 04 82 00 3c 00 01 'c' 00 03 ed b0 80",
	    MQTT_ERR_MALFORMED },
};

START_TEST(test_connect)
{
	const struct connect_case	*c = &connect_cases[_i];
	struct mqtt_frame		 f;
	struct mqtt_connect		 k;
	const uint8_t			*body;
	uint8_t				 b[512];
	size_t				 n;

	n = unhex(c->hex, b, sizeof(b));
	body = frame_one(c->name, b, n, &f);
	check_err(c->name, mqtt_decode_connect(&f, body, &k), c->err);
	if (c->err != MQTT_OK)
		return;
	ck_assert_uint_eq(k.level, c->level);
	ck_assert_int_eq(k.clean, c->clean);
	ck_assert_uint_eq(k.keepalive, c->keepalive);
	check_str(c->name, "client id", &k.client_id, &c->client_id);
	ck_assert_int_eq(k.has_will, c->will_topic.p != NULL);
	ck_assert_uint_eq(k.will_qos, c->will_qos);
	ck_assert_int_eq(k.will_retain, c->will_retain);
	check_str(c->name, "will topic", &k.will_topic, &c->will_topic);
	check_str(c->name, "will payload", &k.will_payload, &c->will_payload);
	ck_assert_int_eq(k.has_username, c->username.p != NULL);
	check_str(c->name, "username", &k.username, &c->username);
	ck_assert_int_eq(k.has_password, c->password.p != NULL);
	check_str(c->name, "password", &k.password, &c->password);
}
END_TEST

static const struct publish_case {
	const char	*name;
	const char	*hex;
	enum mqtt_err	 err;
	struct want	 topic;
	uint8_t		 qos;
	int		 dup, retain;
	uint16_t	 id;
	struct want	 payload;
} publish_cases[] = {
	{ "QoS 0", "30 0a 00 03 'a/b' 'hello'", MQTT_OK, S("a/b"), 0, 0, 0, 0,
	    S("hello") },
	{ "QoS 0, empty payload", "30 05 00 03 'a/b'", MQTT_OK, S("a/b"), 0, 0,
	    0, 0, S("") },
	{ "QoS 0 retained", "31 06 00 01 't' 'xyz'", MQTT_OK, S("t"), 0, 0, 1,
	    0, S("xyz") },
	{ "QoS 1", "32 0c 00 03 'a/b' 00 07 'hello'", MQTT_OK, S("a/b"), 1, 0,
	    0, 7, S("hello") },
	{ "QoS 1 retained, id 65535, empty payload", "33 07 00 03 'a/b' ff ff",
	    MQTT_OK, S("a/b"), 1, 0, 1, 65535, S("") },
	{ "QoS 1 dup", "3a 08 00 03 'a/b' 00 01 'x'", MQTT_OK, S("a/b"), 1, 1,
	    0, 1, S("x") },
	{ "QoS 2 dup retained", "3d 07 00 03 'a/b' 12 34", MQTT_OK, S("a/b"), 2,
	    1, 1, 0x1234, S("") },
	{ "topic '/'", "30 03 00 01 '/'", MQTT_OK, S("/"), 0, 0, 0, 0, S("") },
	{ "long ASCII topic", "30 1c 00 1a 'sensors/boiler/temperature'",
	    MQTT_OK, S("sensors/boiler/temperature"), 0, 0, 0, 0, S("") },
	{ "2- and 3-byte UTF-8 topic", "30 07 00 05 c3 a9 e2 82 ac", MQTT_OK,
	    S("\xc3\xa9\xe2\x82\xac"), 0, 0, 0, 0, S("") },
	{ "4-byte UTF-8 topic, U+10FFFF", "30 0a 00 08 f0 9f 98 80 f4 8f bf bf",
	    MQTT_OK, S("\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"), 0, 0, 0, 0, S("") },
	{ "binary payload", "30 06 00 01 'a' 00 ff 00", MQTT_OK, S("a"), 0, 0,
	    0, 0, S("\0\xff\0") },

	{ "QoS 3", "36 05 00 03 'a/b'", MQTT_ERR_PROTOCOL },
	{ "QoS 3 dup retained", "3f 07 00 03 'a/b' 00 01", MQTT_ERR_PROTOCOL },
	{ "dup with QoS 0", "38 05 00 03 'a/b'", MQTT_ERR_PROTOCOL },
	{ "QoS 1, packet id 0", "32 07 00 03 'a/b' 00 00", MQTT_ERR_PROTOCOL },
	{ "QoS 2, packet id 0", "34 07 00 03 'a/b' 00 00", MQTT_ERR_PROTOCOL },
	{ "topic a/+", "30 05 00 03 'a/+'", MQTT_ERR_PROTOCOL },
	{ "topic a/#", "30 05 00 03 'a/#'", MQTT_ERR_PROTOCOL },
	{ "topic #", "30 03 00 01 '#'", MQTT_ERR_PROTOCOL },
	{ "topic a+b", "30 05 00 03 'a+b'", MQTT_ERR_PROTOCOL },
	{ "empty topic", "30 02 00 00", MQTT_ERR_PROTOCOL },
	{ "empty topic with payload", "30 04 00 00 'hi'", MQTT_ERR_PROTOCOL },

	{ "empty body", "30 00", MQTT_ERR_MALFORMED },
	{ "one byte of topic length", "30 01 00", MQTT_ERR_MALFORMED },
	{ "topic longer than body", "30 04 00 05 'ab'", MQTT_ERR_MALFORMED },
	{ "QoS 1, no packet id", "32 05 00 03 'a/b'", MQTT_ERR_MALFORMED },
	{ "QoS 2, half a packet id", "34 06 00 03 'a/b' 00",
	    MQTT_ERR_MALFORMED },
	{ "topic: lone continuation byte", "30 04 00 02 'a' 80",
	    MQTT_ERR_MALFORMED },
	{ "topic: bad continuation", "30 04 00 02 c3 28", MQTT_ERR_MALFORMED },
	{ "topic: U+0000", "30 05 00 03 'a' 00 'b'", MQTT_ERR_MALFORMED },
	{ "topic: U+0000 after 8 ASCII bytes", "30 0d 00 0b 'abcdefgh' 00 'ij'",
	    MQTT_ERR_MALFORMED },
	{ "topic: surrogate U+D800", "30 05 00 03 ed a0 80",
	    MQTT_ERR_MALFORMED },
	{ "topic: surrogate U+DFFF", "30 05 00 03 ed bf bf",
	    MQTT_ERR_MALFORMED },
	{ "topic: overlong 2 bytes", "30 04 00 02 c0 af", MQTT_ERR_MALFORMED },
	{ "topic: overlong 3 bytes", "30 05 00 03 e0 80 af",
	    MQTT_ERR_MALFORMED },
	{ "topic: overlong 4 bytes", "30 06 00 04 f0 80 80 af",
	    MQTT_ERR_MALFORMED },
	{ "topic: U+110000", "30 06 00 04 f4 90 80 80", MQTT_ERR_MALFORMED },
	{ "topic: lead byte f5", "30 06 00 04 f5 80 80 80",
	    MQTT_ERR_MALFORMED },
	{ "topic: sequence cut", "30 04 00 02 e2 82", MQTT_ERR_MALFORMED },
	{ "topic: non-ASCII after 8 ASCII bytes", "30 0b 00 09 'abcdefgh' ff",
	    MQTT_ERR_MALFORMED },

	{ "not a PUBLISH", "40 02 00 01", MQTT_ERR_PROTOCOL },
};

START_TEST(test_publish)
{
	const struct publish_case	*c = &publish_cases[_i];
	struct mqtt_frame		 f;
	struct mqtt_publish		 p;
	struct mqtt_str			 payload;
	const uint8_t			*body;
	uint8_t				 b[512];
	size_t				 n;

	n = unhex(c->hex, b, sizeof(b));
	body = frame_one(c->name, b, n, &f);
	check_err(c->name, mqtt_decode_publish(&f, body, &p), c->err);
	if (c->err != MQTT_OK)
		return;
	check_str(c->name, "topic", &p.topic, &c->topic);
	ck_assert_uint_eq(p.qos, c->qos);
	ck_assert_int_eq(p.dup, c->dup);
	ck_assert_int_eq(p.retain, c->retain);
	ck_assert_uint_eq(p.id, c->id);
	ck_assert_ptr_eq(p.payload + p.payload_len, b + n);
	payload.p = (const char *)p.payload;
	payload.len = (uint16_t)p.payload_len;
	check_str(c->name, "payload", &payload, &c->payload);
}
END_TEST

static const struct ack_case {
	const char	*name;
	const char	*hex;
	enum mqtt_err	 err;
	uint16_t	 id;
} ack_cases[] = {
	{ "PUBACK", "40 02 00 01", MQTT_OK, 1 },
	{ "PUBREC", "50 02 ff ff", MQTT_OK, 65535 },
	{ "PUBREL", "62 02 12 34", MQTT_OK, 0x1234 },
	{ "PUBCOMP", "70 02 00 07", MQTT_OK, 7 },
	{ "UNSUBACK", "b0 02 01 00", MQTT_OK, 256 },

	{ "PUBREL with flags 0", "60 02 00 01", MQTT_ERR_PROTOCOL },
	{ "PUBREL with flags 3", "63 02 00 01", MQTT_ERR_PROTOCOL },
	{ "PUBACK with flags 2", "42 02 00 01", MQTT_ERR_PROTOCOL },
	{ "PUBREC with flags 8", "58 02 00 01", MQTT_ERR_PROTOCOL },
	{ "PUBCOMP with flags 1", "71 02 00 01", MQTT_ERR_PROTOCOL },
	{ "UNSUBACK with flags 2", "b2 02 00 01", MQTT_ERR_PROTOCOL },
	{ "PUBACK id 0", "40 02 00 00", MQTT_ERR_PROTOCOL },
	{ "PUBREL id 0", "62 02 00 00", MQTT_ERR_PROTOCOL },
	{ "UNSUBACK id 0", "b0 02 00 00", MQTT_ERR_PROTOCOL },
	{ "PUBACK, empty body", "40 00", MQTT_ERR_MALFORMED },
	{ "PUBACK, 1 byte", "40 01 00", MQTT_ERR_MALFORMED },
	{ "PUBCOMP, 3 bytes", "70 03 00 01 00", MQTT_ERR_MALFORMED },
	{ "not an ack: PUBLISH", "30 02 00 01", MQTT_ERR_PROTOCOL },
	{ "not an ack: SUBACK", "90 03 00 01 00", MQTT_ERR_PROTOCOL },
};

START_TEST(test_ack)
{
	const struct ack_case	*c = &ack_cases[_i];
	struct mqtt_frame	 f;
	const uint8_t		*body;
	uint8_t			 b[64];
	uint16_t		 id;
	size_t			 n;

	n = unhex(c->hex, b, sizeof(b));
	body = frame_one(c->name, b, n, &f);
	check_err(c->name, mqtt_decode_ack(&f, body, &id), c->err);
	if (c->err == MQTT_OK)
		ck_assert_uint_eq(id, c->id);
}
END_TEST

static const struct subscribe_case {
	const char	*name;
	const char	*hex;
	enum mqtt_err	 err;
	uint16_t	 id;
	size_t		 count;
	struct {
		struct want	 filter;
		uint8_t		 options;
	}		 entries[4];
} subscribe_cases[] = {
	{ "SUBSCRIBE, one filter", "82 08 00 01 00 03 'a/b' 01", MQTT_OK, 1, 1,
	    { { S("a/b"), 1 } } },
	{ "SUBSCRIBE, three filters",
	    "82 12 00 0a 00 03 'a/#' 00 00 03 '+/b' 01 00 01 'c' 02", MQTT_OK,
	    10, 3, { { S("a/#"), 0 }, { S("+/b"), 1 }, { S("c"), 2 } } },
	{ "SUBSCRIBE, UTF-8 filter", "82 07 00 02 00 02 c3 a9 00", MQTT_OK, 2,
	    1, { { S("\xc3\xa9"), 0 } } },
	{ "SUBSCRIBE, # alone", "82 06 00 04 00 01 '#' 02", MQTT_OK, 4, 1,
	    { { S("#"), 2 } } },
	{ "SUBSCRIBE, misplaced # left to the broker",
	    "82 09 00 03 00 04 'a/b#' 00", MQTT_OK, 3, 1,
	    { { S("a/b#"), 0 } } },
	{ "SUBSCRIBE, misplaced + left to the broker",
	    "82 07 00 03 00 02 'a+' 01", MQTT_OK, 3, 1, { { S("a+"), 1 } } },
	{ "UNSUBSCRIBE, one filter", "a2 07 00 02 00 03 'a/b'", MQTT_OK, 2, 1,
	    { { S("a/b"), 0 } } },
	{ "UNSUBSCRIBE, two filters", "a2 0c 00 02 00 03 'a/b' 00 03 '+/#'",
	    MQTT_OK, 2, 2, { { S("a/b"), 0 }, { S("+/#"), 0 } } },

	{ "SUBSCRIBE, flags 0", "80 08 00 01 00 03 'a/b' 01",
	    MQTT_ERR_PROTOCOL },
	{ "SUBSCRIBE, flags 3", "83 08 00 01 00 03 'a/b' 01",
	    MQTT_ERR_PROTOCOL },
	{ "SUBSCRIBE, no topics", "82 02 00 01", MQTT_ERR_PROTOCOL },
	{ "SUBSCRIBE, id 0", "82 08 00 00 00 03 'a/b' 01", MQTT_ERR_PROTOCOL },
	{ "SUBSCRIBE, empty body", "82 00", MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, 1 byte", "82 01 00", MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, no options byte", "82 07 00 01 00 03 'a/b'",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, QoS 3", "82 08 00 01 00 03 'a/b' 03",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, options bit 2", "82 08 00 01 00 03 'a/b' 04",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, options bit 7", "82 08 00 01 00 03 'a/b' 80",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, options fc", "82 08 00 01 00 03 'a/b' fc",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, empty filter", "82 05 00 01 00 00 00",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, filter longer than body", "82 06 00 01 00 05 'ab'",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, invalid UTF-8", "82 07 00 01 00 02 c3 28 00",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, U+0000", "82 08 00 01 00 03 'a' 00 'b' 00",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, overlong", "82 07 00 01 00 02 c0 af 00",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, second entry bad",
	    "82 0e 00 01 00 03 'a/b' 01 00 03 'c' 00 'd' 01",
	    MQTT_ERR_MALFORMED },
	{ "SUBSCRIBE, half a length at the end",
	    "82 09 00 01 00 03 'a/b' 01 00", MQTT_ERR_MALFORMED },
	{ "UNSUBSCRIBE, flags 0", "a0 07 00 02 00 03 'a/b'",
	    MQTT_ERR_PROTOCOL },
	{ "UNSUBSCRIBE, no topics", "a2 02 00 05", MQTT_ERR_PROTOCOL },
	{ "UNSUBSCRIBE, id 0", "a2 07 00 00 00 03 'a/b'", MQTT_ERR_PROTOCOL },
	{ "UNSUBSCRIBE, 1 byte", "a2 01 00", MQTT_ERR_MALFORMED },
	{ "UNSUBSCRIBE, empty filter", "a2 04 00 01 00 00",
	    MQTT_ERR_MALFORMED },
	{ "UNSUBSCRIBE, invalid UTF-8", "a2 06 00 01 00 02 c3 28",
	    MQTT_ERR_MALFORMED },
	{ "UNSUBSCRIBE, surrogate", "a2 07 00 01 00 03 ed a0 80",
	    MQTT_ERR_MALFORMED },
	{ "UNSUBSCRIBE, trailing byte", "a2 08 00 02 00 03 'a/b' 00",
	    MQTT_ERR_MALFORMED },
	{ "not a SUBSCRIBE: PUBLISH", "30 05 00 03 'a/b'", MQTT_ERR_PROTOCOL },
	{ "not a SUBSCRIBE: SUBACK", "90 03 00 01 00", MQTT_ERR_PROTOCOL },
};

START_TEST(test_subscribe)
{
	const struct subscribe_case	*c = &subscribe_cases[_i];
	struct mqtt_frame		 f;
	struct mqtt_subscribe		 s;
	struct mqtt_str			 filter;
	const uint8_t			*body;
	uint8_t				 b[512], options;
	size_t				 n, pos = 0, i = 0;

	n = unhex(c->hex, b, sizeof(b));
	body = frame_one(c->name, b, n, &f);
	check_err(c->name, mqtt_decode_subscribe(&f, body, &s), c->err);
	if (c->err != MQTT_OK)
		return;
	ck_assert_uint_eq(s.id, c->id);
	ck_assert_uint_eq(s.count, c->count);
	ck_assert_int_eq(s.with_options, f.type == MQTT_SUBSCRIBE);
	while (mqtt_topics_next(&s, &pos, &filter, &options)) {
		ck_assert_uint_lt(i, c->count);
		check_str(c->name, "filter", &filter, &c->entries[i].filter);
		ck_assert_uint_eq(options, c->entries[i].options);
		i++;
	}
	ck_assert_uint_eq(i, c->count);
	ck_assert_uint_eq(pos, s.list_len);
	/* The end stays the end. */
	ck_assert_int_eq(mqtt_topics_next(&s, &pos, &filter, &options), 0);
}
END_TEST

static const struct empty_case {
	const char	*name;
	const char	*hex;
	enum mqtt_err	 err;
} empty_cases[] = {
	{ "PINGREQ", "c0 00", MQTT_OK },
	{ "PINGRESP", "d0 00", MQTT_OK },
	{ "DISCONNECT", "e0 00", MQTT_OK },
	{ "PINGREQ with flags 1", "c1 00", MQTT_ERR_PROTOCOL },
	{ "PINGRESP with flags 8", "d8 00", MQTT_ERR_PROTOCOL },
	{ "DISCONNECT with flags 2", "e2 00", MQTT_ERR_PROTOCOL },
	{ "PINGREQ with a body", "c0 01 00", MQTT_ERR_MALFORMED },
	{ "DISCONNECT with a body", "e0 02 00 00", MQTT_ERR_MALFORMED },
	{ "not empty-bodied: PUBACK", "40 02 00 01", MQTT_ERR_PROTOCOL },
	{ "not empty-bodied: CONNECT", "10 00", MQTT_ERR_PROTOCOL },
};

START_TEST(test_empty)
{
	const struct empty_case	*c = &empty_cases[_i];
	struct mqtt_frame	 f;
	uint8_t			 b[64];
	size_t			 n;

	n = unhex(c->hex, b, sizeof(b));
	frame_one(c->name, b, n, &f);
	check_err(c->name, mqtt_decode_empty(&f), c->err);
}
END_TEST

static const struct connack_case {
	const char	*name;
	const char	*hex;
	enum mqtt_err	 err;
	int		 session_present;
	uint8_t		 code;
} connack_cases[] = {
	{ "accepted", "20 02 00 00", MQTT_OK, 0, 0 },
	{ "accepted, session present", "20 02 01 00", MQTT_OK, 1, 0 },
	{ "bad version", "20 02 00 01", MQTT_OK, 0, 1 },
	{ "not authorized", "20 02 00 05", MQTT_OK, 0, 5 },
	{ "unknown code 6", "20 02 00 06", MQTT_ERR_PROTOCOL },
	{ "reserved acknowledge flag", "20 02 02 00", MQTT_ERR_PROTOCOL },
	{ "session present with a refusal", "20 02 01 04", MQTT_ERR_PROTOCOL },
	{ "fixed-header flags 1", "21 02 00 00", MQTT_ERR_PROTOCOL },
	{ "1 byte", "20 01 00", MQTT_ERR_MALFORMED },
	{ "3 bytes", "20 03 00 00 00", MQTT_ERR_MALFORMED },
	{ "not a CONNACK", "40 02 00 01", MQTT_ERR_PROTOCOL },
};

START_TEST(test_connack)
{
	const struct connack_case	*c = &connack_cases[_i];
	struct mqtt_frame		 f;
	const uint8_t			*body;
	uint8_t				 b[64], code;
	int				 sp;
	size_t				 n;

	n = unhex(c->hex, b, sizeof(b));
	body = frame_one(c->name, b, n, &f);
	check_err(c->name, mqtt_decode_connack(&f, body, &sp, &code), c->err);
	if (c->err != MQTT_OK)
		return;
	ck_assert_int_eq(sp, c->session_present);
	ck_assert_uint_eq(code, c->code);
}
END_TEST

static const struct utf8_case {
	const char	*name;
	const char	*hex;
	int		 valid;
} utf8_cases[] = {
	{ "empty", "", 1 },
	{ "ASCII", "'hello/world'", 1 },
	{ "U+0001", "01", 1 },
	{ "U+007F", "7f", 1 },
	{ "U+0080", "c2 80", 1 },
	{ "U+07FF", "df bf", 1 },
	{ "U+0800", "e0 a0 80", 1 },
	{ "U+D7FF", "ed 9f bf", 1 },
	{ "U+E000", "ee 80 80", 1 },
	{ "U+FFFF", "ef bf bf", 1 },
	{ "U+10000", "f0 90 80 80", 1 },
	{ "U+10FFFF", "f4 8f bf bf", 1 },
	{ "mixed, long",
	    "'0123456789abcdef' c3 a9 '0123456789' f0 9f 98 80 'x'", 1 },
	{ "U+0000", "00", 0 },
	{ "U+0000 in the middle", "'ab' 00 'cd'", 0 },
	{ "U+0000 after 8 ASCII bytes", "'01234567' 00", 0 },
	{ "U+0000 at byte 15", "'012345678901234' 00 'abcdefgh'", 0 },
	{ "overlong U+0000", "c0 80", 0 },
	{ "overlong 2 bytes", "c1 bf", 0 },
	{ "overlong 3 bytes", "e0 9f bf", 0 },
	{ "overlong 4 bytes", "f0 8f bf bf", 0 },
	{ "surrogate U+D800", "ed a0 80", 0 },
	{ "surrogate U+DBFF", "ed af bf", 0 },
	{ "surrogate U+DC00", "ed b0 80", 0 },
	{ "surrogate U+DFFF", "ed bf bf", 0 },
	{ "U+110000", "f4 90 80 80", 0 },
	{ "lead byte f5", "f5 80 80 80", 0 },
	{ "byte fe", "fe", 0 },
	{ "byte ff", "ff", 0 },
	{ "lone continuation", "80", 0 },
	{ "2 bytes, cut", "c3", 0 },
	{ "3 bytes, cut", "e2 82", 0 },
	{ "4 bytes, cut", "f0 9f 98", 0 },
	{ "bad 2nd byte", "e2 28 a1", 0 },
	{ "bad 3rd byte", "e2 82 28", 0 },
	{ "bad 4th byte", "f0 9f 98 28", 0 },
	{ "non-ASCII after 8 ASCII bytes", "'abcdefgh' 80", 0 },
};

START_TEST(test_utf8)
{
	const struct utf8_case	*c = &utf8_cases[_i];
	uint8_t			 b[64];
	size_t			 n;

	n = unhex(c->hex, b, sizeof(b));
	ck_assert_msg(mqtt_valid_utf8((const char *)b, n) == c->valid,
	    "%s: want %s", c->name, c->valid ? "valid" : "invalid");
}
END_TEST

/* Remaining lengths: the varint size and the bytes mqtt_put_header writes. */
static const struct varint_case {
	size_t		 n;
	size_t		 size;
	const char	*hex;
} varint_cases[] = {
	{ 0, 1, "30 00" },
	{ 127, 1, "30 7f" },
	{ 128, 2, "30 80 01" },
	{ 16383, 2, "30 ff 7f" },
	{ 16384, 3, "30 80 80 01" },
	{ 2097151, 3, "30 ff ff 7f" },
	{ 2097152, 4, "30 80 80 80 01" },
	{ MQTT_MAX_REMAINING, 4, "30 ff ff ff 7f" },
};

START_TEST(test_varint)
{
	const struct varint_case	*c = &varint_cases[_i];
	struct buf			 b = { 0 };

	ck_assert_uint_eq(mqtt_varint_size(c->n), c->size);
	mqtt_put_header(&b, 0x30, c->n);
	check_bytes(c->hex, &b, c->hex);
	buf_free(&b);
}
END_TEST

static const struct encode_publish_case {
	const char	*name;
	const char	*topic;
	struct want	 payload;
	uint8_t		 qos;
	int		 retain, dup;
	uint16_t	 id;
	const char	*hex;
} encode_publish_cases[] = {
	{ "QoS 0", "a/b", S("hi"), 0, 0, 0, 0, "30 07 00 03 'a/b' 'hi'" },
	{ "QoS 0 ignores the id", "t", S(""), 0, 0, 0, 9, "30 03 00 01 't'" },
	{ "QoS 1 retained", "a", S(""), 1, 1, 0, 5, "33 05 00 01 'a' 00 05" },
	{ "QoS 2 dup", "t", S("x"), 2, 0, 1, 0x1234,
	    "3c 06 00 01 't' 12 34 'x'" },
	{ "binary payload", "t", S("\0\xff"), 0, 0, 0, 0,
	    "30 05 00 01 't' 00 ff" },
};

START_TEST(test_encode_publish)
{
	const struct encode_publish_case	*c = &encode_publish_cases[_i];
	struct buf				 b = { 0 };

	mqtt_encode_publish(&b, c->topic, (uint16_t)strlen(c->topic),
	    c->payload.p, c->payload.len, c->qos, c->retain, c->dup, c->id);
	check_bytes(c->name, &b, c->hex);
	buf_free(&b);
}
END_TEST

static const struct encode_ack_case {
	enum mqtt_type	 type;
	uint16_t	 id;
	const char	*hex;
} encode_ack_cases[] = {
	{ MQTT_PUBACK, 1, "40 02 00 01" },
	{ MQTT_PUBREC, 65535, "50 02 ff ff" },
	{ MQTT_PUBREL, 0x1234, "62 02 12 34" },
	{ MQTT_PUBCOMP, 7, "70 02 00 07" },
	{ MQTT_UNSUBACK, 2, "b0 02 00 02" },
};

START_TEST(test_encode_ack)
{
	const struct encode_ack_case	*c = &encode_ack_cases[_i];
	struct buf			 b = { 0 };

	mqtt_encode_ack(&b, c->type, c->id);
	check_bytes(mqtt_type_name(c->type), &b, c->hex);
	buf_free(&b);
}
END_TEST

/* The encoders without a table of their own, one packet each. */
START_TEST(test_encode_other)
{
	static const char *const filters[] = { "a/#", "+/b", "c" };
	static const uint8_t	 qos[] = { 0, 1, 2 };
	static const uint8_t	 codes[] = { 0, 1, 2, MQTT_SUBACK_FAILURE };
	struct mqtt_connect	 k = { 0 };
	struct buf		 b = { 0 };

	mqtt_encode_connack(&b, 0, MQTT_CONNACK_ACCEPTED);
	check_bytes("CONNACK", &b, "20 02 00 00");
	buf_reset(&b, 0);
	mqtt_encode_connack(&b, 1, MQTT_CONNACK_ACCEPTED);
	check_bytes("CONNACK present", &b, "20 02 01 00");
	buf_reset(&b, 0);
	mqtt_encode_connack(&b, 0, MQTT_CONNACK_NOT_AUTHORIZED);
	check_bytes("CONNACK 5", &b, "20 02 00 05");
	buf_reset(&b, 0);

	mqtt_encode_empty(&b, MQTT_PINGREQ);
	mqtt_encode_empty(&b, MQTT_PINGRESP);
	mqtt_encode_empty(&b, MQTT_DISCONNECT);
	check_bytes("empty", &b, "c0 00 d0 00 e0 00");
	buf_reset(&b, 0);

	mqtt_encode_suback(&b, 3, codes, FMQ_NELEM(codes));
	check_bytes("SUBACK", &b, "90 06 00 03 00 01 02 80");
	buf_reset(&b, 0);
	mqtt_encode_subscribe(&b, 10, filters, qos, FMQ_NELEM(filters));
	check_bytes("SUBSCRIBE", &b,
	    "82 12 00 0a 00 03 'a/#' 00 00 03 '+/b' 01 00 01 'c' 02");
	buf_reset(&b, 0);
	mqtt_encode_unsubscribe(&b, 2, filters, 2);
	check_bytes("UNSUBSCRIBE", &b, "a2 0c 00 02 00 03 'a/#' 00 03 '+/b'");
	buf_reset(&b, 0);

	k.level = 3;
	k.clean = 1;
	k.keepalive = 60;
	k.client_id.p = "abcd";
	k.client_id.len = 4;
	mqtt_encode_connect(&b, &k);
	check_bytes("CONNECT 3.1", &b,
	    "10 12 00 06 'MQIsdp' 03 02 00 3c 00 04 'abcd'");
	buf_reset(&b, 0);

	k.level = 4;
	k.client_id.p = "c";
	k.client_id.len = 1;
	k.has_will = 1;
	k.will_qos = 1;
	k.will_retain = 1;
	k.will_topic.p = "w/t";
	k.will_topic.len = 3;
	k.will_payload.p = "bye";
	k.will_payload.len = 3;
	k.has_username = 1;
	k.username.p = "u";
	k.username.len = 1;
	k.has_password = 1;
	k.password.p = "pw";
	k.password.len = 2;
	mqtt_encode_connect(&b, &k);
	check_bytes("CONNECT full", &b, "10 1e 00 04 'MQTT' 04 ee 00 3c 00 01 "
	    "'c' 00 03 'w/t' 00 03 'bye' 00 01 'u' 00 02 'pw'");
	buf_free(&b);
}
END_TEST

/* Encoders append behind what the buffer holds, consumed front or not. */
START_TEST(test_encode_appends)
{
	struct buf	 b = { 0 };

	buf_append(&b, "xyz", 3);
	buf_consume(&b, 1);
	mqtt_encode_ack(&b, MQTT_PUBACK, 1);
	mqtt_encode_publish(&b, "t", 1, "p", 1, 0, 0, 0, 0);
	check_bytes("append", &b, "'yz' 40 02 00 01 30 04 00 01 't' 'p'");
	buf_free(&b);
}
END_TEST

/* Every QoS, flag and payload size: encode, frame, decode, compare. */
START_TEST(test_roundtrip_publish)
{
	static const size_t	 sizes[] = { 0, 1, 1000, 20000 };
	char			 topic[300];
	uint8_t			*payload;
	struct mqtt_frame	 f;
	struct mqtt_publish	 p;
	struct buf		 b = { 0 };
	const uint8_t		*body;
	size_t			 s, i;
	uint16_t		 tlen;
	uint8_t			 qos;
	int			 retain, dup;

	memset(topic, 'a', sizeof(topic));
	topic[1] = '/';
	payload = xmalloc(sizes[FMQ_NELEM(sizes) - 1]);
	for (i = 0; i < sizes[FMQ_NELEM(sizes) - 1]; i++)
		payload[i] = (uint8_t)(i * 7);
	for (qos = 0; qos <= 2; qos++)
	for (s = 0; s < FMQ_NELEM(sizes); s++)
	for (retain = 0; retain <= 1; retain++)
	for (dup = 0; dup <= (qos > 0); dup++) {
		tlen = s % 2 == 0 ? 3 : sizeof(topic);
		buf_reset(&b, 0);
		mqtt_encode_publish(&b, topic, tlen, payload, sizes[s], qos,
		    retain, dup, qos > 0 ? (uint16_t)(100 + s) : 0);
		body = frame_one("publish", buf_data(&b), buf_pending(&b), &f);
		check_err("publish", mqtt_decode_publish(&f, body, &p),
		    MQTT_OK);
		ck_assert_uint_eq(p.topic.len, tlen);
		ck_assert_mem_eq(p.topic.p, topic, tlen);
		ck_assert_uint_eq(p.qos, qos);
		ck_assert_int_eq(p.retain, retain);
		ck_assert_int_eq(p.dup, dup);
		ck_assert_uint_eq(p.id, qos > 0 ? 100 + s : 0);
		ck_assert_uint_eq(p.payload_len, sizes[s]);
		if (sizes[s] > 0)
			ck_assert_mem_eq(p.payload, payload, sizes[s]);
	}
	free(payload);
	buf_free(&b);
}
END_TEST

static void
check_same_str(const struct mqtt_str *a, const struct mqtt_str *b)
{
	ck_assert_uint_eq(a->len, b->len);
	if (a->len > 0)
		ck_assert_mem_eq(a->p, b->p, a->len);
}

/* CONNECT with every combination of its optional parts, 3.1 and 3.1.1. */
START_TEST(test_roundtrip_connect)
{
	struct mqtt_connect	 k, d;
	struct mqtt_frame	 f;
	struct buf		 b = { 0 };
	const uint8_t		*body;
	unsigned int		 mask;
	uint8_t			 qos;

	for (mask = 0; mask < 64; mask++)
	for (qos = 0; qos <= 2; qos++) {
		memset(&k, 0, sizeof(k));
		k.level = mask & 1 ? 3 : 4;
		k.clean = (mask & 2) != 0;
		k.has_will = (mask & 4) != 0;
		k.has_username = (mask & 16) != 0;
		k.has_password = (mask & 32) != 0;
		if ((k.has_password && !k.has_username) ||
		    (!k.has_will && (qos > 0 || (mask & 8))))
			continue;
		k.will_retain = (mask & 8) != 0;
		k.will_qos = qos;
		k.keepalive = 0x1234;
		k.client_id.p = "client-1";
		k.client_id.len = 8;
		if (k.has_will) {
			k.will_topic.p = "dead/client-1";
			k.will_topic.len = 13;
			k.will_payload.p = "\0\1\2";
			k.will_payload.len = 3;
		}
		if (k.has_username) {
			k.username.p = "\xc3\xbc" "ser";
			k.username.len = 5;
		}
		if (k.has_password) {
			k.password.p = "\xff\0pw";
			k.password.len = 4;
		}
		buf_reset(&b, 0);
		mqtt_encode_connect(&b, &k);
		body = frame_one("connect", buf_data(&b), buf_pending(&b), &f);
		check_err("connect", mqtt_decode_connect(&f, body, &d),
		    MQTT_OK);
		ck_assert_uint_eq(d.level, k.level);
		ck_assert_int_eq(d.clean, k.clean);
		ck_assert_uint_eq(d.keepalive, k.keepalive);
		check_same_str(&d.client_id, &k.client_id);
		ck_assert_int_eq(d.has_will, k.has_will);
		ck_assert_uint_eq(d.will_qos, k.will_qos);
		ck_assert_int_eq(d.will_retain, k.will_retain);
		check_same_str(&d.will_topic, &k.will_topic);
		check_same_str(&d.will_payload, &k.will_payload);
		ck_assert_int_eq(d.has_username, k.has_username);
		check_same_str(&d.username, &k.username);
		ck_assert_int_eq(d.has_password, k.has_password);
		check_same_str(&d.password, &k.password);
	}
	buf_free(&b);
}
END_TEST

/* SUBSCRIBE with three filters and UNSUBSCRIBE with the same. */
START_TEST(test_roundtrip_subscribe)
{
	static const char *const filters[] = { "a/b", "sensors/+/temp", "#" };
	static const uint8_t	 qos[] = { 2, 0, 1 };
	struct mqtt_subscribe	 s;
	struct mqtt_frame	 f;
	struct mqtt_str		 filter;
	struct buf		 b = { 0 };
	const uint8_t		*body;
	uint8_t			 options;
	size_t			 pos, i;
	int			 unsub;

	for (unsub = 0; unsub <= 1; unsub++) {
		buf_reset(&b, 0);
		if (unsub)
			mqtt_encode_unsubscribe(&b, 0xbeef, filters,
			    FMQ_NELEM(filters));
		else
			mqtt_encode_subscribe(&b, 0xbeef, filters, qos,
			    FMQ_NELEM(filters));
		body = frame_one("subscribe", buf_data(&b), buf_pending(&b),
		    &f);
		ck_assert_uint_eq(f.type, unsub ? MQTT_UNSUBSCRIBE :
		    MQTT_SUBSCRIBE);
		check_err("subscribe", mqtt_decode_subscribe(&f, body, &s),
		    MQTT_OK);
		ck_assert_uint_eq(s.id, 0xbeef);
		ck_assert_uint_eq(s.count, FMQ_NELEM(filters));
		ck_assert_int_eq(s.with_options, !unsub);
		pos = i = 0;
		while (mqtt_topics_next(&s, &pos, &filter, &options)) {
			ck_assert_uint_lt(i, FMQ_NELEM(filters));
			ck_assert_uint_eq(filter.len, strlen(filters[i]));
			ck_assert_mem_eq(filter.p, filters[i], filter.len);
			ck_assert_uint_eq(options, unsub ? 0 : qos[i]);
			i++;
		}
		ck_assert_uint_eq(i, FMQ_NELEM(filters));
	}
	buf_free(&b);
}
END_TEST

/* Acknowledgements, CONNACK and empty packets back through their decoders. */
START_TEST(test_roundtrip_small)
{
	static const enum mqtt_type acks[] = { MQTT_PUBACK, MQTT_PUBREC,
	    MQTT_PUBREL, MQTT_PUBCOMP, MQTT_UNSUBACK };
	static const enum mqtt_type empties[] = { MQTT_PINGREQ, MQTT_PINGRESP,
	    MQTT_DISCONNECT };
	static const uint16_t	 ids[] = { 1, 0x1234, 0xffff };
	struct mqtt_frame	 f;
	struct buf		 b = { 0 };
	const uint8_t		*body;
	uint16_t		 id;
	uint8_t			 code;
	int			 sp;
	size_t			 t, i;

	for (t = 0; t < FMQ_NELEM(acks); t++)
	for (i = 0; i < FMQ_NELEM(ids); i++) {
		buf_reset(&b, 0);
		mqtt_encode_ack(&b, acks[t], ids[i]);
		body = frame_one("ack", buf_data(&b), buf_pending(&b), &f);
		ck_assert_uint_eq(f.type, acks[t]);
		check_err("ack", mqtt_decode_ack(&f, body, &id), MQTT_OK);
		ck_assert_uint_eq(id, ids[i]);
	}
	for (t = 0; t < FMQ_NELEM(empties); t++) {
		buf_reset(&b, 0);
		mqtt_encode_empty(&b, empties[t]);
		frame_one("empty", buf_data(&b), buf_pending(&b), &f);
		ck_assert_uint_eq(f.type, empties[t]);
		check_err("empty", mqtt_decode_empty(&f), MQTT_OK);
	}
	for (i = 0; i <= MQTT_CONNACK_NOT_AUTHORIZED; i++)
	for (t = 0; t <= (i == 0); t++) {
		buf_reset(&b, 0);
		mqtt_encode_connack(&b, (int)t, (uint8_t)i);
		body = frame_one("connack", buf_data(&b), buf_pending(&b), &f);
		check_err("connack", mqtt_decode_connack(&f, body, &sp, &code),
		    MQTT_OK);
		ck_assert_int_eq(sp, (int)t);
		ck_assert_uint_eq(code, i);
	}
	buf_free(&b);
}
END_TEST

/* Several packets in one buffer come out one after the other. */
START_TEST(test_stream)
{
	static const char *const filters[] = { "a/#" };
	static const uint8_t	 qos[] = { 1 };
	static const uint8_t	 want[] = { MQTT_CONNECT, MQTT_SUBSCRIBE,
	    MQTT_PUBLISH, MQTT_PUBACK, MQTT_PINGREQ, MQTT_DISCONNECT };
	struct mqtt_connect	 k = { .level = 4, .clean = 1 };
	struct mqtt_frame	 f;
	struct buf		 b = { 0 };
	size_t			 off = 0, i = 0;

	mqtt_encode_connect(&b, &k);
	mqtt_encode_subscribe(&b, 1, filters, qos, 1);
	mqtt_encode_publish(&b, "a/b", 3, "x", 1, 1, 0, 0, 2);
	mqtt_encode_ack(&b, MQTT_PUBACK, 2);
	mqtt_encode_empty(&b, MQTT_PINGREQ);
	mqtt_encode_empty(&b, MQTT_DISCONNECT);
	while (off < buf_pending(&b)) {
		ck_assert_int_eq(mqtt_frame(buf_data(&b) + off,
		    buf_pending(&b) - off, MAX_PACKET, &f), MQTT_OK);
		ck_assert_uint_lt(i, FMQ_NELEM(want));
		ck_assert_uint_eq(f.type, want[i]);
		off += f.header_len + f.body_len;
		i++;
	}
	ck_assert_uint_eq(i, FMQ_NELEM(want));
	ck_assert_uint_eq(off, buf_pending(&b));
	buf_free(&b);
}
END_TEST

START_TEST(test_names)
{
	static const struct {
		uint8_t		 type;
		const char	*name;
	} types[] = {
		{ MQTT_CONNECT, "CONNECT" }, { MQTT_CONNACK, "CONNACK" },
		{ MQTT_PUBLISH, "PUBLISH" }, { MQTT_PUBACK, "PUBACK" },
		{ MQTT_PUBREC, "PUBREC" }, { MQTT_PUBREL, "PUBREL" },
		{ MQTT_PUBCOMP, "PUBCOMP" }, { MQTT_SUBSCRIBE, "SUBSCRIBE" },
		{ MQTT_SUBACK, "SUBACK" }, { MQTT_UNSUBSCRIBE, "UNSUBSCRIBE" },
		{ MQTT_UNSUBACK, "UNSUBACK" }, { MQTT_PINGREQ, "PINGREQ" },
		{ MQTT_PINGRESP, "PINGRESP" },
		{ MQTT_DISCONNECT, "DISCONNECT" },
		{ MQTT_AUTH, "AUTH" }, { 0, "reserved" }, { 16, "unknown" },
		{ 255, "unknown" },
	};
	static const struct {
		enum mqtt_err	 err;
		const char	*name;
	} errs[] = {
		{ MQTT_OK, "ok" }, { MQTT_NEED_MORE, "need more" },
		{ MQTT_ERR_MALFORMED, "malformed" },
		{ MQTT_ERR_PROTOCOL, "protocol error" },
		{ MQTT_ERR_TOO_LARGE, "too large" },
		{ MQTT_ERR_VERSION, "unsupported version" },
		{ (enum mqtt_err)99, "unknown" },
	};
	size_t	 i;

	for (i = 0; i < FMQ_NELEM(types); i++)
		ck_assert_str_eq(mqtt_type_name(types[i].type), types[i].name);
	for (i = 0; i < FMQ_NELEM(errs); i++)
		ck_assert_str_eq(mqtt_err_name(errs[i].err), errs[i].name);
}
END_TEST

/* Adds a TCase named name running test once per row of a table. */
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
packet_suite(void)
{
	Suite	*s = suite_create("packet");

	add_loop(s, "frame", test_frame, FMQ_NELEM(frame_cases));
	add_loop(s, "truncated", test_truncated, FMQ_NELEM(whole_packets));
	add_one(s, "truncated_long", test_truncated_long);
	add_loop(s, "connect", test_connect, FMQ_NELEM(connect_cases));
	add_loop(s, "publish", test_publish, FMQ_NELEM(publish_cases));
	add_loop(s, "ack", test_ack, FMQ_NELEM(ack_cases));
	add_loop(s, "subscribe", test_subscribe, FMQ_NELEM(subscribe_cases));
	add_loop(s, "empty", test_empty, FMQ_NELEM(empty_cases));
	add_loop(s, "connack", test_connack, FMQ_NELEM(connack_cases));
	add_loop(s, "utf8", test_utf8, FMQ_NELEM(utf8_cases));
	add_loop(s, "varint", test_varint, FMQ_NELEM(varint_cases));
	add_loop(s, "encode_publish", test_encode_publish,
	    FMQ_NELEM(encode_publish_cases));
	add_loop(s, "encode_ack", test_encode_ack, FMQ_NELEM(encode_ack_cases));
	add_one(s, "encode_other", test_encode_other);
	add_one(s, "encode_appends", test_encode_appends);
	add_one(s, "roundtrip_publish", test_roundtrip_publish);
	add_one(s, "roundtrip_connect", test_roundtrip_connect);
	add_one(s, "roundtrip_subscribe", test_roundtrip_subscribe);
	add_one(s, "roundtrip_small", test_roundtrip_small);
	add_one(s, "stream", test_stream);
	add_one(s, "names", test_names);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(packet_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
