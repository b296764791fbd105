/* rt_rest.h - the realtime REST endpoints (wire spec §6.7): broadcast
 * without a socket.  Both answer 202 with an empty body.
 *   POST /realtime/v1/api/broadcast
 *        {"messages":[{"topic":"room","event":"e","payload":{...},"private":false}]}
 *   POST /realtime/v1/api/broadcast/{topic}/events/{event}   body = the payload
 * Topics are given without the "realtime:" prefix.  Route access: HTTP_APIKEY_OR_USER.
 * "private": true (batch) or ?private=true (single) sends to the private
 * channel of that name, if the caller's token may (the realtime insert
 * rule, extension broadcast; service_role always): a batch drops a
 * refused message and still answers 202, as Supabase does; the single
 * endpoint answers 403 {"message": "Unauthorized: ..."}.
 * Threads: civetweb worker threads.
 */
#ifndef BS_RT_REST_H
#define BS_RT_REST_H

#include "http/http.h"

int rt_rest_broadcast(http_req *r);
int rt_rest_broadcast_event(http_req *r);

/* The private channel rules (docs/REALTIME.md), route access HTTP_SERVICE:
 *   GET    /admin/v1/realtime/rules   {"select": "...", "insert": "..."}
 *   PUT    (or POST) replaces the set; PATCH {op: text|null} changes the
 *          named operations.  200 with the new set; 400 PGRST100 naming
 *          the rule and position of a parse error. */
int rt_rules_admin(http_req *r);

/* The handlers' parses, pure (any thread; the fuzz target calls them).
 * rt_rest_parse_broadcast: body through jsonin_parse (at most
 * JSONIN_MAX_DEPTH deep), then the shape above with at most 100 messages,
 * each with string topic and event.  BS_OK and *out (the whole body; the
 * caller json_decref's), or an error with *code ("invalid_body",
 * "invalid_message") and msg for a 400; BS_ENOMEM.
 * rt_rest_parse_payload: the single-event body (empty -> {}; any JSON
 * value) through jsonin_parse, re-serialised compactly into *out (caller
 * frees).  BS_OK, an error with msg for a 400 invalid_json, or BS_ENOMEM. */
struct json_t;
int rt_rest_parse_broadcast(const char *body, size_t len, struct json_t **out, const char **code, char *msg,
                            size_t msgsz);
int rt_rest_parse_payload(const char *body, size_t len, char **out, char *msg, size_t msgsz);

#endif
