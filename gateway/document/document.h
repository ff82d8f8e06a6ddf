/*
 * document.h — a signed conclusion as a clinical document, in its two
 * renderings: a PDF laid out like a consult note (pdf.c, cairo + pango) and a
 * FHIR R4 transaction Bundle for the patient's electronic record
 * (fhir_bundle.c, jansson). docs/RECORDS.md is the truth for the shapes.
 *
 * A leaf library: it knows the protocol's records (signaling/proto) and
 * nothing of the server, storage or the network. Both renderings are pure
 * functions of a cs_document_t, so the same document renders to the same
 * Bundle (apart from the PDF's bytes, which hold the time they were made) on
 * every retry. Nothing here logs; every function returns CS_OK or a negative
 * code.
 */
#ifndef CS_DOCUMENT_H
#define CS_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "signaling/proto/proto.h"

#define CS_DOC_LANG_MAX 8
#define CS_DOC_SYSTEM_MAX 128

/* Everything a document shows, copied when it is signed. */
typedef struct {
    char id[CS_ID_MAX];          /* document UUID: stable across retries (FHIR masterIdentifier) */
    char replaces[CS_ID_MAX];    /* the document this amendment replaces, or "" */
    char language[CS_DOC_LANG_MAX]; /* "ru" or "en": labels of the PDF */
    char identifier_base[CS_DOC_SYSTEM_MAX]; /* prefix of identifier systems, e.g. "urn:consilium" */
    cs_consult_t consult;        /* the consult as it was at signing: centre, patient,
                                    specialty, reason, times, participants */
    cs_conclusion_t conclusion;  /* the signed text; summary.signed_at is the signing time,
                                    summary.author* the signer */
} cs_document_t;

/*
 * Renders the document as a PDF (A4, text selectable, fonts embedded,
 * Cyrillic correct): the centre, the title, the patient, the consult (type,
 * urgency, specialty, period, reason), the participants with their roles,
 * findings, diagnosis (ICD-10 code and text), recommendations, and a
 * signature block (signer, time, document id, "replaces" for an amendment);
 * page numbers on every page. *out is malloc'd (the caller frees it), *len
 * its size. CS_EINVAL for a NULL argument or an unknown language, CS_ENOMEM,
 * CS_EIO when cairo fails.
 */
int cs_document_pdf(const cs_document_t *doc, unsigned char **out, size_t *len);

/*
 * The FHIR R4 transaction Bundle (JSON text, malloc'd, NUL-terminated) that
 * delivers the document: Encounter, Condition (the diagnosis) and
 * DocumentReference with the PDF (pdf, pdf_len bytes) as its attachment.
 * Conditional creates keyed by stable identifiers make a retry harmless.
 * CS_EINVAL for a NULL argument or a document without a signing time, CS_ENOMEM.
 */
int cs_document_bundle(const cs_document_t *doc, const unsigned char *pdf, size_t pdf_len,
                       char **out_json);

/* The identifier systems (docs/RECORDS.md): "<base>:<tenant>:patient" and so
 * on, written into out (cap bytes); false when it does not fit. */
/* Draws one line of text (UTF-8, ellipsised to fit) into alpha, a
 * width × height mask (one byte a pixel, 255 = ink), vertically centred:
 * the names on a recording's composed video. CS_OK, CS_EINVAL, CS_ENOMEM. */
int cs_document_label(const char *text, int width, int height, uint8_t *alpha);

bool cs_document_system_patient(const char *base, const char *tenant, char *out, size_t cap);
bool cs_document_system_user(const char *base, const char *tenant, char *out, size_t cap);
bool cs_document_system_consult(const char *base, char *out, size_t cap);
bool cs_document_system_organization(const char *base, char *out, size_t cap);

#endif
