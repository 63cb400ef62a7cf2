/*
 * Unit tests of the Modbus read planner (drivers/plan.c): merging by gap
 * and limit, tables, unsorted and overlapping input, a greedy reference
 * on random layouts, and remembered splits.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/plan.h"
#include "util.h"

#define H	PLAN_HOLDING
#define I	PLAN_INPUT
#define C	PLAN_COIL
#define D	PLAN_DISCRETE

/*
 * An assertion for hot loops: Check's own ck_assert reports every pass to
 * the parent process, which costs seconds over a million checks.
 */
#define REQUIRE(e) do {							\
	if (!(e))							\
		ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #e);	\
} while (0)

/* n items of count registers (or bits) from addr, one every step. */
struct run {
	enum plan_table	 table;
	uint16_t	 addr;
	uint16_t	 n;
	uint16_t	 count;
	uint16_t	 step;
};

struct want {
	enum plan_table	 table;
	uint16_t	 address;
	uint16_t	 count;
	size_t		 nitems;
};

struct pcase {
	const char	*name;
	unsigned	 max_gap;
	unsigned	 max_registers;
	struct run	 runs[6];
	struct want	 want[6];
};

static const struct pcase cases[] = {
	{ "contiguous", 10, 125, { { H, 0, 10, 1, 1 } },
	  { { H, 0, 10, 10 } } },
	{ "contiguous mixed sizes", 10, 125,
	  { { H, 0, 3, 2, 2 }, { H, 6, 1, 1, 1 } }, { { H, 0, 7, 4 } } },
	{ "gap equal to max_gap merges", 10, 125,
	  { { H, 0, 2, 1, 11 } }, { { H, 0, 12, 2 } } },
	{ "gap above max_gap splits", 10, 125,
	  { { H, 0, 2, 1, 12 } }, { { H, 0, 1, 1 }, { H, 12, 1, 1 } } },
	{ "gap after a wide item", 3, 125,
	  { { H, 0, 1, 4, 1 }, { H, 7, 1, 2, 1 }, { H, 13, 1, 1, 1 } },
	  { { H, 0, 9, 2 }, { H, 13, 1, 1 } } },
	{ "max_gap 0 adjacent", 0, 125, { { H, 0, 5, 1, 1 } },
	  { { H, 0, 5, 5 } } },
	{ "max_gap 0 hole", 0, 125,
	  { { H, 0, 2, 1, 1 }, { H, 3, 1, 1, 1 } },
	  { { H, 0, 2, 2 }, { H, 3, 1, 1 } } },
	{ "125-register limit", 10, 125, { { H, 0, 200, 1, 1 } },
	  { { H, 0, 125, 125 }, { H, 125, 75, 75 } } },
	{ "limit with gaps", 125, 125, { { I, 0, 2, 1, 124 } },
	  { { I, 0, 125, 2 } } },
	{ "limit one past", 125, 125, { { I, 0, 2, 1, 125 } },
	  { { I, 0, 1, 1 }, { I, 125, 1, 1 } } },
	{ "max_registers above 125 clamped", 10, 500, { { H, 0, 200, 1, 1 } },
	  { { H, 0, 125, 125 }, { H, 125, 75, 75 } } },
	{ "max_registers 10", 10, 10, { { H, 0, 25, 1, 1 } },
	  { { H, 0, 10, 10 }, { H, 10, 10, 10 }, { H, 20, 5, 5 } } },
	{ "max_registers 10 uint32", 10, 10, { { I, 100, 7, 2, 2 } },
	  { { I, 100, 10, 5 }, { I, 110, 4, 2 } } },
	{ "2000-bit coil limit", 10, 125, { { C, 0, 3000, 1, 1 } },
	  { { C, 0, 2000, 2000 }, { C, 2000, 1000, 1000 } } },
	{ "discrete limit", 10, 125, { { D, 10, 2500, 1, 1 } },
	  { { D, 10, 2000, 2000 }, { D, 2010, 500, 500 } } },
	{ "bits ignore max_registers", 10, 10, { { C, 0, 300, 1, 1 } },
	  { { C, 0, 300, 300 } } },
	{ "bit gaps", 5, 125, { { C, 0, 3, 1, 6 }, { C, 20, 1, 1, 1 } },
	  { { C, 0, 13, 3 }, { C, 20, 1, 1 } } },
	{ "tables never merge", 10, 125,
	  { { H, 0, 2, 1, 1 }, { I, 0, 1, 1, 1 }, { C, 0, 1, 1, 1 },
	    { D, 0, 1, 1, 1 } },
	  { { C, 0, 1, 1 }, { D, 0, 1, 1 }, { I, 0, 1, 1 }, { H, 0, 2, 2 } } },
	{ "unsorted input", 10, 125,
	  { { H, 50, 1, 1, 1 }, { I, 5, 1, 1, 1 }, { H, 0, 1, 2, 1 },
	    { H, 30, 1, 1, 1 }, { I, 0, 1, 1, 1 }, { H, 40, 1, 1, 1 } },
	  { { I, 0, 6, 2 }, { H, 0, 2, 1 }, { H, 30, 21, 3 } } },
	{ "duplicates", 10, 125,
	  { { H, 5, 1, 1, 1 }, { H, 5, 1, 1, 1 }, { H, 5, 1, 1, 1 } },
	  { { H, 5, 1, 3 } } },
	{ "bit and word tag on one register", 0, 125,
	  { { H, 10, 1, 1, 1 }, { H, 10, 1, 2, 1 }, { H, 11, 1, 2, 1 } },
	  { { H, 10, 3, 3 } } },
	{ "item inside another", 0, 125,
	  { { H, 0, 1, 8, 1 }, { H, 2, 2, 1, 1 }, { H, 8, 1, 1, 1 } },
	  { { H, 0, 9, 4 } } },
	{ "4 registers at 123 cross the limit", 10, 125,
	  { { H, 0, 123, 1, 1 }, { H, 123, 1, 4, 1 } },
	  { { H, 0, 123, 123 }, { H, 123, 4, 1 } } },
	{ "4 registers at 121 fit", 10, 125,
	  { { H, 0, 121, 1, 1 }, { H, 121, 1, 4, 1 } },
	  { { H, 0, 125, 122 } } },
	{ "overlap crossing the limit", 10, 125,
	  { { H, 0, 1, 120, 1 }, { H, 118, 1, 8, 1 } },
	  { { H, 0, 120, 1 }, { H, 118, 8, 1 } } },
	{ "oversized item alone", 10, 125,
	  { { H, 0, 1, 130, 1 }, { H, 5, 1, 1, 1 }, { H, 130, 1, 1, 1 } },
	  { { H, 0, 130, 1 }, { H, 5, 1, 1 }, { H, 130, 1, 1 } } },
	{ "oversized for max_registers 10", 10, 10,
	  { { H, 0, 1, 1, 1 }, { H, 1, 1, 20, 1 }, { H, 21, 1, 1, 1 } },
	  { { H, 0, 1, 1 }, { H, 1, 20, 1 }, { H, 21, 1, 1 } } },
	{ "top of the address space", 10, 125,
	  { { H, 65530, 3, 2, 2 } }, { { H, 65530, 6, 3 } } },
};

/* Builds the items of a case, tags numbered in order; returns n. */
static size_t
case_items(const struct pcase *c, struct plan_item **out)
{
	struct plan_item	*v = NULL;
	size_t			 n = 0, r, j;

	for (r = 0; r < FMQ_NELEM(c->runs) && c->runs[r].n != 0; r++) {
		const struct run *ru = &c->runs[r];

		v = xreallocarray(v, n + ru->n, sizeof(*v));
		for (j = 0; j < ru->n; j++) {
			v[n].table = ru->table;
			v[n].address = (uint16_t)(ru->addr + j * ru->step);
			v[n].count = ru->count;
			v[n].tag = n;
			n++;
		}
	}
	*out = v;
	return n;
}

/* Orders items fully, to compare two lists as multisets. */
static int
item_cmp(const void *a, const void *b)
{
	const struct plan_item	*x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return 0;
}

/* The request limit of a table, as the planner should apply it. */
static unsigned
table_limit(enum plan_table t, unsigned max_registers)
{
	if (t == PLAN_COIL || t == PLAN_DISCRETE)
		return 2000;
	return max_registers > 125 ? 125 : max_registers;
}

/*
 * Checks what must hold of any plan: the items are the input sorted, the
 * blocks partition them in order, each block is the union of its items,
 * ordered by table then address, and within the limit unless alone.
 */
static void
check_invariants(const struct plan *p, const struct plan_item *in, size_t n,
    unsigned max_registers)
{
	const struct plan_item	*its = plan_items(p);
	const struct plan_block	*b, *prev = NULL;
	struct plan_item	*x, *y;
	size_t			 i, k, next = 0;
	uint32_t		 end;

	x = xreallocarray(NULL, n, sizeof(*x));
	y = xreallocarray(NULL, n, sizeof(*y));
	if (n != 0) {
		memcpy(x, in, n * sizeof(*x));
		memcpy(y, its, n * sizeof(*y));
	}
	qsort(x, n, sizeof(*x), item_cmp);
	qsort(y, n, sizeof(*y), item_cmp);
	ck_assert_msg(n == 0 || memcmp(x, y, n * sizeof(*x)) == 0,
	    "items are not the input");
	free(x);
	free(y);
	for (k = 1; k < n; k++) {
		REQUIRE(its[k - 1].table <= its[k].table);
		if (its[k - 1].table == its[k].table)
			REQUIRE(its[k - 1].address <= its[k].address);
	}

	for (i = 0; i < plan_nblocks(p); i++) {
		b = plan_block(p, i);
		REQUIRE(b != NULL);
		REQUIRE(b->first == next);
		REQUIRE(b->nitems >= 1);
		next += b->nitems;
		REQUIRE(next <= n);
		if (prev != NULL) {
			REQUIRE(prev->table <= b->table);
			if (prev->table == b->table)
				REQUIRE(prev->address <= b->address);
		}
		end = 0;
		for (k = b->first; k < b->first + b->nitems; k++) {
			REQUIRE(its[k].table == b->table);
			REQUIRE(its[k].address >= b->address);
			if ((uint32_t)its[k].address + its[k].count > end)
				end = (uint32_t)its[k].address + its[k].count;
		}
		REQUIRE(its[b->first].address == b->address);
		REQUIRE(end - b->address == b->count);
		if (b->nitems > 1)
			REQUIRE(b->count <=
			    table_limit(b->table, max_registers));
		prev = b;
	}
	REQUIRE(next == n);
	ck_assert_ptr_null(plan_block(p, plan_nblocks(p)));
}

/* Compares a plan's blocks with a case's expectation. */
static void
check_want(const struct plan *p, const struct pcase *c, const char *how)
{
	const struct plan_block	*b;
	size_t			 i, nwant = 0;

	while (nwant < FMQ_NELEM(c->want) && c->want[nwant].nitems != 0)
		nwant++;
	ck_assert_msg(plan_nblocks(p) == nwant, "%s (%s): %zu blocks, want %zu",
	    c->name, how, plan_nblocks(p), nwant);
	for (i = 0; i < nwant; i++) {
		b = plan_block(p, i);
		ck_assert_msg(b->table == c->want[i].table &&
		    b->address == c->want[i].address &&
		    b->count == c->want[i].count &&
		    b->nitems == c->want[i].nitems,
		    "%s (%s): block %zu is %d:%u+%u (%zu items), want "
		    "%d:%u+%u (%zu items)", c->name, how, i, (int)b->table,
		    b->address, b->count, b->nitems, (int)c->want[i].table,
		    c->want[i].address, c->want[i].count, c->want[i].nitems);
	}
}

/* Each case planned from its items in order and in reverse order. */
START_TEST(test_cases)
{
	const struct pcase	*c = &cases[_i];
	struct plan_item	*items, *rev;
	struct plan		*p;
	size_t			 n, k;

	n = case_items(c, &items);
	p = plan_new(items, n, c->max_gap, c->max_registers);
	check_invariants(p, items, n, c->max_registers);
	check_want(p, c, "in order");
	plan_free(p);

	rev = xreallocarray(NULL, n, sizeof(*rev));
	for (k = 0; k < n; k++)
		rev[k] = items[n - 1 - k];
	p = plan_new(rev, n, c->max_gap, c->max_registers);
	check_invariants(p, rev, n, c->max_registers);
	check_want(p, c, "reversed");
	plan_free(p);
	free(rev);
	free(items);
}
END_TEST

/* No items, no blocks; nothing to split. */
START_TEST(test_empty)
{
	struct plan	*p = plan_new(NULL, 0, 10, 125);

	ck_assert_uint_eq(plan_nblocks(p), 0);
	ck_assert_ptr_null(plan_block(p, 0));
	ck_assert_int_eq(plan_split(p, 0), -1);
	plan_free(p);
	plan_free(NULL);
}
END_TEST

/* The caller's items are copied, not borrowed. */
START_TEST(test_copied)
{
	struct plan_item	 in[2] = {
		{ H, 10, 1, 7 }, { H, 0, 2, 8 },
	};
	struct plan		*p = plan_new(in, 2, 10, 125);

	memset(in, 0xff, sizeof(in));
	ck_assert_uint_eq(plan_items(p)[0].address, 0);
	ck_assert_uint_eq(plan_items(p)[0].tag, 8);
	ck_assert_uint_eq(plan_items(p)[1].address, 10);
	ck_assert_uint_eq(plan_items(p)[1].tag, 7);
	ck_assert_uint_eq(plan_block(p, 0)->count, 11);
	plan_free(p);
}
END_TEST

/* A small deterministic generator (xorshift32). */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * 1,000 non-overlapping tags per layout, generated in address order per
 * table, with random sizes and gaps; returned shuffled.
 */
static struct plan_item *
random_items(uint32_t seed, size_t n)
{
	static const uint16_t	 sizes[] = { 1, 1, 1, 2, 2, 4 };
	struct plan_item	*v = xreallocarray(NULL, n, sizeof(*v));
	uint32_t		 next[4] = { 0, 0, 0, 0 }, s = seed, a;
	size_t			 k, j;
	struct plan_item	 t;

	for (k = 0; k < n; k++) {
		v[k].table = (enum plan_table)(rnd(&s) % 4);
		a = next[v[k].table] + (rnd(&s) % 3 == 0 ? rnd(&s) % 30 : 0);
		v[k].address = (uint16_t)a;
		v[k].count = v[k].table == H || v[k].table == I ?
		    sizes[rnd(&s) % FMQ_NELEM(sizes)] : 1;
		v[k].tag = k;
		next[v[k].table] = a + v[k].count;
	}
	for (k = n - 1; k > 0; k--) {
		j = rnd(&s) % (k + 1);
		t = v[k];
		v[k] = v[j];
		v[j] = t;
	}
	return v;
}

/*
 * The reference: for each table, walk the items in generation order (by
 * tag) and start a request whenever the gap or the limit says so.
 */
static size_t
greedy_blocks(const struct plan_item *v, size_t n, unsigned max_gap,
    unsigned max_registers)
{
	const struct plan_item	**bytag = xcalloc(n, sizeof(*bytag));
	size_t			 k, blocks = 0;
	int			 t, open;
	uint32_t		 start = 0, end = 0;

	for (k = 0; k < n; k++)
		bytag[v[k].tag] = &v[k];
	for (t = 0; t < 4; t++) {
		open = 0;
		for (k = 0; k < n; k++) {
			const struct plan_item *it = bytag[k];

			if ((int)it->table != t)
				continue;
			if (open && it->address - end <= max_gap &&
			    it->address + it->count - start <=
			    table_limit(it->table, max_registers)) {
				end = it->address + it->count;
				continue;
			}
			blocks++;
			open = 1;
			start = it->address;
			end = it->address + it->count;
		}
	}
	free(bytag);
	return blocks;
}

/* Asserts every item lies inside its own block and no other of its table. */
static void
check_exactly_one(const struct plan *p)
{
	const struct plan_item	*its = plan_items(p);
	const struct plan_block	*b;
	size_t			 i, j, k;
	uint32_t		 lo, hi;

	for (i = 0; i < plan_nblocks(p); i++) {
		b = plan_block(p, i);
		for (k = b->first; k < b->first + b->nitems; k++) {
			lo = its[k].address;
			hi = lo + its[k].count;
			REQUIRE(lo >= b->address);
			REQUIRE(hi <= (uint32_t)b->address + b->count);
			for (j = 0; j < plan_nblocks(p); j++) {
				const struct plan_block *o = plan_block(p, j);

				if (j == i || o->table != its[k].table)
					continue;
				if (hi > o->address &&
				    lo < (uint32_t)o->address + o->count)
					ck_abort_msg("item %zu also in "
					    "block %zu", k, j);
			}
		}
	}
}

static const struct {
	uint32_t	seed;
	unsigned	max_gap, max_registers;
} layouts[] = {
	{ 1, 10, 125 }, { 2, 0, 125 }, { 3, 10, 10 }, { 4, 30, 125 },
	{ 5, 5, 60 }, { 6, 125, 125 }, { 7, 1, 1 }, { 8, 10, 125 },
};

/* Random layouts: block count as the reference, and exact membership. */
START_TEST(test_random)
{
	const size_t		 n = 1000;
	struct plan_item	*v = random_items(layouts[_i].seed, n);
	struct plan		*p;
	size_t			 want;

	want = greedy_blocks(v, n, layouts[_i].max_gap,
	    layouts[_i].max_registers);
	p = plan_new(v, n, layouts[_i].max_gap, layouts[_i].max_registers);
	check_invariants(p, v, n, layouts[_i].max_registers);
	ck_assert_uint_eq(plan_nblocks(p), want);
	check_exactly_one(p);
	plan_free(p);
	free(v);
}
END_TEST

/* A plan of n contiguous uint16 holding registers from 0. */
static struct plan *
contiguous(size_t n, unsigned max_gap, struct plan_item **out)
{
	struct plan_item	*v = xreallocarray(NULL, n, sizeof(*v));
	struct plan		*p;
	size_t			 k;

	for (k = 0; k < n; k++) {
		v[k].table = H;
		v[k].address = (uint16_t)k;
		v[k].count = 1;
		v[k].tag = k;
	}
	p = plan_new(v, n, max_gap, 125);
	*out = v;
	return p;
}

/* Asserts block i is address+count with nitems items. */
static void
check_block(const struct plan *p, size_t i, unsigned address, unsigned count,
    size_t nitems)
{
	const struct plan_block	*b = plan_block(p, i);

	ck_assert_ptr_nonnull(b);
	ck_assert_msg(b->address == address && b->count == count &&
	    b->nitems == nitems, "block %zu is %u+%u (%zu items), want "
	    "%u+%u (%zu items)", i, b->address, b->count, b->nitems, address,
	    count, nitems);
}

/* Contiguous blocks split into halves, the first ceil(n / 2) items. */
START_TEST(test_split_halves)
{
	struct plan_item	*v;
	struct plan		*p = contiguous(10, 10, &v);

	ck_assert_uint_eq(plan_nblocks(p), 1);
	ck_assert_int_eq(plan_split(p, 0), 0);
	check_invariants(p, v, 10, 125);
	ck_assert_uint_eq(plan_nblocks(p), 2);
	check_block(p, 0, 0, 5, 5);
	check_block(p, 1, 5, 5, 5);
	ck_assert_int_eq(plan_split(p, 1), 0);
	check_block(p, 1, 5, 3, 3);
	check_block(p, 2, 8, 2, 2);
	ck_assert_int_eq(plan_split(p, 2), 0);
	check_block(p, 2, 8, 1, 1);
	check_block(p, 3, 9, 1, 1);
	ck_assert_int_eq(plan_split(p, 9), -1);
	plan_free(p);
	free(v);
}
END_TEST

/* One item, or items that all cover one range, cannot be split. */
START_TEST(test_split_single)
{
	struct plan_item	 one[] = { { H, 40, 2, 0 } };
	struct plan_item	 same[] = { { H, 7, 1, 0 }, { H, 7, 1, 1 } };
	struct plan		*p;

	p = plan_new(one, FMQ_NELEM(one), 10, 125);
	ck_assert_int_eq(plan_split(p, 0), -1);
	ck_assert_uint_eq(plan_nblocks(p), 1);
	check_block(p, 0, 40, 2, 1);
	plan_free(p);

	p = plan_new(same, FMQ_NELEM(same), 10, 125);
	ck_assert_int_eq(plan_split(p, 0), -1);
	ck_assert_uint_eq(plan_nblocks(p), 1);
	check_block(p, 0, 7, 1, 2);
	plan_free(p);
}
END_TEST

/* A bit tag and a word tag on one register can be read apart. */
START_TEST(test_split_same_address)
{
	struct plan_item	 v[] = { { H, 10, 1, 0 }, { H, 10, 2, 1 } };
	struct plan		*p = plan_new(v, FMQ_NELEM(v), 10, 125);

	check_block(p, 0, 10, 2, 2);
	ck_assert_int_eq(plan_split(p, 0), 0);
	check_invariants(p, v, FMQ_NELEM(v), 125);
	check_block(p, 0, 10, 2, 1);
	check_block(p, 1, 10, 1, 1);
	ck_assert_uint_eq(plan_items(p)[1].tag, 0);
	ck_assert_int_eq(plan_split(p, 0), -1);
	ck_assert_int_eq(plan_split(p, 1), -1);
	plan_free(p);
}
END_TEST

static const struct {
	const char		*name;
	struct plan_item	 items[8];
	size_t			 n;
	unsigned		 addr2;	/* where the second half starts */
} gaps[] = {
	/* The largest gap wins over the middle. */
	{ "early gap", { { H, 0, 1, 0 }, { H, 5, 1, 1 }, { H, 6, 1, 2 },
	    { H, 7, 1, 3 }, { H, 8, 1, 4 }, { H, 9, 1, 5 } }, 6, 5 },
	{ "late gap", { { H, 0, 1, 0 }, { H, 1, 1, 1 }, { H, 2, 1, 2 },
	    { H, 3, 2, 3 }, { H, 6, 1, 4 }, { H, 14, 1, 5 } }, 6, 14 },
	{ "largest of three", { { H, 0, 1, 0 }, { H, 2, 1, 1 },
	    { H, 4, 1, 2 }, { H, 9, 1, 3 }, { H, 11, 1, 4 } }, 5, 9 },
	/* Equal gaps: the one nearest the middle. */
	{ "equal gaps", { { I, 0, 1, 0 }, { I, 2, 1, 1 }, { I, 4, 1, 2 },
	    { I, 6, 1, 3 }, { I, 8, 1, 4 } }, 5, 6 },
	/* Adjacency is preferred to an overlap. */
	{ "not inside an overlap", { { H, 0, 4, 0 }, { H, 2, 1, 1 },
	    { H, 3, 1, 2 }, { H, 4, 1, 3 } }, 4, 4 },
	{ "coils", { { C, 100, 1, 0 }, { C, 101, 1, 1 }, { C, 109, 1, 2 },
	    { C, 110, 1, 3 } }, 4, 109 },
};

/* A block splits at its largest gap of unrequested addresses. */
START_TEST(test_split_gap)
{
	struct plan	*p = plan_new(gaps[_i].items, gaps[_i].n, 10, 125);

	ck_assert_msg(plan_nblocks(p) == 1, "%s", gaps[_i].name);
	ck_assert_int_eq(plan_split(p, 0), 0);
	check_invariants(p, gaps[_i].items, gaps[_i].n, 125);
	ck_assert_msg(plan_nblocks(p) == 2, "%s: %zu blocks", gaps[_i].name,
	    plan_nblocks(p));
	ck_assert_msg(plan_block(p, 1)->address == gaps[_i].addr2,
	    "%s: second half at %u, want %u", gaps[_i].name,
	    plan_block(p, 1)->address, gaps[_i].addr2);
	plan_free(p);
}
END_TEST

/* Splitting block by block ends with one item per block. */
START_TEST(test_split_converges)
{
	struct plan_item	*v;
	struct plan		*p = contiguous(37, 10, &v);
	size_t			 i, splits = 0;

	for (i = 0; i < plan_nblocks(p);) {
		if (plan_split(p, i) == 0) {
			splits++;
			check_invariants(p, v, 37, 125);
			continue;
		}
		ck_assert_uint_eq(plan_block(p, i)->nitems, 1);
		i++;
	}
	ck_assert_uint_eq(splits, 36);
	ck_assert_uint_eq(plan_nblocks(p), 37);
	for (i = 0; i < 37; i++) {
		check_block(p, i, (unsigned)i, 1, 1);
		ck_assert_int_eq(plan_split(p, i), -1);
	}
	plan_free(p);
	free(v);
}
END_TEST

/*
 * A split changes only the block split: the second half does not grow
 * into the next block, and later splits elsewhere keep the earlier one.
 */
START_TEST(test_split_remembered)
{
	struct plan_item	*v;
	struct plan		*p = contiguous(300, 10, &v);

	check_block(p, 0, 0, 125, 125);
	check_block(p, 1, 125, 125, 125);
	check_block(p, 2, 250, 50, 50);

	ck_assert_int_eq(plan_split(p, 0), 0);
	ck_assert_uint_eq(plan_nblocks(p), 4);
	check_block(p, 0, 0, 63, 63);
	check_block(p, 1, 63, 62, 62);
	check_block(p, 2, 125, 125, 125);
	check_block(p, 3, 250, 50, 50);

	ck_assert_int_eq(plan_split(p, 2), 0);
	ck_assert_int_eq(plan_split(p, 4), 0);
	check_invariants(p, v, 300, 125);
	ck_assert_uint_eq(plan_nblocks(p), 6);
	check_block(p, 0, 0, 63, 63);
	check_block(p, 1, 63, 62, 62);
	check_block(p, 2, 125, 63, 63);
	check_block(p, 3, 188, 62, 62);
	check_block(p, 4, 250, 25, 25);
	check_block(p, 5, 275, 25, 25);

	ck_assert_int_eq(plan_split(p, 1), 0);
	ck_assert_uint_eq(plan_nblocks(p), 7);
	check_block(p, 0, 0, 63, 63);
	check_block(p, 1, 63, 31, 31);
	check_block(p, 2, 94, 31, 31);
	check_block(p, 3, 125, 63, 63);
	plan_free(p);
	free(v);
}
END_TEST

/*
 * Random splits of random layouts: each split adds exactly one block,
 * leaves the blocks before and after it as they were, and every block
 * start seen so far stays a block start.
 */
START_TEST(test_split_random)
{
	const size_t		 n = 1000;
	struct plan_item	*v = random_items(layouts[_i].seed + 100, n);
	struct plan		*p;
	struct plan_block	*before;
	unsigned char		*starts = xcalloc(n, 1);
	uint32_t		 s = layouts[_i].seed;
	size_t			 nb, i, j, round;

	p = plan_new(v, n, layouts[_i].max_gap, layouts[_i].max_registers);
	before = xreallocarray(NULL, n, sizeof(*before));
	for (round = 0; round < 400; round++) {
		nb = plan_nblocks(p);
		for (j = 0; j < nb; j++) {
			before[j] = *plan_block(p, j);
			starts[before[j].first] = 1;
		}
		i = rnd(&s) % nb;
		if (plan_split(p, i) == -1) {
			REQUIRE(plan_nblocks(p) == nb);
			REQUIRE(plan_block(p, i)->nitems == 1);
			continue;
		}
		REQUIRE(plan_nblocks(p) == nb + 1);
		for (j = 0; j < nb; j++) {
			const struct plan_block *b = plan_block(p, j < i ? j :
			    j == i ? j : j + 1);

			if (j == i) {
				REQUIRE(b->first == before[j].first);
				REQUIRE(b->nitems +
				    plan_block(p, j + 1)->nitems ==
				    before[j].nitems);
				continue;
			}
			REQUIRE(memcmp(b, &before[j], sizeof(*b)) == 0);
		}
		for (j = 0; j < plan_nblocks(p); j++)
			starts[plan_block(p, j)->first] = 0;
		for (j = 0; j < n; j++)
			if (starts[j])
				ck_abort_msg("split before item %zu lost", j);
	}
	check_invariants(p, v, n, layouts[_i].max_registers);
	check_exactly_one(p);
	free(before);
	free(starts);
	plan_free(p);
	free(v);
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite	*s = suite_create("plan");
	TCase	*tc;

	tc = tcase_create("merge");
	tcase_add_loop_test(tc, test_cases, 0, FMQ_NELEM(cases));
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_copied);
	suite_add_tcase(s, tc);
	tc = tcase_create("random");
	tcase_add_loop_test(tc, test_random, 0, FMQ_NELEM(layouts));
	suite_add_tcase(s, tc);
	tc = tcase_create("split");
	tcase_add_test(tc, test_split_halves);
	tcase_add_test(tc, test_split_single);
	tcase_add_test(tc, test_split_same_address);
	tcase_add_loop_test(tc, test_split_gap, 0, FMQ_NELEM(gaps));
	tcase_add_test(tc, test_split_converges);
	tcase_add_test(tc, test_split_remembered);
	tcase_add_loop_test(tc, test_split_random, 0, FMQ_NELEM(layouts));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(plan_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
