/*
 * storebench: the store's batched writer (gateway/store) against what
 * SQLite itself does on this machine, in one run. It prints figures and
 * never judges them on time; it fails (status 1) only when rows are lost
 * or the database does not hold what was written.
 *
 *   storebench [--rows N] [--runs R]      (default 1000000 rows, 3 runs)
 *
 * Each run measures, in this order, on a fresh database file in a
 * temporary directory (mkdtemp under $TMPDIR or /tmp, removed at the end):
 *
 *  a. raw: the SQLite ceiling. One prepared
 *     INSERT INTO readings (device, value) VALUES (?1, ?2)
 *     into readings(device TEXT, value REAL), 1,000 rows a transaction,
 *     WAL, synchronous = NORMAL; the value bound as a double.
 *  b. raw+json: the same with the value as json_extract(?2, '$.value')
 *     of a 64-byte JSON payload bound as text.
 *  c. store: the gateway's writer thread fed from memory. A config
 *     loaded with config_load_buffer() (store: { path: DIR/store.db },
 *     everything else default: batch_rows 1000, batch_time 50ms,
 *     synchronous normal, queue_rows 100000) with one table readings on
 *     plant/+/+ (device: topic[1] text, value: $.value real);
 *     store_open, store_tables, store_start, then store_row() for every
 *     row (qos 0, retain 0, no done callback: as for a QoS 0 message)
 *     as fast as it accepts them (a refused row, queue full, is
 *     retried after ~50 us and counted as a retry: nothing is lost),
 *     then store_stop(), which commits everything queued.
 *
 * The rows are the same in all three: device "d0".."d99" (row i: device
 * d(i % 100), in c from the topic plant/d(i % 100)/temp) and a value
 * from a table of 4096 values, in b and c carried by 64-byte payloads
 *   {"value":123.456,"ts":1764000000000,"quality":"good"          }
 * (padded with JSON whitespace to exactly 64 bytes), prepared beforehand
 * so that no run pays for formatting.
 *
 * Figures: rows/s = N / the time from the first row to the last commit
 * (a, b: the first BEGIN to the last COMMIT; c: the first store_row() to
 * store_stop() returning; opening and creating the database are outside
 * the timing in all three). The medians over the runs, the ratios c/a
 * and c/b of the medians (the goal is c >= 0.5 a), and the database size
 * after PRAGMA wal_checkpoint(TRUNCATE) in MiB per million rows (c's
 * file also holds the gateway's own, empty, tables: a few pages).
 * Checks: a and b hold N rows with N non-NULL values; c's
 * store_table_stats() says N rows, 0 filtered, 0 rejected, and the file
 * holds N rows with N non-NULL values and devices.
 *
 * Build (standalone, against a configured build tree):
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter \
 *       -Wno-missing-field-initializers -I build -I gateway -I . \
 *       tests/bench/storebench.c build/libfieldmq.a \
 *       $(pkg-config --cflags --libs sqlite3 yaml-0.1 libmodbus libssl \
 *       libcrypto) -lpaho-mqtt3as -lsystemd -lm -lpthread -o storebench
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "store.h"

#define PAYLOAD_LEN	64
#define NVALUES		4096		/* distinct payloads / values */
#define NDEVICES	100
#define TXN_ROWS	1000		/* a and b: rows per transaction */
#define RETRY_NS	50000		/* c: sleep before retrying a refused row */
#define MAX_RUNS	99

enum { M_RAW, M_JSON, M_STORE, M_N };

static const char *const m_name[M_N] = {
	[M_RAW] = "a. SQLite ceiling: prepared INSERT, value bound as a double",
	[M_JSON] = "b. SQLite + json_extract(?, '$.value') of 64-byte payloads",
	[M_STORE] = "c. store: store_row() -> batch writer thread (defaults)",
};

struct result {
	double		 secs;
	double		 rate;		/* rows/s */
	double		 mib_per_m;	/* MiB per 1M rows after a checkpoint */
	uint64_t	 retries;	/* c: store_row() refused, queue full */
	double		 push_secs;	/* c: until the last row was accepted */
};

static char	 tmpdir[4096];
static char	 dbpath[4200];	/* the database of the current measurement */

static double	 values[NVALUES];
static char	 payloads[NVALUES][PAYLOAD_LEN + 1];
static char	 devices[NDEVICES][8];
static char	 topics[NDEVICES][32];

static void
remove_db(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[4300];

	if (dbpath[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
		unlink(p);
	}
	dbpath[0] = '\0';
}

static void
cleanup(void)
{
	remove_db();
	if (tmpdir[0] != '\0')
		rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static void
on_signal(int signo)
{
	cleanup();
	signal(signo, SIG_DFL);
	raise(signo);
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fprintf(stderr, "storebench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cleanup();
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The payloads, values, devices and topics of every run. */
static void
prepare_data(void)
{
	uint32_t x = 12345;

	for (int i = 0; i < NVALUES; i++) {
		char	body[PAYLOAD_LEN + 1];
		int	n;

		x = x * 1103515245u + 12345u;
		/* 100.000 .. 999.999, three decimals: exact in the text. */
		values[i] = 100.0 + (double)(x % 900000u) / 1000.0;
		n = snprintf(body, sizeof(body), "{\"value\":%.3f,\"ts\":%llu,"
		    "\"quality\":\"good\"", values[i],
		    1764000000000ull + (unsigned long long)i * 1000);
		if (n < 0 || n > PAYLOAD_LEN - 1)
			die("payload too long (%d)", n);
		memset(payloads[i], ' ', PAYLOAD_LEN);
		memcpy(payloads[i], body, (size_t)n);
		payloads[i][PAYLOAD_LEN - 1] = '}';
		payloads[i][PAYLOAD_LEN] = '\0';
	}
	for (int i = 0; i < NDEVICES; i++) {
		snprintf(devices[i], sizeof(devices[i]), "d%d", i);
		snprintf(topics[i], sizeof(topics[i]), "plant/d%d/temp", i);
	}
}

static void
exec_or_die(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die("%s: %s: %s", dbpath, sql, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
}

static int64_t
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("%s: %s: %s", dbpath, sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW)
		die("%s: %s: %s", dbpath, sql, sqlite3_errmsg(db));
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Checkpoints the WAL into the file, empties it; the file's size in bytes. */
static double
checkpointed_size(sqlite3 *db)
{
	struct stat	sb;
	char		wal[4300];

	exec_or_die(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (stat(dbpath, &sb) == -1)
		die("%s: %s", dbpath, strerror(errno));
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	{
		struct stat ws;

		if (stat(wal, &ws) == 0 && ws.st_size != 0)
			fprintf(stderr, "storebench: %s: %lld bytes left in the WAL "
			    "after a TRUNCATE checkpoint\n", dbpath,
			    (long long)ws.st_size);
	}
	return (double)sb.st_size;
}

/* The checks every method must pass: n rows, n values, n devices. */
static void
check_rows(sqlite3 *db, const char *what, uint64_t n)
{
	int64_t rows = query_int(db, "SELECT count(*) FROM readings");
	int64_t vals = query_int(db, "SELECT count(value) FROM readings");
	int64_t devs = query_int(db, "SELECT count(device) FROM readings");

	if (rows != (int64_t)n || vals != (int64_t)n || devs != (int64_t)n)
		die("%s: the table holds %lld rows, %lld values, %lld devices; "
		    "%llu were written", what, (long long)rows, (long long)vals,
		    (long long)devs, (unsigned long long)n);
}

/* a and b: the plain SQLite loop. */
static void
run_raw(int json, uint64_t n, int run, struct result *res)
{
	sqlite3		*db;
	sqlite3_stmt	*ins;
	const char	*sql = json ?
	    "INSERT INTO readings (device, value) VALUES (?1, "
	    "json_extract(?2, '$.value'))" :
	    "INSERT INTO readings (device, value) VALUES (?1, ?2)";
	double		 t0, t1;

	snprintf(dbpath, sizeof(dbpath), "%s/%s%d.db", tmpdir,
	    json ? "json" : "raw", run);
	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die("%s: cannot open: %s", dbpath, sqlite3_errmsg(db));
	exec_or_die(db, "PRAGMA journal_mode = WAL");
	exec_or_die(db, "PRAGMA synchronous = NORMAL");
	exec_or_die(db, "CREATE TABLE readings (device TEXT, value REAL)");
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ins,
	    NULL) != SQLITE_OK)
		die("%s: %s", sql, sqlite3_errmsg(db));

	t0 = now_s();
	exec_or_die(db, "BEGIN");
	for (uint64_t i = 0; i < n; i++) {
		unsigned v = (unsigned)(i % NVALUES), d = (unsigned)(i % NDEVICES);

		if (i > 0 && i % TXN_ROWS == 0) {
			exec_or_die(db, "COMMIT");
			exec_or_die(db, "BEGIN");
		}
		sqlite3_bind_text(ins, 1, devices[d], -1, SQLITE_STATIC);
		if (json)
			sqlite3_bind_text(ins, 2, payloads[v], PAYLOAD_LEN,
			    SQLITE_STATIC);
		else
			sqlite3_bind_double(ins, 2, values[v]);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die("%s: insert: %s", dbpath, sqlite3_errmsg(db));
		sqlite3_reset(ins);
	}
	exec_or_die(db, "COMMIT");
	t1 = now_s();
	sqlite3_finalize(ins);

	res->secs = t1 - t0;
	res->rate = (double)n / res->secs;
	check_rows(db, json ? "b" : "a", n);
	if (json && query_int(db, "SELECT count(*) FROM readings WHERE "
	    "value < 100 OR value >= 1000") != 0)
		die("b: json_extract gave values out of range");
	res->mib_per_m = checkpointed_size(db) / (1024.0 * 1024.0) /
	    ((double)n / 1e6);
	sqlite3_close(db);
	remove_db();
}

/* c: the store's writer thread fed from memory. */
static void
run_store(uint64_t n, int run, struct result *res)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	struct store		*s;
	struct store_table_stats st;
	struct timespec		 pause = { 0, RETRY_NS };
	char			 yaml[8192], err[512];
	sqlite3			*db;
	double			 t0, t1, t2;
	uint64_t		 retries = 0;
	int			 len;

	snprintf(dbpath, sizeof(dbpath), "%s/store%d.db", tmpdir, run);
	len = snprintf(yaml, sizeof(yaml),
	    "store: { path: \"%s\" }\n"
	    "tables:\n"
	    "  - name: readings\n"
	    "    topic: plant/+/+\n"
	    "    columns:\n"
	    "      device: { from: \"topic[1]\", type: text }\n"
	    "      value: { from: \"$.value\", type: real }\n", dbpath);
	if (len < 0 || (size_t)len >= sizeof(yaml))
		die("the config does not fit");
	if ((cfg = config_load_buffer("storebench.yaml", yaml, (size_t)len,
	    &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "storebench: %s\n", errs.lines[i]);
		cfg_errors_free(&errs);
		die("the config is refused");
	}
	if (cfg->ntables != 1)
		die("the config has %zu tables", cfg->ntables);
	if ((s = store_open(&cfg->store, err, sizeof(err))) == NULL)
		die("store_open: %s", err);
	if (store_tables(s, cfg->tables, cfg->ntables, err, sizeof(err)) == -1)
		die("store_tables: %s", err);
	if (store_start(s) == -1)
		die("store_start failed");

	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		unsigned v = (unsigned)(i % NVALUES), d = (unsigned)(i % NDEVICES);
		uint64_t ms = wall_now_ms();

		while (store_row(s, 0, topics[d], strlen(topics[d]), payloads[v],
		    PAYLOAD_LEN, 0, 0, ms, "bench", NULL, NULL) == -1) {
			retries++;
			nanosleep(&pause, NULL);
		}
	}
	t1 = now_s();
	store_stop(s);
	t2 = now_s();

	store_table_stats(s, 0, &st);
	if (st.rows != n || st.filtered != 0 || st.rejected != 0)
		die("c: store_table_stats says rows %llu, filtered %llu, "
		    "rejected %llu; %llu were queued",
		    (unsigned long long)st.rows, (unsigned long long)st.filtered,
		    (unsigned long long)st.rejected, (unsigned long long)n);
	if (store_dropped(s) != retries)
		fprintf(stderr, "storebench: c: the store counts %llu refused "
		    "operations, the producer %llu retries\n",
		    (unsigned long long)store_dropped(s),
		    (unsigned long long)retries);
	store_free(s);
	config_free(cfg);

	res->secs = t2 - t0;
	res->rate = (double)n / res->secs;
	res->push_secs = t1 - t0;
	res->retries = retries;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die("%s: cannot open: %s", dbpath, sqlite3_errmsg(db));
	check_rows(db, "c", n);
	if (query_int(db, "SELECT count(*) FROM readings WHERE value < 100 OR "
	    "value >= 1000 OR device NOT LIKE 'd%'") != 0)
		die("c: rows with values or devices out of range");
	if (query_int(db, "SELECT count(*) FROM dead_letters") != 0)
		die("c: rows in dead_letters");
	res->mib_per_m = checkpointed_size(db) / (1024.0 * 1024.0) /
	    ((double)n / 1e6);
	sqlite3_close(db);
	remove_db();
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	double s[MAX_RUNS];

	memcpy(s, v, sizeof(*v) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: storebench [--rows N] [--runs R]\n");
	exit(2);
}

static long long
number(const char *opt, const char *s, long long min, long long max)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "storebench: --%s: %s is not a number from %lld "
		    "to %lld\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rows", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct result	 res[M_N][MAX_RUNS];
	double		 rate[M_N], size[M_N], v[MAX_RUNS];
	uint64_t	 n = 1000000, retries = 0;
	int		 runs = 3, ch;
	const char	*base = getenv("TMPDIR");

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': n = (uint64_t)number("rows", optarg, 1, 1000000000); break;
		case 'r': runs = (int)number("runs", optarg, 1, MAX_RUNS); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	log_set_level(LOGL_WARN);
	snprintf(tmpdir, sizeof(tmpdir), "%s/storebench.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "storebench: mkdtemp %s: %s\n", tmpdir,
		    strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	prepare_data();

	printf("storebench: %llu rows per run, %d run%s (a, b, c in turn), "
	    "SQLite %s, %ld CPUs, in %s\n", (unsigned long long)n, runs,
	    runs == 1 ? "" : "s", sqlite3_libversion(), sysconf(_SC_NPROCESSORS_ONLN),
	    tmpdir);
	printf("  payload (%d bytes): %s\n", PAYLOAD_LEN, payloads[0]);
	fflush(stdout);
	for (int r = 0; r < runs; r++) {
		run_raw(0, n, r, &res[M_RAW][r]);
		run_raw(1, n, r, &res[M_JSON][r]);
		run_store(n, r, &res[M_STORE][r]);
		printf("  run %d: a %.0f rows/s (%.3f s), b %.0f rows/s (%.3f s), "
		    "c %.0f rows/s (%.3f s; rows queued in %.3f s, %llu "
		    "retries on a full queue)\n", r + 1,
		    res[M_RAW][r].rate, res[M_RAW][r].secs,
		    res[M_JSON][r].rate, res[M_JSON][r].secs,
		    res[M_STORE][r].rate, res[M_STORE][r].secs,
		    res[M_STORE][r].push_secs,
		    (unsigned long long)res[M_STORE][r].retries);
		fflush(stdout);
		retries += res[M_STORE][r].retries;
	}
	for (int m = 0; m < M_N; m++) {
		for (int r = 0; r < runs; r++)
			v[r] = res[m][r].rate;
		rate[m] = median(v, runs);
		for (int r = 0; r < runs; r++)
			v[r] = res[m][r].mib_per_m;
		size[m] = median(v, runs);
	}

	printf("\nmedians of %d run%s, %llu rows each (rows/s: rows / time from "
	    "the first row to the last commit)\n", runs, runs == 1 ? "" : "s",
	    (unsigned long long)n);
	printf("%-64s %12s %14s\n", "", "rows/s", "MiB per 1M rows");
	for (int m = 0; m < M_N; m++)
		printf("%-64s %12.0f %14.2f\n", m_name[m], rate[m], size[m]);
	printf("%-64s %12.2f   (goal >= 0.50)\n", "ratio c/a", rate[M_STORE] /
	    rate[M_RAW]);
	printf("%-64s %12.2f\n", "ratio c/b", rate[M_STORE] / rate[M_JSON]);
	printf("c: %llu store_row() retries on a full queue over all runs, "
	    "0 rows lost (checked)\n", (unsigned long long)retries);
	cleanup();
	return 0;
}
