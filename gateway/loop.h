/*
 * The event loop: epoll for file descriptors, a heap of millisecond timers,
 * signals through a signalfd and a cross-thread stop through an eventfd.
 * Every function except loop_stop() is for the loop's own thread only.
 */
#ifndef FMQ_LOOP_H
#define FMQ_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

/* Events are EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP as in <sys/epoll.h>. */
typedef void (*loop_io_cb)(struct loop *, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *, struct loop_timer *, void *arg);
typedef void (*loop_signal_cb)(struct loop *, int signo, void *arg);

/* Creates a loop; NULL with errno set if epoll or eventfd fail. */
struct loop	*loop_new(void);
/* Frees the loop and its timers (not the fds it watches); accepts NULL. */
void		 loop_free(struct loop *);

/* Watches fd (borrowed: the caller closes it after loop_del_fd). */
int		 loop_add_fd(struct loop *, int fd, uint32_t events, loop_io_cb, void *arg);
int		 loop_mod_fd(struct loop *, int fd, uint32_t events);
int		 loop_del_fd(struct loop *, int fd);

/*
 * A timer is created disarmed; arm it with a delay and an optional period.
 * Timers are for the loop thread only and die with the loop.
 */
struct loop_timer *loop_timer_new(struct loop *, loop_timer_cb, void *arg);
/* Fires after delay_ms, then every interval_ms if interval_ms > 0. */
void		 loop_timer_arm(struct loop_timer *, uint64_t delay_ms, uint64_t interval_ms);
void		 loop_timer_disarm(struct loop_timer *);
int		 loop_timer_armed(const struct loop_timer *);
/* Disarms and frees; safe from inside the timer's own callback; accepts NULL. */
void		 loop_timer_free(struct loop_timer *);

/*
 * Blocks signo in the calling thread and delivers it through the loop.
 * Call it before any worker thread starts, so that they inherit the mask;
 * loop_free() leaves the signal blocked.
 */
int		 loop_signal(struct loop *, int signo, loop_signal_cb, void *arg);

/* Runs until loop_stop(); returns 0, or -1 if epoll_wait fails. */
int		 loop_run(struct loop *);
/* Runs one turn, waiting at most timeout_ms (-1: until something happens). */
int		 loop_run_once(struct loop *, int timeout_ms);
/* Asks the loop to return from loop_run(); any thread, async-signal-safe. */
void		 loop_stop(struct loop *);

/* The loop's monotonic clock in ms, refreshed once per turn. */
uint64_t	 loop_now(struct loop *);

#endif
