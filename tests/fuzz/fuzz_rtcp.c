/*
 * fuzz_rtcp.c — libFuzzer target for media/rtcp.
 *
 * Walks arbitrary bytes as a compound RTCP packet from an exact-size heap copy
 * (so ASan catches any read past the end) and checks the contract on every
 * input: the iterator yields packets inside the buffer, back to back, then
 * ends or fails for good; every typed parser, run on every packet whatever its
 * type, returns only its documented codes; whatever parses is appended to a
 * compound by the builder, and parsing that compound gives the same values
 * (NACKs as the same set of sequence numbers, REMB as the same bitrate);
 * cs_rtcp_validate agrees with the iterator.
 *
 * Build with `make fuzz` (clang, libFuzzer) and run e.g.
 *   build/fuzz/fuzz_rtcp -max_total_time=120 tests/fuzz/corpus/rtcp
 * `make test` replays tests/fuzz/corpus/rtcp/ through the gcc build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "media/rtcp/rtcp.h"

#define OUT_CAP (1u << 20)
#define MAX_SEQS (65536u * 17)

static uint8_t out[OUT_CAP];
static uint16_t seqs[MAX_SEQS], seqs2[MAX_SEQS];
static cs_rtcp_twcc_pkt_t twcc[65536], twcc2[65536];

/* Everything one packet parsed to, so a rebuilt copy can be compared. */
typedef struct {
    int rc_sr, rc_rr, rc_sdes, rc_bye, rc_app, rc_nack, rc_pli, rc_fir, rc_remb, rc_twcc;
    cs_rtcp_sr_t sr;
    cs_rtcp_rr_t rr;
    cs_rtcp_sdes_t sdes;
    cs_rtcp_bye_t bye;
    cs_rtcp_app_t app;
    cs_rtcp_fb_t nack_ids, pli;
    size_t n_seqs;
    cs_rtcp_fir_t fir;
    cs_rtcp_remb_t remb;
    cs_rtcp_twcc_t twcc;
} parsed_t;

static bool one_of(int rc, int a, int b, int c)
{
    return rc == a || rc == b || rc == c;
}

/* Every parser on every packet; at most one kind may succeed. */
static int parse_all(const cs_rtcp_pkt_t *p, parsed_t *r, uint16_t *sq, cs_rtcp_twcc_pkt_t *tw)
{
    memset(r, 0, sizeof *r);
    r->rc_sr = cs_rtcp_sr_parse(p, &r->sr);
    r->rc_rr = cs_rtcp_rr_parse(p, &r->rr);
    r->rc_sdes = cs_rtcp_sdes_parse(p, &r->sdes);
    r->rc_bye = cs_rtcp_bye_parse(p, &r->bye);
    r->rc_app = cs_rtcp_app_parse(p, &r->app);
    r->rc_nack = cs_rtcp_nack_parse(p, &r->nack_ids, sq, MAX_SEQS, &r->n_seqs);
    r->rc_pli = cs_rtcp_pli_parse(p, &r->pli);
    r->rc_fir = cs_rtcp_fir_parse(p, &r->fir);
    r->rc_remb = cs_rtcp_remb_parse(p, &r->remb);
    r->rc_twcc = cs_rtcp_twcc_parse(p, &r->twcc, tw, 65536);
    const int rcs[] = {r->rc_sr,  r->rc_rr,  r->rc_sdes, r->rc_bye,  r->rc_app,
                       r->rc_nack, r->rc_pli, r->rc_fir,  r->rc_remb, r->rc_twcc};
    int ok = 0;
    for (size_t i = 0; i < CS_ARRAY_LEN(rcs); i++)
        ok += rcs[i] == CS_OK;
    CHECK(r->rc_sr == CS_OK || r->rc_sr == CS_EINVAL);
    CHECK(r->rc_rr == CS_OK || r->rc_rr == CS_EINVAL);
    CHECK(r->rc_sdes == CS_OK || r->rc_sdes == CS_EINVAL);
    CHECK(r->rc_bye == CS_OK || r->rc_bye == CS_EINVAL);
    CHECK(r->rc_app == CS_OK || r->rc_app == CS_EINVAL);
    CHECK(r->rc_nack == CS_OK || r->rc_nack == CS_EINVAL);   /* MAX_SEQS always fits */
    CHECK(r->rc_pli == CS_OK || r->rc_pli == CS_EINVAL);
    CHECK(one_of(r->rc_fir, CS_OK, CS_EINVAL, CS_ETOOBIG));
    CHECK(one_of(r->rc_remb, CS_OK, CS_EINVAL, CS_ETOOBIG) || r->rc_remb == CS_EUNSUPPORTED);
    CHECK(r->rc_twcc == CS_OK || r->rc_twcc == CS_EINVAL);   /* 65536 always fits */
    /* PLI and REMB share PSFB with FMT 1 and 15: nothing else may overlap. */
    CHECK(ok <= 1);
    return ok;
}

static void same_blocks(const cs_rtcp_report_block_t *a, const cs_rtcp_report_block_t *b, int n)
{
    for (int i = 0; i < n; i++)
        CHECK(a[i].ssrc == b[i].ssrc && a[i].fraction_lost == b[i].fraction_lost &&
              a[i].cumulative_lost == b[i].cumulative_lost &&
              a[i].ext_highest_seq == b[i].ext_highest_seq && a[i].jitter == b[i].jitter &&
              a[i].lsr == b[i].lsr && a[i].dlsr == b[i].dlsr);
}

static bool same_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    return (a == NULL) == (b == NULL) && na == nb && (!na || !memcmp(a, b, na));
}

/* Appends what parsed; returns 1 if a packet was appended. */
static int rebuild(cs_rtcp_builder_t *b, const parsed_t *r)
{
    int n = 0;
    if (r->rc_sr == CS_OK)
        n = cs_rtcp_sr_append(b, &r->sr);
    else if (r->rc_rr == CS_OK)
        n = cs_rtcp_rr_append(b, &r->rr);
    else if (r->rc_sdes == CS_OK)
        n = cs_rtcp_sdes_append(b, &r->sdes);
    else if (r->rc_bye == CS_OK)
        n = cs_rtcp_bye_append(b, &r->bye);
    else if (r->rc_app == CS_OK && r->app.data_len % 4 == 0)
        n = cs_rtcp_app_append(b, &r->app);
    else if (r->rc_nack == CS_OK)
        n = cs_rtcp_nack_append(b, &r->nack_ids, seqs, r->n_seqs);
    else if (r->rc_pli == CS_OK)
        n = cs_rtcp_pli_append(b, &r->pli);
    else if (r->rc_fir == CS_OK)
        n = cs_rtcp_fir_append(b, &r->fir);
    else if (r->rc_remb == CS_OK)
        n = cs_rtcp_remb_append(b, &r->remb);
    else if (r->rc_twcc == CS_OK)
        n = cs_rtcp_twcc_append(b, &r->twcc, twcc, r->twcc.status_count);
    else
        return 0;
    CHECK(n > 0);
    return 1;
}

/* A NACK rebuilt from its expansion asks for the same set of packets. */
static void same_seq_set(const uint16_t *a, size_t na, const uint16_t *b, size_t nb)
{
    static uint8_t in_a[65536], in_b[65536];
    memset(in_a, 0, sizeof in_a);
    memset(in_b, 0, sizeof in_b);
    for (size_t i = 0; i < na; i++)
        in_a[a[i]] = 1;
    for (size_t i = 0; i < nb; i++)
        in_b[b[i]] = 1;
    CHECK(!memcmp(in_a, in_b, sizeof in_a));
}

static void compare(const parsed_t *a, const parsed_t *b)
{
    if (a->rc_sr == CS_OK) {
        CHECK(b->rc_sr == CS_OK && a->sr.ssrc == b->sr.ssrc && a->sr.ntp == b->sr.ntp &&
              a->sr.rtp_ts == b->sr.rtp_ts && a->sr.packet_count == b->sr.packet_count &&
              a->sr.octet_count == b->sr.octet_count && a->sr.n_reports == b->sr.n_reports);
        same_blocks(a->sr.reports, b->sr.reports, a->sr.n_reports);
    } else if (a->rc_rr == CS_OK) {
        CHECK(b->rc_rr == CS_OK && a->rr.ssrc == b->rr.ssrc && a->rr.n_reports == b->rr.n_reports);
        same_blocks(a->rr.reports, b->rr.reports, a->rr.n_reports);
    } else if (a->rc_sdes == CS_OK) {
        CHECK(b->rc_sdes == CS_OK && a->sdes.n_chunks == b->sdes.n_chunks);
        for (int i = 0; i < a->sdes.n_chunks; i++)
            CHECK(a->sdes.chunks[i].ssrc == b->sdes.chunks[i].ssrc &&
                  same_bytes(a->sdes.chunks[i].cname, a->sdes.chunks[i].cname_len,
                             b->sdes.chunks[i].cname, b->sdes.chunks[i].cname_len));
    } else if (a->rc_bye == CS_OK) {
        CHECK(b->rc_bye == CS_OK && a->bye.n_ssrcs == b->bye.n_ssrcs &&
              !memcmp(a->bye.ssrcs, b->bye.ssrcs, 4u * a->bye.n_ssrcs) &&
              same_bytes(a->bye.reason, a->bye.reason_len, b->bye.reason, b->bye.reason_len));
    } else if (a->rc_app == CS_OK) {
        CHECK(b->rc_app == CS_OK && a->app.subtype == b->app.subtype &&
              a->app.ssrc == b->app.ssrc && !memcmp(a->app.name, b->app.name, 4) &&
              same_bytes(a->app.data, a->app.data_len, b->app.data, b->app.data_len));
    } else if (a->rc_nack == CS_OK) {
        CHECK(b->rc_nack == CS_OK && a->nack_ids.sender_ssrc == b->nack_ids.sender_ssrc &&
              a->nack_ids.media_ssrc == b->nack_ids.media_ssrc);
        same_seq_set(seqs, a->n_seqs, seqs2, b->n_seqs);
    } else if (a->rc_pli == CS_OK) {
        CHECK(b->rc_pli == CS_OK && a->pli.sender_ssrc == b->pli.sender_ssrc &&
              a->pli.media_ssrc == b->pli.media_ssrc);
    } else if (a->rc_fir == CS_OK) {
        CHECK(b->rc_fir == CS_OK && a->fir.sender_ssrc == b->fir.sender_ssrc && a->fir.n == b->fir.n);
        for (int i = 0; i < a->fir.n; i++)
            CHECK(a->fir.entries[i].ssrc == b->fir.entries[i].ssrc &&
                  a->fir.entries[i].seq == b->fir.entries[i].seq);
    } else if (a->rc_remb == CS_OK) {
        CHECK(b->rc_remb == CS_OK && a->remb.sender_ssrc == b->remb.sender_ssrc &&
              a->remb.bitrate_bps == b->remb.bitrate_bps && a->remb.n_ssrcs == b->remb.n_ssrcs &&
              !memcmp(a->remb.ssrcs, b->remb.ssrcs, 4u * a->remb.n_ssrcs));
    } else if (a->rc_twcc == CS_OK) {
        const cs_rtcp_twcc_t *x = &a->twcc, *y = &b->twcc;
        CHECK(b->rc_twcc == CS_OK && x->sender_ssrc == y->sender_ssrc &&
              x->media_ssrc == y->media_ssrc && x->base_seq == y->base_seq &&
              x->status_count == y->status_count && x->reference_time == y->reference_time &&
              x->fb_count == y->fb_count);
        for (size_t i = 0; i < x->status_count; i++)
            CHECK(twcc[i].seq == twcc2[i].seq && twcc[i].received == twcc2[i].received &&
                  twcc[i].delta_us == twcc2[i].delta_us);
    }
}

/* Parses the one packet a rebuild appended (at out + at) and compares. */
static void reparse(const parsed_t *a, size_t at, size_t len)
{
    cs_rtcp_iter_t it;
    cs_rtcp_pkt_t p;
    parsed_t *b = malloc(sizeof *b);
    CHECK(b);
    cs_rtcp_iter_init(&it, out + at, len);
    CHECK(cs_rtcp_iter_next(&it, &p) == 1 && cs_rtcp_iter_next(&it, &p) == 0);
    cs_rtcp_iter_init(&it, out + at, len);
    cs_rtcp_iter_next(&it, &p);
    CHECK(parse_all(&p, b, seqs2, twcc2) == 1);
    compare(a, b);
    free(b);
}

static void derived(const parsed_t *r)
{
    if (r->rc_rr != CS_OK || r->rr.n_reports == 0)
        return;
    const cs_rtcp_report_block_t *rb = &r->rr.reports[0];
    int64_t rtt;
    int rc = cs_rtcp_rtt_us(rb->ext_highest_seq, rb->lsr, rb->dlsr, &rtt);
    CHECK((rc == CS_OK && rtt >= 0 && rtt < (INT64_C(1) << 31) * 1000000 / 65536 + 1) ||
          (rc == CS_ENOTFOUND && rb->lsr == 0));
    CHECK(cs_rtcp_clamp_lost(rb->cumulative_lost) == rb->cumulative_lost);
    (void)cs_rtcp_fraction_lost(rb->jitter, rb->dlsr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    parsed_t *r = malloc(sizeof *r);
    if (!buf || !r) {
        free(buf);
        free(r);
        return 0;
    }
    memcpy(buf, data, size);
    cs_rtcp_iter_t it;
    cs_rtcp_pkt_t p;
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, OUT_CAP);
    cs_rtcp_iter_init(&it, buf, size);
    size_t expect_at = 0;
    int rc, count = 0, built = 0;
    while ((rc = cs_rtcp_iter_next(&it, &p)) == 1) {
        CHECK(p.raw == buf + expect_at && p.raw_len >= 4 && p.raw_len % 4 == 0 &&
              p.raw_len <= size - expect_at && p.body == p.raw + 4 &&
              p.body_len <= p.raw_len - 4 && p.count < 32);
        expect_at += p.raw_len;
        count++;
        if (parse_all(&p, r, seqs, twcc)) {
            derived(r);
            if (OUT_CAP - b.len < (1u << 19)) {     /* room for any one packet */
                CHECK(built == 0 || cs_rtcp_validate(out, b.len) == built);
                cs_rtcp_builder_init(&b, out, OUT_CAP);
                built = 0;
            }
            size_t at = b.len;
            if (rebuild(&b, r)) {
                reparse(r, at, b.len - at);
                built++;
            }
        }
    }
    CHECK(rc == 0 || rc == CS_EINVAL);
    CHECK(cs_rtcp_iter_next(&it, &p) == rc);                 /* the end, or failed for good */
    CHECK(rc != 0 || expect_at == size);
    int v = cs_rtcp_validate(buf, size);
    CHECK(rc == 0 && count > 0 ? v == count : v == CS_EINVAL);
    CHECK(built == 0 || cs_rtcp_validate(out, b.len) == built);
    free(buf);
    free(r);
    return 0;
}
