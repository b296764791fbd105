-- Admin accounts of the web console (`basalt admin create EMAIL`).  They
-- are not app users: they sign in at POST /admin/v1/login and get a
-- service_role token marked "admin": true.  Passwords are PHC scrypt
-- strings (auth/password.h); times are unix milliseconds.
CREATE TABLE _basalt_admins (
    id               TEXT PRIMARY KEY,          -- UUIDv7
    email            TEXT NOT NULL,             -- lower-cased
    password_hash    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_sign_in_at  INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX _basalt_admins_email ON _basalt_admins(email);
