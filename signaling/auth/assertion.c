/*
 * assertion.c — SMART Backend Services client assertions (RFC 7523): the
 * short-lived JWT a system signs with its own private key to ask a token
 * endpoint for an access token, and the token endpoint's check of one.
 *
 * Part of the auth module because it is the only user of libjwt. As in
 * auth.c, libjwt never chooses anything: the key's type fixes the one
 * algorithm we accept (EC P-384 → ES384, RSA → RS384), the header must name
 * exactly that algorithm before libjwt sees the token, and the signature must
 * have exactly that algorithm's length and canonical spelling. So "none", an
 * HS384 "signed" with the public PEM as secret, or an RS384 header on an EC
 * key are refused without any cryptography. After libjwt has checked the
 * signature, the claims are decoded again from the token itself, strictly
 * (duplicate keys refused), and validated with jansson.
 *
 * OpenSSL parses and classifies the keys (and computes the kid); an encrypted
 * private key is refused rather than prompting for a passphrase — libjwt
 * would use OpenSSL's terminal prompt.
 *
 * A leaf module: no logging, no global state; everything is reentrant.
 */
#include "auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/common.h"

#define PEM_MAX 16384          /* an RSA-8192 private key PEM is ~6.5 kB */
#define ASSERTION_MAX 8192     /* header + claims + a 1 kB signature, with room */
#define HEADER_B64_MAX 1024    /* a JOSE header is a few dozen bytes */
#define RSA_BITS_MIN 2048      /* NIST SP 800-131A; SMART requires >= 2048 */
#define RSA_BITS_MAX 8192      /* bounds the signature and the work */
#define ES384_SIG_LEN 96       /* R || S, 48 bytes each */
#define SIG_MAX (RSA_BITS_MAX / 8)
#define ID_MAX 1024            /* client ids and token URLs; far above real ones */
#define JTI_MAX 64
#define EPOCH_MAX_S 253402300799LL /* 9999-12-31T23:59:59Z: keeps ms in range */

typedef enum { KEY_ES384, KEY_RS384 } key_kind_t;

typedef struct {
    EVP_PKEY *pkey;
    key_kind_t kind;
    size_t sig_len; /* bytes of a signature made with this key */
} client_key_t;

static int fail(const char **why, int code, const char *reason)
{
    *why = reason;
    return code;
}

/* ---- keys ---------------------------------------------------------------- */

/* Never prompt on the terminal for an encrypted key; refuse it instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

static bool is_p384(EVP_PKEY *k)
{
    char group[64];
    size_t len = 0;
    return EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_group_name(k, group, sizeof group, &len) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

/* Classifies k; false for anything but P-384 and plain RSA of a sane size
 * ("RSA-PSS" keys are a different type and are refused). */
static bool classify(EVP_PKEY *k, client_key_t *key)
{
    if (is_p384(k)) {
        key->kind = KEY_ES384;
        key->sig_len = ES384_SIG_LEN;
        return true;
    }
    int bits = EVP_PKEY_get_bits(k);
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA && bits >= RSA_BITS_MIN && bits <= RSA_BITS_MAX) {
        key->kind = KEY_RS384;
        key->sig_len = (size_t)(bits + 7) / 8;
        return true;
    }
    return false;
}

/* Loads and classifies a PEM key; CS_EINVAL when it is not one we accept. */
static int load_key(const char *pem, bool private_key, client_key_t *key)
{
    size_t len = pem ? strnlen(pem, PEM_MAX + 1) : 0;
    if (len == 0 || len > PEM_MAX)
        return CS_EINVAL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return CS_ENOMEM;
    EVP_PKEY *k = private_key ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                              : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (k && classify(k, key)) {
        key->pkey = k;
        return CS_OK;
    }
    EVP_PKEY_free(k);
    return CS_EINVAL;
}

/* The key's thumbprint as docs/RECORDS.md defines it: hex SHA-256 of the
 * SubjectPublicKeyInfo DER (not the RFC 7638 JWK thumbprint), so the token
 * endpoint can name the key it expects without any JWK machinery. */
static int key_id(EVP_PKEY *k, char kid[65])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    if (n <= 0)
        return CS_ENOMEM;
    int rc = cs_sha256_hex(der, (size_t)n, kid);
    OPENSSL_free(der);
    return rc == CS_OK ? CS_OK : CS_EINVAL;
}

/* ---- sign ---------------------------------------------------------------- */

static bool id_ok(const char *s)
{
    size_t len = s ? strnlen(s, ID_MAX) : 0;
    return len > 0 && len < ID_MAX && cs_utf8_valid(s, len);
}

/* The claims as JSON text (malloc'd), or NULL when out of memory. */
static char *sign_claims(const char *client_id, const char *audience, int64_t now_ms)
{
    char jti[2 * 16 + 1];
    if (cs_random_hex(jti, 16) != CS_OK)
        return NULL;
    int64_t iat = now_ms / 1000;
    json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", client_id, "sub", client_id,
                          "aud", audience, "iat", (json_int_t)iat, "exp",
                          (json_int_t)(iat + CS_ASSERTION_TTL_MS / 1000), "jti", jti);
    char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    return text;
}

static int encode(const client_key_t *key, const char *pem, const char *claims, const char *kid,
                  char **out)
{
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return CS_ENOMEM;
    jwt_alg_t alg = key->kind == KEY_ES384 ? JWT_ALG_ES384 : JWT_ALG_RS384;
    int err = jwt_add_grants_json(jwt, claims);
    if (!err)
        err = jwt_add_header(jwt, "typ", "JWT");
    if (!err)
        err = jwt_add_header(jwt, "kid", kid);
    if (!err)
        err = jwt_set_alg(jwt, alg, (const unsigned char *)pem, (int)strlen(pem));
    errno = 0;
    if (!err && !(*out = jwt_encode_str(jwt)))
        err = errno ? errno : ENOMEM;
    jwt_free(jwt);
    if (err)
        return err == ENOMEM ? CS_ENOMEM : CS_EINVAL;
    return CS_OK;
}

int cs_auth_assertion_sign(const char *private_pem, const char *client_id, const char *audience,
                           int64_t now_ms, char **out)
{
    if (out)
        *out = NULL;
    if (!out || !id_ok(client_id) || !id_ok(audience) || now_ms < 0 ||
        now_ms / 1000 > EPOCH_MAX_S - CS_ASSERTION_TTL_MS / 1000)
        return CS_EINVAL;
    client_key_t key = {0};
    char kid[65];
    int rc = load_key(private_pem, true, &key);
    if (rc == CS_OK)
        rc = key_id(key.pkey, kid);
    char *claims = NULL;
    if (rc == CS_OK && !(claims = sign_claims(client_id, audience, now_ms)))
        rc = CS_ENOMEM;
    /* The PEM is known to be an unencrypted key of the right kind, so libjwt
     * parses the same key without prompting. */
    if (rc == CS_OK)
        rc = encode(&key, private_pem, claims, kid, out);
    free(claims);
    EVP_PKEY_free(key.pkey);
    ERR_clear_error();
    return rc;
}

/* A segment decoded as a strict JSON object (duplicate keys refused:
 * {"alg":"ES384","alg":"none"} means nothing). NULL when it is not one. */
static json_t *segment_object(const char *seg, size_t len)
{
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    size_t n = 0;
    json_t *obj = NULL;
    if (buf && cs_base64url_decode(seg, len, buf, len / 4 * 3 + 3, &n))
        obj = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* ---- verify: before any cryptography -------------------------------------- */

/* Three non-empty base64url segments; checked first because libjwt 1.10
 * writes past a zero-byte allocation when it decodes an empty segment. */
static int check_shape(const char *t, size_t dot[2], const char **why)
{
    size_t len = strnlen(t, ASSERTION_MAX);
    if (len >= ASSERTION_MAX)
        return fail(why, CS_EAUTH, "client assertion is too long");
    int dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.') {
            if (dots == 2)
                return fail(why, CS_EAUTH, "client assertion is not a signed JWT");
            dot[dots++] = i;
        } else if (cs_base64_value((unsigned char)t[i], true) < 0) {
            return fail(why, CS_EAUTH, "client assertion is not a signed JWT");
        }
    }
    if (dots != 2 || dot[0] == 0 || dot[1] == dot[0] + 1 || dot[1] + 1 == len)
        return fail(why, CS_EAUTH, "client assertion is not a signed JWT");
    return CS_OK;
}

/* The header names exactly the key's algorithm, case-sensitively; no
 * critical extensions (we implement none, RFC 7515 §4.1.11). */
static int check_header(const char *t, size_t len, const client_key_t *key, const char **why)
{
    if (len > HEADER_B64_MAX)
        return fail(why, CS_EAUTH, "client assertion header is malformed");
    json_t *hdr = segment_object(t, len);
    if (!hdr)
        return fail(why, CS_EAUTH, "client assertion header is malformed");
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const char *want = key->kind == KEY_ES384 ? "ES384" : "RS384";
    int rc = CS_OK;
    if (json_object_get(hdr, "crit"))
        rc = fail(why, CS_EAUTH, "client assertion header names unsupported critical extensions");
    else if (!alg || strcmp(alg, want) != 0)
        rc = fail(why, CS_EAUTH, "client assertion algorithm does not match the client's key");
    json_decref(hdr);
    return rc;
}

static int check_signature_encoding(const char *sig, const client_key_t *key, const char **why)
{
    unsigned char raw[SIG_MAX];
    size_t n = 0;
    size_t len = strlen(sig);
    if (len != (key->sig_len * 4 + 2) / 3 || !cs_base64url_decode(sig, len, raw, sizeof raw, &n) ||
        n != key->sig_len)
        return fail(why, CS_EAUTH, "client assertion signature is invalid");
    return CS_OK;
}

/* libjwt checks the signature with the key we chose; the algorithm it used
 * is checked again in case it ever decides differently. */
static int check_signature(const char *t, const char *pem, const client_key_t *key,
                           const char **why)
{
    jwt_t *jwt = NULL;
    int err = jwt_decode(&jwt, t, (const unsigned char *)pem, (int)strlen(pem));
    jwt_alg_t want = key->kind == KEY_ES384 ? JWT_ALG_ES384 : JWT_ALG_RS384;
    bool ok = !err && jwt && jwt_get_alg(jwt) == want;
    jwt_free(jwt);
    if (ok)
        return CS_OK;
    if (err == ENOMEM)
        return fail(why, CS_ENOMEM, "out of memory");
    return fail(why, CS_EAUTH, "client assertion signature is invalid");
}

/* ---- verify: the claims ---------------------------------------------------- */

static bool string_is(const json_t *v, const char *want)
{
    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           strcmp(json_string_value(v), want) == 0;
}

static int check_client(const json_t *claims, const char *client_id, const char **why)
{
    if (!string_is(json_object_get(claims, "iss"), client_id))
        return fail(why, CS_EAUTH, "client assertion iss is not the client id");
    if (!string_is(json_object_get(claims, "sub"), client_id))
        return fail(why, CS_EAUTH, "client assertion sub is not the client id");
    return CS_OK;
}

/* aud is a string or an array of strings (RFC 7519 §4.1.3). */
static int check_audience(const json_t *claims, const char *audience, const char **why)
{
    const json_t *aud = json_object_get(claims, "aud");
    if (string_is(aud, audience))
        return CS_OK;
    for (size_t i = 0; json_is_array(aud) && i < json_array_size(aud); i++)
        if (string_is(json_array_get(aud, i), audience))
            return CS_OK;
    return fail(why, CS_EAUTH, "client assertion aud is not this token endpoint");
}

/* The token endpoint refuses a jti it has seen, so it must be there. */
static int read_jti(const json_t *claims, char jti_out[65], const char **why)
{
    const json_t *v = json_object_get(claims, "jti");
    size_t len = json_string_length(v);
    if (!json_is_string(v) || len == 0 || len > JTI_MAX ||
        !cs_utf8_valid(json_string_value(v), len))
        return fail(why, CS_EAUTH, "client assertion jti is missing or invalid");
    if (jti_out)
        memcpy(jti_out, json_string_value(v), len + 1);
    return CS_OK;
}

/* exp (required) and nbf (optional): integer seconds in [0, year 9999]. */
static int read_time(const json_t *claims, const char *name, bool required, int64_t *out_s)
{
    const json_t *v = json_object_get(claims, name);
    if (!v && !required)
        return CS_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > EPOCH_MAX_S)
        return CS_EAUTH;
    *out_s = (int64_t)json_integer_value(v);
    return CS_OK;
}

/* A client assertion lives a few minutes: one valid for longer than that is
 * refused, so a leaked one is not a long-lived credential. */
static int check_times(const json_t *claims, int64_t now_ms, int64_t *exp_ms, const char **why)
{
    int64_t exp = 0, nbf = -1;
    if (read_time(claims, "exp", true, &exp) != CS_OK)
        return fail(why, CS_EAUTH, "client assertion exp is missing or invalid");
    if (read_time(claims, "nbf", false, &nbf) != CS_OK)
        return fail(why, CS_EAUTH, "client assertion nbf is invalid");
    if (now_ms >= exp * 1000 + CS_ASSERTION_LEEWAY_MS)
        return fail(why, CS_EEXPIRED, "client assertion expired");
    if (exp * 1000 > now_ms + CS_ASSERTION_TTL_MS + CS_ASSERTION_LEEWAY_MS)
        return fail(why, CS_EAUTH, "client assertion exp is more than five minutes ahead");
    if (nbf >= 0 && nbf * 1000 > now_ms + CS_ASSERTION_LEEWAY_MS)
        return fail(why, CS_EEXPIRED, "client assertion is not yet valid");
    *exp_ms = exp * 1000;
    return CS_OK;
}

static int check_claims(const char *seg, size_t len, const char *client_id, const char *audience,
                        int64_t now_ms, char jti_out[65], int64_t *exp_ms, const char **why)
{
    json_t *claims = segment_object(seg, len);
    if (!claims)
        return fail(why, CS_EAUTH, "client assertion claims are not a JSON object");
    int rc = check_client(claims, client_id, why);
    if (rc == CS_OK)
        rc = check_audience(claims, audience, why);
    if (rc == CS_OK)
        rc = read_jti(claims, jti_out, why);
    /* Last, so a well-formed but stale assertion reports CS_EEXPIRED. */
    if (rc == CS_OK)
        rc = check_times(claims, now_ms, exp_ms, why);
    json_decref(claims);
    return rc;
}

static int verify(const char *pem, const char *t, const char *client_id, const char *audience,
                  int64_t now_ms, char jti[65], int64_t *exp_ms, const char **why)
{
    if (!t || !id_ok(client_id) || !id_ok(audience) || now_ms < 0)
        return fail(why, CS_EINVAL, "invalid arguments");
    /* The shape first: anyone may post an assertion, and parsing the
     * client's PEM key costs milliseconds that garbage should not buy. */
    size_t dot[2] = {0, 0};
    int rc = check_shape(t, dot, why);
    if (rc != CS_OK)
        return rc;
    client_key_t key = {0};
    if (load_key(pem, false, &key) != CS_OK)
        return fail(why, CS_EINVAL, "the client's public key is not EC P-384 or RSA");
    rc = check_header(t, dot[0], &key, why);
    if (rc == CS_OK)
        rc = check_signature_encoding(t + dot[1] + 1, &key, why);
    if (rc == CS_OK)
        rc = check_signature(t, pem, &key, why);
    if (rc == CS_OK)
        rc = check_claims(t + dot[0] + 1, dot[1] - dot[0] - 1, client_id, audience, now_ms, jti,
                          exp_ms, why);
    EVP_PKEY_free(key.pkey);
    return rc;
}

int cs_auth_assertion_verify(const char *public_pem, const char *assertion, const char *client_id,
                             const char *audience, int64_t now_ms, char jti_out[65],
                             int64_t *exp_ms, const char **why)
{
    const char *reason = NULL;
    char jti[JTI_MAX + 1] = "";
    int64_t exp = 0;
    int rc = verify(public_pem, assertion, client_id, audience, now_ms, jti, &exp, &reason);
    /* libjwt and PEM parsing leave entries in OpenSSL's per-thread error
     * queue; stale ones confuse the next SSL_get_error() on this thread. */
    ERR_clear_error();
    if (rc != CS_OK) {
        jti[0] = '\0';
        exp = 0;
    }
    if (jti_out)
        memcpy(jti_out, jti, sizeof jti);
    if (exp_ms)
        *exp_ms = exp;
    if (why)
        *why = rc == CS_OK ? NULL : reason;
    return rc;
}
