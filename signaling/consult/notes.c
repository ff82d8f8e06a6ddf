/*
 * notes.c — what is written in a consult besides its state: the participants'
 * chat, the files they attach, and the specialist's conclusion.
 *
 * The engine decides who may write and read what, and when; the text itself
 * lives in storage (the engine keeps only the conclusion's summary on the
 * consult), so a long chat costs no memory here.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void set_field(const char **err_field, const char *name)
{
    if (err_field)
        *err_field = name;
}

static bool owns(const cs_identity_t *a, const cs_attachment_t *att)
{
    return !strcmp(att->owner, a->subject) && !strcmp(att->owner_tenant, a->tenant);
}

int resolve_attachments(cs_engine_t *e, const cs_identity_t *actor, const char *consult_id,
                        const char (*ids)[CS_ID_MAX], int n, cs_attachment_ref_t *out)
{
    for (int i = 0; i < n; i++) {
        cs_attachment_t att;
        int rc = e->store.get_attachment ? e->store.get_attachment(e->store_user, ids[i], &att)
                                         : CS_ENOTFOUND;
        if (rc == CS_ENOTFOUND || (rc == CS_OK && !owns(actor, &att)))
            return CS_ENOTFOUND; /* another's upload is none of the actor's business */
        if (rc)
            return CS_ESTORAGE;
        if (att.consult_id[0] && (!consult_id || strcmp(att.consult_id, consult_id)))
            return CS_EEXIST;
        out[i] = att.ref;
    }
    return CS_OK;
}

int cs_engine_chat(cs_engine_t *e, const cs_identity_t *actor, const char *id, const char *text,
                   const char (*attachments)[CS_ID_MAX], int n_attachments, int64_t now,
                   cs_chat_message_t *out, const char **err_field)
{
    set_field(err_field, "");
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (!is_member(actor, &ce->c))
        return CS_EPERM;
    if (ce->c.state != CS_STATE_ACCEPTED && ce->c.state != CS_STATE_IN_PROGRESS)
        return CS_ESTATE;
    if (n_attachments < 0 || n_attachments > CS_MAX_CHAT_ATTACHMENTS ||
        strlen(text) >= CS_CHAT_TEXT_MAX || (!text[0] && !n_attachments)) {
        set_field(err_field, n_attachments ? "attachments" : "text");
        return CS_EINVAL;
    }
    memset(out, 0, sizeof *out);
    if ((rc = resolve_attachments(e, actor, id, attachments, n_attachments, out->attachments))) {
        set_field(err_field, "attachments");
        return rc;
    }
    out->n_attachments = n_attachments;
    if ((rc = cs_uuid4(out->id)))
        return rc;
    cs_strlcpy(out->consult_id, id, sizeof out->consult_id);
    out->at = now;
    cs_strlcpy(out->from, actor->subject, sizeof out->from);
    cs_strlcpy(out->from_tenant, actor->tenant, sizeof out->from_tenant);
    cs_strlcpy(out->from_name, actor->name, sizeof out->from_name);
    cs_participant_t *p = participant_find(&ce->c, actor->tenant, actor->subject);
    out->from_role = p ? p->role : actor->role;
    cs_strlcpy(out->text, text, sizeof out->text);
    if (!e->store.save_chat || e->store.save_chat(e->store_user, out) != CS_OK)
        return CS_ESTORAGE;
    e->revision++; /* a new notice's content: never confused with the last one */
    /* Coordinators follow the consults of their centre, chat included. */
    cs_notice_t n = {.kind = CS_NOTICE_CHAT, .consult = &ce->c, .message = out};
    notify_entitled(e, ce, &n);
    return CS_OK;
}

int cs_engine_chat_history(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                           int64_t before_seq, cs_chat_message_t *out, size_t max)
{
    int rc;
    if (!find_visible(e, actor, id, &rc))
        return rc;
    if (!e->store.list_chat)
        return 0;
    rc = e->store.list_chat(e->store_user, id, before_seq, out, max);
    return rc < 0 ? CS_ESTORAGE : rc;
}

/* The consult actor may write the conclusion of, in a state that allows it. */
static consult_entry_t *conclusion_target(cs_engine_t *e, const cs_identity_t *actor,
                                          const char *id, int *rc)
{
    consult_entry_t *ce = find_visible(e, actor, id, rc);
    if (!ce)
        return NULL;
    if (!is_specialist_of(actor, &ce->c)) {
        *rc = CS_EPERM;
        return NULL;
    }
    cs_state_t s = ce->c.state;
    if (s != CS_STATE_ACCEPTED && s != CS_STATE_IN_PROGRESS && s != CS_STATE_ENDED) {
        *rc = CS_ESTATE;
        return NULL;
    }
    return ce;
}

/* What a new version carries over from the consult's summary: the last signed
 * document and its delivery. */
static void keep_document(cs_conclusion_summary_t *s, const cs_conclusion_summary_t *from)
{
    s->signed_version = from->signed_version;
    cs_strlcpy(s->document_id, from->document_id, sizeof s->document_id);
    cs_strlcpy(s->replaces, from->replaces, sizeof s->replaces);
    s->delivery = from->delivery;
}

/* The actor becomes the conclusion's author of record. */
static void set_author(cs_conclusion_summary_t *s, const cs_identity_t *actor)
{
    cs_strlcpy(s->author, actor->subject, sizeof s->author);
    cs_strlcpy(s->author_tenant, actor->tenant, sizeof s->author_tenant);
    cs_strlcpy(s->author_name, actor->name, sizeof s->author_name);
}

/* Stores k with the consult's new summary and an audit event, then tells
 * everyone who may see the consult; *consult_out (when given) is the consult. */
static int commit_conclusion(cs_engine_t *e, consult_entry_t *ce, cs_conclusion_t *k,
                             const cs_identity_t *actor, int64_t now,
                             const cs_consult_t **consult_out)
{
    cs_consult_t next = ce->c;
    next.conclusion = k->summary;
    next.updated_at = now;
    cs_event_t ev;
    memset(&ev, 0, sizeof ev);
    cs_strlcpy(ev.consult_id, next.id, sizeof ev.consult_id);
    ev.at = now;
    cs_strlcpy(ev.kind, "conclusion", sizeof ev.kind);
    ev.from = ev.to = next.state;
    cs_strlcpy(ev.actor, actor->subject, sizeof ev.actor);
    ev.actor_role = actor->role;
    snprintf(ev.detail, sizeof ev.detail, "%s v%d",
             k->summary.status == CS_CONCLUSION_SIGNED ? "signed" : "draft saved", k->summary.version);
    if (!e->store.save_conclusion ||
        e->store.save_conclusion(e->store_user, &next, k, &ev) != CS_OK)
        return CS_ESTORAGE;
    ce->c = next;
    e->revision++;
    announce(e, ce);
    if (consult_out)
        *consult_out = &ce->c;
    return CS_OK;
}

int cs_engine_conclusion_save(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                              const cs_conclusion_t *draft, int64_t now, cs_conclusion_t *out,
                              const cs_consult_t **consult_out, const char **err_field)
{
    set_field(err_field, "");
    int rc;
    consult_entry_t *ce = conclusion_target(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (draft->diagnosis_code[0] && !cs_icd10_valid(draft->diagnosis_code)) {
        set_field(err_field, "diagnosis.code");
        return CS_EINVAL;
    }
    *out = *draft;
    cs_strlcpy(out->consult_id, id, sizeof out->consult_id);
    cs_conclusion_summary_t *s = &out->summary;
    memset(s, 0, sizeof *s);
    s->status = CS_CONCLUSION_DRAFT;
    s->version = ce->c.conclusion.version + 1;
    s->updated_at = now;
    set_author(s, actor);
    /* A draft saved over a signed version starts its amendment; the signed
     * document stays as it is (storage keeps it in documents). */
    keep_document(s, &ce->c.conclusion);
    return commit_conclusion(e, ce, out, actor, now, consult_out);
}

int cs_engine_conclusion_sign(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                              int version, int64_t now, cs_conclusion_t *out,
                              const cs_consult_t **consult_out, const char **err_field)
{
    set_field(err_field, "");
    int rc;
    consult_entry_t *ce = conclusion_target(e, actor, id, &rc);
    if (!ce)
        return rc;
    if (ce->c.conclusion.status != CS_CONCLUSION_DRAFT || ce->c.conclusion.version != version) {
        set_field(err_field, "version");
        return CS_ESTATE;
    }
    rc = e->store.get_conclusion ? e->store.get_conclusion(e->store_user, id, out) : CS_ENOTFOUND;
    if (rc)
        return CS_ESTORAGE; /* the summary says a draft exists: storage lost it */
    const struct { const char *name; const char *value; } parts[] = {
        {"findings", out->findings},
        {"diagnosis.code", out->diagnosis_code},
        {"diagnosis.text", out->diagnosis_text},
        {"recommendations", out->recommendations},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(parts); i++) {
        if (!parts[i].value[0]) {
            set_field(err_field, parts[i].name);
            return CS_EINVAL;
        }
    }
    cs_conclusion_summary_t *s = &out->summary;
    s->status = CS_CONCLUSION_SIGNED;
    s->signed_at = s->updated_at = now;
    /* The signer is the author of record even if a colleague's draft was
     * taken over (only the consult's specialist can get here). */
    set_author(s, actor);
    /* A new document, owed to the record; it replaces the last signed one. */
    s->signed_version = s->version;
    cs_strlcpy(s->replaces, ce->c.conclusion.document_id, sizeof s->replaces);
    if (cs_uuid4(s->document_id) != CS_OK)
        return CS_ESTORAGE;
    memset(&s->delivery, 0, sizeof s->delivery);
    s->delivery.state = CS_DELIVERY_PENDING;
    s->delivery.next_attempt_at = now; /* due at once, as storage owes it */
    return commit_conclusion(e, ce, out, actor, now, consult_out);
}

int cs_engine_conclusion_get(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                             cs_conclusion_t *out)
{
    int rc;
    consult_entry_t *ce = find_visible(e, actor, id, &rc);
    if (!ce)
        return rc;
    const cs_conclusion_summary_t *s = &ce->c.conclusion;
    if (s->status == CS_CONCLUSION_NONE)
        return 0;
    bool author = !strcmp(s->author, actor->subject) && !strcmp(s->author_tenant, actor->tenant) &&
                  !actor->consult_scope[0];
    if (s->status == CS_CONCLUSION_DRAFT && !author) {
        /* Others read the signed version while its amendment is drafted. */
        if (s->signed_version == 0)
            return 0;
        rc = e->store.get_signed_conclusion
                 ? e->store.get_signed_conclusion(e->store_user, id, out)
                 : CS_ENOTFOUND;
    } else {
        rc = e->store.get_conclusion ? e->store.get_conclusion(e->store_user, id, out)
                                     : CS_ENOTFOUND;
    }
    if (rc)
        return CS_ESTORAGE;
    keep_document(&out->summary, s);
    return 1;
}

int cs_engine_conclusion_delivery(cs_engine_t *e, const char *consult_id, const char *document_id,
                                  const cs_delivery_t *d)
{
    consult_entry_t *ce = cs_map_get(e->consults, consult_id);
    if (!ce)
        return CS_ENOTFOUND;
    cs_conclusion_summary_t *s = &ce->c.conclusion;
    /* Only the latest document's state is shown; an older one replaced
     * meanwhile still gets delivered, quietly. */
    if (strcmp(s->document_id, document_id) != 0)
        return CS_ENOTFOUND;
    if (!memcmp(&s->delivery, d, sizeof *d))
        return CS_OK;
    s->delivery = *d;
    e->revision++;
    announce(e, ce);
    return CS_OK;
}

bool cs_engine_may_read_attachment(const cs_engine_t *e, const cs_identity_t *actor,
                                   const cs_attachment_t *a)
{
    if (owns(actor, a) && (!actor->consult_scope[0] || !a->consult_id[0] ||
                           !strcmp(a->consult_id, actor->consult_scope)))
        return true;
    if (!a->consult_id[0])
        return false;
    const cs_consult_t *c = cs_engine_find(e, a->consult_id);
    return c && cs_engine_may_see(e, actor, c);
}
