/*
 * test_outbox.c — unit tests for gateway/outbox: the delivery worker against
 * a scripted HTTP server on 127.0.0.1 (tests/unit/http_test_server.h).
 *
 * What a record system's answers mean (delivered with the DocumentReference's
 * location, retried, refused with the OperationOutcome's words), what the
 * worker sends, that a hanging server neither blocks a delivery past its
 * timeout nor cs_outbox_free, SMART Backend Services (the assertion the token
 * endpoint receives verifies; the access token is cached and dropped on a
 * 401), and the backoff arithmetic. Nothing here leaves the loopback
 * interface; time bounds are behaviour (seconds), not performance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/common.h"
#include "gateway/outbox/outbox.h"
#include "signaling/auth/auth.h"
#include "tests/unit/http_test_server.h"

#define DOC_ID "5b0c1f9e-3f0a-4c47-9d3e-2a1b8c7d6e5f"
#define TOKEN "static-bearer-0123456789"
#define CLIENT "consilium-test"
#define SCOPE "system/DocumentReference.write system/Encounter.write"

static const char BUNDLE[] =
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    "{\"fullUrl\":\"urn:uuid:e1\",\"resource\":{\"resourceType\":\"Encounter\"},"
    "\"request\":{\"method\":\"POST\",\"url\":\"Encounter\"}},"
    "{\"fullUrl\":\"urn:uuid:c1\",\"resource\":{\"resourceType\":\"Condition\"},"
    "\"request\":{\"method\":\"POST\",\"url\":\"Condition\"}},"
    "{\"fullUrl\":\"urn:uuid:d1\",\"resource\":{\"resourceType\":\"DocumentReference\"},"
    "\"request\":{\"method\":\"POST\",\"url\":\"DocumentReference\"}}]}";

#define TX_RESPONSE(doc_status, doc_location)                                                      \
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":["                   \
    "{\"response\":{\"status\":\"201 Created\",\"location\":\"Encounter/3/_history/1\"}},"         \
    "{\"response\":{\"status\":\"201 Created\",\"location\":\"Condition/4/_history/1\"}},"         \
    "{\"response\":{\"status\":\"" doc_status "\"" doc_location "}}]}"

static const char CREATED[] =
    TX_RESPONSE("201 Created", ",\"location\":\"DocumentReference/17/_history/1\"");

static struct {
    char *ec_priv, *ec_pub;
} keys;

static atomic_int wakes;

static void on_wake(void *user)
{
    (void)user;
    atomic_fetch_add(&wakes, 1);
}

/* ---- helpers ----------------------------------------------------------------- */

static char *pem_of(EVP_PKEY *k, bool private_key)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(private_key ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                                 : PEM_write_bio_PUBKEY(b, k),
                     1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(b);
    return s;
}

static cs_outbox_config_t bearer_config(const char *url, int64_t timeout_ms)
{
    return (cs_outbox_config_t){.url = url,
                                .auth = "bearer",
                                .bearer_token = TOKEN,
                                .timeout_ms = timeout_ms,
                                .wake = on_wake};
}

static cs_outbox_t *new_outbox(const cs_outbox_config_t *cfg)
{
    int err = 1;
    cs_outbox_t *o = cs_outbox_new(cfg, &err);
    assert_non_null(o);
    assert_int_equal(err, CS_OK);
    return o;
}

static void wait_result(cs_outbox_t *o, cs_outbox_result_t *res)
{
    int64_t deadline = cs_mono_ms() + 20000;
    while (cs_outbox_take(o, res) == 0) {
        if (cs_mono_ms() > deadline)
            fail_msg("no result within 20 s");
        nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
    }
}

static void deliver_once(cs_outbox_t *o, cs_outbox_result_t *res)
{
    assert_int_equal(cs_outbox_submit(o, DOC_ID, BUNDLE, strlen(BUNDLE)), CS_OK);
    wait_result(o, res);
    assert_string_equal(res->document_id, DOC_ID);
    assert_true(cs_outbox_idle(o));
}

/* A server answering every request with reply, and an outbox posting to it
 * with the given timeout. */
static cs_outbox_t *start_pair(hts_server_t *s, hts_reply_t reply, int64_t timeout_ms)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(hts_start(s), 0);
    hts_script(s, 0, reply);
    char url[128];
    snprintf(url, sizeof url, "%s/fhir", s->url);
    cs_outbox_config_t cfg = bearer_config(url, timeout_ms);
    return new_outbox(&cfg);
}

/* What one post of BUNDLE to a server answering reply comes to. */
static cs_outbox_result_t outcome_of(hts_reply_t reply)
{
    hts_server_t s;
    cs_outbox_t *o = start_pair(&s, reply, 10000);
    cs_outbox_result_t res;
    deliver_once(o, &res);
    cs_outbox_free(o);
    hts_stop(&s);
    return res;
}

static void expect_header(const hts_request_t *rq, const char *name, const char *want)
{
    char *v = hts_header(rq, name);
    if (!v || strcmp(v, want) != 0)
        fail_msg("header %s is \"%s\", wanted \"%s\"", name, v ? v : "(absent)", want);
    free(v);
}

/* ---- what is delivered -------------------------------------------------------- */

static void test_delivered_created(void **state)
{
    (void)state;
    atomic_store(&wakes, 0);
    hts_server_t s;
    cs_outbox_t *o = start_pair(&s, (hts_reply_t){200, NULL, CREATED, NULL}, 10000);
    cs_outbox_result_t res;
    deliver_once(o, &res);
    cs_outbox_free(o);
    assert_int_equal(res.outcome, CS_DELIVERY_DELIVERED);
    assert_int_equal(res.http_status, 200);
    assert_string_equal(res.location, "DocumentReference/17/_history/1");
    assert_int_equal(atomic_load(&wakes), 1);

    assert_int_equal(hts_count(&s), 1);
    const hts_request_t *rq = hts_request(&s, 0);
    assert_string_equal(rq->method, "POST");
    assert_string_equal(rq->path, "/fhir"); /* exactly the base URL */
    assert_int_equal(rq->body_len, strlen(BUNDLE));
    assert_memory_equal(rq->body, BUNDLE, strlen(BUNDLE));
    expect_header(rq, "Content-Type", "application/fhir+json");
    expect_header(rq, "Accept", "application/fhir+json");
    expect_header(rq, "Authorization", "Bearer " TOKEN);
    hts_stop(&s);
}

/* One scripted answer and what it must mean; reason NULL: not checked,
 * "~text": contains text. */
typedef struct {
    hts_reply_t reply;
    cs_delivery_outcome_t outcome;
    int64_t retry_after_ms;
    const char *location, *reason;
} answer_case_t;

static void check_answers(const answer_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const answer_case_t *c = &cases[i];
        cs_outbox_result_t res = outcome_of(c->reply);
        if (res.outcome != c->outcome)
            fail_msg("case %zu (HTTP %d): outcome %d, wanted %d (%s)", i, c->reply.status,
                     res.outcome, c->outcome, res.reason);
        assert_int_equal(res.http_status, c->reply.status);
        assert_int_equal(res.retry_after_ms, c->retry_after_ms);
        assert_string_equal(res.location, c->location ? c->location : "");
        if (c->reason && c->reason[0] == '~')
            assert_non_null(strstr(res.reason, c->reason + 1));
        else if (c->reason)
            assert_string_equal(res.reason, c->reason);
    }
}

#define ANSWER(status, headers, body) {status, headers, body, NULL}

/* A conditional create that found the resources (the post after a crash);
 * with no location the entry is found by its position in the request. */
static void test_delivered_ok_existing(void **state)
{
    (void)state;
    static const answer_case_t cases[] = {
        {ANSWER(200, NULL,
                TX_RESPONSE("200 OK", ",\"location\":\"DocumentReference/9/_history/2\"")),
         CS_DELIVERY_DELIVERED, 0, "DocumentReference/9/_history/2", ""},
        {ANSWER(200, NULL, TX_RESPONSE("200 OK", "")), CS_DELIVERY_DELIVERED, 0, "", ""},
        {ANSWER(201, NULL,
                TX_RESPONSE("201 Created", ",\"location\":\"https://ehr/DocumentReference/5\"")),
         CS_DELIVERY_DELIVERED, 0, "https://ehr/DocumentReference/5", ""},
    };
    check_answers(cases, CS_ARRAY_LEN(cases));
}

static void test_retry_statuses(void **state)
{
    (void)state;
    static const answer_case_t cases[] = {
        {ANSWER(500, NULL, "oops"), CS_DELIVERY_RETRY, 0, NULL, "HTTP 500"},
        {ANSWER(503, "Retry-After: 7\r\n", NULL), CS_DELIVERY_RETRY, 7000, NULL, "HTTP 503"},
        {ANSWER(429, "Retry-After: 120\r\n", NULL), CS_DELIVERY_RETRY, 120000, NULL, NULL},
        {ANSWER(429, NULL, NULL), CS_DELIVERY_RETRY, 0, NULL, "HTTP 429"},
        /* A date in the past, or nonsense, is no delay. */
        {ANSWER(429, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", NULL), CS_DELIVERY_RETRY, 0,
         NULL, NULL},
        {ANSWER(503, "Retry-After: soon\r\n", NULL), CS_DELIVERY_RETRY, 0, NULL, NULL},
        {ANSWER(408, NULL, NULL), CS_DELIVERY_RETRY, 0, NULL, "HTTP 408"},
        {ANSWER(401, NULL, NULL), CS_DELIVERY_RETRY, 0, NULL, "HTTP 401"},
    };
    check_answers(cases, CS_ARRAY_LEN(cases));
}

/* A 2xx that is not a transaction-response accepting the DocumentReference. */
static void test_unexpected_success(void **state)
{
    (void)state;
    static const answer_case_t cases[] = {
        {ANSWER(200, NULL, "garbage"), CS_DELIVERY_RETRY, 0, NULL, "unexpected response"},
        {ANSWER(201, NULL, ""), CS_DELIVERY_RETRY, 0, NULL, "unexpected response"},
        {ANSWER(200, NULL, "{\"resourceType\":\"OperationOutcome\"}"), CS_DELIVERY_RETRY, 0,
         NULL, "unexpected response"},
        {ANSWER(200, NULL,
                "{\"resourceType\":\"Bundle\",\"type\":\"batch-response\",\"entry\":[]}"),
         CS_DELIVERY_RETRY, 0, NULL, "unexpected response"},
        {ANSWER(200, NULL,
                "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":[]}"),
         CS_DELIVERY_RETRY, 0, NULL, "~unexpected response"},
        {ANSWER(200, NULL, TX_RESPONSE("400 Bad Request", "")), CS_DELIVERY_RETRY, 0, NULL,
         "~unexpected response"},
    };
    check_answers(cases, CS_ARRAY_LEN(cases));
}

/* More than the 1 MiB kept: the rest is dropped and the status still counts. */
static void test_huge_answer(void **state)
{
    (void)state;
    size_t n = 3 * 1024 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    cs_outbox_result_t res = outcome_of((hts_reply_t){502, NULL, big, "text/html"});
    assert_int_equal(res.outcome, CS_DELIVERY_RETRY);
    assert_int_equal(res.http_status, 502);
    res = outcome_of((hts_reply_t){200, NULL, big, NULL});
    assert_int_equal(res.outcome, CS_DELIVERY_RETRY);
    free(big);
}

/* Nobody listening, and a server that never answers within timeout_ms. */
static void test_no_response(void **state)
{
    (void)state;
    char url[128];
    uint16_t port = hts_closed_port();
    assert_int_not_equal(port, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/fhir", (unsigned)port);
    cs_outbox_config_t cfg = bearer_config(url, 5000);
    hts_server_t s;
    cs_outbox_t *outboxes[2] = {new_outbox(&cfg), start_pair(&s, (hts_reply_t){0}, 500)};
    for (int i = 0; i < 2; i++) {
        cs_outbox_result_t res;
        deliver_once(outboxes[i], &res);
        assert_int_equal(res.outcome, CS_DELIVERY_RETRY);
        assert_int_equal(res.http_status, 0);
        assert_non_null(strstr(res.reason, "no response: "));
        assert_true(strlen(res.reason) > strlen("no response: "));
        cs_outbox_free(outboxes[i]);
    }
    assert_int_equal(hts_count(&s), 1);
    hts_stop(&s);
}

static void test_free_while_posting(void **state)
{
    (void)state;
    hts_server_t s;
    cs_outbox_t *o = start_pair(&s, (hts_reply_t){0}, 60000);
    assert_int_equal(cs_outbox_submit(o, DOC_ID, BUNDLE, strlen(BUNDLE)), CS_OK);
    assert_true(hts_wait_requests(&s, 1, 10000));
    assert_false(cs_outbox_idle(o));
    int64_t t0 = cs_mono_ms();
    cs_outbox_free(o);
    int64_t took = cs_mono_ms() - t0;
    if (took >= 2000)
        fail_msg("cs_outbox_free took %lld ms while a post hung", (long long)took);
    hts_stop(&s);
}

/* ---- what is refused ------------------------------------------------------------- */

#define OUTCOME(issue) "{\"resourceType\":\"OperationOutcome\",\"issue\":[" issue "]}"

static void test_refused(void **state)
{
    (void)state;
    static const answer_case_t cases[] = {
        {ANSWER(422, NULL,
                OUTCOME("{\"severity\":\"error\",\"diagnostics\":\"entry 3: no subject\"}")),
         CS_DELIVERY_REFUSED, 0, NULL, "entry 3: no subject"},
        {ANSWER(400, NULL, OUTCOME("{\"details\":{\"text\":\"not a Bundle\"}}")),
         CS_DELIVERY_REFUSED, 0, NULL, "not a Bundle"},
        {ANSWER(404, NULL, "not here"), CS_DELIVERY_REFUSED, 0, NULL, "HTTP 404"},
        {ANSWER(403, NULL, OUTCOME("")), CS_DELIVERY_RETRY, 0, NULL, "HTTP 403"},
        /* A server echoing the credential must not put it in the reason. */
        {ANSWER(422, NULL, OUTCOME("{\"diagnostics\":\"bad: Authorization: Bearer " TOKEN "\"}")),
         CS_DELIVERY_REFUSED, 0, NULL, "HTTP 422"},
    };
    check_answers(cases, CS_ARRAY_LEN(cases));

    /* Long diagnostics are cut to fit, on a character boundary. */
    char body[2048], diag[1200] = "";
    for (int i = 0; i < 500; i++)
        strcat(diag, "\u00e9");
    snprintf(body, sizeof body, OUTCOME("{\"diagnostics\":\"%s\"}"), diag);
    cs_outbox_result_t res = outcome_of((hts_reply_t){422, NULL, body, NULL});
    assert_int_equal(res.outcome, CS_DELIVERY_REFUSED);
    assert_true(strlen(res.reason) >= 250 && strlen(res.reason) < 256);
    assert_true(cs_utf8_valid(res.reason, strlen(res.reason)));
}

/* ---- the slot, and configuration ---------------------------------------------------- */

static void test_one_at_a_time(void **state)
{
    (void)state;
    hts_server_t s;
    cs_outbox_t *o = start_pair(&s, (hts_reply_t){200, NULL, CREATED, NULL}, 10000);
    cs_outbox_result_t res;
    assert_true(cs_outbox_idle(o));
    assert_int_equal(cs_outbox_take(o, &res), 0);
    assert_int_equal(cs_outbox_submit(o, DOC_ID, BUNDLE, strlen(BUNDLE)), CS_OK);
    assert_false(cs_outbox_idle(o));
    assert_int_equal(cs_outbox_submit(o, "other", BUNDLE, strlen(BUNDLE)), CS_EAGAIN);
    wait_result(o, &res);
    assert_string_equal(res.document_id, DOC_ID);
    assert_int_equal(res.outcome, CS_DELIVERY_DELIVERED);
    assert_int_equal(cs_outbox_take(o, &res), 0);
    /* Idle again once taken. */
    deliver_once(o, &res);
    assert_int_equal(res.outcome, CS_DELIVERY_DELIVERED);
    assert_int_equal(hts_count(&s), 2);
    assert_int_equal(cs_outbox_submit(o, "", BUNDLE, 1), CS_EINVAL);
    assert_int_equal(cs_outbox_submit(o, DOC_ID, NULL, 1), CS_EINVAL);
    assert_int_equal(cs_outbox_submit(o, DOC_ID, BUNDLE, 0), CS_EINVAL);
    assert_int_equal(cs_outbox_submit(NULL, DOC_ID, BUNDLE, 1), CS_EINVAL);
    cs_outbox_free(o);
    cs_outbox_free(NULL);
    hts_stop(&s);
}

static void expect_bad_config(const cs_outbox_config_t *cfg)
{
    int err = 0;
    assert_null(cs_outbox_new(cfg, &err));
    assert_int_equal(err, CS_EINVAL);
}

static void test_bad_config(void **state)
{
    (void)state;
    const char *bad_urls[] = {NULL, "", "ftp://x/fhir", "http://", "file:///etc/passwd",
                              "127.0.0.1/fhir", "http://a b/fhir", "https:///fhir"};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad_urls); i++) {
        cs_outbox_config_t cfg = bearer_config(bad_urls[i], 1000);
        expect_bad_config(&cfg);
    }
    /* Unknown or missing auth, and bearer tokens that cannot go in a header. */
    const char *auths[] = {"basic", NULL, "bearer", "bearer"};
    const char *tokens[] = {TOKEN, TOKEN, "", "abc\r\nX-Injected: 1"};
    for (size_t i = 0; i < CS_ARRAY_LEN(auths); i++) {
        cs_outbox_config_t cfg = bearer_config("http://127.0.0.1:9/fhir", 1000);
        cfg.auth = auths[i];
        cfg.bearer_token = tokens[i];
        expect_bad_config(&cfg);
    }
    EVP_PKEY *p256 = EVP_EC_gen("P-256");
    char *p256_pem = pem_of(p256, true);
    cs_outbox_config_t smart = {.url = "https://127.0.0.1:9/fhir",
                                .auth = "smart",
                                .smart_token_url = "https://127.0.0.1:9/token",
                                .smart_client_id = CLIENT,
                                .smart_key_pem = p256_pem,
                                .timeout_ms = 1000};
    expect_bad_config(&smart);
    smart.smart_key_pem = keys.ec_pub; /* a public key cannot sign */
    expect_bad_config(&smart);
    smart.smart_key_pem = keys.ec_priv;
    smart.smart_client_id = "";
    expect_bad_config(&smart);
    smart.smart_client_id = CLIENT;
    smart.smart_token_url = "token";
    expect_bad_config(&smart);
    smart.smart_token_url = "https://127.0.0.1:9/token";
    int err = 1;
    cs_outbox_t *o = cs_outbox_new(&smart, &err);
    assert_non_null(o);
    assert_int_equal(err, CS_OK);
    cs_outbox_free(o);
    assert_null(cs_outbox_new(NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    free(p256_pem);
    EVP_PKEY_free(p256);
}

/* ---- SMART Backend Services ------------------------------------------------------------ */

typedef struct {
    int tokens;        /* token requests answered */
    int fhir;          /* FHIR posts answered */
    int fhir_401_left; /* answer this many FHIR posts with 401 */
    bool token_refused;
    char token_body[256];
} smart_server_t;

static void smart_handler(const hts_request_t *rq, int index, hts_reply_t *out, void *user)
{
    (void)index;
    smart_server_t *st = user;
    if (strcmp(rq->path, "/auth/token") == 0) {
        const char *refusal =
            "{\"error\":\"invalid_client\",\"error_description\":\"no such key\"}";
        if (st->token_refused) {
            *out = (hts_reply_t){400, NULL, refusal, "application/json"};
            return;
        }
        st->tokens++;
        snprintf(st->token_body, sizeof st->token_body,
                 "{\"access_token\":\"tok-%d\",\"token_type\":\"bearer\",\"expires_in\":3600,"
                 "\"scope\":\"" SCOPE "\"}",
                 st->tokens);
        *out = (hts_reply_t){200, NULL, st->token_body, "application/json"};
        return;
    }
    st->fhir++;
    if (st->fhir_401_left > 0) {
        st->fhir_401_left--;
        *out = (hts_reply_t){401, NULL, NULL, NULL};
        return;
    }
    *out = (hts_reply_t){200, NULL, CREATED, NULL};
}

typedef struct {
    hts_server_t server;
    smart_server_t st;
    char fhir_url[128], token_url[128];
    cs_outbox_t *o;
} smart_fixture_t;

static void smart_start(smart_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    f->server.handler = smart_handler;
    f->server.user = &f->st;
    assert_int_equal(hts_start(&f->server), 0);
    snprintf(f->fhir_url, sizeof f->fhir_url, "%s/fhir", f->server.url);
    snprintf(f->token_url, sizeof f->token_url, "%s/auth/token", f->server.url);
    cs_outbox_config_t cfg = {.url = f->fhir_url,
                              .auth = "smart",
                              .smart_token_url = f->token_url,
                              .smart_client_id = CLIENT,
                              .smart_key_pem = keys.ec_priv,
                              .smart_scope = SCOPE,
                              .timeout_ms = 10000,
                              .wake = on_wake};
    f->o = new_outbox(&cfg);
}

static void smart_stop(smart_fixture_t *f)
{
    cs_outbox_free(f->o);
    hts_stop(&f->server);
}

static void test_smart_token_request(void **state)
{
    (void)state;
    smart_fixture_t f;
    smart_start(&f);
    cs_outbox_result_t res;
    deliver_once(f.o, &res);
    assert_int_equal(res.outcome, CS_DELIVERY_DELIVERED);
    assert_int_equal(hts_count(&f.server), 2);

    const hts_request_t *tok = hts_request(&f.server, 0);
    assert_string_equal(tok->method, "POST");
    assert_string_equal(tok->path, "/auth/token");
    expect_header(tok, "Content-Type", "application/x-www-form-urlencoded");
    assert_null(hts_header(tok, "Authorization"));
    const char *form[][2] = {
        {"grant_type", "client_credentials"},
        {"scope", SCOPE},
        {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}};
    for (size_t i = 0; i < CS_ARRAY_LEN(form); i++) {
        char *v = hts_form_value(tok->body, form[i][0]);
        assert_non_null(v);
        assert_string_equal(v, form[i][1]);
        free(v);
    }
    char *assertion = hts_form_value(tok->body, "client_assertion");
    assert_non_null(assertion);
    char jti[65];
    int64_t exp = 0;
    const char *why = NULL;
    int rc = cs_auth_assertion_verify(keys.ec_pub, assertion, CLIENT, f.token_url, cs_now_ms(),
                                      jti, &exp, &why);
    if (rc != CS_OK)
        fail_msg("assertion refused: %s", why ? why : "?");
    assert_int_equal(strlen(jti), 32);
    free(assertion);

    const hts_request_t *post = hts_request(&f.server, 1);
    assert_string_equal(post->path, "/fhir");
    expect_header(post, "Authorization", "Bearer tok-1");
    smart_stop(&f);
}

/* Deliveries share one token until a 401 drops it. */
static void test_smart_token_cached_until_401(void **state)
{
    (void)state;
    smart_fixture_t f;
    smart_start(&f);
    cs_outbox_result_t res;
    deliver_once(f.o, &res);
    assert_int_equal(res.outcome, CS_DELIVERY_DELIVERED);
    deliver_once(f.o, &res);
    assert_int_equal(res.outcome, CS_DELIVERY_DELIVERED);
    assert_int_equal(hts_count(&f.server), 3); /* one token, two posts */

    f.st.fhir_401_left = 1; /* read by the server thread at the next post */
    deliver_once(f.o, &res);
    assert_int_equal(res.outcome, CS_DELIVERY_RETRY);
    assert_int_equal(res.http_status, 401);
    deliver_once(f.o, &res);
    assert_int_equal(res.outcome, CS_DELIVERY_DELIVERED);
    assert_int_equal(hts_count(&f.server), 6); /* ..., 401, token, post */
    assert_non_null(hts_find_request(&f.server, "/auth/token", 1));
    const char *want[] = {"Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"};
    for (int i = 0; i < 4; i++)
        expect_header(hts_find_request(&f.server, "/fhir", i), "Authorization", want[i]);
    smart_stop(&f);
}

static void test_smart_token_refused(void **state)
{
    (void)state;
    smart_fixture_t f;
    smart_start(&f);
    f.st.token_refused = true;
    cs_outbox_result_t res;
    deliver_once(f.o, &res);
    assert_int_equal(res.outcome, CS_DELIVERY_RETRY);
    assert_int_equal(res.http_status, 0);
    assert_string_equal(res.reason, "token endpoint: HTTP 400 invalid_client: no such key");
    assert_int_equal(hts_count(&f.server), 1); /* the record system was not bothered */
    smart_stop(&f);
}

/* ---- backoff ------------------------------------------------------------------------------ */

static void test_backoff(void **state)
{
    (void)state;
    const int64_t min = 30000, max = 3600000;
    int64_t prev_hi = 0;
    for (int a = 1; a <= 20; a++) {
        int64_t want = min;
        for (int i = 1; i < a && want < max; i++)
            want *= 2;
        if (want > max)
            want = max;
        int64_t lo = cs_outbox_backoff_ms(a, min, max, 0.0);
        int64_t hi = cs_outbox_backoff_ms(a, min, max, 0.999);
        assert_true(lo >= want / 2 - 1 && lo <= want / 2 + 1);
        assert_true(hi <= want && hi >= want * 99 / 100 && hi <= max);
        assert_true(hi >= prev_hi); /* the upper bound never shrinks */
        prev_hi = hi;
    }
    /* 30 s × (0.5 + 0.999 / 2) */
    assert_int_equal(cs_outbox_backoff_ms(1, min, max, 0.999), 29985);
    assert_true(cs_outbox_backoff_ms(1000, min, max, 0.999) <= max);
    assert_true(cs_outbox_backoff_ms(1000, min, max, 0.999) >= max / 2);
    assert_true(cs_outbox_backoff_ms(1000, min, INT64_MAX, 0.5) > 0);
    assert_true(cs_outbox_backoff_ms(1000, min, INT64_MAX, 0.999) >= INT64_MAX / 2);
    assert_true(cs_outbox_backoff_ms(INT32_MAX, 1, INT64_MAX, 0.0) >= INT64_MAX / 4);
    assert_int_equal(cs_outbox_backoff_ms(3, 0, 0, 0.5), 0);
}

int main(void)
{
    hts_no_proxy();
    EVP_PKEY *ec = EVP_EC_gen("P-384");
    keys.ec_priv = pem_of(ec, true);
    keys.ec_pub = pem_of(ec, false);
    EVP_PKEY_free(ec);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivered_created),
        cmocka_unit_test(test_delivered_ok_existing),
        cmocka_unit_test(test_retry_statuses),
        cmocka_unit_test(test_unexpected_success),
        cmocka_unit_test(test_huge_answer),
        cmocka_unit_test(test_no_response),
        cmocka_unit_test(test_free_while_posting),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_one_at_a_time),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_smart_token_request),
        cmocka_unit_test(test_smart_token_cached_until_401),
        cmocka_unit_test(test_smart_token_refused),
        cmocka_unit_test(test_backoff),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(keys.ec_priv);
    free(keys.ec_pub);
    return rc;
}
