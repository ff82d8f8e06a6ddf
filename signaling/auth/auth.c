/*
 * auth.c — verifies and mints the JWTs that identify Consilium's users.
 *
 * The only user of libjwt (1.x API). libjwt lets the token's own header pick
 * the verification algorithm and hands it whatever key the caller passes, so
 * this module never lets it choose: before libjwt sees a token we check its
 * shape, decode the header ourselves, and map "HS256" to the HMAC secret and
 * "ES256" to the P-256 public key. Every other algorithm ("none", "hs256",
 * RS256, ...) and every algorithm whose key is not configured is refused, so an
 * HS256 token "signed" with the public PEM text can never verify.
 *
 * libjwt 1.10 also checks no claim types (jwt_get_grant_int returns 0 for a
 * string), so the claims are read back as JSON and validated with jansson.
 * OpenSSL is used only to validate keys at start-up, so a bad key fails
 * cs_auth_new rather than the first login.
 *
 * A leaf module: no logging, no global state; cs_auth_verify is reentrant.
 */
#include "auth.h"

#include <errno.h>
#include <limits.h>
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

#define SECRET_MIN 32              /* RFC 7518 §3.2: HS256 key >= hash size */
#define PEM_MAX 16384              /* far above any P-256 PEM */
#define HEADER_B64_MAX 1024        /* a JOSE header is a few dozen bytes */
#define HS256_SIG_B64_LEN 43       /* 32 bytes, unpadded base64url */
#define ES256_SIG_B64_LEN 86       /* 64 bytes (R || S), unpadded base64url */
#define LEEWAY_MAX_MS 86400000LL   /* a day; more is a misconfiguration */
#define EPOCH_MAX_S 253402300799LL /* 9999-12-31T23:59:59Z: keeps ms in range */

struct cs_auth {
    unsigned char *hs256_secret; /* NULL: HS256 disabled */
    size_t hs256_secret_len;
    char *es256_public_pem; /* NULL: ES256 verification disabled */
    size_t es256_public_len;
    char *es256_private_pem; /* NULL: ES256 minting disabled */
    size_t es256_private_len;
    char *issuer;   /* NULL: not checked */
    char *audience; /* NULL: not checked */
    int64_t leeway_ms;
};

typedef enum { ALG_HS256, ALG_ES256 } alg_t;

static int fail(const char **why, int code, const char *reason)
{
    *why = reason;
    return code;
}

/* ---- the token's shape and header ---------------------------------------- */

/*
 * Exactly three non-empty base64url segments, shorter than CS_TOKEN_MAX.
 * Checked before libjwt sees the token: libjwt 1.10 writes one byte past a
 * zero-byte allocation when it decodes an empty segment.
 */
static int check_shape(const char *token, size_t dot[2], const char **why)
{
    if (!token || !*token)
        return fail(why, CS_EAUTH, "no token was presented");
    size_t len = strnlen(token, CS_TOKEN_MAX);
    if (len >= CS_TOKEN_MAX)
        return fail(why, CS_EAUTH, "token is too long");
    int dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (dots == 2)
                return fail(why, CS_EAUTH, "token is not three dot-separated segments");
            dot[dots++] = i;
        } else if (cs_base64_value((unsigned char)token[i], true) < 0) {
            return fail(why, CS_EAUTH, "token contains characters outside base64url");
        }
    }
    if (dots != 2)
        return fail(why, CS_EAUTH, "token is not three dot-separated segments");
    if (dot[0] == 0 || dot[1] == dot[0] + 1 || dot[1] + 1 == len)
        return fail(why, CS_EAUTH, "token has an empty segment");
    return CS_OK;
}

/* Exact, case-sensitive names (RFC 7515 §4.1.1); libjwt 1.10 ignores case. */
static int alg_from_header(const json_t *hdr, alg_t *alg, const char **why)
{
    /* We implement no JWS extension, so any "crit" must be refused (§4.1.11). */
    if (json_object_get(hdr, "crit"))
        return fail(why, CS_EAUTH, "token header names unsupported critical extensions");
    const char *name = json_string_value(json_object_get(hdr, "alg"));
    if (name && strcmp(name, "HS256") == 0)
        *alg = ALG_HS256;
    else if (name && strcmp(name, "ES256") == 0)
        *alg = ALG_ES256;
    else
        return fail(why, CS_EAUTH, "unsupported or disabled signing algorithm");
    return CS_OK;
}

static int read_header_alg(const char *seg, size_t len, alg_t *alg, const char **why)
{
    unsigned char buf[HEADER_B64_MAX / 4 * 3];
    size_t n;
    if (len > HEADER_B64_MAX || !cs_base64url_decode(seg, len, buf, sizeof buf, &n))
        return fail(why, CS_EAUTH, "token header is malformed");
    /* Duplicate keys refused: {"alg":"HS256","alg":"none"} means nothing. */
    json_t *hdr = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    int rc = json_is_object(hdr) ? alg_from_header(hdr, alg, why)
                                 : fail(why, CS_EAUTH, "token header is malformed");
    json_decref(hdr);
    return rc;
}

/* The key for alg, or CS_EAUTH when that algorithm is not configured. */
static int verify_key(const cs_auth_t *a, alg_t alg, const unsigned char **key, int *key_len,
                      const char **why)
{
    if (alg == ALG_HS256 && a->hs256_secret) {
        *key = a->hs256_secret;
        *key_len = (int)a->hs256_secret_len;
    } else if (alg == ALG_ES256 && a->es256_public_pem) {
        *key = (const unsigned char *)a->es256_public_pem;
        *key_len = (int)a->es256_public_len;
    } else {
        return fail(why, CS_EAUTH, "unsupported or disabled signing algorithm");
    }
    return CS_OK;
}

/* Right length for alg and canonical, so a signature can't be re-spelled. */
static int check_signature_encoding(const char *sig, alg_t alg, const char **why)
{
    size_t want = alg == ALG_HS256 ? HS256_SIG_B64_LEN : ES256_SIG_B64_LEN;
    unsigned char raw[64];
    size_t n;
    if (strlen(sig) != want || !cs_base64url_decode(sig, want, raw, sizeof raw, &n))
        return fail(why, CS_EAUTH, "token signature is invalid");
    return CS_OK;
}

/*
 * Signature check by libjwt with the key we chose, then the claims as a jansson
 * object (*claims, the caller's to release).
 */
static int decode_verified(const char *token, alg_t alg, const unsigned char *key, int key_len,
                           json_t **claims, const char **why)
{
    jwt_t *jwt = NULL;
    int err = jwt_decode(&jwt, token, key, key_len);
    if (err || !jwt) {
        jwt_free(jwt);
        if (err == ENOMEM)
            return fail(why, CS_ENOMEM, "out of memory");
        return fail(why, CS_EAUTH, "token signature or payload is invalid");
    }
    /* Belt and braces, and catches libjwt 1.10 returning success without
     * verifying when its key copy fails to allocate. */
    jwt_alg_t want = alg == ALG_HS256 ? JWT_ALG_HS256 : JWT_ALG_ES256;
    if (jwt_get_alg(jwt) != want) {
        jwt_free(jwt);
        return fail(why, CS_EAUTH, "unsupported or disabled signing algorithm");
    }
    char *text = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    if (!text)
        return fail(why, CS_ENOMEM, "out of memory");
    *claims = json_loads(text, 0, NULL);
    free(text);
    /* libjwt accepts a JSON array as the payload; a claims set is an object. */
    if (!json_is_object(*claims)) {
        json_decref(*claims);
        *claims = NULL;
        return fail(why, CS_EAUTH, "token payload is not a JSON object");
    }
    return CS_OK;
}

/* ---- claims -------------------------------------------------------------- */

typedef struct {
    const char *key;
    size_t cap; /* bytes including the NUL */
    const char *missing, *too_long, *invalid;
} str_claim_t;

#define STR_CLAIM(k, cap)                                                                          \
    {                                                                                              \
        k, cap, k " claim is missing or not a string", k " claim is too long",                     \
            k " claim is empty or not valid UTF-8"                                                 \
    }

static const str_claim_t claim_sub = STR_CLAIM("sub", CS_SUBJECT_MAX);
static const str_claim_t claim_name = STR_CLAIM("name", CS_NAME_MAX);
static const str_claim_t claim_role = STR_CLAIM("role", 32);
static const str_claim_t claim_tenant = STR_CLAIM("tenant", CS_TENANT_MAX);

/* A required string claim: present, a string, non-empty, bounded, UTF-8. */
static int read_string(const json_t *claims, const str_claim_t *c, char *dst, const char **why)
{
    const json_t *v = json_object_get(claims, c->key);
    if (!json_is_string(v))
        return fail(why, CS_EAUTH, c->missing);
    size_t len = json_string_length(v);
    if (len >= c->cap)
        return fail(why, CS_EAUTH, c->too_long);
    const char *s = json_string_value(v);
    if (len == 0 || !cs_utf8_valid(s, len))
        return fail(why, CS_EAUTH, c->invalid);
    memcpy(dst, s, len + 1);
    return CS_OK;
}

static int read_role(const json_t *claims, cs_role_t *role, const char **why)
{
    char name[32];
    int rc = read_string(claims, &claim_role, name, why);
    if (rc == CS_OK && cs_role_parse(name, role) != CS_OK)
        rc = fail(why, CS_EAUTH, "role claim is not a known role");
    return rc;
}

static int read_tenant(const json_t *claims, char *tenant, const char **why)
{
    int rc = read_string(claims, &claim_tenant, tenant, why);
    if (rc == CS_OK && !cs_slug_valid(tenant, CS_TENANT_MAX))
        rc = fail(why, CS_EAUTH, "tenant claim is not a valid slug");
    return rc;
}

/* Optional: a patient's own identifier at their centre (the built-in record
 * store shows a patient the documents about this id). */
static int read_patient_id(const json_t *claims, cs_identity_t *id, const char **why)
{
    static const str_claim_t claim = STR_CLAIM("patient_id", CS_PATIENT_ID_MAX);
    if (!json_object_get(claims, "patient_id"))
        return CS_OK;
    int rc = read_string(claims, &claim, id->patient_id, why);
    if (rc == CS_OK && id->role != CS_ROLE_PATIENT)
        rc = fail(why, CS_EAUTH, "patient_id claim is only for the patient role");
    return rc;
}

/* Optional array of slugs; required non-empty for specialists. */
static int read_specialties(const json_t *claims, cs_identity_t *id, const char **why)
{
    const json_t *arr = json_object_get(claims, "specialties");
    if (arr && !json_is_array(arr))
        return fail(why, CS_EAUTH, "specialties claim is not an array of strings");
    size_t n = json_array_size(arr); /* 0 when absent */
    if (n > CS_MAX_SPECIALTIES)
        return fail(why, CS_EAUTH, "specialties claim lists too many specialties");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v))
            return fail(why, CS_EAUTH, "specialties claim is not an array of strings");
        if (json_string_length(v) >= CS_SPECIALTY_MAX)
            return fail(why, CS_EAUTH, "specialties claim holds a specialty that is too long");
        if (!cs_slug_valid(json_string_value(v), CS_SPECIALTY_MAX))
            return fail(why, CS_EAUTH, "specialties claim holds an invalid slug");
        memcpy(id->specialties[i], json_string_value(v), json_string_length(v) + 1);
    }
    id->n_specialties = (int)n;
    if (id->role == CS_ROLE_SPECIALIST && n == 0)
        return fail(why, CS_EAUTH, "specialist token lists no specialties");
    return CS_OK;
}

/* A NumericDate we accept: an integer number of seconds in [0, year 9999]. */
static int read_time(const json_t *claims, const char *key, bool required, int64_t *out_s,
                     const char *bad_type, const char *bad_range, const char **why)
{
    const json_t *v = json_object_get(claims, key);
    if (!v && !required)
        return CS_OK;
    if (!json_is_integer(v))
        return fail(why, CS_EAUTH, bad_type);
    json_int_t t = json_integer_value(v);
    if (t < 0 || t > EPOCH_MAX_S)
        return fail(why, CS_EAUTH, bad_range);
    *out_s = (int64_t)t;
    return CS_OK;
}

/* exp, nbf (and iat's type); fills expires_at. */
static int check_times(const cs_auth_t *a, const json_t *claims, int64_t now_ms,
                       cs_identity_t *id, const char **why)
{
    int64_t exp = 0, nbf = -1, iat = 0;
    int rc = read_time(claims, "exp", true, &exp, "exp claim is missing or not an integer",
                       "exp claim is out of range", why);
    if (rc == CS_OK)
        rc = read_time(claims, "nbf", false, &nbf, "nbf claim is not an integer",
                       "nbf claim is out of range", why);
    if (rc == CS_OK)
        rc = read_time(claims, "iat", false, &iat, "iat claim is not an integer",
                       "iat claim is out of range", why);
    if (rc != CS_OK)
        return rc;
    /* RFC 7519 §4.1.4: refused "on or after" exp. No overflow: both terms are
     * bounded by EPOCH_MAX_S and LEEWAY_MAX_MS. */
    if (now_ms >= exp * 1000 + a->leeway_ms)
        return fail(why, CS_EEXPIRED, "token expired");
    if (nbf >= 0 && nbf * 1000 > now_ms + a->leeway_ms)
        return fail(why, CS_EEXPIRED, "token not yet valid");
    id->expires_at = exp * 1000;
    return CS_OK;
}

static int check_issuer(const cs_auth_t *a, const json_t *claims, const char **why)
{
    if (!a->issuer)
        return CS_OK;
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (!iss || strcmp(iss, a->issuer) != 0)
        return fail(why, CS_EAUTH, "iss claim does not name the configured issuer");
    return CS_OK;
}

/* aud is a string or an array of strings (RFC 7519 §4.1.3). */
static int check_audience(const cs_auth_t *a, const json_t *claims, const char **why)
{
    if (!a->audience)
        return CS_OK;
    const json_t *aud = json_object_get(claims, "aud");
    if (json_is_string(aud) && strcmp(json_string_value(aud), a->audience) == 0)
        return CS_OK;
    for (size_t i = 0; json_is_array(aud) && i < json_array_size(aud); i++) {
        const char *s = json_string_value(json_array_get(aud, i));
        if (s && strcmp(s, a->audience) == 0)
            return CS_OK;
    }
    return fail(why, CS_EAUTH, "aud claim does not name the configured audience");
}

static int read_claims(const cs_auth_t *a, const json_t *claims, int64_t now_ms,
                       cs_identity_t *id, const char **why)
{
    int rc = read_string(claims, &claim_sub, id->subject, why);
    if (rc == CS_OK)
        rc = read_string(claims, &claim_name, id->name, why);
    if (rc == CS_OK)
        rc = read_role(claims, &id->role, why);
    if (rc == CS_OK)
        rc = read_tenant(claims, id->tenant, why);
    if (rc == CS_OK)
        rc = read_specialties(claims, id, why);
    if (rc == CS_OK)
        rc = read_patient_id(claims, id, why);
    if (rc == CS_OK)
        rc = check_issuer(a, claims, why);
    if (rc == CS_OK)
        rc = check_audience(a, claims, why);
    /* Last, so a well-formed but stale token reports CS_EEXPIRED. */
    if (rc == CS_OK)
        rc = check_times(a, claims, now_ms, id, why);
    return rc;
}

/* ---- verify -------------------------------------------------------------- */

static int verify(const cs_auth_t *a, const char *token, int64_t now_ms, cs_identity_t *id,
                  const char **why)
{
    size_t dot[2] = {0, 0};
    alg_t alg = ALG_HS256;
    const unsigned char *key = NULL;
    int key_len = 0;
    int rc = check_shape(token, dot, why);
    if (rc == CS_OK)
        rc = read_header_alg(token, dot[0], &alg, why);
    if (rc == CS_OK)
        rc = verify_key(a, alg, &key, &key_len, why);
    if (rc == CS_OK)
        rc = check_signature_encoding(token + dot[1] + 1, alg, why);
    json_t *claims = NULL;
    if (rc == CS_OK)
        rc = decode_verified(token, alg, key, key_len, &claims, why);
    if (rc == CS_OK)
        rc = read_claims(a, claims, now_ms, id, why);
    json_decref(claims);
    return rc;
}

int cs_auth_verify(const cs_auth_t *a, const char *token, int64_t now_ms, cs_identity_t *out,
                   const char **why)
{
    const char *reason = NULL;
    cs_identity_t id;
    memset(&id, 0, sizeof id);
    int rc = (a && out) ? verify(a, token, now_ms, &id, &reason)
                        : fail(&reason, CS_EINVAL, "invalid arguments");
    /* libjwt never clears OpenSSL's per-thread error queue (a key it cannot
     * parse leaves entries there); stale entries confuse the next
     * SSL_get_error() on this thread, e.g. in the WebSocket layer. */
    ERR_clear_error();
    if (rc != CS_OK)
        memset(&id, 0, sizeof id); /* nothing of a refused token leaks out */
    if (out)
        *out = id;
    if (why)
        *why = reason;
    return rc;
}

/* ---- keys and configuration ---------------------------------------------- */

/* Never prompt on the terminal for an encrypted key; refuse it instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

static bool is_p256(EVP_PKEY *k)
{
    char group[64];
    size_t len = 0;
    return EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_group_name(k, group, sizeof group, &len) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

/* Parses an EC P-256 PEM (public or private); NULL when unusable. */
static EVP_PKEY *load_p256(const char *pem, size_t len, bool private_key)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return NULL;
    EVP_PKEY *k = private_key ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                              : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (k && !is_p256(k)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

static int copy_pem(const char *pem, char **dst, size_t *len)
{
    if (!pem)
        return CS_OK;
    *len = strnlen(pem, PEM_MAX + 1);
    if (*len == 0 || *len > PEM_MAX)
        return CS_EINVAL;
    *dst = strndup(pem, *len);
    return *dst ? CS_OK : CS_ENOMEM;
}

/* Loads both ES256 PEMs, and when both are given checks they are a pair. */
static int check_es256_keys(const cs_auth_t *a)
{
    EVP_PKEY *pub = NULL, *priv = NULL;
    int rc = CS_OK;
    if (a->es256_public_pem &&
        !(pub = load_p256(a->es256_public_pem, a->es256_public_len, false)))
        rc = CS_EINVAL;
    if (rc == CS_OK && a->es256_private_pem &&
        !(priv = load_p256(a->es256_private_pem, a->es256_private_len, true)))
        rc = CS_EINVAL;
    if (rc == CS_OK && pub && priv && EVP_PKEY_eq(pub, priv) != 1)
        rc = CS_EINVAL;
    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);
    ERR_clear_error();
    return rc;
}

static int copy_secret(cs_auth_t *a, const cs_auth_config_t *cfg)
{
    if (!cfg->hs256_secret)
        return CS_OK;
    if (cfg->hs256_secret_len < SECRET_MIN || cfg->hs256_secret_len > INT_MAX)
        return CS_EINVAL;
    a->hs256_secret = malloc(cfg->hs256_secret_len);
    if (!a->hs256_secret)
        return CS_ENOMEM;
    memcpy(a->hs256_secret, cfg->hs256_secret, cfg->hs256_secret_len);
    a->hs256_secret_len = cfg->hs256_secret_len;
    return CS_OK;
}

static int copy_pems(cs_auth_t *a, const cs_auth_config_t *cfg)
{
    int rc = copy_pem(cfg->es256_public_pem, &a->es256_public_pem, &a->es256_public_len);
    if (rc == CS_OK)
        rc = copy_pem(cfg->es256_private_pem, &a->es256_private_pem, &a->es256_private_len);
    return rc == CS_OK ? check_es256_keys(a) : rc;
}

/* "" and NULL both mean "not checked". */
static int copy_optional(char **dst, const char *src)
{
    if (!src || !*src)
        return CS_OK;
    *dst = strdup(src);
    return *dst ? CS_OK : CS_ENOMEM;
}

static int configure(cs_auth_t *a, const cs_auth_config_t *cfg)
{
    if (cfg->leeway_ms < 0 || cfg->leeway_ms > LEEWAY_MAX_MS)
        return CS_EINVAL;
    a->leeway_ms = cfg->leeway_ms;
    int rc = copy_secret(a, cfg);
    if (rc == CS_OK)
        rc = copy_pems(a, cfg);
    if (rc == CS_OK)
        rc = copy_optional(&a->issuer, cfg->issuer);
    if (rc == CS_OK)
        rc = copy_optional(&a->audience, cfg->audience);
    /* With no key at all every token would be refused: a configuration error. */
    if (rc == CS_OK && !a->hs256_secret && !a->es256_public_pem && !a->es256_private_pem)
        rc = CS_EINVAL;
    return rc;
}

cs_auth_t *cs_auth_new(const cs_auth_config_t *cfg, int *err)
{
    int rc = CS_EINVAL;
    cs_auth_t *a = NULL;
    if (cfg) {
        a = calloc(1, sizeof *a);
        rc = a ? configure(a, cfg) : CS_ENOMEM;
    }
    if (rc != CS_OK) {
        cs_auth_free(a);
        a = NULL;
    }
    if (err)
        *err = rc;
    return a;
}

static void free_secret(void *p, size_t len)
{
    if (p) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

void cs_auth_free(cs_auth_t *a)
{
    if (!a)
        return;
    free_secret(a->hs256_secret, a->hs256_secret_len);
    free_secret(a->es256_private_pem, a->es256_private_len);
    free(a->es256_public_pem);
    free(a->issuer);
    free(a->audience);
    free(a);
}

/* ---- mint ---------------------------------------------------------------- */

static bool text_ok(const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    return len > 0 && len < cap && cs_utf8_valid(s, len);
}

/* Never mint a token cs_auth_verify would refuse. */
static bool identity_mintable(const cs_identity_t *id)
{
    if ((int)id->role < 0 || id->role >= CS_ROLE_COUNT || !text_ok(id->subject, CS_SUBJECT_MAX) ||
        !text_ok(id->name, CS_NAME_MAX) || !cs_slug_valid(id->tenant, CS_TENANT_MAX))
        return false;
    if (id->n_specialties < 0 || id->n_specialties > CS_MAX_SPECIALTIES ||
        (id->role == CS_ROLE_SPECIALIST && id->n_specialties == 0))
        return false;
    for (int i = 0; i < id->n_specialties; i++)
        if (!cs_slug_valid(id->specialties[i], CS_SPECIALTY_MAX))
            return false;
    if (id->patient_id[0] && (id->role != CS_ROLE_PATIENT || !text_ok(id->patient_id, CS_PATIENT_ID_MAX)))
        return false;
    return true;
}

static int mint_key(const cs_auth_t *a, const char *alg, jwt_alg_t *jalg,
                    const unsigned char **key, int *key_len)
{
    if (strcmp(alg, "HS256") == 0 && a->hs256_secret) {
        *jalg = JWT_ALG_HS256;
        *key = a->hs256_secret;
        *key_len = (int)a->hs256_secret_len;
    } else if (strcmp(alg, "ES256") == 0 && a->es256_private_pem) {
        *jalg = JWT_ALG_ES256;
        *key = (const unsigned char *)a->es256_private_pem;
        *key_len = (int)a->es256_private_len;
    } else {
        return CS_EUNSUPPORTED;
    }
    return CS_OK;
}

/* The claims as JSON text (malloc'd), or NULL when out of memory. */
static char *claims_json(const cs_auth_t *a, const cs_identity_t *id, int64_t iat, int64_t exp)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "sub", id->subject, "name",
                          id->name, "role", cs_role_name(id->role), "tenant", id->tenant, "iat",
                          (json_int_t)iat, "exp", (json_int_t)exp);
    /* Tokens we mint must pass our own iss/aud checks. */
    bool ok = c && (!a->issuer || json_object_set_new(c, "iss", json_string(a->issuer)) == 0) &&
              (!a->audience || json_object_set_new(c, "aud", json_string(a->audience)) == 0);
    if (ok && id->n_specialties > 0) {
        json_t *arr = json_array();
        for (int i = 0; arr && ok && i < id->n_specialties; i++)
            ok = json_array_append_new(arr, json_string(id->specialties[i])) == 0;
        ok = json_object_set_new(c, "specialties", arr) == 0 && ok;
    }
    if (ok && id->patient_id[0])
        ok = json_object_set_new(c, "patient_id", json_string(id->patient_id)) == 0;
    char *text = ok ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    return text;
}

static int encode(const char *claims, jwt_alg_t jalg, const unsigned char *key, int key_len,
                  char **out)
{
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return CS_ENOMEM;
    int err = jwt_add_grants_json(jwt, claims);
    if (!err)
        err = jwt_set_alg(jwt, jalg, key, key_len);
    if (!err && !(*out = jwt_encode_str(jwt)))
        err = errno ? errno : ENOMEM;
    jwt_free(jwt);
    ERR_clear_error();
    if (err)
        return err == ENOMEM ? CS_ENOMEM : CS_EINVAL;
    if (strlen(*out) >= CS_TOKEN_MAX) { /* cannot happen with bounded claims */
        free(*out);
        *out = NULL;
        return CS_ETOOBIG;
    }
    return CS_OK;
}

int cs_auth_mint(const cs_auth_t *a, const cs_identity_t *id, int64_t now_ms, int64_t ttl_ms,
                 const char *alg, char **out_token)
{
    if (out_token)
        *out_token = NULL;
    if (!a || !id || !alg || !out_token)
        return CS_EINVAL;
    jwt_alg_t jalg;
    const unsigned char *key;
    int key_len;
    if (mint_key(a, alg, &jalg, &key, &key_len) != CS_OK)
        return CS_EUNSUPPORTED;
    if (!identity_mintable(id) || now_ms < 0 || ttl_ms <= 0 ||
        ttl_ms > EPOCH_MAX_S * 1000 - now_ms)
        return CS_EINVAL;
    /* exp rounds up: the token is valid for at least ttl_ms. */
    char *claims = claims_json(a, id, now_ms / 1000, (now_ms + ttl_ms + 999) / 1000);
    if (!claims)
        return CS_ENOMEM;
    int rc = encode(claims, jalg, key, key_len, out_token);
    free(claims);
    return rc;
}
