/*
 * The MQTT codec: pure functions from bytes to packet structs and back.
 * It knows nothing of sessions or sockets, so it can be tested and fuzzed
 * alone. Decoded strings and payloads point into the caller's buffer
 * (borrowed: valid while that buffer is). MQTT 3.1 ("MQIsdp", level 3) and
 * 3.1.1 ("MQTT", level 4) now; 5.0 (level 5) adds properties later.
 */
#ifndef FMQ_BROKER_PACKET_H
#define FMQ_BROKER_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK,
	MQTT_PUBLISH,
	MQTT_PUBACK,
	MQTT_PUBREC,
	MQTT_PUBREL,
	MQTT_PUBCOMP,
	MQTT_SUBSCRIBE,
	MQTT_SUBACK,
	MQTT_UNSUBSCRIBE,
	MQTT_UNSUBACK,
	MQTT_PINGREQ,
	MQTT_PINGRESP,
	MQTT_DISCONNECT,
	MQTT_AUTH,
};

/* Why a packet was refused; the broker maps these to close / CONNACK codes. */
enum mqtt_err {
	MQTT_OK = 0,
	MQTT_NEED_MORE,		/* framing: the packet is not complete yet */
	MQTT_ERR_MALFORMED,	/* lengths, UTF-8, U+0000, truncated fields */
	MQTT_ERR_PROTOCOL,	/* reserved flags, QoS 3, packet id 0, wildcard in a PUBLISH topic, ... */
	MQTT_ERR_TOO_LARGE,	/* remaining length above the limit */
	MQTT_ERR_VERSION,	/* CONNECT: unknown protocol name or level */
};

/* The CONNACK return codes of 3.1.1. */
enum {
	MQTT_CONNACK_ACCEPTED = 0,
	MQTT_CONNACK_BAD_VERSION = 1,
	MQTT_CONNACK_BAD_CLIENT_ID = 2,
	MQTT_CONNACK_UNAVAILABLE = 3,
	MQTT_CONNACK_BAD_LOGIN = 4,
	MQTT_CONNACK_NOT_AUTHORIZED = 5,
};

#define MQTT_SUBACK_FAILURE	0x80
#define MQTT_MAX_REMAINING	268435455u	/* 4 bytes of remaining length */

/* A string or binary field, borrowed from the packet buffer. Not NUL-terminated. */
struct mqtt_str {
	const char	*p;
	uint16_t	 len;
};

/* One framed packet: the fixed header read, the body located. */
struct mqtt_frame {
	uint8_t		 type;		/* enum mqtt_type */
	uint8_t		 flags;		/* low 4 bits of the first byte */
	size_t		 header_len;	/* 2 to 5 bytes */
	size_t		 body_len;	/* the remaining length */
};

struct mqtt_connect {
	uint8_t		 level;		/* 3, 4 (5 later) */
	int		 clean;
	uint16_t	 keepalive;	/* seconds */
	struct mqtt_str	 client_id;
	int		 has_will;
	uint8_t		 will_qos;
	int		 will_retain;
	struct mqtt_str	 will_topic;
	struct mqtt_str	 will_payload;	/* binary */
	int		 has_username;
	struct mqtt_str	 username;
	int		 has_password;
	struct mqtt_str	 password;	/* binary */
};

struct mqtt_publish {
	struct mqtt_str	 topic;
	uint8_t		 qos;
	int		 dup;
	int		 retain;
	uint16_t	 id;		/* 0 for QoS 0 */
	const uint8_t	*payload;
	size_t		 payload_len;
};

/* SUBSCRIBE / UNSUBSCRIBE: the topic list is walked with mqtt_topics_next(). */
struct mqtt_subscribe {
	uint16_t	 id;
	size_t		 count;		/* entries, at least 1 */
	const uint8_t	*list;		/* the raw entries, already validated */
	size_t		 list_len;
	int		 with_options;	/* SUBSCRIBE: an options byte follows each filter */
};

/* Iterates over a validated topic list; *pos starts at 0. Returns 0 at the end. */
int	 mqtt_topics_next(const struct mqtt_subscribe *, size_t *pos,
	    struct mqtt_str *filter, uint8_t *options);

/*
 * Reads the fixed header at buf. MQTT_OK fills f (the whole packet is
 * f->header_len + f->body_len bytes and all of it is in buf);
 * MQTT_NEED_MORE when more bytes are needed (even for the header itself);
 * MQTT_ERR_MALFORMED for a remaining length of more than 4 bytes;
 * MQTT_ERR_TOO_LARGE when the packet would exceed max_packet bytes (this
 * is known as soon as the length is read, before the body arrives).
 */
enum mqtt_err mqtt_frame(const uint8_t *buf, size_t len, size_t max_packet,
	    struct mqtt_frame *f);

/*
 * Decoders: body is f->body_len bytes after the fixed header. They check
 * the fixed-header flags of their type (3.1.1 section 2.2.2), every
 * length, UTF-8 (3.1.1 section 1.5.3: valid, no U+0000, no surrogates),
 * and the rules of their packet; nothing is trusted.
 */
enum mqtt_err mqtt_decode_connect(const struct mqtt_frame *, const uint8_t *body,
	    struct mqtt_connect *);
enum mqtt_err mqtt_decode_publish(const struct mqtt_frame *, const uint8_t *body,
	    struct mqtt_publish *);
/* PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: a packet id (not 0). */
enum mqtt_err mqtt_decode_ack(const struct mqtt_frame *, const uint8_t *body,
	    uint16_t *id);
/* SUBSCRIBE and UNSUBSCRIBE (the frame's type says which). */
enum mqtt_err mqtt_decode_subscribe(const struct mqtt_frame *, const uint8_t *body,
	    struct mqtt_subscribe *);
/* PINGREQ, PINGRESP, DISCONNECT: no body, flags 0. */
enum mqtt_err mqtt_decode_empty(const struct mqtt_frame *);
/* Client side, for tests and tools: CONNACK and SUBACK. */
enum mqtt_err mqtt_decode_connack(const struct mqtt_frame *, const uint8_t *body,
	    int *session_present, uint8_t *code);

/* True if s is well-formed UTF-8 for MQTT (no U+0000, no surrogates, no overlongs). */
int	 mqtt_valid_utf8(const char *s, size_t len);

/*
 * Encoders append one whole packet to out. They trust their arguments
 * (the broker built them); lengths must fit the protocol.
 */
void	 mqtt_encode_connack(struct buf *out, int session_present, uint8_t code);
void	 mqtt_encode_publish(struct buf *out, const char *topic, uint16_t topic_len,
	    const void *payload, size_t payload_len, uint8_t qos, int retain, int dup,
	    uint16_t id);
/* PUBACK, PUBREC, PUBREL (flags 0x2), PUBCOMP, UNSUBACK. */
void	 mqtt_encode_ack(struct buf *out, enum mqtt_type, uint16_t id);
void	 mqtt_encode_suback(struct buf *out, uint16_t id, const uint8_t *codes, size_t n);
/* PINGREQ, PINGRESP, DISCONNECT. */
void	 mqtt_encode_empty(struct buf *out, enum mqtt_type);
/* Client side, for tests and tools. */
void	 mqtt_encode_connect(struct buf *out, const struct mqtt_connect *);
void	 mqtt_encode_subscribe(struct buf *out, uint16_t id, const char *const *filters,
	    const uint8_t *qos, size_t n);
void	 mqtt_encode_unsubscribe(struct buf *out, uint16_t id, const char *const *filters,
	    size_t n);

/* The bytes of a remaining-length field for n (1 to 4). */
size_t	 mqtt_varint_size(size_t n);
/* Appends the fixed header of a packet whose body is body_len bytes. */
void	 mqtt_put_header(struct buf *out, uint8_t first_byte, size_t body_len);

const char *mqtt_type_name(uint8_t type);
const char *mqtt_err_name(enum mqtt_err);

#endif
