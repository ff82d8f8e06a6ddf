/*
 * fhir_values.c — the small FHIR value syntaxes the record store reads from
 * untrusted text: resource type names, ids, dates as ranges of time,
 * base64, search tokens (system|value), percent-encoding and media types.
 * Pure functions; each one reads only the bytes it is given.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "records_internal.h"

static const char *const type_names[CS_FHIR_TYPE_COUNT] = {
    [CS_FHIR_PATIENT] = "Patient",     [CS_FHIR_ENCOUNTER] = "Encounter",
    [CS_FHIR_CONDITION] = "Condition", [CS_FHIR_DOCUMENT_REFERENCE] = "DocumentReference",
    [CS_FHIR_BINARY] = "Binary",
};

const char *cs_fhir_type_name(cs_fhir_type_t t)
{
    return (unsigned)t < CS_FHIR_TYPE_COUNT ? type_names[t] : "?";
}

int cs_fhir_type_parse(const char *s)
{
    for (int i = 0; s && i < CS_FHIR_TYPE_COUNT; i++)
        if (strcmp(s, type_names[i]) == 0)
            return i;
    return -1;
}

bool cs_fhir_id_valid(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
        if (!ok || n >= CS_RECORDS_ID_MAX)
            return false;
    }
    return n > 0;
}

/* ---- dates ----------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count
 * years from March, so the leap day is the last day of its year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2)
        y -= 1;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* n decimal digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Z, ±hh:mm (a space for '+'), or nothing (UTC): the offset in ms. */
static bool zone(const char **p, int64_t *offset_ms)
{
    const char *s = *p;
    *offset_ms = 0;
    if (*s == 'Z') {
        *p = s + 1;
        return true;
    }
    if (*s != '+' && *s != '-' && *s != ' ')
        return true;
    int sign = *s == '-' ? -1 : 1, hh, mm;
    s++;
    if (!digits(&s, 2, &hh) || *s++ != ':' || !digits(&s, 2, &mm) || hh > 14 || mm > 59)
        return false;
    *offset_ms = sign * ((int64_t)hh * 3600000 + (int64_t)mm * 60000);
    *p = s;
    return true;
}

/* Thh:mm[:ss[.fff]]zone after a date: ms since midnight and the width of
 * its precision. */
static bool time_of_day(const char **p, int64_t *ms, int64_t *width, int64_t *offset_ms)
{
    const char *s = *p;
    int hh, mi, ss = 0;
    if (!digits(&s, 2, &hh) || *s++ != ':' || !digits(&s, 2, &mi) || hh > 23 || mi > 59)
        return false;
    *width = 60000;
    int64_t frac = 0;
    if (*s == ':') {
        s++;
        if (!digits(&s, 2, &ss) || ss > 60) /* 60: a leap second */
            return false;
        *width = 1000;
        if (*s == '.') {
            s++;
            int n = 0;
            for (; s[n] >= '0' && s[n] <= '9'; n++)
                if (n < 3) {
                    frac = frac * 10 + (s[n] - '0');
                    *width /= 10;
                }
            if (n == 0)
                return false;
            for (int k = n; k < 3; k++)
                frac *= 10;
            s += n;
        }
    }
    *ms = (int64_t)hh * 3600000 + (int64_t)mi * 60000 + (int64_t)ss * 1000 + frac;
    *p = s;
    return zone(p, offset_ms);
}

int cs_fhir_date_range(const char *s, int64_t *lo, int64_t *hi)
{
    int y, m = 1, d = 1;
    const char *p = s;
    if (!s || !digits(&p, 4, &y) || y < 1)
        return CS_EINVAL;
    int precision = 0; /* 0 year, 1 month, 2 day */
    if (*p == '-') {
        p++;
        if (!digits(&p, 2, &m) || m < 1 || m > 12)
            return CS_EINVAL;
        precision = 1;
        if (*p == '-') {
            p++;
            if (!digits(&p, 2, &d) || d < 1 || d > days_in_month(y, m))
                return CS_EINVAL;
            precision = 2;
        }
    }
    int64_t day = days_from_civil(y, m, d) * 86400000LL;
    if (precision == 2 && *p == 'T') {
        p++;
        int64_t ms, width, offset;
        if (!time_of_day(&p, &ms, &width, &offset) || *p)
            return CS_EINVAL;
        *lo = day + ms - offset;
        *hi = *lo + width;
        return CS_OK;
    }
    if (*p)
        return CS_EINVAL;
    *lo = day;
    if (precision == 0)
        *hi = days_from_civil(y + 1, 1, 1) * 86400000LL;
    else if (precision == 1)
        *hi = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400000LL;
    else
        *hi = day + 86400000LL;
    return CS_OK;
}

/* ---- base64 ------------------------------------------------------------------ */

static bool b64_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cs_fhir_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    if (!buf)
        return CS_ENOMEM;
    size_t n = 0, quad = 0, pad = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (b64_space(c))
            continue;
        int v = c == '=' ? 0 : cs_base64_value(c, false);
        /* '=' only in the last two places of the last group */
        if (v < 0 || (c == '=' && quad < 2) || (c != '=' && pad)) {
            free(buf);
            return CS_EINVAL;
        }
        pad += c == '=';
        acc = acc << 6 | (uint32_t)v;
        if (++quad == 4) {
            buf[n++] = (unsigned char)(acc >> 16);
            if (pad < 2)
                buf[n++] = (unsigned char)(acc >> 8);
            if (pad < 1)
                buf[n++] = (unsigned char)acc;
            quad = 0;
            acc = 0;
            if (pad)
                pad = 3; /* nothing may follow a padded group */
        } else if (pad == 3) {
            free(buf);
            return CS_EINVAL;
        }
    }
    if (quad != 0) {
        free(buf);
        return CS_EINVAL;
    }
    *out = buf;
    *out_len = n;
    return CS_OK;
}

/* ---- tokens, percent-encoding, media types, UTF-8 ----------------------------------- */

int cs_fhir_token_parse(char *s, cs_records_ident_t *out)
{
    char *bar = strchr(s, '|');
    if (!bar) {
        out->system = NULL;
        out->value = s;
        return *s ? CS_OK : CS_EINVAL;
    }
    *bar = '\0';
    out->system = s;
    out->value = bar[1] ? bar + 1 : NULL;
    return *s || out->value ? CS_OK : CS_EINVAL;
}

int cs_fhir_percent_decode(const char *in, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            if (len - i < 3)
                return CS_EINVAL;
            int hi = cs_hex_digit(in[i + 1]), lo = cs_hex_digit(in[i + 2]);
            if (hi < 0 || lo < 0)
                return CS_EINVAL;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0)
            return CS_EINVAL;
        if (n + 1 >= size)
            return CS_ETOOBIG;
        out[n++] = (char)c;
    }
    if (size == 0)
        return CS_ETOOBIG;
    out[n] = '\0';
    return CS_OK;
}

bool cs_fhir_content_type_valid(const char *s)
{
    size_t n = strlen(s), slash = strcspn(s, "/");
    if (n == 0 || n > CS_RECORDS_CONTENT_TYPE_MAX || slash == 0 || slash == n ||
        s[slash + 1] == '\0' || s[slash + 1] == ';')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0. */
static size_t utf8_char(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (c >= 0xf5 || n == 0)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* overlong, surrogates, beyond U+10FFFF */
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

void cs_fhir_utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_char(p);
        if (n == 0)
            *p = '?';
        p += n ? n : 1;
    }
}
