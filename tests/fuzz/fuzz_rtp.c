/*
 * fuzz_rtp.c — libFuzzer target for media/rtp.
 *
 * Parses arbitrary bytes as an RTP packet from an exact-size heap copy (so
 * ASan catches any read past the end) and checks the contract on every input:
 * only CS_OK or CS_EINVAL; a parsed packet's pieces lie inside the buffer and
 * add up to its length; every extension element lies inside the extension
 * body and cs_rtp_ext_find agrees with the iterator; rewriting an element
 * with its own value changes nothing; the setters change only their field;
 * serialising what parsed parses back to the same fields, elements and
 * payload; RTX wrap then unwrap gives the original back (without padding).
 * The payload parsers (VP8, H.264) and the sequence/jitter helpers run on
 * whatever the input provides.
 *
 * Build with `make fuzz` (clang, libFuzzer) and run e.g.
 *   build/fuzz/fuzz_rtp -max_total_time=120 tests/fuzz/corpus/rtp
 * `make test` replays tests/fuzz/corpus/rtp/ through the gcc build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "media/rtp/rtp.h"

static bool inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
    return p >= buf && (size_t)(p - buf) <= len && n <= len - (size_t)(p - buf);
}

/* Payload-format parsers take any bytes. */
static void payload_formats(const uint8_t *p, size_t n)
{
    cs_rtp_vp8_t v;
    int rc = cs_rtp_vp8_parse(p, n, &v);
    CHECK(rc == CS_OK || rc == CS_EINVAL);
    if (rc == CS_OK)
        CHECK(v.descriptor_len >= 1 && v.descriptor_len < n && v.partition_id < 8 && v.tid < 4 &&
              v.keyidx < 32 && (!v.keyframe || (v.start && v.partition_id == 0)));
    cs_rtp_h264_t h;
    rc = cs_rtp_h264_parse(p, n, &h);
    CHECK(rc == CS_OK || rc == CS_EINVAL || rc == CS_EUNSUPPORTED);
    if (rc == CS_OK)
        CHECK(h.keyframe == (h.has_idr || h.has_sps || h.has_pps) && h.nal_type > 0);
}

/* Every element, each typed parser on it; returns how many there are. */
static size_t walk_ext(const cs_rtp_packet_t *pkt, cs_rtp_ext_t *list, size_t max)
{
    cs_rtp_ext_iter_t it;
    cs_rtp_ext_t e, f;
    size_t n = 0;
    int rc;
    cs_rtp_ext_begin(pkt, &it);
    while ((rc = cs_rtp_ext_next(&it, &e)) == 1) {
        CHECK(e.id != 0 && inside(e.data, e.len, pkt->ext, pkt->ext_len));
        CHECK(cs_rtp_ext_find(pkt, e.id, &f) == CS_OK && f.id == e.id && f.data <= e.data);
        uint32_t v24;
        uint16_t s16;
        bool voice;
        uint8_t level;
        char str[CS_RTP_MID_MAX];
        if (cs_rtp_ext_abs_send_time(&e, &v24) == CS_OK)
            CHECK(v24 <= 0xFFFFFF && cs_rtp_abs_send_time_to_us(v24) <= 64000000);
        (void)cs_rtp_ext_twcc_seq(&e, &s16);
        if (cs_rtp_ext_audio_level(&e, &voice, &level) == CS_OK)
            CHECK(level <= 127);
        if (cs_rtp_ext_string(&e, str, sizeof str) == CS_OK)
            CHECK(strlen(str) >= 1 && strlen(str) <= e.len);
        if (n < max)
            list[n] = e;
        n++;
    }
    CHECK(rc == 0);     /* a parsed packet's elements never fail */
    return n;
}

static void check_reparse(const cs_rtp_packet_t *a, const cs_rtp_ext_t *ea, size_t na,
                          const uint8_t *out, size_t len)
{
    cs_rtp_packet_t b;
    CHECK(cs_rtp_parse(out, len, &b) == CS_OK);
    CHECK(b.hdr.marker == a->hdr.marker && b.hdr.payload_type == a->hdr.payload_type &&
          b.hdr.seq == a->hdr.seq && b.hdr.timestamp == a->hdr.timestamp &&
          b.hdr.ssrc == a->hdr.ssrc && b.hdr.csrc_count == a->hdr.csrc_count &&
          b.hdr.padding_len == a->hdr.padding_len && b.payload_len == a->payload_len);
    CHECK(!memcmp(b.hdr.csrc, a->hdr.csrc, sizeof(uint32_t) * a->hdr.csrc_count));
    CHECK(!a->payload_len || !memcmp(b.payload, a->payload, a->payload_len));
    cs_rtp_ext_t *eb = malloc(sizeof *eb * (na ? na : 1));
    CHECK(eb);
    CHECK(walk_ext(&b, eb, na) == na);
    for (size_t i = 0; i < na; i++)
        CHECK(eb[i].id == ea[i].id && eb[i].len == ea[i].len &&
              (!ea[i].len || !memcmp(eb[i].data, ea[i].data, ea[i].len)));
    free(eb);
}

static void serialise(const cs_rtp_packet_t *pkt, size_t size)
{
    size_t max = pkt->ext_len / 2 + 1;
    cs_rtp_ext_t *list = malloc(sizeof *list * max);
    CHECK(list);
    size_t n = walk_ext(pkt, list, max);
    CHECK(n <= max);
    /* Canonical padding only shrinks an RFC 8285 block; other profiles are
     * dropped; so the output is never larger than the input. */
    size_t cap = size + 8;
    uint8_t *out = malloc(cap);
    CHECK(out);
    int w = cs_rtp_serialise(&pkt->hdr, list, n, pkt->payload, pkt->payload_len, out, cap);
    CHECK(w > 0 && (size_t)w <= size);
    check_reparse(pkt, list, n, out, (size_t)w);
    CHECK(cs_rtp_serialise(&pkt->hdr, list, n, pkt->payload, pkt->payload_len, out,
                           (size_t)w - 1) == CS_ETOOBIG);
    free(out);
    free(list);
}

/* Setters change their field and nothing else; ext_set with the same value
 * is a no-op. */
static void setters(const uint8_t *buf, size_t size, const cs_rtp_packet_t *pkt)
{
    uint8_t *c = malloc(size);
    CHECK(c);
    memcpy(c, buf, size);
    const uint16_t nseq = (uint16_t)(pkt->hdr.seq + 12345);
    const uint32_t nts = pkt->hdr.timestamp + 0x9e3779b9u, nssrc = pkt->hdr.ssrc ^ 0x5a5a5a5au;
    const uint8_t npt = (uint8_t)(127 - pkt->hdr.payload_type);
    CHECK(cs_rtp_set_seq(c, size, nseq) == CS_OK);
    CHECK(cs_rtp_set_timestamp(c, size, nts) == CS_OK);
    CHECK(cs_rtp_set_ssrc(c, size, nssrc) == CS_OK);
    CHECK(cs_rtp_set_marker(c, size, !pkt->hdr.marker) == CS_OK);
    CHECK(cs_rtp_set_payload_type(c, size, npt) == CS_OK);
    uint16_t seq;
    uint32_t ts, ssrc;
    bool m;
    uint8_t pt;
    CHECK(cs_rtp_get_seq(c, size, &seq) == CS_OK && seq == nseq);
    CHECK(cs_rtp_get_timestamp(c, size, &ts) == CS_OK && ts == nts);
    CHECK(cs_rtp_get_ssrc(c, size, &ssrc) == CS_OK && ssrc == nssrc);
    CHECK(cs_rtp_get_marker(c, size, &m) == CS_OK && m == !pkt->hdr.marker);
    CHECK(cs_rtp_get_payload_type(c, size, &pt) == CS_OK && pt == npt);
    CHECK(c[0] == buf[0] && !memcmp(c + 12, buf + 12, size - 12));

    memcpy(c, buf, size);
    cs_rtp_ext_iter_t it;
    cs_rtp_ext_t e;
    cs_rtp_ext_begin(pkt, &it);
    while (cs_rtp_ext_next(&it, &e) == 1) {
        cs_rtp_ext_t first;
        if (cs_rtp_ext_find(pkt, e.id, &first) != CS_OK || first.data != e.data)
            continue;   /* a repeated id: ext_set addresses the first one */
        uint8_t val[256];
        memcpy(val, e.data, e.len);
        CHECK(cs_rtp_ext_set(c, size, e.id, val, e.len) == CS_OK);
        CHECK(cs_rtp_ext_set(c, size, e.id, val, (size_t)e.len + 1) == CS_EINVAL);
    }
    CHECK(!memcmp(c, buf, size));
    free(c);
}

static void rtx(const uint8_t *buf, size_t size, const cs_rtp_packet_t *pkt)
{
    size_t cap = size + 2;
    uint8_t *w = malloc(cap), *u = malloc(cap);
    CHECK(w && u);
    int n = cs_rtp_rtx_wrap(buf, size, 97, 0x52545801, 777, w, cap);
    CHECK(n > 0 && (size_t)n == pkt->header_len + 2 + pkt->payload_len);
    cs_rtp_packet_t r;
    uint16_t osn;
    CHECK(cs_rtp_parse(w, (size_t)n, &r) == CS_OK && cs_rtp_rtx_osn(&r, &osn) == CS_OK &&
          osn == pkt->hdr.seq && r.hdr.payload_type == 97 && r.hdr.seq == 777);
    int m = cs_rtp_rtx_unwrap(w, (size_t)n, pkt->hdr.payload_type, pkt->hdr.ssrc, u, cap);
    CHECK(m > 0 && (size_t)m == pkt->header_len + pkt->payload_len);
    CHECK(u[0] == (buf[0] & ~0x20) && !memcmp(u + 1, buf + 1, (size_t)m - 1));
    free(w);
    free(u);
}

static void seq_helpers(const uint8_t *buf, size_t size)
{
    cs_rtp_seqtrack_t t;
    cs_rtp_jitter_t j;
    cs_rtp_seqtrack_init(&t);
    cs_rtp_jitter_init(&j);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        uint16_t s = (uint16_t)(buf[i] << 8 | buf[i + 1]);
        int64_t ext;
        cs_rtp_seq_result_t r = cs_rtp_seqtrack_update(&t, s, &ext);
        CHECK(r >= CS_RTP_SEQ_PROBATION && r <= CS_RTP_SEQ_RESET);
        if (r == CS_RTP_SEQ_NEW || r == CS_RTP_SEQ_RESET)
            CHECK(ext == (int64_t)cs_rtp_seqtrack_ext_max(&t) && (uint16_t)ext == s);
        if (r == CS_RTP_SEQ_OLD)
            CHECK((uint16_t)ext == s && ext <= (int64_t)cs_rtp_seqtrack_ext_max(&t));
        uint32_t a, b;
        memcpy(&a, buf + i, 4);
        memcpy(&b, buf + i + 4, 4);
        cs_rtp_jitter_update(&j, a, b);
        int32_t d = cs_rtp_seq_diff(s, (uint16_t)a);
        CHECK(d >= -32768 && d <= 32767 && cs_rtp_seq_newer(s, (uint16_t)a) == (d > 0));
    }
    (void)cs_rtp_jitter_get(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    payload_formats(buf, size);
    seq_helpers(buf, size);
    (void)cs_rtp_is_rtcp(buf, size);

    cs_rtp_packet_t pkt;
    int rc = cs_rtp_parse(buf, size, &pkt);
    CHECK(rc == CS_OK || rc == CS_EINVAL);
    if (rc == CS_OK) {
        CHECK(pkt.header_len + pkt.payload_len + pkt.hdr.padding_len == size);
        CHECK(pkt.payload == buf + pkt.header_len);
        CHECK(!pkt.has_ext || inside(pkt.ext, pkt.ext_len, buf, pkt.header_len));
        if (pkt.payload_len)
            payload_formats(pkt.payload, pkt.payload_len);
        serialise(&pkt, size);
        setters(buf, size, &pkt);
        rtx(buf, size, &pkt);
    } else {
        uint8_t out[64];
        CHECK(cs_rtp_rtx_wrap(buf, size, 97, 1, 1, out, sizeof out) == CS_EINVAL);
        CHECK(cs_rtp_ext_set(buf, size, 1, out, 1) == CS_EINVAL);
    }
    free(buf);
    return 0;
}
