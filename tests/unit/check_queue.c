/* Unit tests for the bounded inter-thread queue. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "util.h"

/* Slack for a wait that ends late on a loaded machine; early is a failure. */
#define LATE_US		40000

/* Items are small integers carried in the pointer; 0 is never used. */
#define ITEM(n)		((void *)(uintptr_t)(n))
#define VALUE(p)	((uintptr_t)(p))

/* Sleeps for ms milliseconds. */
static void
sleep_ms(unsigned int ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Tells whether fd is readable right now. */
static int
readable(int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	int		 n;

	n = poll(&pfd, 1, 0);
	ck_assert_int_ge(n, 0);
	return n == 1 && (pfd.revents & POLLIN);
}

/* Records what free_item was called with; one recorder per test process. */
static uintptr_t	 freed[64];
static size_t		 nfreed;

static void
record_free(void *item)
{
	if (nfreed < FMQ_NELEM(freed))
		freed[nfreed] = VALUE(item);
	nfreed++;
}

static void
reset_freed(void)
{
	memset(freed, 0, sizeof(freed));
	nfreed = 0;
}

START_TEST(test_fifo)
{
	struct queue	*q;
	void		*items[8];
	uintptr_t	 next = 1, i;
	size_t		 n, k;

	q = queue_new("fifo", 16, QUEUE_REJECT, NULL);
	ck_assert_ptr_nonnull(q);
	ck_assert_str_eq(queue_name(q), "fifo");
	ck_assert_uint_eq(queue_pop(q, items, 8), 0);

	for (i = 1; i <= 16; i++)
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), 0);
	while ((n = queue_pop(q, items, 3)) > 0) {
		for (k = 0; k < n; k++)
			ck_assert_uint_eq(VALUE(items[k]), next++);
	}
	ck_assert_uint_eq(next, 17);

	/* The ring wraps around many times at a depth of 10. */
	next = 1;
	for (i = 1; i <= 100; i++) {
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), 0);
		if (i > 10) {
			ck_assert_uint_eq(queue_pop(q, items, 1), 1);
			ck_assert_uint_eq(VALUE(items[0]), next++);
		}
	}
	while ((n = queue_pop(q, items, 8)) > 0) {
		for (k = 0; k < n; k++)
			ck_assert_uint_eq(VALUE(items[k]), next++);
	}
	ck_assert_uint_eq(next, 101);
	queue_free(q);
}
END_TEST

START_TEST(test_reject)
{
	struct queue		*q;
	struct queue_stats	 st;
	void			*items[8];
	uintptr_t		 i;

	reset_freed();
	q = queue_new("reject", 4, QUEUE_REJECT, record_free);
	for (i = 1; i <= 4; i++)
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), 0);
	ck_assert_int_eq(queue_push(q, ITEM(5), 0), -1);
	ck_assert_int_eq(queue_push(q, ITEM(6), 100), -1);

	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.pushed, 4);
	ck_assert_uint_eq(st.rejected, 2);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.depth, 4);
	/* The rejected items still belong to the caller. */
	ck_assert_uint_eq(nfreed, 0);

	ck_assert_uint_eq(queue_pop(q, items, 1), 1);
	ck_assert_uint_eq(VALUE(items[0]), 1);
	ck_assert_int_eq(queue_push(q, ITEM(5), 0), 0);
	ck_assert_uint_eq(queue_pop(q, items, 8), 4);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(VALUE(items[i]), i + 2);
	queue_free(q);
	ck_assert_uint_eq(nfreed, 0);
}
END_TEST

START_TEST(test_drop_oldest)
{
	struct queue		*q;
	struct queue_stats	 st;
	void			*items[8];
	uintptr_t		 i;

	reset_freed();
	q = queue_new("drop", 3, QUEUE_DROP_OLDEST, record_free);
	for (i = 1; i <= 5; i++)
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), 0);

	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.pushed, 5);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_eq(st.depth, 3);
	ck_assert_uint_eq(st.high_water, 3);
	ck_assert_uint_eq(nfreed, 2);
	ck_assert_uint_eq(freed[0], 1);
	ck_assert_uint_eq(freed[1], 2);

	ck_assert_uint_eq(queue_pop(q, items, 8), 3);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(VALUE(items[i]), i + 3);
	queue_free(q);
	ck_assert_uint_eq(nfreed, 2);
}
END_TEST

/* Pops one item after a delay; the item is returned through arg. */
struct delayed_pop {
	struct queue	*q;
	unsigned int	 delay_ms;
	void		*item;
	size_t		 n;
};

static void *
pop_later(void *arg)
{
	struct delayed_pop	*dp = arg;

	sleep_ms(dp->delay_ms);
	dp->n = queue_pop(dp->q, &dp->item, 1);
	return NULL;
}

START_TEST(test_block_timeout)
{
	struct queue		*q;
	struct queue_stats	 st;
	uint64_t		 t0, elapsed;

	q = queue_new("block", 2, QUEUE_BLOCK, NULL);
	ck_assert_int_eq(queue_push(q, ITEM(1), 0), 0);
	ck_assert_int_eq(queue_push(q, ITEM(2), 0), 0);

	t0 = mono_us();
	ck_assert_int_eq(queue_push(q, ITEM(3), 0), -1);
	ck_assert_uint_lt(mono_us() - t0, LATE_US);

	t0 = mono_us();
	ck_assert_int_eq(queue_push(q, ITEM(3), 50), -1);
	elapsed = mono_us() - t0;
	ck_assert_uint_ge(elapsed, 50000);
	ck_assert_uint_le(elapsed, 50000 + LATE_US);

	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.rejected, 2);
	ck_assert_uint_eq(st.pushed, 2);
	ck_assert_uint_eq(st.depth, 2);
	queue_free(q);
}
END_TEST

START_TEST(test_block_waits_for_consumer)
{
	struct queue		*q;
	struct delayed_pop	 dp;
	pthread_t		 th;
	void			*items[4];
	uint64_t		 t0, elapsed;

	q = queue_new("block", 2, QUEUE_BLOCK, NULL);
	ck_assert_int_eq(queue_push(q, ITEM(1), 0), 0);
	ck_assert_int_eq(queue_push(q, ITEM(2), 0), 0);

	dp.q = q;
	dp.delay_ms = 50;
	dp.item = NULL;
	dp.n = 0;
	t0 = mono_us();
	ck_assert_int_eq(pthread_create(&th, NULL, pop_later, &dp), 0);
	ck_assert_int_eq(queue_push(q, ITEM(3), -1), 0);
	elapsed = mono_us() - t0;
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_ge(elapsed, 45000);
	ck_assert_uint_eq(dp.n, 1);
	ck_assert_uint_eq(VALUE(dp.item), 1);

	/* A finite timeout long enough also succeeds. */
	dp.delay_ms = 20;
	ck_assert_int_eq(pthread_create(&th, NULL, pop_later, &dp), 0);
	ck_assert_int_eq(queue_push(q, ITEM(4), 5000), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_eq(VALUE(dp.item), 2);

	ck_assert_uint_eq(queue_pop(q, items, 4), 2);
	ck_assert_uint_eq(VALUE(items[0]), 3);
	ck_assert_uint_eq(VALUE(items[1]), 4);
	queue_free(q);
}
END_TEST

/* Reads the eventfd counter, then puts it back as it was. */
static uint64_t
peek_eventfd(int fd)
{
	uint64_t	 v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	ck_assert_int_eq(write(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	return v;
}

START_TEST(test_eventfd)
{
	struct queue	*q;
	void		*items[16];
	uintptr_t	 i;
	int		 fd;

	q = queue_new("efd", 16, QUEUE_DROP_OLDEST, NULL);
	fd = queue_fd(q);
	ck_assert_int_ge(fd, 0);
	ck_assert(!readable(fd));

	ck_assert_int_eq(queue_push(q, ITEM(1), 0), 0);
	ck_assert(readable(fd));

	/* A burst costs one write: the counter stays at 1. */
	for (i = 2; i <= 10; i++)
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), 0);
	ck_assert_uint_eq(peek_eventfd(fd), 1);
	ck_assert(readable(fd));

	/* Readable while items are left, clear once drained. */
	ck_assert_uint_eq(queue_pop(q, items, 4), 4);
	ck_assert(readable(fd));
	ck_assert_uint_eq(queue_pop(q, items, 16), 6);
	ck_assert(!readable(fd));
	ck_assert_uint_eq(queue_pop(q, items, 16), 0);
	ck_assert(!readable(fd));

	/* Signalled again after the drain; pop_wait clears it too. */
	ck_assert_int_eq(queue_push(q, ITEM(11), 0), 0);
	ck_assert(readable(fd));
	ck_assert_uint_eq(peek_eventfd(fd), 1);
	ck_assert_uint_eq(queue_pop_wait(q, items, 16, 0), 1);
	ck_assert(!readable(fd));

	/* Evictions keep it readable: the queue is never empty. */
	for (i = 1; i <= 40; i++)
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), 0);
	ck_assert(readable(fd));
	ck_assert_uint_eq(peek_eventfd(fd), 1);
	ck_assert_uint_eq(queue_pop(q, items, 16), 16);
	ck_assert_uint_eq(VALUE(items[0]), 25);
	ck_assert(!readable(fd));
	queue_free(q);
}
END_TEST

/* Many producers, one consumer, through a small blocking queue. */
#define MP_PRODUCERS	4
#define MP_ITEMS	100000
#define MP_SHIFT	24

struct producer {
	struct queue	*q;
	uintptr_t	 id;
	int		 failed;
};

static void *
produce(void *arg)
{
	struct producer	*p = arg;
	uintptr_t	 seq;

	for (seq = 0; seq < MP_ITEMS; seq++) {
		/* id + 1 keeps every item non-NULL. */
		if (queue_push(p->q, ITEM(((p->id + 1) << MP_SHIFT) | seq),
		    -1) == -1)
			p->failed++;
	}
	return NULL;
}

struct consumer {
	struct queue	*q;
	uintptr_t	 next[MP_PRODUCERS];
	uint64_t	 got;
	uint64_t	 bad;
};

static void *
consume(void *arg)
{
	struct consumer	*c = arg;
	void		*items[32];
	uintptr_t	 v, id, seq;
	size_t		 n, i;

	while (c->got < (uint64_t)MP_PRODUCERS * MP_ITEMS) {
		n = queue_pop_wait(c->q, items, FMQ_NELEM(items), 5000);
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			v = VALUE(items[i]);
			id = (v >> MP_SHIFT) - 1;
			seq = v & ((1u << MP_SHIFT) - 1);
			if (id >= MP_PRODUCERS || seq != c->next[id])
				c->bad++;
			else
				c->next[id]++;
			c->got++;
		}
	}
	return NULL;
}

START_TEST(test_multi_producer)
{
	struct queue		*q;
	struct queue_stats	 st;
	struct producer		 p[MP_PRODUCERS];
	struct consumer		 c;
	pthread_t		 pt[MP_PRODUCERS], ct;
	size_t			 i;

	q = queue_new("mp", 16, QUEUE_BLOCK, NULL);
	memset(&c, 0, sizeof(c));
	c.q = q;
	ck_assert_int_eq(pthread_create(&ct, NULL, consume, &c), 0);
	for (i = 0; i < MP_PRODUCERS; i++) {
		p[i].q = q;
		p[i].id = i;
		p[i].failed = 0;
		ck_assert_int_eq(pthread_create(&pt[i], NULL, produce, &p[i]),
		    0);
	}
	for (i = 0; i < MP_PRODUCERS; i++) {
		ck_assert_int_eq(pthread_join(pt[i], NULL), 0);
		ck_assert_int_eq(p[i].failed, 0);
	}
	ck_assert_int_eq(pthread_join(ct, NULL), 0);

	ck_assert_uint_eq(c.bad, 0);
	ck_assert_uint_eq(c.got, (uint64_t)MP_PRODUCERS * MP_ITEMS);
	for (i = 0; i < MP_PRODUCERS; i++)
		ck_assert_uint_eq(c.next[i], MP_ITEMS);

	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.pushed, (uint64_t)MP_PRODUCERS * MP_ITEMS);
	ck_assert_uint_eq(st.popped, (uint64_t)MP_PRODUCERS * MP_ITEMS);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_uint_le(st.high_water, 16);
	ck_assert_uint_ge(st.high_water, 1);
	ck_assert(!readable(queue_fd(q)));
	queue_free(q);
}
END_TEST

/* Pushes one item after a delay. */
struct delayed_push {
	struct queue	*q;
	unsigned int	 delay_ms;
	int		 rc;
};

static void *
push_later(void *arg)
{
	struct delayed_push	*dp = arg;

	sleep_ms(dp->delay_ms);
	dp->rc = queue_push(dp->q, ITEM(42), 0);
	return NULL;
}

START_TEST(test_pop_wait)
{
	struct queue		*q;
	struct delayed_push	 dp;
	pthread_t		 th;
	void			*items[4];
	uint64_t		 t0, elapsed;

	q = queue_new("wait", 4, QUEUE_REJECT, NULL);

	t0 = mono_us();
	ck_assert_uint_eq(queue_pop_wait(q, items, 4, 50), 0);
	elapsed = mono_us() - t0;
	ck_assert_uint_ge(elapsed, 50000);
	ck_assert_uint_le(elapsed, 50000 + LATE_US);

	t0 = mono_us();
	ck_assert_uint_eq(queue_pop_wait(q, items, 4, 0), 0);
	ck_assert_uint_lt(mono_us() - t0, LATE_US);

	/* Items already there come back at once. */
	ck_assert_int_eq(queue_push(q, ITEM(7), 0), 0);
	t0 = mono_us();
	ck_assert_uint_eq(queue_pop_wait(q, items, 4, 1000), 1);
	ck_assert_uint_lt(mono_us() - t0, LATE_US);
	ck_assert_uint_eq(VALUE(items[0]), 7);

	/* A push from another thread wakes a waiter with no timeout. */
	dp.q = q;
	dp.delay_ms = 30;
	dp.rc = -2;
	t0 = mono_us();
	ck_assert_int_eq(pthread_create(&th, NULL, push_later, &dp), 0);
	ck_assert_uint_eq(queue_pop_wait(q, items, 4, -1), 1);
	elapsed = mono_us() - t0;
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(dp.rc, 0);
	ck_assert_uint_eq(VALUE(items[0]), 42);
	ck_assert_uint_ge(elapsed, 25000);
	queue_free(q);
}
END_TEST

/* Blocks in pop_wait or push until the queue is closed. */
struct blocked {
	struct queue	*q;
	size_t		 n;
	int		 rc;
	uint64_t	 woke;
};

static void *
pop_forever(void *arg)
{
	struct blocked	*b = arg;
	void		*item;

	b->n = queue_pop_wait(b->q, &item, 1, -1);
	b->woke = mono_us();
	return NULL;
}

static void *
push_forever(void *arg)
{
	struct blocked	*b = arg;

	b->rc = queue_push(b->q, ITEM(99), -1);
	b->woke = mono_us();
	return NULL;
}

START_TEST(test_close_wakes_pop)
{
	struct queue	*q;
	struct blocked	 b = { NULL, 99, 0, 0 };
	pthread_t	 th;
	uint64_t	 closed_at;

	q = queue_new("close", 4, QUEUE_BLOCK, NULL);
	b.q = q;
	ck_assert_int_eq(pthread_create(&th, NULL, pop_forever, &b), 0);
	sleep_ms(30);
	closed_at = mono_us();
	queue_close(q);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_uint_ge(b.woke, closed_at);

	/* Once closed, waits do not block. */
	ck_assert_uint_eq(queue_pop_wait(q, NULL, 0, -1), 0);
	queue_free(q);
}
END_TEST

START_TEST(test_close_wakes_push)
{
	struct queue		*q;
	struct queue_stats	 st;
	struct blocked		 b = { NULL, 0, 99, 0 };
	pthread_t		 th;
	void			*items[4];
	uint64_t		 closed_at;

	reset_freed();
	q = queue_new("close", 2, QUEUE_BLOCK, record_free);
	b.q = q;
	ck_assert_int_eq(queue_push(q, ITEM(1), 0), 0);
	ck_assert_int_eq(queue_push(q, ITEM(2), 0), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, push_forever, &b), 0);
	sleep_ms(30);
	closed_at = mono_us();
	queue_close(q);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(b.rc, -1);
	ck_assert_uint_ge(b.woke, closed_at);

	/* Pushes fail after close; items already in can still be popped. */
	ck_assert_int_eq(queue_push(q, ITEM(3), 0), -1);
	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.rejected, 2);
	ck_assert_uint_eq(st.pushed, 2);
	ck_assert_uint_eq(queue_pop_wait(q, items, 4, -1), 2);
	ck_assert_uint_eq(VALUE(items[0]), 1);
	ck_assert_uint_eq(VALUE(items[1]), 2);
	ck_assert_uint_eq(queue_pop(q, items, 4), 0);
	queue_free(q);
	/* Nothing was left over and the refused items were not freed. */
	ck_assert_uint_eq(nfreed, 0);
}
END_TEST

START_TEST(test_stats)
{
	struct queue		*q;
	struct queue_stats	 st;
	void			*items[8];
	uintptr_t		 i;

	q = queue_new("stats", 8, QUEUE_REJECT, NULL);
	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.capacity, 8);
	ck_assert_uint_eq(st.pushed, 0);
	ck_assert_uint_eq(st.high_water, 0);

	for (i = 1; i <= 5; i++)
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), 0);
	ck_assert_uint_eq(queue_pop(q, items, 3), 3);
	ck_assert_int_eq(queue_push(q, ITEM(6), 0), 0);
	ck_assert_int_eq(queue_push(q, ITEM(7), 0), 0);

	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.pushed, 7);
	ck_assert_uint_eq(st.popped, 3);
	ck_assert_uint_eq(st.depth, 4);
	ck_assert_uint_eq(st.high_water, 5);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.rejected, 0);

	for (i = 8; i <= 12; i++)
		ck_assert_int_eq(queue_push(q, ITEM(i), 0), i <= 11 ? 0 : -1);
	queue_get_stats(q, &st);
	ck_assert_uint_eq(st.high_water, 8);
	ck_assert_uint_eq(st.depth, 8);
	ck_assert_uint_eq(st.rejected, 1);
	ck_assert_uint_eq(st.capacity, 8);

	ck_assert_ptr_null(queue_new("zero", 0, QUEUE_REJECT, NULL));
	queue_free(q);
}
END_TEST

/* Counts frees of heap-allocated items. */
static int	 heap_frees;

static void
free_counted(void *item)
{
	heap_frees++;
	free(item);
}

START_TEST(test_free_leftovers)
{
	struct queue	*q;
	void		*items[2];
	int		 i;

	heap_frees = 0;
	q = queue_new("left", 8, QUEUE_REJECT, free_counted);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(queue_push(q, xmalloc(32), 0), 0);
	ck_assert_uint_eq(queue_pop(q, items, 2), 2);
	free(items[0]);
	free(items[1]);
	queue_free(q);
	ck_assert_int_eq(heap_frees, 3);

	/* DROP_OLDEST frees evicted items, and queue_free the rest. */
	heap_frees = 0;
	q = queue_new("left", 2, QUEUE_DROP_OLDEST, free_counted);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(queue_push(q, xmalloc(32), 0), 0);
	ck_assert_int_eq(heap_frees, 3);
	queue_free(q);
	ck_assert_int_eq(heap_frees, 5);

	queue_free(NULL);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite	*s = suite_create("queue");
	TCase	*tc;

	tc = tcase_create("fifo");
	tcase_add_test(tc, test_fifo);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_test(tc, test_reject);
	suite_add_tcase(s, tc);

	tc = tcase_create("drop_oldest");
	tcase_add_test(tc, test_drop_oldest);
	suite_add_tcase(s, tc);

	tc = tcase_create("block");
	tcase_add_test(tc, test_block_timeout);
	tcase_add_test(tc, test_block_waits_for_consumer);
	suite_add_tcase(s, tc);

	tc = tcase_create("eventfd");
	tcase_add_test(tc, test_eventfd);
	suite_add_tcase(s, tc);

	tc = tcase_create("multi_producer");
	tcase_add_test(tc, test_multi_producer);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("pop_wait");
	tcase_add_test(tc, test_pop_wait);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_add_test(tc, test_close_wakes_pop);
	tcase_add_test(tc, test_close_wakes_push);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats");
	tcase_add_test(tc, test_stats);
	suite_add_tcase(s, tc);

	tc = tcase_create("free_leftovers");
	tcase_add_test(tc, test_free_leftovers);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(queue_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
