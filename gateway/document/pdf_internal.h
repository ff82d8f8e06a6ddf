/*
 * pdf_internal.h — what pdf.c (layout, pages, drawing) takes from
 * pdf_labels.c (the words of the document in each language, and the texts
 * made of them: dates, times, periods, the signature). Internal to
 * gateway/document/.
 */
#ifndef CS_DOCUMENT_PDF_INTERNAL_H
#define CS_DOCUMENT_PDF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "document.h"

/* Room for any date or time this module writes: "22.11.2026 12:30 (UTC+03:00)". */
#define CS_PDF_TIME_MAX 48

/* Every fixed word of the PDF in one language. */
typedef struct {
    bool day_first;               /* dates as DD.MM.YYYY (ru) rather than YYYY-MM-DD (en) */
    const char *title, *subtitle;
    const char *requesting_centre, *consulting_centre;

    const char *patient, *patient_name, *birth_date, *patient_id;

    const char *consultation, *specialty, *urgency, *mode, *referring_clinician, *consultant;
    const char *requested_at, *held, *reason;
    const char *urgencies[CS_URGENCY_COUNT];
    const char *modes[CS_MODE_COUNT];
    const char *roles[CS_ROLE_COUNT];
    const char *in_progress;      /* a consult not yet ended */
    const char *since;            /* "since <time>" for an open-ended period */

    const char *participants, *col_name, *col_role, *col_centre, *col_time;

    const char *findings, *diagnosis, *recommendations;

    const char *signed_by, *document, *version, *replaces;

    const char *continued;        /* after a section's heading on the next page */
    const char *page, *page_of;   /* "Page" N "of" M */
    const char *none;             /* shown for a missing value */
} cs_pdf_labels_t;

/* The labels of a language ("ru", "en"), or NULL for any other. */
const cs_pdf_labels_t *cs_pdf_labels(const char *language);

/* The word for a role, or lb->none when out of range. */
const char *cs_pdf_role(const cs_pdf_labels_t *lb, cs_role_t role);

/* An ISO 8601 UTC instant for the PDF's metadata, "2026-11-22T10:00:00Z";
 * false for 0. */
bool cs_pdf_iso_utc(int64_t ms, char out[CS_PDF_TIME_MAX]);

/* Text assembled from labels and fields. Every piece is bounded and 1 KiB
 * holds the longest (the signature block); what does not fit is cut, and a
 * character cut in two is repaired with the rest of the invalid UTF-8. */
typedef struct {
    char s[1024];
    size_t n;
} cs_pdf_text_t;

/* A struct field, read no further than its array: a field that lost its NUL
 * (a bug elsewhere) is cut, not overrun. */
#define CS_PDF_FIELD(f) (f), strnlen((f), sizeof(f))

/* One "label   value" row of the patient and consultation sections: the
 * value is in buf, or points into the document (the reason, up to 4 KiB). */
typedef struct {
    const char *label;
    const char *value;
    size_t len;
    char buf[160];
} cs_pdf_row_t;

#define CS_PDF_ROWS_MAX 8

/* The rows of the patient and consultation sections, in order; returns how
 * many (optional rows are left out when empty). */
int cs_pdf_patient_rows(const cs_pdf_labels_t *lb, const cs_patient_t *p,
                        cs_pdf_row_t rows[CS_PDF_ROWS_MAX]);
int cs_pdf_consult_rows(const cs_pdf_labels_t *lb, const cs_consult_t *c,
                        cs_pdf_row_t rows[CS_PDF_ROWS_MAX]);

/* When a participant was there, "12:31 – 12:53", with the date when it is
 * not the day of held_on (the consult's start). */
void cs_pdf_presence(const cs_pdf_labels_t *lb, const cs_participant_t *p, int64_t held_on,
                     cs_pdf_text_t *t);
/* "I21.0 — Острый трансмуральный инфаркт …" */
void cs_pdf_diagnosis(const cs_conclusion_t *k, cs_pdf_text_t *t);
/* The signature block: signer, centre and time; document id; version; the
 * document replaced, for an amendment. One line each. */
void cs_pdf_signature(const cs_pdf_labels_t *lb, const cs_document_t *doc, cs_pdf_text_t *t);
/* Who the document is about, for the foot of every page: "name, id". */
void cs_pdf_patient_line(const cs_patient_t *p, cs_pdf_text_t *t);
/* The consulting centre (the specialist's, else the one routed to) when it
 * is not the requesting one; else NULL. */
const char *cs_pdf_consulting_centre(const cs_consult_t *c);
/* "Findings (continued)", over the rest of a section on the next page. */
void cs_pdf_continued(const cs_pdf_labels_t *lb, const char *heading, cs_pdf_text_t *t);
/* "Page 2 of 3". */
void cs_pdf_page(const cs_pdf_labels_t *lb, int page, int pages, cs_pdf_text_t *t);
/* The PDF's title metadata, "<title> — <patient>", and its author, the signer. */
void cs_pdf_title(const cs_pdf_labels_t *lb, const cs_patient_t *p, cs_pdf_text_t *t);
void cs_pdf_signer(const cs_conclusion_summary_t *s, cs_pdf_text_t *t);

#endif
