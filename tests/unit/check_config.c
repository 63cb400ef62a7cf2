/*
 * Unit tests of the configuration loader: the demo file, defaults, and a
 * table of bad inputs, each with the exact FILE:LINE:COL: PATH: message
 * lines that the user sees.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

struct bad_case {
	const char	*name;
	const char	*yaml;
	const char	*want;	/* every error, one per line */
	size_t		 len;	/* 0: strlen(yaml) */
};

static const struct bad_case bad_cases[] = {
	{ "empty file", "",
	  "t.yaml:1:1: the file is empty (expected sections such as broker, "
	  "devices, tables)" },
	{ "comments only", "# nothing here\n",
	  "t.yaml:1:1: the file is empty (expected sections such as broker, "
	  "devices, tables)" },
	{ "not a map", "just a string\n",
	  "t.yaml:1:1: expected a map of sections (broker:, devices:, ...), "
	  "found a single value" },
	{ "a list", "- a\n- b\n",
	  "t.yaml:1:1: expected a map of sections (broker:, devices:, ...), "
	  "found a list" },
	{ "not YAML", "a: [1, 2\n",
	  "t.yaml:2:1: did not find expected ',' or ']' while parsing a flow "
	  "sequence" },
	{ "tab indent", "broker:\n\tlisteners: []\n",
	  "t.yaml:2:1: found character that cannot start any token while "
	  "scanning for the next token (a tab: YAML is indented with spaces)" },
	{ "binary garbage", "\x80\x81\x00\x01garbage\xfe\xff",
	  "t.yaml:1:1: invalid leading UTF-8 octet (byte 0x80)", 13 },
	{ "UTF-16 byte order mark", "\xff\xfe\x00",
	  "t.yaml:1:3: incomplete UTF-16 character", 3 },
	{ "NUL in the middle", "log_level: info\n\0broker: {}\n",
	  "t.yaml:2:1: control characters are not allowed (byte 0x00)", 28 },
	{ "two documents", "---\nlog_level: info\n---\nlog_level: debug\n",
	  "t.yaml:3:1: only one YAML document is allowed in the file" },
	{ "unknown key, did you mean", "broker:\n  listners: []\n",
	  "t.yaml:2:3: broker.listners: unknown key (did you mean \"listeners\"?)" },
	{ "unknown key far from any", "broker:\n  colour: blue\n",
	  "t.yaml:2:3: broker.colour: unknown key in a broker section" },
	{ "unknown section", "brokr: {}\n",
	  "t.yaml:1:1: brokr: unknown key (did you mean \"broker\"?)" },
	{ "merge key", "broker:\n  <<: {}\n",
	  "t.yaml:2:3: broker.<<: merge keys (<<) are not supported: use an "
	  "alias for a whole value instead" },
	{ "repeated key", "broker:\n  allow_anonymous: true\n  allow_anonymous: false\n",
	  "t.yaml:3:3: broker.allow_anonymous: the key appears twice (first at "
	  "line 2)" },
	{ "wrong type: map for a value", "log_level: { a: 1 }\n",
	  "t.yaml:1:12: log_level: expected a single value, found a map" },
	{ "wrong type: value for a list", "devices: boiler\n",
	  "t.yaml:1:10: devices: expected a list (items starting with \"- \"), "
	  "found a single value" },
	{ "wrong type: list for a map", "broker: [1]\n",
	  "t.yaml:1:9: broker: expected a map of settings (key: value), found a list" },
	{ "bad enum", "log_level: loud\n",
	  "t.yaml:1:12: log_level: \"loud\" is not one of error, warn, info or debug" },
	{ "bad duration",
	  "devices:\n  - name: boiler\n    driver: modbus-tcp\n    host: h\n"
	  "    poll: 1 sec\n    tags: [ { name: t, address: 1 } ]\n",
	  "t.yaml:5:11: devices[0].poll: \"1 sec\" is not a duration (use e.g. "
	  "500ms, 1s, 5m)" },
	{ "bad size", "broker:\n  max_queued_bytes: 1 MB\n",
	  "t.yaml:2:21: broker.max_queued_bytes: \"1 MB\" is not a size (use e.g. "
	  "512B, 64KiB, 512MiB, 1GiB)" },
	{ "size out of range", "broker:\n  max_packet_size: 1GiB\n",
	  "t.yaml:2:20: broker.max_packet_size: \"1GiB\" is out of range" },
	{ "bad boolean", "broker:\n  allow_anonymous: maybe\n",
	  "t.yaml:2:20: broker.allow_anonymous: \"maybe\" is not a boolean (use "
	  "true or false)" },
	{ "port out of range", "broker:\n  listeners:\n    - { port: 70000 }\n",
	  "t.yaml:3:15: broker.listeners[0].port: \"70000\" is not an integer "
	  "from 1 to 65535" },
	{ "missing required key", "broker:\n  listeners:\n    - { bind: 0.0.0.0 }\n",
	  "t.yaml:3:7: broker.listeners[0]: missing required key \"port\"" },
	{ "empty list item", "devices:\n  -\n",
	  "t.yaml:2:4: devices[0]: missing required key \"name\"\n"
	  "t.yaml:2:4: devices[0]: missing required key \"driver\"" },
	{ "duplicate device names",
	  "devices:\n"
	  "  - { name: boiler, driver: modbus-tcp, host: a, tags: [ { name: t, address: 1 } ] }\n"
	  "  - { name: boiler, driver: modbus-tcp, host: b, tags: [ { name: t, address: 1 } ] }\n",
	  "t.yaml:3:13: devices[1].name: duplicate device name \"boiler\" (first "
	  "at line 2)" },
	{ "duplicate tag names",
	  "devices:\n  - name: m\n    driver: modbus-tcp\n    host: h\n    tags:\n"
	  "      - { name: t, address: 1 }\n      - { name: t, address: 2 }\n",
	  "t.yaml:7:17: devices[0].tags[1].name: duplicate tag name \"t\" (first "
	  "at line 6)" },
	{ "same listener twice",
	  "broker:\n  listeners:\n    - { port: 1883 }\n    - { port: 1883 }\n",
	  "t.yaml:4:7: broker.listeners[1]: port 1883 on 127.0.0.1 is already "
	  "used by listeners[0]" },
	{ "driver needs its keys",
	  "devices:\n  - name: m\n    driver: modbus-rtu\n    host: h\n"
	  "    tags: [ { name: t, address: 1 } ]\n",
	  "t.yaml:2:5: devices[0]: a modbus-rtu device needs \"serial\" (e.g. "
	  "/dev/ttyUSB0)\n"
	  "t.yaml:4:11: devices[0].host: applies to modbus-tcp devices only" },
	{ "tag type contradictions",
	  "devices:\n  - name: m\n    driver: modbus-tcp\n    host: h\n    tags:\n"
	  "      - { name: a, table: coil, address: 1, type: float32 }\n"
	  "      - { name: b, table: input, address: 1, writable: true }\n"
	  "      - { name: c, address: 1, type: string }\n"
	  "      - { name: d, address: 1, min: 10, max: 0 }\n"
	  "      - { name: e, address: 65535, type: float32 }\n",
	  "t.yaml:6:51: devices[0].tags[0].type: coil tags are bool\n"
	  "t.yaml:7:56: devices[0].tags[1].writable: input tags are read-only in Modbus\n"
	  "t.yaml:8:38: devices[0].tags[2].type: a string tag needs \"length\" (in registers)\n"
	  "t.yaml:9:37: devices[0].tags[3].min: min 10 is above max 0" },
	{ "address past the end",
	  "devices:\n  - name: m\n    driver: modbus-tcp\n    host: h\n    tags:\n"
	  "      - { name: e, address: 65535, type: float32 }\n",
	  "t.yaml:6:29: devices[0].tags[0].address: 65535 is not a holding "
	  "address (addressing: zero)" },
	{ "modicon addressing",
	  "devices:\n  - name: m\n    driver: modbus-tcp\n    host: h\n"
	  "    addressing: modicon\n    tags:\n"
	  "      - { name: a, address: 40001 }\n"
	  "      - { name: b, address: 30001 }\n",
	  "t.yaml:8:29: devices[0].tags[1].address: 30001 is not a holding "
	  "address (addressing: modicon)" },
	{ "serial-line pattern",
	  "devices:\n  - name: s\n    driver: serial-line\n    serial: /dev/ttyS0\n"
	  "    pattern: \"T=([0-9.]+)\"\n",
	  "t.yaml:5:14: devices[0].pattern: \"T=([0-9.]+)\": no named group "
	  "such as (?<temperature>[0-9.]+)" },
	{ "table names and sources",
	  "tables:\n  - name: \"x; DROP TABLE y\"\n    topic: [ \"a/#/b\" ]\n"
	  "    columns: { v: \"$.value\", bad: nonsense, \"1x\": topic }\n",
	  "t.yaml:2:11: tables[0].name: \"x; DROP TABLE y\" is not a valid name "
	  "(letters, digits and _, not starting with a digit or sqlite_, at most 64)\n"
	  "t.yaml:3:14: tables[0].topic[0]: \"a/#/b\" is not a valid MQTT topic "
	  "filter ('+' and '#' must fill a whole level, '#' only last)\n"
	  "t.yaml:4:35: tables[0].columns.bad: \"nonsense\" is not a column source "
	  "(use a JSON path like $.value, topic, topic[N], payload, received_at, "
	  "qos, retain, client_id or user_property[NAME])\n"
	  "t.yaml:4:45: tables[0].columns.1x: \"1x\" is not a valid name (letters, "
	  "digits and _, not starting with a digit or sqlite_, at most 64)" },
	{ "table topic level and key",
	  "tables:\n  - name: t\n    topic: plant/+\n"
	  "    columns: { d: \"topic[3]\", v: $.v }\n    key: [ nope ]\n"
	  "    where: \"quality = good\"\n",
	  "t.yaml:6:12: tables[0].where: \"quality = good\" is not a condition "
	  "(use e.g. quality == \"good\", $.value > 0 or $.error == null; "
	  "true and false compare as 1 and 0)" },
	{ "table checks after values bind",
	  "tables:\n  - name: t\n    topic: plant/+\n"
	  "    columns: { d: \"topic[3]\", v: $.v }\n    key: [ nope ]\n",
	  "t.yaml:4:19: tables[0].columns.d: topic[3] is past the last level of "
	  "topic filter \"plant/+\" (levels count from 0)\n"
	  "t.yaml:5:10: tables[0].key: \"nope\" is not a column of this table" },
	{ "bridge",
	  "bridges:\n  - name: cloud\n    url: http://example.com\n"
	  "    password: ${env:FMQ_TEST_NOT_SET}\n",
	  "t.yaml:3:10: bridges[0].url: \"http://example.com\" is not a broker URL "
	  "(use tcp://, mqtt://, ssl://, mqtts://, ws:// or wss://, then host[:port])\n"
	  "t.yaml:4:15: bridges[0].password: environment variable "
	  "FMQ_TEST_NOT_SET is not set" },
	{ "bridge rules",
	  "bridges:\n  - name: cloud\n    url: tcp://h:1883\n"
	  "    forward: [ { from: \"plant/#\", to: \"site/+/\", qos: 3 } ]\n",
	  "t.yaml:4:55: bridges[0].forward[0].qos: \"3\" is not an integer from 0 to 2" },
	{ "bridge needs rules", "bridges:\n  - { name: cloud, url: \"tcp://h:1883\" }\n",
	  "t.yaml:2:5: bridges[0]: a bridge needs \"forward\" or \"subscribe\" rules" },
	{ "actuators",
	  "devices:\n  - name: m\n    driver: modbus-tcp\n    host: h\n"
	  "    tags: [ { name: t, address: 1 } ]\n"
	  "actuators:\n"
	  "  - { topic: \"cmd/+/set\", device: m, tag: t }\n"
	  "  - { topic: \"cmd/+/set\", device: nosuch, tag: t }\n"
	  "  - { topic: \"cmd/x/set\", device: \"topic[1]\", tag: t }\n",
	  "t.yaml:7:43: actuators[0].tag: tag \"t\" of \"m\" is not writable\n"
	  "t.yaml:8:35: actuators[1].device: no device is called \"nosuch\"\n"
	  "t.yaml:9:35: actuators[2].device: topic[1] is not a '+' level of "
	  "\"cmd/x/set\"" },
	{ "too deep", "broker: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  "t.yaml:1:40: the document is nested too deeply" },
	{ "alias to unknown anchor", "log_level: *nope\n",
	  "t.yaml:1:12: alias to an unknown anchor" },
	{ "recursive alias", "x-a: &a [ *a ]\n",
	  "t.yaml:1:11: alias to an unknown anchor" },
	{ "several errors in document order",
	  "log_level: loud\nbroker:\n  sys_interval: soon\n  colour: red\n"
	  "shutdown_timeout: 1h\n",
	  "t.yaml:1:12: log_level: \"loud\" is not one of error, warn, info or debug\n"
	  "t.yaml:3:17: broker.sys_interval: \"soon\" is not a duration (use e.g. "
	  "500ms, 1s, 5m)\n"
	  "t.yaml:4:3: broker.colour: unknown key in a broker section\n"
	  "t.yaml:5:19: shutdown_timeout: \"1h\" is out of range" },
};

/* Joins the errors of errs into one string, a line each. */
static char *
join(const struct cfg_errors *errs)
{
	size_t	 len = 1;
	char	*s;

	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->lines[i]) + 1;
	s = calloc(1, len);
	for (size_t i = 0; i < errs->n; i++) {
		if (i)
			strcat(s, "\n");
		strcat(s, errs->lines[i]);
	}
	return s;
}

START_TEST(test_bad_input)
{
	const struct bad_case	*c = &bad_cases[_i];
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	size_t			 len = strlen(c->yaml);
	char			*got;

	if (c->len != 0)
		len = c->len;
	unsetenv("FMQ_TEST_NOT_SET");
	cfg = config_load_buffer("t.yaml", c->yaml, len, &errs);
	ck_assert_msg(cfg == NULL, "%s: loaded", c->name);
	got = join(&errs);
	ck_assert_msg(strcmp(got, c->want) == 0, "%s:\n got: %s\nwant: %s",
	    c->name, got, c->want);
	free(got);
	cfg_errors_free(&errs);
}
END_TEST

/* Loads a buffer that must be valid. */
static struct fmq_config *
load_ok(const char *yaml)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	char			*got;

	cfg = config_load_buffer("t.yaml", yaml, strlen(yaml), &errs);
	got = join(&errs);
	ck_assert_msg(cfg != NULL, "errors: %s", got);
	free(got);
	return cfg;
}

START_TEST(test_demo_file)
{
	const char		*srcdir = getenv("srcdir");
	char			 path[4096];
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	const struct cfg_device	*d;
	const struct cfg_tag	*t;

	snprintf(path, sizeof(path), "%s/etc/fieldmq.yaml", srcdir ? srcdir : ".");
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL, "%s: %s", path, errs.n ? errs.lines[0] : "");
	ck_assert_uint_eq(cfg->broker.nlisteners, 1);
	ck_assert_int_eq(cfg->broker.listeners[0].port, 1883);
	ck_assert_str_eq(cfg->broker.listeners[0].bind, "127.0.0.1");
	ck_assert_ptr_nonnull(d = config_device(cfg, "boiler"));
	ck_assert_int_eq(d->driver, CFG_DRIVER_MODBUS_TCP);
	ck_assert_uint_eq(d->poll_ms, 1000);
	ck_assert_ptr_nonnull(t = config_tag(d, "temperature"));
	ck_assert_int_eq(t->type, CFG_TYPE_FLOAT32);
	ck_assert_int_eq(t->word_order, CFG_ORDER_CDAB);
	ck_assert_double_eq(t->scale, 0.1);
	ck_assert_ptr_nonnull(t = config_tag(d, "setpoint"));
	ck_assert(t->writable && t->has_min && t->has_max);
	ck_assert_double_eq(t->max, 900);
	ck_assert_uint_eq(cfg->ntables, 2);
	ck_assert_uint_eq(cfg->tables[0].ncolumns, 4);
	ck_assert_str_eq(cfg->tables[0].columns[2].name, "value");
	ck_assert_str_eq(cfg->tables[0].columns[2].from, "$.value");
	ck_assert_int_eq(cfg->tables[0].columns[2].type, CFG_COL_REAL);
	ck_assert_uint_eq(cfg->tables[0].keep_ms, 30ull * 24 * 3600 * 1000);
	ck_assert_str_eq(cfg->tables[0].where, "quality == \"good\"");
	ck_assert_uint_eq(cfg->tables[1].nkey, 2);
	ck_assert_str_eq(cfg->tables[1].key[1], "tag");
	config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct fmq_config *cfg = load_ok("broker:\n  listeners: [ { port: 1883 } ]\n");

	ck_assert_int_eq(cfg->log_level, 2);
	ck_assert_uint_eq(cfg->shutdown_timeout_ms, 10000);
	ck_assert_str_eq(cfg->store.path, "/var/lib/fieldmq/fieldmq.db");
	ck_assert_int_eq(cfg->store.synchronous, CFG_SYNC_NORMAL);
	ck_assert_uint_eq(cfg->broker.max_packet_size, 1u << 20);
	ck_assert_int_eq(cfg->broker.listeners[0].allow_anonymous, -1);
	ck_assert_int_eq(cfg->broker.listeners[0].max_connections, -1);
	ck_assert_str_eq(cfg->broker.listeners[0].path, "/mqtt");
	ck_assert(!cfg->broker.listeners[0].tls.enabled);
	ck_assert_uint_eq(cfg->ndevices, 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_values)
{
	struct fmq_config *cfg;

	setenv("FMQ_TEST_PW", "hunter2", 1);
	cfg = load_ok(
	    "log_level: debug\n"
	    "store: { batch_time: 1.5s, synchronous: full }\n"
	    "broker:\n  allow_anonymous: no\n  max_queued_bytes: 64KiB\n"
	    "  listeners:\n"
	    "    - { port: 8883, tls: { cert: c.pem, key: k.pem, ca: ca.pem, client_cert: required } }\n"
	    "    - { port: 8080, websocket: yes }\n"
	    "devices:\n  - name: meter\n    driver: modbus-tcp\n    host: 10.0.0.5\n"
	    "    addressing: modicon\n"
	    "    tags:\n      - { name: kwh, address: 40101, type: float64, word_order: DCBA }\n"
	    "      - { name: alarm, address: 30001, table: input, bit: 3 }\n"
	    "      - { name: run, table: coil, address: 5, writable: on }\n"
	    "tables:\n  - name: latest\n    topic: [ plant/+/+, other/# ]\n"
	    "    columns: { device: \"topic[1]\", tag: \"topic[2]\", v: $.value }\n"
	    "    key: [ device, tag ]\n    where: quality == \"good\"\n"
	    "bridges:\n  - name: cloud\n    url: mqtts://broker.example.com:8883\n"
	    "    mqtt_version: 5\n    username: gw\n    password: ${env:FMQ_TEST_PW}\n"
	    "    tls: { ca: ca.pem }\n"
	    "    forward: [ { from: \"plant/#\", to: \"site1/\" } ]\n"
	    "    subscribe: [ { from: \"site1/cmd/#\", to: \"cmd/\", qos: 2 } ]\n"
	    "actuators:\n  - { topic: \"cmd/+/set\", device: meter, tag: run }\n"
	    "x-anchors: { a: 1 }\n");
	ck_assert_int_eq(cfg->log_level, 3);
	ck_assert_uint_eq(cfg->store.batch_ms, 1500);
	ck_assert_int_eq(cfg->store.synchronous, CFG_SYNC_FULL);
	ck_assert_int_eq(cfg->broker.allow_anonymous, 0);
	ck_assert_uint_eq(cfg->broker.max_queued_bytes, 65536);
	ck_assert(cfg->broker.listeners[0].tls.enabled);
	ck_assert_int_eq(cfg->broker.listeners[0].tls.client_cert,
	    CFG_CLIENT_CERT_REQUIRED);
	ck_assert(cfg->broker.listeners[1].websocket);
	ck_assert_int_eq(cfg->devices[0].tags[0].address, 100);
	ck_assert_int_eq(cfg->devices[0].tags[0].word_order, CFG_ORDER_DCBA);
	ck_assert_int_eq(cfg->devices[0].tags[1].address, 0);
	ck_assert_int_eq(cfg->devices[0].tags[1].bit, 3);
	ck_assert_int_eq(cfg->devices[0].tags[1].type, CFG_TYPE_BOOL);
	ck_assert_int_eq(cfg->devices[0].tags[2].type, CFG_TYPE_BOOL);
	ck_assert(cfg->devices[0].tags[2].writable);
	ck_assert_uint_eq(cfg->tables[0].ntopics, 2);
	ck_assert_str_eq(cfg->tables[0].topics[1], "other/#");
	ck_assert_uint_eq(cfg->tables[0].nkey, 2);
	ck_assert_str_eq(cfg->tables[0].where, "quality == \"good\"");
	ck_assert_int_eq(cfg->bridges[0].mqtt_version, CFG_MQTT_5);
	ck_assert_str_eq(cfg->bridges[0].password, "hunter2");
	ck_assert_str_eq(cfg->bridges[0].subscribe[0].to, "cmd/");
	ck_assert_int_eq(cfg->bridges[0].subscribe[0].qos, 2);
	ck_assert_int_eq(cfg->bridges[0].forward[0].qos, 1);
	config_free(cfg);
}
END_TEST

START_TEST(test_alias_reuse)
{
	struct fmq_config *cfg = load_ok(
	    "x-meter-tags: &tags\n"
	    "  - { name: v, address: 0 }\n  - { name: i, address: 1 }\n"
	    "devices:\n"
	    "  - { name: m1, driver: modbus-tcp, host: a, tags: *tags }\n"
	    "  - { name: m2, driver: modbus-tcp, host: b, tags: *tags }\n");

	ck_assert_uint_eq(cfg->ndevices, 2);
	ck_assert_uint_eq(cfg->devices[1].ntags, 2);
	ck_assert_str_eq(cfg->devices[1].tags[1].name, "i");
	config_free(cfg);
}
END_TEST

/* An alias bomb: few bytes, a huge expansion; refused, and quickly. */
START_TEST(test_alias_bomb)
{
	struct cfg_errors	 errs = { 0 };
	char			*doc, *p;
	size_t			 cap = 1 << 20;

	p = doc = malloc(cap);
	p += sprintf(p, "x-tags: &t\n");
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "  - { name: t%d, address: %d }\n", i, i);
	p += sprintf(p, "devices:\n");
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "  - { name: m%d, driver: modbus-tcp, host: h, "
		    "tags: *t }\n", i);
	ck_assert_ptr_null(config_load_buffer("t.yaml", doc, strlen(doc), &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.lines[0], "the document expands to more than "
	    "200000 values (aliases used too often?)") != NULL, "%s",
	    errs.lines[0]);
	cfg_errors_free(&errs);
	free(doc);
}
END_TEST

/* A large document that is legitimate loads; one past the limit does not. */
START_TEST(test_large)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;
	size_t			 cap = 8 << 20;
	char			*doc = malloc(cap), *p = doc;

	p += sprintf(p, "devices:\n  - name: m\n    driver: modbus-tcp\n"
	    "    host: h\n    tags:\n");
	for (int i = 0; i < 20000; i++)
		p += sprintf(p, "      - { name: t%d, address: %d }\n", i, i);
	cfg = config_load_buffer("t.yaml", doc, strlen(doc), &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->devices[0].ntags, 20000);
	config_free(cfg);
	while ((size_t)(p - doc) < (4u << 20) + 100)
		p += sprintf(p, "# padding padding padding padding padding\n");
	ck_assert_ptr_null(config_load_buffer("t.yaml", doc, strlen(doc), &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.lines[0], "t.yaml:1:1: the file is larger than "
	    "4194304 bytes");
	cfg_errors_free(&errs);
	free(doc);
}
END_TEST

START_TEST(test_missing_file)
{
	struct cfg_errors errs = { 0 };

	ck_assert_ptr_null(config_load("/nonexistent/fieldmq.yaml", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.lines[0], "/nonexistent/fieldmq.yaml: cannot open: "
	    "No such file or directory");
	cfg_errors_free(&errs);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("bad input");
	tcase_add_loop_test(tc, test_bad_input, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("good input");
	tcase_add_test(tc, test_demo_file);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_alias_reuse);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_alias_bomb);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
