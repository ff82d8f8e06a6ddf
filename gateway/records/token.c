/*
 * token.c — the record store's SMART Backend Services token endpoint
 * (POST /fhir/auth/token; OAuth2 client credentials with a JWT client
 * assertion, RFC 7523) and the access tokens it hands out.
 *
 * One client may be configured (fhir_store.smart.client_id and its public
 * key). Its assertion is verified by signaling/auth (cs_auth_assertion_verify):
 * signature, iss = sub = client id, aud = this endpoint's own URL exactly,
 * exp at most five minutes ahead. Each jti is remembered in records.db until
 * the assertion expires, so an assertion is good once, across restarts too.
 * Access tokens are 32 random bytes as hex, valid five minutes, kept only in
 * memory (a restart asks clients for a new one; they cache it for less than
 * its lifetime anyway) in a bounded table: when it is full the token closest
 * to expiry goes. Errors are OAuth2 JSON {"error", "error_description"},
 * always 400 (the client does not authenticate with an Authorization header).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "records_internal.h"

#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

bool cs_records_same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb || lb == 0;
    for (size_t i = 0; i < la && lb; i++)
        d |= (unsigned char)(a[i] ^ b[i % lb]);
    return d == 0;
}

/* ---- the form ------------------------------------------------------------------ */

/* application/x-www-form-urlencoded in place: '+' is a space, %XX a byte. */
static bool form_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = cs_hex_digit(p[1]), lo = hi < 0 ? -1 : cs_hex_digit(p[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = hi * 16 + lo;
            p += 2;
        }
        *o++ = (char)c;
    }
    *o = '\0';
    return true;
}

static bool form_field(cs_records_form_t *f, const char *name, char *value)
{
    static const char *const names[] = {"grant_type", "client_assertion_type", "scope", "client_id",
                                        "client_assertion"};
    size_t k = 0;
    while (k < CS_ARRAY_LEN(names) && strcmp(name, names[k]) != 0)
        k++;
    if (k == CS_ARRAY_LEN(names))
        return true; /* OAuth2: unknown parameters are ignored */
    if (f->seen & (1u << k))
        return false;
    f->seen |= 1u << k;
    char *dst[] = {f->grant_type, f->assertion_type, f->scope, f->client_id};
    size_t cap[] = {sizeof f->grant_type, sizeof f->assertion_type, sizeof f->scope,
                    sizeof f->client_id};
    if (k == 4) {
        f->assertion = value;
        return true;
    }
    return cs_strlcpy(dst[k], value, cap[k]) < cap[k];
}

bool cs_records_form_parse(const cs_http_request_t *req, char *buf, size_t size,
                           cs_records_form_t *f)
{
    memset(f, 0, sizeof *f);
    if (!req->body || req->body_len == 0 || req->body_len >= size ||
        memchr(req->body, '\0', req->body_len))
        return false;
    memcpy(buf, req->body, req->body_len);
    buf[req->body_len] = '\0';
    for (char *pair = buf; pair;) {
        char *amp = strchr(pair, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(pair, '=');
        if (*pair && !eq)
            return false;
        if (*pair) {
            *eq = '\0';
            if (!form_decode(pair) || !form_decode(eq + 1) || !form_field(f, pair, eq + 1))
                return false;
        }
        pair = amp ? amp + 1 : NULL;
    }
    return true;
}

/* ---- scopes ------------------------------------------------------------------------ */

/* SMART v1 "<Type|*>.write" and ".*", and v2 permissions with c or u. */
static bool writes(const char *perm)
{
    if (!strcmp(perm, "write") || !strcmp(perm, "*"))
        return true;
    const char *order = "cruds";
    bool cu = false;
    for (const char *p = perm; *p; p++) {
        const char *at = strchr(order, *p);
        if (!at)
            return false;
        order = at + 1;
        cu = cu || *p == 'c' || *p == 'u';
    }
    return cu;
}

unsigned cs_records_scope_types(const char *scope, bool given)
{
    if (!given)
        return CS_FHIR_ALL_TYPES;
    unsigned types = 0;
    char buf[sizeof((cs_records_form_t *)0)->scope];
    cs_strlcpy(buf, scope, sizeof buf);
    for (char *save = NULL, *s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
        char *dot = strrchr(s, '.');
        if (strncmp(s, "system/", 7) != 0 || !dot || !writes(dot + 1))
            continue;
        *dot = '\0';
        int t = cs_fhir_type_parse(s + 7);
        types |= !strcmp(s + 7, "*") ? CS_FHIR_ALL_TYPES : t >= 0 ? 1u << t : 0;
    }
    return types;
}

static void scope_text(unsigned types, char *out, size_t size)
{
    if (types == CS_FHIR_ALL_TYPES) {
        cs_strlcpy(out, "system/*.write", size);
        return;
    }
    out[0] = '\0';
    for (int t = 0; t < CS_FHIR_TYPE_COUNT; t++)
        if (types & (1u << t)) {
            size_t n = strlen(out);
            snprintf(out + n, size - n, "%ssystem/%s.write", n ? " " : "",
                     cs_fhir_type_name((cs_fhir_type_t)t));
        }
}

/* ---- access tokens ----------------------------------------------------------------- */

static void drop_expired(cs_records_t *r, int64_t now_ms)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_tokens; i++)
        if (r->tokens[i].expires_at > now_ms)
            r->tokens[k++] = r->tokens[i];
    r->n_tokens = k;
}

static cs_records_token_t *new_token(cs_records_t *r, int64_t now_ms)
{
    drop_expired(r, now_ms);
    if (r->n_tokens < CS_RECORDS_MAX_TOKENS)
        return &r->tokens[r->n_tokens++];
    size_t soonest = 0;
    for (size_t i = 1; i < r->n_tokens; i++)
        if (r->tokens[i].expires_at < r->tokens[soonest].expires_at)
            soonest = i;
    return &r->tokens[soonest];
}

unsigned cs_records_token_check(cs_records_t *r, const char *token, int64_t now_ms)
{
    unsigned types = 0;
    for (size_t i = 0; i < r->n_tokens; i++)
        if (r->tokens[i].expires_at > now_ms && cs_records_same(token, r->tokens[i].token))
            types = r->tokens[i].types;
    return types;
}

/* ---- the endpoint ------------------------------------------------------------------- */

static int oauth_reply(cs_http_response_t *resp, int status, const char *error,
                       const char *description)
{
    json_t *j = json_pack("{s:s, s:s}", "error", error, "error_description", description);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    resp->status = text ? status : 500;
    cs_strlcpy(resp->content_type, "application/json", sizeof resp->content_type);
    resp->body = text;
    resp->body_len = text ? strlen(text) : 0;
    return 1;
}

static int issue_token(cs_records_t *r, unsigned types, int64_t now_ms, cs_http_response_t *resp)
{
    cs_records_token_t *t = new_token(r, now_ms);
    if (cs_random_hex(t->token, 32) != CS_OK) {
        t->expires_at = 0;
        return oauth_reply(resp, 500, "server_error", "no randomness");
    }
    t->expires_at = now_ms + CS_RECORDS_TOKEN_TTL_MS;
    t->types = types;
    char scope[256];
    scope_text(types, scope, sizeof scope);
    json_t *j =
        json_pack("{s:s, s:s, s:I, s:s}", "access_token", t->token, "token_type", "bearer",
                  "expires_in", (json_int_t)(CS_RECORDS_TOKEN_TTL_MS / 1000), "scope", scope);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    resp->status = text ? 200 : 500;
    cs_strlcpy(resp->content_type, "application/json", sizeof resp->content_type);
    resp->body = text;
    resp->body_len = text ? strlen(text) : 0;
    return 1;
}

static bool form_type(const char *ctype)
{
    size_t n = strcspn(ctype, "; \t");
    return n == 33 && strncasecmp(ctype, "application/x-www-form-urlencoded", n) == 0;
}

/* The request's checks up to a verified, unused assertion; 0 or a reply. */
static int check(cs_records_t *r, const cs_http_request_t *req, const char *audience,
                 int64_t now_ms, cs_records_form_t *f, char *buf, size_t size, unsigned *types,
                 cs_http_response_t *resp)
{
    if (!r->client_id)
        return oauth_reply(resp, 400, "invalid_client", "no SMART client is configured here");
    if (!form_type(req->content_type) || !cs_records_form_parse(req, buf, size, f))
        return oauth_reply(resp, 400, "invalid_request",
                           "send a form (application/x-www-form-urlencoded), each field once");
    if (strcmp(f->grant_type, "client_credentials") != 0)
        return oauth_reply(resp, 400, "unsupported_grant_type",
                           "grant_type must be client_credentials");
    if (strcmp(f->assertion_type, JWT_BEARER) != 0 || !f->assertion || !*f->assertion)
        return oauth_reply(resp, 400, "invalid_request",
                           "client_assertion_type must be " JWT_BEARER ", with a client_assertion");
    if (f->client_id[0] && strcmp(f->client_id, r->client_id) != 0)
        return oauth_reply(resp, 400, "invalid_client", "unknown client_id");
    if (!(*types = cs_records_scope_types(f->scope, f->seen & 4)))
        return oauth_reply(resp, 400, "invalid_scope",
                           "grantable scopes: system/*.write or system/<Type>.write");
    char jti[65];
    int64_t exp_ms = 0;
    const char *why = NULL;
    int rc = cs_auth_assertion_verify(r->public_pem, f->assertion, r->client_id, audience, now_ms,
                                      jti, &exp_ms, &why);
    if (rc == CS_EEXPIRED)
        return oauth_reply(resp, 400, "invalid_grant", "the client assertion has expired");
    if (rc != CS_OK)
        return oauth_reply(resp, rc == CS_EAUTH ? 400 : 500,
                           rc == CS_EAUTH ? "invalid_client" : "server_error",
                           why && rc == CS_EAUTH ? why : "the client assertion was refused");
    rc = cs_records_db_use_jti(r->db, jti, exp_ms + CS_ASSERTION_LEEWAY_MS, now_ms,
                               CS_RECORDS_MAX_JTIS);
    if (rc == CS_EEXIST)
        return oauth_reply(resp, 400, "invalid_grant", "this client assertion was already used");
    if (rc == CS_ELIMIT)
        return oauth_reply(resp, 503, "temporarily_unavailable", "too many recent assertions");
    if (rc != CS_OK)
        return oauth_reply(resp, 500, "server_error", "the record store could not remember it");
    return 0;
}

int cs_records_token_endpoint(cs_records_t *r, const cs_http_request_t *req, const char *audience,
                              int64_t now_ms, cs_http_response_t *resp)
{
    char *buf = malloc(CS_RECORDS_MAX_FORM);
    cs_records_form_t f;
    unsigned types = 0;
    memset(&f, 0, sizeof f);
    int done = buf ? check(r, req, audience, now_ms, &f, buf, CS_RECORDS_MAX_FORM, &types, resp)
                   : oauth_reply(resp, 500, "server_error", "out of memory");
    if (!done)
        issue_token(r, types, now_ms, resp);
    free(buf);
    cs_records_access_t a = {.at = now_ms,
                             .subject = resp->status == 200 ? r->client_id : "",
                             .role = "client",
                             .action = "token",
                             .type = "",
                             .target = "",
                             .status = resp->status};
    cs_records_db_log(r->db, &a);
    return 1;
}

bool cs_records_smart_key_ok(const char *pem)
{
    BIO *bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    bool ok = false;
    if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        ok = EVP_PKEY_get_bits(k) >= 2048;
    } else if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
        char group[64] = "";
        size_t n = 0;
        ok = EVP_PKEY_get_group_name(k, group, sizeof group, &n) == 1 &&
             strcmp(group, "secp384r1") == 0;
    }
    EVP_PKEY_free(k);
    BIO_free(bio);
    return ok;
}
