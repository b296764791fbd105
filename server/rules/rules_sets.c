/* rules_sets.c - rule sets: the merge of a set of per-operation rules
 * (collections: select/insert/update/delete; realtime channels: select and
 * insert over realtime.*), and the checks of realtime channel rules.
 * Shared by the admin API and migrations; nothing here evaluates. */
#include "rules/rules_int.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

int rules_parse_realtime(const char *text, rules_expr **out, rules_error *err)
{
    rules_expr *e;
    int rc = rules_parse(text, &e, err);
    if (rc)
        return rc;
    int pos = (e->flags & RF_DOC) ? e->doc_pos : (e->flags & RF_NEW) ? e->new_pos : (e->flags & RF_OBJECT) ? e->object_pos : 0;
    if (pos) {
        err->pos = pos;
        snprintf(err->message, sizeof err->message,
                 "realtime rules see realtime.topic, realtime.extension, realtime.presence_key and auth.*; "
                 "doc., new. and object. are not available");
        rules_free(e);
        return BS_EPARSE;
    }
    *out = e;
    return BS_OK;
}

bool rules_uses_presence_key(const rules_expr *e) { return e && (e->flags & RF_PRESENCE_KEY); }

static void caret(buf *details, const char *text, int pos)
{
    buf_puts(details, text);
    buf_putc(details, '\n');
    for (int i = 1; i < pos; i++)
        buf_putc(details, ' ');
    buf_putc(details, '^');
}

int rules_merge(json_t *current, json_t *patch, json_t **out, buf *msg, buf *details)
{
    return rules__merge(current, patch, false, out, msg, details);
}

int rules_realtime_merge(json_t *current, json_t *patch, json_t **out, buf *msg, buf *details)
{
    return rules__merge(current, patch, true, out, msg, details);
}

int rules__merge(json_t *current, json_t *patch, bool realtime, json_t **out, buf *msg, buf *details)
{
    *out = NULL;
    if (!json_is_object(patch)) {
        buf_puts(msg, realtime ? "\"rules\" must be an object like {\"select\": \"realtime.topic == 'room'\"}"
                               : "\"rules\" must be an object like {\"select\": \"auth.uid == doc.owner_id\"}");
        return BS_EINVAL;
    }
    json_t *m = json_is_object(current) ? json_deep_copy(current) : json_object();
    if (!m)
        return BS_ENOMEM;
    const char *k;
    json_t *v;
    int rc = BS_OK;
    json_object_foreach(patch, k, v)
    {
        rules_op op;
        if (rules_op_parse(k, &op) != BS_OK || (realtime && op != RULES_SELECT && op != RULES_INSERT)) {
            buf_printf(msg, "unknown operation \"%.64s\" in rules (use %s)", k,
                       realtime ? "select or insert" : "select, insert, update or delete");
            rc = BS_EINVAL;
            break;
        }
        if (json_is_null(v)) {
            json_object_del(m, k);
            continue;
        }
        if (!json_is_string(v)) {
            buf_printf(msg, "rule for %s must be a string (or null to remove it)", k);
            rc = BS_EINVAL;
            break;
        }
        rules_error err;
        rules_expr *e;
        const char *text = json_string_value(v);
        if (strlen(text) != json_string_length(v)) {
            buf_printf(msg, "rule for %s: NUL byte in the rule", k);
            rc = BS_EINVAL;
            break;
        }
        if ((realtime ? rules_parse_realtime(text, &e, &err) : rules_parse_op(op, text, &e, &err)) != BS_OK) {
            buf_printf(msg, "rule for %s: %s at position %d", k, err.message, err.pos);
            if (details && strlen(text) <= 400 && !strchr(text, '\n'))
                caret(details, text, err.pos);
            else if (details)
                buf_printf(details, "position %d", err.pos);
            rc = BS_EINVAL;
            break;
        }
        rules_free(e);
        if (json_object_set(m, k, v)) {
            rc = BS_ENOMEM;
            break;
        }
    }
    if (rc) {
        json_decref(m);
        return rc;
    }
    *out = m;
    return BS_OK;
}
