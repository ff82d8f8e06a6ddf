/*
 * fuzz_vp8_depack.c — libFuzzer target for media/postproc's VP8
 * depacketiser and reorder buffer, which take RTP payloads a remote browser
 * chose.
 *
 * The input is a sequence of packets, each: a control byte (bits 0-2: how
 * far the sequence number moves, 0 meaning one back; bit 3: marker; bit 4:
 * a new timestamp; bits 5-7: the packet's mapped time step), a length byte,
 * and that many payload bytes (fewer at the end of the input). Every packet
 * goes once straight into a depacketiser, with whatever sequence numbers
 * the input makes up, and once through the reorder buffer (as pass 2 does)
 * into another, each payload in an exact-size heap copy so ASan catches a
 * read past its end. Checked on every input: frames are never longer than
 * the bytes fed since the previous one, nor than CS_PP_VP8_FRAME_MAX; the
 * first frame out is a keyframe; the reorder buffer releases strictly
 * increasing sequence numbers only when due, released plus lost covers
 * every number in between, and it never leaks a pooled buffer.
 *
 *   build/fuzz/fuzz_vp8_depack -max_total_time=120 tests/fuzz/corpus/vp8_depack
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "media/postproc/internal.h"

typedef struct {
    cs_pp_vp8_t d;
    size_t fed;                      /* payload bytes since the last frame */
    bool any;
    uint64_t frames;
} sink_t;

static void feed(sink_t *s, int64_t ext, uint32_t ts, bool marker, const uint8_t *p, size_t n)
{
    uint8_t *copy = n ? malloc(n) : NULL;
    if (n) {
        CHECK(copy);
        memcpy(copy, p, n);
    }
    cs_pp_vp8_frame_t f;
    s->fed += n;
    int rc = cs_pp_vp8_push(&s->d, ext, ts, marker, copy, n, &f);
    CHECK(rc == 0 || rc == 1);
    if (rc == 1) {
        CHECK(f.len <= s->fed && f.len <= CS_PP_VP8_FRAME_MAX && f.data);
        CHECK(f.ts == ts && marker);
        CHECK(s->any || f.keyframe);
        s->any = true;
        s->fed = 0;
        s->frames++;
    }
    free(copy);
}

/* The reorder buffer in front of a second depacketiser, as pass 2 has it. */
typedef struct {
    cs_pp_pool_t pool;
    cs_pp_jb_t jb;
    sink_t out;
    int64_t first, last, pushed, popped;
    uint64_t lost;
} ordered_t;

static void through_buffer(ordered_t *o, int64_t ext, int64_t rec_us, uint32_t ts, bool marker,
                           const uint8_t *p, size_t n)
{
    cs_pp_pkt_t *k = cs_pp_pool_get(&o->pool);
    CHECK(k);
    k->ext_seq = ext;
    k->rec_us = rec_us;
    k->ts = ts;
    k->marker = marker;
    k->len = (uint16_t)n;
    memcpy(k->data, p, n);
    int rc = cs_pp_jb_push(&o->jb, k);
    CHECK(rc == CS_OK || rc == CS_EEXIST || rc == CS_ESTATE || rc == CS_ELIMIT);
    if (rc != CS_OK)
        cs_pp_pool_put(&o->pool, k);
    else
        o->pushed++;
    cs_pp_pkt_t *r;
    uint64_t lost;
    while ((r = cs_pp_jb_pop(&o->jb, rec_us - 20000, &lost))) {
        CHECK(r->rec_us <= rec_us - 20000);
        CHECK(!o->popped || (r->ext_seq > o->last && (uint64_t)(r->ext_seq - o->last - 1) == lost));
        if (!o->popped)
            o->first = r->ext_seq;
        o->last = r->ext_seq;
        o->lost += lost;
        o->popped++;
        feed(&o->out, r->ext_seq, r->ts, r->marker, r->data, r->len);
        cs_pp_pool_put(&o->pool, r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sink_t direct;
    static ordered_t ord;
    memset(&direct, 0, sizeof direct);
    memset(&ord, 0, sizeof ord);
    cs_pp_vp8_init(&direct.d);
    cs_pp_vp8_init(&ord.out.d);
    cs_pp_pool_init(&ord.pool);
    CHECK(cs_pp_jb_init(&ord.jb) == CS_OK);
    int64_t ext = 1000, rec_us = 0;
    uint32_t ts = 0;
    size_t pos = 0;
    while (pos + 2 <= size) {
        uint8_t ctl = data[pos], len = data[pos + 1];
        pos += 2;
        size_t n = size - pos < len ? size - pos : len;
        const uint8_t *p = data + pos;
        pos += n;
        ext += (ctl & 7) ? (ctl & 7) : -1;
        if (ctl & 0x10)
            ts += 3000;
        rec_us += (ctl >> 5) * 10000;
        feed(&direct, ext, ts, ctl & 8, p, n);
        through_buffer(&ord, ext, rec_us, ts, ctl & 8, p, n);
    }
    CHECK((size_t)(ord.pushed - ord.popped) == ord.jb.count && ord.pool.in_use == ord.jb.count);
    /* Everything between the first and the last released is accounted for. */
    CHECK(!ord.popped || (uint64_t)(ord.last - ord.first + 1) == (uint64_t)ord.popped + ord.lost);
    cs_pp_jb_free(&ord.jb, &ord.pool);
    CHECK(ord.pool.in_use == 0);
    cs_pp_pool_free(&ord.pool);
    CHECK(direct.d.frames == direct.frames && ord.out.d.frames == ord.out.frames);
    cs_pp_vp8_free(&direct.d);
    cs_pp_vp8_free(&ord.out.d);
    return 0;
}
