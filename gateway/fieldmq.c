/* fieldmq: the command-line tool for the person who runs the gateway. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "broker/auth.h"
#include "cli/cli.h"
#include "conf.h"
#include "drivers/probe.h"
#include "drivers/sim.h"


struct command {
	const char	*name;
	const char	*summary;
	int		(*run)(int, char **);
	void		(*help)(FILE *);
};

static void
check_config_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq check-config [FILE]\n"
	    "Checks a configuration file (default %s) and prints every error\n"
	    "as FILE:LINE:COLUMN: PATH: message. Exits 0 if it is valid, 1 if not.\n",
	    FMQ_SYSCONF_FILE);
}

/* fieldmq check-config [FILE] */
static int
check_config_run(int argc, char **argv)
{
	const char		*path = FMQ_SYSCONF_FILE;
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	char			 desc[256];

	if (argc > 2) {
		check_config_help(stderr);
		return 2;
	}
	if (argc == 2)
		path = argv[1];
	if ((cfg = config_load(path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		fprintf(stderr, "%s: %zu error%s\n", path, errs.n,
		    errs.n == 1 ? "" : "s");
		cfg_errors_free(&errs);
		return 1;
	}
	config_describe(cfg, desc, sizeof(desc));
	printf("%s: ok: %s\n", path, desc);
	config_free(cfg);
	return 0;
}

static void
passwd_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq passwd FILE USER\n"
	    "Adds USER to the password file FILE, or changes its password\n"
	    "(PBKDF2-SHA512, a random salt, %u iterations: the format of\n"
	    "mosquitto_passwd, which reads these files too). FILE is created\n"
	    "with mode 0600 if missing; other lines are kept. The password is\n"
	    "asked twice on a terminal, or read as one line from standard input.\n"
	    "fieldmqd reads the file again on SIGHUP.\n", AUTH_ITERATIONS_DEFAULT);
}

/* Reads a line into buf without echo when stdin is a terminal. */
static int
read_password(const char *prompt, char *buf, size_t sz)
{
	struct termios	 old, quiet;
	int		 tty = isatty(STDIN_FILENO), ok;
	size_t		 n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ok = fgets(buf, (int)sz, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!ok)
		return -1;
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == sz - 1)
		return -1;	/* longer than the buffer */
	buf[n] = '\0';
	return 0;
}

/* fieldmq passwd FILE USER */
static int
passwd_run(int argc, char **argv)
{
	char	pw[1024], again[1024], err[512];
	int	r;

	if (argc != 3) {
		passwd_help(stderr);
		return 2;
	}
	if (!auth_valid_user(argv[2])) {
		fprintf(stderr, "fieldmq passwd: \"%s\" is not a valid username "
		    "(no ':', no control characters, not starting with '#')\n",
		    argv[2]);
		return 2;
	}
	if (read_password("Password: ", pw, sizeof(pw)) == -1) {
		fprintf(stderr, "fieldmq passwd: no password read\n");
		return 1;
	}
	if (isatty(STDIN_FILENO) && (read_password("Again: ", again,
	    sizeof(again)) == -1 || strcmp(pw, again) != 0)) {
		fprintf(stderr, "fieldmq passwd: the passwords differ\n");
		return 1;
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "fieldmq passwd: an empty password is refused\n");
		return 1;
	}
	r = auth_set_user(argv[1], argv[2], pw, AUTH_ITERATIONS_DEFAULT, err,
	    sizeof(err));
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	if (r == -1) {
		fprintf(stderr, "fieldmq passwd: %s\n", err);
		return 1;
	}
	printf("%s: password of %s set\n", argv[1], argv[2]);
	return 0;
}

static const struct command commands[] = {
	{ "check-config", "check a configuration file", check_config_run,
	  check_config_help },
	{ "passwd", "add a user to a password file or change a password",
	  passwd_run, passwd_help },
	{ "probe", "read registers and show them decoded every way", probe_main,
	  probe_help },
	{ "query", "run read-only SQL on the gateway's database", query_main,
	  query_help },
	{ "sim", "run a Modbus device simulator (tests, the demo)", sim_main,
	  sim_help },
	{ "status", "what the running daemon says about itself", status_main,
	  status_help },
	{ "tail", "follow topics on the gateway's broker", tail_main,
	  tail_help },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: fieldmq COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'fieldmq COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("fieldmq %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[1], c->name) != 0)
			continue;
		for (int j = 2; j < argc; j++) {
			if (strcmp(argv[j], "-h") == 0 ||
			    strcmp(argv[j], "--help") == 0) {
				c->help(stdout);
				return 0;
			}
		}
		return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "fieldmq: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
