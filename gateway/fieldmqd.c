/* fieldmqd: the gateway daemon. Runs in the foreground (systemd style). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"

#ifndef FMQ_SYSCONF_FILE
#define FMQ_SYSCONF_FILE "/etc/fieldmq/fieldmq.yaml"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: fieldmqd [-t] [-c FILE] [-l LEVEL]\n"
	    "  -c, --config FILE      configuration file (default %s)\n"
	    "  -t, --test             check the configuration and exit: 0 valid, 1 not\n"
	    "  -l, --log-level LEVEL  error, warn, info or debug (overrides log_level)\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n",
	    FMQ_SYSCONF_FILE);
}

/* Lets every connection have a descriptor: soft limit up to the hard one. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char		*path = FMQ_SYSCONF_FILE;
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	struct daemon		*d;
	enum log_level		 level;
	int			 ch, test = 0, override = -1, status;

	while ((ch = getopt_long(argc, argv, "c:tl:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) == -1) {
				fprintf(stderr, "fieldmqd: --log-level: \"%s\" is not "
				    "error, warn, info or debug\n", optarg);
				return 2;
			}
			override = (int)level;
			log_set_level(level);
			break;
		case 'V':
			printf("fieldmqd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((cfg = config_load(path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		fprintf(stderr, "fieldmqd: %s: %zu error%s: not starting\n", path,
		    errs.n, errs.n == 1 ? "" : "s");
		cfg_errors_free(&errs);
		return 1;
	}
	if (test) {
		printf("%s: configuration ok\n", path);
		config_free(cfg);
		return 0;
	}
	raise_fd_limit();
	d = daemon_new(path, cfg, override);
	status = daemon_run(d);
	daemon_free(d);
	return status;
}
