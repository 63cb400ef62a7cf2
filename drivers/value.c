/*
 * Field values: register images decoded and encoded in one byte/word order
 * model, write payloads parsed from JSON, values written as JSON. Numbers
 * go through strtod and snprintf, so LC_NUMERIC must stay "C".
 */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/value.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_REGS	125	/* one Modbus request; DRV_STRING_MAX / 2 */
#define JSON_DEPTH	32	/* nesting skipped under ignored keys */
#define NUMBER_MAX	128	/* characters of one JSON number */

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 floats");
_Static_assert(DRV_STRING_MAX == 2 * MAX_REGS, "a string fills one request");

enum tclass { T_BOOL, T_INT, T_UINT, T_FLOAT, T_STRING };

/*
 * Each type's size and range. For integers [lo, hi) bounds a rounded
 * double exactly: hi is max + 1, which a double holds for every type
 * (2^63, 2^64 ...). For floats |x| <= hi.
 */
static const struct type_info {
	const char	*name;
	enum tclass	 cls;
	unsigned	 nbytes;	/* 0: one bit, or the string's length */
	int64_t		 min;
	uint64_t	 max;
	double		 lo, hi;
} types[] = {
	[DRV_BOOL] = { "bool", T_BOOL, 0, 0, 1, 0, 2 },
	[DRV_INT16] = { "int16", T_INT, 2, INT16_MIN, INT16_MAX,
	    -0x1p15, 0x1p15 },
	[DRV_UINT16] = { "uint16", T_UINT, 2, 0, UINT16_MAX, 0, 0x1p16 },
	[DRV_INT32] = { "int32", T_INT, 4, INT32_MIN, INT32_MAX,
	    -0x1p31, 0x1p31 },
	[DRV_UINT32] = { "uint32", T_UINT, 4, 0, UINT32_MAX, 0, 0x1p32 },
	[DRV_INT64] = { "int64", T_INT, 8, INT64_MIN, INT64_MAX,
	    -0x1p63, 0x1p63 },
	[DRV_UINT64] = { "uint64", T_UINT, 8, 0, UINT64_MAX, 0, 0x1p64 },
	[DRV_FLOAT32] = { "float32", T_FLOAT, 4, 0, 0, -FLT_MAX, FLT_MAX },
	[DRV_FLOAT64] = { "float64", T_FLOAT, 8, 0, 0, -DBL_MAX, DBL_MAX },
	[DRV_STRING] = { "string", T_STRING, 0, 0, 0, 0, 0 },
};

/*
 * Byte j of the register stream (register j / 2, high byte first) holds
 * byte j ^ mask of the value, most significant first, where mask is
 * (wordswap ? nbytes - 2 : 0) | byteswap: ABCD 0, BADC 1, CDAB n-2 and
 * DCBA n-1. Strings use the byteswap part only.
 */
static const struct order_info {
	unsigned	 wordswap, byteswap;
} orders[] = {
	[DRV_ABCD] = { 0, 0 },
	[DRV_BADC] = { 0, 1 },
	[DRV_CDAB] = { 1, 0 },
	[DRV_DCBA] = { 1, 1 },
};

/* Valid UTF-8 lead bytes, their length and the range of the next byte. */
static const struct utf8_lead {
	uint8_t		 lo, hi, len, next_lo, next_hi;
} utf8_leads[] = {
	{ 0xc2, 0xdf, 2, 0x80, 0xbf },
	{ 0xe0, 0xe0, 3, 0xa0, 0xbf },
	{ 0xe1, 0xec, 3, 0x80, 0xbf },
	{ 0xed, 0xed, 3, 0x80, 0x9f },	/* no surrogates */
	{ 0xee, 0xef, 3, 0x80, 0xbf },
	{ 0xf0, 0xf0, 4, 0x90, 0xbf },
	{ 0xf1, 0xf3, 4, 0x80, 0xbf },
	{ 0xf4, 0xf4, 4, 0x80, 0x8f },	/* up to U+10FFFF */
};

/* JSON's two-character escapes, both ways. */
static const struct json_escape {
	char		 c, esc;
} json_escapes[] = {
	{ '"', '"' }, { '\\', '\\' }, { '/', '/' }, { '\b', 'b' },
	{ '\f', 'f' }, { '\n', 'n' }, { '\r', 'r' }, { '\t', 't' },
};

/* JSON's literal words; null (-1) only where a value is skipped. */
static const struct json_word {
	const char	*word;
	int		 b;
} json_words[] = {
	{ "true", 1 }, { "false", 0 }, { "null", -1 },
};

/* A JSON reader over a buffer that need not end in a NUL. */
struct jp {
	const char	*p, *end;
	char		*why;
	size_t		 whysz;
};

/* Text written up to sz, counted in full like snprintf. */
struct jw {
	char		*buf;
	size_t		 sz, len;
};

static void	 why_set(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 jp_fail(struct jp *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Writes a reason if the caller gave room for one. */
static void
why_set(char *why, size_t whysz, const char *fmt, ...)
{
	va_list	 ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

/* The type's description, or NULL for a number outside the enum. */
static const struct type_info *
type_get(enum drv_type type)
{
	if ((unsigned)type >= NELEM(types))
		return NULL;
	return &types[type];
}

/* Scale 1 and offset 0: integers stay integers, floats untouched. */
static int
scale_is_identity(const struct drv_format *f)
{
	return f->scale == 1 && f->offset == 0;
}

/* The length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	const struct utf8_lead	*l;
	size_t			 i, k;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	for (i = 0; i < NELEM(utf8_leads); i++) {
		l = &utf8_leads[i];
		if (p[0] < l->lo || p[0] > l->hi)
			continue;
		if (n < l->len || p[1] < l->next_lo || p[1] > l->next_hi)
			return 0;
		for (k = 2; k < l->len; k++)
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		return l->len;
	}
	return 0;
}

/* Shortest of %.15g and %.17g that reads back as d; null if not finite. */
static void
fmt_double(double d, char *buf, size_t sz)
{
	if (!isfinite(d)) {
		snprintf(buf, sz, "null");
		return;
	}
	snprintf(buf, sz, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sz, "%.17g", d);
}

/* The registers a format spans; 0 for an unknown type. */
unsigned
drv_registers(const struct drv_format *f)
{
	const struct type_info	*t;

	if (f->bit >= 0)
		return 1;
	if ((t = type_get(f->type)) == NULL)
		return 0;
	if (t->cls == T_STRING)
		return f->length;
	return t->nbytes == 0 ? 1 : t->nbytes / 2;
}

/*
 * Checks the parts of a format that decode and encode rely on; returns
 * the type, or NULL with the reason.
 */
static const struct type_info *
format_check(const struct drv_format *f, char *why, size_t whysz)
{
	const struct type_info	*t;

	if ((t = type_get(f->type)) == NULL) {
		why_set(why, whysz, "unknown type %d", (int)f->type);
		return NULL;
	}
	if ((unsigned)f->order >= NELEM(orders)) {
		why_set(why, whysz, "unknown order %d", (int)f->order);
		return NULL;
	}
	if (f->bit > 15) {
		why_set(why, whysz, "bit %d is not 0..15", f->bit);
		return NULL;
	}
	if (f->bit < 0 && t->cls == T_STRING &&
	    (f->length == 0 || f->length > MAX_REGS)) {
		why_set(why, whysz, "string length %u is not 1..%d registers",
		    f->length, MAX_REGS);
		return NULL;
	}
	return t;
}

/* The byte index mask of an order for a value of n bytes. */
static unsigned
order_mask(enum drv_order order, unsigned n)
{
	const struct order_info	*o = &orders[order];

	return (o->wordswap ? n - 2 : 0) | o->byteswap;
}

/* Gathers n bytes of a value from the register stream. */
static void
regs_get(const uint16_t *regs, unsigned n, unsigned mask, uint8_t *b)
{
	unsigned	 j;

	for (j = 0; j < n; j++)
		b[j ^ mask] = (uint8_t)(regs[j / 2] >> (j % 2 ? 0 : 8));
}

/* Scatters n bytes of a value into the register stream. */
static void
regs_put(const uint8_t *b, unsigned n, unsigned mask, uint16_t *regs)
{
	unsigned	 j;

	for (j = 0; j < n / 2; j++)
		regs[j] = 0;
	for (j = 0; j < n; j++)
		regs[j / 2] |= (uint16_t)(b[j ^ mask] << (j % 2 ? 0 : 8));
}

/* Decodes a string: it ends at the first NUL; trailing spaces are cut. */
static void
decode_string(const struct drv_format *f, const uint16_t *regs,
    struct drv_value *out)
{
	size_t	 len;

	regs_get(regs, 2 * f->length, orders[f->order].byteswap,
	    (uint8_t *)out->str);
	out->str[2 * f->length] = '\0';
	len = strlen(out->str);
	while (len > 0 && out->str[len - 1] == ' ')
		len--;
	out->str[len] = '\0';
	out->kind = DRV_V_STRING;
	out->i = 0;
}

/*
 * The float32 as the shortest decimal that gives it back: a reading of
 * 21.7 stays 21.7, not 21.700000762939453.
 */
static double
float_shortest(float fl)
{
	char	buf[32];
	double	d;

	if (!isfinite(fl))
		return fl;
	for (int digits = 6; digits <= 9; digits++) {
		snprintf(buf, sizeof(buf), "%.*g", digits, (double)fl);
		d = strtod(buf, NULL);
		/* Within the float range too, so that it encodes back. */
		if ((float)d == fl && fabs(d) <= FLT_MAX)
			return d;
	}
	return fl;
}

/* Rounds a scaled value to 15 digits: no binary noise from the product. */
static double
scaled_clean(double d)
{
	char buf[32];

	if (!isfinite(d))
		return d;
	snprintf(buf, sizeof(buf), "%.15g", d);
	return strtod(buf, NULL);
}

/* Decodes an integer or float of t->nbytes and applies scale and offset. */
static void
decode_number(const struct drv_format *f, const struct type_info *t,
    const uint16_t *regs, struct drv_value *out)
{
	uint8_t		 b[8];
	uint64_t	 raw = 0;
	uint32_t	 r32;
	float		 fl;
	double		 d;
	unsigned	 j, bits = 8 * t->nbytes;

	regs_get(regs, t->nbytes, order_mask(f->order, t->nbytes), b);
	for (j = 0; j < t->nbytes; j++)
		raw = raw << 8 | b[j];
	if (t->cls == T_FLOAT) {
		if (t->nbytes == 4) {
			r32 = (uint32_t)raw;
			memcpy(&fl, &r32, sizeof(fl));
			d = float_shortest(fl);
		} else
			memcpy(&d, &raw, sizeof(d));
		out->kind = DRV_V_DOUBLE;
		out->d = d;
	} else if (t->cls == T_INT) {
		if (bits < 64 && (raw >> (bits - 1)) != 0)
			raw |= UINT64_MAX << bits;
		out->kind = DRV_V_INT;
		/* Two's complement without relying on the conversion. */
		out->i = raw <= INT64_MAX ? (int64_t)raw : -(int64_t)~raw - 1;
		d = (double)out->i;
	} else {
		out->kind = DRV_V_UINT;
		out->u = raw;
		d = (double)raw;
	}
	if (!scale_is_identity(f)) {
		out->kind = DRV_V_DOUBLE;
		out->d = scaled_clean(d * f->scale + f->offset);
	}
}

/* Decodes a register image: a bit, a string or a scaled number. */
int
drv_decode(const struct drv_format *f, const uint16_t *regs, size_t nregs,
    struct drv_value *out)
{
	const struct type_info	*t;

	out->str[0] = '\0';
	if ((t = format_check(f, NULL, 0)) == NULL || nregs < drv_registers(f))
		return -1;
	if (f->bit >= 0) {
		drv_decode_bit((uint8_t)(regs[0] >> f->bit & 1), out);
		return 0;
	}
	switch (t->cls) {
	case T_BOOL:
		return -1;	/* coils, discrete inputs: drv_decode_bit */
	case T_STRING:
		decode_string(f, regs, out);
		return 0;
	default:
		decode_number(f, t, regs, out);
		return 0;
	}
}

/* A coil or discrete input as a bool. */
void
drv_decode_bit(uint8_t bit, struct drv_value *out)
{
	out->kind = DRV_V_BOOL;
	out->i = 0;
	out->b = bit != 0;
	out->str[0] = '\0';
}

/* A number (or a bool as 0/1) as a double; 0 for a string. */
static double
value_double(const struct drv_value *v)
{
	switch (v->kind) {
	case DRV_V_BOOL:
		return v->b != 0;
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

/* Refuses a value outside a type's range, naming both. */
static int
range_fail(const struct drv_format *f, const struct type_info *t,
    const struct drv_value *v, double raw, char *why, size_t whysz)
{
	char	 given[64], num[32], scaled[48];

	drv_value_json(v, given, sizeof(given));
	scaled[0] = '\0';
	if (!scale_is_identity(f)) {
		fmt_double(raw, num, sizeof(num));
		snprintf(scaled, sizeof(scaled), " (raw %s)", num);
	}
	if (t->cls == T_FLOAT)
		why_set(why, whysz, "%s%s is out of range for %s", given,
		    scaled, t->name);
	else
		why_set(why, whysz, "%s%s is out of range for %s "
		    "(%" PRId64 "..%" PRIu64 ")", given, scaled, t->name,
		    t->min, t->max);
	return -1;
}

/*
 * An integer given exactly (bool, int or uint, no scaling) into its
 * 64-bit two's complement image, range-checked.
 */
static int
encode_exact(const struct drv_format *f, const struct type_info *t,
    const struct drv_value *v, uint64_t *raw, char *why, size_t whysz)
{
	int	 ok;

	if (v->kind == DRV_V_UINT) {
		ok = v->u <= t->max;
		*raw = v->u;
	} else {
		int64_t i = v->kind == DRV_V_BOOL ? v->b != 0 : v->i;

		ok = i >= t->min && (i < 0 || (uint64_t)i <= t->max);
		*raw = (uint64_t)i;
	}
	if (!ok)
		return range_fail(f, t, v, 0, why, whysz);
	return 0;
}

/*
 * A number into the raw bits of an integer or float type: scale and
 * offset undone, rounded to the nearest integer, range-checked.
 */
static int
encode_raw(const struct drv_format *f, const struct type_info *t,
    const struct drv_value *v, uint64_t *raw, char *why, size_t whysz)
{
	double		 x;
	float		 fl;
	uint32_t	 r32;

	if (v->kind == DRV_V_STRING) {
		why_set(why, whysz, "%s needs a number, not a string", t->name);
		return -1;
	}
	if (t->cls != T_FLOAT && v->kind != DRV_V_DOUBLE &&
	    scale_is_identity(f))
		return encode_exact(f, t, v, raw, why, whysz);
	x = value_double(v);
	if (!isfinite(x)) {
		why_set(why, whysz, "%s needs a finite number", t->name);
		return -1;
	}
	if (!scale_is_identity(f)) {
		if (f->scale == 0 || !isfinite(f->scale) ||
		    !isfinite(f->offset)) {
			why_set(why, whysz, "scale %g and offset %g cannot be "
			    "undone", f->scale, f->offset);
			return -1;
		}
		x = (x - f->offset) / f->scale;
	}
	if (t->cls == T_FLOAT) {
		if (!(fabs(x) <= t->hi))
			return range_fail(f, t, v, x, why, whysz);
		if (t->nbytes == 4) {
			fl = (float)x;
			memcpy(&r32, &fl, sizeof(r32));
			*raw = r32;
		} else
			memcpy(raw, &x, sizeof(x));
		return 0;
	}
	x = round(x);
	if (!(x >= t->lo && x < t->hi))
		return range_fail(f, t, v, x, why, whysz);
	if (t->cls == T_INT)
		*raw = (uint64_t)(int64_t)x;
	else
		*raw = (uint64_t)x;
	return 0;
}

/* A bool (or the number 0 or 1) into one register: the bit, or 0/1. */
static int
encode_bool(const struct drv_format *f, const struct drv_value *v,
    uint16_t *regs, char *why, size_t whysz)
{
	double	 x;
	int	 on;

	switch (v->kind) {
	case DRV_V_BOOL:
		on = v->b != 0;
		break;
	case DRV_V_INT:
	case DRV_V_UINT:
	case DRV_V_DOUBLE:
		x = value_double(v);
		if (x != 0 && x != 1) {
			why_set(why, whysz, "a bool is true, false, 0 or 1");
			return -1;
		}
		on = x == 1;
		break;
	default:
		why_set(why, whysz, "a bool needs true or false, not a string");
		return -1;
	}
	if (f->bit >= 0)
		regs[0] = (uint16_t)(on << f->bit);
	else
		regs[0] = (uint16_t)on;
	return 1;
}

/* A string into its registers, NUL-padded. */
static int
encode_string(const struct drv_format *f, const struct drv_value *v,
    uint16_t *regs, char *why, size_t whysz)
{
	uint8_t	 b[DRV_STRING_MAX];
	size_t	 len;

	if (v->kind != DRV_V_STRING) {
		why_set(why, whysz, "a string tag needs a string, not a %s",
		    v->kind == DRV_V_BOOL ? "bool" : "number");
		return -1;
	}
	len = strnlen(v->str, sizeof(v->str));
	if (len > 2 * f->length) {
		why_set(why, whysz, "%zu bytes do not fit %u registers "
		    "(%u bytes)", len, f->length, 2 * f->length);
		return -1;
	}
	memset(b, 0, sizeof(b));
	memcpy(b, v->str, len);
	regs_put(b, 2 * f->length, orders[f->order].byteswap, regs);
	return (int)f->length;
}

/* Encodes a value into its register image; returns the registers used. */
int
drv_encode(const struct drv_format *f, const struct drv_value *v,
    uint16_t *regs, size_t maxregs, char *why, size_t whysz)
{
	const struct type_info	*t;
	uint8_t			 b[8];
	uint64_t		 raw = 0;
	unsigned		 j, n;

	if ((t = format_check(f, why, whysz)) == NULL)
		return -1;
	n = drv_registers(f);
	if (maxregs < n) {
		why_set(why, whysz, "%s needs %u registers, room for %zu",
		    t->name, n, maxregs);
		return -1;
	}
	if ((unsigned)v->kind > DRV_V_STRING) {
		why_set(why, whysz, "unknown value kind %d", (int)v->kind);
		return -1;
	}
	if (f->bit >= 0 || t->cls == T_BOOL)
		return encode_bool(f, v, regs, why, whysz);
	if (t->cls == T_STRING)
		return encode_string(f, v, regs, why, whysz);
	if (encode_raw(f, t, v, &raw, why, whysz) == -1)
		return -1;
	for (j = 0; j < t->nbytes; j++)
		b[j] = (uint8_t)(raw >> 8 * (t->nbytes - 1 - j));
	regs_put(b, t->nbytes, order_mask(f->order, t->nbytes), regs);
	return (int)n;
}

/* Records a parse error at the current position; returns -1. */
static int
jp_fail(struct jp *jp, const char *fmt, ...)
{
	va_list	 ap;

	if (jp->why == NULL || jp->whysz == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(jp->why, jp->whysz, fmt, ap);
	va_end(ap);
	return -1;
}

/* Skips JSON whitespace. */
static void
jp_space(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
	    *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/* Consumes a literal word (true, false, null) if it is next. */
static int
jp_word(struct jp *jp, const char *word)
{
	size_t	 n = strlen(word);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
		return 0;
	jp->p += n;
	return 1;
}

/* Reads the four hex digits of a \u escape. */
static int
jp_hex4(struct jp *jp, unsigned *cp)
{
	unsigned	 i, c;

	*cp = 0;
	if (jp->end - jp->p < 4)
		return jp_fail(jp, "\\u needs four hex digits");
	for (i = 0; i < 4; i++) {
		c = (unsigned char)jp->p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			c = (c | 0x20) - 'a' + 10;
		else
			return jp_fail(jp, "\\u needs four hex digits");
		*cp = *cp << 4 | c;
	}
	jp->p += 4;
	return 0;
}

/* Reads a \u escape (a surrogate pair counts as one) into a code point. */
static int
jp_unicode(struct jp *jp, unsigned *cp)
{
	unsigned	 lo;

	if (jp_hex4(jp, cp) == -1)
		return -1;
	if (*cp == 0)
		return jp_fail(jp, "\\u0000 cannot be in a value");
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return jp_fail(jp, "lone low surrogate \\u%04x", *cp);
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	if (!jp_word(jp, "\\u") || jp_hex4(jp, &lo) == -1 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return jp_fail(jp, "high surrogate without a low one");
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

/* Appends bytes to a string being read, counting what does not fit. */
static void
str_add(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
	if (out != NULL && *len + n < outsz)
		memcpy(out + *len, s, n);
	*len += n;
}

/* Appends a code point as UTF-8. */
static void
str_add_cp(char *out, size_t outsz, size_t *len, unsigned cp)
{
	char	 u[4];
	size_t	 n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	str_add(out, outsz, len, u, n);
}

/*
 * Reads a string after its opening quote into out (NULL: only checked),
 * NUL-terminated when it fits; *lenp gets the full length in bytes.
 */
static int
jp_string(struct jp *jp, char *out, size_t outsz, size_t *lenp)
{
	const unsigned char	*u;
	size_t			 i, n;
	unsigned		 cp;

	*lenp = 0;
	for (;;) {
		if (jp->p >= jp->end)
			return jp_fail(jp, "unterminated string");
		u = (const unsigned char *)jp->p;
		if (*u == '"') {
			jp->p++;
			break;
		}
		if (*u < 0x20)
			return jp_fail(jp, "control character 0x%02x in a "
			    "string", *u);
		if (*u != '\\') {
			if ((n = utf8_seq(u, (size_t)(jp->end - jp->p))) == 0)
				return jp_fail(jp, "invalid UTF-8 in a string");
			str_add(out, outsz, lenp, jp->p, n);
			jp->p += n;
			continue;
		}
		if (++jp->p >= jp->end)
			return jp_fail(jp, "unterminated string");
		if (*jp->p == 'u') {
			jp->p++;
			if (jp_unicode(jp, &cp) == -1)
				return -1;
			str_add_cp(out, outsz, lenp, cp);
			continue;
		}
		for (i = 0; i < NELEM(json_escapes); i++)
			if (json_escapes[i].esc == *jp->p)
				break;
		if (i == NELEM(json_escapes))
			return jp_fail(jp, "invalid escape \\%c", *jp->p);
		str_add(out, outsz, lenp, &json_escapes[i].c, 1);
		jp->p++;
	}
	if (out != NULL && outsz > 0)
		out[*lenp < outsz ? *lenp : outsz - 1] = '\0';
	return 0;
}

/* Skips a run of digits; returns how many there were. */
static size_t
jp_digits(struct jp *jp)
{
	const char	*start = jp->p;

	while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
		jp->p++;
	return (size_t)(jp->p - start);
}

/* Checks a number against JSON's grammar; *integral if no fraction/exponent. */
static int
jp_number_syntax(struct jp *jp, int *integral)
{
	*integral = 1;
	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p < jp->end && *jp->p == '0')
		jp->p++;
	else if (jp_digits(jp) == 0)
		return jp_fail(jp, "invalid number");
	if (jp->p < jp->end && *jp->p == '.') {
		jp->p++;
		*integral = 0;
		if (jp_digits(jp) == 0)
			return jp_fail(jp, "invalid number: digits must "
			    "follow '.'");
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		jp->p++;
		*integral = 0;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp_digits(jp) == 0)
			return jp_fail(jp, "invalid number: digits must "
			    "follow the exponent");
	}
	return 0;
}

/*
 * Reads a number: an integer becomes an int (a uint past INT64_MAX, a
 * double past either range), anything else a double.
 */
static int
jp_number(struct jp *jp, struct drv_value *out)
{
	const char	*start = jp->p;
	char		 buf[NUMBER_MAX + 1];
	size_t		 n;
	int		 integral;

	if (jp_number_syntax(jp, &integral) == -1)
		return -1;
	if (out == NULL)
		return 0;
	if ((n = (size_t)(jp->p - start)) > NUMBER_MAX)
		return jp_fail(jp, "number longer than %d characters",
		    NUMBER_MAX);
	memcpy(buf, start, n);
	buf[n] = '\0';
	errno = 0;
	if (integral && buf[0] == '-') {
		out->kind = DRV_V_INT;
		out->i = strtoll(buf, NULL, 10);
	} else if (integral) {
		out->kind = DRV_V_UINT;
		out->u = strtoull(buf, NULL, 10);
		if (out->u <= INT64_MAX) {
			out->kind = DRV_V_INT;
			out->i = (int64_t)out->u;
		}
	}
	if (!integral || errno == ERANGE) {
		errno = 0;
		out->kind = DRV_V_DOUBLE;
		out->d = strtod(buf, NULL);
		if (isinf(out->d))
			return jp_fail(jp, "number %s is out of range", buf);
	}
	return 0;
}

static int	 jp_value(struct jp *, struct drv_value *, int);

/* Skips an array after its '['. */
static int
jp_array(struct jp *jp, int depth)
{
	jp_space(jp);
	if (jp->p < jp->end && *jp->p == ']') {
		jp->p++;
		return 0;
	}
	for (;;) {
		if (jp_value(jp, NULL, depth + 1) == -1)
			return -1;
		jp_space(jp);
		if (jp->p < jp->end && *jp->p == ']') {
			jp->p++;
			return 0;
		}
		if (jp->p >= jp->end || *jp->p != ',')
			return jp_fail(jp, "expected ',' or ']' in an array");
		jp->p++;
	}
}

/*
 * Reads an object after its '{'. With out, its "value" member (a scalar,
 * given once) is the value and other members are skipped; without out the
 * whole object is skipped.
 */
static int
jp_object(struct jp *jp, struct drv_value *out, int depth)
{
	char	 key[8];
	size_t	 len;
	int	 found = 0, mine;

	jp_space(jp);
	if (jp->p < jp->end && *jp->p == '}') {
		jp->p++;
		goto done;
	}
	for (;;) {
		jp_space(jp);
		if (jp->p >= jp->end || *jp->p != '"')
			return jp_fail(jp, "expected a member name");
		jp->p++;
		if (jp_string(jp, key, sizeof(key), &len) == -1)
			return -1;
		mine = out != NULL && len == 5 && memcmp(key, "value", 5) == 0;
		if (mine && found)
			return jp_fail(jp, "\"value\" given twice");
		jp_space(jp);
		if (jp->p >= jp->end || *jp->p != ':')
			return jp_fail(jp, "expected ':' after a member name");
		jp->p++;
		jp_space(jp);
		if (mine && jp->p < jp->end && (*jp->p == '{' || *jp->p == '['))
			return jp_fail(jp, "\"value\" must be a number, bool "
			    "or string");
		if (jp_value(jp, mine ? out : NULL, depth + 1) == -1)
			return -1;
		found |= mine;
		jp_space(jp);
		if (jp->p < jp->end && *jp->p == '}') {
			jp->p++;
			break;
		}
		if (jp->p >= jp->end || *jp->p != ',')
			return jp_fail(jp, "expected ',' or '}' in an object");
		jp->p++;
	}
done:
	if (out != NULL && !found)
		return jp_fail(jp, "the object has no \"value\"");
	return 0;
}

/*
 * Reads one JSON value into out (a scalar; null is refused), or only
 * checks it when out is NULL (anything, nested up to JSON_DEPTH).
 */
static int
jp_value(struct jp *jp, struct drv_value *out, int depth)
{
	size_t	 i, len;

	if (depth > JSON_DEPTH)
		return jp_fail(jp, "nested deeper than %d", JSON_DEPTH);
	if (jp->p >= jp->end)
		return jp_fail(jp, "expected a value");
	switch (*jp->p) {
	case '"':
		jp->p++;
		if (out == NULL)
			return jp_string(jp, NULL, 0, &len);
		if (jp_string(jp, out->str, sizeof(out->str), &len) == -1)
			return -1;
		if (len > DRV_STRING_MAX)
			return jp_fail(jp, "string longer than %d bytes",
			    DRV_STRING_MAX);
		out->kind = DRV_V_STRING;
		out->i = 0;
		return 0;
	case '{':
		jp->p++;
		return jp_object(jp, out, depth);
	case '[':
		if (out != NULL)
			return jp_fail(jp, "an array is not a value");
		jp->p++;
		return jp_array(jp, depth);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return jp_number(jp, out);
	}
	for (i = 0; i < NELEM(json_words); i++)
		if (jp_word(jp, json_words[i].word))
			break;
	if (i == NELEM(json_words))
		return jp_fail(jp, "unexpected character '%c'", *jp->p);
	if (out == NULL)
		return 0;
	if (json_words[i].b == -1)
		return jp_fail(jp, "null is not a value to write");
	out->kind = DRV_V_BOOL;
	out->i = 0;
	out->b = json_words[i].b;
	return 0;
}

/* Parses a bare JSON scalar or {"value": scalar}, with nothing after it. */
int
drv_parse_value(const char *payload, size_t len, struct drv_value *out,
    char *why, size_t whysz)
{
	struct jp		 jp = { payload, payload, why, whysz };
	struct drv_value	 v;

	if (payload == NULL)
		jp.p = jp.end = payload = "";
	else
		jp.end = payload + len;
	v.str[0] = '\0';
	jp_space(&jp);
	if (jp.p >= jp.end)
		return jp_fail(&jp, "empty payload");
	if (jp_value(&jp, &v, 0) == -1)
		return -1;
	jp_space(&jp);
	if (jp.p < jp.end)
		return jp_fail(&jp, "garbage after the value at offset %zu",
		    (size_t)(jp.p - payload));
	*out = v;
	return 0;
}

/* Appends text to a JSON output. */
static void
jw_add(struct jw *w, const char *s, size_t n)
{
	if (w->len < w->sz)
		memcpy(w->buf + w->len, s,
		    n < w->sz - w->len ? n : w->sz - w->len);
	w->len += n;
}

/* Appends a string literal: valid UTF-8 kept, other bytes as \u00XX. */
static void
jw_string(struct jw *w, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, n, len = strlen(s);
	char			 esc[8];

	jw_add(w, "\"", 1);
	while (len > 0) {
		for (i = 0; i < NELEM(json_escapes); i++)
			if (json_escapes[i].c == (char)*u && *u != '/')
				break;
		if (i < NELEM(json_escapes)) {
			esc[0] = '\\';
			esc[1] = json_escapes[i].esc;
			jw_add(w, esc, 2);
			n = 1;
		} else if (*u < 0x20 || *u == 0x7f ||
		    (n = utf8_seq(u, len)) == 0) {
			snprintf(esc, sizeof(esc), "\\u%04x", *u);
			jw_add(w, esc, 6);
			n = 1;
		} else
			jw_add(w, (const char *)u, n);
		u += n;
		len -= n;
	}
	jw_add(w, "\"", 1);
}

/* Writes a value as JSON; returns its full length, like snprintf. */
/* Writes u in decimal with a NUL; buf holds at least 21 bytes. */
static void
fmt_u64(uint64_t u, char *buf)
{
	char	tmp[20];
	size_t	n = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

size_t
drv_value_json(const struct drv_value *v, char *buf, size_t sz)
{
	struct jw	 w = { buf, sz, 0 };
	char		 num[32];

	switch (v->kind) {
	case DRV_V_BOOL:
		snprintf(num, sizeof(num), "%s", v->b ? "true" : "false");
		break;
	case DRV_V_INT:
		/* Integers are most readings: no printf on this path. */
		if (v->i < 0) {
			num[0] = '-';
			fmt_u64(v->i == INT64_MIN ? (uint64_t)INT64_MAX + 1 :
			    (uint64_t)-v->i, num + 1);
		} else
			fmt_u64((uint64_t)v->i, num);
		break;
	case DRV_V_UINT:
		fmt_u64(v->u, num);
		break;
	case DRV_V_DOUBLE:
		fmt_double(v->d, num, sizeof(num));
		break;
	case DRV_V_STRING:
		jw_string(&w, v->str);
		goto done;
	default:
		snprintf(num, sizeof(num), "null");
		break;
	}
	jw_add(&w, num, strlen(num));
done:
	if (sz > 0)
		buf[w.len < sz ? w.len : sz - 1] = '\0';
	return w.len;
}

/* Two numbers differ by more than deadband; NaN equals only NaN. */
static int
number_changed(const struct drv_value *a, const struct drv_value *b,
    double deadband)
{
	double	 x = value_double(a), y = value_double(b);

	if (deadband == 0 && a->kind == DRV_V_INT)
		return a->i != b->i;
	if (deadband == 0 && a->kind == DRV_V_UINT)
		return a->u != b->u;
	if (isnan(x) || isnan(y))
		return !(isnan(x) && isnan(y));
	if (x == y)
		return 0;
	return !(fabs(x - y) <= deadband);
}

/* A change of kind, or of value by more than the deadband. */
int
drv_value_changed(const struct drv_value *a, const struct drv_value *b,
    double deadband)
{
	if (a->kind != b->kind)
		return 1;
	if (!(deadband > 0))
		deadband = 0;
	switch (a->kind) {
	case DRV_V_BOOL:
		return !a->b != !b->b;
	case DRV_V_STRING:
		return strcmp(a->str, b->str) != 0;
	default:
		return number_changed(a, b, deadband);
	}
}
