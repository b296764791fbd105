/* auth_int.h - private structures shared by the files of the auth module.
 *
 *   auth.c       service object, dispatch, the caller, replies
 *   auth_errors.c  the GoTrue error catalogue and error replies
 *   user.c       the user row: load, JSON (GoTrue's shape), insert/save/delete
 *   session.c    sessions, refresh-token rotation and reuse, one-time tokens
 *   signin.c     /signup, /token, /verify, /recover, /resend
 *   account.c    /user (GET, PUT), /logout
 *   admin.c      /admin/users...
 *   validate.c   input checks shared by the endpoints (email, password,
 *                metadata, durations)
 *
 * Write discipline: every write is one db_write callback that re-reads
 * what it changes on the writer connection, so concurrent requests cannot
 * lose each other's updates.  Slow work (scrypt) happens before, on the
 * worker.  Callbacks return BS_OK with an `outcome` for business refusals
 * that must still commit (e.g. revoking a session on refresh-token reuse)
 * and a BS_* error only when their changes must be rolled back.
 */
#ifndef BS_AUTH_INT_H
#define BS_AUTH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "app/app.h"
#include "auth/auth.h"
#include "auth/auth_errors.h"
#include "core/crypto.h"
#include "core/jwt.h"
#include "core/password.h"
#include "core/ratelimit.h"
#include "core/uuid.h"
#include "db/store.h"
#include "http/http.h"

#define AUTH_API_VERSION "2024-01-01"
#define AUTH_EMAIL_MAX 255
#define AUTH_PASSWORD_MAX 1024
#define AUTH_OTT_LIFETIME_S 3600 /* recovery / confirmation tokens */
#define AUTH_RATE_PERIOD_MS (5 * 60 * 1000)
#define AUTH_REUSE_SLOTS 4096
/* Refresh tokens: an 8-character session locator (inherited by every
 * token of a session), the issue time (12 lower-case hex digits of unix
 * ms) and AUTH_TOKEN_LEN random characters.  The stored key is
 * SHA-256(locator)[0..8) || time digits || SHA-256(token): the tokens of a
 * session are contiguous in the B-tree in issue order, so a rotation
 * (revoke the newest token, append its child) dirties one table page and
 * one index page instead of three random ones.  Tokens of any other
 * shape (issued before) are keyed by SHA-256(token). */
#define AUTH_RT_PREFIX 8
#define AUTH_RT_TIME 12
#define AUTH_RT_LEN (AUTH_RT_PREFIX + AUTH_RT_TIME + AUTH_TOKEN_LEN)
#define AUTH_RT_KEY_MAX (AUTH_RT_PREFIX + AUTH_RT_TIME + AUTH_HASH_LEN)
/* user_metadata and app_metadata may each take at most this many bytes as
 * compact JSON (as they appear in the access token).  Both travel in every
 * access token, which auth_jwt_verify refuses over AUTH_JWT_MAX_LEN (8 KiB,
 * also what common proxies take in one header line).  The rest of the
 * claims take at most 1,243 bytes (a 608-character issuer, a 255-character
 * e-mail, a 63-character role), so with both objects full the token stays
 * under the limit even with the largest signature (RSA-8192: 1,366
 * characters); tests/unit/auth/metadata.c builds that worst case.  A
 * write that would leave either object bigger is refused (400
 * validation_failed) before anything is stored. */
#define AUTH_METADATA_MAX 1536
#define AUTH_PER_PAGE_DEFAULT 50
#define AUTH_PER_PAGE_MAX 1000

/* A rotated refresh token's child, remembered (in memory only) for the
 * reuse interval so a concurrent refresh with the parent gets the same
 * child instead of a second branch. */
typedef struct auth_reuse {
    uint8_t parent[AUTH_RT_KEY_MAX];
    size_t parent_len;
    char child[AUTH_RT_LEN + 1];
    int64_t until_ms;
} auth_reuse;

struct auth_service {
    bs_app *app;
    const bs_config *cfg;
    auth_rl *rl_signin, *rl_refresh, *rl_recover;
    char issuer[700];
    auth_passwords *passwords; /* scrypt parameters; unknown e-mails are checked too */
    pthread_mutex_t reuse_lock;
    auth_reuse *reuse; /* AUTH_REUSE_SLOTS, direct-mapped by hash */
};

typedef struct auth_user {
    char id[UUID_STR_LEN + 1];
    char *email; /* NULL when none */
    char *phone;
    char *password_hash;
    char *role;
    char *aud;
    int64_t email_confirmed_at, phone_confirmed_at, last_sign_in_at;
    int64_t recovery_sent_at, confirmation_sent_at, banned_until; /* 0 = none */
    json_t *app_metadata, *user_metadata;                         /* objects, owned */
    char identity_id[UUID_STR_LEN + 1];                           /* "" when none */
    bool is_anonymous;
    int64_t created_at, updated_at;
} auth_user;

/* What a session-issuing write hands back to the handler. */
typedef struct auth_issue {
    char session_id[UUID_STR_LEN + 1];
    char refresh[AUTH_RT_LEN + 1];
    char amr_method[24];
    int64_t amr_at; /* unix seconds */
} auth_issue;

/* ---- user.c ---- */
/* A zeroed user with empty metadata objects and role/aud "authenticated". */
auth_user *auth_user_new(void);
void auth_user_free(auth_user *u);
/* Give u the e-mail address (copied): an email identity id when it has
 * none, provider "email" in app_metadata, no longer anonymous.  Does not
 * touch email_confirmed_at.  BS_ENOMEM or BS_EIO on failure, u unchanged
 * but for what was already set. */
int auth_user_set_email(auth_user *u, const char *email);
/* By id (when id) or by lower-cased email.  BS_ENOTFOUND, BS_EDB, BS_ENOMEM. */
int auth_user_load(db_conn *c, const char *id, const char *email, auth_user **out);
/* The user of id again, inside a write (w): BS_OK and *out, or BS_OK and
 * *gone when it was deleted meanwhile (the caller answers and commits
 * nothing), or the error. */
int auth_user_reload(db_conn *w, const char *id, auth_user **out, bool *gone);
/* auth_user_load on a reader connection of store (BS_EDB when none). */
int auth_user_read(db_store *store, const char *id, const char *email, auth_user **out);
/* BS_OK when the user exists, BS_ENOTFOUND when not, or the error. */
int auth_user_exists(db_store *store, const char *id, const char *email);
/* The user as GoTrue shows it (new reference). */
json_t *auth_user_json(const auth_user *u);
/* Same, serialized compactly (malloc'd). */
char *auth_user_json_text(const auth_user *u);
/* Insert + change log "auth.users" INSERT.  BS_EEXISTS on a duplicate id
 * or e-mail. */
int auth_user_insert(db_conn *w, const auth_user *u, int64_t now_ms);
/* Write every column of u.  old_json: the user before (for the change
 * log); NULL = do not log (bookkeeping such as last_sign_in_at). */
int auth_user_save(db_conn *w, const auth_user *u, const char *old_json, int64_t now_ms);
/* Delete the user, its sessions and tokens; change log DELETE. */
int auth_user_delete(db_conn *w, const auth_user *u, int64_t now_ms);
bool auth_user_banned(const auth_user *u, int64_t now_ms);
/* Append the users of one page (ordered by created_at, id) to arr as
 * JSON; *total = number of users. */
int auth_user_list(db_conn *c, int64_t offset, int64_t limit, json_t *arr, int64_t *total);

/* ---- session.c ---- */
/* New session + first refresh token for u (writer). */
int auth_session_create(db_conn *w, const auth_user *u, const char *method, int64_t now_ms, auth_issue *out);

enum {
    AUTH_REFRESH_OK,
    AUTH_REFRESH_NOT_FOUND,
    AUTH_REFRESH_REUSED, /* past the reuse interval: session revoked */
    AUTH_REFRESH_BANNED,
};
/* A refresh token with its stored key. */
typedef struct auth_rt {
    char token[AUTH_RT_LEN + 1];
    uint8_t key[AUTH_RT_KEY_MAX];
    size_t key_len;
} auth_rt;
/* What an exchange needs, computed off the writer (any thread): the key of
 * the presented token and the child that replaces it (issued at now_ms, in
 * the presented token's session locator).  BS_OK or BS_EIO. */
typedef struct auth_refresh_req {
    uint8_t key[AUTH_RT_KEY_MAX];
    size_t key_len;
    auth_rt child;
} auth_refresh_req;
int auth_refresh_prepare(const char *token, int64_t now_ms, auth_refresh_req *rq);
/* Exchange a refresh token (writer).  On AUTH_REFRESH_OK *user is the
 * session's user (caller frees) and out is filled. */
int auth_refresh_exchange(auth_service *s, db_conn *w, const auth_refresh_req *rq, int64_t now_ms, auth_issue *out,
                          auth_user **user, int *outcome);
/* True when session sid exists and belongs to uid (any connection). */
int auth_session_check(db_conn *c, const char *sid, const char *uid, bool *exists);

enum { AUTH_SCOPE_GLOBAL, AUTH_SCOPE_LOCAL, AUTH_SCOPE_OTHERS };
int auth_sessions_revoke(db_conn *w, const char *uid, const char *sid, int scope);

/* One-time tokens (recovery, signup confirmation).  create replaces the
 * user's earlier tokens of the same type. */
int auth_ott_create(db_conn *w, const char *uid, const char *type, const char *email, int64_t now_ms,
                    char token[AUTH_TOKEN_LEN + 1]);
/* Consume (delete) the token whose SHA-256 is `hash`; BS_ENOTFOUND when
 * unknown or of another type, BS_EEXPIRED when expired (also deleted). */
int auth_ott_consume(db_conn *w, const uint8_t hash[AUTH_HASH_LEN], const char *type, int64_t now_ms,
                     char uid[UUID_STR_LEN + 1], char *email, size_t email_cap);

/* ---- auth.c: replies and request helpers (worker thread) ---- */
/* Errors: auth_reply_error and friends (auth_errors.h). */
/* Answer j (stolen) as JSON. */
int auth_reply_json(http_req *r, int status, json_t *j);
/* Answer the user of id as GoTrue shows it, or `missing` when none. */
int auth_reply_user(http_req *r, const char *id, auth_err missing);
/* Sign an access token for u / is and answer the token response. */
int auth_reply_token(http_req *r, auth_service *s, const auth_user *u, const auth_issue *is);
/* The claims of u's access token issued at now_s (new reference; NULL on
 * allocation failure). */
json_t *auth_access_claims(const auth_service *s, const auth_user *u, const auth_issue *is, int64_t now_s);
/* Parse the body as a JSON object into *out.  On failure it has answered
 * (400 bad_json / 413) and returns non-BS_OK. */
int auth_body(http_req *r, json_t **out);
/* auth_body's parse of data[0..len), pure (any thread; the fuzz target
 * calls it): only whitespace -> an empty object; otherwise jsonin_parse
 * (at most max bytes and JSONIN_MAX_DEPTH deep, duplicate keys refused)
 * and it must be an object.  BS_OK and *out (caller json_decref's), or
 * BS_EJSON / BS_EDEPTH / BS_ETOOBIG / BS_ENOMEM with the client's message
 * ("Could not parse request body as JSON: ...") in msg. */
int auth_parse_body(const char *data, size_t len, size_t max, json_t **out, char *msg, size_t msgsz);
/* Form-decoded query parameter or NULL. */
/* Rate limit by client IP; answers 429 and returns false when over. */
bool auth_rate(http_req *r, auth_service *s, auth_rl *rl);
/* The caller's user token (the Bearer, as the gate verified it) whose
 * session still exists; answers 401/403 and returns non-BS_OK otherwise.
 * *out is owned by the request. */
int auth_caller(http_req *r, auth_service *s, auth_claims **out);
/* True when the caller is service_role: the Bearer when one was sent (one
 * that does not verify is nobody), else the apikey. */
bool auth_is_service(http_req *r);

/* ---- validate.c ---- */
/* Lower-cased, checked e-mail from a JSON value into out (cap >= 256).
 * On failure answers 400 validation_failed and returns false. */
bool auth_valid_email(http_req *r, json_t *v, char *out, size_t cap);
/* Checks a password value (string, no NUL, <= AUTH_PASSWORD_MAX, >=
 * min length); answers 400/422 and returns false when bad. */
bool auth_valid_password(http_req *r, auth_service *s, json_t *v, const char **pw, size_t *len);
/* Metadata: an object, or null (= {}) when null_ok.  Answers 400 when bad. */
bool auth_valid_object(http_req *r, json_t *v, const char *name);
/* Bytes of obj as compact JSON (what it adds to a token); SIZE_MAX when it
 * cannot be serialized. */
size_t auth_metadata_size(const json_t *obj);
/* BS_OK when both of u's metadata objects are within AUTH_METADATA_MAX;
 * else BS_ETOOBIG with *which = "user_metadata" or "app_metadata". */
int auth_user_metadata_check(const auth_user *u, const char **which);
/* Merge `patch` into `obj` GoTrue-style: keys set, null values delete. */
void auth_merge_metadata(json_t *obj, json_t *patch);
/* Go-style duration ("24h", "1h30m", "100y", "1.5h") or "none" (0) into
 * milliseconds.  BS_EINVAL when malformed or beyond year 9999. */
int auth_parse_duration(const char *s, int64_t *ms);

/* ---- endpoints ---- */
int auth_ep_signup(http_req *r, auth_service *s);
int auth_ep_token(http_req *r, auth_service *s);
int auth_ep_recover(http_req *r, auth_service *s);
int auth_ep_resend(http_req *r, auth_service *s);
int auth_ep_verify(http_req *r, auth_service *s);
int auth_ep_user_get(http_req *r, auth_service *s);
int auth_ep_user_put(http_req *r, auth_service *s);
int auth_ep_logout(http_req *r, auth_service *s);
/* path: what follows "admin/users" ("" or "/<id>"). */
int auth_ep_admin_users(http_req *r, auth_service *s, const char *path);

#endif
