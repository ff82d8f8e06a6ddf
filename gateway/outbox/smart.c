/*
 * smart.c — the outbox's SMART Backend Services client: OAuth2 client
 * credentials with a signed JWT assertion (RFC 7523, docs/RECORDS.md), and
 * the cache that lets one access token serve many deliveries.
 *
 * The assertion is signed by signaling/auth (the only user of libjwt) with
 * aud = the token URL. The access token is kept until 30 s before its
 * expires_in runs out, measured on the monotonic clock so a wall-clock jump
 * neither keeps a dead token nor discards a good one. Every failure is "try
 * again later" for the caller: a token endpoint that is down comes back, and
 * one that refuses the client (invalid_client) is fixed by registering the
 * key, after which delivery resumes without restarting anything.
 *
 * The access token is only ever put in an Authorization header, so it is
 * checked to be a plain run of visible characters (no CR/LF to inject
 * headers), and it never appears in a reason.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/common.h"
#include "signaling/auth/auth.h"

#define EARLY_MS 30000LL                /* refetch this long before expiry */
#define DEFAULT_EXPIRES_S 300           /* RFC 6749 makes expires_in optional */
#define EXPIRES_MAX_S (24 * 3600)       /* longer is treated as a day */
#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* ---- the request ----------------------------------------------------------- */

/* Appends "&name=value" (no "&" first), value form-encoded; false on ENOMEM. */
static bool add_param(char **form, const char *name, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (!esc)
        return false;
    char *next = NULL;
    int n = asprintf(&next, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "", name, esc);
    curl_free(esc);
    if (n < 0)
        return false;
    free(*form);
    *form = next;
    return true;
}

/* The token request's body (malloc'd), or NULL when out of memory. */
static char *form_body(const cs_outbox_smart_t *s, const char *assertion)
{
    char *form = NULL;
    bool ok = add_param(&form, "grant_type", "client_credentials");
    if (ok && s->scope && *s->scope)
        ok = add_param(&form, "scope", s->scope);
    ok = ok && add_param(&form, "client_assertion_type", ASSERTION_TYPE);
    ok = ok && add_param(&form, "client_assertion", assertion);
    if (!ok) {
        free(form);
        form = NULL;
    }
    return form;
}

/* ---- the answer --------------------------------------------------------------- */

/* An OAuth error answer (RFC 6749 §5.2) in words. */
static void token_error(const cs_outbox_reply_t *rp, char reason[CS_OUTBOX_REASON_MAX])
{
    json_t *doc = rp->body ? json_loadb(rp->body, rp->len, 0, NULL) : NULL;
    const char *error = json_string_value(json_object_get(doc, "error"));
    const char *desc = json_string_value(json_object_get(doc, "error_description"));
    if (error && desc)
        cs_outbox_reason(reason, "token endpoint: HTTP %d %s: %s", rp->status, error, desc);
    else if (error)
        cs_outbox_reason(reason, "token endpoint: HTTP %d %s", rp->status, error);
    else
        cs_outbox_reason(reason, "token endpoint: HTTP %d", rp->status);
    json_decref(doc);
}

static int64_t expires_in_s(const json_t *doc)
{
    const json_t *v = json_object_get(doc, "expires_in");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return DEFAULT_EXPIRES_S;
    json_int_t s = json_integer_value(v);
    return s > EXPIRES_MAX_S ? EXPIRES_MAX_S : (int64_t)s;
}

/* Takes the access token from a 200 answer into the cache. */
static int take_token(cs_outbox_smart_t *s, const cs_outbox_reply_t *rp,
                      char reason[CS_OUTBOX_REASON_MAX])
{
    json_t *doc = rp->truncated || !rp->body ? NULL : json_loadb(rp->body, rp->len, 0, NULL);
    const char *token = json_string_value(json_object_get(doc, "access_token"));
    const char *type = json_string_value(json_object_get(doc, "token_type"));
    int rc = CS_EAGAIN;
    if (!token || !cs_outbox_token_ok(token))
        cs_outbox_reason(reason, "token endpoint: unexpected response (no usable access_token)");
    else if (type && strcasecmp(type, "bearer") != 0)
        cs_outbox_reason(reason, "token endpoint: token_type is not bearer");
    else if (!(s->access_token = strdup(token)))
        rc = CS_ENOMEM;
    else
        rc = CS_OK;
    if (rc == CS_OK)
        s->valid_until_ms = cs_mono_ms() + expires_in_s(doc) * 1000 - EARLY_MS;
    json_decref(doc);
    return rc;
}

int cs_outbox_smart_answer(cs_outbox_smart_t *s, const cs_outbox_reply_t *rp,
                           char reason[CS_OUTBOX_REASON_MAX])
{
    if (rp->status == 0) {
        cs_outbox_reason(reason, "token endpoint: %s", rp->error);
        return CS_EAGAIN;
    }
    if (rp->status != 200) {
        token_error(rp, reason);
        return CS_EAGAIN;
    }
    return take_token(s, rp, reason);
}

static int fetch(cs_outbox_smart_t *s, const cs_outbox_transport_t *t,
                 char reason[CS_OUTBOX_REASON_MAX])
{
    char *assertion = NULL;
    int rc = cs_auth_assertion_sign(s->key_pem, s->client_id, s->token_url, cs_now_ms(),
                                    &assertion);
    if (rc != CS_OK) {
        cs_outbox_reason(reason, "token endpoint: cannot sign the client assertion (%s)",
                         cs_strerror(rc));
        return rc == CS_ENOMEM ? CS_ENOMEM : CS_EAGAIN;
    }
    char *form = form_body(s, assertion);
    free(assertion);
    if (!form)
        return CS_ENOMEM;
    cs_outbox_request_t rq = {.url = s->token_url,
                              .content_type = "application/x-www-form-urlencoded",
                              .accept = "application/json",
                              .body = form,
                              .len = strlen(form)};
    cs_outbox_reply_t rp;
    rc = cs_outbox_post(t, &rq, &rp);
    free(form);
    if (rc != CS_OK)
        return rc;
    rc = cs_outbox_smart_answer(s, &rp, reason);
    cs_outbox_reply_clear(&rp);
    return rc;
}

/* ---- the cache ------------------------------------------------------------------ */

int cs_outbox_smart_token(cs_outbox_smart_t *s, const cs_outbox_transport_t *t,
                          const char **token, char reason[CS_OUTBOX_REASON_MAX])
{
    *token = NULL;
    if (s->access_token && cs_mono_ms() < s->valid_until_ms) {
        *token = s->access_token;
        return CS_OK;
    }
    cs_outbox_smart_drop(s);
    int rc = fetch(s, t, reason);
    if (rc == CS_OK)
        *token = s->access_token;
    return rc;
}

void cs_outbox_smart_drop(cs_outbox_smart_t *s)
{
    if (s->access_token) {
        explicit_bzero(s->access_token, strlen(s->access_token));
        free(s->access_token);
    }
    s->access_token = NULL;
    s->valid_until_ms = 0;
}

void cs_outbox_smart_clear(cs_outbox_smart_t *s)
{
    cs_outbox_smart_drop(s);
    if (s->key_pem) {
        explicit_bzero(s->key_pem, strlen(s->key_pem));
        free(s->key_pem);
    }
    free(s->token_url);
    free(s->client_id);
    free(s->scope);
    memset(s, 0, sizeof *s);
}
