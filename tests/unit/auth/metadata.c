/* Unit tests for the metadata limit (AUTH_METADATA_MAX in auth/auth_int.h):
 * with user_metadata and app_metadata both at the limit and every other
 * claim at its longest, the access token built by auth_access_claims
 * stays within AUTH_JWT_MAX_LEN for every kind of signing key, so a user
 * the limits let through can always get a token that auth_jwt_verify
 * takes.  HS256, ES256 and RS256-2048 are signed and verified for real;
 * RSA-8192 (the largest key --jwt-signing-key loads) differs from
 * RSA-2048 only in the signature's length, which is added arithmetically
 * (generating an 8192-bit key here would take minutes under ASan). */
#include "../test.h"
#include "auth/auth_int.h"
#include "app/config.h"
#include "core/error.h"

#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#define SECRET "basalt-unit-test-secret-0123456789abcdef"
#define NOW ((int64_t)9999999999) /* the longest iat and timestamps */

/* Checks in helpers that return a value (ASSERT returns from void tests). */
#define REQUIRE(c)                                                                      \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: requirement failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                    \
        }                                                                               \
    } while (0)
#define REQUIRE_EQ(a, b) REQUIRE((a) == (b))

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* An object of exactly `size` bytes as compact JSON holding `base`'s keys. */
static json_t *object_of_size(const char *base, size_t size)
{
    json_t *o = json_loads(base, 0, NULL);
    if (!o)
        abort();
    size_t now = auth_metadata_size(o);
    /* ,"f":"" adds 7 bytes ("f":"" 6 when the object is empty) */
    size_t extra = json_object_size(o) ? 7 : 6;
    if (now + extra > size)
        abort();
    char *fill = repeat('x', size - now - extra);
    json_object_set_new(o, "f", json_string(fill));
    free(fill);
    return o;
}

/* The longest claims a user within the limits can have. */
static json_t *worst_claims(void)
{
    static bs_config cfg;
    cfg.jwt_expiry_s = INT64_C(1) << 31; /* --jwt-expiry's maximum */
    auth_service s;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    char *site = repeat('h', 600); /* auth.c keeps at most 600 characters of --site-url */
    snprintf(s.issuer, sizeof s.issuer, "%s/auth/v1", site);
    free(site);
    REQUIRE_EQ((int)strlen(s.issuer), 608);

    auth_user *u = auth_user_new();
    REQUIRE(u != NULL);
    memset(u->id, 'a', UUID_STR_LEN);
    u->email = repeat('e', AUTH_EMAIL_MAX);
    free(u->role);
    u->role = repeat('r', 63); /* admin.c's longest role */
    json_decref(u->user_metadata);
    json_decref(u->app_metadata);
    u->user_metadata = object_of_size("{}", AUTH_METADATA_MAX);
    u->app_metadata = object_of_size("{\"provider\":\"email\",\"providers\":[\"email\"]}", AUTH_METADATA_MAX);
    REQUIRE_EQ((int)auth_metadata_size(u->user_metadata), AUTH_METADATA_MAX);
    REQUIRE_EQ((int)auth_metadata_size(u->app_metadata), AUTH_METADATA_MAX);
    const char *which = "unset";
    REQUIRE_EQ(auth_user_metadata_check(u, &which), BS_OK);

    auth_issue is;
    memset(&is, 0, sizeof is);
    memset(is.session_id, 's', UUID_STR_LEN);
    snprintf(is.amr_method, sizeof is.amr_method, "anonymous");
    is.amr_at = NOW;
    json_t *c = auth_access_claims(&s, u, &is, NOW);
    REQUIRE(c != NULL);
    auth_user_free(u);
    return c;
}

static size_t sign_len(EVP_PKEY *pk, json_t *claims)
{
    auth_jwt *j = NULL;
    REQUIRE_EQ(auth_jwt_new((const unsigned char *)SECRET, strlen(SECRET), &j), BS_OK);
    if (pk) {
        char path[] = "/tmp/basalt-metadata-XXXXXX";
        int fd = mkstemp(path);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f || PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1)
            abort();
        fclose(f);
        int rc = auth_jwt_set_signing_key(j, path);
        unlink(path);
        REQUIRE_EQ(rc, BS_OK);
    }
    char *tok = NULL;
    REQUIRE_EQ(auth_jwt_sign_access(j, claims, &tok), BS_OK);
    auth_claims *c = NULL;
    REQUIRE_EQ(auth_jwt_verify(j, tok, NOW, &c), BS_OK);
    auth_claims_release(c);
    size_t n = strlen(tok);
    free(tok);
    auth_jwt_free(j);
    return n;
}

TEST(worst_case_token_fits_every_key)
{
    json_t *claims = worst_claims();
    size_t hs = sign_len(NULL, claims);
    EVP_PKEY *ec = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
    ASSERT(ec && rsa);
    size_t es = sign_len(ec, claims), rs2048 = sign_len(rsa, claims);
    /* an RSA signature is the modulus' size: 256 bytes (342 base64url
     * characters) at 2048 bits, 1024 bytes (1366) at 8192 */
    size_t rs8192 = rs2048 - 342 + 1366;
    printf("worst-case token: HS256 %zu, ES256 %zu, RS256-2048 %zu, RS256-8192 %zu (limit %d)\n", hs, es, rs2048,
           rs8192, AUTH_JWT_MAX_LEN);
    ASSERT(hs <= AUTH_JWT_MAX_LEN);
    ASSERT(es <= AUTH_JWT_MAX_LEN);
    ASSERT(rs8192 <= AUTH_JWT_MAX_LEN);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    json_decref(claims);
}

TEST(size_is_compact_json_and_check_names_the_object)
{
    json_t *o = json_pack("{s:s,s:[i,i],s:{s:b}}", "name", "Zo\xc3\xab \"Q\"", "n", 1, 2, "x", "y", 1);
    char *t = json_dumps(o, JSON_COMPACT);
    ASSERT_EQ_INT((int)auth_metadata_size(o), (int)strlen(t));
    free(t);
    json_decref(o);
    ASSERT_EQ_INT((int)auth_metadata_size(NULL), 2);

    auth_user *u = auth_user_new();
    const char *which = NULL;
    json_decref(u->app_metadata);
    u->app_metadata = object_of_size("{}", AUTH_METADATA_MAX + 1);
    ASSERT_EQ_INT(auth_user_metadata_check(u, &which), BS_ETOOBIG);
    ASSERT_EQ_STR(which, "app_metadata");
    json_decref(u->user_metadata);
    u->user_metadata = object_of_size("{}", AUTH_METADATA_MAX + 1);
    ASSERT_EQ_INT(auth_user_metadata_check(u, &which), BS_ETOOBIG);
    ASSERT_EQ_STR(which, "user_metadata");
    auth_user_free(u);
}

TEST_MAIN(T(worst_case_token_fits_every_key), T(size_is_compact_json_and_check_names_the_object))
