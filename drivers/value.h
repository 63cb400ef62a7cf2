/*
 * Field values and their register images: decoding Modbus registers into
 * typed values and encoding values back, with one model of byte and word
 * order used by reads and writes alike, and scale/offset. Pure functions,
 * no I/O: any thread.
 *
 * Order names the bytes of the value, most significant first, as they
 * appear in register order. For a 32-bit value with bytes A B C D:
 *   ABCD  reg0 = A B, reg1 = C D      (big endian, Modbus's own)
 *   CDAB  reg0 = C D, reg1 = A B      (words swapped)
 *   BADC  reg0 = B A, reg1 = D C      (bytes swapped in each word)
 *   DCBA  reg0 = D C, reg1 = B A      (little endian)
 * 64-bit values extend the same patterns to four registers (ABCD: A..H
 * big endian; CDAB: the four words in reverse order, each big endian;
 * BADC: word order kept, bytes swapped in each; DCBA: little endian).
 * 16-bit values use only the byte part (BADC and DCBA swap the bytes).
 * Strings: two characters per register, first character in the high byte
 * (ABCD/CDAB) or the low byte (BADC/DCBA); NULs and trailing spaces are cut.
 */
#ifndef FMQ_DRIVERS_VALUE_H
#define FMQ_DRIVERS_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* Same numbering as the configuration's CFG_TYPE_* and CFG_ORDER_*. */
enum drv_type {
	DRV_BOOL, DRV_INT16, DRV_UINT16, DRV_INT32, DRV_UINT32, DRV_INT64,
	DRV_UINT64, DRV_FLOAT32, DRV_FLOAT64, DRV_STRING,
};
enum drv_order { DRV_ABCD, DRV_BADC, DRV_CDAB, DRV_DCBA };

#define DRV_STRING_MAX	250	/* characters: 125 registers */

struct drv_value {
	enum drv_kind {
		DRV_V_BOOL, DRV_V_INT, DRV_V_UINT, DRV_V_DOUBLE, DRV_V_STRING,
	}		 kind;
	union {
		int		b;
		int64_t		i;
		uint64_t	u;
		double		d;
	};
	char		 str[DRV_STRING_MAX + 1];
};

/* How a tag's raw value becomes its published value. */
struct drv_format {
	enum drv_type	 type;
	enum drv_order	 order;
	int		 bit;		/* -1, or 0..15: one bit of a register */
	unsigned	 length;	/* DRV_STRING: registers */
	double		 scale;		/* value = raw * scale + offset */
	double		 offset;
};

/* The registers a format spans (1 for bool and bits). */
unsigned	 drv_registers(const struct drv_format *);
/*
 * Decodes nregs registers into out, applying scale and offset: an integer
 * stays an integer when scale is 1 and offset 0, otherwise it becomes a
 * double. Returns 0, or -1 if nregs is too small.
 */
int		 drv_decode(const struct drv_format *, const uint16_t *regs,
		    size_t nregs, struct drv_value *out);
/* A coil or discrete input. */
void		 drv_decode_bit(uint8_t bit, struct drv_value *out);
/*
 * Encodes a value for writing: scale and offset undone, rounded to the
 * type, range-checked. Returns the number of registers written to regs
 * (at most 125), or -1 with a reason in why ("300 is out of range for
 * int8 ..."). For DRV_BOOL with a bit, the caller read-modify-writes.
 */
int		 drv_encode(const struct drv_format *, const struct drv_value *,
		    uint16_t *regs, size_t maxregs, char *why, size_t whysz);
/*
 * Parses a write request's payload: a bare value ("42", "21.5", "true",
 * "\"text\"") or {"value": ...}. Returns 0, or -1 with the reason.
 */
int		 drv_parse_value(const char *payload, size_t len, struct drv_value *out,
		    char *why, size_t whysz);
/* Writes the value as JSON ("21.5", "true", "\"text\""); returns the length. */
size_t		 drv_value_json(const struct drv_value *, char *buf, size_t sz);
/* Two values differ by more than deadband (strings and bools: differ at all). */
int		 drv_value_changed(const struct drv_value *, const struct drv_value *,
		    double deadband);

#endif
