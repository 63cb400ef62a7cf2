-- The bridges' store-and-forward buffer. Each row is a message for one
-- bridge's cloud broker, sent in id order; a row is deleted only once the
-- cloud acknowledged it (PUBACK, PUBCOMP; for QoS 0, once it was written
-- to the connection). AUTOINCREMENT: ids are never reused, so the order
-- holds across deletes and restarts.
CREATE TABLE outbox (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	bridge		TEXT NOT NULL,
	topic		TEXT NOT NULL,		-- the topic at the cloud broker
	payload		BLOB NOT NULL,
	qos		INTEGER NOT NULL,
	retain		INTEGER NOT NULL,
	time_ms		INTEGER NOT NULL	-- when the broker received it, Unix ms
);
CREATE INDEX outbox_by_bridge ON outbox (bridge, id);
