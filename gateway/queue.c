/*
 * Bounded queues between threads: a ring of void pointers under a mutex,
 * with condition variables on the monotonic clock for waiting consumers
 * (not_empty) and blocked producers (not_full).
 *
 * The eventfd is readable exactly while `signalled` is set: it is written
 * when a push finds the flag clear and read when a pop leaves the queue
 * empty, both under the mutex, so a burst of pushes costs one write and a
 * push racing a drain cannot lose its wake-up.
 */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "util.h"

struct queue {
	char			*name;
	size_t			 capacity;
	enum queue_policy	 policy;
	queue_free_cb		 free_item;

	pthread_mutex_t		 mtx;
	pthread_cond_t		 not_empty;
	pthread_cond_t		 not_full;

	void			**ring;
	size_t			 head;
	size_t			 count;
	int			 efd;
	int			 signalled;
	int			 closed;

	uint64_t		 pushed;
	uint64_t		 popped;
	uint64_t		 dropped;
	uint64_t		 rejected;
	size_t			 high_water;
};

/* Initialises a condition variable that waits on CLOCK_MONOTONIC. */
static int
queue_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t	 attr;
	int			 rc;

	if ((rc = pthread_condattr_init(&attr)) != 0)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

/* Creates an empty queue; NULL with errno set if capacity is 0. */
struct queue *
queue_new(const char *name, size_t capacity, enum queue_policy policy,
    queue_free_cb free_item)
{
	struct queue	*q;
	int		 rc;

	if (capacity == 0) {
		errno = EINVAL;
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->name = xstrdup(name);
	q->capacity = capacity;
	q->policy = policy;
	q->free_item = free_item;
	q->ring = xcalloc(capacity, sizeof(*q->ring));

	if ((q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		rc = errno;
		goto fail;
	}
	if ((rc = pthread_mutex_init(&q->mtx, NULL)) != 0)
		goto fail_efd;
	if ((rc = queue_cond_init(&q->not_empty)) != 0)
		goto fail_mtx;
	if ((rc = queue_cond_init(&q->not_full)) != 0)
		goto fail_cond;
	return q;

fail_cond:
	pthread_cond_destroy(&q->not_empty);
fail_mtx:
	pthread_mutex_destroy(&q->mtx);
fail_efd:
	close(q->efd);
fail:
	free(q->ring);
	free(q->name);
	free(q);
	errno = rc;
	return NULL;
}

/* Takes the oldest item out of the ring; the ring must not be empty. */
static void *
queue_take(struct queue *q)
{
	void	*item;

	item = q->ring[q->head];
	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	return item;
}

/* Frees the queue and hands the items left in it to free_item. */
void
queue_free(struct queue *q)
{
	void	*item;

	if (q == NULL)
		return;
	while (q->count > 0) {
		item = queue_take(q);
		if (q->free_item != NULL)
			q->free_item(item);
	}
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->not_empty);
	pthread_mutex_destroy(&q->mtx);
	close(q->efd);
	free(q->ring);
	free(q->name);
	free(q);
}

/* Sets ts to timeout_ms from now on the monotonic clock. */
static void
queue_deadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits on cv until woken or past deadline (NULL: forever); -1 on timeout. */
static int
queue_wait(struct queue *q, pthread_cond_t *cv,
    const struct timespec *deadline)
{
	if (deadline == NULL) {
		pthread_cond_wait(cv, &q->mtx);
		return 0;
	}
	if (pthread_cond_timedwait(cv, &q->mtx, deadline) == ETIMEDOUT)
		return -1;
	return 0;
}

/* Makes the eventfd readable if it is not yet; called with the mutex held. */
static void
queue_signal(struct queue *q)
{
	uint64_t	 one = 1;
	ssize_t		 n;

	if (q->signalled)
		return;
	n = write(q->efd, &one, sizeof(one));
	(void)n;
	q->signalled = 1;
}

/* Clears the eventfd once the queue is empty; called with the mutex held. */
static void
queue_unsignal(struct queue *q)
{
	uint64_t	 count;
	ssize_t		 n;

	if (!q->signalled || q->count > 0)
		return;
	n = read(q->efd, &count, sizeof(count));
	(void)n;
	q->signalled = 0;
}

/*
 * Under DROP_OLDEST the evicted item is freed after the mutex is released,
 * so a slow free_item does not stall the other threads.
 */
int
queue_push(struct queue *q, void *item, int timeout_ms)
{
	struct timespec	 ts, *deadline = NULL;
	void		*victim = NULL;
	int		 timed_out = 0;

	if (q->policy == QUEUE_BLOCK && timeout_ms > 0) {
		queue_deadline(&ts, timeout_ms);
		deadline = &ts;
	}

	pthread_mutex_lock(&q->mtx);
	for (;;) {
		if (q->closed)
			goto fail;
		if (q->count < q->capacity)
			break;
		if (q->policy == QUEUE_DROP_OLDEST) {
			victim = queue_take(q);
			q->dropped++;
			break;
		}
		if (q->policy == QUEUE_REJECT || timeout_ms == 0 || timed_out)
			goto fail;
		timed_out = queue_wait(q, &q->not_full, deadline) == -1;
	}

	q->ring[(q->head + q->count) % q->capacity] = item;
	q->count++;
	q->pushed++;
	if (q->count > q->high_water)
		q->high_water = q->count;
	queue_signal(q);
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mtx);

	if (victim != NULL && q->free_item != NULL)
		q->free_item(victim);
	return 0;

fail:
	q->rejected++;
	pthread_mutex_unlock(&q->mtx);
	return -1;
}

/* Pops up to max items with the mutex held and wakes blocked producers. */
static size_t
queue_pop_locked(struct queue *q, void **items, size_t max)
{
	size_t	 n = 0;

	while (n < max && q->count > 0)
		items[n++] = queue_take(q);
	q->popped += n;
	queue_unsignal(q);
	if (n == 1)
		pthread_cond_signal(&q->not_full);
	else if (n > 1)
		pthread_cond_broadcast(&q->not_full);
	return n;
}

size_t
queue_pop(struct queue *q, void **items, size_t max)
{
	size_t	 n;

	pthread_mutex_lock(&q->mtx);
	n = queue_pop_locked(q, items, max);
	pthread_mutex_unlock(&q->mtx);
	return n;
}

/* Waits for the first item unless closed or timed out, then pops. */
size_t
queue_pop_wait(struct queue *q, void **items, size_t max,
    int timeout_ms)
{
	struct timespec	 ts, *deadline = NULL;
	size_t		 n;

	if (timeout_ms > 0) {
		queue_deadline(&ts, timeout_ms);
		deadline = &ts;
	}

	pthread_mutex_lock(&q->mtx);
	while (q->count == 0 && !q->closed && timeout_ms != 0) {
		if (queue_wait(q, &q->not_empty, deadline) == -1)
			break;
	}
	n = queue_pop_locked(q, items, max);
	pthread_mutex_unlock(&q->mtx);
	return n;
}

int
queue_fd(struct queue *q)
{
	return q->efd;
}

/* Marks the queue closed and wakes every waiting producer and consumer. */
void
queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mtx);
	q->closed = 1;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mtx);
}

const char *
queue_name(const struct queue *q)
{
	return q->name;
}

/* Copies the counters under the mutex. */
void
queue_get_stats(struct queue *q, struct queue_stats *st)
{
	pthread_mutex_lock(&q->mtx);
	st->pushed = q->pushed;
	st->popped = q->popped;
	st->dropped = q->dropped;
	st->rejected = q->rejected;
	st->depth = q->count;
	st->high_water = q->high_water;
	st->capacity = q->capacity;
	pthread_mutex_unlock(&q->mtx);
}
