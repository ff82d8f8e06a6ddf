/*
 * fhir_internal.h — the FHIR R4 datatypes the transaction Bundle is made of
 * (fhir_parts.c), for fhir_bundle.c only.
 *
 * Builders return a new jansson value, or NULL when out of memory; they take
 * strings the caller has checked (valid UTF-8, no control characters). An
 * empty display is left out rather than written as "" (FHIR forbids empty
 * strings). Building a resource goes through cs_fhir_set and cs_fhir_append,
 * which take a NULL value as a failure, so a resource is built straight
 * through and checked once at the end. (json_pack releases its "o"
 * arguments when it fails, as jansson does since 2.11.)
 */
#ifndef CS_FHIR_INTERNAL_H
#define CS_FHIR_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* "urn:uuid:" + 36 characters + NUL. */
#define CS_FHIR_URN_MAX 48
/* "2026-11-22T09:30:00.000Z" + NUL, with room to spare. */
#define CS_FHIR_INSTANT_MAX 32

/* obj[key] = value, taking the reference; a NULL obj or value, or a failed
 * insertion, sets *ok to false (and value is released). */
void cs_fhir_set(json_t *obj, const char *key, json_t *value, bool *ok);
/* Appends value to arr, taking the reference; failures as cs_fhir_set. */
void cs_fhir_append(json_t *arr, json_t *value, bool *ok);

/* True for a time FHIR can write as an instant: 0001-01-01 … 9999-12-31. */
bool cs_fhir_time_ok(int64_t ms);
/* The instant "YYYY-MM-DDThh:mm:ss.sssZ" (UTC) of ms since the epoch, as a
 * JSON string; NULL when out of memory or out of range. */
json_t *cs_fhir_instant(int64_t ms);
/* {"start", "end"} with the times that are not 0 (an end before the start
 * left out); NULL when out of memory. */
json_t *cs_fhir_period(int64_t start_ms, int64_t end_ms);

/* "urn:uuid:<uuid>" of a name-based UUID (RFC 9562 version 5: SHA-1 of a
 * fixed Consilium namespace and "<kind>:<name>"), so a document's Encounter
 * and Condition get the same fullUrl on every rendering. CS_OK or CS_EIO. */
int cs_fhir_uuid_urn(const char *kind, const char *name, char out[CS_FHIR_URN_MAX]);

/* {"system", "value"} */
json_t *cs_fhir_identifier(const char *system, const char *value);
/* A logical reference: {"identifier": {system, value}, "display"}. */
json_t *cs_fhir_ref_identifier(const char *system, const char *value, const char *display);
/* A literal reference: {"reference": url}. */
json_t *cs_fhir_ref_url(const char *url);
/* {"system", "code", "display"} */
json_t *cs_fhir_coding(const char *system, const char *code, const char *display);
/* A CodeableConcept of one coding: {"coding": [{system, code, display}]}. */
json_t *cs_fhir_concept(const char *system, const char *code, const char *display);
/* A CodeableConcept of text only: {"text": text}. */
json_t *cs_fhir_concept_text(const char *text);

#endif
