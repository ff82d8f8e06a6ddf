/*
 * test_consult_notes.c — the consult engine's rules for chat, attachments and
 * conclusions, over the real SQLite store in a temporary folder: who may
 * write and read, in which states, which files may be named where, the
 * conclusion's versions and signing, and the notices each change sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "gateway/storage/storage.h"
#include "signaling/consult/consult.h"
#include "engine_fixture.h"

typedef struct {
    engine_db_t db;
    cs_storage_t *st;
    cs_engine_t *e;
    int64_t now;
    int chat_notices, consult_notices;
    char last_chat_to[8][CS_SUBJECT_MAX];
    cs_identity_t clin, spec, spec2, coord, stranger;
    char consult_id[CS_ID_MAX];
} fx_t;

static void record(void *user, const char *tenant, const char *subject, const cs_notice_t *n)
{
    (void)tenant;
    fx_t *f = user;
    if (n->kind == CS_NOTICE_CHAT && f->chat_notices < 8)
        cs_strlcpy(f->last_chat_to[f->chat_notices++], subject, CS_SUBJECT_MAX);
    if (n->kind == CS_NOTICE_CONSULT)
        f->consult_notices++;
}

/* Uploads a small PNG-ish file for who; returns its id in out. */
static void upload(fx_t *f, const cs_identity_t *who, int n, char out[CS_ID_MAX])
{
    cs_attachment_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.ref.id, sizeof a.ref.id, "3f2a9c1e-0000-4000-8000-%012d", n);
    strcpy(a.ref.name, "ecg.png");
    strcpy(a.ref.type, "image/png");
    a.ref.size = 3;
    cs_strlcpy(a.owner, who->subject, sizeof a.owner);
    cs_strlcpy(a.owner_tenant, who->tenant, sizeof a.owner_tenant);
    strcpy(a.sha256, "00");
    a.created_at = f->now;
    assert_int_equal(cs_storage_put_attachment(f->st, &a, "abc", 3, 20), CS_OK);
    cs_strlcpy(out, a.ref.id, CS_ID_MAX);
}

/* Stands in for the gateway's PDF and FHIR rendering: signing needs a
 * document to store (and an amendment needs the signed one kept). */
static int fake_render(void *user, const cs_consult_t *c, const cs_conclusion_t *k,
                       cs_document_files_t *out)
{
    (void)user, (void)c, (void)k;
    out->language = "en";
    out->pdf = (unsigned char *)strdup("%PDF-1.5 fake");
    out->pdf_len = 13;
    out->bundle = strdup("{\"resourceType\":\"Bundle\"}");
    out->bundle_len = strlen(out->bundle);
    return CS_OK;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    engine_db_open(&f->db, "cnotes");
    f->st = f->db.st;
    cs_storage_set_renderer(f->st, fake_render, NULL);
    cs_engine_config_t cfg;
    cs_engine_config_defaults(&cfg);
    f->e = cs_engine_new(&cfg, cs_storage_store(), f->st, record, f);
    f->now = 1790000000000;
    ident(&f->clin, "clin", CS_ROLE_CLINICIAN, "kirov");
    ident(&f->spec, "spec", CS_ROLE_SPECIALIST, "kirov");
    ident(&f->spec2, "spec2", CS_ROLE_SPECIALIST, "kirov");
    ident(&f->coord, "coord", CS_ROLE_COORDINATOR, "kirov");
    ident(&f->stranger, "clin", CS_ROLE_CLINICIAN, "perm");
    const cs_identity_t *all[] = {&f->clin, &f->spec, &f->spec2, &f->coord, &f->stranger};
    for (size_t i = 0; i < CS_ARRAY_LEN(all); i++)
        assert_int_equal(cs_engine_connect(f->e, all[i], f->now), CS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    cs_engine_free(f->e);
    int rc = engine_db_close(&f->db);
    free(f);
    return rc;
}

/* A request by clin with the given attachments; CS_OK leaves its id in f. */
static int request(fx_t *f, const char (*ids)[CS_ID_MAX], int n)
{
    cs_request_t r;
    memset(&r, 0, sizeof r);
    strcpy(r.patient.id, "MRN-1");
    strcpy(r.patient.name, "Иван");
    strcpy(r.patient.birth_date, "1956-03-02");
    strcpy(r.specialty, "cardiology");
    r.urgency = CS_URGENCY_URGENT;
    strcpy(r.reason, "pain");
    memcpy(r.attachments, ids, sizeof r.attachments[0] * (size_t)n);
    r.n_attachments = n;
    const cs_consult_t *c = NULL;
    int rc = cs_engine_request(f->e, &f->clin, &r, f->now, &c);
    if (rc == CS_OK)
        cs_strlcpy(f->consult_id, c->id, sizeof f->consult_id);
    return rc;
}

static void test_request_attachments(void **state)
{
    fx_t *f = *state;
    char ids[3][CS_ID_MAX], other[1][CS_ID_MAX];
    upload(f, &f->clin, 1, ids[0]);
    upload(f, &f->clin, 2, ids[1]);
    strcpy(ids[2], "3f2a9c1e-0000-4000-8000-000000009999");
    upload(f, &f->spec, 3, other[0]);
    assert_int_equal(request(f, ids, 3), CS_ENOTFOUND);   /* an unknown id */
    assert_int_equal(request(f, other, 1), CS_ENOTFOUND); /* someone else's upload */
    assert_int_equal(request(f, ids, 2), CS_OK);
    const cs_consult_t *c = cs_engine_find(f->e, f->consult_id);
    assert_int_equal(c->n_attachments, 2);
    assert_string_equal(c->attachments[1].id, ids[1]);
    assert_int_equal(request(f, ids, 1), CS_EEXIST); /* already part of a consult */

    /* who may read it: its consult's viewers, not another centre */
    cs_attachment_t a;
    assert_int_equal(cs_storage_get_attachment(f->st, ids[0], &a), CS_OK);
    assert_true(cs_engine_may_read_attachment(f->e, &f->clin, &a));
    assert_true(cs_engine_may_read_attachment(f->e, &f->coord, &a));
    assert_true(cs_engine_may_read_attachment(f->e, &f->spec, &a)); /* offered to them */
    assert_false(cs_engine_may_read_attachment(f->e, &f->stranger, &a));
    /* an unbound upload: only its owner */
    assert_int_equal(cs_storage_get_attachment(f->st, other[0], &a), CS_OK);
    assert_true(cs_engine_may_read_attachment(f->e, &f->spec, &a));
    assert_false(cs_engine_may_read_attachment(f->e, &f->clin, &a));
    assert_false(cs_engine_may_read_attachment(f->e, &f->coord, &a));
}

static void test_chat_rules(void **state)
{
    fx_t *f = *state;
    char none[1][CS_ID_MAX], mine[1][CS_ID_MAX], theirs[1][CS_ID_MAX];
    assert_int_equal(request(f, none, 0), CS_OK);
    cs_chat_message_t m;
    const char *field = NULL;
    const char *id = f->consult_id;
    /* not yet accepted */
    assert_int_equal(cs_engine_chat(f->e, &f->clin, id, "hi", none, 0, f->now, &m, &field),
                     CS_ESTATE);
    assert_int_equal(cs_engine_accept(f->e, &f->spec, id, f->now, NULL), CS_OK);
    f->chat_notices = 0;
    assert_int_equal(cs_engine_chat(f->e, &f->clin, id, "hi", none, 0, f->now, &m, &field),
                     CS_OK);
    assert_int_equal(m.seq, 1);
    assert_int_equal(m.from_role, CS_ROLE_CLINICIAN);
    assert_int_equal(f->chat_notices, 3); /* both participants and the coordinator */
    assert_string_equal(f->last_chat_to[2], "coord");
    /* a coordinator sees the consult but does not take part; a stranger does not see it */
    assert_int_equal(cs_engine_chat(f->e, &f->coord, id, "x", none, 0, f->now, &m, &field),
                     CS_EPERM);
    assert_int_equal(cs_engine_chat(f->e, &f->stranger, id, "x", none, 0, f->now, &m, &field),
                     CS_ENOTFOUND);
    assert_int_equal(cs_engine_chat(f->e, &f->clin, id, "", none, 0, f->now, &m, &field),
                     CS_EINVAL);
    assert_string_equal(field, "text");
    /* files: one's own, bound here by the message; not someone else's */
    upload(f, &f->spec, 10, mine[0]);
    upload(f, &f->clin, 11, theirs[0]);
    assert_int_equal(cs_engine_chat(f->e, &f->spec, id, "", theirs, 1, f->now, &m, &field),
                     CS_ENOTFOUND);
    assert_string_equal(field, "attachments");
    assert_int_equal(cs_engine_chat(f->e, &f->spec, id, "", mine, 1, f->now, &m, &field), CS_OK);
    assert_int_equal(m.n_attachments, 1);
    assert_int_equal(m.seq, 2);
    assert_int_equal(cs_engine_chat(f->e, &f->spec, id, "again", mine, 1, f->now, &m, &field),
                     CS_OK);
    cs_chat_message_t *h = calloc(10, sizeof *h);
    assert_int_equal(cs_engine_chat_history(f->e, &f->coord, id, 0, h, 10), 3);
    assert_string_equal(h[2].text, "again");
    assert_int_equal(cs_engine_chat_history(f->e, &f->stranger, id, 0, h, 10), CS_ENOTFOUND);
    free(h);
    assert_int_equal(cs_engine_end(f->e, &f->spec, id, f->now, NULL), CS_OK);
    assert_int_equal(cs_engine_chat(f->e, &f->clin, id, "late", none, 0, f->now, &m, &field),
                     CS_ESTATE);
}

static void test_conclusion_rules(void **state)
{
    fx_t *f = *state;
    char none[1][CS_ID_MAX];
    assert_int_equal(request(f, none, 0), CS_OK);
    const char *id = f->consult_id;
    cs_conclusion_t *k = calloc(3, sizeof *k); /* draft, out, read back */
    const char *field = NULL;
    const cs_consult_t *c = NULL;
    /* offered to them, not yet theirs */
    assert_int_equal(cs_engine_conclusion_save(f->e, &f->spec, id, k, f->now, &k[1], &c, &field),
                     CS_EPERM);
    assert_int_equal(cs_engine_accept(f->e, &f->spec, id, f->now, NULL), CS_OK);
    assert_int_equal(cs_engine_conclusion_save(f->e, &f->clin, id, k, f->now, &k[1], &c, &field),
                     CS_EPERM);
    /* taken by a colleague: no longer theirs to see */
    assert_int_equal(cs_engine_conclusion_save(f->e, &f->spec2, id, k, f->now, &k[1], &c, &field),
                     CS_ENOTFOUND);
    strcpy(k->findings, "ST elevation");
    strcpy(k->diagnosis_code, "I21");
    assert_int_equal(cs_engine_conclusion_save(f->e, &f->spec, id, k, f->now, &k[1], &c, &field),
                     CS_OK);
    assert_int_equal(k[1].summary.version, 1);
    assert_int_equal(c->conclusion.status, CS_CONCLUSION_DRAFT);
    /* a draft is its author's only */
    assert_int_equal(cs_engine_conclusion_get(f->e, &f->clin, id, &k[2]), 0);
    assert_int_equal(cs_engine_conclusion_get(f->e, &f->spec, id, &k[2]), 1);
    assert_string_equal(k[2].findings, "ST elevation");
    /* incomplete: signing names the empty part; a stale version is refused */
    assert_int_equal(cs_engine_conclusion_sign(f->e, &f->spec, id, 1, f->now, &k[1], &c, &field),
                     CS_EINVAL);
    assert_string_equal(field, "diagnosis.text");
    strcpy(k->diagnosis_text, "Acute MI");
    strcpy(k->recommendations, "PCI");
    f->now += 1000;
    assert_int_equal(cs_engine_conclusion_save(f->e, &f->spec, id, k, f->now, &k[1], &c, &field),
                     CS_OK);
    assert_int_equal(cs_engine_conclusion_sign(f->e, &f->spec, id, 1, f->now, &k[1], &c, &field),
                     CS_ESTATE);
    assert_string_equal(field, "version");
    assert_int_equal(cs_engine_end(f->e, &f->spec, id, f->now, NULL), CS_OK); /* signing after the call */
    f->consult_notices = 0;
    assert_int_equal(cs_engine_conclusion_sign(f->e, &f->spec, id, 2, f->now, &k[1], &c, &field),
                     CS_OK);
    assert_int_equal(k[1].summary.status, CS_CONCLUSION_SIGNED);
    assert_int_equal(k[1].summary.signed_at, f->now);
    assert_true(f->consult_notices >= 2); /* clinician, specialist, coordinator */
    assert_int_equal(cs_engine_conclusion_get(f->e, &f->clin, id, &k[2]), 1);
    assert_string_equal(k[2].recommendations, "PCI");
    assert_int_equal(cs_engine_conclusion_get(f->e, &f->stranger, id, &k[2]), CS_ENOTFOUND);
    /* signing made a document, owed to the record */
    assert_true(cs_uuid_shaped(c->conclusion.document_id));
    assert_string_equal(c->conclusion.replaces, "");
    assert_int_equal(c->conclusion.signed_version, 2);
    assert_int_equal(c->conclusion.delivery.state, CS_DELIVERY_PENDING);
    assert_string_equal(k[2].summary.document_id, c->conclusion.document_id);
    char first[CS_ID_MAX];
    cs_strlcpy(first, c->conclusion.document_id, sizeof first);
    assert_int_equal(cs_engine_conclusion_sign(f->e, &f->spec, id, 2, f->now, &k[1], &c, &field),
                     CS_ESTATE);
    /* only the consult's specialist amends */
    assert_int_equal(cs_engine_conclusion_save(f->e, &f->clin, id, k, f->now, &k[1], &c, &field),
                     CS_EPERM);

    /* an amendment: a draft over the signed version, which the others keep reading */
    f->now += 1000;
    strcpy(k->recommendations, "PCI, then cardiac rehabilitation");
    assert_int_equal(cs_engine_conclusion_save(f->e, &f->spec, id, k, f->now, &k[1], &c, &field),
                     CS_OK);
    assert_int_equal(k[1].summary.version, 3);
    assert_int_equal(c->conclusion.status, CS_CONCLUSION_DRAFT);
    assert_int_equal(c->conclusion.signed_version, 2);
    assert_string_equal(c->conclusion.document_id, first);
    assert_int_equal(cs_engine_conclusion_get(f->e, &f->clin, id, &k[2]), 1);
    assert_int_equal(k[2].summary.status, CS_CONCLUSION_SIGNED);
    assert_int_equal(k[2].summary.version, 2);
    assert_string_equal(k[2].recommendations, "PCI");
    assert_string_equal(k[2].summary.document_id, first);
    assert_int_equal(cs_engine_conclusion_get(f->e, &f->spec, id, &k[2]), 1);
    assert_int_equal(k[2].summary.status, CS_CONCLUSION_DRAFT);
    assert_string_equal(k[2].recommendations, "PCI, then cardiac rehabilitation");
    /* signed, it replaces the first document */
    assert_int_equal(cs_engine_conclusion_sign(f->e, &f->spec, id, 3, f->now, &k[1], &c, &field),
                     CS_OK);
    assert_true(cs_uuid_shaped(c->conclusion.document_id));
    assert_string_not_equal(c->conclusion.document_id, first);
    assert_string_equal(c->conclusion.replaces, first);
    assert_int_equal(c->conclusion.signed_version, 3);
    assert_int_equal(cs_engine_conclusion_get(f->e, &f->clin, id, &k[2]), 1);
    assert_string_equal(k[2].recommendations, "PCI, then cardiac rehabilitation");

    /* the delivery's progress reaches the summary, announced once */
    cs_delivery_t d = {.state = CS_DELIVERY_DONE, .attempts = 2, .delivered_at = f->now};
    f->consult_notices = 0;
    assert_int_equal(cs_engine_conclusion_delivery(f->e, id, c->conclusion.document_id, &d), CS_OK);
    assert_true(f->consult_notices >= 2);
    assert_int_equal(cs_engine_find(f->e, id)->conclusion.delivery.state, CS_DELIVERY_DONE);
    f->consult_notices = 0;
    assert_int_equal(cs_engine_conclusion_delivery(f->e, id, c->conclusion.document_id, &d), CS_OK);
    assert_int_equal(f->consult_notices, 0);
    /* the replaced document is delivered quietly; unknown consults are not found */
    assert_int_equal(cs_engine_conclusion_delivery(f->e, id, first, &d), CS_ENOTFOUND);
    assert_int_equal(cs_engine_conclusion_delivery(f->e, "nope", first, &d), CS_ENOTFOUND);

    cs_event_t ev[16];
    int n = cs_engine_history(f->e, &f->coord, id, ev, 16);
    assert_true(n >= 3);
    assert_string_equal(ev[n - 1].kind, "conclusion");
    assert_string_equal(ev[n - 1].detail, "signed v3");
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_attachments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chat_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conclusion_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
