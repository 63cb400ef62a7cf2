/* Subcommands of the fieldmq tool that live in their own files. */
#ifndef FMQ_CLI_H
#define FMQ_CLI_H

#include <stdio.h>

#ifndef FMQ_SYSCONF_FILE
#define FMQ_SYSCONF_FILE "/etc/fieldmq/fieldmq.yaml"
#endif

/* The store path of a config file (NULL: the installed one); printed errors. */
char	*cli_store_path(const char *config);

/* A subscription of the tool's MQTT client (cli/mqtt.c). */
struct cli_sub {
	const char	*host;
	long		 port;
	const char	*user;		/* password: $FIELDMQ_PASSWORD */
	char		**filters;
	int		 nfilters;
	long		 max_messages;	/* 0: no end */
	int		 quiet_ms;	/* >0: ends after this long without one */
	void		(*on_message)(const char *topic, size_t tlen,
			    const void *payload, size_t len, int retained,
			    void *arg);
	void		*arg;
	char		 url[300];	/* set by cli_subscribe */
};
/* The -c CONFIG -h HOST -p PORT -u USER options of tail and status. */
struct cli_broker_opts {
	const char	*config;
	const char	*host;
	long		 port;		/* -1: from the config */
	const char	*user;
	char		 hostbuf[256];
};
/* 1 if ch was one of them (taken), 0 if not, -1 for a bad value. */
int	 cli_broker_option(struct cli_broker_opts *, int ch, const char *arg);
/* Fills sub's host, port and user; -1 (said on stderr) for a bad config. */
int	 cli_broker_resolve(struct cli_broker_opts *, const char *cmd,
	    struct cli_sub *);
/* Runs the subscription; the exit status (1: could not connect...). */
int	 cli_subscribe(struct cli_sub *);
/* The broker of a config's first listener (none given: the installed
 * one, or 127.0.0.1:1883); -1 if a given config does not load. */
int	 cli_broker_address(const char *config, char *host, size_t hsz,
	    long *port);

int	 query_main(int, char **);
void	 query_help(FILE *);
int	 tail_main(int, char **);
void	 status_help(FILE *);
int	 status_main(int, char **);
void	 tail_help(FILE *);

#endif
