/*
 * records.h — the built-in FHIR R4 record store the gateway serves on /fhir
 * (docs/RECORDS.md, "The built-in record store"), so that a gateway with
 * nothing else installed has an electronic record to deliver signed
 * documents to. In production it stands for someone else's system: the
 * outbox talks to it over HTTP like to any other, and it keeps its data in
 * its own SQLite file, <data_dir>/records.db (gateway/storage/storage_records.c).
 *
 *   GET  /fhir/metadata                        CapabilityStatement (anyone)
 *   GET  /fhir/.well-known/smart-configuration SMART discovery (anyone)
 *   POST /fhir                                 transaction Bundle (writers)
 *   POST /fhir/auth/token                      SMART Backend Services token (clients)
 *   GET  /fhir/<Type>/<id>[/_history/<v>]      read (readers)
 *   GET  /fhir/<Type>?...                      search (readers)
 *   GET  /fhir/Binary/<id>                     the bytes, or FHIR JSON with
 *                                              Accept: application/fhir+json
 *
 * Files: records.c (routing, who is asking, OperationOutcomes, reads, the
 * access log), transaction.c and fhir_checks.c (the pure planner: a Bundle →
 * a plan, or the reason it is refused), apply.c (a plan → one SQLite
 * transaction and the transaction-response), search.c, capability.c,
 * token.c (/fhir/auth/token and the writers' access tokens), fhir_values.c
 * (dates, ids, base64, search tokens). One thread (the signalling thread)
 * calls everything here.
 *
 * Who may do what:
 *   - writers: Authorization: Bearer <write token> (compared in constant
 *     time), or an access token from /fhir/auth/token; they may not read (403);
 *   - readers: a Consilium user JWT. A patient token with a patient_id claim
 *     sees what is about <base>:<tenant>:patient|<patient_id> (that Patient,
 *     resources whose subject is that patient, the Binaries of those
 *     DocumentReferences). Clinicians, specialists and coordinators see the
 *     resources whose centres include their tenant, the Binaries of such
 *     DocumentReferences and the Patients such resources are about. Other
 *     readers (interpreters, a patient token without patient_id) see
 *     nothing. What a reader may not see answers 404, or is absent from a
 *     search, exactly as if it did not exist;
 *   - a resource's centres are the values of the organization identifiers
 *     (system <base>:organization) in its custodian, author[],
 *     serviceProvider and managingOrganization; an Encounter or a Condition
 *     also belongs to the centres of every DocumentReference of the same
 *     transaction (one Bundle is one consultation).
 * Every read and search (allowed or not), every transaction and every token
 * request is a row of the access_log table.
 *
 * Limits (a request over one is refused, nothing is stored):
 *   - the body: fhir_store.max_body (413);
 *   - JSON nesting: jansson's parser limit for the whole Bundle, and
 *     CS_RECORDS_MAX_DEPTH levels inside each resource (422);
 *   - the constants below (422 for a Bundle, 400 for a search).
 * Search: one value list per parameter, comma-separated values are ORed
 * (no "\," escapes), repeated parameters are ANDed; _count defaults to 50
 * and is capped at 200; there is no paging (total says how many matched).
 * Dates without a time zone are UTC.
 */
#ifndef CS_RECORDS_H
#define CS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/auth/auth.h"
#include "signaling/ws/ws.h"

#define CS_RECORDS_MAX_ENTRIES 100     /* entries of one transaction Bundle */
#define CS_RECORDS_MAX_DEPTH 32        /* object/array levels inside one resource */
#define CS_RECORDS_MAX_TEXT 256        /* bytes of an indexed string: identifier
                                          system and value, fullUrl, reference */
#define CS_RECORDS_ID_MAX 64           /* resource ids: [A-Za-z0-9.-]{1,64} */
#define CS_RECORDS_MAX_IDENTIFIERS 16  /* per resource, masterIdentifier included */
#define CS_RECORDS_MAX_CENTRES 16      /* distinct organization identifiers per resource */
#define CS_RECORDS_MAX_CONTENT 16      /* DocumentReference.content entries */
#define CS_RECORDS_CONTENT_TYPE_MAX 63 /* bytes of a Binary's or attachment's contentType */
#define CS_RECORDS_COUNT_DEFAULT 50    /* search page size without _count */
#define CS_RECORDS_COUNT_MAX 200       /* _count above this is cut to it */
#define CS_RECORDS_MAX_PARAMS 8        /* search parameters per request */
#define CS_RECORDS_MAX_OR 10           /* comma-separated values per parameter */
#define CS_RECORDS_TOKEN_TTL_MS 300000LL /* access tokens from /fhir/auth/token */
#define CS_RECORDS_MAX_TOKENS 1024     /* live access tokens (the soonest to expire goes) */
#define CS_RECORDS_MAX_JTIS 4096       /* assertion ids remembered until they expire */
#define CS_RECORDS_MAX_FORM 16384      /* bytes of a token request */

typedef struct cs_records cs_records_t;

typedef struct {
    const char *identifier_base;  /* records.identifier_base, e.g. "urn:consilium" */
    const char *write_token;      /* the writers' bearer token; NULL or "": none */
    const char *smart_client_id;  /* the one SMART client; NULL or "": none */
    const char *smart_public_pem; /* its public key (EC P-384 or RSA), PEM */
    size_t max_body;              /* largest request body accepted */
    const cs_auth_t *auth;        /* verifies readers' tokens; kept, not owned */
} cs_records_config_t;

/*
 * Opens (creating when missing) the store's database at db_path and keeps a
 * copy of cfg (auth is only pointed at). NULL and *err: CS_EINVAL (no path,
 * no identifier base, no auth, a SMART client without a usable public key),
 * CS_EIO / CS_ESTORAGE (the database), CS_ENOMEM.
 */
cs_records_t *cs_records_open(const char *db_path, const cs_records_config_t *cfg, int *err);
/* NULL is safe. */
void cs_records_close(cs_records_t *r);

/* True for "/fhir" and "/fhir/...": the paths cs_records_handle answers. */
bool cs_records_path(const char *path);

/*
 * Answers one request to a /fhir path (always handled: returns 1). base_url
 * is the store's own absolute URL without a trailing slash (see
 * cs_records_base_url): fullUrls in searchsets, and base_url + "/auth/token"
 * is the only audience the token endpoint accepts in client assertions.
 * now_ms is the wall clock.
 */
int cs_records_handle(cs_records_t *r, const cs_http_request_t *req, const char *base_url,
                      int64_t now_ms, cs_http_response_t *resp);

/*
 * The store's base URL: public_url + "fhir" (one '/' between them) when
 * public_url is set, else "http(s)://<address>:<port>/fhir" with an IPv6
 * address in brackets. Operators behind a proxy set public_url, so that
 * SMART clients can compute the token URL (the assertion's aud) exactly.
 * CS_OK, or CS_ETOOBIG when it does not fit in size bytes.
 */
int cs_records_base_url(const char *public_url, bool tls, const char *address, int port,
                        char *out, size_t size);

/* ---- the transaction planner: pure, fuzzed (tests/fuzz/fuzz_fhir_transaction.c) ---- */

typedef struct cs_fhir_plan cs_fhir_plan_t;

/* Why a Bundle was refused: the HTTP status and one OperationOutcome issue. */
typedef struct {
    int status;            /* 400: not a transaction Bundle at all; 422: invalid content */
    char code[24];         /* issue type: structure, invalid, required, value,
                              not-supported, not-found, duplicate, too-costly */
    char diagnostics[320]; /* "entry 2 (Encounter): status is required"; valid UTF-8 */
    char expression[128];  /* FHIRPath of the culprit, e.g. "Bundle.entry[2].resource.status" */
} cs_fhir_issue_t;

/*
 * Parses and validates len bytes (any bytes; never read past len) as a FHIR
 * R4 transaction Bundle for this store, with no database access: the JSON,
 * each entry's request (POST of the type, with an optional ifNoneExist of
 * the form identifier=[system|]value; or PUT Type/id), the resource's type
 * and what the store needs of it (Encounter status and class;
 * DocumentReference status, subject and content[].attachment; Condition
 * subject; Binary contentType), urn:uuid references that resolve to the
 * fullUrl of an entry, and the limits above. identifier_base names the
 * organization identifier system (<base>:organization).
 * CS_OK and *out (free with cs_fhir_plan_free), or CS_EINVAL with *issue
 * filled, or CS_ENOMEM (issue: 500).
 */
int cs_fhir_plan_parse(const char *body, size_t len, const char *identifier_base,
                       cs_fhir_plan_t **out, cs_fhir_issue_t *issue);
void cs_fhir_plan_free(cs_fhir_plan_t *p);
/* Number of entries (the transaction-response has one per entry). */
size_t cs_fhir_plan_entries(const cs_fhir_plan_t *p);

#endif
