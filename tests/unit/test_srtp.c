/*
 * test_srtp.c — media/srtp: RTP and RTCP survive protect → unprotect under
 * both DTLS-SRTP profiles; tampering, wrong keys, replays, short packets and
 * small buffers are refused with the documented codes; an outbound session
 * repeats a sequence number for retransmissions; DTLS keying material splits
 * into the right directions; libsrtp's known-answer packets (the RFC 3711
 * Appendix B.3 master key) come out byte for byte.
 *
 * Protected packets are written into heap buffers of exactly len + overhead
 * bytes so that ASan catches any write past the documented trailer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "common/common.h"
#include "media/srtp/srtp.h"

static const cs_srtp_profile_t both[] = { CS_SRTP_AES128_CM_SHA1_80, CS_SRTP_AEAD_AES_128_GCM };

/* 30 bytes of key||salt, enough for either profile. */
static const uint8_t key_a[CS_SRTP_MAX_KEY_SALT_LEN] = {
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f,
    0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f, 0x70, 0x61, 0x52, 0x43, 0x34, 0x25, 0x16, 0x07,
};
static const uint8_t key_b[CS_SRTP_MAX_KEY_SALT_LEN] = {
    0x11, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f,
    0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f, 0x70, 0x61, 0x52, 0x43, 0x34, 0x25, 0x16, 0x07,
};

#define OPUS_PAYLOAD 96   /* a 20 ms Opus frame at ~38 kbit/s */
#define RTP_LEN (12 + 8 + OPUS_PAYLOAD)

/* An Opus RTP packet as Chromium sends it: PT 111, audio-level extension (id 1). */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc)
{
    uint32_t ts = 960u * seq;
    uint8_t hdr[20] = {
        0x90, 0x6f, (uint8_t)(seq >> 8), (uint8_t)seq,
        (uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts,
        (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16), (uint8_t)(ssrc >> 8), (uint8_t)ssrc,
        0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00,
    };
    memcpy(buf, hdr, sizeof(hdr));
    for (size_t i = 0; i < OPUS_PAYLOAD; i++)
        buf[sizeof(hdr) + i] = (uint8_t)(0x78 + i * 7);
    return RTP_LEN;
}

/* SR without report blocks + SDES CNAME: a compound RTCP packet, 48 bytes. */
static const uint8_t rtcp_sr_sdes[] = {
    0x80, 0xc8, 0x00, 0x06, 0x3a, 0x2c, 0x1f, 0x5e,
    0xe9, 0x5a, 0x3b, 0x10, 0x80, 0x00, 0x00, 0x00,
    0x00, 0x2e, 0x36, 0x40, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x01, 0x38, 0x80,
    0x81, 0xca, 0x00, 0x04, 0x3a, 0x2c, 0x1f, 0x5e, 0x01, 0x08,
    'c', 'o', 'n', 's', 'i', 'l', 'i', 'u', 0x00, 0x00,
};

static cs_srtp_session_t *session(cs_srtp_profile_t p, const uint8_t *ks, bool outbound)
{
    int err = 1;
    cs_srtp_session_t *s = cs_srtp_session_new(p, ks, ks + cs_srtp_key_len(p), outbound, &err);
    assert_non_null(s);
    assert_int_equal(err, CS_OK);
    return s;
}

/* Protects the packet into a fresh heap buffer of exactly len + overhead bytes. */
static uint8_t *protect_copy(cs_srtp_session_t *s, const uint8_t *pkt, size_t len, bool rtcp,
                             size_t *out_len)
{
    size_t cap = len + cs_srtp_overhead(cs_srtp_session_profile(s), rtcp);
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    memcpy(buf, pkt, len);
    int rc = rtcp ? cs_srtp_protect_rtcp(s, buf, len, cap, out_len)
                  : cs_srtp_protect(s, buf, len, cap, out_len);
    assert_int_equal(rc, CS_OK);
    assert_int_equal(*out_len, cap);
    return buf;
}

/* ---- profiles ------------------------------------------------------------------- */

static void test_profiles(void **state)
{
    (void)state;
    cs_srtp_profile_t p;
    assert_int_equal(cs_srtp_profile_parse("SRTP_AES128_CM_SHA1_80", &p), CS_OK);
    assert_int_equal(p, CS_SRTP_AES128_CM_SHA1_80);
    assert_int_equal(p, 0x0001);
    assert_int_equal(cs_srtp_profile_parse("SRTP_AEAD_AES_128_GCM", &p), CS_OK);
    assert_int_equal(p, CS_SRTP_AEAD_AES_128_GCM);
    assert_int_equal(p, 0x0007);
    assert_int_equal(cs_srtp_profile_parse("SRTP_AES128_CM_SHA1_32", &p), CS_EUNSUPPORTED);
    assert_int_equal(cs_srtp_profile_parse("", &p), CS_EUNSUPPORTED);
    assert_int_equal(cs_srtp_profile_parse(NULL, &p), CS_EINVAL);
    assert_int_equal(cs_srtp_profile_from_id(7, &p), CS_OK);
    assert_int_equal(p, CS_SRTP_AEAD_AES_128_GCM);
    assert_int_equal(cs_srtp_profile_from_id(2, &p), CS_EUNSUPPORTED);
    assert_string_equal(cs_srtp_profile_name(CS_SRTP_AES128_CM_SHA1_80), "SRTP_AES128_CM_SHA1_80");
    assert_string_equal(cs_srtp_profile_name((cs_srtp_profile_t)9), "unknown");

    assert_int_equal(cs_srtp_key_len(CS_SRTP_AES128_CM_SHA1_80), 16);
    assert_int_equal(cs_srtp_salt_len(CS_SRTP_AES128_CM_SHA1_80), 14);
    assert_int_equal(cs_srtp_material_len(CS_SRTP_AES128_CM_SHA1_80), 60);
    assert_int_equal(cs_srtp_key_len(CS_SRTP_AEAD_AES_128_GCM), 16);
    assert_int_equal(cs_srtp_salt_len(CS_SRTP_AEAD_AES_128_GCM), 12);
    assert_int_equal(cs_srtp_material_len(CS_SRTP_AEAD_AES_128_GCM), 56);
    assert_int_equal(cs_srtp_key_len((cs_srtp_profile_t)2), 0);
    assert_int_equal(cs_srtp_overhead(CS_SRTP_AES128_CM_SHA1_80, false), 10);
    assert_int_equal(cs_srtp_overhead(CS_SRTP_AES128_CM_SHA1_80, true), 14);
    assert_int_equal(cs_srtp_overhead(CS_SRTP_AEAD_AES_128_GCM, false), 16);
    assert_int_equal(cs_srtp_overhead(CS_SRTP_AEAD_AES_128_GCM, true), CS_SRTP_MAX_TRAILER);
    assert_true(CS_SRTP_MAX_TRAILER_RTP >= cs_srtp_overhead(CS_SRTP_AEAD_AES_128_GCM, false));
}

static void *init_thread(void *arg)
{
    *(int *)arg = cs_srtp_global_init();
    return NULL;
}

static void test_global_init_idempotent(void **state)
{
    (void)state;
    pthread_t t[4];
    int rc[4] = { 1, 1, 1, 1 };
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, init_thread, &rc[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(rc[i], CS_OK);
    }
    assert_int_equal(cs_srtp_global_init(), CS_OK);
}

/* ---- round trips ------------------------------------------------------------------ */

static void test_rtp_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_a, false);
        for (uint16_t seq = 65530; seq != 6; seq++) {   /* across the wrap */
            uint8_t pkt[RTP_LEN];
            size_t len = make_rtp(pkt, seq, 0x1234abcd), slen, rlen;
            uint8_t *buf = protect_copy(tx, pkt, len, false, &slen);
            assert_memory_equal(buf, pkt, 20);              /* header in the clear */
            assert_memory_not_equal(buf + 20, pkt + 20, OPUS_PAYLOAD);
            assert_int_equal(cs_srtp_unprotect(rx, buf, slen, &rlen), CS_OK);
            assert_int_equal(rlen, len);
            assert_memory_equal(buf, pkt, len);
            free(buf);
        }
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

static void test_rtcp_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_a, false);
        for (int n = 0; n < 3; n++) {
            size_t slen, rlen;
            uint8_t *buf = protect_copy(tx, rtcp_sr_sdes, sizeof(rtcp_sr_sdes), true, &slen);
            assert_memory_equal(buf, rtcp_sr_sdes, 8);      /* first header and SSRC */
            assert_int_equal(cs_srtp_unprotect_rtcp(rx, buf, slen, &rlen), CS_OK);
            assert_int_equal(rlen, sizeof(rtcp_sr_sdes));
            assert_memory_equal(buf, rtcp_sr_sdes, rlen);
            free(buf);
        }
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

/* ---- refusals --------------------------------------------------------------------- */

static void test_tampered_is_auth(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_a, false);
        uint8_t pkt[RTP_LEN];
        size_t len = make_rtp(pkt, 100, 1), slen, rlen;
        uint8_t *buf = protect_copy(tx, pkt, len, false, &slen);
        buf[40] ^= 0x01;
        assert_int_equal(cs_srtp_unprotect(rx, buf, slen, &rlen), CS_EAUTH);
        free(buf);
        buf = protect_copy(tx, rtcp_sr_sdes, sizeof(rtcp_sr_sdes), true, &slen);
        buf[20] ^= 0x80;
        assert_int_equal(cs_srtp_unprotect_rtcp(rx, buf, slen, &rlen), CS_EAUTH);
        free(buf);
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

static void test_wrong_key_is_auth(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_b, false);
        uint8_t pkt[RTP_LEN];
        size_t len = make_rtp(pkt, 7, 2), slen, rlen;
        uint8_t *buf = protect_copy(tx, pkt, len, false, &slen);
        assert_int_equal(cs_srtp_unprotect(rx, buf, slen, &rlen), CS_EAUTH);
        free(buf);
        buf = protect_copy(tx, rtcp_sr_sdes, sizeof(rtcp_sr_sdes), true, &slen);
        assert_int_equal(cs_srtp_unprotect_rtcp(rx, buf, slen, &rlen), CS_EAUTH);
        free(buf);
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

static void test_replay_is_exist(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_a, false);
        uint8_t pkt[RTP_LEN], copy[RTP_LEN + CS_SRTP_MAX_TRAILER];
        size_t len = make_rtp(pkt, 500, 3), slen, rlen;
        uint8_t *buf = protect_copy(tx, pkt, len, false, &slen);
        memcpy(copy, buf, slen);
        assert_int_equal(cs_srtp_unprotect(rx, buf, slen, &rlen), CS_OK);
        assert_int_equal(cs_srtp_unprotect(rx, copy, slen, &rlen), CS_EEXIST);
        free(buf);
        /* RTCP: the same SRTCP index twice */
        buf = protect_copy(tx, rtcp_sr_sdes, sizeof(rtcp_sr_sdes), true, &slen);
        memcpy(copy, buf, slen);
        assert_int_equal(cs_srtp_unprotect_rtcp(rx, buf, slen, &rlen), CS_OK);
        assert_int_equal(cs_srtp_unprotect_rtcp(rx, copy, slen, &rlen), CS_EEXIST);
        free(buf);
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

/* A packet older than the window is a replay too; the window is configurable. */
static void test_replay_window(void **state)
{
    (void)state;
    cs_srtp_profile_t p = CS_SRTP_AES128_CM_SHA1_80;
    int err = 0;
    assert_null(cs_srtp_session_new_window(p, key_a, key_a + 16, false, 10, &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_srtp_session_new_window(p, key_a, key_a + 16, false, 40000, &err));
    assert_int_equal(err, CS_EINVAL);

    cs_srtp_session_t *tx = session(p, key_a, true);
    cs_srtp_session_t *rx = cs_srtp_session_new_window(p, key_a, key_a + 16, false, 64, &err);
    cs_srtp_session_t *rx128 = session(p, key_a, false);
    assert_non_null(rx);
    uint8_t pkt[RTP_LEN], old[RTP_LEN + CS_SRTP_MAX_TRAILER], old2[sizeof(old)];
    size_t slen, olen, rlen;
    uint8_t *buf = protect_copy(tx, pkt, make_rtp(pkt, 1000, 4), false, &olen);
    memcpy(old, buf, olen);
    memcpy(old2, buf, olen);
    free(buf);
    buf = protect_copy(tx, pkt, make_rtp(pkt, 1100, 4), false, &slen);
    uint8_t copy[sizeof(old)];
    memcpy(copy, buf, slen);
    assert_int_equal(cs_srtp_unprotect(rx, buf, slen, &rlen), CS_OK);
    assert_int_equal(cs_srtp_unprotect(rx128, copy, slen, &rlen), CS_OK);
    assert_int_equal(cs_srtp_unprotect(rx, old, olen, &rlen), CS_EEXIST);   /* 100 > 64 */
    assert_int_equal(cs_srtp_unprotect(rx128, old2, olen, &rlen), CS_OK);   /* 100 < 128 */
    free(buf);
    cs_srtp_session_free(tx);
    cs_srtp_session_free(rx);
    cs_srtp_session_free(rx128);
}

static void test_short_packet_is_inval(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_a, false);
        uint8_t two[64] = { 0x80, 0x6f };
        size_t out = 0;
        assert_int_equal(cs_srtp_protect(tx, two, 2, sizeof(two), &out), CS_EINVAL);
        assert_int_equal(cs_srtp_unprotect(rx, two, 2, &out), CS_EINVAL);
        assert_int_equal(cs_srtp_protect_rtcp(tx, two, 2, sizeof(two), &out), CS_EINVAL);
        assert_int_equal(cs_srtp_unprotect_rtcp(rx, two, 2, &out), CS_EINVAL);
        /* a full header but no room for a tag */
        assert_int_equal(cs_srtp_unprotect(rx, two, 12, &out), CS_EINVAL);
        assert_int_equal(cs_srtp_unprotect_rtcp(rx, two, 8, &out), CS_EINVAL);
        /* version 0 */
        uint8_t v0[RTP_LEN + CS_SRTP_MAX_TRAILER];
        make_rtp(v0, 1, 1);
        v0[0] &= 0x3f;
        assert_int_equal(cs_srtp_protect(tx, v0, RTP_LEN, sizeof(v0), &out), CS_EINVAL);
        assert_int_equal(out, 0);
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

static void test_cap_too_small(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_a, false);
        uint8_t pkt[RTP_LEN], buf[RTP_LEN + CS_SRTP_MAX_TRAILER];
        size_t len = make_rtp(pkt, 9, 5), out = 0, rlen;
        size_t need = len + cs_srtp_overhead(both[i], false);
        memcpy(buf, pkt, len);
        assert_int_equal(cs_srtp_protect(tx, buf, len, need - 1, &out), CS_ETOOBIG);
        assert_int_equal(cs_srtp_protect(tx, buf, len, len, &out), CS_ETOOBIG);
        assert_memory_equal(buf, pkt, len);                 /* untouched */
        assert_int_equal(cs_srtp_protect(tx, buf, len, need, &out), CS_OK);
        assert_int_equal(out, need);
        assert_int_equal(cs_srtp_unprotect(rx, buf, out, &rlen), CS_OK);
        assert_memory_equal(buf, pkt, len);
        need = sizeof(rtcp_sr_sdes) + cs_srtp_overhead(both[i], true);
        memcpy(buf, rtcp_sr_sdes, sizeof(rtcp_sr_sdes));
        assert_int_equal(cs_srtp_protect_rtcp(tx, buf, sizeof(rtcp_sr_sdes), need - 1, &out),
                         CS_ETOOBIG);
        assert_int_equal(cs_srtp_protect(tx, buf, CS_SRTP_MAX_PACKET + 1, SIZE_MAX, &out),
                         CS_ETOOBIG);
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

/* RTX / NACK answers send a sequence number again: outbound allows it. */
static void test_outbound_repeat_allowed(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_session_t *tx = session(both[i], key_a, true);
        cs_srtp_session_t *rx = session(both[i], key_a, false);
        uint8_t pkt[RTP_LEN];
        size_t len = make_rtp(pkt, 42, 6), l1, l2, rlen;
        uint8_t *first = protect_copy(tx, pkt, len, false, &l1);
        uint8_t *later = protect_copy(tx, pkt, make_rtp(pkt, 43, 6), false, &l2);
        free(later);
        uint8_t *again = protect_copy(tx, pkt, make_rtp(pkt, 42, 6), false, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(first, again, l1);              /* same keystream, same tag */
        assert_int_equal(cs_srtp_unprotect(rx, first, l1, &rlen), CS_OK);
        assert_int_equal(cs_srtp_unprotect(rx, again, l2, &rlen), CS_EEXIST);
        free(first);
        free(again);
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

static void test_wrong_direction(void **state)
{
    (void)state;
    cs_srtp_session_t *tx = session(CS_SRTP_AEAD_AES_128_GCM, key_a, true);
    cs_srtp_session_t *rx = session(CS_SRTP_AEAD_AES_128_GCM, key_a, false);
    uint8_t pkt[RTP_LEN + CS_SRTP_MAX_TRAILER];
    size_t len = make_rtp(pkt, 1, 1), out;
    assert_int_equal(cs_srtp_protect(rx, pkt, len, sizeof(pkt), &out), CS_EINVAL);
    assert_int_equal(cs_srtp_unprotect(tx, pkt, len, &out), CS_EINVAL);
    assert_int_equal(cs_srtp_protect(NULL, pkt, len, sizeof(pkt), &out), CS_EINVAL);
    assert_true(cs_srtp_session_outbound(tx));
    assert_false(cs_srtp_session_outbound(rx));
    cs_srtp_session_free(tx);
    cs_srtp_session_free(rx);
    cs_srtp_session_free(NULL);

    int err = 0;
    assert_null(cs_srtp_session_new((cs_srtp_profile_t)2, key_a, key_a + 16, true, &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_srtp_session_new(CS_SRTP_AEAD_AES_128_GCM, NULL, key_a, true, &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_srtp_session_new(CS_SRTP_AEAD_AES_128_GCM, NULL, key_a, true, NULL));
}

/* ---- keys ----------------------------------------------------------------------- */

/* material[i] = i: client key 0..15, server key 16..31, then the salts. */
static void test_split_keys_cm(void **state)
{
    (void)state;
    uint8_t m[60], local[30], remote[30];
    for (size_t i = 0; i < sizeof(m); i++)
        m[i] = (uint8_t)i;
    static const uint8_t client[30] = {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
    };
    static const uint8_t server[30] = {
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,
    };
    cs_srtp_profile_t p = CS_SRTP_AES128_CM_SHA1_80;
    assert_int_equal(cs_srtp_split_keys(p, m, 60, true, local, remote), CS_OK);
    assert_memory_equal(local, client, 30);
    assert_memory_equal(remote, server, 30);
    assert_int_equal(cs_srtp_split_keys(p, m, 60, false, local, remote), CS_OK);
    assert_memory_equal(local, server, 30);
    assert_memory_equal(remote, client, 30);
    assert_int_equal(cs_srtp_split_keys(p, m, 59, true, local, remote), CS_EINVAL);
    assert_int_equal(cs_srtp_split_keys(p, m, 56, true, local, remote), CS_EINVAL);
    assert_int_equal(cs_srtp_split_keys(p, NULL, 60, true, local, remote), CS_EINVAL);
}

static void test_split_keys_gcm(void **state)
{
    (void)state;
    uint8_t m[56], local[28], remote[28];
    for (size_t i = 0; i < sizeof(m); i++)
        m[i] = (uint8_t)(0xa0 + i);
    static const uint8_t client[28] = {
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
        0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb,
    };
    static const uint8_t server[28] = {
        0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
        0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
    };
    cs_srtp_profile_t p = CS_SRTP_AEAD_AES_128_GCM;
    assert_int_equal(cs_srtp_split_keys(p, m, 56, true, local, remote), CS_OK);
    assert_memory_equal(local, client, 28);
    assert_memory_equal(remote, server, 28);
    assert_int_equal(cs_srtp_split_keys(p, m, 56, false, local, remote), CS_OK);
    assert_memory_equal(local, server, 28);
    assert_memory_equal(remote, client, 28);
    assert_int_equal(cs_srtp_split_keys(p, m, 60, false, local, remote), CS_EINVAL);
}

/* The DTLS client's outbound session talks to the server's inbound one, and back. */
static void test_split_keys_pair(void **state)
{
    (void)state;
    for (size_t i = 0; i < CS_ARRAY_LEN(both); i++) {
        cs_srtp_profile_t p = both[i];
        uint8_t m[CS_SRTP_MAX_MATERIAL_LEN];
        uint8_t cl[CS_SRTP_MAX_KEY_SALT_LEN], cr[CS_SRTP_MAX_KEY_SALT_LEN];
        uint8_t sl[CS_SRTP_MAX_KEY_SALT_LEN], sr[CS_SRTP_MAX_KEY_SALT_LEN];
        assert_int_equal(cs_random_bytes(m, sizeof(m)), CS_OK);
        size_t n = cs_srtp_material_len(p);
        assert_int_equal(cs_srtp_split_keys(p, m, n, true, cl, cr), CS_OK);
        assert_int_equal(cs_srtp_split_keys(p, m, n, false, sl, sr), CS_OK);
        cs_srtp_session_t *c_tx = session(p, cl, true), *s_rx = session(p, sr, false);
        cs_srtp_session_t *s_tx = session(p, sl, true), *c_rx = session(p, cr, false);
        uint8_t pkt[RTP_LEN];
        size_t len = make_rtp(pkt, 1, 77), slen, rlen;
        uint8_t *buf = protect_copy(c_tx, pkt, len, false, &slen);
        assert_int_equal(cs_srtp_unprotect(s_rx, buf, slen, &rlen), CS_OK);
        free(buf);
        buf = protect_copy(s_tx, pkt, len, false, &slen);
        assert_int_equal(cs_srtp_unprotect(c_rx, buf, slen, &rlen), CS_OK);
        free(buf);
        cs_srtp_session_free(c_tx);
        cs_srtp_session_free(s_rx);
        cs_srtp_session_free(s_tx);
        cs_srtp_session_free(c_rx);
    }
}

/* ---- known answers ----------------------------------------------------------------- */

/*
 * libsrtp's own reference packets (test/srtp_driver.c, srtp_validate and
 * srtp_validate_gcm). The AES-CM key is RFC 3711 Appendix B.3's master key and
 * salt; SSRC 0xcafebabe, seq 0x1234, the first SRTCP index is 1.
 */
static const uint8_t kat_cm_key[30] = {
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
    0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static const uint8_t kat_gcm_key[28] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
};
static const uint8_t kat_rtp[28] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t kat_rtcp[24] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t kat_cm_srtp[38] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
    0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d, 0x24, 0x02,
    0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
};
static const uint8_t kat_cm_srtcp[38] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
    0x71, 0x28, 0x03, 0x5b, 0xe4, 0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8,
    0x80, 0x00, 0x00, 0x01, 0x99, 0x3e, 0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98,
};
static const uint8_t kat_gcm_srtp[44] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
    0xc5, 0x00, 0x2e, 0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11, 0x59, 0xe0, 0x88, 0x0a, 0xa0, 0x6e,
    0xd2, 0x97, 0x68, 0x26, 0xf7, 0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92,
};
static const uint8_t kat_gcm_srtcp[44] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
    0xc9, 0x8b, 0x8b, 0x5d, 0xf0, 0x39, 0x2a, 0x55, 0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e, 0x70, 0x25,
    0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3, 0xb4, 0x46, 0xea, 0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e,
    0x80, 0x00, 0x00, 0x01,
};

static void known_answer(cs_srtp_profile_t p, const uint8_t *ks, const uint8_t *srtp,
                         const uint8_t *srtcp)
{
    cs_srtp_session_t *tx = session(p, ks, true), *rx = session(p, ks, false);
    size_t slen, rlen;
    uint8_t *buf = protect_copy(tx, kat_rtp, sizeof(kat_rtp), false, &slen);
    assert_memory_equal(buf, srtp, slen);
    assert_int_equal(cs_srtp_unprotect(rx, buf, slen, &rlen), CS_OK);
    assert_int_equal(rlen, sizeof(kat_rtp));
    assert_memory_equal(buf, kat_rtp, rlen);
    free(buf);
    buf = protect_copy(tx, kat_rtcp, sizeof(kat_rtcp), true, &slen);
    assert_memory_equal(buf, srtcp, slen);
    assert_int_equal(cs_srtp_unprotect_rtcp(rx, buf, slen, &rlen), CS_OK);
    assert_int_equal(rlen, sizeof(kat_rtcp));
    assert_memory_equal(buf, kat_rtcp, rlen);
    free(buf);
    cs_srtp_session_free(tx);
    cs_srtp_session_free(rx);
}

static void test_known_answer_cm(void **state)
{
    (void)state;
    known_answer(CS_SRTP_AES128_CM_SHA1_80, kat_cm_key, kat_cm_srtp, kat_cm_srtcp);
}

static void test_known_answer_gcm(void **state)
{
    (void)state;
    known_answer(CS_SRTP_AEAD_AES_128_GCM, kat_gcm_key, kat_gcm_srtp, kat_gcm_srtcp);
}

/* ---- lifetime ---------------------------------------------------------------------- */

/* Sessions with streams for several SSRCs, created and freed: ASan checks leaks. */
static void test_many_sessions(void **state)
{
    (void)state;
    for (int n = 0; n < 500; n++) {
        cs_srtp_profile_t p = both[n % 2];
        cs_srtp_session_t *tx = session(p, key_a, true), *rx = session(p, key_a, false);
        for (uint32_t ssrc = 1; ssrc <= 3; ssrc++) {
            uint8_t pkt[RTP_LEN];
            size_t len = make_rtp(pkt, (uint16_t)n, ssrc), slen, rlen;
            uint8_t *buf = protect_copy(tx, pkt, len, false, &slen);
            assert_int_equal(cs_srtp_unprotect(rx, buf, slen, &rlen), CS_OK);
            free(buf);
        }
        cs_srtp_session_free(tx);
        cs_srtp_session_free(rx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_global_init_idempotent),
        cmocka_unit_test(test_rtp_round_trip),
        cmocka_unit_test(test_rtcp_round_trip),
        cmocka_unit_test(test_tampered_is_auth),
        cmocka_unit_test(test_wrong_key_is_auth),
        cmocka_unit_test(test_replay_is_exist),
        cmocka_unit_test(test_replay_window),
        cmocka_unit_test(test_short_packet_is_inval),
        cmocka_unit_test(test_cap_too_small),
        cmocka_unit_test(test_outbound_repeat_allowed),
        cmocka_unit_test(test_wrong_direction),
        cmocka_unit_test(test_split_keys_cm),
        cmocka_unit_test(test_split_keys_gcm),
        cmocka_unit_test(test_split_keys_pair),
        cmocka_unit_test(test_known_answer_cm),
        cmocka_unit_test(test_known_answer_gcm),
        cmocka_unit_test(test_many_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
