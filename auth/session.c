/* session.c - sessions, refresh-token rotation with reuse detection, and
 * one-time tokens; see auth_int.h.
 *
 * Refresh tokens are a session locator, the issue time and 192 random
 * bits (see AUTH_RT_PREFIX); the token is stored only as a hash: the key is
 * SHA-256(locator)[0..8) || issue time || SHA-256(token), which keeps the
 * tokens of one session together in issue order, so a rotation (the
 * newest token is the parent) touches one table page and one index page.  Each session has one active token; exchanging it marks it
 * revoked (revoked_at) and inserts a child.  Presenting a revoked token
 * again:
 *   - within --refresh-token-reuse-interval of its revocation: answered
 *     like GoTrue, with a fresh access token and the session's current
 *     refresh token.  Since the server cannot recover a token from its
 *     hash, the child of each rotation is remembered in memory for the
 *     interval (auth_reuse slots, keyed by the parent's hash) and checked
 *     against the database before it is handed out; when it is not there
 *     (restart, slot overwritten) the session's active token is rotated
 *     once more instead.
 *   - later: treated as theft.  The whole session (all its tokens) is
 *     deleted and the caller gets refresh_token_already_used.
 * All of this runs in one writer callback, so two concurrent exchanges of
 * one token are serialized by the writer.
 */
#include "auth/auth_int.h"
#include "core/error.h"
#include "core/log.h"

#include <string.h>

/* The stored key of a refresh token (see AUTH_RT_PREFIX); returns its
 * length. */
static size_t rt_key(const char *token, size_t len, uint8_t key[AUTH_RT_KEY_MAX])
{
    bool ours = len == AUTH_RT_LEN;
    for (size_t i = AUTH_RT_PREFIX; ours && i < AUTH_RT_PREFIX + AUTH_RT_TIME; i++)
        ours = (token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f');
    if (!ours) {
        auth_sha256(token, len, key);
        return AUTH_HASH_LEN;
    }
    uint8_t ph[AUTH_HASH_LEN];
    auth_sha256(token, AUTH_RT_PREFIX, ph);
    memcpy(key, ph, AUTH_RT_PREFIX);
    memcpy(key + AUTH_RT_PREFIX, token + AUTH_RT_PREFIX, AUTH_RT_TIME);
    auth_sha256(token, len, key + AUTH_RT_PREFIX + AUTH_RT_TIME);
    return AUTH_RT_KEY_MAX;
}

/* A new refresh token issued at now_ms of the session whose locator is
 * `prefix` (the first AUTH_RT_PREFIX characters of one of its tokens;
 * NULL = a fresh one). */
static int rt_new(const char *prefix, int64_t now_ms, char token[AUTH_RT_LEN + 1])
{
    char r[AUTH_TOKEN_LEN + 1];
    int rc = BS_OK;
    if (!prefix) {
        rc = auth_token_new(r);
        if (rc)
            return rc;
        memcpy(token, r, AUTH_RT_PREFIX);
    } else {
        memcpy(token, prefix, AUTH_RT_PREFIX);
    }
    static const char hex[] = "0123456789abcdef";
    uint64_t t = now_ms > 0 ? (uint64_t)now_ms : 0;
    for (int i = AUTH_RT_TIME - 1; i >= 0; i--, t >>= 4)
        token[AUTH_RT_PREFIX + i] = hex[t & 0xf];
    rc = auth_token_new(r);
    if (rc)
        return rc;
    memcpy(token + AUTH_RT_PREFIX + AUTH_RT_TIME, r, AUTH_TOKEN_LEN + 1);
    return BS_OK;
}

static int rt_make(const char *prefix, int64_t now_ms, auth_rt *rt)
{
    int rc = rt_new(prefix, now_ms, rt->token);
    if (!rc)
        rt->key_len = rt_key(rt->token, AUTH_RT_LEN, rt->key);
    return rc;
}

/* Store rt (made beforehand) as the session's newest token; out = its text. */
static int insert_token(db_conn *w, const char *sid, const char *uid, int64_t now_ms, const auth_rt *rt,
                        char out[AUTH_RT_LEN + 1])
{
    static const char q[] = "INSERT INTO _basalt_refresh_tokens(token_hash, session_id, user_id, created_at) "
                            "VALUES(?,?,?,?)";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_blob(st, 1, rt->key, (int)rt->key_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (!rc)
        memcpy(out, rt->token, sizeof rt->token);
    return rc;
}

int auth_session_create(db_conn *w, const auth_user *u, const char *method, int64_t now_ms, auth_issue *out)
{
    memset(out, 0, sizeof *out);
    int rc = uuid_v4(out->session_id);
    if (rc)
        return rc;
    snprintf(out->amr_method, sizeof out->amr_method, "%s", method);
    out->amr_at = now_ms / 1000;
    static const char q[] = "INSERT INTO _basalt_sessions(id, user_id, amr_method, amr_at, created_at) "
                            "VALUES(?,?,?,?,?)";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, out->session_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, method, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, out->amr_at);
    sqlite3_bind_int64(st, 5, now_ms);
    rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (rc)
        return rc;
    auth_rt rt;
    rc = rt_make(NULL, now_ms, &rt);
    return rc ? rc : insert_token(w, out->session_id, u->id, now_ms, &rt, out->refresh);
}

/* ---- the in-memory child map for the reuse interval ---- */

static auth_reuse *reuse_slot(auth_service *s, const uint8_t *k, size_t klen)
{
    /* the last bytes of a key are a SHA-256 of a random token: uniform
     * (the first ones are shared by the tokens of a session) */
    const uint8_t *h = k + klen - 4;
    uint32_t i = ((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3]) % AUTH_REUSE_SLOTS;
    return &s->reuse[i];
}

static void reuse_put(auth_service *s, const uint8_t *parent, size_t plen, const char *child, int64_t until_ms)
{
    pthread_mutex_lock(&s->reuse_lock);
    auth_reuse *e = reuse_slot(s, parent, plen);
    memcpy(e->parent, parent, plen);
    e->parent_len = plen;
    snprintf(e->child, sizeof e->child, "%s", child);
    e->until_ms = until_ms;
    pthread_mutex_unlock(&s->reuse_lock);
}

static bool reuse_get(auth_service *s, const uint8_t *parent, size_t plen, int64_t now_ms, char child[AUTH_RT_LEN + 1])
{
    bool found = false;
    pthread_mutex_lock(&s->reuse_lock);
    auth_reuse *e = reuse_slot(s, parent, plen);
    if (e->until_ms >= now_ms && e->parent_len == plen && memcmp(e->parent, parent, plen) == 0) {
        memcpy(child, e->child, sizeof e->child);
        found = true;
    }
    pthread_mutex_unlock(&s->reuse_lock);
    return found;
}

typedef struct token_row {
    bool found;
    char session_id[UUID_STR_LEN + 1];
    char user_id[UUID_STR_LEN + 1];
    int64_t revoked_at; /* 0 = active */
} token_row;

static int read_token(db_conn *w, const uint8_t *k, size_t klen, token_row *t)
{
    memset(t, 0, sizeof *t);
    static const char q[] = "SELECT session_id, user_id, revoked_at FROM _basalt_refresh_tokens WHERE token_hash = ?";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_blob(st, 1, k, (int)klen, SQLITE_STATIC);
    int rc = BS_OK;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        t->found = true;
        snprintf(t->session_id, sizeof t->session_id, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(t->user_id, sizeof t->user_id, "%s", (const char *)sqlite3_column_text(st, 1));
        t->revoked_at = sqlite3_column_int64(st, 2);
    } else if (s != SQLITE_DONE) {
        rc = BS_EDB;
    }
    db_stmt_done(st);
    return rc;
}

/* Revoke the token whose key is k and store its child ch. */
static int rotate(auth_service *s, db_conn *w, const uint8_t *k, size_t klen, const token_row *t, const auth_rt *ch,
                  int64_t now_ms, char child[AUTH_RT_LEN + 1])
{
    static const char q[] = "UPDATE _basalt_refresh_tokens SET revoked_at = ? WHERE token_hash = ?";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_blob(st, 2, k, (int)klen, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (!rc)
        rc = insert_token(w, t->session_id, t->user_id, now_ms, ch, child);
    if (!rc)
        reuse_put(s, k, klen, child, now_ms + s->cfg->refresh_reuse_interval_s * 1000);
    return rc;
}

static int exec_text(db_conn *w, const char *q, const char *a, const char *b)
{
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

/* A rotated token came back within the interval: find the session's
 * current token through the remembered children, else rotate the active
 * one again. */
static int reuse_within_interval(auth_service *s, db_conn *w, const uint8_t *k, size_t klen, const token_row *t,
                                 const auth_rt *ch, int64_t now_ms, char out[AUTH_RT_LEN + 1])
{
    int64_t window = s->cfg->refresh_reuse_interval_s * 1000;
    uint8_t cur[AUTH_RT_KEY_MAX];
    size_t clen = klen;
    memcpy(cur, k, klen);
    for (int depth = 0; depth < 8; depth++) {
        char child[AUTH_RT_LEN + 1];
        if (!reuse_get(s, cur, clen, now_ms, child))
            break;
        clen = rt_key(child, strlen(child), cur);
        token_row c;
        int rc = read_token(w, cur, clen, &c);
        if (rc)
            return rc;
        if (!c.found || strcmp(c.session_id, t->session_id) != 0)
            break;
        if (!c.revoked_at) {
            memcpy(out, child, sizeof child);
            return BS_OK;
        }
        if (now_ms - c.revoked_at > window)
            break;
    }
    /* fall back: rotate the session's active token (or start a new one) */
    static const char q[] = "SELECT token_hash FROM _basalt_refresh_tokens WHERE session_id = ? AND revoked_at IS NULL "
                            "LIMIT 1";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, t->session_id, -1, SQLITE_STATIC);
    size_t alen = 0;
    uint8_t active[AUTH_RT_KEY_MAX];
    int s2 = sqlite3_step(st);
    if (s2 == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        if (n == AUTH_HASH_LEN || n == AUTH_RT_KEY_MAX) { /* legacy or ours */
            memcpy(active, sqlite3_column_blob(st, 0), (size_t)n);
            alen = (size_t)n;
        }
    }
    db_stmt_done(st);
    if (s2 != SQLITE_ROW && s2 != SQLITE_DONE)
        return BS_EDB;
    if (alen)
        return rotate(s, w, active, alen, t, ch, now_ms, out);
    return insert_token(w, t->session_id, t->user_id, now_ms, ch, out);
}

int auth_refresh_prepare(const char *token, int64_t now_ms, auth_refresh_req *rq)
{
    rq->key_len = rt_key(token, strlen(token), rq->key);
    /* children inherit the session's locator (legacy tokens get a new one) */
    return rt_make(rq->key_len == AUTH_RT_KEY_MAX ? token : NULL, now_ms, &rq->child);
}

int auth_refresh_exchange(auth_service *s, db_conn *w, const auth_refresh_req *rq, int64_t now_ms, auth_issue *out,
                          auth_user **user, int *outcome)
{
    memset(out, 0, sizeof *out);
    *user = NULL;
    *outcome = AUTH_REFRESH_NOT_FOUND;
    const uint8_t *k = rq->key;
    size_t klen = rq->key_len;
    token_row t;
    int rc = read_token(w, k, klen, &t);
    if (rc || !t.found)
        return rc;
    static const char q[] = "SELECT amr_method, amr_at FROM _basalt_sessions WHERE id = ? AND user_id = ?";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, t.session_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t.user_id, -1, SQLITE_STATIC);
    int s2 = sqlite3_step(st);
    if (s2 == SQLITE_ROW) {
        snprintf(out->amr_method, sizeof out->amr_method, "%s", (const char *)sqlite3_column_text(st, 0));
        out->amr_at = sqlite3_column_int64(st, 1);
    }
    db_stmt_done(st);
    if (s2 != SQLITE_ROW)
        return s2 == SQLITE_DONE ? BS_OK : BS_EDB;
    auth_user *u = NULL;
    rc = auth_user_load(w, t.user_id, NULL, &u);
    if (rc)
        return rc == BS_ENOTFOUND ? BS_OK : rc;
    if (auth_user_banned(u, now_ms)) {
        auth_user_free(u);
        *outcome = AUTH_REFRESH_BANNED;
        return BS_OK;
    }
    if (!t.revoked_at) {
        rc = rotate(s, w, k, klen, &t, &rq->child, now_ms, out->refresh);
    } else if (now_ms - t.revoked_at <= s->cfg->refresh_reuse_interval_s * 1000) {
        rc = reuse_within_interval(s, w, k, klen, &t, &rq->child, now_ms, out->refresh);
    } else {
        log_warn("auth: refresh token reused %lld ms after rotation: revoking session %s of user %s",
                 (long long)(now_ms - t.revoked_at), t.session_id, t.user_id);
        rc = exec_text(w, "DELETE FROM _basalt_refresh_tokens WHERE session_id = ?", t.session_id, NULL);
        if (!rc)
            rc = exec_text(w, "DELETE FROM _basalt_sessions WHERE id = ?", t.session_id, NULL);
        auth_user_free(u);
        if (!rc)
            *outcome = AUTH_REFRESH_REUSED;
        return rc;
    }
    if (!rc) {
        sqlite3_stmt *up = db_stmt(w, "UPDATE _basalt_sessions SET refreshed_at = ? WHERE id = ?",
                                   strlen("UPDATE _basalt_sessions SET refreshed_at = ? WHERE id = ?"), NULL);
        if (!up) {
            rc = BS_EDB;
        } else {
            sqlite3_bind_int64(up, 1, now_ms);
            sqlite3_bind_text(up, 2, t.session_id, -1, SQLITE_STATIC);
            rc = sqlite3_step(up) == SQLITE_DONE ? BS_OK : BS_EDB;
            db_stmt_done(up);
        }
    }
    if (rc) {
        auth_user_free(u);
        return rc;
    }
    memcpy(out->session_id, t.session_id, sizeof out->session_id);
    *user = u;
    *outcome = AUTH_REFRESH_OK;
    return BS_OK;
}

int auth_session_check(db_conn *c, const char *sid, const char *uid, bool *exists)
{
    *exists = false;
    static const char q[] = "SELECT 1 FROM _basalt_sessions WHERE id = ? AND user_id = ?";
    sqlite3_stmt *st = db_stmt(c, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    *exists = s == SQLITE_ROW;
    db_stmt_done(st);
    return s == SQLITE_ROW || s == SQLITE_DONE ? BS_OK : BS_EDB;
}

int auth_sessions_revoke(db_conn *w, const char *uid, const char *sid, int scope)
{
    int rc;
    switch (scope) {
    case AUTH_SCOPE_LOCAL:
        rc = exec_text(w, "DELETE FROM _basalt_refresh_tokens WHERE session_id = ?", sid, NULL);
        if (!rc)
            rc = exec_text(w, "DELETE FROM _basalt_sessions WHERE id = ?", sid, NULL);
        return rc;
    case AUTH_SCOPE_OTHERS:
        rc = exec_text(w, "DELETE FROM _basalt_refresh_tokens WHERE user_id = ? AND session_id <> ?", uid, sid);
        if (!rc)
            rc = exec_text(w, "DELETE FROM _basalt_sessions WHERE user_id = ? AND id <> ?", uid, sid);
        return rc;
    default:
        rc = exec_text(w, "DELETE FROM _basalt_refresh_tokens WHERE user_id = ?", uid, NULL);
        if (!rc)
            rc = exec_text(w, "DELETE FROM _basalt_sessions WHERE user_id = ?", uid, NULL);
        return rc;
    }
}

int auth_ott_create(db_conn *w, const char *uid, const char *type, const char *email, int64_t now_ms,
                    char token[AUTH_TOKEN_LEN + 1])
{
    int rc = exec_text(w, "DELETE FROM _basalt_one_time_tokens WHERE user_id = ? AND type = ?", uid, type);
    if (!rc)
        rc = auth_token_new(token);
    if (rc)
        return rc;
    uint8_t h[AUTH_HASH_LEN];
    auth_sha256(token, AUTH_TOKEN_LEN, h);
    static const char q[] = "INSERT INTO _basalt_one_time_tokens(token_hash, user_id, type, email, created_at, "
                            "expires_at) VALUES(?,?,?,?,?,?)";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_blob(st, 1, h, AUTH_HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    if (email)
        sqlite3_bind_text(st, 4, email, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms);
    sqlite3_bind_int64(st, 6, now_ms + (int64_t)AUTH_OTT_LIFETIME_S * 1000);
    rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

int auth_ott_consume(db_conn *w, const uint8_t hash[AUTH_HASH_LEN], const char *type, int64_t now_ms,
                     char uid[UUID_STR_LEN + 1], char *email, size_t email_cap)
{
    static const char q[] = "SELECT user_id, type, email, expires_at FROM _basalt_one_time_tokens WHERE token_hash = ?";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_blob(st, 1, hash, AUTH_HASH_LEN, SQLITE_STATIC);
    int s = sqlite3_step(st);
    int rc = BS_ENOTFOUND;
    int64_t expires = 0;
    if (s == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 1);
        if (t && strcmp(t, type) == 0) {
            snprintf(uid, UUID_STR_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
            const char *e = (const char *)sqlite3_column_text(st, 2);
            snprintf(email, email_cap, "%s", e ? e : "");
            expires = sqlite3_column_int64(st, 3);
            rc = BS_OK;
        }
    } else if (s != SQLITE_DONE) {
        rc = BS_EDB;
    }
    db_stmt_done(st);
    if (rc)
        return rc;
    st = db_stmt(w, "DELETE FROM _basalt_one_time_tokens WHERE token_hash = ?",
                 strlen("DELETE FROM _basalt_one_time_tokens WHERE token_hash = ?"), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_blob(st, 1, hash, AUTH_HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (!rc && expires <= now_ms)
        rc = BS_EEXPIRED;
    return rc;
}
