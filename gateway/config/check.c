/* Checks of string values: topic filters, SQL names, URLs, column sources. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "broker/topic.h"
#include "config/value.h"
#include "drivers/serial.h"
#include "util.h"

int
cfg_check_topic_filter(const char *s, char *why, size_t sz)
{
	if (topic_valid_filter(s, strlen(s)))
		return 0;
	snprintf(why, sz, "\"%s\" is not a valid MQTT topic filter ('+' and "
	    "'#' must fill a whole level, '#' only last)", s);
	return -1;
}

int
cfg_check_identifier(const char *s, char *why, size_t sz)
{
	if (cfg_valid_identifier(s))
		return 0;
	snprintf(why, sz, "\"%s\" is not a valid name (letters, digits and _, "
	    "not starting with a digit or sqlite_, at most 64)", s);
	return -1;
}

int
cfg_check_url(const char *s, char *why, size_t sz)
{
	static const char *const schemes[] = {
		"tcp://", "mqtt://", "ssl://", "mqtts://", "ws://", "wss://",
	};
	const char	*host = NULL, *colon, *end;
	long		 port;
	char		*pe;

	for (size_t i = 0; i < FMQ_NELEM(schemes); i++)
		if (strncmp(s, schemes[i], strlen(schemes[i])) == 0)
			host = s + strlen(schemes[i]);
	if (host == NULL) {
		snprintf(why, sz, "\"%s\" is not a broker URL (use tcp://, mqtt://, "
		    "ssl://, mqtts://, ws:// or wss://, then host[:port])", s);
		return -1;
	}
	end = host + strcspn(host, "/");
	colon = host[0] == '[' ? strstr(host, "]:") : strchr(host, ':');
	if (colon != NULL && colon < end && host[0] == '[')
		colon++;
	if (end == host || (colon != NULL && colon < end && colon == host)) {
		snprintf(why, sz, "\"%s\" has no host name", s);
		return -1;
	}
	if (colon != NULL && colon < end) {
		port = strtol(colon + 1, &pe, 10);
		if (pe != end || port < 1 || port > 65535) {
			snprintf(why, sz, "\"%s\" has a bad port", s);
			return -1;
		}
	}
	return 0;
}

int
cfg_topic_index(const char *s)
{
	char	*end;
	long	 n;

	if (strncmp(s, "topic[", 6) != 0 || !isdigit((unsigned char)s[6]))
		return -1;
	n = strtol(s + 6, &end, 10);
	if (strcmp(end, "]") != 0 || n > 255)
		return -1;
	return (int)n;
}

/* A JSON path in SQLite's syntax: $, .key, ."quoted key", [N], [#-N]. */
static int
valid_json_path(const char *p)
{
	if (*p++ != '$')
		return 0;
	while (*p != '\0') {
		if (*p == '.') {
			p++;
			if (*p == '"') {
				const char *q = strchr(p + 1, '"');

				if (q == NULL || q == p + 1)
					return 0;
				p = q + 1;
			} else {
				size_t n = strcspn(p, ".[");

				if (n == 0)
					return 0;
				p += n;
			}
		} else if (*p == '[') {
			p++;
			if (*p == '#' && p[1] == '-')
				p += 2;
			if (!isdigit((unsigned char)*p))
				return 0;
			while (isdigit((unsigned char)*p))
				p++;
			if (*p++ != ']')
				return 0;
		} else
			return 0;
	}
	return 1;
}

int
cfg_check_column_source(const char *s, char *why, size_t sz)
{
	static const char *const fixed[] = {
		"topic", "payload", "received_at", "qos", "retain", "client_id",
	};

	for (size_t i = 0; i < FMQ_NELEM(fixed); i++)
		if (strcmp(s, fixed[i]) == 0)
			return 0;
	if (cfg_topic_index(s) >= 0)
		return 0;
	if (s[0] == '$' && valid_json_path(s))
		return 0;
	if (strncmp(s, "user_property[", 14) == 0 && strlen(s) > 15 &&
	    s[strlen(s) - 1] == ']')
		return 0;
	snprintf(why, sz, "\"%s\" is not a column source (use a JSON path like "
	    "$.value, topic, topic[N], payload, received_at, qos, retain, "
	    "client_id or user_property[NAME])", s);
	return -1;
}

int
cfg_where_parse(const char *s, struct cfg_where *w)
{
	static const struct {
		const char	*text;
		int		 op;
	} ops[] = {
		{ "==", CFG_OP_EQ }, { "!=", CFG_OP_NE }, { "<=", CFG_OP_LE },
		{ ">=", CFG_OP_GE }, { "<", CFG_OP_LT }, { ">", CFG_OP_GT },
	};
	const char	*p = s;
	char		*end;
	size_t		 n, i;

	memset(w, 0, sizeof(*w));
	while (isspace((unsigned char)*p))
		p++;
	n = strcspn(p, " \t=!<>");
	if (n == 0 || n + 3 > sizeof(w->path))
		return -1;
	snprintf(w->path, sizeof(w->path), "%s%.*s", p[0] == '$' ? "" : "$.",
	    (int)n, p);
	if (!valid_json_path(w->path))
		return -1;
	p += n;
	while (isspace((unsigned char)*p))
		p++;
	for (i = 0; i < FMQ_NELEM(ops); i++)
		if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0)
			break;
	if (i == FMQ_NELEM(ops))
		return -1;
	w->op = ops[i].op;
	p += strlen(ops[i].text);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '"' || *p == '\'') {
		const char *q = strchr(p + 1, *p);

		if (q == NULL)
			return -1;
		w->lit = CFG_LIT_STRING;
		w->str = p + 1;
		w->len = (size_t)(q - p - 1);
		p = q + 1;
	} else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
		w->lit = CFG_LIT_NUMBER;
		w->num = *p == 't';
		p += *p == 't' ? 4 : 5;
	} else if (strncmp(p, "null", 4) == 0) {
		if (w->op != CFG_OP_EQ && w->op != CFG_OP_NE)
			return -1;
		w->lit = CFG_LIT_NULL;
		p += 4;
	} else {
		w->lit = CFG_LIT_NUMBER;
		w->num = strtod(p, &end);
		if (end == p || !isfinite(w->num))
			return -1;
		p = end;
	}
	while (isspace((unsigned char)*p))
		p++;
	return *p == '\0' ? 0 : -1;
}

int
cfg_check_where(const char *s, char *why, size_t sz)
{
	struct cfg_where w;

	if (cfg_where_parse(s, &w) == 0)
		return 0;
	snprintf(why, sz, "\"%s\" is not a condition (use e.g. quality == "
	    "\"good\", $.value > 0 or $.error == null; true and false compare "
	    "as 1 and 0)", s);
	return -1;
}

int
cfg_check_pattern(const char *s, char *why, size_t sz)
{
	struct sline_pattern	p;
	char			reason[200];

	if (sline_pattern_compile(&p, s, reason, sizeof(reason)) == -1) {
		snprintf(why, sz, "\"%s\": %s", s, reason);
		return -1;
	}
	sline_pattern_free(&p);
	return 0;
}

int
cfg_check_topic_template(const char *s, char *why, size_t sz)
{
	char	*t = xstrdup(s), *p;
	int	 ok;

	/* {device} is the only placeholder; the result is a plain topic. */
	while ((p = strstr(t, "{device}")) != NULL)
		memmove(p + 1, p + 8, strlen(p + 8) + 1), *p = 'd';
	ok = *t != '\0' && strpbrk(t, "+#{}") == NULL;
	free(t);
	if (ok)
		return 0;
	snprintf(why, sz, "\"%s\" is not a topic template (a topic without "
	    "wildcards; {device} is replaced by the device name)", s);
	return -1;
}
