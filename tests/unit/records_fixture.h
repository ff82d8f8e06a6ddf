/*
 * records_fixture.h — what the record store's unit tests share
 * (test_records.c: the planner, applying, Binaries; test_records_access.c:
 * searches, who sees what, the access log): a store on a fresh records.db
 * in a temporary folder with an HS256 cs_auth_t for readers' tokens,
 * requests through cs_records_handle as the HTTP layer makes them, and the
 * consultation Bundle of docs/RECORDS.md. Include it once per test binary.
 */
#ifndef CS_TEST_RECORDS_FIXTURE_H
#define CS_TEST_RECORDS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "gateway/records/records_internal.h"

#define NOW INT64_C(1795000000000)
#define BASE "urn:consilium"
#define URL "http://127.0.0.1:8080/fhir"
#define WRITER "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KIROV_PATIENT BASE ":kirov:patient"

__attribute__((unused)) static const char PDF[] = "%PDF-1.4\n% a consultation\n%%EOF\n";

typedef struct {
    char dir[64], path[128];
    cs_auth_t *auth;
    cs_records_t *r;
    cs_http_response_t resp;
    json_t *json; /* the last response, parsed (NULL when not JSON) */
} fx_t;

__attribute__((unused)) static int rm_entry(const char *p, const struct stat *sb, int type,
                                            struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    return remove(p);
}

__attribute__((unused)) static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/cs-test-records-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/records.db", f->dir);
    static const unsigned char secret[] = "a test secret of at least 32 bytes!!";
    cs_auth_config_t ac = {.hs256_secret = secret, .hs256_secret_len = sizeof secret - 1};
    int err = 1;
    assert_non_null(f->auth = cs_auth_new(&ac, &err));
    cs_records_config_t rc = {BASE, WRITER, NULL, NULL, 1 << 20, f->auth};
    assert_non_null(f->r = cs_records_open(f->path, &rc, &err));
    assert_int_equal(err, CS_OK);
    *state = f;
    return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
    fx_t *f = *state;
    free(f->resp.body);
    json_decref(f->json);
    cs_records_close(f->r);
    cs_auth_free(f->auth);
    int rc = nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

/* ---- requests ----------------------------------------------------------------- */

__attribute__((unused)) static int call(fx_t *f, const char *method, const char *path,
                                        const char *query, const char *token, const char *accept,
                                        const char *body, size_t len)
{
    free(f->resp.body);
    json_decref(f->json);
    memset(&f->resp, 0, sizeof f->resp);
    char authz[4096] = "";
    if (token)
        snprintf(authz, sizeof authz, "Bearer %s", token);
    cs_http_request_t req = {.method = method, .path = path, .query = query ? query : "",
                             .authorization = authz, .content_type = "application/fhir+json",
                             .file_name = "", .accept = accept ? accept : "", .body = body,
                             .body_len = len, .range = ""};
    assert_int_equal(cs_records_handle(f->r, &req, URL, NOW, &f->resp), 1);
    f->json = json_loadb(f->resp.body, f->resp.body_len, 0, NULL);
    return f->resp.status;
}

__attribute__((unused)) static int post_text(fx_t *f, const char *text, const char *token)
{
    return call(f, "POST", "/fhir", NULL, token, NULL, text, strlen(text));
}

/* Posts a Bundle (taken) with the writer's token. */
__attribute__((unused)) static int post(fx_t *f, json_t *bundle)
{
    char *text = json_dumps(bundle, JSON_COMPACT);
    json_decref(bundle);
    int status = post_text(f, text, WRITER);
    free(text);
    return status;
}

__attribute__((unused)) static int get(fx_t *f, const char *path, const char *query,
                                       const char *token)
{
    return call(f, "GET", path, query, token, NULL, NULL, 0);
}

/* A search's total, or -status when it was not a 200. */
__attribute__((unused)) static int64_t total(fx_t *f, const char *path, const char *query,
                                             const char *token)
{
    int status = get(f, path, query, token);
    if (status != 200)
        return -status;
    return json_integer_value(json_object_get(f->json, "total"));
}

__attribute__((unused)) static char *mint(fx_t *f, cs_role_t role, const char *tenant,
                                          const char *patient_id)
{
    cs_identity_t id;
    memset(&id, 0, sizeof id);
    strcpy(id.subject, "u-1");
    strcpy(id.name, "User");
    id.role = role;
    cs_strlcpy(id.tenant, tenant, sizeof id.tenant);
    if (role == CS_ROLE_SPECIALIST)
        strcpy(id.specialties[id.n_specialties++], "cardiology");
    if (patient_id)
        cs_strlcpy(id.patient_id, patient_id, sizeof id.patient_id);
    char *tok = NULL;
    assert_int_equal(cs_auth_mint(f->auth, &id, NOW, 3600000, "HS256", &tok), CS_OK);
    return tok;
}

__attribute__((unused)) static const char *response_of(fx_t *f, size_t i, const char *key)
{
    json_t *e = json_array_get(json_object_get(f->json, "entry"), i);
    return json_string_value(json_object_get(json_object_get(e, "response"), key));
}

__attribute__((unused)) static const char *diagnostics(fx_t *f)
{
    json_t *issue = json_array_get(json_object_get(f->json, "issue"), 0);
    return json_string_value(json_object_get(issue, "diagnostics"));
}

/* ---- the consultation Bundle (docs/RECORDS.md) ------------------------------------- */

typedef struct {
    const char *consult, *doc, *patient, *custodian, *author_org, *date, *start, *end;
} spec_t;

__attribute__((unused)) static const spec_t DEFAULT = {"c-1",
                                                       "d-1",
                                                       "MRN-1",
                                                       "kirov",
                                                       "perm",
                                                       "2026-11-22T09:31:00.000Z",
                                                       "2026-11-22T09:00:00.000Z",
                                                       "2026-11-22T09:30:00.000Z"};

__attribute__((unused)) static json_t *org(const char *tenant)
{
    return json_pack("{s:{s:s, s:s}}", "identifier", "system", BASE ":organization", "value",
                     tenant);
}

__attribute__((unused)) static json_t *entry(const char *full_url, json_t *res, const char *type,
                                             const char *cond)
{
    json_t *req = json_pack("{s:s, s:s}", "method", "POST", "url", type);
    if (cond)
        json_object_set_new(req, "ifNoneExist", json_string(cond));
    return json_pack("{s:s, s:o, s:o}", "fullUrl", full_url, "resource", res, "request", req);
}

__attribute__((unused)) static json_t *bundle(const spec_t *s)
{
    char b64[128], hash[64], cond[3][160], master[80];
    unsigned char sha1[CS_SHA1_LEN];
    cs_base64_encode(PDF, strlen(PDF), b64, sizeof b64);
    cs_sha1(PDF, strlen(PDF), sha1);
    cs_base64_encode(sha1, sizeof sha1, hash, sizeof hash);
    snprintf(master, sizeof master, "urn:uuid:%s", s->doc);
    snprintf(cond[0], sizeof cond[0], "identifier=" BASE ":consult|%s", s->consult);
    snprintf(cond[1], sizeof cond[1], "identifier=" BASE ":diagnosis|%s", s->doc);
    snprintf(cond[2], sizeof cond[2], "identifier=urn:ietf:rfc:3986|%s", master);
    const char *enc = "urn:uuid:11111111-1111-4111-8111-111111111111";
    const char *con = "urn:uuid:22222222-2222-4222-8222-222222222222";
    const char *doc = "urn:uuid:33333333-3333-4333-8333-333333333333";
    json_t *subject =
        json_pack("{s:{s:s, s:s}}", "identifier", "system", KIROV_PATIENT, "value", s->patient);
    json_t *e =
        json_pack("{s:s, s:[{s:s, s:s}], s:s, s:{s:s}, s:O, s:{s:s, s:s}, s:o, s:[{s:{s:s}}]}",
                  "resourceType", "Encounter", "identifier", "system", BASE ":consult", "value",
                  s->consult, "status", "finished", "class", "code", "VR", "subject", subject,
                  "period", "start", s->start, "end", s->end, "serviceProvider", org(s->author_org),
                  "diagnosis", "condition", "reference", con);
    json_t *c = json_pack("{s:s, s:[{s:s, s:s}], s:O, s:{s:s}}", "resourceType", "Condition",
                          "identifier", "system", BASE ":diagnosis", "value", s->doc, "subject",
                          subject, "encounter", "reference", enc);
    json_t *d = json_pack(
        "{s:s, s:{s:s, s:s}, s:s, s:s, s:o, s:s, s:[o], s:o,"
        " s:[{s:{s:s, s:s, s:I, s:s}}], s:{s:[{s:s}]}}",
        "resourceType", "DocumentReference", "masterIdentifier", "system", "urn:ietf:rfc:3986",
        "value", master, "status", "current", "docStatus", "final", "subject", subject, "date",
        s->date, "author", org(s->author_org), "custodian", org(s->custodian), "content",
        "attachment", "contentType", "application/pdf", "data", b64, "size",
        (json_int_t)strlen(PDF), "hash", hash, "context", "encounter", "reference", enc);
    assert_non_null(e);
    assert_non_null(c);
    assert_non_null(d);
    return json_pack("{s:s, s:s, s:[o, o, o]}", "resourceType", "Bundle", "type", "transaction",
                     "entry", entry(enc, e, "Encounter", cond[0]),
                     entry(con, c, "Condition", cond[1]),
                     entry(doc, d, "DocumentReference", cond[2]));
}

__attribute__((unused)) static json_t *resource_of(json_t *b, size_t i)
{
    return json_object_get(json_array_get(json_object_get(b, "entry"), i), "resource");
}

#endif
