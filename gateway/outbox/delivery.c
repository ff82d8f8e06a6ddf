/*
 * delivery.c — one HTTP POST with libcurl, and what the record system's
 * answer to a transaction Bundle means (docs/RECORDS.md, "The outbox").
 *
 * A post runs on the outbox's own multi handle rather than with
 * curl_easy_perform, so that cs_outbox_free can interrupt it at once with
 * curl_multi_wakeup instead of waiting for a progress callback; the stop flag
 * is also checked by the progress callback, belt and braces. Only http and
 * https are allowed, redirects are not followed (a record system that
 * redirects a POST is misconfigured, and the Authorization header must not
 * travel), the peer's certificate is always verified, and at most
 * CS_OUTBOX_BODY_MAX bytes of an answer are kept.
 *
 * The classification is deliberately strict about success: only a 2xx whose
 * transaction-response says 201 or 200 for the DocumentReference counts as
 * delivered. Anything else that is not a clear refusal of the document (a
 * 4xx other than 401, 403, 408 and 429) is retried, since retrying a
 * conditional-create transaction is harmless and losing a document is not;
 * 401 and 403 are about our credentials, which an operator fixes.
 */
#include "internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/common.h"

#define DEFAULT_TIMEOUT_MS 30000LL
#define CONNECT_TIMEOUT_MAX_MS 10000LL /* an unreachable host fails fast */
#define RETRY_AFTER_MAX_S 86400LL      /* a day; beyond that it is nonsense */
#define POLL_MS 1000
#define USER_AGENT "Consilium-outbox/1"

/* ---- libcurl, once --------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cs_outbox_curl_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_init_result == CURLE_OK ? CS_OK : CS_EIO;
}

/* ---- reasons ---------------------------------------------------------------- */

/* Length of the UTF-8 sequence starting at s (at most n bytes available): 0
 * when it is cut off by the end, -1 when it is invalid. */
static int utf8_seq(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    int want = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
    if (want == 4 && (c & 0xf8) != 0xf0)
        return -1;
    if ((size_t)want > n)
        return 0;
    return cs_utf8_valid(s, (size_t)want) ? want : -1;
}

void cs_outbox_reason(char reason[CS_OUTBOX_REASON_MAX], const char *fmt, ...)
{
    char tmp[CS_OUTBOX_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : strlen(tmp);
    size_t out = 0;
    for (size_t i = 0; i < len;) {
        int k = utf8_seq(tmp + i, len - i);
        if (k == 0) /* a character cut in half by the truncation */
            break;
        if (k < 0 || (k == 1 && ((unsigned char)tmp[i] < 0x20 || tmp[i] == 0x7f))) {
            reason[out++] = k < 0 ? '?' : ' ';
            i++;
            continue;
        }
        memcpy(reason + out, tmp + i, (size_t)k);
        out += (size_t)k;
        i += (size_t)k;
    }
    reason[out] = '\0';
}

bool cs_outbox_token_ok(const char *s)
{
    size_t len = s ? strnlen(s, 8192) : 0;
    if (len == 0 || len >= 8192)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* ---- the exchange ------------------------------------------------------------ */

typedef struct {
    cs_outbox_reply_t *rp;
    size_t cap;
} sink_t;

/* Keeps the first CS_OUTBOX_BODY_MAX bytes; the rest is read and dropped so
 * the status still counts. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    sink_t *k = user;
    cs_outbox_reply_t *rp = k->rp;
    size_t len = size * nmemb;
    size_t take = len;
    if (take > CS_OUTBOX_BODY_MAX - rp->len) {
        take = CS_OUTBOX_BODY_MAX - rp->len;
        rp->truncated = true;
    }
    if (take == 0)
        return len;
    if (rp->len + take + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 4096;
        while (cap < rp->len + take + 1)
            cap *= 2;
        char *p = realloc(rp->body, cap);
        if (!p) { /* keep what we have; the answer is judged as cut short */
            rp->truncated = true;
            return len;
        }
        rp->body = p;
        k->cap = cap;
    }
    memcpy(rp->body + rp->len, data, take);
    rp->len += take;
    rp->body[rp->len] = '\0';
    return len;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const cs_outbox_transport_t *t = user;
    return atomic_load(t->stop) ? 1 : 0;
}

/* Appends "name: prefix value"; the line is wiped, as it may hold a credential. */
static struct curl_slist *add_header(struct curl_slist *list, bool *ok, const char *name,
                                     const char *prefix, const char *value)
{
    if (!*ok || !value)
        return list;
    char *line = NULL;
    int n = asprintf(&line, "%s: %s%s", name, prefix, value);
    struct curl_slist *next = n >= 0 ? curl_slist_append(list, line) : NULL;
    if (n >= 0) {
        explicit_bzero(line, (size_t)n);
        free(line);
    }
    *ok = next != NULL;
    return next ? next : list;
}

static struct curl_slist *request_headers(const cs_outbox_request_t *rq)
{
    bool ok = true;
    struct curl_slist *h = add_header(NULL, &ok, "Content-Type", "", rq->content_type);
    h = add_header(h, &ok, "Accept", "", rq->accept);
    h = add_header(h, &ok, "Prefer", "", rq->prefer);
    h = add_header(h, &ok, "Authorization", "Bearer ", rq->bearer);
    /* No "Expect: 100-continue" round trip before a large Bundle. */
    h = add_header(h, &ok, "Expect", "", "");
    if (!ok) {
        curl_slist_free_all(h);
        return NULL;
    }
    return h;
}

static bool set_options(CURL *e, const cs_outbox_transport_t *t, const cs_outbox_request_t *rq,
                        struct curl_slist *headers, sink_t *sink, char *errbuf)
{
    int64_t timeout = t->timeout_ms > 0 ? t->timeout_ms : DEFAULT_TIMEOUT_MS;
    int64_t connect = timeout < CONNECT_TIMEOUT_MAX_MS ? timeout : CONNECT_TIMEOUT_MAX_MS;
    bool ok = curl_easy_setopt(e, CURLOPT_URL, rq->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, sink) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)t) == CURLE_OK;
    /* Do not wait for a hanging name lookup when we are told to stop. */
    ok = ok && curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L) == CURLE_OK;
    if (ok && t->ca_file && *t->ca_file)
        ok = curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file) == CURLE_OK;
    if (ok && t->skip_host_check)
        ok = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
    return ok;
}

/* The result of e's transfer, once the multi handle says it is done. */
static bool transfer_done(CURLM *multi, CURL *e, CURLcode *result)
{
    int left = 0;
    CURLMsg *m;
    while ((m = curl_multi_info_read(multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == e) {
            *result = m->data.result;
            return true;
        }
    return false;
}

static CURLcode perform(const cs_outbox_transport_t *t, CURL *e)
{
    if (curl_multi_add_handle(t->multi, e) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    CURLcode result = CURLE_OK;
    for (;;) {
        if (atomic_load(t->stop)) {
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        int running = 0;
        if (curl_multi_perform(t->multi, &running) != CURLM_OK) {
            result = CURLE_FAILED_INIT;
            break;
        }
        if (transfer_done(t->multi, e, &result))
            break;
        if (curl_multi_poll(t->multi, NULL, 0, POLL_MS, NULL) != CURLM_OK) {
            result = CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(t->multi, e);
    return result;
}

/* Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. */
int64_t cs_outbox_retry_after_ms(const char *v, int64_t now_s)
{
    int64_t s = -1;
    if (*v && strspn(v, "0123456789") == strlen(v)) {
        s = strlen(v) > 9 ? RETRY_AFTER_MAX_S : strtoll(v, NULL, 10);
    } else {
        time_t when = curl_getdate(v, NULL);
        if (when != -1)
            s = (int64_t)when - now_s;
    }
    if (s <= 0)
        return 0;
    return (s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s) * 1000;
}

static int64_t retry_after(CURL *e)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value)
        return 0;
    return cs_outbox_retry_after_ms(h->value, (int64_t)time(NULL));
}

static void read_outcome(CURL *e, CURLcode result, const char *errbuf, cs_outbox_reply_t *rp)
{
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    /* A transfer that failed midway is no answer, whatever its status line
     * said; a write error is our own allocation failure, judged on the status. */
    if (result != CURLE_OK && result != CURLE_WRITE_ERROR)
        status = 0;
    rp->status = (int)status;
    if (status > 0) {
        rp->retry_after_ms = retry_after(e);
        return;
    }
    if (result == CURLE_ABORTED_BY_CALLBACK)
        cs_strlcpy(rp->error, "stopped", sizeof rp->error);
    else
        cs_outbox_reason(rp->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(result));
}

void cs_outbox_reply_clear(cs_outbox_reply_t *rp)
{
    free(rp->body);
    memset(rp, 0, sizeof *rp);
}

int cs_outbox_post(const cs_outbox_transport_t *t, const cs_outbox_request_t *rq,
                   cs_outbox_reply_t *rp)
{
    memset(rp, 0, sizeof *rp);
    CURL *e = curl_easy_init();
    struct curl_slist *headers = e ? request_headers(rq) : NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    sink_t sink = {rp, 0};
    int rc = CS_ENOMEM;
    if (headers && set_options(e, t, rq, headers, &sink, errbuf)) {
        CURLcode result = perform(t, e);
        read_outcome(e, result, errbuf, rp);
        rc = CS_OK;
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(headers);
    return rc;
}

/* ---- what the answer means ------------------------------------------------------- */

static const char *json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* "DocumentReference/17/_history/1", or an absolute URL with that path. */
static bool names_document_reference(const char *location)
{
    return location && (strncmp(location, "DocumentReference/", 18) == 0 ||
                        strstr(location, "/DocumentReference/") != NULL);
}

/* The position of the DocumentReference in the posted Bundle: a
 * transaction-response answers the entries in the request's order. */
static long request_index(const char *bundle, size_t len)
{
    json_t *req = json_loadb(bundle, len, 0, NULL);
    const json_t *entries = json_object_get(req, "entry");
    long found = -1;
    for (size_t i = 0; found < 0 && i < json_array_size(entries); i++) {
        const json_t *entry = json_array_get(entries, i);
        const char *type = json_str(json_object_get(entry, "resource"), "resourceType");
        if (type && strcmp(type, "DocumentReference") == 0)
            found = (long)i;
    }
    json_decref(req);
    return found;
}

static const json_t *document_entry(const json_t *entries, const char *bundle, size_t len)
{
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const json_t *response = json_object_get(json_array_get(entries, i), "response");
        if (names_document_reference(json_str(response, "location")))
            return json_array_get(entries, i);
    }
    long i = request_index(bundle, len);
    return i >= 0 ? json_array_get(entries, (size_t)i) : NULL;
}

static void classify_success(const cs_outbox_reply_t *rp, const char *bundle, size_t len,
                             cs_outbox_result_t *res)
{
    json_t *doc = rp->truncated || !rp->body ? NULL : json_loadb(rp->body, rp->len, 0, NULL);
    const char *rtype = json_str(doc, "resourceType"), *btype = json_str(doc, "type");
    const json_t *entries = json_object_get(doc, "entry");
    const json_t *entry = NULL;
    res->outcome = CS_DELIVERY_RETRY;
    if (!rtype || strcmp(rtype, "Bundle") != 0 || !btype ||
        strcmp(btype, "transaction-response") != 0 || !json_is_array(entries))
        cs_outbox_reason(res->reason, "unexpected response");
    else if (!(entry = document_entry(entries, bundle, len)))
        cs_outbox_reason(res->reason, "unexpected response: no entry for the DocumentReference");
    if (entry) {
        const json_t *response = json_object_get(entry, "response");
        const char *status = json_str(response, "status");
        const char *location = json_str(response, "location");
        if (status && (strncmp(status, "201", 3) == 0 || strncmp(status, "200", 3) == 0)) {
            res->outcome = CS_DELIVERY_DELIVERED;
            cs_outbox_reason(res->location, "%s", location ? location : "");
        } else {
            cs_outbox_reason(res->reason, "unexpected response: DocumentReference status %s",
                             status ? status : "missing");
        }
    }
    json_decref(doc);
}

/* The OperationOutcome's first issue in words: diagnostics, else details.text. */
static bool outcome_text(const cs_outbox_reply_t *rp, char reason[CS_OUTBOX_REASON_MAX])
{
    json_t *doc = rp->body ? json_loadb(rp->body, rp->len, 0, NULL) : NULL;
    const char *rtype = json_str(doc, "resourceType");
    const json_t *issue = json_array_get(json_object_get(doc, "issue"), 0);
    const char *text = json_str(issue, "diagnostics");
    if (!text || !*text)
        text = json_str(json_object_get(issue, "details"), "text");
    bool ok = rtype && strcmp(rtype, "OperationOutcome") == 0 && text && *text;
    if (ok)
        cs_outbox_reason(reason, "%s", text);
    json_decref(doc);
    return ok;
}

static bool worth_retrying(int status)
{
    return status < 400 || status >= 500 || status == 401 || status == 403 || status == 408 ||
           status == 429;
}

void cs_outbox_classify(const cs_outbox_reply_t *rp, const char *bundle, size_t bundle_len,
                        cs_outbox_result_t *res)
{
    res->http_status = rp->status;
    res->retry_after_ms = 0;
    res->location[0] = res->reason[0] = '\0';
    if (rp->status == 0) {
        res->outcome = CS_DELIVERY_RETRY;
        cs_outbox_reason(res->reason, "no response: %s", rp->error);
        return;
    }
    if (rp->status >= 200 && rp->status < 300) {
        classify_success(rp, bundle, bundle_len, res);
        return;
    }
    bool retry = worth_retrying(rp->status);
    res->outcome = retry ? CS_DELIVERY_RETRY : CS_DELIVERY_REFUSED;
    if (retry)
        res->retry_after_ms = rp->retry_after_ms;
    if (!outcome_text(rp, res->reason))
        cs_outbox_reason(res->reason, "HTTP %d", rp->status);
}
