/* Serial-line sensors: named-group patterns and a reader thread per port. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "conf.h"
#include "drivers/driver.h"
#include "drivers/serial.h"
#include "log.h"
#include "util.h"

#define LINE_MAX_BYTES	1024
#define RETRY_MIN_MS	1000
#define RETRY_MAX_MS	60000

/*
 * Translates (?<name>...) and (?P<name>...) into plain groups, noting
 * the POSIX number of each named one; escapes and bracket expressions
 * do not count as groups.
 */
int
sline_pattern_compile(struct sline_pattern *p, const char *s, char *why,
    size_t whysz)
{
	size_t	 len = strlen(s), j = 0, group = 0;
	char	*plain = xmalloc(len + 1), err[128];
	int	 r, in_bracket = 0;

	memset(p, 0, sizeof(*p));
	if (len > 1024) {
		snprintf(why, whysz, "longer than 1024 characters");
		free(plain);
		return -1;
	}
	for (size_t i = 0; i < len;) {
		/*
		 * POSIX leaves "a++" undefined, and glibc's matcher can take
		 * gigabytes for a run of them: refuse a quantifier after one.
		 */
		if (i > 0 && strchr("*+?{", s[i]) != NULL && strchr("*+?}",
		    s[i - 1]) != NULL && (i < 2 || s[i - 2] != '\\')) {
			snprintf(why, whysz, "two quantifiers in a row at "
			    "character %zu", i + 1);
			goto fail;
		}
		if (s[i] == '\\' && i + 1 < len) {
			plain[j++] = s[i++];
			plain[j++] = s[i++];
			continue;
		}
		if (in_bracket) {
			/* "[]a]" and "[^]a]": a first ']' is literal. */
			if (s[i] == ']' && !(s[i - 1] == '[' ||
			    (s[i - 1] == '^' && s[i - 2] == '[')))
				in_bracket = 0;
			plain[j++] = s[i++];
			continue;
		}
		if (s[i] == '[') {
			in_bracket = 1;
			plain[j++] = s[i++];
			continue;
		}
		if (s[i] == '(') {
			group++;
			if (s[i + 1] == '?') {
				size_t k = i + 2 + (s[i + 2] == 'P');
				const char *gt = s[k] == '<' ? strchr(s + k, '>') : NULL;

				if (gt == NULL || gt == s + k + 1) {
					snprintf(why, whysz, "\"(?\" must start a named "
					    "group such as (?<name>...)");
					goto fail;
				}
				if (p->ngroups == SLINE_MAX_GROUPS) {
					snprintf(why, whysz, "more than %d named groups",
					    SLINE_MAX_GROUPS);
					goto fail;
				}
				p->names[p->ngroups] = xstrndup(s + k + 1,
				    (size_t)(gt - s - k - 1));
				p->index[p->ngroups++] = group;
				plain[j++] = '(';
				i = (size_t)(gt - s) + 1;
				continue;
			}
		}
		plain[j++] = s[i++];
	}
	plain[j] = '\0';
	if ((r = regcomp(&p->re, plain, REG_EXTENDED)) != 0) {
		regerror(r, &p->re, err, sizeof(err));
		snprintf(why, whysz, "not a regular expression: %s", err);
		goto fail;
	}
	free(plain);
	if (p->ngroups == 0) {
		regfree(&p->re);
		snprintf(why, whysz, "no named group such as (?<temperature>[0-9.]+)");
		goto fail_names;
	}
	return 0;
fail:
	free(plain);
fail_names:
	for (size_t i = 0; i < p->ngroups; i++)
		free(p->names[i]);
	p->ngroups = 0;
	return -1;
}

void
sline_pattern_free(struct sline_pattern *p)
{
	if (p->ngroups == 0)
		return;
	regfree(&p->re);
	for (size_t i = 0; i < p->ngroups; i++)
		free(p->names[i]);
	p->ngroups = 0;
}

/* A group's text as a number when it is one, otherwise as a string. */
static void
text_value(const char *t, size_t n, struct drv_value *v)
{
	char	buf[64], *end;
	long long i;
	double	d;

	memset(v, 0, sizeof(*v));
	if (n > 0 && n < sizeof(buf)) {
		memcpy(buf, t, n);
		buf[n] = '\0';
		errno = 0;
		i = strtoll(buf, &end, 10);
		if (*end == '\0' && errno == 0) {
			v->kind = DRV_V_INT;
			v->i = i;
			return;
		}
		d = strtod(buf, &end);
		if (*end == '\0' && errno == 0 && d == d && d - d == 0) {
			v->kind = DRV_V_DOUBLE;
			v->d = d;
			return;
		}
	}
	v->kind = DRV_V_STRING;
	snprintf(v->str, sizeof(v->str), "%.*s", (int)(n < DRV_STRING_MAX ? n :
	    DRV_STRING_MAX), t);
}

int
sline_match(const struct sline_pattern *p, const char *line, sline_value_cb cb,
    void *arg)
{
	regmatch_t		m[SLINE_MAX_GROUPS * 4 + 1];
	size_t			nm = FMQ_NELEM(m);
	struct drv_value	v;
	int			n = 0;

	if (regexec(&p->re, line, nm, m, 0) != 0)
		return -1;
	for (size_t g = 0; g < p->ngroups; g++) {
		size_t k = p->index[g];

		if (k >= nm || m[k].rm_so < 0)
			continue;
		text_value(line + m[k].rm_so, (size_t)(m[k].rm_eo - m[k].rm_so), &v);
		cb(p->names[g], &v, arg);
		n++;
	}
	return n;
}

struct sline {
	const struct cfg_device	*dev;
	struct drv_sink		 sink;
	struct sline_pattern	 pat;
	char			*base;		/* the device topic */
	char			*state_topic;
	pthread_t		 thread;
	int			 started;
	atomic_int		 stop;
	int			 online;	/* -1, 0, 1 */
	uint64_t		 ts;		/* the time of the line being read */
};

/* Opens and configures the serial port; -1 with errno. */
static int
port_open(const struct cfg_device *d)
{
	static const struct { int64_t baud; speed_t s; } speeds[] = {
		{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 },
		{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
		{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
	};
	struct termios	t;
	speed_t		speed = B9600;
	int		fd;

	if ((fd = open(d->serial, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	if (tcgetattr(fd, &t) == 0) {
		for (size_t i = 0; i < FMQ_NELEM(speeds); i++)
			if (speeds[i].baud == d->baud)
				speed = speeds[i].s;
		cfmakeraw(&t);
		cfsetispeed(&t, speed);
		cfsetospeed(&t, speed);
		t.c_cflag &= (tcflag_t)~(CSIZE | PARENB | PARODD | CSTOPB);
		t.c_cflag |= CLOCAL | CREAD | (d->data_bits == 7 ? CS7 : CS8);
		if (d->parity != CFG_PARITY_NONE)
			t.c_cflag |= PARENB | (d->parity == CFG_PARITY_ODD ? PARODD : 0);
		if (d->stop_bits == 2)
			t.c_cflag |= CSTOPB;
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

static void
set_state(struct sline *s, int online, const char *why)
{
	struct drv_state st = { s->dev->name, s->state_topic, online, why,
	    wall_ms() };

	if (s->online == online)
		return;
	if (online)
		log_info("serial", s->dev->name, "online (%s)", s->dev->serial);
	else
		log_warn("serial", s->dev->name, "offline: %s", why);
	s->online = online;
	s->sink.state(s->sink.arg, &st);
}

/* One named group of a line becomes a reading on <topic>/<name>. */
static void
on_value(const char *name, const struct drv_value *v, void *arg)
{
	struct sline		*s = arg;
	const struct cfg_tag	*t = config_tag(s->dev, name);
	struct drv_value	 scaled = *v;
	char			*topic = xasprintf("%s/%s", s->base, name);
	struct drv_reading	 r = { s->dev->name, name, topic, &scaled,
	    t ? t->unit : NULL, s->ts, (int)s->dev->qos, s->dev->retain,
	    s->dev->payload == CFG_PAYLOAD_BARE };

	/* A tag of the same name may scale the number. */
	if (t != NULL && (t->scale != 1 || t->offset != 0) &&
	    (v->kind == DRV_V_INT || v->kind == DRV_V_DOUBLE)) {
		scaled.kind = DRV_V_DOUBLE;
		scaled.d = (v->kind == DRV_V_INT ? (double)v->i : v->d) * t->scale +
		    t->offset;
	}
	s->sink.reading(s->sink.arg, &r);
	free(topic);
}

/* Reads lines until the port fails or we are asked to stop. */
static void
read_port(struct sline *s, int fd)
{
	char	buf[LINE_MAX_BYTES + 1], why[160];
	size_t	len = 0;
	ssize_t	n;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(fd, buf + len, LINE_MAX_BYTES - len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			snprintf(why, sizeof(why), "%s: %s", s->dev->serial,
			    n == 0 ? "the port closed" : strerror_r(errno,
			    (char[96]){ 0 }, 96));
			set_state(s, 0, why);
			if (s->sink.flush != NULL)
				s->sink.flush(s->sink.arg);
			return;
		}
		len += (size_t)n;
		for (char *nl; (nl = memchr(buf, '\n', len)) != NULL;) {
			size_t ll = (size_t)(nl - buf);

			buf[ll] = '\0';
			if (ll > 0 && buf[ll - 1] == '\r')
				buf[ll - 1] = '\0';
			s->ts = wall_ms();
			if (sline_match(&s->pat, buf, on_value, s) >= 0)
				set_state(s, 1, NULL);
			memmove(buf, nl + 1, len - ll - 1);
			len -= ll + 1;
		}
		if (s->sink.flush != NULL)
			s->sink.flush(s->sink.arg);
		if (len == LINE_MAX_BYTES)
			len = 0;	/* a line longer than any sensor's: dropped */
	}
}

/* The reader thread: open with backoff, read lines. */
static void *
sline_main(void *arg)
{
	struct sline	*s = arg;
	uint64_t	 backoff = 0;
	char		 why[160];

	while (!atomic_load(&s->stop)) {
		int fd = port_open(s->dev);

		if (fd == -1) {
			snprintf(why, sizeof(why), "%s: %s", s->dev->serial,
			    strerror_r(errno, (char[96]){ 0 }, 96));
			set_state(s, 0, why);
			if (s->sink.flush != NULL)
				s->sink.flush(s->sink.arg);
			backoff = backoff ? backoff * 2 : RETRY_MIN_MS;
			if (backoff > RETRY_MAX_MS)
				backoff = RETRY_MAX_MS;
			for (uint64_t t = 0; t < backoff && !atomic_load(&s->stop);
			    t += 100)
				usleep(100000);
			continue;
		}
		backoff = 0;
		read_port(s, fd);
		close(fd);
	}
	return NULL;
}

struct sline *
sline_new(const struct cfg_device *d, const struct drv_sink *sink)
{
	struct sline	*s = xcalloc(1, sizeof(*s));
	char		 why[200];

	s->dev = d;
	s->sink = *sink;
	s->online = -1;
	if (sline_pattern_compile(&s->pat, d->pattern, why, sizeof(why)) == -1) {
		log_error("serial", d->name, "pattern: %s", why);
		free(s);
		return NULL;
	}
	s->base = config_device_topic(d);
	s->state_topic = xasprintf("%s/$state", s->base);
	return s;
}

int
sline_start(struct sline *s)
{
	int e;

	if ((e = pthread_create(&s->thread, NULL, sline_main, s)) != 0) {
		log_error("serial", s->dev->name, "cannot start a thread: %s",
		    strerror_r(e, (char[96]){ 0 }, 96));
		return -1;
	}
	s->started = 1;
	return 0;
}

void
sline_stop(struct sline *s)
{
	if (s == NULL || !s->started)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	s->started = 0;
}

void
sline_free(struct sline *s)
{
	if (s == NULL)
		return;
	sline_stop(s);
	sline_pattern_free(&s->pat);
	free(s->base);
	free(s->state_topic);
	free(s);
}
