/*
 * libFuzzer target: the field value codec. The first four bytes choose a
 * format and the rest are registers to decode, write as JSON and encode
 * back; the whole input is also a write payload to parse, write as JSON,
 * parse again and encode.
 */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "drivers/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define JSON_MAX	(2 + 6 * DRV_STRING_MAX + 1)

/* Scale and offset; exact: raw values up to 2^40 survive a round trip. */
static const struct {
	double	 scale, offset;
	int	 exact;
} scales[] = {
	{ 1, 0, 1 }, { 0.1, 0, 1 }, { 0.1, -40, 1 }, { 0.01, 0, 1 },
	{ 10, 0, 1 }, { 0.5, 273.15, 1 }, { 1, -40, 1 }, { -1, 0, 1 },
	{ 1e-300, 0, 0 }, { 1e300, 1, 0 }, { 0, 5, 0 }, { NAN, 0, 0 },
	{ 1, INFINITY, 0 }, { 3, 1e17, 0 }, { 1, 0.5, 1 }, { 1, -0.0, 1 },
};

/* Equal values, an integral double equal to the same integer included. */
static int
same_value(const struct drv_value *a, const struct drv_value *b)
{
	const struct drv_value	*d, *n;

	if (a->kind == b->kind) {
		switch (a->kind) {
		case DRV_V_BOOL:
			return !a->b == !b->b;
		case DRV_V_INT:
			return a->i == b->i;
		case DRV_V_UINT:
			return a->u == b->u;
		case DRV_V_DOUBLE:
			return a->d == b->d || (isnan(a->d) && isnan(b->d));
		case DRV_V_STRING:
			return strcmp(a->str, b->str) == 0;
		}
		return 0;
	}
	if (a->kind == DRV_V_INT && b->kind == DRV_V_UINT)
		return a->i >= 0 && (uint64_t)a->i == b->u;
	if (a->kind == DRV_V_UINT && b->kind == DRV_V_INT)
		return b->i >= 0 && (uint64_t)b->i == a->u;
	d = a->kind == DRV_V_DOUBLE ? a : b;
	n = d == a ? b : a;
	if (d->kind != DRV_V_DOUBLE || d->d != rint(d->d))
		return 0;
	if (n->kind == DRV_V_INT)
		return d->d >= -0x1p63 && d->d < 0x1p63 &&
		    (int64_t)d->d == n->i;
	if (n->kind == DRV_V_UINT)
		return d->d >= 0 && d->d < 0x1p64 && (uint64_t)d->d == n->u;
	return 0;
}

/* Writes v as JSON, checking the length it reports. */
static size_t
json(const struct drv_value *v, char *buf)
{
	size_t	 n = drv_value_json(v, buf, JSON_MAX);

	if (n >= JSON_MAX || strlen(buf) != n)
		__builtin_trap();
	return n;
}

/* The format chosen by the first four bytes. */
static void
pick_format(const uint8_t *data, struct drv_format *f, int *exact)
{
	unsigned	 bitsel = data[1] >> 2;

	f->type = (enum drv_type)(data[0] % 10);
	f->order = (enum drv_order)(data[1] & 3);
	f->bit = bitsel < 16 ? (int)bitsel : -1;
	f->length = 1 + data[2] % 125u;
	f->scale = scales[data[3] % NELEM(scales)].scale;
	f->offset = scales[data[3] % NELEM(scales)].offset;
	*exact = scales[data[3] % NELEM(scales)].exact;
}

/*
 * Encodes a decoded value and checks it comes back: the same registers
 * for numbers (scaled ones when the raw value is small), the same value
 * for bits and strings.
 */
static void
check_reencode(const struct drv_format *f, int exact, const uint16_t *regs,
    const struct drv_value *v)
{
	struct drv_format	 raw = *f;
	struct drv_value	 r, back;
	uint16_t		 out[125];
	int			 n;

	raw.scale = 1;
	raw.offset = 0;
	if (drv_decode(&raw, regs, 125, &r) == -1)
		__builtin_trap();
	if (r.kind == DRV_V_DOUBLE && !isfinite(r.d))
		return;
	if (v->kind == DRV_V_DOUBLE && !isfinite(v->d))
		return;
	if (v->kind == DRV_V_DOUBLE && r.kind == DRV_V_DOUBLE &&
	    (f->scale != 1 || f->offset != 0))
		return;		/* a scaled float is not exact */
	if (v->kind == DRV_V_DOUBLE && (!exact ||
	    (r.kind == DRV_V_INT && (r.i > 1ll << 40 || r.i < -(1ll << 40))) ||
	    (r.kind == DRV_V_UINT && r.u > 1ull << 40)))
		return;
	n = drv_encode(f, v, out, NELEM(out), NULL, 0);
	if (n != (int)drv_registers(f))
		__builtin_trap();
	if (drv_decode(f, out, (size_t)n, &back) == -1 || !same_value(&back, v))
		__builtin_trap();
	if (v->kind != DRV_V_BOOL && v->kind != DRV_V_STRING &&
	    memcmp(out, regs, (size_t)n * 2) != 0)
		__builtin_trap();
}

/* Decodes the registers after the format bytes and checks what it gets. */
static void
fuzz_decode(const uint8_t *data, size_t size)
{
	struct drv_format	 f;
	struct drv_value	 v, p;
	uint16_t		 regs[125];
	char			 buf[JSON_MAX];
	size_t			 i, nregs, n;
	int			 exact;

	pick_format(data, &f, &exact);
	nregs = (size - 4) / 2;
	if (nregs > NELEM(regs))
		nregs = NELEM(regs);
	memset(regs, 0, sizeof(regs));
	for (i = 0; i < nregs; i++)
		regs[i] = (uint16_t)(data[4 + 2 * i] << 8 | data[5 + 2 * i]);
	if (drv_decode(&f, regs, nregs, &v) == -1)
		return;
	if (drv_value_changed(&v, &v, 0))
		__builtin_trap();
	n = json(&v, buf);
	/* Numbers read back as themselves; strings at least parse. */
	if (v.kind != DRV_V_STRING && strcmp(buf, "null") != 0 &&
	    (drv_parse_value(buf, n, &p, NULL, 0) == -1 || !same_value(&p, &v)))
		__builtin_trap();
	if (v.kind == DRV_V_STRING && strlen(v.str) <= DRV_STRING_MAX / 2 &&
	    drv_parse_value(buf, n, &p, NULL, 0) == -1)
		__builtin_trap();
	check_reencode(&f, exact, regs, &v);
}

/* Parses the input as a payload; its JSON parses to the same value. */
static void
fuzz_parse(const uint8_t *data, size_t size)
{
	struct drv_format	 f;
	struct drv_value	 v, again, back;
	uint16_t		 regs[125];
	char			 buf[JSON_MAX], why[128];
	size_t			 n;
	int			 exact, r;

	if (drv_parse_value((const char *)data, size, &v, why,
	    sizeof(why)) == -1)
		return;
	n = json(&v, buf);
	if (drv_parse_value(buf, n, &again, why, sizeof(why)) == -1 ||
	    !same_value(&v, &again))
		__builtin_trap();
	if (size < 4)
		return;
	/* Any parsed value, any format: encode refuses or round-trips. */
	pick_format(data, &f, &exact);
	if ((r = drv_encode(&f, &v, regs, NELEM(regs), why, sizeof(why))) == -1)
		return;
	if (r != (int)drv_registers(&f))
		__builtin_trap();
	if (f.bit < 0 && f.type == DRV_BOOL)
		return;
	if (drv_decode(&f, regs, (size_t)r, &back) == -1)
		__builtin_trap();
	if (f.scale != 1 || f.offset != 0 || f.bit >= 0 || v.kind == DRV_V_BOOL)
		return;
	if (f.type == DRV_FLOAT64 && v.kind == DRV_V_DOUBLE &&
	    !same_value(&back, &v))
		__builtin_trap();
	if (f.type >= DRV_INT16 && f.type <= DRV_UINT64 &&
	    (v.kind != DRV_V_DOUBLE || v.d == rint(v.d)) &&
	    !same_value(&back, &v))
		__builtin_trap();
	if (f.type == DRV_STRING && strcmp(back.str, v.str) != 0 &&
	    (strlen(v.str) == 0 || v.str[strlen(v.str) - 1] != ' '))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 4)
		fuzz_decode(data, size);
	fuzz_parse(data, size);
	return 0;
}
