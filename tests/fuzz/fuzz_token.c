/*
 * fuzz_token.c — libFuzzer target for cs_auth_verify (signaling/auth).
 *
 * Feeds arbitrary bytes, as a NUL-terminated token, to one verifier configured
 * like production (HS256 secret, ES256 public key, issuer and audience) at a
 * fixed "now", and checks the contract on every input: only the documented
 * codes, a reason on every refusal, nothing written to the identity of a
 * refused token, and a bounded, re-mintable identity for an accepted one.
 *
 * Random bytes almost never carry a valid signature, so an input that starts
 * with '{' is taken as a claims set instead: it is signed with the HS256
 * secret under a fixed header, and the claim checks (types, lengths, roles,
 * tenants, specialties, times, issuer, audience) see every mutation.
 *
 * Build with `make fuzz` (clang, libFuzzer) and run e.g.
 *   build/fuzz/fuzz_token -max_len=9000 tests/fuzz/corpus/token
 * (-max_len above CS_TOKEN_MAX so the length limit is exercised). `make test`
 * replays tests/fuzz/corpus/token/ through the gcc build (tests/fuzz/replay.c).
 *
 * The corpus's valid tokens were made for FUZZ_NOW_MS with the secret below and
 * the private half of the key below, which was not kept: to add an ES256 seed,
 * make a new key pair and replace the public key here and every ES256 seed.
 * These keys are for tests only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "common/common.h"
#include "signaling/auth/auth.h"

#define FUZZ_NOW_MS 1795000000000LL /* 2026-11-18T11:06:40Z */

static const char hs256_secret[] = "consilium-fuzz-hs256-secret-0123456789";

static const char es256_public_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsc1ki9H2BBDaB3UQN84cTulzfn7t\n"
    "oq58yfdDqwAXbT0JMVpAyxKG4ekoSHRnrh/pInRDqJRwQWc6zJidXd25bQ==\n"
    "-----END PUBLIC KEY-----\n";

/* Built once and kept for the process's life, as the gateway does. */
static const cs_auth_t *verifier(void)
{
    static cs_auth_t *auth;
    if (!auth) {
        cs_auth_config_t cfg = {.hs256_secret = (const unsigned char *)hs256_secret,
                                .hs256_secret_len = sizeof hs256_secret - 1,
                                .es256_public_pem = es256_public_pem,
                                .issuer = "https://idp.example",
                                .audience = "consilium",
                                .leeway_ms = 30000};
        int err;
        auth = cs_auth_new(&cfg, &err);
        if (!auth)
            abort();
    }
    return auth;
}

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static bool all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return false;
    return true;
}

/* What an accepted token must have produced. */
static void check_identity(const cs_identity_t *id)
{
    if (!terminated(id->subject, CS_SUBJECT_MAX) || !id->subject[0] ||
        !terminated(id->name, CS_NAME_MAX) || !id->name[0] ||
        !cs_utf8_valid(id->name, strlen(id->name)) || (int)id->role < 0 ||
        id->role >= CS_ROLE_COUNT || !cs_slug_valid(id->tenant, CS_TENANT_MAX) ||
        id->n_specialties < 0 || id->n_specialties > CS_MAX_SPECIALTIES ||
        (id->role == CS_ROLE_SPECIALIST && id->n_specialties == 0) ||
        id->expires_at + 30000 <= FUZZ_NOW_MS || id->consult_scope[0])
        abort();
    for (int i = 0; i < id->n_specialties; i++)
        if (!cs_slug_valid(id->specialties[i], CS_SPECIALTY_MAX))
            abort();
}

/* Whatever we accept we can mint again, and that token verifies the same. */
static void check_remint(const cs_identity_t *id)
{
    char *token = NULL;
    cs_identity_t again;
    if (cs_auth_mint(verifier(), id, FUZZ_NOW_MS, 60000, "HS256", &token) != CS_OK ||
        cs_auth_verify(verifier(), token, FUZZ_NOW_MS, &again, NULL) != CS_OK)
        abort();
    free(token);
    if (strcmp(again.subject, id->subject) || strcmp(again.name, id->name) ||
        again.role != id->role || strcmp(again.tenant, id->tenant) ||
        again.n_specialties != id->n_specialties)
        abort();
    for (int i = 0; i < id->n_specialties; i++)
        if (strcmp(again.specialties[i], id->specialties[i]))
            abort();
}

/* header.claims.signature, signed with the HS256 secret. */
static char *signed_token(const uint8_t *claims, size_t size)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    size_t cap = cs_base64_size(sizeof header) + cs_base64_size(size) + cs_base64_size(32) + 3;
    char *t = malloc(cap);
    if (!t)
        return NULL;
    size_t n = fuzz_put_b64url(t, 0, cap, header, sizeof header - 1);
    t[n++] = '.';
    n = fuzz_put_b64url(t, n, cap, claims, size);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), hs256_secret, sizeof hs256_secret - 1, (const unsigned char *)t, n,
              mac, &mac_len))
        abort();
    t[n++] = '.';
    fuzz_put_b64url(t, n, cap, mac, mac_len);
    return t;
}

static char *raw_token(const uint8_t *data, size_t size)
{
    char *token = malloc(size + 1);
    if (token) {
        memcpy(token, data, size);
        token[size] = '\0';
    }
    return token;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = size && data[0] == '{' ? signed_token(data, size) : raw_token(data, size);
    if (!token)
        return 0;

    cs_identity_t id;
    memset(&id, 0xa5, sizeof id);
    const char *why = NULL;
    int rc = cs_auth_verify(verifier(), token, FUZZ_NOW_MS, &id, &why);
    free(token);

    if (rc == CS_OK) {
        if (why)
            abort();
        check_identity(&id);
        check_remint(&id);
    } else if (rc == CS_EAUTH || rc == CS_EEXPIRED || rc == CS_ENOMEM) {
        if (!why || !*why || !all_zero(&id, sizeof id))
            abort();
    } else {
        abort();
    }
    return 0;
}
