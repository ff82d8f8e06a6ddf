/*
 * storage_write.c — the cs_store_t vtable the consult engine writes through:
 * consults with their participants and audit events, users, invitations.
 *
 * Each save is one write transaction (see cs_storage_write_tx): it happens
 * entirely or not at all, which is what lets the engine treat a failure as
 * "nothing happened". Records are checked before anything is written, so the
 * database never holds a row that the load could not read back.
 */
#include "storage_internal.h"

#include <string.h>

/* ---- binding -------------------------------------------------------------- */

/* Binds parameters one after another and remembers the first failure, so a
 * statement's binds read as a flat list. Text is bound SQLITE_STATIC: the
 * record outlives the statement's execution. */
binder_t binder(cs_storage_t *st, int stmt)
{
    return (binder_t){st->stmt[stmt], SQLITE_OK};
}

/* At most cap bytes: a fixed-size field without its NUL is still bounded. */
void bind_text(binder_t *b, int param, const char *v, size_t cap)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_text(b->s, param, v, (int)strnlen(v, cap), SQLITE_STATIC);
}

/* An enum's wire name (a static string). */
void bind_name(binder_t *b, int param, const char *name)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_text(b->s, param, name, -1, SQLITE_STATIC);
}

void bind_int(binder_t *b, int param, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->s, param, v);
}

/* Executes the bound statement, or gives up on a failed bind. */
int run_bound(binder_t *b)
{
    if (b->rc != SQLITE_OK) {
        cs_storage_done(b->s);
        return b->rc;
    }
    return cs_storage_exec_stmt(b->s);
}

/* ---- checks --------------------------------------------------------------- */

bool role_ok(cs_role_t r)
{
    return (unsigned)r < CS_ROLE_COUNT;
}

static bool state_ok(cs_state_t s)
{
    return (unsigned)s < CS_STATE_COUNT;
}

static bool participants_ok(const cs_consult_t *c)
{
    if (c->n_participants < 0 || c->n_participants > CS_MAX_PARTICIPANTS)
        return false;
    for (int i = 0; i < c->n_participants; i++)
        if (!c->participants[i].subject[0] || !role_ok(c->participants[i].role))
            return false;
    return true;
}

/* An event belongs to the consult it is saved with; an empty consult_id is
 * taken to mean that one. */
static bool event_ok(const cs_consult_t *c, const cs_event_t *ev)
{
    if (ev->consult_id[0] && strncmp(ev->consult_id, c->id, CS_ID_MAX) != 0)
        return false;
    return state_ok(ev->from) && state_ok(ev->to) && role_ok(ev->actor_role);
}

bool consult_ok(const cs_consult_t *c, const cs_event_t *ev)
{
    return c->id[0] && state_ok(c->state) && (unsigned)c->urgency < CS_URGENCY_COUNT &&
           (unsigned)c->mode < CS_MODE_COUNT && (unsigned)c->escalation < CS_ESCALATION_COUNT &&
           participants_ok(c) && (!ev || event_ok(c, ev));
}

/* Any failed write is reported the same way: nothing was kept. */
int write_result(int rc)
{
    return rc == SQLITE_OK ? CS_OK : CS_ESTORAGE;
}

/* ---- consults ------------------------------------------------------------- */

int upsert_consult(cs_storage_t *st, const cs_consult_t *c)
{
    binder_t b = binder(st, CS_STMT_UPSERT_CONSULT);
    BIND_FIELD(&b, CS_CC_ID + 1, c->id);
    BIND_FIELD(&b, CS_CC_TENANT + 1, c->tenant);
    BIND_FIELD(&b, CS_CC_ROUTED_TO + 1, c->routed_to);
    bind_name(&b, CS_CC_STATE + 1, cs_state_name(c->state));
    bind_name(&b, CS_CC_ESCALATION + 1, cs_escalation_name(c->escalation));
    bind_name(&b, CS_CC_URGENCY + 1, cs_urgency_name(c->urgency));
    bind_name(&b, CS_CC_MODE + 1, cs_mode_name(c->mode));
    BIND_FIELD(&b, CS_CC_SPECIALTY + 1, c->specialty);
    BIND_FIELD(&b, CS_CC_CLINICIAN + 1, c->clinician);
    BIND_FIELD(&b, CS_CC_CLINICIAN_NAME + 1, c->clinician_name);
    BIND_FIELD(&b, CS_CC_SPECIALIST + 1, c->specialist);
    BIND_FIELD(&b, CS_CC_SPECIALIST_TENANT + 1, c->specialist_tenant);
    BIND_FIELD(&b, CS_CC_SPECIALIST_NAME + 1, c->specialist_name);
    BIND_FIELD(&b, CS_CC_PATIENT_ID + 1, c->patient.id);
    BIND_FIELD(&b, CS_CC_PATIENT_NAME + 1, c->patient.name);
    BIND_FIELD(&b, CS_CC_PATIENT_BIRTH_DATE + 1, c->patient.birth_date);
    const int64_t times[] = {c->created_at, c->warn_at,    c->deadline_at, c->expire_at,
                             c->accepted_at, c->started_at, c->ended_at,    c->updated_at};
    for (int i = 0; i < (int)CS_ARRAY_LEN(times); i++)
        bind_int(&b, CS_CC_CREATED_AT + 1 + i, times[i]);
    BIND_FIELD(&b, CS_CC_REASON + 1, c->reason);
    return run_bound(&b);
}

static int insert_participant(cs_storage_t *st, const char *consult_id, int idx,
                              const cs_participant_t *p)
{
    binder_t b = binder(st, CS_STMT_INSERT_PARTICIPANT);
    bind_text(&b, 1, consult_id, CS_ID_MAX);
    bind_int(&b, 2, idx);
    BIND_FIELD(&b, 3, p->subject);
    BIND_FIELD(&b, 4, p->tenant);
    BIND_FIELD(&b, 5, p->name);
    bind_name(&b, 6, cs_role_name(p->role));
    BIND_FIELD(&b, 7, p->invited_by);
    bind_int(&b, 8, p->joined_at);
    bind_int(&b, 9, p->left_at);
    bind_int(&b, 10, p->present ? 1 : 0);
    return run_bound(&b);
}

/* Delete and insert rather than diff: at most eight small rows, and the
 * stored order (idx) always matches the record's. */
static int replace_participants(cs_storage_t *st, const cs_consult_t *c)
{
    binder_t b = binder(st, CS_STMT_DELETE_PARTICIPANTS);
    BIND_FIELD(&b, 1, c->id);
    int rc = run_bound(&b);
    for (int i = 0; rc == SQLITE_OK && i < c->n_participants; i++)
        rc = insert_participant(st, c->id, i, &c->participants[i]);
    return rc;
}

int insert_event(cs_storage_t *st, const char *consult_id, const cs_event_t *ev)
{
    binder_t b = binder(st, CS_STMT_INSERT_EVENT);
    bind_text(&b, 1, consult_id, CS_ID_MAX);
    bind_int(&b, 2, ev->at);
    BIND_FIELD(&b, 3, ev->kind);
    bind_name(&b, 4, cs_state_name(ev->from));
    bind_name(&b, 5, cs_state_name(ev->to));
    BIND_FIELD(&b, 6, ev->actor);
    bind_name(&b, 7, cs_role_name(ev->actor_role));
    bind_int(&b, 8, ev->actor_is_system ? 1 : 0);
    BIND_FIELD(&b, 9, ev->detail);
    return run_bound(&b);
}

typedef struct {
    const cs_consult_t *c;
    const cs_event_t *ev;
} consult_write_t;

static int write_consult(cs_storage_t *st, const void *arg)
{
    const consult_write_t *w = arg;
    int rc = upsert_consult(st, w->c);
    if (rc == SQLITE_OK)
        rc = replace_participants(st, w->c);
    if (rc == SQLITE_OK)
        rc = bind_request_attachments(st, w->c);
    if (rc == SQLITE_OK)
        rc = write_recording(st, w->c);
    if (rc == SQLITE_OK && w->ev)
        rc = insert_event(st, w->c->id, w->ev);
    return rc;
}

static int save_consult(void *user, const cs_consult_t *c, const cs_event_t *ev)
{
    if (!user || !c || !consult_ok(c, ev))
        return CS_EINVAL;
    consult_write_t w = {c, ev};
    return write_result(cs_storage_write_tx(user, write_consult, &w));
}

/* ---- users ---------------------------------------------------------------- */

/* Room for every specialty at full length, the commas between and the NUL. */
#define CS_SPECIALTY_LIST_MAX (CS_MAX_SPECIALTIES * CS_SPECIALTY_MAX)

/* Joins the specialties with commas. Each must be non-empty and comma-free,
 * or it would not come back as it went in. */
static bool join_specialties(const cs_user_t *u, char out[CS_SPECIALTY_LIST_MAX])
{
    size_t len = 0;
    if (u->n_specialties < 0 || u->n_specialties > CS_MAX_SPECIALTIES)
        return false;
    out[0] = '\0';
    for (int i = 0; i < u->n_specialties; i++) {
        const char *sp = u->specialties[i];
        size_t n = strnlen(sp, CS_SPECIALTY_MAX - 1);
        if (n == 0 || memchr(sp, ',', n))
            return false;
        if (i > 0)
            out[len++] = ',';
        memcpy(out + len, sp, n);
        len += n;
        out[len] = '\0';
    }
    return true;
}

typedef struct {
    const cs_user_t *u;
    const char *specialties;
} user_write_t;

static int write_user(cs_storage_t *st, const void *arg)
{
    const user_write_t *w = arg;
    binder_t b = binder(st, CS_STMT_UPSERT_USER);
    BIND_FIELD(&b, 1, w->u->subject);
    BIND_FIELD(&b, 2, w->u->name);
    bind_name(&b, 3, cs_role_name(w->u->role));
    BIND_FIELD(&b, 4, w->u->tenant);
    bind_text(&b, 5, w->specialties, CS_SPECIALTY_LIST_MAX);
    bind_int(&b, 6, w->u->last_seen);
    return run_bound(&b);
}

static int save_user(void *user, const cs_user_t *u)
{
    char specialties[CS_SPECIALTY_LIST_MAX];
    if (!user || !u || !u->subject[0] || !role_ok(u->role) || !join_specialties(u, specialties))
        return CS_EINVAL;
    user_write_t w = {u, specialties};
    return write_result(cs_storage_write_tx(user, write_user, &w));
}

/* ---- invitations ---------------------------------------------------------- */

static int write_invite(cs_storage_t *st, const void *arg)
{
    const cs_invite_t *inv = arg;
    binder_t b = binder(st, CS_STMT_INSERT_INVITE);
    BIND_FIELD(&b, 1, inv->code_hash);
    BIND_FIELD(&b, 2, inv->consult_id);
    bind_name(&b, 3, cs_role_name(inv->role));
    BIND_FIELD(&b, 4, inv->name);
    BIND_FIELD(&b, 5, inv->created_by);
    bind_int(&b, 6, inv->created_at);
    bind_int(&b, 7, inv->expires_at);
    return run_bound(&b);
}

static int save_invite(void *user, const cs_invite_t *inv)
{
    if (!user || !inv || !inv->code_hash[0] || !inv->consult_id[0] || !role_ok(inv->role))
        return CS_EINVAL;
    int rc = cs_storage_write_tx(user, write_invite, inv);
    /* A code hash collision is a (vanishingly unlikely) duplicate code: the
     * engine may draw a new one. An unknown consult is a foreign key failure
     * and stays CS_ESTORAGE. */
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return CS_EEXIST;
    return write_result(rc);
}

/* ---- the vtable ----------------------------------------------------------- */

static const cs_store_t store = {
    .save_consult = save_consult,
    .save_user = save_user,
    .save_invite = save_invite,
    .list_events = cs_storage_list_events,
    .get_attachment = cs_storage_store_get_attachment,
    .save_chat = cs_storage_save_chat,
    .list_chat = cs_storage_list_chat,
    .save_conclusion = cs_storage_save_conclusion,
    .get_conclusion = cs_storage_get_conclusion,
    .get_signed_conclusion = cs_storage_get_signed_conclusion,
};

const cs_store_t *cs_storage_store(void)
{
    return &store;
}
