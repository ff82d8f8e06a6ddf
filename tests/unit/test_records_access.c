/*
 * test_records_access.c — unit tests of the built-in FHIR record store's
 * reading side (records_fixture.h: a real records.db, requests through
 * cs_records_handle): searches by patient identifier, by Patient/<id>, by
 * date ranges and by identifier; a Binary named by a document's
 * attachment.url; who sees what (the patient, the custodian's and the
 * author's centres, an unrelated centre, interpreters, writers, nobody);
 * and the access_log rows every read and search leaves.
 */
#include "tests/unit/records_fixture.h"

/* A Binary posted as its own entry, named by a DocumentReference's
 * attachment.url (urn:uuid, rewritten to Binary/<id>): readable by those who
 * read the document, and only them. */
static void test_binary_entry(void **state)
{
    fx_t *f = *state;
    json_t *bin = json_pack("{s:s, s:s, s:s}", "resourceType", "Binary", "contentType",
                            "text/plain", "data", "aGVsbG8=");
    json_t *doc =
        json_pack("{s:s, s:s, s:{s:{s:s, s:s}}, s:o, s:[{s:{s:s, s:s}}]}", "resourceType",
                  "DocumentReference", "status", "current", "subject", "identifier", "system",
                  KIROV_PATIENT, "value", "MRN-5", "custodian", org("kirov"), "content",
                  "attachment", "contentType", "text/plain", "url", "urn:uuid:b");
    assert_int_equal(
        post(f, json_pack("{s:s, s:s, s:[o, o]}", "resourceType", "Bundle", "type", "transaction",
                          "entry", entry("urn:uuid:b", bin, "Binary", NULL),
                          entry("urn:uuid:d", doc, "DocumentReference", NULL))),
        200);
    char path[160];
    snprintf(path, sizeof path, "/fhir/%s", response_of(f, 0, "location"));
    *strstr(path, "/_history") = '\0';
    char *kirov = mint(f, CS_ROLE_CLINICIAN, "kirov", NULL);
    char *patient = mint(f, CS_ROLE_PATIENT, "kirov", "MRN-5");
    char *omsk = mint(f, CS_ROLE_CLINICIAN, "omsk", NULL);
    assert_int_equal(get(f, path, NULL, kirov), 200);
    assert_string_equal(f->resp.content_type, "text/plain");
    assert_int_equal(f->resp.body_len, 5);
    assert_memory_equal(f->resp.body, "hello", 5);
    assert_int_equal(get(f, path, NULL, patient), 200);
    assert_int_equal(get(f, path, NULL, omsk), 404);
    assert_int_equal(total(f, "/fhir/DocumentReference", "", kirov), 1);
    json_t *att = json_object_get(
        json_array_get(
            json_object_get(
                json_object_get(json_array_get(json_object_get(f->json, "entry"), 0), "resource"),
                "content"),
            0),
        "attachment");
    assert_string_equal(json_string_value(json_object_get(att, "url")), path + 6);
    free(kirov);
    free(patient);
    free(omsk);
}

/* ---- searches ------------------------------------------------------------------------------ */

static void test_searches(void **state)
{
    fx_t *f = *state;
    char *t = mint(f, CS_ROLE_COORDINATOR, "kirov", NULL);
    assert_int_equal(post(f, bundle(&DEFAULT)), 200);
    spec_t other = DEFAULT;
    other.consult = "c-2", other.doc = "d-2", other.patient = "MRN-2";
    other.date = "2026-12-05T10:00:00.000Z";
    other.start = "2026-12-05T09:00:00.000Z", other.end = "2026-12-05T09:45:00.000Z";
    assert_int_equal(post(f, bundle(&other)), 200);
    const char *D = "/fhir/DocumentReference", *E = "/fhir/Encounter";
    assert_int_equal(total(f, D, "", t), 2);
    assert_int_equal(total(f, D, "patient:identifier=" KIROV_PATIENT "|MRN-1", t), 1);
    assert_int_equal(total(f, D, "subject:identifier=" KIROV_PATIENT "|MRN-2", t), 1);
    assert_int_equal(total(f, D, "patient:identifier=MRN-1,MRN-2", t), 2);
    assert_int_equal(total(f, D, "identifier=urn:ietf:rfc:3986|urn:uuid:d-2", t), 1);
    assert_int_equal(total(f, E, "identifier=" BASE ":consult|c-1", t), 1);
    assert_int_equal(total(f, E, "identifier=" BASE ":consult|", t), 2);
    assert_int_equal(total(f, "/fhir/Condition", "identifier=|d-1", t), 0); /* no system */
    /* dates: the Encounter ran 09:00-09:30 on the 22nd, the document is 09:31 */
    assert_int_equal(total(f, E, "date=2026-11-22", t), 1);
    assert_int_equal(total(f, E, "date=ge2026-11-23", t), 1); /* the other one */
    assert_int_equal(total(f, E, "date=le2026-11-21", t), 0);
    assert_int_equal(total(f, E, "date=gt2026-11-21&date=lt2026-11-23", t), 1);
    assert_int_equal(total(f, E, "date=2026-11-22T09:15:00Z", t), 0); /* not within */
    assert_int_equal(total(f, D, "date=ge2026-11-22T09:31:00Z&date=le2026-11", t), 1);
    assert_int_equal(total(f, D, "date=gt2026-11-22T09:31:00Z&date=lt2026-12", t), 0);
    assert_int_equal(total(f, D, "date=2026-11-22T12:31:00+03:00", t), 1);
    assert_int_equal(total(f, D, "date=2026", t), 2);
    /* _count: the total, and only that many entries */
    assert_int_equal(total(f, D, "_count=1", t), 2);
    assert_int_equal(json_array_size(json_object_get(f->json, "entry")), 1);
    const char *full = json_string_value(
        json_object_get(json_array_get(json_object_get(f->json, "entry"), 0), "fullUrl"));
    assert_true(!strncmp(full, URL "/DocumentReference/", strlen(URL) + 19));
    /* strict: unknown parameters, modifiers and prefixes are refused */
    assert_int_equal(total(f, D, "author=x", t), -400);
    assert_int_equal(total(f, D, "identifier:text=x", t), -400);
    assert_int_equal(total(f, D, "date=ap2026", t), -400);
    assert_int_equal(total(f, "/fhir/Patient", "date=2026", t), -400);
    assert_int_equal(total(f, "/fhir/Binary", "", t), -400);
    assert_int_equal(total(f, D, "_count=x", t), -400);
    free(t);
}

/* A subject given as Patient/<id>: found by that reference and by the
 * Patient's identifiers. */
static void test_search_by_patient_reference(void **state)
{
    fx_t *f = *state;
    char *t = mint(f, CS_ROLE_CLINICIAN, "kirov", NULL);
    json_t *patient = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "resourceType", "Patient", "id",
                                "p-77", "identifier", "system", KIROV_PATIENT, "value", "MRN-77");
    json_t *doc =
        json_pack("{s:s, s:s, s:{s:s}, s:o, s:[{s:{s:s}}]}", "resourceType", "DocumentReference",
                  "status", "current", "subject", "reference", "urn:uuid:p", "custodian",
                  org("kirov"), "content", "attachment", "url", "http://elsewhere/doc.pdf");
    json_t *put = json_pack("{s:s, s:o, s:{s:s, s:s}}", "fullUrl", "urn:uuid:p", "resource",
                            patient, "request", "method", "PUT", "url", "Patient/p-77");
    assert_int_equal(
        post(f, json_pack("{s:s, s:s, s:[o, o]}", "resourceType", "Bundle", "type", "transaction",
                          "entry", put, entry("urn:uuid:d", doc, "DocumentReference", NULL))),
        200);
    assert_string_equal(response_of(f, 0, "location"), "Patient/p-77/_history/1");
    const char *D = "/fhir/DocumentReference";
    assert_int_equal(total(f, D, "patient=Patient/p-77", t), 1);
    assert_int_equal(total(f, D, "patient=p-77", t), 1);
    assert_int_equal(total(f, D, "subject=Patient/p-77", t), 1);
    assert_int_equal(total(f, D, "subject=p-77", t), -400);
    assert_int_equal(total(f, D, "patient:identifier=" KIROV_PATIENT "|MRN-77", t), 1);
    assert_int_equal(total(f, D, "patient=Patient/p-78", t), 0);
    assert_int_equal(total(f, "/fhir/Patient", "identifier=" KIROV_PATIENT "|MRN-77", t), 1);
    assert_int_equal(get(f, "/fhir/Patient/p-77", NULL, t),
                     200); /* a kirov document is about them */
    assert_int_equal(get(f, "/fhir/Patient/p-77/_history/1", NULL, t), 200);
    assert_int_equal(get(f, "/fhir/Patient/p-77/_history/2", NULL, t), 404);
    char *omsk = mint(f, CS_ROLE_CLINICIAN, "omsk", NULL);
    assert_int_equal(get(f, "/fhir/Patient/p-77", NULL, omsk), 404);
    char *self = mint(f, CS_ROLE_PATIENT, "kirov", "MRN-77");
    assert_int_equal(get(f, "/fhir/Patient/p-77", NULL, self), 200);
    assert_int_equal(total(f, D, "", self), 1);
    free(self);
    free(omsk);
    free(t);
}

/* ---- who sees what ------------------------------------------------------------------------- */

/* Reads the DocumentReference, Encounter and Binary of the posted Bundle
 * (whose paths are in paths) as who, and counts the 200s. */
static int readable(fx_t *f, char paths[3][160], const char *who)
{
    int n = 0;
    for (int i = 0; i < 3; i++) {
        int status = get(f, paths[i], NULL, who);
        assert_true(status == 200 || status == 404);
        n += status == 200;
    }
    return n;
}

static void paths_of(fx_t *f, char paths[3][160])
{
    snprintf(paths[0], 160, "/fhir/%s", response_of(f, 2, "location"));
    snprintf(paths[1], 160, "/fhir/%s", response_of(f, 0, "location"));
    *strstr(paths[0], "/_history") = '\0';
    *strstr(paths[1], "/_history") = '\0';
    char *staff = mint(f, CS_ROLE_CLINICIAN, "kirov", NULL);
    assert_int_equal(get(f, paths[0], NULL, staff), 200);
    const char *url = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(f->json, "content"), 0), "attachment"),
        "url"));
    snprintf(paths[2], 160, "/fhir/%s", url);
    free(staff);
}

static void test_visibility(void **state)
{
    fx_t *f = *state;
    assert_int_equal(post(f, bundle(&DEFAULT)), 200); /* custodian kirov, author perm */
    char paths[3][160];
    paths_of(f, paths);
    struct {
        cs_role_t role;
        const char *tenant, *patient_id;
        int readable, documents;
    } cases[] = {
        {CS_ROLE_PATIENT, "kirov", "MRN-1", 3, 1}, /* the patient */
        {CS_ROLE_PATIENT, "kirov", "MRN-2", 0, 0}, /* another patient */
        {CS_ROLE_PATIENT, "perm", "MRN-1", 0, 0},  /* same id at another centre */
        {CS_ROLE_PATIENT, "kirov", NULL, 0, 0},    /* no patient_id claim */
        {CS_ROLE_CLINICIAN, "kirov", NULL, 3, 1},  /* the custodian's centre */
        {CS_ROLE_SPECIALIST, "perm", NULL, 3, 1},  /* the author's centre */
        {CS_ROLE_COORDINATOR, "omsk", NULL, 0, 0}, /* an unrelated centre */
        {CS_ROLE_INTERPRETER, "kirov", NULL, 0, 0},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        char *t = mint(f, cases[i].role, cases[i].tenant, cases[i].patient_id);
        int n = readable(f, paths, t);
        int64_t docs = total(f, "/fhir/DocumentReference", "", t);
        if (n != cases[i].readable || docs != cases[i].documents)
            fail_msg("case %zu: %d readable, %lld documents", i, n, (long long)docs);
        free(t);
    }
    /* writers do not read; nobody reads without credentials */
    assert_int_equal(get(f, paths[0], NULL, WRITER), 403);
    assert_int_equal(get(f, paths[0], NULL, NULL), 401);
    assert_string_equal(f->resp.headers[0].name, "www-authenticate:");
    assert_int_equal(get(f, paths[0], NULL, "not-a-token"), 401);
    char *reader = mint(f, CS_ROLE_CLINICIAN, "kirov", NULL);
    assert_int_equal(post_text(f, "{}", reader), 403);
    free(reader);
}

/* ---- the access log -------------------------------------------------------------------------- */

static int64_t log_count(fx_t *f, const char *where)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM access_log WHERE %s", where);
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void test_access_log(void **state)
{
    fx_t *f = *state;
    assert_int_equal(post(f, bundle(&DEFAULT)), 200);
    char paths[3][160];
    paths_of(f, paths); /* one read */
    char *omsk = mint(f, CS_ROLE_COORDINATOR, "omsk", NULL);
    char *patient = mint(f, CS_ROLE_PATIENT, "kirov", "MRN-1");
    assert_int_equal(get(f, paths[0], NULL, omsk), 404);
    assert_int_equal(total(f, "/fhir/Encounter", "patient:identifier=MRN-1", patient), 1);
    assert_int_equal(get(f, paths[0], NULL, NULL), 401);
    assert_int_equal(get(f, paths[0], NULL, WRITER), 403);
    assert_int_equal(log_count(f, "action = 'transaction' AND role = 'writer' AND status = 200"
                                  " AND returned = 3"),
                     1);
    assert_int_equal(log_count(f, "action = 'read' AND role = 'clinician' AND tenant = 'kirov'"
                                  " AND status = 200 AND returned = 1"),
                     1);
    assert_int_equal(log_count(f, "action = 'read' AND role = 'coordinator' AND tenant = 'omsk'"
                                  " AND type = 'DocumentReference' AND status = 404"
                                  " AND returned = 0"),
                     1);
    assert_int_equal(log_count(f, "action = 'search' AND role = 'patient' AND type = 'Encounter'"
                                  " AND target = 'patient:identifier=MRN-1' AND returned = 1"),
                     1);
    assert_int_equal(log_count(f, "role = 'anonymous' AND status = 401"), 1);
    assert_int_equal(log_count(f, "role = 'writer' AND action = 'read' AND status = 403"), 1);
    assert_int_equal(log_count(f, "1"), 6);
    free(omsk);
    free(patient);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_binary_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_searches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_by_patient_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
