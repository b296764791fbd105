-- Storage: buckets and object metadata.  Object bytes live on the file
-- system under the storage directory at a path derived from `blob` (an
-- internal random id, never the user's key); see storage/st_blob.c.

CREATE TABLE _basalt_buckets (
    id                  TEXT PRIMARY KEY,
    owner               TEXT,
    public              INTEGER NOT NULL DEFAULT 0,
    file_size_limit     INTEGER,                  -- bytes, NULL: no bucket limit
    allowed_mime_types  TEXT,                     -- JSON array of patterns, NULL: any
    rules               TEXT NOT NULL DEFAULT '{}', -- JSON object op -> rule text
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE _basalt_objects (
    id                TEXT PRIMARY KEY,           -- stable across overwrites
    bucket_id         TEXT NOT NULL,
    name              TEXT NOT NULL,              -- the key, decoded
    owner             TEXT,                       -- sub of the uploader
    blob              TEXT NOT NULL,              -- file id of the current bytes
    size              INTEGER NOT NULL,
    content_type      TEXT NOT NULL,
    cache_control     TEXT NOT NULL,
    etag              TEXT NOT NULL,              -- quoted
    metadata          TEXT,                       -- user metadata JSON or NULL
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_accessed_at  TEXT NOT NULL,
    UNIQUE (bucket_id, name)
);
CREATE INDEX _basalt_objects_blob ON _basalt_objects(blob);
