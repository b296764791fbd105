/* store_module.h - the store as a module (store_module.c): it starts first
 * and stops last.  store_open is shared with `basalt migrate`. */
#ifndef BS_APP_STORE_MODULE_H
#define BS_APP_STORE_MODULE_H

#include "app/module.h"

extern const bs_module store_module;

/* Open (and migrate) the database of cfg with the given SQL functions,
 * saying why on stderr when it cannot.  Main thread. */
int store_open(const bs_config *cfg, const db_sqlfns *fns, size_t nfns, db_store **out);

#endif
