-- 0002: the broker's durable state.

-- Retained messages: one per topic; written through as they change.
CREATE TABLE retained (
	topic	TEXT PRIMARY KEY NOT NULL,
	payload	BLOB NOT NULL,
	qos	INTEGER NOT NULL CHECK (qos BETWEEN 0 AND 2),
	time_ms	INTEGER NOT NULL		-- when the broker received it (Unix ms)
) STRICT, WITHOUT ROWID;

-- Persistent sessions (clean session 0) and their subscriptions.
CREATE TABLE sessions (
	client_id	TEXT PRIMARY KEY NOT NULL,
	created_ms	INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE subscriptions (
	client_id	TEXT NOT NULL REFERENCES sessions (client_id) ON DELETE CASCADE,
	filter		TEXT NOT NULL,
	qos		INTEGER NOT NULL CHECK (qos BETWEEN 0 AND 2),
	PRIMARY KEY (client_id, filter)
) STRICT, WITHOUT ROWID;

-- QoS 1/2 messages waiting for a persistent session, in order (seq).
-- Rows are written while the client is offline and at shutdown, and
-- removed when the client is back and the messages are in memory again.
CREATE TABLE session_messages (
	client_id	TEXT NOT NULL REFERENCES sessions (client_id) ON DELETE CASCADE,
	seq		INTEGER NOT NULL,
	topic		TEXT NOT NULL,
	payload		BLOB NOT NULL,
	qos		INTEGER NOT NULL CHECK (qos BETWEEN 1 AND 2),
	retain		INTEGER NOT NULL,
	PRIMARY KEY (client_id, seq)
) STRICT, WITHOUT ROWID;
