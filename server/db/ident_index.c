/* ident_index.c - index names (kept beside ident.c; see ident.h). */
#include "core/error.h"
#include "db/ident.h"

int db_ident_quote_index(buf *sql, const char *collection, int n)
{
    if (!db_ident_collection_ok(collection) || n < 0)
        return BS_EINVAL;
    /* the name matched [A-Za-z][A-Za-z0-9_]*: nothing in it needs escaping */
    return buf_printf(sql, "\"_basalt_ix_%s_%d\"", collection, n);
}
