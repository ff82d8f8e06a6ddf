/*
 * decode.c — client message JSON → cs_msg_t, with every field checked.
 *
 * One table row per message type names its decoder; each decoder pulls typed,
 * bounded fields out of the parsed object. Unknown fields are ignored so newer
 * clients keep working; missing, mistyped, over-long or out-of-vocabulary
 * fields are refused with a message naming the field (never its value).
 */
#include "proto.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

/* Nesting deeper than this is refused before jansson builds the tree. */
#define MAX_DEPTH 16

typedef int (*decode_fn)(json_t *obj, cs_msg_t *m, cs_proto_error_t *err);

__attribute__((format(printf, 3, 4))) static int fail(cs_proto_error_t *err, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

/* A failure about one field, named by its dotted path ("patient.id"). */
static int fail_field(cs_proto_error_t *err, const char *name, const char *what)
{
    cs_strlcpy(err->field, name, sizeof err->field);
    return fail(err, CS_EINVAL, "field '%s' %s", name, what);
}

/* The JSON key of a dotted name: its last component. */
static const char *key_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

/* Control characters are refused in one-line fields; multi-line allows \n, \t. */
static bool text_ok(const char *s, bool multiline)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
            return false;
        if (c == 0x7f)
            return false;
    }
    return true;
}

/* name is the field's dotted path; obj holds its last component. multiline
 * texts may hold newlines and tabs. */
static int get_text(json_t *obj, const char *name, char *dst, size_t max, bool required,
                    bool multiline, cs_proto_error_t *err)
{
    json_t *v = json_object_get(obj, key_of(name));
    if (!v || json_is_null(v)) {
        dst[0] = '\0';
        if (!required)
            return CS_OK;
        cs_strlcpy(err->field, name, sizeof err->field);
        return fail(err, CS_EINVAL, "missing field '%s'", name);
    }
    if (!json_is_string(v))
        return fail_field(err, name, "must be a string");
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len >= max)
        return fail_field(err, name, "is too long");
    if (strlen(s) != len || !text_ok(s, multiline))
        return fail_field(err, name, "contains control characters");
    if (required && len == 0)
        return fail_field(err, name, "must not be empty");
    memcpy(dst, s, len + 1);
    return CS_OK;
}

static int get_str(json_t *obj, const char *name, char *dst, size_t max, bool required,
                   cs_proto_error_t *err)
{
    return get_text(obj, name, dst, max, required, max == CS_REASON_MAX || max == CS_OFFER_SDP_MAX,
                    err);
}

static int get_slug(json_t *obj, const char *name, char *dst, size_t max, cs_proto_error_t *err)
{
    int rc = get_str(obj, name, dst, max, true, err);
    if (rc == CS_OK && !cs_slug_valid(dst, max))
        return fail_field(err, name, "must be lower-case letters, digits, '-' or '_'");
    return rc;
}

static int get_consult_id(json_t *obj, char dst[CS_ID_MAX], cs_proto_error_t *err)
{
    int rc = get_str(obj, "consult_id", dst, CS_ID_MAX, true, err);
    if (rc == CS_OK && !cs_uuid_shaped(dst))
        return fail_field(err, "consult_id", "is not a consult id");
    return rc;
}

/* An optional array of at most max distinct attachment ids. */
static int get_attachment_ids(json_t *obj, char (*dst)[CS_ID_MAX], int max, int *n,
                              cs_proto_error_t *err)
{
    json_t *arr = json_object_get(obj, "attachments");
    *n = 0;
    if (!arr || json_is_null(arr))
        return CS_OK;
    if (!json_is_array(arr))
        return fail_field(err, "attachments", "must be an array of attachment ids");
    if (json_array_size(arr) > (size_t)max)
        return fail_field(err, "attachments", "has too many entries");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *id = json_string_value(v);
        if (!id || !cs_uuid_shaped(id))
            return fail_field(err, "attachments", "must be an array of attachment ids");
        for (int j = 0; j < *n; j++)
            if (strcmp(dst[j], id) == 0)
                return fail_field(err, "attachments", "names the same attachment twice");
        cs_strlcpy(dst[(*n)++], id, CS_ID_MAX);
    }
    return CS_OK;
}

/* Parses an enum-valued string field through one of the vocabulary parsers. */
#define GET_ENUM(obj, key, parser, dst, err)                                                       \
    do {                                                                                           \
        char buf_[32];                                                                             \
        int rc_ = get_str(obj, key, buf_, sizeof buf_, true, err);                                 \
        if (rc_ == CS_OK && parser(buf_, dst) != CS_OK)                                            \
            rc_ = fail_field(err, key, "has an unknown value");                                  \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static int decode_none(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    (void)o, (void)m, (void)e;
    return CS_OK;
}

static int decode_hello(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_str(o, "token", m->u.hello.token, CS_TOKEN_MAX, false, e);
    if (!rc)
        rc = get_str(o, "invite", m->u.hello.invite, CS_INVITE_CODE_MAX, false, e);
    if (rc)
        return rc;
    if (!m->u.hello.token[0] == !m->u.hello.invite[0]) {
        cs_strlcpy(e->field, "token", sizeof e->field); /* the usual one; 'invite' for guests */
        return fail(e, CS_EINVAL, "exactly one of 'token' or '%s' is required", "invite");
    }
    return CS_OK;
}

static int decode_presence(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    GET_ENUM(o, "status", cs_presence_parse, &m->u.presence.status, e);
    if (m->u.presence.status == CS_PRESENCE_OFFLINE)
        return fail_field(e, "status", "cannot be set to offline");
    return CS_OK;
}

static int decode_request(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    json_t *p = json_object_get(o, "patient");
    if (!json_is_object(p))
        return fail_field(e, "patient", "must be an object");
    int rc = get_str(p, "patient.id", m->u.request.patient.id, CS_PATIENT_ID_MAX, true, e);
    if (!rc)
        rc = get_str(p, "patient.name", m->u.request.patient.name, CS_NAME_MAX, true, e);
    if (!rc)
        rc = get_str(p, "patient.birth_date", m->u.request.patient.birth_date, CS_DATE_MAX, true, e);
    if (rc)
        return rc;
    if (!cs_date_valid(m->u.request.patient.birth_date))
        return fail_field(e, "patient.birth_date", "must be a date YYYY-MM-DD");
    if ((rc = get_slug(o, "specialty", m->u.request.specialty, CS_SPECIALTY_MAX, e)))
        return rc;
    GET_ENUM(o, "urgency", cs_urgency_parse, &m->u.request.urgency, e);
    if (json_object_get(o, "mode"))
        GET_ENUM(o, "mode", cs_mode_parse, &m->u.request.mode, e);
    else
        m->u.request.mode = CS_MODE_REALTIME;
    if ((rc = get_str(o, "reason", m->u.request.reason, CS_REASON_MAX, true, e)))
        return rc;
    return get_attachment_ids(o, m->u.request.attachments, CS_MAX_REQUEST_ATTACHMENTS,
                              &m->u.request.n_attachments, e);
}

static int decode_consult_ref(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    return get_consult_id(o, m->u.consult.consult_id, e);
}

static int decode_assign(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.assign.consult_id, e);
    return rc ? rc : get_str(o, "specialist", m->u.assign.specialist, CS_SUBJECT_MAX, true, e);
}

static int decode_route(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.route.consult_id, e);
    return rc ? rc : get_slug(o, "tenant", m->u.route.tenant, CS_TENANT_MAX, e);
}

static int decode_invite(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.invite.consult_id, e);
    if (rc)
        return rc;
    GET_ENUM(o, "role", cs_role_parse, &m->u.invite.role, e);
    if (m->u.invite.role == CS_ROLE_COORDINATOR)
        return fail_field(e, "role", "cannot be coordinator");
    if ((rc = get_str(o, "subject", m->u.invite.subject, CS_SUBJECT_MAX, false, e)))
        return rc;
    return get_str(o, "name", m->u.invite.name, CS_NAME_MAX, !m->u.invite.subject[0], e);
}

/* "sources": {"<mid>": "camera", ...}; optional. */
static int decode_sources(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    json_t *src = json_object_get(o, "sources");
    if (!src || json_is_null(src))
        return CS_OK;
    if (!json_is_object(src))
        return fail_field(e, "sources", "must be an object");
    if (json_object_size(src) > CS_MAX_MEDIA_SOURCES)
        return fail_field(e, "sources", "has too many entries");
    const char *mid;
    json_t *v;
    json_object_foreach(src, mid, v) {
        int i = m->u.media_offer.n_sources;
        if (!mid[0] || strlen(mid) >= CS_MID_MAX || !text_ok(mid, false))
            return fail_field(e, "sources", "has a key that is not a mid");
        if (!json_is_string(v) ||
            cs_media_source_parse(json_string_value(v), &m->u.media_offer.sources[i].source))
            return fail_field(e, "sources", "values must be microphone, camera or screen");
        cs_strlcpy(m->u.media_offer.sources[i].mid, mid, CS_MID_MAX);
        m->u.media_offer.n_sources++;
    }
    return CS_OK;
}

static int decode_media_offer(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.media_offer.consult_id, e);
    if (!rc)
        rc = get_str(o, "sdp", m->u.media_offer.sdp, CS_OFFER_SDP_MAX, true, e);
    return rc ? rc : decode_sources(o, m, e);
}

static int decode_media_candidate(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.media_candidate.consult_id, e);
    if (!rc && !json_is_string(json_object_get(o, "candidate"))) {
        cs_strlcpy(e->field, "candidate", sizeof e->field);
        return fail(e, CS_EINVAL, "missing field '%s'", "candidate");
    }
    return rc ? rc
              : get_str(o, "candidate", m->u.media_candidate.candidate, CS_CANDIDATE_MAX, false, e);
}

static int decode_chat_send(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.chat_send.consult_id, e);
    if (!rc)
        rc = get_attachment_ids(o, m->u.chat_send.attachments, CS_MAX_CHAT_ATTACHMENTS,
                                &m->u.chat_send.n_attachments, e);
    if (!rc && !json_is_string(json_object_get(o, "text")) && !m->u.chat_send.n_attachments) {
        cs_strlcpy(e->field, "text", sizeof e->field);
        return fail(e, CS_EINVAL, "missing field '%s'", "text");
    }
    if (!rc)
        rc = get_text(o, "text", m->u.chat_send.text, CS_CHAT_TEXT_MAX, false, true, e);
    if (!rc && !m->u.chat_send.text[0] && !m->u.chat_send.n_attachments)
        return fail_field(e, "text", "must not be empty without attachments");
    return rc;
}

static int decode_chat_history(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.chat_history.consult_id, e);
    json_t *b = json_object_get(o, "before_seq");
    if (rc || !b || json_is_null(b))
        return rc;
    if (!json_is_integer(b) || json_integer_value(b) < 1)
        return fail_field(e, "before_seq", "must be an integer of at least 1");
    m->u.chat_history.before_seq = (int64_t)json_integer_value(b);
    return CS_OK;
}

/* A string that must be there but may be empty (a draft's parts: a client
 * that forgot one would otherwise blank it silently). */
static int get_present(json_t *obj, const char *name, char *dst, size_t max, bool multiline,
                       cs_proto_error_t *err)
{
    if (!json_is_string(json_object_get(obj, key_of(name)))) {
        cs_strlcpy(err->field, name, sizeof err->field);
        return fail(err, CS_EINVAL, "missing field '%s'", name);
    }
    return get_text(obj, name, dst, max, false, multiline, err);
}

static int decode_conclusion_save(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    cs_conclusion_t *d = &m->u.conclusion_save.draft;
    json_t *diag = json_object_get(o, "diagnosis");
    int rc = get_consult_id(o, m->u.conclusion_save.consult_id, e);
    if (!rc)
        rc = get_present(o, "findings", d->findings, CS_NOTE_MAX, true, e);
    if (!rc && !json_is_object(diag))
        return fail_field(e, "diagnosis", "must be an object");
    if (!rc)
        rc = get_present(diag, "diagnosis.code", d->diagnosis_code, CS_ICD10_MAX, false, e);
    if (!rc && d->diagnosis_code[0] && !cs_icd10_valid(d->diagnosis_code))
        return fail_field(e, "diagnosis.code", "must be an ICD-10 code like I21 or I21.0");
    if (!rc)
        rc = get_present(diag, "diagnosis.text", d->diagnosis_text, CS_DIAGNOSIS_MAX, false, e);
    if (!rc)
        rc = get_present(o, "recommendations", d->recommendations, CS_NOTE_MAX, true, e);
    return rc;
}

static int decode_conclusion_sign(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.conclusion_sign.consult_id, e);
    json_t *v = json_object_get(o, "version");
    if (rc)
        return rc;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX)
        return fail_field(e, "version", "must be the draft's version, an integer of at least 1");
    m->u.conclusion_sign.version = (int)json_integer_value(v);
    return CS_OK;
}

static int decode_recording_consent(json_t *o, cs_msg_t *m, cs_proto_error_t *e)
{
    int rc = get_consult_id(o, m->u.recording_consent.consult_id, e);
    json_t *v = json_object_get(o, "consent");
    if (rc)
        return rc;
    if (!json_is_boolean(v))
        return fail_field(e, "consent", "must be true or false");
    m->u.recording_consent.consent = json_is_true(v);
    return CS_OK;
}

static const struct {
    const char *name;
    cs_msg_type_t type;
    decode_fn decode;
} messages[] = {
    {"hello", CS_MSG_HELLO, decode_hello},
    {"ping", CS_MSG_PING, decode_none},
    {"sync", CS_MSG_SYNC, decode_none},
    {"presence.set", CS_MSG_PRESENCE_SET, decode_presence},
    {"consult.request", CS_MSG_CONSULT_REQUEST, decode_request},
    {"consult.cancel", CS_MSG_CONSULT_CANCEL, decode_consult_ref},
    {"consult.accept", CS_MSG_CONSULT_ACCEPT, decode_consult_ref},
    {"consult.decline", CS_MSG_CONSULT_DECLINE, decode_consult_ref},
    {"consult.assign", CS_MSG_CONSULT_ASSIGN, decode_assign},
    {"consult.route", CS_MSG_CONSULT_ROUTE, decode_route},
    {"consult.invite", CS_MSG_CONSULT_INVITE, decode_invite},
    {"consult.join", CS_MSG_CONSULT_JOIN, decode_consult_ref},
    {"consult.leave", CS_MSG_CONSULT_LEAVE, decode_consult_ref},
    {"consult.end", CS_MSG_CONSULT_END, decode_consult_ref},
    {"consult.history", CS_MSG_CONSULT_HISTORY, decode_consult_ref},
    {"media.offer", CS_MSG_MEDIA_OFFER, decode_media_offer},
    {"media.candidate", CS_MSG_MEDIA_CANDIDATE, decode_media_candidate},
    {"media.leave", CS_MSG_MEDIA_LEAVE, decode_consult_ref},
    {"chat.send", CS_MSG_CHAT_SEND, decode_chat_send},
    {"chat.history", CS_MSG_CHAT_HISTORY, decode_chat_history},
    {"conclusion.save", CS_MSG_CONCLUSION_SAVE, decode_conclusion_save},
    {"conclusion.sign", CS_MSG_CONCLUSION_SIGN, decode_conclusion_sign},
    {"conclusion.get", CS_MSG_CONCLUSION_GET, decode_consult_ref},
    {"recording.start", CS_MSG_RECORDING_START, decode_consult_ref},
    {"recording.consent", CS_MSG_RECORDING_CONSENT, decode_recording_consent},
    {"recording.stop", CS_MSG_RECORDING_STOP, decode_consult_ref},
};

const char *cs_msg_type_name(cs_msg_type_t t)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(messages); i++)
        if (messages[i].type == t)
            return messages[i].name;
    return "unknown";
}

/* Refuses nesting deeper than MAX_DEPTH without parsing (strings are skipped). */
static bool depth_ok(const char *buf, size_t len)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > MAX_DEPTH)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

int cs_proto_decode(const char *buf, size_t len, cs_msg_t *out, cs_proto_error_t *err)
{
    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    if (!depth_ok(buf, len))
        return fail(err, CS_EINVAL, "message nested deeper than %s levels", "16");
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(err, CS_EINVAL, "malformed JSON%s", "");
    int rc;
    if (!json_is_object(root)) {
        rc = fail(err, CS_EINVAL, "a message must be a JSON object%s", "");
        goto done;
    }
    json_t *id = json_object_get(root, "id");
    if (id && !json_is_null(id)) {
        if (!json_is_string(id) || json_string_length(id) >= CS_REQ_ID_MAX ||
            !text_ok(json_string_value(id), false)) {
            rc = fail_field(err, "id", "must be a short string");
            goto done;
        }
        cs_strlcpy(out->req_id, json_string_value(id), sizeof out->req_id);
        cs_strlcpy(err->req_id, out->req_id, sizeof err->req_id);
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!type) {
        cs_strlcpy(err->field, "type", sizeof err->field);
        rc = fail(err, CS_EINVAL, "missing field '%s'", "type");
        goto done;
    }
    rc = fail(err, CS_EUNSUPPORTED, "unknown message type%s", "");
    for (size_t i = 0; i < CS_ARRAY_LEN(messages); i++) {
        if (strcmp(messages[i].name, type) == 0) {
            memset(err->message, 0, sizeof err->message);
            err->field[0] = '\0';
            err->code = 0;
            out->type = messages[i].type;
            rc = messages[i].decode(root, out, err);
            break;
        }
    }
done:
    json_decref(root);
    return rc;
}
