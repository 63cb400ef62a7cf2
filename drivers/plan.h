/*
 * Read planning: a device's tags merged into the fewest Modbus requests.
 * Items of one table are sorted by address and merged while the gap
 * between them is at most max_gap and the request stays within the limit
 * (max_registers for registers, 2000 for bits). When a device answers
 * "illegal data address" for a merged block, the block is split and the
 * split remembered: later plans never merge across it. Pure data
 * structure, no I/O: owned by one device thread.
 */
#ifndef FMQ_DRIVERS_PLAN_H
#define FMQ_DRIVERS_PLAN_H

#include <stddef.h>
#include <stdint.h>

enum plan_table { PLAN_COIL, PLAN_DISCRETE, PLAN_INPUT, PLAN_HOLDING };

struct plan_item {
	enum plan_table	 table;
	uint16_t	 address;
	uint16_t	 count;		/* registers or bits, at least 1 */
	size_t		 tag;		/* the caller's index */
};

struct plan_block {
	enum plan_table	 table;
	uint16_t	 address;
	uint16_t	 count;
	size_t		 first;		/* into plan_items() */
	size_t		 nitems;
};

struct plan;

/* Plans items (copied). max_registers is 1..125. */
struct plan	*plan_new(const struct plan_item *, size_t n, unsigned max_gap,
		    unsigned max_registers);
void		 plan_free(struct plan *);
size_t		 plan_nblocks(const struct plan *);
const struct plan_block *plan_block(const struct plan *, size_t i);
/* The items in plan order (sorted by table and address). */
const struct plan_item *plan_items(const struct plan *);
/*
 * Splits block i after an "illegal data address" answer: into two halves
 * by items (a block of one item cannot be split: returns -1, and that
 * item's address is really invalid). The split is remembered for good.
 * Block indexes after i shift; returns 0.
 */
int		 plan_split(struct plan *, size_t i);

#endif
