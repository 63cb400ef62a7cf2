/* The libmodbus backend: contexts, requests, and libmodbus's errors. */
#include "config.h"

#include <errno.h>
#include <modbus.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "drivers/modbus.h"
#include "util.h"

struct mb {
	modbus_t	*ctx;
	int		 serial;
	int		 connected;
	uint64_t	 timeout_ms;
	char		*host;		/* TCP */
	char		 name[160];
};

/* Modbus exception names, by code. */
static const char *const exception_names[] = {
	[1] = "illegal function", [2] = "illegal data address",
	[3] = "illegal data value", [4] = "server device failure",
	[5] = "acknowledge", [6] = "server device busy",
	[8] = "memory parity error", [10] = "gateway path unavailable",
	[11] = "gateway target device failed to respond",
};

/* Translates errno after a failed libmodbus call (thread-safe). */
static void
translate(const struct mb *m, int e, struct mb_result *r)
{
	char buf[96];

	r->exception = 0;
	if (e > MODBUS_ENOBASE && e < MODBUS_ENOBASE + 12) {
		int code = e - MODBUS_ENOBASE;

		r->err = MB_EXCEPTION;
		r->exception = code;
		snprintf(r->text, sizeof(r->text), "exception %d (%s)", code,
		    (size_t)code < FMQ_NELEM(exception_names) &&
		    exception_names[code] ? exception_names[code] : "unknown");
		return;
	}
	switch (e) {
	case ETIMEDOUT:
		r->err = MB_TIMEOUT;
		snprintf(r->text, sizeof(r->text), "timed out after %llu ms",
		    (unsigned long long)m->timeout_ms);
		return;
	case EMBBADCRC:
		r->err = MB_CRC;
		snprintf(r->text, sizeof(r->text), "bad CRC in the answer");
		return;
	case EMBBADDATA:
	case EMBBADEXC:
	case EMBMDATA:
	case EMBBADSLAVE:
		r->err = MB_OTHER;
		snprintf(r->text, sizeof(r->text), "invalid answer (%s)",
		    e == EMBBADSLAVE ? "wrong unit id" : e == EMBMDATA ?
		    "too many data" : "bad data");
		return;
	}
	r->err = MB_CONN;
	snprintf(r->text, sizeof(r->text), "%s", strerror_r(e, buf, sizeof(buf)));
}

struct mb *
mb_new(const struct cfg_device *d, char *err, size_t errsz)
{
	static const char parity[] = { 'N', 'E', 'O' };
	struct mb	*m = xcalloc(1, sizeof(*m));
	char		 port[16];

	m->timeout_ms = d->timeout_ms;
	if (d->driver == CFG_DRIVER_MODBUS_TCP) {
		snprintf(port, sizeof(port), "%lld", (long long)d->port);
		m->ctx = modbus_new_tcp_pi(d->host, port);
		m->host = xstrdup(d->host);
		snprintf(m->name, sizeof(m->name), "tcp %s:%s", d->host, port);
	} else {
		m->serial = 1;
		m->ctx = modbus_new_rtu(d->serial, (int)d->baud, parity[d->parity],
		    (int)d->data_bits, (int)d->stop_bits);
		snprintf(m->name, sizeof(m->name), "rtu %s", d->serial);
	}
	if (m->ctx == NULL) {
		snprintf(err, errsz, "%s: cannot create a Modbus context: %s",
		    m->name, strerror_r(errno, (char[96]){ 0 }, 96));
		free(m);
		return NULL;
	}
	modbus_set_response_timeout(m->ctx, (uint32_t)(d->timeout_ms / 1000),
	    (uint32_t)(d->timeout_ms % 1000) * 1000);
	modbus_set_error_recovery(m->ctx, MODBUS_ERROR_RECOVERY_NONE);
	if (m->serial && d->rs485)
		modbus_rtu_set_serial_mode(m->ctx, MODBUS_RTU_RS485);
	return m;
}

void
mb_free(struct mb *m)
{
	if (m == NULL)
		return;
	mb_disconnect(m);
	modbus_free(m->ctx);
	free(m->host);
	free(m);
}

const char *
mb_name(const struct mb *m)
{
	return m->name;
}

int
mb_is_serial(const struct mb *m)
{
	return m->serial;
}

int
mb_connected(const struct mb *m)
{
	return m->connected;
}

int
mb_connect(struct mb *m, struct mb_result *r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int e;

	if (m->connected)
		return 0;
	/* libmodbus reports a failed lookup as "connection refused": ask first. */
	if (m->host != NULL &&
	    (e = getaddrinfo(m->host, NULL, &hints, &res)) != 0) {
		r->err = MB_CONN;
		snprintf(r->text, sizeof(r->text), "cannot resolve %s: %s", m->host,
		    gai_strerror(e));
		return -1;
	}
	if (m->host != NULL)
		freeaddrinfo(res);
	if (modbus_connect(m->ctx) == -1) {
		translate(m, errno, r);
		r->err = MB_CONN;
		return -1;
	}
	m->connected = 1;
	r->err = MB_OK;
	return 0;
}

void
mb_disconnect(struct mb *m)
{
	if (m->connected)
		modbus_close(m->ctx);
	m->connected = 0;
}

/* After a failed request: translate, and drop a broken connection. */
static int
failed(struct mb *m, struct mb_result *r)
{
	translate(m, errno, r);
	if (r->err == MB_CONN || (r->err == MB_TIMEOUT && !m->serial))
		mb_disconnect(m);
	else if (r->err == MB_TIMEOUT || r->err == MB_CRC)
		modbus_flush(m->ctx);
	return -1;
}

int
mb_read(struct mb *m, int unit, enum plan_table t, uint16_t addr,
    uint16_t count, uint16_t *regs, uint8_t *bits, struct mb_result *r)
{
	int n = -1;

	modbus_set_slave(m->ctx, unit);
	switch (t) {
	case PLAN_COIL:
		n = modbus_read_bits(m->ctx, addr, count, bits);
		break;
	case PLAN_DISCRETE:
		n = modbus_read_input_bits(m->ctx, addr, count, bits);
		break;
	case PLAN_INPUT:
		n = modbus_read_input_registers(m->ctx, addr, count, regs);
		break;
	case PLAN_HOLDING:
		n = modbus_read_registers(m->ctx, addr, count, regs);
		break;
	}
	if (n != count)
		return failed(m, r);
	r->err = MB_OK;
	return 0;
}

int
mb_write_regs(struct mb *m, int unit, uint16_t addr, uint16_t count,
    const uint16_t *regs, struct mb_result *r)
{
	int n;

	modbus_set_slave(m->ctx, unit);
	n = count == 1 ? modbus_write_register(m->ctx, addr, regs[0]) :
	    modbus_write_registers(m->ctx, addr, count, regs);
	if (n == -1)
		return failed(m, r);
	r->err = MB_OK;
	return 0;
}

int
mb_write_bits(struct mb *m, int unit, uint16_t addr, uint16_t count,
    const uint8_t *bits, struct mb_result *r)
{
	int n;

	modbus_set_slave(m->ctx, unit);
	n = count == 1 ? modbus_write_bit(m->ctx, addr, bits[0]) :
	    modbus_write_bits(m->ctx, addr, count, bits);
	if (n == -1)
		return failed(m, r);
	r->err = MB_OK;
	return 0;
}
