-- Auth (GoTrue-compatible): users, sessions, refresh tokens, one-time
-- tokens.  System tables only: /rest/v1 never exposes them.  Times are unix
-- milliseconds; secrets (refresh, recovery, confirmation tokens) are stored
-- only as SHA-256 hashes.

CREATE TABLE _basalt_users (
    id                   TEXT PRIMARY KEY,          -- lower-case UUID
    email                TEXT,                      -- lower-cased; NULL for anonymous users
    phone                TEXT,
    password_hash        TEXT,                      -- PHC $scrypt$... or imported bcrypt $2b$...
    role                 TEXT NOT NULL DEFAULT 'authenticated',
    aud                  TEXT NOT NULL DEFAULT 'authenticated',
    email_confirmed_at   INTEGER,
    phone_confirmed_at   INTEGER,
    last_sign_in_at      INTEGER,
    recovery_sent_at     INTEGER,
    confirmation_sent_at INTEGER,
    banned_until         INTEGER,
    app_metadata         TEXT NOT NULL DEFAULT '{}',
    user_metadata        TEXT NOT NULL DEFAULT '{}',
    identity_id          TEXT,                      -- the email identity's id
    is_anonymous         INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX _basalt_users_email ON _basalt_users(email) WHERE email IS NOT NULL;
CREATE INDEX _basalt_users_created ON _basalt_users(created_at, id);

CREATE TABLE _basalt_sessions (
    id          TEXT PRIMARY KEY,                   -- UUID, the JWT's session_id
    user_id     TEXT NOT NULL,
    aal         TEXT NOT NULL DEFAULT 'aal1',
    amr_method  TEXT NOT NULL,                      -- "password", "anonymous", "recovery"
    amr_at      INTEGER NOT NULL,                   -- unix seconds of the authentication
    created_at  INTEGER NOT NULL,
    refreshed_at INTEGER
) WITHOUT ROWID;
CREATE INDEX _basalt_sessions_user ON _basalt_sessions(user_id);

-- Refresh tokens: one active (revoked_at IS NULL) per session; rotation
-- sets revoked_at on the parent and inserts the child.
CREATE TABLE _basalt_refresh_tokens (
    token_hash  BLOB PRIMARY KEY,                   -- SHA-256 of the token text
    session_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX _basalt_refresh_tokens_session ON _basalt_refresh_tokens(session_id);

-- One-time tokens (recovery, signup confirmation): single use, expiring.
CREATE TABLE _basalt_one_time_tokens (
    token_hash  BLOB PRIMARY KEY,
    user_id     TEXT NOT NULL,
    type        TEXT NOT NULL,                      -- "recovery" | "signup"
    email       TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX _basalt_one_time_tokens_user ON _basalt_one_time_tokens(user_id);
