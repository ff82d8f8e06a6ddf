/*
 * storage_read.c — reading records back: the start-up load, listing a
 * consult's audit events, and decoding rows into the fixed-size records.
 *
 * The file may have been edited by hand or damaged, so nothing read is
 * trusted: text is copied with bounds (an over-long value is cut, never
 * overflowed), enum names must parse, counts must fit the records' arrays.
 * Anything else is corruption, reported as CS_ESTORAGE.
 */
#include "storage_internal.h"

#include <limits.h>
#include <string.h>

/* ---- decoding columns ----------------------------------------------------- */

/* Copies n bytes of src into dst (size bytes), NUL-terminated. When it must
 * cut, it cuts before a UTF-8 character rather than through it, so the text
 * stays valid for the JSON encoder. */
void copy_text(char *dst, size_t size, const char *src, size_t n)
{
    if (n >= size) {
        n = size - 1;
        /* src[n] exists (the text goes on); while it continues a multi-byte
         * character, that character started before the cut: drop it. */
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void column_text(sqlite3_stmt *s, int col, char *dst, size_t size)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    copy_text(dst, size, t ? t : "", t ? (size_t)sqlite3_column_bytes(s, col) : 0);
}

/* The column as a C string, or NULL when absent or holding a NUL byte (which
 * would make it compare as a shorter, different name). */
const char *column_name(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (!t || strlen(t) != (size_t)sqlite3_column_bytes(s, col))
        return NULL;
    return t;
}

static int column_state(sqlite3_stmt *s, int col, cs_state_t *out)
{
    const char *t = column_name(s, col);
    return t && cs_state_parse(t, out) == CS_OK ? CS_OK : CS_ESTORAGE;
}

int column_role(sqlite3_stmt *s, int col, cs_role_t *out)
{
    const char *t = column_name(s, col);
    return t && cs_role_parse(t, out) == CS_OK ? CS_OK : CS_ESTORAGE;
}

static int column_urgency(sqlite3_stmt *s, int col, cs_urgency_t *out)
{
    const char *t = column_name(s, col);
    return t && cs_urgency_parse(t, out) == CS_OK ? CS_OK : CS_ESTORAGE;
}

static int column_mode(sqlite3_stmt *s, int col, cs_mode_t *out)
{
    const char *t = column_name(s, col);
    return t && cs_mode_parse(t, out) == CS_OK ? CS_OK : CS_ESTORAGE;
}

static int column_escalation(sqlite3_stmt *s, int col, cs_escalation_t *out)
{
    const char *t = column_name(s, col);
    return t && cs_escalation_parse(t, out) == CS_OK ? CS_OK : CS_ESTORAGE;
}

/* ---- iterating rows ------------------------------------------------------- */

/* Steps through the rows of an already bound statement, calling fn on each
 * until it returns an error; always resets the statement. */
int each_row(cs_storage_t *st, sqlite3_stmt *s, row_fn fn, void *ctx)
{
    int rc, err = CS_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((err = fn(st, s, ctx)) != CS_OK)
            break;
    if (err == CS_OK && rc != SQLITE_DONE)
        err = CS_ESTORAGE;
    cs_storage_done(s);
    return err;
}

/* A failed bind leaves the statement reset for its next use. */
int bound(sqlite3_stmt *s, int rc)
{
    if (rc == SQLITE_OK)
        return CS_OK;
    cs_storage_done(s);
    return CS_ESTORAGE;
}

/* ---- consults ------------------------------------------------------------- */

static int read_consult(sqlite3_stmt *s, cs_consult_t *c)
{
    memset(c, 0, sizeof *c);
    COLUMN_FIELD(s, CS_CC_ID, c->id);
    COLUMN_FIELD(s, CS_CC_TENANT, c->tenant);
    COLUMN_FIELD(s, CS_CC_ROUTED_TO, c->routed_to);
    COLUMN_FIELD(s, CS_CC_SPECIALTY, c->specialty);
    COLUMN_FIELD(s, CS_CC_CLINICIAN, c->clinician);
    COLUMN_FIELD(s, CS_CC_CLINICIAN_NAME, c->clinician_name);
    COLUMN_FIELD(s, CS_CC_SPECIALIST, c->specialist);
    COLUMN_FIELD(s, CS_CC_SPECIALIST_TENANT, c->specialist_tenant);
    COLUMN_FIELD(s, CS_CC_SPECIALIST_NAME, c->specialist_name);
    COLUMN_FIELD(s, CS_CC_PATIENT_ID, c->patient.id);
    COLUMN_FIELD(s, CS_CC_PATIENT_NAME, c->patient.name);
    COLUMN_FIELD(s, CS_CC_PATIENT_BIRTH_DATE, c->patient.birth_date);
    COLUMN_FIELD(s, CS_CC_REASON, c->reason);
    int64_t *const times[] = {&c->created_at, &c->warn_at,    &c->deadline_at, &c->expire_at,
                              &c->accepted_at, &c->started_at, &c->ended_at,    &c->updated_at};
    for (int i = 0; i < (int)CS_ARRAY_LEN(times); i++)
        *times[i] = sqlite3_column_int64(s, CS_CC_CREATED_AT + i);
    if (column_state(s, CS_CC_STATE, &c->state) != CS_OK ||
        column_escalation(s, CS_CC_ESCALATION, &c->escalation) != CS_OK ||
        column_urgency(s, CS_CC_URGENCY, &c->urgency) != CS_OK ||
        column_mode(s, CS_CC_MODE, &c->mode) != CS_OK)
        return CS_ESTORAGE;
    return CS_OK;
}

/* Columns of CS_PARTICIPANT_COLUMNS. */
static int participant_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_consult_t *c = arg;
    /* More than a record holds cannot be dropped silently: a participant
     * left out would lose access to the consult. */
    if (c->n_participants >= CS_MAX_PARTICIPANTS)
        return CS_ESTORAGE;
    cs_participant_t *p = &c->participants[c->n_participants++];
    COLUMN_FIELD(s, 0, p->subject);
    COLUMN_FIELD(s, 1, p->tenant);
    COLUMN_FIELD(s, 2, p->name);
    COLUMN_FIELD(s, 4, p->invited_by);
    p->joined_at = sqlite3_column_int64(s, 5);
    p->left_at = sqlite3_column_int64(s, 6);
    p->present = sqlite3_column_int64(s, 7) != 0;
    return column_role(s, 3, &p->role);
}

static int read_participants(cs_storage_t *st, cs_consult_t *c)
{
    sqlite3_stmt *s = st->stmt[CS_STMT_LOAD_PARTICIPANTS];
    int err = bound(s, sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC));
    return err != CS_OK ? err : each_row(st, s, participant_row, c);
}

typedef struct {
    const cs_storage_loader_t *l;
    void *user;
    cs_consult_t c; /* one record reused for every row (it is ~10 KiB) */
} load_ctx_t;

static int consult_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    load_ctx_t *ctx = arg;
    int err = read_consult(s, &ctx->c);
    if (err == CS_OK)
        err = read_participants(st, &ctx->c);
    if (err == CS_OK)
        err = read_consult_notes(st, &ctx->c);
    if (err == CS_OK)
        err = read_recording(st, &ctx->c);
    return err != CS_OK ? err : ctx->l->consult(ctx->user, &ctx->c);
}

/* One consult, as consult_row reads it, by id (out is ~10 KiB). */
int cs_storage_consult_get(cs_storage_t *st, const char *id, cs_consult_t *out)
{
    sqlite3_stmt *s = st->stmt[CS_STMT_GET_CONSULT];
    int err = bound(s, sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT));
    if (err != CS_OK)
        return err;
    int rc = sqlite3_step(s);
    err = rc == SQLITE_ROW ? read_consult(s, out) : rc == SQLITE_DONE ? CS_ENOTFOUND : CS_ESTORAGE;
    cs_storage_done(s);
    if (err == CS_OK)
        err = read_participants(st, out);
    if (err == CS_OK)
        err = read_consult_notes(st, out);
    if (err == CS_OK)
        err = read_recording(st, out);
    return err;
}

/* The smallest state name greater than prev (of prev_len bytes) present in
 * the table, into out: CS_OK, CS_ENOTFOUND after the last, or CS_ESTORAGE. */
static int next_state(cs_storage_t *st, const char *prev, char *out, size_t size)
{
    sqlite3_stmt *s = st->stmt[CS_STMT_NEXT_STATE];
    int err = bound(s, sqlite3_bind_text(s, 1, prev, -1, SQLITE_TRANSIENT));
    if (err != CS_OK)
        return err;
    int rc = sqlite3_step(s);
    const char *name = rc == SQLITE_ROW ? column_name(s, 0) : NULL;
    /* An unusable name is corruption; going on with a cut copy would find
     * the same row again forever. */
    if (name && strlen(name) < size)
        cs_strlcpy(out, name, size);
    else
        err = rc == SQLITE_DONE ? CS_ENOTFOUND : CS_ESTORAGE;
    cs_storage_done(s);
    return err;
}

/*
 * Visits the consults one state at a time, going from one state name present
 * in the table to the next through the index: every row's state is thus
 * checked (an unknown one, even on an old row, is corruption rather than a
 * consult silently forgotten), and old terminal consults are skipped by an
 * index range instead of being read.
 */
static int load_consults(cs_storage_t *st, load_ctx_t *ctx, int64_t cutoff)
{
    char name[32] = "";
    int err;
    while ((err = next_state(st, name, name, sizeof name)) == CS_OK) {
        cs_state_t state;
        if (cs_state_parse(name, &state) != CS_OK)
            return CS_ESTORAGE;
        sqlite3_stmt *s = st->stmt[CS_STMT_LOAD_CONSULTS];
        int64_t since = cs_state_terminal(state) ? cutoff : INT64_MIN;
        err = bound(s, sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC));
        if (err == CS_OK)
            err = bound(s, sqlite3_bind_int64(s, 2, since));
        if (err == CS_OK)
            err = each_row(st, s, consult_row, ctx);
        if (err != CS_OK)
            return err;
    }
    return err == CS_ENOTFOUND ? CS_OK : err;
}

/* ---- users and invitations ------------------------------------------------ */

/* Splits a comma-separated list; empty items are skipped, more items than a
 * record holds are corruption. */
static int split_specialties(const char *list, cs_user_t *u)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            if (u->n_specialties >= CS_MAX_SPECIALTIES)
                return CS_ESTORAGE;
            copy_text(u->specialties[u->n_specialties++], CS_SPECIALTY_MAX, p, n);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return CS_OK;
}

/* Columns of CS_USER_COLUMNS. */
static int user_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    load_ctx_t *ctx = arg;
    cs_user_t u;
    memset(&u, 0, sizeof u);
    COLUMN_FIELD(s, 0, u.subject);
    COLUMN_FIELD(s, 1, u.name);
    COLUMN_FIELD(s, 3, u.tenant);
    u.last_seen = sqlite3_column_int64(s, 5);
    const char *list = (const char *)sqlite3_column_text(s, 4);
    if (column_role(s, 2, &u.role) != CS_OK || split_specialties(list ? list : "", &u) != CS_OK)
        return CS_ESTORAGE;
    return ctx->l->user(ctx->user, &u);
}

/* Columns of CS_INVITE_COLUMNS. */
static int invite_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    load_ctx_t *ctx = arg;
    cs_invite_t inv;
    memset(&inv, 0, sizeof inv);
    COLUMN_FIELD(s, 0, inv.code_hash);
    COLUMN_FIELD(s, 1, inv.consult_id);
    COLUMN_FIELD(s, 3, inv.name);
    COLUMN_FIELD(s, 4, inv.created_by);
    inv.created_at = sqlite3_column_int64(s, 5);
    inv.expires_at = sqlite3_column_int64(s, 6);
    if (column_role(s, 2, &inv.role) != CS_OK)
        return CS_ESTORAGE;
    return ctx->l->invite(ctx->user, &inv);
}

static int load_invites(cs_storage_t *st, load_ctx_t *ctx, int64_t now_ms)
{
    sqlite3_stmt *s = st->stmt[CS_STMT_LOAD_INVITES];
    int err = bound(s, sqlite3_bind_int64(s, 1, now_ms));
    return err != CS_OK ? err : each_row(st, s, invite_row, ctx);
}

/* ---- the load ------------------------------------------------------------- */

static int load_all(cs_storage_t *st, load_ctx_t *ctx, int64_t now_ms, int64_t retain_ms)
{
    int err = CS_OK;
    if (ctx->l->user)
        err = each_row(st, st->stmt[CS_STMT_LOAD_USERS], user_row, ctx);
    if (err == CS_OK && ctx->l->consult)
        err = load_consults(st, ctx, now_ms - retain_ms);
    if (err == CS_OK && ctx->l->invite)
        err = load_invites(st, ctx, now_ms);
    return err;
}

int cs_storage_load(cs_storage_t *st, const cs_storage_loader_t *l, void *user, int64_t now_ms,
                    int64_t retain_ms)
{
    if (!st || !l || now_ms < 0 || retain_ms < 0)
        return CS_EINVAL;
    load_ctx_t ctx = {.l = l, .user = user};
    /* One read transaction: users, consults and invitations are one
     * consistent snapshot, even with another process writing. */
    if (cs_storage_exec_stmt(st->stmt[CS_STMT_BEGIN_READ]) != SQLITE_OK)
        return CS_ESTORAGE;
    int err = load_all(st, &ctx, now_ms, retain_ms);
    if (!sqlite3_get_autocommit(st->db))
        cs_storage_exec_stmt(st->stmt[CS_STMT_COMMIT]);
    return err;
}

/* ---- the audit trail ------------------------------------------------------ */

typedef struct {
    const char *consult_id;
    cs_event_t *out;
    int n;
} events_ctx_t;

/* Columns of CS_EVENT_COLUMNS. */
static int event_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    events_ctx_t *ctx = arg;
    cs_event_t *ev = &ctx->out[ctx->n];
    memset(ev, 0, sizeof *ev);
    copy_text(ev->consult_id, sizeof ev->consult_id, ctx->consult_id, strlen(ctx->consult_id));
    ev->at = sqlite3_column_int64(s, 0);
    COLUMN_FIELD(s, 1, ev->kind);
    COLUMN_FIELD(s, 4, ev->actor);
    ev->actor_is_system = sqlite3_column_int64(s, 6) != 0;
    COLUMN_FIELD(s, 7, ev->detail);
    if (column_state(s, 2, &ev->from) != CS_OK || column_state(s, 3, &ev->to) != CS_OK ||
        column_role(s, 5, &ev->actor_role) != CS_OK)
        return CS_ESTORAGE;
    ctx->n++;
    return CS_OK;
}

int cs_storage_list_events(void *user, const char *consult_id, cs_event_t *out, size_t max)
{
    cs_storage_t *st = user;
    if (!st || !consult_id || (max > 0 && !out))
        return CS_EINVAL;
    if (max == 0)
        return 0;
    /* The count is returned as an int. */
    if (max > INT_MAX)
        max = INT_MAX;
    sqlite3_stmt *s = st->stmt[CS_STMT_LIST_EVENTS];
    int err = bound(s, sqlite3_bind_text(s, 1, consult_id, -1, SQLITE_STATIC));
    if (err == CS_OK)
        err = bound(s, sqlite3_bind_int64(s, 2, (int64_t)max));
    events_ctx_t ctx = {consult_id, out, 0};
    if (err == CS_OK)
        err = each_row(st, s, event_row, &ctx);
    return err != CS_OK ? err : ctx.n;
}
