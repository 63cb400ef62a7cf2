/*
 * libFuzzer target: the WebSocket codec on what a client sends, an upgrade
 * request and then frames.
 *
 * Input: three bytes of settings, then the stream.
 *   [0] bit 7: no handshake (frames from the start); bit 6: path NULL
 *       (any) instead of "/mqtt"; bits 0-5 and [2]: the seed of the cut
 *       points.
 *   [1] bits 0-2: max_message (one of limits[]); bits 3-5: the largest
 *       piece is 2^n bytes; bit 6: the server sends its close first.
 * The stream goes to ws_handshake in growing prefixes and what follows the
 * request to ws_decode in pieces; both answers must equal those for the
 * whole input in one call, and the frames must decode as a plain
 * whole-buffer decoder (below) says.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/ws.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t	 limits[] = { 0, 1, 5, 125, 126, 1000, 65536, SIZE_MAX };

static void
check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static int
same_buf(const struct buf *a, const struct buf *b)
{
	return buf_pending(a) == buf_pending(b) && (buf_pending(a) == 0 ||
	    memcmp(buf_data(a), buf_data(b), buf_pending(a)) == 0);
}

/* Cut points: pieces of 1 to max bytes. */
struct cutter {
	uint32_t	 s;
	uint32_t	 max;
};

static size_t
next_piece(struct cutter *c)
{
	c->s ^= c->s << 13;
	c->s ^= c->s >> 17;
	c->s ^= c->s << 5;
	return 1 + c->s % c->max;
}

/* ---- the handshake ---------------------------------------------------- */

static void
check_answer(enum ws_result res, const struct ws *ws, size_t used,
    size_t len, const struct buf *out, const char *why)
{
	const uint8_t	*p = buf_data(out);
	size_t		 n = buf_pending(out);

	switch (res) {
	case WS_MORE:
		check(n == 0 && used == 0 && ws->state == WS_HANDSHAKE);
		check(len < WS_MAX_HANDSHAKE);
		break;
	case WS_OK:
		check(used > 0 && used <= len && used <= WS_MAX_HANDSHAKE);
		check(ws->state == WS_OPEN);
		check(n > 16 && memcmp(p, "HTTP/1.1 101 ", 13) == 0 &&
		    memcmp(p + n - 4, "\r\n\r\n", 4) == 0);
		break;
	case WS_ERROR:
		check(used == 0 && ws->state == WS_CLOSED && why[0] != '\0');
		check(n > 16 && memcmp(p, "HTTP/1.1 4", 10) == 0);
		check(p[n - 1] == '\n');
		break;
	default:
		check(0);
	}
}

/*
 * The handshake in growing prefixes and at once; returns the request's
 * length, or 0 when there are no frames to decode.
 */
static size_t
handshake(const uint8_t *in, size_t len, const char *path, struct cutter *cut,
    struct ws *ws)
{
	struct ws	 whole = { 0 };
	struct buf	 out = { 0 }, out2 = { 0 };
	char		 why[128] = "", why2[128] = "";
	enum ws_result	 res = WS_MORE, res2;
	size_t		 have = 0, used = 0, used2;

	while (res == WS_MORE && have < len) {
		have += next_piece(cut);
		if (have > len)
			have = len;
		res = ws_handshake(ws, in, have, path, &used, &out, why,
		    sizeof(why));
		check_answer(res, ws, used, have, &out, why);
	}
	res2 = ws_handshake(&whole, in, len, path, &used2, &out2, why2,
	    sizeof(why2));
	check_answer(res2, &whole, used2, len, &out2, why2);
	check(res == res2 && used == used2 && same_buf(&out, &out2));
	check(strcmp(why, why2) == 0 && ws->proto == whole.proto);
	buf_free(&out);
	buf_free(&out2);
	return res == WS_OK ? used : 0;
}

/* ---- frames ------------------------------------------------------------ */

/* What a run of the decoder ends with. */
struct run {
	struct ws	 ws;
	struct buf	 app, out;
	enum ws_result	 res;
	size_t		 used;
	char		 why[128];
};

/* One ws_decode call, checking what holds for every call. */
static int
feed(struct run *r, const uint8_t *in, size_t len, size_t max)
{
	size_t	 used = len + 1, app0 = buf_pending(&r->app);

	r->res = ws_decode(&r->ws, in, len, max, &r->app, &r->out, &used,
	    r->why, sizeof(r->why));
	check(used <= len);
	check(buf_pending(&r->app) - app0 <= used);
	r->used += used;
	if (r->res == WS_OK) {
		check(used == len);
		return 0;
	}
	check(r->res == WS_CLOSE || r->res == WS_ERROR);
	check(r->ws.state == WS_CLOSED);
	return -1;
}

/*
 * UTF-8 by the table of well-formed byte sequences (RFC 3629 section 4),
 * to hold the decoder's bit-wise check against.
 */
static int
ref_utf8(const uint8_t *s, size_t n)
{
	static const struct {
		uint8_t	 lo, hi;	/* the lead byte */
		uint8_t	 n;		/* continuation bytes */
		uint8_t	 lo2, hi2;	/* the first of them */
	} seq[] = {
		{ 0x00, 0x7f, 0, 0, 0 },
		{ 0xc2, 0xdf, 1, 0x80, 0xbf },
		{ 0xe0, 0xe0, 2, 0xa0, 0xbf },
		{ 0xe1, 0xec, 2, 0x80, 0xbf },
		{ 0xed, 0xed, 2, 0x80, 0x9f },
		{ 0xee, 0xef, 2, 0x80, 0xbf },
		{ 0xf0, 0xf0, 3, 0x90, 0xbf },
		{ 0xf1, 0xf3, 3, 0x80, 0xbf },
		{ 0xf4, 0xf4, 3, 0x80, 0x8f },
	};
	size_t	 i = 0, k, j;

	while (i < n) {
		for (k = 0; k < sizeof(seq) / sizeof(seq[0]); k++)
			if (s[i] >= seq[k].lo && s[i] <= seq[k].hi)
				break;
		if (k == sizeof(seq) / sizeof(seq[0]) || n - i <= seq[k].n)
			return 0;
		if (seq[k].n > 0 && (s[i + 1] < seq[k].lo2 ||
		    s[i + 1] > seq[k].hi2))
			return 0;
		for (j = 2; j <= seq[k].n; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xbf)
				return 0;
		i += 1 + seq[k].n;
	}
	return 1;
}

/*
 * A plain decoder for the whole buffer at once, the rules read straight
 * from RFC 6455 section 5, to hold ws_decode against. It finds each error
 * at the same byte, and answers with a close carrying only the code.
 */
static enum ws_result
ref_decode(const uint8_t *p, size_t n, uint64_t max, int closing,
    struct buf *app, struct buf *out, size_t *used, uint16_t *code)
{
	size_t		 i = 0, ext, avail, k;
	uint64_t	 len, msg = 0;
	uint16_t	 cc;
	uint8_t		 b0, b1, op, key[4];
	int		 in_msg = 0;

#define FAIL(c)	do { *code = (c); goto fail; } while (0)
#define MORE()	do { *used = n; return WS_OK; } while (0)
	for (;;) {
		if (i == n)
			MORE();
		b0 = p[i++];
		op = b0 & 0x0f;
		if (b0 & 0x70)
			FAIL(1002);
		if (op != 0 && op != 1 && op != 2 && op != 8 && op != 9 &&
		    op != 10)
			FAIL(1002);
		if (op == 1)
			FAIL(1003);
		if ((op == 0 && !in_msg) || (op == 2 && in_msg))
			FAIL(1002);
		if (op >= 8 && !(b0 & 0x80))
			FAIL(1002);
		if (i == n)
			MORE();
		b1 = p[i++];
		if (!(b1 & 0x80))
			FAIL(1002);
		len = b1 & 0x7f;
		if (op >= 8 && len > 125)
			FAIL(1002);
		ext = len == 126 ? 2 : len == 127 ? 8 : 0;
		if (n - i < ext)
			MORE();
		if (ext > 0)
			for (len = 0, k = 0; k < ext; k++)
				len = len << 8 | p[i++];
		if (ext == 8 && (len >> 63))
			FAIL(1002);
		if (op < 8) {
			if (msg + len > max || msg + len < msg)
				FAIL(1009);
			msg += len;
		}
		if (n - i < 4)
			MORE();
		memcpy(key, p + i, 4);
		i += 4;
		avail = n - i < len ? n - i : (size_t)len;
		if (op < 8 && !closing)
			for (k = 0; k < avail; k++)
				buf_put_u8(app, p[i + k] ^ key[k & 3]);
		if (avail < len)
			MORE();
		if (op == 9 && !closing) {
			buf_put_u8(out, 0x8a);
			buf_put_u8(out, (uint8_t)len);
			for (k = 0; k < len; k++)
				buf_put_u8(out, p[i + k] ^ key[k & 3]);
		}
		if (op == 8) {
			uint8_t	 c[125];

			for (k = 0; k < len; k++)
				c[k] = p[i + k] ^ key[k & 3];
			i += len;
			cc = 1005;
			if (len == 1)
				FAIL(1002);
			if (len >= 2) {
				cc = (uint16_t)(c[0] << 8 | c[1]);
				if (!((cc >= 1000 && cc <= 1003) ||
				    (cc >= 1007 && cc <= 1014) ||
				    (cc >= 3000 && cc <= 4999)))
					FAIL(1002);
				if (!ref_utf8(c + 2, len - 2))
					FAIL(1007);
			}
			if (!closing) {
				buf_put_u8(out, 0x88);
				buf_put_u8(out, 2);
				buf_put_u16(out, cc == 1005 ? 1000 : cc);
			}
			*code = cc;
			*used = i;
			return WS_CLOSE;
		}
		i += len;
		if (op < 8) {
			in_msg = !(b0 & 0x80);
			if (!in_msg)
				msg = 0;
		}
	}
fail:
	if (!closing) {
		buf_put_u8(out, 0x88);
		buf_put_u8(out, 2);
		buf_put_u16(out, *code);
	}
	*used = i;
	return WS_ERROR;
#undef FAIL
#undef MORE
}

/* The reference's answer against the decoder's. */
static void
check_ref(const struct run *r, const uint8_t *in, size_t len, size_t max,
    int closing, uint16_t sent)
{
	struct buf	 app = { 0 }, out = { 0 };
	enum ws_result	 res;
	size_t		 used, n;
	uint16_t	 code = 0;

	res = ref_decode(in, len, max, closing, &app, &out, &used, &code);
	check(res == r->res && used == r->used);
	check(same_buf(&app, &r->app));
	n = buf_pending(&out);
	if (res == WS_ERROR && !closing) {
		/* Ours carries a reason: compare up to it. */
		check(buf_pending(&r->out) == n + strlen(r->why));
		check(memcmp(buf_data(&r->out), buf_data(&out), n - 4) == 0);
		check(buf_data(&r->out)[n - 4] == 0x88 &&
		    buf_data(&r->out)[n - 3] == 2 + strlen(r->why));
		check(memcmp(buf_data(&r->out) + n - 2, buf_data(&out) + n - 2,
		    2) == 0);
	} else
		check(same_buf(&out, &r->out));
	if (res != WS_OK)
		check(r->ws.close_code == (closing ? sent : code));
	buf_free(&app);
	buf_free(&out);
}

static void
frames(const struct ws *start, const uint8_t *in, size_t len, size_t max,
    struct cutter *cut)
{
	struct run	 a = { 0 }, b = { 0 };
	size_t		 off = 0, n, out0;
	int		 closing = start->state == WS_CLOSING;

	a.ws = b.ws = *start;
	while (off < len) {
		n = next_piece(cut);
		if (n > len - off)
			n = len - off;
		if (feed(&a, in + off, n, max) == -1)
			break;
		off += n;
	}
	feed(&b, in, len, max);
	check(a.res == b.res && a.used == b.used);
	check(same_buf(&a.app, &b.app) && same_buf(&a.out, &b.out));
	check(a.ws.state == b.ws.state && a.ws.close_code == b.ws.close_code);
	check(a.res != WS_ERROR || strcmp(a.why, b.why) == 0);
	check_ref(&b, in, len, max, closing, start->close_code);

	if (b.res != WS_OK) {
		out0 = buf_pending(&b.out);
		check(ws_decode(&b.ws, in, len, max, &b.app, &b.out, &n, b.why,
		    sizeof(b.why)) == WS_CLOSE && n == 0);
		check(buf_pending(&b.out) == out0);
	}
	buf_free(&a.app);
	buf_free(&a.out);
	buf_free(&b.app);
	buf_free(&b.out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cutter	 cut;
	struct ws	 ws = { 0 };
	struct buf	 out = { 0 };
	const char	*path;
	size_t		 max, used = 0;
	int		 no_handshake, close_first;

	if (size < 3)
		return 0;
	no_handshake = (data[0] & 0x80) != 0;
	path = (data[0] & 0x40) ? NULL : "/mqtt";
	cut.s = ((uint32_t)(data[0] & 0x3f) << 8 | data[2]) + 1;
	cut.max = 1u << ((data[1] >> 3) & 7);
	max = limits[data[1] & 7];
	close_first = (data[1] & 0x40) != 0;
	data += 3;
	size -= 3;

	if (no_handshake)
		ws.state = WS_OPEN;
	else if ((used = handshake(data, size, path, &cut, &ws)) == 0)
		return 0;
	if (close_first) {
		ws_encode_close(&ws, &out, 1001, "going away");
		check(ws.state == WS_CLOSING && buf_pending(&out) == 14);
		buf_free(&out);
	}
	frames(&ws, data + used, size - used, max, &cut);
	return 0;
}
