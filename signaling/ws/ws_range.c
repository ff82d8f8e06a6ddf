/*
 * ws_range.c — the Range request header (RFC 9110 §14.1-14.2) reduced to the
 * one byte range a streamed response serves. The value is untrusted: it is
 * walked once, up to its NUL and never past it, with no allocation; numbers
 * are checked for 64-bit overflow before they grow.
 */
#include "ws.h"

#include <strings.h>

#include "common/common.h"

struct spec {
    bool suffix;    /* "-n": the last n bytes */
    bool open;      /* "a-": from a to the end */
    uint64_t a, b;  /* first and last position, or the suffix length in a */
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1*DIGIT; false without a digit or past UINT64_MAX. */
static bool parse_u64(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (!is_digit(*p))
        return false;
    for (; is_digit(*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return true;
}

/* int-range ("a-" or "a-b", b >= a) or suffix-range ("-n"). */
static bool parse_spec(const char **s, struct spec *r)
{
    const char *p = *s;
    *r = (struct spec){0};
    if (*p == '-') {
        p++;
        r->suffix = true;
        if (!parse_u64(&p, &r->a))
            return false;
    } else {
        if (!parse_u64(&p, &r->a) || *p != '-')
            return false;
        p++;
        r->open = !is_digit(*p);
        if (!r->open && (!parse_u64(&p, &r->b) || r->b < r->a))
            return false;
    }
    *s = p;
    return true;
}

/* Exactly one non-empty element in the comma list, OWS only next to commas
 * (and at the end, where a field value's own trailing OWS may remain). */
static bool parse_set(const char *p, struct spec *r)
{
    int n = 0;
    for (;;) {
        if (*p == ',') {
            for (p++; is_ows(*p); p++)
                ;
            continue;
        }
        if (*p == '\0')
            return n == 1;
        if (++n > 1 || !parse_spec(&p, r))
            return false; /* several ranges are as good as none here */
        while (is_ows(*p))
            p++;
        if (*p != ',' && *p != '\0')
            return false;
    }
}

int cs_http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!first || !last)
        return CS_EINVAL;
    if (!value)
        return CS_ENOTFOUND;
    const char *p = value;
    while (is_ows(*p))
        p++;
    /* The unit and its '=', case-insensitively; a shorter value stops at its NUL. */
    static const char unit[] = "bytes=";
    struct spec r = {0};
    if (strncasecmp(p, unit, sizeof unit - 1) != 0 || !parse_set(p + sizeof unit - 1, &r))
        return CS_ENOTFOUND;
    if (size == 0)
        return CS_ELIMIT; /* nothing to cut a range from */
    if (r.suffix) {
        if (r.a == 0)
            return CS_ELIMIT;
        *first = r.a >= size ? 0 : size - r.a;
        *last = size - 1;
        return CS_OK;
    }
    if (r.a >= size)
        return CS_ELIMIT;
    *first = r.a;
    *last = r.open || r.b >= size ? size - 1 : r.b;
    return CS_OK;
}
