/*
 * fuzz_sdp.c — libFuzzer target: any bytes as a remote SDP offer, and as a
 * trickled candidate.
 *
 * Parsing must never crash or read past the input. A description that parses
 * must also be writable, and what is written must parse back to the very
 * same struct (and write to the very same text): otherwise the gateway could
 * answer something other than what it decided. The answer helper runs on
 * every parsed description and its answer must survive the same round trip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "media/sdp/sdp.h"

/* Written text may be longer than the input: session-level attributes are
 * repeated per section and a=rtcp-fb:* per payload type. */
#define OUT_CAP (8 * CS_SDP_MAX_SIZE)

static void check_error(int rc, const cs_sdp_error_t *err)
{
    if (memchr(err->message, '\0', sizeof err->message) == NULL || err->code != rc ||
        !err->message[0])
        abort();
}

/* Writes s, parses it into scratch and checks both are the same. */
static void round_trip(const cs_sdp_t *s, cs_sdp_t *scratch, char *out, char *out2, const char *what)
{
    cs_sdp_error_t err;
    size_t len, len2;
    int rc = cs_sdp_write(s, out, OUT_CAP, &len, &err);
    if (rc != CS_OK) {
        fprintf(stderr, "%s does not write: %s\n", what, err.message);
        abort();
    }
    rc = cs_sdp_parse(out, len, scratch, &err);
    if (rc == CS_ETOOBIG && len > CS_SDP_MAX_SIZE)
        return;
    if (rc != CS_OK) {
        fprintf(stderr, "%s written does not parse: %s\n%s", what, err.message, out);
        abort();
    }
    if (memcmp(s, scratch, sizeof *s) != 0) {
        fprintf(stderr, "%s written and parsed differs:\n%s", what, out);
        abort();
    }
    if (cs_sdp_write(scratch, out2, OUT_CAP, &len2, &err) != CS_OK || len != len2 ||
        memcmp(out, out2, len) != 0)
        abort();
}

static cs_sdp_local_t local(void)
{
    static const char cand[] = "candidate:1 1 udp 2130706431 192.0.2.1 40000 typ host";
    static cs_sdp_candidate_t c;
    cs_sdp_local_t l = {0};
    strcpy(l.ice_ufrag, "gw01");
    strcpy(l.ice_pwd, "gatewayIcePassword0123456");
    l.fingerprint.hash = CS_SDP_HASH_SHA256;
    l.fingerprint.len = 32;
    l.session_id = 1;
    l.trickle = true;
    l.extmap_allow_mixed = true;
    if (cs_sdp_candidate_parse(cand, sizeof cand - 1, &c, NULL) != CS_OK)
        abort();
    l.candidates = &c;
    l.n_candidates = 1;
    l.end_of_candidates = true;
    return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The structs are large: allocated once and reused. */
    static cs_sdp_t *sdp, *scratch, *answer;
    static char *out, *out2;
    if (!sdp) {
        sdp = malloc(sizeof *sdp);
        scratch = malloc(sizeof *scratch);
        answer = malloc(sizeof *answer);
        out = malloc(OUT_CAP);
        out2 = malloc(OUT_CAP);
        if (!sdp || !scratch || !answer || !out || !out2)
            abort();
    }
    /* An exact-size heap copy, so reading past the end is caught by ASan. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);

    cs_sdp_error_t err;
    int rc = cs_sdp_parse(buf, size, sdp, &err);
    if (rc != CS_OK) {
        check_error(rc, &err);
        if (rc != CS_EINVAL && rc != CS_ETOOBIG && rc != CS_ELIMIT)
            abort();
    } else {
        round_trip(sdp, scratch, out, out2, "description");
        cs_sdp_local_t l = local();
        rc = cs_sdp_answer(sdp, &l, answer, &err);
        if (rc == CS_OK)
            round_trip(answer, scratch, out, out2, "answer");
        else
            check_error(rc, &err);
    }

    cs_sdp_candidate_t c;
    rc = cs_sdp_candidate_parse(buf, size, &c, &err);
    if (rc == CS_OK) {
        char line[CS_SDP_MAX_LINE];
        cs_sdp_candidate_t again;
        if (cs_sdp_candidate_write(&c, line, sizeof line) != CS_OK ||
            cs_sdp_candidate_parse(line, strlen(line), &again, NULL) != CS_OK ||
            memcmp(&c, &again, sizeof c) != 0)
            abort();
    } else {
        check_error(rc, &err);
    }
    free(buf);
    return 0;
}
