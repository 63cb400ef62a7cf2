/* Unit tests of the field value codec (drivers/value.c). */
#include "config.h"

#include <check.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/value.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define FMT(t, o)	{ .type = (t), .order = (o), .bit = -1, .scale = 1 }
#define FMTS(t, o, s, off) \
	{ .type = (t), .order = (o), .bit = -1, .scale = (s), .offset = (off) }
#define FMTB(n)		{ .type = DRV_BOOL, .bit = (n), .scale = 1 }
#define FMTSTR(o, n)	{ .type = DRV_STRING, .order = (o), .bit = -1, \
			  .length = (n), .scale = 1 }
#define VB(x)		{ .kind = DRV_V_BOOL, .b = (x) }
#define VI(x)		{ .kind = DRV_V_INT, .i = (x) }
#define VU(x)		{ .kind = DRV_V_UINT, .u = (x) }
#define VD(x)		{ .kind = DRV_V_DOUBLE, .d = (x) }
#define VS(x)		{ .kind = DRV_V_STRING, .str = x }

static const enum drv_order all_orders[] = {
	DRV_ABCD, DRV_BADC, DRV_CDAB, DRV_DCBA,
};

/* Same kind and same value; doubles bit for bit (NaN equals NaN). */
static int
value_eq(const struct drv_value *a, const struct drv_value *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case DRV_V_BOOL:
		return !a->b == !b->b;
	case DRV_V_INT:
		return a->i == b->i;
	case DRV_V_UINT:
		return a->u == b->u;
	case DRV_V_DOUBLE:
		if (isnan(a->d) || isnan(b->d))
			return isnan(a->d) && isnan(b->d);
		return a->d == b->d && !signbit(a->d) == !signbit(b->d);
	case DRV_V_STRING:
		return strcmp(a->str, b->str) == 0;
	}
	return 0;
}

/* A value as text for failure messages. */
static const char *
vtext(const struct drv_value *v, char *buf, size_t sz)
{
	drv_value_json(v, buf, sz);
	return buf;
}

/*
 * Known register images. image: encoding the value gives the registers
 * back (not so where decoding cut NULs or spaces, or scaled).
 */
static const struct dcase {
	struct drv_format	 f;
	uint16_t		 regs[8];
	size_t			 nregs;
	int			 ret, image;
	struct drv_value	 want;
} dcases[] = {
	/* float32 123.456 = 0x42F6E979 */
	{ FMT(DRV_FLOAT32, DRV_ABCD), { 0x42f6, 0xe979 }, 2, 0, 1,
	  VD(123.456) },
	{ FMT(DRV_FLOAT32, DRV_CDAB), { 0xe979, 0x42f6 }, 2, 0, 1,
	  VD(123.456) },
	{ FMT(DRV_FLOAT32, DRV_BADC), { 0xf642, 0x79e9 }, 2, 0, 1,
	  VD(123.456) },
	{ FMT(DRV_FLOAT32, DRV_DCBA), { 0x79e9, 0xf642 }, 2, 0, 1,
	  VD(123.456) },
	{ FMT(DRV_FLOAT32, DRV_ABCD), { 0xbf80, 0x0000 }, 2, 0, 1, VD(-1.0) },
	{ FMT(DRV_FLOAT32, DRV_ABCD), { 0x8000, 0x0000 }, 2, 0, 1, VD(-0.0) },
	{ FMT(DRV_FLOAT32, DRV_ABCD), { 0x7f80, 0x0000 }, 2, 0, 0,
	  VD(INFINITY) },
	{ FMT(DRV_FLOAT32, DRV_ABCD), { 0x7fc0, 0x0000 }, 2, 0, 0, VD(NAN) },
	/* float64 123.456 = 0x405EDD2F1A9FBE77 */
	{ FMT(DRV_FLOAT64, DRV_ABCD), { 0x405e, 0xdd2f, 0x1a9f, 0xbe77 }, 4, 0,
	  1, VD(123.456) },
	{ FMT(DRV_FLOAT64, DRV_CDAB), { 0xbe77, 0x1a9f, 0xdd2f, 0x405e }, 4, 0,
	  1, VD(123.456) },
	{ FMT(DRV_FLOAT64, DRV_BADC), { 0x5e40, 0x2fdd, 0x9f1a, 0x77be }, 4, 0,
	  1, VD(123.456) },
	{ FMT(DRV_FLOAT64, DRV_DCBA), { 0x77be, 0x9f1a, 0x2fdd, 0x5e40 }, 4, 0,
	  1, VD(123.456) },
	{ FMT(DRV_FLOAT64, DRV_ABCD), { 0xbf64, 0x7ae1, 0x47ae, 0x147b }, 4, 0,
	  1, VD(-2.5e-3) },
	/* int32 -2 and 0x12345678 */
	{ FMT(DRV_INT32, DRV_ABCD), { 0xffff, 0xfffe }, 2, 0, 1, VI(-2) },
	{ FMT(DRV_INT32, DRV_CDAB), { 0xfffe, 0xffff }, 2, 0, 1, VI(-2) },
	{ FMT(DRV_INT32, DRV_BADC), { 0xffff, 0xfeff }, 2, 0, 1, VI(-2) },
	{ FMT(DRV_INT32, DRV_DCBA), { 0xfeff, 0xffff }, 2, 0, 1, VI(-2) },
	{ FMT(DRV_INT32, DRV_ABCD), { 0x1234, 0x5678 }, 2, 0, 1,
	  VI(0x12345678) },
	{ FMT(DRV_INT32, DRV_CDAB), { 0x5678, 0x1234 }, 2, 0, 1,
	  VI(0x12345678) },
	{ FMT(DRV_INT32, DRV_BADC), { 0x3412, 0x7856 }, 2, 0, 1,
	  VI(0x12345678) },
	{ FMT(DRV_INT32, DRV_DCBA), { 0x7856, 0x3412 }, 2, 0, 1,
	  VI(0x12345678) },
	{ FMT(DRV_INT32, DRV_ABCD), { 0x8000, 0x0000 }, 2, 0, 1,
	  VI(INT32_MIN) },
	/* uint32 4000000000 = 0xEE6B2800 */
	{ FMT(DRV_UINT32, DRV_ABCD), { 0xee6b, 0x2800 }, 2, 0, 1,
	  VU(4000000000u) },
	{ FMT(DRV_UINT32, DRV_CDAB), { 0x2800, 0xee6b }, 2, 0, 1,
	  VU(4000000000u) },
	{ FMT(DRV_UINT32, DRV_BADC), { 0x6bee, 0x0028 }, 2, 0, 1,
	  VU(4000000000u) },
	{ FMT(DRV_UINT32, DRV_DCBA), { 0x0028, 0x6bee }, 2, 0, 1,
	  VU(4000000000u) },
	/* int64 and uint64 0x0102030405060708 */
	{ FMT(DRV_INT64, DRV_ABCD), { 0x0102, 0x0304, 0x0506, 0x0708 }, 4, 0, 1,
	  VI(0x0102030405060708) },
	{ FMT(DRV_INT64, DRV_CDAB), { 0x0708, 0x0506, 0x0304, 0x0102 }, 4, 0, 1,
	  VI(0x0102030405060708) },
	{ FMT(DRV_INT64, DRV_BADC), { 0x0201, 0x0403, 0x0605, 0x0807 }, 4, 0, 1,
	  VI(0x0102030405060708) },
	{ FMT(DRV_INT64, DRV_DCBA), { 0x0807, 0x0605, 0x0403, 0x0201 }, 4, 0, 1,
	  VI(0x0102030405060708) },
	{ FMT(DRV_UINT64, DRV_ABCD), { 0x0102, 0x0304, 0x0506, 0x0708 }, 4, 0,
	  1, VU(0x0102030405060708) },
	{ FMT(DRV_UINT64, DRV_CDAB), { 0x0708, 0x0506, 0x0304, 0x0102 }, 4, 0,
	  1, VU(0x0102030405060708) },
	{ FMT(DRV_UINT64, DRV_BADC), { 0x0201, 0x0403, 0x0605, 0x0807 }, 4, 0,
	  1, VU(0x0102030405060708) },
	{ FMT(DRV_UINT64, DRV_DCBA), { 0x0807, 0x0605, 0x0403, 0x0201 }, 4, 0,
	  1, VU(0x0102030405060708) },
	{ FMT(DRV_INT64, DRV_ABCD), { 0xffff, 0xffff, 0xffff, 0xfffe }, 4, 0, 1,
	  VI(-2) },
	{ FMT(DRV_INT64, DRV_DCBA), { 0xfeff, 0xffff, 0xffff, 0xffff }, 4, 0, 1,
	  VI(-2) },
	{ FMT(DRV_INT64, DRV_ABCD), { 0x8000, 0, 0, 0 }, 4, 0, 1,
	  VI(INT64_MIN) },
	{ FMT(DRV_UINT64, DRV_ABCD), { 0xffff, 0xffff, 0xffff, 0xffff }, 4, 0,
	  1, VU(UINT64_MAX) },
	{ FMT(DRV_UINT64, DRV_CDAB), { 0x0000, 0x0000, 0x0000, 0x8000 }, 4, 0,
	  1, VU(1ull << 63) },
	/* 16 bits: only the byte part of the order counts */
	{ FMT(DRV_INT16, DRV_ABCD), { 0xffff }, 1, 0, 1, VI(-1) },
	{ FMT(DRV_INT16, DRV_DCBA), { 0xffff }, 1, 0, 1, VI(-1) },
	{ FMT(DRV_INT16, DRV_ABCD), { 0xfffe }, 1, 0, 1, VI(-2) },
	{ FMT(DRV_INT16, DRV_BADC), { 0xfeff }, 1, 0, 1, VI(-2) },
	{ FMT(DRV_INT16, DRV_BADC), { 0x3412 }, 1, 0, 1, VI(0x1234) },
	{ FMT(DRV_INT16, DRV_CDAB), { 0x1234 }, 1, 0, 1, VI(0x1234) },
	{ FMT(DRV_INT16, DRV_DCBA), { 0x3412 }, 1, 0, 1, VI(0x1234) },
	{ FMT(DRV_INT16, DRV_ABCD), { 0x8000 }, 1, 0, 1, VI(-32768) },
	{ FMT(DRV_INT16, DRV_ABCD), { 0x7fff }, 1, 0, 1, VI(32767) },
	{ FMT(DRV_UINT16, DRV_ABCD), { 0xffff }, 1, 0, 1, VU(65535) },
	{ FMT(DRV_UINT16, DRV_ABCD), { 0x8000 }, 1, 0, 1, VU(32768) },
	{ FMT(DRV_UINT16, DRV_BADC), { 0x0100 }, 1, 0, 1, VU(1) },
	{ FMT(DRV_UINT16, DRV_DCBA), { 0x3412 }, 1, 0, 1, VU(0x1234) },
	/* one bit of a register */
	{ FMTB(0), { 0x0001 }, 1, 0, 1, VB(1) },
	{ FMTB(0), { 0xfffe }, 1, 0, 0, VB(0) },
	{ FMTB(0), { 0x0000 }, 1, 0, 1, VB(0) },
	{ FMTB(15), { 0x8000 }, 1, 0, 1, VB(1) },
	{ FMTB(15), { 0x7fff }, 1, 0, 0, VB(0) },
	{ FMTB(7), { 0x0080 }, 1, 0, 1, VB(1) },
	{ FMTB(8), { 0x0080 }, 1, 0, 0, VB(0) },
	/* strings */
	{ FMTSTR(DRV_ABCD, 4), { 0x4d45, 0x5445, 0x522d, 0x3031 }, 4, 0, 1,
	  VS("METER-01") },
	{ FMTSTR(DRV_CDAB, 4), { 0x4d45, 0x5445, 0x522d, 0x3031 }, 4, 0, 1,
	  VS("METER-01") },
	{ FMTSTR(DRV_BADC, 4), { 0x454d, 0x4554, 0x2d52, 0x3130 }, 4, 0, 1,
	  VS("METER-01") },
	{ FMTSTR(DRV_DCBA, 4), { 0x454d, 0x4554, 0x2d52, 0x3130 }, 4, 0, 1,
	  VS("METER-01") },
	{ FMTSTR(DRV_ABCD, 2), { 0x4142, 0x4300 }, 2, 0, 1, VS("ABC") },
	{ FMTSTR(DRV_BADC, 2), { 0x4241, 0x0043 }, 2, 0, 1, VS("ABC") },
	{ FMTSTR(DRV_ABCD, 3), { 0x4142, 0x4300, 0x0000 }, 3, 0, 1, VS("ABC") },
	{ FMTSTR(DRV_ABCD, 1), { 0x4100 }, 1, 0, 1, VS("A") },
	{ FMTSTR(DRV_ABCD, 2), { 0x4142, 0x2020 }, 2, 0, 0, VS("AB") },
	{ FMTSTR(DRV_ABCD, 2), { 0x4142, 0x2000 }, 2, 0, 0, VS("AB") },
	{ FMTSTR(DRV_ABCD, 2), { 0x2041, 0x2042 }, 2, 0, 1, VS(" A B") },
	{ FMTSTR(DRV_ABCD, 2), { 0x4100, 0x4243 }, 2, 0, 0, VS("A") },
	{ FMTSTR(DRV_ABCD, 2), { 0x0000, 0x0000 }, 2, 0, 1, VS("") },
	{ FMTSTR(DRV_ABCD, 2), { 0x2020, 0x2020 }, 2, 0, 0, VS("") },
	{ FMTSTR(DRV_ABCD, 1), { 0xc3a9 }, 1, 0, 1, VS("\xc3\xa9") },
	/* scale and offset */
	{ FMTS(DRV_INT16, DRV_ABCD, 0.1, 0), { 215 }, 1, 0, 1, VD(21.5) },
	{ FMTS(DRV_INT16, DRV_ABCD, 0.1, 0), { 0xfe70 }, 1, 0, 1, VD(-40.0) },
	{ FMTS(DRV_UINT16, DRV_ABCD, 1, -40), { 100 }, 1, 0, 1, VD(60.0) },
	{ FMTS(DRV_UINT16, DRV_ABCD, 0.1, -40), { 100 }, 1, 0, 1, VD(-30.0) },
	{ FMTS(DRV_UINT16, DRV_ABCD, 1, 0.5), { 0 }, 1, 0, 1, VD(0.5) },
	{ FMTS(DRV_INT32, DRV_CDAB, 0.01, 0), { 0xfffe, 0xffff }, 2, 0, 1,
	  VD(-0.02) },
	{ FMTS(DRV_UINT32, DRV_ABCD, 10, 0), { 0x0000, 0x0007 }, 2, 0, 1,
	  VD(70.0) },
	{ FMTS(DRV_FLOAT32, DRV_ABCD, 2, 1), { 0x3fc0, 0x0000 }, 2, 0, 1,
	  VD(4.0) },
	{ FMTS(DRV_FLOAT64, DRV_ABCD, -1, 0), { 0x4000, 0, 0, 0 }, 4, 0, 1,
	  VD(-2.0) },
	/* too few registers, and formats that cannot be decoded */
	{ FMT(DRV_INT32, DRV_ABCD), { 0x1234 }, 1, -1, 0, VI(0) },
	{ FMT(DRV_FLOAT64, DRV_ABCD), { 1, 2, 3 }, 3, -1, 0, VI(0) },
	{ FMT(DRV_INT16, DRV_ABCD), { 0 }, 0, -1, 0, VI(0) },
	{ FMTSTR(DRV_ABCD, 4), { 0x4142, 0x4344, 0x4546 }, 3, -1, 0, VI(0) },
	{ FMTSTR(DRV_ABCD, 0), { 0x4142 }, 1, -1, 0, VI(0) },
	{ FMTSTR(DRV_ABCD, 126), { 0x4142 }, 1, -1, 0, VI(0) },
	{ FMT(DRV_BOOL, DRV_ABCD), { 1 }, 1, -1, 0, VI(0) },
	{ FMTB(16), { 0xffff }, 1, -1, 0, VI(0) },
	{ FMT(42, DRV_ABCD), { 1 }, 1, -1, 0, VI(0) },
	{ FMT(DRV_INT16, 9), { 1 }, 1, -1, 0, VI(0) },
};

START_TEST(test_decode)
{
	const struct dcase	*c = &dcases[_i];
	struct drv_value	 v;
	char			 a[64], b[64];
	int			 r;

	r = drv_decode(&c->f, c->regs, c->nregs, &v);
	ck_assert_msg(r == c->ret, "case %d: returned %d", _i, r);
	if (r == 0)
		ck_assert_msg(value_eq(&v, &c->want),
		    "case %d: got %s, want %s", _i, vtext(&v, a, sizeof(a)),
		    vtext(&c->want, b, sizeof(b)));
}
END_TEST

/* The known images the other way: encode(value) gives the registers. */
START_TEST(test_encode_image)
{
	const struct dcase	*c = &dcases[_i];
	uint16_t		 regs[8];
	char			 why[128] = "";
	int			 r;

	if (!c->image || c->ret != 0)
		return;
	memset(regs, 0xa5, sizeof(regs));
	r = drv_encode(&c->f, &c->want, regs, NELEM(regs), why, sizeof(why));
	ck_assert_msg(r == (int)c->nregs, "case %d: returned %d (%s)", _i, r,
	    why);
	for (int k = 0; k < r; k++)
		ck_assert_msg(regs[k] == c->regs[k], "case %d: reg %d is %04x, "
		    "want %04x", _i, k, regs[k], c->regs[k]);
}
END_TEST

START_TEST(test_registers)
{
	static const struct {
		struct drv_format	 f;
		unsigned		 n;
	} rc[] = {
		{ FMT(DRV_BOOL, DRV_ABCD), 1 }, { FMTB(3), 1 },
		{ FMT(DRV_INT16, DRV_ABCD), 1 }, { FMT(DRV_UINT16, DRV_DCBA),
		  1 },
		{ FMT(DRV_INT32, DRV_ABCD), 2 }, { FMT(DRV_UINT32, DRV_ABCD),
		  2 },
		{ FMT(DRV_FLOAT32, DRV_ABCD), 2 }, { FMT(DRV_INT64, DRV_ABCD),
		  4 },
		{ FMT(DRV_UINT64, DRV_ABCD), 4 }, { FMT(DRV_FLOAT64, DRV_ABCD),
		  4 },
		{ FMTSTR(DRV_ABCD, 5), 5 }, { FMTSTR(DRV_ABCD, 125), 125 },
		{ FMT(42, DRV_ABCD), 0 },
	};

	for (size_t k = 0; k < NELEM(rc); k++)
		ck_assert_uint_eq(drv_registers(&rc[k].f), rc[k].n);
}
END_TEST

START_TEST(test_decode_bit)
{
	struct drv_value	 v;

	drv_decode_bit(1, &v);
	ck_assert(v.kind == DRV_V_BOOL && v.b == 1);
	drv_decode_bit(0xff, &v);
	ck_assert(v.kind == DRV_V_BOOL && v.b == 1);
	drv_decode_bit(0, &v);
	ck_assert(v.kind == DRV_V_BOOL && v.b == 0);
}
END_TEST

/* Values that must survive encode then decode in every order. */
static const struct rtcase {
	struct drv_format	 f;
	struct drv_value	 v;
} rtcases[] = {
	{ FMT(DRV_INT16, 0), VI(0) }, { FMT(DRV_INT16, 0), VI(1) },
	{ FMT(DRV_INT16, 0), VI(-1) }, { FMT(DRV_INT16, 0), VI(-32768) },
	{ FMT(DRV_INT16, 0), VI(32767) }, { FMT(DRV_INT16, 0), VI(0x1234) },
	{ FMT(DRV_INT16, 0), VI(-300) },
	{ FMT(DRV_UINT16, 0), VU(0) }, { FMT(DRV_UINT16, 0), VU(1) },
	{ FMT(DRV_UINT16, 0), VU(65535) }, { FMT(DRV_UINT16, 0), VU(0x8001) },
	{ FMT(DRV_INT32, 0), VI(0) }, { FMT(DRV_INT32, 0), VI(-2) },
	{ FMT(DRV_INT32, 0), VI(INT32_MIN) }, { FMT(DRV_INT32, 0),
	  VI(INT32_MAX) },
	{ FMT(DRV_INT32, 0), VI(0x12345678) }, { FMT(DRV_INT32, 0),
	  VI(-123456789) },
	{ FMT(DRV_UINT32, 0), VU(0) }, { FMT(DRV_UINT32, 0), VU(4000000000u) },
	{ FMT(DRV_UINT32, 0), VU(UINT32_MAX) }, { FMT(DRV_UINT32, 0),
	  VU(0x80000000u) },
	{ FMT(DRV_INT64, 0), VI(0) }, { FMT(DRV_INT64, 0), VI(-1) },
	{ FMT(DRV_INT64, 0), VI(INT64_MIN) }, { FMT(DRV_INT64, 0),
	  VI(INT64_MAX) },
	{ FMT(DRV_INT64, 0), VI(0x0102030405060708) },
	{ FMT(DRV_INT64, 0), VI(-9007199254740993) },
	{ FMT(DRV_UINT64, 0), VU(0) }, { FMT(DRV_UINT64, 0), VU(UINT64_MAX) },
	{ FMT(DRV_UINT64, 0), VU(1ull << 63) },
	{ FMT(DRV_UINT64, 0), VU(0x0102030405060708) },
	{ FMT(DRV_UINT64, 0), VU(9007199254740993ull) },
	{ FMT(DRV_FLOAT32, 0), VD(0.0) }, { FMT(DRV_FLOAT32, 0), VD(-0.0) },
	{ FMT(DRV_FLOAT32, 0), VD(1.5) }, { FMT(DRV_FLOAT32, 0),
	  VD((double)123.456f) },
	{ FMT(DRV_FLOAT32, 0), VD((double)-123.456f) },
	{ FMT(DRV_FLOAT32, 0), VD(FLT_MAX) }, { FMT(DRV_FLOAT32, 0),
	  VD(-FLT_MAX) },
	{ FMT(DRV_FLOAT32, 0), VD(FLT_MIN) }, { FMT(DRV_FLOAT32, 0),
	  VD(0x1p-149) },
	{ FMT(DRV_FLOAT32, 0), VD(16777216.0) },
	{ FMT(DRV_FLOAT64, 0), VD(0.0) }, { FMT(DRV_FLOAT64, 0), VD(-0.0) },
	{ FMT(DRV_FLOAT64, 0), VD(123.456) }, { FMT(DRV_FLOAT64, 0), VD(M_PI) },
	{ FMT(DRV_FLOAT64, 0), VD(DBL_MAX) }, { FMT(DRV_FLOAT64, 0),
	  VD(-DBL_MIN) },
	{ FMT(DRV_FLOAT64, 0), VD(0x1p-1074) }, { FMT(DRV_FLOAT64, 0),
	  VD(1e300) },
	{ FMT(DRV_FLOAT64, 0), VD(-2.5e-3) },
	{ FMTSTR(0, 4), VS("METER-01") }, { FMTSTR(0, 4), VS("METER-0") },
	{ FMTSTR(0, 4), VS("") }, { FMTSTR(0, 4), VS("A") },
	{ FMTSTR(0, 1), VS("AB") }, { FMTSTR(0, 3), VS("x y") },
	{ FMTSTR(0, 3), VS("\xc3\xa9t\xc3\xa9") }, { FMTSTR(0, 5),
	  VS("a\tb\"c") },
	{ FMTSTR(0, 125), VS("a long string padded with NULs") },
	{ FMTS(DRV_INT16, 0, 0.1, 0), VD(21.5) },
	{ FMTS(DRV_INT16, 0, 0.1, 0), VD(-40.0) },
	{ FMTS(DRV_INT16, 0, 0.1, 0), VD(3276.7) },
	{ FMTS(DRV_UINT16, 0, 1, -40), VD(60.0) },
	{ FMTS(DRV_UINT16, 0, 0.1, -40), VD(615 * 0.1 - 40) },
	{ FMTS(DRV_INT32, 0, 0.01, 0), VD(-0.02) },
	{ FMTS(DRV_UINT32, 0, 10, 0), VD(70.0) },
	{ FMTS(DRV_INT64, 0, 0.001, 0), VD(123456789 * 0.001) },
	{ FMTS(DRV_UINT64, 0, 0.5, 0), VD(1e15) },
	{ FMTS(DRV_FLOAT32, 0, 2, 1), VD(4.0) },
	{ FMTS(DRV_FLOAT64, 0, 0.5, -3), VD(21.5) },
};

START_TEST(test_round_trip)
{
	struct drv_format	 f = rtcases[_i].f;
	const struct drv_value	*v = &rtcases[_i].v;
	struct drv_value	 back;
	uint16_t		 regs[125];
	char			 why[128] = "", a[64], b[64];
	int			 r;

	for (size_t o = 0; o < NELEM(all_orders); o++) {
		f.order = all_orders[o];
		r = drv_encode(&f, v, regs, NELEM(regs), why, sizeof(why));
		ck_assert_msg(r == (int)drv_registers(&f), "case %d order %zu: "
		    "encode returned %d (%s)", _i, o, r, why);
		ck_assert_int_eq(drv_decode(&f, regs, (size_t)r, &back), 0);
		/* A float32 comes back as its shortest decimal: same float. */
		if (f.type == DRV_FLOAT32 && back.kind == DRV_V_DOUBLE &&
		    v->kind == DRV_V_DOUBLE && (float)back.d == (float)v->d)
			continue;
		ck_assert_msg(value_eq(&back, v), "case %d order %zu: %s came "
		    "back as %s", _i, o, vtext(v, a, sizeof(a)),
		    vtext(&back, b, sizeof(b)));
	}
}
END_TEST

/* Every bit of a register, both ways, leaving the other bits clear. */
/* A float32 reads as its shortest decimal, and every image encodes back. */
START_TEST(test_float_shortest)
{
	static const uint16_t images[][2] = {
		{ 0x41ac, 0x0000 },	/* 21.5 */
		{ 0x3dcc, 0xcccd },	/* 0.1f: 0.1, not 0.10000000149011612 */
		{ 0x7f7f, 0xffff },	/* FLT_MAX */
		{ 0xff7f, 0xffff },	/* -FLT_MAX */
		{ 0x0080, 0x0000 },	/* FLT_MIN */
		{ 0x0000, 0x0001 },	/* the smallest subnormal */
	};
	struct drv_format	 f = FMT(DRV_FLOAT32, DRV_ABCD);
	struct drv_value	 v;
	uint16_t		 out[2];
	char			 why[128];

	ck_assert_int_eq(drv_decode(&f, images[1], 2, &v), 0);
	ck_assert(v.d == 0.1);
	for (size_t i = 0; i < NELEM(images); i++) {
		ck_assert_int_eq(drv_decode(&f, images[i], 2, &v), 0);
		ck_assert_msg(drv_encode(&f, &v, out, 2, why, sizeof(why)) == 2,
		    "image %zu: %s", i, why);
		ck_assert_msg(out[0] == images[i][0] && out[1] == images[i][1],
		    "image %zu came back as %04x %04x", i, out[0], out[1]);
	}
}
END_TEST

START_TEST(test_bits)
{
	struct drv_format	 f = FMTB(_i);
	struct drv_value	 on = VB(1), off = VB(0), back;
	uint16_t		 reg;
	char			 why[128] = "";

	ck_assert_int_eq(drv_encode(&f, &on, &reg, 1, why, sizeof(why)), 1);
	ck_assert_uint_eq(reg, 1u << _i);
	ck_assert_int_eq(drv_decode(&f, &reg, 1, &back), 0);
	ck_assert(back.kind == DRV_V_BOOL && back.b == 1);
	ck_assert_int_eq(drv_encode(&f, &off, &reg, 1, why, sizeof(why)), 1);
	ck_assert_uint_eq(reg, 0);
	reg = (uint16_t)~(1u << _i);
	ck_assert_int_eq(drv_decode(&f, &reg, 1, &back), 0);
	ck_assert(back.kind == DRV_V_BOOL && back.b == 0);
}
END_TEST

/* A coil: encoded as 0/1 for the caller's write_bit, read with decode_bit. */
START_TEST(test_coil)
{
	static const struct {
		struct drv_value	 v;
		uint16_t		 reg;
	} cc[] = {
		{ VB(1), 1 }, { VB(0), 0 }, { VI(1), 1 }, { VI(0), 0 },
		{ VU(1), 1 }, { VD(1.0), 1 }, { VD(0.0), 0 },
	};
	struct drv_format	 f = FMT(DRV_BOOL, DRV_ABCD);
	struct drv_value	 back;
	uint16_t		 reg;
	char			 why[128] = "";

	for (size_t k = 0; k < NELEM(cc); k++) {
		ck_assert_int_eq(drv_encode(&f, &cc[k].v, &reg, 1, why,
		    sizeof(why)), 1);
		ck_assert_uint_eq(reg, cc[k].reg);
		drv_decode_bit((uint8_t)reg, &back);
		ck_assert_int_eq(back.b, cc[k].reg);
	}
}
END_TEST

/* A small deterministic generator for the random image test. */
static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random register images of every numeric type in every order: decoding
 * then encoding gives the same image (NaN floats aside).
 */
START_TEST(test_random_images)
{
	static const enum drv_type nt[] = {
		DRV_INT16, DRV_UINT16, DRV_INT32, DRV_UINT32, DRV_INT64,
		DRV_UINT64, DRV_FLOAT32, DRV_FLOAT64,
	};
	uint64_t		 seed = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
	struct drv_format	 f = FMT(nt[_i], DRV_ABCD);
	struct drv_value	 v;
	uint16_t		 regs[4], out[4];
	char			 why[128] = "";
	int			 n;

	for (int k = 0; k < 20000; k++) {
		f.order = all_orders[k % 4];
		n = (int)drv_registers(&f);
		for (int j = 0; j < 4; j++)
			regs[j] = (uint16_t)xorshift(&seed);
		ck_assert_int_eq(drv_decode(&f, regs, 4, &v), 0);
		if (v.kind == DRV_V_DOUBLE && !isfinite(v.d))
			continue;
		ck_assert_msg(drv_encode(&f, &v, out, 4, why, sizeof(why)) == n,
		    "type %d: %s", nt[_i], why);
		ck_assert_msg(memcmp(regs, out, (size_t)n * 2) == 0,
		    "type %d order %d: image changed", nt[_i], f.order);
	}
}
END_TEST

/*
 * Scaled integers: raw * scale + offset encodes back to the same raw.
 * 64-bit raws are kept under 2^40, where a double still tells them apart
 * after scaling.
 */
START_TEST(test_scaled_images)
{
	static const double so[][2] = {
		{ 0.1, 0 }, { 0.01, 0 }, { 0.1, -40 }, { 10, 0 }, { 0.5,
		  273.15 },
		{ 1, -40 }, { 0.001, 0 }, { -0.1, 5 }, { 1.0 / 3, 0 },
	};
	static const enum drv_type it[] = {
		DRV_INT16, DRV_UINT16, DRV_INT32, DRV_UINT32, DRV_INT64,
		DRV_UINT64,
	};
	uint64_t		 seed = 12345 + (uint64_t)_i;
	struct drv_format	 raw = FMT(it[_i], DRV_ABCD), f;
	struct drv_value	 v;
	uint16_t		 regs[4], out[4];
	char			 why[128] = "";
	int			 n;

	for (int k = 0; k < 20000; k++) {
		raw.order = all_orders[k % 4];
		for (int j = 0; j < 4; j++)
			regs[j] = (uint16_t)xorshift(&seed);
		ck_assert_int_eq(drv_decode(&raw, regs, 4, &v), 0);
		if (v.kind == DRV_V_INT)
			v.i /= 1 << 23;
		else
			v.u >>= 23;
		n = drv_encode(&raw, &v, regs, 4, why, sizeof(why));
		ck_assert_msg(n > 0, "%s", why);
		f = raw;
		f.scale = so[k % NELEM(so)][0];
		f.offset = so[k % NELEM(so)][1];
		ck_assert_int_eq(drv_decode(&f, regs, 4, &v), 0);
		ck_assert_int_eq(v.kind, DRV_V_DOUBLE);
		ck_assert_msg(drv_encode(&f, &v, out, 4, why, sizeof(why)) == n,
		    "%s", why);
		ck_assert_msg(memcmp(regs, out, (size_t)n * 2) == 0,
		    "type %d scale %g offset %g: image changed", it[_i],
		    f.scale, f.offset);
	}
}
END_TEST

/* Encoding other kinds of input: rounding, bools, exact big integers. */
static const struct ecase {
	struct drv_format	 f;
	struct drv_value	 v;
	int			 ret;
	uint16_t		 regs[4];
	const char		*why;	/* in the reason if refused */
} ecases[] = {
	{ FMT(DRV_INT16, 0), VD(42.0), 1, { 42 }, NULL },
	{ FMT(DRV_INT16, 0), VD(2.5), 1, { 3 }, NULL },
	{ FMT(DRV_INT16, 0), VD(-2.5), 1, { 0xfffd }, NULL },
	{ FMT(DRV_INT16, 0), VD(2.4999), 1, { 2 }, NULL },
	{ FMT(DRV_INT16, 0), VD(32767.4), 1, { 0x7fff }, NULL },
	{ FMT(DRV_INT16, 0), VD(-32768.4), 1, { 0x8000 }, NULL },
	{ FMT(DRV_UINT16, 0), VD(-0.4), 1, { 0 }, NULL },
	{ FMT(DRV_UINT16, 0), VB(1), 1, { 1 }, NULL },
	{ FMT(DRV_UINT16, 0), VB(0), 1, { 0 }, NULL },
	{ FMTS(DRV_UINT16, 0, 0.1, 0), VB(1), 1, { 10 }, NULL },
	{ FMT(DRV_INT32, 0), VU(5), 1 + 1, { 0, 5 }, NULL },
	{ FMT(DRV_FLOAT32, 0), VI(5), 2, { 0x40a0, 0 }, NULL },
	{ FMT(DRV_FLOAT32, 0), VD(123.456), 2, { 0x42f6, 0xe979 }, NULL },
	{ FMT(DRV_FLOAT32, 0), VB(1), 2, { 0x3f80, 0 }, NULL },
	{ FMT(DRV_FLOAT64, 0), VU(UINT64_MAX), 4, { 0x43f0, 0, 0, 0 }, NULL },
	{ FMT(DRV_INT64, 0), VU(INT64_MAX), 4,
	  { 0x7fff, 0xffff, 0xffff, 0xffff }, NULL },
	{ FMT(DRV_INT64, 0), VD(-0x1p63), 4, { 0x8000, 0, 0, 0 }, NULL },
	{ FMT(DRV_INT64, 0), VD(0x1.fffffffffffffp62), 4,
	  { 0x7fff, 0xffff, 0xffff, 0xfc00 }, NULL },
	{ FMT(DRV_UINT64, 0), VD(0x1.fffffffffffffp63), 4,
	  { 0xffff, 0xffff, 0xffff, 0xf800 }, NULL },
	{ FMT(DRV_UINT64, 0), VD(1e19), 4, { 0x8ac7, 0x2304, 0x89e8, 0x0000 },
	  NULL },
	{ FMT(DRV_UINT64, 0), VI(INT64_MAX), 4,
	  { 0x7fff, 0xffff, 0xffff, 0xffff }, NULL },
	{ FMT(DRV_UINT64, DRV_DCBA), VU(UINT64_MAX - 1), 4,
	  { 0xfeff, 0xffff, 0xffff, 0xffff }, NULL },
	{ FMTS(DRV_INT16, 0, 0.1, 0), VI(21), 1, { 210 }, NULL },
	{ FMTS(DRV_INT16, 0, 1, -40), VI(-40), 1, { 0 }, NULL },
	{ FMTS(DRV_UINT16, 0, 0.1, -40), VD(21.5), 1, { 615 }, NULL },
	{ FMTSTR(DRV_ABCD, 3), VS("ABCDE"), 3, { 0x4142, 0x4344, 0x4500 },
	  NULL },
	{ FMTSTR(DRV_BADC, 3), VS("ABCDE"), 3, { 0x4241, 0x4443, 0x0045 },
	  NULL },
	{ FMTSTR(DRV_ABCD, 3), VS("AB  "), 3, { 0x4142, 0x2020, 0 }, NULL },
	/* refusals */
	{ FMTS(DRV_INT16, 0, 0.001, 0), VI(300), -1, { 0 },
	  "out of range for int16" },
	{ FMTS(DRV_INT16, 0, 0.1, 0), VD(3276.8), -1, { 0 }, "(raw 32768)" },
	{ FMT(DRV_INT16, 0), VI(32768), -1, { 0 },
	  "32768 is out of range for int16 (-32768..32767)" },
	{ FMT(DRV_INT16, 0), VI(-32769), -1, { 0 }, "out of range" },
	{ FMT(DRV_INT16, 0), VD(32767.5), -1, { 0 }, "out of range" },
	{ FMT(DRV_UINT16, 0), VI(-1), -1, { 0 },
	  "-1 is out of range for uint16 (0..65535)" },
	{ FMT(DRV_UINT16, 0), VD(-0.5), -1, { 0 }, "out of range" },
	{ FMT(DRV_UINT16, 0), VU(65536), -1, { 0 }, "out of range" },
	{ FMT(DRV_INT32, 0), VD(1e20), -1, { 0 },
	  "1e+20 is out of range for int32" },
	{ FMT(DRV_INT32, 0), VI(2147483648), -1, { 0 }, "out of range" },
	{ FMT(DRV_UINT32, 0), VI(4294967296), -1, { 0 }, "out of range" },
	{ FMT(DRV_INT64, 0), VU(1ull << 63), -1, { 0 }, "out of range" },
	{ FMT(DRV_INT64, 0), VD(0x1p63), -1, { 0 }, "out of range" },
	{ FMT(DRV_INT64, 0), VD(-0x1.0000000000001p63), -1, { 0 },
	  "out of range" },
	{ FMT(DRV_UINT64, 0), VI(-1), -1, { 0 }, "out of range" },
	{ FMT(DRV_UINT64, 0), VD(0x1p64), -1, { 0 }, "out of range" },
	{ FMT(DRV_UINT64, 0), VD(1.8446744073709552e19), -1, { 0 },
	  "out of range" },
	{ FMT(DRV_FLOAT32, 0), VD(1e39), -1, { 0 },
	  "out of range for float32" },
	{ FMT(DRV_INT16, 0), VD(NAN), -1, { 0 }, "finite" },
	{ FMT(DRV_FLOAT32, 0), VD(NAN), -1, { 0 }, "finite" },
	{ FMT(DRV_FLOAT64, 0), VD(INFINITY), -1, { 0 }, "finite" },
	{ FMT(DRV_UINT64, 0), VD(-INFINITY), -1, { 0 }, "finite" },
	{ FMT(DRV_INT32, 0), VS("abc"), -1, { 0 }, "not a string" },
	{ FMT(DRV_FLOAT64, 0), VS("1.5"), -1, { 0 }, "not a string" },
	{ FMT(DRV_BOOL, 0), VS("true"), -1, { 0 }, "not a string" },
	{ FMT(DRV_BOOL, 0), VI(2), -1, { 0 }, "0 or 1" },
	{ FMTB(3), VD(0.5), -1, { 0 }, "0 or 1" },
	{ FMTSTR(DRV_ABCD, 4), VI(5), -1, { 0 }, "not a number" },
	{ FMTSTR(DRV_ABCD, 4), VB(1), -1, { 0 }, "not a bool" },
	{ FMTSTR(DRV_ABCD, 4), VS("METER-001"), -1, { 0 },
	  "9 bytes do not fit 4 registers" },
	{ FMTSTR(DRV_ABCD, 0), VS(""), -1, { 0 }, "string length 0" },
	{ FMTSTR(DRV_ABCD, 126), VS("x"), -1, { 0 }, "string length 126" },
	{ FMTS(DRV_INT16, 0, 0, 0), VI(1), -1, { 0 }, "cannot be undone" },
	{ FMTS(DRV_INT16, 0, NAN, 0), VI(1), -1, { 0 }, "cannot be undone" },
	{ FMT(42, 0), VI(1), -1, { 0 }, "unknown type" },
	{ FMT(DRV_INT16, 7), VI(1), -1, { 0 }, "unknown order" },
	{ FMTB(16), VB(1), -1, { 0 }, "bit 16" },
};

START_TEST(test_encode)
{
	const struct ecase	*c = &ecases[_i];
	uint16_t		 regs[125];
	char			 why[128] = "";
	int			 r;

	r = drv_encode(&c->f, &c->v, regs, NELEM(regs), why, sizeof(why));
	ck_assert_msg(r == c->ret, "case %d: returned %d (%s)", _i, r, why);
	for (int k = 0; k < r; k++)
		ck_assert_msg(regs[k] == c->regs[k], "case %d: reg %d is %04x, "
		    "want %04x", _i, k, regs[k], c->regs[k]);
	if (c->why != NULL)
		ck_assert_msg(strstr(why, c->why) != NULL, "case %d: reason "
		    "\"%s\" lacks \"%s\"", _i, why, c->why);
}
END_TEST

/* Too little room, and a NULL reason buffer. */
START_TEST(test_encode_room)
{
	struct drv_format	 f = FMT(DRV_INT32, DRV_ABCD);
	struct drv_format	 s = FMTSTR(DRV_ABCD, 4);
	struct drv_value	 v = VI(7), t = VS("AB");
	uint16_t		 regs[4] = { 0xaaaa, 0xaaaa, 0xaaaa, 0xaaaa };
	char			 why[128] = "";

	ck_assert_int_eq(drv_encode(&f, &v, regs, 1, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "needs 2 registers"));
	ck_assert_uint_eq(regs[0], 0xaaaa);
	ck_assert_int_eq(drv_encode(&s, &t, regs, 3, NULL, 0), -1);
	ck_assert_int_eq(drv_encode(&s, &t, regs, 4, NULL, 0), 4);
	ck_assert_uint_eq(regs[0], 0x4142);
	ck_assert_uint_eq(regs[3], 0);
	v.i = 1ll << 40;
	ck_assert_int_eq(drv_encode(&f, &v, regs, 2, NULL, 0), -1);
	ck_assert_int_eq(drv_encode(&f, &v, regs, 2, why, 8), -1);
	ck_assert_uint_eq(strlen(why), 7);
}
END_TEST

/* Payloads: len 0 means strlen; ok 0 with the expected value, or -1. */
static const struct pcase {
	const char		*in;
	size_t			 len;
	int			 ret;
	struct drv_value	 want;
} pcases[] = {
	{ "42", 0, 0, VI(42) },
	{ " 42 ", 0, 0, VI(42) },
	{ "\n\t42\r\n", 0, 0, VI(42) },
	{ "-7", 0, 0, VI(-7) },
	{ "0", 0, 0, VI(0) },
	{ "-0", 0, 0, VI(0) },
	{ "21.5", 0, 0, VD(21.5) },
	{ "-1.5e3", 0, 0, VD(-1500.0) },
	{ "1E2", 0, 0, VD(100.0) },
	{ "1e-2", 0, 0, VD(0.01) },
	{ "2.5E+1", 0, 0, VD(25.0) },
	{ "0.0", 0, 0, VD(0.0) },
	{ "-0.0", 0, 0, VD(-0.0) },
	{ "1e-400", 0, 0, VD(0.0) },
	{ "true", 0, 0, VB(1) },
	{ "false", 0, 0, VB(0) },
	{ "\"text\"", 0, 0, VS("text") },
	{ "\"\"", 0, 0, VS("") },
	{ "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", 0, 0,
	  VS("a\"b\\c/d\b\f\n\r\t") },
	{ "\"\\u00e9\"", 0, 0, VS("\xc3\xa9") },
	{ "\"\\u00E9t\\u00c9\"", 0, 0, VS("\xc3\xa9t\xc3\x89") },
	{ "\"\\u20AC\"", 0, 0, VS("\xe2\x82\xac") },
	{ "\"\\u0041\\u007f\"", 0, 0, VS("A\x7f") },
	{ "\"\\ud83d\\ude00\"", 0, 0, VS("\xf0\x9f\x98\x80") },
	{ "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"", 0, 0,
	  VS("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80") },
	{ "9223372036854775807", 0, 0, VI(INT64_MAX) },
	{ "9223372036854775808", 0, 0, VU(9223372036854775808ull) },
	{ "18446744073709551615", 0, 0, VU(UINT64_MAX) },
	{ "18446744073709551616", 0, 0, VD(18446744073709551616.0) },
	{ "-9223372036854775808", 0, 0, VI(INT64_MIN) },
	{ "-9223372036854775809", 0, 0, VD(-9223372036854775808.0) },
	{ "{\"value\": 21.5}", 0, 0, VD(21.5) },
	{ "{\"value\":42}", 0, 0, VI(42) },
	{ " { \"value\" : true } ", 0, 0, VB(1) },
	{ "{\n\t\"value\":\n\t\"x\"\n}\n", 0, 0, VS("x") },
	{ "{\"value\":\"x\",\"unit\":\"C\"}", 0, 0, VS("x") },
	{ "{\"ts\":[1,2,{\"a\":null}],\"value\":3}", 0, 0, VI(3) },
	{ "{\"value\":1,\"meta\":{\"by\":\"me\",\"at\":[],\"ok\":false}}", 0, 0,
	  VI(1) },
	{ "{\"valu\":0,\"value\":2,\"values\":[3]}", 0, 0, VI(2) },
	{ "{\"v\\u0061lue\":5}", 0, 0, VI(5) },
	{ "{\"value\":-0.5e-1}", 0, 0, VD(-0.05) },
	{ "42abc", 2, 0, VI(42) },
	{ "\"a\"junk", 3, 0, VS("a") },
	/* refused */
	{ "", 0, -1, VI(0) },
	{ "   \n", 0, -1, VI(0) },
	{ "[1]", 0, -1, VI(0) },
	{ "[]", 0, -1, VI(0) },
	{ "{}", 0, -1, VI(0) },
	{ "{\"v\":1}", 0, -1, VI(0) },
	{ "{\"value\":[1]}", 0, -1, VI(0) },
	{ "{\"value\":{\"value\":1}}", 0, -1, VI(0) },
	{ "{\"value\":null}", 0, -1, VI(0) },
	{ "{\"value\":1,\"value\":2}", 0, -1, VI(0) },
	{ "{\"value\":1,}", 0, -1, VI(0) },
	{ "{\"value\" 1}", 0, -1, VI(0) },
	{ "{\"value\":1", 0, -1, VI(0) },
	{ "{\"value\":}", 0, -1, VI(0) },
	{ "{value:1}", 0, -1, VI(0) },
	{ "{\"value\":1} x", 0, -1, VI(0) },
	{ "{\"value\":1}}", 0, -1, VI(0) },
	{ "{\"a\":[1,],\"value\":1}", 0, -1, VI(0) },
	{ "{\"a\":[1 2],\"value\":1}", 0, -1, VI(0) },
	{ "{\"a\":nul,\"value\":1}", 0, -1, VI(0) },
	{ "42 43", 0, -1, VI(0) },
	{ "42x", 0, -1, VI(0) },
	{ "4\0", 2, -1, VI(0) },
	{ "null", 0, -1, VI(0) },
	{ "tru", 0, -1, VI(0) },
	{ "True", 0, -1, VI(0) },
	{ "truex", 0, -1, VI(0) },
	{ "01", 0, -1, VI(0) },
	{ "-01", 0, -1, VI(0) },
	{ "1.", 0, -1, VI(0) },
	{ ".5", 0, -1, VI(0) },
	{ "+1", 0, -1, VI(0) },
	{ "-", 0, -1, VI(0) },
	{ "1e", 0, -1, VI(0) },
	{ "1e+", 0, -1, VI(0) },
	{ "0x10", 0, -1, VI(0) },
	{ "1e400", 0, -1, VI(0) },
	{ "-1e400", 0, -1, VI(0) },
	{ "NaN", 0, -1, VI(0) },
	{ "Infinity", 0, -1, VI(0) },
	{ "'a'", 0, -1, VI(0) },
	{ "\"abc", 0, -1, VI(0) },
	{ "\"abc\\", 0, -1, VI(0) },
	{ "\"a\\x\"", 0, -1, VI(0) },
	{ "\"a\\'\"", 0, -1, VI(0) },
	{ "\"\\u12\"", 0, -1, VI(0) },
	{ "\"\\u00zz\"", 0, -1, VI(0) },
	{ "\"\\ud800\"", 0, -1, VI(0) },
	{ "\"\\ud800\\u0041\"", 0, -1, VI(0) },
	{ "\"\\udc00\"", 0, -1, VI(0) },
	{ "\"\\u0000\"", 0, -1, VI(0) },
	{ "\"a\nb\"", 0, -1, VI(0) },
	{ "\"a\tb\"", 0, -1, VI(0) },
	{ "\"a\0b\"", 5, -1, VI(0) },
	{ "\"\xff\"", 0, -1, VI(0) },
	{ "\"\xc3\"", 0, -1, VI(0) },
	{ "\"\xc0\xaf\"", 0, -1, VI(0) },
	{ "\"\xe0\x80\xaf\"", 0, -1, VI(0) },
	{ "\"\xed\xa0\x80\"", 0, -1, VI(0) },
	{ "\"\xf4\x90\x80\x80\"", 0, -1, VI(0) },
	{ "\"\xf0\x9f\x98\"", 0, -1, VI(0) },
	{ "\xef\xbb\xbf" "42", 0, -1, VI(0) },
};

START_TEST(test_parse)
{
	const struct pcase	*c = &pcases[_i];
	struct drv_value	 v = VI(777);
	size_t			 len = c->len ? c->len : strlen(c->in);
	char			 why[128] = "", a[64], b[64];
	int			 r;

	r = drv_parse_value(c->in, len, &v, why, sizeof(why));
	ck_assert_msg(r == c->ret, "case %d \"%s\": returned %d (%s)", _i,
	    c->in, r, why);
	if (r == 0)
		ck_assert_msg(value_eq(&v, &c->want), "case %d \"%s\": got %s, "
		    "want %s", _i, c->in, vtext(&v, a, sizeof(a)),
		    vtext(&c->want, b, sizeof(b)));
	else {
		ck_assert_msg(why[0] != '\0', "case %d: no reason", _i);
		ck_assert_msg(v.kind == DRV_V_INT && v.i == 777,
		    "case %d: out changed on failure", _i);
	}
}
END_TEST

/* Strings at the length limit, deep nesting, NULL and long numbers. */
START_TEST(test_parse_limits)
{
	char			 in[2048], why[128];
	struct drv_value	 v;
	size_t			 n;

	in[0] = '"';
	memset(in + 1, 'x', DRV_STRING_MAX);
	in[DRV_STRING_MAX + 1] = '"';
	ck_assert_int_eq(drv_parse_value(in, DRV_STRING_MAX + 2, &v, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(strlen(v.str), DRV_STRING_MAX);
	in[DRV_STRING_MAX + 1] = 'x';
	in[DRV_STRING_MAX + 2] = '"';
	ck_assert_int_eq(drv_parse_value(in, DRV_STRING_MAX + 3, &v, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "longer than 250"));
	/* 249 bytes then a 2-byte character: 251 bytes, too long. */
	memcpy(in + DRV_STRING_MAX, "\\u00e9\"", 7);
	ck_assert_int_eq(drv_parse_value(in, DRV_STRING_MAX + 7, &v, why,
	    sizeof(why)), -1);

	/* Nesting under an ignored key: 30 levels pass, 40 do not. */
	for (int depth = 30; depth <= 40; depth += 10) {
		n = (size_t)snprintf(in, sizeof(in), "{\"value\":1,\"x\":");
		for (int k = 0; k < depth; k++)
			in[n++] = '[';
		for (int k = 0; k < depth; k++)
			in[n++] = ']';
		in[n++] = '}';
		ck_assert_int_eq(drv_parse_value(in, n, &v, why, sizeof(why)),
		    depth == 30 ? 0 : -1);
	}
	memset(in, '1', 200);
	ck_assert_int_eq(drv_parse_value(in, 200, &v, why, sizeof(why)), -1);
	ck_assert_int_eq(drv_parse_value(in, 25, &v, why, sizeof(why)), 0);
	ck_assert_int_eq(v.kind, DRV_V_DOUBLE);
	ck_assert_int_eq(drv_parse_value(NULL, 0, &v, why, sizeof(why)), -1);
	ck_assert_int_eq(drv_parse_value("42", 2, &v, NULL, 0), 0);
	ck_assert_int_eq(drv_parse_value("4x", 2, &v, NULL, 0), -1);
}
END_TEST

static const struct jcase {
	struct drv_value	 v;
	const char		*want;
} jcases[] = {
	{ VB(1), "true" },
	{ VB(0), "false" },
	{ VI(0), "0" },
	{ VI(-5), "-5" },
	{ VI(INT64_MIN), "-9223372036854775808" },
	{ VU(UINT64_MAX), "18446744073709551615" },
	{ VD(21.5), "21.5" },
	{ VD(0.1), "0.1" },
	{ VD(100.0), "100" },
	{ VD(-0.0), "-0" },
	{ VD(1.0 / 3), "0.33333333333333331" },
	{ VD((double)123.456f), "123.45600128173828" },
	{ VD(1e20), "1e+20" },
	{ VD(1e-7), "1e-07" },
	{ VD(DBL_MAX), "1.7976931348623157e+308" },
	{ VD(0x1p-1074), "4.94065645841247e-324" },
	{ VD(NAN), "null" },
	{ VD(INFINITY), "null" },
	{ VD(-INFINITY), "null" },
	{ VS(""), "\"\"" },
	{ VS("text"), "\"text\"" },
	{ VS("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"" },
	{ VS("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"" },
	{ VS("\x01\x1f\x7f"), "\"\\u0001\\u001f\\u007f\"" },
	{ VS("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
	  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"" },
	{ VS("caf\xe9"), "\"caf\\u00e9\"" },
	{ VS("\xc3"), "\"\\u00c3\"" },
	{ VS("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"" },
};

START_TEST(test_json)
{
	const struct jcase	*c = &jcases[_i];
	char			 buf[64];
	size_t			 n;

	n = drv_value_json(&c->v, buf, sizeof(buf));
	ck_assert_str_eq(buf, c->want);
	ck_assert_uint_eq(n, strlen(c->want));
}
END_TEST

/* Output that does not fit: cut, terminated, full length returned. */
START_TEST(test_json_truncate)
{
	struct drv_value	 v = VS("abcdef"), w;
	char			 buf[2048];
	size_t			 n;

	memset(buf, 'Z', sizeof(buf));
	ck_assert_uint_eq(drv_value_json(&v, buf, 4), 8);
	ck_assert_str_eq(buf, "\"ab");
	ck_assert_int_eq(buf[4], 'Z');
	ck_assert_uint_eq(drv_value_json(&v, NULL, 0), 8);
	v.kind = DRV_V_INT;
	v.i = 123456;
	ck_assert_uint_eq(drv_value_json(&v, buf, 3), 6);
	ck_assert_str_eq(buf, "12");
	/* The longest text: every byte of a full string escaped. */
	memset(v.str, 1, DRV_STRING_MAX);
	v.str[DRV_STRING_MAX] = '\0';
	v.kind = DRV_V_STRING;
	n = drv_value_json(&v, buf, sizeof(buf));
	ck_assert_uint_eq(n, 2 + 6 * DRV_STRING_MAX);
	ck_assert_int_eq(drv_parse_value(buf, n, &w, NULL, 0), 0);
	ck_assert_str_eq(w.str, v.str);
}
END_TEST

/* Every decoded value and every parsed one reads back the same. */
START_TEST(test_json_round_trip)
{
	struct drv_value	 back;
	char			 buf[2048];
	size_t			 n;

	for (size_t k = 0; k < NELEM(pcases); k++) {
		const struct drv_value *v = &pcases[k].want;

		if (pcases[k].ret != 0 || (v->kind == DRV_V_DOUBLE &&
		    v->d == rint(v->d) && fabs(v->d) < 1e15))
			continue;
		n = drv_value_json(v, buf, sizeof(buf));
		ck_assert_int_eq(drv_parse_value(buf, n, &back, NULL, 0), 0);
		ck_assert_msg(value_eq(&back, v), "%s", buf);
	}
}
END_TEST

static const struct ccase {
	struct drv_value	 a, b;
	double			 deadband;
	int			 changed;
} ccases[] = {
	{ VI(5), VI(5), 0, 0 },
	{ VI(5), VI(6), 0, 1 },
	{ VI(5), VI(6), 1, 0 },
	{ VI(5), VI(7), 1, 1 },
	{ VI(5), VI(6), 0.5, 1 },
	{ VI(INT64_MAX), VI(INT64_MAX - 1), 0, 1 },
	{ VU(UINT64_MAX), VU(UINT64_MAX - 1), 0, 1 },
	{ VU(UINT64_MAX), VU(UINT64_MAX), 0, 0 },
	{ VU(10), VU(20), 10, 0 },
	{ VU(10), VU(21), 10, 1 },
	{ VD(21.5), VD(21.5), 0, 0 },
	{ VD(21.5), VD(21.6), 0, 1 },
	{ VD(21.5), VD(21.6), 0.2, 0 },
	{ VD(21.5), VD(21.8), 0.2, 1 },
	{ VD(21.5), VD(21.0), 0.5, 0 },
	{ VD(21.5), VD(20.9), 0.5, 1 },
	{ VD(0.0), VD(-0.0), 0, 0 },
	{ VD(NAN), VD(NAN), 0, 0 },
	{ VD(NAN), VD(1.0), 1e9, 1 },
	{ VD(1.0), VD(NAN), 0, 1 },
	{ VD(INFINITY), VD(INFINITY), 0, 0 },
	{ VD(INFINITY), VD(-INFINITY), 0, 1 },
	{ VD(INFINITY), VD(1e300), 1e9, 1 },
	{ VD(1.0), VD(2.0), -1, 1 },
	{ VD(1.0), VD(1.0), -1, 0 },
	{ VD(1.0), VD(2.0), NAN, 1 },
	{ VB(1), VB(1), 0, 0 },
	{ VB(1), VB(0), 0, 1 },
	{ VB(1), VB(0), 100, 1 },
	{ VS("a"), VS("a"), 0, 0 },
	{ VS("a"), VS("b"), 0, 1 },
	{ VS("a"), VS("ab"), 100, 1 },
	{ VI(1), VD(1.0), 0, 1 },
	{ VI(1), VU(1), 0, 1 },
	{ VI(1), VB(1), 0, 1 },
	{ VS("1"), VI(1), 0, 1 },
};

START_TEST(test_changed)
{
	const struct ccase	*c = &ccases[_i];

	ck_assert_msg(drv_value_changed(&c->a, &c->b, c->deadband) ==
	    c->changed, "case %d", _i);
	ck_assert_msg(drv_value_changed(&c->b, &c->a, c->deadband) ==
	    c->changed, "case %d reversed", _i);
}
END_TEST

static Suite *
value_codec_suite(void)
{
	Suite	*s = suite_create("value_codec");
	TCase	*tc;

	tc = tcase_create("decode");
	tcase_add_loop_test(tc, test_decode, 0, NELEM(dcases));
	tcase_add_test(tc, test_registers);
	tcase_add_test(tc, test_decode_bit);
	suite_add_tcase(s, tc);
	tc = tcase_create("encode");
	tcase_add_loop_test(tc, test_encode_image, 0, NELEM(dcases));
	tcase_add_loop_test(tc, test_encode, 0, NELEM(ecases));
	tcase_add_test(tc, test_encode_room);
	tcase_add_test(tc, test_coil);
	tcase_add_loop_test(tc, test_bits, 0, 16);
	suite_add_tcase(s, tc);
	tc = tcase_create("round_trip");
	tcase_add_loop_test(tc, test_round_trip, 0, NELEM(rtcases));
	tcase_add_test(tc, test_float_shortest);
	tcase_add_loop_test(tc, test_random_images, 0, 8);
	tcase_add_loop_test(tc, test_scaled_images, 0, 6);
	suite_add_tcase(s, tc);
	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse, 0, NELEM(pcases));
	tcase_add_test(tc, test_parse_limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_loop_test(tc, test_json, 0, NELEM(jcases));
	tcase_add_test(tc, test_json_truncate);
	tcase_add_test(tc, test_json_round_trip);
	suite_add_tcase(s, tc);
	tc = tcase_create("changed");
	tcase_add_loop_test(tc, test_changed, 0, NELEM(ccases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(value_codec_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
