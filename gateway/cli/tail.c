/*
 * `fieldmq tail`: follows topics on the gateway's broker like
 * `mosquitto_sub -v` (Paho MQTT C), one message a line; on a terminal the
 * topic is coloured and a JSON payload gets a space after ':' and ','.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

void
tail_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq tail [-c CONFIG] [-h HOST] [-p PORT] [-u USER]\n"
	    "                    [-n COUNT] [TOPIC_FILTER...]\n"
	    "Prints the messages on the filters (default '#') as TOPIC PAYLOAD\n"
	    "lines, as they arrive. The broker is HOST:PORT, else the first\n"
	    "listener of CONFIG (default %s), else 127.0.0.1:1883. The password\n"
	    "for -u is read from the environment variable FIELDMQ_PASSWORD.\n"
	    "-n COUNT: exit after COUNT messages.\n", FMQ_SYSCONF_FILE);
}

static int tty;

/* A JSON payload with a space after ':' and ',' outside strings. */
static void
print_json(const char *p, size_t n)
{
	int in_string = 0;

	for (size_t i = 0; i < n; i++) {
		putchar(p[i]);
		if (in_string) {
			if (p[i] == '\\' && i + 1 < n)
				putchar(p[++i]);
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"')
			in_string = 1;
		else if ((p[i] == ':' || p[i] == ',') && i + 1 < n && p[i + 1] != ' ')
			putchar(' ');
	}
}

static void
print_message(const char *topic, size_t tlen, const void *payload, size_t len,
    int retained, void *arg)
{
	const char *p = payload;

	if (tty)
		printf("\033[36m%.*s\033[0m ", (int)tlen, topic);
	else
		printf("%.*s ", (int)tlen, topic);
	if (tty && len > 0 && (p[0] == '{' || p[0] == '['))
		print_json(p, len);
	else
		fwrite(p, 1, len, stdout);
	putchar('\n');
	fflush(stdout);
}

int
tail_main(int argc, char **argv)
{
	struct cli_sub	 sub = { .on_message = print_message };
	struct cli_broker_opts	 o = { .port = -1 };
	static char	*all[] = { "#" };
	char		*end;
	int		 ch;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:h:p:u:n:")) != -1) {
		if (ch == 'n') {
			sub.max_messages = strtol(optarg, &end, 10);
			if (*end != '\0' || sub.max_messages < 1) {
				tail_help(stderr);
				return 2;
			}
			continue;
		}
		if (cli_broker_option(&o, ch, optarg) != 1) {
			tail_help(stderr);
			return 2;
		}
	}
	sub.filters = optind < argc ? argv + optind : all;
	sub.nfilters = optind < argc ? argc - optind : 1;
	if (cli_broker_resolve(&o, "tail", &sub) == -1)
		return 1;
	tty = isatty(STDOUT_FILENO);
	return cli_subscribe(&sub);
}
