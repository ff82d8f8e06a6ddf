/*
 * test_consult_recording.c — the consent rules of recording a consult, over
 * the real SQLite store in a temporary folder: who may ask, stop and answer,
 * when it starts (everyone present consented), late joiners, refusals, the
 * end of the consult, the hook the gateway listens to, a restart (the
 * record comes back; recover stops what was on), and the files' queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway/storage/storage.h"
#include "signaling/consult/consult.h"
#include "engine_fixture.h"

typedef struct {
    engine_db_t db;
    cs_storage_t *st;
    cs_engine_t *e;
    int64_t now;
    int hooks;
    cs_recording_state_t hooked_state;
    cs_identity_t clin, spec, coord, other_coord, guest;
    char consult_id[CS_ID_MAX];
} fx_t;

static void notice(void *user, const char *tenant, const char *subject, const cs_notice_t *n)
{
    (void)user, (void)tenant, (void)subject, (void)n;
}

static void hook(void *user, const cs_consult_t *c)
{
    fx_t *f = user;
    f->hooks++;
    f->hooked_state = c->recording.state;
}

static cs_engine_t *engine(fx_t *f)
{
    cs_engine_config_t cfg;
    cs_engine_config_defaults(&cfg);
    cs_engine_t *e = cs_engine_new(&cfg, cs_storage_store(), f->st, notice, f);
    cs_engine_set_recording_hook(e, hook, f);
    return e;
}

static int load_consult(void *e, const cs_consult_t *c)
{
    return cs_engine_load_consult(e, c);
}

static int load_user(void *e, const cs_user_t *u)
{
    return cs_engine_load_user(e, u);
}

static int load_invite(void *e, const cs_invite_t *inv)
{
    return cs_engine_load_invite(e, inv);
}

/* A consult between clin and spec, both in the room (in progress). */
static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    engine_db_open(&f->db, "crec");
    f->st = f->db.st;
    f->e = engine(f);
    f->now = 1790000000000;
    ident(&f->clin, "clin", CS_ROLE_CLINICIAN, "kirov");
    ident(&f->spec, "spec", CS_ROLE_SPECIALIST, "kirov");
    ident(&f->coord, "coord", CS_ROLE_COORDINATOR, "kirov");
    ident(&f->other_coord, "coord", CS_ROLE_COORDINATOR, "perm");
    ident(&f->guest, "interp", CS_ROLE_INTERPRETER, "kirov");
    const cs_identity_t *all[] = {&f->clin, &f->spec, &f->coord, &f->other_coord, &f->guest};
    for (size_t i = 0; i < CS_ARRAY_LEN(all); i++)
        assert_int_equal(cs_engine_connect(f->e, all[i], f->now), CS_OK);
    cs_request_t r;
    memset(&r, 0, sizeof r);
    strcpy(r.patient.id, "MRN-1");
    strcpy(r.patient.name, "Иван");
    strcpy(r.patient.birth_date, "1956-03-02");
    strcpy(r.specialty, "cardiology");
    r.urgency = CS_URGENCY_URGENT;
    strcpy(r.reason, "pain");
    const cs_consult_t *c = NULL;
    assert_int_equal(cs_engine_request(f->e, &f->clin, &r, f->now, &c), CS_OK);
    cs_strlcpy(f->consult_id, c->id, sizeof f->consult_id);
    assert_int_equal(cs_engine_accept(f->e, &f->spec, f->consult_id, f->now, NULL), CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->clin, f->consult_id, f->now, NULL), CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->spec, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(c->state, CS_STATE_IN_PROGRESS);
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

static const cs_recording_consent_t *consent(const cs_consult_t *c, const char *subject)
{
    for (int i = 0; i < c->recording.n_consents; i++)
        if (!strcmp(c->recording.consents[i].subject, subject))
            return &c->recording.consents[i];
    return NULL;
}

static void test_ask_consent_start_stop(void **state)
{
    fx_t *f = *state;
    const cs_consult_t *c = cs_engine_find(f->e, f->consult_id);
    assert_null(consent(c, "clin"));
    assert_int_equal(c->recording.state, CS_RECORDING_OFF);
    /* a clinician may not ask by default; another centre's coordinator sees nothing */
    assert_int_equal(cs_engine_recording_start(f->e, &f->clin, f->consult_id, f->now, NULL),
                     CS_EPERM);
    assert_int_equal(
        cs_engine_recording_start(f->e, &f->other_coord, f->consult_id, f->now, NULL),
        CS_ENOTFOUND);
    f->now += 1000;
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_CONSENT);
    assert_string_equal(c->recording.requested_by, "spec");
    assert_int_equal(consent(c, "spec")->answer, CS_CONSENT_GIVEN);   /* asking is consenting */
    assert_int_equal(consent(c, "clin")->answer, CS_CONSENT_PENDING);
    assert_int_equal(c->recording.n_files, 0);
    assert_int_equal(f->hooked_state, CS_RECORDING_CONSENT);
    /* asking twice, answering what was not asked */
    assert_int_equal(cs_engine_recording_start(f->e, &f->coord, f->consult_id, f->now, NULL),
                     CS_ESTATE);
    assert_int_equal(
        cs_engine_recording_consent(f->e, &f->spec, f->consult_id, true, f->now, NULL),
        CS_ESTATE);
    assert_int_equal(
        cs_engine_recording_consent(f->e, &f->coord, f->consult_id, true, f->now, NULL),
        CS_EPERM);
    /* the last consent starts it: one file, recording */
    f->now += 1000;
    assert_int_equal(
        cs_engine_recording_consent(f->e, &f->clin, f->consult_id, true, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    assert_int_equal(consent(c, "clin")->at, f->now);
    assert_int_equal(c->recording.n_files, 1);
    const cs_recording_file_t *file = &c->recording.files[0];
    assert_true(cs_uuid_shaped(file->id));
    assert_int_equal(file->state, CS_RECFILE_RECORDING);
    assert_int_equal(file->started_at, f->now);
    assert_int_equal(f->hooked_state, CS_RECORDING_ON);
    /* a coordinator of its centre stops it: the file waits for processing */
    f->now += 5000;
    assert_int_equal(cs_engine_recording_stop(f->e, &f->coord, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_OFF);
    assert_int_equal(c->recording.files[0].state, CS_RECFILE_QUEUED);
    assert_int_equal(c->recording.files[0].stopped_at, f->now);
    assert_int_equal(cs_engine_recording_stop(f->e, &f->spec, f->consult_id, f->now, NULL),
                     CS_ESTATE);
    /* asked again: the consents given still hold, so it starts at once */
    assert_int_equal(cs_engine_recording_start(f->e, &f->coord, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    assert_int_equal(c->recording.n_files, 2);
    /* the audit trail has each step */
    cs_event_t ev[32];
    int n = cs_engine_history(f->e, &f->spec, f->consult_id, ev, 32);
    int requested = 0, consents = 0, stopped = 0;
    for (int i = 0; i < n; i++) {
        requested += !strcmp(ev[i].kind, "recording_requested");
        consents += !strcmp(ev[i].kind, "recording_consent");
        stopped += !strcmp(ev[i].kind, "recording_stopped");
    }
    assert_int_equal(requested, 2);
    assert_int_equal(consents, 1);
    assert_int_equal(stopped, 1);
}

static void test_refusal_and_late_joiner(void **state)
{
    fx_t *f = *state;
    const cs_consult_t *c;
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, NULL),
                     CS_OK);
    assert_int_equal(
        cs_engine_recording_consent(f->e, &f->clin, f->consult_id, false, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_OFF);   /* a refusal ends the request */
    assert_int_equal(consent(c, "clin")->answer, CS_CONSENT_REFUSED);
    assert_int_equal(c->recording.n_files, 0);
    /* asked again, the refusal is asked again */
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(consent(c, "clin")->answer, CS_CONSENT_PENDING);
    assert_int_equal(
        cs_engine_recording_consent(f->e, &f->clin, f->consult_id, true, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    /* an interpreter joins while it records: asked, the recording goes on */
    char code[CS_INVITE_CODE_MAX];
    int64_t exp;
    assert_int_equal(cs_engine_invite(f->e, &f->spec, f->consult_id, CS_ROLE_INTERPRETER,
                                      "interp", NULL, f->now, code, &exp, NULL),
                     CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->guest, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    assert_int_equal(consent(c, "interp")->answer, CS_CONSENT_PENDING);
    assert_int_equal(c->recording.n_files, 1);
    /* their refusal keeps only them out */
    assert_int_equal(
        cs_engine_recording_consent(f->e, &f->guest, f->consult_id, false, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    assert_int_equal(consent(c, "interp")->answer, CS_CONSENT_REFUSED);
    /* the end of the consult stops it */
    assert_int_equal(cs_engine_end(f->e, &f->spec, f->consult_id, f->now + 10, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_OFF);
    assert_int_equal(c->recording.files[0].state, CS_RECFILE_QUEUED);
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, NULL),
                     CS_ESTATE);
}

/* Someone who leaves while being asked no longer holds it up. */
static void test_leaver_does_not_block(void **state)
{
    fx_t *f = *state;
    const cs_consult_t *c;
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, NULL),
                     CS_OK);
    assert_int_equal(cs_engine_leave(f->e, &f->clin, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    assert_int_equal(consent(c, "clin")->answer, CS_CONSENT_PENDING);
}

static void test_disabled_and_limits(void **state)
{
    fx_t *f = *state;
    cs_engine_config_t cfg;
    cs_engine_config_defaults(&cfg);
    cfg.recording_enabled = false;
    cs_engine_t *off = cs_engine_new(&cfg, cs_storage_store(), f->st, notice, f);
    const cs_consult_t *c = cs_engine_find(f->e, f->consult_id);
    assert_int_equal(cs_engine_load_consult(off, c), CS_OK);
    assert_int_equal(cs_engine_recording_start(off, &f->spec, f->consult_id, f->now, NULL),
                     CS_EUNSUPPORTED);
    cs_engine_free(off);
    for (int i = 0; i < CS_MAX_RECORDING_FILES; i++) {
        assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, NULL),
                         CS_OK);
        assert_int_equal(
            cs_engine_recording_consent(f->e, &f->clin, f->consult_id, true, f->now, NULL),
            i == 0 ? CS_OK : CS_ESTATE);
        assert_int_equal(cs_engine_recording_stop(f->e, &f->spec, f->consult_id, f->now, NULL),
                         CS_OK);
    }
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, NULL),
                     CS_ELIMIT);
}

/* The gateway's side: a failure, a restart, progress reports. */
static void test_restart_and_files(void **state)
{
    fx_t *f = *state;
    const cs_consult_t *c;
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, NULL),
                     CS_OK);
    assert_int_equal(
        cs_engine_recording_consent(f->e, &f->clin, f->consult_id, true, f->now, &c), CS_OK);
    char file_id[CS_ID_MAX];
    cs_strlcpy(file_id, c->recording.files[0].id, sizeof file_id);
    assert_int_equal(cs_engine_recording_fail(f->e, f->consult_id, "nope", "x", true, f->now),
                     CS_ESTATE);
    /* a restart: the record comes back as it was, and recover stops it */
    cs_engine_free(f->e);
    f->e = engine(f);
    cs_storage_loader_t l = {load_consult, load_user, load_invite};
    assert_int_equal(cs_storage_load(f->st, &l, f->e, f->now, 24 * 3600 * 1000LL), CS_OK);
    c = cs_engine_find(f->e, f->consult_id);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    assert_int_equal(c->recording.n_consents, 2);
    assert_int_equal(consent(c, "clin")->answer, CS_CONSENT_GIVEN);
    assert_string_equal(c->recording.files[0].id, file_id);
    assert_int_equal(cs_engine_recording_recover(f->e, f->now + 1), 1);
    c = cs_engine_find(f->e, f->consult_id);
    assert_int_equal(c->recording.state, CS_RECORDING_OFF);
    assert_int_equal(c->recording.files[0].state, CS_RECFILE_QUEUED);
    assert_int_equal(cs_engine_recording_recover(f->e, f->now + 2), 0);
    /* the queue, and a progress report reaching the consult */
    cs_recfile_row_t rows[4];
    assert_int_equal(cs_storage_recfiles_in_state(f->st, CS_RECFILE_QUEUED, rows, 4), 1);
    assert_string_equal(rows[0].consult_id, f->consult_id);
    rows[0].file.state = CS_RECFILE_PROCESSING;
    rows[0].file.progress = 42;
    assert_int_equal(cs_storage_recfile_update(f->st, &rows[0].file), CS_OK);
    assert_int_equal(cs_engine_recording_file(f->e, f->consult_id, &rows[0].file), CS_OK);
    c = cs_engine_find(f->e, f->consult_id);
    assert_int_equal(c->recording.files[0].progress, 42);
    int64_t counts[CS_RECFILE_STATE_COUNT];
    assert_int_equal(cs_storage_recfile_counts(f->st, counts), CS_OK);
    assert_int_equal(counts[CS_RECFILE_PROCESSING], 1);
    assert_int_equal(counts[CS_RECFILE_QUEUED], 0);
    cs_recording_file_t ghost = rows[0].file;
    strcpy(ghost.id, "00000000-0000-4000-8000-000000000000");
    assert_int_equal(cs_storage_recfile_update(f->st, &ghost), CS_ENOTFOUND);
    /* a failed capture: incomplete with its reason, off for everyone (after
     * the restart nobody is in the room until they come back) */
    assert_int_equal(cs_engine_connect(f->e, &f->clin, f->now), CS_OK);
    assert_int_equal(cs_engine_connect(f->e, &f->spec, f->now), CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->clin, f->consult_id, f->now, NULL), CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->spec, f->consult_id, f->now, NULL), CS_OK);
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, NULL),
                     CS_OK);
    c = cs_engine_find(f->e, f->consult_id);
    assert_int_equal(c->recording.state, CS_RECORDING_ON);
    assert_int_equal(cs_engine_recording_fail(f->e, f->consult_id, c->recording.files[1].id,
                                              "the disk is full", true, f->now),
                     CS_OK);
    c = cs_engine_find(f->e, f->consult_id);
    assert_int_equal(c->recording.state, CS_RECORDING_OFF);
    assert_true(c->recording.files[1].incomplete);
    assert_string_equal(c->recording.files[1].error, "the disk is full");
    assert_int_equal(c->recording.files[1].state, CS_RECFILE_QUEUED);
    assert_int_equal(cs_storage_recfile_get(f->st, c->recording.files[1].id, &rows[1]), CS_OK);
    assert_true(rows[1].file.incomplete);
    /* a capture that never started keeps nothing: failed, not queued */
    assert_int_equal(cs_engine_recording_start(f->e, &f->spec, f->consult_id, f->now, &c), CS_OK);
    assert_int_equal(cs_engine_recording_fail(f->e, f->consult_id, c->recording.files[2].id,
                                              "no folder", false, f->now),
                     CS_OK);
    assert_int_equal(cs_storage_recfile_get(f->st, c->recording.files[2].id, &rows[2]), CS_OK);
    assert_int_equal(rows[2].file.state, CS_RECFILE_FAILED);
    assert_string_equal(rows[2].file.error, "no folder");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ask_consent_start_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_and_late_joiner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaver_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
