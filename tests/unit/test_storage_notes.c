/*
 * test_storage_notes.c — unit tests of gateway/storage's attachments, chat
 * and conclusions: an upload round trip with its bytes, the unbound limit and
 * clean-up, binding by a request (and refusing a second binding), chat
 * numbering and paging with attachments, conclusion drafts, a signed
 * conclusion that the database itself refuses to change, and everything
 * loaded back after a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway/storage/storage.h"
#include "storage_fixture.h"

#define NOW_MS INT64_C(1790000000000)
#define CONSULT "9b2c1f7e-3d0a-4c55-8e0b-0f3a6f1d2c44"

static void make_attachment(cs_attachment_t *a, int n, const char *owner, size_t size)
{
    memset(a, 0, sizeof *a);
    snprintf(a->ref.id, sizeof a->ref.id, "3f2a9c1e-0000-4000-8000-%012d", n);
    snprintf(a->ref.name, sizeof a->ref.name, "ECG %d.png", n);
    strcpy(a->ref.type, "image/png");
    a->ref.size = (int64_t)size;
    strcpy(a->owner, owner);
    strcpy(a->owner_tenant, "kirov");
    strcpy(a->sha256, "00");
    a->created_at = NOW_MS - n;
}

/* Stores the test consult (fixture_consult) with a first event; c is filled. */
static void save_test_consult(fixture_t *f, cs_consult_t *c)
{
    cs_event_t ev;
    fixture_consult(c, CONSULT, CS_STATE_IN_PROGRESS, NOW_MS);
    fixture_event(&ev, CONSULT, "state", CS_STATE_IN_PROGRESS, NOW_MS);
    assert_int_equal(cs_storage_store()->save_consult(f->st, c, &ev), CS_OK);
}

typedef struct {
    cs_consult_t c;
    int n;
} one_consult_t;

static int keep_consult(void *user, const cs_consult_t *c)
{
    one_consult_t *o = user;
    o->c = *c;
    o->n++;
    return CS_OK;
}

static void test_attachment_round_trip_and_limits(void **state)
{
    fixture_t *f = *state;
    unsigned char bytes[300];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)i; /* NULs included: stored as a blob */
    cs_attachment_t a, back;
    make_attachment(&a, 1, "petrova", sizeof bytes);
    assert_int_equal(cs_storage_put_attachment(f->st, &a, bytes, sizeof bytes, 2), CS_OK);
    assert_int_equal(cs_storage_put_attachment(f->st, &a, bytes, sizeof bytes, 2), CS_EEXIST);
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(cs_storage_get_attachment(f->st, a.ref.id, &back), CS_OK);
    assert_int_equal(cs_storage_read_attachment(f->st, a.ref.id, &data, &len), CS_OK);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(data, bytes, sizeof bytes);
    free(data);
    assert_string_equal(back.ref.name, "ECG 1.png");
    assert_string_equal(back.owner, "petrova");
    assert_string_equal(back.consult_id, "");
    assert_int_equal(back.ref.size, sizeof bytes);
    assert_int_equal(cs_storage_get_attachment(f->st, "3f2a9c1e-0000-4000-8000-999999999999", &back),
                     CS_ENOTFOUND);
    /* size must match, nothing empty */
    make_attachment(&a, 2, "petrova", 10);
    assert_int_equal(cs_storage_put_attachment(f->st, &a, bytes, 11, 2), CS_EINVAL);
    /* at most 2 unbound per owner: a third waits; another owner is not counted */
    assert_int_equal(cs_storage_put_attachment(f->st, &a, bytes, 10, 2), CS_OK);
    make_attachment(&a, 3, "petrova", 10);
    assert_int_equal(cs_storage_put_attachment(f->st, &a, bytes, 10, 2), CS_ELIMIT);
    make_attachment(&a, 4, "sidorov", 10);
    assert_int_equal(cs_storage_put_attachment(f->st, &a, bytes, 10, 2), CS_OK);
    /* clean-up deletes only the old unbound ones (created at NOW-1, NOW-2, NOW-4) */
    assert_int_equal(cs_storage_prune_attachments(f->st, NOW_MS - 3), 1);
    assert_int_equal(cs_storage_prune_attachments(f->st, NOW_MS), 2);
}

static void test_request_binds_attachments(void **state)
{
    fixture_t *f = *state;
    const cs_store_t *store = cs_storage_store();
    unsigned char b[4] = {1, 2, 3, 4};
    cs_attachment_t a1, a2;
    make_attachment(&a1, 1, "petrova", 4);
    make_attachment(&a2, 2, "petrova", 4);
    assert_int_equal(cs_storage_put_attachment(f->st, &a1, b, 4, 20), CS_OK);
    assert_int_equal(cs_storage_put_attachment(f->st, &a2, b, 4, 20), CS_OK);
    cs_consult_t c;
    cs_event_t ev;
    fixture_consult(&c, CONSULT, CS_STATE_IN_PROGRESS, NOW_MS);
    fixture_event(&ev, CONSULT, "state", CS_STATE_IN_PROGRESS, NOW_MS);
    c.attachments[0] = a2.ref;
    c.attachments[1] = a1.ref;
    c.n_attachments = 2;
    assert_int_equal(store->save_consult(f->st, &c, &ev), CS_OK);
    assert_int_equal(store->save_consult(f->st, &c, &ev), CS_OK); /* saving again is fine */
    cs_attachment_t back;
    assert_int_equal(store->get_attachment(f->st, a1.ref.id, &back), CS_OK);
    assert_string_equal(back.consult_id, CONSULT);
    /* bound files are never cleaned up */
    assert_int_equal(cs_storage_prune_attachments(f->st, NOW_MS + 1), 0);

    /* a second consult naming a bound file is refused whole */
    cs_consult_t other = c;
    strcpy(other.id, "9b2c1f7e-3d0a-4c55-8e0b-000000000002");
    ev.consult_id[0] = '\0';
    assert_int_equal(store->save_consult(f->st, &other, &ev), CS_ESTORAGE);

    reopen(f);
    one_consult_t o = {.n = 0};
    cs_storage_loader_t l = {.consult = keep_consult};
    assert_int_equal(cs_storage_load(f->st, &l, &o, NOW_MS, 3600000), CS_OK);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.c.n_attachments, 2);
    assert_string_equal(o.c.attachments[0].id, a2.ref.id); /* in the request's order */
    assert_string_equal(o.c.attachments[1].name, "ECG 1.png");
    assert_int_equal(o.c.attachments[1].size, 4);
    assert_int_equal(o.c.conclusion.status, CS_CONCLUSION_NONE);
}

static void test_chat_numbering_paging_attachments(void **state)
{
    fixture_t *f = *state;
    const cs_store_t *store = cs_storage_store();
    cs_consult_t c;
    cs_event_t ev;
    save_test_consult(f, &c);
    unsigned char b[4] = {1, 2, 3, 4};
    cs_attachment_t a;
    make_attachment(&a, 7, "petrova", 4);
    assert_int_equal(cs_storage_put_attachment(f->st, &a, b, 4, 20), CS_OK);

    cs_chat_message_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    for (int i = 1; i <= 5; i++) {
        memset(m, 0, sizeof *m);
        snprintf(m->id, sizeof m->id, "c81d0000-0000-4000-8000-%012d", i);
        strcpy(m->consult_id, CONSULT);
        strcpy(m->from, "petrova");
        strcpy(m->from_tenant, "kirov");
        strcpy(m->from_name, "Анна");
        m->from_role = CS_ROLE_CLINICIAN;
        m->at = NOW_MS + i;
        snprintf(m->text, sizeof m->text, "message %d\nsecond line", i);
        if (i == 3) { /* the same file twice in the consult is fine */
            m->attachments[0] = a.ref;
            m->n_attachments = 1;
        }
        if (i == 4) {
            m->attachments[0] = a.ref;
            m->n_attachments = 1;
        }
        assert_int_equal(store->save_chat(f->st, m), CS_OK);
        assert_int_equal(m->seq, i);
    }
    free(m);

    cs_chat_message_t *out = calloc(8, sizeof *out);
    assert_non_null(out);
    assert_int_equal(store->list_chat(f->st, CONSULT, 0, out, 8), 5);
    assert_int_equal(out[0].seq, 1);
    assert_string_equal(out[4].text, "message 5\nsecond line");
    assert_int_equal(out[2].n_attachments, 1);
    assert_string_equal(out[2].attachments[0].name, "ECG 7.png");
    assert_int_equal(out[3].n_attachments, 1);
    assert_int_equal(out[0].from_role, CS_ROLE_CLINICIAN);
    /* the last 2, then the 2 before seq 4 */
    assert_int_equal(store->list_chat(f->st, CONSULT, 0, out, 2), 2);
    assert_int_equal(out[0].seq, 4);
    assert_int_equal(store->list_chat(f->st, CONSULT, 4, out, 2), 2);
    assert_int_equal(out[0].seq, 2);
    assert_int_equal(out[1].seq, 3);
    assert_int_equal(store->list_chat(f->st, "9b2c1f7e-3d0a-4c55-8e0b-000000000009", 0, out, 8), 0);

    /* a message naming another consult's file is refused, nothing kept */
    cs_consult_t c2 = c;
    strcpy(c2.id, "9b2c1f7e-3d0a-4c55-8e0b-000000000002");
    fixture_event(&ev, CONSULT, "state", CS_STATE_IN_PROGRESS, NOW_MS);
    strcpy(ev.consult_id, c2.id);
    assert_int_equal(store->save_consult(f->st, &c2, &ev), CS_OK);
    memset(&out[0], 0, sizeof out[0]);
    strcpy(out[0].id, "c81d0000-0000-4000-8000-000000000099");
    strcpy(out[0].consult_id, c2.id);
    strcpy(out[0].from, "petrova");
    out[0].attachments[0] = a.ref;
    out[0].n_attachments = 1;
    assert_int_equal(store->save_chat(f->st, &out[0]), CS_ESTORAGE);
    assert_int_equal(store->list_chat(f->st, c2.id, 0, out, 8), 0);
    free(out);
}

static void test_conclusion_draft_sign_final(void **state)
{
    fixture_t *f = *state;
    const cs_store_t *store = cs_storage_store();
    cs_consult_t c;
    cs_event_t ev;
    save_test_consult(f, &c);
    cs_conclusion_t *k = calloc(2, sizeof *k);
    assert_non_null(k);
    assert_int_equal(store->get_conclusion(f->st, CONSULT, &k[1]), CS_ENOTFOUND);
    strcpy(k->consult_id, CONSULT);
    k->summary.status = CS_CONCLUSION_DRAFT;
    k->summary.version = 1;
    k->summary.updated_at = NOW_MS;
    strcpy(k->summary.author, "ivanova");
    strcpy(k->summary.author_tenant, "kirov");
    strcpy(k->summary.author_name, "Dr Elena Ivanova");
    strcpy(k->findings, "Синусовый ритм.\nST ↑ V2–V4.");
    strcpy(k->diagnosis_code, "I21.0");
    strcpy(k->diagnosis_text, "Острый трансмуральный инфаркт передней стенки");
    strcpy(k->recommendations, "PCI");
    c.conclusion = k->summary;
    fixture_event(&ev, CONSULT, "conclusion", CS_STATE_IN_PROGRESS, NOW_MS);
    assert_int_equal(store->save_conclusion(f->st, &c, k, &ev), CS_OK);
    k->summary.version = 2;
    strcpy(k->recommendations, "PCI within 90 minutes");
    c.conclusion = k->summary;
    assert_int_equal(store->save_conclusion(f->st, &c, k, &ev), CS_OK);
    assert_int_equal(store->get_conclusion(f->st, CONSULT, &k[1]), CS_OK);
    assert_int_equal(k[1].summary.version, 2);
    assert_string_equal(k[1].recommendations, "PCI within 90 minutes");
    assert_string_equal(k[1].findings, "Синусовый ритм.\nST ↑ V2–V4.");

    k->summary.status = CS_CONCLUSION_SIGNED;
    k->summary.signed_at = NOW_MS + 5;
    c.conclusion = k->summary;
    assert_int_equal(store->save_conclusion(f->st, &c, k, &ev), CS_OK);
    /* signed is final: a further save is refused by the database itself */
    k->summary.status = CS_CONCLUSION_DRAFT;
    k->summary.version = 3;
    strcpy(k->findings, "rewritten");
    c.conclusion = k->summary;
    assert_int_equal(store->save_conclusion(f->st, &c, k, &ev), CS_ESTORAGE);
    assert_int_equal(store->get_conclusion(f->st, CONSULT, &k[1]), CS_OK);
    assert_int_equal(k[1].summary.status, CS_CONCLUSION_SIGNED);
    assert_string_equal(k[1].findings, "Синусовый ритм.\nST ↑ V2–V4.");
    assert_int_equal(cs_storage_count_events(f->st, CONSULT), 4);

    reopen(f);
    one_consult_t o = {.n = 0};
    cs_storage_loader_t l = {.consult = keep_consult};
    assert_int_equal(cs_storage_load(f->st, &l, &o, NOW_MS, 3600000), CS_OK);
    assert_int_equal(o.c.conclusion.status, CS_CONCLUSION_SIGNED);
    assert_int_equal(o.c.conclusion.version, 2);
    assert_int_equal(o.c.conclusion.signed_at, NOW_MS + 5);
    assert_string_equal(o.c.conclusion.author_name, "Dr Elena Ivanova");
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attachment_round_trip_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_binds_attachments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chat_numbering_paging_attachments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conclusion_draft_sign_final, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
