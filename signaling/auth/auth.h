/*
 * auth.h — verifying and minting the JWTs that identify Consilium's users.
 *
 * The only user of libjwt. A token is issued by a regional centre's identity
 * system (or by `consilium token` for demos and tests) and carries:
 *   sub (string, required)        the user's stable id within the tenant
 *   name (string, required)       display name
 *   role (string, required)       clinician | specialist | coordinator | patient | interpreter
 *   tenant (string, required)     the regional centre, a slug
 *   specialties (array of slugs)  required non-empty for specialists, at most 8
 *   patient_id (string, optional) patients only: their id at their centre
 *   exp (integer, required)       expiry, seconds since the epoch; refused on or after it
 *   iat, nbf (integers, optional) nbf in the future is refused
 *   iss, aud (optional)           checked when configured; aud a string or array of strings
 * Accepted algorithms: HS256 with the configured secret and ES256 with the
 * configured public key. The algorithm named in the token's header selects the
 * key; any other algorithm (including "none") is refused, so a token can never
 * be verified with the wrong kind of key.
 */
#ifndef CS_AUTH_H
#define CS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/proto.h"

typedef struct cs_auth cs_auth_t;

typedef struct {
    const unsigned char *hs256_secret; /* NULL: HS256 disabled */
    size_t hs256_secret_len;           /* at least 32 bytes when set */
    const char *es256_public_pem;      /* NULL: ES256 verification disabled */
    const char *es256_private_pem;     /* NULL: ES256 minting disabled */
    const char *issuer;                /* NULL or "": iss not checked */
    const char *audience;              /* NULL or "": aud not checked */
    int64_t leeway_ms;                 /* clock skew tolerated on exp/nbf */
} cs_auth_config_t;

/* Copies everything it needs from cfg and validates the keys now, so a bad
 * key fails start-up rather than the first login. Returns NULL and sets *err
 * on failure: CS_ENOMEM, or CS_EINVAL for an unusable configuration — an
 * HS256 secret under 32 bytes, a PEM that is not an unencrypted EC P-256 key,
 * a private key that is not the public key's pair, no key at all, or a leeway
 * outside 0..24 h. */
cs_auth_t *cs_auth_new(const cs_auth_config_t *cfg, int *err);
void cs_auth_free(cs_auth_t *a);

/*
 * Verifies token (NUL-terminated) at time now_ms and fills *out on success
 * (consult_scope is left empty); on failure *out is zeroed. Returns CS_OK,
 * CS_EEXPIRED (exp passed, or nbf not reached), CS_EAUTH (malformed, unknown
 * algorithm, bad signature, a missing or invalid claim), CS_ENOMEM, or
 * CS_EINVAL when a or out is NULL. *why, when not NULL, is set to a static
 * English sentence naming the reason (NULL on success); it never contains
 * token content. Reentrant: one cs_auth_t may serve many threads.
 */
int cs_auth_verify(const cs_auth_t *a, const char *token, int64_t now_ms, cs_identity_t *out,
                   const char **why);

/*
 * Mints a token for id valid for ttl_ms from now_ms, signed with alg "HS256" or
 * "ES256". Claims: sub, name, role, tenant, specialties and patient_id (when set),
 * iat, exp (now_ms + ttl_ms rounded up to the second), and iss/aud when
 * configured. *out_token is malloc'd; the caller frees it (NULL on failure).
 * CS_EUNSUPPORTED when no key for alg is configured; CS_EINVAL for ttl_ms <= 0
 * or an identity cs_auth_verify would refuse.
 */
int cs_auth_mint(const cs_auth_t *a, const cs_identity_t *id, int64_t now_ms, int64_t ttl_ms,
                 const char *alg, char **out_token);

/* ---- SMART Backend Services client assertions (assertion.c) --------------
 *
 * The JWT a system signs with its own private key to obtain an access token
 * from a token endpoint (OAuth2 client credentials with a JWT assertion,
 * RFC 7523; docs/RECORDS.md). The outbox signs them; the built-in record
 * store's token endpoint verifies them. Keys are PEM: EC P-384 (ES384) or
 * RSA of 2048..8192 bits (RS384); unencrypted when private.
 */

#define CS_ASSERTION_TTL_MS 300000LL   /* exp = now + 5 min, the most accepted */
#define CS_ASSERTION_LEEWAY_MS 30000LL /* clock skew tolerated on exp */

/* Signs a SMART Backend Services client assertion (RFC 7523): header alg ES384 for an
 * EC P-384 private key or RS384 for an RSA one (>= 2048 bits), typ "JWT", kid = hex SHA-256
 * of the public key's DER (SubjectPublicKeyInfo); claims iss = sub = client_id,
 * aud = audience, iat, exp = now + 300 s, jti = 32 random hex chars. *out malloc'd.
 * CS_EINVAL for a key that is not one of those, empty ids; CS_ENOMEM. */
int cs_auth_assertion_sign(const char *private_pem, const char *client_id, const char *audience,
                           int64_t now_ms, char **out);
/* Verifies one with the client's public key (EC P-384 → only ES384 accepted; RSA → only RS384):
 * signature, iss == sub == client_id, aud == audience (string, or array containing it),
 * exp in the future but at most 5 minutes (+ leeway 30 s) ahead, jti present (1..64 chars,
 * copied to jti_out), nbf (optional) not in the future. *exp_ms = exp in ms. CS_OK,
 * CS_EAUTH (with *why a static English sentence, never token content), CS_EEXPIRED
 * (exp passed or nbf not reached), CS_EINVAL (bad key or args). On failure jti_out is ""
 * and *exp_ms 0; jti_out, exp_ms and why may be NULL. Reentrant. The caller keeps the
 * jti until exp to refuse a replay. */
int cs_auth_assertion_verify(const char *public_pem, const char *assertion, const char *client_id,
                             const char *audience, int64_t now_ms, char jti_out[65],
                             int64_t *exp_ms, const char **why);

#endif
