/* rt_rest.h - the realtime REST endpoints (wire spec §6.7): broadcast
 * without a socket.  Both answer 202 with an empty body.
 *   POST /realtime/v1/api/broadcast
 *        {"messages":[{"topic":"room","event":"e","payload":{...},"private":false}]}
 *   POST /realtime/v1/api/broadcast/{topic}/events/{event}   body = the payload
 * Topics are given without the "realtime:" prefix.  Route access: HTTP_APIKEY.
 * Threads: civetweb worker threads.
 */
#ifndef BS_RT_REST_H
#define BS_RT_REST_H

#include "http/http.h"

int rt_rest_broadcast(http_req *r);
int rt_rest_broadcast_event(http_req *r);

#endif
