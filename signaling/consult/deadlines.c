/*
 * deadlines.c — what happens with time: escalation warnings, overdue requests
 * (with optional routing to another centre), expiry, invitation clean-up and
 * eviction of long-finished consults from memory (they stay in the store).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void escalate(cs_engine_t *e, consult_entry_t *ce, cs_escalation_t level, int64_t now)
{
    cs_consult_t next = ce->c;
    next.escalation = level;
    next.updated_at = now;
    if (commit(e, ce, &next, "escalated", &engine_system_actor, cs_escalation_name(level), now))
        return; /* retried on the next tick */
    cs_notice_t n = {.kind = CS_NOTICE_ESCALATION, .consult = &ce->c};
    notify_coordinators(e, ce->c.tenant, &n);
    if (ce->c.routed_to[0])
        notify_coordinators(e, ce->c.routed_to, &n);
    announce(e, ce);
    if (level != CS_ESCALATION_OVERDUE || !e->cfg.auto_route_overdue || ce->c.routed_to[0])
        return;
    for (int i = 0; i < e->cfg.n_routes; i++) {
        if (!strcmp(e->cfg.routes[i].from, ce->c.tenant)) {
            route_to(e, ce, e->cfg.routes[i].to, &engine_system_actor, now);
            return;
        }
    }
}

static void expire(cs_engine_t *e, consult_entry_t *ce, int64_t now)
{
    consult_entry_t before = *ce;
    cs_consult_t next = ce->c;
    next.state = CS_STATE_EXPIRED;
    next.ended_at = next.updated_at = now;
    if (commit(e, ce, &next, "state", &engine_system_actor, "not accepted in time", now))
        return;
    withdraw_offers(e, &before, "expired", NULL);
    announce(e, ce);
}

void cs_engine_tick(cs_engine_t *e, int64_t now)
{
    size_t pos = 0;
    void *v;
    const char *key;
    while (cs_map_next(e->consults, &pos, &key, &v)) {
        consult_entry_t *ce = v;
        cs_consult_t *c = &ce->c;
        if (state_queued(c->state)) {
            /* Requested while a specialist is available: the offer's write
             * failed (a locked database), so make it now. */
            if (c->state == CS_STATE_REQUESTED && now < c->expire_at && anyone_eligible(e, ce))
                offer_owed(e, ce, now);
            if (now >= c->expire_at)
                expire(e, ce, now);
            else if (now >= c->deadline_at && c->escalation < CS_ESCALATION_OVERDUE)
                escalate(e, ce, CS_ESCALATION_OVERDUE, now);
            else if (now >= c->warn_at && c->escalation < CS_ESCALATION_WARNING)
                escalate(e, ce, CS_ESCALATION_WARNING, now);
        } else if (cs_state_terminal(c->state) && now - c->updated_at > e->cfg.retain_ms) {
            free(cs_map_remove(e->consults, key));
        }
    }
    retry_pending_leaves(e, now);
    pos = 0;
    while (cs_map_next(e->invites, &pos, &key, &v))
        if (((cs_invite_t *)v)->expires_at <= now)
            free(cs_map_remove(e->invites, key));
}
