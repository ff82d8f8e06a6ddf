/*
 * engine.c — the consult engine's lifecycle, its write-through commits and the
 * notices that tell each user what changed.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const cs_identity_t engine_system_actor = {.subject = "system", .name = "Consilium"};

const double cs_engine_pairing_bounds_s[11] = {10,   30,   60,    120,   300,   600,
                                               1800, 3600, 7200, 86400, 604800};

void cs_engine_config_defaults(cs_engine_config_t *cfg)
{
    const int64_t m = 60 * 1000, h = 60 * m, d = 24 * h;
    memset(cfg, 0, sizeof *cfg);
    cfg->warn_ms[CS_URGENCY_EMERGENCY] = 10 * m;
    cfg->warn_ms[CS_URGENCY_URGENT] = 4 * h;
    cfg->warn_ms[CS_URGENCY_PLANNED] = 2 * d;
    cfg->deadline_ms[CS_URGENCY_EMERGENCY] = 2 * h;
    cfg->deadline_ms[CS_URGENCY_URGENT] = 24 * h;
    cfg->deadline_ms[CS_URGENCY_PLANNED] = 7 * d;
    cfg->expire_ms[CS_URGENCY_EMERGENCY] = 24 * h;
    cfg->expire_ms[CS_URGENCY_URGENT] = 3 * d;
    cfg->expire_ms[CS_URGENCY_PLANNED] = 14 * d;
    cfg->invite_ttl_ms = 24 * h;
    cfg->retain_ms = 24 * h;
    cfg->max_active_consults = 100000;
    cfg->max_open_per_clinician = 50;
    cfg->recording_enabled = true;
    cfg->recording_requesters = 1u << CS_ROLE_SPECIALIST | 1u << CS_ROLE_COORDINATOR;
}

const cs_engine_config_t *cs_engine_config(const cs_engine_t *e)
{
    return &e->cfg;
}

/* ---- pointer vectors ------------------------------------------------------ */

int ptrvec_push(ptrvec_t *v, void *p)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void **items = realloc(v->items, cap * sizeof *items);
        if (!items)
            return CS_ENOMEM;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = p;
    return CS_OK;
}

void ptrvec_remove(ptrvec_t *v, void *p)
{
    for (size_t i = 0; i < v->len; i++) {
        if (v->items[i] == p) {
            v->items[i] = v->items[--v->len];
            return;
        }
    }
}

void ptrvec_free(ptrvec_t *v)
{
    if (v)
        free(v->items);
    free(v);
}

/* ---- lifecycle -------------------------------------------------------------- */

cs_engine_t *cs_engine_new(const cs_engine_config_t *cfg, const cs_store_t *store,
                           void *store_user, cs_notify_fn notify, void *notify_user)
{
    cs_engine_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cfg = *cfg;
    e->store = *store;
    e->store_user = store_user;
    e->notify = notify;
    e->notify_user = notify_user;
    e->consults = cs_map_new(0);
    e->users = cs_map_new(0);
    e->by_specialty = cs_map_new(0);
    e->coordinators = cs_map_new(0);
    e->invites = cs_map_new(0);
    if (!e->consults || !e->users || !e->by_specialty || !e->coordinators || !e->invites) {
        cs_engine_free(e);
        return NULL;
    }
    return e;
}

static void free_values(cs_map_t *m)
{
    size_t pos = 0;
    void *v;
    while (m && cs_map_next(m, &pos, NULL, &v))
        free(v);
    cs_map_free(m);
}

void cs_engine_free(cs_engine_t *e)
{
    if (!e)
        return;
    free_values(e->consults);
    free_values(e->invites);
    users_free(e);
    free(e);
}

bool state_queued(cs_state_t s)
{
    return s == CS_STATE_REQUESTED || s == CS_STATE_OFFERED;
}

cs_participant_t *participant_find(cs_consult_t *c, const char *tenant, const char *subject)
{
    for (int i = 0; i < c->n_participants; i++)
        if (strcmp(c->participants[i].subject, subject) == 0 &&
            strcmp(c->participants[i].tenant, tenant) == 0)
            return &c->participants[i];
    return NULL;
}

int cs_engine_load_consult(cs_engine_t *e, const cs_consult_t *c)
{
    consult_entry_t *ce = calloc(1, sizeof *ce);
    if (!ce)
        return CS_ENOMEM;
    ce->c = *c;
    /* Nobody is connected at start-up: whoever was in a room when the gateway
     * stopped joins again when their client reconnects. */
    for (int i = 0; i < ce->c.n_participants; i++)
        ce->c.participants[i].present = false;
    consult_entry_t *old = cs_map_get(e->consults, c->id);
    int rc = cs_map_put(e->consults, c->id, ce);
    if (rc) {
        free(ce);
        return rc;
    }
    if (old && !cs_state_terminal(old->c.state))
        e->active--;
    free(old);
    if (!cs_state_terminal(c->state))
        e->active++;
    return CS_OK;
}

int cs_engine_load_invite(cs_engine_t *e, const cs_invite_t *inv)
{
    cs_invite_t *copy = malloc(sizeof *copy);
    if (!copy)
        return CS_ENOMEM;
    *copy = *inv;
    free(cs_map_remove(e->invites, inv->code_hash));
    int rc = cs_map_put(e->invites, inv->code_hash, copy);
    if (rc)
        free(copy);
    return rc;
}

const cs_consult_t *cs_engine_find(const cs_engine_t *e, const char *id)
{
    consult_entry_t *ce = cs_map_get(e->consults, id);
    return ce ? &ce->c : NULL;
}

/* ---- commits --------------------------------------------------------------- */

int commit(cs_engine_t *e, consult_entry_t *ce, const cs_consult_t *proposed, const char *kind,
           const cs_identity_t *actor, const char *detail, int64_t now)
{
    /* Every change passes here, so the recording's rules hold whatever
     * changed (a join, a leave, the end). */
    cs_consult_t normalized = *proposed;
    if (recording_normalize(&normalized, now) != CS_OK)
        return CS_ESTORAGE;
    const cs_consult_t *next = &normalized;
    bool recording = ce->c.recording.state != CS_RECORDING_OFF ||
                     next->recording.state != CS_RECORDING_OFF ||
                     ce->c.recording.n_files != next->recording.n_files;
    cs_event_t ev;
    memset(&ev, 0, sizeof ev);
    cs_strlcpy(ev.consult_id, next->id, sizeof ev.consult_id);
    ev.at = now;
    cs_strlcpy(ev.kind, kind, sizeof ev.kind);
    bool fresh = ce->c.id[0] == '\0'; /* a new consult: no previous state */
    ev.from = fresh ? CS_STATE_REQUESTED : ce->c.state;
    ev.to = next->state;
    ev.actor_is_system = actor == &engine_system_actor;
    cs_strlcpy(ev.actor, actor->subject, sizeof ev.actor);
    ev.actor_role = actor->role;
    cs_strlcpy(ev.detail, detail ? detail : "", sizeof ev.detail);
    if (e->store.save_consult(e->store_user, next, &ev) != CS_OK)
        return CS_ESTORAGE;
    bool was_active = !fresh && !cs_state_terminal(ev.from);
    bool is_active = !cs_state_terminal(next->state);
    e->active += (size_t)is_active - (size_t)was_active;
    ce->c = *next;
    e->revision++;
    if (recording && e->recording_hook)
        e->recording_hook(e->recording_hook_user, &ce->c);
    return CS_OK;
}

void record_pairing(cs_engine_t *e, const cs_consult_t *c)
{
    double s = (double)(c->accepted_at - c->created_at) / 1000.0;
    size_t i = 0;
    while (i < CS_ARRAY_LEN(cs_engine_pairing_bounds_s) && s > cs_engine_pairing_bounds_s[i])
        i++;
    e->pairing_buckets[i]++;
    e->pairing_sum_s += s;
    e->pairing_count++;
}

/* ---- notices --------------------------------------------------------------- */

void send_notice(cs_engine_t *e, const char *tenant, const char *subject,
                 const cs_notice_t *n)
{
    if (!e->notify)
        return;
    cs_notice_t stamped = *n;
    stamped.revision = e->revision;
    e->notify(e->notify_user, tenant, subject, &stamped);
}

void notify_coordinators(cs_engine_t *e, const char *tenant, const cs_notice_t *n)
{
    ptrvec_t *v = cs_map_get(e->coordinators, tenant);
    for (size_t i = 0; v && i < v->len; i++) {
        user_entry_t *ue = v->items[i];
        if (ue->connections > 0)
            send_notice(e, ue->u.tenant, ue->u.subject, n);
    }
}

void offer_to(cs_engine_t *e, user_entry_t *s, consult_entry_t *ce)
{
    cs_notice_t n = {.kind = CS_NOTICE_OFFER, .consult = &ce->c};
    send_notice(e, s->u.tenant, s->u.subject, &n);
}

static void offer_cb(cs_engine_t *e, user_entry_t *s, consult_entry_t *ce, void *arg)
{
    (void)arg;
    offer_to(e, s, ce);
}

void notify_entitled(cs_engine_t *e, consult_entry_t *ce, const cs_notice_t *n)
{
    for (int i = 0; i < ce->c.n_participants; i++) {
        const cs_participant_t *p = &ce->c.participants[i];
        /* A coordinator who is also a participant hears it once, below. */
        user_entry_t *ue = user_find(e, p->tenant, p->subject);
        if (ue && ue->u.role == CS_ROLE_COORDINATOR &&
            (!strcmp(p->tenant, ce->c.tenant) || !strcmp(p->tenant, ce->c.routed_to)))
            continue;
        send_notice(e, p->tenant, p->subject, n);
    }
    notify_coordinators(e, ce->c.tenant, n);
    if (ce->c.routed_to[0])
        notify_coordinators(e, ce->c.routed_to, n);
}

void announce(cs_engine_t *e, consult_entry_t *ce)
{
    cs_notice_t n = {.kind = CS_NOTICE_CONSULT, .consult = &ce->c};
    notify_entitled(e, ce, &n);
    if (state_queued(ce->c.state))
        eligible_specialists(e, ce, false, offer_cb, NULL);
}

struct withdraw_arg {
    const char *reason;
    const user_entry_t *except;
};

static void withdraw_cb(cs_engine_t *e, user_entry_t *s, consult_entry_t *ce, void *arg)
{
    struct withdraw_arg *w = arg;
    if (s == w->except)
        return;
    cs_notice_t n = {.kind = CS_NOTICE_WITHDRAWN, .consult = &ce->c, .reason = w->reason};
    send_notice(e, s->u.tenant, s->u.subject, &n);
}

void withdraw_offers(cs_engine_t *e, consult_entry_t *ce, const char *reason,
                     const user_entry_t *except)
{
    struct withdraw_arg w = {reason, except};
    eligible_specialists(e, ce, true, withdraw_cb, &w);
}

/* ---- figures ------------------------------------------------------------------ */

void cs_engine_stats(const cs_engine_t *e, cs_engine_stats_t *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    void *v;
    while (cs_map_next(e->consults, &pos, NULL, &v))
        out->consults_by_state[((consult_entry_t *)v)->c.state]++;
    pos = 0;
    while (cs_map_next(e->users, &pos, NULL, &v)) {
        user_entry_t *ue = v;
        out->users_online += ue->connections > 0;
        out->specialists_available +=
            ue->u.role == CS_ROLE_SPECIALIST && ue->presence == CS_PRESENCE_AVAILABLE;
    }
    memcpy(out->pairing_buckets, e->pairing_buckets, sizeof out->pairing_buckets);
    out->pairing_sum_s = e->pairing_sum_s;
    out->pairing_count = e->pairing_count;
}
