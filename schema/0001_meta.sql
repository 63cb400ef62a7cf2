-- 0001: the gateway's metadata.
-- Migrations are numbered, forward-only and applied in order at start-up;
-- PRAGMA user_version holds the number of the last one applied.

-- Facts about this database: when it was created, by which version.
CREATE TABLE meta (
	key	TEXT PRIMARY KEY NOT NULL,
	value	TEXT NOT NULL
) STRICT;
