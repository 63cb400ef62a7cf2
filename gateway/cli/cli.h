/* Subcommands of the fieldmq tool that live in their own files. */
#ifndef FMQ_CLI_H
#define FMQ_CLI_H

#include <stdio.h>

#ifndef FMQ_SYSCONF_FILE
#define FMQ_SYSCONF_FILE "/etc/fieldmq/fieldmq.yaml"
#endif

/* The store path of a config file (NULL: the installed one); printed errors. */
char	*cli_store_path(const char *config);

int	 query_main(int, char **);
void	 query_help(FILE *);
int	 tail_main(int, char **);
void	 tail_help(FILE *);

#endif
