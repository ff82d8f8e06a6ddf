/*
 * users.c — who the engine knows, who is online, and which specialists are
 * available for which queue. Specialists are indexed by (tenant, specialty) so
 * a new request reaches its candidates without scanning every user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void user_key(char *out, size_t size, const char *tenant, const char *subject)
{
    snprintf(out, size, "%s\x1f%s", tenant, subject);
}

user_entry_t *user_find(const cs_engine_t *e, const char *tenant, const char *subject)
{
    char key[CS_TENANT_MAX + CS_SUBJECT_MAX];
    user_key(key, sizeof key, tenant, subject);
    return cs_map_get(e->users, key);
}

static int index_add(cs_map_t *m, const char *key, user_entry_t *ue)
{
    ptrvec_t *v = cs_map_get(m, key);
    if (!v) {
        v = calloc(1, sizeof *v);
        if (!v)
            return CS_ENOMEM;
        int rc = cs_map_put(m, key, v);
        if (rc) {
            free(v);
            return rc;
        }
    }
    return ptrvec_push(v, ue);
}

static void index_remove(cs_map_t *m, const char *key, user_entry_t *ue)
{
    ptrvec_t *v = cs_map_get(m, key);
    if (v)
        ptrvec_remove(v, ue);
}

/* (Un)indexes a user under their role's index. */
static int user_index(cs_engine_t *e, user_entry_t *ue, bool add)
{
    char key[CS_TENANT_MAX + CS_SPECIALTY_MAX];
    if (ue->u.role == CS_ROLE_COORDINATOR) {
        if (!add) {
            index_remove(e->coordinators, ue->u.tenant, ue);
            return CS_OK;
        }
        return index_add(e->coordinators, ue->u.tenant, ue);
    }
    if (ue->u.role != CS_ROLE_SPECIALIST)
        return CS_OK;
    for (int i = 0; i < ue->u.n_specialties; i++) {
        user_key(key, sizeof key, ue->u.tenant, ue->u.specialties[i]);
        if (!add) {
            index_remove(e->by_specialty, key, ue);
            continue;
        }
        int rc = index_add(e->by_specialty, key, ue);
        if (rc)
            return rc;
    }
    return CS_OK;
}

int user_register(cs_engine_t *e, const cs_user_t *u, user_entry_t **out)
{
    user_entry_t *ue = user_find(e, u->tenant, u->subject);
    if (ue) {
        /* A newer token may carry other specialties or another role. */
        user_index(e, ue, false);
        ue->u = *u;
    } else {
        ue = calloc(1, sizeof *ue);
        if (!ue)
            return CS_ENOMEM;
        ue->u = *u;
        char key[CS_TENANT_MAX + CS_SUBJECT_MAX];
        user_key(key, sizeof key, u->tenant, u->subject);
        int rc = cs_map_put(e->users, key, ue);
        if (rc) {
            free(ue);
            return rc;
        }
    }
    if (out)
        *out = ue;
    return user_index(e, ue, true);
}

int cs_engine_load_user(cs_engine_t *e, const cs_user_t *u)
{
    return user_register(e, u, NULL);
}

void users_free(cs_engine_t *e)
{
    size_t pos = 0;
    void *v;
    while (e->by_specialty && cs_map_next(e->by_specialty, &pos, NULL, &v))
        ptrvec_free(v);
    cs_map_free(e->by_specialty);
    pos = 0;
    while (e->coordinators && cs_map_next(e->coordinators, &pos, NULL, &v))
        ptrvec_free(v);
    cs_map_free(e->coordinators);
    pos = 0;
    while (e->users && cs_map_next(e->users, &pos, NULL, &v))
        free(v);
    cs_map_free(e->users);
}

cs_presence_t cs_engine_presence(const cs_engine_t *e, const char *tenant, const char *subject)
{
    user_entry_t *ue = user_find(e, tenant, subject);
    return ue ? ue->presence : CS_PRESENCE_OFFLINE;
}

bool specialist_eligible(const consult_entry_t *ce, const char *tenant,
                         const cs_identity_t *or_id, const user_entry_t *or_user)
{
    const cs_consult_t *c = &ce->c;
    if (!state_queued(c->state))
        return false;
    if (strcmp(tenant, c->tenant) != 0 && strcmp(tenant, c->routed_to) != 0)
        return false;
    const char *subject = or_id ? or_id->subject : or_user->u.subject;
    bool has = false;
    if (or_id) {
        has = or_id->role == CS_ROLE_SPECIALIST && cs_identity_has_specialty(or_id, c->specialty);
    } else if (or_user->u.role == CS_ROLE_SPECIALIST) {
        for (int i = 0; i < or_user->u.n_specialties && !has; i++)
            has = strcmp(or_user->u.specialties[i], c->specialty) == 0;
    }
    if (!has)
        return false;
    char key[CS_TENANT_MAX + CS_SUBJECT_MAX];
    user_key(key, sizeof key, tenant, subject);
    for (int i = 0; i < ce->n_declined; i++)
        if (strcmp(ce->declined[i], key) == 0)
            return false;
    return true;
}

static void visit_tenant(cs_engine_t *e, const char *tenant, consult_entry_t *ce,
                         bool any_presence, specialist_fn fn, void *arg)
{
    char key[CS_TENANT_MAX + CS_SPECIALTY_MAX];
    user_key(key, sizeof key, tenant, ce->c.specialty);
    ptrvec_t *v = cs_map_get(e->by_specialty, key);
    for (size_t i = 0; v && i < v->len; i++) {
        user_entry_t *s = v->items[i];
        bool reachable = any_presence ? s->connections > 0 : s->presence == CS_PRESENCE_AVAILABLE;
        if (reachable && specialist_eligible(ce, tenant, NULL, s))
            fn(e, s, ce, arg);
    }
}

void eligible_specialists(cs_engine_t *e, consult_entry_t *ce, bool any_presence, specialist_fn fn,
                          void *arg)
{
    visit_tenant(e, ce->c.tenant, ce, any_presence, fn, arg);
    if (ce->c.routed_to[0])
        visit_tenant(e, ce->c.routed_to, ce, any_presence, fn, arg);
}

static void found_cb(cs_engine_t *e, user_entry_t *s, consult_entry_t *ce, void *arg)
{
    (void)e, (void)s, (void)ce;
    *(bool *)arg = true;
}

bool anyone_eligible(cs_engine_t *e, consult_entry_t *ce)
{
    bool found = false;
    eligible_specialists(e, ce, false, found_cb, &found);
    return found;
}

int offer_owed(cs_engine_t *e, consult_entry_t *ce, int64_t now)
{
    cs_consult_t next = ce->c;
    next.state = CS_STATE_OFFERED;
    next.updated_at = now;
    int rc = commit(e, ce, &next, "state", &engine_system_actor, "a specialist is available", now);
    if (rc == CS_OK)
        announce(e, ce); /* includes the offers */
    return rc;
}

/* Moves requested consults this specialist may take to "offered" and offers
 * every queued one to them. A move the database refuses is made by a later
 * tick (cs_engine_tick). */
static void offer_queue_to(cs_engine_t *e, user_entry_t *s, int64_t now)
{
    size_t pos = 0;
    void *v;
    while (cs_map_next(e->consults, &pos, NULL, &v)) {
        consult_entry_t *ce = v;
        if (!specialist_eligible(ce, s->u.tenant, NULL, s))
            continue;
        if (ce->c.state == CS_STATE_REQUESTED)
            offer_owed(e, ce, now);
        else
            offer_to(e, s, ce);
    }
}

int set_presence(cs_engine_t *e, user_entry_t *ue, cs_presence_t p, int64_t now)
{
    if (ue->presence == p)
        return CS_OK;
    ue->presence = p;
    e->revision++;
    if (ue->u.role == CS_ROLE_SPECIALIST) {
        cs_notice_t n = {.kind = CS_NOTICE_PRESENCE, .user = &ue->u, .presence = p};
        notify_coordinators(e, ue->u.tenant, &n);
        if (p == CS_PRESENCE_AVAILABLE)
            offer_queue_to(e, ue, now);
    }
    return CS_OK;
}

int cs_engine_connect(cs_engine_t *e, const cs_identity_t *id, int64_t now_ms)
{
    drop_pending_leaves(e, id);
    if (id->consult_scope[0])
        return CS_OK; /* invited guests are not users of the centre */
    cs_user_t u;
    memset(&u, 0, sizeof u);
    cs_strlcpy(u.subject, id->subject, sizeof u.subject);
    cs_strlcpy(u.name, id->name, sizeof u.name);
    u.role = id->role;
    cs_strlcpy(u.tenant, id->tenant, sizeof u.tenant);
    memcpy(u.specialties, id->specialties, sizeof u.specialties);
    u.n_specialties = id->n_specialties;
    u.last_seen = now_ms;
    int rc = e->store.save_user(e->store_user, &u);
    if (rc)
        return CS_ESTORAGE;
    user_entry_t *ue;
    if ((rc = user_register(e, &u, &ue)))
        return rc;
    if (ue->connections++ == 0)
        set_presence(e, ue, id->role == CS_ROLE_SPECIALIST ? CS_PRESENCE_AWAY
                                                           : CS_PRESENCE_AVAILABLE, now_ms);
    return CS_OK;
}

void cs_engine_disconnect(cs_engine_t *e, const cs_identity_t *id, int64_t now_ms)
{
    if (id->consult_scope[0]) {
        leave_all(e, id, now_ms);
        return;
    }
    user_entry_t *ue = user_find(e, id->tenant, id->subject);
    if (!ue || ue->connections == 0)
        return;
    if (--ue->connections == 0) {
        set_presence(e, ue, CS_PRESENCE_OFFLINE, now_ms);
        leave_all(e, id, now_ms);
    }
}

int cs_engine_set_presence(cs_engine_t *e, const cs_identity_t *actor, cs_presence_t p,
                           int64_t now_ms)
{
    if (actor->role != CS_ROLE_SPECIALIST || actor->consult_scope[0])
        return CS_EPERM;
    if (p == CS_PRESENCE_OFFLINE)
        return CS_EINVAL;
    user_entry_t *ue = user_find(e, actor->tenant, actor->subject);
    if (!ue || ue->connections == 0)
        return CS_ESTATE;
    return set_presence(e, ue, p, now_ms);
}

void cs_engine_users(const cs_engine_t *e, const char *tenant, cs_role_t role,
                     cs_user_visit_fn fn, void *user)
{
    size_t pos = 0;
    void *v;
    while (cs_map_next(e->users, &pos, NULL, &v)) {
        user_entry_t *ue = v;
        if (ue->u.role == role && strcmp(ue->u.tenant, tenant) == 0)
            fn(user, &ue->u, ue->presence);
    }
}
