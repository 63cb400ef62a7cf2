/*
 * The key tables of the configuration file, one per struct of config.h,
 * and the checks that look at several keys at once.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "config/schema.h"
#include "config/value.h"
#include "util.h"

static const char *const client_cert_names[] = { "none", "optional", "required", NULL };
static const char *const tls_version_names[] = { "1.2", "1.3", NULL };
static const char *const overflow_names[] = { "drop", "disconnect", NULL };
static const char *const sync_names[] = { "off", "normal", "full", NULL };
static const char *const driver_names[] = { "modbus-tcp", "modbus-rtu", "serial-line", NULL };
static const char *const mtable_names[] = { "coil", "discrete", "input", "holding", NULL };
static const char *const type_names[] = {
	"bool", "int16", "uint16", "int32", "uint32", "int64", "uint64",
	"float32", "float64", "string", NULL,
};
static const char *const order_names[] = { "ABCD", "BADC", "CDAB", "DCBA", NULL };
static const char *const publish_names[] = { "change", "always", NULL };
static const char *const payload_names[] = { "json", "bare", NULL };
static const char *const addressing_names[] = { "zero", "one", "modicon", NULL };
static const char *const parity_names[] = { "none", "even", "odd", NULL };
static const char *const coltype_names[] = {
	"integer", "real", "text", "blob", "timestamp", "auto", NULL,
};
static const char *const mqtt_version_names[] = { "3.1.1", "5", NULL };
static const char *const when_full_names[] = { "drop-oldest", "drop-new", NULL };
static const char *const replay_names[] = { "live-first", "in-order", NULL };
static const char *const log_names[] = { "error", "warn", "info", "debug", NULL };

#define DAY_MS	(24ll * 3600 * 1000)

/* ---- broker ------------------------------------------------------------ */

#define T(f) offsetof(struct cfg_tls, f)
static const struct cfg_key tls_keys[] = {
	{ .name = "cert", .kind = CK_STRING, .off = T(cert) },
	{ .name = "key", .kind = CK_STRING, .off = T(key) },
	{ .name = "ca", .kind = CK_STRING, .off = T(ca) },
	{ .name = "min_version", .kind = CK_ENUM, .off = T(min_version),
	  .names = tls_version_names, .def = "1.2" },
	{ .name = "ciphers", .kind = CK_STRING, .off = T(ciphers) },
	{ .name = "client_cert", .kind = CK_ENUM, .off = T(client_cert),
	  .names = client_cert_names, .def = "none" },
	{ .name = "cn_as_username", .kind = CK_BOOL, .off = T(cn_as_username),
	  .def = "false" },
	{ .name = "verify_hostname", .kind = CK_BOOL, .off = T(verify_hostname),
	  .def = "true" },
	{ NULL },
};
#undef T

/* Listener TLS needs a certificate and a key; client certificates a CA. */
static void
check_tls(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	struct cfg_tls *t = obj;

	if (n == NULL)
		return;
	t->enabled = 1;
	if ((t->cert == NULL) != (t->key == NULL))
		cfg_error(c, n, "\"cert\" and \"key\" go together");
	if (t->client_cert != CFG_CLIENT_CERT_NONE && t->ca == NULL)
		cfg_error_key(c, n, "client_cert", "client certificates need "
		    "\"ca\" to verify them");
	if (t->cn_as_username && t->client_cert == CFG_CLIENT_CERT_NONE)
		cfg_error_key(c, n, "cn_as_username", "needs client_cert: "
		    "optional or required");
}

static const struct cfg_schema tls_schema = {
	.what = "tls section", .size = sizeof(struct cfg_tls), .keys = tls_keys,
	.pos_off = NO_POS, .check = check_tls,
};

#define L(f) offsetof(struct cfg_listener, f)
static const struct cfg_key listener_keys[] = {
	{ .name = "port", .kind = CK_INT, .off = L(port), .flags = CF_REQUIRED,
	  .min = 1, .max = 65535 },
	{ .name = "bind", .kind = CK_STRING, .off = L(bind), .def = "127.0.0.1" },
	{ .name = "websocket", .kind = CK_BOOL, .off = L(websocket), .def = "false" },
	{ .name = "path", .kind = CK_STRING, .off = L(path), .def = "/mqtt" },
	{ .name = "tls", .kind = CK_STRUCT, .off = L(tls), .sub = &tls_schema },
	{ .name = "allow_anonymous", .kind = CK_BOOL, .off = L(allow_anonymous),
	  .flags = CF_INHERIT },
	{ .name = "max_connections", .kind = CK_INT, .off = L(max_connections),
	  .flags = CF_INHERIT, .min = 1, .max = 1000000 },
	{ .name = "max_packet_size", .kind = CK_SIZE, .off = L(max_packet_size),
	  .min = 0, .max = 268435455 },
	{ .name = "connect_timeout", .kind = CK_DURATION, .off = L(connect_timeout_ms),
	  .def = "10s", .min = 100, .max = DAY_MS },
	{ NULL },
};
#undef L

/* A TLS listener needs its certificate; TLS only with WebSocket or MQTT. */
static void
check_listener(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	struct cfg_listener *l = obj;

	if (l->tls.enabled && l->tls.cert == NULL)
		cfg_error_key(c, n, "tls", "a TLS listener needs \"cert\" and \"key\"");
	if (l->path[0] != '/')
		cfg_error_key(c, n, "path", "\"%s\" must start with /", l->path);
	if (!l->websocket && cfg_value(n, "path") != NULL)
		cfg_error_key(c, n, "path", "only WebSocket listeners have a path");
}

static const struct cfg_schema listener_schema = {
	.what = "listener", .size = sizeof(struct cfg_listener),
	.keys = listener_keys, .pos_off = offsetof(struct cfg_listener, pos),
	.check = check_listener,
};

#define B(f) offsetof(struct cfg_broker, f)
static const struct cfg_key broker_keys[] = {
	{ .name = "listeners", .kind = CK_LIST, .off = B(listeners),
	  .count_off = B(nlisteners), .sub = &listener_schema },
	{ .name = "password_file", .kind = CK_STRING, .off = B(password_file) },
	{ .name = "acl_file", .kind = CK_STRING, .off = B(acl_file) },
	{ .name = "allow_anonymous", .kind = CK_BOOL, .off = B(allow_anonymous),
	  .flags = CF_INHERIT },
	{ .name = "sys_interval", .kind = CK_DURATION, .off = B(sys_interval_ms),
	  .def = "10s" },
	{ .name = "max_connections", .kind = CK_INT, .off = B(max_connections),
	  .def = "10000", .min = 1, .max = 1000000 },
	{ .name = "max_packet_size", .kind = CK_SIZE, .off = B(max_packet_size),
	  .def = "1MiB", .min = 64, .max = 268435455 },
	{ .name = "max_inflight", .kind = CK_INT, .off = B(max_inflight),
	  .def = "100", .min = 1, .max = 65535 },
	{ .name = "max_queued_messages", .kind = CK_INT,
	  .off = B(max_queued_messages), .def = "10000", .min = 1, .max = 100000000 },
	{ .name = "max_queued_bytes", .kind = CK_SIZE, .off = B(max_queued_bytes),
	  .def = "16MiB" },
	{ .name = "when_queue_full", .kind = CK_ENUM, .off = B(when_queue_full),
	  .names = overflow_names, .def = "drop" },
	{ .name = "max_keepalive", .kind = CK_DURATION, .off = B(max_keepalive_ms),
	  .def = "0" },
	{ .name = "session_expiry", .kind = CK_DURATION, .off = B(session_expiry_ms),
	  .def = "0" },
	{ NULL },
};
#undef B

/* Two listeners may not share an address and port. */
static void
check_broker(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	struct cfg_broker *b = obj;

	for (size_t i = 1; i < b->nlisteners; i++) {
		for (size_t j = 0; j < i; j++) {
			if (b->listeners[i].port != b->listeners[j].port ||
			    strcmp(b->listeners[i].bind, b->listeners[j].bind) != 0)
				continue;
			cfg_error_elem(c, n, "listeners", i, "port %lld on %s is "
			    "already used by listeners[%zu]",
			    (long long)b->listeners[i].port, b->listeners[i].bind, j);
			break;
		}
	}
}

static const struct cfg_schema broker_schema = {
	.what = "broker section", .size = sizeof(struct cfg_broker),
	.keys = broker_keys, .pos_off = NO_POS, .check = check_broker,
};

/* ---- store ------------------------------------------------------------- */

#define S(f) offsetof(struct cfg_store, f)
static const struct cfg_key store_keys[] = {
	{ .name = "path", .kind = CK_STRING, .off = S(path),
	  .def = "/var/lib/fieldmq/fieldmq.db" },
	{ .name = "synchronous", .kind = CK_ENUM, .off = S(synchronous),
	  .names = sync_names, .def = "normal" },
	{ .name = "batch_rows", .kind = CK_INT, .off = S(batch_rows), .def = "1000",
	  .min = 1, .max = 1000000 },
	{ .name = "batch_time", .kind = CK_DURATION, .off = S(batch_ms), .def = "50ms",
	  .min = 1, .max = 60000 },
	{ .name = "queue_rows", .kind = CK_INT, .off = S(queue_rows), .def = "100000",
	  .min = 10000, .max = 100000000 },
	{ .name = "busy_timeout", .kind = CK_DURATION, .off = S(busy_timeout_ms),
	  .def = "5s" },
	{ NULL },
};
#undef S

static const struct cfg_schema store_schema = {
	.what = "store section", .size = sizeof(struct cfg_store),
	.keys = store_keys, .pos_off = NO_POS,
};

/* ---- devices ----------------------------------------------------------- */

#define G(f) offsetof(struct cfg_tag, f)
static const struct cfg_key tag_keys[] = {
	{ .name = "name", .kind = CK_STRING, .off = G(name), .flags = CF_REQUIRED,
	  .valid = cfg_check_identifier },
	{ .name = "table", .kind = CK_ENUM, .off = G(table), .names = mtable_names,
	  .def = "holding" },
	{ .name = "address", .kind = CK_INT, .off = G(address), .min = 0,
	  .max = 465536 },
	{ .name = "type", .kind = CK_ENUM, .off = G(type), .names = type_names,
	  .def = "uint16" },
	{ .name = "length", .kind = CK_INT, .off = G(length), .def = "0", .min = 0,
	  .max = 125 },
	{ .name = "bit", .kind = CK_INT, .off = G(bit), .flags = CF_INHERIT,
	  .min = 0, .max = 15 },
	{ .name = "word_order", .kind = CK_ENUM, .off = G(word_order),
	  .names = order_names, .def = "ABCD" },
	{ .name = "scale", .kind = CK_DOUBLE, .off = G(scale), .def = "1" },
	{ .name = "offset", .kind = CK_DOUBLE, .off = G(offset), .def = "0" },
	{ .name = "unit", .kind = CK_STRING, .off = G(unit) },
	{ .name = "writable", .kind = CK_BOOL, .off = G(writable), .def = "false" },
	{ .name = "min", .kind = CK_DOUBLE, .off = G(min), .has_off = G(has_min) },
	{ .name = "max", .kind = CK_DOUBLE, .off = G(max), .has_off = G(has_max) },
	{ .name = "deadband", .kind = CK_DOUBLE, .off = G(deadband), .def = "0" },
	{ .name = "publish", .kind = CK_ENUM, .off = G(publish),
	  .names = publish_names, .def = "always" },
	{ .name = "poll", .kind = CK_DURATION, .off = G(poll_ms), .def = "0",
	  .max = DAY_MS },
	{ .name = "qos", .kind = CK_INT, .off = G(qos), .flags = CF_INHERIT,
	  .min = 0, .max = 2 },
	{ .name = "retain", .kind = CK_BOOL, .off = G(retain), .flags = CF_INHERIT },
	{ NULL },
};
#undef G

/* Type, table, bit and write settings that contradict each other. */
static void
check_tag(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	struct cfg_tag *t = obj;
	int bits = t->table == CFG_TABLE_COIL || t->table == CFG_TABLE_DISCRETE;

	if (bits && t->type != CFG_TYPE_BOOL && cfg_value(n, "type") != NULL)
		cfg_error_key(c, n, "type", "%s tags are bool",
		    mtable_names[t->table]);
	if (bits)
		t->type = CFG_TYPE_BOOL;
	if (t->bit >= 0) {
		if (bits)
			cfg_error_key(c, n, "bit", "bit applies to registers, "
			    "not to %s tags", mtable_names[t->table]);
		t->type = CFG_TYPE_BOOL;
	} else if (!bits && t->type == CFG_TYPE_BOOL)
		cfg_error_key(c, n, "type", "a bool register tag needs \"bit\"");
	if (t->type == CFG_TYPE_STRING && t->length == 0)
		cfg_error_key(c, n, "type", "a string tag needs \"length\" "
		    "(in registers)");
	if (t->type != CFG_TYPE_STRING && cfg_value(n, "length") != NULL)
		cfg_error_key(c, n, "length", "only string tags have a length");
	if (t->writable && (t->table == CFG_TABLE_DISCRETE ||
	    t->table == CFG_TABLE_INPUT))
		cfg_error_key(c, n, "writable", "%s tags are read-only in Modbus",
		    mtable_names[t->table]);
	if (t->has_min && t->has_max && t->min > t->max)
		cfg_error_key(c, n, "min", "min %g is above max %g", t->min, t->max);
	if (t->scale == 0)
		cfg_error_key(c, n, "scale", "scale 0 would make every value 0");
	if (t->deadband < 0)
		cfg_error_key(c, n, "deadband", "must not be negative");
}

static const struct cfg_schema tag_schema = {
	.what = "tag", .size = sizeof(struct cfg_tag), .keys = tag_keys,
	.pos_off = offsetof(struct cfg_tag, pos), .check = check_tag,
};

#define D(f) offsetof(struct cfg_device, f)
static const struct cfg_key device_keys[] = {
	{ .name = "name", .kind = CK_STRING, .off = D(name), .flags = CF_REQUIRED,
	  .valid = cfg_check_identifier },
	{ .name = "driver", .kind = CK_ENUM, .off = D(driver), .flags = CF_REQUIRED,
	  .names = driver_names },
	{ .name = "host", .kind = CK_STRING, .off = D(host) },
	{ .name = "port", .kind = CK_INT, .off = D(port), .def = "502", .min = 1,
	  .max = 65535 },
	{ .name = "unit_id", .kind = CK_INT, .off = D(unit_id), .def = "1",
	  .min = 0, .max = 255 },
	{ .name = "serial", .kind = CK_STRING, .off = D(serial) },
	{ .name = "baud", .kind = CK_INT, .off = D(baud), .def = "9600",
	  .min = 50, .max = 4000000 },
	{ .name = "parity", .kind = CK_ENUM, .off = D(parity), .names = parity_names,
	  .def = "none" },
	{ .name = "data_bits", .kind = CK_INT, .off = D(data_bits), .def = "8",
	  .min = 5, .max = 8 },
	{ .name = "stop_bits", .kind = CK_INT, .off = D(stop_bits), .def = "1",
	  .min = 1, .max = 2 },
	{ .name = "rs485", .kind = CK_BOOL, .off = D(rs485), .def = "false" },
	{ .name = "pattern", .kind = CK_STRING, .off = D(pattern),
	  .valid = cfg_check_pattern },
	{ .name = "poll", .kind = CK_DURATION, .off = D(poll_ms), .def = "1s",
	  .min = 0, .max = DAY_MS },
	{ .name = "timeout", .kind = CK_DURATION, .off = D(timeout_ms),
	  .def = "500ms", .min = 1, .max = 60000 },
	{ .name = "topic", .kind = CK_STRING, .off = D(topic),
	  .def = "plant/{device}", .valid = cfg_check_topic_template },
	{ .name = "payload", .kind = CK_ENUM, .off = D(payload),
	  .names = payload_names, .def = "json" },
	{ .name = "qos", .kind = CK_INT, .off = D(qos), .def = "0", .min = 0, .max = 2 },
	{ .name = "retain", .kind = CK_BOOL, .off = D(retain), .def = "false" },
	{ .name = "addressing", .kind = CK_ENUM, .off = D(addressing),
	  .names = addressing_names, .def = "zero" },
	{ .name = "max_gap", .kind = CK_INT, .off = D(max_gap), .def = "10",
	  .min = 0, .max = 125 },
	{ .name = "max_registers", .kind = CK_INT, .off = D(max_registers),
	  .def = "125", .min = 1, .max = 125 },
	{ .name = "tags", .kind = CK_LIST, .off = D(tags), .count_off = D(ntags),
	  .sub = &tag_schema, .unique = "name" },
	{ NULL },
};
#undef D

/* The registers a tag's type spans. */
static int64_t
tag_registers(const struct cfg_tag *t)
{
	switch (t->type) {
	case CFG_TYPE_INT32: case CFG_TYPE_UINT32: case CFG_TYPE_FLOAT32:
		return 2;
	case CFG_TYPE_INT64: case CFG_TYPE_UINT64: case CFG_TYPE_FLOAT64:
		return 4;
	case CFG_TYPE_STRING:
		return t->length;
	default:
		return 1;
	}
}

/*
 * Turns 1-based or Modicon addresses into 0-based ones. Modicon numbers
 * carry the table: 00001, 10001, 30001, 40001 (5 digits) or 400001 (6).
 */
static void
check_tag_address(struct cfg_ctx *c, const struct cfg_device *d,
    struct cfg_tag *t, const struct ynode *tn)
{
	static const int64_t base5[] = { 1, 10001, 30001, 40001 };
	static const int64_t base6[] = { 1, 100001, 300001, 400001 };
	int64_t	a = t->address, b5 = base5[t->table], b6 = base6[t->table];

	if (cfg_value(tn, "address") == NULL) {
		cfg_error(c, tn, "a Modbus tag needs \"address\"");
		return;
	}
	if (d->addressing == CFG_ADDRESS_ONE)
		a -= 1;
	else if (d->addressing == CFG_ADDRESS_MODICON) {
		if (a >= b5 && a <= b5 + 9998)
			a -= b5;
		else if (a >= b6 && a <= b6 + 65535 && t->table != CFG_TABLE_COIL)
			a -= b6;
		else
			a = -1;
	}
	if (a < 0 || a + tag_registers(t) > 65536) {
		cfg_error_key(c, tn, "address", "%lld is not a %s address "
		    "(addressing: %s)", (long long)t->address,
		    mtable_names[t->table], addressing_names[d->addressing]);
		return;
	}
	t->address = a;
}

/* Driver-specific keys: what each driver needs and what it does not take. */
static void
check_device(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	struct cfg_device *d = obj;
	static const char *const tcp_only[] = { "host", "port", NULL };
	static const char *const serial_only[] = {
		"serial", "baud", "parity", "data_bits", "stop_bits", "rs485", NULL,
	};
	static const char *const modbus_only[] = {
		"unit_id", "addressing", "max_gap", "max_registers", NULL,
	};

	if (d->driver == CFG_DRIVER_MODBUS_TCP && d->host == NULL)
		cfg_error(c, n, "a modbus-tcp device needs \"host\"");
	if (d->driver != CFG_DRIVER_MODBUS_TCP && d->serial == NULL)
		cfg_error(c, n, "a %s device needs \"serial\" (e.g. /dev/ttyUSB0)",
		    driver_names[d->driver]);
	if (d->driver == CFG_DRIVER_SERIAL_LINE && d->pattern == NULL)
		cfg_error(c, n, "a serial-line device needs \"pattern\"");
	for (const char *const *k = tcp_only; *k; k++)
		if (d->driver != CFG_DRIVER_MODBUS_TCP && cfg_value(n, *k))
			cfg_error_key(c, n, *k, "applies to modbus-tcp devices only");
	for (const char *const *k = serial_only; *k; k++)
		if (d->driver == CFG_DRIVER_MODBUS_TCP && cfg_value(n, *k))
			cfg_error_key(c, n, *k, "applies to serial devices only");
	for (const char *const *k = modbus_only; *k; k++)
		if (d->driver == CFG_DRIVER_SERIAL_LINE && cfg_value(n, *k))
			cfg_error_key(c, n, *k, "applies to Modbus devices only");
	if (d->driver != CFG_DRIVER_SERIAL_LINE && cfg_value(n, "pattern"))
		cfg_error_key(c, n, "pattern", "applies to serial-line devices only");
	if (d->driver != CFG_DRIVER_SERIAL_LINE && d->ntags == 0)
		cfg_error(c, n, "a Modbus device needs at least one tag");
	for (size_t i = 0; i < d->ntags && d->driver != CFG_DRIVER_SERIAL_LINE; i++) {
		size_t old = cfg_path_push(c, ".tags[%zu]", i);

		check_tag_address(c, d, &d->tags[i], cfg_elem(n, "tags", i));
		cfg_path_pop(c, old);
	}
}

static const struct cfg_schema device_schema = {
	.what = "device", .size = sizeof(struct cfg_device), .keys = device_keys,
	.pos_off = offsetof(struct cfg_device, pos), .check = check_device,
};

/* ---- tables ------------------------------------------------------------ */

#define C(f) offsetof(struct cfg_column, f)
static const struct cfg_key column_keys[] = {
	{ .name = "from", .kind = CK_STRING, .off = C(from), .flags = CF_REQUIRED,
	  .valid = cfg_check_column_source },
	{ .name = "type", .kind = CK_ENUM, .off = C(type), .names = coltype_names,
	  .def = "auto" },
	{ .name = "not_null", .kind = CK_BOOL, .off = C(not_null), .def = "false" },
	{ NULL },
};
#undef C

static const struct cfg_schema column_schema = {
	.what = "column", .size = sizeof(struct cfg_column), .keys = column_keys,
	.pos_off = offsetof(struct cfg_column, pos),
	.name_off = offsetof(struct cfg_column, name), .scalar_key = "from",
};

#define R(f) offsetof(struct cfg_table, f)
static const struct cfg_key table_keys[] = {
	{ .name = "name", .kind = CK_STRING, .off = R(name), .flags = CF_REQUIRED,
	  .valid = cfg_check_identifier },
	{ .name = "topic", .kind = CK_STRLIST, .off = R(topics),
	  .count_off = R(ntopics), .flags = CF_REQUIRED,
	  .valid = cfg_check_topic_filter },
	{ .name = "columns", .kind = CK_NAMED_MAP, .off = R(columns),
	  .count_off = R(ncolumns), .flags = CF_REQUIRED, .sub = &column_schema,
	  .valid = cfg_check_identifier },
	{ .name = "key", .kind = CK_STRLIST, .off = R(key), .count_off = R(nkey),
	  .valid = cfg_check_identifier },
	{ .name = "where", .kind = CK_STRING, .off = R(where),
	  .valid = cfg_check_where },
	{ .name = "keep", .kind = CK_DURATION, .off = R(keep_ms), .def = "0" },
	{ .name = "max_rows", .kind = CK_INT, .off = R(max_rows), .def = "0",
	  .min = 0, .max = INT64_MAX },
	{ .name = "max_payload", .kind = CK_SIZE, .off = R(max_payload),
	  .def = "64KiB", .min = 1, .max = 256 << 20 },
	{ NULL },
};
#undef R

/*
 * The gateway's own tables (schema/NNNN_*.sql) and the fieldmq_ prefix are not
 * for mappings; topic[N] must exist in every filter; key columns must be
 * columns; keep: needs a time to go by.
 */
static void
check_table(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	static const char *const own[] = {
		"meta", "retained", "sessions", "subscriptions",
		"session_messages", "dead_letters", "outbox", "sqlite_sequence",
	};
	struct cfg_table *t = obj;
	const struct ynode *cols = cfg_value(n, "columns");
	size_t old;
	int has_time = 0;

	for (size_t i = 0; t->name != NULL && i < FMQ_NELEM(own); i++)
		if (strcasecmp(t->name, own[i]) == 0)
			cfg_error_key(c, n, "name", "\"%s\" is one of the gateway's "
			    "own tables: choose another name", t->name);
	if (t->name != NULL && strncasecmp(t->name, "fieldmq_", 8) == 0)
		cfg_error_key(c, n, "name", "names starting with fieldmq_ are "
		    "the gateway's: choose another name");
	for (size_t i = 0; i < t->ncolumns; i++)
		has_time |= strcmp(t->columns[i].from, "received_at") == 0 ||
		    t->columns[i].type == CFG_COL_TIMESTAMP;
	if (t->keep_ms > 0 && !has_time && t->ncolumns > 0)
		cfg_error_key(c, n, "keep", "keep needs a column from received_at "
		    "or of type timestamp to tell a row's age");
	old = cfg_path_push(c, ".columns");
	for (size_t i = 0; i < t->ncolumns; i++) {
		const char *name = t->columns[i].name;

		if (strcasecmp(name, "rowid") == 0 || strcasecmp(name, "oid") == 0 ||
		    strcasecmp(name, "_rowid_") == 0)
			cfg_error_key(c, cols, name, "\"%s\" is SQLite's name for "
			    "the row id (retention relies on it): choose another "
			    "name", name);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(name, t->columns[j].name) == 0)
				cfg_error_key(c, cols, name, "\"%s\" and \"%s\" are "
				    "the same column to SQLite (names ignore case)",
				    t->columns[j].name, name);
	}

	for (size_t i = 0; i < t->ncolumns; i++) {
		int idx = cfg_topic_index(t->columns[i].from);

		for (size_t j = 0; idx >= 0 && j < t->ntopics; j++) {
			const char *f = t->topics[j];

			/* "a/#" has levels 0, 1 and any number after. */
			if ((size_t)idx < cfg_topic_levels(f) ||
			    f[strlen(f) - 1] == '#')
				continue;
			cfg_error_key(c, cols, t->columns[i].name, "%s is past the "
			    "last level of topic filter \"%s\" (levels count from 0)",
			    t->columns[i].from, t->topics[j]);
		}
	}
	cfg_path_pop(c, old);
	for (size_t i = 0; i < t->nkey; i++) {
		size_t j;

		for (j = 0; j < t->ncolumns; j++)
			if (strcmp(t->key[i], t->columns[j].name) == 0)
				break;
		if (j == t->ncolumns)
			cfg_error_key(c, n, "key", "\"%s\" is not a column of "
			    "this table", t->key[i]);
	}
	if (t->nkey > 0 && (t->keep_ms > 0 || t->max_rows > 0))
		cfg_error_key(c, n, "key", "a latest-value table (with key) "
		    "keeps one row per key: keep and max_rows do not apply");
	if (n != NULL && t->ncolumns == 0 && cols != NULL)
		cfg_error_key(c, n, "columns", "a table needs at least one column");
}

static const struct cfg_schema table_schema = {
	.what = "table", .size = sizeof(struct cfg_table), .keys = table_keys,
	.pos_off = offsetof(struct cfg_table, pos), .check = check_table,
};

/* ---- bridges ----------------------------------------------------------- */

#define F(f) offsetof(struct cfg_forward, f)
static const struct cfg_key forward_keys[] = {
	{ .name = "from", .kind = CK_STRING, .off = F(from), .flags = CF_REQUIRED,
	  .valid = cfg_check_topic_filter },
	{ .name = "to", .kind = CK_STRING, .off = F(to), .def = "" },
	{ .name = "qos", .kind = CK_INT, .off = F(qos), .def = "1", .min = 0, .max = 2 },
	{ .name = "retain", .kind = CK_BOOL, .off = F(retain), .def = "true" },
	{ NULL },
};
#undef F

/* A prefix may not carry wildcards. */
static void
check_forward(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	struct cfg_forward *f = obj;

	if (strpbrk(f->to, "+#") != NULL)
		cfg_error_key(c, n, "to", "\"%s\": a topic prefix has no wildcards",
		    f->to);
}

static const struct cfg_schema forward_schema = {
	.what = "forward rule", .size = sizeof(struct cfg_forward),
	.keys = forward_keys, .pos_off = offsetof(struct cfg_forward, pos),
	.check = check_forward,
};

#define W(f) offsetof(struct cfg_bridge, f)
static const struct cfg_key bridge_keys[] = {
	{ .name = "name", .kind = CK_STRING, .off = W(name), .flags = CF_REQUIRED,
	  .valid = cfg_check_identifier },
	{ .name = "url", .kind = CK_STRING, .off = W(url), .flags = CF_REQUIRED,
	  .valid = cfg_check_url },
	{ .name = "client_id", .kind = CK_STRING, .off = W(client_id) },
	{ .name = "mqtt_version", .kind = CK_ENUM, .off = W(mqtt_version),
	  .names = mqtt_version_names, .def = "3.1.1" },
	{ .name = "username", .kind = CK_SECRET, .off = W(username) },
	{ .name = "password", .kind = CK_SECRET, .off = W(password) },
	{ .name = "keepalive", .kind = CK_DURATION, .off = W(keepalive_ms),
	  .def = "30s", .min = 1000, .max = 65535000 },
	{ .name = "session_expiry", .kind = CK_DURATION, .off = W(session_expiry_ms),
	  .def = "1d" },
	{ .name = "tls", .kind = CK_STRUCT, .off = W(tls), .sub = &tls_schema },
	{ .name = "forward", .kind = CK_LIST, .off = W(forward),
	  .count_off = W(nforward), .sub = &forward_schema },
	{ .name = "subscribe", .kind = CK_LIST, .off = W(subscribe),
	  .count_off = W(nsubscribe), .sub = &forward_schema },
	{ .name = "max_rows", .kind = CK_INT, .off = W(max_rows), .def = "1000000",
	  .min = 1, .max = INT64_MAX },
	{ .name = "max_bytes", .kind = CK_SIZE, .off = W(max_bytes), .def = "512MiB" },
	{ .name = "max_age", .kind = CK_DURATION, .off = W(max_age_ms), .def = "0" },
	{ .name = "when_full", .kind = CK_ENUM, .off = W(when_full),
	  .names = when_full_names, .def = "drop-oldest" },
	{ .name = "buffer_qos0", .kind = CK_BOOL, .off = W(buffer_qos0), .def = "true" },
	{ .name = "backoff_min", .kind = CK_DURATION, .off = W(backoff_min_ms),
	  .def = "1s", .min = 10, .max = DAY_MS },
	{ .name = "backoff_max", .kind = CK_DURATION, .off = W(backoff_max_ms),
	  .def = "2m", .min = 10, .max = DAY_MS },
	{ .name = "rate_limit", .kind = CK_INT, .off = W(rate_limit), .def = "0",
	  .min = 0, .max = 100000000 },
	{ .name = "replay", .kind = CK_ENUM, .off = W(replay),
	  .names = replay_names, .def = "live-first" },
	{ NULL },
};
#undef W

/* TLS settings need a TLS URL; something must flow; sane backoff. */
static void
check_bridge(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	struct cfg_bridge *b = obj;
	int tls_url = strncmp(b->url, "ssl:", 4) == 0 ||
	    strncmp(b->url, "mqtts:", 6) == 0 || strncmp(b->url, "wss:", 4) == 0;

	if (b->tls.enabled && !tls_url)
		cfg_error_key(c, n, "tls", "TLS settings need an ssl://, mqtts:// "
		    "or wss:// url");
	if (b->nforward == 0 && b->nsubscribe == 0)
		cfg_error(c, n, "a bridge needs \"forward\" or \"subscribe\" rules");
	if (b->backoff_min_ms > b->backoff_max_ms)
		cfg_error_key(c, n, "backoff_min", "is above backoff_max");
	if (b->password != NULL && b->username == NULL)
		cfg_error_key(c, n, "password", "a password needs a username");
}

static const struct cfg_schema bridge_schema = {
	.what = "bridge", .size = sizeof(struct cfg_bridge), .keys = bridge_keys,
	.pos_off = offsetof(struct cfg_bridge, pos), .check = check_bridge,
};

/* ---- actuators --------------------------------------------------------- */

#define A(f) offsetof(struct cfg_actuator, f)
static const struct cfg_key actuator_keys[] = {
	{ .name = "topic", .kind = CK_STRING, .off = A(topic), .flags = CF_REQUIRED,
	  .valid = cfg_check_topic_filter },
	{ .name = "device", .kind = CK_STRING, .off = A(device), .flags = CF_REQUIRED },
	{ .name = "tag", .kind = CK_STRING, .off = A(tag), .flags = CF_REQUIRED },
	{ .name = "min_interval", .kind = CK_DURATION, .off = A(min_interval_ms),
	  .def = "100ms" },
	{ .name = "readback", .kind = CK_BOOL, .off = A(readback), .def = "false" },
	{ NULL },
};
#undef A

static const struct cfg_schema actuator_schema = {
	.what = "actuator", .size = sizeof(struct cfg_actuator),
	.keys = actuator_keys, .pos_off = offsetof(struct cfg_actuator, pos),
};

/* "topic[N]" must name a '+' level of the actuator's topic filter. */
static int
check_actuator_level(struct cfg_ctx *c, const struct cfg_actuator *a,
    const struct ynode *an, const char *key, const char *v)
{
	int		 idx = cfg_topic_index(v);
	const char	*p = a->topic;

	if (idx < 0)
		return 0;
	for (int i = 0; i < idx && p != NULL; i++)
		if ((p = strchr(p, '/')) != NULL)
			p++;
	if (p == NULL || strncmp(p, "+", 1) != 0 || (p[1] != '/' && p[1] != '\0'))
		cfg_error_key(c, an, key, "%s is not a '+' level of \"%s\"", v,
		    a->topic);
	return 1;
}

/* Fixed device and tag names must exist, and the tag must be writable. */
static void
check_actuators(struct cfg_ctx *c, struct fmq_config *cfg, const struct ynode *root)
{
	for (size_t i = 0; i < cfg->nactuators; i++) {
		const struct cfg_actuator *a = &cfg->actuators[i];
		const struct ynode *an = cfg_elem(root, "actuators", i);
		const struct cfg_device *d;
		const struct cfg_tag *t;
		size_t old;

		if (a->topic == NULL || a->device == NULL || a->tag == NULL)
			continue;
		old = cfg_path_push(c, "actuators[%zu]", i);
		if (check_actuator_level(c, a, an, "device", a->device) |
		    check_actuator_level(c, a, an, "tag", a->tag))
			;
		else if ((d = config_device(cfg, a->device)) == NULL)
			cfg_error_key(c, an, "device", "no device is called \"%s\"",
			    a->device);
		else if ((t = config_tag(d, a->tag)) == NULL)
			cfg_error_key(c, an, "tag", "device \"%s\" has no tag \"%s\"",
			    a->device, a->tag);
		else if (!t->writable)
			cfg_error_key(c, an, "tag", "tag \"%s\" of \"%s\" is not "
			    "writable", a->tag, a->device);
		cfg_path_pop(c, old);
	}
}

/* Checks that span sections. */
static void
check_root(struct cfg_ctx *c, void *obj, const struct ynode *n)
{
	check_actuators(c, obj, n);
}

/* ---- the file ---------------------------------------------------------- */

#define X(f) offsetof(struct fmq_config, f)
static const struct cfg_key root_keys[] = {
	{ .name = "log_level", .kind = CK_ENUM, .off = X(log_level),
	  .names = log_names, .def = "info" },
	{ .name = "shutdown_timeout", .kind = CK_DURATION,
	  .off = X(shutdown_timeout_ms), .def = "10s", .min = 100, .max = 600000 },
	{ .name = "store", .kind = CK_STRUCT, .off = X(store), .sub = &store_schema },
	{ .name = "broker", .kind = CK_STRUCT, .off = X(broker), .sub = &broker_schema },
	{ .name = "devices", .kind = CK_LIST, .off = X(devices),
	  .count_off = X(ndevices), .sub = &device_schema, .unique = "name" },
	{ .name = "tables", .kind = CK_LIST, .off = X(tables),
	  .count_off = X(ntables), .sub = &table_schema, .unique = "name" },
	{ .name = "bridges", .kind = CK_LIST, .off = X(bridges),
	  .count_off = X(nbridges), .sub = &bridge_schema, .unique = "name" },
	{ .name = "actuators", .kind = CK_LIST, .off = X(actuators),
	  .count_off = X(nactuators), .sub = &actuator_schema },
	{ NULL },
};
#undef X

const struct cfg_schema cfg_root_schema = {
	.what = "configuration file", .size = sizeof(struct fmq_config),
	.keys = root_keys, .pos_off = NO_POS, .check = check_root,
	.check_always = 1,
};
