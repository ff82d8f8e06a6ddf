/*
 * test_rtp.c — media/rtp: packets as browsers send them parse to the right
 * fields, every malformed packet is refused without reading past its end,
 * serialising what parsed gives the same bytes back, and the sequence tracker
 * and jitter estimator follow RFC 3550's appendices.
 *
 * The pkt_* arrays are also the seeds of tests/fuzz/corpus/rtp/ (one file
 * each, named after the array); keep them literal bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/rtp/rtp.h"

/* Chromium, Opus: one-byte extensions audio-level (1), abs-send-time (2),
 * transport-cc (3), mid (4) as its offer maps them, and the 3-byte Opus
 * frame it sends for silence. */
static const uint8_t pkt_opus_chrome[] = {
    0x90, 0x6f, 0x12, 0x34,             /* V=2 X=1, PT 111, seq 0x1234 */
    0x00, 0x01, 0xe2, 0x40,             /* timestamp 123456 */
    0x5e, 0x1f, 0x2c, 0x3a,             /* SSRC */
    0xbe, 0xde, 0x00, 0x03,             /* one-byte form, 3 words */
    0x10, 0xaa,                         /* id 1: V=1, level 42 */
    0x22, 0x12, 0x34, 0x56,             /* id 2: abs-send-time 0x123456 */
    0x31, 0x00, 0x05,                   /* id 3: transport seq 5 */
    0x40, 0x30,                         /* id 4: mid "0" */
    0x00,                               /* padding */
    0xf8, 0xff, 0xfe,                   /* Opus */
};

/* Chromium, VP8 simulcast layer "f": first packet of a key frame, 15-bit
 * PictureID, TL0PICIDX, TID/Y; 640x480 in the key frame header. */
static const uint8_t pkt_vp8_key[] = {
    0x90, 0x60, 0x2a, 0x10, 0x3b, 0x9a, 0xca, 0x00, 0x11, 0x22, 0x33, 0x44,
    0xbe, 0xde, 0x00, 0x03,
    0x22, 0x00, 0x10, 0x00,             /* abs-send-time */
    0x31, 0x01, 0x00,                   /* transport seq 256 */
    0x40, 0x31,                         /* mid "1" */
    0xa0, 0x66,                         /* id 10 rid "f" */
    0x00,
    0x90, 0xe0, 0x92, 0x34, 0x05, 0x20, /* X S | I L T | M pid 0x1234 | tl0 5 | tid 0 Y */
    0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, /* key frame 640x480 */
    0x39, 0x6b, 0x00, 0x27,
};

/* Chromium's RTX for it (PT 97, its own SSRC and sequence, repaired-rid 11). */
static const uint8_t pkt_rtx_chrome[] = {
    0x90, 0x61, 0x01, 0x00, 0x3b, 0x9a, 0xca, 0x00, 0x55, 0x66, 0x77, 0x88,
    0xbe, 0xde, 0x00, 0x03,
    0x22, 0x00, 0x10, 0x40, 0x31, 0x01, 0x07, 0x40, 0x31, 0xb0, 0x66, 0x00,
    0x2a, 0x10,                         /* original sequence number */
    0x90, 0xe0, 0x92, 0x34, 0x05, 0x20, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a,
    0x80, 0x02, 0xe0, 0x01, 0x39, 0x6b, 0x00, 0x27,
};

/* Chromium, H.264 (PT 102): the STAP-A with SPS (14 bytes) and PPS (4 bytes)
 * that opens a key frame, then the first FU-A fragment of its IDR slice. */
static const uint8_t pkt_h264_stap[] = {
    0x80, 0x66, 0x30, 0x39, 0x00, 0x0f, 0x42, 0x40, 0x0a, 0x0b, 0x0c, 0x0d,
    0x78, 0x00, 0x0e, 0x67, 0x42, 0xc0, 0x1f, 0x8c, 0x8d, 0x40, 0x50, 0x1e, 0xd0, 0x0f, 0x08,
    0x84, 0x6a, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,
};
static const uint8_t pkt_h264_fu_start[] = {
    0x80, 0x66, 0x30, 0x3a, 0x00, 0x0f, 0x42, 0x40, 0x0a, 0x0b, 0x0c, 0x0d,
    0x7c, 0x85, 0xb8, 0x00, 0x04, 0x00, 0x00, 0x1f, 0xe4,
};

/* Two-byte form (extmap-allow-mixed): a 17-byte element, mid, an empty one. */
static const uint8_t pkt_two_byte[] = {
    0x90, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x64, 0x11, 0x22, 0x33, 0x44,
    0x10, 0x00, 0x00, 0x06,
    0x0c, 0x11, 0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
    0x04, 0x01, 0x31,
    0x05, 0x00,
    0xaa, 0xbb, 0xcc,
};

/* Two CSRCs, marker, seq 65535, three bytes of padding. */
static const uint8_t pkt_csrc_padding[] = {
    0xa2, 0xe0, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
    0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb,
    0x01, 0x02,
    0x00, 0x00, 0x03,
};

/* A padding-only bandwidth probe on the RTX stream. */
static const uint8_t pkt_probe[] = {
    0xb0, 0x61, 0x01, 0x01, 0x3b, 0x9a, 0xca, 0x00, 0x55, 0x66, 0x77, 0x88,
    0xbe, 0xde, 0x00, 0x01, 0x31, 0x01, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x04,
};

/* One-byte form with id 15: processing stops there (RFC 8285 §4.2). */
static const uint8_t pkt_id15[] = {
    0x90, 0x6f, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
    0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0xf0, 0x00, 0x22, 0x12, 0x34, 0x56,
    0x01,
};

/* An extension of another profile: kept as raw bytes. */
static const uint8_t pkt_other_profile[] = {
    0x90, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
    0xab, 0xcd, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x42,
};

/* Malformed. */
static const uint8_t pkt_bad_short[] = {0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t pkt_bad_version[] = {0x40, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t pkt_bad_pad_zero[] = {0xa0, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                           0x01, 0x00};
static const uint8_t pkt_bad_pad_big[] = {0xa0, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                          0x01, 0x02, 0x03, 0x05};
static const uint8_t pkt_bad_csrc[] = {0x8f, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                       0, 0, 0, 1, 0, 0, 0, 2};
static const uint8_t pkt_bad_ext_hdr[] = {0x90, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                          0xbe, 0xde};
static const uint8_t pkt_bad_ext_len[] = {0x90, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                          0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0x00, 0x00};
static const uint8_t pkt_bad_elem[] = {0x90, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                       0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x32, 0x00, 0x55};
static const uint8_t pkt_bad_elem2[] = {0x90, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                        0x10, 0x00, 0x00, 0x01, 0x04, 0x01, 0x31, 0x07};
static const uint8_t pkt_bad_pad_ext[] = {0xb0, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                          0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x05};

static cs_rtp_packet_t pkt;

/* Parses from an exact-size heap copy, so ASan sees any read past the end. */
static int parse(const uint8_t *b, size_t len)
{
    static uint8_t *copy;
    free(copy);
    copy = malloc(len ? len : 1);
    memcpy(copy, b, len);
    return cs_rtp_parse(copy, len, &pkt);
}

#define PARSE(a) parse(a, sizeof a)

static void test_chrome_opus(void **state)
{
    (void)state;
    assert_int_equal(PARSE(pkt_opus_chrome), CS_OK);
    assert_false(pkt.hdr.marker);
    assert_int_equal(pkt.hdr.payload_type, 111);
    assert_int_equal(pkt.hdr.seq, 0x1234);
    assert_int_equal(pkt.hdr.timestamp, 123456);
    assert_int_equal(pkt.hdr.ssrc, 0x5e1f2c3a);
    assert_int_equal(pkt.hdr.csrc_count, 0);
    assert_true(pkt.has_ext);
    assert_int_equal(pkt.ext_profile, 0xBEDE);
    assert_int_equal(pkt.ext_len, 12);
    assert_int_equal(pkt.header_len, 28);
    assert_int_equal(pkt.payload_len, 3);
    assert_memory_equal(pkt.payload, "\xf8\xff\xfe", 3);

    static const struct { uint8_t id, len; } want[] = {{1, 1}, {2, 3}, {3, 2}, {4, 1}};
    cs_rtp_ext_iter_t it;
    cs_rtp_ext_t e;
    cs_rtp_ext_begin(&pkt, &it);
    for (size_t i = 0; i < CS_ARRAY_LEN(want); i++) {
        assert_int_equal(cs_rtp_ext_next(&it, &e), 1);
        assert_int_equal(e.id, want[i].id);
        assert_int_equal(e.len, want[i].len);
    }
    assert_int_equal(cs_rtp_ext_next(&it, &e), 0);

    bool voice;
    uint8_t level;
    uint32_t ast;
    uint16_t tseq;
    char mid[CS_RTP_MID_MAX];
    assert_int_equal(cs_rtp_ext_find(&pkt, 1, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_audio_level(&e, &voice, &level), CS_OK);
    assert_true(voice);
    assert_int_equal(level, 42);
    assert_int_equal(cs_rtp_ext_find(&pkt, 2, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_abs_send_time(&e, &ast), CS_OK);
    assert_int_equal(ast, 0x123456);
    assert_int_equal(cs_rtp_abs_send_time_to_us(ast), 4551109);
    assert_int_equal(cs_rtp_ext_find(&pkt, 3, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_twcc_seq(&e, &tseq), CS_OK);
    assert_int_equal(tseq, 5);
    assert_int_equal(cs_rtp_ext_find(&pkt, 4, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_string(&e, mid, sizeof mid), CS_OK);
    assert_string_equal(mid, "0");
    assert_int_equal(cs_rtp_ext_find(&pkt, 9, &e), CS_ENOTFOUND);
    /* Wrong extension for the parser: sizes are checked. */
    assert_int_equal(cs_rtp_ext_find(&pkt, 1, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_abs_send_time(&e, &ast), CS_EINVAL);
    assert_int_equal(cs_rtp_ext_twcc_seq(&e, &tseq), CS_EINVAL);
}

static void test_two_byte_and_other_forms(void **state)
{
    (void)state;
    cs_rtp_ext_t e;
    char s[CS_RTP_MID_MAX];
    assert_int_equal(PARSE(pkt_two_byte), CS_OK);
    assert_int_equal(pkt.ext_profile, 0x1000);
    assert_int_equal(cs_rtp_ext_find(&pkt, 12, &e), CS_OK);
    assert_int_equal(e.len, 17);
    assert_int_equal(e.data[16], 0x10);
    assert_int_equal(cs_rtp_ext_find(&pkt, 4, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_string(&e, s, sizeof s), CS_OK);
    assert_string_equal(s, "1");
    assert_int_equal(cs_rtp_ext_find(&pkt, 5, &e), CS_OK);
    assert_int_equal(e.len, 0);
    assert_int_equal(cs_rtp_ext_string(&e, s, sizeof s), CS_EINVAL);
    assert_int_equal(pkt.payload_len, 3);

    /* The iterator on its own (a packet not from cs_rtp_parse) fails for good. */
    cs_rtp_packet_t raw = {.has_ext = true, .ext_profile = 0x1000,
                           .ext = (const uint8_t *)"\x04\x01\x31\x07", .ext_len = 4};
    cs_rtp_ext_iter_t it;
    cs_rtp_ext_begin(&raw, &it);
    assert_int_equal(cs_rtp_ext_next(&it, &e), 1);
    assert_int_equal(cs_rtp_ext_next(&it, &e), CS_EINVAL);
    assert_int_equal(cs_rtp_ext_next(&it, &e), CS_EINVAL);
    assert_int_equal(cs_rtp_ext_find(&raw, 7, &e), CS_ENOTFOUND);

    assert_int_equal(PARSE(pkt_id15), CS_OK);
    assert_int_equal(cs_rtp_ext_find(&pkt, 1, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_find(&pkt, 2, &e), CS_ENOTFOUND);
    assert_int_equal(pkt.payload_len, 1);

    assert_int_equal(PARSE(pkt_other_profile), CS_OK);
    assert_int_equal(pkt.ext_profile, 0xabcd);
    assert_int_equal(pkt.ext_len, 4);
    assert_int_equal(cs_rtp_ext_find(&pkt, 13, &e), CS_ENOTFOUND);
    assert_int_equal(pkt.payload[0], 0x42);
}

static void test_csrc_padding_probe(void **state)
{
    (void)state;
    assert_int_equal(PARSE(pkt_csrc_padding), CS_OK);
    assert_true(pkt.hdr.marker);
    assert_int_equal(pkt.hdr.seq, 65535);
    assert_int_equal(pkt.hdr.csrc_count, 2);
    assert_int_equal(pkt.hdr.csrc[0], 0xaaaaaaaa);
    assert_int_equal(pkt.hdr.csrc[1], 0xbbbbbbbb);
    assert_int_equal(pkt.hdr.padding_len, 3);
    assert_int_equal(pkt.payload_len, 2);
    assert_int_equal(pkt.header_len, 20);

    assert_int_equal(PARSE(pkt_probe), CS_OK);
    assert_int_equal(pkt.payload_len, 0);
    assert_int_equal(pkt.hdr.padding_len, 4);
    uint16_t osn;
    assert_int_equal(cs_rtp_rtx_osn(&pkt, &osn), CS_EINVAL);
}

static void test_malformed(void **state)
{
    (void)state;
    assert_int_equal(PARSE(pkt_bad_short), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_version), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_pad_zero), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_pad_big), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_csrc), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_ext_hdr), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_ext_len), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_elem), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_elem2), CS_EINVAL);
    assert_int_equal(PARSE(pkt_bad_pad_ext), CS_EINVAL);
    assert_int_equal(parse(pkt_opus_chrome, 0), CS_EINVAL);
    /* Every truncation of a good packet is refused or parses within bounds. */
    for (size_t n = 0; n < sizeof pkt_vp8_key; n++) {
        int rc = parse(pkt_vp8_key, n);
        assert_true(rc == CS_EINVAL || (rc == CS_OK && pkt.header_len + pkt.payload_len <= n));
    }
    assert_int_equal(cs_rtp_parse(NULL, 12, &pkt), CS_EINVAL);
}

static void test_accessors(void **state)
{
    (void)state;
    uint8_t b[sizeof pkt_opus_chrome];
    memcpy(b, pkt_opus_chrome, sizeof b);
    uint16_t seq;
    uint32_t ts, ssrc;
    bool m;
    uint8_t pt;
    assert_int_equal(cs_rtp_get_seq(b, sizeof b, &seq), CS_OK);
    assert_int_equal(seq, 0x1234);
    assert_int_equal(cs_rtp_set_seq(b, sizeof b, 0xfffe), CS_OK);
    assert_int_equal(cs_rtp_set_timestamp(b, sizeof b, 0xdeadbeef), CS_OK);
    assert_int_equal(cs_rtp_set_ssrc(b, sizeof b, 0x01020304), CS_OK);
    assert_int_equal(cs_rtp_set_marker(b, sizeof b, true), CS_OK);
    assert_int_equal(cs_rtp_set_payload_type(b, sizeof b, 100), CS_OK);
    assert_int_equal(cs_rtp_set_payload_type(b, sizeof b, 128), CS_EINVAL);
    static const uint8_t want[12] = {0x90, 0xe4, 0xff, 0xfe, 0xde, 0xad, 0xbe, 0xef,
                                     0x01, 0x02, 0x03, 0x04};
    assert_memory_equal(b, want, 12);
    assert_memory_equal(b + 12, pkt_opus_chrome + 12, sizeof b - 12);
    assert_int_equal(cs_rtp_get_timestamp(b, sizeof b, &ts), CS_OK);
    assert_int_equal(ts, 0xdeadbeef);
    assert_int_equal(cs_rtp_get_ssrc(b, sizeof b, &ssrc), CS_OK);
    assert_int_equal(ssrc, 0x01020304);
    assert_int_equal(cs_rtp_get_marker(b, sizeof b, &m), CS_OK);
    assert_true(m);
    assert_int_equal(cs_rtp_set_marker(b, sizeof b, false), CS_OK);
    assert_int_equal(cs_rtp_get_payload_type(b, sizeof b, &pt), CS_OK);
    assert_int_equal(pt, 100);
    assert_int_equal(b[1], 100);
    /* Bounds and version. */
    assert_int_equal(cs_rtp_set_seq(b, 11, 1), CS_EINVAL);
    assert_int_equal(cs_rtp_get_seq(pkt_bad_version, sizeof pkt_bad_version, &seq), CS_EINVAL);
    /* RFC 5761 demultiplexing. */
    static const uint8_t rr[] = {0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1};
    assert_true(cs_rtp_is_rtcp(rr, sizeof rr));
    assert_false(cs_rtp_is_rtcp(pkt_opus_chrome, sizeof pkt_opus_chrome));
    assert_false(cs_rtp_is_rtcp(rr, 1));
}

static void test_ext_rewrite(void **state)
{
    (void)state;
    uint8_t b[sizeof pkt_opus_chrome];
    memcpy(b, pkt_opus_chrome, sizeof b);
    uint8_t v[3];
    cs_rtp_twcc_seq_encode(0xabcd, v);
    assert_int_equal(cs_rtp_ext_set(b, sizeof b, 3, v, 2), CS_OK);
    assert_int_equal(b[23], 0xab);
    assert_int_equal(b[24], 0xcd);
    cs_rtp_abs_send_time_encode(0x00fedcba, v);
    assert_int_equal(cs_rtp_ext_set(b, sizeof b, 2, v, 3), CS_OK);
    assert_memory_equal(b + 19, "\xfe\xdc\xba", 3);
    assert_int_equal(cs_rtp_ext_set(b, sizeof b, 2, v, 2), CS_EINVAL);
    assert_int_equal(cs_rtp_ext_set(b, sizeof b, 7, v, 1), CS_ENOTFOUND);
    assert_int_equal(cs_rtp_ext_set(b, 20, 2, v, 3), CS_EINVAL);
    /* Everything else is untouched. */
    assert_memory_equal(b, pkt_opus_chrome, 19);
    assert_memory_equal(b + 25, pkt_opus_chrome + 25, sizeof b - 25);
}

static void test_ext_payloads(void **state)
{
    (void)state;
    /* abs-send-time: 6.18 fixed point, wraps every 64 s. */
    assert_int_equal(cs_rtp_abs_send_time_from_us(1000000), 1 << 18);
    assert_int_equal(cs_rtp_abs_send_time_from_us(64000000 + 500000), 1 << 17);
    assert_int_equal(cs_rtp_abs_send_time_from_us(1700000000123456ULL),
                     cs_rtp_abs_send_time_from_us(1700000000123456ULL % 64000000));
    for (uint32_t v = 0; v < 0x1000000; v += 0x1234)
        assert_int_equal(cs_rtp_abs_send_time_from_us(cs_rtp_abs_send_time_to_us(v)), v);

    cs_rtp_ext_t e = {.id = 1, .len = 1, .data = (const uint8_t *)"\x7f"};
    bool voice;
    uint8_t level;
    assert_int_equal(cs_rtp_ext_audio_level(&e, &voice, &level), CS_OK);
    assert_false(voice);
    assert_int_equal(level, 127);

    char s[4];
    e = (cs_rtp_ext_t){.id = 10, .len = 4, .data = (const uint8_t *)"hi\0\0"};
    assert_int_equal(cs_rtp_ext_string(&e, s, sizeof s), CS_OK);
    assert_string_equal(s, "hi");
    e.data = (const uint8_t *)"h i ";
    assert_int_equal(cs_rtp_ext_string(&e, s, sizeof s), CS_EINVAL);
    e.data = (const uint8_t *)"high";
    assert_int_equal(cs_rtp_ext_string(&e, s, sizeof s), CS_ETOOBIG);

    uint16_t tseq;
    e = (cs_rtp_ext_t){.id = 3, .len = 4, .data = (const uint8_t *)"\x01\x02\x80\x05"};
    assert_int_equal(cs_rtp_ext_twcc_seq(&e, &tseq), CS_OK);
    assert_int_equal(tseq, 0x0102);
}

static void test_serialise_round_trip(void **state)
{
    (void)state;
    uint8_t out[256];
    static const uint8_t ast[] = {0x12, 0x34, 0x56}, tcc[] = {0x00, 0x05};
    cs_rtp_ext_t ext[] = {{1, 1, (const uint8_t *)"\xaa"}, {2, 3, ast}, {3, 2, tcc},
                          {4, 1, (const uint8_t *)"0"}};
    cs_rtp_header_t h = {.payload_type = 111, .seq = 0x1234, .timestamp = 123456,
                         .ssrc = 0x5e1f2c3a};
    int n = cs_rtp_serialise(&h, ext, 4, (const uint8_t *)"\xf8\xff\xfe", 3, out, sizeof out);
    assert_int_equal(n, sizeof pkt_opus_chrome);
    assert_memory_equal(out, pkt_opus_chrome, sizeof pkt_opus_chrome);
    assert_int_equal(cs_rtp_serialise(&h, ext, 4, (const uint8_t *)"\xf8\xff\xfe", 3, out, n - 1),
                     CS_ETOOBIG);

    /* What parsed serialises back to the same bytes. */
    static const struct { const uint8_t *b; size_t len; } same[] = {
        {pkt_opus_chrome, sizeof pkt_opus_chrome}, {pkt_vp8_key, sizeof pkt_vp8_key},
        {pkt_two_byte, sizeof pkt_two_byte}, {pkt_csrc_padding, sizeof pkt_csrc_padding},
        {pkt_probe, sizeof pkt_probe}, {pkt_rtx_chrome, sizeof pkt_rtx_chrome},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(same); i++) {
        assert_int_equal(parse(same[i].b, same[i].len), CS_OK);
        cs_rtp_ext_t list[16];
        size_t k = 0;
        cs_rtp_ext_iter_t it;
        cs_rtp_ext_begin(&pkt, &it);
        while (k < 16 && cs_rtp_ext_next(&it, &list[k]) == 1)
            k++;
        n = cs_rtp_serialise(&pkt.hdr, list, k, pkt.payload, pkt.payload_len, out, sizeof out);
        assert_int_equal(n, same[i].len);
        assert_memory_equal(out, same[i].b, same[i].len);
    }

    /* Refusals. */
    h.csrc_count = 16;
    assert_int_equal(cs_rtp_serialise(&h, NULL, 0, NULL, 0, out, sizeof out), CS_EINVAL);
    h.csrc_count = 0;
    h.payload_type = 128;
    assert_int_equal(cs_rtp_serialise(&h, NULL, 0, NULL, 0, out, sizeof out), CS_EINVAL);
    h.payload_type = 0;
    ext[1].id = 0;
    assert_int_equal(cs_rtp_serialise(&h, ext, 4, NULL, 0, out, sizeof out), CS_EINVAL);
    assert_int_equal(cs_rtp_serialise(&h, NULL, 0, NULL, 0, out, sizeof out), 12);
}

/* ---- sequence numbers, tracker, jitter ---------------------------------------- */

static void test_seq_compare(void **state)
{
    (void)state;
    assert_int_equal(cs_rtp_seq_diff(0, 65535), 1);
    assert_int_equal(cs_rtp_seq_diff(65535, 0), -1);
    assert_int_equal(cs_rtp_seq_diff(100, 90), 10);
    assert_int_equal(cs_rtp_seq_diff(0x8000, 0), -32768);
    assert_true(cs_rtp_seq_newer(0, 65535));
    assert_true(cs_rtp_seq_newer(5, 65000));
    assert_false(cs_rtp_seq_newer(65535, 0));
    assert_false(cs_rtp_seq_newer(7, 7));
    assert_false(cs_rtp_seq_newer(0x8000, 0));
    assert_false(cs_rtp_seq_newer(0, 0x8000));
}

static void expect_seq(cs_rtp_seqtrack_t *t, uint16_t seq, cs_rtp_seq_result_t res, int64_t ext)
{
    int64_t got;
    assert_int_equal(cs_rtp_seqtrack_update(t, seq, &got), res);
    assert_int_equal(got, ext);
}

static void test_seqtrack_wrap_reorder(void **state)
{
    (void)state;
    cs_rtp_seqtrack_t t;
    cs_rtp_seqtrack_init(&t);
    expect_seq(&t, 65534, CS_RTP_SEQ_PROBATION, -1);
    expect_seq(&t, 65535, CS_RTP_SEQ_NEW, 65535);   /* confirmed, base 65535 */
    expect_seq(&t, 0, CS_RTP_SEQ_NEW, 65536);       /* 65535 → 0 wraps */
    expect_seq(&t, 1, CS_RTP_SEQ_NEW, 65537);
    assert_int_equal(cs_rtp_seqtrack_ext_max(&t), 65537);
    assert_int_equal(t.cycles, 65536);
    expect_seq(&t, 65535, CS_RTP_SEQ_OLD, 65535);   /* reordered across the wrap */
    expect_seq(&t, 1, CS_RTP_SEQ_OLD, 65537);       /* duplicate */
    expect_seq(&t, 4, CS_RTP_SEQ_NEW, 65540);       /* 2, 3 lost */
    expect_seq(&t, 2, CS_RTP_SEQ_OLD, 65538);       /* late */
    assert_int_equal(cs_rtp_seqtrack_expected(&t), 6);
    assert_int_equal(t.received, 7);                /* duplicates count, as in A.1 */
    /* Misorder limit: 100 behind is a jump, 99 behind is reordering. */
    expect_seq(&t, (uint16_t)(4 - 100), CS_RTP_SEQ_BAD, -1);
    expect_seq(&t, (uint16_t)(4 - 99), CS_RTP_SEQ_OLD, 65540 - 99);
    /* Dropout limit: 2999 ahead is a gap, 3000 is a jump. */
    expect_seq(&t, 4 + 2999, CS_RTP_SEQ_NEW, 65540 + 2999);
    expect_seq(&t, 4 + 2999 + 3000, CS_RTP_SEQ_BAD, -1);
}

static void test_seqtrack_probation_and_jump(void **state)
{
    (void)state;
    cs_rtp_seqtrack_t t;
    cs_rtp_seqtrack_init(&t);
    expect_seq(&t, 100, CS_RTP_SEQ_PROBATION, -1);
    assert_int_equal(cs_rtp_seqtrack_expected(&t), 0);
    expect_seq(&t, 200, CS_RTP_SEQ_PROBATION, -1);  /* not in line: probation restarts */
    expect_seq(&t, 201, CS_RTP_SEQ_NEW, 201);
    assert_int_equal(cs_rtp_seqtrack_expected(&t), 1);
    expect_seq(&t, 202, CS_RTP_SEQ_NEW, 202);
    /* A big jump is dropped once, then believed when the next one follows it. */
    expect_seq(&t, 30000, CS_RTP_SEQ_BAD, -1);
    expect_seq(&t, 203, CS_RTP_SEQ_NEW, 203);       /* a stray: the old stream goes on */
    expect_seq(&t, 40000, CS_RTP_SEQ_BAD, -1);
    expect_seq(&t, 40001, CS_RTP_SEQ_RESET, 40001);
    assert_int_equal(t.received, 1);
    assert_int_equal(t.base_seq, 40001);
    assert_int_equal(cs_rtp_seqtrack_expected(&t), 1);
    expect_seq(&t, 40002, CS_RTP_SEQ_NEW, 40002);
    /* A whole 16-bit cycle in order keeps counting. */
    for (uint32_t i = 1; i <= 70000; i++)
        cs_rtp_seqtrack_update(&t, (uint16_t)(40002 + i), NULL);
    assert_int_equal(cs_rtp_seqtrack_ext_max(&t), 40002 + 70000);
    assert_int_equal(cs_rtp_seqtrack_expected(&t), 70002);
    assert_int_equal(t.received, 70002);
}

static void test_jitter(void **state)
{
    (void)state;
    cs_rtp_jitter_t j;
    /* Perfectly paced 20 ms Opus packets at 48 kHz: no jitter. */
    cs_rtp_jitter_init(&j);
    for (uint32_t i = 0; i < 100; i++)
        cs_rtp_jitter_update(&j, 0xfffff000u + i * 960, 7 + i * 960);
    assert_int_equal(cs_rtp_jitter_get(&j), 0);

    /* Transit alternating by 80 units: |D| = 80 for every packet after the
     * first. J(n) = 80 (1 - (15/16)^n) in RFC 3550's real arithmetic; the
     * integer form of A.8 gives 5, 9, 14, 18, 22 ... and settles at 79
     * (J*16 = 1272, where round(J*16/16) first reaches 80). */
    static const uint32_t first[] = {5, 9, 14, 18, 22};
    cs_rtp_jitter_init(&j);
    double real = 0;
    for (uint32_t i = 0; i < 300; i++) {
        /* Timestamps wrap at 2^32 in the middle of the run. */
        uint32_t ts = 0xffff0000u + i * 160;
        cs_rtp_jitter_update(&j, ts, 1000 + i * 160 + (i % 2 ? 80 : 0));
        if (i >= 1)
            real += (80.0 - real) / 16;
        if (i >= 1 && i <= 5)
            assert_int_equal(cs_rtp_jitter_get(&j), first[i - 1]);
        /* The fixed-point state tracks the real-valued estimator closely;
         * the reported value truncates it. */
        double err = j.jitter_q4 / 16.0 - real;
        assert_true(err < 0.6 && err > -0.6);
        assert_true(cs_rtp_jitter_get(&j) <= j.jitter_q4 / 16.0);
    }
    assert_int_equal(cs_rtp_jitter_get(&j), 79);
    assert_int_equal(j.jitter_q4, 1272);

    assert_int_equal(cs_rtp_time_to_ts(1000000, 90000), 90000);
    assert_int_equal(cs_rtp_time_to_ts(20000, 48000), 960);
    assert_int_equal(cs_rtp_time_to_ts(1700000000000000ULL, 90000),
                     (uint32_t)(1700000000ULL * 90000));
}

/* ---- payload formats --------------------------------------------------------------- */

static void test_vp8(void **state)
{
    (void)state;
    cs_rtp_vp8_t v;
    assert_int_equal(PARSE(pkt_vp8_key), CS_OK);
    assert_int_equal(cs_rtp_vp8_parse(pkt.payload, pkt.payload_len, &v), CS_OK);
    assert_true(v.start);
    assert_int_equal(v.partition_id, 0);
    assert_true(v.has_picture_id && v.picture_id_15bit);
    assert_int_equal(v.picture_id, 0x1234);
    assert_true(v.has_tl0picidx);
    assert_int_equal(v.tl0picidx, 5);
    assert_true(v.has_tid && v.layer_sync);
    assert_int_equal(v.tid, 0);
    assert_false(v.has_keyidx);
    assert_int_equal(v.descriptor_len, 6);
    assert_true(v.keyframe);
    assert_int_equal(v.width, 640);
    assert_int_equal(v.height, 480);
    char rid[8];
    cs_rtp_ext_t e;
    assert_int_equal(cs_rtp_ext_find(&pkt, 10, &e), CS_OK);
    assert_int_equal(cs_rtp_ext_string(&e, rid, sizeof rid), CS_OK);
    assert_string_equal(rid, "f");

    static const uint8_t delta7[] = {0x80, 0x80, 0x2a, 0x31};           /* 7-bit id, P=1 */
    static const uint8_t pid1[] = {0x11, 0x10};                         /* S=1 PID=1 */
    static const uint8_t bare_key[] = {0x10, 0x10, 0x02, 0x00};         /* no X */
    static const uint8_t keyidx[] = {0xa0, 0x10, 0xc5, 0x00};           /* N, K: keyidx 5 */
    assert_int_equal(cs_rtp_vp8_parse(delta7, sizeof delta7, &v), CS_OK);
    assert_int_equal(v.picture_id, 42);
    assert_false(v.picture_id_15bit || v.keyframe || v.start);
    assert_int_equal(cs_rtp_vp8_parse(pid1, sizeof pid1, &v), CS_OK);
    assert_false(v.keyframe);
    assert_int_equal(cs_rtp_vp8_parse(bare_key, sizeof bare_key, &v), CS_OK);
    assert_true(v.keyframe);
    assert_int_equal(v.width, 0);
    assert_int_equal(cs_rtp_vp8_parse(keyidx, sizeof keyidx, &v), CS_OK);
    assert_true(v.non_reference && v.has_keyidx && !v.has_tid);
    assert_int_equal(v.keyidx, 5);
    assert_int_equal(v.descriptor_len, 3);
    assert_int_equal(v.tid, 0);

    static const uint8_t *bad[] = {(const uint8_t *)"\x90", (const uint8_t *)"\x90\x80",
                                   (const uint8_t *)"\x90\x80\x92",
                                   (const uint8_t *)"\x90\x40", (const uint8_t *)"\x90\x20",
                                   (const uint8_t *)"\x10"};
    static const size_t bad_len[] = {1, 2, 3, 2, 2, 1};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++)
        assert_int_equal(cs_rtp_vp8_parse(bad[i], bad_len[i], &v), CS_EINVAL);
    assert_int_equal(cs_rtp_vp8_parse(delta7, 0, &v), CS_EINVAL);
}

static void test_h264(void **state)
{
    (void)state;
    cs_rtp_h264_t h;
    static const uint8_t idr[] = {0x65, 0x88, 0x84, 0x00};
    static const uint8_t slice[] = {0x41, 0x9a, 0x02};
    const uint8_t *stap = pkt_h264_stap + 12, *fu_start = pkt_h264_fu_start + 12;
    const size_t stap_len = sizeof pkt_h264_stap - 12;
    static const uint8_t fu_mid[] = {0x7c, 0x05, 0x11};
    static const uint8_t fu_end[] = {0x7c, 0x45, 0x11};
    assert_int_equal(cs_rtp_h264_parse(idr, sizeof idr, &h), CS_OK);
    assert_true(h.has_idr && h.keyframe);
    assert_int_equal(h.nal_type, 5);
    assert_int_equal(cs_rtp_h264_parse(slice, sizeof slice, &h), CS_OK);
    assert_false(h.keyframe);
    assert_int_equal(PARSE(pkt_h264_stap), CS_OK);
    assert_int_equal(cs_rtp_h264_parse(pkt.payload, pkt.payload_len, &h), CS_OK);
    assert_int_equal(h.nal_type, 24);
    assert_int_equal(h.nal_count, 2);
    assert_true(h.has_sps && h.has_pps && !h.has_idr && h.keyframe);
    assert_int_equal(PARSE(pkt_h264_fu_start), CS_OK);
    assert_int_equal(cs_rtp_h264_parse(pkt.payload, pkt.payload_len, &h), CS_OK);
    assert_true(h.fu_start && h.has_idr && h.keyframe);
    assert_int_equal(cs_rtp_h264_parse(fu_mid, sizeof fu_mid, &h), CS_OK);
    assert_false(h.fu_start || h.fu_end || h.keyframe);
    assert_int_equal(cs_rtp_h264_parse(fu_end, sizeof fu_end, &h), CS_OK);
    assert_true(h.fu_end && !h.keyframe);

    /* STAP-A cut inside a NAL unit, inside a size, a size of 0; bad FU-A; others. */
    assert_int_equal(cs_rtp_h264_parse(stap, stap_len - 1, &h), CS_EINVAL);
    assert_int_equal(cs_rtp_h264_parse(stap, 2, &h), CS_EINVAL);
    assert_int_equal(cs_rtp_h264_parse(stap, 1, &h), CS_EINVAL);
    assert_int_equal(cs_rtp_h264_parse((const uint8_t *)"\x78\x00\x00\x01", 4, &h), CS_EINVAL);
    assert_int_equal(cs_rtp_h264_parse(fu_start, 1, &h), CS_EINVAL);
    assert_int_equal(cs_rtp_h264_parse((const uint8_t *)"\x7c\xc5", 2, &h), CS_EINVAL);
    assert_int_equal(cs_rtp_h264_parse((const uint8_t *)"\x00", 1, &h), CS_EINVAL);
    assert_int_equal(cs_rtp_h264_parse((const uint8_t *)"\x79\x00", 2, &h), CS_EUNSUPPORTED);
    assert_int_equal(cs_rtp_h264_parse((const uint8_t *)"\x7d\x85", 2, &h), CS_EUNSUPPORTED);
    assert_int_equal(cs_rtp_h264_parse(idr, 0, &h), CS_EINVAL);
}

static void test_rtx(void **state)
{
    (void)state;
    uint8_t out[256];
    uint16_t osn;
    assert_int_equal(PARSE(pkt_rtx_chrome), CS_OK);
    assert_int_equal(cs_rtp_rtx_osn(&pkt, &osn), CS_OK);
    assert_int_equal(osn, 0x2a10);

    /* Unwrap: the original's PT, SSRC and seq; the RTX stream's extensions. */
    int n = cs_rtp_rtx_unwrap(pkt_rtx_chrome, sizeof pkt_rtx_chrome, 96, 0x11223344, out,
                              sizeof out);
    assert_int_equal(n, sizeof pkt_vp8_key);
    assert_memory_equal(out, pkt_vp8_key, 12);
    assert_memory_equal(out + 12, pkt_rtx_chrome + 12, 16);
    assert_memory_equal(out + 28, pkt_vp8_key + 28, sizeof pkt_vp8_key - 28);

    /* Wrap: the reverse, byte for byte apart from the extension values. */
    n = cs_rtp_rtx_wrap(pkt_vp8_key, sizeof pkt_vp8_key, 97, 0x55667788, 0x0100, out, sizeof out);
    assert_int_equal(n, sizeof pkt_rtx_chrome);
    assert_memory_equal(out, pkt_rtx_chrome, 12);
    assert_memory_equal(out + 12, pkt_vp8_key + 12, 16);
    assert_memory_equal(out + 28, pkt_rtx_chrome + 28, sizeof pkt_rtx_chrome - 28);

    /* In place, and padding is dropped. */
    uint8_t b[64];
    memcpy(b, pkt_csrc_padding, sizeof pkt_csrc_padding);
    n = cs_rtp_rtx_wrap(b, sizeof pkt_csrc_padding, 97, 7, 9, b, sizeof b);
    assert_int_equal(n, 20 + 2 + 2);
    assert_int_equal(b[0], 0x82);
    assert_memory_equal(b + 20, "\xff\xff\x01\x02", 4);
    n = cs_rtp_rtx_unwrap(b, (size_t)n, 96, 0x01020304, b, sizeof b);
    assert_int_equal(n, 22);
    assert_memory_equal(b, "\x82\xe0\xff\xff", 4);
    assert_memory_equal(b + 4, pkt_csrc_padding + 4, 18);

    assert_int_equal(cs_rtp_rtx_wrap(pkt_vp8_key, sizeof pkt_vp8_key, 97, 1, 1, out,
                                     sizeof pkt_vp8_key + 1), CS_ETOOBIG);
    assert_int_equal(cs_rtp_rtx_wrap(pkt_vp8_key, sizeof pkt_vp8_key, 128, 1, 1, out, sizeof out),
                     CS_EINVAL);
    assert_int_equal(cs_rtp_rtx_unwrap(pkt_probe, sizeof pkt_probe, 96, 1, out, sizeof out),
                     CS_EINVAL);
    assert_int_equal(cs_rtp_rtx_unwrap(pkt_bad_csrc, sizeof pkt_bad_csrc, 96, 1, out, sizeof out),
                     CS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chrome_opus),
        cmocka_unit_test(test_two_byte_and_other_forms),
        cmocka_unit_test(test_csrc_padding_probe),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_ext_rewrite),
        cmocka_unit_test(test_ext_payloads),
        cmocka_unit_test(test_serialise_round_trip),
        cmocka_unit_test(test_seq_compare),
        cmocka_unit_test(test_seqtrack_wrap_reorder),
        cmocka_unit_test(test_seqtrack_probation_and_jump),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_vp8),
        cmocka_unit_test(test_h264),
        cmocka_unit_test(test_rtx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
