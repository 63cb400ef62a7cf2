/* A growable byte buffer (an output queue for a socket, an encoder's target). */
#ifndef FMQ_BUF_H
#define FMQ_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*p;
	size_t	 len;	/* bytes held */
	size_t	 off;	/* bytes already consumed from the front */
	size_t	 cap;
};

/* Makes room for n more bytes at the end; returns where they go. */
uint8_t	*buf_reserve(struct buf *, size_t n);
void	 buf_append(struct buf *, const void *, size_t);
void	 buf_put_u8(struct buf *, uint8_t);
void	 buf_put_u16(struct buf *, uint16_t);	/* big-endian */
/* Drops n bytes from the front (after a write). */
void	 buf_consume(struct buf *, size_t n);
/* Bytes waiting to be consumed, and where they start. */
static inline size_t	 buf_pending(const struct buf *b) { return b->len - b->off; }
static inline uint8_t	*buf_data(const struct buf *b) { return b->p + b->off; }
/* Empties the buffer and frees its memory when it grew past keep bytes. */
void	 buf_reset(struct buf *, size_t keep);
void	 buf_free(struct buf *);

#endif
