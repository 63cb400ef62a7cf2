/* Unit tests of the WebSocket codec (broker/ws.c). */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/ws.h"
#include "buf.h"
#include "util.h"

#define DEF_MAX		(1024 * 1024)	/* max_message unless a row says */
#define NO_MAX		SIZE_MAX

/*
 * Frames in the tables are hex bytes with ASCII text in single quotes.
 * "{37 fa 21 3d}" writes a mask key and masks what follows with it, up to
 * the next ";" (the end of that frame's payload): "82 85 {37 fa 21 3d}
 * 'Hello'" is the RFC's masked "Hello" as a binary frame.
 */
struct hexw {
	uint8_t	*out;
	size_t	 n, cap, k;
	uint8_t	 key[4];
	int	 masking;
};

static void
hex_put(struct hexw *w, uint8_t c)
{
	ck_assert_uint_lt(w->n, w->cap);
	w->out[w->n++] = w->masking ? c ^ w->key[w->k++ & 3] : c;
}

static const char *
hex_byte(const char *s, unsigned int *v)
{
	ck_assert_msg(sscanf(s, "%2x", v) == 1 && s[1] != '\0' && s[1] != ' ',
	    "bad hex at \"%s\"", s);
	return s + 2;
}

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	struct hexw	 w = { out, 0, cap, 0, { 0 }, 0 };
	unsigned int	 v;
	int		 i;

	while (*s != '\0') {
		if (*s == ' ') {
			s++;
		} else if (*s == ';') {
			w.masking = 0;
			s++;
		} else if (*s == '{') {
			w.masking = 0;
			for (s++, i = 0; i < 4; i++) {
				while (*s == ' ')
					s++;
				s = hex_byte(s, &v);
				w.key[i] = (uint8_t)v;
				hex_put(&w, (uint8_t)v);
			}
			while (*s == ' ')
				s++;
			ck_assert_msg(*s == '}', "bad mask key at \"%s\"", s);
			s++;
			w.masking = 1;
			w.k = 0;
		} else if (*s == '\'') {
			for (s++; *s != '\'' && *s != '\0'; s++)
				hex_put(&w, (uint8_t)*s);
			ck_assert_msg(*s == '\'', "unterminated text");
			s++;
		} else {
			s = hex_byte(s, &v);
			hex_put(&w, (uint8_t)v);
		}
	}
	return w.n;
}

/* A tiny deterministic generator for payloads, keys and cut points. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Appends a masked client frame with a random key and the shortest length. */
static void
client_frame(struct buf *b, uint8_t b0, const void *data, size_t len,
    uint32_t *seed)
{
	const uint8_t	*p = data;
	uint8_t		 key[4];
	size_t		 i;

	buf_put_u8(b, b0);
	if (len < 126)
		buf_put_u8(b, (uint8_t)(0x80 | len));
	else if (len <= 0xffff) {
		buf_put_u8(b, 0x80 | 126);
		buf_put_u16(b, (uint16_t)len);
	} else {
		buf_put_u8(b, 0x80 | 127);
		for (i = 0; i < 8; i++)
			buf_put_u8(b, (uint8_t)((uint64_t)len >> (56 - 8 * i)));
	}
	for (i = 0; i < 4; i++)
		key[i] = (uint8_t)rnd(seed);
	buf_append(b, key, 4);
	for (i = 0; i < len; i++)
		buf_put_u8(b, p[i] ^ key[i & 3]);
}

/* ---- the handshake ----------------------------------------------------- */

#define RFC_ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define REQ	"GET /mqtt HTTP/1.1\r\n"
#define HOST	"Host: server.example.com\r\n"
#define UPG	"Upgrade: websocket\r\n"
#define CONN	"Connection: Upgrade\r\n"
#define KEY	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER	"Sec-WebSocket-Version: 13\r\n"
#define PROTO	"Sec-WebSocket-Protocol: mqtt\r\n"
#define END	"\r\n"
#define GOOD	REQ HOST UPG CONN KEY VER PROTO END

#define R(s)	(s), sizeof(s) - 1

static const struct hs_case {
	const char	*name;
	const char	*req;
	size_t		 len;
	const char	*path;
	int		 status;	/* 101, or the refusal's */
	const char	*want;		/* 101: the subprotocol (NULL: none);
					   else a part of the reason */
	const char	*header;	/* a line the response must hold */
	const char	*accept;	/* NULL: the RFC's */
} hs_cases[] = {
	{ "RFC 6455 1.3 example (protocol mqtt)",
	    R("GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Origin: http://example.com\r\n"
	    "Sec-WebSocket-Protocol: mqtt\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n"), "/chat", 101, "mqtt" },
	{ "plain", R(GOOD), "/mqtt", 101, "mqtt" },
	{ "another key",
	    R(REQ HOST UPG CONN "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
	    VER PROTO END), "/mqtt", 101, "mqtt", NULL,
	    "HSmrc0sMlYUkAGmm5OPpG2HaGWk=" },
	{ "MQTT.js 5 (ws in node)",
	    R("GET /mqtt HTTP/1.1\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits\r\n"
	    "Sec-WebSocket-Protocol: mqtt\r\nHost: localhost:8080\r\n\r\n"),
	    "/mqtt", 101, "mqtt" },
	{ "Firefox: keep-alive, Upgrade",
	    R("GET /mqtt HTTP/1.1\r\nHost: gw.local:8080\r\n"
	    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) "
	    "Gecko/20100101 Firefox/128.0\r\n"
	    "Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\n"
	    "Accept-Encoding: gzip, deflate\r\n"
	    "Sec-WebSocket-Version: 13\r\nOrigin: http://gw.local:8080\r\n"
	    "Sec-WebSocket-Protocol: mqtt\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Connection: keep-alive, Upgrade\r\nPragma: no-cache\r\n"
	    "Cache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n"),
	    "/mqtt", 101, "mqtt" },
	{ "mqtt among others", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: chat, mqtt,superchat\r\n" END), "/mqtt",
	    101, "mqtt" },
	{ "mqttv3.1 only (MQTT.js for MQIsdp)", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: mqttv3.1\r\n" END), "/mqtt", 101,
	    "mqttv3.1" },
	{ "mqttv3.1 then mqtt: mqtt chosen", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: mqttv3.1, mqtt\r\n" END), "/mqtt", 101,
	    "mqtt" },
	{ "protocols over two fields", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: mqtt\r\n"
	    END), "/mqtt", 101, "mqtt" },
	{ "empty list elements", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: , ,mqtt,\r\n" END), "/mqtt", 101, "mqtt" },
	{ "no subprotocol offered: accepted without one",
	    R(REQ HOST UPG CONN KEY VER END), "/mqtt", 101, NULL },
	{ "query string ignored", R("GET /mqtt?clientId=a&x=/mqtt HTTP/1.1\r\n"
	    HOST UPG CONN KEY VER PROTO END), "/mqtt", 101, "mqtt" },
	{ "any path with path NULL", R("GET /anything/at/all HTTP/1.1\r\n"
	    HOST UPG CONN KEY VER PROTO END), NULL, 101, "mqtt" },
	{ "root path", R("GET / HTTP/1.1\r\n" HOST UPG CONN KEY VER PROTO END),
	    "/", 101, "mqtt" },
	{ "names and values in other cases",
	    R(REQ "host: x\r\nUPGRADE: WebSocket\r\nconnection: UPGRADE\r\n"
	    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "SEC-WEBSOCKET-VERSION: 13\r\nsec-websocket-protocol: mqtt\r\n"
	    END), "/mqtt", 101, "mqtt" },
	{ "Upgrade and Connection lists", R(REQ HOST
	    "Upgrade: h2c, websocket\r\nConnection: keep-alive,upgrade , te\r\n"
	    KEY VER PROTO END), "/mqtt", 101, "mqtt" },
	{ "Connection over two fields", R(REQ HOST UPG
	    "Connection: keep-alive\r\nConnection: Upgrade\r\n" KEY VER PROTO
	    END), "/mqtt", 101, "mqtt" },
	{ "no space after colons, trailing white space",
	    R(REQ "Host:x \t\r\nUpgrade:websocket\r\nConnection:Upgrade  \r\n"
	    "Sec-WebSocket-Key:\tdGhlIHNhbXBsZSBub25jZQ== \r\n"
	    "Sec-WebSocket-Version:13\r\nSec-WebSocket-Protocol:mqtt\r\n" END),
	    "/mqtt", 101, "mqtt" },
	{ "bare LF line ends", R("GET /mqtt HTTP/1.1\nHost: x\nUpgrade: websocket"
	    "\nConnection: Upgrade\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	    "Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: mqtt\n\n"),
	    "/mqtt", 101, "mqtt" },
	{ "empty Host, unknown headers, colons in values", R(REQ "Host:\r\n"
	    "X-Thing: a:b:c\r\nX-Empty:\r\n" UPG CONN KEY VER PROTO END),
	    "/mqtt", 101, "mqtt" },
	{ "obs-text in a value", R(REQ HOST "User-Agent: caf\xc3\xa9\r\n" UPG
	    CONN KEY VER PROTO END), "/mqtt", 101, "mqtt" },

	{ "POST", R("POST /mqtt HTTP/1.1\r\n" HOST UPG CONN KEY VER PROTO END),
	    "/mqtt", 405, "GET only", "Allow: GET" },
	{ "HEAD", R("HEAD /mqtt HTTP/1.1\r\n" HOST END), "/mqtt", 405,
	    "GET only", "Allow: GET" },
	{ "get in lower case", R("get /mqtt HTTP/1.1\r\n" HOST UPG CONN KEY VER
	    PROTO END), "/mqtt", 405, "GET only" },
	{ "HTTP/1.0", R("GET /mqtt HTTP/1.0\r\n" HOST UPG CONN KEY VER PROTO
	    END), "/mqtt", 400, "HTTP/1.1 required" },
	{ "HTTP/2.0", R("GET /mqtt HTTP/2.0\r\n" HOST UPG CONN KEY VER PROTO
	    END), "/mqtt", 400, "HTTP/1.1 required" },
	{ "http/1.1 in lower case", R("GET /mqtt http/1.1\r\n" HOST UPG CONN
	    KEY VER PROTO END), "/mqtt", 400, "HTTP/1.1 required" },
	{ "another path", R("GET /other HTTP/1.1\r\n" HOST UPG CONN KEY VER
	    PROTO END), "/mqtt", 404, "no WebSocket endpoint" },
	{ "path with a trailing slash", R("GET /mqtt/ HTTP/1.1\r\n" HOST UPG
	    CONN KEY VER PROTO END), "/mqtt", 404, "no WebSocket endpoint" },
	{ "path in another case", R("GET /MQTT HTTP/1.1\r\n" HOST UPG CONN KEY
	    VER PROTO END), "/mqtt", 404, "no WebSocket endpoint" },
	{ "a prefix of the path", R("GET /mq HTTP/1.1\r\n" HOST UPG CONN KEY VER
	    PROTO END), "/mqtt", 404, "no WebSocket endpoint" },
	{ "absolute-form target", R("GET http://x/mqtt HTTP/1.1\r\n" HOST UPG
	    CONN KEY VER PROTO END), "/mqtt", 400, "not a path" },
	{ "asterisk target", R("GET * HTTP/1.1\r\n" HOST UPG CONN KEY VER PROTO
	    END), NULL, 400, "not a path" },
	{ "two spaces", R("GET  /mqtt HTTP/1.1\r\n" HOST UPG CONN KEY VER PROTO
	    END), "/mqtt", 400, "malformed request line" },
	{ "no version", R("GET /mqtt\r\n" HOST UPG CONN KEY VER PROTO END),
	    "/mqtt", 400, "malformed request line" },
	{ "trailing space", R("GET /mqtt HTTP/1.1 \r\n" HOST UPG CONN KEY VER
	    PROTO END), "/mqtt", 400, "HTTP/1.1 required" },
	{ "control character in the target", R("GET /mq\ttt HTTP/1.1\r\n" HOST
	    UPG CONN KEY VER PROTO END), "/mqtt", 400,
	    "malformed request line" },
	{ "method too long", R("GETGETGETGETGETGE /mqtt HTTP/1.1\r\n" HOST END),
	    "/mqtt", 400, "malformed request line" },
	{ "blank first line", R("\r\n" GOOD), "/mqtt", 400,
	    "malformed request line" },
	{ "MQTT CONNECT to a WebSocket port",
	    R("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04" "abcd"), "/mqtt",
	    400, "malformed request line" },
	{ "TLS ClientHello to a plain port", R("\x16\x03\x01\x02\x00\x01\x00"),
	    "/mqtt", 400, "malformed request line" },

	{ "no Host", R(REQ UPG CONN KEY VER PROTO END), "/mqtt", 400,
	    "no Host" },
	{ "two Hosts", R(REQ HOST HOST UPG CONN KEY VER PROTO END), "/mqtt",
	    400, "more than one Host" },
	{ "plain GET (a browser visiting)", R(REQ HOST "Accept: text/html\r\n"
	    END), "/mqtt", 426, "not a WebSocket upgrade",
	    "Sec-WebSocket-Version: 13" },
	{ "Upgrade: h2c", R(REQ HOST "Upgrade: h2c\r\n" CONN KEY VER PROTO END),
	    "/mqtt", 426, "not a WebSocket upgrade", "Upgrade: websocket" },
	{ "Upgrade: websocket2", R(REQ HOST "Upgrade: websockets\r\n" CONN KEY
	    VER PROTO END), "/mqtt", 426, "not a WebSocket upgrade" },
	{ "no Connection", R(REQ HOST UPG KEY VER PROTO END), "/mqtt", 400,
	    "no Connection: Upgrade" },
	{ "Connection: keep-alive", R(REQ HOST UPG "Connection: keep-alive\r\n"
	    KEY VER PROTO END), "/mqtt", 400, "no Connection: Upgrade" },
	{ "Connection: upgraded", R(REQ HOST UPG "Connection: upgraded\r\n"
	    KEY VER PROTO END), "/mqtt", 400, "no Connection: Upgrade" },
	{ "no version", R(REQ HOST UPG CONN KEY PROTO END), "/mqtt", 426,
	    "Version 13 required", "Sec-WebSocket-Version: 13" },
	{ "version 8", R(REQ HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n"
	    PROTO END), "/mqtt", 426, "Version 13 required",
	    "Sec-WebSocket-Version: 13" },
	{ "version list", R(REQ HOST UPG CONN KEY
	    "Sec-WebSocket-Version: 13, 8\r\n" PROTO END), "/mqtt", 426,
	    "Version 13 required" },
	{ "two versions", R(REQ HOST UPG CONN KEY VER VER PROTO END), "/mqtt",
	    400, "more than one Sec-WebSocket-Version" },
	{ "no key", R(REQ HOST UPG CONN VER PROTO END), "/mqtt", 400,
	    "no Sec-WebSocket-Key" },
	{ "two keys", R(REQ HOST UPG CONN KEY KEY VER PROTO END), "/mqtt", 400,
	    "more than one Sec-WebSocket-Key" },
	{ "key of 15 bytes", R(REQ HOST UPG CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n" VER PROTO END),
	    "/mqtt", 400, "not 16 bytes" },
	{ "key of 17 bytes", R(REQ HOST UPG CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ1=\r\n" VER PROTO END),
	    "/mqtt", 400, "not 16 bytes" },
	{ "key without padding", R(REQ HOST UPG CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" VER PROTO END),
	    "/mqtt", 400, "not 16 bytes" },
	{ "key with a bad character", R(REQ HOST UPG CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2*jZQ==\r\n" VER PROTO END),
	    "/mqtt", 400, "not 16 bytes" },
	{ "empty key", R(REQ HOST UPG CONN "Sec-WebSocket-Key:\r\n" VER PROTO
	    END), "/mqtt", 400, "not 16 bytes" },
	{ "other subprotocols only", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: chat, superchat\r\n" END), "/mqtt", 400,
	    "no mqtt subprotocol" },
	{ "MQTT in upper case", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: MQTT\r\n" END), "/mqtt", 400,
	    "no mqtt subprotocol" },
	{ "mqttv3.1.1 (not a name we know)", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: mqttv3.1.1\r\n" END), "/mqtt", 400,
	    "no mqtt subprotocol" },
	{ "empty Sec-WebSocket-Protocol", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol:\r\n" END), "/mqtt", 400,
	    "no mqtt subprotocol" },
	{ "obsolete line folding", R(REQ HOST UPG CONN KEY VER
	    "Sec-WebSocket-Protocol: chat,\r\n mqtt\r\n" END), "/mqtt", 400,
	    "line folding" },
	{ "header without a colon", R(REQ HOST "Upgrade websocket\r\n" CONN KEY
	    VER PROTO END), "/mqtt", 400, "malformed header line" },
	{ "space before the colon", R(REQ "Host : x\r\n" UPG CONN KEY VER PROTO
	    END), "/mqtt", 400, "malformed header line" },
	{ "empty header name", R(REQ HOST ": x\r\n" UPG CONN KEY VER PROTO END),
	    "/mqtt", 400, "malformed header line" },
	{ "NUL in a value", R(REQ HOST "X-A: a\0b\r\n" UPG CONN KEY VER PROTO
	    END), "/mqtt", 400, "control character" },
	{ "CR inside a line", R(REQ HOST "X-A: a\rb\r\n" UPG CONN KEY VER PROTO
	    END), "/mqtt", 400, "control character" },
	{ "DEL in a value", R(REQ HOST "X-A: a\x7f\r\n" UPG CONN KEY VER PROTO
	    END), "/mqtt", 400, "control character" },
};

/* The 101 response for a subprotocol (NULL: none) and an accept value. */
static void
want_101(char *w, size_t sz, const char *proto, const char *accept)
{
	snprintf(w, sz, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
	    accept != NULL ? accept : RFC_ACCEPT,
	    proto != NULL ? "Sec-WebSocket-Protocol: " : "",
	    proto != NULL ? proto : "", proto != NULL ? "\r\n" : "");
}

static void
check_buf_str(const char *name, const struct buf *b, const char *want)
{
	ck_assert_msg(buf_pending(b) == strlen(want) &&
	    memcmp(buf_data(b), want, strlen(want)) == 0,
	    "%s: got\n%.*s\nwant\n%s", name, (int)buf_pending(b),
	    (const char *)buf_data(b), want);
}

/*
 * An HTTP refusal: the status line, Connection: close, a Content-Length
 * that counts the body, and the reason as the body.
 */
static void
check_refusal(const char *name, const struct buf *out, int status,
    const char *why, const char *header)
{
	char		 s[1024], line[64], want[256];
	const char	*body, *cl;
	size_t		 n = buf_pending(out);

	ck_assert_uint_lt(n, sizeof(s));
	memcpy(s, buf_data(out), n);
	s[n] = '\0';
	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	ck_assert_msg(strncmp(s, line, strlen(line)) == 0, "%s: response "
	    "\"%s\", want status %d", name, s, status);
	ck_assert_msg(strstr(s, status == 426 ?
	    "\r\nConnection: Upgrade, close\r\n" : "\r\nConnection: close\r\n")
	    != NULL, "%s: no Connection: close in \"%s\"", name, s);
	body = strstr(s, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	body += 4;
	cl = strstr(s, "\r\nContent-Length: ");
	ck_assert_msg(cl != NULL && cl < body && (size_t)atoi(cl + 18) ==
	    strlen(body), "%s: Content-Length wrong in \"%s\"", name, s);
	snprintf(want, sizeof(want), "%s\n", why);
	ck_assert_str_eq(body, want);
	if (header != NULL) {
		snprintf(want, sizeof(want), "\r\n%s\r\n", header);
		ck_assert_msg(strstr(s, want) != NULL && strstr(s, want) < body,
		    "%s: no \"%s\" in \"%s\"", name, header, s);
	}
}

/* Checks one complete handshake answer against its row. */
static void
check_answer(const struct hs_case *c, enum ws_result res, const struct ws *ws,
    size_t used, const struct buf *out, const char *why)
{
	char	 want[512];

	if (c->status == 101) {
		ck_assert_msg(res == WS_OK, "%s: result %d, why \"%s\"",
		    c->name, res, why);
		ck_assert_uint_eq(used, c->len);
		ck_assert_int_eq(ws->state, WS_OPEN);
		ck_assert_str_eq(ws_proto_name(ws->proto),
		    c->want != NULL ? c->want : "none");
		want_101(want, sizeof(want), c->want, c->accept);
		check_buf_str(c->name, out, want);
	} else {
		ck_assert_msg(res == WS_ERROR, "%s: result %d", c->name, res);
		ck_assert_uint_eq(used, 0);
		ck_assert_int_eq(ws->state, WS_CLOSED);
		ck_assert_msg(strstr(why, c->want) != NULL, "%s: why \"%s\", "
		    "want \"%s\"", c->name, why, c->want);
		check_refusal(c->name, out, c->status, why, c->header);
	}
}

START_TEST(test_handshake)
{
	const struct hs_case	*c = &hs_cases[_i];
	struct ws		 ws = { 0 };
	struct buf		 out = { 0 };
	uint8_t			 in[2048];
	char			 why[128] = "";
	size_t			 used = 99;
	enum ws_result		 res;

	res = ws_handshake(&ws, (const uint8_t *)c->req, c->len, c->path,
	    &used, &out, why, sizeof(why));
	check_answer(c, res, &ws, used, &out, why);

	/* Frames may follow at once: they are not the request's. */
	memcpy(in, c->req, c->len);
	memcpy(in + c->len, "\x82\x80\x01\x02\x03\x04\r\n\r\n", 10);
	memset(&ws, 0, sizeof(ws));
	buf_reset(&out, 0);
	res = ws_handshake(&ws, in, c->len + 10, c->path, &used, &out, why,
	    sizeof(why));
	check_answer(c, res, &ws, used, &out, why);
	buf_free(&out);
}
END_TEST

/*
 * Each request as it would arrive a byte at a time, with one struct ws
 * (which remembers how far it looked), and cut at each length with a fresh
 * one: nothing but WS_MORE until the answer, which is the whole request's.
 */
START_TEST(test_handshake_split)
{
	const struct hs_case	*c = &hs_cases[_i];
	struct ws		 ws = { 0 }, fresh;
	struct buf		 out = { 0 };
	const uint8_t		*in = (const uint8_t *)c->req;
	char			 why[128] = "";
	size_t			 i, used;
	enum ws_result		 res = WS_MORE;

	for (i = 0; i <= c->len && res == WS_MORE; i++) {
		res = ws_handshake(&ws, in, i, c->path, &used, &out, why,
		    sizeof(why));
		if (res == WS_MORE)
			ck_assert_uint_eq(buf_pending(&out), 0);
	}
	check_answer(c, res, &ws, used, &out, why);
	if (c->status == 101)
		ck_assert_uint_eq(i, c->len + 1);

	for (i = 0; i < c->len; i++) {
		memset(&fresh, 0, sizeof(fresh));
		buf_reset(&out, 0);
		res = ws_handshake(&fresh, in, i, c->path, &used, &out, why,
		    sizeof(why));
		if (res != WS_MORE)
			check_answer(c, res, &fresh, used, &out, why);
		else
			ck_assert_uint_eq(buf_pending(&out), 0);
	}
	buf_free(&out);
}
END_TEST

/* A request padded with a header to n bytes in all. */
static size_t
padded(uint8_t *b, size_t n)
{
	static const char	 head[] = REQ HOST UPG CONN KEY VER PROTO
	    "X-Pad: ";
	size_t			 h = sizeof(head) - 1;

	ck_assert_uint_ge(n, h + 4);
	memcpy(b, head, h);
	memset(b + h, 'p', n - h - 4);
	memcpy(b + n - 4, "\r\n\r\n", 4);
	return n;
}

START_TEST(test_handshake_limits)
{
	static uint8_t	 b[3 * WS_MAX_HANDSHAKE];
	struct ws	 ws = { 0 };
	struct buf	 out = { 0 };
	char		 why[128];
	size_t		 used, i;
	enum ws_result	 res;

	/* Exactly the limit, with bytes after it: fine. */
	padded(b, WS_MAX_HANDSHAKE);
	memset(b + WS_MAX_HANDSHAKE, 0x82, 100);
	res = ws_handshake(&ws, b, WS_MAX_HANDSHAKE + 100, "/mqtt", &used,
	    &out, why, sizeof(why));
	ck_assert_int_eq(res, WS_OK);
	ck_assert_uint_eq(used, WS_MAX_HANDSHAKE);

	/* One byte over: 431, however it arrives. */
	padded(b, WS_MAX_HANDSHAKE + 1);
	memset(&ws, 0, sizeof(ws));
	buf_reset(&out, 0);
	res = ws_handshake(&ws, b, WS_MAX_HANDSHAKE + 1, "/mqtt", &used, &out,
	    why, sizeof(why));
	ck_assert_int_eq(res, WS_ERROR);
	check_refusal("over", &out, 431, "request over 8192 bytes", NULL);
	memset(&ws, 0, sizeof(ws));
	buf_reset(&out, 0);
	res = WS_MORE;
	for (i = 1; i <= WS_MAX_HANDSHAKE + 1 && res == WS_MORE; i++)
		res = ws_handshake(&ws, b, i, "/mqtt", &used, &out, why,
		    sizeof(why));
	ck_assert_int_eq(res, WS_ERROR);
	ck_assert_uint_eq(i - 1, WS_MAX_HANDSHAKE);
	check_refusal("over, by bytes", &out, 431, "request over 8192 bytes",
	    NULL);

	/* No end in sight: WS_MORE below the limit, 431 at it. */
	memset(&ws, 0, sizeof(ws));
	buf_reset(&out, 0);
	memset(b, 'a', sizeof(b));
	memcpy(b, "GET ", 4);
	res = ws_handshake(&ws, b, WS_MAX_HANDSHAKE - 1, "/mqtt", &used, &out,
	    why, sizeof(why));
	ck_assert_int_eq(res, WS_MORE);
	res = ws_handshake(&ws, b, sizeof(b), "/mqtt", &used, &out, why,
	    sizeof(why));
	ck_assert_int_eq(res, WS_ERROR);
	check_refusal("no end", &out, 431, "request over 8192 bytes", NULL);

	/* After an answer, no second handshake and nothing sent. */
	buf_reset(&out, 0);
	res = ws_handshake(&ws, (const uint8_t *)GOOD, sizeof(GOOD) - 1,
	    "/mqtt", &used, &out, why, sizeof(why));
	ck_assert_int_eq(res, WS_ERROR);
	ck_assert_uint_eq(buf_pending(&out), 0);
	memset(&ws, 0, sizeof(ws));
	ck_assert_int_eq(ws_handshake(&ws, (const uint8_t *)GOOD,
	    sizeof(GOOD) - 1, "/mqtt", &used, &out, why, sizeof(why)), WS_OK);
	buf_reset(&out, 0);
	ck_assert_int_eq(ws_handshake(&ws, (const uint8_t *)GOOD,
	    sizeof(GOOD) - 1, "/mqtt", &used, &out, why, sizeof(why)),
	    WS_ERROR);
	ck_assert_str_eq(why, "handshake already done");
	ck_assert_uint_eq(buf_pending(&out), 0);
	ck_assert_int_eq(ws.state, WS_OPEN);
	buf_free(&out);
}
END_TEST

/* ---- frames from the client ------------------------------------------- */

/* One decoder fed some way, and what came out. */
struct run {
	struct ws	 ws;
	struct buf	 app, out;
	enum ws_result	 res;
	size_t		 used;
	char		 why[128];
};

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->ws.state = WS_OPEN;
	r->res = WS_OK;
}

static void
run_free(struct run *r)
{
	buf_free(&r->app);
	buf_free(&r->out);
}

/* One ws_decode call, checking what holds for every call. */
static int
feed_one(struct run *r, const uint8_t *in, size_t n, size_t max)
{
	size_t	 used = n + 1, app0 = buf_pending(&r->app);

	r->res = ws_decode(&r->ws, in, n, max, &r->app, &r->out, &used,
	    r->why, sizeof(r->why));
	ck_assert_uint_le(used, n);
	ck_assert_uint_le(buf_pending(&r->app) - app0, used);
	r->used += used;
	if (r->res == WS_OK) {
		ck_assert_uint_eq(used, n);
		return 0;
	}
	ck_assert_int_eq(r->ws.state, WS_CLOSED);
	return -1;
}

/* Feeds in[0..n) cut at cuts[] (ascending), up to a close or an error. */
static void
feed(struct run *r, const uint8_t *in, size_t n, size_t max,
    const size_t *cuts, size_t ncuts)
{
	size_t	 start = 0, end, i;

	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : n;
		if (feed_one(r, in + start, end - start, max) == -1)
			return;
		start = end;
	}
}

static void
feed_bytes(struct run *r, const uint8_t *in, size_t n, size_t max)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (feed_one(r, in + i, 1, max) == -1)
			return;
}

static int
same_buf(const struct buf *a, const struct buf *b)
{
	return buf_pending(a) == buf_pending(b) && (buf_pending(a) == 0 ||
	    memcmp(buf_data(a), buf_data(b), buf_pending(a)) == 0);
}

/* Two runs on the same bytes must agree in everything. */
static void
check_same(const char *name, const char *how, const struct run *a,
    const struct run *b)
{
	ck_assert_msg(a->res == b->res && a->used == b->used, "%s (%s): "
	    "result %d after %zu bytes, whole: %d after %zu", name, how,
	    b->res, b->used, a->res, a->used);
	ck_assert_msg(same_buf(&a->app, &b->app), "%s (%s): app differs",
	    name, how);
	ck_assert_msg(same_buf(&a->out, &b->out), "%s (%s): out differs",
	    name, how);
	ck_assert_int_eq(a->ws.state, b->ws.state);
	ck_assert_uint_eq(a->ws.close_code, b->ws.close_code);
	if (a->res == WS_ERROR)
		ck_assert_str_eq(a->why, b->why);
}

static const struct decode_case {
	const char	*name;
	const char	*in;
	size_t		 max;
	enum ws_result	 res;
	const char	*app;		/* hex: the bytes for the broker */
	const char	*out;		/* hex: frames sent back (an error's
					   close frame is checked apart) */
	uint16_t	 code;		/* close_code afterwards */
	size_t		 left;		/* bytes not consumed */
} decode_cases[] = {
	/* RFC 6455 5.7, as binary frames. */
	{ "RFC: masked Hello", "82 85 37 fa 21 3d 7f 9f 4d 51 58", DEF_MAX,
	    WS_OK, "'Hello'", "" },
	{ "RFC: masked Hello (notation)", "82 85 {37 fa 21 3d} 'Hello'",
	    DEF_MAX, WS_OK, "'Hello'", "" },
	{ "RFC: fragmented Hello", "02 83 {37 fa 21 3d} 'Hel' ; "
	    "80 82 {01 02 03 04} 'lo'", DEF_MAX, WS_OK, "'Hello'", "" },
	{ "RFC: masked ping Hello", "89 85 {37 fa 21 3d} 'Hello'", DEF_MAX,
	    WS_OK, "", "8a 05 'Hello'" },
	{ "RFC: masked pong Hello (ignored)", "8a 85 {37 fa 21 3d} 'Hello'",
	    DEF_MAX, WS_OK, "", "" },
	{ "RFC: unmasked Hello", "82 05 'Hello'", DEF_MAX, WS_ERROR, "", "",
	    1002, 5 },
	{ "RFC: unmasked ping", "89 05 'Hello'", DEF_MAX, WS_ERROR, "", "",
	    1002, 5 },

	{ "empty binary", "82 80 {01 02 03 04}", DEF_MAX, WS_OK, "", "" },
	{ "zero mask key", "82 83 {00 00 00 00} 'abc'", DEF_MAX, WS_OK,
	    "'abc'", "" },
	{ "binary bytes", "82 86 {ff 00 80 7f} 00 01 fe ff 80 7f", DEF_MAX,
	    WS_OK, "00 01 fe ff 80 7f", "" },
	{ "two messages", "82 82 {11 22 33 44} 'ab' ; 82 83 {55 66 77 88} "
	    "'cde'", DEF_MAX, WS_OK, "'abcde'", "" },
	{ "empty ping", "89 80 {01 02 03 04}", DEF_MAX, WS_OK, "", "8a 00" },
	{ "two pings", "89 81 {01 02 03 04} 'a' ; 89 82 {05 06 07 08} 'bc'",
	    DEF_MAX, WS_OK, "", "8a 01 'a' 8a 02 'bc'" },
	{ "ping with binary payload", "89 84 {aa bb cc dd} 00 ff 10 80",
	    DEF_MAX, WS_OK, "", "8a 04 00 ff 10 80" },
	{ "fragments with ping and pong between",
	    "02 82 {01 02 03 04} 'ab' ; 89 81 {05 06 07 08} 'p' ; "
	    "00 82 {09 0a 0b 0c} 'cd' ; 8a 81 {0d 0e 0f 10} 'q' ; "
	    "80 81 {11 12 13 14} 'e'", DEF_MAX, WS_OK, "'abcde'",
	    "8a 01 'p'" },
	{ "empty fragments", "02 80 {01 02 03 04} ; 00 80 {01 02 03 04} ; "
	    "80 80 {01 02 03 04}", DEF_MAX, WS_OK, "", "" },
	{ "fragmented, then another message",
	    "02 81 {01 02 03 04} 'a' ; 80 81 {01 02 03 04} 'b' ; "
	    "82 81 {01 02 03 04} 'c'", DEF_MAX, WS_OK, "'abc'", "" },
	{ "16-bit length for 3 bytes (not minimal: accepted)",
	    "82 fe 00 03 {01 02 03 04} 'abc'", DEF_MAX, WS_OK, "'abc'", "" },
	{ "64-bit length for 3 bytes (not minimal: accepted)",
	    "82 ff 00 00 00 00 00 00 00 03 {01 02 03 04} 'abc'", DEF_MAX,
	    WS_OK, "'abc'", "" },
	{ "a frame still coming", "82 85 {01 02 03 04} 'He'", DEF_MAX, WS_OK,
	    "'He'", "" },
	{ "a header still coming", "82 fe 01", DEF_MAX, WS_OK, "", "" },
	{ "a ping still coming", "89 85 {01 02 03 04} 'Hel'", DEF_MAX, WS_OK,
	    "", "" },
	{ "nothing", "", DEF_MAX, WS_OK, "", "" },

	{ "close without a code", "88 80 {01 02 03 04}", DEF_MAX, WS_CLOSE,
	    "", "88 02 03 e8", 1005 },
	{ "close 1000", "88 82 {01 02 03 04} 03 e8", DEF_MAX, WS_CLOSE, "",
	    "88 02 03 e8", 1000 },
	{ "close 1001 with a reason", "88 86 {01 02 03 04} 03 e9 'bye!'",
	    DEF_MAX, WS_CLOSE, "", "88 02 03 e9", 1001 },
	{ "close 1003", "88 82 {01 02 03 04} 03 eb", DEF_MAX, WS_CLOSE, "",
	    "88 02 03 eb", 1003 },
	{ "close 1007", "88 82 {01 02 03 04} 03 ef", DEF_MAX, WS_CLOSE, "",
	    "88 02 03 ef", 1007 },
	{ "close 1014", "88 82 {01 02 03 04} 03 f6", DEF_MAX, WS_CLOSE, "",
	    "88 02 03 f6", 1014 },
	{ "close 3000", "88 82 {01 02 03 04} 0b b8", DEF_MAX, WS_CLOSE, "",
	    "88 02 0b b8", 3000 },
	{ "close 4999", "88 82 {01 02 03 04} 13 87", DEF_MAX, WS_CLOSE, "",
	    "88 02 13 87", 4999 },
	{ "close with a UTF-8 reason", "88 88 {01 02 03 04} 03 e8 'caf' c3 a9 "
	    "00", DEF_MAX, WS_CLOSE, "", "88 02 03 e8", 1000 },
	{ "close reason of 123 bytes",
	    "88 fd {01 02 03 04} 0f a0 "
	    "'0123456789012345678901234567890123456789012345678901234567890'"
	    "'12345678901234567890123456789012345678901234567890123456789012'",
	    DEF_MAX, WS_CLOSE, "", "88 02 0f a0", 4000 },
	{ "data, then close", "82 81 {01 02 03 04} 'a' ; 88 80 {01 02 03 04}",
	    DEF_MAX, WS_CLOSE, "'a'", "88 02 03 e8", 1005 },
	{ "ping, then close", "89 81 {01 02 03 04} 'p' ; 88 82 {01 02 03 04} "
	    "03 e8", DEF_MAX, WS_CLOSE, "", "8a 01 'p' 88 02 03 e8", 1000 },
	{ "close inside a fragmented message", "02 81 {01 02 03 04} 'a' ; "
	    "88 82 {01 02 03 04} 03 e8", DEF_MAX, WS_CLOSE, "'a'",
	    "88 02 03 e8", 1000 },
	{ "bytes after a close are not read", "88 80 {01 02 03 04} ; "
	    "82 81 {01 02 03 04} 'a'", DEF_MAX, WS_CLOSE, "", "88 02 03 e8",
	    1005, 7 },

	{ "RSV1", "c2 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1002, 5 },
	{ "RSV2", "a2 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1002, 5 },
	{ "RSV3", "92 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1002, 5 },
	{ "RSV1 on a ping", "c9 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "",
	    1002, 5 },
	{ "opcode 3", "83 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1002,
	    5 },
	{ "opcode 7", "87 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1002,
	    5 },
	{ "opcode b", "8b 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1002,
	    5 },
	{ "opcode f", "8f 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1002,
	    5 },
	{ "text", "81 85 {01 02 03 04} 'Hello'", DEF_MAX, WS_ERROR, "", "",
	    1003, 10 },
	{ "text, fragmented", "01 81 {01 02 03 04} 'H'", DEF_MAX, WS_ERROR, "",
	    "", 1003, 6 },
	{ "text inside a binary message", "02 81 {01 02 03 04} 'a' ; "
	    "81 81 {01 02 03 04} 'b'", DEF_MAX, WS_ERROR, "'a'", "", 1003, 6 },
	{ "unmasked empty binary", "82 00", DEF_MAX, WS_ERROR, "", "", 1002 },
	{ "unmasked close", "88 02 03 e8", DEF_MAX, WS_ERROR, "", "", 1002,
	    2 },
	{ "fragmented ping", "09 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "",
	    1002, 5 },
	{ "fragmented pong", "0a 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "",
	    1002, 5 },
	{ "fragmented close", "08 80 {01 02 03 04}", DEF_MAX, WS_ERROR, "", "",
	    1002, 5 },
	{ "ping of 126 bytes", "89 fe 00 7e", DEF_MAX, WS_ERROR, "", "", 1002,
	    2 },
	{ "close with a 64-bit length", "88 ff 00 00 00 00 00 00 00 02",
	    DEF_MAX, WS_ERROR, "", "", 1002, 8 },
	{ "continuation first", "80 81 {01 02 03 04} 'a'", DEF_MAX, WS_ERROR,
	    "", "", 1002, 6 },
	{ "continuation, not final, first", "00 81 {01 02 03 04} 'a'", DEF_MAX,
	    WS_ERROR, "", "", 1002, 6 },
	{ "continuation after the last fragment", "02 81 {01 02 03 04} 'a' ; "
	    "80 81 {01 02 03 04} 'b' ; 00 81 {01 02 03 04} 'c'", DEF_MAX,
	    WS_ERROR, "'ab'", "", 1002, 6 },
	{ "new binary inside a message", "02 81 {01 02 03 04} 'a' ; "
	    "82 81 {01 02 03 04} 'b'", DEF_MAX, WS_ERROR, "'a'", "", 1002, 6 },
	{ "new fragmented binary inside a message", "02 81 {01 02 03 04} 'a' ;"
	    " 02 81 {01 02 03 04} 'b'", DEF_MAX, WS_ERROR, "'a'", "", 1002, 6 },
	{ "64-bit length, top bit set", "82 ff 80 00 00 00 00 00 00 00 "
	    "{01 02 03 04}", NO_MAX, WS_ERROR, "", "", 1002, 4 },
	{ "64-bit length, all ones", "82 ff ff ff ff ff ff ff ff ff", NO_MAX,
	    WS_ERROR, "", "", 1002 },
	{ "error after a pong is queued", "89 81 {01 02 03 04} 'p' ; 82 00",
	    DEF_MAX, WS_ERROR, "", "8a 01 'p'", 1002 },

	{ "exactly max", "82 85 {01 02 03 04} 'Hello'", 5, WS_OK, "'Hello'",
	    "" },
	{ "one over max", "82 86 {01 02 03 04} 'Hello!'", 5, WS_ERROR, "", "",
	    1009, 10 },
	{ "16-bit length over max", "82 fe 00 c9 {01 02 03 04}", 200, WS_ERROR,
	    "", "", 1009, 4 },
	{ "16-bit length at max", "82 fe 00 c8 {01 02 03 04}", 200, WS_OK, "",
	    "" },
	{ "64-bit length over max", "82 ff 00 00 00 01 00 00 00 00 "
	    "{01 02 03 04}", DEF_MAX, WS_ERROR, "", "", 1009, 4 },
	{ "64-bit length at 2^63-1", "82 ff 7f ff ff ff ff ff ff ff "
	    "{01 02 03 04} 'abc'", NO_MAX, WS_OK, "'abc'", "" },
	{ "message over max across fragments", "02 83 {01 02 03 04} 'Hel' ; "
	    "80 83 {01 02 03 04} 'lo!'", 5, WS_ERROR, "'Hel'", "", 1009, 7 },
	{ "message at max across fragments", "02 83 {01 02 03 04} 'Hel' ; "
	    "00 80 {01 02 03 04} ; 80 82 {01 02 03 04} 'lo'", 5, WS_OK,
	    "'Hello'", "" },
	{ "max is per message", "82 85 {01 02 03 04} 'Hello' ; "
	    "82 85 {01 02 03 04} 'World'", 5, WS_OK, "'HelloWorld'", "" },
	{ "control frames do not count", "02 83 {01 02 03 04} 'abc' ; "
	    "89 85 {01 02 03 04} 'Hello' ; 80 80 {01 02 03 04}", 3, WS_OK,
	    "'abc'", "8a 05 'Hello'" },
	{ "max 0: empty messages only", "82 80 {01 02 03 04} ; 82 81", 0,
	    WS_ERROR, "", "", 1009 },

	{ "close of 1 byte", "88 81 {01 02 03 04} 03", DEF_MAX, WS_ERROR, "",
	    "", 1002 },
	{ "close 0", "88 82 {01 02 03 04} 00 00", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 999", "88 82 {01 02 03 04} 03 e7", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 1004", "88 82 {01 02 03 04} 03 ec", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 1005", "88 82 {01 02 03 04} 03 ed", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 1006", "88 82 {01 02 03 04} 03 ee", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 1015", "88 82 {01 02 03 04} 03 f7", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 1016", "88 82 {01 02 03 04} 03 f8", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 2999", "88 82 {01 02 03 04} 0b b7", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 5000", "88 82 {01 02 03 04} 13 88", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close 65535", "88 82 {01 02 03 04} ff ff", DEF_MAX, WS_ERROR, "", "",
	    1002 },
	{ "close reason: invalid byte", "88 83 {01 02 03 04} 03 e8 ff",
	    DEF_MAX, WS_ERROR, "", "", 1007 },
	{ "close reason: cut sequence", "88 84 {01 02 03 04} 03 e8 'a' c3",
	    DEF_MAX, WS_ERROR, "", "", 1007 },
	{ "close reason: overlong /", "88 84 {01 02 03 04} 03 e8 c0 af",
	    DEF_MAX, WS_ERROR, "", "", 1007 },
	{ "close reason: surrogate", "88 85 {01 02 03 04} 03 e8 ed a0 80",
	    DEF_MAX, WS_ERROR, "", "", 1007 },
	{ "close reason: past U+10FFFF", "88 86 {01 02 03 04} 03 e8 f4 90 80 "
	    "80", DEF_MAX, WS_ERROR, "", "", 1007 },
	{ "close reason: lone continuation", "88 83 {01 02 03 04} 03 e8 80",
	    DEF_MAX, WS_ERROR, "", "", 1007 },
};

/* The close frame an error appends: its code and why as the reason. */
static void
check_error_close(const char *name, const struct run *r, size_t before,
    uint16_t code)
{
	const uint8_t	*p = buf_data(&r->out) + before;
	size_t		 n = buf_pending(&r->out) - before;

	ck_assert_msg(n >= 4 && p[0] == 0x88 && p[1] == n - 2, "%s: no close "
	    "frame after the other output", name);
	ck_assert_uint_eq(p[2] << 8 | p[3], code);
	ck_assert_msg(n - 4 == strlen(r->why) && memcmp(p + 4, r->why, n - 4)
	    == 0, "%s: reason \"%.*s\", why \"%s\"", name, (int)(n - 4),
	    p + 4, r->why);
}

START_TEST(test_decode)
{
	const struct decode_case	*c = &decode_cases[_i];
	struct run			 whole, r;
	uint8_t				 in[512], want[512];
	size_t				 n, m, i, j, cuts[2];

	n = unhex(c->in, in, sizeof(in));
	run_init(&whole);
	feed(&whole, in, n, c->max, NULL, 0);
	ck_assert_msg(whole.res == c->res, "%s: result %d (%s), want %d",
	    c->name, whole.res, whole.why, c->res);
	ck_assert_msg(whole.used == n - c->left, "%s: %zu bytes used, want %zu",
	    c->name, whole.used, n - c->left);
	m = unhex(c->app, want, sizeof(want));
	ck_assert_msg(buf_pending(&whole.app) == m && (m == 0 ||
	    memcmp(buf_data(&whole.app), want, m) == 0), "%s: app differs",
	    c->name);
	m = unhex(c->out, want, sizeof(want));
	if (c->res == WS_ERROR) {
		ck_assert_uint_ge(buf_pending(&whole.out), m);
		check_error_close(c->name, &whole, m, c->code);
	} else
		ck_assert_uint_eq(buf_pending(&whole.out), m);
	ck_assert_msg(m == 0 || memcmp(buf_data(&whole.out), want, m) == 0,
	    "%s: out differs", c->name);
	ck_assert_uint_eq(whole.ws.close_code, c->code);
	ck_assert_int_eq(whole.ws.state, c->res == WS_OK ? WS_OPEN :
	    WS_CLOSED);

	/* Once closed, nothing more is read or sent. */
	if (c->res != WS_OK) {
		r = whole;
		m = buf_pending(&r.out);
		ck_assert_int_eq(ws_decode(&r.ws, in, n, c->max, &r.app,
		    &r.out, &r.used, r.why, sizeof(r.why)), WS_CLOSE);
		ck_assert_uint_eq(r.used, 0);
		ck_assert_uint_eq(buf_pending(&r.out), m);
	}

	/* Cut once and twice everywhere, and a byte at a time. */
	for (i = 0; i <= n; i++) {
		cuts[0] = i;
		run_init(&r);
		feed(&r, in, n, c->max, cuts, 1);
		check_same(c->name, "one cut", &whole, &r);
		run_free(&r);
		for (j = i; j <= n; j++) {
			cuts[1] = j;
			run_init(&r);
			feed(&r, in, n, c->max, cuts, 2);
			check_same(c->name, "two cuts", &whole, &r);
			run_free(&r);
		}
	}
	run_init(&r);
	feed_bytes(&r, in, n, c->max);
	check_same(c->name, "bytes", &whole, &r);
	run_free(&r);
	run_free(&whole);
}
END_TEST

/* Payloads with each length form, cut in the header and the payload. */
START_TEST(test_lengths)
{
	static const size_t	 sizes[] = { 0, 1, 7, 8, 9, 125, 126, 127, 200,
	    65535, 65536, 70001 };
	static const size_t	 hdrs[] = { 6, 6, 6, 6, 6, 6, 8, 8, 8, 8, 14,
	    14 };
	struct buf		 in = { 0 };
	struct run		 whole, r;
	uint8_t			*p;
	uint32_t		 seed = 12345;
	size_t			 k, i, n, cut;

	for (k = 0; k < FMQ_NELEM(sizes); k++) {
		n = sizes[k];
		p = xmalloc(n + 1);
		for (i = 0; i < n; i++)
			p[i] = (uint8_t)rnd(&seed);
		buf_reset(&in, 0);
		client_frame(&in, 0x82, p, n, &seed);
		ck_assert_uint_eq(buf_pending(&in), hdrs[k] + n);

		run_init(&whole);
		feed(&whole, buf_data(&in), buf_pending(&in), NO_MAX, NULL, 0);
		ck_assert_int_eq(whole.res, WS_OK);
		ck_assert_uint_eq(buf_pending(&whole.app), n);
		ck_assert(n == 0 || memcmp(buf_data(&whole.app), p, n) == 0);
		ck_assert_uint_eq(buf_pending(&whole.out), 0);

		/* Every cut in the header and the first payload bytes,
		 * then a few more; byte at a time when small. */
		for (cut = 0; cut <= buf_pending(&in); cut++) {
			if (cut > hdrs[k] + 9 && cut + 9 < buf_pending(&in) &&
			    cut % 997 != 0)
				continue;
			run_init(&r);
			feed(&r, buf_data(&in), buf_pending(&in), NO_MAX, &cut,
			    1);
			check_same("lengths", "cut", &whole, &r);
			run_free(&r);
		}
		if (n <= 300) {
			run_init(&r);
			feed_bytes(&r, buf_data(&in), buf_pending(&in), NO_MAX);
			check_same("lengths", "bytes", &whole, &r);
			run_free(&r);
		}

		/* One byte short of the limit: 1009 from the header. */
		if (n > 0) {
			run_init(&r);
			feed(&r, buf_data(&in), buf_pending(&in), n - 1, NULL,
			    0);
			ck_assert_int_eq(r.res, WS_ERROR);
			ck_assert_uint_eq(r.ws.close_code, 1009);
			ck_assert_uint_eq(r.used, hdrs[k] - 4);
			ck_assert_uint_eq(buf_pending(&r.app), 0);
			run_free(&r);
		}
		run_free(&whole);
		free(p);
	}
	buf_free(&in);
}
END_TEST

/* A 2^32-byte frame is taken as it comes, without room set aside for it. */
START_TEST(test_huge_frame)
{
	static const uint8_t	 hdr[] = { 0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0,
	    0, 0, 0, 0 };
	static uint8_t		 chunk[4096];
	struct run		 r;
	int			 i;

	run_init(&r);
	ck_assert_int_eq(feed_one(&r, hdr, sizeof(hdr), NO_MAX), 0);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(feed_one(&r, chunk, sizeof(chunk), NO_MAX), 0);
	ck_assert_uint_eq(buf_pending(&r.app), 16 * sizeof(chunk));
	ck_assert_uint_le(r.app.cap, 2 * 16 * sizeof(chunk));
	ck_assert_uint_eq(r.ws.remaining, (1ull << 32) - 16 * sizeof(chunk));
	run_free(&r);
}
END_TEST

/* Control payloads of 125 bytes, the most: answered whole. */
START_TEST(test_control_max)
{
	struct buf	 in = { 0 };
	struct run	 r;
	uint8_t		 p[125];
	uint32_t	 seed = 99;
	size_t		 i;

	for (i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)rnd(&seed);
	client_frame(&in, 0x89, p, sizeof(p), &seed);
	run_init(&r);
	feed_bytes(&r, buf_data(&in), buf_pending(&in), DEF_MAX);
	ck_assert_int_eq(r.res, WS_OK);
	ck_assert_uint_eq(buf_pending(&r.out), 2 + sizeof(p));
	ck_assert_uint_eq(buf_data(&r.out)[0], 0x8a);
	ck_assert_uint_eq(buf_data(&r.out)[1], 125);
	ck_assert(memcmp(buf_data(&r.out) + 2, p, sizeof(p)) == 0);
	run_free(&r);

	/* A close with a code and 123 bytes of reason. */
	p[0] = 0x0b, p[1] = 0xb8;
	memset(p + 2, 'r', sizeof(p) - 2);
	buf_reset(&in, 0);
	client_frame(&in, 0x88, p, sizeof(p), &seed);
	run_init(&r);
	feed(&r, buf_data(&in), buf_pending(&in), DEF_MAX, NULL, 0);
	ck_assert_int_eq(r.res, WS_CLOSE);
	ck_assert_uint_eq(r.ws.close_code, 3000);
	run_free(&r);
	buf_free(&in);
}
END_TEST

/*
 * A stream of several frames of each kind: cut everywhere, twice
 * everywhere in its first part, and fed a byte at a time.
 */
START_TEST(test_stream)
{
	struct buf	 in = { 0 }, app = { 0 }, out = { 0 };
	struct run	 whole, r;
	uint8_t		 big[300];
	uint32_t	 seed = 7;
	size_t		 i, j, n, cuts[2];

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	client_frame(&in, 0x82, "\x10\x02", 2, &seed);
	client_frame(&in, 0x89, "ping", 4, &seed);
	client_frame(&in, 0x02, "ab", 2, &seed);
	client_frame(&in, 0x8a, "pong", 4, &seed);
	client_frame(&in, 0x00, "", 0, &seed);
	client_frame(&in, 0x89, "", 0, &seed);
	client_frame(&in, 0x80, "cd", 2, &seed);
	client_frame(&in, 0x82, "", 0, &seed);
	client_frame(&in, 0x82, "\xc0\x00", 2, &seed);
	n = buf_pending(&in);		/* the first part */
	client_frame(&in, 0x82, big, sizeof(big), &seed);
	client_frame(&in, 0x02, big, 100, &seed);
	client_frame(&in, 0x89, big, 125, &seed);
	client_frame(&in, 0x80, big + 100, 200, &seed);
	client_frame(&in, 0x88, "\x03\xe8" "done", 6, &seed);
	client_frame(&in, 0x82, "after", 5, &seed);

	buf_append(&app, "\x10\x02" "abcd\xc0\x00", 8);
	buf_append(&app, big, sizeof(big));
	buf_append(&app, big, sizeof(big));
	buf_append(&out, "\x8a\x04ping\x8a\x00", 8);
	buf_append(&out, "\x8a\x7d", 2);
	buf_append(&out, big, 125);
	buf_append(&out, "\x88\x02\x03\xe8", 4);

	run_init(&whole);
	feed(&whole, buf_data(&in), buf_pending(&in), DEF_MAX, NULL, 0);
	ck_assert_int_eq(whole.res, WS_CLOSE);
	ck_assert_uint_eq(whole.used, buf_pending(&in) - 11);
	ck_assert(same_buf(&whole.app, &app));
	ck_assert(same_buf(&whole.out, &out));
	ck_assert_uint_eq(whole.ws.close_code, 1000);

	for (i = 0; i <= buf_pending(&in); i++) {
		cuts[0] = i;
		run_init(&r);
		feed(&r, buf_data(&in), buf_pending(&in), DEF_MAX, cuts, 1);
		check_same("stream", "one cut", &whole, &r);
		run_free(&r);
	}
	for (i = 0; i <= n; i++)
		for (j = i; j <= n; j++) {
			cuts[0] = i;
			cuts[1] = j;
			run_init(&r);
			feed(&r, buf_data(&in), n, DEF_MAX, cuts, 2);
			ck_assert_int_eq(r.res, WS_OK);
			ck_assert_uint_eq(buf_pending(&r.app), 8);
			ck_assert(memcmp(buf_data(&r.app), buf_data(&app), 8) ==
			    0);
			ck_assert_uint_eq(buf_pending(&r.out), 8);
			run_free(&r);
		}
	run_init(&r);
	feed_bytes(&r, buf_data(&in), buf_pending(&in), DEF_MAX);
	check_same("stream", "bytes", &whole, &r);
	run_free(&r);
	run_free(&whole);
	buf_free(&in);
	buf_free(&app);
	buf_free(&out);
}
END_TEST

/* The handshake and the first frames in one read. */
START_TEST(test_upgrade_then_frames)
{
	struct ws	 ws = { 0 };
	struct buf	 in = { 0 }, app = { 0 }, out = { 0 };
	uint32_t	 seed = 3;
	char		 why[128];
	size_t		 used, used2;
	char		 want[512];

	buf_append(&in, GOOD, sizeof(GOOD) - 1);
	client_frame(&in, 0x82, "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00",
	    14, &seed);
	ck_assert_int_eq(ws_decode(&ws, buf_data(&in), buf_pending(&in),
	    DEF_MAX, &app, &out, &used, why, sizeof(why)), WS_ERROR);
	ck_assert_str_eq(why, "frames before the handshake");
	ck_assert_uint_eq(buf_pending(&out), 0);
	ck_assert_int_eq(ws_handshake(&ws, buf_data(&in), buf_pending(&in),
	    "/mqtt", &used, &out, why, sizeof(why)), WS_OK);
	ck_assert_uint_eq(used, sizeof(GOOD) - 1);
	want_101(want, sizeof(want), "mqtt", NULL);
	check_buf_str("upgrade", &out, want);
	ck_assert_int_eq(ws_decode(&ws, buf_data(&in) + used,
	    buf_pending(&in) - used, DEF_MAX, &app, &out, &used2, why,
	    sizeof(why)), WS_OK);
	ck_assert_uint_eq(used2, buf_pending(&in) - used);
	ck_assert_uint_eq(buf_pending(&app), 14);
	ck_assert(memcmp(buf_data(&app), "\x10\x0c\x00\x04MQTT", 8) == 0);
	buf_free(&in);
	buf_free(&app);
	buf_free(&out);
}
END_TEST

/* ---- frames to the client --------------------------------------------- */

static const struct encode_case {
	size_t		 len;
	const char	*hdr;
} encode_cases[] = {
	{ 0, "82 00" },
	{ 1, "82 01" },
	{ 125, "82 7d" },
	{ 126, "82 7e 00 7e" },
	{ 127, "82 7e 00 7f" },
	{ 65535, "82 7e ff ff" },
	{ 65536, "82 7f 00 00 00 00 00 01 00 00" },
	{ 100000, "82 7f 00 00 00 00 00 01 86 a0" },
};

START_TEST(test_encode)
{
	const struct encode_case	*c = &encode_cases[_i];
	struct buf			 out = { 0 };
	uint8_t				 h[16], *p;
	size_t				 hn, i;
	uint32_t			 seed = 5;

	p = xmalloc(c->len + 1);
	for (i = 0; i < c->len; i++)
		p[i] = (uint8_t)rnd(&seed);
	hn = unhex(c->hdr, h, sizeof(h));
	buf_append(&out, "x", 1);	/* appends to what is there */
	ws_encode(&out, p, c->len);
	ck_assert_uint_eq(buf_pending(&out), 1 + hn + c->len);
	ck_assert_uint_eq(buf_data(&out)[0], 'x');
	for (i = 0; i < hn; i++)
		ck_assert_msg(buf_data(&out)[1 + i] == h[i], "length %zu: "
		    "header byte %zu is %02x, want %02x", c->len, i,
		    buf_data(&out)[1 + i], h[i]);
	ck_assert(c->len == 0 || memcmp(buf_data(&out) + 1 + hn, p, c->len) ==
	    0);
	free(p);
	buf_free(&out);
}
END_TEST

static const struct close_case {
	const char	*name;
	uint16_t	 code;
	const char	*reason;
	const char	*want;
} close_cases[] = {
	{ "no code", 0, NULL, "88 00" },
	{ "no code drops the reason", 0, "x", "88 00" },
	{ "1000", 1000, NULL, "88 02 03 e8" },
	{ "1001, empty reason", 1001, "", "88 02 03 e9" },
	{ "1008 with a reason", 1008, "not authorized",
	    "88 10 03 f0 'not authorized'" },
	{ "4000", 4000, "x", "88 03 0f a0 'x'" },
	{ "reason of 123 bytes",
	    1011, "0123456789012345678901234567890123456789012345678901234567890"
	    "12345678901234567890123456789012345678901234567890123456789012",
	    "88 7d 03 f3 '0123456789012345678901234567890123456789012345678901"
	    "234567890' '12345678901234567890123456789012345678901234567890123"
	    "456789012'" },
	{ "reason cut to 123 bytes",
	    1011, "0123456789012345678901234567890123456789012345678901234567890"
	    "123456789012345678901234567890123456789012345678901234567890123",
	    "88 7d 03 f3 '0123456789012345678901234567890123456789012345678901"
	    "234567890' '12345678901234567890123456789012345678901234567890123"
	    "456789012'" },
	{ "reason cut before a split character",
	    1011, "0123456789012345678901234567890123456789012345678901234567890"
	    "1234567890123456789012345678901234567890123456789012345678901\xc3\xa9",
	    "88 7c 03 f3 '0123456789012345678901234567890123456789012345678901"
	    "234567890' '12345678901234567890123456789012345678901234567890123"
	    "45678901'" },
};

START_TEST(test_encode_close)
{
	const struct close_case	*c = &close_cases[_i];
	struct ws		 ws = { .state = WS_OPEN };
	struct buf		 out = { 0 };
	uint8_t			 want[256];
	size_t			 n;

	n = unhex(c->want, want, sizeof(want));
	ws_encode_close(&ws, &out, c->code, c->reason);
	ck_assert_msg(buf_pending(&out) == n && memcmp(buf_data(&out), want, n)
	    == 0, "%s: %zu bytes, want %zu", c->name, buf_pending(&out), n);
	ck_assert_int_eq(ws.state, WS_CLOSING);
	ck_assert_uint_eq(ws.close_code, c->code != 0 ? c->code : 1005);

	/* One close is all: a second one sends nothing. */
	ws_encode_close(&ws, &out, 1000, "again");
	ck_assert_uint_eq(buf_pending(&out), n);
	ck_assert_int_eq(ws.state, WS_CLOSING);
	buf_free(&out);
}
END_TEST

/* A code that may not be sent is a bug of the caller. */
START_TEST(test_encode_close_bad_code)
{
	static const uint16_t	 codes[] = { 999, 1004, 1005, 1006, 1015, 1016,
	    2999, 5000 };
	struct ws		 ws = { .state = WS_OPEN };
	struct buf		 out = { 0 };

	ws_encode_close(&ws, &out, codes[_i], NULL);
}
END_TEST

/*
 * After our close: data is dropped, pings go unanswered, and the client's
 * close ends it without another close from us.
 */
START_TEST(test_closing)
{
	struct buf	 in = { 0 };
	struct run	 r, b;
	uint32_t	 seed = 11;

	client_frame(&in, 0x82, "data", 4, &seed);
	client_frame(&in, 0x89, "ping", 4, &seed);
	client_frame(&in, 0x02, "frag", 4, &seed);
	client_frame(&in, 0x80, "ment", 4, &seed);
	client_frame(&in, 0x88, "\x03\xe9", 2, &seed);

	run_init(&r);
	ws_encode_close(&r.ws, &r.out, 1001, "going away");
	buf_reset(&r.out, 0);
	b = r;
	feed(&r, buf_data(&in), buf_pending(&in), DEF_MAX, NULL, 0);
	ck_assert_int_eq(r.res, WS_CLOSE);
	ck_assert_uint_eq(r.used, buf_pending(&in));
	ck_assert_uint_eq(buf_pending(&r.app), 0);
	ck_assert_uint_eq(buf_pending(&r.out), 0);
	ck_assert_int_eq(r.ws.state, WS_CLOSED);
	ck_assert_uint_eq(r.ws.close_code, 1001);
	feed_bytes(&b, buf_data(&in), buf_pending(&in), DEF_MAX);
	check_same("closing", "bytes", &r, &b);
	run_free(&r);

	/* A bad frame now: an error, but no second close frame. */
	run_init(&r);
	ws_encode_close(&r.ws, &r.out, 1001, NULL);
	buf_reset(&r.out, 0);
	feed(&r, (const uint8_t *)"\x81\x80", 2, DEF_MAX, NULL, 0);
	ck_assert_int_eq(r.res, WS_ERROR);
	ck_assert_uint_eq(buf_pending(&r.out), 0);
	ck_assert_uint_eq(r.ws.close_code, 1001);
	ck_assert_int_eq(r.ws.state, WS_CLOSED);
	run_free(&r);
	buf_free(&in);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(ws_state_name(WS_HANDSHAKE), "handshake");
	ck_assert_str_eq(ws_state_name(WS_OPEN), "open");
	ck_assert_str_eq(ws_state_name(WS_CLOSING), "closing");
	ck_assert_str_eq(ws_state_name(WS_CLOSED), "closed");
	ck_assert_str_eq(ws_state_name(-1), "unknown");
	ck_assert_str_eq(ws_state_name(4), "unknown");
	ck_assert_str_eq(ws_proto_name(WS_PROTO_NONE), "none");
	ck_assert_str_eq(ws_proto_name(WS_PROTO_MQTT), "mqtt");
	ck_assert_str_eq(ws_proto_name(WS_PROTO_MQTTV31), "mqttv3.1");
	ck_assert_str_eq(ws_proto_name(3), "unknown");
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
ws_suite(void)
{
	Suite	*s = suite_create("ws");
	TCase	*tc;

	add_loop(s, "handshake", test_handshake, FMQ_NELEM(hs_cases));
	add_loop(s, "handshake_split", test_handshake_split,
	    FMQ_NELEM(hs_cases));
	add_one(s, "handshake_limits", test_handshake_limits);
	add_loop(s, "decode", test_decode, FMQ_NELEM(decode_cases));
	tc = tcase_create("lengths");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lengths);
	suite_add_tcase(s, tc);
	add_one(s, "huge_frame", test_huge_frame);
	add_one(s, "control_max", test_control_max);
	tc = tcase_create("stream");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stream);
	suite_add_tcase(s, tc);
	add_one(s, "upgrade_then_frames", test_upgrade_then_frames);
	add_loop(s, "encode", test_encode, FMQ_NELEM(encode_cases));
	add_loop(s, "encode_close", test_encode_close, FMQ_NELEM(close_cases));
	tc = tcase_create("encode_close_bad_code");
	tcase_add_loop_exit_test(tc, test_encode_close_bad_code, 1, 0, 8);
	suite_add_tcase(s, tc);
	add_one(s, "closing", test_closing);
	add_one(s, "names", test_names);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(ws_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
