/* Unit tests for the event loop: fds, timers, signals and loop_stop. */
#include "config.h"

#include <sys/epoll.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

/* Slack for a timer firing late on a loaded machine; early is never allowed. */
#define LATE_US		40000

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

/* Opens a non-blocking pipe. */
static void
open_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

/* Writes one byte to fd. */
static void
poke(int fd)
{
	ck_assert_int_eq(write(fd, "x", 1), 1);
}

/* Records the io callbacks seen. */
struct io_rec {
	int		 calls;
	int		 fd;
	uint32_t	 events;
};

static void
io_record(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct io_rec	*r = arg;

	r->calls++;
	r->fd = fd;
	r->events = events;
}

START_TEST(test_fd_readable)
{
	struct loop	*loop;
	struct io_rec	 r = { 0, -1, 0 };
	int		 p[2];

	ck_assert_ptr_nonnull(loop = loop_new());
	open_pipe(p);
	ck_assert_int_eq(loop_add_fd(loop, p[0], EPOLLIN, io_record, &r), 0);

	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 0);

	poke(p[1]);
	ck_assert_int_eq(loop_run_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.fd, p[0]);
	ck_assert(r.events & EPOLLIN);

	/* Level-triggered: still readable until drained. */
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 2);

	ck_assert_int_eq(loop_add_fd(loop, p[0], EPOLLIN, io_record, &r), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(loop_add_fd(loop, -1, EPOLLIN, io_record, &r), -1);

	ck_assert_int_eq(loop_del_fd(loop, p[0]), 0);
	loop_free(loop);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_fd_mod_del)
{
	struct loop	*loop;
	struct io_rec	 r = { 0, -1, 0 }, w = { 0, -1, 0 };
	int		 p[2];

	ck_assert_ptr_nonnull(loop = loop_new());
	open_pipe(p);
	ck_assert_int_eq(loop_add_fd(loop, p[0], EPOLLIN, io_record, &r), 0);
	ck_assert_int_eq(loop_add_fd(loop, p[1], 0, io_record, &w), 0);
	poke(p[1]);

	/* No events asked for: nothing, although the pipe is writable. */
	ck_assert_int_eq(loop_mod_fd(loop, p[0], 0), 0);
	ck_assert_int_eq(loop_run_once(loop, 20), 0);
	ck_assert_int_eq(r.calls, 0);
	ck_assert_int_eq(w.calls, 0);

	ck_assert_int_eq(loop_mod_fd(loop, p[1], EPOLLOUT), 0);
	ck_assert_int_eq(loop_run_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 0);
	ck_assert_int_eq(w.calls, 1);
	ck_assert(w.events & EPOLLOUT);

	ck_assert_int_eq(loop_mod_fd(loop, p[1], 0), 0);
	ck_assert_int_eq(loop_mod_fd(loop, p[0], EPOLLIN), 0);
	ck_assert_int_eq(loop_run_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(w.calls, 1);

	ck_assert_int_eq(loop_del_fd(loop, p[0]), 0);
	ck_assert_int_eq(loop_run_once(loop, 20), 0);
	ck_assert_int_eq(r.calls, 1);

	ck_assert_int_eq(loop_del_fd(loop, p[0]), -1);
	ck_assert_int_eq(loop_mod_fd(loop, p[0], EPOLLIN), -1);

	/* A deleted fd can be watched again. */
	ck_assert_int_eq(loop_add_fd(loop, p[0], EPOLLIN, io_record, &r), 0);
	ck_assert_int_eq(loop_run_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 2);

	loop_free(loop);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Two readable pipes; whichever callback runs first deletes the other. */
struct del_pair {
	int		 fd[2];
	int		 calls[2];
	int		 readd_calls;
	int		 readd;
};

static void
io_readd(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct del_pair	*dp = arg;

	dp->readd_calls++;
}

static void
io_del_other(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct del_pair	*dp = arg;
	int		 me = fd == dp->fd[0] ? 0 : 1;
	int		 other = dp->fd[1 - me];

	dp->calls[me]++;
	if (dp->calls[0] + dp->calls[1] > 1)
		return;
	ck_assert_int_eq(loop_del_fd(loop, other), 0);
	/* Same fd number, new watch: the stale event must not reach it. */
	if (dp->readd)
		ck_assert_int_eq(loop_add_fd(loop, other, EPOLLIN, io_readd,
		    dp), 0);
}

/* Runs the delete-in-batch case, optionally re-adding the deleted fd. */
static void
del_in_batch(int readd)
{
	struct loop	*loop;
	struct del_pair	 dp = { { -1, -1 }, { 0, 0 }, 0, readd };
	int		 a[2], b[2], i;

	ck_assert_ptr_nonnull(loop = loop_new());
	open_pipe(a);
	open_pipe(b);
	dp.fd[0] = a[0];
	dp.fd[1] = b[0];
	ck_assert_int_eq(loop_add_fd(loop, a[0], EPOLLIN, io_del_other, &dp),
	    0);
	ck_assert_int_eq(loop_add_fd(loop, b[0], EPOLLIN, io_del_other, &dp),
	    0);
	poke(a[1]);
	poke(b[1]);

	/* Both are readable before the wait: one epoll batch holds both. */
	ck_assert_int_eq(loop_run_once(loop, 1000), 0);
	ck_assert_int_eq(dp.calls[0] + dp.calls[1], 1);
	ck_assert_int_eq(dp.readd_calls, 0);

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(dp.calls[0] + dp.calls[1], 4);
	ck_assert_int_eq(dp.readd_calls, readd ? 3 : 0);

	loop_free(loop);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

START_TEST(test_fd_del_in_batch)
{
	del_in_batch(0);
}
END_TEST

START_TEST(test_fd_del_readd_in_batch)
{
	del_in_batch(1);
}
END_TEST

/* Deleting and closing its own fd inside the callback is fine. */
static void
io_del_self(struct loop *loop, int fd, uint32_t events, void *arg)
{
	int	*calls = arg;

	(*calls)++;
	ck_assert_int_eq(loop_del_fd(loop, fd), 0);
	close(fd);
}

START_TEST(test_fd_del_self)
{
	struct loop	*loop;
	int		 p[2], calls = 0;

	ck_assert_ptr_nonnull(loop = loop_new());
	open_pipe(p);
	ck_assert_int_eq(loop_add_fd(loop, p[0], EPOLLIN, io_del_self,
	    &calls), 0);
	poke(p[1]);
	ck_assert_int_eq(loop_run_once(loop, 1000), 0);
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(calls, 1);
	loop_free(loop);
	close(p[1]);
}
END_TEST

/* Records when a timer fired. */
struct tick {
	int		 calls;
	int		 limit;		/* disarm after this many, if > 0 */
	unsigned int	 sleep_ms;	/* work done in each callback */
	uint64_t	 at[16];	/* mono_us() of each call */
	uint64_t	 loop_ms[16];	/* loop_now() of each call */
};

static void
timer_tick(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct tick	*k = arg;

	if (k->calls < (int)FMQ_NELEM(k->at)) {
		k->at[k->calls] = mono_us();
		k->loop_ms[k->calls] = loop_now(loop);
	}
	k->calls++;
	if (k->limit > 0 && k->calls >= k->limit)
		loop_timer_disarm(t);
	if (k->sleep_ms > 0)
		sleep_ms(k->sleep_ms);
}

/* Runs turns until *calls reaches n or limit_ms passes. */
static void
run_until(struct loop *loop, const int *calls, int n, uint64_t limit_ms)
{
	uint64_t	 end = mono_ms() + limit_ms;

	while (*calls < n && mono_ms() < end)
		ck_assert_int_eq(loop_run_once(loop, 100), 0);
}

START_TEST(test_timer_oneshot)
{
	struct loop		*loop;
	struct loop_timer	*t;
	struct tick		 k = { 0 };
	uint64_t		 t0, elapsed;

	ck_assert_ptr_nonnull(loop = loop_new());
	t = loop_timer_new(loop, timer_tick, &k);
	ck_assert_int_eq(loop_timer_armed(t), 0);

	t0 = mono_us();
	loop_timer_arm(t, 50, 0);
	ck_assert_int_eq(loop_timer_armed(t), 1);
	while (k.calls == 0)
		ck_assert_int_eq(loop_run_once(loop, -1), 0);
	elapsed = k.at[0] - t0;
	ck_assert_uint_ge(elapsed, 50000);
	ck_assert_uint_le(elapsed, 50000 + LATE_US);
	ck_assert_uint_ge(k.loop_ms[0], t0 / 1000 + 50);
	ck_assert_int_eq(loop_timer_armed(t), 0);

	/* One-shot: it does not fire again. */
	ck_assert_int_eq(loop_run_once(loop, 60), 0);
	ck_assert_int_eq(k.calls, 1);

	/* Re-armed, it fires again, never early. */
	t0 = mono_us();
	loop_timer_arm(t, 7, 0);
	while (k.calls == 1)
		ck_assert_int_eq(loop_run_once(loop, -1), 0);
	ck_assert_uint_ge(k.at[1] - t0, 7000);

	loop_timer_free(t);
	loop_free(loop);
}
END_TEST

START_TEST(test_timer_short_never_early)
{
	struct loop		*loop;
	struct loop_timer	*t;
	struct tick		 k = { 0 };
	uint64_t		 t0;
	unsigned int		 delay;

	/* Sub-ms offsets of the clock must not make short timers early. */
	ck_assert_ptr_nonnull(loop = loop_new());
	t = loop_timer_new(loop, timer_tick, &k);
	for (delay = 1; delay <= 12; delay++) {
		k.calls = 0;
		t0 = mono_us();
		loop_timer_arm(t, delay, 0);
		/* The wait is rounded up: one turn is enough, and not early. */
		ck_assert_int_eq(loop_run_once(loop, -1), 0);
		ck_assert_int_eq(k.calls, 1);
		ck_assert_uint_ge(k.at[0] - t0, delay * 1000);
		ck_assert_uint_le(k.at[0] - t0, delay * 1000 + LATE_US);
	}
	loop_free(loop);
}
END_TEST

START_TEST(test_timer_periodic)
{
	struct loop		*loop;
	struct loop_timer	*t;
	struct tick		 k = { 0 };
	uint64_t		 t0;
	int			 i;

	/* Each callback works 5 ms: re-arming from now would drift 50 ms. */
	k.limit = 10;
	k.sleep_ms = 5;
	ck_assert_ptr_nonnull(loop = loop_new());
	t = loop_timer_new(loop, timer_tick, &k);
	t0 = mono_us();
	loop_timer_arm(t, 20, 20);
	run_until(loop, &k.calls, 10, 2000);
	ck_assert_int_eq(k.calls, 10);
	for (i = 0; i < 10; i++) {
		ck_assert_uint_ge(k.at[i] - t0, (uint64_t)(i + 1) * 20000);
		ck_assert_uint_le(k.at[i] - t0,
		    (uint64_t)(i + 1) * 20000 + LATE_US);
	}
	ck_assert_int_eq(loop_timer_armed(t), 0);
	ck_assert_int_eq(loop_run_once(loop, 50), 0);
	ck_assert_int_eq(k.calls, 10);
	loop_free(loop);
}
END_TEST

START_TEST(test_timer_periodic_no_drift)
{
	struct loop		*loop;
	struct loop_timer	*t;
	struct tick		 k = { 0 };
	uint64_t		 t0, before, slots;
	int			 i;

	/*
	 * Period 30 ms, a turn every 20 ms: each fire is up to 20 ms late.
	 * Re-armed from its deadline the timer still fires once per slot;
	 * re-armed from the time it fired it would only fire every 40 ms.
	 * Only a turn gap of 30 ms or more may skip a slot: allow one.
	 */
	ck_assert_ptr_nonnull(loop = loop_new());
	t = loop_timer_new(loop, timer_tick, &k);
	t0 = mono_us();
	loop_timer_arm(t, 30, 30);
	before = t0;
	for (i = 0; i < 15; i++) {
		sleep_ms(20);
		before = mono_us();
		ck_assert_int_eq(loop_run_once(loop, 0), 0);
	}
	slots = (before - t0) / 30000;
	ck_assert_uint_ge(slots, 10);
	ck_assert_uint_ge((uint64_t)k.calls + 1, slots);
	ck_assert_uint_le((uint64_t)k.calls, slots + 1);
	for (i = 0; i < k.calls && i < (int)FMQ_NELEM(k.at); i++)
		ck_assert_uint_ge(k.at[i] - t0, (uint64_t)(i + 1) * 30000);
	loop_free(loop);
}
END_TEST

START_TEST(test_timer_periodic_catch_up)
{
	struct loop		*loop;
	struct loop_timer	*t;
	struct tick		 k = { 0 };
	uint64_t		 t0;

	/*
	 * Period 30 ms; the first callback blocks the loop 100 ms, so the
	 * slots at 60, 90 and 120 ms are missed. They are not replayed in a
	 * burst: the timer fires once late, then on its grid at 150 ms.
	 */
	k.sleep_ms = 100;
	ck_assert_ptr_nonnull(loop = loop_new());
	t = loop_timer_new(loop, timer_tick, &k);
	t0 = mono_us();
	loop_timer_arm(t, 30, 30);
	run_until(loop, &k.calls, 1, 1000);
	ck_assert_int_eq(k.calls, 1);
	k.sleep_ms = 0;

	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(k.calls, 2);
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(k.calls, 2);

	run_until(loop, &k.calls, 3, 1000);
	ck_assert_int_eq(k.calls, 3);
	ck_assert_uint_ge(k.at[2] - t0, 150000);
	ck_assert_uint_le(k.at[2] - t0, 150000 + LATE_US);
	loop_free(loop);
}
END_TEST

/* Appends the timer's id to a shared order log. */
struct order {
	int		 ids[64];
	int		 n;
};

struct order_timer {
	struct order	*log;
	int		 id;
};

static void
timer_order(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct order_timer	*ot = arg;

	if (ot->log->n < (int)FMQ_NELEM(ot->log->ids))
		ot->log->ids[ot->log->n] = ot->id;
	ot->log->n++;
}

START_TEST(test_timer_order)
{
	static const unsigned int delays[] = { 30, 10, 20, 10, 0, 25, 5 };
	static const int expect[] = { 4, 6, 1, 3, 2, 5, 0 };
	struct loop		*loop;
	struct loop_timer	*t[FMQ_NELEM(delays)];
	struct order_timer	 ot[FMQ_NELEM(delays)];
	struct order		 log = { { 0 }, 0 };
	size_t			 i;

	ck_assert_ptr_nonnull(loop = loop_new());
	for (i = 0; i < FMQ_NELEM(delays); i++) {
		ot[i].log = &log;
		ot[i].id = (int)i;
		t[i] = loop_timer_new(loop, timer_order, &ot[i]);
	}
	for (i = 0; i < FMQ_NELEM(delays); i++)
		loop_timer_arm(t[i], delays[i], 0);
	/* Sleep past every deadline: all fire in one turn, in order. */
	sleep_ms(40);
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(log.n, (int)FMQ_NELEM(delays));
	for (i = 0; i < FMQ_NELEM(expect); i++)
		ck_assert_int_eq(log.ids[i], expect[i]);
	for (i = 0; i < FMQ_NELEM(delays); i++)
		loop_timer_free(t[i]);
	loop_free(loop);
}
END_TEST

START_TEST(test_timer_order_heap)
{
	enum { N = 50 };
	struct loop		*loop;
	struct loop_timer	*t[N];
	struct order_timer	 ot[N];
	struct order		 log = { { 0 }, 0 };
	unsigned int		 delay[N];
	int			 i, j, tmp, idx[N], prev;

	/* Delays 0, 2, ... 98 ms in a shuffled arming order. */
	srand(12345);
	for (i = 0; i < N; i++)
		idx[i] = i;
	for (i = N - 1; i > 0; i--) {
		j = rand() % (i + 1);
		tmp = idx[i];
		idx[i] = idx[j];
		idx[j] = tmp;
	}
	ck_assert_ptr_nonnull(loop = loop_new());
	for (i = 0; i < N; i++) {
		delay[i] = (unsigned int)idx[i] * 2;
		ot[i].log = &log;
		ot[i].id = i;
		t[i] = loop_timer_new(loop, timer_order, &ot[i]);
		loop_timer_arm(t[i], delay[i], 0);
	}
	/* Disarm every third from the middle of the heap. */
	for (i = 0; i < N; i += 3)
		loop_timer_disarm(t[i]);
	/* Re-arming moves a timer: 1 goes last. */
	loop_timer_arm(t[1], 120, 0);

	run_until(loop, &log.n, N - (N + 2) / 3, 2000);
	ck_assert_int_eq(log.n, N - (N + 2) / 3);
	prev = -1;
	for (i = 0; i < log.n; i++) {
		j = log.ids[i];
		ck_assert_int_ne(j % 3, 0);
		if (j == 1) {
			ck_assert_int_eq(i, log.n - 1);
			continue;
		}
		ck_assert_int_gt((int)delay[j], prev);
		prev = (int)delay[j];
	}
	ck_assert_int_eq(loop_run_once(loop, 20), 0);
	ck_assert_int_eq(log.n, N - (N + 2) / 3);
	loop_free(loop);
}
END_TEST

START_TEST(test_timer_disarm)
{
	struct loop		*loop;
	struct loop_timer	*t;
	struct tick		 k = { 0 };

	ck_assert_ptr_nonnull(loop = loop_new());
	t = loop_timer_new(loop, timer_tick, &k);
	loop_timer_arm(t, 10, 10);
	loop_timer_disarm(t);
	ck_assert_int_eq(loop_timer_armed(t), 0);
	loop_timer_disarm(t);
	sleep_ms(20);
	ck_assert_int_eq(loop_run_once(loop, 30), 0);
	ck_assert_int_eq(k.calls, 0);

	loop_timer_arm(t, 5, 0);
	run_until(loop, &k.calls, 1, 1000);
	ck_assert_int_eq(k.calls, 1);
	loop_timer_free(t);
	loop_free(loop);
}
END_TEST

/* Two timers due in the same turn: the first disarms or frees the other. */
struct pair {
	struct loop_timer	*t[2];
	int			 calls[2];
	int			 free_other;
};

static void
timer_kill_other(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct pair	*p = arg;
	int		 me = t == p->t[0] ? 0 : 1;

	p->calls[me]++;
	if (p->free_other) {
		loop_timer_free(p->t[1 - me]);
		p->t[1 - me] = NULL;
	} else
		loop_timer_disarm(p->t[1 - me]);
}

/* Runs the two-timer case with disarm or free. */
static void
kill_other(int free_other)
{
	struct loop	*loop;
	struct pair	 p = { { NULL, NULL }, { 0, 0 }, free_other };

	ck_assert_ptr_nonnull(loop = loop_new());
	p.t[0] = loop_timer_new(loop, timer_kill_other, &p);
	p.t[1] = loop_timer_new(loop, timer_kill_other, &p);
	loop_timer_arm(p.t[0], 5, 5);
	loop_timer_arm(p.t[1], 5, 5);
	sleep_ms(15);
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(p.calls[0], 1);
	ck_assert_int_eq(p.calls[1], 0);
	sleep_ms(15);
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(p.calls[1], 0);
	ck_assert_int_ge(p.calls[0], 2);
	loop_free(loop);
}

START_TEST(test_timer_disarm_other_same_turn)
{
	kill_other(0);
}
END_TEST

START_TEST(test_timer_free_other_same_turn)
{
	kill_other(1);
}
END_TEST

/* Frees its own timer; arg counts calls. */
static void
timer_free_self(struct loop *loop, struct loop_timer *t, void *arg)
{
	int	*calls = arg;

	(*calls)++;
	loop_timer_free(t);
	/* A second free in the same turn is ignored. */
	loop_timer_free(t);
}

START_TEST(test_timer_free_self)
{
	struct loop		*loop;
	struct loop_timer	*periodic, *oneshot;
	int			 pcalls = 0, ocalls = 0;

	ck_assert_ptr_nonnull(loop = loop_new());
	periodic = loop_timer_new(loop, timer_free_self, &pcalls);
	oneshot = loop_timer_new(loop, timer_free_self, &ocalls);
	loop_timer_arm(periodic, 1, 1);
	loop_timer_arm(oneshot, 1, 0);
	run_until(loop, &pcalls, 1, 1000);
	run_until(loop, &ocalls, 1, 1000);
	sleep_ms(5);
	ck_assert_int_eq(loop_run_once(loop, 10), 0);
	ck_assert_int_eq(pcalls, 1);
	ck_assert_int_eq(ocalls, 1);

	/* loop_free() frees timers still owned by the loop, armed or not. */
	loop_timer_arm(loop_timer_new(loop, timer_free_self, &pcalls), 1000, 0);
	(void)loop_timer_new(loop, timer_free_self, &pcalls);
	loop_timer_free(NULL);
	loop_free(loop);
	loop_free(NULL);
}
END_TEST

/* Re-arms itself with delay 0: must run once per turn, not spin. */
static void
timer_rearm_zero(struct loop *loop, struct loop_timer *t, void *arg)
{
	int	*calls = arg;

	(*calls)++;
	loop_timer_arm(t, 0, 0);
}

START_TEST(test_timer_zero_rearm)
{
	struct loop		*loop;
	struct loop_timer	*t;
	int			 calls = 0, i;

	ck_assert_ptr_nonnull(loop = loop_new());
	t = loop_timer_new(loop, timer_rearm_zero, &calls);
	loop_timer_arm(t, 0, 0);
	for (i = 1; i <= 5; i++) {
		ck_assert_int_eq(loop_run_once(loop, 1000), 0);
		ck_assert_int_le(calls, i);
	}
	ck_assert_int_ge(calls, 4);
	loop_free(loop);
}
END_TEST

/* Calls loop_stop() after a delay from another thread. */
static void *
stopper(void *arg)
{
	sleep_ms(50);
	loop_stop(arg);
	return NULL;
}

/* Stops the loop from inside a timer. */
static void
timer_stop(struct loop *loop, struct loop_timer *t, void *arg)
{
	int	*calls = arg;

	(*calls)++;
	loop_stop(loop);
}

START_TEST(test_stop_thread)
{
	struct loop		*loop;
	struct loop_timer	*t;
	pthread_t		 th;
	uint64_t		 t0, elapsed;
	int			 calls = 0;

	ck_assert_ptr_nonnull(loop = loop_new());

	/* No fd ready and no timer: only the eventfd can wake it. */
	t0 = mono_us();
	ck_assert_int_eq(pthread_create(&th, NULL, stopper, loop), 0);
	ck_assert_int_eq(loop_run(loop), 0);
	elapsed = mono_us() - t0;
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_ge(elapsed, 45000);
	ck_assert_uint_le(elapsed, 2000000);

	/* The stop is consumed: the loop can run again, stopped by a timer. */
	t = loop_timer_new(loop, timer_stop, &calls);
	loop_timer_arm(t, 10, 0);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(calls, 1);

	/* A stop before loop_run() makes it return at once. */
	loop_stop(loop);
	ck_assert_int_eq(loop_run(loop), 0);
	loop_free(loop);
}
END_TEST

/* Records signals delivered through the loop. */
struct sigrec {
	int	 usr1;
	int	 usr2;
	int	 other;
};

static void
signal_record(struct loop *loop, int signo, void *arg)
{
	struct sigrec	*s = arg;

	if (signo == SIGUSR1)
		s->usr1++;
	else if (signo == SIGUSR2)
		s->usr2++;
	else
		s->other++;
}

START_TEST(test_signal)
{
	struct loop	*loop;
	struct sigrec	 s = { 0, 0, 0 };
	sigset_t	 cur;
	int		 i;

	ck_assert_ptr_nonnull(loop = loop_new());
	ck_assert_int_eq(loop_signal(loop, SIGUSR1, signal_record, &s), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	ck_assert_int_eq(sigismember(&cur, SIGUSR1), 1);

	ck_assert_int_eq(raise(SIGUSR1), 0);
	for (i = 0; i < 10 && s.usr1 == 0; i++)
		ck_assert_int_eq(loop_run_once(loop, 100), 0);
	ck_assert_int_eq(s.usr1, 1);

	/* A second signal shares the signalfd; both are delivered. */
	ck_assert_int_eq(loop_signal(loop, SIGUSR2, signal_record, &s), 0);
	ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	for (i = 0; i < 10 && (s.usr1 < 2 || s.usr2 < 1); i++)
		ck_assert_int_eq(loop_run_once(loop, 100), 0);
	ck_assert_int_eq(s.usr1, 2);
	ck_assert_int_eq(s.usr2, 1);
	ck_assert_int_eq(s.other, 0);

	ck_assert_int_eq(loop_signal(loop, 0, signal_record, &s), -1);
	loop_free(loop);
}
END_TEST

static Suite *
loop_suite(void)
{
	Suite	*s = suite_create("loop");
	TCase	*tc;

	tc = tcase_create("fd_readable");
	tcase_add_test(tc, test_fd_readable);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd_mod_del");
	tcase_add_test(tc, test_fd_mod_del);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd_del_in_batch");
	tcase_add_test(tc, test_fd_del_in_batch);
	tcase_add_test(tc, test_fd_del_readd_in_batch);
	tcase_add_test(tc, test_fd_del_self);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer_oneshot");
	tcase_add_test(tc, test_timer_oneshot);
	tcase_add_test(tc, test_timer_short_never_early);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer_periodic");
	tcase_add_test(tc, test_timer_periodic);
	tcase_add_test(tc, test_timer_periodic_no_drift);
	tcase_add_test(tc, test_timer_periodic_catch_up);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer_order");
	tcase_add_test(tc, test_timer_order);
	tcase_add_test(tc, test_timer_order_heap);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer_disarm");
	tcase_add_test(tc, test_timer_disarm);
	tcase_add_test(tc, test_timer_disarm_other_same_turn);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer_free");
	tcase_add_test(tc, test_timer_free_self);
	tcase_add_test(tc, test_timer_free_other_same_turn);
	tcase_add_test(tc, test_timer_zero_rearm);
	suite_add_tcase(s, tc);

	tc = tcase_create("stop");
	tcase_add_test(tc, test_stop_thread);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal");
	tcase_add_test(tc, test_signal);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(loop_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
