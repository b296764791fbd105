/* account.c - the signed-in user's own endpoints: GET/PUT /user and
 * POST /logout.  All take the user's access token (Bearer) and require its
 * session to still exist (auth_caller), so a token whose session was
 * revoked, or whose user was deleted, gets 403 session_not_found.
 */
#include "auth/auth_int.h"
#include "app/app.h"
#include "core/password.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdlib.h>
#include <string.h>

int auth_ep_user_get(http_req *r, auth_service *s)
{
    auth_claims *c = NULL;
    if (auth_caller(r, s, &c))
        return BS_OK;
    /* the session exists but its user went meanwhile: as GoTrue */
    return auth_reply_user(r, c->sub, AUTH_E_SESSION_NOT_FOUND);
}

typedef struct update_arg {
    const char *uid, *sid;
    const char *email; /* new e-mail or NULL */
    char *pw_hash;     /* new hash (moved into the user) or NULL */
    json_t *data;      /* user_metadata patch or NULL */
    int64_t now_ms;
    auth_user *u; /* out */
    bool gone;
    const char *too_big; /* out: the metadata over the limit */
} update_arg;

static int update_fn(db_conn *w, void *p)
{
    update_arg *a = p;
    char *old = NULL;
    int rc = auth_user_reload(w, a->uid, &a->u, &a->gone);
    if (rc || a->gone)
        return rc;
    auth_user *u = a->u;
    old = auth_user_json_text(u);
    if (!old)
        return BS_ENOMEM;
    if (a->email && (!u->email || strcmp(u->email, a->email) != 0)) {
        if ((rc = auth_user_set_email(u, a->email)))
            goto out;
        u->email_confirmed_at = a->now_ms; /* auto-confirm: no mail server */
    }
    if (a->pw_hash) {
        free(u->password_hash);
        u->password_hash = a->pw_hash;
        a->pw_hash = NULL;
        /* as GoTrue: a new password ends every other session */
        rc = auth_sessions_revoke(w, u->id, a->sid, AUTH_SCOPE_OTHERS);
        if (rc)
            goto out;
    }
    if (a->data)
        auth_merge_metadata(u->user_metadata, a->data);
    if ((rc = auth_user_metadata_check(u, &a->too_big)))
        goto out; /* rolled back: nothing is written */
    u->updated_at = a->now_ms;
    rc = auth_user_save(w, u, old, a->now_ms);
out:
    free(old);
    return rc;
}

int auth_ep_user_put(http_req *r, auth_service *s)
{
    auth_claims *c = NULL;
    json_t *b = NULL;
    auth_user *cur = NULL;
    update_arg a;
    memset(&a, 0, sizeof a);
    int rc = BS_OK;
    if (auth_caller(r, s, &c))
        goto out;
    if (auth_body(r, &b))
        goto out;
    json_t *email = json_object_get(b, "email"), *pw = json_object_get(b, "password"),
           *data = json_object_get(b, "data"), *phone = json_object_get(b, "phone");
    char em[AUTH_EMAIL_MAX + 1];
    if (!auth_valid_object(r, data, "data"))
        goto out;
    if (json_is_string(phone) && json_string_length(phone)) {
        rc = auth_reply_error(r, AUTH_E_PHONE_DISABLED, "Phone updates are disabled");
        goto out;
    }
    if (email && !json_is_null(email)) {
        if (!auth_valid_email(r, email, em, sizeof em))
            goto out;
        a.email = em;
    }
    if (pw && !json_is_null(pw)) {
        const char *pws;
        size_t pwlen;
        if (!auth_valid_password(r, s, pw, &pws, &pwlen))
            goto out;
        int lrc = auth_user_read(http_app(r)->store, c->sub, NULL, &cur);
        if (lrc && lrc != BS_ENOTFOUND) {
            rc = auth_reply_fail(r, "loading a user", lrc);
            goto out;
        }
        bool same = false;
        if (cur && cur->password_hash)
            auth_password_verify(s->passwords, pws, pwlen, cur->password_hash, &same, NULL);
        if (same) {
            rc = auth_reply_error(r, AUTH_E_SAME_PASSWORD, NULL);
            goto out;
        }
        rc = auth_password_hash(s->passwords, pws, pwlen, &a.pw_hash);
        if (rc) {
            rc = auth_reply_fail(r, "hashing a password", rc);
            goto out;
        }
    }
    a.uid = c->sub;
    a.sid = c->session_id;
    a.data = json_is_object(data) ? data : NULL;
    a.now_ms = time_now_ms();
    rc = db_write(http_app(r)->store, update_fn, &a);
    if (rc == BS_ETOOBIG)
        rc = auth_reply_metadata_too_big(r, a.too_big);
    else if (rc == BS_EEXISTS)
        rc = auth_reply_error(r, AUTH_E_EMAIL_EXISTS, NULL);
    else if (rc)
        rc = auth_reply_fail(r, "updating a user", rc);
    else if (a.gone)
        rc = auth_reply_error(r, AUTH_E_SESSION_NOT_FOUND, NULL);
    else
        rc = auth_reply_json(r, 200, auth_user_json(a.u));
out:
    free(a.pw_hash);
    auth_user_free(a.u);
    auth_user_free(cur);
    json_decref(b);
    return rc;
}

typedef struct logout_arg {
    const char *uid, *sid;
    int scope;
} logout_arg;

static int logout_fn(db_conn *w, void *p)
{
    logout_arg *a = p;
    return auth_sessions_revoke(w, a->uid, a->sid, a->scope);
}

int auth_ep_logout(http_req *r, auth_service *s)
{
    const char *scope = http_param(r, "scope");
    int sc;
    if (!scope || !*scope || strcmp(scope, "global") == 0)
        sc = AUTH_SCOPE_GLOBAL;
    else if (strcmp(scope, "local") == 0)
        sc = AUTH_SCOPE_LOCAL;
    else if (strcmp(scope, "others") == 0)
        sc = AUTH_SCOPE_OTHERS;
    else
        return auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Unsupported logout scope: use global, local or others");
    auth_claims *c = NULL;
    if (auth_caller(r, s, &c))
        return BS_OK;
    logout_arg a = {c->sub, c->session_id, sc};
    int rc = db_write(http_app(r)->store, logout_fn, &a);
    if (rc)
        return auth_reply_fail(r, "signing out", rc);
    return http_send(r, 204, NULL, NULL, 0);
}
