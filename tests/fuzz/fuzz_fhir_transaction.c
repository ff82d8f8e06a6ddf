/*
 * fuzz_fhir_transaction.c — libFuzzer target: what a writer may POST to the
 * built-in record store (gateway/records/). The input is a transaction
 * Bundle's bytes for the pure planner, which must never read past them and
 * must either accept a plan that keeps the store's limits or refuse with a
 * 400/422 whose OperationOutcome text is valid UTF-8. The same bytes, when
 * they are a short text, are also a search query for every type and a date.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "gateway/records/records_internal.h"

static void check_issue(const cs_fhir_issue_t *issue, bool search)
{
    CHECK(search ? issue->status == 400 : issue->status == 400 || issue->status == 422);
    CHECK(issue->code[0] && issue->diagnostics[0]);
    CHECK(cs_utf8_valid(issue->diagnostics, strlen(issue->diagnostics)));
    CHECK(cs_utf8_valid(issue->expression, strlen(issue->expression)));
}

static void check_entry(const cs_fhir_entry_t *e)
{
    CHECK((unsigned)e->type < CS_FHIR_TYPE_COUNT && e->resource);
    CHECK(!e->put || cs_fhir_id_valid(e->id));
    CHECK(!e->conditional || (e->cond.value && e->cond.value[0]));
    CHECK(e->n_identifiers <= CS_RECORDS_MAX_IDENTIFIERS);
    CHECK(e->n_centres <= CS_RECORDS_MAX_CENTRES && e->n_inline <= CS_RECORDS_MAX_CONTENT);
    CHECK(!e->has_date || e->date_lo < e->date_hi);
    for (size_t k = 0; k < e->n_identifiers; k++)
        CHECK(e->identifiers[k].system && e->identifiers[k].value &&
              strlen(e->identifiers[k].value) <= CS_RECORDS_MAX_TEXT);
    for (size_t k = 0; k < e->n_inline; k++)
        CHECK(cs_fhir_content_type_valid(e->inline_data[k].content_type));
    CHECK(e->type == CS_FHIR_DOCUMENT_REFERENCE || e->n_inline == 0);
}

static void fuzz_plan(const uint8_t *data, size_t size)
{
    cs_fhir_plan_t *plan = NULL;
    cs_fhir_issue_t issue;
    int rc = cs_fhir_plan_parse((const char *)data, size, "urn:consilium", &plan, &issue);
    if (rc == CS_ENOMEM)
        return;
    if (rc != CS_OK) {
        CHECK(rc == CS_EINVAL && !plan);
        check_issue(&issue, false);
        return;
    }
    CHECK(plan && cs_fhir_plan_entries(plan) <= CS_RECORDS_MAX_ENTRIES);
    for (size_t i = 0; i < plan->n; i++)
        check_entry(&plan->entries[i]);
    cs_fhir_plan_free(plan);
}

static void fuzz_query(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    if (!q)
        return;
    memcpy(q, data, size);
    q[size] = '\0';
    static cs_fhir_search_t s;
    for (int t = 0; t < CS_FHIR_TYPE_COUNT; t++) {
        cs_fhir_issue_t issue;
        if (cs_fhir_search_parse((cs_fhir_type_t)t, q, &s, &issue) != CS_OK) {
            check_issue(&issue, true);
            continue;
        }
        CHECK(s.n_conds <= CS_RECORDS_MAX_PARAMS && s.count >= 0 &&
              s.count <= CS_RECORDS_COUNT_MAX);
        for (size_t c = 0; c < s.n_conds; c++)
            CHECK(s.conds[c].n <= CS_RECORDS_MAX_OR &&
                  (s.conds[c].kind != CS_RECORDS_Q_DATE || s.conds[c].lo < s.conds[c].hi));
    }
    int64_t lo, hi;
    if (cs_fhir_date_range(q, &lo, &hi) == CS_OK)
        CHECK(lo < hi);
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_plan(data, size);
    if (size < 4096 && !memchr(data, 0, size))
        fuzz_query(data, size);
    return 0;
}
