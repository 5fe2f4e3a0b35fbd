-- The change marker of the published settings: one row whose version every write (admin API, CLI,
-- import-ispdb) increments in the same transaction as its changes. A server keeps the settings in
-- memory and reads this row at most once per check interval (SqlStore's `changeCheckMs`, 1 s by
-- default); a new value means another process wrote, and the cache is dropped and reloaded.
-- Plain SQL on purpose: it works on SQLite, D1 and any other SQL backend (PRAGMA data_version
-- would be SQLite-only).
CREATE TABLE settings_version (
  id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO settings_version (id, version) VALUES (1, 0);
