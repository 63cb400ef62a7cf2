/*
 * The configuration: one YAML file parsed into these typed structs and
 * validated as a whole before anything starts. The key tables that fill
 * them are in config/schema.c. A struct fmq_config is immutable once
 * loaded; a reload builds a new one. Any thread may read it.
 */
#ifndef FMQ_CONF_H
#define FMQ_CONF_H

#include <stddef.h>
#include <stdint.h>

struct cfg_pos {
	unsigned	line;
	unsigned	col;
};

/* TLS settings of a listener (server side) or of a bridge (client side). */
struct cfg_tls {
	int		 enabled;	/* the tls: map was given */
	char		*cert;
	char		*key;
	char		*ca;
	int		 min_version;	/* CFG_TLS_1_2, CFG_TLS_1_3 */
	char		*ciphers;
	int		 client_cert;	/* CFG_CLIENT_CERT_* (listeners) */
	int		 cn_as_username;
	int		 verify_hostname;	/* bridges */
};

enum { CFG_CLIENT_CERT_NONE, CFG_CLIENT_CERT_OPTIONAL, CFG_CLIENT_CERT_REQUIRED };
enum { CFG_TLS_1_2, CFG_TLS_1_3 };

struct cfg_listener {
	struct cfg_pos	 pos;
	char		*bind;
	int64_t		 port;
	int		 websocket;
	char		*path;		/* WebSocket path */
	struct cfg_tls	 tls;
	int		 allow_anonymous;	/* -1: the broker's setting */
	int64_t		 max_connections;
	uint64_t	 max_packet_size;
	uint64_t	 connect_timeout_ms;
};

enum { CFG_OVERFLOW_DROP, CFG_OVERFLOW_DISCONNECT };

struct cfg_broker {
	struct cfg_listener *listeners;
	size_t		 nlisteners;
	char		*password_file;
	char		*acl_file;
	int		 allow_anonymous;
	uint64_t	 sys_interval_ms;
	int64_t		 max_connections;
	uint64_t	 max_packet_size;
	int64_t		 max_inflight;
	int64_t		 max_queued_messages;
	uint64_t	 max_queued_bytes;
	int		 when_queue_full;	/* CFG_OVERFLOW_* */
	uint64_t	 max_keepalive_ms;
	uint64_t	 session_expiry_ms;	/* persistent sessions; 0 = never */
};

enum { CFG_SYNC_OFF, CFG_SYNC_NORMAL, CFG_SYNC_FULL };

struct cfg_store {
	char		*path;
	int		 synchronous;	/* CFG_SYNC_* */
	int64_t		 batch_rows;
	uint64_t	 batch_ms;
	int64_t		 queue_rows;
	uint64_t	 busy_timeout_ms;
};

enum { CFG_DRIVER_MODBUS_TCP, CFG_DRIVER_MODBUS_RTU, CFG_DRIVER_SERIAL_LINE };
enum { CFG_TABLE_COIL, CFG_TABLE_DISCRETE, CFG_TABLE_INPUT, CFG_TABLE_HOLDING };
enum {
	CFG_TYPE_BOOL, CFG_TYPE_INT16, CFG_TYPE_UINT16, CFG_TYPE_INT32,
	CFG_TYPE_UINT32, CFG_TYPE_INT64, CFG_TYPE_UINT64, CFG_TYPE_FLOAT32,
	CFG_TYPE_FLOAT64, CFG_TYPE_STRING,
};
enum { CFG_ORDER_ABCD, CFG_ORDER_BADC, CFG_ORDER_CDAB, CFG_ORDER_DCBA };
enum { CFG_PUBLISH_CHANGE, CFG_PUBLISH_ALWAYS };
enum { CFG_PAYLOAD_JSON, CFG_PAYLOAD_BARE };
enum { CFG_ADDRESS_ZERO, CFG_ADDRESS_ONE, CFG_ADDRESS_MODICON };
enum { CFG_PARITY_NONE, CFG_PARITY_EVEN, CFG_PARITY_ODD };

struct cfg_tag {
	struct cfg_pos	 pos;
	char		*name;
	int		 table;		/* CFG_TABLE_* */
	int64_t		 address;
	int		 type;		/* CFG_TYPE_* */
	int64_t		 length;	/* string: registers */
	int64_t		 bit;		/* -1, or one bit of a register */
	int		 word_order;	/* CFG_ORDER_* */
	double		 scale;
	double		 offset;
	char		*unit;
	int		 writable;
	double		 min;
	double		 max;
	int		 has_min, has_max;
	double		 deadband;
	int		 publish;	/* CFG_PUBLISH_* */
	uint64_t	 poll_ms;	/* 0: the device's */
	int64_t		 qos;		/* -1: the device's */
	int		 retain;	/* -1: the device's */
};

struct cfg_device {
	struct cfg_pos	 pos;
	char		*name;
	int		 driver;	/* CFG_DRIVER_* */
	char		*host;
	int64_t		 port;
	int64_t		 unit_id;
	char		*serial;	/* serial device path */
	int64_t		 baud;
	int		 parity;	/* CFG_PARITY_* */
	int64_t		 data_bits;
	int64_t		 stop_bits;
	int		 rs485;
	char		*pattern;	/* serial-line: regex with named groups */
	uint64_t	 poll_ms;
	uint64_t	 timeout_ms;
	char		*topic;		/* template; {device} is replaced */
	int		 payload;	/* CFG_PAYLOAD_* */
	int64_t		 qos;
	int		 retain;
	int		 addressing;	/* CFG_ADDRESS_* */
	int64_t		 max_gap;
	int64_t		 max_registers;
	struct cfg_tag	*tags;
	size_t		 ntags;
};

enum {
	CFG_COL_INTEGER, CFG_COL_REAL, CFG_COL_TEXT, CFG_COL_BLOB,
	CFG_COL_TIMESTAMP, CFG_COL_AUTO,
};

struct cfg_column {
	struct cfg_pos	 pos;
	char		*name;		/* the map key */
	char		*from;		/* "$.a.b", "topic[1]", "topic", "payload", ... */
	int		 type;		/* CFG_COL_* */
	int		 not_null;
};

struct cfg_table {
	struct cfg_pos	 pos;
	char		*name;
	char		**topics;
	size_t		 ntopics;
	struct cfg_column *columns;
	size_t		 ncolumns;
	char		**key;		/* "latest value" tables: UPSERT key */
	size_t		 nkey;
	char		*where;
	uint64_t	 keep_ms;
	int64_t		 max_rows;
	uint64_t	 max_payload;	/* bigger payloads are dead letters */
};

struct cfg_forward {
	struct cfg_pos	 pos;
	char		*from;
	char		*to;
	int64_t		 qos;
	int		 retain;
};

struct cfg_bridge {
	struct cfg_pos	 pos;
	char		*name;
	char		*url;
	char		*client_id;
	int		 mqtt_version;	/* CFG_MQTT_* */
	char		*username;
	char		*password;	/* resolved secret */
	uint64_t	 keepalive_ms;
	uint64_t	 session_expiry_ms;
	struct cfg_tls	 tls;
	struct cfg_forward *forward;
	size_t		 nforward;
	struct cfg_forward *subscribe;
	size_t		 nsubscribe;
	int64_t		 max_rows;
	uint64_t	 max_bytes;
	uint64_t	 max_age_ms;
	int		 when_full;	/* CFG_WHEN_FULL_* */
	int		 buffer_qos0;
	uint64_t	 backoff_min_ms;
	uint64_t	 backoff_max_ms;
	int64_t		 rate_limit;	/* messages per second, 0: none */
	int		 replay;	/* CFG_REPLAY_* */
};

enum { CFG_MQTT_311, CFG_MQTT_5 };
enum { CFG_WHEN_FULL_DROP_OLDEST, CFG_WHEN_FULL_DROP_NEW };
enum { CFG_REPLAY_LIVE_FIRST, CFG_REPLAY_IN_ORDER };

struct cfg_actuator {
	struct cfg_pos	 pos;
	char		*topic;
	char		*device;	/* a device name or "topic[N]" */
	char		*tag;		/* a tag name or "topic[N]" */
	uint64_t	 min_interval_ms;
	int		 readback;
};

struct fmq_config {
	char		*file;		/* the path it was read from */
	int		 log_level;	/* enum log_level */
	uint64_t	 shutdown_timeout_ms;
	struct cfg_store store;
	struct cfg_broker broker;
	struct cfg_device *devices;
	size_t		 ndevices;
	struct cfg_table *tables;
	size_t		 ntables;
	struct cfg_bridge *bridges;
	size_t		 nbridges;
	struct cfg_actuator *actuators;
	size_t		 nactuators;
};

/* The errors of one load, each "FILE:LINE:COL: PATH: message". */
struct cfg_errors {
	char		**lines;
	size_t		 n;
	size_t		 cap;
};

/*
 * Loads and validates the file at path. Returns the config, or NULL with
 * every error of the file in errs (all of them, in document order).
 */
struct fmq_config *config_load(const char *path, struct cfg_errors *errs);
/* The same from a buffer; name is used in error messages. */
struct fmq_config *config_load_buffer(const char *name, const char *buf,
		    size_t len, struct cfg_errors *errs);
void		 config_free(struct fmq_config *);

void		 cfg_errors_free(struct cfg_errors *);

/* One line saying what the config holds: "2 listeners, 1 device, ...". */
void		 config_describe(const struct fmq_config *, char *buf, size_t sz);

/* A device's topic: its template with every {device} replaced (new string). */
char		*config_device_topic(const struct cfg_device *);

/* A device by name, or NULL. */
const struct cfg_device *config_device(const struct fmq_config *, const char *);
/* A tag of a device by name, or NULL. */
const struct cfg_tag *config_tag(const struct cfg_device *, const char *);

#endif
