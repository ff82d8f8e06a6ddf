/*
 * test_auth.c — unit tests for signaling/auth: verifying and minting JWTs.
 *
 * Keys are generated per run with OpenSSL (nothing secret is committed).
 * Tokens libjwt would never produce (alg "none", wrong claim types, odd
 * headers) are built by hand: base64url + HMAC-SHA256 from OpenSSL.
 */
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

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef"; /* 32 bytes */
static const unsigned char OTHER_SECRET[] = "fedcba9876543210fedcba9876543210";
#define SECRET_LEN 32

/* ---- fixtures: keys made once per run ----------------------------------- */

static struct {
    char *pub, *priv;         /* P-256 pair */
    char *other_pub, *other_priv; /* a second P-256 pair */
    char *p384_pub, *ed25519_pub, *encrypted_priv;
} keys;

static char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(b);
    return s;
}

static char *pub_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    return bio_text(b);
}

static char *priv_pem(EVP_PKEY *k, const char *pass)
{
    BIO *b = BIO_new(BIO_s_mem());
    const EVP_CIPHER *c = pass ? EVP_aes_256_cbc() : NULL;
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, c, (unsigned char *)pass,
                                              pass ? (int)strlen(pass) : 0, NULL, NULL),
                     1);
    return bio_text(b);
}

static int setup_keys(void **state)
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

static int teardown_keys(void **state)
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

static cs_auth_t *make_auth(const unsigned char *secret, const char *pub, const char *priv,
                            const char *iss, const char *aud, int64_t leeway_ms)
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

static cs_auth_t *hs_auth(void)
{
    return make_auth(SECRET, NULL, NULL, NULL, NULL, 0);
}

static int new_err(const cs_auth_config_t *cfg)
{
    int err = 1;
    cs_auth_t *a = cs_auth_new(cfg, &err);
    cs_auth_free(a);
    return a ? CS_OK : err;
}

static char *b64url(const void *data, size_t len)
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
static char *build_token(const char *header, const char *payload, const void *key,
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

static char *hs_token(const char *payload)
{
    return build_token(HS_HEADER, payload, SECRET, SECRET_LEN, NULL);
}

static char *hs_token_hdr(const char *header, const char *payload)
{
    return build_token(header, payload, SECRET, SECRET_LEN, NULL);
}

/* A valid claims set; tests edit it. "xyzzy" marks values that must never be
 * echoed in a why. */
static json_t *base_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[s, s], s:I, s:I}", "sub", "u-1", "name",
                     "Dr Ana Souza", "role", "specialist", "tenant", "north", "specialties",
                     "cardiology", "peds-cardiology", "iat", (json_int_t)NOW_S, "exp",
                     (json_int_t)(NOW_S + 3600));
}

static char *claims_token(json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    char *tok = hs_token(payload);
    free(payload);
    json_decref(claims);
    return tok;
}

static json_t *with(json_t *c, const char *key, json_t *val)
{
    json_object_set_new(c, key, val);
    return c;
}

static json_t *without(json_t *c, const char *key)
{
    json_object_del(c, key);
    return c;
}

static void expect_at(const cs_auth_t *a, const char *tok, int64_t now, int code,
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

static void expect(const cs_auth_t *a, const char *tok, int code, const char *why_want)
{
    expect_at(a, tok, NOW, code, why_want);
}

/* Consumes tok. */
static void expect_free(const cs_auth_t *a, char *tok, int code, const char *why_want)
{
    expect(a, tok, code, why_want);
    free(tok);
}

static cs_identity_t specialist(void)
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

/* The claims of a token, unverified, for inspecting what was minted. */
static json_t *payload_of(const char *tok)
{
    const char *p = strchr(tok, '.') + 1;
    size_t n = (size_t)(strchr(p, '.') - p);
    char *b64 = calloc(n + 4, 1);
    unsigned char *raw = calloc(n + 4, 1);
    for (size_t i = 0; i < n; i++)
        b64[i] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i];
    while (n % 4)
        b64[n++] = '=';
    assert_true(EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n) > 0);
    json_t *c = json_loads((const char *)raw, 0, NULL);
    assert_true(json_is_object(c));
    free(b64);
    free(raw);
    return c;
}

static void assert_same_identity(const cs_identity_t *got, const cs_identity_t *want,
                                 int64_t expires_at)
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

/* ---- round trips ------------------------------------------------------------ */

static void roundtrip(cs_auth_t *a, const char *alg)
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

static void test_roundtrip_hs256(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    roundtrip(a, "HS256");
    cs_auth_free(a);
}

static void test_roundtrip_es256(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(NULL, keys.pub, keys.priv, NULL, NULL, 0);
    roundtrip(a, "ES256");
    cs_auth_free(a);
    /* Verification needs only the public key. */
    cs_auth_t *signer = make_auth(NULL, NULL, keys.priv, NULL, NULL, 0);
    cs_auth_t *verifier = make_auth(NULL, keys.pub, NULL, NULL, NULL, 0);
    cs_identity_t in = specialist(), out;
    char *tok = NULL;
    assert_int_equal(cs_auth_mint(signer, &in, NOW, 60000, "ES256", &tok), CS_OK);
    assert_int_equal(cs_auth_verify(verifier, tok, NOW, &out, NULL), CS_OK);
    assert_same_identity(&out, &in, NOW + 60000);
    free(tok);
    cs_auth_free(signer);
    cs_auth_free(verifier);
}

static void test_roundtrip_every_role(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, keys.pub, keys.priv, NULL, NULL, 0);
    for (int r = 0; r < CS_ROLE_COUNT; r++) {
        cs_identity_t in = specialist(), out;
        in.role = (cs_role_t)r;
        in.n_specialties = r == CS_ROLE_SPECIALIST ? 1 : 0;
        char *tok = NULL;
        assert_int_equal(cs_auth_mint(a, &in, NOW + 1, 1, r % 2 ? "ES256" : "HS256", &tok),
                         CS_OK);
        /* ttl 1 ms rounds exp up to the next second, never down to now. */
        assert_int_equal(cs_auth_verify(a, tok, NOW + 1, &out, NULL), CS_OK);
        assert_same_identity(&out, &in, NOW + 1000);
        /* The claims minted: no specialties claim when there are none. */
        json_t *c = payload_of(tok);
        assert_int_equal(json_object_size(c), in.n_specialties ? 7 : 6);
        assert_int_equal(json_integer_value(json_object_get(c, "iat")), NOW_S);
        assert_int_equal(json_integer_value(json_object_get(c, "exp")), NOW_S + 1);
        assert_string_equal(json_string_value(json_object_get(c, "role")), cs_role_name(in.role));
        json_decref(c);
        free(tok);
    }
    cs_auth_free(a);
}

static void test_roundtrip_hand_built(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    /* Unknown claims and headers are ignored; typ is optional. */
    json_t *c = with(base_claims(), "extra", json_pack("{s:i}", "x", 1));
    char *payload = json_dumps(c, JSON_COMPACT);
    char *tok = hs_token_hdr("{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload);
    cs_identity_t out;
    assert_int_equal(cs_auth_verify(a, tok, NOW, &out, NULL), CS_OK);
    assert_string_equal(out.subject, "u-1");
    assert_string_equal(out.name, "Dr Ana Souza");
    assert_int_equal(out.role, CS_ROLE_SPECIALIST);
    assert_string_equal(out.tenant, "north");
    assert_int_equal(out.n_specialties, 2);
    assert_string_equal(out.specialties[1], "peds-cardiology");
    assert_int_equal(out.expires_at, (NOW_S + 3600) * 1000);
    free(tok);
    free(payload);
    json_decref(c);
    /* A clinician may carry specialties too. */
    expect_free(a, claims_token(with(base_claims(), "role", json_string("clinician"))), CS_OK,
                NULL);
    cs_auth_free(a);
}

/* ---- time ----------------------------------------------------------------- */

static void test_expired(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    cs_identity_t id = specialist();
    char *tok = NULL;
    assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, "HS256", &tok), CS_OK);
    expect_at(a, tok, NOW + 59999, CS_OK, NULL);
    /* Refused on or after exp (RFC 7519 §4.1.4). */
    expect_at(a, tok, NOW + 60000, CS_EEXPIRED, "token expired");
    expect_at(a, tok, NOW + 86400000, CS_EEXPIRED, "token expired");
    free(tok);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 1))),
                CS_EEXPIRED, "token expired");
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(0))), CS_EEXPIRED,
                "token expired");
    cs_auth_free(a);
}

static void test_not_yet_valid(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 120))),
                CS_EEXPIRED, "token not yet valid");
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 1))),
                CS_EEXPIRED, "token not yet valid");
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(0))), CS_OK, NULL);
    /* iat in the future is not our business, but it must be a number. */
    expect_free(a, claims_token(with(base_claims(), "iat", json_integer(NOW_S + 999))), CS_OK,
                NULL);
    cs_auth_free(a);
}

static void test_leeway(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, NULL, NULL, NULL, NULL, 30000);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 10))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 29))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 30))),
                CS_EEXPIRED, "token expired");
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 40))),
                CS_EEXPIRED, "token expired");
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 20))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 30))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 31))),
                CS_EEXPIRED, "token not yet valid");
    /* expires_at is the token's exp, without the leeway. */
    char *tok = claims_token(with(base_claims(), "exp", json_integer(NOW_S - 10)));
    cs_identity_t id;
    assert_int_equal(cs_auth_verify(a, tok, NOW, &id, NULL), CS_OK);
    assert_int_equal(id.expires_at, NOW - 10000);
    free(tok);
    cs_auth_free(a);
}

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

/* ---- claims --------------------------------------------------------------- */

static void test_missing_claims(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    static const struct {
        const char *claim, *why;
    } cases[] = {
        {"sub", "sub claim is missing or not a string"},
        {"name", "name claim is missing or not a string"},
        {"role", "role claim is missing or not a string"},
        {"tenant", "tenant claim is missing or not a string"},
        {"exp", "exp claim is missing or not an integer"},
        {"specialties", "specialist token lists no specialties"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++)
        expect_free(a, claims_token(without(base_claims(), cases[i].claim)), CS_EAUTH,
                    cases[i].why);
    /* iat is optional; specialties too for everyone but specialists. */
    expect_free(a, claims_token(without(base_claims(), "iat")), CS_OK, NULL);
    expect_free(a,
                claims_token(without(with(base_claims(), "role", json_string("patient")),
                                     "specialties")),
                CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "specialties", json_array())), CS_EAUTH,
                "specialist token lists no specialties");
    cs_auth_free(a);
}

static void test_wrong_types(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    static const struct {
        const char *claim, *json, *why;
    } cases[] = {
        {"sub", "5", "sub claim is missing or not a string"},
        {"sub", "[\"u-1\"]", "sub claim is missing or not a string"},
        {"name", "null", "name claim is missing or not a string"},
        {"name", "{}", "name claim is missing or not a string"},
        {"role", "1", "role claim is missing or not a string"},
        {"role", "[\"specialist\"]", "role claim is missing or not a string"},
        {"tenant", "true", "tenant claim is missing or not a string"},
        {"specialties", "\"cardiology\"", "specialties claim is not an array of strings"},
        {"specialties", "null", "specialties claim is not an array of strings"},
        {"specialties", "{\"a\":\"cardiology\"}", "specialties claim is not an array of strings"},
        {"specialties", "[1]", "specialties claim is not an array of strings"},
        {"specialties", "[\"cardiology\",[\"x\"]]", "specialties claim is not an array of strings"},
        {"exp", "\"1795003600\"", "exp claim is missing or not an integer"},
        {"exp", "1795003600.5", "exp claim is missing or not an integer"},
        {"exp", "1.7950036e9", "exp claim is missing or not an integer"},
        {"exp", "null", "exp claim is missing or not an integer"},
        {"exp", "-1", "exp claim is out of range"},
        {"exp", "253402300800", "exp claim is out of range"},
        {"exp", "9223372036854775807", "exp claim is out of range"},
        {"exp", "-9223372036854775808", "exp claim is out of range"},
        {"nbf", "\"0\"", "nbf claim is not an integer"},
        {"nbf", "-5", "nbf claim is out of range"},
        {"nbf", "9223372036854775807", "nbf claim is out of range"},
        {"iat", "\"now\"", "iat claim is not an integer"},
        {"iat", "1e3", "iat claim is not an integer"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        expect_free(a, claims_token(with(base_claims(), cases[i].claim, v)), CS_EAUTH,
                    cases[i].why);
    }
    /* Numbers jansson cannot hold fail to parse at all. */
    char p[256];
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"name\":\"n\",\"role\":\"patient\",\"tenant\":\"t\","
                          "\"exp\":99999999999999999999999}");
    expect_free(a, hs_token(p), CS_EAUTH, "token signature or payload is invalid");
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"name\":\"n\",\"role\":\"patient\",\"tenant\":\"t\","
                          "\"exp\":1e999}");
    expect_free(a, hs_token(p), CS_EAUTH, "token signature or payload is invalid");
    /* The last second we accept. */
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(253402300799LL))),
                CS_OK, NULL);
    cs_auth_free(a);
}

static void test_bad_values(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char s63[64], s64[65], s127[128], s128[129];
    memset(s63, 'a', 63), s63[63] = '\0';
    memset(s64, 'a', 64), s64[64] = '\0';
    memset(s127, 'a', 127), s127[127] = '\0';
    memset(s128, 'a', 128), s128[128] = '\0';
    static const struct {
        const char *claim, *value, *why;
    } cases[] = {
        {"role", "xyzzy", "role claim is not a known role"},
        {"role", "Specialist", "role claim is not a known role"},
        {"role", "specialist ", "role claim is not a known role"},
        {"role", "", "role claim is empty or not valid UTF-8"},
        {"role", "xyzzy-xyzzy-xyzzy-xyzzy-xyzzy-xyzzy", "role claim is too long"},
        {"tenant", "Xyzzy", "tenant claim is not a valid slug"},
        {"tenant", "north centre", "tenant claim is not a valid slug"},
        {"tenant", "-xyzzy", "tenant claim is not a valid slug"},
        {"tenant", "_xyzzy", "tenant claim is not a valid slug"},
        {"tenant", "xyzzy/..", "tenant claim is not a valid slug"},
        {"tenant", "", "tenant claim is empty or not valid UTF-8"},
        {"sub", "", "sub claim is empty or not valid UTF-8"},
        {"name", "", "name claim is empty or not valid UTF-8"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++)
        expect_free(a, claims_token(with(base_claims(), cases[i].claim,
                                         json_string(cases[i].value))),
                    CS_EAUTH, cases[i].why);
    /* Length bounds: CS_*_MAX include the NUL. */
    expect_free(a, claims_token(with(base_claims(), "name", json_string(s127))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "name", json_string(s128))), CS_EAUTH,
                "name claim is too long");
    expect_free(a, claims_token(with(base_claims(), "sub", json_string(s127))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "sub", json_string(s128))), CS_EAUTH,
                "sub claim is too long");
    expect_free(a, claims_token(with(base_claims(), "tenant", json_string(s63))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "tenant", json_string(s64))), CS_EAUTH,
                "tenant claim is too long");
    expect_free(a, claims_token(with(base_claims(), "specialties", json_pack("[s]", s63))),
                CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "specialties", json_pack("[s]", s64))),
                CS_EAUTH, "specialties claim holds a specialty that is too long");
    expect_free(a,
                claims_token(with(base_claims(), "specialties", json_pack("[s,s]", "ok", "Xy"))),
                CS_EAUTH, "specialties claim holds an invalid slug");
    expect_free(a, claims_token(with(base_claims(), "specialties", json_pack("[s]", ""))),
                CS_EAUTH, "specialties claim holds an invalid slug");
    /* At most CS_MAX_SPECIALTIES. */
    json_t *eight = json_pack("[s,s,s,s,s,s,s,s]", "a", "b", "c", "d", "e", "f", "g", "h");
    expect_free(a, claims_token(with(base_claims(), "specialties", json_deep_copy(eight))),
                CS_OK, NULL);
    json_array_append_new(eight, json_string("i"));
    expect_free(a, claims_token(with(base_claims(), "specialties", eight)), CS_EAUTH,
                "specialties claim lists too many specialties");
    /* UTF-8 names are fine; an escaped NUL never gets through. */
    expect_free(a, claims_token(with(base_claims(), "name", json_string("José Ç 医生"))), CS_OK,
                NULL);
    expect_free(a, hs_token("{\"sub\":\"a\\u0000b\",\"name\":\"n\",\"role\":\"patient\","
                            "\"tenant\":\"t\",\"exp\":1795003600}"),
                CS_EAUTH, NULL);
    cs_auth_free(a);
}

/* ---- iss / aud ------------------------------------------------------------ */

static void test_issuer_audience(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, NULL, NULL, "https://idp.north", "consilium", 0);
    json_t *ok = with(with(base_claims(), "iss", json_string("https://idp.north")), "aud",
                      json_string("consilium"));
    expect_free(a, claims_token(json_deep_copy(ok)), CS_OK, NULL);
    expect_free(a,
                claims_token(with(json_deep_copy(ok), "aud",
                                  json_pack("[s,s]", "pacs", "consilium"))),
                CS_OK, NULL);
    const char *iss_why = "iss claim does not name the configured issuer";
    const char *aud_why = "aud claim does not name the configured audience";
    expect_free(a, claims_token(without(json_deep_copy(ok), "iss")), CS_EAUTH, iss_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "iss", json_string("https://xyzzy"))),
                CS_EAUTH, iss_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "iss", json_integer(1))), CS_EAUTH,
                iss_why);
    expect_free(a, claims_token(without(json_deep_copy(ok), "aud")), CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_string("xyzzy"))),
                CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_string("Consilium"))),
                CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_pack("[s]", "xyzzy"))),
                CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_array())), CS_EAUTH,
                aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_pack("[i]", 1))), CS_EAUTH,
                aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_integer(7))), CS_EAUTH,
                aud_why);
    json_decref(ok);
    /* Unconfigured (NULL or ""): not checked, whatever the token says. */
    cs_auth_t *b = make_auth(SECRET, NULL, NULL, "", NULL, 0);
    expect_free(b, claims_token(with(base_claims(), "iss", json_integer(1))), CS_OK, NULL);
    expect_free(b, claims_token(with(base_claims(), "aud", json_string("xyzzy"))), CS_OK, NULL);
    cs_auth_free(b);
    /* Tokens we mint carry the configured iss and aud. */
    cs_auth_t *c = make_auth(SECRET, keys.pub, keys.priv, "https://idp.north", "consilium", 0);
    roundtrip(c, "HS256");
    roundtrip(c, "ES256");
    cs_auth_free(c);
    cs_auth_free(a);
}

/* ---- configuration -------------------------------------------------------- */

static void test_new_secret(void **state)
{
    (void)state;
    cs_auth_config_t cfg = {.hs256_secret = SECRET, .hs256_secret_len = 31};
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.hs256_secret_len = 0;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.hs256_secret_len = 32;
    assert_int_equal(new_err(&cfg), CS_OK);
    assert_null(cs_auth_new(NULL, NULL));
    int err = 0;
    assert_null(cs_auth_new(NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    /* No key at all. */
    cs_auth_config_t none = {.issuer = "x"};
    assert_int_equal(new_err(&none), CS_EINVAL);
    /* Leeway must be sane. */
    cfg.leeway_ms = -1;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.leeway_ms = 86400001;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.leeway_ms = 86400000;
    assert_int_equal(new_err(&cfg), CS_OK);
    /* The secret is copied: the caller may wipe theirs. */
    unsigned char mine[SECRET_LEN];
    memcpy(mine, SECRET, SECRET_LEN);
    cfg.hs256_secret = mine;
    cfg.leeway_ms = 0;
    cs_auth_t *a = cs_auth_new(&cfg, &err);
    assert_non_null(a);
    memset(mine, 0, sizeof mine);
    expect_free(a, claims_token(base_claims()), CS_OK, NULL);
    cs_auth_free(a);
    cs_auth_free(NULL);
}

static void test_new_pem(void **state)
{
    (void)state;
    static const char garbage_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                      "bm90IGEga2V5IGF0IGFsbA==\n"
                                      "-----END PUBLIC KEY-----\n";
    struct {
        const char *pub, *priv;
        int want;
    } cases[] = {
        {keys.pub, NULL, CS_OK},
        {NULL, keys.priv, CS_OK},
        {keys.pub, keys.priv, CS_OK},
        {garbage_pem, NULL, CS_EINVAL},
        {"", NULL, CS_EINVAL},
        {"not a pem", NULL, CS_EINVAL},
        {NULL, "not a pem", CS_EINVAL},
        {keys.p384_pub, NULL, CS_EINVAL},    /* wrong curve */
        {keys.ed25519_pub, NULL, CS_EINVAL}, /* not EC */
        {keys.priv, NULL, CS_EINVAL},        /* private where public belongs */
        {NULL, keys.pub, CS_EINVAL},         /* public where private belongs */
        {keys.pub, keys.other_priv, CS_EINVAL}, /* not a pair */
        {NULL, keys.encrypted_priv, CS_EINVAL}, /* refused, never prompts */
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        cs_auth_config_t cfg = {.es256_public_pem = cases[i].pub,
                                .es256_private_pem = cases[i].priv};
        if (new_err(&cfg) != cases[i].want)
            fail_msg("case %zu: wanted %d", i, cases[i].want);
    }
    /* A bad PEM fails even when the HS256 secret is fine. */
    cs_auth_config_t cfg = {.hs256_secret = SECRET,
                            .hs256_secret_len = SECRET_LEN,
                            .es256_public_pem = garbage_pem};
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    /* A PEM with a truncated body. */
    char *cut = strndup(keys.pub, strlen(keys.pub) / 2);
    cfg.es256_public_pem = cut;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    free(cut);
}

/* ---- minting -------------------------------------------------------------- */

static void test_mint_unsupported(void **state)
{
    (void)state;
    cs_auth_t *hs = hs_auth();
    cs_auth_t *pub_only = make_auth(NULL, keys.pub, NULL, NULL, NULL, 0);
    cs_identity_t id = specialist();
    char *tok = (char *)"unset";
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "ES256", &tok), CS_EUNSUPPORTED);
    assert_null(tok);
    assert_int_equal(cs_auth_mint(pub_only, &id, NOW, 60000, "ES256", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(pub_only, &id, NOW, 60000, "HS256", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "none", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "hs256", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "HS512", &tok), CS_EUNSUPPORTED);
    assert_null(tok);
    cs_auth_free(hs);
    cs_auth_free(pub_only);
}

static void test_mint_invalid(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char *tok = NULL;
    cs_identity_t id = specialist();
    assert_int_equal(cs_auth_mint(a, &id, NOW, 0, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, -5, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, -1, 60000, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, INT64_MAX, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, NULL, NOW, 60000, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, NULL, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, "HS256", NULL), CS_EINVAL);
    assert_int_equal(cs_auth_mint(NULL, &id, NOW, 60000, "HS256", &tok), CS_EINVAL);
    assert_null(tok);

    /* Never mint what verify would refuse. */
    cs_identity_t bad[8];
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++)
        bad[i] = specialist();
    bad[0].subject[0] = '\0';
    bad[1].name[0] = '\0';
    strcpy(bad[2].tenant, "North");
    bad[3].n_specialties = 0;
    bad[4].n_specialties = CS_MAX_SPECIALTIES + 1;
    strcpy(bad[5].specialties[1], "bad slug");
    bad[6].role = CS_ROLE_COUNT;
    memset(bad[7].name, 'a', sizeof bad[7].name); /* not NUL-terminated */
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++) {
        if (cs_auth_mint(a, &bad[i], NOW, 60000, "HS256", &tok) != CS_EINVAL)
            fail_msg("identity %zu was minted", i);
        assert_null(tok);
    }
    /* Longest fields and most specialties still fit and verify. */
    cs_identity_t big = specialist(), out;
    memset(big.subject, 'x', CS_SUBJECT_MAX - 1);
    memset(big.name, '"', CS_NAME_MAX - 1); /* each escaped in JSON */
    memset(big.tenant, 't', CS_TENANT_MAX - 1);
    for (int i = 0; i < CS_MAX_SPECIALTIES; i++) {
        memset(big.specialties[i], 'a' + i, CS_SPECIALTY_MAX - 1);
        big.specialties[i][CS_SPECIALTY_MAX - 1] = '\0';
    }
    big.n_specialties = CS_MAX_SPECIALTIES;
    assert_int_equal(cs_auth_mint(a, &big, NOW, 60000, "HS256", &tok), CS_OK);
    assert_int_equal(cs_auth_verify(a, tok, NOW, &out, NULL), CS_OK);
    assert_same_identity(&out, &big, NOW + 60000);
    free(tok);
    cs_auth_free(a);
}

static void test_verify_args(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char *tok = claims_token(base_claims());
    cs_identity_t id;
    const char *why = NULL;
    assert_int_equal(cs_auth_verify(NULL, tok, NOW, &id, &why), CS_EINVAL);
    assert_non_null(why);
    assert_int_equal(cs_auth_verify(a, tok, NOW, NULL, &why), CS_EINVAL);
    /* why is optional. */
    assert_int_equal(cs_auth_verify(a, tok, NOW, &id, NULL), CS_OK);
    assert_int_equal(cs_auth_verify(a, "x", NOW, &id, NULL), CS_EAUTH);
    free(tok);
    cs_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_hs256),
        cmocka_unit_test(test_roundtrip_es256),
        cmocka_unit_test(test_roundtrip_every_role),
        cmocka_unit_test(test_roundtrip_hand_built),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_leeway),
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
        cmocka_unit_test(test_missing_claims),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_issuer_audience),
        cmocka_unit_test(test_new_secret),
        cmocka_unit_test(test_new_pem),
        cmocka_unit_test(test_mint_unsupported),
        cmocka_unit_test(test_mint_invalid),
        cmocka_unit_test(test_verify_args),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
