/*
 * `fieldmq query`: read-only SQL on the gateway's database while fieldmqd
 * runs (WAL: readers never block it), printed as an aligned table on a
 * terminal, as CSV otherwise, or as JSON lines.
 */
#include "config.h"

#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf.h"
#include "util.h"

enum format { FMT_TABLE, FMT_CSV, FMT_JSON };

void
query_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq query [-c CONFIG | -d DATABASE] [-f table|csv|json] SQL\n"
	    "Runs SQL read-only on the gateway's SQLite database (store.path of\n"
	    "CONFIG, default %s) and prints the rows: a table on a terminal,\n"
	    "CSV otherwise (-f to choose; json prints one object a line).\n"
	    "Example: fieldmq query 'SELECT device, tag, value FROM latest'\n",
	    FMQ_SYSCONF_FILE);
}

static void
csv_field(const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void
json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* One row as JSON: numbers as numbers, blobs as hex strings. */
static void
json_row(sqlite3_stmt *st, int ncols)
{
	putchar('{');
	for (int i = 0; i < ncols; i++) {
		if (i > 0)
			putchar(',');
		json_string(sqlite3_column_name(st, i));
		putchar(':');
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			fputs("null", stdout);
			break;
		case SQLITE_INTEGER:
			printf("%lld", (long long)sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			printf("%.17g", sqlite3_column_double(st, i));
			break;
		case SQLITE_BLOB: {
			const unsigned char *b = sqlite3_column_blob(st, i);
			int n = sqlite3_column_bytes(st, i);

			putchar('"');
			for (int k = 0; k < n; k++)
				printf("%02x", b[k]);
			putchar('"');
			break;
		}
		default:
			json_string((const char *)sqlite3_column_text(st, i));
		}
	}
	puts("}");
}

/* A table needs every row first for the widths. */
static int
print_table(sqlite3_stmt *st, int ncols)
{
	char	**cells = NULL;
	size_t	 nrows = 0, cap = 0;
	int	*width = xcalloc((size_t)ncols, sizeof(*width)), r;
	int	 tty = isatty(STDOUT_FILENO);

	for (int i = 0; i < ncols; i++)
		width[i] = (int)strlen(sqlite3_column_name(st, i));
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (nrows == cap) {
			cap = cap ? cap * 2 : 64;
			cells = xreallocarray(cells, cap * (size_t)ncols,
			    sizeof(*cells));
		}
		for (int i = 0; i < ncols; i++) {
			const char *t = (const char *)sqlite3_column_text(st, i);
			char *c = xstrdup(t != NULL ? t : "NULL");

			cells[nrows * (size_t)ncols + (size_t)i] = c;
			if ((int)strlen(c) > width[i])
				width[i] = (int)strlen(c);
		}
		nrows++;
	}
	for (int i = 0; i < ncols; i++)
		printf("%s%s%-*s%s", i ? "  " : "", tty ? "\033[1m" : "",
		    width[i], sqlite3_column_name(st, i), tty ? "\033[0m" : "");
	putchar('\n');
	for (size_t row = 0; row < nrows; row++) {
		for (int i = 0; i < ncols; i++) {
			char *c = cells[row * (size_t)ncols + (size_t)i];

			printf("%s%-*s", i ? "  " : "", width[i], c);
			free(c);
		}
		putchar('\n');
	}
	printf("(%zu row%s)\n", nrows, nrows == 1 ? "" : "s");
	free(cells);
	free(width);
	return r;
}

int
query_main(int argc, char **argv)
{
	const char	*config = NULL, *db = NULL, *sql;
	enum format	 fmt = isatty(STDOUT_FILENO) ? FMT_TABLE : FMT_CSV;
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	char		*dbpath = NULL;
	int		 ch, r, ncols, status = 1;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:d:f:")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0)
				fmt = FMT_TABLE;
			else if (strcmp(optarg, "csv") == 0)
				fmt = FMT_CSV;
			else if (strcmp(optarg, "json") == 0)
				fmt = FMT_JSON;
			else {
				query_help(stderr);
				return 2;
			}
			break;
		default:
			query_help(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || (config != NULL && db != NULL)) {
		query_help(stderr);
		return 2;
	}
	sql = argv[optind];
	if (db == NULL && (dbpath = cli_store_path(config)) == NULL)
		return 1;
	if (db == NULL)
		db = dbpath;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "fieldmq query: %s: %s\n", db,
		    h ? sqlite3_errmsg(h) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(h, 5000);
	sqlite3_exec(h, "PRAGMA query_only = 1", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "fieldmq query: %s\n", sqlite3_errmsg(h));
		goto out;
	}
	ncols = sqlite3_column_count(st);
	if (fmt == FMT_TABLE)
		r = print_table(st, ncols);
	else {
		if (fmt == FMT_CSV) {
			for (int i = 0; i < ncols; i++) {
				if (i > 0)
					putchar(',');
				csv_field(sqlite3_column_name(st, i));
			}
			if (ncols > 0)
				putchar('\n');
		}
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			if (fmt == FMT_JSON) {
				json_row(st, ncols);
				continue;
			}
			for (int i = 0; i < ncols; i++) {
				if (i > 0)
					putchar(',');
				csv_field((const char *)sqlite3_column_text(st, i));
			}
			putchar('\n');
		}
	}
	if (r != SQLITE_DONE) {
		fprintf(stderr, "fieldmq query: %s\n", sqlite3_errmsg(h));
		goto out;
	}
	status = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(h);
	free(dbpath);
	return status;
}

char *
cli_store_path(const char *config)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	const char		*path = config ? config : FMQ_SYSCONF_FILE;
	char			*db;

	if ((cfg = config_load(path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		fprintf(stderr, "fieldmq: %s: cannot tell where the database "
		    "is (use -d DATABASE)\n", path);
		cfg_errors_free(&errs);
		return NULL;
	}
	db = xstrdup(cfg->store.path);
	config_free(cfg);
	return db;
}
