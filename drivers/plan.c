/*
 * Read planning: items sorted by (table, address, count descending, tag)
 * and merged greedily into blocks; a block covers the union of its items.
 *
 * Remembered splits are kept as cuts between neighbouring items in plan
 * order: cut[k] set means no block spans items k - 1 and k. The items of
 * a plan never change, so a cut is the same thing as a barrier key
 * (table, address, count) and every rebuild honours it. A split cuts
 * inside the block and also at its two edges, so a rebuild leaves the
 * other blocks as they were. (With overlapping items the second half is
 * merged on its own and may become more than one block: a first-half
 * item that bridged a gap no longer does.)
 *
 * An item wider than the limit on its own is a block of its own with
 * count above the limit; the caller sees that and refuses the tag.
 * A count of 0 is read as 1.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "drivers/plan.h"
#include "util.h"

#define PLAN_MAX_REGISTERS	125
#define PLAN_MAX_BITS		2000

struct plan {
	struct plan_item	*items;
	size_t			 nitems;
	unsigned char		*cut;		/* nitems entries */
	struct plan_block	*blocks;	/* at most nitems */
	size_t			 nblocks;
	unsigned		 max_gap;
	unsigned		 max_registers;
};

/* One past the last address an item covers; a count of 0 counts as 1. */
static uint32_t
plan_item_end(const struct plan_item *it)
{
	return (uint32_t)it->address + (it->count != 0 ? it->count : 1);
}

/* Orders items by table, address, count descending, then tag. */
static int
plan_item_cmp(const void *a, const void *b)
{
	const struct plan_item	*x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return 0;
}

/* Whether two items cover the same range of the same table. */
static int
plan_item_same(const struct plan_item *x, const struct plan_item *y)
{
	return x->table == y->table && x->address == y->address &&
	    x->count == y->count;
}

/* The largest span one request may cover in a table. */
static uint32_t
plan_limit(const struct plan *p, enum plan_table table)
{
	if (table == PLAN_COIL || table == PLAN_DISCRETE)
		return PLAN_MAX_BITS;
	return p->max_registers;
}

/* Merges the items into blocks again, never across a cut. */
static void
plan_rebuild(struct plan *p)
{
	struct plan_block	*b = NULL;
	const struct plan_item	*it;
	uint32_t		 end = 0, newend;
	size_t			 k;

	p->nblocks = 0;
	for (k = 0; k < p->nitems; k++) {
		it = &p->items[k];
		newend = plan_item_end(it);
		if (b != NULL && !p->cut[k] && it->table == b->table &&
		    (int64_t)it->address - end <= (int64_t)p->max_gap) {
			if (newend < end)
				newend = end;
			if (newend - b->address <= plan_limit(p, b->table)) {
				end = newend;
				b->count = (uint16_t)(end - b->address);
				b->nitems++;
				continue;
			}
			newend = plan_item_end(it);
		}
		b = &p->blocks[p->nblocks++];
		b->table = it->table;
		b->address = it->address;
		b->count = (uint16_t)(newend - it->address);
		b->first = k;
		b->nitems = 1;
		end = newend;
	}
}

/* Plans items; max_registers outside 1..125 is clamped into it. */
struct plan *
plan_new(const struct plan_item *items, size_t n, unsigned max_gap,
    unsigned max_registers)
{
	struct plan	*p = xcalloc(1, sizeof(*p));
	size_t		 k;

	p->items = xreallocarray(NULL, n, sizeof(*p->items));
	for (k = 0; k < n; k++)
		p->items[k] = items[k];
	p->nitems = n;
	qsort(p->items, n, sizeof(*p->items), plan_item_cmp);
	p->cut = xcalloc(n, 1);
	p->blocks = xreallocarray(NULL, n, sizeof(*p->blocks));
	p->max_gap = max_gap;
	if (max_registers < 1)
		max_registers = 1;
	if (max_registers > PLAN_MAX_REGISTERS)
		max_registers = PLAN_MAX_REGISTERS;
	p->max_registers = max_registers;
	plan_rebuild(p);
	return p;
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	free(p->blocks);
	free(p->cut);
	free(p->items);
	free(p);
}

size_t
plan_nblocks(const struct plan *p)
{
	return p->nblocks;
}

const struct plan_block *
plan_block(const struct plan *p, size_t i)
{
	if (i >= p->nblocks)
		return NULL;
	return &p->blocks[i];
}

const struct plan_item *
plan_items(const struct plan *p)
{
	return p->items;
}

/* Distance between two item positions, for ties broken by the middle. */
static size_t
plan_distance(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * Where to split block b, as an item offset inside it: at the largest gap
 * of unrequested addresses, the middle (offset ceil(n / 2)) among equals.
 * Only between items of different ranges; 0 if there is no such place.
 */
static size_t
plan_split_point(const struct plan *p, const struct plan_block *b)
{
	const struct plan_item	*its = &p->items[b->first];
	size_t			 k, best = 0, mid = (b->nitems + 1) / 2;
	int64_t			 gap, bestgap = INT64_MIN;
	uint32_t		 end = plan_item_end(&its[0]);

	for (k = 1; k < b->nitems; k++) {
		if (!plan_item_same(&its[k - 1], &its[k])) {
			gap = (int64_t)its[k].address - end;
			if (gap > bestgap || (gap == bestgap &&
			    plan_distance(k, mid) < plan_distance(best, mid))) {
				bestgap = gap;
				best = k;
			}
		}
		if (plan_item_end(&its[k]) > end)
			end = plan_item_end(&its[k]);
	}
	return best;
}

/* Splits block i and remembers the split; -1 if it cannot be split. */
int
plan_split(struct plan *p, size_t i)
{
	const struct plan_block	*b;
	size_t			 at, first, last;

	if (i >= p->nblocks)
		return -1;
	b = &p->blocks[i];
	if ((at = plan_split_point(p, b)) == 0)
		return -1;
	first = b->first;
	last = b->first + b->nitems;
	p->cut[first] = 1;
	p->cut[first + at] = 1;
	if (last < p->nitems)
		p->cut[last] = 1;
	plan_rebuild(p);
	return 0;
}
