/* Logging to stderr, with journald priority prefixes when stderr is the journal. */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static _Atomic int log_level = LOGL_INFO;
static _Atomic int log_journal = -1;	/* -1: not probed yet */

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char level_prio[] = { '3', '4', '6', '7' };

void
log_set_level(enum log_level l)
{
	log_level = l;
}

enum log_level
log_get_level(void)
{
	return (enum log_level)log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOGL_WARN;
		return 0;
	}
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	return level_names[l];
}

/* True when stderr is connected to journald (JOURNAL_STREAM names its inode). */
static int
stderr_is_journal(void)
{
	const char	*js = getenv("JOURNAL_STREAM");
	struct stat	 st;
	unsigned long	 dev, ino;

	if (js == NULL || sscanf(js, "%lu:%lu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void
log_msg(enum log_level l, const char *comp, const char *inst, const char *fmt, ...)
{
	char		 line[2048];
	size_t		 n = 0;
	int		 r;
	va_list		 ap;

	if ((int)l > log_level)
		return;
	if (log_journal == -1)
		log_journal = stderr_is_journal();
	if (log_journal) {
		r = snprintf(line, sizeof(line), "<%c>", level_prio[l]);
	} else {
		struct timespec	ts;
		struct tm	tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		r = snprintf(line, sizeof(line),
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[l]);
	}
	n = (size_t)r;
	if (inst != NULL)
		r = snprintf(line + n, sizeof(line) - n, "%s[%s]: ", comp, inst);
	else
		r = snprintf(line + n, sizeof(line) - n, "%s: ", comp);
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
