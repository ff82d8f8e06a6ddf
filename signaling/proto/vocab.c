/*
 * vocab.c — wire names of the signalling vocabulary (roles, urgencies, states,
 * presence) and the validators for slugs and dates.
 */
#include "proto.h"

#include <string.h>

#include "common/common.h"

static const char *const role_names[CS_ROLE_COUNT] = {"clinician", "specialist", "coordinator",
                                                      "patient", "interpreter"};
static const char *const urgency_names[CS_URGENCY_COUNT] = {"emergency", "urgent", "planned"};
static const char *const mode_names[CS_MODE_COUNT] = {"realtime", "deferred"};
static const char *const state_names[CS_STATE_COUNT] = {
    "requested", "offered", "accepted", "in_progress", "ended", "cancelled", "expired"};
static const char *const presence_names[CS_PRESENCE_COUNT] = {"offline", "available", "busy",
                                                              "away"};
static const char *const escalation_names[CS_ESCALATION_COUNT] = {"none", "warning", "overdue"};
static const char *const media_source_names[CS_SOURCE_COUNT] = {"microphone", "camera", "screen"};
static const char *const recording_state_names[CS_RECORDING_STATE_COUNT] = {"off", "consent", "on"};
static const char *const consent_names[CS_CONSENT_COUNT] = {"pending", "given", "refused"};
static const char *const recfile_state_names[CS_RECFILE_STATE_COUNT] = {
    "recording", "queued", "processing", "ready", "failed"};

static int parse_name(const char *const *names, int n, const char *s, int *out)
{
    if (!s)
        return CS_EINVAL;
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return CS_OK;
        }
    }
    return CS_EINVAL;
}

#define NAME_AND_PARSE(kind, type, table, count)                                                   \
    const char *cs_##kind##_name(type v)                                                           \
    {                                                                                              \
        return (int)v >= 0 && (int)v < (count) ? table[v] : "unknown";                             \
    }                                                                                              \
    int cs_##kind##_parse(const char *s, type *out)                                                \
    {                                                                                              \
        int i, rc = parse_name(table, (count), s, &i);                                             \
        if (rc == CS_OK)                                                                           \
            *out = (type)i;                                                                        \
        return rc;                                                                                 \
    }

NAME_AND_PARSE(role, cs_role_t, role_names, CS_ROLE_COUNT)
NAME_AND_PARSE(urgency, cs_urgency_t, urgency_names, CS_URGENCY_COUNT)
NAME_AND_PARSE(mode, cs_mode_t, mode_names, CS_MODE_COUNT)
NAME_AND_PARSE(state, cs_state_t, state_names, CS_STATE_COUNT)
NAME_AND_PARSE(presence, cs_presence_t, presence_names, CS_PRESENCE_COUNT)
NAME_AND_PARSE(escalation, cs_escalation_t, escalation_names, CS_ESCALATION_COUNT)
NAME_AND_PARSE(media_source, cs_media_source_t, media_source_names, CS_SOURCE_COUNT)
NAME_AND_PARSE(recording_state, cs_recording_state_t, recording_state_names,
               CS_RECORDING_STATE_COUNT)
NAME_AND_PARSE(consent, cs_consent_t, consent_names, CS_CONSENT_COUNT)
NAME_AND_PARSE(recfile_state, cs_recfile_state_t, recfile_state_names, CS_RECFILE_STATE_COUNT)


cs_recording_file_t *cs_recording_current_file(const cs_recording_t *r)
{
    const cs_recording_file_t *f = r->n_files > 0 ? &r->files[r->n_files - 1] : NULL;
    return f && f->state == CS_RECFILE_RECORDING ? (cs_recording_file_t *)f : NULL;
}

cs_recording_file_t *cs_recording_find_file(const cs_recording_t *r, const char *id)
{
    for (int i = 0; i < r->n_files; i++)
        if (!strcmp(r->files[i].id, id))
            return (cs_recording_file_t *)&r->files[i];
    return NULL;
}

bool cs_state_terminal(cs_state_t s)
{
    return s == CS_STATE_ENDED || s == CS_STATE_CANCELLED || s == CS_STATE_EXPIRED;
}

bool cs_slug_valid(const char *s, size_t max)
{
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (n > 0 && (c == '_' || c == '-'));
        if (!ok || n + 1 >= max)
            return false;
    }
    return n > 0;
}

bool cs_date_valid(const char *s)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1850 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

bool cs_identity_has_specialty(const cs_identity_t *id, const char *specialty)
{
    for (int i = 0; i < id->n_specialties; i++)
        if (strcmp(id->specialties[i], specialty) == 0)
            return true;
    return false;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool cs_icd10_valid(const char *s)
{
    if (!s || !(s[0] >= 'A' && s[0] <= 'Z') || !is_digit(s[1]) || !is_digit(s[2]))
        return false;
    if (s[3] == '\0')
        return true;
    if (s[3] != '.' || !is_digit(s[4]))
        return false;
    return s[5] == '\0' || (is_digit(s[5]) && s[6] == '\0');
}

const char *cs_conclusion_status_name(cs_conclusion_status_t s)
{
    switch (s) {
    case CS_CONCLUSION_DRAFT: return "draft";
    case CS_CONCLUSION_SIGNED: return "signed";
    default: return "none";
    }
}

const char *cs_delivery_state_name(cs_delivery_state_t s)
{
    switch (s) {
    case CS_DELIVERY_PENDING: return "pending";
    case CS_DELIVERY_DONE: return "delivered";
    case CS_DELIVERY_FAILED: return "failed";
    default: return "none";
    }
}

const char *const cs_attachment_types[] = {"image/jpeg", "image/png", "image/webp",
                                           "application/pdf"};
const size_t cs_attachment_types_n = CS_ARRAY_LEN(cs_attachment_types);

bool cs_attachment_type_allowed(const char *type)
{
    for (size_t i = 0; i < cs_attachment_types_n; i++)
        if (!strcmp(type, cs_attachment_types[i]))
            return true;
    return false;
}
