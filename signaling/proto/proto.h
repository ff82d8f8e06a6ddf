/*
 * proto.h — the signalling protocol's vocabulary and its JSON wire format.
 *
 * Two halves, both pure (no I/O, no global state):
 *  - the domain types every signalling module shares: roles, urgencies, consult
 *    states, identities and the consult record itself, with their names on the
 *    wire;
 *  - decoding a client's JSON message into a cs_msg_t (validated: every field
 *    present, typed, bounded) and encoding the server's messages to JSON text.
 *
 * docs/PROTOCOL.md is the normative description of every message; this module
 * implements it. Decoding never allocates beyond jansson's parse tree, which is
 * freed before returning: a decoded cs_msg_t owns no heap memory.
 */
#ifndef CS_PROTO_H
#define CS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_PROTO_VERSION 1

/* Bounds on every string field (bytes including the NUL). */
#define CS_ID_MAX 40          /* consult ids are UUIDs (36 chars) */
#define CS_SUBJECT_MAX 128
#define CS_NAME_MAX 128
#define CS_TENANT_MAX 64
#define CS_SPECIALTY_MAX 64
#define CS_PATIENT_ID_MAX 64
#define CS_DATE_MAX 11        /* YYYY-MM-DD */
#define CS_REASON_MAX 4096
#define CS_TOKEN_MAX 8192
#define CS_INVITE_CODE_MAX 65
#define CS_REQ_ID_MAX 64      /* client-chosen correlation id */
#define CS_MAX_SPECIALTIES 8
#define CS_MAX_PARTICIPANTS 8
#define CS_OFFER_SDP_MAX 65536 /* media.offer sdp */
#define CS_MID_MAX 33         /* SDP a=mid */
#define CS_CANDIDATE_MAX 512  /* one "candidate:..." */
#define CS_MAX_MEDIA_SOURCES 8
#define CS_FILE_NAME_MAX 128  /* an attachment's display name */
#define CS_MIME_MAX 32        /* "application/pdf" */
#define CS_MAX_REQUEST_ATTACHMENTS 8
#define CS_MAX_CHAT_ATTACHMENTS 4
#define CS_CHAT_TEXT_MAX 4001
#define CS_CHAT_HISTORY_MAX 200 /* messages per chat.history reply */
#define CS_NOTE_MAX 8001      /* conclusion findings, recommendations */
#define CS_ICD10_MAX 8        /* "S72.00" */
#define CS_DIAGNOSIS_MAX 501

typedef enum {
    CS_ROLE_CLINICIAN,
    CS_ROLE_SPECIALIST,
    CS_ROLE_COORDINATOR,
    CS_ROLE_PATIENT,
    CS_ROLE_INTERPRETER,
    CS_ROLE_COUNT
} cs_role_t;

typedef enum { CS_URGENCY_EMERGENCY, CS_URGENCY_URGENT, CS_URGENCY_PLANNED, CS_URGENCY_COUNT } cs_urgency_t;

typedef enum { CS_MODE_REALTIME, CS_MODE_DEFERRED, CS_MODE_COUNT } cs_mode_t;

typedef enum {
    CS_STATE_REQUESTED,
    CS_STATE_OFFERED,
    CS_STATE_ACCEPTED,
    CS_STATE_IN_PROGRESS,
    CS_STATE_ENDED,
    CS_STATE_CANCELLED,
    CS_STATE_EXPIRED,
    CS_STATE_COUNT
} cs_state_t;

typedef enum { CS_PRESENCE_OFFLINE, CS_PRESENCE_AVAILABLE, CS_PRESENCE_BUSY, CS_PRESENCE_AWAY, CS_PRESENCE_COUNT } cs_presence_t;

typedef enum { CS_ESCALATION_NONE, CS_ESCALATION_WARNING, CS_ESCALATION_OVERDUE, CS_ESCALATION_COUNT } cs_escalation_t;

/* Wire names ("clinician", "emergency", "in_progress", ...) and their parsers;
 * parsers return CS_OK or CS_EINVAL. */
const char *cs_role_name(cs_role_t r);
int cs_role_parse(const char *s, cs_role_t *out);
const char *cs_urgency_name(cs_urgency_t u);
int cs_urgency_parse(const char *s, cs_urgency_t *out);
const char *cs_mode_name(cs_mode_t m);
int cs_mode_parse(const char *s, cs_mode_t *out);
const char *cs_state_name(cs_state_t s);
int cs_state_parse(const char *s, cs_state_t *out);
const char *cs_presence_name(cs_presence_t p);
int cs_presence_parse(const char *s, cs_presence_t *out);
const char *cs_escalation_name(cs_escalation_t e);
int cs_escalation_parse(const char *s, cs_escalation_t *out);
bool cs_state_terminal(cs_state_t s);

/* What a published media track shows: "microphone", "camera", "screen". */
typedef enum { CS_SOURCE_MICROPHONE, CS_SOURCE_CAMERA, CS_SOURCE_SCREEN, CS_SOURCE_COUNT } cs_media_source_t;
const char *cs_media_source_name(cs_media_source_t s);
int cs_media_source_parse(const char *s, cs_media_source_t *out);
/* True for "[a-z0-9][a-z0-9_-]*" up to max-1 bytes: tenants and specialties. */
bool cs_slug_valid(const char *s, size_t max);
/* True for a real calendar date written YYYY-MM-DD. */
bool cs_date_valid(const char *s);

/* Who is acting: the verified claims of a token, or of an invitation. */
typedef struct {
    char subject[CS_SUBJECT_MAX];
    char name[CS_NAME_MAX];
    cs_role_t role;
    char tenant[CS_TENANT_MAX];
    char specialties[CS_MAX_SPECIALTIES][CS_SPECIALTY_MAX];
    int n_specialties;
    int64_t expires_at;          /* ms since epoch */
    char consult_scope[CS_ID_MAX]; /* non-empty for invited guests: the one consult they may see */
    char patient_id[CS_PATIENT_ID_MAX]; /* a patient's own id at their centre (token claim
                                           patient_id), or "": what they may read in records */
} cs_identity_t;

bool cs_identity_has_specialty(const cs_identity_t *id, const char *specialty);

typedef struct {
    char id[CS_PATIENT_ID_MAX];
    char name[CS_NAME_MAX];
    char birth_date[CS_DATE_MAX];
} cs_patient_t;

/* A user is identified by (tenant, subject): subjects are unique only within
 * their centre, and a routed consult brings people of two centres together. */
typedef struct {
    char subject[CS_SUBJECT_MAX];
    char tenant[CS_TENANT_MAX];
    char name[CS_NAME_MAX];
    cs_role_t role;
    char invited_by[CS_SUBJECT_MAX]; /* empty for the clinician and accepting specialist */
    int64_t joined_at;               /* 0 = never joined */
    int64_t left_at;                 /* 0 = still in (when joined) */
    bool present;                    /* in the room right now */
} cs_participant_t;

/* A file shown in a consult (an ECG, an X-ray, a letter): its metadata; the
 * bytes live in storage under the id. */
typedef struct {
    char id[CS_ID_MAX];
    char name[CS_FILE_NAME_MAX];
    char type[CS_MIME_MAX];
    int64_t size;
} cs_attachment_ref_t;

/* The file types an attachment may have ("image/png", ...): n entries. */
extern const char *const cs_attachment_types[];
extern const size_t cs_attachment_types_n;
bool cs_attachment_type_allowed(const char *type);

/* True for "A00".."Z99" with an optional ".d" or ".dd": an ICD-10 code. */
bool cs_icd10_valid(const char *s);

typedef enum { CS_CONCLUSION_NONE, CS_CONCLUSION_DRAFT, CS_CONCLUSION_SIGNED } cs_conclusion_status_t;
const char *cs_conclusion_status_name(cs_conclusion_status_t s);

/* Where the last signed version's document is on its way to the patient's
 * electronic record (docs/RECORDS.md). */
typedef enum {
    CS_DELIVERY_NONE,      /* nothing signed yet */
    CS_DELIVERY_PENDING,   /* owed: not yet accepted by the record system */
    CS_DELIVERY_DONE,      /* the record system accepted it */
    CS_DELIVERY_FAILED,    /* refused, or given up on */
    CS_DELIVERY_STATE_COUNT
} cs_delivery_state_t;
const char *cs_delivery_state_name(cs_delivery_state_t s);

#define CS_DELIVERY_ERROR_MAX 256
typedef struct {
    cs_delivery_state_t state;
    int attempts;                    /* posts tried so far */
    int64_t next_attempt_at;         /* PENDING: when the next post is due (0: now) */
    int64_t delivered_at;            /* DONE */
    char error[CS_DELIVERY_ERROR_MAX]; /* the last failure in words, or "" */
} cs_delivery_t;

/* What everyone who may see a consult knows of its conclusion. */
typedef struct {
    cs_conclusion_status_t status;
    int version;                     /* grows with every save, from 1 */
    int64_t updated_at, signed_at;   /* of this version; signed_at 0 for a draft */
    char author[CS_SUBJECT_MAX];
    char author_tenant[CS_TENANT_MAX];
    char author_name[CS_NAME_MAX];
    /* The last signed version. A draft with signed_version > 0 is an
     * amendment of it; signing the amendment makes a document that replaces
     * document_id. */
    int signed_version;              /* 0: never signed */
    char document_id[CS_ID_MAX];     /* that version's document (a UUID), or "" */
    char replaces[CS_ID_MAX];        /* the document it replaced, or "" */
    cs_delivery_t delivery;          /* of document_id */
} cs_conclusion_summary_t;

/* The specialist's conclusion in full. */
typedef struct {
    char consult_id[CS_ID_MAX];
    cs_conclusion_summary_t summary;
    char findings[CS_NOTE_MAX];
    char diagnosis_code[CS_ICD10_MAX];
    char diagnosis_text[CS_DIAGNOSIS_MAX];
    char recommendations[CS_NOTE_MAX];
} cs_conclusion_t;

/* Recording of a consult's call (docs/PROTOCOL.md "Recording"). */
#define CS_MAX_RECORDING_FILES 16
#define CS_RECORDING_ERROR_MAX 160

typedef enum {
    CS_RECORDING_OFF,        /* not recording (never asked, stopped, refused, ended) */
    CS_RECORDING_CONSENT,    /* asked: waiting for everyone present to consent */
    CS_RECORDING_ON,         /* recording the media of those who consented */
    CS_RECORDING_STATE_COUNT
} cs_recording_state_t;
const char *cs_recording_state_name(cs_recording_state_t s);
int cs_recording_state_parse(const char *s, cs_recording_state_t *out);

typedef enum { CS_CONSENT_PENDING, CS_CONSENT_GIVEN, CS_CONSENT_REFUSED, CS_CONSENT_COUNT } cs_consent_t;
const char *cs_consent_name(cs_consent_t c);
int cs_consent_parse(const char *s, cs_consent_t *out);

/* One period of recording and what became of it. */
typedef enum {
    CS_RECFILE_RECORDING,    /* being captured */
    CS_RECFILE_QUEUED,       /* captured, waiting for post-processing */
    CS_RECFILE_PROCESSING,   /* progress 0..100 */
    CS_RECFILE_READY,        /* a playable file: duration_ms, size */
    CS_RECFILE_FAILED,       /* error says why */
    CS_RECFILE_STATE_COUNT
} cs_recfile_state_t;
const char *cs_recfile_state_name(cs_recfile_state_t s);
int cs_recfile_state_parse(const char *s, cs_recfile_state_t *out);

typedef struct {
    char subject[CS_SUBJECT_MAX];
    char tenant[CS_TENANT_MAX];
    char name[CS_NAME_MAX];
    cs_consent_t answer;
    int64_t at;                      /* when answered; 0 while pending */
} cs_recording_consent_t;

typedef struct {
    char id[CS_ID_MAX];              /* a UUID: the file's name and URL */
    cs_recfile_state_t state;
    int64_t started_at, stopped_at;  /* stopped_at 0 while recording */
    int progress;                    /* 0..100 while processing */
    int64_t duration_ms, size;       /* READY */
    bool incomplete;                 /* media was lost (error says what) */
    char error[CS_RECORDING_ERROR_MAX];
} cs_recording_file_t;

typedef struct {
    cs_recording_state_t state;
    char requested_by[CS_SUBJECT_MAX];  /* "" = never asked: the object is null */
    char requested_by_tenant[CS_TENANT_MAX];
    char requested_by_name[CS_NAME_MAX];
    int64_t requested_at;
    cs_recording_consent_t consents[CS_MAX_PARTICIPANTS];
    int n_consents;
    cs_recording_file_t files[CS_MAX_RECORDING_FILES];
    int n_files;
} cs_recording_t;

/* The file being captured now (the last one, while it is recording), or NULL. */
cs_recording_file_t *cs_recording_current_file(const cs_recording_t *r);
/* The file with that id, or NULL. */
cs_recording_file_t *cs_recording_find_file(const cs_recording_t *r, const char *id);

/* One chat message of a consult. */
typedef struct {
    char id[CS_ID_MAX];
    char consult_id[CS_ID_MAX];
    int64_t seq;                     /* 1, 2, ... per consult, in storage order */
    int64_t at;
    char from[CS_SUBJECT_MAX];
    char from_tenant[CS_TENANT_MAX];
    char from_name[CS_NAME_MAX];
    cs_role_t from_role;
    char text[CS_CHAT_TEXT_MAX];
    cs_attachment_ref_t attachments[CS_MAX_CHAT_ATTACHMENTS];
    int n_attachments;
} cs_chat_message_t;

/* A consultation, from request to end. The request is the consult in the
 * states requested/offered; its id is the room id the media core uses. */
typedef struct {
    char id[CS_ID_MAX];
    char tenant[CS_TENANT_MAX];     /* the requesting centre */
    char routed_to[CS_TENANT_MAX];  /* another centre it was routed to, or "" */
    cs_patient_t patient;
    char specialty[CS_SPECIALTY_MAX];
    cs_urgency_t urgency;
    cs_mode_t mode;
    char reason[CS_REASON_MAX];
    cs_state_t state;
    cs_escalation_t escalation;
    char clinician[CS_SUBJECT_MAX];
    char clinician_name[CS_NAME_MAX];
    char specialist[CS_SUBJECT_MAX];  /* set on accept/assign */
    char specialist_tenant[CS_TENANT_MAX]; /* the tenant or routed_to */
    char specialist_name[CS_NAME_MAX];
    int64_t created_at, warn_at, deadline_at, expire_at;
    int64_t accepted_at, started_at, ended_at, updated_at;
    cs_participant_t participants[CS_MAX_PARTICIPANTS];
    int n_participants;
    cs_attachment_ref_t attachments[CS_MAX_REQUEST_ATTACHMENTS]; /* sent with the request */
    int n_attachments;
    cs_conclusion_summary_t conclusion;
    cs_recording_t recording;
} cs_consult_t;

/* One entry of a consult's audit trail. */
typedef struct {
    char consult_id[CS_ID_MAX];
    int64_t at;
    char kind[32];           /* "state", "joined", "left", "invited", "routed", "escalated" */
    cs_state_t from, to;     /* for kind "state"; equal otherwise */
    char actor[CS_SUBJECT_MAX]; /* subject, or "system" */
    cs_role_t actor_role;
    bool actor_is_system;
    char detail[256];
} cs_event_t;

/* ---- client → server messages ------------------------------------------ */

typedef enum {
    CS_MSG_HELLO,
    CS_MSG_PING,
    CS_MSG_SYNC,
    CS_MSG_PRESENCE_SET,
    CS_MSG_CONSULT_REQUEST,
    CS_MSG_CONSULT_CANCEL,
    CS_MSG_CONSULT_ACCEPT,
    CS_MSG_CONSULT_DECLINE,
    CS_MSG_CONSULT_ASSIGN,
    CS_MSG_CONSULT_ROUTE,
    CS_MSG_CONSULT_INVITE,
    CS_MSG_CONSULT_JOIN,
    CS_MSG_CONSULT_LEAVE,
    CS_MSG_CONSULT_END,
    CS_MSG_CONSULT_HISTORY,
    CS_MSG_MEDIA_OFFER,
    CS_MSG_MEDIA_CANDIDATE,
    CS_MSG_MEDIA_LEAVE,
    CS_MSG_CHAT_SEND,
    CS_MSG_CHAT_HISTORY,
    CS_MSG_CONCLUSION_SAVE,
    CS_MSG_CONCLUSION_SIGN,
    CS_MSG_CONCLUSION_GET,
    CS_MSG_RECORDING_START,
    CS_MSG_RECORDING_CONSENT,
    CS_MSG_RECORDING_STOP,
    CS_MSG_COUNT
} cs_msg_type_t;

typedef struct {
    cs_msg_type_t type;
    char req_id[CS_REQ_ID_MAX]; /* "id" from the client, echoed in the reply; may be "" */
    union {
        struct { char token[CS_TOKEN_MAX]; char invite[CS_INVITE_CODE_MAX]; } hello;
        struct { cs_presence_t status; } presence;
        struct {
            cs_patient_t patient;
            char specialty[CS_SPECIALTY_MAX];
            cs_urgency_t urgency;
            cs_mode_t mode;
            char reason[CS_REASON_MAX];
            char attachments[CS_MAX_REQUEST_ATTACHMENTS][CS_ID_MAX];
            int n_attachments;
        } request;
        /* cancel, accept, decline, join, leave, end, history, media.leave, conclusion.get,
         * recording.start, recording.stop */
        struct { char consult_id[CS_ID_MAX]; } consult;
        struct { char consult_id[CS_ID_MAX]; char specialist[CS_SUBJECT_MAX]; } assign;
        struct { char consult_id[CS_ID_MAX]; char tenant[CS_TENANT_MAX]; } route;
        struct {
            char consult_id[CS_ID_MAX];
            cs_role_t role;
            char subject[CS_SUBJECT_MAX]; /* a known user to add; "" = make an invitation code */
            char name[CS_NAME_MAX];       /* display name for a code invitation */
        } invite;
        struct {
            char consult_id[CS_ID_MAX];
            char sdp[CS_OFFER_SDP_MAX];
            int n_sources;
            struct { char mid[CS_MID_MAX]; cs_media_source_t source; } sources[CS_MAX_MEDIA_SOURCES];
        } media_offer;
        struct { char consult_id[CS_ID_MAX]; char candidate[CS_CANDIDATE_MAX]; } media_candidate;
        struct {
            char consult_id[CS_ID_MAX];
            char text[CS_CHAT_TEXT_MAX];
            char attachments[CS_MAX_CHAT_ATTACHMENTS][CS_ID_MAX];
            int n_attachments;
        } chat_send;
        struct { char consult_id[CS_ID_MAX]; int64_t before_seq; /* 0: the latest */ } chat_history;
        /* the draft's texts (its summary and consult_id are left zero) */
        struct { char consult_id[CS_ID_MAX]; cs_conclusion_t draft; } conclusion_save;
        struct { char consult_id[CS_ID_MAX]; int version; } conclusion_sign;
        struct { char consult_id[CS_ID_MAX]; bool consent; } recording_consent;
    } u;
} cs_msg_t;

const char *cs_msg_type_name(cs_msg_type_t t);

/* Details of a decode failure, for the error reply. */
typedef struct {
    int code;             /* CS_EINVAL, CS_ETOOBIG, CS_EUNSUPPORTED (unknown type) */
    char req_id[CS_REQ_ID_MAX];
    char field[48];       /* the offending field's dotted name ("patient.birth_date"), or "" */
    char message[160];    /* names the offending field; never echoes values */
} cs_proto_error_t;

/*
 * Decodes one client message of len bytes (need not be NUL-terminated).
 * Returns CS_OK and fills *out, or a negative code with *err filled in.
 */
int cs_proto_decode(const char *buf, size_t len, cs_msg_t *out, cs_proto_error_t *err);

/* ---- server → client messages ------------------------------------------
 * Each encoder returns a malloc'd NUL-terminated JSON text the caller frees,
 * or NULL when out of memory. req_id may be NULL or "" (then omitted). */

/* field (NULL or "" to omit) names the offending field of an "invalid" request. */
char *cs_proto_encode_error(const char *req_id, int code, const char *message, const char *field);
/* {"type":"ok","id":..} optionally with a consult. */
char *cs_proto_encode_ok(const char *req_id, const cs_consult_t *c);
/* ok with whichever of consult, message and conclusion are non-NULL. */
char *cs_proto_encode_ok_with(const char *req_id, const cs_consult_t *c,
                              const cs_chat_message_t *message, const cs_conclusion_t *conclusion);
char *cs_proto_encode_pong(const char *req_id, int64_t server_time);
char *cs_proto_encode_invite(const char *req_id, const char *consult_id, const char *code,
                             cs_role_t role, int64_t expires_at);
/* A consult as seen by everyone entitled to it. */
char *cs_proto_encode_consult(const char *type, const cs_consult_t *c);
char *cs_proto_encode_withdrawn(const char *consult_id, const char *reason);
char *cs_proto_encode_escalation(const cs_consult_t *c);
char *cs_proto_encode_presence(const char *subject, const char *name, cs_presence_t p);
char *cs_proto_encode_history(const char *req_id, const char *consult_id, const cs_event_t *ev,
                              size_t n);

/* ---- media messages ---- */

/* A track published in a consult room; mid is the receiving section of the
 * addressed client ("" in media.tracks, where it is omitted). */
typedef struct {
    char mid[CS_MID_MAX];
    char track_id[CS_SUBJECT_MAX];
    char user[CS_SUBJECT_MAX];
    char name[CS_NAME_MAX];
    bool video;                   /* kind: "video", else "audio" */
    cs_media_source_t source;
} cs_proto_track_t;

/* One direction of a participant's link; negative values are sent as null. */
typedef struct {
    double loss_percent, jitter_ms, rtt_ms, kbps;
} cs_proto_link_t;

typedef struct {
    char user[CS_SUBJECT_MAX];
    char name[CS_NAME_MAX];
    cs_proto_link_t up, down;
} cs_proto_quality_t;

char *cs_proto_encode_media_answer(const char *req_id, const char *consult_id, const char *sdp,
                                   const cs_proto_track_t *tracks, size_t n);
char *cs_proto_encode_media_tracks(const char *consult_id, const cs_proto_track_t *tracks,
                                   size_t n);
/* candidate "" is the end of candidates. */
char *cs_proto_encode_media_candidate(const char *consult_id, const char *candidate);
/* state: "connecting", "connected", "failed", "closed"; reason may be NULL. */
char *cs_proto_encode_media_state(const char *consult_id, const char *state, const char *reason);
/* type: "media.quality" (to the call's members) or "consult.quality" (to coordinators). */
char *cs_proto_encode_quality(const char *type, const char *consult_id,
                              const cs_proto_quality_t *q, size_t n);

/* ---- chat and conclusion ---- */

/* The reply to an upload: the attachment with its sha256 (hex). */
char *cs_proto_encode_attachment(const cs_attachment_ref_t *a, const char *sha256);
/* The chat.message notice. */
char *cs_proto_encode_chat_message(const cs_chat_message_t *m);
/* The chat.history reply: n messages, oldest first. */
char *cs_proto_encode_chat_history(const char *req_id, const char *consult_id,
                                   const cs_chat_message_t *m, size_t n);
/* The "conclusion" reply; k NULL sends null. */
char *cs_proto_encode_conclusion(const char *req_id, const char *consult_id,
                                 const cs_conclusion_t *k);

/* STUN/TURN servers for a client's RTCPeerConnection (welcome.media). */
#define CS_MAX_ICE_URLS 4
typedef struct {
    const char *urls[CS_MAX_ICE_URLS];
    size_t n_urls;
    const char *username;         /* NULL for STUN */
    const char *credential;
} cs_proto_ice_server_t;

/*
 * Builder for the "welcome"/"state" snapshot: the identity, the user's presence,
 * and the consults visible to them. Call begin, add each consult (and each
 * online specialist for coordinators), then finish, which returns the JSON text
 * and frees the builder (also on failure).
 */
typedef struct cs_proto_snapshot cs_proto_snapshot_t;
cs_proto_snapshot_t *cs_proto_snapshot_begin(const char *type, const char *req_id,
                                             const cs_identity_t *id, cs_presence_t presence,
                                             int64_t server_time);
void cs_proto_snapshot_add_consult(cs_proto_snapshot_t *s, const cs_consult_t *c);
void cs_proto_snapshot_add_specialist(cs_proto_snapshot_t *s, const char *subject,
                                      const char *name, cs_presence_t p,
                                      const char *const *specialties, int n_specialties);
/* The centre's rules a client shows: per urgency (indexed by cs_urgency_t) the
 * delays from creation to warning, deadline and expiry, and the centres the
 * user's centre may route to (coordinators only; n_routes may be 0). */
void cs_proto_snapshot_set_policy(cs_proto_snapshot_t *s, const int64_t warn_ms[],
                                  const int64_t deadline_ms[], const int64_t expire_ms[],
                                  const char *const *routes, int n_routes);
/* welcome.media: the ICE servers (n may be 0) and the room size limit. */
void cs_proto_snapshot_set_media(cs_proto_snapshot_t *s, const cs_proto_ice_server_t *servers,
                                 size_t n, int max_participants);
/* welcome.attachments: the largest upload and the allowed types. */
void cs_proto_snapshot_set_attachments(cs_proto_snapshot_t *s, int64_t max_bytes,
                                       const char *const *types, size_t n_types);
char *cs_proto_snapshot_finish(cs_proto_snapshot_t *s);

#endif
