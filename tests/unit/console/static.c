/* The embedded console files and the metrics totals behind /admin/v1/stats. */
#include "../test.h"
#include "console/console.h"
#include "core/metrics.h"

#include <string.h>

TEST(content_types)
{
    ASSERT_EQ_STR(console_content_type("index.html"), "text/html; charset=utf-8");
    ASSERT_EQ_STR(console_content_type("js/pages/users.js"), "text/javascript; charset=utf-8");
    ASSERT_EQ_STR(console_content_type("css/console.css"), "text/css; charset=utf-8");
    ASSERT_EQ_STR(console_content_type("favicon.svg"), "image/svg+xml");
    ASSERT_EQ_STR(console_content_type("x.unknown"), "application/octet-stream");
    ASSERT_EQ_STR(console_content_type("dir.js/noext"), "application/octet-stream");
    ASSERT_EQ_STR(console_content_type("noext"), "application/octet-stream");
}

TEST(embedded_table)
{
    const console_file *idx = console_find("index.html");
    ASSERT(idx != NULL);
    if (!idx)
        return;
    ASSERT(idx->len > 100);
    ASSERT_EQ_INT(idx->data[idx->len], 0); /* NUL after the bytes */
    ASSERT(memcmp(idx->data, "<!doctype html>", 15) == 0);
    ASSERT(console_find("js/app.js") != NULL);
    ASSERT(console_find("js/realtime.js") != NULL);
    ASSERT(console_find("nope.js") == NULL);
    ASSERT(console_find("") == NULL);
    size_t n = 0;
    for (const console_file *f = console_files; f->path; f++, n++) {
        ASSERT_EQ_INT(strlen(f->etag), 22); /* "<20 hex>" */
        ASSERT(f->etag[0] == '"' && f->etag[21] == '"');
        ASSERT(f->path[0] != '/' && f->path[0] != '.');
    }
    ASSERT(n >= 10);
}

TEST(metrics_totals)
{
    metrics_totals a, b;
    metrics_get_totals(&a);
    metrics_http(METRICS_G_REST, 200, 300000);       /* 0.3 ms */
    metrics_http(METRICS_G_ADMIN, 503, 30000000);    /* 30 ms */
    metrics_http(METRICS_G_AUTH, 404, 20000000000u); /* 20 s: +Inf */
    metrics_get_totals(&b);
    ASSERT_EQ_INT(b.requests - a.requests, 3);
    ASSERT_EQ_INT(b.errors - a.errors, 1);
    ASSERT_EQ_INT(b.client_errors - a.client_errors, 1);
    ASSERT_EQ_INT(b.nbounds, 13);
    ASSERT(b.bounds_s[0] == 0.0005);
    ASSERT_EQ_INT(b.lat_count[0] - a.lat_count[0], 1);   /* <= 0.5 ms */
    ASSERT_EQ_INT(b.lat_count[6] - a.lat_count[6], 1);   /* <= 50 ms */
    ASSERT_EQ_INT(b.lat_count[13] - a.lat_count[13], 1); /* +Inf */
}

TEST_MAIN(T(content_types), T(embedded_table), T(metrics_totals))
