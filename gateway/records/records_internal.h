/*
 * records_internal.h — what the files of gateway/records/ share; not for use
 * outside the module (the unit and fuzz tests excepted).
 *
 *   records.c      routing, who is asking, OperationOutcomes, reads, access log
 *   transaction.c  the pure planner (Bundle → plan): the Bundle and requests
 *   fhir_checks.c  the planner: each resource's checks and index values
 *   apply.c        a plan → one SQLite transaction → transaction-response
 *   search.c       search parameters → query → searchset Bundle
 *   capability.c   CapabilityStatement, SMART configuration
 *   token.c        /fhir/auth/token and the writers' access tokens
 *   fhir_values.c  types, ids, dates, base64, tokens, percent-decoding
 */
#ifndef CS_RECORDS_INTERNAL_H
#define CS_RECORDS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/storage/storage.h"
#include "records.h"

/* ---- resource types (fhir_values.c) ---- */

typedef enum {
    CS_FHIR_PATIENT,
    CS_FHIR_ENCOUNTER,
    CS_FHIR_CONDITION,
    CS_FHIR_DOCUMENT_REFERENCE,
    CS_FHIR_BINARY,
    CS_FHIR_TYPE_COUNT
} cs_fhir_type_t;

#define CS_FHIR_ALL_TYPES ((1u << CS_FHIR_TYPE_COUNT) - 1)

const char *cs_fhir_type_name(cs_fhir_type_t t);
/* The type named s (exactly), or -1. */
int cs_fhir_type_parse(const char *s);
/* [A-Za-z0-9.-]{1,64} */
bool cs_fhir_id_valid(const char *s);
/* A FHIR date, dateTime or instant (YYYY, YYYY-MM, YYYY-MM-DD, or with
 * Thh:mm[:ss[.fff]] and Z/±hh:mm, UTC when absent; a space stands for '+',
 * as a query may decode it so) as the range [lo, hi) of ms it covers, by
 * its precision. CS_OK or CS_EINVAL. */
int cs_fhir_date_range(const char *s, int64_t *lo, int64_t *hi);
/* Standard base64 (whitespace ignored, padding required) into a malloc'd
 * buffer (*out may be NULL when *out_len is 0). CS_EINVAL, CS_ENOMEM. */
int cs_fhir_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);
/* Splits a search token in place: "system|value", "|value" (no system),
 * "system|" (any value), "value" (any system). CS_EINVAL when both are
 * missing. */
int cs_fhir_token_parse(char *s, cs_records_ident_t *out);
/* %XX-decodes in into out (size bytes); CS_EINVAL for a bad escape or a NUL,
 * CS_ETOOBIG when it does not fit. */
int cs_fhir_percent_decode(const char *in, size_t len, char *out, size_t size);
/* type/subtype[;params], printable ASCII, at most CS_RECORDS_CONTENT_TYPE_MAX bytes. */
bool cs_fhir_content_type_valid(const char *s);
/* Replaces each byte of s that is not part of valid UTF-8 by '?' (texts
 * that go into JSON may quote a request, or be cut inside a character). */
void cs_fhir_utf8_clean(char *s);

/* ---- the plan (transaction.c) ---- */

typedef struct {
    char *system; /* "" when absent */
    char *value;
} cs_fhir_ident_t;

/* A DocumentReference attachment with inline data, kept as a Binary. */
typedef struct {
    size_t content;               /* index in content[] */
    unsigned char *bytes;
    size_t len;
    char content_type[CS_RECORDS_CONTENT_TYPE_MAX + 1];
} cs_fhir_inline_t;

typedef struct {
    cs_fhir_type_t type;
    bool put;                     /* PUT Type/id, else POST Type */
    char id[CS_RECORDS_ID_MAX + 1]; /* PUT: the client's id */
    char *full_url;               /* NULL when absent */
    bool conditional;             /* POST with ifNoneExist */
    cs_fhir_ident_t cond;         /* its identifier; system NULL: any system */
    json_t *resource;             /* borrowed from the plan's root */
    cs_fhir_ident_t identifiers[CS_RECORDS_MAX_IDENTIFIERS];
    size_t n_identifiers;
    bool has_subject_identifier;
    cs_fhir_ident_t subject_identifier;
    bool has_date;
    int64_t date_lo, date_hi;
    char *centres[CS_RECORDS_MAX_CENTRES];
    size_t n_centres;
    cs_fhir_inline_t inline_data[CS_RECORDS_MAX_CONTENT];
    size_t n_inline;
    unsigned char *data;          /* Binary: its decoded data, or NULL */
    size_t data_len;
} cs_fhir_entry_t;

struct cs_fhir_plan {
    json_t *root;
    size_t n;
    cs_fhir_entry_t *entries;
};

/* The types a plan writes, as a bit mask (1u << cs_fhir_type_t). */
unsigned cs_fhir_plan_types(const cs_fhir_plan_t *p);

/* Fills an issue (diagnostics printf-style, made valid UTF-8); returns CS_EINVAL. */
int cs_fhir_issue(cs_fhir_issue_t *issue, int status, const char *code, const char *expression,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* What transaction.c (the Bundle, the requests) and fhir_checks.c (each
 * resource) share while planning. */
typedef struct {
    const char *org_system;       /* <base>:organization */
    cs_fhir_issue_t *issue;
    size_t i;                     /* the entry being read */
    const char *type;             /* its type name once known, for messages */
} cs_fhir_ctx_t;

/* An entry's problem (422), where relative to Bundle.entry[i]; CS_EINVAL. */
int cs_fhir_bad(cs_fhir_ctx_t *c, const char *code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Out of memory (issue 500); CS_ENOMEM. */
int cs_fhir_no_memory(cs_fhir_ctx_t *c);
/* A string member: *out NULL when absent; not a string, empty, or over max
 * bytes (0: no limit) is refused. */
int cs_fhir_string_member(cs_fhir_ctx_t *c, json_t *obj, const char *key, const char *where,
                          size_t max, const char **out);
/* The same, and absent is refused. */
int cs_fhir_required_string(cs_fhir_ctx_t *c, json_t *obj, const char *key, const char *where,
                            size_t max, const char **out);
/* Adds a tenant to e's centres (once). */
int cs_fhir_add_centre(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, const char *tenant,
                       const char *where);
/* Checks a resource of e's type and fills what the store indexes of it. */
int cs_fhir_check_resource(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res);

/* ---- applying a plan (apply.c) ---- */

/*
 * Applies the plan in one transaction. CS_OK and *response (the
 * transaction-response Bundle, malloc'd) and locations (the entries'
 * "Type/id/_history/v", space-separated, cut to fit); or CS_ETAKEN with
 * *issue (412: a conditional create matched several resources), CS_ENOMEM,
 * CS_ESTORAGE / CS_EAGAIN; nothing is kept on failure.
 */
int cs_fhir_apply(cs_records_db_t *db, const cs_fhir_plan_t *plan, int64_t now_ms,
                  char **response, char *locations, size_t loc_size, cs_fhir_issue_t *issue);

/* ---- searches (search.c) ---- */

typedef struct {
    cs_fhir_type_t type;
    char buf[2048];               /* the query, split; the conditions point into it */
    cs_records_cond_t conds[CS_RECORDS_MAX_PARAMS];
    size_t n_conds;
    int64_t count;
} cs_fhir_search_t;

/* Parses a search of type (query as the ws layer gives it: %-decoded,
 * arguments joined by '&'). CS_OK, or CS_EINVAL with *issue (400). */
int cs_fhir_search_parse(cs_fhir_type_t type, const char *query, cs_fhir_search_t *out,
                         cs_fhir_issue_t *issue);
/* Runs it for view: *bundle a searchset (malloc'd), *returned its entries. */
int cs_fhir_search_run(cs_records_db_t *db, const cs_fhir_search_t *s,
                       const cs_records_view_t *view, const char *base_url, const char *query,
                       char **bundle, int64_t *returned);

/* ---- capability.c ---- */

/* malloc'd JSON, or NULL (no memory). */
char *cs_fhir_capability(const char *base_url, const char *date, bool smart);
char *cs_fhir_smart_configuration(const char *base_url);

/* ---- the store (records.c) and its token endpoint (token.c) ---- */

typedef struct {
    char token[65];               /* 32 random bytes as hex */
    int64_t expires_at;
    unsigned types;               /* what it may write */
} cs_records_token_t;

struct cs_records {
    cs_records_db_t *db;
    char base[128];               /* identifier base */
    char org_system[160];         /* <base>:organization */
    char *write_token;            /* NULL: none */
    char *client_id;              /* NULL: no SMART client */
    char *public_pem;
    size_t max_body;
    const cs_auth_t *auth;
    char started[32];             /* CapabilityStatement.date */
    cs_records_token_t tokens[CS_RECORDS_MAX_TOKENS];
    size_t n_tokens;
};

/* A reply with a FHIR JSON body (json malloc'd; NULL → 500). Returns 1. */
int cs_fhir_reply(cs_http_response_t *resp, int status, char *json);
/* An OperationOutcome with one error issue. Returns 1. */
int cs_fhir_outcome(cs_http_response_t *resp, int status, const char *code,
                    const char *diagnostics, const char *expression);

/* POST /fhir/auth/token; audience is the URL it must be named by. Writes
 * its access_log row. Returns 1. */
int cs_records_token_endpoint(cs_records_t *r, const cs_http_request_t *req,
                              const char *audience, int64_t now_ms, cs_http_response_t *resp);
/* A token request's form (token.c; here for its fuzz target). */
typedef struct {
    char grant_type[64];
    char assertion_type[96];
    char scope[512];
    char client_id[128];
    char *assertion; /* points into the decoded copy of the body */
    unsigned seen;   /* the parameters already given, to refuse repeats: bit k for
                        grant_type, client_assertion_type, scope, client_id,
                        client_assertion in that order */
} cs_records_form_t;

/* The request's body (copied into buf of size bytes, decoded there) as
 * fields; false when malformed: empty, not shorter than size, a NUL, a pair
 * without '=', a bad or %00 escape, a field given twice or too long for its
 * buffer. Unknown fields are ignored (OAuth2). */
bool cs_records_form_parse(const cs_http_request_t *req, char *buf, size_t size,
                           cs_records_form_t *f);
/* The types (1u << cs_fhir_type_t) a scope parameter lets a client write:
 * system/<Type|*>.<permissions that create or update>; given false (no scope
 * parameter): every type. */
unsigned cs_records_scope_types(const char *scope, bool given);
/* The types a live access token may write, or 0 when it is not one. */
unsigned cs_records_token_check(cs_records_t *r, const char *token, int64_t now_ms);
/* A PEM public key a SMART client may sign with: EC P-384 or RSA >= 2048 bits. */
bool cs_records_smart_key_ok(const char *pem);
/* Bytes equal, in time that does not depend on where they differ. */
bool cs_records_same(const char *a, const char *b);

#endif
