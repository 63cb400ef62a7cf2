/*
 * The libmodbus backend of a line: a TCP connection or a serial port,
 * with libmodbus's errors translated here and nowhere else. One handle
 * per line thread (a modbus_t is not thread-safe).
 */
#ifndef FMQ_DRIVERS_MODBUS_H
#define FMQ_DRIVERS_MODBUS_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/plan.h"

struct cfg_device;
struct mb;

/* What went wrong with a request, for state changes and counters. */
enum mb_err {
	MB_OK,
	MB_TIMEOUT,	/* no answer in time */
	MB_CONN,	/* refused, reset, port gone: reconnect */
	MB_EXCEPTION,	/* the device answered with a Modbus exception */
	MB_CRC,		/* a corrupted answer */
	MB_OTHER,
};

struct mb_result {
	enum mb_err	 err;
	int		 exception;	/* MB_EXCEPTION: the code (2: illegal data address) */
	char		 text[128];	/* "timed out after 500 ms", "exception 2 (illegal data address)" */
};

/* A handle for the line that dev (its first device) opens; no I/O yet. */
struct mb	*mb_new(const struct cfg_device *dev, char *err, size_t errsz);
void		 mb_free(struct mb *);
/* "tcp 10.0.0.5:502" or "rtu /dev/ttyUSB0". */
const char	*mb_name(const struct mb *);
int		 mb_is_serial(const struct mb *);
/* Connects (TCP: DNS and connect happen here, on the line thread). */
int		 mb_connect(struct mb *, struct mb_result *);
void		 mb_disconnect(struct mb *);
int		 mb_connected(const struct mb *);
/* Reads count registers (regs) or bits (bits, one byte each). */
int		 mb_read(struct mb *, int unit, enum plan_table, uint16_t addr,
		    uint16_t count, uint16_t *regs, uint8_t *bits, struct mb_result *);
/* Writes registers (FC 06 for one, 16 for several) or coils (FC 05 / 15). */
int		 mb_write_regs(struct mb *, int unit, uint16_t addr, uint16_t count,
		    const uint16_t *regs, struct mb_result *);
int		 mb_write_bits(struct mb *, int unit, uint16_t addr, uint16_t count,
		    const uint8_t *bits, struct mb_result *);

#endif
