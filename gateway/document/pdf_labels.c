/*
 * pdf_labels.c — the words of the conclusion's PDF in Russian and English,
 * and the texts made of them: dates, times and periods, the diagnosis line,
 * the signature block.
 *
 * A document is read by people of the centre that asked for the consult, in
 * their language; the wire names of roles and urgencies ("interpreter",
 * "emergency") are for programs, so each language has its own words here.
 * Times are the process's local time (the centre's), always followed by the
 * UTC offset: a signed document must say unambiguously when things happened,
 * whatever zone its reader is in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "pdf_internal.h"

static const cs_pdf_labels_t labels_ru = {
    .day_first = true,
    .title = "Заключение консультанта",
    .subtitle = "Телемедицинская консультация",
    .requesting_centre = "Направивший центр",
    .consulting_centre = "Консультирующий центр",
    .patient = "Пациент",
    .patient_name = "ФИО",
    .birth_date = "Дата рождения",
    .patient_id = "Идентификатор",
    .consultation = "Консультация",
    .specialty = "Специальность",
    .urgency = "Срочность",
    .mode = "Форма",
    .referring_clinician = "Направивший врач",
    .consultant = "Консультант",
    .requested_at = "Запрос создан",
    .held = "Проведена",
    .reason = "Повод для консультации",
    .urgencies = {[CS_URGENCY_EMERGENCY] = "экстренная",
                  [CS_URGENCY_URGENT] = "срочная",
                  [CS_URGENCY_PLANNED] = "плановая"},
    .modes = {[CS_MODE_REALTIME] = "видеоконсультация",
              [CS_MODE_DEFERRED] = "отложенная (по материалам)"},
    .roles = {[CS_ROLE_CLINICIAN] = "клиницист",
              [CS_ROLE_SPECIALIST] = "консультант",
              [CS_ROLE_COORDINATOR] = "координатор",
              [CS_ROLE_PATIENT] = "пациент",
              [CS_ROLE_INTERPRETER] = "переводчик"},
    .in_progress = "идёт",
    .since = "с",
    .participants = "Участники",
    .col_name = "ФИО",
    .col_role = "Роль",
    .col_centre = "Центр",
    .col_time = "Время участия",
    .findings = "Данные обследования",
    .diagnosis = "Диагноз (МКБ-10)",
    .recommendations = "Рекомендации",
    .signed_by = "Подписано электронно",
    .document = "Документ",
    .version = "Версия",
    .replaces = "Заменяет документ",
    .continued = "(продолжение)",
    .page = "Страница",
    .page_of = "из",
    .none = "—",
};

static const cs_pdf_labels_t labels_en = {
    .day_first = false,
    .title = "Consultant's conclusion",
    .subtitle = "Telemedicine consultation",
    .requesting_centre = "Requesting centre",
    .consulting_centre = "Consulting centre",
    .patient = "Patient",
    .patient_name = "Name",
    .birth_date = "Date of birth",
    .patient_id = "Patient ID",
    .consultation = "Consultation",
    .specialty = "Specialty",
    .urgency = "Urgency",
    .mode = "Mode",
    .referring_clinician = "Referring clinician",
    .consultant = "Consultant",
    .requested_at = "Requested",
    .held = "Held",
    .reason = "Reason for referral",
    .urgencies = {[CS_URGENCY_EMERGENCY] = "emergency",
                  [CS_URGENCY_URGENT] = "urgent",
                  [CS_URGENCY_PLANNED] = "planned"},
    .modes = {[CS_MODE_REALTIME] = "video consultation",
              [CS_MODE_DEFERRED] = "deferred (records review)"},
    .roles = {[CS_ROLE_CLINICIAN] = "clinician",
              [CS_ROLE_SPECIALIST] = "specialist",
              [CS_ROLE_COORDINATOR] = "coordinator",
              [CS_ROLE_PATIENT] = "patient",
              [CS_ROLE_INTERPRETER] = "interpreter"},
    .in_progress = "in progress",
    .since = "since",
    .participants = "Participants",
    .col_name = "Name",
    .col_role = "Role",
    .col_centre = "Centre",
    .col_time = "Time present",
    .findings = "Findings",
    .diagnosis = "Diagnosis (ICD-10)",
    .recommendations = "Recommendations",
    .signed_by = "Signed electronically",
    .document = "Document",
    .version = "Version",
    .replaces = "Replaces document",
    .continued = "(continued)",
    .page = "Page",
    .page_of = "of",
    .none = "—",
};

const cs_pdf_labels_t *cs_pdf_labels(const char *language)
{
    if (!language)
        return NULL;
    if (!strcmp(language, "ru"))
        return &labels_ru;
    if (!strcmp(language, "en"))
        return &labels_en;
    return NULL;
}

/* Enum values come from a struct that may have been read from anywhere: an
 * out-of-range value shows as "—", never as an out-of-bounds read. */
const char *cs_pdf_role(const cs_pdf_labels_t *lb, cs_role_t role)
{
    return (unsigned)role < CS_ROLE_COUNT ? lb->roles[role] : lb->none;
}

static const char *urgency_word(const cs_pdf_labels_t *lb, cs_urgency_t urgency)
{
    return (unsigned)urgency < CS_URGENCY_COUNT ? lb->urgencies[urgency] : lb->none;
}

static const char *mode_word(const cs_pdf_labels_t *lb, cs_mode_t mode)
{
    return (unsigned)mode < CS_MODE_COUNT ? lb->modes[mode] : lb->none;
}

/* 0 means "never" in every time field of a consult; localtime_r fails for
 * years it cannot represent. */
static bool local_tm(int64_t ms, struct tm *tm)
{
    if (ms <= 0)
        return false;
    time_t secs = (time_t)(ms / 1000);
    return localtime_r(&secs, tm) != NULL;
}

static bool none(const cs_pdf_labels_t *lb, char out[CS_PDF_TIME_MAX])
{
    cs_strlcpy(out, lb->none, CS_PDF_TIME_MAX);
    return false;
}

/* snprintf that reports truncation or failure as false. */
static bool fits(int n)
{
    return n >= 0 && n < CS_PDF_TIME_MAX;
}

static bool write_offset(const struct tm *tm, char out[CS_PDF_TIME_MAX])
{
    long off = tm->tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    return fits(snprintf(out, CS_PDF_TIME_MAX, "(UTC%c%02ld:%02ld)", sign, off / 3600,
                         off % 3600 / 60));
}

static bool write_day(const cs_pdf_labels_t *lb, const struct tm *tm, char out[CS_PDF_TIME_MAX])
{
    if (lb->day_first)
        return fits(snprintf(out, CS_PDF_TIME_MAX, "%02d.%02d.%04d", tm->tm_mday, tm->tm_mon + 1,
                             tm->tm_year + 1900));
    return fits(snprintf(out, CS_PDF_TIME_MAX, "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1,
                         tm->tm_mday));
}

static bool pdf_time(const cs_pdf_labels_t *lb, int64_t ms, char out[CS_PDF_TIME_MAX])
{
    struct tm tm;
    char day[CS_PDF_TIME_MAX], offset[CS_PDF_TIME_MAX];
    if (!local_tm(ms, &tm) || !write_day(lb, &tm, day) || !write_offset(&tm, offset))
        return none(lb, out);
    return fits(snprintf(out, CS_PDF_TIME_MAX, "%s %02d:%02d %s", day, tm.tm_hour, tm.tm_min,
                         offset)) ||
           none(lb, out);
}

/* The parts of pdf_time: "22.11.2026", "12:30", "(UTC+03:00)". */
static bool pdf_day(const cs_pdf_labels_t *lb, int64_t ms, char out[CS_PDF_TIME_MAX])
{
    struct tm tm;
    if (!local_tm(ms, &tm) || !write_day(lb, &tm, out))
        return none(lb, out);
    return true;
}

static bool pdf_clock(const cs_pdf_labels_t *lb, int64_t ms, char out[CS_PDF_TIME_MAX])
{
    struct tm tm;
    if (!local_tm(ms, &tm))
        return none(lb, out);
    return fits(snprintf(out, CS_PDF_TIME_MAX, "%02d:%02d", tm.tm_hour, tm.tm_min)) ||
           none(lb, out);
}

static bool pdf_offset(const cs_pdf_labels_t *lb, int64_t ms, char out[CS_PDF_TIME_MAX])
{
    struct tm tm;
    if (!local_tm(ms, &tm) || !write_offset(&tm, out))
        return none(lb, out);
    return true;
}

/* Both on the same local calendar day, at the same offset. */
static bool same_day(int64_t a_ms, int64_t b_ms)
{
    struct tm a, b;
    return local_tm(a_ms, &a) && local_tm(b_ms, &b) && a.tm_year == b.tm_year &&
           a.tm_yday == b.tm_yday && a.tm_gmtoff == b.tm_gmtoff;
}

static void pdf_date(const cs_pdf_labels_t *lb, const char *ymd, char out[CS_PDF_TIME_MAX])
{
    if (!ymd[0]) {
        none(lb, out);
    } else if (lb->day_first && cs_date_valid(ymd)) {
        /* validated as YYYY-MM-DD: the parts are at fixed places */
        snprintf(out, CS_PDF_TIME_MAX, "%.2s.%.2s.%.4s", ymd + 8, ymd + 5, ymd);
    } else {
        cs_strlcpy(out, ymd, CS_PDF_TIME_MAX);
    }
}

bool cs_pdf_iso_utc(int64_t ms, char out[CS_PDF_TIME_MAX])
{
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    if (ms <= 0 || !gmtime_r(&secs, &tm))
        return false;
    return fits(snprintf(out, CS_PDF_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec));
}

/* ---- texts ------------------------------------------------------------------ */

static void text_add(cs_pdf_text_t *t, const char *s, size_t len)
{
    size_t room = sizeof t->s - 1 - t->n;
    if (len > room)
        len = room;
    memcpy(t->s + t->n, s, len);
    t->n += len;
    t->s[t->n] = '\0';
}

static void text_str(cs_pdf_text_t *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* Appends the pieces, NULL-terminated. */
__attribute__((sentinel)) static void text_cat(cs_pdf_text_t *t, ...)
{
    va_list ap;
    va_start(ap, t);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        text_str(t, s);
    va_end(ap);
}

/* When the consult was held: "22.11.2026 12:30 – 12:55 (UTC+03:00)", or
 * "с 22.11.2026 12:30 (UTC+03:00), идёт" for one not ended at signing (a
 * conclusion may be signed during the call). */
static void held_text(const cs_pdf_labels_t *lb, const cs_consult_t *c, cs_pdf_text_t *t)
{
    int64_t start = c->started_at > 0 ? c->started_at : c->accepted_at;
    char a[CS_PDF_TIME_MAX], b[CS_PDF_TIME_MAX], x[CS_PDF_TIME_MAX];
    if (start > 0 && c->ended_at > 0 && same_day(start, c->ended_at)) {
        pdf_day(lb, start, a);
        pdf_clock(lb, start, b);
        text_cat(t, a, " ", b, " – ", NULL);
        pdf_clock(lb, c->ended_at, a);
        pdf_offset(lb, start, x);
        text_cat(t, a, " ", x, NULL);
    } else if (c->ended_at > 0) {
        pdf_time(lb, start, a);
        pdf_time(lb, c->ended_at, b);
        text_cat(t, a, " – ", b, NULL);
    } else if (start > 0) {
        pdf_time(lb, start, a);
        text_cat(t, lb->since, " ", a, ", ", lb->in_progress, NULL);
    } else {
        text_str(t, lb->in_progress);
    }
}

/* The time of day on the day the consult was held (its row in the document
 * says which day and offset), else the date too. */
static void moment(const cs_pdf_labels_t *lb, int64_t ms, int64_t held_on, cs_pdf_text_t *t)
{
    char s[CS_PDF_TIME_MAX];
    if (!same_day(ms, held_on)) {
        pdf_day(lb, ms, s);
        text_cat(t, s, " ", NULL);
    }
    pdf_clock(lb, ms, s);
    text_str(t, s);
}

void cs_pdf_presence(const cs_pdf_labels_t *lb, const cs_participant_t *p, int64_t held_on,
                     cs_pdf_text_t *t)
{
    if (p->left_at > 0) {
        moment(lb, p->joined_at, held_on, t);
        text_str(t, " – ");
        moment(lb, p->left_at, held_on, t);
    } else { /* still in the room when the conclusion was signed */
        text_cat(t, lb->since, " ", NULL);
        moment(lb, p->joined_at, held_on, t);
    }
}

void cs_pdf_diagnosis(const cs_conclusion_t *k, cs_pdf_text_t *t)
{
    text_add(t, CS_PDF_FIELD(k->diagnosis_code));
    if (t->n && k->diagnosis_text[0])
        text_str(t, " — ");
    text_add(t, CS_PDF_FIELD(k->diagnosis_text));
}

void cs_pdf_signature(const cs_pdf_labels_t *lb, const cs_document_t *doc, cs_pdf_text_t *t)
{
    const cs_conclusion_summary_t *s = &doc->conclusion.summary;
    char when[CS_PDF_TIME_MAX], version[16];

    text_cat(t, lb->signed_by, ": ", NULL);
    cs_pdf_signer(s, t);
    if (s->author_tenant[0]) {
        text_str(t, " (");
        text_add(t, CS_PDF_FIELD(s->author_tenant));
        text_str(t, ")");
    }
    pdf_time(lb, s->signed_at, when);
    text_cat(t, ", ", when, "\n", lb->document, ": ", NULL);
    text_add(t, CS_PDF_FIELD(doc->id));
    snprintf(version, sizeof version, "%d", s->version);
    text_cat(t, "\n", lb->version, ": ", version, NULL);
    if (doc->replaces[0]) {
        text_cat(t, "\n", lb->replaces, ": ", NULL);
        text_add(t, CS_PDF_FIELD(doc->replaces));
    }
}

void cs_pdf_patient_line(const cs_patient_t *p, cs_pdf_text_t *t)
{
    text_add(t, CS_PDF_FIELD(p->name));
    if (p->id[0]) {
        text_str(t, t->n ? ", " : "");
        text_add(t, CS_PDF_FIELD(p->id));
    }
}

void cs_pdf_title(const cs_pdf_labels_t *lb, const cs_patient_t *p, cs_pdf_text_t *t)
{
    text_str(t, lb->title);
    if (p->name[0]) {
        text_str(t, " — ");
        text_add(t, CS_PDF_FIELD(p->name));
    }
}

void cs_pdf_signer(const cs_conclusion_summary_t *s, cs_pdf_text_t *t)
{
    if (s->author_name[0])
        text_add(t, CS_PDF_FIELD(s->author_name));
    else
        text_add(t, CS_PDF_FIELD(s->author));
}

/* A routed consult is answered by another centre: its letterhead shows both. */
const char *cs_pdf_consulting_centre(const cs_consult_t *c)
{
    const char *t = c->specialist_tenant[0] ? c->specialist_tenant : c->routed_to;
    size_t n = strnlen(t, CS_TENANT_MAX);
    if (!n || (n == strnlen(c->tenant, sizeof c->tenant) && !memcmp(t, c->tenant, n)))
        return NULL;
    return t;
}

void cs_pdf_continued(const cs_pdf_labels_t *lb, const char *heading, cs_pdf_text_t *t)
{
    text_cat(t, heading, " ", lb->continued, NULL);
}

void cs_pdf_page(const cs_pdf_labels_t *lb, int page, int pages, cs_pdf_text_t *t)
{
    char n[16], m[16];
    snprintf(n, sizeof n, "%d", page);
    snprintf(m, sizeof m, "%d", pages);
    text_cat(t, lb->page, " ", n, " ", lb->page_of, " ", m, NULL);
}

/* ---- the rows of the patient and consultation sections ---------------------- */

/* A row showing a field of the document where it is. */
static void row_field(cs_pdf_row_t *r, const char *label, const char *value, size_t len)
{
    r->label = label;
    r->value = value;
    r->len = len;
}

/* A row showing a text of ours, copied into the row. */
static void row_text(cs_pdf_row_t *r, const char *label, const char *text)
{
    cs_strlcpy(r->buf, text, sizeof r->buf);
    row_field(r, label, r->buf, strlen(r->buf));
}

int cs_pdf_patient_rows(const cs_pdf_labels_t *lb, const cs_patient_t *p,
                        cs_pdf_row_t rows[CS_PDF_ROWS_MAX])
{
    char ymd[CS_DATE_MAX], birth[CS_PDF_TIME_MAX];
    memcpy(ymd, p->birth_date, sizeof ymd); /* the field may have lost its NUL */
    ymd[sizeof ymd - 1] = '\0';
    pdf_date(lb, ymd, birth);
    row_field(&rows[0], lb->patient_name, CS_PDF_FIELD(p->name));
    row_text(&rows[1], lb->birth_date, birth);
    row_field(&rows[2], lb->patient_id, CS_PDF_FIELD(p->id));
    return 3;
}

int cs_pdf_consult_rows(const cs_pdf_labels_t *lb, const cs_consult_t *c,
                        cs_pdf_row_t rows[CS_PDF_ROWS_MAX])
{
    char requested[CS_PDF_TIME_MAX];
    cs_pdf_text_t held = {.n = 0};
    int n = 0;
    row_field(&rows[n++], lb->specialty, CS_PDF_FIELD(c->specialty));
    row_text(&rows[n++], lb->urgency, urgency_word(lb, c->urgency));
    row_text(&rows[n++], lb->mode, mode_word(lb, c->mode));
    if (c->clinician_name[0])
        row_field(&rows[n++], lb->referring_clinician, CS_PDF_FIELD(c->clinician_name));
    if (c->specialist_name[0])
        row_field(&rows[n++], lb->consultant, CS_PDF_FIELD(c->specialist_name));
    pdf_time(lb, c->created_at, requested);
    row_text(&rows[n++], lb->requested_at, requested);
    held_text(lb, c, &held);
    row_text(&rows[n++], lb->held, held.s);
    row_field(&rows[n++], lb->reason, CS_PDF_FIELD(c->reason));
    return n;
}
