/*
 * The daemon's life: it owns the event loop and the running configuration,
 * starts the parts, reloads on SIGHUP, stops on SIGTERM/SIGINT within the
 * configured time, and keeps the service manager informed.
 * Everything here runs on the main (loop) thread.
 */
#ifndef FMQ_DAEMON_H
#define FMQ_DAEMON_H

struct fmq_config;
struct daemon;

/*
 * Creates the daemon for a loaded config (taken). log_override >= 0 is a
 * --log-level that wins over the config's log_level, also after reloads.
 */
struct daemon	*daemon_new(const char *config_path, struct fmq_config *,
		    int log_override);
/* Runs until stopped; returns the process exit status. */
int		 daemon_run(struct daemon *);
void		 daemon_free(struct daemon *);

#endif
