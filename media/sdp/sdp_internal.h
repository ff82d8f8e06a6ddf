/*
 * sdp_internal.h — what the files of media/sdp share and nobody else sees:
 * spans over the input (the text is never NUL-terminated, so every scan is
 * bounded by a length), the parse context and the error helper.
 */
#ifndef CS_SDP_INTERNAL_H
#define CS_SDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/sdp/sdp.h"

/* A slice of the input: p[0..n). */
typedef struct {
    const char *p;
    size_t n;
} cs_sdp_span_t;

/* The parser's position: the current section (NULL before the first m=). */
typedef struct {
    cs_sdp_t *sdp;
    cs_sdp_media_t *m;
    unsigned line;
    cs_sdp_error_t *err;
} cs_sdp_ctx_t;

/* Fills err (if not NULL) with code, line and "line N: <message>"; returns code. */
int cs_sdp_fail(cs_sdp_error_t *err, unsigned line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Splits the next word (separated by spaces or tabs) off *s; false at the end. */
bool cs_sdp_next_word(cs_sdp_span_t *s, cs_sdp_span_t *word);
/* *s without leading spaces and tabs. */
cs_sdp_span_t cs_sdp_skip_space(cs_sdp_span_t s);
/* Splits *s at the first c: *head gets what is before, *s what is after (or
 * nothing when c is absent); returns whether c was found. */
bool cs_sdp_split(cs_sdp_span_t *s, char c, cs_sdp_span_t *head);
bool cs_sdp_eq(cs_sdp_span_t s, const char *lit);
/* RFC 8851 rid-id: one or more of ALPHA / DIGIT / "-" / "_". */
bool cs_sdp_rid_valid(cs_sdp_span_t s);
bool cs_sdp_ieq(cs_sdp_span_t s, const char *lit);
/* Decimal digits only, at most max; no sign, no leading '+'. */
bool cs_sdp_u32(cs_sdp_span_t s, uint32_t max, uint32_t *out);
bool cs_sdp_u64(cs_sdp_span_t s, uint64_t *out);
/* RFC 8866 token characters only, at least one. */
bool cs_sdp_is_token(cs_sdp_span_t s);
/* Visible characters (no space, no control), at least one. */
bool cs_sdp_is_word(cs_sdp_span_t s);
/* Copies s into dst[size] NUL-terminated, zero-filling the rest (so parsed
 * structs compare with memcmp); CS_ETOOBIG when s does not fit. */
int cs_sdp_copy(char *dst, size_t size, cs_sdp_span_t s);
/* Same for a NUL-terminated string. */
int cs_sdp_copy_str(char *dst, size_t size, const char *s);

/* Bounded text output: appends while it fits, then remembers it did not. */
typedef struct {
    char *buf;
    size_t cap, len;
    bool over;
} cs_sdp_out_t;

void cs_sdp_out(cs_sdp_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* RFC 8839 ice-char only (ALPHA / DIGIT / "+" / "/"), at least one. */
bool cs_sdp_is_ice_chars(cs_sdp_span_t s);
/* Span over a NUL-terminated string. */
cs_sdp_span_t cs_sdp_span(const char *s);

/* One a= line (name and value after the ':'), dispatched by table. */
int cs_sdp_attr(cs_sdp_ctx_t *c, cs_sdp_span_t name, cs_sdp_span_t value);
/* Attribute parsers that live outside sdp_attr.c's table file. */
int cs_sdp_attr_ssrc(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg);
int cs_sdp_attr_ssrc_group(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg);
int cs_sdp_attr_rid(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg);
int cs_sdp_attr_simulcast(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg);
int cs_sdp_attr_candidate(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg);
/* a=candidate value after "candidate:"; line is for messages. */
int cs_sdp_candidate_span(cs_sdp_span_t v, cs_sdp_candidate_t *out, cs_sdp_error_t *err,
                          unsigned line);
/* Byte length of each hash's digest, 0 for NONE. */
unsigned cs_sdp_hash_len(cs_sdp_hash_t h);

#endif
