/*
 * encode.c — the server's messages as JSON text.
 *
 * Times go on the wire as integer milliseconds since the Unix epoch (the
 * snapshot carries server_time so clients can correct their clocks); absent
 * times and absent people are null.
 */
#include "proto.h"

#include <jansson.h>
#include <stdlib.h>

#include "common/common.h"

/* Serialises and frees obj. */
static char *finish(json_t *obj)
{
    if (!obj)
        return NULL;
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return s;
}

static json_t *with_id(json_t *obj, const char *req_id)
{
    if (obj && req_id && req_id[0])
        json_object_set_new(obj, "id", json_string(req_id));
    return obj;
}

static json_t *time_or_null(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static json_t *person_or_null(const char *subject, const char *tenant, const char *name)
{
    if (!subject[0])
        return json_null();
    return json_pack("{s:s, s:s, s:s}", "subject", subject, "tenant", tenant, "name", name);
}

static json_t *participant_json(const cs_participant_t *p)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "subject", p->subject, "tenant",
                     p->tenant, "name", p->name, "role", cs_role_name(p->role), "present", p->present, "joined_at",
                     time_or_null(p->joined_at), "left_at", time_or_null(p->left_at), "invited_by",
                     str_or_null(p->invited_by));
}

static json_t *attachments_json(const cs_attachment_ref_t *a, int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "id", a[i].id, "name",
                                             a[i].name, "type", a[i].type, "size",
                                             (json_int_t)a[i].size));
    return arr ? arr : json_array();
}

static json_t *author_json(const cs_conclusion_summary_t *k)
{
    return json_pack("{s:s, s:s}", "subject", k->author, "name", k->author_name);
}

/* The last signed version's document and its way to the record, or null. */
static json_t *document_json(const cs_conclusion_summary_t *k)
{
    if (!k->document_id[0])
        return json_null();
    const cs_delivery_t *d = &k->delivery;
    return json_pack("{s:s, s:i, s:o, s:{s:s, s:i, s:o, s:o, s:o}}", "id", k->document_id,
                     "version", k->signed_version, "replaces", str_or_null(k->replaces),
                     "delivery", "state", cs_delivery_state_name(d->state), "attempts",
                     d->attempts, "next_attempt_at", time_or_null(d->next_attempt_at),
                     "delivered_at", time_or_null(d->delivered_at), "error",
                     str_or_null(d->error));
}

static json_t *conclusion_summary_json(const cs_conclusion_summary_t *k)
{
    if (k->status == CS_CONCLUSION_NONE)
        return json_null();
    return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o}", "status",
                     cs_conclusion_status_name(k->status), "version", k->version, "updated_at",
                     time_or_null(k->updated_at), "signed_at", time_or_null(k->signed_at),
                     "author", author_json(k), "document", document_json(k));
}

static json_t *recording_file_json(const cs_recording_file_t *f)
{
    bool ready = f->state == CS_RECFILE_READY;
    return json_pack("{s:s, s:s, s:o, s:o, s:i, s:o, s:o, s:b, s:o}", "id", f->id, "state",
                     cs_recfile_state_name(f->state), "started_at", time_or_null(f->started_at),
                     "stopped_at", time_or_null(f->stopped_at), "progress", f->progress,
                     "duration_ms", ready ? json_integer(f->duration_ms) : json_null(), "size",
                     ready ? json_integer(f->size) : json_null(), "incomplete", f->incomplete,
                     "error", str_or_null(f->error));
}

/* The consult's recording: who asked, who consented, its files; null when
 * nobody ever asked. */
static json_t *recording_json(const cs_recording_t *r)
{
    if (!r->requested_by[0])
        return json_null();
    json_t *consents = json_array(), *files = json_array();
    for (int i = 0; consents && i < r->n_consents; i++) {
        const cs_recording_consent_t *k = &r->consents[i];
        json_array_append_new(consents, json_pack("{s:s, s:s, s:s, s:o}", "subject", k->subject,
                                                  "name", k->name, "answer",
                                                  cs_consent_name(k->answer), "at",
                                                  time_or_null(k->at)));
    }
    for (int i = 0; files && i < r->n_files; i++)
        json_array_append_new(files, recording_file_json(&r->files[i]));
    return json_pack("{s:s, s:{s:s, s:s}, s:o, s:o, s:o}", "state",
                     cs_recording_state_name(r->state), "requested_by", "subject",
                     r->requested_by, "name", r->requested_by_name, "requested_at",
                     time_or_null(r->requested_at), "consents",
                     consents ? consents : json_array(), "files", files ? files : json_array());
}

static json_t *consult_json(const cs_consult_t *c)
{
    json_t *parts = json_array();
    for (int i = 0; parts && i < c->n_participants; i++)
        json_array_append_new(parts, participant_json(&c->participants[i]));
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", c->id,
        "state", cs_state_name(c->state), "tenant", c->tenant, "routed_to",
        str_or_null(c->routed_to), "patient", "id", c->patient.id, "name", c->patient.name,
        "birth_date", c->patient.birth_date, "specialty", c->specialty, "urgency",
        cs_urgency_name(c->urgency), "mode", cs_mode_name(c->mode), "reason", c->reason,
        "escalation", cs_escalation_name(c->escalation), "clinician",
        person_or_null(c->clinician, c->tenant, c->clinician_name), "specialist",
        person_or_null(c->specialist, c->specialist_tenant, c->specialist_name));
    if (!o) {
        json_decref(parts);
        return NULL;
    }
    json_object_set_new(o, "created_at", time_or_null(c->created_at));
    json_object_set_new(o, "warn_at", time_or_null(c->warn_at));
    json_object_set_new(o, "deadline_at", time_or_null(c->deadline_at));
    json_object_set_new(o, "expire_at", time_or_null(c->expire_at));
    json_object_set_new(o, "accepted_at", time_or_null(c->accepted_at));
    json_object_set_new(o, "started_at", time_or_null(c->started_at));
    json_object_set_new(o, "ended_at", time_or_null(c->ended_at));
    json_object_set_new(o, "updated_at", time_or_null(c->updated_at));
    json_object_set_new(o, "participants", parts ? parts : json_array());
    json_object_set_new(o, "attachments", attachments_json(c->attachments, c->n_attachments));
    json_object_set_new(o, "conclusion", conclusion_summary_json(&c->conclusion));
    json_object_set_new(o, "recording", recording_json(&c->recording));
    return o;
}

static json_t *chat_message_json(const cs_chat_message_t *m)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:{s:s, s:s, s:s}, s:s, s:o}", "id", m->id, "consult_id",
                     m->consult_id, "seq", (json_int_t)m->seq, "at", (json_int_t)m->at, "from",
                     "subject", m->from, "name", m->from_name, "role", cs_role_name(m->from_role),
                     "text", m->text, "attachments",
                     attachments_json(m->attachments, m->n_attachments));
}

static json_t *conclusion_json(const cs_conclusion_t *k)
{
    const cs_conclusion_summary_t *s = &k->summary;
    return json_pack("{s:s, s:s, s:i, s:s, s:{s:s, s:s}, s:s, s:o, s:o, s:o, s:o}", "consult_id",
                     k->consult_id, "status", cs_conclusion_status_name(s->status), "version",
                     s->version, "findings", k->findings, "diagnosis", "code", k->diagnosis_code,
                     "text", k->diagnosis_text, "recommendations", k->recommendations, "author",
                     author_json(s), "updated_at", time_or_null(s->updated_at), "signed_at",
                     time_or_null(s->signed_at), "document", document_json(s));
}

char *cs_proto_encode_error(const char *req_id, int code, const char *message, const char *field)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", cs_errname(code), "message",
                          message ? message : cs_strerror(code));
    if (o && field && field[0])
        json_object_set_new(o, "field", json_string(field));
    return finish(with_id(o, req_id));
}

char *cs_proto_encode_ok(const char *req_id, const cs_consult_t *c)
{
    json_t *o = with_id(json_pack("{s:s}", "type", "ok"), req_id);
    if (o && c)
        json_object_set_new(o, "consult", consult_json(c));
    return finish(o);
}

char *cs_proto_encode_ok_with(const char *req_id, const cs_consult_t *c,
                              const cs_chat_message_t *message, const cs_conclusion_t *conclusion)
{
    json_t *o = with_id(json_pack("{s:s}", "type", "ok"), req_id);
    if (o && c)
        json_object_set_new(o, "consult", consult_json(c));
    if (o && message)
        json_object_set_new(o, "message", chat_message_json(message));
    if (o && conclusion)
        json_object_set_new(o, "conclusion", conclusion_json(conclusion));
    return finish(o);
}

char *cs_proto_encode_attachment(const cs_attachment_ref_t *a, const char *sha256)
{
    return finish(json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", a->id, "name", a->name, "type",
                            a->type, "size", (json_int_t)a->size, "sha256", sha256));
}

char *cs_proto_encode_chat_message(const cs_chat_message_t *m)
{
    return finish(json_pack("{s:s, s:s, s:o}", "type", "chat.message", "consult_id",
                            m->consult_id, "message", chat_message_json(m)));
}

char *cs_proto_encode_chat_history(const char *req_id, const char *consult_id,
                                   const cs_chat_message_t *m, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, chat_message_json(&m[i]));
    return finish(with_id(json_pack("{s:s, s:s, s:o}", "type", "chat.history", "consult_id",
                                    consult_id, "messages", arr ? arr : json_array()),
                          req_id));
}

char *cs_proto_encode_conclusion(const char *req_id, const char *consult_id,
                                 const cs_conclusion_t *k)
{
    return finish(with_id(json_pack("{s:s, s:s, s:o}", "type", "conclusion", "consult_id",
                                    consult_id, "conclusion",
                                    k ? conclusion_json(k) : json_null()),
                          req_id));
}

char *cs_proto_encode_pong(const char *req_id, int64_t server_time)
{
    return finish(
        with_id(json_pack("{s:s, s:I}", "type", "pong", "server_time", (json_int_t)server_time),
                req_id));
}

char *cs_proto_encode_invite(const char *req_id, const char *consult_id, const char *code,
                             cs_role_t role, int64_t expires_at)
{
    return finish(with_id(json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "invite", "consult_id",
                                    consult_id, "code", code, "role", cs_role_name(role),
                                    "expires_at", (json_int_t)expires_at),
                          req_id));
}

char *cs_proto_encode_consult(const char *type, const cs_consult_t *c)
{
    return finish(json_pack("{s:s, s:o}", "type", type, "consult", consult_json(c)));
}

char *cs_proto_encode_withdrawn(const char *consult_id, const char *reason)
{
    return finish(json_pack("{s:s, s:s, s:s}", "type", "consult.withdrawn", "consult_id",
                            consult_id, "reason", reason));
}

char *cs_proto_encode_escalation(const cs_consult_t *c)
{
    return finish(json_pack("{s:s, s:s, s:o}", "type", "consult.escalation", "level",
                            cs_escalation_name(c->escalation), "consult", consult_json(c)));
}

char *cs_proto_encode_presence(const char *subject, const char *name, cs_presence_t p)
{
    return finish(json_pack("{s:s, s:s, s:s, s:s}", "type", "presence", "subject", subject, "name",
                            name, "status", cs_presence_name(p)));
}

char *cs_proto_encode_history(const char *req_id, const char *consult_id, const cs_event_t *ev,
                              size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *e = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "at", (json_int_t)ev[i].at, "kind",
                              ev[i].kind, "from", cs_state_name(ev[i].from), "to",
                              cs_state_name(ev[i].to), "actor", ev[i].actor, "detail",
                              ev[i].detail);
        if (e)
            json_object_set_new(e, "actor_role", ev[i].actor_is_system
                                                     ? json_null()
                                                     : json_string(cs_role_name(ev[i].actor_role)));
        json_array_append_new(arr, e);
    }
    return finish(with_id(
        json_pack("{s:s, s:s, s:o}", "type", "consult.history", "consult_id", consult_id,
                  "events", arr ? arr : json_array()),
        req_id));
}

/* ---- snapshot builder --------------------------------------------------- */

struct cs_proto_snapshot {
    json_t *root;
    json_t *consults;
    json_t *specialists;
};

cs_proto_snapshot_t *cs_proto_snapshot_begin(const char *type, const char *req_id,
                                             const cs_identity_t *id, cs_presence_t presence,
                                             int64_t server_time)
{
    cs_proto_snapshot_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    json_t *specs = json_array();
    for (int i = 0; specs && i < id->n_specialties; i++)
        json_array_append_new(specs, json_string(id->specialties[i]));
    s->consults = json_array();
    s->root = with_id(
        json_pack("{s:s, s:i, s:I, s:{s:s, s:s, s:s, s:s, s:o, s:I, s:o}, s:s, s:o}", "type", type,
                  "protocol", CS_PROTO_VERSION, "server_time", (json_int_t)server_time, "user",
                  "subject", id->subject, "name", id->name, "role", cs_role_name(id->role),
                  "tenant", id->tenant, "specialties", specs ? specs : json_array(), "expires_at",
                  (json_int_t)id->expires_at, "consult_scope", str_or_null(id->consult_scope),
                  "presence", cs_presence_name(presence), "consults",
                  json_incref(s->consults)),
        req_id);
    if (id->role == CS_ROLE_COORDINATOR) {
        s->specialists = json_array();
        if (s->root)
            json_object_set(s->root, "specialists", s->specialists);
    }
    if (!s->root || !s->consults) {
        json_decref(s->root);
        json_decref(s->consults);
        json_decref(s->specialists);
        free(s);
        return NULL;
    }
    return s;
}

void cs_proto_snapshot_add_consult(cs_proto_snapshot_t *s, const cs_consult_t *c)
{
    if (s)
        json_array_append_new(s->consults, consult_json(c));
}

void cs_proto_snapshot_add_specialist(cs_proto_snapshot_t *s, const char *subject,
                                      const char *name, cs_presence_t p,
                                      const char *const *specialties, int n_specialties)
{
    if (!s || !s->specialists)
        return;
    json_t *specs = json_array();
    for (int i = 0; specs && i < n_specialties; i++)
        json_array_append_new(specs, json_string(specialties[i]));
    json_array_append_new(s->specialists,
                          json_pack("{s:s, s:s, s:s, s:o}", "subject", subject, "name", name,
                                    "status", cs_presence_name(p), "specialties",
                                    specs ? specs : json_array()));
}

void cs_proto_snapshot_set_policy(cs_proto_snapshot_t *s, const int64_t warn_ms[],
                                  const int64_t deadline_ms[], const int64_t expire_ms[],
                                  const char *const *routes, int n_routes)
{
    if (!s)
        return;
    json_t *deadlines = json_object();
    for (int u = 0; deadlines && u < CS_URGENCY_COUNT; u++)
        json_object_set_new(deadlines, cs_urgency_name((cs_urgency_t)u),
                            json_pack("{s:I, s:I, s:I}", "warn_ms", (json_int_t)warn_ms[u],
                                      "deadline_ms", (json_int_t)deadline_ms[u], "expire_ms",
                                      (json_int_t)expire_ms[u]));
    json_t *to = json_array();
    for (int i = 0; to && i < n_routes; i++)
        json_array_append_new(to, json_string(routes[i]));
    json_object_set_new(s->root, "policy",
                        json_pack("{s:o, s:o}", "deadlines", deadlines ? deadlines : json_object(),
                                  "routes", to ? to : json_array()));
}

void cs_proto_snapshot_set_media(cs_proto_snapshot_t *s, const cs_proto_ice_server_t *servers,
                                 size_t n, int max_participants)
{
    if (!s)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_t *urls = json_array();
        for (size_t k = 0; urls && k < servers[i].n_urls && k < CS_MAX_ICE_URLS; k++)
            json_array_append_new(urls, json_string(servers[i].urls[k]));
        json_t *one = json_pack("{s:o}", "urls", urls ? urls : json_array());
        if (one && servers[i].username) {
            json_object_set_new(one, "username", json_string(servers[i].username));
            json_object_set_new(one, "credential", json_string(servers[i].credential));
        }
        json_array_append_new(list, one);
    }
    json_object_set_new(s->root, "media",
                        json_pack("{s:o, s:i}", "ice_servers", list ? list : json_array(),
                                  "max_participants", max_participants));
}

void cs_proto_snapshot_set_attachments(cs_proto_snapshot_t *s, int64_t max_bytes,
                                       const char *const *types, size_t n_types)
{
    if (!s)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < n_types; i++)
        json_array_append_new(list, json_string(types[i]));
    json_object_set_new(s->root, "attachments",
                        json_pack("{s:I, s:o}", "max_bytes", (json_int_t)max_bytes, "types",
                                  list ? list : json_array()));
}

char *cs_proto_snapshot_finish(cs_proto_snapshot_t *s)
{
    if (!s)
        return NULL;
    json_decref(s->consults);
    json_decref(s->specialists);
    json_t *root = s->root;
    free(s);
    return finish(root);
}

/* ---- media ---------------------------------------------------------------- */

static json_t *tracks_json(const cs_proto_track_t *t, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_t *one = json_pack("{s:s, s:s, s:s, s:s, s:s}", "track_id", t[i].track_id, "user",
                                t[i].user, "name", t[i].name, "kind",
                                t[i].video ? "video" : "audio", "source",
                                cs_media_source_name(t[i].source));
        if (one && t[i].mid[0])
            json_object_set_new(one, "mid", json_string(t[i].mid));
        json_array_append_new(list, one);
    }
    return list;
}

char *cs_proto_encode_media_answer(const char *req_id, const char *consult_id, const char *sdp,
                                   const cs_proto_track_t *tracks, size_t n)
{
    json_t *list = tracks_json(tracks, n);
    return finish(with_id(json_pack("{s:s, s:s, s:s, s:o}", "type", "media.answer", "consult_id",
                                    consult_id, "sdp", sdp, "tracks",
                                    list ? list : json_array()),
                          req_id));
}

char *cs_proto_encode_media_tracks(const char *consult_id, const cs_proto_track_t *tracks,
                                   size_t n)
{
    json_t *list = tracks_json(tracks, n);
    return finish(json_pack("{s:s, s:s, s:o}", "type", "media.tracks", "consult_id", consult_id,
                            "tracks", list ? list : json_array()));
}

char *cs_proto_encode_media_candidate(const char *consult_id, const char *candidate)
{
    return finish(json_pack("{s:s, s:s, s:s}", "type", "media.candidate", "consult_id",
                            consult_id, "candidate", candidate));
}

char *cs_proto_encode_media_state(const char *consult_id, const char *state, const char *reason)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "media.state", "consult_id", consult_id,
                          "state", state);
    if (o && reason && reason[0])
        json_object_set_new(o, "reason", json_string(reason));
    return finish(o);
}

static json_t *number_or_null(double v)
{
    return v < 0 ? json_null() : json_real((double)(int64_t)(v * 100 + 0.5) / 100);
}

static json_t *link_json(const cs_proto_link_t *l)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "loss_percent", number_or_null(l->loss_percent),
                     "jitter_ms", number_or_null(l->jitter_ms), "rtt_ms",
                     number_or_null(l->rtt_ms), "kbps", number_or_null(l->kbps));
}

char *cs_proto_encode_quality(const char *type, const char *consult_id,
                              const cs_proto_quality_t *q, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:o}", "user", q[i].user, "name",
                                              q[i].name, "up", link_json(&q[i].up), "down",
                                              link_json(&q[i].down)));
    return finish(json_pack("{s:s, s:s, s:o}", "type", type, "consult_id", consult_id,
                            "participants", list ? list : json_array()));
}
