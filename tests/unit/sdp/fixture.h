/*
 * fixture.h — loading the SDP fixtures in tests/unit/sdp/ for the test_sdp*.c
 * binaries and test_router.c, and the gateway's side of their answers. Tests
 * run from the repository root (make unit does); set SDP_FIXTURES to the
 * folder to run them from elsewhere.
 */
#ifndef CS_TEST_SDP_FIXTURE_H
#define CS_TEST_SDP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "media/sdp/sdp.h"

/* The whole file, NUL-terminated (the parser is given its length). */
static inline char *fixture_load(const char *name, size_t *len)
{
    const char *dir = getenv("SDP_FIXTURES");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/unit/sdp", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s (run from the repository root)\n", path);
        abort();
    }
    char *buf = malloc(CS_SDP_MAX_SIZE + 1);
    size_t n = buf ? fread(buf, 1, CS_SDP_MAX_SIZE, f) : 0;
    fclose(f);
    if (!buf || n == 0)
        abort();
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Parses a fixture into a new heap struct; aborts (failing the test) on error. */
static inline cs_sdp_t *fixture_parse(const char *name)
{
    size_t len;
    char *text = fixture_load(name, &len);
    cs_sdp_t *sdp = malloc(sizeof *sdp);
    cs_sdp_error_t err;
    if (!sdp || cs_sdp_parse(text, len, sdp, &err) != CS_OK) {
        fprintf(stderr, "%s: %s\n", name, sdp ? err.message : "out of memory");
        abort();
    }
    free(text);
    return sdp;
}

static inline const char *const *fixture_names(size_t *n)
{
    static const char *const names[] = {
        "chromium-offer-av.sdp",         "chromium-offer-av-data.sdp",
        "chromium-offer-simulcast.sdp",  "chromium-offer-before-restart.sdp",
        "chromium-offer-ice-restart.sdp", "chromium-offer-recvonly.sdp",
        "chromium-answer-sfu.sdp",       "firefox-offer-av.sdp",
        "firefox-offer-av-data.sdp",     "firefox-offer-simulcast.sdp",
        "firefox-offer-before-restart.sdp", "firefox-offer-ice-restart.sdp",
        "firefox-offer-recvonly.sdp",    "firefox-answer-sfu.sdp",
        "sfu-offer.sdp",                 "handmade-offer-ice.sdp",
    };
    *n = sizeof names / sizeof names[0];
    return names;
}

/* The gateway's side of an answer: ICE credentials "gw01", a SHA-256
 * fingerprint A0:A1:...:BF, session 4242 version 1, extmap-allow-mixed; no
 * candidates, no trickle. */
static inline cs_sdp_local_t fixture_local(void)
{
    cs_sdp_local_t l = {0};
    strcpy(l.ice_ufrag, "gw01");
    strcpy(l.ice_pwd, "gatewayIcePassword0123456");
    l.fingerprint.hash = CS_SDP_HASH_SHA256;
    l.fingerprint.len = 32;
    for (int i = 0; i < 32; i++)
        l.fingerprint.value[i] = (uint8_t)(0xA0 + i);
    l.session_id = 4242;
    l.session_version = 1;
    l.extmap_allow_mixed = true;
    return l;
}

#endif
