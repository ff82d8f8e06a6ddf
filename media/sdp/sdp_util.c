/*
 * sdp_util.c — the small pieces every SDP file uses: bounded scanning of
 * spans, number and token checks, copying into fixed fields, the error
 * helper, wire names, and lookups over a parsed description.
 */
#include "media/sdp/sdp_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"

int cs_sdp_fail(cs_sdp_error_t *err, unsigned line, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->line = line;
    int n = line ? snprintf(err->message, sizeof err->message, "line %u: ", line) : 0;
    if (n < 0 || (size_t)n >= sizeof err->message)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

cs_sdp_span_t cs_sdp_skip_space(cs_sdp_span_t s)
{
    while (s.n && is_space(*s.p))
        s.p++, s.n--;
    return s;
}

bool cs_sdp_next_word(cs_sdp_span_t *s, cs_sdp_span_t *word)
{
    *s = cs_sdp_skip_space(*s);
    if (!s->n)
        return false;
    size_t i = 0;
    while (i < s->n && !is_space(s->p[i]))
        i++;
    *word = (cs_sdp_span_t){s->p, i};
    s->p += i;
    s->n -= i;
    return true;
}

bool cs_sdp_split(cs_sdp_span_t *s, char ch, cs_sdp_span_t *head)
{
    const char *at = s->n ? memchr(s->p, ch, s->n) : NULL;
    if (!at) {
        *head = *s;
        *s = (cs_sdp_span_t){s->p + s->n, 0};
        return false;
    }
    *head = (cs_sdp_span_t){s->p, (size_t)(at - s->p)};
    s->n -= (size_t)(at - s->p) + 1;
    s->p = at + 1;
    return true;
}

bool cs_sdp_eq(cs_sdp_span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

bool cs_sdp_ieq(cs_sdp_span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

bool cs_sdp_u64(cs_sdp_span_t s, uint64_t *out)
{
    if (s.n == 0 || s.n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool cs_sdp_u32(cs_sdp_span_t s, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (s.n > 10 || !cs_sdp_u64(s, &v) || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* RFC 8866 token-char: visible ASCII except " ( ) , / : ; < = > ? @ [ \ ]. */
static bool token_char(unsigned char ch)
{
    if (ch <= 0x20 || ch >= 0x7f)
        return false;
    return !strchr("\"(),/:;<=>?@[\\]", ch);
}

bool cs_sdp_is_token(cs_sdp_span_t s)
{
    if (!s.n)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!token_char((unsigned char)s.p[i]))
            return false;
    return true;
}

bool cs_sdp_is_word(cs_sdp_span_t s)
{
    if (!s.n)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch <= 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

int cs_sdp_copy(char *dst, size_t size, cs_sdp_span_t s)
{
    if (s.n >= size)
        return CS_ETOOBIG;
    if (s.n)
        memcpy(dst, s.p, s.n);
    memset(dst + s.n, 0, size - s.n);
    return CS_OK;
}

int cs_sdp_copy_str(char *dst, size_t size, const char *s)
{
    return cs_sdp_copy(dst, size, (cs_sdp_span_t){s, strlen(s)});
}

cs_sdp_span_t cs_sdp_span(const char *s)
{
    return (cs_sdp_span_t){s, strlen(s)};
}

bool cs_sdp_is_ice_chars(cs_sdp_span_t s)
{
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
        if (!ok)
            return false;
    }
    return s.n > 0;
}

void cs_sdp_out(cs_sdp_out_t *o, const char *fmt, ...)
{
    if (o->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->over = true;
        o->buf[o->len] = '\0'; /* never leave half a line behind */
        return;
    }
    o->len += (size_t)n;
}

/* ---- wire names ----------------------------------------------------------- */

const char *cs_sdp_direction_name(cs_sdp_direction_t d)
{
    static const char *const names[] = {"", "sendrecv", "sendonly", "recvonly", "inactive"};
    return (unsigned)d < CS_ARRAY_LEN(names) ? names[d] : "";
}

const char *cs_sdp_setup_name(cs_sdp_setup_t s)
{
    static const char *const names[] = {"", "actpass", "active", "passive", "holdconn"};
    return (unsigned)s < CS_ARRAY_LEN(names) ? names[s] : "";
}

const char *cs_sdp_hash_name(cs_sdp_hash_t h)
{
    static const char *const names[] = {"", "sha-1", "sha-224", "sha-256", "sha-384", "sha-512"};
    return (unsigned)h < CS_ARRAY_LEN(names) ? names[h] : "";
}

unsigned cs_sdp_hash_len(cs_sdp_hash_t h)
{
    static const unsigned lens[] = {0, 20, 28, 32, 48, 64};
    return (unsigned)h < CS_ARRAY_LEN(lens) ? lens[h] : 0;
}

const char *cs_sdp_cand_type_name(cs_sdp_cand_type_t t)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    return (unsigned)t < CS_ARRAY_LEN(names) ? names[t] : "";
}

/* ---- lookups -------------------------------------------------------------- */

const cs_sdp_media_t *cs_sdp_media_by_mid(const cs_sdp_t *sdp, const char *mid)
{
    for (unsigned i = 0; i < sdp->n_media && i < CS_SDP_MAX_MEDIA; i++)
        if (sdp->media[i].mid[0] && strcmp(sdp->media[i].mid, mid) == 0)
            return &sdp->media[i];
    return NULL;
}

const cs_sdp_codec_t *cs_sdp_codec_by_pt(const cs_sdp_media_t *m, unsigned pt)
{
    for (unsigned i = 0; i < m->n_codecs && i < CS_SDP_MAX_CODECS; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

const cs_sdp_codec_t *cs_sdp_rtx_for(const cs_sdp_media_t *m, unsigned pt)
{
    for (unsigned i = 0; i < m->n_codecs && i < CS_SDP_MAX_CODECS; i++) {
        const cs_sdp_codec_t *c = &m->codecs[i];
        if (strcasecmp(c->name, "rtx") == 0 && c->params.apt == (int)pt)
            return c;
    }
    return NULL;
}

unsigned cs_sdp_extmap_id(const cs_sdp_media_t *m, const char *uri)
{
    for (unsigned i = 0; i < m->n_extmaps && i < CS_SDP_MAX_EXTMAPS; i++)
        if (strcmp(m->extmaps[i].uri, uri) == 0)
            return m->extmaps[i].id;
    return 0;
}

bool cs_sdp_in_bundle(const cs_sdp_t *sdp, const char *mid)
{
    if (!mid[0])
        return false;
    for (unsigned i = 0; i < sdp->n_bundle && i < CS_SDP_MAX_MEDIA; i++)
        if (strcmp(sdp->bundle[i], mid) == 0)
            return true;
    return false;
}

bool cs_sdp_rid_valid(cs_sdp_span_t s)
{
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return s.n > 0;
}
