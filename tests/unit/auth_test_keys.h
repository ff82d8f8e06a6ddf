/*
 * auth_test_keys.h — shared fixture and helpers for the signaling/auth unit
 * tests (test_auth_*.c): keys generated once per run with OpenSSL (nothing
 * secret is committed), auth objects, hand-made tokens and the checks on
 * what cs_auth_verify returns.
 *
 * Tokens libjwt would never produce (alg "none", wrong claim types, odd
 * headers) are built by hand: base64url + HMAC-SHA256 from OpenSSL.
 *
 * Header-only, for one test binary each: every function is static inline and
 * every object static, so a test file that does not use one gets no warning.
 */
#ifndef CS_TESTS_UNIT_AUTH_TEST_KEYS_H
#define CS_TESTS_UNIT_AUTH_TEST_KEYS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/common.h"
#include "signaling/auth/auth.h"

#define NOW 1795000000000LL /* 2026-11-18, a whole second */
#define NOW_S (NOW / 1000)

__attribute__((unused)) static const unsigned char SECRET[] =
    "0123456789abcdef0123456789abcdef"; /* 32 bytes */
__attribute__((unused)) static const unsigned char OTHER_SECRET[] =
    "fedcba9876543210fedcba9876543210";
#define SECRET_LEN 32

/* ---- fixtures: keys made once per run ----------------------------------- */

__attribute__((unused)) static struct {
    char *pub, *priv;         /* P-256 pair */
    char *other_pub, *other_priv; /* a second P-256 pair */
    char *p384_pub, *ed25519_pub, *encrypted_priv;
} keys;

static inline char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(b);
    return s;
}

static inline char *pub_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    return bio_text(b);
}

static inline char *priv_pem(EVP_PKEY *k, const char *pass)
{
    BIO *b = BIO_new(BIO_s_mem());
    const EVP_CIPHER *c = pass ? EVP_aes_256_cbc() : NULL;
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, c, (unsigned char *)pass,
                                              pass ? (int)strlen(pass) : 0, NULL, NULL),
                     1);
    return bio_text(b);
}

static inline int setup_keys(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256"), *o = EVP_EC_gen("P-256");
    EVP_PKEY *p384 = EVP_EC_gen("P-384"), *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!k || !o || !p384 || !ed)
        return -1;
    keys.pub = pub_pem(k);
    keys.priv = priv_pem(k, NULL);
    keys.encrypted_priv = priv_pem(k, "hunter2");
    keys.other_pub = pub_pem(o);
    keys.other_priv = priv_pem(o, NULL);
    keys.p384_pub = pub_pem(p384);
    keys.ed25519_pub = pub_pem(ed);
    EVP_PKEY_free(k);
    EVP_PKEY_free(o);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
    return 0;
}

static inline int teardown_keys(void **state)
{
    (void)state;
    free(keys.pub);
    free(keys.priv);
    free(keys.encrypted_priv);
    free(keys.other_pub);
    free(keys.other_priv);
    free(keys.p384_pub);
    free(keys.ed25519_pub);
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static inline cs_auth_t *make_auth(const unsigned char *secret, const char *pub,
                                   const char *priv, const char *iss, const char *aud,
                                   int64_t leeway_ms)
{
    cs_auth_config_t cfg = {.hs256_secret = secret,
                            .hs256_secret_len = secret ? SECRET_LEN : 0,
                            .es256_public_pem = pub,
                            .es256_private_pem = priv,
                            .issuer = iss,
                            .audience = aud,
                            .leeway_ms = leeway_ms};
    int err = 1;
    cs_auth_t *a = cs_auth_new(&cfg, &err);
    assert_non_null(a);
    assert_int_equal(err, CS_OK);
    return a;
}

static inline cs_auth_t *hs_auth(void)
{
    return make_auth(SECRET, NULL, NULL, NULL, NULL, 0);
}


static inline char *b64url(const void *data, size_t len)
{
    char *out = malloc(len * 4 / 3 + 8);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (out[i] == '=')
            continue;
        out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[j] = '\0';
    return out;
}

/* "b64(header).b64(payload)" + "." + sig; sig NULL = HMAC-SHA256 with key. */
static inline char *build_token(const char *header, const char *payload, const void *key,
                                size_t key_len, const char *sig)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    char *signing = NULL, *tok = NULL, *mac_b64 = NULL;
    assert_true(asprintf(&signing, "%s.%s", h, p) > 0);
    if (!sig) {
        unsigned char mac[32];
        unsigned int mac_len = 0;
        HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)signing, strlen(signing),
             mac, &mac_len);
        sig = mac_b64 = b64url(mac, mac_len);
    }
    assert_true(asprintf(&tok, "%s.%s", signing, sig) > 0);
    free(h);
    free(p);
    free(signing);
    free(mac_b64);
    return tok;
}

#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static inline char *hs_token(const char *payload)
{
    return build_token(HS_HEADER, payload, SECRET, SECRET_LEN, NULL);
}

static inline char *hs_token_hdr(const char *header, const char *payload)
{
    return build_token(header, payload, SECRET, SECRET_LEN, NULL);
}

/* A valid claims set; tests edit it. "xyzzy" marks values that must never be
 * echoed in a why. */
static inline json_t *base_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[s, s], s:I, s:I}", "sub", "u-1", "name",
                     "Dr Ana Souza", "role", "specialist", "tenant", "north", "specialties",
                     "cardiology", "peds-cardiology", "iat", (json_int_t)NOW_S, "exp",
                     (json_int_t)(NOW_S + 3600));
}

static inline char *claims_token(json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    char *tok = hs_token(payload);
    free(payload);
    json_decref(claims);
    return tok;
}

static inline json_t *with(json_t *c, const char *key, json_t *val)
{
    json_object_set_new(c, key, val);
    return c;
}

static inline json_t *without(json_t *c, const char *key)
{
    json_object_del(c, key);
    return c;
}

static inline void expect_at(const cs_auth_t *a, const char *tok, int64_t now, int code,
                             const char *why_want)
{
    cs_identity_t id;
    memset(&id, 0x5a, sizeof id);
    const char *why = "unset";
    int rc = cs_auth_verify(a, tok, now, &id, &why);
    if (rc != code)
        fail_msg("verify returned %d (%s), wanted %d", rc, why ? why : "(null)", code);
    if (code == CS_OK) {
        assert_null(why);
        return;
    }
    assert_non_null(why);
    assert_null(strcasestr(why, "xyzzy"));
    if (why_want)
        assert_string_equal(why, why_want);
    /* Nothing of a refused token leaks into *out. */
    assert_int_equal(id.subject[0], 0);
    assert_int_equal(id.n_specialties, 0);
    assert_int_equal(id.expires_at, 0);
}

static inline void expect(const cs_auth_t *a, const char *tok, int code, const char *why_want)
{
    expect_at(a, tok, NOW, code, why_want);
}

/* Consumes tok. */
static inline void expect_free(const cs_auth_t *a, char *tok, int code, const char *why_want)
{
    expect(a, tok, code, why_want);
    free(tok);
}

static inline cs_identity_t specialist(void)
{
    cs_identity_t id;
    memset(&id, 0, sizeof id);
    strcpy(id.subject, "u-42");
    strcpy(id.name, "Dra. Inês \"Ná\" Ç");
    id.role = CS_ROLE_SPECIALIST;
    strcpy(id.tenant, "north-centre");
    strcpy(id.specialties[0], "cardiology");
    strcpy(id.specialties[1], "neuro_2");
    id.n_specialties = 2;
    return id;
}


static inline void assert_same_identity(const cs_identity_t *got,
                                        const cs_identity_t *want, int64_t expires_at)
{
    assert_string_equal(got->subject, want->subject);
    assert_string_equal(got->name, want->name);
    assert_int_equal(got->role, want->role);
    assert_string_equal(got->tenant, want->tenant);
    assert_int_equal(got->n_specialties, want->n_specialties);
    for (int i = 0; i < want->n_specialties; i++)
        assert_string_equal(got->specialties[i], want->specialties[i]);
    assert_int_equal(got->expires_at, expires_at);
    assert_string_equal(got->consult_scope, "");
}

/* Mints in with alg, verifies it and checks the identity survived. */
static inline void roundtrip(cs_auth_t *a, const char *alg)
{
    cs_identity_t in = specialist(), out;
    char *tok = NULL;
    const char *why = "unset";
    assert_int_equal(cs_auth_mint(a, &in, NOW, 3600 * 1000, alg, &tok), CS_OK);
    assert_non_null(tok);
    assert_int_equal(cs_auth_verify(a, tok, NOW, &out, &why), CS_OK);
    assert_null(why);
    assert_same_identity(&out, &in, NOW + 3600 * 1000);
    assert_true(cs_identity_has_specialty(&out, "neuro_2"));
    free(tok);
}

#endif
