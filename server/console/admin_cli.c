/* admin_cli.c - `basalt admin`: console admin accounts from the shell.
 *
 *   basalt admin create EMAIL [--data DIR] [serve options]
 *       asks for the password twice on the terminal without echo; when
 *       stdin is not a terminal, reads one line from it instead (scripts,
 *       tests: `printf 'pw\n' | basalt admin create a@b.c`)
 *   basalt admin list [--data DIR]
 *
 * The store is opened like `basalt migrate` does (pending migrations are
 * applied), so an admin can be made before the first `serve`.  Passwords
 * are hashed with core/password.h (scrypt, PHC string).
 */
#include "console/console.h"
#include "app/config.h"
#include "app/store_module.h"
#include "core/password.h"
#include "core/error.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "db/store.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define PW_MIN 8
#define PW_MAX 1024

static void usage(void)
{
    fprintf(stderr, "usage: basalt admin create EMAIL [--data DIR]\n"
                    "       basalt admin list [--data DIR]\n"
                    "Manages the accounts that sign in to the web console (/console).\n"
                    "create reads the password from the terminal (no echo), or one line\n"
                    "from stdin when it is not a terminal.\n");
}

/* One line from f into out (newline stripped); false at EOF or overlong. */
static bool read_line(FILE *f, char *out, size_t cap)
{
    if (!fgets(out, (int)cap, f))
        return false;
    size_t n = strlen(out);
    if (n && out[n - 1] != '\n' && !feof(f))
        return false; /* longer than cap */
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return true;
}

static bool prompt_noecho(const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = read_line(stdin, out, cap);
    if (restore)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    return ok;
}

static int read_password(char *pw, size_t cap)
{
    if (!isatty(STDIN_FILENO)) {
        if (!read_line(stdin, pw, cap)) {
            fprintf(stderr, "basalt: expected the password as one line on stdin\n");
            return BS_EINVAL;
        }
        return BS_OK;
    }
    char again[PW_MAX + 2];
    if (!prompt_noecho("Password: ", pw, cap) || !prompt_noecho("Repeat password: ", again, sizeof again)) {
        fprintf(stderr, "basalt: no password given\n");
        return BS_EINVAL;
    }
    int rc = strcmp(pw, again) == 0 ? BS_OK : BS_EINVAL;
    memset(again, 0, sizeof again);
    if (rc)
        fprintf(stderr, "basalt: the passwords differ\n");
    return rc;
}

static bool email_ok(const char *e)
{
    size_t n = strlen(e);
    const char *at = strchr(e, '@');
    if (n < 3 || n > CONSOLE_EMAIL_MAX || !at || at == e || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *p = e; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return false;
    return true;
}

typedef struct insert_arg {
    const char *id, *email, *hash;
    int64_t now;
} insert_arg;

static int insert_admin(db_conn *w, void *arg)
{
    insert_arg *a = arg;
    static const char q[] = "INSERT INTO _basalt_admins(id, email, password_hash, created_at) VALUES (?, ?, ?, ?)";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, a->now);
    int s = sqlite3_step(st);
    int rc = s == SQLITE_DONE ? BS_OK : ((s & 0xff) == SQLITE_CONSTRAINT ? BS_EEXISTS : BS_EDB);
    db_stmt_done(st);
    return rc;
}

/* The data directory (made if missing) and its store, as `basalt migrate`
 * opens it (pending migrations applied). */
static int open_store(const bs_config *cfg, db_store **out)
{
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "basalt: cannot create data directory %s: %s\n", cfg->data_dir, strerror(errno));
        return BS_EIO;
    }
    return store_open(cfg, NULL, 0, out);
}

/* Hash pw with the default parameters (what the console checks against). */
static int hash_password(const char *pw, char **hash)
{
    auth_passwords *h = NULL;
    int rc = auth_passwords_new(NULL, &h);
    if (!rc)
        rc = auth_password_hash(h, pw, strlen(pw), hash);
    auth_passwords_free(h);
    if (rc)
        fprintf(stderr, "basalt: cannot hash the password: %s\n", basalt_strerror(rc));
    return rc;
}

static int cmd_create(bs_config *cfg, const char *email_in)
{
    char email[CONSOLE_EMAIL_MAX + 1];
    char pw[PW_MAX + 2];
    char *hash = NULL;
    db_store *store = NULL;
    int rc = BS_EINVAL;
    if (!email_ok(email_in)) {
        fprintf(stderr, "basalt: '%s' is not an email address\n", email_in);
        goto out;
    }
    size_t n = strlen(email_in);
    for (size_t i = 0; i <= n; i++)
        email[i] = (char)tolower((unsigned char)email_in[i]);
    rc = read_password(pw, sizeof pw);
    if (rc)
        goto out;
    if (strlen(pw) < PW_MIN || strlen(pw) > PW_MAX) {
        fprintf(stderr, "basalt: the password must have %d to %d characters\n", PW_MIN, PW_MAX);
        rc = BS_EINVAL;
        goto out;
    }
    rc = hash_password(pw, &hash);
    if (rc)
        goto out;
    rc = open_store(cfg, &store);
    if (rc)
        goto out;
    char id[UUID_STR_LEN + 1];
    rc = uuid_v7(id);
    if (rc)
        goto out;
    insert_arg a = {id, email, hash, time_now_ms()};
    rc = db_write(store, insert_admin, &a);
    if (rc == BS_EEXISTS)
        fprintf(stderr, "basalt: an admin with the email %s already exists\n", email);
    else if (rc)
        fprintf(stderr, "basalt: cannot save the admin: %s\n", basalt_strerror(rc));
    else
        printf("created admin %s (%s)\n", email, id);
out:
    memset(pw, 0, sizeof pw);
    free(hash);
    db_close(store);
    return rc;
}

static int cmd_list(bs_config *cfg)
{
    db_store *store = NULL;
    int rc = open_store(cfg, &store);
    if (rc)
        return rc;
    db_conn *c = db_reader(store);
    static const char q[] = "SELECT id, email, created_at, last_sign_in_at FROM _basalt_admins ORDER BY email";
    sqlite3_stmt *st = c ? db_stmt(c, q, sizeof q - 1, NULL) : NULL;
    if (!st) {
        rc = BS_EDB;
    } else {
        while (sqlite3_step(st) == SQLITE_ROW) {
            char created[32], last[32] = "never";
            time_iso_ms(sqlite3_column_int64(st, 2), created);
            if (sqlite3_column_type(st, 3) != SQLITE_NULL)
                time_iso_ms(sqlite3_column_int64(st, 3), last);
            printf("%s  %s  created %s  last sign-in %s\n", (const char *)sqlite3_column_text(st, 1),
                   (const char *)sqlite3_column_text(st, 0), created, last);
        }
        db_stmt_done(st);
    }
    db_close(store);
    return rc;
}

int console_admin_main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        usage();
        return argc < 3 ? 2 : 0;
    }
    bool create = strcmp(argv[2], "create") == 0;
    if (!create && strcmp(argv[2], "list") != 0) {
        fprintf(stderr, "basalt: unknown admin command '%s'\n", argv[2]);
        usage();
        return 2;
    }
    if (create && (argc < 4 || argv[3][0] == '-')) {
        usage();
        return 2;
    }
    bs_config cfg;
    bool help = false;
    int rc = cfg_load(&cfg, argc, argv, create ? 4 : 3, &help);
    if (rc) {
        if (help)
            usage();
        cfg_free(&cfg);
        return help ? 0 : 2;
    }
    rc = create ? cmd_create(&cfg, argv[3]) : cmd_list(&cfg);
    cfg_free(&cfg);
    return rc ? 1 : 0;
}
