/*
 * test_consult.c — the consult engine: state machine, queue order, offers,
 * atomic acceptance, deadlines on a fake clock, tenant and role isolation,
 * invitations, and write-through to the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "signaling/consult/consult.h"

/* ---- a store that records writes and can be told to fail --------------- */

typedef struct {
    int consult_writes, user_writes, invite_writes;
    bool fail;
    cs_event_t events[256];
    int n_events;
} fake_store_t;

static int fs_save_consult(void *u, const cs_consult_t *c, const cs_event_t *ev)
{
    (void)c;
    fake_store_t *fs = u;
    if (fs->fail)
        return CS_ESTORAGE;
    fs->consult_writes++;
    if (ev && fs->n_events < 256)
        fs->events[fs->n_events++] = *ev;
    return CS_OK;
}
static int fs_save_user(void *u, const cs_user_t *usr)
{
    (void)usr;
    fake_store_t *fs = u;
    if (fs->fail)
        return CS_ESTORAGE;
    fs->user_writes++;
    return CS_OK;
}
static int fs_save_invite(void *u, const cs_invite_t *inv)
{
    (void)inv;
    fake_store_t *fs = u;
    if (fs->fail)
        return CS_ESTORAGE;
    fs->invite_writes++;
    return CS_OK;
}
static int fs_list_events(void *u, const char *id, cs_event_t *out, size_t max)
{
    fake_store_t *fs = u;
    size_t n = 0;
    for (int i = 0; i < fs->n_events && n < max; i++)
        if (!strcmp(fs->events[i].consult_id, id))
            out[n++] = fs->events[i];
    return (int)n;
}
static const cs_store_t fake_store = {.save_consult = fs_save_consult,
                                      .save_user = fs_save_user,
                                      .save_invite = fs_save_invite,
                                      .list_events = fs_list_events};

/* ---- a notice recorder ------------------------------------------------------ */

typedef struct {
    char tenant[CS_TENANT_MAX], subject[CS_SUBJECT_MAX];
    cs_notice_kind_t kind;
    char consult_id[CS_ID_MAX];
    char reason[32];
    cs_escalation_t escalation;
} notice_rec_t;

typedef struct {
    notice_rec_t n[512];
    int count;
} notices_t;

static void record(void *user, const char *tenant, const char *subject, const cs_notice_t *n)
{
    notices_t *ns = user;
    if (ns->count == 512)
        return;
    notice_rec_t *r = &ns->n[ns->count++];
    memset(r, 0, sizeof *r);
    cs_strlcpy(r->tenant, tenant, sizeof r->tenant);
    cs_strlcpy(r->subject, subject, sizeof r->subject);
    r->kind = n->kind;
    if (n->consult) {
        cs_strlcpy(r->consult_id, n->consult->id, sizeof r->consult_id);
        r->escalation = n->consult->escalation;
    }
    if (n->reason)
        cs_strlcpy(r->reason, n->reason, sizeof r->reason);
}

static int count_notices(const notices_t *ns, const char *subject, cs_notice_kind_t kind,
                         const char *reason)
{
    int k = 0;
    for (int i = 0; i < ns->count; i++)
        k += !strcmp(ns->n[i].subject, subject) && ns->n[i].kind == kind &&
             (!reason || !strcmp(ns->n[i].reason, reason));
    return k;
}

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
    cs_engine_t *e;
    fake_store_t store;
    notices_t notices;
    int64_t now;
    cs_identity_t clin, clin2, spec, spec2, neuro, coord, other_spec, other_coord, vologda_spec;
} fx_t;

static void ident(cs_identity_t *id, const char *subject, cs_role_t role, const char *tenant,
                  const char *specialty)
{
    memset(id, 0, sizeof *id);
    cs_strlcpy(id->subject, subject, sizeof id->subject);
    snprintf(id->name, sizeof id->name, "Name of %s", subject);
    id->role = role;
    cs_strlcpy(id->tenant, tenant, sizeof id->tenant);
    if (specialty)
        cs_strlcpy(id->specialties[id->n_specialties++], specialty, CS_SPECIALTY_MAX);
    id->expires_at = INT64_MAX;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    cs_engine_config_t cfg;
    cs_engine_config_defaults(&cfg);
    cs_strlcpy(cfg.routes[0].from, "kirov", CS_TENANT_MAX);
    cs_strlcpy(cfg.routes[0].to, "vologda", CS_TENANT_MAX);
    cfg.n_routes = 1;
    f->e = cs_engine_new(&cfg, &fake_store, &f->store, record, &f->notices);
    f->now = 1700000000000;
    ident(&f->clin, "clin", CS_ROLE_CLINICIAN, "kirov", NULL);
    ident(&f->clin2, "clin2", CS_ROLE_CLINICIAN, "kirov", NULL);
    ident(&f->spec, "spec", CS_ROLE_SPECIALIST, "kirov", "cardiology");
    ident(&f->spec2, "spec2", CS_ROLE_SPECIALIST, "kirov", "cardiology");
    ident(&f->neuro, "neuro", CS_ROLE_SPECIALIST, "kirov", "neurology");
    ident(&f->coord, "coord", CS_ROLE_COORDINATOR, "kirov", NULL);
    ident(&f->other_spec, "spec", CS_ROLE_SPECIALIST, "perm", "cardiology");
    ident(&f->other_coord, "coord", CS_ROLE_COORDINATOR, "perm", NULL);
    ident(&f->vologda_spec, "vspec", CS_ROLE_SPECIALIST, "vologda", "cardiology");
    const cs_identity_t *all[] = {&f->clin, &f->clin2, &f->spec, &f->spec2, &f->neuro,
                                  &f->coord, &f->other_spec, &f->other_coord, &f->vologda_spec};
    for (size_t i = 0; i < CS_ARRAY_LEN(all); i++)
        assert_int_equal(cs_engine_connect(f->e, all[i], f->now), CS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    cs_engine_free(f->e);
    free(f);
    return 0;
}

static const cs_consult_t *request(fx_t *f, const cs_identity_t *who, cs_urgency_t u,
                                   const char *specialty)
{
    cs_request_t r;
    memset(&r, 0, sizeof r);
    cs_strlcpy(r.patient.id, "SNILS-123", sizeof r.patient.id);
    cs_strlcpy(r.patient.name, "Ivan Sidorov", sizeof r.patient.name);
    cs_strlcpy(r.patient.birth_date, "1956-03-02", sizeof r.patient.birth_date);
    cs_strlcpy(r.specialty, specialty, sizeof r.specialty);
    r.urgency = u;
    r.mode = CS_MODE_REALTIME;
    cs_strlcpy(r.reason, "chest pain, ST elevation", sizeof r.reason);
    const cs_consult_t *c = NULL;
    assert_int_equal(cs_engine_request(f->e, who, &r, f->now, &c), CS_OK);
    assert_non_null(c);
    return c;
}

/* ---- tests -------------------------------------------------------------- */

static void test_request_queued_then_offered(void **state)
{
    fx_t *f = *state;
    /* Specialists start "away": nobody is offered anything yet. */
    const cs_consult_t *c = request(f, &f->clin, CS_URGENCY_URGENT, "cardiology");
    assert_int_equal(c->state, CS_STATE_REQUESTED);
    assert_int_equal(c->n_participants, 1);
    assert_int_equal(c->deadline_at, f->now + 24 * 3600 * 1000LL);
    char id[CS_ID_MAX];
    cs_strlcpy(id, c->id, sizeof id);
    assert_int_equal(count_notices(&f->notices, "spec", CS_NOTICE_OFFER, NULL), 0);
    assert_int_equal(count_notices(&f->notices, "clin", CS_NOTICE_CONSULT, NULL), 1);
    assert_int_equal(count_notices(&f->notices, "coord", CS_NOTICE_CONSULT, NULL), 1);
    /* Becoming available moves it to offered and offers it. */
    assert_int_equal(cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now), CS_OK);
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_OFFERED);
    assert_true(count_notices(&f->notices, "spec", CS_NOTICE_OFFER, NULL) >= 1);
    /* The neurologist and the other centre hear nothing. */
    assert_int_equal(count_notices(&f->notices, "neuro", CS_NOTICE_OFFER, NULL), 0);
    for (int i = 0; i < f->notices.count; i++)
        assert_string_not_equal(f->notices.n[i].tenant, "perm");
}

static void test_accept_pairs_and_withdraws(void **state)
{
    fx_t *f = *state;
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now);
    cs_engine_set_presence(f->e, &f->spec2, CS_PRESENCE_AVAILABLE, f->now);
    const cs_consult_t *c = request(f, &f->clin, CS_URGENCY_EMERGENCY, "cardiology");
    assert_int_equal(c->state, CS_STATE_OFFERED);
    char id[CS_ID_MAX];
    cs_strlcpy(id, c->id, sizeof id);
    const cs_consult_t *out = NULL;
    assert_int_equal(cs_engine_accept(f->e, &f->spec2, id, f->now + 5000, &out), CS_OK);
    assert_int_equal(out->state, CS_STATE_ACCEPTED);
    assert_string_equal(out->specialist, "spec2");
    assert_int_equal(out->n_participants, 2);
    /* Exactly one wins: the second accept is told it is taken. */
    assert_int_equal(cs_engine_accept(f->e, &f->spec, id, f->now + 5001, NULL), CS_ETAKEN);
    assert_int_equal(count_notices(&f->notices, "spec", CS_NOTICE_WITHDRAWN, "taken"), 1);
    assert_int_equal(count_notices(&f->notices, "spec2", CS_NOTICE_WITHDRAWN, NULL), 0);
    /* Presence is the specialist's own choice: accepting does not change it. */
    assert_int_equal(cs_engine_presence(f->e, "kirov", "spec2"), CS_PRESENCE_AVAILABLE);
    cs_engine_stats_t st;
    cs_engine_stats(f->e, &st);
    assert_int_equal(st.pairing_count, 1);
    assert_int_equal(st.pairing_buckets[0], 1); /* 5 s ≤ 10 s */
}

static void test_busy_specialist_hears_withdrawals(void **state)
{
    fx_t *f = *state;
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now);
    cs_engine_set_presence(f->e, &f->spec2, CS_PRESENCE_AVAILABLE, f->now);
    char id[CS_ID_MAX];
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    assert_int_equal(count_notices(&f->notices, "spec", CS_NOTICE_OFFER, NULL), 1);
    /* spec steps away: no new offers, but the one held is withdrawn when taken. */
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_BUSY, f->now);
    request(f, &f->clin, CS_URGENCY_URGENT, "cardiology");
    assert_int_equal(count_notices(&f->notices, "spec", CS_NOTICE_OFFER, NULL), 1);
    assert_int_equal(cs_engine_accept(f->e, &f->spec2, id, f->now, NULL), CS_OK);
    assert_int_equal(count_notices(&f->notices, "spec", CS_NOTICE_WITHDRAWN, "taken"), 1);
    /* Back to available: offered what is queued now (one consult), once. */
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now);
    assert_int_equal(count_notices(&f->notices, "spec", CS_NOTICE_OFFER, NULL), 2);
}

static void test_role_and_tenant_rules(void **state)
{
    fx_t *f = *state;
    cs_request_t r;
    memset(&r, 0, sizeof r);
    const cs_consult_t *out;
    /* Only clinicians request. */
    assert_int_equal(cs_engine_request(f->e, &f->spec, &r, f->now, &out), CS_EPERM);
    const cs_consult_t *c = request(f, &f->clin, CS_URGENCY_URGENT, "cardiology");
    char id[CS_ID_MAX];
    cs_strlcpy(id, c->id, sizeof id);
    /* A clinician cannot accept, a neurologist cannot take cardiology, and the
     * other centre does not even see it. */
    assert_int_equal(cs_engine_accept(f->e, &f->clin, id, f->now, NULL), CS_EPERM);
    assert_int_equal(cs_engine_accept(f->e, &f->neuro, id, f->now, NULL), CS_ENOTFOUND);
    assert_int_equal(cs_engine_accept(f->e, &f->other_spec, id, f->now, NULL), CS_ENOTFOUND);
    assert_int_equal(cs_engine_cancel(f->e, &f->other_coord, id, f->now, NULL), CS_ENOTFOUND);
    assert_int_equal(cs_engine_cancel(f->e, &f->clin2, id, f->now, NULL), CS_ENOTFOUND);
    assert_false(cs_engine_may_see(f->e, &f->other_coord, cs_engine_find(f->e, id)));
    assert_true(cs_engine_may_see(f->e, &f->coord, cs_engine_find(f->e, id)));
    /* An unknown id is not found. */
    assert_int_equal(cs_engine_accept(f->e, &f->spec, "00000000-0000-4000-8000-000000000000",
                                      f->now, NULL),
                     CS_ENOTFOUND);
    /* The owner cancels; then nothing more can happen to it. */
    assert_int_equal(cs_engine_cancel(f->e, &f->clin, id, f->now, &out), CS_OK);
    assert_int_equal(out->state, CS_STATE_CANCELLED);
    assert_int_equal(cs_engine_cancel(f->e, &f->clin, id, f->now, NULL), CS_ESTATE);
    assert_int_equal(cs_engine_join(f->e, &f->clin, id, f->now, NULL), CS_ESTATE);
}

struct order_ctx {
    char ids[16][CS_ID_MAX];
    int n;
};
static void collect(void *user, const cs_consult_t *c)
{
    struct order_ctx *o = user;
    if (o->n < 16)
        cs_strlcpy(o->ids[o->n++], c->id, CS_ID_MAX);
}

static void test_queue_order(void **state)
{
    fx_t *f = *state;
    char planned[CS_ID_MAX], urgent1[CS_ID_MAX], urgent2[CS_ID_MAX], emergency[CS_ID_MAX];
    cs_strlcpy(planned, request(f, &f->clin, CS_URGENCY_PLANNED, "cardiology")->id, CS_ID_MAX);
    f->now += 1000;
    cs_strlcpy(urgent1, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    f->now += 1000;
    cs_strlcpy(urgent2, request(f, &f->clin2, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    f->now += 1000;
    cs_strlcpy(emergency, request(f, &f->clin2, CS_URGENCY_EMERGENCY, "cardiology")->id, CS_ID_MAX);
    request(f, &f->clin2, CS_URGENCY_EMERGENCY, "neurology");
    struct order_ctx o = {0};
    cs_engine_visible(f->e, &f->spec, collect, &o);
    assert_int_equal(o.n, 4); /* not the neurology one */
    assert_string_equal(o.ids[0], emergency);
    assert_string_equal(o.ids[1], urgent1);
    assert_string_equal(o.ids[2], urgent2);
    assert_string_equal(o.ids[3], planned);
    /* The coordinator sees all five; the clinician only their own. */
    struct order_ctx oc = {0}, ocl = {0};
    cs_engine_visible(f->e, &f->coord, collect, &oc);
    assert_int_equal(oc.n, 5);
    cs_engine_visible(f->e, &f->clin, collect, &ocl);
    assert_int_equal(ocl.n, 2);
}

static void test_deadlines_escalate_and_expire(void **state)
{
    fx_t *f = *state;
    int64_t t0 = f->now;
    char id[CS_ID_MAX];
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_EMERGENCY, "cardiology")->id, CS_ID_MAX);
    cs_engine_tick(f->e, t0 + 9 * 60 * 1000);
    assert_int_equal(cs_engine_find(f->e, id)->escalation, CS_ESCALATION_NONE);
    cs_engine_tick(f->e, t0 + 10 * 60 * 1000);
    assert_int_equal(cs_engine_find(f->e, id)->escalation, CS_ESCALATION_WARNING);
    assert_int_equal(count_notices(&f->notices, "coord", CS_NOTICE_ESCALATION, NULL), 1);
    cs_engine_tick(f->e, t0 + 11 * 60 * 1000); /* no repeat */
    assert_int_equal(count_notices(&f->notices, "coord", CS_NOTICE_ESCALATION, NULL), 1);
    cs_engine_tick(f->e, t0 + 2 * 3600 * 1000);
    assert_int_equal(cs_engine_find(f->e, id)->escalation, CS_ESCALATION_OVERDUE);
    assert_int_equal(count_notices(&f->notices, "coord", CS_NOTICE_ESCALATION, NULL), 2);
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_REQUESTED);
    cs_engine_tick(f->e, t0 + 24 * 3600 * 1000);
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_EXPIRED);
    /* Finished consults leave memory after the retention time. */
    cs_engine_tick(f->e, t0 + 49 * 3600 * 1000LL);
    assert_null(cs_engine_find(f->e, id));
}

static void test_join_leave_end(void **state)
{
    fx_t *f = *state;
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now);
    char id[CS_ID_MAX];
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    assert_int_equal(cs_engine_join(f->e, &f->clin, id, f->now, NULL), CS_ESTATE);
    assert_int_equal(cs_engine_accept(f->e, &f->spec, id, f->now, NULL), CS_OK);
    const cs_consult_t *c;
    assert_int_equal(cs_engine_join(f->e, &f->clin, id, f->now, &c), CS_OK);
    assert_int_equal(c->state, CS_STATE_ACCEPTED);
    assert_int_equal(cs_engine_join(f->e, &f->spec, id, f->now + 1, &c), CS_OK);
    assert_int_equal(c->state, CS_STATE_IN_PROGRESS);
    assert_int_equal(c->started_at, f->now + 1);
    /* An outsider of the same centre cannot join or end it. */
    assert_int_equal(cs_engine_join(f->e, &f->spec2, id, f->now, NULL), CS_ENOTFOUND);
    assert_int_equal(cs_engine_end(f->e, &f->clin2, id, f->now, NULL), CS_ENOTFOUND);
    assert_int_equal(cs_engine_leave(f->e, &f->clin, id, f->now + 2, &c), CS_OK);
    assert_false(c->participants[0].present);
    assert_int_equal(cs_engine_end(f->e, &f->spec, id, f->now + 3, &c), CS_OK);
    assert_int_equal(c->state, CS_STATE_ENDED);
    /* The audit trail holds every step with its actor. */
    cs_event_t ev[32];
    int n = cs_engine_history(f->e, &f->clin, id, ev, 32);
    assert_true(n >= 6);
    assert_string_equal(ev[0].kind, "state");
    assert_int_equal(ev[0].to, CS_STATE_OFFERED);
    assert_string_equal(ev[0].actor, "clin");
    assert_string_equal(ev[n - 1].actor, "spec");
    assert_int_equal(ev[n - 1].from, CS_STATE_IN_PROGRESS);
    assert_int_equal(ev[n - 1].to, CS_STATE_ENDED);
}

static void test_storage_failure_changes_nothing(void **state)
{
    fx_t *f = *state;
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now);
    char id[CS_ID_MAX];
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    int notices_before = f->notices.count;
    f->store.fail = true;
    assert_int_equal(cs_engine_accept(f->e, &f->spec, id, f->now, NULL), CS_ESTORAGE);
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_OFFERED);
    assert_int_equal(f->notices.count, notices_before);
    cs_request_t r;
    memset(&r, 0, sizeof r);
    cs_strlcpy(r.patient.id, "p", sizeof r.patient.id);
    cs_strlcpy(r.specialty, "cardiology", sizeof r.specialty);
    cs_strlcpy(r.reason, "x", sizeof r.reason);
    assert_int_equal(cs_engine_request(f->e, &f->clin, &r, f->now, NULL), CS_ESTORAGE);
    cs_engine_stats_t st;
    cs_engine_stats(f->e, &st);
    assert_int_equal(st.consults_by_state[CS_STATE_OFFERED] + st.consults_by_state[CS_STATE_REQUESTED], 1);
    f->store.fail = false;
    assert_int_equal(cs_engine_accept(f->e, &f->spec, id, f->now, NULL), CS_OK);
}

/* What the system itself writes is not lost when the database refuses it
 * (locked): a specialist's offers and a closed connection's leave are made
 * by a later tick; a room joined again in between is not left. */
static void test_storage_refusals_retried(void **state)
{
    fx_t *f = *state;
    char id[CS_ID_MAX];
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    f->store.fail = true;
    assert_int_equal(cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now), CS_OK);
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_REQUESTED);
    cs_engine_tick(f->e, f->now + 250);
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_REQUESTED);
    assert_int_equal(count_notices(&f->notices, "spec", CS_NOTICE_OFFER, NULL), 0);
    f->store.fail = false;
    cs_engine_tick(f->e, f->now + 500);
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_OFFERED);
    assert_true(count_notices(&f->notices, "spec", CS_NOTICE_OFFER, NULL) >= 1);
    cs_engine_tick(f->e, f->now + 750);          /* nothing more to do */
    assert_int_equal(cs_engine_find(f->e, id)->state, CS_STATE_OFFERED);

    assert_int_equal(cs_engine_accept(f->e, &f->spec, id, f->now + 1000, NULL), CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->clin, id, f->now + 1000, NULL), CS_OK);
    f->store.fail = true;
    cs_engine_disconnect(f->e, &f->clin, f->now + 2000);
    assert_true(cs_engine_find(f->e, id)->participants[0].present);
    cs_engine_tick(f->e, f->now + 2250);
    assert_true(cs_engine_find(f->e, id)->participants[0].present);
    f->store.fail = false;
    cs_engine_tick(f->e, f->now + 2500);
    const cs_consult_t *c = cs_engine_find(f->e, id);
    assert_false(c->participants[0].present);
    assert_int_equal(c->participants[0].left_at, f->now + 2500);
    const cs_event_t *last = &f->store.events[f->store.n_events - 1];
    assert_string_equal(last->kind, "left");
    assert_string_equal(last->detail, "connection closed");

    /* Refused again; back and in the room before the next tick: stays. */
    assert_int_equal(cs_engine_connect(f->e, &f->clin, f->now + 3000), CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->clin, id, f->now + 3000, NULL), CS_OK);
    f->store.fail = true;
    cs_engine_disconnect(f->e, &f->clin, f->now + 4000);
    f->store.fail = false;
    assert_int_equal(cs_engine_connect(f->e, &f->clin, f->now + 4100), CS_OK);
    assert_int_equal(cs_engine_join(f->e, &f->clin, id, f->now + 4100, NULL), CS_OK);
    int writes = f->store.consult_writes;
    cs_engine_tick(f->e, f->now + 4250);
    assert_true(cs_engine_find(f->e, id)->participants[0].present);
    assert_int_equal(f->store.consult_writes, writes);
}

static void test_assign_route_decline(void **state)
{
    fx_t *f = *state;
    char id[CS_ID_MAX];
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    /* Routing: only to configured centres, only by the requesting centre. */
    assert_int_equal(cs_engine_route(f->e, &f->coord, id, "perm", f->now, NULL), CS_EPERM);
    assert_int_equal(cs_engine_route(f->e, &f->clin, id, "vologda", f->now, NULL), CS_EPERM);
    cs_engine_set_presence(f->e, &f->vologda_spec, CS_PRESENCE_AVAILABLE, f->now);
    const cs_consult_t *c;
    assert_int_equal(cs_engine_route(f->e, &f->coord, id, "vologda", f->now, &c), CS_OK);
    assert_string_equal(c->routed_to, "vologda");
    assert_int_equal(count_notices(&f->notices, "vspec", CS_NOTICE_OFFER, NULL), 1);
    /* Declining removes it from that specialist's offers. */
    assert_int_equal(cs_engine_decline(f->e, &f->vologda_spec, id, f->now), CS_OK);
    assert_int_equal(count_notices(&f->notices, "vspec", CS_NOTICE_WITHDRAWN, "declined"), 1);
    struct order_ctx o = {0};
    cs_engine_visible(f->e, &f->vologda_spec, collect, &o);
    assert_int_equal(o.n, 0);
    /* The coordinator assigns: only a specialist of the right specialty. */
    assert_int_equal(cs_engine_assign(f->e, &f->coord, id, "neuro", f->now, NULL), CS_EPERM);
    assert_int_equal(cs_engine_assign(f->e, &f->coord, id, "nobody", f->now, NULL), CS_ENOTFOUND);
    assert_int_equal(cs_engine_assign(f->e, &f->clin, id, "spec", f->now, NULL), CS_EPERM);
    assert_int_equal(cs_engine_assign(f->e, &f->coord, id, "spec2", f->now, &c), CS_OK);
    assert_int_equal(c->state, CS_STATE_ACCEPTED);
    assert_string_equal(c->specialist, "spec2");
}

static void test_invites(void **state)
{
    fx_t *f = *state;
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now);
    char id[CS_ID_MAX], code[CS_INVITE_CODE_MAX];
    int64_t exp = 0;
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    /* Not before acceptance. */
    assert_int_equal(cs_engine_invite(f->e, &f->clin, id, CS_ROLE_PATIENT, "", "Ivan", f->now,
                                      code, &exp, NULL),
                     CS_ESTATE);
    cs_engine_accept(f->e, &f->spec, id, f->now, NULL);
    const cs_consult_t *c;
    assert_int_equal(cs_engine_invite(f->e, &f->clin, id, CS_ROLE_PATIENT, "", "Ivan", f->now,
                                      code, &exp, &c),
                     CS_OK);
    assert_int_equal(strlen(code), 48);
    assert_int_equal(c->n_participants, 3);
    assert_int_equal(f->store.invite_writes, 1);
    cs_identity_t guest;
    assert_int_equal(cs_engine_redeem_invite(f->e, code, f->now, &guest), CS_OK);
    assert_int_equal(guest.role, CS_ROLE_PATIENT);
    assert_string_equal(guest.consult_scope, id);
    assert_int_equal(cs_engine_redeem_invite(f->e, "deadbeef", f->now, &guest), CS_ENOTFOUND);
    assert_int_equal(cs_engine_redeem_invite(f->e, code, exp, &guest), CS_EEXPIRED);
    assert_int_equal(cs_engine_redeem_invite(f->e, code, f->now, &guest), CS_OK);
    /* The guest can join their consult and nothing else; with the clinician
     * there, the consult is in progress. */
    assert_int_equal(cs_engine_join(f->e, &f->clin, id, f->now, &c), CS_OK);
    assert_int_equal(c->state, CS_STATE_ACCEPTED);
    assert_int_equal(cs_engine_join(f->e, &guest, id, f->now, &c), CS_OK);
    assert_int_equal(c->state, CS_STATE_IN_PROGRESS);
    assert_int_equal(cs_engine_invite(f->e, &guest, id, CS_ROLE_PATIENT, "", "x", f->now, code,
                                      &exp, NULL),
                     CS_EPERM);
    assert_int_equal(cs_engine_end(f->e, &guest, id, f->now, NULL), CS_EPERM);
    /* A second specialist is added by subject; a consilium. */
    assert_int_equal(cs_engine_invite(f->e, &f->spec, id, CS_ROLE_SPECIALIST, "neuro", "", f->now,
                                      code, &exp, &c),
                     CS_OK);
    assert_int_equal(c->n_participants, 4);
    assert_int_equal(cs_engine_invite(f->e, &f->spec, id, CS_ROLE_SPECIALIST, "neuro", "", f->now,
                                      code, &exp, NULL),
                     CS_EEXIST);
    assert_int_equal(cs_engine_join(f->e, &f->neuro, id, f->now, NULL), CS_OK);
    /* Participant cap. */
    int rc = CS_OK;
    for (int i = 0; i < 10 && rc == CS_OK; i++)
        rc = cs_engine_invite(f->e, &f->clin, id, CS_ROLE_INTERPRETER, "", "Interp", f->now, code,
                              &exp, NULL);
    assert_int_equal(rc, CS_ELIMIT);
    assert_int_equal(cs_engine_find(f->e, id)->n_participants, CS_MAX_PARTICIPANTS);
}

static void test_disconnect_marks_absent_and_offline(void **state)
{
    fx_t *f = *state;
    cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now);
    char id[CS_ID_MAX];
    cs_strlcpy(id, request(f, &f->clin, CS_URGENCY_URGENT, "cardiology")->id, CS_ID_MAX);
    cs_engine_accept(f->e, &f->spec, id, f->now, NULL);
    cs_engine_join(f->e, &f->clin, id, f->now, NULL);
    /* A second tab: closing one keeps the user online and in the room. */
    cs_engine_connect(f->e, &f->clin, f->now);
    cs_engine_disconnect(f->e, &f->clin, f->now);
    assert_true(cs_engine_find(f->e, id)->participants[0].present);
    cs_engine_disconnect(f->e, &f->clin, f->now);
    assert_false(cs_engine_find(f->e, id)->participants[0].present);
    cs_engine_disconnect(f->e, &f->spec, f->now);
    assert_int_equal(cs_engine_presence(f->e, "kirov", "spec"), CS_PRESENCE_OFFLINE);
    assert_int_equal(count_notices(&f->notices, "coord", CS_NOTICE_PRESENCE, NULL) >= 2, 1);
    /* Presence can only be set by a connected specialist. */
    assert_int_equal(cs_engine_set_presence(f->e, &f->spec, CS_PRESENCE_AVAILABLE, f->now), CS_ESTATE);
    assert_int_equal(cs_engine_set_presence(f->e, &f->clin2, CS_PRESENCE_AVAILABLE, f->now), CS_EPERM);
}

static void test_reload_keeps_queue(void **state)
{
    fx_t *f = *state;
    const cs_consult_t *c = request(f, &f->clin, CS_URGENCY_URGENT, "cardiology");
    cs_consult_t copy = *c;
    copy.participants[0].present = true; /* as stored when the gateway was killed */
    /* A fresh engine given the stored record carries on where the old one was. */
    notices_t ns = {0};
    cs_engine_config_t cfg;
    cs_engine_config_defaults(&cfg);
    cs_engine_t *e2 = cs_engine_new(&cfg, &fake_store, &f->store, record, &ns);
    assert_int_equal(cs_engine_load_consult(e2, &copy), CS_OK);
    assert_false(cs_engine_find(e2, copy.id)->participants[0].present);
    assert_int_equal(cs_engine_connect(e2, &f->spec, f->now), CS_OK);
    assert_int_equal(cs_engine_set_presence(e2, &f->spec, CS_PRESENCE_AVAILABLE, f->now), CS_OK);
    assert_int_equal(count_notices(&ns, "spec", CS_NOTICE_OFFER, NULL), 1);
    assert_int_equal(cs_engine_accept(e2, &f->spec, copy.id, f->now, NULL), CS_OK);
    cs_engine_tick(e2, copy.deadline_at + 1); /* accepted: no escalation */
    assert_int_equal(cs_engine_find(e2, copy.id)->escalation, CS_ESCALATION_NONE);
    cs_engine_free(e2);
}

static void test_limits(void **state)
{
    fx_t *f = *state;
    cs_engine_config_t cfg;
    cs_engine_config_defaults(&cfg);
    cfg.max_open_per_clinician = 2;
    notices_t ns = {0};
    cs_engine_t *e2 = cs_engine_new(&cfg, &fake_store, &f->store, record, &ns);
    cs_engine_t *saved = f->e;
    f->e = e2;
    request(f, &f->clin, CS_URGENCY_URGENT, "cardiology");
    request(f, &f->clin, CS_URGENCY_URGENT, "cardiology");
    cs_request_t r;
    memset(&r, 0, sizeof r);
    cs_strlcpy(r.patient.id, "p", sizeof r.patient.id);
    cs_strlcpy(r.specialty, "cardiology", sizeof r.specialty);
    cs_strlcpy(r.reason, "x", sizeof r.reason);
    assert_int_equal(cs_engine_request(e2, &f->clin, &r, f->now, NULL), CS_ELIMIT);
    f->e = saved;
    cs_engine_free(e2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_queued_then_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_pairs_and_withdraws, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_specialist_hears_withdrawals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_and_tenant_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadlines_escalate_and_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_leave_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_failure_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_refusals_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assign_route_decline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_marks_absent_and_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
