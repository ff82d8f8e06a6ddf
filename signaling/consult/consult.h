/*
 * consult.h — the consultation engine: requests, queues, offers, rooms.
 *
 * Pure domain logic on one thread: it decides who may do what, moves consults
 * through their states (requested → offered → accepted → in_progress → ended,
 * or cancelled / expired), keeps the per-specialty queues ordered by urgency and
 * deadline, tracks specialists' presence, and works out who must be told about
 * each change. It does no I/O of its own:
 *   - every change is written through the store callbacks before it takes
 *     effect in memory; a failed write leaves the engine unchanged and the
 *     caller gets CS_ESTORAGE;
 *   - every notification goes out through the notify callback, addressed to a
 *     user's subject; the caller maps subjects to connections.
 * Time is always passed in (now_ms), so tests drive deadlines with a fake clock.
 * Not thread-safe: one engine belongs to one thread.
 */
#ifndef CS_CONSULT_H
#define CS_CONSULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/proto.h"

typedef struct cs_engine cs_engine_t;

/* A user the engine has seen (persisted so coordinators can assign to
 * specialists who are offline). */
typedef struct {
    char subject[CS_SUBJECT_MAX];
    char name[CS_NAME_MAX];
    cs_role_t role;
    char tenant[CS_TENANT_MAX];
    char specialties[CS_MAX_SPECIALTIES][CS_SPECIALTY_MAX];
    int n_specialties;
    int64_t last_seen;
} cs_user_t;

/* An invitation code for someone without a token of their own (a patient, an
 * interpreter). Only its SHA-256 is stored (code_hash, hex). */
typedef struct {
    char code_hash[65];
    char consult_id[CS_ID_MAX];
    cs_role_t role;
    char name[CS_NAME_MAX];
    char created_by[CS_SUBJECT_MAX];
    int64_t created_at, expires_at;
} cs_invite_t;

/* An uploaded file as storage keeps it (the bytes stay in storage). It
 * belongs to its uploader until a request or chat message binds it to a
 * consult; from then on whoever may see the consult may read it. */
typedef struct {
    cs_attachment_ref_t ref;
    char owner[CS_SUBJECT_MAX];
    char owner_tenant[CS_TENANT_MAX];
    char consult_id[CS_ID_MAX];   /* "" while unbound */
    char sha256[65];              /* hex */
    int64_t created_at;
} cs_attachment_t;

/* Durable storage. Each function returns CS_OK or a negative code; the engine
 * treats any failure as "nothing happened". */
typedef struct {
    /* Upserts the consult with its participants and appends ev, atomically;
     * binds c->attachments to the consult in the same transaction. */
    int (*save_consult)(void *user, const cs_consult_t *c, const cs_event_t *ev);
    /* Upserts a user seen on connect. */
    int (*save_user)(void *user, const cs_user_t *u);
    int (*save_invite)(void *user, const cs_invite_t *inv);
    /* Up to max events of a consult, oldest first; returns the count or < 0. */
    int (*list_events)(void *user, const char *consult_id, cs_event_t *out, size_t max);
    /* An attachment's record; CS_ENOTFOUND when there is none. */
    int (*get_attachment)(void *user, const char *id, cs_attachment_t *out);
    /* Appends a chat message, numbering it (sets m->seq) and binding its
     * attachments to its consult, atomically. */
    int (*save_chat)(void *user, cs_chat_message_t *m);
    /* The last max messages with seq < before_seq (0: the last max), oldest
     * first; returns the count or < 0. */
    int (*list_chat)(void *user, const char *consult_id, int64_t before_seq,
                     cs_chat_message_t *out, size_t max);
    /* Upserts the consult (whose summary describes k), the conclusion k, and
     * appends ev, atomically. */
    int (*save_conclusion)(void *user, const cs_consult_t *c, const cs_conclusion_t *k,
                           const cs_event_t *ev);
    /* The consult's conclusion; CS_ENOTFOUND when there is none. */
    int (*get_conclusion)(void *user, const char *consult_id, cs_conclusion_t *out);
    /* The consult's last signed version (its document's text), while an
     * amendment is drafted over it; CS_ENOTFOUND when none was signed. */
    int (*get_signed_conclusion)(void *user, const char *consult_id, cs_conclusion_t *out);
} cs_store_t;

typedef enum {
    CS_NOTICE_CONSULT,    /* a consult you may see changed: consult */
    CS_NOTICE_OFFER,      /* a queued consult is offered to you (specialist): consult */
    CS_NOTICE_WITHDRAWN,  /* no longer offered to you: consult, reason */
    CS_NOTICE_ESCALATION, /* warning or overdue (coordinators): consult */
    CS_NOTICE_PRESENCE,   /* a specialist's presence changed (coordinators): user, presence */
    CS_NOTICE_CHAT,       /* a chat message (participants, coordinators): consult, message */
} cs_notice_kind_t;

typedef struct {
    cs_notice_kind_t kind;
    const cs_consult_t *consult;
    const char *reason;       /* WITHDRAWN: "taken", "cancelled", "expired", "declined", "unavailable" */
    const cs_user_t *user;    /* PRESENCE */
    cs_presence_t presence;   /* PRESENCE */
    const cs_chat_message_t *message; /* CHAT */
    uint64_t revision;        /* grows with every change the engine makes: two
                                 notices with equal kind, subject matter, reason
                                 and revision have the same content */
} cs_notice_t;

/* Called once per recipient, a user identified by (tenant, subject). */
typedef void (*cs_notify_fn)(void *user, const char *tenant, const char *subject,
                             const cs_notice_t *n);

typedef struct {
    int64_t warn_ms[CS_URGENCY_COUNT];     /* escalation warning after creation */
    int64_t deadline_ms[CS_URGENCY_COUNT]; /* must be accepted within */
    int64_t expire_ms[CS_URGENCY_COUNT];   /* unaccepted → expired after */
    int64_t invite_ttl_ms;                 /* validity of invitation codes */
    int64_t retain_ms;                     /* keep terminal consults in memory this long */
    size_t max_active_consults;            /* non-terminal consults at once */
    size_t max_open_per_clinician;         /* non-terminal requests per clinician */
    /* Routing between centres: from_tenant may route to each listed tenant. */
    struct { char from[CS_TENANT_MAX]; char to[CS_TENANT_MAX]; } routes[32];
    int n_routes;
    bool auto_route_overdue;               /* route to the first allowed centre when overdue */
    /* Recording: whether it may be asked for at all, and which roles may
     * ask (bit 1 << cs_role_t). */
    bool recording_enabled;
    unsigned recording_requesters;
} cs_engine_config_t;

/* Fills cfg with the documented defaults (emergency warn 10 min, deadline 2 h, ...). */
void cs_engine_config_defaults(cs_engine_config_t *cfg);
/* The configuration the engine runs with (for clients: deadlines, routes). */
const cs_engine_config_t *cs_engine_config(const cs_engine_t *e);

/* cfg is copied; store and notify are kept with their user pointers. */
cs_engine_t *cs_engine_new(const cs_engine_config_t *cfg, const cs_store_t *store,
                           void *store_user, cs_notify_fn notify, void *notify_user);
void cs_engine_free(cs_engine_t *e);

/* Start-up: hand back what the store holds (no store writes, no notices). */
int cs_engine_load_consult(cs_engine_t *e, const cs_consult_t *c);
int cs_engine_load_user(cs_engine_t *e, const cs_user_t *u);
int cs_engine_load_invite(cs_engine_t *e, const cs_invite_t *inv);

/* A user connected (one call per connection) / a connection closed. The first
 * connection of a specialist starts them as "away"; they choose "available". */
int cs_engine_connect(cs_engine_t *e, const cs_identity_t *id, int64_t now_ms);
void cs_engine_disconnect(cs_engine_t *e, const cs_identity_t *id, int64_t now_ms);
cs_presence_t cs_engine_presence(const cs_engine_t *e, const char *tenant, const char *subject);

/* Resolves an invitation code into a guest identity scoped to one consult.
 * CS_ENOTFOUND for an unknown code, CS_EEXPIRED for an old one. */
int cs_engine_redeem_invite(cs_engine_t *e, const char *code, int64_t now_ms, cs_identity_t *out);

/* ---- actions: CS_OK or CS_EPERM / CS_ENOTFOUND / CS_ESTATE / CS_ETAKEN /
 * CS_ELIMIT / CS_EINVAL / CS_ESTORAGE. *out, when given, points into the
 * engine and is valid until the next engine call. */
int cs_engine_set_presence(cs_engine_t *e, const cs_identity_t *actor, cs_presence_t p,
                           int64_t now_ms);
typedef struct {
    cs_patient_t patient;
    char specialty[CS_SPECIALTY_MAX];
    cs_urgency_t urgency;
    cs_mode_t mode;
    char reason[CS_REASON_MAX];
    /* uploaded by the actor and not yet bound: CS_ENOTFOUND for an unknown id
     * or another's upload, CS_EEXIST for one already bound */
    char attachments[CS_MAX_REQUEST_ATTACHMENTS][CS_ID_MAX];
    int n_attachments;
} cs_request_t;
int cs_engine_request(cs_engine_t *e, const cs_identity_t *actor, const cs_request_t *req,
                      int64_t now_ms, const cs_consult_t **out);
int cs_engine_cancel(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now_ms,
                     const cs_consult_t **out);
int cs_engine_accept(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now_ms,
                     const cs_consult_t **out);
int cs_engine_decline(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now_ms);
int cs_engine_assign(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                     const char *specialist, int64_t now_ms, const cs_consult_t **out);
int cs_engine_route(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                    const char *tenant, int64_t now_ms, const cs_consult_t **out);
/* Adds a known user of the actor's tenant (subject non-empty) or creates an invitation code written
 * to code_out (CS_INVITE_CODE_MAX bytes) with its expiry in *expires_at. */
int cs_engine_invite(cs_engine_t *e, const cs_identity_t *actor, const char *id, cs_role_t role,
                     const char *subject, const char *name, int64_t now_ms, char *code_out,
                     int64_t *expires_at, const cs_consult_t **out);
int cs_engine_join(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now_ms,
                   const cs_consult_t **out);
int cs_engine_leave(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now_ms,
                    const cs_consult_t **out);
int cs_engine_end(cs_engine_t *e, const cs_identity_t *actor, const char *id, int64_t now_ms,
                  const cs_consult_t **out);
/* The consult's audit trail, if actor may see the consult. */
int cs_engine_history(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                      cs_event_t *out, size_t max);

/* ---- chat and conclusion (notes.c). When err_field is given, it is set to
 * the request field an error is about ("attachments", "findings", ...) or "".
 * Attachment ids must be the actor's uploads, unbound or bound to this
 * consult: CS_ENOTFOUND / CS_EEXIST otherwise, with err_field "attachments". */

/* A participant writes in an accepted or in-progress consult; *out is the
 * stored message. Participants and the coordinators of its centres are
 * notified (CS_NOTICE_CHAT). */
int cs_engine_chat(cs_engine_t *e, const cs_identity_t *actor, const char *id, const char *text,
                   const char (*attachments)[CS_ID_MAX], int n_attachments, int64_t now,
                   cs_chat_message_t *out, const char **err_field);
/* Up to max messages (see cs_store_t.list_chat) if actor may see the consult;
 * returns the count or a negative code. */
int cs_engine_chat_history(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                           int64_t before_seq, cs_chat_message_t *out, size_t max);
/* The consult's specialist saves a draft (findings, diagnosis_code/text and
 * recommendations of draft are used) in accepted, in_progress or ended, while
 * it is not signed. *out is the saved conclusion. */
int cs_engine_conclusion_save(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                              const cs_conclusion_t *draft, int64_t now, cs_conclusion_t *out,
                              const cs_consult_t **consult_out, const char **err_field);
/* Signs draft version `version` (CS_ESTATE if it is not the latest, or
 * signed; CS_EINVAL with err_field naming an empty part). Signing makes a
 * document: summary.document_id is a new UUID, summary.replaces the previous
 * signed version's document, delivery pending. A draft saved after signing
 * is an amendment; others keep reading the signed version until it is signed. */
int cs_engine_conclusion_sign(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                              int version, int64_t now, cs_conclusion_t *out,
                              const cs_consult_t **consult_out, const char **err_field);
/* 1 and *out when actor may read a conclusion (a draft only by its author,
 * a signed one by everyone who may see the consult), 0 when there is none to
 * show, or a negative code. */
int cs_engine_conclusion_get(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                             cs_conclusion_t *out);
/* The gateway reports how the delivery of a consult's document is going:
 * when document_id is still the consult's latest document and d differs from
 * what the summary says, the summary takes d and everyone who may see the
 * consult gets consult.updated. CS_ENOTFOUND when the consult is not in
 * memory (finished long ago) or the document is not its latest. */
int cs_engine_conclusion_delivery(cs_engine_t *e, const char *consult_id, const char *document_id,
                                  const cs_delivery_t *d);
/* ---- recording (recording.c; docs/PROTOCOL.md "Recording") ---- */
/* A participant whose role may ask (or a coordinator of its centre, when
 * coordinators may) asks to record an in-progress consult: their own
 * consent is given, everyone else present is asked. CS_EPERM, CS_ESTATE
 * (not in progress, already asked or on), CS_ELIMIT (CS_MAX_RECORDING_FILES
 * files already), CS_EUNSUPPORTED (recording disabled). */
int cs_engine_recording_start(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                              int64_t now, const cs_consult_t **out);
/* A participant answers; CS_ESTATE when their answer is not pending. */
int cs_engine_recording_consent(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                                bool consent, int64_t now, const cs_consult_t **out);
/* A participant or a coordinator of its centre withdraws the request or
 * stops recording (the file is queued for post-processing). */
int cs_engine_recording_stop(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                             int64_t now, const cs_consult_t **out);
/* The gateway reports a file's progress or result (already stored by it):
 * the consult's copy takes f and everyone who may see the consult is told.
 * CS_ENOTFOUND when the consult is not in memory or has no such file. */
int cs_engine_recording_file(cs_engine_t *e, const char *consult_id,
                             const cs_recording_file_t *f);
/* The gateway could not go on capturing (a full disk, a write error) or
 * could not start: the recording is off and its file marked incomplete with
 * reason (a sentence), queued for post-processing when something was kept,
 * else failed. CS_ENOTFOUND, CS_ESTATE (not recording that file),
 * CS_ESTORAGE. */
int cs_engine_recording_fail(cs_engine_t *e, const char *consult_id, const char *file_id,
                             const char *reason, bool kept, int64_t now);
/* After loading: a recording that was asked for or on when the gateway
 * stopped is off, its file queued (what reached the disk is
 * post-processed). Returns how many consults changed, or CS_ESTORAGE. */
int cs_engine_recording_recover(cs_engine_t *e, int64_t now);
/* Called after every stored change of a consult that is or was recording
 * (state, consents, files, participants), so the gateway can start and
 * stop capture and choose whose media is recorded. */
typedef void (*cs_recording_hook_fn)(void *user, const cs_consult_t *c);
void cs_engine_set_recording_hook(cs_engine_t *e, cs_recording_hook_fn fn, void *user);

/* Whether actor may read an attachment: its uploader, or anyone who may see
 * the consult it is bound to. */
bool cs_engine_may_read_attachment(const cs_engine_t *e, const cs_identity_t *actor,
                                   const cs_attachment_t *a);

/* Deadlines: escalations, expiries, invitation clean-up, eviction of old
 * terminal consults. Call at least once a second. */
void cs_engine_tick(cs_engine_t *e, int64_t now_ms);

/* ---- queries ------------------------------------------------------------ */

/* Visits every consult actor may see, in queue order for the queued ones
 * (most urgent first, then earliest deadline), then the others newest first. */
typedef void (*cs_consult_visit_fn)(void *user, const cs_consult_t *c);
void cs_engine_visible(const cs_engine_t *e, const cs_identity_t *actor, cs_consult_visit_fn fn,
                       void *user);
/* Visits the users of a tenant with a given role (coordinator views). */
typedef void (*cs_user_visit_fn)(void *user, const cs_user_t *u, cs_presence_t p);
void cs_engine_users(const cs_engine_t *e, const char *tenant, cs_role_t role,
                     cs_user_visit_fn fn, void *user);
bool cs_engine_may_see(const cs_engine_t *e, const cs_identity_t *actor, const cs_consult_t *c);
const cs_consult_t *cs_engine_find(const cs_engine_t *e, const char *id);

/* Figures for /metrics. */
typedef struct {
    size_t consults_by_state[CS_STATE_COUNT]; /* in memory: all non-terminal + recent terminal */
    size_t users_online;
    size_t specialists_available;
    /* pairing latency (created → accepted) histogram, cumulative since start */
    uint64_t pairing_buckets[12];             /* ≤ bounds below, last is +Inf */
    double pairing_sum_s;
    uint64_t pairing_count;
} cs_engine_stats_t;
extern const double cs_engine_pairing_bounds_s[11];
void cs_engine_stats(const cs_engine_t *e, cs_engine_stats_t *out);
/* Visits each (tenant, specialty, urgency) queue with its length (> 0). */
typedef void (*cs_queue_visit_fn)(void *user, const char *tenant, const char *specialty,
                                  cs_urgency_t u, size_t length);
void cs_engine_queues(const cs_engine_t *e, cs_queue_visit_fn fn, void *user);

#endif
