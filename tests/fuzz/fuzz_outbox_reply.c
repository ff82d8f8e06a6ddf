/*
 * fuzz_outbox_reply.c — libFuzzer target: what a record system answers the
 * outbox (gateway/outbox/), which trusts none of it: the reply to a posted
 * transaction Bundle (cs_outbox_classify), the OAuth token endpoint's reply
 * (cs_outbox_smart_answer) and a Retry-After value (cs_outbox_retry_after_ms).
 *
 * Input: byte 0 chooses — bits 0-1 the parser (0 and 3 the Bundle's reply,
 * 1 the token reply, 2 Retry-After), bit 2 a body cut short at the size
 * limit, bits 3-4 which Bundle was posted (the real shape, the
 * DocumentReference first, none, not JSON), bit 5 a Retry-After of 5 s on
 * the reply; bytes 1-2 the HTTP status (big-endian, modulo 1000, 0 meaning
 * no answer); the rest is the body (or the header's value).
 *
 * Checked on every input: the outcome is one of the three, and exactly the
 * documented one for every status that is not 2xx; delivered only from a
 * whole 2xx transaction-response Bundle, and a well-formed one accepting
 * every entry is delivered; reasons and locations are bounded valid UTF-8
 * without control characters, and an OperationOutcome's words (or "HTTP n")
 * are the reason of a refusal; a token is taken only from a whole 200 whose
 * token_type, when a string, is bearer, is a plain header-safe token, and is
 * cached for its expires_in (default 300 s, at most a day) less 30 s;
 * nothing is cached otherwise and the token never appears in a reason;
 * Retry-After is 0 .. a day in whole seconds and agrees with curl_getdate.
 * Bodies are copied into buffers of their exact size (plus the NUL the
 * reply carries), so reading past them is an ASan report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fuzz.h"
#include "common/common.h"
#include "gateway/outbox/internal.h"

#define FUZZ_NOW_S 1795000000LL /* 2026-11-18T11:06:40Z */
#define DAY_S 86400LL
#define EARLY_MS 30000LL        /* smart.c refetches this long before expiry */
#define REPLY_RETRY_MS 5000

/* The Bundle the outbox posted: a transaction-response answers its entries in
 * order, which is how the DocumentReference's answer is found when no
 * location names it. The first is the product's Bundle for the unit tests'
 * fixture (gateway/document), each resource cut to what is read back. */
static const char *const posted[4] = {
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    "{\"fullUrl\":\"urn:uuid:465e669a-4cec-5f6e-8157-20d0d3bfc466\",\"resource\":{"
    "\"resourceType\":\"Encounter\",\"identifier\":[{\"system\":\"urn:consilium:consult\","
    "\"value\":\"0f6c2a9e-7b1d-4e8a-b3c5-2d4f6a8b9c01\"}]},\"request\":{\"method\":\"POST\","
    "\"url\":\"Encounter\",\"ifNoneExist\":\"identifier=urn:consilium:consult|"
    "0f6c2a9e-7b1d-4e8a-b3c5-2d4f6a8b9c01\"}},"
    "{\"fullUrl\":\"urn:uuid:cd3c1aab-02e8-5fdd-9a9c-5a944a33a761\",\"resource\":{"
    "\"resourceType\":\"Condition\",\"identifier\":[{\"system\":\"urn:consilium:diagnosis\","
    "\"value\":\"5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80\"}]},\"request\":{\"method\":\"POST\","
    "\"url\":\"Condition\",\"ifNoneExist\":\"identifier=urn:consilium:diagnosis|"
    "5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80\"}},"
    "{\"fullUrl\":\"urn:uuid:5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80\",\"resource\":{"
    "\"resourceType\":\"DocumentReference\",\"masterIdentifier\":{\"system\":"
    "\"urn:ietf:rfc:3986\",\"value\":\"urn:uuid:5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80\"}},"
    "\"request\":{\"method\":\"POST\",\"url\":\"DocumentReference\",\"ifNoneExist\":"
    "\"identifier=urn:ietf:rfc:3986|urn:uuid:5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80\"}}]}",

    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    "{\"resource\":{\"resourceType\":\"DocumentReference\"}},"
    "{\"resource\":{\"resourceType\":\"Encounter\"}},"
    "{\"resource\":{\"resourceType\":\"Condition\"}}]}",

    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    "{\"resource\":{\"resourceType\":\"Encounter\"}},"
    "{\"resource\":{\"resourceType\":\"Condition\"}},"
    "{\"resource\":{\"resourceType\":\"Binary\"}}]}",

    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":",
};

/* Shown to people and written to logs: bounded, valid UTF-8, no control characters. */
static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    CHECK(n < cap && cs_utf8_valid(s, n));
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A reply as delivery.c hands it over: body malloc'd with a NUL after it,
 * NULL when nothing came. */
static void make_reply(cs_outbox_reply_t *rp, unsigned flags, int status, const uint8_t *body,
                       size_t len)
{
    memset(rp, 0, sizeof *rp);
    rp->status = status;
    rp->truncated = (flags & 4) != 0;
    rp->retry_after_ms = flags & 32 ? REPLY_RETRY_MS : 0;
    if (len) {
        rp->body = malloc(len + 1);
        CHECK(rp->body);
        memcpy(rp->body, body, len);
        rp->body[len] = '\0';
        rp->len = len;
    }
    if (status == 0) /* curl's words, already cleaned by delivery.c */
        cs_outbox_reason(rp->error, "%.*s", (int)(len > 200 ? 200 : len), (const char *)body);
}

/* The same parse delivery.c makes, read independently of it. */
static json_t *parse(const cs_outbox_reply_t *rp, bool whole)
{
    if (!rp->body || (whole && rp->truncated))
        return NULL;
    return json_loadb(rp->body, rp->len, 0, NULL);
}

static bool refusable(int status)
{
    return status >= 400 && status < 500 && status != 401 && status != 403 && status != 408 &&
           status != 429;
}

/* The first issue's words, as a refusal must report them. */
static const char *outcome_words(const json_t *doc)
{
    const char *rtype = str(doc, "resourceType");
    if (!rtype || strcmp(rtype, "OperationOutcome") != 0)
        return NULL;
    const json_t *issue = json_array_get(json_object_get(doc, "issue"), 0);
    const char *text = str(issue, "diagnostics");
    if (!text || !*text)
        text = str(json_object_get(issue, "details"), "text");
    return text && *text ? text : NULL;
}

static bool accepted_status(const char *s)
{
    return s && (strncmp(s, "201", 3) == 0 || strncmp(s, "200", 3) == 0);
}

/* A transaction-response whose every entry (at least as many as were posted)
 * says 200 or 201: nothing to doubt, it must count as delivered. */
static bool accepts_everything(const json_t *doc)
{
    const char *rtype = str(doc, "resourceType"), *btype = str(doc, "type");
    const json_t *entries = json_object_get(doc, "entry");
    if (!rtype || strcmp(rtype, "Bundle") || !btype || strcmp(btype, "transaction-response") ||
        json_array_size(entries) < 3)
        return false;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const json_t *response = json_object_get(json_array_get(entries, i), "response");
        if (!accepted_status(str(response, "status")))
            return false;
    }
    return true;
}

static void fuzz_bundle_reply(unsigned flags, int status, const uint8_t *body, size_t len)
{
    cs_outbox_reply_t rp;
    make_reply(&rp, flags, status, body, len);
    unsigned variant = (flags >> 3) & 3;
    cs_outbox_result_t res;
    memset(&res, 0xa5, sizeof res);
    cs_outbox_classify(&rp, posted[variant], strlen(posted[variant]), &res);

    CHECK(res.outcome == CS_DELIVERY_DELIVERED || res.outcome == CS_DELIVERY_RETRY ||
          res.outcome == CS_DELIVERY_REFUSED);
    CHECK(res.http_status == status);
    check_text(res.reason, sizeof res.reason);
    check_text(res.location, sizeof res.location);
    if (res.outcome == CS_DELIVERY_DELIVERED)
        CHECK(!res.reason[0]);
    else
        CHECK(res.reason[0] && !res.location[0]);

    bool ok = status >= 200 && status < 300;
    json_t *doc = parse(&rp, ok);
    if (status == 0) {
        CHECK(res.outcome == CS_DELIVERY_RETRY && !strncmp(res.reason, "no response: ", 13));
    } else if (!ok) {
        CHECK(res.outcome == (refusable(status) ? CS_DELIVERY_REFUSED : CS_DELIVERY_RETRY));
        const char *words = outcome_words(doc);
        char want[CS_OUTBOX_REASON_MAX];
        if (words)
            cs_outbox_reason(want, "%s", words);
        else
            snprintf(want, sizeof want, "HTTP %d", status);
        CHECK(strcmp(res.reason, want) == 0);
    } else if (res.outcome == CS_DELIVERY_DELIVERED) {
        const char *rtype = str(doc, "resourceType"), *btype = str(doc, "type");
        CHECK(rtype && !strcmp(rtype, "Bundle") && btype && !strcmp(btype, "transaction-response"));
    } else {
        CHECK(res.outcome == CS_DELIVERY_RETRY && !strncmp(res.reason, "unexpected response", 19));
        CHECK(!accepts_everything(doc) || variant >= 2);
    }
    bool waits = res.outcome == CS_DELIVERY_RETRY && !ok && status != 0;
    CHECK(res.retry_after_ms == (waits ? rp.retry_after_ms : 0));
    json_decref(doc);
    cs_outbox_reply_clear(&rp);
}

static int64_t expires_in_ms(const json_t *doc)
{
    const json_t *v = json_object_get(doc, "expires_in");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return 300000;
    return (json_integer_value(v) > DAY_S ? DAY_S : json_integer_value(v)) * 1000;
}

static void fuzz_token_reply(unsigned flags, int status, const uint8_t *body, size_t len)
{
    cs_outbox_reply_t rp;
    make_reply(&rp, flags, status, body, len);
    cs_outbox_smart_t s;
    memset(&s, 0, sizeof s);
    char reason[CS_OUTBOX_REASON_MAX] = "";
    int64_t before = cs_mono_ms();
    int rc = cs_outbox_smart_answer(&s, &rp, reason);
    int64_t after = cs_mono_ms();

    CHECK(rc == CS_OK || rc == CS_EAGAIN || rc == CS_ENOMEM);
    check_text(reason, sizeof reason);
    json_t *doc = parse(&rp, true);
    const char *token = str(doc, "access_token"), *type = str(doc, "token_type");
    bool bearer = !type || strcasecmp(type, "bearer") == 0;
    if (rc == CS_OK) {
        CHECK(status == 200 && !rp.truncated && !reason[0]);
        CHECK(s.access_token && token && strcmp(s.access_token, token) == 0);
        CHECK(cs_outbox_token_ok(s.access_token) && bearer);
        int64_t life = expires_in_ms(doc) - EARLY_MS;
        CHECK(s.valid_until_ms >= before + life && s.valid_until_ms <= after + life);
    } else {
        CHECK(!s.access_token && s.valid_until_ms == 0);
        CHECK(strncmp(reason, "token endpoint: ", 16) == 0);
        if (status != 0 && status != 200) {
            char want[40];
            snprintf(want, sizeof want, "token endpoint: HTTP %d", status);
            CHECK(strncmp(reason, want, strlen(want)) == 0);
        }
        if (status == 200) {
            /* a usable bearer token in a whole answer is never turned down */
            CHECK(rc == CS_ENOMEM || !token || !cs_outbox_token_ok(token) || !bearer);
            CHECK(!token || strlen(token) < 4 || !strstr(reason, token));
        }
    }
    cs_outbox_smart_drop(&s);
    json_decref(doc);
    cs_outbox_reply_clear(&rp);
}

static void fuzz_retry_after(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1);
    CHECK(v);
    memcpy(v, data, size);
    v[size] = '\0'; /* a header value ends at a NUL as curl hands it over */
    int64_t ms = cs_outbox_retry_after_ms(v, FUZZ_NOW_S);
    CHECK(ms >= 0 && ms <= DAY_S * 1000 && ms % 1000 == 0);
    size_t n = strlen(v);
    if (n && strspn(v, "0123456789") == n) {
        int64_t s = n > 9 ? DAY_S : strtoll(v, NULL, 10);
        CHECK(ms == (s > DAY_S ? DAY_S : s) * 1000);
    } else {
        time_t when = curl_getdate(v, NULL);
        if (when == -1 || when <= FUZZ_NOW_S)
            CHECK(ms == 0);
        else
            CHECK(ms == ((int64_t)when - FUZZ_NOW_S > DAY_S ? DAY_S : when - FUZZ_NOW_S) * 1000);
        if (when != -1 && when > INT64_MIN + 60)
            CHECK(cs_outbox_retry_after_ms(v, (int64_t)when - 60) == 60000);
    }
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    unsigned flags = data[0];
    int status = ((data[1] << 8) | data[2]) % 1000;
    switch (flags & 3) {
    case 1:
        fuzz_token_reply(flags, status, data + 3, size - 3);
        break;
    case 2:
        fuzz_retry_after(data + 3, size - 3);
        break;
    default:
        fuzz_bundle_reply(flags, status, data + 3, size - 3);
        break;
    }
    return 0;
}
