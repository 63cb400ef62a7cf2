/* Allocation helpers, clocks and fatal. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

static void __attribute__((noreturn))
oom(size_t n)
{
	log_msg(LOGL_ERROR, "fieldmqd", NULL, "out of memory allocating %zu bytes", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void	*q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(0);
	va_end(ap);
	return s;
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg(LOGL_ERROR, "fieldmqd", NULL, "fatal: %s", buf);
	exit(1);
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
mono_ms(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000000u;
}

uint64_t
mono_us(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000u;
}

uint64_t
wall_ms(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000u;
}

int
read_file_max(const char *path, size_t max, char **textp, size_t *lenp,
    struct stat *stp, char *err, size_t errsz)
{
	struct stat	 st;
	char		*text = NULL;
	size_t		 len = 0, cap;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > (off_t)max)
		goto toobig;
	cap = (size_t)st.st_size + 1;
	text = xmalloc(cap);
	for (;;) {
		/* The file may grow while it is read. */
		if (len + 1 >= cap) {
			if (cap > max)
				goto toobig;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			text = xrealloc(text, cap);
		}
		n = read(fd, text + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		goto toobig;
	close(fd);
	text[len] = '\0';
	*textp = text;
	*lenp = len;
	if (stp != NULL)
		*stp = st;
	return 0;
toobig:
	snprintf(err, errsz, "%s: larger than %zu MiB", path, max >> 20);
fail:
	free(text);
	close(fd);
	return -1;
}
