/*
 * internal.h — the consult engine's private structures, shared by its files
 * (engine.c: lifecycle, commits and notices; users.c: who is online and
 * available; actions.c: what users ask for; clock.c: deadlines). Not part of
 * the module's public interface.
 */
#ifndef CS_CONSULT_INTERNAL_H
#define CS_CONSULT_INTERNAL_H

#include "common/common.h"
#include "consult.h"

#define MAX_DECLINED 16
/* Leaves of closed connections the database refused, kept to try again. */
#define MAX_PENDING_LEAVES 128

/* A growable array of pointers with a hard cap. */
typedef struct {
    void **items;
    size_t len, cap;
} ptrvec_t;

int ptrvec_push(ptrvec_t *v, void *p);
void ptrvec_remove(ptrvec_t *v, void *p);
void ptrvec_free(ptrvec_t *v);

typedef struct {
    cs_user_t u;
    cs_presence_t presence;  /* OFFLINE whenever connections == 0 */
    int connections;
} user_entry_t;

typedef struct {
    cs_consult_t c;
    /* specialists who declined this offer (memory only: after a restart they
     * are offered it again) */
    char declined[MAX_DECLINED][CS_TENANT_MAX + CS_SUBJECT_MAX];
    int n_declined;
} consult_entry_t;

struct cs_engine {
    cs_engine_config_t cfg;
    cs_store_t store;
    void *store_user;
    cs_notify_fn notify;
    void *notify_user;
    cs_map_t *consults;      /* id → consult_entry_t* */
    cs_map_t *users;         /* "tenant\x1fsubject" → user_entry_t* */
    cs_map_t *by_specialty;  /* "tenant\x1fspecialty" → ptrvec_t* of specialist user_entry_t* */
    cs_map_t *coordinators;  /* tenant → ptrvec_t* of coordinator user_entry_t* */
    cs_map_t *invites;       /* code_hash → cs_invite_t* */
    size_t active;           /* non-terminal consults */
    uint64_t revision;       /* bumped by every commit and presence change */
    uint64_t pairing_buckets[12];
    double pairing_sum_s;
    uint64_t pairing_count;
    cs_recording_hook_fn recording_hook;
    void *recording_hook_user;
    /* Whose closed connection's leaves are not yet stored (leave_all);
     * tried again at every tick, forgotten when they connect again. */
    cs_identity_t pending_leaves[MAX_PENDING_LEAVES];
    size_t n_pending_leaves;
};

/* users.c */
void user_key(char *out, size_t size, const char *tenant, const char *subject);
user_entry_t *user_find(const cs_engine_t *e, const char *tenant, const char *subject);
int user_register(cs_engine_t *e, const cs_user_t *u, user_entry_t **out);
void users_free(cs_engine_t *e);
/* Visits the specialists eligible for queued consult c (its tenant or routed
 * tenant, its specialty, not having declined it): the available ones, or with
 * any_presence every one who is online (busy and away ones still hold offers
 * they were given, and must hear when those are withdrawn). */
typedef void (*specialist_fn)(cs_engine_t *e, user_entry_t *s, consult_entry_t *ce, void *arg);
void eligible_specialists(cs_engine_t *e, consult_entry_t *ce, bool any_presence, specialist_fn fn,
                          void *arg);
/* True when some available specialist may be offered ce now. */
bool anyone_eligible(cs_engine_t *e, consult_entry_t *ce);
bool specialist_eligible(const consult_entry_t *ce, const char *tenant,
                         const cs_identity_t *or_id, const user_entry_t *or_user);
int set_presence(cs_engine_t *e, user_entry_t *ue, cs_presence_t p, int64_t now);
/* Moves requested ce to "offered" and announces it (the available eligible
 * specialists get the offer). CS_OK or commit's code. */
int offer_owed(cs_engine_t *e, consult_entry_t *ce, int64_t now);

/* engine.c */
bool state_queued(cs_state_t s);
cs_participant_t *participant_find(cs_consult_t *c, const char *tenant, const char *subject);
/* Writes next (a modified copy of ce->c) with an event to the store; on
 * success makes it current and keeps the active count; CS_ESTORAGE otherwise.
 * For a new consult ce->c is all zeroes (empty id). */
int commit(cs_engine_t *e, consult_entry_t *ce, const cs_consult_t *next, const char *kind,
           const cs_identity_t *actor, const char *detail, int64_t now);
/* n to the consult's participants and the coordinators of its centre and of
 * the centre it is routed to, each once. */
void notify_entitled(cs_engine_t *e, consult_entry_t *ce, const cs_notice_t *n);
/* Notices: consult to everyone entitled (participants, coordinators), offers
 * to eligible specialists while queued. */
void announce(cs_engine_t *e, consult_entry_t *ce);
void withdraw_offers(cs_engine_t *e, consult_entry_t *ce, const char *reason,
                     const user_entry_t *except);
void offer_to(cs_engine_t *e, user_entry_t *s, consult_entry_t *ce);
void notify_coordinators(cs_engine_t *e, const char *tenant, const cs_notice_t *n);
/* One notice to one user, stamped with the engine's revision. */
void send_notice(cs_engine_t *e, const char *tenant, const char *subject, const cs_notice_t *n);
void record_pairing(cs_engine_t *e, const cs_consult_t *c);

/* actions.c */
bool route_allowed(const cs_engine_t *e, const char *from, const char *to);
int route_to(cs_engine_t *e, consult_entry_t *ce, const char *tenant, const cs_identity_t *actor,
             int64_t now);
/* Marks actor absent from every room they are in (their last connection
 * closed). What the database refuses is kept and tried again at each tick
 * (retry_pending_leaves) until they connect again (drop_pending_leaves):
 * back, they are in their rooms as the state still says. */
void leave_all(cs_engine_t *e, const cs_identity_t *actor, int64_t now);
void retry_pending_leaves(cs_engine_t *e, int64_t now);
void drop_pending_leaves(cs_engine_t *e, const cs_identity_t *who);
/* The consult id names if actor may see it, else NULL with *rc CS_ENOTFOUND. */
consult_entry_t *find_visible(cs_engine_t *e, const cs_identity_t *actor, const char *id, int *rc);
bool is_member(const cs_identity_t *a, cs_consult_t *c);
bool is_specialist_of(const cs_identity_t *a, const cs_consult_t *c);
bool is_coordinator_of(const cs_identity_t *a, const cs_consult_t *c);
/* The consult, when actor may see it and takes part in it (CS_EPERM when
 * they may see it but do not). */
consult_entry_t *find_membership(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                                 int *rc);
/* recording.c */
/* Keeps a consult's recording consistent with its participants and state
 * before it is stored: whoever is present while it is asked for or on has a
 * consent entry, it starts (a new file) once everyone present consented, and
 * a finished consult records nothing. CS_EIO when no file id can be drawn. */
int recording_normalize(cs_consult_t *c, int64_t now);

/* notes.c */
/* Resolves attachment ids to refs: each the actor's upload, unbound, or
 * bound to consult_id when that is non-NULL. */
int resolve_attachments(cs_engine_t *e, const cs_identity_t *actor, const char *consult_id,
                        const char (*ids)[CS_ID_MAX], int n, cs_attachment_ref_t *out);

/* queries.c */
bool may_see(const cs_engine_t *e, const cs_identity_t *actor, const cs_consult_t *c);

/* The system as actor of automatic transitions (deadlines). */
extern const cs_identity_t engine_system_actor;

#endif
