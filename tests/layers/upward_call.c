/* A fixture of tests/layers: an object charged to the db layer that calls
 * into storage, a layer above it.  check_layers.py must refuse it.  It is
 * compiled (an OBJECT library) but linked into nothing. */
#include "storage/st_service.h"

int layers_fixture_upward_call(void);
int layers_fixture_upward_call(void) { return st_register_functions(0); }
