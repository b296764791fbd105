/* modules.h - the modules the binary is made of, for main.c's table.  Each
 * descriptor lives beside its subsystem (app/module.h says what one is). */
#ifndef BS_MODULES_H
#define BS_MODULES_H

#include "app/module.h"
#include "app/store_module.h"

extern const bs_module rules_module;     /* rules/rules_module.c */
extern const bs_module rest_module;      /* rest/rest_module.c */
extern const bs_module auth_module;      /* auth/auth_module.c */
extern const bs_module storage_module;   /* storage/st_module.c */
extern const bs_module functions_module; /* functions/fn_module.c */
extern const bs_module realtime_module;  /* realtime/rt_module.c */
extern const bs_module console_module;   /* console/console_module.c */
extern const bs_module admin_module;     /* admin/admin_module.c */

#endif
