/* fn_cli.c - `basalt fn new NAME [--dir DIR]`: scaffold a function plugin.
 *
 * Writes DIR/NAME/NAME.c (an HTTP + RPC hello handler using the host API)
 * and DIR/NAME/Makefile that builds NAME.so against basalt/function.h,
 * found through pkg-config (basalt-function.pc, installed with the server)
 * or, from a source checkout, the include directory this binary was built
 * from.  Refuses to overwrite existing files. */
#include "fn.h"
#include "fn_manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef BASALT_FN_INCLUDE_DIR
#define BASALT_FN_INCLUDE_DIR "/usr/local/include"
#endif

static const char c_template[] =
    "/* %1$s - a Basalt function (made by `basalt fn new %1$s`).\n"
    " * Build: make    Deploy: cp %1$s.so <functions dir>/\n"
    " * Call:  curl -X POST http://127.0.0.1:8080/functions/v1/%1$s -H \"apikey: $ANON\" -d '{\"name\":\"you\"}' */\n"
    "#include <basalt/function.h>\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "\n"
    "static int init(basalt_ctx *ctx, void **state)\n"
    "{\n"
    "    /* Runs once per load (cold start): open clients, parse config. */\n"
    "    basalt_log(ctx, \"%1$s is warming up\");\n"
    "    *state = NULL;\n"
    "    return BASALT_OK;\n"
    "}\n"
    "\n"
    "static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)\n"
    "{\n"
    "    const char *body = \"\";\n"
    "    if (ev->kind == BASALT_EVENT_HTTP)\n"
    "        body = ev->http->body;\n"
    "    else if (ev->kind == BASALT_EVENT_RPC)\n"
    "        body = ev->rpc->args;\n"
    "    char out[512];\n"
    "    snprintf(out, sizeof out, "
    "\"{\\\"function\\\":\\\"%%s\\\",\\\"received_bytes\\\":%%zu,\\\"remaining_ms\\\":%%lld}\",\n"
    "             ctx->function, strlen(body), (long long)basalt_remaining_ms(ctx));\n"
    "    basalt_log(ctx, \"handled a call\");\n"
    "    return ctx->host->json(res, 200, out);\n"
    "}\n"
    "\n"
    "static const basalt_trigger triggers[] = {\n"
    "    BASALT_ON_HTTP(BASALT_GET | BASALT_POST),\n"
    "    BASALT_ON_RPC(),\n"
    "};\n"
    "\n"
    "BASALT_FUNCTION(.name = \"%1$s\", .description = \"scaffolded by basalt fn new\",\n"
    "                .triggers = triggers, .ntriggers = BASALT_COUNT(triggers),\n"
    "                .timeout_ms = 5000, .concurrency = 16, .init = init, .handle = handle);\n";

static const char mk_template[] =
    "# Builds %1$s.so.  BASALT_CFLAGS comes from pkg-config when the server is\n"
    "# installed, else from the source tree this scaffold was made with.\n"
    "BASALT_CFLAGS ?= $(shell pkg-config --cflags basalt-function 2>/dev/null || echo -I%2$s)\n"
    "CFLAGS ?= -O2 -Wall -Wextra\n"
    "\n"
    "%1$s.so: %1$s.c\n"
    "\t$(CC) $(CFLAGS) -std=c11 -shared -fPIC -fvisibility=hidden $(BASALT_CFLAGS) -o $@ $<\n"
    "\n"
    "clean:\n"
    "\trm -f %1$s.so\n";

static int write_new(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "basalt fn new: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    close(fd);
    return w == (ssize_t)n ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: basalt fn new NAME [--dir DIR]\n"
                    "  Scaffolds DIR/NAME/NAME.c and a Makefile for a function plugin (DIR defaults to .).\n"
                    "  NAME: a-z, 0-9, '_' or '-', starting with a letter, at most 63 characters.\n");
}

int fn_cli_main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "new") != 0) {
        usage();
        return argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "help") == 0) ? 0 : 2;
    }
    const char *name = NULL, *dir = ".";
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            usage();
            return 2;
        }
    }
    if (!name || !fn_name_ok(name) || strcmp(name, "dlq") == 0) {
        fprintf(stderr, "basalt fn new: %s is not a valid function name\n", name ? name : "(missing)");
        usage();
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "basalt fn new: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = sizeof c_template + 8 * strlen(name) + sizeof mk_template + strlen(BASALT_FN_INCLUDE_DIR) + 64;
    char *text = malloc(cap);
    if (!text)
        return 1;
    int rc = 0;
    snprintf(text, cap, c_template, name);
    snprintf(path, sizeof path, "%s/%s/%s.c", dir, name, name);
    rc = write_new(path, text);
    if (!rc) {
        snprintf(text, cap, mk_template, name, BASALT_FN_INCLUDE_DIR);
        snprintf(path, sizeof path, "%s/%s/Makefile", dir, name);
        rc = write_new(path, text);
    }
    free(text);
    if (!rc)
        printf("created %s/%s/%s.c and %s/%s/Makefile\n"
               "next:  make -C %s/%s && cp %s/%s/%s.so <functions dir>/\n",
               dir, name, name, dir, name, dir, name, dir, name, name);
    return rc;
}
