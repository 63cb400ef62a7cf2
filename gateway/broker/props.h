/*
 * MQTT 5.0 properties, variable byte integers and reason codes: pure
 * functions, like packet.c. Decoded strings point into the caller's buffer
 * (borrowed: valid while that buffer is). Any thread may call.
 */
#ifndef FMQ_BROKER_PROPS_H
#define FMQ_BROKER_PROPS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/packet.h"
#include "buf.h"

#define MQTT_VBI_MAX		268435455u	/* 4 bytes of 7 bits */

/*
 * Reads a Variable Byte Integer (5.0 section 1.5.5). MQTT_OK sets *v and
 * *used (1 to 4); MQTT_NEED_MORE if p ends inside it; MQTT_ERR_MALFORMED
 * for a fifth byte or an encoding longer than needed ([MQTT-1.5.5-1]).
 */
enum mqtt_err mqtt_vbi_decode(const uint8_t *p, size_t len, uint32_t *v,
	    size_t *used);
/* The bytes v takes (1 to 4); v must be at most MQTT_VBI_MAX. */
size_t	 mqtt_vbi_size(uint32_t v);
/* Writes v at p (room for 4 bytes); returns the bytes written. */
size_t	 mqtt_vbi_put(uint8_t *p, uint32_t v);
/* Appends v to out; fatal above MQTT_VBI_MAX. */
void	 mqtt_vbi_encode(struct buf *out, uint32_t v);

/* Property identifiers (5.0 section 2.2.2.2, table 2-4). */
enum mqtt_prop_id {
	MQTT_PROP_PAYLOAD_FORMAT = 0x01,
	MQTT_PROP_MESSAGE_EXPIRY = 0x02,
	MQTT_PROP_CONTENT_TYPE = 0x03,
	MQTT_PROP_RESPONSE_TOPIC = 0x08,
	MQTT_PROP_CORRELATION_DATA = 0x09,
	MQTT_PROP_SUBSCRIPTION_ID = 0x0b,
	MQTT_PROP_SESSION_EXPIRY = 0x11,
	MQTT_PROP_ASSIGNED_CLIENT_ID = 0x12,
	MQTT_PROP_SERVER_KEEP_ALIVE = 0x13,
	MQTT_PROP_AUTH_METHOD = 0x15,
	MQTT_PROP_AUTH_DATA = 0x16,
	MQTT_PROP_REQUEST_PROBLEM_INFO = 0x17,
	MQTT_PROP_WILL_DELAY = 0x18,
	MQTT_PROP_REQUEST_RESPONSE_INFO = 0x19,
	MQTT_PROP_RESPONSE_INFO = 0x1a,
	MQTT_PROP_SERVER_REFERENCE = 0x1c,
	MQTT_PROP_REASON_STRING = 0x1f,
	MQTT_PROP_RECEIVE_MAXIMUM = 0x21,
	MQTT_PROP_TOPIC_ALIAS_MAXIMUM = 0x22,
	MQTT_PROP_TOPIC_ALIAS = 0x23,
	MQTT_PROP_MAX_QOS = 0x24,
	MQTT_PROP_RETAIN_AVAILABLE = 0x25,
	MQTT_PROP_USER = 0x26,
	MQTT_PROP_MAX_PACKET_SIZE = 0x27,
	MQTT_PROP_WILDCARD_AVAILABLE = 0x28,
	MQTT_PROP_SUBID_AVAILABLE = 0x29,
	MQTT_PROP_SHARED_AVAILABLE = 0x2a,
};
#define MQTT_PROP_LAST		0x2a

/* The data types of section 1.5. */
enum mqtt_prop_type {
	MQTT_PT_NONE = 0,	/* not an identifier */
	MQTT_PT_BYTE,
	MQTT_PT_U16,		/* Two Byte Integer */
	MQTT_PT_U32,		/* Four Byte Integer */
	MQTT_PT_VBI,		/* Variable Byte Integer */
	MQTT_PT_UTF8,		/* UTF-8 Encoded String */
	MQTT_PT_BINARY,		/* Binary Data */
	MQTT_PT_PAIR,		/* UTF-8 String Pair */
};

/*
 * Where a property block sits: a packet type (enum mqtt_type, 1 to 15), or
 * the Will Properties of a CONNECT payload (a pseudo type of its own).
 */
#define MQTT_PROPS_WILL		16
#define MQTT_PROPS_NPACKETS	17
#define MQTT_PROPS_IN(t)	(1u << (t))	/* a bit of an allowed mask */

/* The presence bit of identifier id in mqtt_props.have. */
#define MQTT_PROP_BIT(id)	(UINT64_C(1) << (id))
#define mqtt_props_has(pr, id)	(((pr)->have & MQTT_PROP_BIT(id)) != 0)

/*
 * A decoded property block, or the properties to encode. A field holds a
 * value only when its bit is set in have. User Properties and Subscription
 * Identifiers (the repeatable ones) are not copied out: list points at
 * property bytes in wire format, read with the iterators below, in order.
 * The decoder sets list to the whole block (other identifiers in it are
 * skipped); an encoding caller builds it with mqtt_props_add_user() and
 * mqtt_props_add_subid(). Zero the struct before filling it by hand.
 */
struct mqtt_props {
	uint64_t	 have;		/* MQTT_PROP_BIT(id) for each present */

	uint8_t		 payload_format;	/* 0 or 1 */
	uint8_t		 request_problem_info;	/* 0 or 1 */
	uint8_t		 request_response_info;	/* 0 or 1 */
	uint8_t		 max_qos;		/* 0 or 1 */
	uint8_t		 retain_available;	/* 0 or 1 */
	uint8_t		 wildcard_available;	/* 0 or 1 */
	uint8_t		 subid_available;	/* 0 or 1 */
	uint8_t		 shared_available;	/* 0 or 1 */

	uint16_t	 server_keep_alive;
	uint16_t	 receive_maximum;	/* not 0 */
	uint16_t	 topic_alias_maximum;
	uint16_t	 topic_alias;		/* not 0 */

	uint32_t	 message_expiry;	/* seconds */
	uint32_t	 session_expiry;	/* seconds */
	uint32_t	 will_delay;		/* seconds */
	uint32_t	 max_packet_size;	/* not 0 */

	struct mqtt_str	 content_type;		/* UTF-8 */
	struct mqtt_str	 response_topic;	/* UTF-8, a topic name */
	struct mqtt_str	 correlation_data;	/* binary */
	struct mqtt_str	 assigned_client_id;	/* UTF-8 */
	struct mqtt_str	 auth_method;		/* UTF-8 */
	struct mqtt_str	 auth_data;		/* binary */
	struct mqtt_str	 response_info;		/* UTF-8 */
	struct mqtt_str	 server_reference;	/* UTF-8 */
	struct mqtt_str	 reason_string;		/* UTF-8 */

	const uint8_t	*list;		/* borrowed: repeatable properties */
	size_t		 list_len;
	size_t		 nuser_props;		/* set by the decoder */
	size_t		 nsubscription_ids;	/* set by the decoder */
};

/* An identifier's name (as the spec writes it), or NULL if unknown. */
const char	*mqtt_prop_name(uint8_t id);
/* An identifier's data type, MQTT_PT_NONE if unknown. */
enum mqtt_prop_type mqtt_prop_type(uint8_t id);
/* The MQTT_PROPS_IN() mask of the packets id may appear in; 0 if unknown. */
uint32_t mqtt_prop_allowed(uint8_t id);

/*
 * Decodes the property block at p (its Property Length, then the
 * properties) of a packet of type packet (or MQTT_PROPS_WILL). len is what
 * is left of the packet body; *used is set to the block's whole size.
 * MQTT_ERR_MALFORMED: a length running past the block or len, a bad or
 * over-long variable byte integer, bad UTF-8 (mqtt_valid_utf8), an unknown
 * identifier or one not valid for the packet type (section 2.2.2.2).
 * MQTT_ERR_PROTOCOL: a property other than User Property (and Subscription
 * Identifier in PUBLISH) twice, a value out of range, or Authentication
 * Data without Authentication Method in CONNECT.
 */
enum mqtt_err mqtt_props_decode(uint8_t packet, const uint8_t *p, size_t len,
	    size_t *used, struct mqtt_props *);

/* Walks the User Properties of pr; *pos starts at 0. Returns 0 at the end. */
int	 mqtt_props_user_next(const struct mqtt_props *, size_t *pos,
	    struct mqtt_str *key, struct mqtt_str *value);
/* Walks the Subscription Identifiers of pr; *pos starts at 0. */
int	 mqtt_props_subid_next(const struct mqtt_props *, size_t *pos,
	    uint32_t *id);
/* Append one repeatable property in wire format to list (for list). */
void	 mqtt_props_add_user(struct buf *list, const char *key, uint16_t key_len,
	    const char *value, uint16_t value_len);
void	 mqtt_props_add_subid(struct buf *list, uint32_t id);

/*
 * The bytes mqtt_props_encode() writes: the Property Length field and the
 * properties. Fatal if the properties pass MQTT_VBI_MAX.
 */
size_t	 mqtt_props_size(const struct mqtt_props *);
/*
 * Appends the property block of pr to out: its length, then every present
 * property in identifier order; repeatable ones in list order. It trusts
 * pr (values in range, allowed in the packet); list must be well-formed.
 */
void	 mqtt_props_encode(struct buf *out, const struct mqtt_props *);
/* True if a and b hold the same properties (repeatables in one order). */
int	 mqtt_props_equal(const struct mqtt_props *, const struct mqtt_props *);

/* Reason codes (5.0 section 2.4, table 2-6). */
enum mqtt_reason {
	MQTT_RC_SUCCESS = 0x00,		/* also Normal disconnection, Granted QoS 0 */
	MQTT_RC_NORMAL_DISCONNECTION = 0x00,
	MQTT_RC_GRANTED_QOS0 = 0x00,
	MQTT_RC_GRANTED_QOS1 = 0x01,
	MQTT_RC_GRANTED_QOS2 = 0x02,
	MQTT_RC_DISCONNECT_WITH_WILL = 0x04,
	MQTT_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
	MQTT_RC_NO_SUBSCRIPTION_EXISTED = 0x11,
	MQTT_RC_CONTINUE_AUTHENTICATION = 0x18,
	MQTT_RC_REAUTHENTICATE = 0x19,
	MQTT_RC_UNSPECIFIED_ERROR = 0x80,
	MQTT_RC_MALFORMED_PACKET = 0x81,
	MQTT_RC_PROTOCOL_ERROR = 0x82,
	MQTT_RC_IMPLEMENTATION_SPECIFIC = 0x83,
	MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION = 0x84,
	MQTT_RC_CLIENT_ID_NOT_VALID = 0x85,
	MQTT_RC_BAD_USERNAME_OR_PASSWORD = 0x86,
	MQTT_RC_NOT_AUTHORIZED = 0x87,
	MQTT_RC_SERVER_UNAVAILABLE = 0x88,
	MQTT_RC_SERVER_BUSY = 0x89,
	MQTT_RC_BANNED = 0x8a,
	MQTT_RC_SERVER_SHUTTING_DOWN = 0x8b,
	MQTT_RC_BAD_AUTHENTICATION_METHOD = 0x8c,
	MQTT_RC_KEEP_ALIVE_TIMEOUT = 0x8d,
	MQTT_RC_SESSION_TAKEN_OVER = 0x8e,
	MQTT_RC_TOPIC_FILTER_INVALID = 0x8f,
	MQTT_RC_TOPIC_NAME_INVALID = 0x90,
	MQTT_RC_PACKET_ID_IN_USE = 0x91,
	MQTT_RC_PACKET_ID_NOT_FOUND = 0x92,
	MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED = 0x93,
	MQTT_RC_TOPIC_ALIAS_INVALID = 0x94,
	MQTT_RC_PACKET_TOO_LARGE = 0x95,
	MQTT_RC_MESSAGE_RATE_TOO_HIGH = 0x96,
	MQTT_RC_QUOTA_EXCEEDED = 0x97,
	MQTT_RC_ADMINISTRATIVE_ACTION = 0x98,
	MQTT_RC_PAYLOAD_FORMAT_INVALID = 0x99,
	MQTT_RC_RETAIN_NOT_SUPPORTED = 0x9a,
	MQTT_RC_QOS_NOT_SUPPORTED = 0x9b,
	MQTT_RC_USE_ANOTHER_SERVER = 0x9c,
	MQTT_RC_SERVER_MOVED = 0x9d,
	MQTT_RC_SHARED_SUBS_NOT_SUPPORTED = 0x9e,
	MQTT_RC_CONNECTION_RATE_EXCEEDED = 0x9f,
	MQTT_RC_MAXIMUM_CONNECT_TIME = 0xa0,
	MQTT_RC_SUBIDS_NOT_SUPPORTED = 0xa1,
	MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED = 0xa2,
};

/* The spec's name of a code ("Success" for 0x00), "unknown" if none. */
const char	*mqtt_reason_name(uint8_t code);
/* The name of code in packet (0x00 in DISCONNECT: "Normal disconnection"). */
const char	*mqtt_reason_name_in(uint8_t packet, uint8_t code);
/* True if code may be sent in a packet of type packet (table 2-6). */
int	 mqtt_reason_valid(uint8_t packet, uint8_t code);

#endif
