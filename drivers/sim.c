/*
 * `fieldmq sim`: a Modbus TCP and RTU server for the demo and the tests.
 *
 * One thread and one poll loop over the listening socket, the TCP clients
 * and the serial line. Each unit id has its own libmodbus mapping, filled
 * from the description; counters and sine waves are recomputed from the
 * clock before each reply until a write takes their registers over. TCP
 * requests come through modbus_receive; RTU frames are cut here (libmodbus
 * serves one unit id per context, and after a request for another unit it
 * swallows the next frame as that unit's answer), and both are answered
 * with modbus_reply. Faults: a delay before each reply, exception codes
 * for chosen addresses, silence (--silent, SIGUSR1) and closed connections
 * (--drop-after; SIGUSR2 takes the listener away and brings it back).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <modbus.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config/value.h"
#include "config/yaml.h"
#include "drivers/sim.h"
#include "drivers/value.h"
#include "log.h"
#include "util.h"

#define SIM_MAX_UNITS		247
#define SIM_MAX_ENTRIES		10000	/* in registers: and in exceptions: */
#define SIM_MAX_CLIENTS		64
#define SIM_DEFAULT_SIZE	10000	/* addresses 0..9999 of each table */
#define SIM_TABLE_MAX		65536
#define SIM_DEFAULT_TCP		"127.0.0.1:1502"
#define SIM_RTU_GAP_MS		100	/* silence that abandons a partial frame */
#define SIM_RTU_DRAIN_MS	1000	/* the longest wait for garbage to end */
#define SIM_RTU_FRAME_MAX	256
#define SIM_RETRY_MS		1000	/* between attempts to reopen the listener */
#define SIM_SEND_TIMEOUT_S	2	/* a client that does not read is dropped */
#define SIM_LOG_VALUES		8	/* values shown in a write's log line */

enum sim_table { SIM_COIL, SIM_DISCRETE, SIM_INPUT, SIM_HOLDING, SIM_NTABLES };
enum sim_source { SIM_CONST, SIM_COUNTER, SIM_SINE };

/* Named as in the configuration's tags. */
static const char *const sim_table_names[] = {
	"coil", "discrete", "input", "holding",
};
static const char *const sim_order_names[] = { "ABCD", "BADC", "CDAB", "DCBA" };
static const char *const sim_type_names[] = {
	"bool", "int16", "uint16", "int32", "uint32", "int64", "uint64",
	"float32", "float64", "string",
};
static const char *const sim_source_names[] = { "value", "counter", "sine" };

/* How counters wrap each type of drivers/value.h. */
static const struct sim_type {
	unsigned	 bits;		/* integer width; 0: a float or a string */
	int		 is_signed;
	int		 numeric;
} sim_types[] = {
	[DRV_BOOL] = { 1, 0, 1 },
	[DRV_INT16] = { 16, 1, 1 },
	[DRV_UINT16] = { 16, 0, 1 },
	[DRV_INT32] = { 32, 1, 1 },
	[DRV_UINT32] = { 32, 0, 1 },
	[DRV_INT64] = { 64, 1, 1 },
	[DRV_UINT64] = { 64, 0, 1 },
	[DRV_FLOAT32] = { 0, 0, 1 },
	[DRV_FLOAT64] = { 0, 0, 1 },
	[DRV_STRING] = { 0, 0, 0 },
};

/* The table and the addresses a request touches, by function code. */
static const struct sim_fc {
	uint8_t		 fc;
	enum sim_table	 table;
	uint8_t		 addr_at;	/* offsets in the PDU */
	uint8_t		 count_at;	/* 0: one item */
	int		 write;
	unsigned	 max;		/* items one request may carry */
} sim_fcs[] = {
	{ MODBUS_FC_READ_COILS, SIM_COIL, 1, 3, 0, MODBUS_MAX_READ_BITS },
	{ MODBUS_FC_READ_DISCRETE_INPUTS, SIM_DISCRETE, 1, 3, 0,
	  MODBUS_MAX_READ_BITS },
	{ MODBUS_FC_READ_HOLDING_REGISTERS, SIM_HOLDING, 1, 3, 0,
	  MODBUS_MAX_READ_REGISTERS },
	{ MODBUS_FC_READ_INPUT_REGISTERS, SIM_INPUT, 1, 3, 0,
	  MODBUS_MAX_READ_REGISTERS },
	{ MODBUS_FC_WRITE_SINGLE_COIL, SIM_COIL, 1, 0, 1, 1 },
	{ MODBUS_FC_WRITE_SINGLE_REGISTER, SIM_HOLDING, 1, 0, 1, 1 },
	{ MODBUS_FC_WRITE_MULTIPLE_COILS, SIM_COIL, 1, 3, 1,
	  MODBUS_MAX_WRITE_BITS },
	{ MODBUS_FC_WRITE_MULTIPLE_REGISTERS, SIM_HOLDING, 1, 3, 1,
	  MODBUS_MAX_WRITE_REGISTERS },
	{ MODBUS_FC_MASK_WRITE_REGISTER, SIM_HOLDING, 1, 0, 1, 1 },
	{ MODBUS_FC_WRITE_AND_READ_REGISTERS, SIM_HOLDING, 1, 3, 0,
	  MODBUS_MAX_WR_READ_REGISTERS },
	{ MODBUS_FC_WRITE_AND_READ_REGISTERS, SIM_HOLDING, 5, 7, 1,
	  MODBUS_MAX_WR_WRITE_REGISTERS },
};

/*
 * The bytes of an RTU request after the function code, as libmodbus
 * counts them: meta bytes, the last of them a byte count if counted.
 * Other function codes carry none.
 */
static const struct sim_rtu_fc {
	uint8_t		 fc;
	uint8_t		 meta;
	int		 counted;
} sim_rtu_fcs[] = {
	{ MODBUS_FC_READ_COILS, 4, 0 },
	{ MODBUS_FC_READ_DISCRETE_INPUTS, 4, 0 },
	{ MODBUS_FC_READ_HOLDING_REGISTERS, 4, 0 },
	{ MODBUS_FC_READ_INPUT_REGISTERS, 4, 0 },
	{ MODBUS_FC_WRITE_SINGLE_COIL, 4, 0 },
	{ MODBUS_FC_WRITE_SINGLE_REGISTER, 4, 0 },
	{ MODBUS_FC_WRITE_MULTIPLE_COILS, 5, 1 },
	{ MODBUS_FC_WRITE_MULTIPLE_REGISTERS, 5, 1 },
	{ MODBUS_FC_MASK_WRITE_REGISTER, 6, 0 },
	{ MODBUS_FC_WRITE_AND_READ_REGISTERS, 9, 1 },
};

/* What `fieldmq sim` serves without -f: the device of etc/fieldmq.yaml. */
static const char sim_demo[] =
    "unit_id: 1\n"
    "registers:\n"
    "  - { table: holding, address: 0, type: uint16,"
    " counter: { step: 1, every: 1s } }\n"
    "  - { table: holding, address: 100, type: float32, order: CDAB,"
    " sine: { min: 195, max: 235, period: 60s } }\n"
    "  - { table: input, address: 10, type: uint16,"
    " sine: { min: 140, max: 160, period: 30s } }\n"
    "  - { table: holding, address: 200, type: int16, value: 450 }\n"
    "  - { table: holding, address: 300, type: string, length: 8,"
    " value: SIM-0001 }\n"
    "  - { table: coil, address: 0, value: false }\n";

/* One described value: where it lives and what drives it. */
struct sim_reg {
	enum sim_table	 table;
	uint16_t	 address;
	unsigned	 count;		/* registers or bits it spans */
	struct drv_format fmt;
	enum sim_source	 source;
	struct drv_value value;		/* the constant, or a counter's start */
	double		 step;		/* counter */
	uint64_t	 every_ms;
	double		 min, max;	/* sine */
	uint64_t	 period_ms;
};

/* Requests that touch these addresses are answered with an exception. */
struct sim_exc {
	enum sim_table	 table;
	uint16_t	 address;
	unsigned	 count;
	uint8_t		 code;
};

struct sim_desc {
	uint8_t		 units[SIM_MAX_UNITS];
	size_t		 nunits;
	unsigned	 size[SIM_NTABLES];	/* addresses in each table */
	struct sim_reg	*regs;
	size_t		 nregs;
	struct sim_exc	*excs;
	size_t		 nexcs;
};

/* While a description is read. */
struct sim_parse {
	const char	*file;
	struct sim_desc	*desc;
};

/* A register entry while it is read; checked once all its keys are in. */
struct sim_reg_in {
	struct sim_reg		 r;
	int64_t			 length;	/* 0: from the value */
	const struct ynode	*at_address, *at_type, *at_order, *at_length;
	const struct ynode	*at_value, *at_source;
};

struct sim_exc_in {
	struct sim_exc		 e;
	const struct ynode	*at_address, *at_code;
};

struct sim_key {
	const char	*name;
	int		(*parse)(struct sim_parse *, void *, const struct ynode *);
};

/* One unit id's registers. */
struct sim_unit {
	uint8_t			 id;
	modbus_mapping_t	*map;
	unsigned char		*taken;	/* per regs[i]: a write took it over */
};

struct sim_client {
	int		 fd;
	unsigned	 requests;
	char		 peer[80];	/* "address:port" */
};

struct sim_opts {
	const char	*tcp;		/* HOST:PORT, or NULL */
	const char	*rtu;		/* DEVICE[:BAUD[:PARITY:DATA:STOP]], or NULL */
	const char	*file;		/* NULL: the demo device */
	uint64_t	 delay_ms;
	int		 silent;
	uint64_t	 drop_after;	/* 0: never */
	int		 verbose;
};

struct sim {
	struct sim_opts		 opt;
	struct sim_desc		*desc;
	struct sim_unit		*units;
	size_t			 nunits;
	uint64_t		 t0;		/* mono_ms() at the start */

	char			 host[256];	/* "": every address */
	char			 port[32];
	modbus_t		*tcp;		/* shared by the clients */
	int			 lfd;		/* -1 while offline */
	uint64_t		 retry_at;
	struct sim_client	 clients[SIM_MAX_CLIENTS];
	size_t			 nclients;

	char			 rtu_dev[256];
	int			 baud, data_bits, stop_bits;
	char			 parity;
	modbus_t		*rtu;
	int			 rtu_fd;

	int			 silent, offline;	/* as last applied */
	int			 retrying;	/* the listener failed to reopen */
	sigset_t		 waitmask;	/* the mask while waiting */
	sigset_t		 oldmask;
	struct sigaction	 oldact[5];
};

/* Signals only flip these; the loop applies them. */
static volatile sig_atomic_t sim_stop;		/* SIGTERM, SIGINT */
static volatile sig_atomic_t sim_usr1;		/* SIGUSR1: silence toggled */
static volatile sig_atomic_t sim_usr2;		/* SIGUSR2: offline toggled */

static const int sim_signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGPIPE };

static int	 sim_err(struct sim_parse *, const struct ynode *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
static void	 sim_say(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/* ---- the description ------------------------------------------------ */

/* Prints "sim: FILE:LINE:COL: message"; returns -1. */
static int
sim_err(struct sim_parse *p, const struct ynode *at, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sim: %s:%u:%u: %s\n", p->file, at->line, at->col, msg);
	return -1;
}

/* The text of a scalar, or NULL after an error. */
static const char *
sim_scalar(struct sim_parse *p, const struct ynode *n, const char *what)
{
	if (n->kind == YN_SCALAR && ynode_is_null(n)) {
		sim_err(p, n, "%s is empty", what);
		return NULL;
	}
	if (n->kind != YN_SCALAR) {
		sim_err(p, n, "%s must be a single value, not %s", what,
		    ynode_kind_name(n));
		return NULL;
	}
	return n->value;
}

static int
sim_int(struct sim_parse *p, const struct ynode *n, const char *what,
    int64_t min, int64_t max, int64_t *out)
{
	const char	*s;

	if ((s = sim_scalar(p, n, what)) == NULL)
		return -1;
	if (cfg_parse_int(s, min, max, out) == -1)
		return sim_err(p, n, "%s must be an integer in %lld..%lld, "
		    "not '%s'", what, (long long)min, (long long)max, s);
	return 0;
}

static int
sim_double(struct sim_parse *p, const struct ynode *n, const char *what,
    double *out)
{
	const char	*s;

	if ((s = sim_scalar(p, n, what)) == NULL)
		return -1;
	if (cfg_parse_double(s, out) == -1)
		return sim_err(p, n, "%s must be a number, not '%s'", what, s);
	return 0;
}

/* A duration above zero, in milliseconds. */
static int
sim_duration(struct sim_parse *p, const struct ynode *n, const char *what,
    uint64_t *ms)
{
	const char	*s;

	if ((s = sim_scalar(p, n, what)) == NULL)
		return -1;
	if (cfg_parse_duration(s, ms) == -1 || *ms == 0)
		return sim_err(p, n, "%s must be a duration above zero such "
		    "as 500ms or 2s, not '%s'", what, s);
	return 0;
}

/* One of names; its index goes to out. */
static int
sim_enum(struct sim_parse *p, const struct ynode *n, const char *what,
    const char *const *names, size_t nnames, int *out)
{
	const char	*s;
	char		 list[160];
	size_t		 len = 0, i;

	if ((s = sim_scalar(p, n, what)) == NULL)
		return -1;
	for (i = 0; i < nnames; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	list[0] = '\0';
	for (i = 0; i < nnames && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i ? ", " : "", names[i]);
	return sim_err(p, n, "unknown %s '%s' (one of %s)", what, s, list);
}

/* Calls the handler of each key of a map; unknown or repeated keys fail. */
static int
sim_walk(struct sim_parse *p, const struct ynode *map, const char *what,
    const struct sim_key *keys, size_t nkeys, void *obj)
{
	const struct ynode	*k;
	const struct sim_key	*key, *near;
	size_t			 i, j, d, best;

	if (map->kind != YN_MAP)
		return sim_err(p, map, "%s must be a map, not %s", what,
		    ynode_kind_name(map));
	for (i = 0; i + 1 < map->n; i += 2) {
		k = map->items[i];
		if (k->kind != YN_SCALAR)
			return sim_err(p, k, "a key of %s must be a scalar", what);
		for (j = 0; j < i; j += 2)
			if (map->items[j]->kind == YN_SCALAR &&
			    strcmp(map->items[j]->value, k->value) == 0)
				return sim_err(p, k, "%s is given twice", k->value);
		key = near = NULL;
		best = 3;
		for (j = 0; j < nkeys && key == NULL; j++) {
			if (strcmp(keys[j].name, k->value) == 0)
				key = &keys[j];
			else if ((d = cfg_edit_distance(keys[j].name,
			    k->value)) < best) {
				best = d;
				near = &keys[j];
			}
		}
		if (key == NULL && near != NULL)
			return sim_err(p, k, "unknown key '%s' in %s (did you "
			    "mean '%s'?)", k->value, what, near->name);
		if (key == NULL)
			return sim_err(p, k, "unknown key '%s' in %s", k->value,
			    what);
		if (key->parse(p, obj, map->items[i + 1]) == -1)
			return -1;
	}
	return 0;
}

static int
sim_table(struct sim_parse *p, const struct ynode *n, enum sim_table *out)
{
	int	 i;

	if (sim_enum(p, n, "table", sim_table_names,
	    FMQ_NELEM(sim_table_names), &i) == -1)
		return -1;
	*out = (enum sim_table)i;
	return 0;
}

static int
sim_reg_table(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;

	return sim_table(p, n, &in->r.table);
}

static int
sim_reg_address(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;
	int64_t			 v;

	if (sim_int(p, n, "address", 0, SIM_TABLE_MAX - 1, &v) == -1)
		return -1;
	in->r.address = (uint16_t)v;
	in->at_address = n;
	return 0;
}

static int
sim_reg_type(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;
	int			 i;

	if (sim_enum(p, n, "type", sim_type_names, FMQ_NELEM(sim_type_names),
	    &i) == -1)
		return -1;
	in->r.fmt.type = (enum drv_type)i;
	in->at_type = n;
	return 0;
}

/* order, or word_order as the configuration calls it. */
static int
sim_reg_order(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;
	int			 i;

	if (in->at_order != NULL)
		return sim_err(p, n, "order and word_order are the same key");
	if (sim_enum(p, n, "order", sim_order_names,
	    FMQ_NELEM(sim_order_names), &i) == -1)
		return -1;
	in->r.fmt.order = (enum drv_order)i;
	in->at_order = n;
	return 0;
}

static int
sim_reg_length(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;

	in->at_length = n;
	return sim_int(p, n, "length", 1, DRV_STRING_MAX / 2, &in->length);
}

/* The value is read once the type is known. */
static int
sim_reg_value(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;

	in->at_value = n;
	return 0;
}

static int
sim_counter_step(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg	*r = obj;

	if (sim_double(p, n, "step", &r->step) == -1)
		return -1;
	if (fabs(r->step) > 0x1p53)
		return sim_err(p, n, "step must be within +-2^53");
	return 0;
}

static int
sim_counter_every(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg	*r = obj;

	return sim_duration(p, n, "every", &r->every_ms);
}

static int
sim_sine_min(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg	*r = obj;

	return sim_double(p, n, "min", &r->min);
}

static int
sim_sine_max(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg	*r = obj;

	return sim_double(p, n, "max", &r->max);
}

static int
sim_sine_period(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg	*r = obj;

	return sim_duration(p, n, "period", &r->period_ms);
}

static const struct sim_key sim_counter_keys[] = {
	{ "step", sim_counter_step },
	{ "every", sim_counter_every },
};

static const struct sim_key sim_sine_keys[] = {
	{ "min", sim_sine_min },
	{ "max", sim_sine_max },
	{ "period", sim_sine_period },
};

/* counter: { step: 1, every: 1s }; the entry's value is where it starts. */
static int
sim_reg_counter(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;

	if (in->at_source != NULL)
		return sim_err(p, n, "counter and sine exclude each other");
	in->at_source = n;
	in->r.source = SIM_COUNTER;
	in->r.step = 1;
	in->r.every_ms = 1000;
	if (ynode_is_null(n))
		return 0;
	return sim_walk(p, n, "counter", sim_counter_keys,
	    FMQ_NELEM(sim_counter_keys), &in->r);
}

/* sine: { min: 0, max: 100, period: 10s } */
static int
sim_reg_sine(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_reg_in	*in = obj;

	if (in->at_source != NULL)
		return sim_err(p, n, "counter and sine exclude each other");
	in->at_source = n;
	in->r.source = SIM_SINE;
	in->r.min = 0;
	in->r.max = 100;
	in->r.period_ms = 10000;
	if (ynode_is_null(n))
		return 0;
	if (sim_walk(p, n, "sine", sim_sine_keys, FMQ_NELEM(sim_sine_keys),
	    &in->r) == -1)
		return -1;
	if (!(in->r.min <= in->r.max))
		return sim_err(p, n, "min (%g) is above max (%g)", in->r.min,
		    in->r.max);
	return 0;
}

static const struct sim_key sim_reg_keys[] = {
	{ "table", sim_reg_table },
	{ "address", sim_reg_address },
	{ "type", sim_reg_type },
	{ "order", sim_reg_order },
	{ "word_order", sim_reg_order },
	{ "length", sim_reg_length },
	{ "value", sim_reg_value },
	{ "counter", sim_reg_counter },
	{ "sine", sim_reg_sine },
};

/* Reads an integer value: int64, a uint64 beyond it, or a number to round. */
static int
sim_parse_integer(const char *s, enum drv_type type, struct drv_value *v)
{
	char	*end;

	if (cfg_parse_int(s, INT64_MIN, INT64_MAX, &v->i) == 0) {
		v->kind = DRV_V_INT;
		return 0;
	}
	if (type == DRV_UINT64 && s[0] >= '1' && s[0] <= '9') {
		errno = 0;
		v->u = strtoull(s, &end, 10);
		if (*end == '\0' && errno == 0) {
			v->kind = DRV_V_UINT;
			return 0;
		}
	}
	if (cfg_parse_double(s, &v->d) == 0) {
		v->kind = DRV_V_DOUBLE;
		return 0;
	}
	return -1;
}

/* The entry's value (a constant or a counter's start) for its type. */
static int
sim_reg_parse_value(struct sim_parse *p, struct sim_reg_in *in)
{
	struct drv_value	*v = &in->r.value;
	enum drv_type		 type = in->r.fmt.type;
	const char		*s;
	int64_t			 i;

	memset(v, 0, sizeof(*v));
	if (type == DRV_STRING)
		v->kind = DRV_V_STRING;
	else if (type == DRV_BOOL)
		v->kind = DRV_V_BOOL;
	else if (sim_types[type].bits == 0)
		v->kind = DRV_V_DOUBLE;
	else
		v->kind = DRV_V_INT;
	if (in->at_value == NULL)
		return 0;
	if (type == DRV_STRING && ynode_is_null(in->at_value))
		return 0;
	if ((s = sim_scalar(p, in->at_value, "value")) == NULL)
		return -1;
	switch (type) {
	case DRV_STRING:
		if (in->at_value->len > DRV_STRING_MAX ||
		    strlen(s) != in->at_value->len)
			return sim_err(p, in->at_value, "a string value has at "
			    "most %d bytes and no NUL", DRV_STRING_MAX);
		memcpy(v->str, s, in->at_value->len + 1);
		return 0;
	case DRV_BOOL:
		if (cfg_parse_bool(s, &v->b) == 0)
			return 0;
		if (cfg_parse_int(s, 0, 1, &i) == 0) {
			v->b = (int)i;
			return 0;
		}
		return sim_err(p, in->at_value, "a bool value is true, false, "
		    "0 or 1, not '%s'", s);
	default:
		if (sim_parse_integer(s, type, v) == 0)
			return 0;
		return sim_err(p, in->at_value, "a %s value must be a number, "
		    "not '%s'", sim_type_names[type], s);
	}
}

/* Encodes what the entry can hold (value; a sine's min and max) to check it. */
static int
sim_reg_check(struct sim_parse *p, struct sim_reg_in *in,
    const struct ynode *entry)
{
	struct drv_value	 v[2];
	const struct ynode	*at;
	uint16_t		 img[DRV_STRING_MAX / 2];
	char			 why[256];
	size_t			 n = 1, i;

	if (in->r.table == SIM_COIL || in->r.table == SIM_DISCRETE)
		return 0;
	v[0] = in->r.value;
	at = in->at_value != NULL ? in->at_value : entry;
	if (in->r.source == SIM_SINE) {
		memset(v, 0, sizeof(v));
		v[0].kind = v[1].kind = DRV_V_DOUBLE;
		v[0].d = in->r.min;
		v[1].d = in->r.max;
		at = in->at_source;
		n = 2;
	}
	for (i = 0; i < n; i++)
		if (drv_encode(&in->r.fmt, &v[i], img, FMQ_NELEM(img), why,
		    sizeof(why)) == -1)
			return sim_err(p, at, "%s", why);
	return 0;
}

/* Checks a register entry once all its keys are in; fills in the rest. */
static int
sim_reg_finish(struct sim_parse *p, struct sim_reg_in *in,
    const struct ynode *entry)
{
	struct sim_reg		*r = &in->r;
	int			 bits;

	bits = r->table == SIM_COIL || r->table == SIM_DISCRETE;
	if (in->at_address == NULL)
		return sim_err(p, entry, "address is missing");
	if (in->at_type == NULL)
		r->fmt.type = bits ? DRV_BOOL : DRV_UINT16;
	else if (bits && r->fmt.type != DRV_BOOL)
		return sim_err(p, in->at_type, "a %s holds a bool, not %s",
		    sim_table_names[r->table], sim_type_names[r->fmt.type]);
	if (r->source != SIM_CONST && !sim_types[r->fmt.type].numeric)
		return sim_err(p, in->at_source, "a %s cannot be a %s",
		    sim_type_names[r->fmt.type], sim_source_names[r->source]);
	if (r->source == SIM_SINE && r->fmt.type == DRV_BOOL)
		return sim_err(p, in->at_source, "a sine needs a numeric type");
	if (r->source == SIM_SINE && in->at_value != NULL)
		return sim_err(p, in->at_value, "a sine takes min and max, "
		    "not a value");
	if (r->source == SIM_COUNTER && sim_types[r->fmt.type].bits != 0 &&
	    r->step != floor(r->step))
		return sim_err(p, in->at_source, "step must be a whole number "
		    "for %s", sim_type_names[r->fmt.type]);
	if (r->fmt.type != DRV_STRING && in->at_length != NULL)
		return sim_err(p, in->at_length, "length is for strings");
	if (in->at_order != NULL && bits)
		return sim_err(p, in->at_order, "a %s has no byte order",
		    sim_table_names[r->table]);
	if (sim_reg_parse_value(p, in) == -1)
		return -1;
	if (r->fmt.type == DRV_STRING) {
		if (in->length == 0)
			in->length = (int64_t)(strlen(r->value.str) + 1) / 2;
		r->fmt.length = in->length > 0 ? (unsigned)in->length : 1;
	}
	r->fmt.bit = -1;
	r->fmt.scale = 1;
	r->fmt.offset = 0;
	r->count = bits ? 1 : drv_registers(&r->fmt);
	if (r->address + r->count > SIM_TABLE_MAX)
		return sim_err(p, in->at_address, "%u registers from %u run "
		    "past 65535", r->count, r->address);
	return sim_reg_check(p, in, entry);
}

static int
sim_parse_reg(struct sim_parse *p, const struct ynode *n, struct sim_reg *out)
{
	struct sim_reg_in	 in;

	memset(&in, 0, sizeof(in));
	in.r.table = SIM_HOLDING;
	in.r.fmt.order = DRV_ABCD;
	if (sim_walk(p, n, "a register", sim_reg_keys,
	    FMQ_NELEM(sim_reg_keys), &in) == -1 ||
	    sim_reg_finish(p, &in, n) == -1)
		return -1;
	*out = in.r;
	return 0;
}

static int
sim_exc_table(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_exc_in	*in = obj;

	return sim_table(p, n, &in->e.table);
}

static int
sim_exc_address(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_exc_in	*in = obj;
	int64_t			 v;

	if (sim_int(p, n, "address", 0, SIM_TABLE_MAX - 1, &v) == -1)
		return -1;
	in->e.address = (uint16_t)v;
	in->at_address = n;
	return 0;
}

static int
sim_exc_count(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_exc_in	*in = obj;
	int64_t			 v;

	if (sim_int(p, n, "count", 1, SIM_TABLE_MAX, &v) == -1)
		return -1;
	in->e.count = (unsigned)v;
	return 0;
}

static int
sim_exc_code(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_exc_in	*in = obj;
	int64_t			 v;

	if (sim_int(p, n, "code", 1, MODBUS_EXCEPTION_MAX - 1, &v) == -1)
		return -1;
	in->e.code = (uint8_t)v;
	in->at_code = n;
	return 0;
}

static const struct sim_key sim_exc_keys[] = {
	{ "table", sim_exc_table },
	{ "address", sim_exc_address },
	{ "count", sim_exc_count },
	{ "code", sim_exc_code },
};

static int
sim_parse_exc(struct sim_parse *p, const struct ynode *n, struct sim_exc *out)
{
	struct sim_exc_in	 in;

	memset(&in, 0, sizeof(in));
	in.e.table = SIM_HOLDING;
	in.e.count = 1;
	if (sim_walk(p, n, "an exception", sim_exc_keys,
	    FMQ_NELEM(sim_exc_keys), &in) == -1)
		return -1;
	if (in.at_address == NULL)
		return sim_err(p, n, "address is missing");
	if (in.at_code == NULL)
		return sim_err(p, n, "code is missing");
	if (in.e.address + in.e.count > SIM_TABLE_MAX)
		return sim_err(p, in.at_address, "%u addresses from %u run "
		    "past 65535", in.e.count, in.e.address);
	*out = in.e;
	return 0;
}

/* A list of entries: NULL after an error, else an array of n (maybe 0). */
static void *
sim_parse_list(struct sim_parse *p, const struct ynode *n, const char *what,
    size_t size, int (*one)(struct sim_parse *, const struct ynode *, void *),
    size_t *count)
{
	unsigned char	*a;

	*count = 0;
	if (ynode_is_null(n))
		return xcalloc(1, size);
	if (n->kind != YN_SEQ) {
		sim_err(p, n, "%s must be a list, not %s", what,
		    ynode_kind_name(n));
		return NULL;
	}
	if (n->n > SIM_MAX_ENTRIES) {
		sim_err(p, n, "%s has more than %d entries", what,
		    SIM_MAX_ENTRIES);
		return NULL;
	}
	a = xcalloc(n->n ? n->n : 1, size);
	for (size_t i = 0; i < n->n; i++) {
		if (one(p, n->items[i], a + i * size) == -1) {
			free(a);
			return NULL;
		}
	}
	*count = n->n;
	return a;
}

static int
sim_one_reg(struct sim_parse *p, const struct ynode *n, void *out)
{
	return sim_parse_reg(p, n, out);
}

static int
sim_one_exc(struct sim_parse *p, const struct ynode *n, void *out)
{
	return sim_parse_exc(p, n, out);
}

static int
sim_desc_registers(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_desc	*d = obj;

	d->regs = sim_parse_list(p, n, "registers", sizeof(*d->regs),
	    sim_one_reg, &d->nregs);
	return d->regs == NULL ? -1 : 0;
}

static int
sim_desc_exceptions(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_desc	*d = obj;

	d->excs = sim_parse_list(p, n, "exceptions", sizeof(*d->excs),
	    sim_one_exc, &d->nexcs);
	return d->excs == NULL ? -1 : 0;
}

static int
sim_unit_add(struct sim_parse *p, struct sim_desc *d, const struct ynode *n)
{
	int64_t	 id;

	if (sim_int(p, n, "unit_id", 1, SIM_MAX_UNITS, &id) == -1)
		return -1;
	for (size_t i = 0; i < d->nunits; i++)
		if (d->units[i] == id)
			return sim_err(p, n, "unit id %lld is given twice",
			    (long long)id);
	d->units[d->nunits++] = (uint8_t)id;
	return 0;
}

/* unit_id: 1, or a list of unit ids. */
static int
sim_desc_units(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_desc	*d = obj;

	if (n->kind != YN_SEQ)
		return sim_unit_add(p, d, n);
	if (n->n == 0)
		return sim_err(p, n, "unit_id needs at least one unit id");
	if (n->n > SIM_MAX_UNITS)
		return sim_err(p, n, "unit_id has more than %d unit ids",
		    SIM_MAX_UNITS);
	for (size_t i = 0; i < n->n; i++)
		if (sim_unit_add(p, d, n->items[i]) == -1)
			return -1;
	return 0;
}

/* size: the addresses of each table (more if the entries need them). */
static int
sim_desc_size(struct sim_parse *p, void *obj, const struct ynode *n)
{
	struct sim_desc	*d = obj;
	int64_t		 v;

	if (sim_int(p, n, "size", 1, SIM_TABLE_MAX, &v) == -1)
		return -1;
	for (int t = 0; t < SIM_NTABLES; t++)
		d->size[t] = (unsigned)v;
	return 0;
}

static const struct sim_key sim_desc_keys[] = {
	{ "unit_id", sim_desc_units },
	{ "size", sim_desc_size },
	{ "registers", sim_desc_registers },
	{ "exceptions", sim_desc_exceptions },
};

static void
sim_desc_free(struct sim_desc *d)
{
	if (d == NULL)
		return;
	free(d->regs);
	free(d->excs);
	free(d);
}

/* Grows each table to hold every entry. */
static void
sim_desc_sizes(struct sim_desc *d)
{
	unsigned	 end;

	for (size_t i = 0; i < d->nregs; i++) {
		end = d->regs[i].address + d->regs[i].count;
		if (end > d->size[d->regs[i].table])
			d->size[d->regs[i].table] = end;
	}
	for (size_t i = 0; i < d->nexcs; i++) {
		end = d->excs[i].address + d->excs[i].count;
		if (end > d->size[d->excs[i].table])
			d->size[d->excs[i].table] = end;
	}
}

/* Parses a description; NULL after printing what is wrong. */
static struct sim_desc *
sim_desc_parse(const char *file, const char *buf, size_t len)
{
	struct sim_parse	 p;
	struct sim_desc		*d;
	struct ydoc		*doc;
	const struct ynode	*root;
	char			 msg[256];
	unsigned		 line, col;
	int			 rc = 0;

	doc = ydoc_parse(buf, len, &line, &col, msg, sizeof(msg));
	if (doc == NULL) {
		fprintf(stderr, "sim: %s:%u:%u: %s\n", file, line, col, msg);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	for (int t = 0; t < SIM_NTABLES; t++)
		d->size[t] = SIM_DEFAULT_SIZE;
	p.file = file;
	p.desc = d;
	root = ydoc_root(doc);
	if (root != NULL && !ynode_is_null(root))
		rc = sim_walk(&p, root, "the description", sim_desc_keys,
		    FMQ_NELEM(sim_desc_keys), d);
	ydoc_free(doc);
	if (rc == -1) {
		sim_desc_free(d);
		return NULL;
	}
	if (d->nunits == 0)
		d->units[d->nunits++] = 1;
	sim_desc_sizes(d);
	return d;
}

/* Reads a whole file; NULL after a message. */
static char *
sim_read_file(const char *path, size_t *len)
{
	char	*buf = NULL;
	size_t	 cap = 0, n = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "sim: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			if (cap > YDOC_MAX_BYTES) {
				fprintf(stderr, "sim: %s: larger than %u bytes\n",
				    path, YDOC_MAX_BYTES);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap + 1);
		}
		if ((r = read(fd, buf + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sim: %s: %s\n", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* The description in path, or the demo device's for NULL. */
static struct sim_desc *
sim_desc_load(const char *path)
{
	struct sim_desc	*d;
	char		*buf;
	size_t		 len;

	if (path == NULL)
		return sim_desc_parse("(demo)", sim_demo, sizeof(sim_demo) - 1);
	if ((buf = sim_read_file(path, &len)) == NULL)
		return NULL;
	d = sim_desc_parse(path, buf, len);
	free(buf);
	return d;
}

/* ---- register images ------------------------------------------------- */

/* Reinterprets a counter's raw sum in the type's width. */
static void
sim_wrap(const struct sim_type *t, uint64_t raw, struct drv_value *v)
{
	uint64_t	 mask;

	mask = t->bits == 64 ? UINT64_MAX : (UINT64_C(1) << t->bits) - 1;
	raw &= mask;
	if (t->bits == 1) {
		v->kind = DRV_V_BOOL;
		v->b = (int)raw;
	} else if (t->is_signed) {
		if (raw >> (t->bits - 1) & 1)
			raw |= ~mask;
		v->kind = DRV_V_INT;
		v->i = (int64_t)raw;
	} else {
		v->kind = DRV_V_UINT;
		v->u = raw;
	}
}

/* A number value as a double. */
static double
sim_value_double(const struct drv_value *v)
{
	switch (v->kind) {
	case DRV_V_BOOL:
		return v->b;
	case DRV_V_INT:
		return (double)v->i;
	case DRV_V_UINT:
		return (double)v->u;
	case DRV_V_DOUBLE:
		return v->d;
	default:
		return 0;
	}
}

/* A number value as a 64-bit image (doubles rounded). */
static uint64_t
sim_value_raw(const struct drv_value *v)
{
	switch (v->kind) {
	case DRV_V_BOOL:
		return (uint64_t)v->b;
	case DRV_V_INT:
		return (uint64_t)v->i;
	case DRV_V_UINT:
		return v->u;
	case DRV_V_DOUBLE:
		return (uint64_t)llround(v->d);
	default:
		return 0;
	}
}

/* What a counter or a sine wave holds ms milliseconds after the start. */
static void
sim_generate(const struct sim_reg *r, uint64_t ms, struct drv_value *v)
{
	const struct sim_type	*t = &sim_types[r->fmt.type];
	uint64_t		 n;
	double			 phase;

	v->kind = DRV_V_DOUBLE;
	if (r->source == SIM_SINE) {
		phase = 2 * M_PI * (double)(ms % r->period_ms) /
		    (double)r->period_ms;
		v->d = r->min + (r->max - r->min) * (1 + sin(phase)) / 2;
		return;
	}
	n = ms / r->every_ms;
	if (t->bits == 0) {
		v->d = sim_value_double(&r->value) + r->step * (double)n;
		return;
	}
	sim_wrap(t, sim_value_raw(&r->value) +
	    (uint64_t)(int64_t)r->step * n, v);
}

/* Writes a value's image into the unit's table. */
static void
sim_store(struct sim_unit *u, const struct sim_reg *r,
    const struct drv_value *v)
{
	uint16_t	 img[DRV_STRING_MAX / 2], *tab;
	char		 why[256];
	int		 n;

	switch (r->table) {
	case SIM_COIL:
		u->map->tab_bits[r->address] = v->b != 0;
		return;
	case SIM_DISCRETE:
		u->map->tab_input_bits[r->address] = v->b != 0;
		return;
	case SIM_INPUT:
		tab = u->map->tab_input_registers;
		break;
	default:
		tab = u->map->tab_registers;
		break;
	}
	if ((n = drv_encode(&r->fmt, v, img, FMQ_NELEM(img), why,
	    sizeof(why))) == -1) {
		log_debug("sim", NULL, "%s %u: %s", sim_table_names[r->table],
		    r->address, why);
		return;
	}
	memcpy(tab + r->address, img, (size_t)n * sizeof(*img));
}

/* One item of a table, for the log. */
static unsigned
sim_peek(const struct sim_unit *u, enum sim_table t, unsigned addr)
{
	switch (t) {
	case SIM_COIL:
		return u->map->tab_bits[addr];
	case SIM_DISCRETE:
		return u->map->tab_input_bits[addr];
	case SIM_INPUT:
		return u->map->tab_input_registers[addr];
	default:
		return u->map->tab_registers[addr];
	}
}

/* Recomputes the unit's counters and sine waves that no write took over. */
static void
sim_update(const struct sim *s, struct sim_unit *u)
{
	struct drv_value	 v;
	uint64_t		 ms = mono_ms() - s->t0;

	for (size_t i = 0; i < s->desc->nregs; i++) {
		if (s->desc->regs[i].source == SIM_CONST || u->taken[i])
			continue;
		sim_generate(&s->desc->regs[i], ms, &v);
		sim_store(u, &s->desc->regs[i], &v);
	}
}

/* One mapping per unit id, filled with the described values. */
static void
sim_units_new(struct sim *s)
{
	const struct sim_desc	*d = s->desc;
	struct sim_unit		*u;

	s->nunits = d->nunits;
	s->units = xcalloc(s->nunits, sizeof(*s->units));
	for (size_t i = 0; i < s->nunits; i++) {
		u = &s->units[i];
		u->id = d->units[i];
		u->map = modbus_mapping_new_start_address(
		    0, d->size[SIM_COIL], 0, d->size[SIM_DISCRETE],
		    0, d->size[SIM_HOLDING], 0, d->size[SIM_INPUT]);
		if (u->map == NULL)
			fatal("sim: cannot allocate registers: %s",
			    modbus_strerror(errno));
		u->taken = xcalloc(d->nregs ? d->nregs : 1, 1);
		for (size_t j = 0; j < d->nregs; j++)
			if (d->regs[j].source == SIM_CONST)
				sim_store(u, &d->regs[j], &d->regs[j].value);
		sim_update(s, u);
	}
}

static void
sim_units_free(struct sim *s)
{
	for (size_t i = 0; i < s->nunits; i++) {
		modbus_mapping_free(s->units[i].map);
		free(s->units[i].taken);
	}
	free(s->units);
	s->units = NULL;
	s->nunits = 0;
}

/* ---- requests --------------------------------------------------------- */

static unsigned
sim_be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The addresses a request touches through f; -1 if the PDU is short. */
static int
sim_fc_range(const struct sim_fc *f, const uint8_t *pdu, size_t len,
    unsigned *addr, unsigned *count)
{
	if (len < (size_t)(f->count_at ? f->count_at : f->addr_at) + 2)
		return -1;
	*addr = sim_be16(pdu + f->addr_at);
	*count = f->count_at ? sim_be16(pdu + f->count_at) : 1;
	return 0;
}

/* The exception code set for addresses the request touches, or 0. */
static int
sim_exception(const struct sim *s, const uint8_t *pdu, size_t len)
{
	const struct sim_fc	*f;
	const struct sim_exc	*e;
	unsigned		 addr, count;

	for (f = sim_fcs; f < sim_fcs + FMQ_NELEM(sim_fcs); f++) {
		if (f->fc != pdu[0] ||
		    sim_fc_range(f, pdu, len, &addr, &count) == -1)
			continue;
		if (count == 0)
			count = 1;
		for (size_t i = 0; i < s->desc->nexcs; i++) {
			e = &s->desc->excs[i];
			if (e->table == f->table && addr < e->address + e->count &&
			    e->address < addr + count)
				return e->code;
		}
	}
	return 0;
}

/* Logs "write holding 200 = 750" with the values now stored. */
static void
sim_log_write(const struct sim *s, const struct sim_unit *u, enum sim_table t,
    unsigned addr, unsigned count)
{
	char		 vals[128], unit[16] = "";
	size_t		 n = 0;

	vals[0] = '\0';
	for (unsigned i = 0; i < count && i < SIM_LOG_VALUES; i++)
		n += (size_t)snprintf(vals + n, sizeof(vals) - n, "%s%u",
		    i ? " " : "", sim_peek(u, t, addr + i));
	if (count > SIM_LOG_VALUES)
		snprintf(vals + n, sizeof(vals) - n, " ...");
	if (s->nunits > 1)
		snprintf(unit, sizeof(unit), "unit %u: ", u->id);
	if (count == 1)
		log_info("sim", NULL, "%swrite %s %u = %s", unit,
		    sim_table_names[t], addr, vals);
	else
		log_info("sim", NULL, "%swrite %s %u..%u = %s", unit,
		    sim_table_names[t], addr, addr + count - 1, vals);
}

/* After a reply: written registers leave their counters; logs the write. */
static void
sim_wrote(const struct sim *s, struct sim_unit *u, const uint8_t *pdu,
    size_t len)
{
	const struct sim_fc	*f;
	const struct sim_reg	*r;
	unsigned		 addr, count, v;

	for (f = sim_fcs; f < sim_fcs + FMQ_NELEM(sim_fcs); f++) {
		if (f->fc != pdu[0] || !f->write ||
		    sim_fc_range(f, pdu, len, &addr, &count) == -1)
			continue;
		if (count == 0 || count > f->max ||
		    addr + count > s->desc->size[f->table])
			continue;
		v = len >= 5 ? sim_be16(pdu + 3) : 0;
		if (f->fc == MODBUS_FC_WRITE_SINGLE_COIL && v != 0 && v != 0xff00)
			continue;
		for (size_t i = 0; i < s->desc->nregs; i++) {
			r = &s->desc->regs[i];
			if (r->table == f->table && addr < r->address + r->count &&
			    r->address < addr + count)
				u->taken[i] = 1;
		}
		sim_log_write(s, u, f->table, addr, count);
	}
}

/* True while requests go unanswered (silent, or offline). */
static int
sim_muted(const struct sim *s)
{
	return (s->opt.silent ^ sim_usr1) || sim_usr2;
}

/* Waits ms milliseconds with the signals let in; -1 when told to stop. */
static int
sim_sleep(const struct sim *s, uint64_t ms)
{
	struct timespec	 ts;
	uint64_t	 now, end = mono_ms() + ms;

	while (!sim_stop && (now = mono_ms()) < end) {
		ts.tv_sec = (time_t)((end - now) / 1000);
		ts.tv_nsec = (long)((end - now) % 1000) * 1000000;
		ppoll(NULL, 0, &ts, &s->waitmask);
	}
	return sim_stop ? -1 : 0;
}

/* The unit a request is for; on TCP, 0 and 255 mean the first. */
static struct sim_unit *
sim_unit_find(const struct sim *s, int id, int rtu)
{
	for (size_t i = 0; i < s->nunits; i++)
		if (s->units[i].id == id)
			return &s->units[i];
	if (!rtu && (id == 0 || id == 255))
		return &s->units[0];
	return NULL;
}

/* An RTU broadcast: writes go to every unit, and nothing is answered. */
static void
sim_broadcast(const struct sim *s, modbus_t *ctx, const uint8_t *req, int len,
    const uint8_t *pdu, size_t pdulen)
{
	const struct sim_fc	*f;

	for (f = sim_fcs; f < sim_fcs + FMQ_NELEM(sim_fcs); f++)
		if (f->fc == pdu[0] && f->write)
			break;
	if (f == sim_fcs + FMQ_NELEM(sim_fcs) || sim_exception(s, pdu, pdulen))
		return;
	for (size_t i = 0; i < s->nunits; i++) {
		/* libmodbus sends nothing back for an RTU broadcast. */
		if (modbus_reply(ctx, req, len, s->units[i].map) != -1)
			sim_wrote(s, &s->units[i], pdu, pdulen);
	}
}

/* Answers one request (the whole ADU) on ctx; -1 if it could not be sent. */
static int
sim_answer(const struct sim *s, modbus_t *ctx, const uint8_t *req, int len,
    int rtu)
{
	const uint8_t	*pdu;
	struct sim_unit	*u;
	size_t		 pdulen;
	int		 off, id, code;

	off = modbus_get_header_length(ctx);
	if (len <= off + (rtu ? 2 : 0))
		return 0;
	id = req[off - 1];
	pdu = req + off;
	pdulen = (size_t)(len - off - (rtu ? 2 : 0));
	log_debug("sim", NULL, "unit %d: function %u, %zu bytes", id, pdu[0],
	    pdulen);
	if (sim_muted(s))
		return 0;
	if (rtu && id == 0) {
		sim_broadcast(s, ctx, req, len, pdu, pdulen);
		return 0;
	}
	if ((u = sim_unit_find(s, id, rtu)) == NULL && rtu)
		return 0;
	if (s->opt.delay_ms > 0 &&
	    (sim_sleep(s, s->opt.delay_ms) == -1 || sim_muted(s)))
		return 0;
	if (u == NULL)
		code = MODBUS_EXCEPTION_GATEWAY_TARGET;
	else
		code = sim_exception(s, pdu, pdulen);
	if (code != 0)
		return modbus_reply_exception(ctx, req, (unsigned)code) == -1 ?
		    -1 : 0;
	sim_update(s, u);
	if (modbus_reply(ctx, req, len, u->map) == -1)
		return -1;
	sim_wrote(s, u, pdu, pdulen);
	return 0;
}

/* A line on stdout, flushed at once: the tests wait for these. */
static void
sim_say(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---- TCP ---------------------------------------------------------------- */

/* Splits HOST:PORT ([V6]:PORT; :PORT for every address) into s. */
static int
sim_parse_tcp(struct sim *s, const char *arg)
{
	const char	*colon = strrchr(arg, ':');
	size_t		 hlen;
	int64_t		 port;

	if (colon == NULL || cfg_parse_int(colon + 1, 0, 65535, &port) == -1)
		return -1;
	hlen = (size_t)(colon - arg);
	if (hlen >= 2 && arg[0] == '[' && arg[hlen - 1] == ']') {
		arg++;
		hlen -= 2;
	}
	if (hlen >= sizeof(s->host))
		return -1;
	memcpy(s->host, arg, hlen);
	s->host[hlen] = '\0';
	snprintf(s->port, sizeof(s->port), "%lld", (long long)port);
	return 0;
}

/* Opens the listening socket and says so; -1 with the reason in err. */
static int
sim_listen(struct sim *s, char *err, size_t errsz)
{
	struct addrinfo		 hints, *res, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 port[NI_MAXSERV];
	int			 fd = -1, e = 0, r, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((r = getaddrinfo(s->host[0] ? s->host : NULL, s->port, &hints,
	    &res)) != 0) {
		snprintf(err, errsz, "cannot listen on %s:%s: %s", s->host,
		    s->port, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SIM_MAX_CLIENTS) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errsz, "cannot listen on %s:%s: %s", s->host,
		    s->port, strerror(e));
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, port,
	    sizeof(port), NI_NUMERICSERV) != 0)
		snprintf(port, sizeof(port), "%s", s->port);
	s->lfd = fd;
	if (strchr(s->host, ':') != NULL)
		sim_say("sim: listening on [%s]:%s", s->host, port);
	else
		sim_say("sim: listening on %s:%s", s->host[0] ? s->host : "*",
		    port);
	return 0;
}

/* Accepts the waiting connections (beyond SIM_MAX_CLIENTS: closed). */
static void
sim_accept(struct sim *s)
{
	struct sockaddr_storage	 ss;
	struct sim_client	*c;
	struct timeval		 tv = { SIM_SEND_TIMEOUT_S, 0 };
	socklen_t		 sl;
	char			 host[64], serv[8];
	int			 fd, one = 1;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("sim", NULL, "accept: %s",
				    strerror(errno));
			return;
		}
		if (s->nclients == SIM_MAX_CLIENTS) {
			log_warn("sim", NULL, "more than %d clients: one refused",
			    SIM_MAX_CLIENTS);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		c = &s->clients[s->nclients++];
		c->fd = fd;
		c->requests = 0;
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host),
		    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(c->peer, sizeof(c->peer), "client %d", fd);
		else
			snprintf(c->peer, sizeof(c->peer), "%s:%s", host, serv);
		log_info("sim", NULL, "%s: connected", c->peer);
	}
}

/* Serves one readable client; -1 when it is to be closed. */
static int
sim_client_serve(struct sim *s, struct sim_client *c)
{
	uint8_t	 req[MODBUS_TCP_MAX_ADU_LENGTH];
	int	 len;

	memset(req, 0, sizeof(req));
	modbus_set_socket(s->tcp, c->fd);
	if ((len = modbus_receive(s->tcp, req)) == -1) {
		if (errno == ECONNRESET)
			log_info("sim", NULL, "%s: closed by the client", c->peer);
		else
			log_info("sim", NULL, "%s: %s", c->peer,
			    modbus_strerror(errno));
		return -1;
	}
	if (len == 0)
		return 0;
	c->requests++;
	if (sim_answer(s, s->tcp, req, len, 0) == -1) {
		log_info("sim", NULL, "%s: cannot answer: %s", c->peer,
		    modbus_strerror(errno));
		return -1;
	}
	if (s->opt.drop_after > 0 && c->requests >= s->opt.drop_after) {
		log_info("sim", NULL, "%s: dropped after %u requests", c->peer,
		    c->requests);
		return -1;
	}
	return 0;
}

/* Closes the clients marked with fd -1 out of the array. */
static void
sim_clients_compact(struct sim *s)
{
	size_t	 j = 0;

	for (size_t i = 0; i < s->nclients; i++)
		if (s->clients[i].fd != -1)
			s->clients[j++] = s->clients[i];
	s->nclients = j;
}

static void
sim_clients_drop(struct sim *s)
{
	for (size_t i = 0; i < s->nclients; i++)
		close(s->clients[i].fd);
	if (s->nclients > 0)
		log_info("sim", NULL, "%zu connection%s dropped", s->nclients,
		    s->nclients == 1 ? "" : "s");
	s->nclients = 0;
}

/* ---- RTU ---------------------------------------------------------------- */

/* Parses DEVICE[:BAUD[:PARITY:DATA:STOP]] into s (default 9600:N:8:1). */
static int
sim_parse_rtu(struct sim *s, const char *arg)
{
	char		 buf[sizeof(s->rtu_dev) + 64], *f[6], *p;
	size_t		 n = 0;
	int64_t		 v;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	memcpy(buf, arg, strlen(arg) + 1);
	for (p = buf; n < FMQ_NELEM(f) && p != NULL; n++)
		f[n] = strsep(&p, ":");
	if (p != NULL || (n != 1 && n != 2 && n != 5) || f[0][0] == '\0' ||
	    strlen(f[0]) >= sizeof(s->rtu_dev))
		return -1;
	memcpy(s->rtu_dev, f[0], strlen(f[0]) + 1);
	s->baud = 9600;
	s->parity = 'N';
	s->data_bits = 8;
	s->stop_bits = 1;
	if (n >= 2) {
		if (cfg_parse_int(f[1], 50, 4000000, &v) == -1)
			return -1;
		s->baud = (int)v;
	}
	if (n == 5) {
		if (strcasecmp(f[2], "none") == 0 || strcasecmp(f[2], "N") == 0)
			s->parity = 'N';
		else if (strcasecmp(f[2], "even") == 0 ||
		    strcasecmp(f[2], "E") == 0)
			s->parity = 'E';
		else if (strcasecmp(f[2], "odd") == 0 ||
		    strcasecmp(f[2], "O") == 0)
			s->parity = 'O';
		else
			return -1;
		if (cfg_parse_int(f[3], 5, 8, &v) == -1)
			return -1;
		s->data_bits = (int)v;
		if (cfg_parse_int(f[4], 1, 2, &v) == -1)
			return -1;
		s->stop_bits = (int)v;
	}
	return 0;
}

/* Opens the serial line; -1 after a message. */
static int
sim_rtu_open(struct sim *s)
{
	s->rtu = modbus_new_rtu(s->rtu_dev, s->baud, s->parity, s->data_bits,
	    s->stop_bits);
	if (s->rtu == NULL) {
		fprintf(stderr, "sim: %s: %s\n", s->rtu_dev,
		    modbus_strerror(errno));
		return -1;
	}
	modbus_set_slave(s->rtu, s->units[0].id);
	if (modbus_connect(s->rtu) == -1) {
		fprintf(stderr, "sim: cannot open %s: %s\n", s->rtu_dev,
		    modbus_strerror(errno));
		return -1;
	}
	s->rtu_fd = modbus_get_socket(s->rtu);
	sim_say("sim: serving rtu on %s", s->rtu_dev);
	return 0;
}

/* The Modbus CRC of n bytes. */
static uint16_t
sim_crc16(const uint8_t *p, size_t n)
{
	uint16_t	 crc = 0xffff;

	while (n-- > 0) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc & 1) ? (uint16_t)(crc >> 1 ^ 0xa001) : crc >> 1;
	}
	return crc;
}

/*
 * The length of the request frame that starts with the have bytes at buf
 * (at least 2): more than have while the bytes that tell are missing.
 */
static size_t
sim_rtu_length(const uint8_t *buf, size_t have)
{
	const struct sim_rtu_fc	*f;
	size_t			 len = 4;	/* unit, function, CRC */

	for (f = sim_rtu_fcs; f < sim_rtu_fcs + FMQ_NELEM(sim_rtu_fcs); f++) {
		if (f->fc != buf[1])
			continue;
		len += f->meta;
		if (f->counted) {
			if (have < 2 + (size_t)f->meta)
				return 2 + (size_t)f->meta;
			len += buf[1 + f->meta];
		}
		break;
	}
	return len;
}

/* Discards input until the line has been quiet for a frame gap. */
static void
sim_rtu_drain(const struct sim *s)
{
	struct pollfd	 pfd = { s->rtu_fd, POLLIN, 0 };
	uint8_t		 junk[256];
	uint64_t	 end = mono_ms() + SIM_RTU_DRAIN_MS;

	while (mono_ms() < end && poll(&pfd, 1, SIM_RTU_GAP_MS) > 0 &&
	    (pfd.revents & POLLIN))
		if (read(s->rtu_fd, junk, sizeof(junk)) <= 0)
			break;
	tcflush(s->rtu_fd, TCIFLUSH);
}

/*
 * Reads one request frame: its length, 0 if none came whole (partial
 * frames and garbage are dropped), or -1 if the line is gone.
 */
static int
sim_rtu_read(const struct sim *s, uint8_t *buf, size_t size)
{
	struct pollfd	 pfd = { s->rtu_fd, POLLIN, 0 };
	size_t		 have = 0, want = 2;
	ssize_t		 n;
	int		 r;

	for (;;) {
		while (have < want) {
			if ((r = poll(&pfd, 1, SIM_RTU_GAP_MS)) == -1) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (r == 0) {
				log_debug("sim", NULL, "%s: %zu bytes of a frame "
				    "dropped", s->rtu_dev, have);
				return 0;
			}
			if (!(pfd.revents & POLLIN))
				return -1;
			n = read(s->rtu_fd, buf + have, want - have);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				return -1;
			have += (size_t)n;
		}
		if ((want = sim_rtu_length(buf, have)) == have)
			break;
		if (want > size) {
			log_debug("sim", NULL, "%s: garbage dropped", s->rtu_dev);
			sim_rtu_drain(s);
			return 0;
		}
	}
	if (sim_crc16(buf, have - 2) !=
	    (buf[have - 2] | (unsigned)buf[have - 1] << 8)) {
		log_debug("sim", NULL, "%s: frame with a bad CRC dropped",
		    s->rtu_dev);
		sim_rtu_drain(s);
		return 0;
	}
	return (int)have;
}

/* Serves what came on the serial line; -1 if the line is gone. */
static int
sim_rtu_serve(struct sim *s)
{
	uint8_t	 req[2 * SIM_RTU_FRAME_MAX];
	int	 len;

	memset(req, 0, sizeof(req));
	if ((len = sim_rtu_read(s, req, SIM_RTU_FRAME_MAX)) <= 0)
		return len;
	if (sim_answer(s, s->rtu, req, len, 1) == -1)
		log_warn("sim", NULL, "%s: cannot answer: %s", s->rtu_dev,
		    modbus_strerror(errno));
	return 0;
}

/* ---- the loop ------------------------------------------------------------ */

static void
sim_signal(int sig)
{
	switch (sig) {
	case SIGUSR1:
		sim_usr1 = !sim_usr1;
		break;
	case SIGUSR2:
		sim_usr2 = !sim_usr2;
		break;
	default:
		sim_stop = 1;
		break;
	}
}

/*
 * Installs the handlers and blocks the signals: they are let in only
 * while the loop waits (ppoll), so none is lost between a check and the
 * wait.
 */
static void
sim_signals_set(struct sim *s)
{
	struct sigaction	 sa;
	sigset_t		 set;

	sim_stop = sim_usr1 = sim_usr2 = 0;
	sigemptyset(&set);
	for (size_t i = 0; i < FMQ_NELEM(sim_signals); i++)
		sigaddset(&set, sim_signals[i]);
	sigprocmask(SIG_BLOCK, &set, &s->oldmask);
	s->waitmask = s->oldmask;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < FMQ_NELEM(sim_signals); i++) {
		sa.sa_handler = sim_signals[i] == SIGPIPE ? SIG_IGN : sim_signal;
		sigaction(sim_signals[i], &sa, &s->oldact[i]);
		sigdelset(&s->waitmask, sim_signals[i]);
	}
}

static void
sim_signals_restore(struct sim *s)
{
	for (size_t i = 0; i < FMQ_NELEM(sim_signals); i++)
		sigaction(sim_signals[i], &s->oldact[i], NULL);
	sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
}

/* Applies what the signals asked for: silence, offline, the listener. */
static void
sim_apply(struct sim *s)
{
	char	 err[512];
	int	 silent = s->opt.silent ^ sim_usr1, back = 0;

	if (silent != s->silent) {
		s->silent = silent;
		sim_say("sim: %s", silent ? "silent" : "answering");
	}
	if (sim_usr2 && !s->offline) {
		s->offline = 1;
		sim_clients_drop(s);
		if (s->lfd != -1)
			close(s->lfd);
		s->lfd = -1;
		sim_say("sim: offline");
	} else if (!sim_usr2 && s->offline) {
		s->offline = 0;
		s->retry_at = 0;
		back = 1;
	}
	if (!s->offline && s->opt.tcp != NULL && s->lfd == -1 &&
	    mono_ms() >= s->retry_at) {
		if (sim_listen(s, err, sizeof(err)) == -1) {
			if (!s->retrying)
				log_warn("sim", NULL, "%s (retrying)", err);
			s->retrying = 1;
			s->retry_at = mono_ms() + SIM_RETRY_MS;
		} else
			s->retrying = 0;
	}
	if (back)
		sim_say("sim: online");
}

/* Polls the listener, the serial line and the clients until told to stop. */
static int
sim_loop(struct sim *s)
{
	struct pollfd	 pfd[2 + SIM_MAX_CLIENTS];
	struct timespec	 ts, *tsp;
	size_t		 n, first, nc;
	uint64_t	 now;
	int		 lidx, ridx;

	while (!sim_stop) {
		sim_apply(s);
		n = 0;
		lidx = ridx = -1;
		if (s->lfd != -1) {
			lidx = (int)n;
			pfd[n++] = (struct pollfd){ s->lfd, POLLIN, 0 };
		}
		if (s->rtu_fd != -1) {
			ridx = (int)n;
			pfd[n++] = (struct pollfd){ s->rtu_fd, POLLIN, 0 };
		}
		first = n;
		nc = s->nclients;
		for (size_t i = 0; i < nc; i++)
			pfd[n++] = (struct pollfd){ s->clients[i].fd, POLLIN };
		tsp = NULL;
		if (s->opt.tcp != NULL && !s->offline && s->lfd == -1) {
			now = mono_ms();
			now = s->retry_at > now ? s->retry_at - now : 0;
			ts.tv_sec = (time_t)(now / 1000);
			ts.tv_nsec = (long)(now % 1000) * 1000000;
			tsp = &ts;
		}
		if (ppoll(pfd, n, tsp, &s->waitmask) == -1) {
			if (errno == EINTR)
				continue;
			log_error("sim", NULL, "poll: %s", strerror(errno));
			return 1;
		}
		for (size_t i = 0; i < nc && !sim_stop; i++) {
			if (pfd[first + i].revents == 0)
				continue;
			if (sim_client_serve(s, &s->clients[i]) == -1) {
				close(s->clients[i].fd);
				s->clients[i].fd = -1;
			}
		}
		sim_clients_compact(s);
		if (ridx != -1 && pfd[ridx].revents != 0 && !sim_stop &&
		    sim_rtu_serve(s) == -1) {
			log_error("sim", NULL, "%s: the line is gone", s->rtu_dev);
			return 1;
		}
		if (lidx != -1 && pfd[lidx].revents != 0 && s->lfd != -1)
			sim_accept(s);
	}
	return 0;
}

/* Opens the listener and the serial line; -1 after a message. */
static int
sim_open(struct sim *s)
{
	char	 err[512];

	if (s->opt.tcp != NULL) {
		/* Only the backend: the sockets are ours. */
		s->tcp = modbus_new_tcp("0.0.0.0", MODBUS_TCP_DEFAULT_PORT);
		if (s->tcp == NULL)
			fatal("sim: %s", modbus_strerror(errno));
		if (sim_listen(s, err, sizeof(err)) == -1) {
			fprintf(stderr, "sim: %s\n", err);
			return -1;
		}
	}
	if (s->opt.rtu != NULL && sim_rtu_open(s) == -1)
		return -1;
	return 0;
}

static void
sim_close(struct sim *s)
{
	sim_clients_drop(s);
	if (s->lfd != -1)
		close(s->lfd);
	s->lfd = -1;
	if (s->tcp != NULL)
		modbus_free(s->tcp);
	if (s->rtu != NULL) {
		modbus_close(s->rtu);
		modbus_free(s->rtu);
	}
	s->tcp = s->rtu = NULL;
	s->rtu_fd = -1;
}

/* ---- options ------------------------------------------------------------- */

void
sim_help(FILE *f)
{
	fprintf(f,
	    "usage: fieldmq sim [-t HOST:PORT] [-r DEVICE[:BAUD[:PARITY:DATA:STOP]]]\n"
	    "                   [-f DESCRIPTION.yaml] [--delay MS] [--silent]\n"
	    "                   [--drop-after N] [-v]\n"
	    "Serves Modbus registers over TCP (default " SIM_DEFAULT_TCP ") or RTU\n"
	    "from a description, for the demo and the tests.\n"
	    "\n"
	    "  -t, --tcp HOST:PORT   listen for Modbus TCP (:PORT: every address)\n"
	    "  -r, --rtu DEVICE[:BAUD[:PARITY:DATA:STOP]]\n"
	    "                        serve Modbus RTU on a serial device (9600:N:8:1)\n"
	    "  -f, --file FILE       the description (default: the demo device)\n"
	    "  --delay MS            wait before each answer (also 500ms, 2s)\n"
	    "  --silent              read requests, never answer\n"
	    "  --drop-after N        close a TCP connection after its Nth request\n"
	    "  -v, --verbose         log connections and writes; twice: requests\n"
	    "\n"
	    "SIGUSR1 toggles silence. SIGUSR2 drops every connection and closes the\n"
	    "listener; the next SIGUSR2 opens it again. SIGTERM or SIGINT: exit 0.\n"
	    "\n"
	    "Description (YAML; addresses are 0-based, as on the wire):\n"
	    "  unit_id: 1                 # or [1, 2, 3]\n"
	    "  size: 10000                # addresses per table (default)\n"
	    "  registers:\n"
	    "    - { table: holding, address: 100, type: float32, order: CDAB, value: 21.5 }\n"
	    "    - { table: holding, address: 0, type: uint16, counter: { step: 1, every: 1s } }\n"
	    "    - { table: input, address: 10, type: int16, sine: { min: 0, max: 100, period: 10s } }\n"
	    "    - { table: holding, address: 300, type: string, length: 8, value: METER-01 }\n"
	    "    - { table: coil, address: 0, value: true }\n"
	    "  exceptions:\n"
	    "    - { table: holding, address: 500, count: 1, code: 2 }\n"
	    "Tables: coil, discrete, input, holding. Types: bool, int16, uint16,\n"
	    "int32, uint32, int64, uint64, float32, float64, string. Orders: ABCD,\n"
	    "BADC, CDAB, DCBA.\n");
}

enum { SIM_OPT_DELAY = 256, SIM_OPT_SILENT, SIM_OPT_DROP_AFTER };

static const struct option sim_longopts[] = {
	{ "tcp", required_argument, NULL, 't' },
	{ "rtu", required_argument, NULL, 'r' },
	{ "file", required_argument, NULL, 'f' },
	{ "delay", required_argument, NULL, SIM_OPT_DELAY },
	{ "silent", no_argument, NULL, SIM_OPT_SILENT },
	{ "drop-after", required_argument, NULL, SIM_OPT_DROP_AFTER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Reads the options into s: 0, 1 after --help, or -1 after a message. */
static int
sim_options(struct sim *s, int argc, char **argv)
{
	int64_t	 v;
	int	 c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "t:r:f:vh", sim_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 't':
			s->opt.tcp = optarg;
			if (sim_parse_tcp(s, optarg) == -1) {
				fprintf(stderr, "sim: -t wants HOST:PORT, not "
				    "'%s'\n", optarg);
				return -1;
			}
			break;
		case 'r':
			s->opt.rtu = optarg;
			if (sim_parse_rtu(s, optarg) == -1) {
				fprintf(stderr, "sim: -r wants DEVICE[:BAUD"
				    "[:PARITY:DATA:STOP]], not '%s'\n", optarg);
				return -1;
			}
			break;
		case 'f':
			s->opt.file = optarg;
			break;
		case SIM_OPT_DELAY:
			if (cfg_parse_int(optarg, 0, 3600000, &v) == 0)
				s->opt.delay_ms = (uint64_t)v;
			else if (cfg_parse_duration(optarg, &s->opt.delay_ms)
			    == -1 || s->opt.delay_ms > 3600000) {
				fprintf(stderr, "sim: --delay wants milliseconds "
				    "(at most an hour), not '%s'\n", optarg);
				return -1;
			}
			break;
		case SIM_OPT_SILENT:
			s->opt.silent = 1;
			break;
		case SIM_OPT_DROP_AFTER:
			if (cfg_parse_int(optarg, 1, UINT32_MAX, &v) == -1) {
				fprintf(stderr, "sim: --drop-after wants a count "
				    "of requests, not '%s'\n", optarg);
				return -1;
			}
			s->opt.drop_after = (uint64_t)v;
			break;
		case 'v':
			s->opt.verbose++;
			break;
		case 'h':
			sim_help(stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sim: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (s->opt.tcp == NULL && s->opt.rtu == NULL) {
		s->opt.tcp = SIM_DEFAULT_TCP;
		sim_parse_tcp(s, s->opt.tcp);
	}
	return 0;
}

int
sim_main(int argc, char **argv)
{
	struct sim	 s;
	int		 rc;

	memset(&s, 0, sizeof(s));
	s.lfd = s.rtu_fd = -1;
	if ((rc = sim_options(&s, argc, argv)) != 0) {
		if (rc == -1)
			fprintf(stderr, "'fieldmq sim --help' describes the "
			    "options.\n");
		return rc == 1 ? 0 : 2;
	}
	log_set_level(s.opt.verbose >= 2 ? LOGL_DEBUG :
	    s.opt.verbose == 1 ? LOGL_INFO : LOGL_WARN);
	if ((s.desc = sim_desc_load(s.opt.file)) == NULL)
		return 1;
	s.t0 = mono_ms();
	sim_units_new(&s);
	s.silent = s.opt.silent;
	sim_signals_set(&s);
	rc = sim_open(&s) == 0 ? sim_loop(&s) : 1;
	sim_close(&s);
	sim_signals_restore(&s);
	sim_units_free(&s);
	sim_desc_free(s.desc);
	return rc;
}
