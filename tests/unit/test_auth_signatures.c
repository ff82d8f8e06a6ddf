/*
 * test_auth_signatures.c — unit tests for signaling/auth: what cs_auth_verify
 * refuses before it looks at any claim — wrong keys, tampered and
 * non-canonical signatures, alg "none" and other disabled algorithms, header
 * tricks, algorithm confusion, and malformed, non-object or oversize tokens.
 */

#include "tests/unit/auth_test_keys.h"

/* ---- signatures and algorithms ---------------------------------------------- */

static void test_wrong_secret(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    cs_auth_t *b = make_auth(OTHER_SECRET, NULL, NULL, NULL, NULL, 0);
    cs_identity_t id = specialist();
    char *tok = NULL;
    assert_int_equal(cs_auth_mint(b, &id, NOW, 60000, "HS256", &tok), CS_OK);
    expect(a, tok, CS_EAUTH, "token signature or payload is invalid");
    free(tok);
    cs_auth_free(a);
    cs_auth_free(b);
}

static char flipped(char c)
{
    return c == 'A' ? 'B' : 'A';
}

static void tamper(cs_auth_t *a, const char *alg)
{
    cs_identity_t id = specialist();
    char *tok = NULL;
    assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, alg, &tok), CS_OK);
    char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    size_t len = strlen(tok);
    char *t = strdup(tok);
    t[(size_t)(dot1 - tok) + 5] = flipped(t[(size_t)(dot1 - tok) + 5]); /* payload */
    expect(a, t, CS_EAUTH, NULL);
    strcpy(t, tok);
    t[(size_t)(dot2 - tok) + 10] = flipped(t[(size_t)(dot2 - tok) + 10]); /* signature */
    expect(a, t, CS_EAUTH, "token signature or payload is invalid");
    strcpy(t, tok);
    t[3] = flipped(t[3]); /* header */
    expect(a, t, CS_EAUTH, NULL);
    strcpy(t, tok);
    t[len - 1] = '\0'; /* signature one character short */
    expect(a, t, CS_EAUTH, "token signature is invalid");
    free(t);
    free(tok);
}

static void test_tampered(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, keys.pub, keys.priv, NULL, NULL, 0);
    tamper(a, "HS256");
    tamper(a, "ES256");
    cs_auth_free(a);
}

/* The last base64url character of a signature carries unused low bits
 * (2 for HS256, 4 for ES256); libjwt's decoder ignores them, we refuse them,
 * so a signature has one spelling. */
static void test_noncanonical_signature(void **state)
{
    (void)state;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    cs_auth_t *a = make_auth(SECRET, keys.pub, keys.priv, NULL, NULL, 0);
    const char *algs[] = {"HS256", "ES256"};
    for (int i = 0; i < 2; i++) {
        cs_identity_t id = specialist();
        char *tok = NULL;
        assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, algs[i], &tok), CS_OK);
        size_t len = strlen(tok);
        int v = (int)(strchr(alphabet, tok[len - 1]) - alphabet);
        assert_int_equal(v & 3, 0);
        tok[len - 1] = alphabet[v | 1];
        expect(a, tok, CS_EAUTH, "token signature is invalid");
        free(tok);
    }
    cs_auth_free(a);
}

static char *claims_text(void)
{
    json_t *c = base_claims();
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    return s;
}

static void test_alg_none(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, keys.pub, NULL, NULL, NULL, 0);
    char *p = claims_text();
    /* The classic unsigned token: empty signature. */
    expect_free(a, build_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, NULL, 0, ""), CS_EAUTH,
                NULL);
    expect_free(a, build_token("{\"alg\":\"none\"}", p, NULL, 0, ""), CS_EAUTH, NULL);
    /* Any spelling, with anything in the signature. */
    const char *headers[] = {
        "{\"alg\":\"none\"}",  "{\"alg\":\"None\"}",  "{\"alg\":\"NONE\"}",
        "{\"alg\":\"hs256\"}", "{\"alg\":\"Hs256\"}", "{\"alg\":\"es256\"}",
        "{\"alg\":\"HS384\"}", "{\"alg\":\"HS512\"}", "{\"alg\":\"RS256\"}",
        "{\"alg\":\"ES384\"}", "{\"alg\":\"PS256\"}", "{\"alg\":\"EdDSA\"}",
        "{\"alg\":\"\"}",      "{\"alg\":null}",      "{\"alg\":256}",
        "{\"alg\":[\"HS256\"]}", "{\"typ\":\"JWT\"}", "{}",
        "{\"alg\":\"HS256 \"}",
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(headers); i++)
        expect_free(a, build_token(headers[i], p, SECRET, SECRET_LEN, NULL), CS_EAUTH,
                    "unsupported or disabled signing algorithm");
    free(p);
    cs_auth_free(a);
}

static void test_header_tricks(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char *p = claims_text();
    /* Two algs: libjwt would take the last; we refuse the header. */
    expect_free(a, hs_token_hdr("{\"alg\":\"HS256\",\"alg\":\"none\"}", p), CS_EAUTH,
                "token header is malformed");
    expect_free(a, hs_token_hdr("{\"alg\":\"none\",\"alg\":\"HS256\"}", p), CS_EAUTH,
                "token header is malformed");
    expect_free(a, hs_token_hdr("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", p),
                CS_EAUTH, "token header names unsupported critical extensions");
    expect_free(a, hs_token_hdr("[\"HS256\"]", p), CS_EAUTH, "token header is malformed");
    expect_free(a, hs_token_hdr("\"HS256\"", p), CS_EAUTH, "token header is malformed");
    expect_free(a, hs_token_hdr("{\"alg\":\"HS256\"", p), CS_EAUTH, "token header is malformed");
    expect_free(a, hs_token_hdr("{\"alg\":\"HS256\"} x", p), CS_EAUTH,
                "token header is malformed");
    expect_free(a, hs_token_hdr("{\"alg\":\"HS\\u0000256\"}", p), CS_EAUTH, NULL);
    /* A header over 1 KiB of base64url. */
    char big[900];
    snprintf(big, sizeof big, "{\"alg\":\"HS256\",\"kid\":\"%0800d\"}", 0);
    expect_free(a, hs_token_hdr(big, p), CS_EAUTH, "token header is malformed");
    free(p);
    cs_auth_free(a);
}

/* An HS256 token whose HMAC key is the ES256 public key's PEM text: what a
 * verifier that lets the header pick the algorithm would accept. */
static void test_alg_confusion(void **state)
{
    (void)state;
    char *p = claims_text();
    char *tok = build_token(HS_HEADER, p, keys.pub, strlen(keys.pub), NULL);
    cs_auth_t *es_only = make_auth(NULL, keys.pub, NULL, NULL, NULL, 0);
    expect(es_only, tok, CS_EAUTH, "unsupported or disabled signing algorithm");
    cs_auth_t *both = make_auth(SECRET, keys.pub, NULL, NULL, NULL, 0);
    expect(both, tok, CS_EAUTH, "token signature or payload is invalid");
    free(tok);
    /* Same with the PEM minus its final newline, another common spelling. */
    tok = build_token(HS_HEADER, p, keys.pub, strlen(keys.pub) - 1, NULL);
    expect(es_only, tok, CS_EAUTH, "unsupported or disabled signing algorithm");
    expect(both, tok, CS_EAUTH, "token signature or payload is invalid");
    free(tok);
    free(p);
    cs_auth_free(es_only);
    cs_auth_free(both);
}

static void test_disabled_algorithms(void **state)
{
    (void)state;
    cs_auth_t *signer = make_auth(SECRET, keys.pub, keys.priv, NULL, NULL, 0);
    cs_auth_t *hs_only = hs_auth();
    cs_auth_t *es_only = make_auth(NULL, keys.pub, NULL, NULL, NULL, 0);
    cs_identity_t id = specialist();
    char *es = NULL, *hs = NULL;
    assert_int_equal(cs_auth_mint(signer, &id, NOW, 60000, "ES256", &es), CS_OK);
    assert_int_equal(cs_auth_mint(signer, &id, NOW, 60000, "HS256", &hs), CS_OK);
    expect(hs_only, es, CS_EAUTH, "unsupported or disabled signing algorithm");
    expect(es_only, hs, CS_EAUTH, "unsupported or disabled signing algorithm");
    expect(hs_only, hs, CS_OK, NULL);
    expect(es_only, es, CS_OK, NULL);
    /* An ES256 token from another key pair. */
    cs_auth_t *other = make_auth(NULL, keys.other_pub, keys.other_priv, NULL, NULL, 0);
    expect(other, es, CS_EAUTH, "token signature or payload is invalid");
    free(es);
    free(hs);
    cs_auth_free(signer);
    cs_auth_free(hs_only);
    cs_auth_free(es_only);
    cs_auth_free(other);
}

/* ---- shape ---------------------------------------------------------------- */

static void test_malformed(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char *good = claims_token(base_claims());
    expect(a, good, CS_OK, NULL);
    expect(a, NULL, CS_EAUTH, "no token was presented");
    expect(a, "", CS_EAUTH, "no token was presented");
    expect(a, "garbage", CS_EAUTH, "token is not three dot-separated segments");
    expect(a, "a.b", CS_EAUTH, "token is not three dot-separated segments");
    expect(a, "a.b.c.d", CS_EAUTH, "token is not three dot-separated segments");
    expect(a, "....", CS_EAUTH, "token is not three dot-separated segments");
    expect(a, "..", CS_EAUTH, "token has an empty segment");
    expect(a, "a..c", CS_EAUTH, "token has an empty segment");
    expect(a, ".b.c", CS_EAUTH, "token has an empty segment");
    expect(a, "a.b.", CS_EAUTH, "token has an empty segment");
    expect(a, "a.b.c", CS_EAUTH, "token header is malformed");
    expect(a, "e30.e30.e30", CS_EAUTH, "unsupported or disabled signing algorithm");
    const char *bad_chars[] = {" ", "+", "/", "=", "\n", "\t", "\xc3\xa9", "\x7f", "\"", "*"};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad_chars); i++) {
        char *t = NULL;
        size_t cut = (size_t)(strchr(good, '.') - good) + 3;
        assert_true(asprintf(&t, "%.*s%s%s", (int)cut, good, bad_chars[i], good + cut) > 0);
        expect(a, t, CS_EAUTH, "token contains characters outside base64url");
        free(t);
        /* Padding or whitespace at the end, too. */
        assert_true(asprintf(&t, "%s%s", good, bad_chars[i]) > 0);
        expect(a, t, CS_EAUTH, "token contains characters outside base64url");
        free(t);
    }
    /* "Bearer xxx" is the caller's to strip. */
    char *t = NULL;
    assert_true(asprintf(&t, "Bearer %s", good) > 0);
    expect(a, t, CS_EAUTH, "token contains characters outside base64url");
    free(t);
    /* A segment of impossible base64url length (4n+1) in the header. */
    assert_true(asprintf(&t, "A%s", good) > 0);
    expect(a, t, CS_EAUTH, NULL);
    free(t);
    free(good);
    cs_auth_free(a);
}

static void test_payload_not_object(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    /* libjwt 1.10 accepts an array as the claims set. */
    expect_free(a, hs_token("[1,2]"), CS_EAUTH, "token payload is not a JSON object");
    expect_free(a, hs_token("\"sub\""), CS_EAUTH, NULL);
    expect_free(a, hs_token("not json"), CS_EAUTH, "token signature or payload is invalid");
    expect_free(a, hs_token("{\"sub\":\"u-\xff\"}"), CS_EAUTH,
                "token signature or payload is invalid");
    expect_free(a, hs_token("{}"), CS_EAUTH, "sub claim is missing or not a string");
    /* A signature made over a payload other than the one presented. */
    char *t1 = hs_token("{\"sub\":\"a\"}"), *t2 = hs_token("{\"sub\":\"b\"}");
    strcpy(strrchr(t1, '.'), strrchr(t2, '.'));
    expect(a, t1, CS_EAUTH, "token signature or payload is invalid");
    free(t1);
    free(t2);
    cs_auth_free(a);
}

/* Pads a valid token with an extra claim to exactly len characters. */
static char *token_of_length(size_t len)
{
    for (int kid = 0; kid < 4; kid++) {
        char header[64];
        snprintf(header, sizeof header, "{\"alg\":\"HS256\",\"kid\":\"%.*s\"}", kid, "kkk");
        for (size_t pad = 5000; pad < 7000; pad++) {
            json_t *c = with(base_claims(), "pad", json_sprintf("%0*d", (int)pad, 0));
            char *payload = json_dumps(c, JSON_COMPACT);
            char *tok = hs_token_hdr(header, payload);
            free(payload);
            json_decref(c);
            if (strlen(tok) == len)
                return tok;
            free(tok);
        }
    }
    fail_msg("no token of length %zu", len);
    return NULL;
}

static void test_oversize(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char *tok = token_of_length(CS_TOKEN_MAX - 1);
    expect(a, tok, CS_OK, NULL);
    free(tok);
    tok = token_of_length(CS_TOKEN_MAX);
    expect(a, tok, CS_EAUTH, "token is too long");
    free(tok);
    char *huge = malloc(1 << 20);
    memset(huge, 'A', (1 << 20) - 1);
    huge[(1 << 20) - 1] = '\0';
    huge[100] = huge[200] = '.';
    expect(a, huge, CS_EAUTH, "token is too long");
    free(huge);
    cs_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_noncanonical_signature),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_header_tricks),
        cmocka_unit_test(test_alg_confusion),
        cmocka_unit_test(test_disabled_algorithms),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_payload_not_object),
        cmocka_unit_test(test_oversize),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
