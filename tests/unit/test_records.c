/*
 * test_records.c — unit tests of the built-in FHIR record store
 * (gateway/records/) against a real records.db in a temporary folder: the
 * planner accepting a consultation Bundle and refusing each kind of bad
 * input (400/422, the entry named); applying it (201s, then 200s with the
 * same locations and nothing more stored; a conditional create that cannot
 * decide, and a write refused half-way, keep nothing); the inline PDF kept
 * as a Binary; the front's other answers and the small value parsers.
 * Searches, visibility and the access log: test_records_access.c.
 */
#include "tests/unit/records_fixture.h"

/* ---- the planner -------------------------------------------------------------------- */

static cs_fhir_plan_t *plan_of(json_t *b, cs_fhir_issue_t *issue, int *rc)
{
    char *text = json_dumps(b, JSON_COMPACT);
    cs_fhir_plan_t *p = NULL;
    *rc = cs_fhir_plan_parse(text, strlen(text), BASE, &p, issue);
    free(text);
    return p;
}

static void test_planner_accepts(void **state)
{
    (void)state;
    json_t *b = bundle(&DEFAULT);
    cs_fhir_issue_t issue;
    int rc;
    cs_fhir_plan_t *p = plan_of(b, &issue, &rc);
    json_decref(b);
    assert_int_equal(rc, CS_OK);
    assert_int_equal(cs_fhir_plan_entries(p), 3);
    const cs_fhir_entry_t *enc = &p->entries[0], *doc = &p->entries[2];
    assert_true(enc->conditional && enc->has_date && enc->has_subject_identifier);
    assert_string_equal(enc->cond.value, "c-1");
    /* the Encounter: its serviceProvider, and the document's custodian */
    assert_int_equal(enc->n_centres, 2);
    assert_int_equal(p->entries[1].n_centres, 2); /* the Condition: the document's */
    assert_int_equal(doc->n_inline, 1);
    assert_int_equal(doc->inline_data[0].len, strlen(PDF));
    assert_memory_equal(doc->inline_data[0].bytes, PDF, strlen(PDF));
    assert_string_equal(doc->identifiers[0].value, "urn:uuid:d-1");
    assert_int_equal(cs_fhir_plan_types(p), (1u << CS_FHIR_ENCOUNTER) | (1u << CS_FHIR_CONDITION) |
                                                (1u << CS_FHIR_DOCUMENT_REFERENCE) |
                                                (1u << CS_FHIR_BINARY));
    cs_fhir_plan_free(p);
}

typedef struct {
    int status;
    const char *expression; /* the start of the expected FHIRPath */
} want_t;

/* Each way an entry can be wrong; the Bundle is valid otherwise. */
static want_t break_bundle(json_t *b, int k)
{
    json_t *entries = json_object_get(b, "entry");
    json_t *e0 = json_array_get(entries, 0), *enc = resource_of(b, 0);
    json_t *cond = resource_of(b, 1), *doc = resource_of(b, 2);
    json_t *att = json_object_get(json_array_get(json_object_get(doc, "content"), 0), "attachment");
    switch (k) {
    case 0:
        json_object_del(e0, "request");
        return (want_t){422, "Bundle.entry[0].request"};
    case 1:
        json_object_set_new(json_object_get(e0, "request"), "method", json_string("DELETE"));
        return (want_t){422, "Bundle.entry[0].request.method"};
    case 2:
        json_object_set_new(enc, "resourceType", json_string("Observation"));
        return (want_t){422, "Bundle.entry[0].resource.resourceType"};
    case 3:
        json_object_set_new(json_object_get(e0, "request"), "url", json_string("Observation"));
        return (want_t){422, "Bundle.entry[0].request.url"};
    case 4:
        json_object_del(enc, "status");
        return (want_t){422, "Bundle.entry[0].resource.status"};
    case 5:
        json_object_set_new(enc, "class", json_string("VR"));
        return (want_t){422, "Bundle.entry[0].resource.class"};
    case 6:
        json_object_del(doc, "content");
        return (want_t){422, "Bundle.entry[2].resource.content"};
    case 7:
        json_object_del(doc, "subject");
        return (want_t){422, "Bundle.entry[2].resource.subject"};
    case 8:
        json_object_del(cond, "subject");
        return (want_t){422, "Bundle.entry[1].resource.subject"};
    case 9:
        json_object_set_new(json_object_get(cond, "encounter"), "reference",
                            json_string("urn:uuid:99999999-9999-4999-8999-999999999999"));
        return (want_t){422, "Bundle.entry[1].resource.encounter.reference"};
    case 10:
        json_object_set_new(json_object_get(e0, "request"), "ifNoneExist",
                            json_string("name=Ivanov"));
        return (want_t){422, "Bundle.entry[0].request.ifNoneExist"};
    case 11:
        json_object_set_new(att, "data", json_string("not base64!"));
        return (want_t){422, "Bundle.entry[2].resource.content[0].attachment"};
    case 12:
        json_object_set_new(att, "hash", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        return (want_t){422, "Bundle.entry[2].resource.content[0].attachment"};
    case 13:
        json_object_set_new(doc, "date", json_string("2026-02-30"));
        return (want_t){422, "Bundle.entry[2].resource.date"};
    case 14:
        json_object_set_new(json_array_get(entries, 1), "fullUrl",
                            json_string("urn:uuid:11111111-1111-4111-8111-111111111111"));
        return (want_t){422, "Bundle.entry[1].fullUrl"};
    case 15:
        json_array_set_new(entries, 1, json_string("an entry"));
        return (want_t){422, "Bundle.entry[1]"};
    case 16:
        json_object_set_new(b, "type", json_string("batch"));
        return (want_t){400, "Bundle.type"};
    case 17:
        json_object_set_new(b, "resourceType", json_string("Patient"));
        return (want_t){400, "Bundle.resourceType"};
    case 18:
        json_object_set_new(b, "entry", json_object());
        return (want_t){400, "Bundle.entry"};
    case 19:
        json_object_set_new(json_object_get(e0, "request"), "url", json_string("Encounter/x"));
        json_object_set_new(json_object_get(e0, "request"), "method", json_string("PUT"));
        return (want_t){422, "Bundle.entry[0].request.ifNoneExist"}; /* only for a POST */
    case 20:
        json_array_append_new(entries, json_deep_copy(e0)); /* the same conditional create */
        json_object_del(json_array_get(entries, 3), "fullUrl");
        return (want_t){422, "Bundle.entry[3].request"};
    default: {
        json_t *deep = json_integer(1);
        for (int i = 0; i < 40; i++)
            deep = json_pack("{s:[o]}", "x", deep);
        json_object_set_new(doc, "extension", json_pack("[o]", deep));
        return (want_t){422, "Bundle.entry[2].resource.extension"};
    }
    }
}

static void test_planner_rejects_entries(void **state)
{
    (void)state;
    for (int k = 0; k <= 21; k++) {
        json_t *b = bundle(&DEFAULT);
        want_t want = break_bundle(b, k);
        cs_fhir_issue_t issue;
        int rc;
        cs_fhir_plan_t *p = plan_of(b, &issue, &rc);
        json_decref(b);
        if (rc != CS_EINVAL || issue.status != want.status ||
            strncmp(issue.expression, want.expression, strlen(want.expression)) != 0)
            fail_msg("case %d: rc %d status %d expression %s (%s)", k, rc, issue.status,
                     issue.expression, issue.diagnostics);
        assert_null(p);
        if (want.status == 422) { /* "Bundle.entry[N]...": the diagnostics say "entry N" */
            char named[32];
            snprintf(named, sizeof named, "entry %c", want.expression[13]);
            assert_non_null(strstr(issue.diagnostics, named));
        }
        assert_true(cs_utf8_valid(issue.diagnostics, strlen(issue.diagnostics)));
    }
}

static void test_planner_rejects_bodies(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "",
        "{",
        "[1]",
        "{\"resourceType\":\"Bundle\",\"resourceType\":\"Bundle\"}",
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"x\":\"\xc3\x28\"}",
        "{\"resourceType\":\"Bundle\\u0000\"}",
        "null"};
    for (size_t i = 0; i < CS_ARRAY_LEN(bodies); i++) {
        cs_fhir_plan_t *p = NULL;
        cs_fhir_issue_t issue;
        assert_int_equal(cs_fhir_plan_parse(bodies[i], strlen(bodies[i]), BASE, &p, &issue),
                         CS_EINVAL);
        assert_int_equal(issue.status, 400);
        assert_null(p);
    }
    /* 101 entries: too many, before any is read */
    json_t *b = bundle(&DEFAULT), *entries = json_object_get(b, "entry");
    while (json_array_size(entries) <= CS_RECORDS_MAX_ENTRIES)
        json_array_append_new(entries, json_string("x"));
    cs_fhir_issue_t issue;
    int rc;
    assert_null(plan_of(b, &issue, &rc));
    json_decref(b);
    assert_int_equal(issue.status, 422);
    assert_string_equal(issue.code, "too-costly");
}

/* ---- applying ------------------------------------------------------------------------ */

static void test_apply_once(void **state)
{
    fx_t *f = *state;
    assert_int_equal(post(f, bundle(&DEFAULT)), 200);
    assert_string_equal(json_string_value(json_object_get(f->json, "type")),
                        "transaction-response");
    char locations[3][128];
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(response_of(f, i, "status"), "201 Created");
        assert_string_equal(response_of(f, i, "etag"), "W/\"1\"");
        cs_strlcpy(locations[i], response_of(f, i, "location"), sizeof locations[i]);
    }
    assert_true(!strncmp(locations[2], "DocumentReference/", 18));
    assert_non_null(strstr(locations[2], "/_history/1"));
    assert_int_equal(post(f, bundle(&DEFAULT)), 200);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(response_of(f, i, "status"), "200 OK");
        assert_string_equal(response_of(f, i, "location"), locations[i]);
    }
    cs_records_db_t *db = f->r->db;
    assert_int_equal(cs_records_db_count(db, "DocumentReference"), 1);
    assert_int_equal(cs_records_db_count(db, "Binary"), 1);
    assert_int_equal(cs_records_db_count(db, NULL), 4);
}

static void test_failure_keeps_nothing(void **state)
{
    fx_t *f = *state;
    /* two Encounters with one identifier, so that a conditional create on it fails */
    json_t *enc = json_pack("{s:s, s:[{s:s, s:s}], s:s, s:{s:s}}", "resourceType", "Encounter",
                            "identifier", "system", BASE ":consult", "value", "dup", "status",
                            "planned", "class", "code", "VR");
    assert_int_equal(
        post(f, json_pack("{s:s, s:s, s:[o, o]}", "resourceType", "Bundle", "type", "transaction",
                          "entry", entry("urn:uuid:a", json_deep_copy(enc), "Encounter", NULL),
                          entry("urn:uuid:b", json_deep_copy(enc), "Encounter", NULL))),
        200);
    json_t *patient = json_pack("{s:s, s:[{s:s, s:s}]}", "resourceType", "Patient", "identifier",
                                "system", KIROV_PATIENT, "value", "MRN-9");
    json_t *condition = json_pack("{s:s, s:{s:{s:s, s:s}}}", "resourceType", "Condition", "subject",
                                  "identifier", "system", KIROV_PATIENT, "value", "MRN-9");
    /* the failing entry is in the middle: the one before it was already written */
    json_t *b = json_pack("{s:s, s:s, s:[o, o, o]}", "resourceType", "Bundle", "type",
                          "transaction", "entry", entry("urn:uuid:p", patient, "Patient", NULL),
                          entry("urn:uuid:e", enc, "Encounter", "identifier=" BASE ":consult|dup"),
                          entry("urn:uuid:c", condition, "Condition", NULL));
    assert_int_equal(post(f, b), 412);
    assert_non_null(strstr(diagnostics(f), "entry 1"));
    assert_int_equal(cs_records_db_count(f->r->db, "Patient"), 0);
    assert_int_equal(cs_records_db_count(f->r->db, "Condition"), 0);
    assert_int_equal(cs_records_db_count(f->r->db, "Encounter"), 2);
}

/* A write that fails half-way (a trigger makes the database refuse the
 * Condition, written after the Patient and the Encounter): 500, nothing kept. */
static void test_storage_failure_rolls_back(void **state)
{
    fx_t *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER refuse BEFORE INSERT ON resources"
                                  " WHEN NEW.type = 'Condition'"
                                  " BEGIN SELECT RAISE(ABORT, 'injected'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(post(f, bundle(&DEFAULT)), 500);
    assert_string_equal(json_string_value(json_object_get(f->json, "resourceType")),
                        "OperationOutcome");
    assert_int_equal(cs_records_db_count(f->r->db, NULL), 0);
}

/* ---- the PDF as a Binary ---------------------------------------------------------------- */

static void test_binary_externalised(void **state)
{
    fx_t *f = *state;
    char *staff = mint(f, CS_ROLE_CLINICIAN, "kirov", NULL);
    assert_int_equal(post(f, bundle(&DEFAULT)), 200);
    char path[160];
    snprintf(path, sizeof path, "/fhir/%s", response_of(f, 2, "location"));
    *strstr(path, "/_history") = '\0';
    assert_int_equal(get(f, path, NULL, staff), 200);
    json_t *att =
        json_object_get(json_array_get(json_object_get(f->json, "content"), 0), "attachment");
    assert_null(json_object_get(att, "data"));
    assert_int_equal(json_integer_value(json_object_get(att, "size")), strlen(PDF));
    assert_non_null(json_object_get(att, "hash"));
    const char *url = json_string_value(json_object_get(att, "url"));
    assert_non_null(url);
    assert_true(!strncmp(url, "Binary/", 7));
    snprintf(path, sizeof path, "/fhir/%s", url);
    assert_int_equal(get(f, path, NULL, staff), 200);
    assert_string_equal(f->resp.content_type, "application/pdf");
    assert_int_equal(f->resp.body_len, strlen(PDF));
    assert_memory_equal(f->resp.body, PDF, strlen(PDF));
    assert_int_equal(call(f, "GET", path, NULL, staff, "application/fhir+json", NULL, 0), 200);
    assert_string_equal(json_string_value(json_object_get(f->json, "resourceType")), "Binary");
    assert_string_equal(json_string_value(json_object_get(f->json, "contentType")),
                        "application/pdf");
    unsigned char *bytes;
    size_t len;
    const char *data = json_string_value(json_object_get(f->json, "data"));
    assert_int_equal(cs_fhir_base64_decode(data, strlen(data), &bytes, &len), CS_OK);
    assert_int_equal(len, strlen(PDF));
    assert_memory_equal(bytes, PDF, len);
    free(bytes);
    free(staff);
}

/* ---- the rest of the front ------------------------------------------------------------------- */

static void test_front(void **state)
{
    fx_t *f = *state;
    assert_int_equal(get(f, "/fhir/metadata", NULL, NULL), 200);
    assert_string_equal(json_string_value(json_object_get(f->json, "fhirVersion")), "4.0.1");
    assert_string_equal(json_string_value(json_object_get(f->json, "kind")), "instance");
    assert_int_equal(call(f, "DELETE", "/fhir/Patient/x", NULL, WRITER, NULL, NULL, 0), 405);
    assert_int_equal(get(f, "/fhir", NULL, WRITER), 405);
    /* the body limit, and JSON only */
    cs_records_close(f->r);
    cs_records_config_t rc = {BASE, WRITER, NULL, NULL, 4096, f->auth};
    assert_non_null(f->r = cs_records_open(f->path, &rc, NULL));
    char *big = calloc(1, 5000);
    memset(big, ' ', 4999);
    assert_int_equal(post_text(f, big, WRITER), 413);
    free(big);
    cs_http_request_t req = {.method = "POST", .path = "/fhir", .query = "",
                             .authorization = "Bearer " WRITER, .content_type = "text/plain",
                             .file_name = "", .accept = "", .body = "{}", .body_len = 2,
                             .range = ""};
    free(f->resp.body);
    memset(&f->resp, 0, sizeof f->resp);
    cs_records_handle(f->r, &req, URL, NOW, &f->resp);
    assert_int_equal(f->resp.status, 415);
    free(f->resp.body);
    memset(&f->resp, 0, sizeof f->resp);
    /* no SMART client configured */
    assert_int_equal(call(f, "POST", "/fhir/auth/token", NULL, NULL, NULL, "a=b", 3), 400);
    assert_string_equal(json_string_value(json_object_get(f->json, "error")), "invalid_client");
    /* a refused SMART key */
    cs_records_config_t smart = {BASE, WRITER, "client", "not a key", 4096, f->auth};
    int err = 0;
    assert_null(cs_records_open(f->path, &smart, &err));
    assert_int_equal(err, CS_EINVAL);
}

static void test_values(void **state)
{
    (void)state;
    char url[128];
    assert_int_equal(cs_records_base_url("https://gw.example/", true, "::", 443, url, sizeof url),
                     CS_OK);
    assert_string_equal(url, "https://gw.example/fhir");
    assert_int_equal(cs_records_base_url("https://gw.example/c", true, "::", 443, url, sizeof url),
                     CS_OK);
    assert_string_equal(url, "https://gw.example/c/fhir");
    assert_int_equal(cs_records_base_url("", false, "::1", 8080, url, sizeof url), CS_OK);
    assert_string_equal(url, "http://[::1]:8080/fhir");
    assert_int_equal(cs_records_base_url("", false, "127.0.0.1", 80, url, 8), CS_ETOOBIG);
    int64_t lo, hi;
    assert_int_equal(cs_fhir_date_range("1970-01-02", &lo, &hi), CS_OK);
    assert_true(lo == 86400000 && hi == 2 * 86400000);
    assert_int_equal(cs_fhir_date_range("2024-02", &lo, &hi), CS_OK);
    assert_int_equal(hi - lo, 29 * 86400000LL);
    assert_int_equal(cs_fhir_date_range("1970-01-01T03:00:00.5+03:00", &lo, &hi), CS_OK);
    assert_true(lo == 500 && hi == 600);
    assert_int_equal(cs_fhir_date_range("2023-02-29", &lo, &hi), CS_EINVAL);
    assert_int_equal(cs_fhir_date_range("2026-11-22T25:00Z", &lo, &hi), CS_EINVAL);
    assert_int_equal(cs_fhir_date_range("2026-11-22T10:00Zx", &lo, &hi), CS_EINVAL);
    unsigned char *b;
    size_t n;
    assert_int_equal(cs_fhir_base64_decode("aGk=\n", 5, &b, &n), CS_OK);
    assert_true(n == 2 && !memcmp(b, "hi", 2));
    free(b);
    assert_int_equal(cs_fhir_base64_decode("aGk=aGk=", 8, &b, &n), CS_EINVAL);
    assert_int_equal(cs_fhir_base64_decode("aGk", 3, &b, &n), CS_EINVAL);
    char tok[] = "sys|val|ue";
    cs_records_ident_t t;
    assert_int_equal(cs_fhir_token_parse(tok, &t), CS_OK);
    assert_string_equal(t.system, "sys");
    assert_string_equal(t.value, "val|ue");
    assert_true(cs_records_same("abc", "abc") && !cs_records_same("abc", "abd") &&
                !cs_records_same("abc", "abcd") && !cs_records_same("", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planner_accepts),
        cmocka_unit_test(test_planner_rejects_entries),
        cmocka_unit_test(test_planner_rejects_bodies),
        cmocka_unit_test(test_values),
        cmocka_unit_test_setup_teardown(test_apply_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_externalised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_front, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
