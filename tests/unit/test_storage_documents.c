/*
 * test_storage_documents.c — signed documents and their outbox in SQLite:
 * signing stores the document and owes its delivery in one transaction (and
 * keeps nothing when rendering fails), documents are final, an amendment is
 * a new document beside the old one, the outbox hands out what is due and
 * records each outcome, and everything survives a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "common/common.h"
#include "gateway/storage/storage.h"
#include "tests/unit/storage_fixture.h"

#define NOW_MS 1790000000000LL
#define CONSULT "0f6c2a9e-7b1d-4e8a-b3c5-2d4f6a8b9c01"
#define DOC1 "5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80"
#define DOC2 "7d1f9e4b-2a3c-4d66-8b8f-4e0a7c3b2d91"

typedef struct {
    int calls;
    int fail; /* a code to return instead of rendering */
} renderer_t;

static int render(void *user, const cs_consult_t *c, const cs_conclusion_t *k,
                  cs_document_files_t *out)
{
    renderer_t *r = user;
    r->calls++;
    if (r->fail)
        return r->fail;
    out->language = "ru";
    out->pdf_len = 9;
    out->pdf = malloc(out->pdf_len);
    memcpy(out->pdf, "%PDF-\0\1\2\3", out->pdf_len); /* a blob: NULs kept */
    if (asprintf(&out->bundle, "{\"doc\":\"%s\",\"consult\":\"%s\"}", k->summary.document_id,
                 c->id) < 0)
        out->bundle = NULL;
    out->bundle_len = strlen(out->bundle);
    return CS_OK;
}

/* Saves version `version` of the conclusion, signed with document doc
 * replacing `replaces` when doc is non-NULL, else as a draft. */
static int save(fixture_t *f, cs_consult_t *c, int version, const char *text, const char *doc,
                const char *replaces)
{
    cs_conclusion_t *k = calloc(1, sizeof *k);
    cs_event_t ev;
    fixture_event(&ev, CONSULT, "conclusion", CS_STATE_ENDED, NOW_MS);
    strcpy(k->consult_id, CONSULT);
    k->summary.status = doc ? CS_CONCLUSION_SIGNED : CS_CONCLUSION_DRAFT;
    k->summary.version = version;
    k->summary.updated_at = NOW_MS + version;
    k->summary.signed_at = doc ? NOW_MS + version : 0;
    strcpy(k->summary.author, "ivanova");
    strcpy(k->summary.author_tenant, "kirov");
    strcpy(k->summary.author_name, "Dr Elena Ivanova");
    if (doc) {
        strcpy(k->summary.document_id, doc);
        strcpy(k->summary.replaces, replaces ? replaces : "");
        k->summary.signed_version = version;
        k->summary.delivery.state = CS_DELIVERY_PENDING;
    }
    strcpy(k->findings, "Синусовый ритм.");
    strcpy(k->diagnosis_code, "I21.0");
    strcpy(k->diagnosis_text, "Инфаркт");
    cs_strlcpy(k->recommendations, text, sizeof k->recommendations);
    c->conclusion = k->summary;
    int rc = cs_storage_store()->save_conclusion(f->st, c, k, &ev);
    free(k);
    return rc;
}

static int sql_exec(fixture_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 1000);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* The fake renderer set, and the test consult stored (ended). */
static void start(fixture_t *f, renderer_t *r, cs_consult_t *c)
{
    cs_event_t ev;
    cs_storage_set_renderer(f->st, render, r);
    fixture_consult(c, CONSULT, CS_STATE_ENDED, NOW_MS);
    fixture_event(&ev, CONSULT, "conclusion", CS_STATE_ENDED, NOW_MS);
    assert_int_equal(cs_storage_store()->save_consult(f->st, c, &ev), CS_OK);
}

static void test_signing_owes_delivery(void **state)
{
    fixture_t *f = *state;
    renderer_t r = {0};
    cs_consult_t c;
    start(f, &r, &c);
    assert_int_equal(save(f, &c, 1, "PCI", NULL, NULL), CS_OK);
    assert_int_equal(r.calls, 0); /* drafts are not rendered */

    /* a renderer failure keeps nothing: still a draft, nothing owed */
    r.fail = CS_ENOMEM;
    assert_int_equal(save(f, &c, 2, "PCI", DOC1, NULL), CS_ENOMEM);
    cs_outbox_item_t it;
    assert_int_equal(cs_storage_outbox_next(f->st, NOW_MS + 100, &it), CS_ENOTFOUND);
    cs_conclusion_t got;
    assert_int_equal(cs_storage_store()->get_conclusion(f->st, CONSULT, &got), CS_OK);
    assert_int_equal(got.summary.status, CS_CONCLUSION_DRAFT);
    r.fail = 0;

    assert_int_equal(save(f, &c, 2, "PCI", DOC1, NULL), CS_OK);
    assert_int_equal(cs_storage_outbox_next(f->st, NOW_MS + 1, &it), CS_ENOTFOUND); /* due at signing */
    assert_int_equal(cs_storage_outbox_next(f->st, NOW_MS + 2, &it), CS_OK);
    assert_string_equal(it.document_id, DOC1);
    assert_string_equal(it.consult_id, CONSULT);
    assert_int_equal(it.attempts, 0);
    assert_int_equal(it.created_at, NOW_MS + 2);
    assert_non_null(strstr(it.bundle, DOC1));
    assert_int_equal(it.bundle_len, strlen(it.bundle));
    free(it.bundle);
    void *pdf = NULL;
    size_t len = 0;
    char consult[CS_ID_MAX];
    assert_int_equal(cs_storage_read_document_pdf(f->st, DOC1, consult, &pdf, &len), CS_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(pdf, "%PDF-\0\1\2\3", 9);
    assert_string_equal(consult, CONSULT);
    free(pdf);
    assert_int_equal(cs_storage_read_document_pdf(f->st, DOC2, consult, &pdf, &len), CS_ENOTFOUND);

    /* documents are final, even to a buggy caller */
    assert_int_not_equal(sql_exec(f, "UPDATE documents SET findings = 'x'"), SQLITE_OK);
    assert_int_not_equal(sql_exec(f, "DELETE FROM documents"), SQLITE_OK);
    /* a signed conclusion cannot be rewritten in place, only amended */
    assert_int_not_equal(sql_exec(f, "UPDATE conclusions SET findings = 'x'"), SQLITE_OK);
}

static void test_outbox_outcomes(void **state)
{
    fixture_t *f = *state;
    renderer_t r = {0};
    cs_consult_t c;
    start(f, &r, &c);
    assert_int_equal(save(f, &c, 1, "PCI", DOC1, NULL), CS_OK);

    cs_delivery_t d = {.state = CS_DELIVERY_PENDING, .attempts = 1, .next_attempt_at = NOW_MS + 5000};
    strcpy(d.error, "HTTP 503");
    assert_int_equal(cs_storage_outbox_update(f->st, DOC1, &d, "", NOW_MS + 10), CS_OK);
    cs_outbox_item_t it;
    assert_int_equal(cs_storage_outbox_next(f->st, NOW_MS + 4999, &it), CS_ENOTFOUND);
    assert_int_equal(cs_storage_outbox_next(f->st, NOW_MS + 5000, &it), CS_OK);
    assert_int_equal(it.attempts, 1);
    free(it.bundle);
    int64_t counts[CS_DELIVERY_STATE_COUNT];
    assert_int_equal(cs_storage_outbox_counts(f->st, counts), CS_OK);
    assert_int_equal(counts[CS_DELIVERY_PENDING], 1);
    assert_int_equal(counts[CS_DELIVERY_DONE], 0);

    d = (cs_delivery_t){.state = CS_DELIVERY_DONE, .attempts = 2, .delivered_at = NOW_MS + 6000};
    assert_int_equal(cs_storage_outbox_update(f->st, DOC1, &d, "DocumentReference/9/_history/1",
                                              NOW_MS + 6000), CS_OK);
    assert_int_equal(cs_storage_outbox_next(f->st, INT64_MAX, &it), CS_ENOTFOUND);
    assert_int_equal(cs_storage_outbox_counts(f->st, counts), CS_OK);
    assert_int_equal(counts[CS_DELIVERY_DONE], 1);
    assert_int_equal(counts[CS_DELIVERY_PENDING], 0);
    /* unknown documents and bad states are refused */
    assert_int_equal(cs_storage_outbox_update(f->st, DOC2, &d, "", NOW_MS), CS_ENOTFOUND);
    d.state = CS_DELIVERY_NONE;
    assert_int_equal(cs_storage_outbox_update(f->st, DOC1, &d, "", NOW_MS), CS_EINVAL);
}

static int keep_consult(void *user, const cs_consult_t *c)
{
    *(cs_consult_t *)user = *c;
    return CS_OK;
}

static void test_amendment_and_restart(void **state)
{
    fixture_t *f = *state;
    renderer_t r = {0};
    cs_consult_t c;
    start(f, &r, &c);
    assert_int_equal(save(f, &c, 1, "PCI", DOC1, NULL), CS_OK);
    /* the amendment's draft: the conclusion row becomes a draft again, the
     * signed text stays readable from the document */
    assert_int_equal(save(f, &c, 2, "PCI and rehabilitation", NULL, NULL), CS_OK);
    cs_conclusion_t got;
    assert_int_equal(cs_storage_store()->get_conclusion(f->st, CONSULT, &got), CS_OK);
    assert_int_equal(got.summary.status, CS_CONCLUSION_DRAFT);
    assert_string_equal(got.recommendations, "PCI and rehabilitation");
    assert_int_equal(cs_storage_store()->get_signed_conclusion(f->st, CONSULT, &got), CS_OK);
    assert_int_equal(got.summary.status, CS_CONCLUSION_SIGNED);
    assert_int_equal(got.summary.version, 1);
    assert_string_equal(got.recommendations, "PCI");
    assert_string_equal(got.findings, "Синусовый ритм.");

    assert_int_equal(save(f, &c, 3, "PCI and rehabilitation", DOC2, DOC1), CS_OK);
    assert_int_equal(cs_storage_store()->get_signed_conclusion(f->st, CONSULT, &got), CS_OK);
    assert_int_equal(got.summary.version, 3);
    int64_t counts[CS_DELIVERY_STATE_COUNT];
    assert_int_equal(cs_storage_outbox_counts(f->st, counts), CS_OK);
    assert_int_equal(counts[CS_DELIVERY_PENDING], 2); /* both are owed */
    cs_delivery_t d = {.state = CS_DELIVERY_FAILED, .attempts = 1};
    strcpy(d.error, "refused by the record system: bad subject");
    assert_int_equal(cs_storage_outbox_update(f->st, DOC2, &d, "", NOW_MS + 50), CS_OK);

    /* after a restart the summary names the last document and its delivery */
    reopen(f);
    cs_consult_t loaded;
    memset(&loaded, 0, sizeof loaded);
    cs_storage_loader_t l = {.consult = keep_consult};
    assert_int_equal(cs_storage_load(f->st, &l, &loaded, NOW_MS, 3600000), CS_OK);
    const cs_conclusion_summary_t *s = &loaded.conclusion;
    assert_int_equal(s->status, CS_CONCLUSION_SIGNED);
    assert_int_equal(s->version, 3);
    assert_int_equal(s->signed_version, 3);
    assert_string_equal(s->document_id, DOC2);
    assert_string_equal(s->replaces, DOC1);
    assert_int_equal(s->delivery.state, CS_DELIVERY_FAILED);
    assert_int_equal(s->delivery.attempts, 1);
    assert_string_equal(s->delivery.error, "refused by the record system: bad subject");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signing_owes_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amendment_and_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
