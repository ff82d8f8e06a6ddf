/*
 * capability.c — what the record store says about itself: the FHIR R4
 * CapabilityStatement (GET /fhir/metadata) and the SMART configuration
 * (GET /fhir/.well-known/smart-configuration), so that a client can find
 * the interactions, search parameters and token endpoint without reading
 * our documentation. Both are built from the same lists search.c accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "records_internal.h"

typedef struct {
    const char *name, *type, *doc;
} param_t;

static const param_t p_id = {"_id", "token", "the resource id"};
static const param_t p_identifier = {"identifier", "token",
                                     "system|value (a DocumentReference's masterIdentifier too)"};
static const param_t p_patient = {"patient", "reference",
                                  "Patient/<id>; with :identifier, the subject's system|value"};
static const param_t p_subject = {"subject", "reference",
                                  "Patient/<id>; with :identifier, the subject's system|value"};
static const param_t p_date = {"date", "date",
                               "eq, ge, le, gt, lt on a date or instant (Encounter.period, "
                               "DocumentReference.date)"};

static json_t *search_params(const param_t *const *list)
{
    json_t *a = json_array();
    for (; a && *list; list++)
        if (json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", (*list)->name, "type",
                                               (*list)->type, "documentation", (*list)->doc))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *resource(const char *type, const param_t *const *params)
{
    json_t *r = params ? json_pack("{s:s, s:[{s:s}, {s:s}, {s:s}], s:o}", "type", type,
                                   "interaction", "code", "read", "code", "vread", "code",
                                   "search-type", "searchParam", search_params(params))
                       : json_pack("{s:s, s:[{s:s}, {s:s}]}", "type", type, "interaction", "code",
                                   "read", "code", "vread");
    return r;
}

static json_t *resources(void)
{
    static const param_t *const patient[] = {&p_id, &p_identifier, NULL};
    static const param_t *const encounter[] = {&p_id,      &p_identifier, &p_patient,
                                               &p_subject, &p_date,       NULL};
    static const param_t *const condition[] = {&p_id, &p_identifier, &p_patient, &p_subject, NULL};
    return json_pack("[o, o, o, o, o]", resource("Patient", patient),
                     resource("Encounter", encounter), resource("Condition", condition),
                     resource("DocumentReference", encounter), resource("Binary", NULL));
}

/* SMART's oauth-uris extension naming the token endpoint. */
static json_t *security(const char *base_url, bool smart)
{
    char token[300];
    snprintf(token, sizeof token, "%s/auth/token", base_url);
    const char *doc = "Writers: Authorization: Bearer <write token>, or a SMART Backend "
                      "Services access token. Readers: a Consilium user token (JWT).";
    if (!smart)
        return json_pack("{s:s}", "description", doc);
    return json_pack("{s:[{s:s, s:[{s:s, s:s}]}], s:[{s:[{s:s, s:s}]}], s:s}", "extension", "url",
                     "http://fhir-registry.smart-platform.org/StructureDefinition/oauth-uris",
                     "extension", "url", "token", "valueUri", token, "service", "coding", "system",
                     "http://terminology.hl7.org/CodeSystem/restful-security-service", "code",
                     "SMART-on-FHIR", "description", doc);
}

char *cs_fhir_capability(const char *base_url, const char *date, bool smart)
{
    json_t *cs = json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:s, s:[s], s:[{s:s, s:o, s:o, s:[{s:s}]}]}",
        "resourceType", "CapabilityStatement", "status", "active", "date", date, "kind", "instance",
        "software", "name", "Consilium built-in record store", "implementation", "description",
        "Consilium built-in FHIR R4 record store", "url", base_url, "fhirVersion", "4.0.1",
        "format", "json", "rest", "mode", "server", "security", security(base_url, smart),
        "resource", resources(), "interaction", "code", "transaction");
    char *text = cs ? json_dumps(cs, JSON_COMPACT) : NULL;
    json_decref(cs);
    return text;
}

char *cs_fhir_smart_configuration(const char *base_url)
{
    char token[300];
    snprintf(token, sizeof token, "%s/auth/token", base_url);
    json_t *c = json_pack(
        "{s:s, s:[s], s:[s], s:[s, s], s:[s, s, s, s, s, s], s:[s]}", "token_endpoint", token,
        "grant_types_supported", "client_credentials", "token_endpoint_auth_methods_supported",
        "private_key_jwt", "token_endpoint_auth_signing_alg_values_supported", "ES384", "RS384",
        "scopes_supported", "system/*.write", "system/Patient.write", "system/Encounter.write",
        "system/Condition.write", "system/DocumentReference.write", "system/Binary.write",
        "capabilities", "client-confidential-asymmetric");
    char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    return text;
}
