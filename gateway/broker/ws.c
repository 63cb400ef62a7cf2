/*
 * WebSocket for MQTT, server side (RFC 6455): the opening handshake as a
 * small HTTP/1.1 request parser, a frame decoder that keeps at most one
 * frame header and one control payload between calls, and the encoders.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "broker/ws.h"
#include "buf.h"
#include "util.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KEY_LEN		24	/* base64 of the 16-byte nonce */
#define ACCEPT_LEN	28	/* base64 of a SHA-1 digest */
#define METHOD_MAX	16	/* longer than any method we could answer */

/* Frame header bits (section 5.2). */
#define B0_FIN		0x80
#define B0_RSV		0x70
#define B0_OPCODE	0x0f
#define B1_MASK		0x80
#define B1_LEN		0x7f

enum opcode {
	OP_CONT = 0x0,
	OP_TEXT = 0x1,
	OP_BINARY = 0x2,
	OP_CLOSE = 0x8,
	OP_PING = 0x9,
	OP_PONG = 0xa,
};
#define IS_CONTROL(op)	(((op) & 0x8) != 0)

/* Close codes (section 7.4.1). */
#define CLOSE_NORMAL		1000
#define CLOSE_PROTOCOL		1002
#define CLOSE_UNSUPPORTED	1003
#define CLOSE_NO_STATUS		1005
#define CLOSE_BAD_DATA		1007
#define CLOSE_TOO_BIG		1009

static const char *const state_names[] = {
	[WS_HANDSHAKE] = "handshake",
	[WS_OPEN] = "open",
	[WS_CLOSING] = "closing",
	[WS_CLOSED] = "closed",
};

/* The subprotocol names, as sent and echoed. */
static const char *const proto_names[] = {
	[WS_PROTO_NONE] = "none",
	[WS_PROTO_MQTT] = "mqtt",
	[WS_PROTO_MQTTV31] = "mqttv3.1",
};

static void
set_why(char *why, size_t whysz, const char *s)
{
	if (why != NULL && whysz > 0)
		snprintf(why, whysz, "%s", s);
}

/* ---- the opening handshake (section 4.2) ------------------------------ */

/* The HTTP statuses a refused handshake answers with. */
enum status {
	ST_BAD,
	ST_NOT_FOUND,
	ST_METHOD,
	ST_UPGRADE,
	ST_TOO_LARGE,
};

static const struct status_info {
	int		 code;
	const char	*text;
	const char	*headers;
} statuses[] = {
	[ST_BAD] = { 400, "Bad Request", "Connection: close\r\n" },
	[ST_NOT_FOUND] = { 404, "Not Found", "Connection: close\r\n" },
	[ST_METHOD] = { 405, "Method Not Allowed",
	    "Allow: GET\r\nConnection: close\r\n" },
	/* RFC 7230 6.7: who sends Upgrade names it in Connection too. */
	[ST_UPGRADE] = { 426, "Upgrade Required",
	    "Upgrade: websocket\r\nConnection: Upgrade, close\r\n"
	    "Sec-WebSocket-Version: 13\r\n" },
	[ST_TOO_LARGE] = { 431, "Request Header Fields Too Large",
	    "Connection: close\r\n" },
};

/* Why a handshake is refused. */
struct refusal {
	enum status	 st;
	const char	*why;
};

/* Bytes of the request: a line, a header value, a list element. */
struct span {
	const uint8_t	*p;
	size_t		 len;
};

/* What the headers said. */
struct request {
	int		 host;		/* Host fields seen */
	int		 upgrade;	/* Upgrade lists websocket */
	int		 connection;	/* Connection lists upgrade */
	int		 versions;	/* Sec-WebSocket-Version fields seen */
	int		 version_ok;	/* ... and it is 13 */
	int		 keys;		/* Sec-WebSocket-Key fields seen */
	struct span	 key;
	int		 offered;	/* Sec-WebSocket-Protocol seen */
	int		 mqtt, mqttv31;	/* ... listing these */
};

static int
refuse(struct refusal *r, enum status st, const char *why)
{
	r->st = st;
	r->why = why;
	return -1;
}

static int
span_eq(struct span s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static int
span_caseeq(struct span s, const char *lit)
{
	size_t	 i;

	if (s.len != strlen(lit))
		return 0;
	for (i = 0; i < s.len; i++) {
		uint8_t	 c = s.p[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (uint8_t)lit[i])	/* lit is lower case */
			return 0;
	}
	return 1;
}

static int
is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* A character of an HTTP token (RFC 7230 3.2.6). */
static int
is_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static struct span
span_trim(struct span s)
{
	while (s.len > 0 && is_ows(s.p[0]))
		s.p++, s.len--;
	while (s.len > 0 && is_ows(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* The next non-empty element of a comma list (RFC 7230 7); 0 at the end. */
static int
list_next(struct span *list, struct span *elem)
{
	const uint8_t	*comma;
	size_t		 n;

	while (list->len > 0) {
		comma = memchr(list->p, ',', list->len);
		n = comma != NULL ? (size_t)(comma - list->p) : list->len;
		elem->p = list->p;
		elem->len = n;
		*elem = span_trim(*elem);
		list->p += n;
		list->len -= n;
		if (list->len > 0)
			list->p++, list->len--;
		if (elem->len > 0)
			return 1;
	}
	return 0;
}

/*
 * Whether p[0..n) can begin a request line: a method token (of a sane
 * length) up to the first space. Judged on every call, so a client that
 * speaks MQTT or TLS to this port is refused at once.
 */
static int
method_prefix_ok(const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && i <= METHOD_MAX; i++) {
		if (p[i] == ' ')
			return i > 0;
		if (!is_tchar(p[i]))
			return 0;
	}
	return i <= METHOD_MAX;
}

/*
 * Looks for the blank line that ends the request, from where the last call
 * stopped; returns 1 and the request's length in *end when found.
 */
static int
find_end(struct ws *ws, const uint8_t *in, size_t len, size_t *end)
{
	const uint8_t	*nl;
	size_t		 lim, start, i;

	lim = len < WS_MAX_HANDSHAKE ? len : WS_MAX_HANDSHAKE;
	start = ws->scanned <= lim ? ws->scanned : 0;
	while ((nl = memchr(in + start, '\n', lim - start)) != NULL) {
		i = (size_t)(nl - in);
		/* Lines end with CRLF, or a bare LF (RFC 7230 3.5). */
		if (i == start || (i == start + 1 && in[start] == '\r')) {
			*end = i + 1;
			return 1;
		}
		start = i + 1;
	}
	ws->scanned = start;
	return 0;
}

/* The next line of the request without its end; 0 past the last. */
static int
next_line(const uint8_t *in, size_t end, size_t *pos, struct span *line)
{
	const uint8_t	*nl;

	if (*pos >= end)
		return 0;
	nl = memchr(in + *pos, '\n', end - *pos);
	if (nl == NULL)		/* find_end saw to it */
		fatal("ws: request without its end");
	line->p = in + *pos;
	line->len = (size_t)(nl - line->p);
	if (line->len > 0 && line->p[line->len - 1] == '\r')
		line->len--;
	*pos = (size_t)(nl - in) + 1;
	return 1;
}

/* GET /path?query HTTP/1.1 */
static int
request_line(struct span line, const char *path, struct refusal *r)
{
	const uint8_t	*sp;
	struct span	 method, target, version;
	size_t		 i, plen;

	if (!method_prefix_ok(line.p, line.len) ||
	    (sp = memchr(line.p, ' ', line.len)) == NULL)
		return refuse(r, ST_BAD, "malformed request line");
	method.p = line.p;
	method.len = (size_t)(sp - line.p);
	target.p = sp + 1;
	sp = memchr(target.p, ' ', line.len - method.len - 1);
	if (sp == NULL)
		return refuse(r, ST_BAD, "malformed request line");
	target.len = (size_t)(sp - target.p);
	version.p = sp + 1;
	version.len = line.len - method.len - target.len - 2;
	if (target.len == 0)
		return refuse(r, ST_BAD, "malformed request line");
	for (i = 0; i < target.len; i++)
		if (target.p[i] <= ' ' || target.p[i] >= 0x7f)
			return refuse(r, ST_BAD, "malformed request line");
	if (!span_eq(method, "GET"))
		return refuse(r, ST_METHOD, "method not allowed: GET only");
	if (!span_eq(version, "HTTP/1.1"))
		return refuse(r, ST_BAD, "HTTP/1.1 required");
	if (target.p[0] != '/')
		return refuse(r, ST_BAD, "request target is not a path");
	if (path == NULL)
		return 0;
	for (plen = 0; plen < target.len && target.p[plen] != '?'; plen++)
		;
	if (plen != strlen(path) || memcmp(target.p, path, plen) != 0)
		return refuse(r, ST_NOT_FOUND, "no WebSocket endpoint here");
	return 0;
}

static const char *
hdr_host(struct request *rq, struct span v)
{
	return rq->host++ > 0 ? "more than one Host" : NULL;
}

static const char *
hdr_upgrade(struct request *rq, struct span v)
{
	struct span	 e;

	while (list_next(&v, &e))
		if (span_caseeq(e, "websocket"))
			rq->upgrade = 1;
	return NULL;
}

static const char *
hdr_connection(struct request *rq, struct span v)
{
	struct span	 e;

	while (list_next(&v, &e))
		if (span_caseeq(e, "upgrade"))
			rq->connection = 1;
	return NULL;
}

static const char *
hdr_version(struct request *rq, struct span v)
{
	if (rq->versions++ > 0)
		return "more than one Sec-WebSocket-Version";
	rq->version_ok = span_eq(v, "13");
	return NULL;
}

static const char *
hdr_key(struct request *rq, struct span v)
{
	if (rq->keys++ > 0)
		return "more than one Sec-WebSocket-Key";
	rq->key = v;
	return NULL;
}

/* Subprotocol names are compared as sent: the client checks the echo. */
static const char *
hdr_protocol(struct request *rq, struct span v)
{
	struct span	 e;

	rq->offered = 1;
	while (list_next(&v, &e)) {
		if (span_eq(e, "mqtt"))
			rq->mqtt = 1;
		else if (span_eq(e, "mqttv3.1"))
			rq->mqttv31 = 1;
	}
	return NULL;
}

/* The header fields that matter, by lower-case name; others are ignored. */
static const struct header {
	const char	*name;
	const char	*(*take)(struct request *, struct span);
} headers[] = {
	{ "host",			hdr_host },
	{ "upgrade",			hdr_upgrade },
	{ "connection",			hdr_connection },
	{ "sec-websocket-version",	hdr_version },
	{ "sec-websocket-key",		hdr_key },
	{ "sec-websocket-protocol",	hdr_protocol },
};

/* name: value, with optional white space around the value. */
static int
header_line(struct request *rq, struct span line, struct refusal *r)
{
	const uint8_t	*colon;
	const char	*why;
	struct span	 name, value;
	size_t		 i;

	if (is_ows(line.p[0]))
		return refuse(r, ST_BAD, "obsolete header line folding");
	if ((colon = memchr(line.p, ':', line.len)) == NULL)
		return refuse(r, ST_BAD, "malformed header line");
	name.p = line.p;
	name.len = (size_t)(colon - line.p);
	value.p = colon + 1;
	value.len = line.len - name.len - 1;
	value = span_trim(value);
	if (name.len == 0)
		return refuse(r, ST_BAD, "malformed header line");
	for (i = 0; i < name.len; i++)
		if (!is_tchar(name.p[i]))
			return refuse(r, ST_BAD, "malformed header line");
	for (i = 0; i < value.len; i++)
		if ((value.p[i] < ' ' && value.p[i] != '\t') ||
		    value.p[i] == 0x7f)
			return refuse(r, ST_BAD, "control character in a header");
	for (i = 0; i < FMQ_NELEM(headers); i++) {
		if (!span_caseeq(name, headers[i].name))
			continue;
		if ((why = headers[i].take(rq, value)) != NULL)
			return refuse(r, ST_BAD, why);
		break;
	}
	return 0;
}

/* A Sec-WebSocket-Key: 16 bytes in base64, so 22 characters and "==". */
static int
valid_key(struct span k)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			 i;

	if (k.len != KEY_LEN || k.p[22] != '=' || k.p[23] != '=')
		return 0;
	for (i = 0; i < 22; i++)
		if (k.p[i] == '\0' || strchr(b64, k.p[i]) == NULL)
			return 0;
	return 1;
}

/* Parses the whole request in[0..end) and judges it. */
static int
parse_request(const uint8_t *in, size_t end, const char *path,
    struct request *rq, struct refusal *r)
{
	struct span	 line;
	size_t		 pos = 0;
	int		 first = 1;

	memset(rq, 0, sizeof(*rq));
	while (next_line(in, end, &pos, &line) && line.len > 0) {
		if (first) {
			if (request_line(line, path, r) == -1)
				return -1;
			first = 0;
		} else if (header_line(rq, line, r) == -1)
			return -1;
	}
	if (first)
		return refuse(r, ST_BAD, "malformed request line");
	if (rq->host == 0)
		return refuse(r, ST_BAD, "no Host");
	if (!rq->upgrade)
		return refuse(r, ST_UPGRADE, "not a WebSocket upgrade request");
	if (!rq->connection)
		return refuse(r, ST_BAD, "no Connection: Upgrade");
	if (!rq->version_ok)
		return refuse(r, ST_UPGRADE, "Sec-WebSocket-Version 13 required");
	if (rq->keys == 0)
		return refuse(r, ST_BAD, "no Sec-WebSocket-Key");
	if (!valid_key(rq->key))
		return refuse(r, ST_BAD, "Sec-WebSocket-Key is not 16 bytes of "
		    "base64");
	if (rq->offered && !rq->mqtt && !rq->mqttv31)
		return refuse(r, ST_BAD, "the client offers no mqtt subprotocol");
	return 0;
}

/* Sec-WebSocket-Accept: base64(SHA-1(key GUID)), NUL-terminated. */
static void
accept_key(struct span key, char acc[ACCEPT_LEN + 1])
{
	uint8_t		 s[KEY_LEN + sizeof(WS_GUID) - 1];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	memcpy(s, key.p, KEY_LEN);
	memcpy(s + KEY_LEN, WS_GUID, sizeof(WS_GUID) - 1);
	if (EVP_Digest(s, sizeof(s), md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		fatal("ws: SHA-1 failed");
	EVP_EncodeBlock((unsigned char *)acc, md, 20);
}

static void
put_str(struct buf *out, const char *s)
{
	buf_append(out, s, strlen(s));
}

/* An HTTP error response with the reason as its body. */
static void
put_refusal(struct buf *out, const struct refusal *r)
{
	const struct status_info	*s = &statuses[r->st];
	char				 head[256];
	int				 n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n\r\n", s->code, s->text, s->headers,
	    strlen(r->why) + 1);
	if (n < 0 || (size_t)n >= sizeof(head))
		fatal("ws: response header of %d bytes", n);
	buf_append(out, head, (size_t)n);
	put_str(out, r->why);
	put_str(out, "\n");
}

enum ws_result
ws_handshake(struct ws *ws, const uint8_t *in, size_t len, const char *path,
    size_t *used, struct buf *out, char *why, size_t whysz)
{
	struct request	 rq;
	struct refusal	 r;
	char		 acc[ACCEPT_LEN + 1];
	size_t		 end;

	*used = 0;
	if (ws->state != WS_HANDSHAKE) {
		set_why(why, whysz, "handshake already done");
		return WS_ERROR;
	}
	if (!find_end(ws, in, len, &end)) {
		if (!method_prefix_ok(in, len))
			refuse(&r, ST_BAD, "malformed request line");
		else if (len >= WS_MAX_HANDSHAKE)
			refuse(&r, ST_TOO_LARGE, "request over 8192 bytes");
		else
			return WS_MORE;
		goto fail;
	}
	if (parse_request(in, end, path, &rq, &r) == -1)
		goto fail;

	accept_key(rq.key, acc);
	put_str(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: ");
	put_str(out, acc);
	put_str(out, "\r\n");
	ws->proto = rq.mqtt ? WS_PROTO_MQTT : rq.mqttv31 ? WS_PROTO_MQTTV31 :
	    WS_PROTO_NONE;
	if (ws->proto != WS_PROTO_NONE) {
		put_str(out, "Sec-WebSocket-Protocol: ");
		put_str(out, proto_names[ws->proto]);
		put_str(out, "\r\n");
	}
	put_str(out, "\r\n");
	ws->state = WS_OPEN;
	*used = end;
	return WS_OK;

fail:
	put_refusal(out, &r);
	set_why(why, whysz, r.why);
	ws->state = WS_CLOSED;
	return WS_ERROR;
}

/* ---- frames ----------------------------------------------------------- */

/* A decoding error: the close code and the reason. */
struct fail {
	uint16_t	 code;
	const char	*why;
};

static int
fail(struct fail *f, uint16_t code, const char *why)
{
	f->code = code;
	f->why = why;
	return -1;
}

/* The codes a close frame may carry (7.4.1, 7.4.2 and IANA's registry). */
static int
sendable(uint16_t code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static int
valid_utf8(const uint8_t *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 1, cp = s[i] & 0x1f, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 2, cp = s[i] & 0x0f, min = 0x800;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 3, cp = s[i] & 0x07, min = 0x10000;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * dst = src XOR the mask key, starting off bytes into the key; 8 bytes at
 * a time (the key repeats every 4, so twice it fills a word).
 */
static void
unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
    unsigned int off)
{
	uint8_t		 m[8];
	uint64_t	 m64, v;
	size_t		 i;

	for (i = 0; i < 8; i++)
		m[i] = key[(off + i) & 3];
	memcpy(&m64, m, sizeof(m64));
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&v, src + i, sizeof(v));
		v ^= m64;
		memcpy(dst + i, &v, sizeof(v));
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ m[i & 7];
}

/* Writes a frame header without a mask; returns its size (2, 4 or 10). */
static size_t
put_header(uint8_t *p, uint8_t b0, uint64_t len)
{
	int	 i;

	p[0] = b0;
	if (len < 126) {
		p[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		p[1] = 126;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		return 4;
	}
	p[1] = 127;
	for (i = 0; i < 8; i++)
		p[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

static void
put_frame(struct buf *out, uint8_t b0, const void *data, size_t len)
{
	uint8_t	*p = buf_reserve(out, 10 + len);
	size_t	 h = put_header(p, b0, len);

	if (len > 0)
		memcpy(p + h, data, len);
	out->len += h + len;
}

/* A close frame: code (0: none) and reason, cut at a UTF-8 boundary. */
static void
put_close(struct buf *out, uint16_t code, const char *reason)
{
	uint8_t	 p[WS_MAX_CONTROL];
	size_t	 n = 0, rlen;

	if (code != 0) {
		p[0] = (uint8_t)(code >> 8);
		p[1] = (uint8_t)code;
		n = 2;
	}
	if (code != 0 && reason != NULL) {
		rlen = strlen(reason);
		if (rlen > sizeof(p) - 2) {
			rlen = sizeof(p) - 2;
			while (rlen > 0 && ((uint8_t)reason[rlen] & 0xc0) == 0x80)
				rlen--;
		}
		memcpy(p + 2, reason, rlen);
		n += rlen;
	}
	put_frame(out, B0_FIN | OP_CLOSE, p, n);
}

/* The first header byte: flags and opcode, against the message state. */
static int
check_first(const struct ws *ws, struct fail *f)
{
	uint8_t	 b0 = ws->hdr[0];

	if (b0 & B0_RSV)
		return fail(f, CLOSE_PROTOCOL, "reserved bits set");
	switch (b0 & B0_OPCODE) {
	case OP_CONT:
		if (!ws->in_message)
			return fail(f, CLOSE_PROTOCOL, "continuation frame "
			    "outside a message");
		return 0;
	case OP_TEXT:
		return fail(f, CLOSE_UNSUPPORTED, "text frame (MQTT is binary)");
	case OP_BINARY:
		if (ws->in_message)
			return fail(f, CLOSE_PROTOCOL, "new message inside a "
			    "fragmented one");
		return 0;
	case OP_CLOSE:
	case OP_PING:
	case OP_PONG:
		if (!(b0 & B0_FIN))
			return fail(f, CLOSE_PROTOCOL, "fragmented control "
			    "frame");
		return 0;
	default:
		return fail(f, CLOSE_PROTOCOL, "unknown opcode");
	}
}

/* The second: the mask bit and the 7-bit length, which sizes the header. */
static int
check_second(struct ws *ws, struct fail *f)
{
	uint8_t	 b1 = ws->hdr[1], len7 = b1 & B1_LEN;

	if (!(b1 & B1_MASK))
		return fail(f, CLOSE_PROTOCOL, "unmasked frame from the client");
	if (IS_CONTROL(ws->hdr[0] & B0_OPCODE) && len7 > WS_MAX_CONTROL)
		return fail(f, CLOSE_PROTOCOL, "control frame over 125 bytes");
	ws->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
	return 0;
}

/* The payload length, once all its bytes are in, against the limit. */
static int
check_length(struct ws *ws, uint64_t max, struct fail *f)
{
	uint8_t		 len7 = ws->hdr[1] & B1_LEN;
	uint64_t	 n;
	int		 i;

	if (len7 < 126)
		n = len7;
	else if (len7 == 126)
		n = (uint64_t)ws->hdr[2] << 8 | ws->hdr[3];
	else {
		for (n = 0, i = 0; i < 8; i++)
			n = n << 8 | ws->hdr[2 + i];
		if (n >> 63)
			return fail(f, CLOSE_PROTOCOL, "64-bit length with its "
			    "top bit set");
	}
	if (!IS_CONTROL(ws->hdr[0] & B0_OPCODE)) {
		/* msg_len <= max holds: it only grows past this check. */
		if (n > max - ws->msg_len)
			return fail(f, CLOSE_TOO_BIG, "message over the size "
			    "limit");
		ws->msg_len += n;
	}
	ws->remaining = n;
	return 0;
}

/*
 * Takes one more header byte and checks what it tells as soon as it is
 * known, so a bad frame is refused before its payload is read.
 */
static int
header_byte(struct ws *ws, uint8_t c, uint64_t max, struct fail *f)
{
	ws->hdr[ws->hdr_len++] = c;
	if (ws->hdr_len == 1)
		return check_first(ws, f);
	if (ws->hdr_len == 2 && check_second(ws, f) == -1)
		return -1;
	if (ws->hdr_len == ws->hdr_need - 4 && check_length(ws, max, f) == -1)
		return -1;
	if (ws->hdr_len == ws->hdr_need) {
		memcpy(ws->mask, ws->hdr + ws->hdr_len - 4, 4);
		ws->mask_off = 0;
		ws->ctl_len = 0;
	}
	return 0;
}

/* Payload bytes: control payloads are kept, binary ones go to app. */
static void
payload(struct ws *ws, const uint8_t *p, size_t n, struct buf *app)
{
	if (IS_CONTROL(ws->hdr[0] & B0_OPCODE)) {
		unmask(ws->ctl + ws->ctl_len, p, n, ws->mask, ws->mask_off);
		ws->ctl_len += (uint8_t)n;
	} else if (ws->state == WS_OPEN) {
		unmask(buf_reserve(app, n), p, n, ws->mask, ws->mask_off);
		app->len += n;
	}
	ws->mask_off = (uint8_t)((ws->mask_off + n) & 3);
}

/* A whole close frame from the client: check it, answer it. */
static enum ws_result
end_close(struct ws *ws, struct buf *out, struct fail *f)
{
	uint16_t	 code = CLOSE_NO_STATUS;

	if (ws->ctl_len == 1) {
		fail(f, CLOSE_PROTOCOL, "close frame of 1 byte");
		return WS_ERROR;
	}
	if (ws->ctl_len >= 2) {
		code = (uint16_t)(ws->ctl[0] << 8 | ws->ctl[1]);
		if (!sendable(code)) {
			fail(f, CLOSE_PROTOCOL, "close code that may not be "
			    "sent");
			return WS_ERROR;
		}
		if (!valid_utf8(ws->ctl + 2, ws->ctl_len - 2u)) {
			fail(f, CLOSE_BAD_DATA, "close reason is not UTF-8");
			return WS_ERROR;
		}
	}
	if (ws->state == WS_OPEN) {
		put_close(out, code == CLOSE_NO_STATUS ? CLOSE_NORMAL : code,
		    NULL);
		ws->close_code = code;
	}
	ws->state = WS_CLOSED;
	return WS_CLOSE;
}

/* The end of a frame's payload. */
static enum ws_result
end_frame(struct ws *ws, struct buf *out, struct fail *f)
{
	uint8_t	 b0 = ws->hdr[0];

	ws->hdr_len = ws->hdr_need = 0;
	switch (b0 & B0_OPCODE) {
	case OP_PING:
		if (ws->state == WS_OPEN)
			put_frame(out, B0_FIN | OP_PONG, ws->ctl, ws->ctl_len);
		break;
	case OP_PONG:
		break;
	case OP_CLOSE:
		return end_close(ws, out, f);
	default:
		ws->in_message = !(b0 & B0_FIN);
		if (!ws->in_message)
			ws->msg_len = 0;
		break;
	}
	return WS_OK;
}

enum ws_result
ws_decode(struct ws *ws, const uint8_t *in, size_t len, size_t max_message,
    struct buf *app, struct buf *out, size_t *used, char *why, size_t whysz)
{
	struct fail	 f = { 0, NULL };
	enum ws_result	 res;
	size_t		 off = 0, n;

	*used = 0;
	if (ws->state == WS_CLOSED)
		return WS_CLOSE;
	if (ws->state == WS_HANDSHAKE) {
		set_why(why, whysz, "frames before the handshake");
		return WS_ERROR;
	}
	while (off < len) {
		if (ws->hdr_need == 0 || ws->hdr_len < ws->hdr_need) {
			if (header_byte(ws, in[off++], max_message, &f) == -1)
				goto fail;
			if (ws->hdr_need == 0 || ws->hdr_len < ws->hdr_need ||
			    ws->remaining > 0)
				continue;
		} else {
			n = len - off;
			if (n > ws->remaining)
				n = (size_t)ws->remaining;
			payload(ws, in + off, n, app);
			off += n;
			ws->remaining -= n;
			if (ws->remaining > 0)
				continue;
		}
		res = end_frame(ws, out, &f);
		if (res == WS_ERROR)
			goto fail;
		if (res == WS_CLOSE) {
			*used = off;
			return WS_CLOSE;
		}
	}
	*used = off;
	return WS_OK;

fail:
	*used = off;
	set_why(why, whysz, f.why);
	if (ws->state == WS_OPEN) {
		put_close(out, f.code, f.why);
		ws->close_code = f.code;
	}
	ws->state = WS_CLOSED;
	return WS_ERROR;
}

void
ws_encode(struct buf *out, const void *data, size_t len)
{
	put_frame(out, B0_FIN | OP_BINARY, data, len);
}

void
ws_encode_close(struct ws *ws, struct buf *out, uint16_t code,
    const char *reason)
{
	if (code != 0 && !sendable(code))
		fatal("ws: close code %u may not be sent", code);
	if (ws->state != WS_OPEN)
		return;
	put_close(out, code, reason);
	ws->state = WS_CLOSING;
	ws->close_code = code != 0 ? code : CLOSE_NO_STATUS;
}

const char *
ws_state_name(int s)
{
	if (s < 0 || (size_t)s >= FMQ_NELEM(state_names))
		return "unknown";
	return state_names[s];
}

const char *
ws_proto_name(int p)
{
	if (p < 0 || (size_t)p >= FMQ_NELEM(proto_names))
		return "unknown";
	return proto_names[p];
}
