/*
 * The server side of WebSocket (RFC 6455) for MQTT over WebSocket: the
 * opening handshake, the frames a client sends, and the frames the server
 * sends back. Pure functions on one connection's state: no sockets, no
 * timers, no allocation beyond appending to the caller's buffers, so it can
 * be tested and fuzzed alone. One thread at a time per struct ws (the event
 * loop's).
 *
 * MQTT packets ride in binary messages, with no relation between packet and
 * message boundaries (MQTT 3.1.1 section 6): the decoder hands on a plain
 * byte stream for the MQTT framer. No extension is negotiated, so RSV bits
 * are always an error.
 */
#ifndef FMQ_BROKER_WS_H
#define FMQ_BROKER_WS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WS_MAX_HANDSHAKE	8192	/* bytes of an HTTP upgrade request */
#define WS_MAX_CONTROL		125	/* payload bytes of a control frame */

enum ws_state {
	WS_HANDSHAKE = 0,	/* waiting for the upgrade request */
	WS_OPEN,		/* frames flow both ways */
	WS_CLOSING,		/* we sent a close frame, waiting for the reply */
	WS_CLOSED,		/* done: close the TCP connection */
};

/* The subprotocol agreed in the handshake (Sec-WebSocket-Protocol). */
enum ws_proto {
	WS_PROTO_NONE = 0,	/* the client offered none: no header sent */
	WS_PROTO_MQTT,		/* "mqtt" (MQTT 3.1.1 and 5.0) */
	WS_PROTO_MQTTV31,	/* "mqttv3.1", the informal name for MQTT 3.1 */
};

/*
 * One connection's state, zeroed to start (state WS_HANDSHAKE). The caller
 * reads state, proto and close_code; the rest belongs to the decoder.
 */
struct ws {
	int		 state;		/* enum ws_state */
	int		 proto;		/* enum ws_proto */
	/*
	 * The code of the close that ends the connection: the one the client
	 * sent (1005 for a close without a code) when it closed first, the
	 * one we sent when we did (ws_encode_close or a decoding error).
	 */
	uint16_t	 close_code;

	size_t		 scanned;	/* handshake: bytes searched for its end */
	uint64_t	 remaining;	/* payload bytes of this frame to come */
	uint64_t	 msg_len;	/* payload bytes of this message so far */
	uint8_t		 hdr[14];	/* the frame header being gathered */
	uint8_t		 hdr_len;	/* bytes of it held */
	uint8_t		 hdr_need;	/* its size, once the second byte is in */
	uint8_t		 mask[4];
	uint8_t		 mask_off;	/* payload bytes unmasked, mod 4 */
	uint8_t		 in_message;	/* a fragmented message is open */
	uint8_t		 ctl_len;
	uint8_t		 ctl[WS_MAX_CONTROL];	/* a ping or close payload */
};

enum ws_result {
	WS_OK,
	WS_MORE,	/* the handshake needs more input */
	WS_CLOSE,	/* send out, then close the TCP connection */
	WS_ERROR,	/* send out (if anything), then close; see why */
};

/*
 * The opening handshake. in[0..len) is everything received so far (the
 * caller keeps it and calls again with more; the bytes already seen must
 * not change). path is the one path served (the query string is ignored),
 * or NULL for any.
 *
 * A complete, valid request (GET, HTTP/1.1, the path, Host, Upgrade:
 * websocket, Connection: Upgrade, Sec-WebSocket-Version: 13, a
 * Sec-WebSocket-Key of 16 bytes in base64): appends the 101 response to
 * out, sets *used to the request's length (bytes after it are frames),
 * state WS_OPEN and proto, and returns WS_OK.
 *
 * Subprotocols: "mqtt" is chosen when offered, else "mqttv3.1", and the
 * chosen name is echoed. A request that offers protocols but neither of
 * these is refused (400); one that offers none at all is accepted and
 * answered without Sec-WebSocket-Protocol (proto WS_PROTO_NONE), as RFC
 * 6455 requires, so plain WebSocket tools can connect too.
 *
 * Not complete yet: WS_MORE (nothing appended). Invalid, or no end within
 * WS_MAX_HANDSHAKE bytes: appends an HTTP error response with Connection:
 * close and the reason as a text body (400, 404 for another path, 405 for
 * another method, 426 for no Upgrade: websocket or another version, 431
 * for a request too long), writes the reason to why, sets state
 * WS_CLOSED and returns WS_ERROR. *used is 0 unless WS_OK.
 */
enum ws_result	 ws_handshake(struct ws *, const uint8_t *in, size_t len,
		    const char *path, size_t *used, struct buf *out, char *why,
		    size_t whysz);

/*
 * Frames from the client, split anywhere (one byte at a time works).
 * Appends the unmasked payload of binary frames and their continuations
 * to app; answers a ping with a pong carrying its payload in out; ignores
 * pongs. Returns WS_OK with *used = len: partial frames wait in the
 * struct.
 *
 * A close frame: answered with a close echoing its code (1000 when it has
 * none) unless we sent ours first; *used stops after it, state becomes
 * WS_CLOSED and the result is WS_CLOSE.
 *
 * A protocol error: appends a close frame with its code and reason (none
 * if we had already sent a close), writes the reason to why, sets state
 * WS_CLOSED and returns WS_ERROR with *used where it was found. Codes:
 * 1002 for an unmasked frame, RSV bits, an unknown opcode, a fragmented
 * control frame or one over 125 bytes, a continuation outside a message or
 * a new message inside one, a 64-bit length with its top bit set, a close
 * payload of 1 byte or a code that may not be sent; 1003 for a text frame
 * (MQTT is binary); 1007 for a close reason that is not UTF-8; 1009 for a
 * message (all its frames) over max_message bytes, refused from the frame
 * header before its payload arrives.
 *
 * In WS_CLOSING data is read and dropped and pings are not answered. In
 * WS_CLOSED nothing is read: WS_CLOSE with *used 0. Before the handshake:
 * WS_ERROR.
 */
enum ws_result	 ws_decode(struct ws *, const uint8_t *in, size_t len,
		    size_t max_message, struct buf *app, struct buf *out,
		    size_t *used, char *why, size_t whysz);

/* Appends one unmasked binary frame carrying data (server to client). */
void		 ws_encode(struct buf *out, const void *data, size_t len);

/*
 * Starts a server-initiated close: appends a close frame with code (0: no
 * code) and reason (NULL or text, cut to fit 123 bytes) and sets state
 * WS_CLOSING, after which ws_decode waits for the client's close. Does
 * nothing unless the state is WS_OPEN. A code that may not be sent (any
 * but 1000-1003, 1007-1014 and 3000-4999) is a broken invariant (fatal).
 */
void		 ws_encode_close(struct ws *, struct buf *out, uint16_t code,
		    const char *reason);

/* "open", "closing" ...; "mqtt", "mqttv3.1" or "none", for the log. */
const char	*ws_state_name(int);
const char	*ws_proto_name(int);

#endif
