/* rules_module.c - the rules cache as a module: made at start, dropped at
 * stop, emptied when another process commits (its rules may have changed). */
#include "app/module.h"
#include "core/error.h"
#include "rules/cache.h"

#include <stdio.h>

static int start(bs_app *app)
{
    int rc = rules_cache_new(&app->rules);
    if (rc)
        fprintf(stderr, "basalt: cannot start the rules cache: %s\n", basalt_strerror(rc));
    return rc;
}

static void stop(bs_app *app)
{
    rules_cache_free(app->rules);
    app->rules = NULL;
}

/* Another process changed the database (basalt migrate, say): its rules
 * and collections may differ from what is cached. */
static void on_external(void *arg, db_conn *w)
{
    (void)w;
    rules_cache_invalidate(((bs_app *)arg)->rules, NULL);
}

const bs_module rules_module = {.name = "rules", .start = start, .stop = stop, .on_external = on_external};
