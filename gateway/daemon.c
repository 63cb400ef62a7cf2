/* The daemon's life: start, reload on SIGHUP, bounded stop, watchdog. */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actuator.h"
#include "bridge.h"
#include "broker.h"
#include "conf.h"
#include "daemon.h"
#include "fieldbus.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "rules.h"
#include "store.h"
#include "util.h"

struct daemon {
	char			*path;
	struct fmq_config	*cfg;		/* the latest valid config */
	struct fmq_config	*boot_cfg;	/* the one the parts run on */
	int			 log_override;
	struct loop		*loop;
	struct broker		*broker;
	struct store		*store;
	struct drv_lines	*lines;
	struct actuators	*actuators;
	struct rules		*rules;
	struct bridges		*bridges;
	struct loop_timer	*watchdog;
	struct loop_timer	*stop_timer;
	int			 stopping;
	int			 status;
	uint64_t		 started_ms;
};

/* Applies the settings that take effect at once (the log level). */
static void
daemon_apply(struct daemon *d)
{
	log_set_level(d->log_override >= 0 ? (enum log_level)d->log_override :
	    (enum log_level)d->cfg->log_level);
}

static void
on_watchdog(struct loop *l, struct loop_timer *t, void *arg)
{
	notify_watchdog();
}

static void
on_stop_timeout(struct loop *l, struct loop_timer *t, void *arg)
{
	struct daemon *d = arg;

	log_error("fieldmqd", NULL, "stop: not finished after %llu ms: exiting "
	    "anyway", (unsigned long long)d->cfg->shutdown_timeout_ms);
	d->status = 1;
	loop_stop(l);
}

/* Begins a graceful stop: parts flush, then the loop ends. */
static void
daemon_stop(struct daemon *d, const char *why)
{
	if (d->stopping) {
		log_warn("fieldmqd", NULL, "%s again: stopping now", why);
		d->status = 1;
		loop_stop(d->loop);
		return;
	}
	d->stopping = 1;
	notify_stopping();
	log_info("fieldmqd", NULL, "stopping: %s", why);
	d->stop_timer = loop_timer_new(d->loop, on_stop_timeout, d);
	loop_timer_arm(d->stop_timer, d->cfg->shutdown_timeout_ms, 0);
	/* Drivers first (no more readings), then the broker writes what it
	 * has queued and closes its clients. */
	actuators_free(d->actuators);
	d->actuators = NULL;
	fieldbus_stop(d->lines);
	d->lines = NULL;
	broker_stop(d->broker);
	loop_stop(d->loop);
}

/* Re-reads the config; applies it only if the whole file is valid. */
static void
daemon_reload(struct daemon *d)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	char			 desc[256];

	notify_reloading();
	log_info("config", NULL, "reloading %s", d->path);
	if ((cfg = config_load(d->path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("config", NULL, "%s", errs.lines[i]);
		log_error("config", NULL, "reload refused: %zu error%s: still "
		    "running on the previous configuration", errs.n,
		    errs.n == 1 ? "" : "s");
		cfg_errors_free(&errs);
		notify_ready();
		return;
	}
	/* The parts keep pointers into the config they started with. */
	if (d->cfg != d->boot_cfg)
		config_free(d->cfg);
	d->cfg = cfg;
	daemon_apply(d);
	broker_reload(d->broker, cfg);
	config_describe(cfg, desc, sizeof(desc));
	log_info("config", NULL, "reloaded: %s (log_level, password_file and "
	    "acl_file apply now; listeners, devices, tables and actuators at "
	    "the next start)", desc);
	notify_ready();
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	switch (signo) {
	case SIGHUP:
		daemon_reload(d);
		break;
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		break;
	case SIGINT:
		daemon_stop(d, "SIGINT");
		break;
	}
}

struct daemon *
daemon_new(const char *path, struct fmq_config *cfg, int log_override)
{
	struct daemon *d = xcalloc(1, sizeof(*d));

	d->path = xstrdup(path);
	d->cfg = d->boot_cfg = cfg;
	d->log_override = log_override;
	if ((d->loop = loop_new()) == NULL)
		fatal("cannot create the event loop");
	daemon_apply(d);
	return d;
}

int
daemon_run(struct daemon *d)
{
	uint64_t	wd_usec;
	char		desc[256], err[512];

	signal(SIGPIPE, SIG_IGN);
	if (loop_signal(d->loop, SIGHUP, on_signal, d) == -1 ||
	    loop_signal(d->loop, SIGTERM, on_signal, d) == -1 ||
	    loop_signal(d->loop, SIGINT, on_signal, d) == -1)
		fatal("cannot watch signals");
	if ((wd_usec = notify_watchdog_usec()) > 0) {
		uint64_t ms = wd_usec / 2000 ? wd_usec / 2000 : 1;

		d->watchdog = loop_timer_new(d->loop, on_watchdog, d);
		loop_timer_arm(d->watchdog, ms, ms);
		log_info("fieldmqd", NULL, "watchdog: pinging every %llu ms",
		    (unsigned long long)ms);
	}
	if ((d->store = store_open(&d->cfg->store, err, sizeof(err))) == NULL) {
		log_error("store", NULL, "%s: not starting", err);
		return 1;
	}
	if (store_tables(d->store, d->boot_cfg->tables, d->boot_cfg->ntables, err,
	    sizeof(err)) == -1) {
		log_error("rules", NULL, "%s: not starting", err);
		return 1;
	}
	d->broker = broker_new(d->loop, d->boot_cfg, d->store);
	if (store_start(d->store) == -1 || broker_start(d->broker) == -1) {
		log_error("fieldmqd", NULL, "cannot start the broker: not starting");
		return 1;
	}
	d->rules = rules_start(d->boot_cfg, d->loop, d->broker, d->store);
	d->bridges = bridges_start(d->boot_cfg, d->broker, d->store);
	d->lines = fieldbus_start(d->boot_cfg, d->broker);
	d->actuators = actuators_start(d->boot_cfg, d->broker, d->lines);
	d->started_ms = mono_ms();
	config_describe(d->cfg, desc, sizeof(desc));
	log_info("fieldmqd", NULL, "started %s (pid %ld): %s: %s", PACKAGE_VERSION,
	    (long)getpid(), d->path, desc);
	notify_ready();
	notify_status("running: %s", desc);
	if (loop_run(d->loop) == -1) {
		log_error("fieldmqd", NULL, "event loop failed");
		d->status = 1;
	}
	/* Everything queued for the database is committed before we exit. */
	store_stop(d->store);
	log_info("fieldmqd", NULL, "stopped after %llu ms", (unsigned long long)
	    (mono_ms() - d->started_ms));
	return d->status;
}

void
daemon_free(struct daemon *d)
{
	if (d == NULL)
		return;
	loop_timer_free(d->watchdog);
	loop_timer_free(d->stop_timer);
	actuators_free(d->actuators);
	fieldbus_stop(d->lines);
	bridges_free(d->bridges);
	rules_free(d->rules);
	broker_free(d->broker);
	store_free(d->store);
	loop_free(d->loop);
	if (d->cfg != d->boot_cfg)
		config_free(d->cfg);
	config_free(d->boot_cfg);
	free(d->path);
	free(d);
}
