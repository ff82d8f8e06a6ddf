/*
 * fhir_bundle.c — a signed conclusion as the FHIR R4 transaction Bundle that
 * delivers it to the patient's electronic record: an Encounter (the consult),
 * a Condition (the diagnosis) and a DocumentReference carrying the PDF.
 * docs/RECORDS.md ("Identifier systems", "The transaction Bundle") is the
 * contract for every field.
 *
 * The Bundle is a pure function of the document and the PDF bytes: the
 * fullUrls are derived from the document id and every create is conditional
 * on a stable identifier, so the outbox may post the same bytes again after a
 * crash and the record system stores everything once.
 */
#include "document.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fhir_internal.h"

#define SYS_ACT_CODE "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define SYS_ACT_PRIORITY "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
#define SYS_PARTICIPATION "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
#define SYS_CLINICAL "http://terminology.hl7.org/CodeSystem/condition-clinical"
#define SYS_VERIFICATION "http://terminology.hl7.org/CodeSystem/condition-ver-status"
#define SYS_CATEGORY "http://terminology.hl7.org/CodeSystem/condition-category"
#define SYS_ICD10 "http://hl7.org/fhir/sid/icd-10"
#define SYS_LOINC "http://loinc.org"
#define SYS_URI "urn:ietf:rfc:3986"

/* Long enough for "<base>:<tenant>:patient" with the largest base and tenant. */
#define SYSTEM_MAX (CS_DOC_SYSTEM_MAX + CS_TENANT_MAX + 16)
/* "identifier=<system>|<value>" */
#define QUERY_MAX (SYSTEM_MAX + CS_ID_MAX + 64)
/* "urn:uuid:<id>" of a document, as an identifier value. */
#define DOC_URN_MAX (CS_ID_MAX + 16)

/* The labels of the document in its language (the PDF's language). */
typedef struct {
    const char *lang;
    const char *title;     /* the attachment's title, before ": <specialty>, <patient>" */
    const char *diagnosis; /* in the description, before ": <code> <text>" */
} labels_t;

static const labels_t labels[] = {
    {"ru", "Заключение консультанта", "Диагноз"},
    {"en", "Consultant's conclusion", "Diagnosis"},
};

/* What the three resources share, worked out once. */
typedef struct {
    const cs_document_t *doc;
    const labels_t *labels;
    char encounter_urn[CS_FHIR_URN_MAX];
    char condition_urn[CS_FHIR_URN_MAX];
    char document_urn[DOC_URN_MAX];
    char sys_patient[SYSTEM_MAX];
    char sys_consult[SYSTEM_MAX];
    char sys_organization[SYSTEM_MAX];
    char sys_diagnosis[SYSTEM_MAX];
    char sys_signer[SYSTEM_MAX]; /* the user system of the signer's centre */
    bool finished;               /* the consult had ended at signing */
    int64_t start, end;          /* the Encounter's period; 0 = absent */
} bundle_t;

/* ---- checking the document ------------------------------------------------ */

/* The labels of a language, or NULL for one we have none for. */
static const labels_t *labels_for(const char *lang)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(labels); i++)
        if (!strcmp(labels[i].lang, lang))
            return &labels[i];
    return NULL;
}

/* A NUL-terminated string within its cap bytes, of UTF-8 without control
 * characters other than tab and line breaks (which FHIR strings forbid), and
 * not empty when required (FHIR has no empty strings). */
static bool text_ok(const char *s, size_t cap, bool required)
{
    const char *nul = memchr(s, '\0', cap);
    if (!nul || (required && nul == s) || !cs_utf8_valid(s, (size_t)(nul - s)))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
            return false;
    return true;
}

#define TEXT_OK(field, required) text_ok((field), sizeof(field), (required))

/* The base goes into identifier systems and ifNoneExist queries: printable
 * ASCII without the characters that would end, split or escape a query
 * value (the record system would read "a|b" or "a&b" as something else). */
static bool base_ok(const char *base, size_t cap)
{
    if (!text_ok(base, cap, true))
        return false;
    for (const char *p = base; *p; p++)
        if (*p <= ' ' || *p > '~' || strchr("|&#?%+", *p))
            return false;
    return true;
}

static bool tenant_ok(const char *tenant)
{
    return cs_slug_valid(tenant, CS_TENANT_MAX);
}

static bool time_ok(int64_t ms)
{
    return ms == 0 || cs_fhir_time_ok(ms);
}

static bool participants_ok(const cs_consult_t *c)
{
    if (c->n_participants < 0 || c->n_participants > CS_MAX_PARTICIPANTS)
        return false;
    for (int i = 0; i < c->n_participants; i++) {
        const cs_participant_t *p = &c->participants[i];
        if ((unsigned)p->role >= CS_ROLE_COUNT || !time_ok(p->joined_at) || !time_ok(p->left_at))
            return false;
        if (p->role == CS_ROLE_PATIENT || p->joined_at == 0)
            continue; /* not written */
        if (!TEXT_OK(p->subject, true) || !tenant_ok(p->tenant) || !TEXT_OK(p->name, false))
            return false;
    }
    return true;
}

/* Everything the Bundle writes is present, bounded and valid, so that building
 * it can only fail for want of memory. */
static bool document_ok(const cs_document_t *doc)
{
    const cs_consult_t *c = &doc->consult;
    const cs_conclusion_t *k = &doc->conclusion;
    const cs_conclusion_summary_t *s = &k->summary;
    if (!cs_uuid_shaped(doc->id) || !TEXT_OK(doc->replaces, false) ||
        (doc->replaces[0] && !cs_uuid_shaped(doc->replaces)) || !TEXT_OK(doc->language, true) ||
        !labels_for(doc->language) || !base_ok(doc->identifier_base, sizeof doc->identifier_base))
        return false;
    if (!cs_uuid_shaped(c->id) || !tenant_ok(c->tenant) || !TEXT_OK(c->patient.id, true) ||
        !TEXT_OK(c->patient.name, false) || !TEXT_OK(c->specialty, true) ||
        !TEXT_OK(c->reason, false) || (unsigned)c->urgency >= CS_URGENCY_COUNT ||
        (c->specialist_tenant[0] && !tenant_ok(c->specialist_tenant)))
        return false;
    if (!time_ok(c->accepted_at) || !time_ok(c->started_at) || !time_ok(c->ended_at) ||
        !participants_ok(c))
        return false;
    if (s->signed_at <= 0 || !cs_fhir_time_ok(s->signed_at) || !TEXT_OK(s->author, true) ||
        !tenant_ok(s->author_tenant) || !TEXT_OK(s->author_name, false))
        return false;
    return TEXT_OK(k->diagnosis_code, false) && TEXT_OK(k->diagnosis_text, false) &&
           (!k->diagnosis_code[0] || cs_icd10_valid(k->diagnosis_code));
}

/* Fills b from a document document_ok accepted: CS_OK, or CS_EINVAL when a
 * system does not fit (which its bounds rule out), or CS_EIO from SHA-1. */
static int bundle_init(bundle_t *b, const cs_document_t *doc)
{
    const cs_consult_t *c = &doc->consult;
    const char *base = doc->identifier_base;
    memset(b, 0, sizeof *b);
    b->doc = doc;
    b->labels = labels_for(doc->language);
    int rc = cs_fhir_uuid_urn("encounter", doc->id, b->encounter_urn);
    if (rc == CS_OK)
        rc = cs_fhir_uuid_urn("condition", doc->id, b->condition_urn);
    if (rc != CS_OK)
        return rc;
    snprintf(b->document_urn, sizeof b->document_urn, "urn:uuid:%s", doc->id);
    int n = snprintf(b->sys_diagnosis, sizeof b->sys_diagnosis, "%s:diagnosis", base);
    if (n < 0 || (size_t)n >= sizeof b->sys_diagnosis ||
        !cs_document_system_patient(base, c->tenant, b->sys_patient, sizeof b->sys_patient) ||
        !cs_document_system_consult(base, b->sys_consult, sizeof b->sys_consult) ||
        !cs_document_system_organization(base, b->sys_organization, sizeof b->sys_organization) ||
        !cs_document_system_user(base, doc->conclusion.summary.author_tenant, b->sys_signer,
                                 sizeof b->sys_signer))
        return CS_EINVAL;
    b->finished = c->state == CS_STATE_ENDED || c->ended_at > 0;
    b->start = c->started_at ? c->started_at : c->accepted_at;
    b->end = b->finished ? c->ended_at : 0;
    return CS_OK;
}

/* ---- pieces the resources share ----------------------------------------- */

static json_t *patient_ref(const bundle_t *b)
{
    const cs_patient_t *p = &b->doc->consult.patient;
    return cs_fhir_ref_identifier(b->sys_patient, p->id, p->name);
}

static json_t *signer_ref(const bundle_t *b)
{
    const cs_conclusion_summary_t *s = &b->doc->conclusion.summary;
    return cs_fhir_ref_identifier(b->sys_signer, s->author, s->author_name);
}

static json_t *organization_ref(const bundle_t *b, const char *tenant)
{
    return cs_fhir_ref_identifier(b->sys_organization, tenant, NULL);
}

/* The Encounter's period, also the DocumentReference's context period;
 * NULL (for leaving it out) when the consult never started. */
static json_t *encounter_period(const bundle_t *b, bool *ok)
{
    if (!b->start && !b->end)
        return NULL;
    json_t *p = cs_fhir_period(b->start, b->end);
    if (!p)
        *ok = false;
    return p;
}

/* A one-element array; NULL (releasing value) when out of memory. */
static json_t *one(json_t *value)
{
    return value ? json_pack("[o]", value) : NULL;
}

/* ---- Encounter ------------------------------------------------------------ */

static json_t *priority(cs_urgency_t u)
{
    switch (u) {
    case CS_URGENCY_EMERGENCY:
        return cs_fhir_concept(SYS_ACT_PRIORITY, "EM", "emergency");
    case CS_URGENCY_URGENT:
        return cs_fhir_concept(SYS_ACT_PRIORITY, "UR", "urgent");
    default:
        return cs_fhir_concept(SYS_ACT_PRIORITY, "EL", "elective");
    }
}

/* The participation type of a role (the displays of v3-ParticipationType);
 * NULL for patients, who are the Encounter's subject. Every specialist is a
 * consultant, the consult's own and those invited alike. */
static json_t *participation_type(cs_role_t role)
{
    const char *code, *display;
    switch (role) {
    case CS_ROLE_CLINICIAN:
        code = "REF", display = "referrer";
        break;
    case CS_ROLE_SPECIALIST:
        code = "CON", display = "consultant";
        break;
    case CS_ROLE_INTERPRETER:
        code = "TRANS", display = "Translator";
        break;
    case CS_ROLE_COORDINATOR:
        code = "PART", display = "Participation";
        break;
    default:
        return NULL;
    }
    return one(cs_fhir_concept(SYS_PARTICIPATION, code, display));
}

static json_t *participant(const bundle_t *b, const cs_participant_t *p)
{
    char system[SYSTEM_MAX];
    if (!cs_document_system_user(b->doc->identifier_base, p->tenant, system, sizeof system))
        return NULL;
    json_t *o = json_object();
    bool ok = true;
    cs_fhir_set(o, "type", participation_type(p->role), &ok);
    cs_fhir_set(o, "period", cs_fhir_period(p->joined_at, p->left_at), &ok);
    cs_fhir_set(o, "individual", cs_fhir_ref_identifier(system, p->subject, p->name), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Everyone but patients who joined, in the order they are listed. */
static json_t *participants(const bundle_t *b)
{
    const cs_consult_t *c = &b->doc->consult;
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (int i = 0; ok && i < c->n_participants; i++) {
        const cs_participant_t *p = &c->participants[i];
        if (p->role != CS_ROLE_PATIENT && p->joined_at > 0)
            cs_fhir_append(arr, participant(b, p), &ok);
    }
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *encounter(const bundle_t *b)
{
    const cs_consult_t *c = &b->doc->consult;
    char type[CS_SPECIALTY_MAX + 16];
    snprintf(type, sizeof type, "%s consultation", c->specialty);

    json_t *r = json_pack("{s:s}", "resourceType", "Encounter");
    bool ok = true;
    cs_fhir_set(r, "identifier", one(cs_fhir_identifier(b->sys_consult, c->id)), &ok);
    cs_fhir_set(r, "status", json_string(b->finished ? "finished" : "in-progress"), &ok);
    cs_fhir_set(r, "class", cs_fhir_coding(SYS_ACT_CODE, "VR", "virtual"), &ok);
    cs_fhir_set(r, "type", one(cs_fhir_concept_text(type)), &ok);
    cs_fhir_set(r, "priority", priority(c->urgency), &ok);
    cs_fhir_set(r, "subject", patient_ref(b), &ok);
    json_t *parts = participants(b);
    if (json_array_size(parts) > 0 || !parts)
        cs_fhir_set(r, "participant", parts, &ok);
    else
        json_decref(parts);
    json_t *period = encounter_period(b, &ok);
    if (period)
        cs_fhir_set(r, "period", period, &ok);
    if (c->reason[0])
        cs_fhir_set(r, "reasonCode", one(cs_fhir_concept_text(c->reason)), &ok);
    cs_fhir_set(r, "diagnosis",
                json_pack("[{s:o, s:i}]", "condition", cs_fhir_ref_url(b->condition_urn), "rank", 1),
                &ok);
    if (c->specialist_tenant[0])
        cs_fhir_set(r, "serviceProvider", organization_ref(b, c->specialist_tenant), &ok);
    if (!ok) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* ---- Condition ------------------------------------------------------------ */

/* The ICD-10 coding with the specialist's wording, and the wording as text;
 * NULL (leave it out) when the conclusion has no diagnosis. */
static json_t *diagnosis_code(const cs_conclusion_t *k, bool *ok)
{
    if (!k->diagnosis_code[0] && !k->diagnosis_text[0])
        return NULL;
    json_t *o = json_object();
    if (k->diagnosis_code[0])
        /* A coding's display is the code system's own name for the code;
         * the specialist's wording goes in text only. */
        cs_fhir_set(o, "coding", one(cs_fhir_coding(SYS_ICD10, k->diagnosis_code, NULL)), ok);
    if (k->diagnosis_text[0])
        cs_fhir_set(o, "text", json_string(k->diagnosis_text), ok);
    if (!o)
        *ok = false;
    return o;
}

static json_t *condition(const bundle_t *b)
{
    const cs_conclusion_t *k = &b->doc->conclusion;
    json_t *r = json_pack("{s:s}", "resourceType", "Condition");
    bool ok = true;
    cs_fhir_set(r, "identifier", one(cs_fhir_identifier(b->sys_diagnosis, b->doc->id)), &ok);
    cs_fhir_set(r, "clinicalStatus", cs_fhir_concept(SYS_CLINICAL, "active", "Active"), &ok);
    cs_fhir_set(r, "verificationStatus", cs_fhir_concept(SYS_VERIFICATION, "confirmed", "Confirmed"),
                &ok);
    cs_fhir_set(r, "category",
                one(cs_fhir_concept(SYS_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")), &ok);
    json_t *code = diagnosis_code(k, &ok);
    if (code)
        cs_fhir_set(r, "code", code, &ok);
    cs_fhir_set(r, "subject", patient_ref(b), &ok);
    cs_fhir_set(r, "encounter", cs_fhir_ref_url(b->encounter_urn), &ok);
    cs_fhir_set(r, "recordedDate", cs_fhir_instant(k->summary.signed_at), &ok);
    cs_fhir_set(r, "recorder", signer_ref(b), &ok);
    if (!ok) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* ---- DocumentReference ------------------------------------------------------ */

/* {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:<id>"}: a document. */
static json_t *document_identifier(const char *id)
{
    char urn[DOC_URN_MAX];
    snprintf(urn, sizeof urn, "urn:uuid:%s", id);
    return cs_fhir_identifier(SYS_URI, urn);
}

/* The PDF as base64 text: a JSON string made without a second pass over
 * megabytes that are ASCII by construction. */
static json_t *base64_json(const unsigned char *bytes, size_t len)
{
    size_t cap = cs_base64_size(len);
    char *text = cap ? malloc(cap) : NULL;
    if (!text || cs_base64_encode(bytes, len, text, cap) != CS_OK) {
        free(text);
        return NULL;
    }
    json_t *s = json_stringn_nocheck(text, cap - 1);
    free(text);
    return s;
}

/* FHIR's Attachment.hash: base64 of the SHA-1 of the bytes. */
static json_t *sha1_json(const unsigned char *bytes, size_t len)
{
    unsigned char md[CS_SHA1_LEN];
    char text[32];
    if (cs_sha1(bytes, len, md) != CS_OK ||
        cs_base64_encode(md, sizeof md, text, sizeof text) != CS_OK)
        return NULL;
    return json_string_nocheck(text);
}

static json_t *attachment(const bundle_t *b, const unsigned char *pdf, size_t pdf_len)
{
    const cs_document_t *doc = b->doc;
    const cs_consult_t *c = &doc->consult;
    char title[512];
    if (c->patient.name[0])
        snprintf(title, sizeof title, "%s: %s, %s", b->labels->title, c->specialty, c->patient.name);
    else
        snprintf(title, sizeof title, "%s: %s", b->labels->title, c->specialty);

    json_t *a = json_pack("{s:s, s:s}", "contentType", "application/pdf", "language", doc->language);
    bool ok = true;
    cs_fhir_set(a, "data", base64_json(pdf, pdf_len), &ok);
    cs_fhir_set(a, "size", json_integer((json_int_t)pdf_len), &ok);
    cs_fhir_set(a, "hash", sha1_json(pdf, pdf_len), &ok);
    cs_fhir_set(a, "title", json_string(title), &ok);
    cs_fhir_set(a, "creation", cs_fhir_instant(doc->conclusion.summary.signed_at), &ok);
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* "<title>: <specialty>. <Diagnosis>: <code> <text>", what a list of the
 * patient's documents shows. */
static json_t *description(const bundle_t *b)
{
    const cs_conclusion_t *k = &b->doc->conclusion;
    char text[1024];
    int n = snprintf(text, sizeof text, "%s: %s", b->labels->title, b->doc->consult.specialty);
    if (n > 0 && (size_t)n < sizeof text && (k->diagnosis_code[0] || k->diagnosis_text[0]))
        snprintf(text + n, sizeof text - (size_t)n, ". %s: %s%s%s", b->labels->diagnosis,
                 k->diagnosis_code, k->diagnosis_code[0] && k->diagnosis_text[0] ? " " : "",
                 k->diagnosis_text);
    return json_string(text);
}

/* relatesTo of an amendment: it replaces the previous document. */
static json_t *relates_to(const char *replaces)
{
    return json_pack("[{s:s, s:{s:o}}]", "code", "replaces", "target", "identifier",
                     document_identifier(replaces));
}

static json_t *context(const bundle_t *b)
{
    json_t *o = json_object();
    bool ok = true;
    cs_fhir_set(o, "encounter", one(cs_fhir_ref_url(b->encounter_urn)), &ok);
    json_t *period = encounter_period(b, &ok);
    if (period)
        cs_fhir_set(o, "period", period, &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *document_reference(const bundle_t *b, const unsigned char *pdf, size_t pdf_len)
{
    const cs_document_t *doc = b->doc;
    const cs_conclusion_summary_t *s = &doc->conclusion.summary;
    bool amendment = doc->replaces[0] != '\0';
    json_t *r = json_pack("{s:s}", "resourceType", "DocumentReference");
    bool ok = true;
    cs_fhir_set(r, "masterIdentifier", document_identifier(doc->id), &ok);
    cs_fhir_set(r, "status", json_string("current"), &ok);
    cs_fhir_set(r, "docStatus", json_string(amendment ? "amended" : "final"), &ok);
    cs_fhir_set(r, "type", cs_fhir_concept(SYS_LOINC, "11488-4", "Consult note"), &ok);
    cs_fhir_set(r, "category", one(cs_fhir_concept_text("Telemedicine consultation")), &ok);
    cs_fhir_set(r, "subject", patient_ref(b), &ok);
    cs_fhir_set(r, "date", cs_fhir_instant(s->signed_at), &ok);
    cs_fhir_set(r, "author", json_pack("[o, o]", signer_ref(b), organization_ref(b, s->author_tenant)),
                &ok);
    cs_fhir_set(r, "authenticator", signer_ref(b), &ok);
    cs_fhir_set(r, "custodian", organization_ref(b, doc->consult.tenant), &ok);
    if (amendment)
        cs_fhir_set(r, "relatesTo", relates_to(doc->replaces), &ok);
    cs_fhir_set(r, "description", description(b), &ok);
    cs_fhir_set(r, "content", json_pack("[{s:o}]", "attachment", attachment(b, pdf, pdf_len)), &ok);
    cs_fhir_set(r, "context", context(b), &ok);
    if (!ok) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* ---- the Bundle ------------------------------------------------------------- */

/* One entry: a conditional create of resource (taken), a type, at
 * full_url; the record system skips it when a resource of that type with the
 * identifier system|value exists. */
static json_t *entry(const char *full_url, const char *type, json_t *resource,
                     const char *system, const char *value)
{
    if (!resource)
        return NULL;
    char query[QUERY_MAX];
    snprintf(query, sizeof query, "identifier=%s|%s", system, value);
    return json_pack("{s:s, s:o, s:{s:s, s:s, s:s}}", "fullUrl", full_url, "resource", resource,
                     "request", "method", "POST", "url", type, "ifNoneExist", query);
}

static json_t *bundle_json(const bundle_t *b, const unsigned char *pdf, size_t pdf_len)
{
    const cs_document_t *doc = b->doc;
    json_t *entries = json_array();
    bool ok = entries != NULL;
    cs_fhir_append(entries, entry(b->encounter_urn, "Encounter", encounter(b), b->sys_consult,
                                  doc->consult.id),
                   &ok);
    cs_fhir_append(entries, entry(b->condition_urn, "Condition", condition(b), b->sys_diagnosis,
                                  doc->id),
                   &ok);
    /* The DocumentReference's fullUrl is its masterIdentifier's value. */
    cs_fhir_append(entries, entry(b->document_urn, "DocumentReference",
                                  document_reference(b, pdf, pdf_len), SYS_URI, b->document_urn),
                   &ok);
    if (!ok) {
        json_decref(entries);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type", "transaction", "entry",
                     entries);
}

int cs_document_bundle(const cs_document_t *doc, const unsigned char *pdf, size_t pdf_len,
                       char **out_json)
{
    if (out_json)
        *out_json = NULL;
    /* An empty PDF is a bug upstream; FHIR's size is an unsignedInt. */
    if (!doc || !pdf || !out_json || pdf_len == 0 || pdf_len > INT32_MAX || !document_ok(doc))
        return CS_EINVAL;
    bundle_t b;
    int rc = bundle_init(&b, doc);
    if (rc != CS_OK)
        return rc;
    json_t *root = bundle_json(&b, pdf, pdf_len);
    if (!root)
        return CS_ENOMEM;
    /* Compact, keys in the order they were set (jansson keeps insertion order
     * since 2.8), UTF-8 written as is: the same document, the same bytes. */
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        return CS_ENOMEM;
    *out_json = text;
    return CS_OK;
}
