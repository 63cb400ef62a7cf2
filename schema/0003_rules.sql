-- The rule engine's rejects: messages that matched a table's topic filter
-- but could not become a row (not JSON, a missing value for a not_null or
-- key column, a value that does not convert to the column's type, a
-- payload over max_payload, a constraint of the table). Nothing is
-- dropped silently: each reject is one row here. The gateway keeps the
-- newest 100,000 rows.
CREATE TABLE dead_letters (
	id		INTEGER PRIMARY KEY,
	time_ms		INTEGER NOT NULL,	-- when the broker received it, Unix ms
	table_name	TEXT NOT NULL,		-- the mapping it was meant for
	topic		TEXT NOT NULL,
	payload		BLOB,			-- the first 1 KiB of the payload
	payload_bytes	INTEGER NOT NULL,	-- its whole size
	reason		TEXT NOT NULL
);
