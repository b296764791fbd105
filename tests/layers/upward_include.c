/* A fixture of tests/layers (never built into the server): a file charged
 * to the db layer that includes a feature above it.  check_layers.py must
 * refuse it. */
#include "db/store.h"
#include "storage/st_service.h"
