/*
 * `fieldmq status`: what the running daemon says about itself on its
 * broker's retained $SYS topics (broker counters, devices, tables,
 * bridges), read
 * once and printed as a summary. JSON values are read with SQLite's JSON
 * functions.
 */
#include "config.h"

#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util.h"

struct item {
	char	*topic;
	char	*value;
};

struct seen {
	struct item	*v;
	size_t		 n;
};

void
status_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq status [-c CONFIG] [-h HOST] [-p PORT] [-u USER]\n"
	    "Prints the running daemon's state from its broker's $SYS topics:\n"
	    "uptime, clients, message counts and rates, each device (online or\n"
	    "not, requests, errors, round trip), each table (rows, dead\n"
	    "letters, drops) and each bridge (connected, outbox). The broker is\n"
	    "found as for fieldmq tail. Exits 1 if it cannot be reached.\n");
}

static void
collect(const char *topic, size_t tlen, const void *payload, size_t len,
    int retained, void *arg)
{
	struct seen *s = arg;

	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i].topic) == tlen &&
		    memcmp(s->v[i].topic, topic, tlen) == 0) {
			free(s->v[i].value);
			s->v[i].value = xstrndup(payload, len);
			return;
		}
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n].topic = xstrndup(topic, tlen);
	s->v[s->n++].value = xstrndup(payload, len);
}

static const char *
value_of(const struct seen *s, const char *topic)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].topic, topic) == 0)
			return s->v[i].value;
	return "?";
}

static int
by_topic(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->topic,
	    ((const struct item *)b)->topic);
}

/* Prints one line for each retained JSON object under prefix. */
static void
print_objects(sqlite3 *db, const struct seen *s, const char *prefix,
    const char *label, const char *sql)
{
	sqlite3_stmt	*st;
	size_t		 plen = strlen(prefix);

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (strncmp(s->v[i].topic, prefix, plen) != 0 ||
		    strchr(s->v[i].topic + plen, '/') != NULL)
			continue;
		sqlite3_bind_text(st, 1, s->v[i].value, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			printf("%-8s %-16s %s\n", label, s->v[i].topic + plen,
			    (const char *)sqlite3_column_text(st, 0));
		else
			printf("%-8s %-16s (unreadable: %s)\n", label,
			    s->v[i].topic + plen, sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

int
status_main(int argc, char **argv)
{
	static char	*filters[] = { "$SYS/#" };
	struct seen	 seen = { 0 };
	struct cli_sub	 sub = { .filters = filters, .nfilters = 1,
			    .quiet_ms = 300, .on_message = collect, .arg = &seen };
	struct cli_broker_opts	 o = { .port = -1 };
	sqlite3		*db;
	int		 ch, r;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:h:p:u:")) != -1)
		if (cli_broker_option(&o, ch, optarg) != 1) {
			status_help(stderr);
			return 2;
		}
	if (optind != argc) {
		status_help(stderr);
		return 2;
	}
	if (cli_broker_resolve(&o, "status", &sub) == -1)
		return 1;
	if ((r = cli_subscribe(&sub)) != 0)
		return r;
	if (seen.n == 0) {
		fprintf(stderr, "fieldmq status: %s: no $SYS topics (not "
		    "fieldmqd, or sys_interval is 0)\n", sub.url);
		return 1;
	}
	qsort(seen.v, seen.n, sizeof(*seen.v), by_topic);
	printf("broker   %s at %s, up %s\n", value_of(&seen, "$SYS/broker/version"),
	    sub.url, value_of(&seen, "$SYS/broker/uptime"));
	printf("clients  %s connected, %s sessions, %s subscriptions, %s "
	    "retained messages\n", value_of(&seen, "$SYS/broker/clients/connected"),
	    value_of(&seen, "$SYS/broker/clients/total"),
	    value_of(&seen, "$SYS/broker/subscriptions/count"),
	    value_of(&seen, "$SYS/broker/retained messages/count"));
	printf("messages %s in, %s out, %s dropped; %s in/min, %s out/min\n",
	    value_of(&seen, "$SYS/broker/messages/received"),
	    value_of(&seen, "$SYS/broker/messages/sent"),
	    value_of(&seen, "$SYS/broker/messages/dropped"),
	    value_of(&seen, "$SYS/broker/load/messages/received/1min"),
	    value_of(&seen, "$SYS/broker/load/messages/sent/1min"));
	if (sqlite3_open(":memory:", &db) == SQLITE_OK) {
		print_objects(db, &seen, "$SYS/fieldmq/devices/", "device",
		    "SELECT CASE WHEN ?1 ->> '$.online' THEN 'online ' ELSE "
		    "'OFFLINE' END || printf('  %d requests, %d timeouts, %d "
		    "exceptions, %d connection errors, rtt %.1f ms', ?1 ->> "
		    "'$.requests', ?1 ->> '$.timeouts', ?1 ->> '$.exceptions', "
		    "?1 ->> '$.connection_errors', ?1 ->> '$.rtt_avg_ms') || "
		    "CASE WHEN ?1 ->> '$.last_error' <> '' THEN ', last error: ' "
		    "|| (?1 ->> '$.last_error') ELSE '' END");
		print_objects(db, &seen, "$SYS/fieldmq/bridges/", "bridge",
		    "SELECT CASE WHEN ?1 ->> '$.connected' THEN 'connected   ' "
		    "ELSE 'DISCONNECTED' END || printf('  outbox %d rows (oldest %d "
		    "s), %d sent, %d acknowledged, %d in flight', ?1 ->> "
		    "'$.outbox_rows', (?1 ->> '$.oldest_age_ms') / 1000, ?1 ->> "
		    "'$.sent', ?1 ->> '$.acknowledged', ?1 ->> '$.inflight')");
		print_objects(db, &seen, "$SYS/fieldmq/tables/", "table",
		    "SELECT printf('%d rows, %d filtered, %d dead letters, %d "
		    "dropped', ?1 ->> '$.rows', ?1 ->> '$.filtered', ?1 ->> "
		    "'$.dead_letters', ?1 ->> '$.dropped') || CASE WHEN ?1 ->> "
		    "'$.failing' THEN ', COMMITS FAILING' ELSE '' END");
		sqlite3_close(db);
	}
	for (size_t i = 0; i < seen.n; i++) {
		free(seen.v[i].topic);
		free(seen.v[i].value);
	}
	free(seen.v);
	return 0;
}
