/* cache.c - see cache.h.
 *
 * A chained hash table keyed by the lower-cased collection name.  An entry
 * holds one reference to each op's parsed rule; rules_cache_get hands out
 * an extra reference under the mutex, so dropping the entry
 * (invalidate) only drops the cache's own references.
 */
#include "rules/cache.h"
#include "core/jwt.h"
#include "core/error.h"
#include "core/log.h"
#include "db/ident.h"
#include "db/store.h"
#include <stdio.h>

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 256

typedef struct entry {
    struct entry *next;
    char name[64];                       /* lower-cased */
    char canon[64];                      /* as stored in _basalt_collections */
    rules_expr *rule[RULES_NOPS];        /* NULL: closed */
    bool broken[RULES_NOPS];             /* stored text that does not parse */
} entry;

struct rules_cache {
    pthread_mutex_t mu;
    uint64_t gen;
    entry *b[NBUCKETS];
};

static void lower(char out[64], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 63; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

static void entry_free(entry *e)
{
    if (!e)
        return;
    for (int i = 0; i < RULES_NOPS; i++)
        rules_free(e->rule[i]);
    free(e);
}

int rules_cache_new(rules_cache **out)
{
    rules_cache *c = calloc(1, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return BS_OK;
}

void rules_cache_free(rules_cache *c)
{
    if (!c)
        return;
    rules_cache_invalidate(c, NULL);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Read and parse a collection's rules into a new entry. */
static int load(db_conn *conn, const char *collection, entry **out)
{
    const char *q = "SELECT rules, name FROM _basalt_collections WHERE name = ?";
    sqlite3_stmt *st = db_stmt(conn, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, collection, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? BS_OK : step == SQLITE_DONE ? BS_ENOTFOUND : BS_EDB;
    json_t *rules = NULL;
    char canon[64] = "";
    if (!rc) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        json_error_t je;
        /* an object of rule strings the server serialised itself */
        rules = t ? json_loads(t, 0, &je) : NULL;
        const char *n = (const char *)sqlite3_column_text(st, 1);
        snprintf(canon, sizeof canon, "%s", n ? n : collection);
    }
    db_stmt_done(st);
    if (rc)
        return rc;
    entry *e = calloc(1, sizeof *e);
    if (!e) {
        json_decref(rules);
        return BS_ENOMEM;
    }
    lower(e->name, collection);
    memcpy(e->canon, canon, sizeof canon);
    for (int i = 0; i < RULES_NOPS; i++) {
        json_t *v = json_object_get(rules, rules_op_name((rules_op)i));
        if (!json_is_string(v))
            continue;
        rules_error err;
        if (rules_parse_op((rules_op)i, json_string_value(v), &e->rule[i], &err) != BS_OK) {
            log_warn("rules: stored %s rule of %s does not parse (%s at %d): closed", rules_op_name((rules_op)i),
                     collection, err.message, err.pos);
            e->rule[i] = NULL;
            e->broken[i] = true;
        }
    }
    json_decref(rules);
    *out = e;
    return BS_OK;
}

static entry *find(rules_cache *c, const char *key, entry ***link)
{
    entry **p = &c->b[hash(key)];
    for (; *p; p = &(*p)->next)
        if (strcmp((*p)->name, key) == 0)
            break;
    if (link)
        *link = p;
    return *p;
}

static int answer(const entry *e, rules_op op, const rules_expr **out)
{
    *out = rules_retain(e->rule[op]);
    return e->broken[op] ? BS_EPARSE : BS_OK;
}

int rules_cache_get(rules_cache *c, struct db_conn *conn, const char *collection, rules_op op,
                    const rules_expr **out)
{
    *out = NULL;
    if (!c || !collection || op < 0 || op >= RULES_NOPS)
        return BS_EINVAL;
    char key[64];
    lower(key, collection);
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, NULL);
    int rc = BS_OK;
    if (e) {
        rc = answer(e, op, out);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    uint64_t gen = c->gen;
    pthread_mutex_unlock(&c->mu);

    entry *fresh = NULL;
    rc = load(conn, collection, &fresh);
    if (rc)
        return rc;
    pthread_mutex_lock(&c->mu);
    entry **link;
    e = find(c, key, &link);
    if (e) {
        /* another thread loaded it first: use theirs */
        rc = answer(e, op, out);
        entry_free(fresh);
    } else {
        rc = answer(fresh, op, out);
        if (gen == c->gen) {
            *link = fresh;
        } else {
            /* invalidated while we read: answer this once, do not keep */
            entry_free(fresh);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void rules_cache_put(const rules_expr *e) { rules_free((rules_expr *)e); }

int rules_cache_collection(rules_cache *c, struct db_conn *conn, const char *collection, char canon[64])
{
    if (!c || !collection)
        return BS_EINVAL;
    if (!db_ident_collection_ok(collection))
        return BS_ENOTFOUND;
    char key[64];
    lower(key, collection);
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, NULL);
    if (e) {
        memcpy(canon, e->canon, 64);
        pthread_mutex_unlock(&c->mu);
        return BS_OK;
    }
    pthread_mutex_unlock(&c->mu);
    /* not cached yet: load it the way rules_cache_get does */
    const rules_expr *r = NULL;
    int rc = rules_cache_get(c, conn, collection, RULES_SELECT, &r);
    rules_cache_put(r);
    if (rc && rc != BS_EPARSE)
        return rc;
    pthread_mutex_lock(&c->mu);
    e = find(c, key, NULL);
    if (e)
        memcpy(canon, e->canon, 64);
    pthread_mutex_unlock(&c->mu);
    if (e)
        return BS_OK;
    /* invalidated meanwhile: ask the database, keep nothing */
    rc = load(conn, collection, &e);
    if (rc == BS_OK)
        memcpy(canon, e->canon, 64);
    entry_free(e);
    return rc;
}

void rules_cache_invalidate(rules_cache *c, const char *collection)
{
    if (!c)
        return;
    entry *drop = NULL;
    pthread_mutex_lock(&c->mu);
    c->gen++;
    if (collection) {
        char key[64];
        lower(key, collection);
        entry **link;
        entry *e = find(c, key, &link);
        if (e) {
            *link = e->next;
            e->next = NULL;
            drop = e;
        }
    } else {
        for (int i = 0; i < NBUCKETS; i++) {
            entry *e = c->b[i];
            c->b[i] = NULL;
            while (e) {
                entry *n = e->next;
                e->next = drop;
                drop = e;
                e = n;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    while (drop) {
        entry *n = drop->next;
        entry_free(drop);
        drop = n;
    }
}

bool rules_allows_select(rules_cache *c, struct db_conn *conn, const char *collection,
                         const struct auth_claims *auth, json_t *doc)
{
    if (auth && strcmp(auth->role, "service_role") == 0)
        return true;
    const rules_expr *e;
    if (rules_cache_get(c, conn, collection, RULES_SELECT, &e) != BS_OK || !e) {
        rules_cache_put(e);
        return false;
    }
    rules_env env = {.auth = auth, .doc = doc};
    bool ok = rules_eval(e, &env);
    rules_cache_put(e);
    return ok;
}
