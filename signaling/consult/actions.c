/*
 * actions.c — what users ask the engine to do, each checked against role,
 * tenant and state before anything is written.
 *
 * Every action follows the same shape: find the consult, check the actor may
 * do this now, build the next version of the consult as a copy, commit it
 * (store first), then announce it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

consult_entry_t *find_visible(cs_engine_t *e, const cs_identity_t *actor, const char *id, int *rc)
{
    consult_entry_t *ce = cs_map_get(e->consults, id);
    /* Another centre's consult answers "not found", not "forbidden": its
     * existence is not the actor's business. */
    if (!ce || !may_see(e, actor, &ce->c)) {
        *rc = CS_ENOTFOUND;
        return NULL;
    }
    return ce;
}

static void set_participant(cs_participant_t *p, const char *tenant, const char *subject,
                            const char *name, cs_role_t role, const char *invited_by)
{
    memset(p, 0, sizeof *p);
    cs_strlcpy(p->tenant, tenant, sizeof p->tenant);
    cs_strlcpy(p->subject, subject, sizeof p->subject);
    cs_strlcpy(p->name, name, sizeof p->name);
    p->role = role;
    cs_strlcpy(p->invited_by, invited_by ? invited_by : "", sizeof p->invited_by);
}

static size_t open_requests_of(const cs_engine_t *e, const cs_identity_t *actor)
{
    size_t n = 0, pos = 0;
    void *v;
    while (cs_map_next(e->consults, &pos, NULL, &v)) {
        const cs_consult_t *c = &((consult_entry_t *)v)->c;
        n += !cs_state_terminal(c->state) && !strcmp(c->clinician, actor->subject) &&
             !strcmp(c->tenant, actor->tenant);
    }
    return n;
}

/* The first version of a consult requested by actor (state requested). */
static int new_consult(const cs_engine_t *e, const cs_identity_t *actor, const cs_request_t *req,
                       int64_t now, cs_consult_t *c)
{
    memset(c, 0, sizeof *c);
    int rc = cs_uuid4(c->id);
    cs_strlcpy(c->tenant, actor->tenant, sizeof c->tenant);
    c->patient = req->patient;
    cs_strlcpy(c->specialty, req->specialty, sizeof c->specialty);
    c->urgency = req->urgency;
    c->mode = req->mode;
    cs_strlcpy(c->reason, req->reason, sizeof c->reason);
    cs_strlcpy(c->clinician, actor->subject, sizeof c->clinician);
    cs_strlcpy(c->clinician_name, actor->name, sizeof c->clinician_name);
    c->created_at = c->updated_at = now;
    c->warn_at = now + e->cfg.warn_ms[req->urgency];
    c->deadline_at = now + e->cfg.deadline_ms[req->urgency];
    c->expire_at = now + e->cfg.expire_ms[req->urgency];
    set_participant(&c->participants[0], actor->tenant, actor->subject, actor->name,
                    CS_ROLE_CLINICIAN, NULL);
    c->n_participants = 1;
    c->state = CS_STATE_REQUESTED;
    return rc;
}

int cs_engine_request(cs_engine_t *e, const cs_identity_t *actor, const cs_request_t *req,
                      int64_t now, const cs_consult_t **out)
{
    if (actor->role != CS_ROLE_CLINICIAN || actor->consult_scope[0])
        return CS_EPERM;
    if (!cs_slug_valid(req->specialty, CS_SPECIALTY_MAX) || (int)req->urgency < 0 ||
        req->urgency >= CS_URGENCY_COUNT || !req->reason[0] || !req->patient.id[0])
        return CS_EINVAL;
    if (e->active >= e->cfg.max_active_consults ||
        open_requests_of(e, actor) >= e->cfg.max_open_per_clinician)
        return CS_ELIMIT;
    if (req->n_attachments < 0 || req->n_attachments > CS_MAX_REQUEST_ATTACHMENTS)
        return CS_EINVAL;
    cs_attachment_ref_t refs[CS_MAX_REQUEST_ATTACHMENTS];
    int rc = resolve_attachments(e, actor, NULL, req->attachments, req->n_attachments, refs);
    if (rc)
        return rc;
    consult_entry_t *ce = calloc(1, sizeof *ce);
    if (!ce)
        return CS_ENOMEM;
    cs_consult_t next;
    rc = new_consult(e, actor, req, now, &next);
    memcpy(next.attachments, refs, sizeof refs[0] * (size_t)req->n_attachments);
    next.n_attachments = req->n_attachments;
    /* Offered at once when a specialist is there to see it (the new entry
     * serves as the probe: nobody has declined it yet). Then the entry is
     * emptied again, which tells commit() there is no previous version. */
    ce->c = next;
    if (anyone_eligible(e, ce))
        next.state = CS_STATE_OFFERED;
    memset(&ce->c, 0, sizeof ce->c);
    if (rc == CS_OK)
        rc = cs_map_put(e->consults, next.id, ce);
    if (rc == CS_OK) {
        rc = commit(e, ce, &next, "state", actor, "requested", now);
        if (rc)
            cs_map_remove(e->consults, next.id);
    }
    if (rc) {
        free(ce);
        return rc;
    }
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

bool is_coordinator_of(const cs_identity_t *a, const cs_consult_t *c)
{
    return a->role == CS_ROLE_COORDINATOR && !a->consult_scope[0] &&
           (!strcmp(a->tenant, c->tenant) || !strcmp(a->tenant, c->routed_to));
}

static bool is_clinician_of(const cs_identity_t *a, const cs_consult_t *c)
{
    return a->role == CS_ROLE_CLINICIAN && !a->consult_scope[0] &&
           !strcmp(a->subject, c->clinician) && !strcmp(a->tenant, c->tenant);
}

bool is_specialist_of(const cs_identity_t *a, const cs_consult_t *c)
{
    return a->role == CS_ROLE_SPECIALIST && !a->consult_scope[0] &&
           !strcmp(a->subject, c->specialist) && !strcmp(a->tenant, c->specialist_tenant);
}

int cs_engine_cancel(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now,
                     const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (!is_clinician_of(actor, &ce->c) && !is_coordinator_of(actor, &ce->c))
        return CS_EPERM;
    if (!state_queued(ce->c.state) && ce->c.state != CS_STATE_ACCEPTED)
        return CS_ESTATE;
    bool was_queued = state_queued(ce->c.state);
    if (was_queued)
        withdraw_offers(e, ce, "cancelled", NULL);
    cs_consult_t next = ce->c;
    next.state = CS_STATE_CANCELLED;
    next.ended_at = next.updated_at = now;
    if ((rc = commit(e, ce, &next, "state", actor, "cancelled", now)))
        return rc;
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

/* Makes specialist s (a known user) the consult's specialist. */
static int pair(cs_engine_t *e, consult_entry_t *ce, user_entry_t *s, const cs_identity_t *actor,
                const char *detail, int64_t now)
{
    if (ce->c.n_participants >= CS_MAX_PARTICIPANTS)
        return CS_ELIMIT;
    cs_consult_t next = ce->c;
    next.state = CS_STATE_ACCEPTED;
    next.accepted_at = next.updated_at = now;
    cs_strlcpy(next.specialist, s->u.subject, sizeof next.specialist);
    cs_strlcpy(next.specialist_tenant, s->u.tenant, sizeof next.specialist_tenant);
    cs_strlcpy(next.specialist_name, s->u.name, sizeof next.specialist_name);
    if (!participant_find(&next, s->u.tenant, s->u.subject))
        set_participant(&next.participants[next.n_participants++], s->u.tenant, s->u.subject,
                        s->u.name, CS_ROLE_SPECIALIST, NULL);
    /* Everyone else who was offered it is told before the state changes, while
     * they still match the queue. */
    consult_entry_t before = *ce;
    int rc = commit(e, ce, &next, "state", actor, detail, now);
    if (rc)
        return rc;
    withdraw_offers(e, &before, "taken", s);
    record_pairing(e, &ce->c);
    announce(e, ce);
    return CS_OK;
}

int cs_engine_accept(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now,
                     const cs_consult_t **out)
{
    consult_entry_t *ce = cs_map_get(e->consults, id);
    if (!ce || !may_see(e, actor, &ce->c)) {
        /* A consult just taken by someone else is no longer visible to the
         * loser, who must hear "taken", not "not found". */
        if (ce && actor->role == CS_ROLE_SPECIALIST && !actor->consult_scope[0] &&
            !state_queued(ce->c.state) && ce->c.accepted_at &&
            (!strcmp(actor->tenant, ce->c.tenant) || !strcmp(actor->tenant, ce->c.routed_to)) &&
            cs_identity_has_specialty(actor, ce->c.specialty))
            return CS_ETAKEN;
        return CS_ENOTFOUND;
    }
    if (actor->role != CS_ROLE_SPECIALIST || actor->consult_scope[0])
        return CS_EPERM;
    if (!state_queued(ce->c.state))
        return ce->c.accepted_at ? CS_ETAKEN : CS_ESTATE;
    if (!specialist_eligible(ce, actor->tenant, actor, NULL))
        return CS_EPERM;
    user_entry_t *s = user_find(e, actor->tenant, actor->subject);
    if (!s)
        return CS_ESTATE;
    int rc = pair(e, ce, s, actor, "accepted", now);
    if (rc == CS_OK && out)
        *out = &ce->c;
    return rc;
}

int cs_engine_decline(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now)
{
    (void)now;
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (!specialist_eligible(ce, actor->tenant, actor, NULL))
        return actor->role == CS_ROLE_SPECIALIST ? CS_ESTATE : CS_EPERM;
    if (ce->n_declined == MAX_DECLINED)
        return CS_ELIMIT;
    user_key(ce->declined[ce->n_declined++], sizeof ce->declined[0], actor->tenant,
             actor->subject);
    cs_notice_t n = {.kind = CS_NOTICE_WITHDRAWN, .consult = &ce->c, .reason = "declined",
                     .revision = ++e->revision};
    e->notify(e->notify_user, actor->tenant, actor->subject, &n);
    return CS_OK;
}

int cs_engine_assign(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                     const char *specialist, int64_t now, const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (!is_coordinator_of(actor, &ce->c))
        return CS_EPERM;
    if (!state_queued(ce->c.state))
        return CS_ESTATE;
    /* Coordinators assign within their own centre. */
    user_entry_t *s = user_find(e, actor->tenant, specialist);
    if (!s || s->u.role != CS_ROLE_SPECIALIST)
        return CS_ENOTFOUND;
    bool has = false;
    for (int i = 0; i < s->u.n_specialties && !has; i++)
        has = !strcmp(s->u.specialties[i], ce->c.specialty);
    if (!has)
        return CS_EPERM;
    rc = pair(e, ce, s, actor, "assigned by coordinator", now);
    if (rc == CS_OK && out)
        *out = &ce->c;
    return rc;
}

bool route_allowed(const cs_engine_t *e, const char *from, const char *to)
{
    for (int i = 0; i < e->cfg.n_routes; i++)
        if (!strcmp(e->cfg.routes[i].from, from) && !strcmp(e->cfg.routes[i].to, to))
            return true;
    return false;
}

int route_to(cs_engine_t *e, consult_entry_t *ce, const char *tenant, const cs_identity_t *actor,
             int64_t now)
{
    consult_entry_t before = *ce;
    cs_consult_t next = ce->c;
    cs_strlcpy(next.routed_to, tenant, sizeof next.routed_to);
    next.updated_at = now;
    /* Specialists of the new centre who are available see it at once (the
     * probe keeps the entry's declines). */
    consult_entry_t probe = *ce;
    probe.c = next;
    if (next.state == CS_STATE_REQUESTED && anyone_eligible(e, &probe))
        next.state = CS_STATE_OFFERED;
    char detail[128];
    snprintf(detail, sizeof detail, "routed to %s", tenant);
    int rc = commit(e, ce, &next, "routed", actor, detail, now);
    if (rc)
        return rc;
    /* The previous receiving centre's specialists lose the offer. */
    if (before.c.routed_to[0]) {
        before.c.tenant[0] = '\0';
        withdraw_offers(e, &before, "routed", NULL);
        if (strcmp(before.c.routed_to, tenant) != 0) {
            cs_notice_t n = {.kind = CS_NOTICE_WITHDRAWN, .consult = &ce->c, .reason = "routed"};
            notify_coordinators(e, before.c.routed_to, &n);
        }
    }
    announce(e, ce);
    return CS_OK;
}

int cs_engine_route(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                    const char *tenant, int64_t now, const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    /* Only the requesting centre decides where its requests go. */
    if (actor->role != CS_ROLE_COORDINATOR || actor->consult_scope[0] ||
        strcmp(actor->tenant, ce->c.tenant) != 0)
        return CS_EPERM;
    if (!state_queued(ce->c.state))
        return CS_ESTATE;
    if (!route_allowed(e, ce->c.tenant, tenant))
        return CS_EPERM;
    if (!strcmp(ce->c.routed_to, tenant))
        return CS_EEXIST;
    rc = route_to(e, ce, tenant, actor, now);
    if (rc == CS_OK && out)
        *out = &ce->c;
    return rc;
}

bool is_member(const cs_identity_t *a, cs_consult_t *c)
{
    cs_participant_t *p = participant_find(c, a->tenant, a->subject);
    return p && (!a->consult_scope[0] || !strcmp(a->consult_scope, c->id));
}

/* The consult, when actor may see it and takes part in it. */
consult_entry_t *find_membership(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                                 int *rc)
{
    consult_entry_t *ce = find_visible(e, actor, id, rc);
    if (ce && !is_member(actor, &ce->c)) {
        *rc = CS_EPERM;
        return NULL;
    }
    return ce;
}

static void hash_code(const char *code, char out[65])
{
    if (cs_sha256_hex(code, strlen(code), out) != CS_OK)
        out[0] = '\0'; /* matches no stored invitation */
}

/* Creates an invitation code; the guest's participant entry is added now so
 * everyone sees who is expected. */
static int invite_by_code(cs_engine_t *e, consult_entry_t *ce, const cs_identity_t *actor,
                          cs_role_t role, const char *name, int64_t now, char *code_out,
                          int64_t *expires_at)
{
    cs_invite_t inv;
    memset(&inv, 0, sizeof inv);
    char code[CS_INVITE_CODE_MAX];
    int rc = cs_random_hex(code, 24);
    if (rc)
        return rc;
    hash_code(code, inv.code_hash);
    cs_strlcpy(inv.consult_id, ce->c.id, sizeof inv.consult_id);
    inv.role = role;
    cs_strlcpy(inv.name, name, sizeof inv.name);
    cs_strlcpy(inv.created_by, actor->subject, sizeof inv.created_by);
    inv.created_at = now;
    inv.expires_at = now + e->cfg.invite_ttl_ms;
    cs_consult_t next = ce->c;
    char guest[CS_SUBJECT_MAX];
    snprintf(guest, sizeof guest, "guest-%.16s", inv.code_hash);
    set_participant(&next.participants[next.n_participants++], ce->c.tenant, guest, name, role,
                    actor->subject);
    next.updated_at = now;
    if (e->store.save_invite(e->store_user, &inv) != CS_OK)
        return CS_ESTORAGE;
    if ((rc = commit(e, ce, &next, "invited", actor, cs_role_name(role), now)))
        return rc;
    if ((rc = cs_engine_load_invite(e, &inv)))
        return rc;
    cs_strlcpy(code_out, code, CS_INVITE_CODE_MAX);
    *expires_at = inv.expires_at;
    return CS_OK;
}

int cs_engine_invite(cs_engine_t *e, const cs_identity_t *actor, const char *id, cs_role_t role,
                     const char *subject, const char *name, int64_t now, char *code_out,
                     int64_t *expires_at, const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (actor->consult_scope[0] || (!is_member(actor, &ce->c) && !is_coordinator_of(actor, &ce->c)))
        return CS_EPERM;
    if (ce->c.state != CS_STATE_ACCEPTED && ce->c.state != CS_STATE_IN_PROGRESS)
        return CS_ESTATE;
    if (role == CS_ROLE_COORDINATOR)
        return CS_EINVAL;
    if (ce->c.n_participants >= CS_MAX_PARTICIPANTS)
        return CS_ELIMIT;
    if (!subject || !subject[0]) {
        rc = invite_by_code(e, ce, actor, role, name, now, code_out, expires_at);
    } else {
        user_entry_t *ue = user_find(e, actor->tenant, subject);
        if (!ue || ue->u.role != role)
            return CS_ENOTFOUND;
        if (participant_find(&ce->c, ue->u.tenant, ue->u.subject))
            return CS_EEXIST;
        cs_consult_t next = ce->c;
        set_participant(&next.participants[next.n_participants++], ue->u.tenant, ue->u.subject,
                        ue->u.name, role, actor->subject);
        next.updated_at = now;
        rc = commit(e, ce, &next, "invited", actor, cs_role_name(role), now);
    }
    if (rc)
        return rc;
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

int cs_engine_redeem_invite(cs_engine_t *e, const char *code, int64_t now, cs_identity_t *out)
{
    char hash[65];
    hash_code(code, hash);
    cs_invite_t *inv = cs_map_get(e->invites, hash);
    if (!inv)
        return CS_ENOTFOUND;
    if (inv->expires_at <= now)
        return CS_EEXPIRED;
    consult_entry_t *ce = cs_map_get(e->consults, inv->consult_id);
    if (!ce || cs_state_terminal(ce->c.state))
        return CS_EEXPIRED;
    memset(out, 0, sizeof *out);
    snprintf(out->subject, sizeof out->subject, "guest-%.16s", hash);
    cs_strlcpy(out->name, inv->name, sizeof out->name);
    out->role = inv->role;
    cs_strlcpy(out->tenant, ce->c.tenant, sizeof out->tenant);
    out->expires_at = inv->expires_at;
    cs_strlcpy(out->consult_scope, ce->c.id, sizeof out->consult_scope);
    return CS_OK;
}

int cs_engine_join(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now,
                   const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_membership(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (ce->c.state != CS_STATE_ACCEPTED && ce->c.state != CS_STATE_IN_PROGRESS)
        return CS_ESTATE;
    cs_consult_t next = ce->c;
    cs_participant_t *p = participant_find(&next, actor->tenant, actor->subject);
    if (p->present) {
        if (out)
            *out = &ce->c;
        return CS_OK; /* joining twice (another tab, a reconnect) is not an error */
    }
    p->present = true;
    if (!p->joined_at)
        p->joined_at = now;
    p->left_at = 0;
    next.updated_at = now;
    int present = 0;
    bool specialist_in = false;
    for (int i = 0; i < next.n_participants; i++) {
        present += next.participants[i].present;
        specialist_in |= next.participants[i].present &&
                         !strcmp(next.participants[i].subject, next.specialist) &&
                         !strcmp(next.participants[i].tenant, next.specialist_tenant);
    }
    /* A video consult starts when two people are in the room; a deferred one
     * when the specialist opens the case. */
    if (next.state == CS_STATE_ACCEPTED &&
        (next.mode == CS_MODE_DEFERRED ? specialist_in : present >= 2)) {
        next.state = CS_STATE_IN_PROGRESS;
        next.started_at = now;
    }
    if ((rc = commit(e, ce, &next, "joined", actor, NULL, now)))
        return rc;
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

static int leave(cs_engine_t *e, consult_entry_t *ce, const cs_identity_t *actor,
                 const char *detail, int64_t now)
{
    cs_consult_t next = ce->c;
    cs_participant_t *p = participant_find(&next, actor->tenant, actor->subject);
    if (!p || !p->present)
        return CS_OK;
    p->present = false;
    p->left_at = now;
    next.updated_at = now;
    int rc = commit(e, ce, &next, "left", actor, detail, now);
    if (rc == CS_OK)
        announce(e, ce);
    return rc;
}

int cs_engine_leave(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now,
                    const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_membership(e, actor, id, &rc);
    if (!ce)
        return rc;
    if ((rc = leave(e, ce, actor, NULL, now)))
        return rc;
    if (out)
        *out = &ce->c;
    return CS_OK;
}

/* Leaves actor's rooms; CS_OK, or CS_ESTORAGE when a leave could not be stored. */
static int leave_rooms(cs_engine_t *e, const cs_identity_t *actor, int64_t now)
{
    int rc = CS_OK;
    size_t pos = 0;
    void *v;
    while (cs_map_next(e->consults, &pos, NULL, &v)) {
        consult_entry_t *ce = v;
        if (cs_state_terminal(ce->c.state) || !is_member(actor, &ce->c))
            continue;
        if (leave(e, ce, actor, "connection closed", now) == CS_ESTORAGE)
            rc = CS_ESTORAGE;
    }
    return rc;
}

void leave_all(cs_engine_t *e, const cs_identity_t *actor, int64_t now)
{
    if (leave_rooms(e, actor, now) == CS_OK)
        return;
    /* A room left "present" would show someone who is gone: keep it to try
     * again; with the list full (that many people gone while the database
     * refused every write), the oldest gives way. */
    if (e->n_pending_leaves == MAX_PENDING_LEAVES) {
        memmove(&e->pending_leaves[0], &e->pending_leaves[1],
                (MAX_PENDING_LEAVES - 1) * sizeof e->pending_leaves[0]);
        e->n_pending_leaves--;
    }
    e->pending_leaves[e->n_pending_leaves++] = *actor;
}

void retry_pending_leaves(cs_engine_t *e, int64_t now)
{
    size_t kept = 0;
    for (size_t i = 0; i < e->n_pending_leaves; i++) {
        if (leave_rooms(e, &e->pending_leaves[i], now) != CS_OK)
            e->pending_leaves[kept++] = e->pending_leaves[i];
    }
    e->n_pending_leaves = kept;
}

void drop_pending_leaves(cs_engine_t *e, const cs_identity_t *who)
{
    size_t kept = 0;
    for (size_t i = 0; i < e->n_pending_leaves; i++) {
        const cs_identity_t *p = &e->pending_leaves[i];
        if (strcmp(p->tenant, who->tenant) != 0 || strcmp(p->subject, who->subject) != 0)
            e->pending_leaves[kept++] = *p;
    }
    e->n_pending_leaves = kept;
}

int cs_engine_end(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now,
                  const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (!is_specialist_of(actor, &ce->c) && !is_clinician_of(actor, &ce->c) &&
        !is_coordinator_of(actor, &ce->c))
        return CS_EPERM;
    if (ce->c.state != CS_STATE_ACCEPTED && ce->c.state != CS_STATE_IN_PROGRESS)
        return CS_ESTATE;
    cs_consult_t next = ce->c;
    next.state = CS_STATE_ENDED;
    next.ended_at = next.updated_at = now;
    for (int i = 0; i < next.n_participants; i++) {
        if (next.participants[i].present) {
            next.participants[i].present = false;
            next.participants[i].left_at = now;
        }
    }
    if ((rc = commit(e, ce, &next, "state", actor, "ended", now)))
        return rc;
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

int cs_engine_history(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                      cs_event_t *out, size_t max)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (actor->consult_scope[0])
        return CS_EPERM;
    rc = e->store.list_events(e->store_user, id, out, max);
    return rc < 0 ? CS_ESTORAGE : rc;
}
