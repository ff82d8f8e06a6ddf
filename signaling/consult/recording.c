/*
 * recording.c — the consent rules of recording a consult's call.
 *
 * Who may ask, who must consent, when it starts and stops (docs/PROTOCOL.md
 * "Recording"). The engine only decides and stores; the gateway, told through
 * the recording hook after each change, opens and closes the capture files
 * and tells the media core whose packets to record: the participants whose
 * consent is given, nobody else.
 */
#include "internal.h"

#include <string.h>

static cs_recording_consent_t *consent_of(cs_recording_t *r, const char *tenant,
                                          const char *subject)
{
    for (int i = 0; i < r->n_consents; i++)
        if (!strcmp(r->consents[i].subject, subject) && !strcmp(r->consents[i].tenant, tenant))
            return &r->consents[i];
    return NULL;
}

/* A present participant without an answer is asked. The consents array has
 * room for every participant, so this cannot run out. */
static void ask_present(cs_consult_t *c)
{
    cs_recording_t *r = &c->recording;
    for (int i = 0; i < c->n_participants; i++) {
        const cs_participant_t *p = &c->participants[i];
        if (!p->present || consent_of(r, p->tenant, p->subject) ||
            r->n_consents >= CS_MAX_PARTICIPANTS)
            continue;
        cs_recording_consent_t *k = &r->consents[r->n_consents++];
        memset(k, 0, sizeof *k);
        cs_strlcpy(k->subject, p->subject, sizeof k->subject);
        cs_strlcpy(k->tenant, p->tenant, sizeof k->tenant);
        cs_strlcpy(k->name, p->name, sizeof k->name);
        k->answer = CS_CONSENT_PENDING;
    }
}

static bool everyone_present_consented(cs_consult_t *c)
{
    int present = 0;
    for (int i = 0; i < c->n_participants; i++) {
        const cs_participant_t *p = &c->participants[i];
        if (!p->present)
            continue;
        present++;
        const cs_recording_consent_t *k = consent_of(&c->recording, p->tenant, p->subject);
        if (!k || k->answer != CS_CONSENT_GIVEN)
            return false;
    }
    return present > 0;
}

static void stop_capture(cs_recording_t *r, int64_t now)
{
    cs_recording_file_t *f = cs_recording_current_file(r);
    if (f) {
        f->state = CS_RECFILE_QUEUED;
        f->stopped_at = now;
    }
    r->state = CS_RECORDING_OFF;
}

static int start_capture(cs_recording_t *r, int64_t now)
{
    if (r->n_files >= CS_MAX_RECORDING_FILES)
        return CS_ELIMIT;
    cs_recording_file_t *f = &r->files[r->n_files];
    memset(f, 0, sizeof *f);
    char id[37];
    if (cs_uuid4(id) != CS_OK)
        return CS_EIO;
    cs_strlcpy(f->id, id, sizeof f->id);
    f->state = CS_RECFILE_RECORDING;
    f->started_at = now;
    r->n_files++;
    r->state = CS_RECORDING_ON;
    return CS_OK;
}

int recording_normalize(cs_consult_t *c, int64_t now)
{
    cs_recording_t *r = &c->recording;
    if (r->state == CS_RECORDING_OFF)
        return CS_OK;
    if (cs_state_terminal(c->state)) {
        stop_capture(r, now);
        return CS_OK;
    }
    ask_present(c);
    if (r->state == CS_RECORDING_CONSENT && everyone_present_consented(c)) {
        int rc = start_capture(r, now);
        if (rc == CS_ELIMIT)
            r->state = CS_RECORDING_OFF;  /* start refuses this earlier; a loaded record may not */
        else if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

static bool may_ask(const cs_engine_t *e, const cs_identity_t *actor, cs_consult_t *c)
{
    if (!(e->cfg.recording_requesters & (1u << actor->role)))
        return false;
    return is_member(actor, c) || is_coordinator_of(actor, c);
}

static void answer(cs_recording_consent_t *k, bool consent, int64_t now)
{
    k->answer = consent ? CS_CONSENT_GIVEN : CS_CONSENT_REFUSED;
    k->at = now;
}

int cs_engine_recording_start(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                              int64_t now, const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (!e->cfg.recording_enabled)
        return CS_EUNSUPPORTED;
    if (!may_ask(e, actor, &ce->c))
        return CS_EPERM;
    const cs_recording_t *cur = &ce->c.recording;
    if (ce->c.state != CS_STATE_IN_PROGRESS || cur->state != CS_RECORDING_OFF)
        return CS_ESTATE;
    if (cur->n_files >= CS_MAX_RECORDING_FILES)
        return CS_ELIMIT;
    cs_consult_t next = ce->c;
    cs_recording_t *r = &next.recording;
    r->state = CS_RECORDING_CONSENT;
    cs_strlcpy(r->requested_by, actor->subject, sizeof r->requested_by);
    cs_strlcpy(r->requested_by_tenant, actor->tenant, sizeof r->requested_by_tenant);
    cs_strlcpy(r->requested_by_name, actor->name, sizeof r->requested_by_name);
    r->requested_at = now;
    /* A consent holds for the consult; a refusal is asked again. */
    for (int i = 0; i < r->n_consents; i++) {
        cs_recording_consent_t *k = &r->consents[i];
        if (k->answer == CS_CONSENT_REFUSED) {
            k->answer = CS_CONSENT_PENDING;
            k->at = 0;
        }
    }
    ask_present(&next);
    cs_recording_consent_t *own = consent_of(r, actor->tenant, actor->subject);
    if (own)
        answer(own, true, now);
    next.updated_at = now;
    if ((rc = commit(e, ce, &next, "recording_requested", actor, NULL, now)))
        return rc;
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

int cs_engine_recording_consent(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                                bool consent, int64_t now, const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_membership(e, actor, id, &rc);
    if (!ce)
        return rc;
    cs_consult_t next = ce->c;
    cs_recording_t *r = &next.recording;
    cs_recording_consent_t *k = consent_of(r, actor->tenant, actor->subject);
    if (r->state == CS_RECORDING_OFF || !k || k->answer != CS_CONSENT_PENDING)
        return CS_ESTATE;
    answer(k, consent, now);
    /* Refusing the request ends it; a late joiner's refusal only keeps
     * their own media out. */
    if (!consent && r->state == CS_RECORDING_CONSENT)
        r->state = CS_RECORDING_OFF;
    next.updated_at = now;
    if ((rc = commit(e, ce, &next, "recording_consent", actor, consent ? "given" : "refused",
                     now)))
        return rc;
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

int cs_engine_recording_stop(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                             int64_t now, const cs_consult_t **out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (!is_member(actor, &ce->c) && !is_coordinator_of(actor, &ce->c))
        return CS_EPERM;
    if (ce->c.recording.state == CS_RECORDING_OFF)
        return CS_ESTATE;
    cs_consult_t next = ce->c;
    stop_capture(&next.recording, now);
    next.updated_at = now;
    if ((rc = commit(e, ce, &next, "recording_stopped", actor, "requested", now)))
        return rc;
    announce(e, ce);
    if (out)
        *out = &ce->c;
    return CS_OK;
}

int cs_engine_recording_file(cs_engine_t *e, const char *consult_id,
                             const cs_recording_file_t *f)
{
    consult_entry_t *ce = cs_map_get(e->consults, consult_id);
    cs_recording_file_t *mine = ce ? cs_recording_find_file(&ce->c.recording, f->id) : NULL;
    if (!mine)
        return CS_ENOTFOUND;
    if (memcmp(mine, f, sizeof *f)) {
        *mine = *f;
        e->revision++;
        announce(e, ce);
    }
    return CS_OK;
}

int cs_engine_recording_fail(cs_engine_t *e, const char *consult_id, const char *file_id,
                             const char *reason, bool kept, int64_t now)
{
    consult_entry_t *ce = cs_map_get(e->consults, consult_id);
    if (!ce)
        return CS_ENOTFOUND;
    cs_consult_t next = ce->c;
    cs_recording_file_t *f = cs_recording_current_file(&next.recording);
    if (!f || strcmp(f->id, file_id))
        return CS_ESTATE;
    f->incomplete = true;
    cs_strlcpy(f->error, reason, sizeof f->error);
    stop_capture(&next.recording, now);
    if (!kept)
        f->state = CS_RECFILE_FAILED;   /* nothing to post-process */
    next.updated_at = now;
    if (commit(e, ce, &next, "recording_stopped", &engine_system_actor, reason, now))
        return CS_ESTORAGE;
    announce(e, ce);
    return CS_OK;
}

int cs_engine_recording_recover(cs_engine_t *e, int64_t now)
{
    int changed = 0;
    size_t pos = 0;
    void *v;
    while (cs_map_next(e->consults, &pos, NULL, &v)) {
        consult_entry_t *ce = v;
        const cs_recording_t *r = &ce->c.recording;
        if (r->state == CS_RECORDING_OFF && !cs_recording_current_file(r))
            continue;
        cs_consult_t next = ce->c;
        stop_capture(&next.recording, now);
        if (commit(e, ce, &next, "recording_stopped", &engine_system_actor, "gateway restarted",
                   now))
            return CS_ESTORAGE;
        changed++;
    }
    return changed;
}

void cs_engine_set_recording_hook(cs_engine_t *e, cs_recording_hook_fn fn, void *user)
{
    e->recording_hook = fn;
    e->recording_hook_user = user;
}
