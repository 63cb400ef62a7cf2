/*
 * Bounded queues between threads. A queue hands over ownership of items
 * (void pointers). Any thread may push; one consumer pops, either from the
 * event loop (watch queue_fd(), readable while items are pending) or from
 * a worker thread (queue_pop_wait()). Every queue has a name, a capacity,
 * an overflow policy and counters.
 */
#ifndef FMQ_QUEUE_H
#define FMQ_QUEUE_H

#include <stddef.h>
#include <stdint.h>

enum queue_policy {
	QUEUE_REJECT,		/* push fails when full; the producer keeps the item */
	QUEUE_DROP_OLDEST,	/* the oldest item is dropped (freed and counted) */
	QUEUE_BLOCK,		/* push waits for room (with a timeout) */
};

struct queue_stats {
	uint64_t	pushed;
	uint64_t	popped;
	uint64_t	dropped;	/* DROP_OLDEST evictions */
	uint64_t	rejected;	/* pushes refused: full (REJECT, BLOCK timeout) or closed */
	size_t		depth;
	size_t		high_water;
	size_t		capacity;
};

typedef void (*queue_free_cb)(void *item);

/*
 * Creates a queue; free_item (may be NULL) frees dropped and left-over
 * items. NULL if capacity is 0 or eventfd/pthread setup fails.
 */
struct queue	*queue_new(const char *name, size_t capacity, enum queue_policy,
		    queue_free_cb free_item);
/* Frees the queue and every item still in it; accepts NULL. */
void		 queue_free(struct queue *);

/*
 * Pushes item (taken on success). Returns 0, or -1 when the item was not
 * queued (full under REJECT, timed out under BLOCK, or closed): the caller
 * still owns it. timeout_ms is used by QUEUE_BLOCK only (-1: forever).
 */
int		 queue_push(struct queue *, void *item, int timeout_ms);

/* Pops up to max items without waiting; returns how many. */
size_t		 queue_pop(struct queue *, void **items, size_t max);
/* Pops up to max items, waiting up to timeout_ms (-1: forever) for the first. */
size_t		 queue_pop_wait(struct queue *, void **items, size_t max, int timeout_ms);

/* An eventfd that is readable while the queue holds items (for the loop). */
int		 queue_fd(struct queue *);

/* Refuses further pushes and wakes every waiter; items already in stay. */
void		 queue_close(struct queue *);

const char	*queue_name(const struct queue *);
void		 queue_get_stats(struct queue *, struct queue_stats *);

#endif
