/* st_admin.c - /admin/v1/buckets/NAME/rules: read and change a bucket's
 * access rules (st_rules.c).  The route is HTTP_SERVICE (the gate lets
 * only service_role through) and speaks PostgREST, as the rest of the
 * admin API does.
 *
 *   GET                  the rules object
 *   POST, PUT            replace the whole set
 *   PATCH                change the named operations (null removes one)
 */
#include "storage/st_int.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "http/pgrst.h"

#include <stdlib.h>
#include <string.h>

typedef struct rules_op_arg {
    const char *id;
    const char *text;
} rules_op_arg;

static int run_set_rules(db_conn *w, void *arg)
{
    rules_op_arg *o = arg;
    return st_bucket_set_rules(w, o->id, o->text);
}

/* NAME/rules: the bucket, or an answer (404 for another path or no such
 * bucket).  BS_OK and *b (st_bucket_clear it). */
static int load_bucket(http_req *r, const char *sub, const char **id, st_bucket *b)
{
    const char *slash = strchr(sub, '/');
    if (!slash || strcmp(slash, "/rules") != 0) {
        pgrst_reply(r, PGRST_NO_PATH, "Invalid path specified in request URL", NULL, NULL);
        return BS_ENOTFOUND;
    }
    *id = st_bucket_decode(http_arena(r), sub, (size_t)(slash - sub));
    db_conn *db = db_reader(http_app(r)->store);
    int rc = !*id ? BS_ENOTFOUND : db ? st_bucket_get(db, http_arena(r), *id, b) : BS_EDB;
    if (rc == BS_ENOTFOUND)
        pgrst_reply(r, PGRST_NO_TABLE, "bucket not found", NULL, NULL);
    else if (rc)
        pgrst_reply(r, PGRST_INTERNAL, basalt_strerror(rc), NULL, NULL);
    return rc;
}

/* The body as a JSON object, or an answer (400). */
static int read_rules(http_req *r, json_t **body)
{
    const char *data;
    size_t len;
    char why[JSONIN_MSG_MAX];
    *body = NULL;
    /* not json_is_object(body = ...): the jansson macro evaluates its
     * argument twice, which parsed the body twice and leaked one tree */
    if (http_body(r, &data, &len) == BS_OK &&
        jsonin_parse(data, len, JSONIN_ANY_SIZE, 0, body, why, sizeof why) != BS_OK) {
        pgrst_reply(r, PGRST_BAD_BODY, "the request body is not valid JSON", why, NULL);
        return BS_EJSON;
    }
    if (!json_is_object(*body)) {
        pgrst_reply(r, PGRST_BAD_BODY, "the request body must be a JSON object", NULL, NULL);
        return BS_EJSON;
    }
    return BS_OK;
}

/* Merge the body into the bucket's rules, store them, answer them. */
static int change_rules(http_req *r, const char *id, const st_bucket *b)
{
    json_t *body = NULL, *merged = NULL;
    buf msg = BUF_INIT;
    char *text = NULL;
    int rc = BS_OK;
    if (read_rules(r, &body))
        goto out;
    /* POST/PUT replace the whole set, PATCH changes the named operations */
    if (st_rules_merge(http_method(r) == HTTP_PATCH ? b->rules : NULL, body, &merged, &msg) != BS_OK) {
        rc = pgrst_reply(r, PGRST_PARSE, buf_cstr(&msg), NULL, NULL);
        goto out;
    }
    text = json_dumps(merged, JSON_COMPACT);
    rules_op_arg o = {id, text};
    rc = text ? db_write(http_app(r)->store, run_set_rules, &o) : BS_ENOMEM;
    if (rc == BS_OK)
        rc = http_send_json(r, 200, text, strlen(text));
    else if (rc == BS_ENOTFOUND)
        rc = pgrst_reply(r, PGRST_NO_TABLE, "bucket not found", NULL, NULL);
    else
        rc = pgrst_reply(r, PGRST_INTERNAL, basalt_strerror(rc), NULL, NULL);
out:
    free(text);
    json_decref(body);
    json_decref(merged);
    buf_free(&msg);
    return rc;
}

int st_admin_buckets(http_req *r)
{
    const char *id;
    st_bucket b;
    if (load_bucket(r, http_subpath_raw(r), &id, &b))
        return BS_OK;
    unsigned m = http_method(r);
    int rc;
    if (m == HTTP_GET) {
        char *text = json_dumps(b.rules, JSON_COMPACT);
        rc = text ? http_send_json(r, 200, text, strlen(text)) : BS_ENOMEM;
        free(text);
    } else if (m == HTTP_POST || m == HTTP_PATCH || m == HTTP_PUT) {
        rc = change_rules(r, id, &b);
    } else {
        rc = pgrst_reply(r, PGRST_METHOD, "Unsupported HTTP method", NULL, NULL);
    }
    st_bucket_clear(&b);
    return rc;
}
