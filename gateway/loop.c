/*
 * The event loop: level-triggered epoll for file descriptors, a binary
 * min-heap of timers, a signalfd for signals and an eventfd for loop_stop().
 *
 * One turn: wait in epoll_wait() no longer than the earliest timer, refresh
 * the cached clock, fire every due timer, dispatch the fd events, then free
 * what callbacks deleted during the turn. Watches and timers deleted inside
 * a turn are only marked dead, so a stale event later in the same epoll
 * batch (or a timer freed from its own callback) never touches freed memory.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

#define LOOP_MAX_EVENTS	64
#define LOOP_NO_SLOT	SIZE_MAX

struct loop_watch {
	int			 fd;
	uint32_t		 events;
	loop_io_cb		 cb;
	void			*arg;
	int			 dead;
	LIST_ENTRY(loop_watch)	 dead_entry;
};
LIST_HEAD(loop_watch_list, loop_watch);

struct loop_timer {
	struct loop		*loop;
	loop_timer_cb		 cb;
	void			*arg;
	uint64_t		 deadline;	/* monotonic us */
	uint64_t		 interval;	/* us; 0 for a one-shot timer */
	uint64_t		 seq;		/* arming order: breaks ties */
	size_t			 slot;		/* heap index or LOOP_NO_SLOT */
	int			 dead;
	LIST_ENTRY(loop_timer)	 entry;		/* on timers or dead_timers */
};
LIST_HEAD(loop_timer_list, loop_timer);

struct loop_sig {
	int			 signo;
	loop_signal_cb		 cb;
	void			*arg;
};

struct loop {
	int			 epfd;
	int			 stopfd;
	int			 sigfd;
	atomic_int		 stop;
	int			 dispatching;
	uint64_t		 now;		/* monotonic us, per turn */

	struct loop_watch	**watches;	/* indexed by fd */
	size_t			 nwatches;
	struct loop_watch_list	 dead_watches;

	struct loop_timer	**heap;
	size_t			 nheap;
	size_t			 heapsize;
	uint64_t		 seq;
	struct loop_timer_list	 timers;
	struct loop_timer_list	 dead_timers;

	sigset_t		 sigmask;
	struct loop_sig		*sigs;
	size_t			 nsigs;
};

static void	loop_stop_read(struct loop *, int, uint32_t, void *);
static void	loop_signal_read(struct loop *, int, uint32_t, void *);

/* Adds two times in us, saturating instead of wrapping. */
static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	if (a > UINT64_MAX - b)
		return UINT64_MAX;
	return a + b;
}

/* Converts ms to us, saturating so that deadlines cannot wrap. */
static uint64_t
ms_to_us(uint64_t ms)
{
	if (ms > UINT64_MAX / 4000)
		return UINT64_MAX / 4;
	return ms * 1000;
}

/* Creates the epoll set and the stop eventfd, watched like any other fd. */
struct loop *
loop_new(void)
{
	struct loop	*loop;
	int		 saved;

	loop = xcalloc(1, sizeof(*loop));
	loop->epfd = loop->stopfd = loop->sigfd = -1;
	atomic_init(&loop->stop, 0);
	LIST_INIT(&loop->dead_watches);
	LIST_INIT(&loop->timers);
	LIST_INIT(&loop->dead_timers);
	sigemptyset(&loop->sigmask);
	loop->now = mono_us();

	if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		goto fail;
	if ((loop->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto fail;
	if (loop_add_fd(loop, loop->stopfd, EPOLLIN, loop_stop_read,
	    NULL) == -1)
		goto fail;
	return loop;

fail:
	saved = errno;
	loop_free(loop);
	errno = saved;
	return NULL;
}

/* Frees the watches and timers that were deleted during the last turn. */
static void
loop_reap(struct loop *loop)
{
	struct loop_watch	*w;
	struct loop_timer	*t;

	while ((w = LIST_FIRST(&loop->dead_watches)) != NULL) {
		LIST_REMOVE(w, dead_entry);
		free(w);
	}
	while ((t = LIST_FIRST(&loop->dead_timers)) != NULL) {
		LIST_REMOVE(t, entry);
		free(t);
	}
}

/* Frees watches, timers and the loop's own fds; watched fds stay open. */
void
loop_free(struct loop *loop)
{
	struct loop_timer	*t;
	size_t			 i;

	if (loop == NULL)
		return;
	for (i = 0; i < loop->nwatches; i++)
		free(loop->watches[i]);
	free(loop->watches);
	while ((t = LIST_FIRST(&loop->timers)) != NULL) {
		LIST_REMOVE(t, entry);
		free(t);
	}
	loop_reap(loop);
	free(loop->heap);
	free(loop->sigs);
	if (loop->sigfd != -1)
		close(loop->sigfd);
	if (loop->stopfd != -1)
		close(loop->stopfd);
	if (loop->epfd != -1)
		close(loop->epfd);
	free(loop);
}

/* Returns the live watch for fd, or NULL with errno set to ENOENT. */
static struct loop_watch *
loop_watch_find(struct loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nwatches ||
	    loop->watches[fd] == NULL) {
		errno = ENOENT;
		return NULL;
	}
	return loop->watches[fd];
}

/* Grows the watch table so that it has a slot for fd. */
static void
loop_watch_grow(struct loop *loop, int fd)
{
	size_t	 n;

	if ((size_t)fd < loop->nwatches)
		return;
	n = loop->nwatches < 16 ? 16 : loop->nwatches;
	while (n <= (size_t)fd)
		n *= 2;
	loop->watches = xreallocarray(loop->watches, n, sizeof(*loop->watches));
	memset(loop->watches + loop->nwatches, 0,
	    (n - loop->nwatches) * sizeof(*loop->watches));
	loop->nwatches = n;
}

/* Watches fd; epoll's data points at the watch, not at the fd number. */
int
loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_io_cb cb,
    void *arg)
{
	struct loop_watch	*w;
	struct epoll_event	 ev;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (loop_watch_find(loop, fd) != NULL) {
		errno = EEXIST;
		return -1;
	}
	loop_watch_grow(loop, fd);

	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->arg = arg;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		free(w);
		return -1;
	}
	loop->watches[fd] = w;
	return 0;
}

/* Changes the events watched on fd. */
int
loop_mod_fd(struct loop *loop, int fd, uint32_t events)
{
	struct loop_watch	*w;
	struct epoll_event	 ev;

	if ((w = loop_watch_find(loop, fd)) == NULL)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return -1;
	w->events = events;
	return 0;
}

/*
 * Forgets the watch even if epoll_ctl fails (say the fd was closed first),
 * so its callback is never called again; the failure is still returned.
 */
int
loop_del_fd(struct loop *loop, int fd)
{
	struct loop_watch	*w;
	int			 rc;

	if ((w = loop_watch_find(loop, fd)) == NULL)
		return -1;
	rc = epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->watches[fd] = NULL;
	if (loop->dispatching) {
		w->dead = 1;
		LIST_INSERT_HEAD(&loop->dead_watches, w, dead_entry);
	} else
		free(w);
	return rc;
}

/* Tells whether timer a is due before timer b. */
static int
timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

/* Puts t in heap slot i. */
static void
heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->slot = i;
}

/* Moves the timer in slot i up towards the root while it is due earlier. */
static void
heap_up(struct loop *loop, size_t i)
{
	struct loop_timer	*t = loop->heap[i];
	size_t			 parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!timer_before(t, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

/* Moves the timer in slot i down while a child is due earlier. */
static void
heap_down(struct loop *loop, size_t i)
{
	struct loop_timer	*t = loop->heap[i];
	size_t			 child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= loop->nheap)
			break;
		if (child + 1 < loop->nheap &&
		    timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop->heap[child], t))
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

/* Adds t to the heap. */
static void
heap_insert(struct loop *loop, struct loop_timer *t)
{
	size_t	 n;

	if (loop->nheap == loop->heapsize) {
		n = loop->heapsize == 0 ? 16 : loop->heapsize * 2;
		loop->heap = xreallocarray(loop->heap, n, sizeof(*loop->heap));
		loop->heapsize = n;
	}
	heap_set(loop, loop->nheap++, t);
	heap_up(loop, t->slot);
}

/* Takes t out of the heap in O(log n) through its stored slot. */
static void
heap_remove(struct loop *loop, struct loop_timer *t)
{
	struct loop_timer	*last;
	size_t			 i = t->slot;

	t->slot = LOOP_NO_SLOT;
	last = loop->heap[--loop->nheap];
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->slot);
}

/* Creates a disarmed timer owned by the loop. */
struct loop_timer *
loop_timer_new(struct loop *loop, loop_timer_cb cb, void *arg)
{
	struct loop_timer	*t;

	t = xcalloc(1, sizeof(*t));
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	t->slot = LOOP_NO_SLOT;
	LIST_INSERT_HEAD(&loop->timers, t, entry);
	return t;
}

/*
 * The deadline counts from the real clock, not the cached one, so a timer
 * armed late in a turn does not fire early. It is never due in the turn
 * that armed it, so a callback re-arming with delay 0 cannot spin.
 */
void
loop_timer_arm(struct loop_timer *t, uint64_t delay_ms,
    uint64_t interval_ms)
{
	struct loop	*loop = t->loop;
	uint64_t	 deadline;

	if (t->dead)
		return;
	if (t->slot != LOOP_NO_SLOT)
		heap_remove(loop, t);
	deadline = add_sat(mono_us(), ms_to_us(delay_ms));
	if (deadline <= loop->now)
		deadline = loop->now + 1;
	t->deadline = deadline;
	t->interval = ms_to_us(interval_ms);
	t->seq = loop->seq++;
	heap_insert(loop, t);
}

void
loop_timer_disarm(struct loop_timer *t)
{
	if (t->slot != LOOP_NO_SLOT)
		heap_remove(t->loop, t);
}

int
loop_timer_armed(const struct loop_timer *t)
{
	return t->slot != LOOP_NO_SLOT;
}

/* Disarms t and frees it, at the end of the turn if a callback is running. */
void
loop_timer_free(struct loop_timer *t)
{
	struct loop	*loop;

	if (t == NULL || t->dead)
		return;
	loop = t->loop;
	loop_timer_disarm(t);
	LIST_REMOVE(t, entry);
	if (loop->dispatching) {
		t->dead = 1;
		LIST_INSERT_HEAD(&loop->dead_timers, t, entry);
	} else
		free(t);
}

/* Returns the first slot after deadline, on its grid, that is after now. */
static uint64_t
timer_next(uint64_t deadline, uint64_t interval, uint64_t now)
{
	uint64_t	 next, skip;

	next = add_sat(deadline, interval);
	if (next <= now) {
		skip = (now - next) / interval + 1;
		if (skip > (UINT64_MAX - next) / interval)
			return UINT64_MAX;
		next += skip * interval;
	}
	return next;
}

/*
 * Fires every timer due at the cached time. A periodic timer goes back in
 * the heap before its callback runs, so the callback may disarm, re-arm or
 * free it; the loop does not touch the timer after the callback returns.
 */
static void
loop_fire_timers(struct loop *loop)
{
	struct loop_timer	*t;

	while (loop->nheap > 0) {
		t = loop->heap[0];
		if (t->deadline > loop->now)
			break;
		heap_remove(loop, t);
		if (t->interval > 0) {
			t->deadline = timer_next(t->deadline, t->interval,
			    loop->now);
			t->seq = loop->seq++;
			heap_insert(loop, t);
		}
		t->cb(loop, t, t->arg);
	}
}

/* Calls the callback of one epoll event unless its watch died this turn. */
static void
loop_dispatch(struct loop *loop, const struct epoll_event *ev)
{
	struct loop_watch	*w = ev->data.ptr;
	uint32_t		 events;

	if (w->dead)
		return;
	events = ev->events & (w->events | EPOLLERR | EPOLLHUP);
	if (events != 0)
		w->cb(loop, w->fd, events, w->arg);
}

/* Returns the epoll timeout: timeout_ms or the earliest timer, rounded up. */
static int
loop_timeout(struct loop *loop, int timeout_ms)
{
	uint64_t	 now, deadline, wait;

	if (loop->nheap == 0)
		return timeout_ms;
	now = mono_us();
	deadline = loop->heap[0]->deadline;
	if (deadline <= now)
		return 0;
	wait = (deadline - now + 999) / 1000;
	if (wait > INT_MAX)
		wait = INT_MAX;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
		return timeout_ms;
	return (int)wait;
}

/* Waits for fds or the earliest timer, fires due timers, dispatches fds. */
int
loop_run_once(struct loop *loop, int timeout_ms)
{
	struct epoll_event	 evs[LOOP_MAX_EVENTS];
	int			 i, n;

	n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS,
	    loop_timeout(loop, timeout_ms));
	if (n == -1) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	loop->now = mono_us();

	loop->dispatching = 1;
	loop_fire_timers(loop);
	for (i = 0; i < n; i++)
		loop_dispatch(loop, &evs[i]);
	loop->dispatching = 0;

	loop_reap(loop);
	return 0;
}

/* Runs turns until loop_stop(); each stop ends one loop_run(). */
int
loop_run(struct loop *loop)
{
	for (;;) {
		if (atomic_exchange(&loop->stop, 0))
			return 0;
		if (loop_run_once(loop, -1) == -1)
			return -1;
	}
}

/* Only an atomic store and a write(2): safe from threads and handlers. */
void
loop_stop(struct loop *loop)
{
	uint64_t	 one = 1;
	ssize_t		 n;
	int		 saved = errno;

	atomic_store(&loop->stop, 1);
	n = write(loop->stopfd, &one, sizeof(one));
	(void)n;
	errno = saved;
}

/* Drains the stop eventfd; loop_run() sees the flag after the turn. */
static void
loop_stop_read(struct loop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t	 count;
	ssize_t		 n;

	n = read(fd, &count, sizeof(count));
	(void)n;
}

/* Reads every pending signal and calls its callback. */
static void
loop_signal_read(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo	 si;
	size_t			 i;
	int			 signo;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		signo = (int)si.ssi_signo;
		for (i = 0; i < loop->nsigs; i++) {
			if (loop->sigs[i].signo != signo)
				continue;
			loop->sigs[i].cb(loop, signo, loop->sigs[i].arg);
			break;
		}
	}
}

/*
 * Blocks signo in the calling thread (threads started later inherit the
 * mask, so call this before starting workers) and adds it to the one
 * signalfd that the loop watches. A second call for signo replaces its
 * callback.
 */
int
loop_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg)
{
	sigset_t	 one, mask;
	size_t		 i;
	int		 fd, rc;

	sigemptyset(&one);
	if (sigaddset(&one, signo) == -1)
		return -1;
	mask = loop->sigmask;
	sigaddset(&mask, signo);
	if ((rc = pthread_sigmask(SIG_BLOCK, &one, NULL)) != 0) {
		errno = rc;
		return -1;
	}
	fd = signalfd(loop->sigfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		return -1;
	if (loop->sigfd == -1) {
		if (loop_add_fd(loop, fd, EPOLLIN, loop_signal_read,
		    NULL) == -1) {
			rc = errno;
			close(fd);
			errno = rc;
			return -1;
		}
		loop->sigfd = fd;
	}
	loop->sigmask = mask;

	for (i = 0; i < loop->nsigs; i++) {
		if (loop->sigs[i].signo == signo)
			break;
	}
	if (i == loop->nsigs) {
		loop->sigs = xreallocarray(loop->sigs, loop->nsigs + 1,
		    sizeof(*loop->sigs));
		loop->nsigs++;
	}
	loop->sigs[i].signo = signo;
	loop->sigs[i].cb = cb;
	loop->sigs[i].arg = arg;
	return 0;
}

uint64_t
loop_now(struct loop *loop)
{
	return loop->now / 1000;
}
