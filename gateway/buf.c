/* A growable byte buffer. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

uint8_t *
buf_reserve(struct buf *b, size_t n)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		/* Slide consumed bytes out before growing. */
		if (b->off > 0 && b->len - b->off + n <= b->cap) {
			memmove(b->p, b->p + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		} else {
			size_t cap = b->cap ? b->cap : 256;

			while (cap < b->len + n)
				cap *= 2;
			b->p = xrealloc(b->p, cap);
			b->cap = cap;
		}
	}
	return b->p + b->len;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	b->len += n;
}

void
buf_put_u8(struct buf *b, uint8_t v)
{
	*buf_reserve(b, 1) = v;
	b->len++;
}

void
buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t *p = buf_reserve(b, 2);

	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	b->len += 2;
}

void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void
buf_reset(struct buf *b, size_t keep)
{
	b->off = b->len = 0;
	if (b->cap > keep) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
