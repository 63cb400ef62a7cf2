/* Parsers for durations, sizes, booleans, numbers, secrets and names. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/value.h"
#include "util.h"

struct unit {
	const char	*name;
	uint64_t	 mult;
};

static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
};

static const struct unit size_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "KiB", 1ull << 10 },
	{ "MiB", 1ull << 20 },
	{ "GiB", 1ull << 30 },
	{ "TiB", 1ull << 40 },
};

/*
 * Parses "<number><unit>" where number is decimal with an optional
 * fraction; the product is rounded to an integer and must fit 2^53.
 */
static int
parse_scaled(const char *s, const struct unit *units, size_t nunits, uint64_t *out)
{
	const char	*p = s;
	double		 v;
	char		*end;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	errno = 0;
	v = strtod(s, &end);
	if (end != p || errno != 0)
		return -1;
	for (size_t i = 0; i < nunits; i++) {
		if (strcmp(p, units[i].name) != 0)
			continue;
		v *= (double)units[i].mult;
		if (!isfinite(v) || v > 9007199254740992.0)
			return -1;
		*out = (uint64_t)llround(v);
		return 0;
	}
	return -1;
}

int
cfg_parse_duration(const char *s, uint64_t *ms)
{
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	return parse_scaled(s, duration_units, FMQ_NELEM(duration_units), ms);
}

int
cfg_parse_size(const char *s, uint64_t *bytes)
{
	return parse_scaled(s, size_units, FMQ_NELEM(size_units), bytes);
}

int
cfg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	if (s[0] == '\0')
		return -1;
	/* Lower, Title or UPPER case only, as YAML 1.1 says. */
	if (islower((unsigned char)s[0]) && isupper((unsigned char)s[1]))
		return -1;
	for (int i = 1; s[i] != '\0'; i++)
		if (!islower((unsigned char)s[i]) != !islower((unsigned char)s[1]))
			return -1;
	for (size_t i = 0; i < FMQ_NELEM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
cfg_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	/* strtoll's base 0 reads "010" as octal: refuse it rather than surprise. */
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return -1;
	*out = v;
	return 0;
}

int
cfg_parse_double(const char *s, double *out)
{
	char	*end;
	double	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno != 0 || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Reads a small file into a new string; NULL with errno set on failure. */
static char *
read_small_file(const char *path)
{
	char	 buf[4096];
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == sizeof(buf) - 1) {
		errno = EFBIG;
		return NULL;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	return xstrndup(buf, len);
}

char *
cfg_resolve_secret(const char *s, char *err, size_t errsz)
{
	size_t		 len = strlen(s);
	char		*ref, *v;
	const char	*e;

	if (strncmp(s, "${", 2) != 0 || len < 4 || s[len - 1] != '}')
		return xstrdup(s);
	ref = xstrndup(s + 2, len - 3);
	v = NULL;
	if (strncmp(ref, "env:", 4) == 0) {
		if (ref[4] == '\0')
			snprintf(err, errsz, "${env:NAME} needs a variable name");
		else if ((e = getenv(ref + 4)) == NULL)
			snprintf(err, errsz, "environment variable %s is not set",
			    ref + 4);
		else
			v = xstrdup(e);
	} else if (strncmp(ref, "file:", 5) == 0) {
		if (ref[5] == '\0')
			snprintf(err, errsz, "${file:PATH} needs a path");
		else if ((v = read_small_file(ref + 5)) == NULL)
			snprintf(err, errsz, "cannot read %s: %s", ref + 5,
			    errno == EFBIG ? "larger than 4 KiB" : strerror(errno));
	} else {
		snprintf(err, errsz, "unknown reference \"%s\" (use ${env:NAME} "
		    "or ${file:PATH})", s);
	}
	free(ref);
	return v;
}

size_t
cfg_edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);
	size_t	 row[65], prev, tmp;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t	best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

size_t
cfg_topic_levels(const char *t)
{
	size_t	n = 1;

	for (; *t != '\0'; t++)
		n += *t == '/';
	return n;
}

int
cfg_valid_identifier(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 64 || strncasecmp(s, "sqlite_", 7) == 0)
		return 0;
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}
