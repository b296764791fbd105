/* rest.h - the /rest/v1 handler: PostgREST's HTTP surface over collections.
 *
 * Reads compile the request with query.h and run on the worker's reader
 * connection; SQLite builds each row's JSON and the handler only joins the
 * rows.  Writes are parsed and validated on the worker (jansson), then run
 * as one db_write callback: the rows, their change-log entries and the
 * representation to return are all produced inside the writer's
 * transaction, so a failing row fails the whole request and writes nothing.
 *
 * Threads: civetweb worker threads (through the route table).
 */
#ifndef BS_REST_REST_H
#define BS_REST_REST_H

#include "core/buf.h"
#include "http/http.h"

int rest_handle(http_req *r);

/* Render a JSON array of row objects (json_rows) as CSV into out (rest_csv.c).
 * BS_EJSON when json_rows is not an array; BS_ENOMEM.  Any thread. */
int rest_csv(const buf *json_rows, buf *out);

#endif
