/*
 * fhir_parts.c — the small FHIR R4 datatypes of the transaction Bundle
 * (identifiers, references, codings, instants, periods), the deterministic
 * fullUrls of its entries, and the identifier systems of docs/RECORDS.md.
 */
#include "fhir_internal.h"

#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "document.h"

/* 9999-12-31T23:59:59.999Z: an instant has four digits of year. */
#define LAST_INSTANT_MS 253402300799999LL

/* The namespace of Consilium's name-based UUIDs (a random UUID, fixed
 * forever: changing it would give every document's entries new fullUrls). */
static const unsigned char uuid_namespace[16] = {
    0xbb, 0x09, 0x71, 0x1b, 0xa7, 0xb0, 0x48, 0x3a,
    0xbd, 0xd3, 0x27, 0xca, 0xd9, 0xe1, 0xf6, 0xa1,
};

void cs_fhir_set(json_t *obj, const char *key, json_t *value, bool *ok)
{
    /* json_object_set_new releases value on failure, NULL obj included. */
    if (!value || json_object_set_new(obj, key, value) != 0)
        *ok = false;
}

void cs_fhir_append(json_t *arr, json_t *value, bool *ok)
{
    if (!value || json_array_append_new(arr, value) != 0)
        *ok = false;
}

bool cs_fhir_time_ok(int64_t ms)
{
    /* Consult times are never before 1970; excluding negative times keeps
     * the millisecond arithmetic of cs_time_iso8601 exact. */
    return ms >= 0 && ms <= LAST_INSTANT_MS;
}

json_t *cs_fhir_instant(int64_t ms)
{
    if (!cs_fhir_time_ok(ms))
        return NULL;
    char text[CS_FHIR_INSTANT_MAX];
    cs_time_iso8601(ms, text);
    return json_string_nocheck(text);
}

json_t *cs_fhir_period(int64_t start_ms, int64_t end_ms)
{
    json_t *p = json_object();
    bool ok = true;
    if (start_ms)
        cs_fhir_set(p, "start", cs_fhir_instant(start_ms), &ok);
    /* FHIR's per-1: the end is not before the start; one that is (a clock
     * stepped back) says nothing true and is left out. */
    if (end_ms && end_ms >= start_ms)
        cs_fhir_set(p, "end", cs_fhir_instant(end_ms), &ok);
    if (!ok) {
        json_decref(p);
        return NULL;
    }
    return p;
}

int cs_fhir_uuid_urn(const char *kind, const char *name, char out[CS_FHIR_URN_MAX])
{
    unsigned char buf[sizeof uuid_namespace + 256];
    size_t kl = strlen(kind), nl = strlen(name);
    if (kl + 1 + nl > sizeof buf - sizeof uuid_namespace)
        return CS_EINVAL;
    memcpy(buf, uuid_namespace, sizeof uuid_namespace);
    memcpy(buf + sizeof uuid_namespace, kind, kl);
    buf[sizeof uuid_namespace + kl] = ':';
    memcpy(buf + sizeof uuid_namespace + kl + 1, name, nl);

    unsigned char h[CS_SHA1_LEN];
    int rc = cs_sha1(buf, sizeof uuid_namespace + kl + 1 + nl, h);
    if (rc != CS_OK)
        return rc;
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x50); /* version 5 */
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80); /* the RFC variant */

    char *o = out + snprintf(out, CS_FHIR_URN_MAX, "urn:uuid:");
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        o += snprintf(o, 3, "%02x", h[i]);
    }
    return CS_OK;
}

json_t *cs_fhir_identifier(const char *system, const char *value)
{
    return json_pack("{s:s, s:s}", "system", system, "value", value);
}

json_t *cs_fhir_ref_identifier(const char *system, const char *value, const char *display)
{
    return json_pack("{s:o, s:s*}", "identifier", cs_fhir_identifier(system, value), "display",
                     display && display[0] ? display : NULL);
}

json_t *cs_fhir_ref_url(const char *url)
{
    return json_pack("{s:s}", "reference", url);
}

json_t *cs_fhir_coding(const char *system, const char *code, const char *display)
{
    return json_pack("{s:s, s:s, s:s*}", "system", system, "code", code, "display",
                     display && display[0] ? display : NULL);
}

json_t *cs_fhir_concept(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[o]}", "coding", cs_fhir_coding(system, code, display));
}

json_t *cs_fhir_concept_text(const char *text)
{
    return json_pack("{s:s}", "text", text);
}

/* ---- identifier systems (docs/RECORDS.md) -------------------------------- */

/* "<base>:<tenant>:<what>", or "<base>:<what>" when per_tenant is false,
 * into out; false (and out empty, when there is an out) for a NULL argument
 * or a text that does not fit. */
static bool system_of(char *out, size_t cap, const char *base, bool per_tenant,
                      const char *tenant, const char *what)
{
    if (!out || cap == 0)
        return false;
    out[0] = '\0';
    if (!base || (per_tenant && !tenant))
        return false;
    int n = per_tenant ? snprintf(out, cap, "%s:%s:%s", base, tenant, what)
                       : snprintf(out, cap, "%s:%s", base, what);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return false;
    }
    return true;
}

bool cs_document_system_patient(const char *base, const char *tenant, char *out, size_t cap)
{
    return system_of(out, cap, base, true, tenant, "patient");
}

bool cs_document_system_user(const char *base, const char *tenant, char *out, size_t cap)
{
    return system_of(out, cap, base, true, tenant, "user");
}

bool cs_document_system_consult(const char *base, char *out, size_t cap)
{
    return system_of(out, cap, base, false, NULL, "consult");
}

bool cs_document_system_organization(const char *base, char *out, size_t cap)
{
    return system_of(out, cap, base, false, NULL, "organization");
}
