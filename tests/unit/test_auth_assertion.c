/*
 * test_auth_assertion.c — unit tests for signaling/auth/assertion.c: SMART
 * Backend Services client assertions signed with EC P-384 (ES384) and RSA
 * (RS384) keys made by OpenSSL at start-up, and what the verifier refuses —
 * wrong key, client or audience, stale or long-lived assertions, "none",
 * HS384 keyed with the public PEM, an algorithm that does not match the key,
 * a missing jti, garbage and truncation.
 *
 * Hostile assertions are built by hand (base64url + EVP signing), and one
 * correctly hand-signed assertion of each kind is shown to verify, so every
 * refusal is about the one thing that was changed.
 */

#include "tests/unit/auth_test_keys.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>

#define CLIENT "consilium-outbox"
#define AUD "https://records.example/auth/token"

static struct {
    EVP_PKEY *ec, *rsa, *other_ec;
    char *ec_priv, *ec_pub, *rsa_priv, *rsa_pub, *other_ec_pub;
    char *p256_priv, *rsa1024_priv, *ec_encrypted;
} k;

static int setup(void **state)
{
    (void)state;
    k.ec = EVP_EC_gen("P-384");
    k.other_ec = EVP_EC_gen("P-384");
    k.rsa = EVP_RSA_gen(2048);
    EVP_PKEY *p256 = EVP_EC_gen("P-256"), *small = EVP_RSA_gen(1024);
    if (!k.ec || !k.other_ec || !k.rsa || !p256 || !small)
        return -1;
    k.ec_priv = priv_pem(k.ec, NULL);
    k.ec_pub = pub_pem(k.ec);
    k.ec_encrypted = priv_pem(k.ec, "hunter2");
    k.rsa_priv = priv_pem(k.rsa, NULL);
    k.rsa_pub = pub_pem(k.rsa);
    k.other_ec_pub = pub_pem(k.other_ec);
    k.p256_priv = priv_pem(p256, NULL);
    k.rsa1024_priv = priv_pem(small, NULL);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(small);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(k.ec);
    EVP_PKEY_free(k.other_ec);
    EVP_PKEY_free(k.rsa);
    char *pems[] = {k.ec_priv, k.ec_pub, k.rsa_priv, k.rsa_pub, k.other_ec_pub,
                    k.p256_priv, k.rsa1024_priv, k.ec_encrypted};
    for (size_t i = 0; i < CS_ARRAY_LEN(pems); i++)
        free(pems[i]);
    return 0;
}

/* ---- hand-made assertions --------------------------------------------------- */

/* JWS signature bytes: PKCS#1 v1.5 for RSA, R || S (48 bytes each) for EC. */
static unsigned char *sign_raw(EVP_PKEY *key, const EVP_MD *md, const char *input, size_t *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 0;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)input, strlen(input)),
                     1);
    unsigned char *sig = malloc(n);
    assert_int_equal(EVP_DigestSign(ctx, sig, &n, (const unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    if (!EVP_PKEY_is_a(key, "EC")) {
        *len = n;
        return sig;
    }
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    assert_non_null(es);
    unsigned char *raw = calloc(1, 96);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 48), 48);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 48, 48), 48);
    ECDSA_SIG_free(es);
    free(sig);
    *len = 96;
    return raw;
}

/* header.payload signed with key (NULL: sig_b64 used as the signature). */
static char *hand_token(const char *header, const char *payload, EVP_PKEY *key, const EVP_MD *md,
                        const char *sig_b64)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    char *input = NULL, *tok = NULL, *sig = NULL;
    assert_true(asprintf(&input, "%s.%s", h, p) > 0);
    if (key) {
        size_t n = 0;
        unsigned char *raw = sign_raw(key, md, input, &n);
        sig = b64url(raw, n);
        free(raw);
    }
    assert_true(asprintf(&tok, "%s.%s", input, key ? sig : sig_b64) > 0);
    free(h);
    free(p);
    free(input);
    free(sig);
    return tok;
}

static json_t *good_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", CLIENT, "sub", CLIENT, "aud", AUD,
                     "iat", (json_int_t)NOW_S, "exp", (json_int_t)(NOW_S + 300), "jti",
                     "0123456789abcdef0123456789abcdef");
}

/* Consumes claims. */
static char *hand_signed(const char *alg, json_t *claims, EVP_PKEY *key)
{
    char header[64];
    snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    char *tok = hand_token(header, payload, key, EVP_sha384(), NULL);
    free(payload);
    return tok;
}

static char *es_token(json_t *claims)
{
    return hand_signed("ES384", claims, k.ec);
}

static char *rs_token(json_t *claims)
{
    return hand_signed("RS384", claims, k.rsa);
}

static json_t *set(json_t *c, const char *key, json_t *v)
{
    json_object_set_new(c, key, v);
    return c;
}

/* ---- checks --------------------------------------------------------------------- */

static int verify_at(const char *pub, const char *tok, int64_t now, char jti[65], int64_t *exp,
                     const char **why)
{
    return cs_auth_assertion_verify(pub, tok, CLIENT, AUD, now, jti, exp, why);
}

static void refused_at(const char *pub, const char *tok, int64_t now, int code)
{
    char jti[65];
    memset(jti, 'x', sizeof jti);
    int64_t exp = 42;
    const char *why = NULL;
    int rc = verify_at(pub, tok, now, jti, &exp, &why);
    if (rc != code)
        fail_msg("verify returned %d (%s), wanted %d", rc, why ? why : "(null)", code);
    assert_non_null(why);
    assert_int_equal(jti[0], '\0');
    assert_int_equal(exp, 0);
}

static void refused(const char *pub, const char *tok)
{
    refused_at(pub, tok, NOW, CS_EAUTH);
}

/* Consumes tok. */
static void refused_free(const char *pub, char *tok)
{
    refused(pub, tok);
    free(tok);
}

static void accepted(const char *pub, const char *tok)
{
    char jti[65];
    int64_t exp = 0;
    const char *why = "unset";
    int rc = verify_at(pub, tok, NOW, jti, &exp, &why);
    if (rc != CS_OK)
        fail_msg("verify returned %d (%s)", rc, why ? why : "(null)");
    assert_null(why);
    assert_true(strlen(jti) > 0);
}

static json_t *segment(const char *tok, int which)
{
    const char *start = tok;
    for (int i = 0; i < which; i++)
        start = strchr(start, '.') + 1;
    size_t len = strcspn(start, ".");
    char *b64 = strndup(start, len);
    for (char *c = b64; *c; c++)
        *c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
    char *padded = NULL;
    assert_true(asprintf(&padded, "%s%.*s", b64, (int)((4 - len % 4) % 4), "==") > 0);
    unsigned char buf[2048];
    int n = EVP_DecodeBlock(buf, (unsigned char *)padded, (int)strlen(padded));
    assert_true(n > 0);
    n -= (int)((4 - len % 4) % 4);
    json_t *j = json_loadb((const char *)buf, (size_t)n, 0, NULL);
    assert_non_null(j);
    free(b64);
    free(padded);
    return j;
}

static void expected_kid(EVP_PKEY *key, char out[65])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    assert_true(n > 0);
    unsigned char md[32];
    unsigned int md_len = 0;
    assert_int_equal(EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < md_len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    OPENSSL_free(der);
}

/* ---- round trips ------------------------------------------------------------ */

static void round_trip(const char *priv, const char *pub, EVP_PKEY *key, const char *alg)
{
    char *tok = NULL;
    assert_int_equal(cs_auth_assertion_sign(priv, CLIENT, AUD, NOW + 123, &tok), CS_OK);
    assert_non_null(tok);
    char jti[65];
    int64_t exp = 0;
    const char *why = "unset";
    assert_int_equal(verify_at(pub, tok, NOW, jti, &exp, &why), CS_OK);
    assert_null(why);
    assert_int_equal(exp, NOW + 300000);
    assert_int_equal(strlen(jti), 32);
    assert_int_equal(strspn(jti, "0123456789abcdef"), 32);

    json_t *hdr = segment(tok, 0), *claims = segment(tok, 1);
    char kid[65];
    expected_kid(key, kid);
    assert_string_equal(json_string_value(json_object_get(hdr, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")), kid);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), CLIENT);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), CLIENT);
    assert_string_equal(json_string_value(json_object_get(claims, "aud")), AUD);
    assert_string_equal(json_string_value(json_object_get(claims, "jti")), jti);
    assert_int_equal(json_integer_value(json_object_get(claims, "iat")), NOW_S);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), NOW_S + 300);
    json_decref(hdr);
    json_decref(claims);

    /* Two assertions never share a jti. */
    char *again = NULL, jti2[65];
    assert_int_equal(cs_auth_assertion_sign(priv, CLIENT, AUD, NOW, &again), CS_OK);
    assert_int_equal(verify_at(pub, again, NOW, jti2, &exp, &why), CS_OK);
    assert_string_not_equal(jti, jti2);
    free(again);
    free(tok);
}

static void test_round_trip_es384(void **state)
{
    (void)state;
    round_trip(k.ec_priv, k.ec_pub, k.ec, "ES384");
}

static void test_round_trip_rs384(void **state)
{
    (void)state;
    round_trip(k.rsa_priv, k.rsa_pub, k.rsa, "RS384");
}

/* The test's own signer is right, so the refusals below are meaningful. */
static void test_hand_signed_accepted(void **state)
{
    (void)state;
    char *tok = es_token(good_claims());
    accepted(k.ec_pub, tok);
    free(tok);
    tok = rs_token(good_claims());
    accepted(k.rsa_pub, tok);
    free(tok);
    /* aud may be an array holding the token URL. */
    tok = es_token(set(good_claims(), "aud", json_pack("[s, s]", "https://other", AUD)));
    accepted(k.ec_pub, tok);
    free(tok);
}

/* ---- refusals ----------------------------------------------------------------- */

static void test_wrong_key(void **state)
{
    (void)state;
    char *tok = NULL;
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, AUD, NOW, &tok), CS_OK);
    refused(k.other_ec_pub, tok);
    refused(k.rsa_pub, tok); /* and the header does not match an RSA key */
    free(tok);
    assert_int_equal(cs_auth_assertion_sign(k.rsa_priv, CLIENT, AUD, NOW, &tok), CS_OK);
    refused(k.ec_pub, tok);
    free(tok);
}

static void test_wrong_client_or_audience(void **state)
{
    (void)state;
    char *tok = NULL;
    const char *why = NULL;
    char jti[65];
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, "someone-else", AUD, NOW, &tok), CS_OK);
    assert_int_equal(cs_auth_assertion_verify(k.ec_pub, tok, CLIENT, AUD, NOW, jti, NULL, &why),
                     CS_EAUTH);
    free(tok);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, "https://evil/token", NOW, &tok),
                     CS_OK);
    assert_int_equal(cs_auth_assertion_verify(k.ec_pub, tok, CLIENT, AUD, NOW, jti, NULL, &why),
                     CS_EAUTH);
    free(tok);
    /* iss and sub must both be the client. */
    refused_free(k.ec_pub, es_token(set(good_claims(), "sub", json_string("x"))));
    refused_free(k.ec_pub, es_token(set(good_claims(), "iss", json_string("x"))));
    refused_free(k.ec_pub, es_token(set(good_claims(), "aud", json_pack("[s]", "https://x"))));
    refused_free(k.ec_pub, es_token(set(good_claims(), "aud", json_integer(1))));
}

static void test_expiry(void **state)
{
    (void)state;
    char *tok = NULL;
    assert_int_equal(cs_auth_assertion_sign(k.rsa_priv, CLIENT, AUD, NOW, &tok), CS_OK);
    char jti[65];
    int64_t exp = 0;
    /* exp + leeway is the last moment; on it, refused. */
    assert_int_equal(verify_at(k.rsa_pub, tok, NOW + 329999, jti, &exp, NULL), CS_OK);
    refused_at(k.rsa_pub, tok, NOW + 330000, CS_EEXPIRED);
    refused_at(k.rsa_pub, tok, NOW + 86400000, CS_EEXPIRED);
    free(tok);
    /* An assertion valid for an hour is a long-lived credential: refused. */
    refused_free(k.ec_pub, es_token(set(good_claims(), "exp", json_integer(NOW_S + 3600))));
    refused_free(k.ec_pub, es_token(set(good_claims(), "exp", json_integer(NOW_S + 331))));
    char *ok = es_token(set(good_claims(), "exp", json_integer(NOW_S + 330)));
    accepted(k.ec_pub, ok);
    free(ok);
    refused_free(k.ec_pub, es_token(set(good_claims(), "exp", json_string("soon"))));
    json_t *no_exp = good_claims();
    json_object_del(no_exp, "exp");
    refused_free(k.ec_pub, es_token(no_exp));
    char *nbf = es_token(set(good_claims(), "nbf", json_integer(NOW_S + 120)));
    refused_at(k.ec_pub, nbf, NOW, CS_EEXPIRED);
    free(nbf);
}

static void test_alg_none(void **state)
{
    (void)state;
    json_t *c = good_claims();
    char *payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    refused_free(k.ec_pub, hand_token("{\"alg\":\"none\"}", payload, NULL, NULL, ""));
    refused_free(k.ec_pub, hand_token("{\"alg\":\"none\"}", payload, NULL, NULL, "AAAA"));
    refused_free(k.rsa_pub, hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL,
                                       NULL, "AAAA"));
    free(payload);
}

/* The classic confusion: HMAC keyed with the public PEM the verifier holds. */
static void test_hs384_with_public_key(void **state)
{
    (void)state;
    const char *pubs[] = {k.ec_pub, k.rsa_pub};
    for (int i = 0; i < 2; i++) {
        json_t *c = good_claims();
        char *payload = json_dumps(c, JSON_COMPACT);
        json_decref(c);
        const char *header = "{\"alg\":\"HS384\",\"typ\":\"JWT\"}";
        char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
        char *input = NULL, *tok = NULL;
        assert_true(asprintf(&input, "%s.%s", h, p) > 0);
        unsigned char mac[48];
        unsigned int mac_len = 0;
        HMAC(EVP_sha384(), pubs[i], (int)strlen(pubs[i]), (unsigned char *)input, strlen(input),
             mac, &mac_len);
        char *sig = b64url(mac, mac_len);
        assert_true(asprintf(&tok, "%s.%s", input, sig) > 0);
        refused(pubs[i], tok);
        free(h), free(p), free(input), free(sig), free(tok), free(payload);
    }
}

static void test_alg_not_matching_key(void **state)
{
    (void)state;
    /* Correctly signed, but the header names another algorithm of the family. */
    refused_free(k.rsa_pub, hand_signed("RS256", good_claims(), k.rsa));
    refused_free(k.rsa_pub, hand_signed("RS512", good_claims(), k.rsa));
    refused_free(k.rsa_pub, hand_signed("PS384", good_claims(), k.rsa));
    refused_free(k.ec_pub, hand_signed("ES256", good_claims(), k.ec));
    refused_free(k.ec_pub, hand_signed("es384", good_claims(), k.ec));
    /* The other key type's algorithm. */
    refused_free(k.ec_pub, hand_signed("RS384", good_claims(), k.ec));
    refused_free(k.rsa_pub, hand_signed("ES384", good_claims(), k.rsa));
    /* Unknown critical extensions and duplicate alg. */
    json_t *c = good_claims();
    char *payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    refused_free(k.ec_pub, hand_token("{\"alg\":\"ES384\",\"crit\":[\"b64\"],\"b64\":false}",
                                      payload, k.ec, EVP_sha384(), NULL));
    refused_free(k.ec_pub,
                 hand_token("{\"alg\":\"ES384\",\"alg\":\"none\"}", payload, k.ec, EVP_sha384(),
                            NULL));
    refused_free(k.ec_pub, hand_token("{\"typ\":\"JWT\"}", payload, k.ec, EVP_sha384(), NULL));
    free(payload);
}

static void test_jti(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_del(c, "jti");
    refused_free(k.ec_pub, es_token(c));
    refused_free(k.ec_pub, es_token(set(good_claims(), "jti", json_string(""))));
    refused_free(k.ec_pub, es_token(set(good_claims(), "jti", json_integer(7))));
    char long_jti[66];
    memset(long_jti, 'a', 65);
    long_jti[65] = '\0';
    refused_free(k.ec_pub, es_token(set(good_claims(), "jti", json_string(long_jti))));
    long_jti[64] = '\0';
    char *ok = es_token(set(good_claims(), "jti", json_string(long_jti)));
    char jti[65];
    int64_t exp = 0;
    assert_int_equal(verify_at(k.ec_pub, ok, NOW, jti, &exp, NULL), CS_OK);
    assert_string_equal(jti, long_jti);
    assert_int_equal(exp, NOW + 300000);
    free(ok);
}

static void test_garbage_and_truncated(void **state)
{
    (void)state;
    const char *garbage[] = {"", "garbage", "a.b", "a.b.c", "..", "a..c", "a.b.",
                             "e30.e30.e30", "{\"alg\":\"ES384\"}.x.y", "a.b.c.d"};
    for (size_t i = 0; i < CS_ARRAY_LEN(garbage); i++)
        refused(k.ec_pub, garbage[i]);
    char *tok = NULL;
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, AUD, NOW, &tok), CS_OK);
    size_t len = strlen(tok);
    for (size_t cut = 1; cut < len; cut += 7) {
        char *t = strndup(tok, len - cut);
        refused(k.ec_pub, t);
        free(t);
    }
    /* A flipped character anywhere in the payload. */
    char *t = strdup(tok);
    char *payload = strchr(t, '.') + 1;
    payload[4] = payload[4] == 'A' ? 'B' : 'A';
    refused(k.ec_pub, t);
    free(t);
    /* Claims that are not an object, and duplicate claims. */
    refused_free(k.ec_pub, hand_token("{\"alg\":\"ES384\"}", "[1,2]", k.ec, EVP_sha384(), NULL));
    refused_free(k.ec_pub,
                 hand_token("{\"alg\":\"ES384\"}",
                            "{\"iss\":\"x\",\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT
                            "\",\"aud\":\"" AUD "\",\"exp\":1795000300,\"jti\":\"j\"}",
                            k.ec, EVP_sha384(), NULL));
    char *huge = malloc(10000);
    memset(huge, 'A', 9999);
    huge[9999] = '\0';
    huge[100] = huge[200] = '.';
    refused(k.ec_pub, huge);
    free(huge);
    free(tok);
}

/* ---- bad keys and arguments ---------------------------------------------------- */

static void test_sign_refuses(void **state)
{
    (void)state;
    char *tok = (char *)"sentinel";
    assert_int_equal(cs_auth_assertion_sign(k.p256_priv, CLIENT, AUD, NOW, &tok), CS_EINVAL);
    assert_null(tok);
    const char *bad_keys[] = {k.rsa1024_priv, k.ec_encrypted, k.ec_pub, "", "not a pem", NULL};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad_keys); i++)
        assert_int_equal(cs_auth_assertion_sign(bad_keys[i], CLIENT, AUD, NOW, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, "", AUD, NOW, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, "", NOW, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, NULL, AUD, NOW, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, NULL, NOW, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, "\xff\xfe", AUD, NOW, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, AUD, -1, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, AUD, NOW, NULL), CS_EINVAL);
    assert_null(tok);
}

static void test_verify_refuses_bad_keys(void **state)
{
    (void)state;
    char *tok = NULL;
    assert_int_equal(cs_auth_assertion_sign(k.ec_priv, CLIENT, AUD, NOW, &tok), CS_OK);
    char jti[65];
    const char *why = NULL;
    const char *bad_keys[] = {NULL, "", "garbage", k.p256_priv};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad_keys); i++) {
        why = NULL;
        assert_int_equal(
            cs_auth_assertion_verify(bad_keys[i], tok, CLIENT, AUD, NOW, jti, NULL, &why),
            CS_EINVAL);
        assert_non_null(why);
    }
    /* A private PEM is not a public key. */
    assert_int_equal(cs_auth_assertion_verify(k.ec_priv, tok, CLIENT, AUD, NOW, jti, NULL, &why),
                     CS_EINVAL);
    assert_int_equal(cs_auth_assertion_verify(k.ec_pub, NULL, CLIENT, AUD, NOW, jti, NULL, &why),
                     CS_EINVAL);
    assert_int_equal(cs_auth_assertion_verify(k.ec_pub, tok, "", AUD, NOW, jti, NULL, &why),
                     CS_EINVAL);
    assert_int_equal(cs_auth_assertion_verify(k.ec_pub, tok, CLIENT, NULL, NOW, jti, NULL, &why),
                     CS_EINVAL);
    /* why and exp_ms may be NULL. */
    assert_int_equal(cs_auth_assertion_verify(k.ec_pub, tok, CLIENT, AUD, NOW, jti, NULL, NULL),
                     CS_OK);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_es384),
        cmocka_unit_test(test_round_trip_rs384),
        cmocka_unit_test(test_hand_signed_accepted),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_wrong_client_or_audience),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_hs384_with_public_key),
        cmocka_unit_test(test_alg_not_matching_key),
        cmocka_unit_test(test_jti),
        cmocka_unit_test(test_garbage_and_truncated),
        cmocka_unit_test(test_sign_refuses),
        cmocka_unit_test(test_verify_refuses_bad_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
