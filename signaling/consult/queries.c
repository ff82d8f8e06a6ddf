/*
 * queries.c — who may see which consult, and the ordered views built on that:
 * a user's snapshot, the queues by tenant and specialty.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool may_see(const cs_engine_t *e, const cs_identity_t *a, const cs_consult_t *c)
{
    (void)e;
    if (a->consult_scope[0]) /* an invited guest sees their one consult */
        return !strcmp(a->consult_scope, c->id) &&
               participant_find((cs_consult_t *)c, a->tenant, a->subject) != NULL;
    if (participant_find((cs_consult_t *)c, a->tenant, a->subject))
        return true;
    bool centre = !strcmp(a->tenant, c->tenant) || !strcmp(a->tenant, c->routed_to);
    if (a->role == CS_ROLE_COORDINATOR)
        return centre;
    /* Specialists see the queue of their specialties, and nothing once taken. */
    return a->role == CS_ROLE_SPECIALIST && centre && state_queued(c->state) &&
           cs_identity_has_specialty(a, c->specialty);
}

bool cs_engine_may_see(const cs_engine_t *e, const cs_identity_t *actor, const cs_consult_t *c)
{
    return may_see(e, actor, c);
}

/* Queue order: queued before the rest; among queued, most urgent first, then
 * earliest deadline; among the rest, most recently changed first. */
static int queue_order(const void *pa, const void *pb)
{
    const cs_consult_t *a = *(const cs_consult_t *const *)pa, *b = *(const cs_consult_t *const *)pb;
    bool qa = state_queued(a->state), qb = state_queued(b->state);
    if (qa != qb)
        return qa ? -1 : 1;
    if (qa) {
        if (a->urgency != b->urgency)
            return a->urgency < b->urgency ? -1 : 1;
        if (a->deadline_at != b->deadline_at)
            return a->deadline_at < b->deadline_at ? -1 : 1;
        return strcmp(a->id, b->id);
    }
    if (a->updated_at != b->updated_at)
        return a->updated_at > b->updated_at ? -1 : 1;
    return strcmp(a->id, b->id);
}

void cs_engine_visible(const cs_engine_t *e, const cs_identity_t *actor, cs_consult_visit_fn fn,
                       void *user)
{
    size_t n = 0, cap = 64, pos = 0;
    const cs_consult_t **list = malloc(cap * sizeof *list);
    void *v;
    while (list && cs_map_next(e->consults, &pos, NULL, &v)) {
        const cs_consult_t *c = &((consult_entry_t *)v)->c;
        if (!may_see(e, actor, c))
            continue;
        /* Specialists' offers list leaves out what they declined. */
        if (actor->role == CS_ROLE_SPECIALIST && state_queued(c->state) &&
            !participant_find((cs_consult_t *)c, actor->tenant, actor->subject) &&
            !specialist_eligible(v, actor->tenant, actor, NULL))
            continue;
        if (n == cap) {
            const cs_consult_t **bigger = realloc(list, 2 * cap * sizeof *list);
            if (!bigger)
                break;
            list = bigger;
            cap *= 2;
        }
        list[n++] = c;
    }
    if (!list)
        return;
    qsort(list, n, sizeof *list, queue_order);
    for (size_t i = 0; i < n; i++)
        fn(user, list[i]);
    free(list);
}

void cs_engine_queues(const cs_engine_t *e, cs_queue_visit_fn fn, void *user)
{
    /* Few distinct queues: count them in a small map keyed tenant/specialty/urgency. */
    cs_map_t *counts = cs_map_new(0);
    size_t pos = 0;
    void *v;
    char key[CS_TENANT_MAX + CS_SPECIALTY_MAX + 4];
    while (counts && cs_map_next(e->consults, &pos, NULL, &v)) {
        const cs_consult_t *c = &((consult_entry_t *)v)->c;
        if (!state_queued(c->state))
            continue;
        const char *tenant = c->routed_to[0] ? c->routed_to : c->tenant;
        user_key(key, sizeof key, tenant, c->specialty);
        size_t len = strlen(key);
        key[len] = '\x1f';
        key[len + 1] = (char)('0' + c->urgency);
        key[len + 2] = '\0';
        uintptr_t count = (uintptr_t)cs_map_get(counts, key);
        cs_map_put(counts, key, (void *)(count + 1));
    }
    pos = 0;
    const char *k;
    while (counts && cs_map_next(counts, &pos, &k, &v)) {
        char tenant[CS_TENANT_MAX], specialty[CS_SPECIALTY_MAX];
        const char *s1 = strchr(k, '\x1f'), *s2 = strrchr(k, '\x1f');
        cs_strlcpy(tenant, k, (size_t)(s1 - k + 1) < sizeof tenant ? (size_t)(s1 - k + 1) : sizeof tenant);
        size_t sl = (size_t)(s2 - s1);
        cs_strlcpy(specialty, s1 + 1, sl < sizeof specialty ? sl : sizeof specialty);
        fn(user, tenant, specialty, (cs_urgency_t)(s2[1] - '0'), (size_t)(uintptr_t)v);
    }
    cs_map_free(counts);
}
