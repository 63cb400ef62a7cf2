/* Service manager notifications (sd_notify); no-ops without systemd. */
#ifndef FMQ_NOTIFY_H
#define FMQ_NOTIFY_H

#include <stdint.h>

void	 notify_ready(void);
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_watchdog(void);
/* One line of STATUS= text shown by systemctl status. */
void	 notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval asked by the service manager in µs, or 0. */
uint64_t notify_watchdog_usec(void);

#endif
