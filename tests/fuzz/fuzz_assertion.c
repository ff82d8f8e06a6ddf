/*
 * fuzz_assertion.c — libFuzzer target: what anyone may POST to the built-in
 * record store's SMART token endpoint (/fhir/auth/token): the form
 * (cs_records_form_parse and cs_records_scope_types, gateway/records/token.c)
 * and the client assertion in it, a signed JWT (cs_auth_assertion_verify,
 * signaling/auth/assertion.c), verified for one client against an EC P-384
 * key and an RSA-2048 key at a fixed "now".
 *
 * Each input is the form's body, an assertion on its own (unless it has an
 * '=', which no JWT has) and a scope. Checked: only the documented codes; a
 * refusal has a static "client assertion ..." reason, no jti and no expiry;
 * an accepted assertion is good for one key only, its claims (decoded here
 * independently) name the client, the audience, its jti and expiry, it is
 * refused for another client, for an audience it does not name and once
 * expired, and verifies the same again.
 * A parsed form keeps every field within its buffer, is the same after
 * encoding it again and parsing that, and its assertion is verified too; a
 * scope grants only known types, the union of what its words grant, and
 * never less when a word is added.
 *
 * Random bytes almost never carry a valid signature, so an input that starts
 * with '{' is a claims set instead, signed here with the EC key under the
 * header ES384 would have (or "header NUL claims": both are mutated).
 *
 * Build with `make fuzz`; run e.g.
 *   build/fuzz/fuzz_assertion -max_len=17000 tests/fuzz/corpus/assertion
 * (above CS_RECORDS_MAX_FORM, so the form's limit is reached). The corpus's
 * assertions were signed by cs_auth_assertion_sign (the outbox's signer) at
 * FUZZ_NOW_MS or ten minutes before; the RSA key's private half was not
 * kept: to add an RS384 seed, make a new pair and replace the public key here
 * and every RS384 seed. These keys are for tests only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fuzz.h"
#include "common/common.h"
#include "gateway/records/records_internal.h"
#include "signaling/auth/auth.h"

#define FUZZ_NOW_MS 1795000000000LL /* 2026-11-18T11:06:40Z */
#define CLIENT "consilium-outbox"
#define AUD "https://records.example/fhir/auth/token"
#define OTHER_AUD "https://elsewhere.example/fhir/auth/token"
#define SCOPE_MAX sizeof(((cs_records_form_t *)0)->scope)

static const char ec_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAs3FIkd2SCcntPEN1T\n"
    "wN7OJcc4sbCUTBR1giGNs6ZiPn5wfMr49Z/UQ/+tb9Uq7zehZANiAATlqtfu9H9C\n"
    "gvKnyUDDU/Xn1fB8lWB/TJG9cp9CLGb+b1FuUxP09VvEq5uxo9Mo2CSpmCpnMd37\n"
    "Z0M1C5vE9MPULzny9ovOv5TQaq0i2yivlv2RCG/JXLzlWkIVer9bjNY=\n"
    "-----END PRIVATE KEY-----\n";

static const char ec_public_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE5arX7vR/QoLyp8lAw1P159XwfJVgf0yR\n"
    "vXKfQixm/m9RblMT9PVbxKubsaPTKNgkqZgqZzHd+2dDNQubxPTD1C858vaLzr+U\n"
    "0GqtItsor5b9kQhvyVy85VpCFXq/W4zW\n"
    "-----END PUBLIC KEY-----\n";

static const char rsa_public_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvhwFjIJXno4t3uvc2PWG\n"
    "OXoTt7JgPTSKwjzVGF+xxXOriWqZuZpM8aF+KMcuabxzLh7E3+mfJ5VCS6VJ92/J\n"
    "zdg0bWWhoalFDBea/oC4oz9jz4Sy5AucLm9mYIgc4cy+M/e3X5Ax6h8G16XLwZxu\n"
    "wj06rcAp7mfUWLtDF1CXHlfuEZ0xXGzXFR5jOGP/7eLy2gu+uR5Kt6rATzIY9Z/b\n"
    "gcwlc4PHbIheeBt/rRMHim40z6iaOS/tIPYvOZlkAF9pUJVdkw0ZfLVZZoAWR2QK\n"
    "Tb2O6BrJTROpis5CCDVq0+tmNE5vhLxsHY6AdaoFoYWl7T2zHBsCCMFcaHl7702s\n"
    "WwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

/* ---- verifying ------------------------------------------------------------- */

typedef struct {
    int rc;
    const char *why;
    char jti[65];
    int64_t exp_ms;
} verdict_t;

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* One verification and what every answer must look like. */
static verdict_t verify(const char *pem, const char *t, const char *client, const char *aud,
                        int64_t now_ms)
{
    verdict_t v;
    memset(v.jti, 0xa5, sizeof v.jti);
    v.exp_ms = -1;
    v.why = "";
    v.rc = cs_auth_assertion_verify(pem, t, client, aud, now_ms, v.jti, &v.exp_ms, &v.why);
    CHECK(v.rc == CS_OK || v.rc == CS_EAUTH || v.rc == CS_EEXPIRED || v.rc == CS_ENOMEM);
    if (v.rc == CS_OK) {
        size_t n = strnlen(v.jti, sizeof v.jti);
        CHECK(!v.why && n >= 1 && n <= 64 && cs_utf8_valid(v.jti, n));
        CHECK(v.exp_ms % 1000 == 0 && now_ms < v.exp_ms + CS_ASSERTION_LEEWAY_MS &&
              v.exp_ms <= now_ms + CS_ASSERTION_TTL_MS + CS_ASSERTION_LEEWAY_MS);
    } else {
        /* a static sentence, never a piece of the token */
        CHECK(v.why && printable(v.why) && strlen(v.why) < 100);
        CHECK(strncmp(v.why, "client assertion ", 17) == 0 ||
              (v.rc == CS_ENOMEM && strcmp(v.why, "out of memory") == 0));
        CHECK(v.jti[0] == '\0' && v.exp_ms == 0);
    }
    return v;
}

static bool names(const json_t *v, const char *want)
{
    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           strcmp(json_string_value(v), want) == 0;
}

static bool audience_has(const json_t *aud, const char *want)
{
    if (names(aud, want))
        return true;
    for (size_t i = 0; json_is_array(aud) && i < json_array_size(aud); i++)
        if (names(json_array_get(aud, i), want))
            return true;
    return false;
}

/* The token's claims, decoded here without the verifier's code. */
static json_t *claims_of(const char *t)
{
    const char *a = strchr(t, '.'), *b = a ? strchr(a + 1, '.') : NULL;
    size_t len = b ? (size_t)(b - a - 1) : 0;
    unsigned char *buf = malloc(len + 3);
    size_t n = 0;
    json_t *c = NULL;
    if (buf && b && cs_base64url_decode(a + 1, len, buf, len + 3, &n))
        c = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    return c;
}

static void check_accepted(const char *pem, const char *t, const verdict_t *ok)
{
    json_t *c = claims_of(t);
    CHECK(json_is_object(c));
    CHECK(names(json_object_get(c, "iss"), CLIENT) && names(json_object_get(c, "sub"), CLIENT));
    CHECK(names(json_object_get(c, "jti"), ok->jti));
    CHECK(json_integer_value(json_object_get(c, "exp")) * 1000 == ok->exp_ms);
    const json_t *aud = json_object_get(c, "aud");
    CHECK(audience_has(aud, AUD));

    CHECK(verify(pem, t, "someone-else", AUD, FUZZ_NOW_MS).rc == CS_EAUTH);
    int other = verify(pem, t, CLIENT, OTHER_AUD, FUZZ_NOW_MS).rc;
    CHECK(other == (audience_has(aud, OTHER_AUD) ? CS_OK : CS_EAUTH));
    CHECK(verify(pem, t, CLIENT, AUD, ok->exp_ms + CS_ASSERTION_LEEWAY_MS).rc == CS_EEXPIRED);
    verdict_t again = verify(pem, t, CLIENT, AUD, FUZZ_NOW_MS);
    CHECK(again.rc == CS_OK && !strcmp(again.jti, ok->jti) && again.exp_ms == ok->exp_ms);
    json_decref(c);
}

/* Loading the client's key is most of a verification's cost (OpenSSL's PEM
 * decoders), so an assertion is tried with the key its signature's length
 * suggests (an RS384 signature is 342 characters, an ES384 one 128), and
 * with the other only once accepted, where it must fail. */
static void check_assertion(const char *t)
{
    const char *dot = strrchr(t, '.');
    bool rsa = dot && strlen(dot + 1) > 200;
    const char *pem = rsa ? rsa_public_pem : ec_public_pem;
    verdict_t v = verify(pem, t, CLIENT, AUD, FUZZ_NOW_MS);
    if (v.rc != CS_OK)
        return;
    CHECK(verify(rsa ? ec_public_pem : rsa_public_pem, t, CLIENT, AUD, FUZZ_NOW_MS).rc != CS_OK);
    check_accepted(pem, t, &v);
}

/* ---- signing what the fuzzer writes ---------------------------------------- */

static EVP_PKEY *ec_key(void)
{
    static EVP_PKEY *key;
    if (!key) {
        BIO *bio = BIO_new_mem_buf(ec_private_pem, -1);
        key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        CHECK(key);
    }
    return key;
}


/* ES384's signature: R || S, 48 bytes each (RFC 7518 §3.4). */
static void sign_es384(const char *input, size_t len, unsigned char sig[96])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t n = sizeof der;
    CHECK(ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, ec_key()) == 1 &&
          EVP_DigestSign(ctx, der, &n, (const unsigned char *)input, len) == 1);
    EVP_MD_CTX_free(ctx);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    CHECK(es && BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 48) == 48 &&
          BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 48, 48) == 48);
    ECDSA_SIG_free(es);
}

/* header.claims.signature; the header is ES384's unless the input gives one
 * before a NUL. */
static char *signed_token(const uint8_t *data, size_t size)
{
    static const char header[] = "{\"alg\":\"ES384\",\"typ\":\"JWT\"}";
    const uint8_t *nul = memchr(data, '\0', size);
    const void *h = nul ? (const void *)data : header;
    size_t hlen = nul ? (size_t)(nul - data) : sizeof header - 1;
    const uint8_t *c = nul ? nul + 1 : data;
    size_t clen = nul ? size - hlen - 1 : size;
    size_t cap = cs_base64_size(hlen) + cs_base64_size(clen) + cs_base64_size(96) + 3;
    char *t = malloc(cap);
    CHECK(t);
    size_t n = fuzz_put_b64url(t, 0, cap, h, hlen);
    t[n++] = '.';
    n = fuzz_put_b64url(t, n, cap, c, clen);
    unsigned char sig[96];
    sign_es384(t, n, sig);
    t[n++] = '.';
    fuzz_put_b64url(t, n, cap, sig, sizeof sig);
    return t;
}

/* ---- the form and its scope ------------------------------------------------- */

static void check_scope(const char *scope)
{
    unsigned types = cs_records_scope_types(scope, true);
    CHECK((types & ~CS_FHIR_ALL_TYPES) == 0);
    CHECK(cs_records_scope_types(scope, false) == CS_FHIR_ALL_TYPES);
    /* the union of what each word grants */
    char words[SCOPE_MAX];
    cs_strlcpy(words, scope, sizeof words);
    unsigned sum = 0;
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
        sum |= cs_records_scope_types(w, true);
    CHECK(sum == types);
    char more[SCOPE_MAX];
    if ((size_t)snprintf(more, sizeof more, "%s system/Patient.write", scope) < sizeof more)
        CHECK(cs_records_scope_types(more, true) == (types | 1u << CS_FHIR_PATIENT));
}

static const char *const fields[] = {"grant_type", "client_assertion_type", "scope", "client_id",
                                     "client_assertion"};

static const char *field(const cs_records_form_t *f, size_t k)
{
    const char *v[] = {f->grant_type, f->assertion_type, f->scope, f->client_id, f->assertion};
    return v[k];
}

static bool unreserved(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("-._~", c));
}

/* The form written again, each given field once, everything but unreserved
 * characters escaped and spaces as '+'. */
static size_t encode(const cs_records_form_t *f, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t k = 0; k < CS_ARRAY_LEN(fields); k++) {
        if (!(f->seen & 1u << k))
            continue;
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s=", n ? "&" : "", fields[k]);
        for (const unsigned char *p = (const unsigned char *)field(f, k); *p && n + 4 < cap; p++) {
            if (*p == ' ')
                out[n++] = '+';
            else if (unreserved(*p))
                out[n++] = (char)*p;
            else
                n += (size_t)snprintf(out + n, cap - n, "%%%02X", *p);
        }
        if (n + 4 >= cap)
            return cap;
    }
    return n;
}

static void check_form(const cs_records_form_t *f, const char *buf, size_t size, size_t body_len)
{
    CHECK((f->seen & ~31u) == 0);
    const size_t caps[] = {sizeof f->grant_type, sizeof f->assertion_type, sizeof f->scope,
                           sizeof f->client_id};
    for (size_t k = 0; k < 4; k++)
        CHECK(strnlen(field(f, k), caps[k]) < caps[k] && ((f->seen & 1u << k) || !field(f, k)[0]));
    if (f->seen & 16)
        CHECK(f->assertion >= buf && f->assertion < buf + size &&
              strlen(f->assertion) <= body_len);
    else
        CHECK(!f->assertion);
}

static void fuzz_form(const uint8_t *data, size_t size)
{
    char *buf = malloc(CS_RECORDS_MAX_FORM), *again = malloc(CS_RECORDS_MAX_FORM);
    char *text = malloc(CS_RECORDS_MAX_FORM);
    CHECK(buf && again && text);
    cs_http_request_t req = {.body = (const char *)data, .body_len = size};
    cs_records_form_t f, g;
    if (cs_records_form_parse(&req, buf, CS_RECORDS_MAX_FORM, &f)) {
        check_form(&f, buf, CS_RECORDS_MAX_FORM, size);
        size_t n = encode(&f, text, CS_RECORDS_MAX_FORM);
        cs_http_request_t req2 = {.body = text, .body_len = n};
        if (n > 0 && n < CS_RECORDS_MAX_FORM) {
            CHECK(cs_records_form_parse(&req2, again, CS_RECORDS_MAX_FORM, &g));
            CHECK(g.seen == f.seen);
            for (size_t k = 0; k < CS_ARRAY_LEN(fields); k++)
                CHECK(!field(&f, k) || !strcmp(field(&f, k), field(&g, k)));
        }
        check_scope(f.scope);
        if (f.assertion)
            check_assertion(f.assertion);
    }
    free(buf);
    free(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] == '{') {
        char *t = signed_token(data, size);
        check_assertion(t);
        free(t);
        return 0;
    }
    char *s = malloc(size + 1);
    CHECK(s);
    memcpy(s, data, size);
    s[size] = '\0';
    if (!strchr(s, '=')) /* '=' is never in a JWT, always in a form */
        check_assertion(s);
    if (strlen(s) < SCOPE_MAX)
        check_scope(s);
    free(s);
    fuzz_form(data, size);
    return 0;
}
