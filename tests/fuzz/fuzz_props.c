/*
 * libFuzzer target: MQTT 5.0 property blocks (broker/props.c). The input
 * is decoded as the block of every packet type and of the Will Properties;
 * what decodes is encoded, decoded again and must come back equal, and its
 * encoding must be stable.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/packet.h"
#include "broker/props.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		__builtin_trap();
}

/* The repeatable properties walked by the iterators, counted. */
static void
check_lists(const struct mqtt_props *pr)
{
	struct mqtt_str	 k, v;
	uint32_t	 id;
	size_t		 pos, n;

	for (pos = 0, n = 0; mqtt_props_user_next(pr, &pos, &k, &v); n++)
		check(mqtt_valid_utf8(k.p, k.len) &&
		    mqtt_valid_utf8(v.p, v.len));
	check(n == pr->nuser_props);
	for (pos = 0, n = 0; mqtt_props_subid_next(pr, &pos, &id); n++)
		check(id >= 1 && id <= MQTT_VBI_MAX);
	check(n == pr->nsubscription_ids);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct buf	 out, again;
	struct mqtt_props	 pr, back;
	uint8_t			 vb[4];
	uint32_t		 v;
	size_t			 used, used2;
	unsigned int		 t;

	/* A variable byte integer that decodes is the minimal encoding. */
	if (mqtt_vbi_decode(data, size, &v, &used) == MQTT_OK) {
		check(used >= 1 && used <= 4 && v <= MQTT_VBI_MAX);
		check(mqtt_vbi_size(v) == used);
		check(mqtt_vbi_put(vb, v) == used && memcmp(vb, data, used) == 0);
	}
	for (t = 0; t <= MQTT_PROPS_NPACKETS; t++) {
		if (mqtt_props_decode((uint8_t)t, data, size, &used, &pr) !=
		    MQTT_OK)
			continue;
		check(t >= 1 && t < MQTT_PROPS_NPACKETS);
		check(used >= 1 && used <= size);
		check_lists(&pr);
		buf_reset(&out, 4096);
		mqtt_props_encode(&out, &pr);
		check(buf_pending(&out) == mqtt_props_size(&pr));
		/* Same properties, perhaps in another order: same length. */
		check(buf_pending(&out) == used);
		check(mqtt_props_decode((uint8_t)t, buf_data(&out),
		    buf_pending(&out), &used2, &back) == MQTT_OK);
		check(used2 == buf_pending(&out));
		check(mqtt_props_equal(&pr, &back) &&
		    mqtt_props_equal(&back, &pr));
		check(back.have == pr.have &&
		    back.nuser_props == pr.nuser_props &&
		    back.nsubscription_ids == pr.nsubscription_ids);
		check_lists(&back);
		buf_reset(&again, 4096);
		mqtt_props_encode(&again, &back);
		check(buf_pending(&again) == buf_pending(&out) &&
		    memcmp(buf_data(&again), buf_data(&out),
		    buf_pending(&out)) == 0);
	}
	return 0;
}
