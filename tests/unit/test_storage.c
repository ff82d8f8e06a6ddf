/*
 * test_storage.c — unit tests of gateway/storage: schema creation, round trips
 * of every record, updates, the audit trail, retention at load, durability
 * across a reopen, refusal of newer schemas and damaged rows, loader aborts,
 * and writing while another connection holds the lock (briefly, and longer
 * than a write waits).
 *
 * Each test gets a fresh temporary folder under /tmp (removed afterwards) with
 * a database opened in it. The tests use a second SQLite connection to look
 * at the file as the sqlite3 shell would, and to tamper with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "gateway/storage/storage.h"
#include "storage_fixture.h"

#define NOW_MS INT64_C(1790000000000)
#define HOUR_MS INT64_C(3600000)
#define CAP_MAX 16

/* ---- fixture -------------------------------------------------------------- */

/* ---- a second connection, as the sqlite3 shell ---------------------------- */

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void raw_text(const char *path, const char *sql, char *out, size_t size)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    cs_strlcpy(out, (const char *)sqlite3_column_text(s, 0), size);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* ---- records -------------------------------------------------------------- */

static void make_participant(cs_participant_t *p, const char *tenant, const char *subject,
                             cs_role_t role, int64_t joined)
{
    memset(p, 0, sizeof *p);
    cs_strlcpy(p->subject, subject, sizeof p->subject);
    cs_strlcpy(p->tenant, tenant, sizeof p->tenant);
    snprintf(p->name, sizeof p->name, "Name of %s", subject);
    p->role = role;
    if (role == CS_ROLE_PATIENT || role == CS_ROLE_INTERPRETER)
        cs_strlcpy(p->invited_by, "dr-house", sizeof p->invited_by);
    p->joined_at = joined;
    p->left_at = joined ? joined + 1000 : 0;
    p->present = joined != 0;
}

/* A consult with every field set to a distinct value. */
static void make_consult(cs_consult_t *c, const char *id, cs_state_t state, int64_t t)
{
    memset(c, 0, sizeof *c);
    cs_strlcpy(c->id, id, sizeof c->id);
    cs_strlcpy(c->tenant, "north-centre", sizeof c->tenant);
    cs_strlcpy(c->routed_to, "south-centre", sizeof c->routed_to);
    cs_strlcpy(c->patient.id, "MRN-0042", sizeof c->patient.id);
    cs_strlcpy(c->patient.name, "Zoë O'Brien, \"Jr\"", sizeof c->patient.name);
    cs_strlcpy(c->patient.birth_date, "1980-02-29", sizeof c->patient.birth_date);
    cs_strlcpy(c->specialty, "cardiology", sizeof c->specialty);
    c->urgency = CS_URGENCY_URGENT;
    c->mode = CS_MODE_DEFERRED;
    cs_strlcpy(c->reason, "Chest pain; ECG attached.\nSecond line, ünïcødé.", sizeof c->reason);
    c->state = state;
    c->escalation = CS_ESCALATION_WARNING;
    cs_strlcpy(c->clinician, "dr-house", sizeof c->clinician);
    cs_strlcpy(c->clinician_name, "Gregory House", sizeof c->clinician_name);
    cs_strlcpy(c->specialist, "dr-wilson", sizeof c->specialist);
    cs_strlcpy(c->specialist_tenant, "south-centre", sizeof c->specialist_tenant);
    cs_strlcpy(c->specialist_name, "James Wilson", sizeof c->specialist_name);
    c->created_at = t;
    c->warn_at = t + 1;
    c->deadline_at = t + 2;
    c->expire_at = t + 3;
    c->accepted_at = t + 4;
    c->started_at = t + 5;
    c->ended_at = t + 6;
    c->updated_at = t + 7;
    make_participant(&c->participants[0], "north-centre", "dr-house", CS_ROLE_CLINICIAN, t + 10);
    make_participant(&c->participants[1], "south-centre", "dr-wilson", CS_ROLE_SPECIALIST, t + 20);
    make_participant(&c->participants[2], "north-centre", "patient-7", CS_ROLE_PATIENT, 0);
    c->n_participants = 3;
}

static void make_event(cs_event_t *ev, const char *consult_id, const char *kind, cs_state_t from,
                       cs_state_t to, int64_t at)
{
    memset(ev, 0, sizeof *ev);
    cs_strlcpy(ev->consult_id, consult_id, sizeof ev->consult_id);
    cs_strlcpy(ev->kind, kind, sizeof ev->kind);
    ev->from = from;
    ev->to = to;
    ev->at = at;
    cs_strlcpy(ev->actor, "dr-house", sizeof ev->actor);
    ev->actor_role = CS_ROLE_CLINICIAN;
    snprintf(ev->detail, sizeof ev->detail, "detail at %lld", (long long)at);
}

static void make_user(cs_user_t *u, const char *subject, int n_specialties)
{
    static const char *const sp[] = {"cardiology", "neurology", "paediatric-icu"};
    memset(u, 0, sizeof *u);
    cs_strlcpy(u->subject, subject, sizeof u->subject);
    snprintf(u->name, sizeof u->name, "User %s", subject);
    u->role = n_specialties ? CS_ROLE_SPECIALIST : CS_ROLE_COORDINATOR;
    cs_strlcpy(u->tenant, "north-centre", sizeof u->tenant);
    for (int i = 0; i < n_specialties; i++)
        cs_strlcpy(u->specialties[i], sp[i], sizeof u->specialties[i]);
    u->n_specialties = n_specialties;
    u->last_seen = NOW_MS - 5000;
}

static void make_invite(cs_invite_t *inv, const char *hash_seed, const char *consult_id,
                        int64_t expires_at)
{
    memset(inv, 0, sizeof *inv);
    /* 64 hex digits, as a SHA-256 would be. */
    for (int i = 0; i < 64; i++)
        inv->code_hash[i] = "0123456789abcdef"[(hash_seed[i % strlen(hash_seed)] + i) % 16];
    cs_strlcpy(inv->consult_id, consult_id, sizeof inv->consult_id);
    inv->role = CS_ROLE_INTERPRETER;
    cs_strlcpy(inv->name, "Interprète", sizeof inv->name);
    cs_strlcpy(inv->created_by, "dr-house", sizeof inv->created_by);
    inv->created_at = NOW_MS - 1000;
    inv->expires_at = expires_at;
}

static const char *const ID_A = "a0000000-0000-4000-8000-000000000001";
static const char *const ID_B = "b0000000-0000-4000-8000-000000000002";
static const char *const ID_C = "c0000000-0000-4000-8000-000000000003";
static const char *const ID_D = "d0000000-0000-4000-8000-000000000004";
static const char *const ID_E = "e0000000-0000-4000-8000-000000000005";

static int save(fixture_t *f, const cs_consult_t *c, const cs_event_t *ev)
{
    return cs_storage_store()->save_consult(f->st, c, ev);
}

/* ---- capturing a load ----------------------------------------------------- */

typedef struct {
    cs_consult_t consults[CAP_MAX];
    int n_consults;
    cs_user_t users[CAP_MAX];
    int n_users;
    cs_invite_t invites[CAP_MAX];
    int n_invites;
    int consult_result; /* what the callbacks return */
    int user_result;
} capture_t;

static int cap_consult(void *user, const cs_consult_t *c)
{
    capture_t *cap = user;
    assert_true(cap->n_consults < CAP_MAX);
    cap->consults[cap->n_consults++] = *c;
    return cap->consult_result;
}

static int cap_user(void *user, const cs_user_t *u)
{
    capture_t *cap = user;
    assert_true(cap->n_users < CAP_MAX);
    cap->users[cap->n_users++] = *u;
    return cap->user_result;
}

static int cap_invite(void *user, const cs_invite_t *inv)
{
    capture_t *cap = user;
    assert_true(cap->n_invites < CAP_MAX);
    cap->invites[cap->n_invites++] = *inv;
    return CS_OK;
}

static const cs_storage_loader_t loader = {cap_consult, cap_user, cap_invite};

/* Loads everything into a fresh capture (the caller frees it). */
static capture_t *load(fixture_t *f, int64_t now_ms, int64_t retain_ms, int expect)
{
    capture_t *cap = calloc(1, sizeof *cap);
    assert_non_null(cap);
    assert_int_equal(cs_storage_load(f->st, &loader, cap, now_ms, retain_ms), expect);
    return cap;
}

static const cs_consult_t *find_consult(const capture_t *cap, const char *id)
{
    for (int i = 0; i < cap->n_consults; i++)
        if (strcmp(cap->consults[i].id, id) == 0)
            return &cap->consults[i];
    return NULL;
}

static void assert_participant_equal(const cs_participant_t *a, const cs_participant_t *b)
{
    assert_string_equal(a->subject, b->subject);
    assert_string_equal(a->tenant, b->tenant);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->role, b->role);
    assert_string_equal(a->invited_by, b->invited_by);
    assert_int_equal(a->joined_at, b->joined_at);
    assert_int_equal(a->left_at, b->left_at);
    assert_int_equal(a->present, b->present);
}

static void assert_consult_equal(const cs_consult_t *a, const cs_consult_t *b)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->tenant, b->tenant);
    assert_string_equal(a->routed_to, b->routed_to);
    assert_string_equal(a->patient.id, b->patient.id);
    assert_string_equal(a->patient.name, b->patient.name);
    assert_string_equal(a->patient.birth_date, b->patient.birth_date);
    assert_string_equal(a->specialty, b->specialty);
    assert_int_equal(a->urgency, b->urgency);
    assert_int_equal(a->mode, b->mode);
    assert_string_equal(a->reason, b->reason);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->escalation, b->escalation);
    assert_string_equal(a->clinician, b->clinician);
    assert_string_equal(a->clinician_name, b->clinician_name);
    assert_string_equal(a->specialist, b->specialist);
    assert_string_equal(a->specialist_tenant, b->specialist_tenant);
    assert_string_equal(a->specialist_name, b->specialist_name);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->warn_at, b->warn_at);
    assert_int_equal(a->deadline_at, b->deadline_at);
    assert_int_equal(a->expire_at, b->expire_at);
    assert_int_equal(a->accepted_at, b->accepted_at);
    assert_int_equal(a->started_at, b->started_at);
    assert_int_equal(a->ended_at, b->ended_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_int_equal(a->n_participants, b->n_participants);
    for (int i = 0; i < a->n_participants; i++)
        assert_participant_equal(&a->participants[i], &b->participants[i]);
}

static void assert_event_equal(const cs_event_t *a, const cs_event_t *b)
{
    assert_string_equal(a->consult_id, b->consult_id);
    assert_int_equal(a->at, b->at);
    assert_string_equal(a->kind, b->kind);
    assert_int_equal(a->from, b->from);
    assert_int_equal(a->to, b->to);
    assert_string_equal(a->actor, b->actor);
    assert_int_equal(a->actor_role, b->actor_role);
    assert_int_equal(a->actor_is_system, b->actor_is_system);
    assert_string_equal(a->detail, b->detail);
}

static void assert_user_equal(const cs_user_t *a, const cs_user_t *b)
{
    assert_string_equal(a->subject, b->subject);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->role, b->role);
    assert_string_equal(a->tenant, b->tenant);
    assert_int_equal(a->n_specialties, b->n_specialties);
    for (int i = 0; i < a->n_specialties; i++)
        assert_string_equal(a->specialties[i], b->specialties[i]);
    assert_int_equal(a->last_seen, b->last_seen);
}

static void assert_invite_equal(const cs_invite_t *a, const cs_invite_t *b)
{
    assert_string_equal(a->code_hash, b->code_hash);
    assert_string_equal(a->consult_id, b->consult_id);
    assert_int_equal(a->role, b->role);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->created_by, b->created_by);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->expires_at, b->expires_at);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_open_creates_schema_and_wal(void **state)
{
    fixture_t *f = *state;
    char mode[16];
    raw_text(f->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                                      " AND name IN ('consults', 'participants', 'events',"
                                      " 'users', 'invites')"),
                     5);
    /* Patient data: the file is the owner's only. */
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(cs_storage_ping(f->st), CS_OK);
    assert_int_equal(cs_storage_count_events(f->st, NULL), 0);
}

static void test_open_bad_arguments(void **state)
{
    fixture_t *f = *state;
    char path[192];
    int err = 0;
    snprintf(path, sizeof path, "%s/no-such-folder/x.db", f->dir);
    assert_null(cs_storage_open(path, &err));
    assert_int_equal(err, CS_EIO);
    assert_null(cs_storage_open(NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_storage_open(":memory:", &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_storage_open(f->dir, NULL)); /* a folder; err may be NULL */
    cs_storage_close(NULL);
    assert_int_equal(cs_storage_ping(NULL), CS_ESTORAGE);
}

static void test_consult_round_trip(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_event_t ev;
    make_consult(&c, ID_A, CS_STATE_OFFERED, NOW_MS - 60000);
    make_event(&ev, ID_A, "state", CS_STATE_REQUESTED, CS_STATE_OFFERED, NOW_MS - 59000);
    assert_int_equal(save(f, &c, &ev), CS_OK);

    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 1);
    assert_consult_equal(&cap->consults[0], &c);
    free(cap);

    /* Readable with the sqlite3 shell: enums as their wire names. */
    char name[32];
    raw_text(f->path, "SELECT state FROM consults", name, sizeof name);
    assert_string_equal(name, cs_state_name(CS_STATE_OFFERED));
    raw_text(f->path, "SELECT role FROM participants WHERE idx = 2", name, sizeof name);
    assert_string_equal(name, cs_role_name(CS_ROLE_PATIENT));
}

static void test_consult_update(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_event_t ev;
    make_consult(&c, ID_A, CS_STATE_ACCEPTED, NOW_MS - 60000);
    assert_int_equal(save(f, &c, NULL), CS_OK);

    /* Started: state and times change, one participant leaves, the order
     * changes and an interpreter arrives. */
    c.state = CS_STATE_IN_PROGRESS;
    c.escalation = CS_ESCALATION_NONE;
    c.started_at = NOW_MS - 1000;
    c.updated_at = NOW_MS - 1000;
    cs_strlcpy(c.specialist, "dr-house", sizeof c.specialist);
    cs_strlcpy(c.specialist_tenant, "south-centre", sizeof c.specialist_tenant);
    cs_strlcpy(c.specialist_name, "Another House", sizeof c.specialist_name);
    cs_participant_t house = c.participants[0];
    c.participants[0] = c.participants[2];
    c.participants[1] = house;
    make_participant(&c.participants[2], "north-centre", "interp-1", CS_ROLE_INTERPRETER,
                     NOW_MS - 900);
    /* The same subject in another centre is another person. */
    make_participant(&c.participants[3], "south-centre", "dr-house", CS_ROLE_SPECIALIST,
                     NOW_MS - 800);
    c.n_participants = 4;
    make_event(&ev, ID_A, "state", CS_STATE_ACCEPTED, CS_STATE_IN_PROGRESS, NOW_MS - 1000);
    assert_int_equal(save(f, &c, &ev), CS_OK);

    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 1);
    assert_consult_equal(&cap->consults[0], &c);
    free(cap);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM participants"), 4);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM consults"), 1);

    /* Down to one participant: the others' rows are gone. */
    c.n_participants = 1;
    assert_int_equal(save(f, &c, NULL), CS_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM participants"), 1);
    cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_consult_equal(&cap->consults[0], &c);
    free(cap);
    assert_int_equal(cs_storage_count_events(f->st, ID_A), 1);
}

static void test_events_appended_in_order(void **state)
{
    fixture_t *f = *state;
    static const char *const kinds[] = {"state", "joined", "invited", "left", "escalated"};
    cs_consult_t a, b;
    cs_event_t in[5], out[8];
    make_consult(&a, ID_A, CS_STATE_IN_PROGRESS, NOW_MS - 60000);
    make_consult(&b, ID_B, CS_STATE_REQUESTED, NOW_MS - 60000);
    for (int i = 0; i < 5; i++) {
        /* Descending times: order is by insertion, not by time. */
        make_event(&in[i], ID_A, kinds[i], CS_STATE_ACCEPTED, CS_STATE_IN_PROGRESS,
                   NOW_MS - 100 * i);
        in[i].actor_is_system = i == 4;
        in[i].actor_role = (cs_role_t)(i % CS_ROLE_COUNT);
        if (i == 1)
            in[i].consult_id[0] = '\0'; /* taken as the saved consult's */
        assert_int_equal(save(f, &a, &in[i]), CS_OK);
        if (i < 2)
            assert_int_equal(save(f, &b, &in[i]), i == 1 ? CS_OK : CS_EINVAL);
    }
    cs_strlcpy(in[1].consult_id, ID_A, sizeof in[1].consult_id);
    assert_int_equal(save(f, &a, NULL), CS_OK); /* no event: none appended */

    const cs_store_t *store = cs_storage_store();
    assert_int_equal(store->list_events(f->st, ID_A, out, 8), 5);
    for (int i = 0; i < 5; i++)
        assert_event_equal(&out[i], &in[i]);
    assert_int_equal(store->list_events(f->st, ID_A, out, 3), 3);
    assert_event_equal(&out[2], &in[2]);
    assert_int_equal(store->list_events(f->st, ID_B, out, 8), 1);
    assert_string_equal(out[0].consult_id, ID_B);
    assert_int_equal(store->list_events(f->st, ID_C, out, 8), 0);
    assert_int_equal(store->list_events(f->st, ID_A, NULL, 0), 0);
    assert_int_equal(store->list_events(f->st, ID_A, NULL, 1), CS_EINVAL);

    assert_int_equal(cs_storage_count_events(f->st, ID_A), 5);
    assert_int_equal(cs_storage_count_events(f->st, ID_B), 1);
    assert_int_equal(cs_storage_count_events(f->st, ID_C), 0);
    assert_int_equal(cs_storage_count_events(f->st, NULL), 6);
}

static void test_events_append_only(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_event_t ev;
    make_consult(&c, ID_A, CS_STATE_REQUESTED, NOW_MS);
    make_event(&ev, ID_A, "state", CS_STATE_REQUESTED, CS_STATE_REQUESTED, NOW_MS);
    assert_int_equal(save(f, &c, &ev), CS_OK);
    assert_int_not_equal(raw_exec(f->path, "UPDATE events SET detail = 'forged'"), SQLITE_OK);
    assert_int_not_equal(raw_exec(f->path, "DELETE FROM events"), SQLITE_OK);
    assert_int_not_equal(raw_exec(f->path, "PRAGMA foreign_keys = ON; DELETE FROM consults"),
                         SQLITE_OK);
    assert_int_equal(cs_storage_count_events(f->st, ID_A), 1);
}

static void test_load_retention(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    /* ended two hours ago: gone from memory */
    make_consult(&c, ID_A, CS_STATE_ENDED, NOW_MS - 5 * HOUR_MS);
    c.ended_at = c.updated_at = NOW_MS - 2 * HOUR_MS;
    assert_int_equal(save(f, &c, NULL), CS_OK);
    /* ended ten minutes ago: kept */
    make_consult(&c, ID_B, CS_STATE_ENDED, NOW_MS - 5 * HOUR_MS);
    c.ended_at = c.updated_at = NOW_MS - 600000;
    assert_int_equal(save(f, &c, NULL), CS_OK);
    /* cancelled without ended_at, updated recently: kept */
    make_consult(&c, ID_C, CS_STATE_CANCELLED, NOW_MS - 5 * HOUR_MS);
    c.ended_at = 0;
    c.updated_at = NOW_MS - 60000;
    assert_int_equal(save(f, &c, NULL), CS_OK);
    /* expired long ago: gone */
    make_consult(&c, ID_D, CS_STATE_EXPIRED, NOW_MS - 50 * HOUR_MS);
    c.ended_at = 0;
    c.updated_at = NOW_MS - 40 * HOUR_MS;
    assert_int_equal(save(f, &c, NULL), CS_OK);
    /* requested a month ago and never touched since: open, so always loaded */
    make_consult(&c, ID_E, CS_STATE_REQUESTED, NOW_MS - 720 * HOUR_MS);
    c.ended_at = 0;
    c.updated_at = c.created_at;
    assert_int_equal(save(f, &c, NULL), CS_OK);

    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 3);
    assert_null(find_consult(cap, ID_A));
    assert_non_null(find_consult(cap, ID_B));
    assert_non_null(find_consult(cap, ID_C));
    assert_null(find_consult(cap, ID_D));
    assert_consult_equal(find_consult(cap, ID_E), &c);
    free(cap);

    /* Retention is inclusive at the boundary. */
    cap = load(f, NOW_MS, 2 * HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 4);
    free(cap);
    assert_int_equal(cs_storage_load(f->st, &loader, NULL, NOW_MS, -1), CS_EINVAL);

    /* What the load leaves out is still there, one at a time, as it was. */
    cs_consult_t *got = malloc(sizeof *got);
    assert_non_null(got);
    make_consult(&c, ID_A, CS_STATE_ENDED, NOW_MS - 5 * HOUR_MS);
    c.ended_at = c.updated_at = NOW_MS - 2 * HOUR_MS;
    assert_int_equal(cs_storage_consult_get(f->st, ID_A, got), CS_OK);
    assert_consult_equal(got, &c);
    assert_int_equal(cs_storage_consult_get(f->st, "no-such-consult", got), CS_ENOTFOUND);
    free(got);
}

static void test_users_and_invites(void **state)
{
    fixture_t *f = *state;
    const cs_store_t *store = cs_storage_store();
    cs_user_t u1, u2;
    make_user(&u1, "dr-wilson", 3);
    make_user(&u2, "coord-1", 0);
    assert_int_equal(store->save_user(f->st, &u1), CS_OK);
    assert_int_equal(store->save_user(f->st, &u2), CS_OK);
    /* The same subject in another centre is another user. */
    cs_user_t u3;
    make_user(&u3, "dr-wilson", 1);
    cs_strlcpy(u3.tenant, "south-centre", sizeof u3.tenant);
    assert_int_equal(store->save_user(f->st, &u3), CS_OK);
    /* Seen again with new claims: updated in place. */
    cs_strlcpy(u1.name, "James E. Wilson", sizeof u1.name);
    u1.n_specialties = 2;
    u1.last_seen = NOW_MS;
    assert_int_equal(store->save_user(f->st, &u1), CS_OK);
    cs_user_t bad = u1;
    cs_strlcpy(bad.specialties[0], "a,b", sizeof bad.specialties[0]);
    assert_int_equal(store->save_user(f->st, &bad), CS_EINVAL);

    cs_consult_t c;
    make_consult(&c, ID_A, CS_STATE_IN_PROGRESS, NOW_MS - 60000);
    assert_int_equal(save(f, &c, NULL), CS_OK);
    cs_invite_t live, expired, dup, orphan;
    make_invite(&live, "live", ID_A, NOW_MS + HOUR_MS);
    make_invite(&expired, "old", ID_A, NOW_MS); /* expires_at == now: expired */
    make_invite(&orphan, "orphan", ID_B, NOW_MS + HOUR_MS);
    assert_int_equal(store->save_invite(f->st, &live), CS_OK);
    assert_int_equal(store->save_invite(f->st, &expired), CS_OK);
    dup = live;
    dup.expires_at += 1;
    assert_int_equal(store->save_invite(f->st, &dup), CS_EEXIST);
    assert_int_equal(store->save_invite(f->st, &orphan), CS_ESTORAGE); /* no such consult */

    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_users, 3);
    /* users come ordered by tenant, then subject */
    assert_user_equal(&cap->users[0], &u2);
    assert_user_equal(&cap->users[1], &u1);
    assert_user_equal(&cap->users[2], &u3);
    assert_int_equal(cap->n_invites, 1);
    assert_invite_equal(&cap->invites[0], &live);
    free(cap);
}

static void test_reopen_keeps_everything(void **state)
{
    fixture_t *f = *state;
    const cs_store_t *store = cs_storage_store();
    cs_consult_t a, b;
    cs_event_t ev[2], out[4];
    cs_user_t u;
    cs_invite_t inv;
    make_consult(&a, ID_A, CS_STATE_IN_PROGRESS, NOW_MS - 60000);
    make_consult(&b, ID_B, CS_STATE_ENDED, NOW_MS - 60000);
    make_event(&ev[0], ID_A, "state", CS_STATE_ACCEPTED, CS_STATE_IN_PROGRESS, NOW_MS - 500);
    make_event(&ev[1], ID_A, "joined", CS_STATE_IN_PROGRESS, CS_STATE_IN_PROGRESS, NOW_MS - 400);
    make_user(&u, "dr-wilson", 1);
    make_invite(&inv, "x", ID_A, NOW_MS + HOUR_MS);
    assert_int_equal(save(f, &a, &ev[0]), CS_OK);
    assert_int_equal(save(f, &a, &ev[1]), CS_OK);
    assert_int_equal(save(f, &b, NULL), CS_OK);
    assert_int_equal(store->save_user(f->st, &u), CS_OK);
    assert_int_equal(store->save_invite(f->st, &inv), CS_OK);

    reopen(f);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4);
    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 2);
    assert_consult_equal(find_consult(cap, ID_A), &a);
    assert_consult_equal(find_consult(cap, ID_B), &b);
    assert_int_equal(cap->n_users, 1);
    assert_user_equal(&cap->users[0], &u);
    assert_int_equal(cap->n_invites, 1);
    assert_invite_equal(&cap->invites[0], &inv);
    free(cap);
    assert_int_equal(store->list_events(f->st, ID_A, out, 4), 2);
    assert_event_equal(&out[0], &ev[0]);
    assert_event_equal(&out[1], &ev[1]);
    /* Writing still works after the restart. */
    a.state = CS_STATE_ENDED;
    assert_int_equal(save(f, &a, &ev[1]), CS_OK);
    assert_int_equal(cs_storage_count_events(f->st, NULL), 3);
}

static void test_newer_schema_refused(void **state)
{
    fixture_t *f = *state;
    char path[192];
    int err = 0;
    snprintf(path, sizeof path, "%s/newer.db", f->dir);
    assert_int_equal(raw_exec(path, "CREATE TABLE future (x); PRAGMA user_version = 99"),
                     SQLITE_OK);
    assert_null(cs_storage_open(path, &err));
    assert_int_equal(err, CS_ESTORAGE);
    /* Left untouched, not even switched to WAL. */
    char mode[16];
    raw_text(path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "delete");
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 99);
}

static void test_not_a_database_refused(void **state)
{
    fixture_t *f = *state;
    char path[192], junk[4096];
    int err = 0;
    snprintf(path, sizeof path, "%s/junk.db", f->dir);
    memset(junk, 'x', sizeof junk);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(junk, 1, sizeof junk, fp), sizeof junk);
    fclose(fp);
    assert_null(cs_storage_open(path, &err));
    assert_int_equal(err, CS_ESTORAGE);

    /* A version-0 database whose tables clash with ours. */
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    assert_int_equal(raw_exec(path, "CREATE TABLE users (x)"), SQLITE_OK);
    assert_null(cs_storage_open(path, &err));
    assert_int_equal(err, CS_ESTORAGE);
}

static void test_unknown_names_are_corruption(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_event_t ev, out[2];
    make_consult(&c, ID_A, CS_STATE_IN_PROGRESS, NOW_MS - 60000);
    make_event(&ev, ID_A, "state", CS_STATE_ACCEPTED, CS_STATE_IN_PROGRESS, NOW_MS);
    assert_int_equal(save(f, &c, &ev), CS_OK);

    /* An unknown state, on a recent row and on an old one. */
    assert_int_equal(raw_exec(f->path, "UPDATE consults SET state = 'paused'"), SQLITE_OK);
    free(load(f, NOW_MS, HOUR_MS, CS_ESTORAGE));
    assert_int_equal(raw_exec(f->path, "UPDATE consults SET ended_at = 0, updated_at = 0"),
                     SQLITE_OK);
    free(load(f, NOW_MS, HOUR_MS, CS_ESTORAGE));
    /* A NUL byte inside a state name. */
    assert_int_equal(raw_exec(f->path, "UPDATE consults SET state = 'ended' || char(0) || 'x'"),
                     SQLITE_OK);
    free(load(f, NOW_MS, HOUR_MS, CS_ESTORAGE));
    /* Known state, unknown urgency. */
    assert_int_equal(save(f, &c, NULL), CS_OK);
    assert_int_equal(raw_exec(f->path, "UPDATE consults SET urgency = 'whenever'"), SQLITE_OK);
    free(load(f, NOW_MS, HOUR_MS, CS_ESTORAGE));
    /* Unknown participant role. */
    assert_int_equal(save(f, &c, NULL), CS_OK);
    free(load(f, NOW_MS, HOUR_MS, CS_OK));
    assert_int_equal(raw_exec(f->path, "UPDATE participants SET role = 'pirate' WHERE idx = 1"),
                     SQLITE_OK);
    free(load(f, NOW_MS, HOUR_MS, CS_ESTORAGE));
    /* Unknown role in the audit trail. */
    assert_int_equal(raw_exec(f->path, "INSERT INTO events (consult_id, at, kind, from_state,"
                                       " to_state, actor, actor_role, actor_is_system, detail)"
                                       " SELECT id, 1, 'state', state, state, 'x', 'pirate', 0, ''"
                                       " FROM consults"),
                     SQLITE_OK);
    assert_int_equal(cs_storage_store()->list_events(f->st, ID_A, out, 2), CS_ESTORAGE);
    /* More participants than a record holds. */
    assert_int_equal(save(f, &c, NULL), CS_OK);
    assert_int_equal(raw_exec(f->path, "WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL"
                                       " SELECT i + 1 FROM n WHERE i < 16)"
                                       " INSERT INTO participants SELECT consults.id, i,"
                                       " 'extra-' || i, 'x', 'x', 'patient', '', 0, 0, 0"
                                       " FROM consults, n"),
                     SQLITE_OK);
    free(load(f, NOW_MS, HOUR_MS, CS_ESTORAGE));
    assert_int_equal(cs_storage_ping(f->st), CS_OK);
}

static void test_tampered_long_text_truncated(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_user_t u;
    make_consult(&c, ID_A, CS_STATE_REQUESTED, NOW_MS);
    make_user(&u, "dr-wilson", 1);
    assert_int_equal(save(f, &c, NULL), CS_OK);
    assert_int_equal(cs_storage_store()->save_user(f->st, &u), CS_OK);
    /* 300 two-byte characters for a 128-byte field; 500 bytes for 64. */
    assert_int_equal(raw_exec(f->path, "UPDATE consults SET patient_name ="
                                       " replace(printf('%300s', ''), ' ', 'é'),"
                                       " reason = printf('%10000s', 'r')"),
                     SQLITE_OK);
    assert_int_equal(raw_exec(f->path, "UPDATE users SET specialties ="
                                       " 'a,' || printf('%500s', 'b') || ',,c'"),
                     SQLITE_OK);
    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 1);
    const char *name = cap->consults[0].patient.name;
    assert_int_equal(strlen(name), 126); /* 63 whole characters, none cut */
    assert_true(cs_utf8_valid(name, strlen(name)));
    assert_int_equal(strlen(cap->consults[0].reason), CS_REASON_MAX - 1);
    assert_int_equal(cap->n_users, 1);
    assert_int_equal(cap->users[0].n_specialties, 3);
    assert_string_equal(cap->users[0].specialties[0], "a");
    assert_int_equal(strlen(cap->users[0].specialties[1]), CS_SPECIALTY_MAX - 1);
    assert_string_equal(cap->users[0].specialties[2], "c");
    free(cap);
}

static void test_loader_error_aborts(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_user_t u;
    make_consult(&c, ID_A, CS_STATE_REQUESTED, NOW_MS);
    assert_int_equal(save(f, &c, NULL), CS_OK);
    make_consult(&c, ID_B, CS_STATE_REQUESTED, NOW_MS);
    assert_int_equal(save(f, &c, NULL), CS_OK);
    make_user(&u, "dr-wilson", 1);
    assert_int_equal(cs_storage_store()->save_user(f->st, &u), CS_OK);

    capture_t *cap = calloc(1, sizeof *cap);
    assert_non_null(cap);
    cap->consult_result = CS_ELIMIT;
    assert_int_equal(cs_storage_load(f->st, &loader, cap, NOW_MS, HOUR_MS), CS_ELIMIT);
    assert_int_equal(cap->n_consults, 1);
    assert_int_equal(cap->n_invites, 0);

    memset(cap, 0, sizeof *cap);
    cap->user_result = CS_ENOMEM;
    assert_int_equal(cs_storage_load(f->st, &loader, cap, NOW_MS, HOUR_MS), CS_ENOMEM);
    assert_int_equal(cap->n_users, 1);
    assert_int_equal(cap->n_consults, 0);

    /* A NULL callback skips that kind; the store is usable after aborts. */
    memset(cap, 0, sizeof *cap);
    cs_storage_loader_t only_consults = {cap_consult, NULL, NULL};
    assert_int_equal(cs_storage_load(f->st, &only_consults, cap, NOW_MS, HOUR_MS), CS_OK);
    assert_int_equal(cap->n_consults, 2);
    assert_int_equal(cap->n_users, 0);
    free(cap);
    assert_int_equal(save(f, &c, NULL), CS_OK);
}

static void test_invalid_records_and_atomicity(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c, bad;
    cs_event_t ev;
    make_consult(&c, ID_A, CS_STATE_OFFERED, NOW_MS);
    make_event(&ev, ID_A, "state", CS_STATE_REQUESTED, CS_STATE_OFFERED, NOW_MS);
    assert_int_equal(save(f, &c, &ev), CS_OK);

    assert_int_equal(cs_storage_store()->save_consult(NULL, &c, NULL), CS_EINVAL);
    assert_int_equal(save(f, NULL, NULL), CS_EINVAL);
    bad = c;
    bad.state = CS_STATE_COUNT;
    assert_int_equal(save(f, &bad, NULL), CS_EINVAL);
    bad = c;
    bad.n_participants = CS_MAX_PARTICIPANTS + 1;
    assert_int_equal(save(f, &bad, NULL), CS_EINVAL);
    bad = c;
    bad.id[0] = '\0';
    assert_int_equal(save(f, &bad, NULL), CS_EINVAL);
    cs_event_t other = ev;
    cs_strlcpy(other.consult_id, ID_B, sizeof other.consult_id);
    assert_int_equal(save(f, &c, &other), CS_EINVAL);

    /* A failure half-way (one person twice among the participants) undoes the
     * whole transaction: the consult row and the event are not written. */
    bad = c;
    bad.state = CS_STATE_ACCEPTED;
    bad.participants[2] = bad.participants[0];
    assert_int_equal(save(f, &bad, &ev), CS_ESTORAGE);
    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 1);
    assert_consult_equal(&cap->consults[0], &c);
    free(cap);
    assert_int_equal(cs_storage_count_events(f->st, NULL), 1);
    assert_int_equal(save(f, &c, &ev), CS_OK);
    assert_int_equal(cs_storage_count_events(f->st, NULL), 2);
}

/* Another process (here a thread with its own connection) holds the write
 * lock for ~300 ms; the save must wait for it rather than fail. */
typedef struct {
    const char *path;
    int hold_ms;              /* 0: 300 */
    atomic_int locked, released;
    int rc;
} locker_t;

static void *locker_main(void *arg)
{
    locker_t *lk = arg;
    sqlite3 *db = NULL;
    lk->rc = sqlite3_open(lk->path, &db);
    if (lk->rc == SQLITE_OK)
        lk->rc = sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE consults SET tenant = tenant",
                              NULL, NULL, NULL);
    atomic_store(&lk->locked, 1);
    if (lk->rc == SQLITE_OK) {
        sqlite3_sleep(lk->hold_ms ? lk->hold_ms : 300);
        lk->rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    atomic_store(&lk->released, 1);
    return NULL;
}

/* A requested consult saved, and its move to "offered" made ready in c, ev. */
static void requested_then_offered(fixture_t *f, cs_consult_t *c, cs_event_t *ev)
{
    make_consult(c, ID_A, CS_STATE_REQUESTED, NOW_MS);
    assert_int_equal(save(f, c, NULL), CS_OK);
    c->state = CS_STATE_OFFERED;
    make_event(ev, ID_A, "state", CS_STATE_REQUESTED, CS_STATE_OFFERED, NOW_MS + 1);
}

/* Stored: that consult offered, with the one event of the move. */
static void assert_stored_offered(fixture_t *f)
{
    capture_t *cap = load(f, NOW_MS, HOUR_MS, CS_OK);
    assert_int_equal(cap->n_consults, 1);
    assert_int_equal(cap->consults[0].state, CS_STATE_OFFERED);
    free(cap);
    assert_int_equal(cs_storage_count_events(f->st, ID_A), 1);
}

/* Starts lk's thread and returns once it holds the lock. */
static pthread_t lock_for(locker_t *lk)
{
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, locker_main, lk), 0);
    while (!atomic_load(&lk->locked))
        sqlite3_sleep(1);
    return th;
}

static void test_concurrent_writer(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_event_t ev;
    requested_then_offered(f, &c, &ev);

    locker_t lk = {.path = f->path};
    pthread_t th = lock_for(&lk);
    assert_int_equal(save(f, &c, &ev), CS_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(lk.rc, SQLITE_OK);

    assert_stored_offered(f);
}

/* A lock held longer than a write waits (about 4 s, a backup or someone in
 * the sqlite3 shell): the write fails and keeps nothing, so does the next
 * one (without waiting again), and the first after the lock is gone is
 * written although the back-off has not run out. */
static void test_lock_outlives_the_wait(void **state)
{
    fixture_t *f = *state;
    cs_consult_t c;
    cs_event_t ev;
    requested_then_offered(f, &c, &ev);

    locker_t lk = {.path = f->path, .hold_ms = 6500};
    pthread_t th = lock_for(&lk);
    assert_int_equal(save(f, &c, &ev), CS_ESTORAGE);
    if (!atomic_load(&lk.released))      /* a slow machine may have waited past it */
        assert_int_equal(save(f, &c, &ev), CS_ESTORAGE);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(lk.rc, SQLITE_OK);
    assert_int_equal(save(f, &c, &ev), CS_OK);

    assert_stored_offered(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consult_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consult_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_appended_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_and_invites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_names_are_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_long_text_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_error_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_records_and_atomicity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_outlives_the_wait, setup, teardown),
    };
    return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
