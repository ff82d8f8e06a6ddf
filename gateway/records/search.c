/*
 * search.c — FHIR search on the record store: the query string becomes
 * conditions (parsing is pure), the storage layer finds what the viewer may
 * see, and the matches become a searchset Bundle.
 *
 * Parameters, by type (all: _id, _count, _format):
 *   Patient            identifier
 *   Encounter          identifier, patient, subject, date
 *   Condition          identifier, patient, subject
 *   DocumentReference  identifier (masterIdentifier too), patient, subject, date
 * patient takes Patient/<id> or <id>; subject takes Patient/<id> (or <id>
 * with :Patient); both take system|value with :identifier. date takes
 * eq, ge, le, gt, lt on a date or an instant. Strict: any other parameter,
 * modifier or prefix is a 400, so a search never silently means something
 * broader than what was asked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "records_internal.h"

enum { P_IDENTIFIER = 1, P_PATIENT = 2, P_SUBJECT = 4, P_DATE = 8 };

static unsigned params_of(cs_fhir_type_t t)
{
    switch (t) {
    case CS_FHIR_PATIENT:
        return P_IDENTIFIER;
    case CS_FHIR_ENCOUNTER:
    case CS_FHIR_DOCUMENT_REFERENCE:
        return P_IDENTIFIER | P_PATIENT | P_SUBJECT | P_DATE;
    case CS_FHIR_CONDITION:
        return P_IDENTIFIER | P_PATIENT | P_SUBJECT;
    case CS_FHIR_BINARY:
    case CS_FHIR_TYPE_COUNT:
        break;
    }
    return 0;
}

__attribute__((format(printf, 3, 4))) static int refuse(cs_fhir_issue_t *issue, const char *name,
                                                        const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cs_fhir_issue(issue, 400, "not-supported", name, "%s", msg);
}

/* Splits value at commas into c->values (OR). */
static int split_values(cs_fhir_issue_t *issue, const char *name, char *value, cs_records_cond_t *c)
{
    for (char *v = value;;) {
        char *comma = strchr(v, ',');
        if (comma)
            *comma = '\0';
        if (!*v)
            return refuse(issue, name, "%s has an empty value", name);
        if (c->n == CS_RECORDS_MAX_OR)
            return refuse(issue, name, "%s has more than %d values", name, CS_RECORDS_MAX_OR);
        c->values[c->n++] = (cs_records_ident_t){NULL, v};
        if (!comma)
            return CS_OK;
        v = comma + 1;
    }
}

static int tokens(cs_fhir_issue_t *issue, const char *name, cs_records_cond_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (cs_fhir_token_parse((char *)c->values[i].value, &c->values[i]) != CS_OK)
            return refuse(issue, name, "%s takes system|value", name);
    return CS_OK;
}

/* Patient/<id>, or <id> alone where the type is known. */
static int patient_ids(cs_fhir_issue_t *issue, const char *name, bool bare_ok, cs_records_cond_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *v = c->values[i].value;
        if (!strncmp(v, "Patient/", 8))
            v += 8;
        else if (!bare_ok)
            return refuse(issue, name, "%s takes Patient/<id> (only patients are subjects here)",
                          name);
        if (!cs_fhir_id_valid(v))
            return refuse(issue, name, "%s takes Patient/<id>", name);
        c->values[i].value = v;
    }
    return CS_OK;
}

static int date_param(cs_fhir_issue_t *issue, char *value, cs_records_cond_t *c)
{
    static const char *const prefixes[] = {"eq", "ge", "le", "gt", "lt"};
    c->prefix = CS_RECORDS_EQ;
    if (value[0] >= 'a' && value[0] <= 'z') {
        size_t k = 0;
        while (k < CS_ARRAY_LEN(prefixes) && strncmp(value, prefixes[k], 2) != 0)
            k++;
        if (k == CS_ARRAY_LEN(prefixes))
            return refuse(issue, "date", "date takes the prefixes eq, ge, le, gt, lt");
        c->prefix = (cs_records_prefix_t)k;
        value += 2;
    }
    if (cs_fhir_date_range(value, &c->lo, &c->hi) != CS_OK)
        return refuse(issue, "date", "date takes YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|+hh:mm]]]]");
    return CS_OK;
}

static int count_param(cs_fhir_issue_t *issue, const char *value, int64_t *count)
{
    int64_t n = 0;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9' || p - value > 9)
            return refuse(issue, "_count", "_count takes a whole number");
        n = n * 10 + (*p - '0');
    }
    if (!*value)
        return refuse(issue, "_count", "_count takes a whole number");
    *count = n > CS_RECORDS_COUNT_MAX ? CS_RECORDS_COUNT_MAX : n;
    return CS_OK;
}

/* One name[:modifier]=value into a condition (or _count / _format). */
static int param(cs_fhir_search_t *s, char *name, char *value, cs_fhir_issue_t *issue)
{
    char *mod = strchr(name, ':');
    if (mod)
        *mod++ = '\0';
    unsigned allowed = params_of(s->type);
    if (!strcmp(name, "_format") && !mod)
        return CS_OK; /* JSON is all we speak */
    if (!strcmp(name, "_count") && !mod)
        return count_param(issue, value, &s->count);
    if (s->n_conds == CS_RECORDS_MAX_PARAMS)
        return refuse(issue, name, "more than %d search parameters", CS_RECORDS_MAX_PARAMS);
    cs_records_cond_t *c = &s->conds[s->n_conds];
    memset(c, 0, sizeof *c);
    bool by_identifier = mod && !strcmp(mod, "identifier");
    bool by_patient = mod && !strcmp(mod, "Patient");
    int rc;
    if (!strcmp(name, "_id") && !mod) {
        c->kind = CS_RECORDS_Q_ID;
        rc = split_values(issue, name, value, c);
    } else if (!strcmp(name, "identifier") && !mod && (allowed & P_IDENTIFIER)) {
        c->kind = CS_RECORDS_Q_IDENTIFIER;
        if ((rc = split_values(issue, name, value, c)) == CS_OK)
            rc = tokens(issue, name, c);
    } else if ((!strcmp(name, "patient") && (allowed & P_PATIENT) && (!mod || by_identifier)) ||
               (!strcmp(name, "subject") && (allowed & P_SUBJECT) &&
                (!mod || by_identifier || by_patient))) {
        c->kind = by_identifier ? CS_RECORDS_Q_SUBJECT_IDENTIFIER : CS_RECORDS_Q_SUBJECT;
        if ((rc = split_values(issue, name, value, c)) == CS_OK)
            rc = by_identifier ? tokens(issue, name, c)
                               : patient_ids(issue, name, name[0] == 'p' || by_patient, c);
    } else if (!strcmp(name, "date") && !mod && (allowed & P_DATE)) {
        c->kind = CS_RECORDS_Q_DATE;
        rc = date_param(issue, value, c);
    } else if (mod && (!strcmp(name, "identifier") || !strcmp(name, "patient") ||
                       !strcmp(name, "subject") || !strcmp(name, "date"))) {
        return refuse(issue, name, "the modifier :%.32s is not supported on %s", mod, name);
    } else {
        return refuse(issue, name, "%.64s is not a search parameter of %s here", name,
                      cs_fhir_type_name(s->type));
    }
    s->n_conds += rc == CS_OK;
    return rc;
}

int cs_fhir_search_parse(cs_fhir_type_t type, const char *query, cs_fhir_search_t *out,
                         cs_fhir_issue_t *issue)
{
    memset(out, 0, sizeof *out);
    memset(issue, 0, sizeof *issue);
    out->type = type;
    out->count = CS_RECORDS_COUNT_DEFAULT;
    if (!params_of(type))
        return refuse(issue, cs_fhir_type_name(type), "%s cannot be searched here",
                      cs_fhir_type_name(type));
    if (strlen(query) >= sizeof out->buf)
        return refuse(issue, "", "the query is longer than %zu bytes", sizeof out->buf - 1);
    strcpy(out->buf, query);
    int rc = CS_OK;
    for (char *arg = out->buf; rc == CS_OK && arg;) {
        char *amp = strchr(arg, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(arg, '=');
        if (*arg && !eq)
            rc = refuse(issue, arg, "%.64s has no value", arg);
        else if (*arg) {
            *eq = '\0';
            rc = param(out, arg, eq + 1, issue);
        }
        arg = amp ? amp + 1 : NULL;
    }
    return rc;
}

/* ---- the searchset -------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    const char *base, *type;
    int64_t n;
} sink_t;

/* s as a JSON string (escaped by jansson). */
static int put_string(FILE *f, const char *s)
{
    json_t *j = json_string(s);
    int rc = j ? json_dumpf(j, f, JSON_ENCODE_ANY) : -1;
    json_decref(j);
    return rc ? CS_ENOMEM : CS_OK;
}

static int put_entry(void *user, const char *id, const char *json)
{
    sink_t *k = user;
    char url[512];
    snprintf(url, sizeof url, "%s/%s/%s", k->base, k->type, id);
    fputs(k->n ? ",{\"fullUrl\":" : "{\"fullUrl\":", k->f);
    if (put_string(k->f, url) != CS_OK)
        return CS_ENOMEM;
    /* stored JSON is what jansson wrote: embedded as it is */
    fprintf(k->f, ",\"resource\":%s,\"search\":{\"mode\":\"match\"}}", json);
    k->n++;
    return CS_OK;
}

int cs_fhir_search_run(cs_records_db_t *db, const cs_fhir_search_t *s,
                       const cs_records_view_t *view, const char *base_url, const char *query,
                       char **bundle, int64_t *returned)
{
    char *text = NULL, self[2600];
    size_t len = 0;
    *bundle = NULL;
    *returned = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return CS_ENOMEM;
    snprintf(self, sizeof self, "%s/%s%s%s", base_url, cs_fhir_type_name(s->type),
             *query ? "?" : "", query);
    cs_fhir_utf8_clean(self);
    sink_t k = {f, base_url, cs_fhir_type_name(s->type), 0};
    cs_records_query_t q = {cs_fhir_type_name(s->type), s->conds, s->n_conds, s->count};
    int64_t total = 0;
    fputs("{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"link\":[{\"relation\":"
          "\"self\",\"url\":",
          f);
    int rc = put_string(f, self);
    fputs("}],\"entry\":[", f);
    if (rc == CS_OK)
        rc = cs_records_db_search(db, &q, view, &total, put_entry, &k);
    fprintf(f, "],\"total\":%lld}", (long long)total);
    if (fclose(f) != 0 && rc == CS_OK)
        rc = CS_ENOMEM;
    if (rc != CS_OK) {
        free(text);
        return rc;
    }
    *bundle = text;
    *returned = k.n;
    return CS_OK;
}
