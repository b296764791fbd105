-- Functions: admin settings, the durable async job queue, dead letters.

-- Per-function settings set through PATCH /admin/v1/functions/NAME; NULL
-- columns fall back to the plugin's manifest.  config holds the function's
-- configuration values (never logged, masked in the admin API).
CREATE TABLE _basalt_fn_settings (
    name         TEXT PRIMARY KEY,
    timeout_ms   INTEGER,
    concurrency  INTEGER,
    retries      INTEGER,
    enabled      INTEGER NOT NULL DEFAULT 1,
    config       TEXT NOT NULL DEFAULT '{}',
    updated_at   TEXT NOT NULL
) WITHOUT ROWID;

-- Async jobs.  Rows are inserted in the same transaction as the change that
-- caused them (a change observer) and deleted when the handler succeeded;
-- a row still here at start is run again (at least once).  order_key keeps
-- per-document order: jobs sharing one run one at a time in id order.
CREATE TABLE _basalt_fn_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uid         TEXT NOT NULL UNIQUE,      -- job id shown to handlers (ctx->job_id)
    function    TEXT NOT NULL,
    kind        INTEGER NOT NULL,          -- BASALT_EVENT_*
    event       TEXT NOT NULL,             -- JSON
    order_key   TEXT,
    attempt     INTEGER NOT NULL DEFAULT 0, -- tries already made
    run_at_ms   INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    last_error  TEXT
);

-- Jobs that failed every retry; re-driven by the admin API.
CREATE TABLE _basalt_fn_dlq (
    uid         TEXT PRIMARY KEY,
    function    TEXT NOT NULL,
    kind        INTEGER NOT NULL,
    event       TEXT NOT NULL,
    order_key   TEXT,
    attempts    INTEGER NOT NULL,
    last_error  TEXT,
    created_ms  INTEGER NOT NULL,
    failed_ms   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX _basalt_fn_dlq_function ON _basalt_fn_dlq(function, failed_ms);
