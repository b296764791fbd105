-- System schema of Basalt.  Applied once; never edit after release: add a
-- new numbered file instead (the checksum check refuses a changed file).

-- Collections: one row per collection; the documents live in a table of
-- the same name (id, data, created_at, updated_at, version).
CREATE TABLE _basalt_collections (
    name        TEXT PRIMARY KEY COLLATE NOCASE,
    indexes     TEXT NOT NULL DEFAULT '[]',   -- JSON array of {"fields":[...],"unique":bool}
    rules       TEXT NOT NULL DEFAULT '{}',   -- JSON object op -> rule text
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;

-- The change log (outbox): appended in the same transaction as every
-- document write; realtime and triggers follow it by seq.
CREATE TABLE _basalt_changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    collection    TEXT NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    doc_id        TEXT NOT NULL,
    old           TEXT,
    new           TEXT,
    committed_ms  INTEGER NOT NULL
);
CREATE INDEX _basalt_changes_time ON _basalt_changes(committed_ms);
