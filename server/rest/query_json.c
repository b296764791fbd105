/* query_json.c - the SQL functions the compiled filters call:
 * bs_json_contains (PostgreSQL jsonb @>, for cs/cd) and bs_json_overlaps
 * (&&, for ov) over JSON text.  Registered on every connection by
 * rest_query_register_functions (query.h).  NULL-safe: a NULL or invalid
 * argument (including JSON nested deeper than JSONIN_MAX_DEPTH) gives
 * NULL, never an error that would abort the query.
 * Threads: run on whatever thread owns the connection. */
#include "rest/query.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonin.h"

/* ------------------------------------------------------------------ */
/* SQL functions: jsonb @> and && over JSON text                        */

static bool num_eq(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    return json_number_value(a) == json_number_value(b);
}

/* Deep equality where 1 and 1.0 are equal. */
static bool deep_eq(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return num_eq(a, b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++) {
            if (!deep_eq(json_array_get(a, i), json_array_get(b, i)))
                return false;
        }
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !deep_eq(v, w))
                return false;
        }
        return true;
    }
    return json_equal(a, b) != 0; /* strings, true, false, null */
}

static bool is_container(const json_t *j) { return json_is_object(j) || json_is_array(j); }

/* PostgreSQL's JsonbDeepContains: every key/value of an object operand
 * is present in a (recursively); every element of an array operand is in
 * some element of a; scalars must be equal. */
static bool contains(const json_t *a, const json_t *b)
{
    if (json_is_object(b)) {
        if (!json_is_object(a))
            return false;
        const char *k;
        json_t *bv;
        json_object_foreach((json_t *)b, k, bv)
        {
            json_t *av = json_object_get(a, k);
            if (!av)
                return false;
            if (is_container(bv) ? !contains(av, bv) : (is_container(av) || !deep_eq(av, bv)))
                return false;
        }
        return true;
    }
    if (json_is_array(b)) {
        if (!json_is_array(a))
            return false;
        size_t an = json_array_size(a), bn = json_array_size(b);
        for (size_t j = 0; j < bn; j++) {
            const json_t *bv = json_array_get(b, j);
            bool found = false;
            for (size_t i = 0; i < an && !found; i++) {
                const json_t *av = json_array_get(a, i);
                if (is_container(bv))
                    found = json_typeof(av) == json_typeof(bv) && contains(av, bv);
                else
                    found = !is_container(av) && deep_eq(av, bv);
            }
            if (!found)
                return false;
        }
        return true;
    }
    return !is_container(a) && deep_eq(a, b);
}

static bool empty_object(const json_t *j) { return json_is_object(j) && json_object_size(j) == 0; }

static bool contains_top(const json_t *a, const json_t *b)
{
    /* `{}` on the wire is both an empty array literal and an empty object */
    if (empty_object(b) && json_is_array(a))
        return true;
    if (empty_object(a) && json_is_array(b))
        return json_array_size(b) == 0;
    /* at the top level an array contains a bare scalar it holds */
    if (json_is_array(a) && !is_container(b)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            const json_t *av = json_array_get(a, i);
            if (!is_container(av) && deep_eq(av, b))
                return true;
        }
        return false;
    }
    return contains(a, b);
}

static bool overlaps(const json_t *a, const json_t *b)
{
    if (!json_is_array(a) || !json_is_array(b))
        return false;
    for (size_t i = 0; i < json_array_size(a); i++) {
        for (size_t j = 0; j < json_array_size(b); j++) {
            if (deep_eq(json_array_get(a, i), json_array_get(b, j)))
                return true;
        }
    }
    return false;
}

static void aux_free(void *p) { json_decref(p); }

/* Argument i parsed as JSON.  The constant operand is parsed once per
 * statement and kept as auxdata; *owned is set when the caller must hand
 * it back with keep_arg.  NULL for SQL NULL or invalid JSON. */
static json_t *load_arg(sqlite3_context *ctx, sqlite3_value **argv, int i, bool *owned)
{
    *owned = false;
    json_t *j = sqlite3_get_auxdata(ctx, i);
    if (j)
        return j;
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
        return NULL;
    const unsigned char *s = sqlite3_value_text(argv[i]);
    int n = sqlite3_value_bytes(argv[i]);
    if (!s)
        return NULL;
    /* through jsonin_parse although the operand was admitted by query.c and
     * the column is a stored document: contains() and deep_eq() recurse,
     * and this runs on a worker's stack; too deep counts as invalid (NULL) */
    j = NULL;
    jsonin_parse((const char *)s, (size_t)n, JSONIN_ANY_SIZE, JSON_DECODE_ANY, &j, NULL, 0);
    *owned = j != NULL;
    return j;
}

/* Give SQLite the parsed value: kept for the next row when the argument is
 * constant, freed now otherwise.  Must be the last use of j. */
static void keep_arg(sqlite3_context *ctx, int i, json_t *j, bool owned)
{
    if (owned)
        sqlite3_set_auxdata(ctx, i, j, aux_free);
}

static void json_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv, bool is_overlaps)
{
    (void)argc;
    bool own_a, own_b;
    json_t *a = load_arg(ctx, argv, 0, &own_a);
    json_t *b = load_arg(ctx, argv, 1, &own_b);
    if (!a || !b)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int(ctx, is_overlaps ? overlaps(a, b) : contains_top(a, b));
    keep_arg(ctx, 0, a, own_a);
    keep_arg(ctx, 1, b, own_b);
}

static void fn_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    json_fn(ctx, argc, argv, false);
}

static void fn_overlaps(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    json_fn(ctx, argc, argv, true);
}

int rest_query_register_functions(struct sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    if (sqlite3_create_function_v2(db, "bs_json_contains", 2, flags, NULL, fn_contains, NULL,
                                   NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "bs_json_overlaps", 2, flags, NULL, fn_overlaps, NULL,
                                   NULL, NULL) != SQLITE_OK)
        return BS_EDB;
    return BS_OK;
}
