/*
 * fuzz_dtls.c — libFuzzer target for media/dtls.
 *
 * Each input drives a fresh server-role session (the gateway's role with
 * browsers) made from one certificate generated on the first call and kept.
 * The input is:
 *   flags (1 byte): bits 0-1 the MTU (1200, 256, 576, 1500); bit 2 start the
 *     session explicitly (else its first datagram does); bit 3 complete a
 *     real handshake first with an in-process client, so that what follows
 *     meets a connected session (retransmitted flights, alerts, records of
 *     the wrong epoch);
 *   the expected client certificate's SHA-256 (32 bytes; a seed captured
 *     from a real client carries its certificate's, so the flight after the
 *     ClientHello gets past the fingerprint check; bit 3 uses the in-process
 *     client's instead);
 *   records: len (2 bytes, big-endian), then len bytes: one datagram (a
 *     short last record is cut), followed by a run of the retransmission
 *     timer; len 0 runs only the timer.
 *
 * Checked on every call: only the documented return codes, a failure code
 * only together with on_failed (once, with that code, state FAILED, a
 * reason), never both on_connected and on_failed, on_closed only after
 * on_connected, every datagram sent no larger than the MTU, a timeout of -1
 * or more; close then free. The callbacks only record.
 *
 * Build with `make fuzz` and run e.g.
 *   build/fuzz/fuzz_dtls -max_total_time=300 tests/fuzz/corpus/dtls
 * `make test` replays tests/fuzz/corpus/dtls/ through the gcc build.
 * The seeds are ClientHello flights (and a client's second flight) captured
 * from cs_dtls client sessions, with truncations and retransmissions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "media/dtls/dtls.h"

#define FP_LEN 32
#define QMAX 32

typedef struct {
    int connected, failed, closed, fail_code;
    bool bad_keys, empty_sent;
    size_t sent, max_sent;
    char reason[160];
    /* while the in-process handshake runs: datagrams for the other side */
    bool queue;
    uint8_t q[QMAX][CS_DTLS_MAX_DATAGRAM];
    size_t qlen[QMAX], nq;
} rec_t;

static void on_send(void *user, const uint8_t *data, size_t len)
{
    rec_t *r = user;
    r->sent++;
    if (len > r->max_sent)
        r->max_sent = len;
    if (len == 0)
        r->empty_sent = true;
    if (r->queue && r->nq < QMAX && len <= CS_DTLS_MAX_DATAGRAM) {
        memcpy(r->q[r->nq], data, len);
        r->qlen[r->nq++] = len;
    }
}

static void on_connected(void *user, const cs_dtls_keys_t *keys)
{
    rec_t *r = user;
    r->connected++;
    if (keys->material_len != 2 * (keys->key_len + keys->salt_len) ||
        keys->material_len > CS_DTLS_KEYING_MAX || keys->is_client)
        r->bad_keys = true;
}

static void on_failed(void *user, int code, const char *reason)
{
    rec_t *r = user;
    r->failed++;
    r->fail_code = code;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
}

static void on_closed(void *user, const char *reason)
{
    (void)reason;
    rec_t *r = user;
    r->closed++;
}

static const cs_dtls_callbacks_t cbs = {on_send, on_connected, on_failed, on_closed};

static cs_dtls_cert_t *server_cert, *client_cert;
static char server_fp[CS_DTLS_FINGERPRINT_SIZE], client_fp[CS_DTLS_FINGERPRINT_SIZE];

static void init_once(void)
{
    if (server_cert)
        return;
    int err;
    server_cert = cs_dtls_cert_generate(&err);
    client_cert = cs_dtls_cert_generate(&err);
    CHECK(server_cert && client_cert);
    cs_dtls_cert_fingerprint(server_cert, server_fp);
    cs_dtls_cert_fingerprint(client_cert, client_fp);
}

static void hex_fingerprint(const uint8_t *b, char out[CS_DTLS_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < FP_LEN; i++) {
        if (i)
            out[o++] = ':';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

static bool is_failure(int rc)
{
    return rc == CS_EIO || rc == CS_EAUTH || rc == CS_EUNSUPPORTED;
}

/* The contract, after every call that may have called back. */
static void check_session(const cs_dtls_session_t *s, const rec_t *r, size_t mtu)
{
    CHECK(r->connected <= 1 && r->failed <= 1 && r->closed <= 1);
    CHECK(!(r->connected && r->failed));
    CHECK(!r->closed || r->connected);
    CHECK(!r->bad_keys && !r->empty_sent && r->max_sent <= mtu);
    cs_dtls_state_t st = cs_dtls_session_state(s);
    CHECK((st == CS_DTLS_STATE_FAILED) == (r->failed == 1));
    if (r->failed)
        CHECK(is_failure(r->fail_code) && r->reason[0] &&
              strcmp(r->reason, cs_dtls_session_reason(s)) == 0);
    if (st == CS_DTLS_STATE_CONNECTED)
        CHECK(r->connected == 1 && !r->closed);
    if (st == CS_DTLS_STATE_CLOSED)
        CHECK(r->closed == 1 && cs_dtls_session_reason(s)[0]);
    int t = cs_dtls_session_timeout_ms(s);
    CHECK(t >= -1 && (t == -1 || st == CS_DTLS_STATE_HANDSHAKING));
}

static void receive(cs_dtls_session_t *s, rec_t *r, const uint8_t *d, size_t len, size_t mtu)
{
    int failed = r->failed;
    cs_dtls_state_t before = cs_dtls_session_state(s);
    int rc = cs_dtls_session_receive(s, d, len);
    CHECK(rc == CS_OK || rc == CS_ESTATE || rc == CS_ETOOBIG || is_failure(rc));
    if (len > CS_DTLS_MAX_DATAGRAM)
        CHECK(rc == CS_ETOOBIG);
    else if (before == CS_DTLS_STATE_FAILED || before == CS_DTLS_STATE_CLOSED)
        CHECK(rc == CS_ESTATE);
    else
        CHECK(rc != CS_ESTATE && rc != CS_ETOOBIG);
    if (is_failure(rc))
        CHECK(r->failed == failed + 1 && r->fail_code == rc);
    else
        CHECK(r->failed == failed);
    check_session(s, r, mtu);
}

static void timer(cs_dtls_session_t *s, rec_t *r, size_t mtu)
{
    int failed = r->failed;
    int rc = cs_dtls_session_on_timer(s);
    CHECK(rc == CS_OK || (rc == CS_EIO && r->failed == failed + 1));
    check_session(s, r, mtu);
}

/* A real handshake with an in-process client: the server ends CONNECTED. */
static void handshake(cs_dtls_session_t *server, rec_t *sr)
{
    static rec_t cr;
    memset(&cr, 0, sizeof cr);
    cr.queue = true;
    sr->queue = true;
    int err;
    cs_dtls_session_t *client =
        cs_dtls_session_new(client_cert, CS_DTLS_ROLE_CLIENT, server_fp, &cbs, &cr, &err);
    CHECK(client && cs_dtls_session_start(client) == CS_OK);
    for (int round = 0; round < 8 && (cr.nq || sr->nq); round++) {
        for (size_t i = 0; i < cr.nq; i++)
            CHECK(cs_dtls_session_receive(server, cr.q[i], cr.qlen[i]) == CS_OK);
        cr.nq = 0;
        for (size_t i = 0; i < sr->nq; i++)
            CHECK(cs_dtls_session_receive(client, sr->q[i], sr->qlen[i]) == CS_OK);
        sr->nq = 0;
    }
    CHECK(cr.connected == 1 && sr->connected == 1);
    CHECK(cs_dtls_session_state(server) == CS_DTLS_STATE_CONNECTED);
    cs_dtls_session_free(client);
    sr->queue = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t mtus[] = {CS_DTLS_MTU, 256, 576, 1500};
    init_once();
    if (size < 1 + FP_LEN)
        return 0;
    const uint8_t flags = data[0];
    const size_t mtu = mtus[flags & 3];
    const bool connect_first = flags & 8;
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    hex_fingerprint(data + 1, fp);
    data += 1 + FP_LEN;
    size -= 1 + FP_LEN;

    static rec_t r;
    memset(&r, 0, sizeof r);
    int err = 1;
    cs_dtls_session_t *s = cs_dtls_session_new(server_cert, CS_DTLS_ROLE_SERVER,
                                               connect_first ? client_fp : fp, &cbs, &r, &err);
    CHECK(s && err == CS_OK);
    CHECK(cs_dtls_session_role(s) == CS_DTLS_ROLE_SERVER);
    CHECK(cs_dtls_session_state(s) == CS_DTLS_STATE_NEW);
    CHECK(cs_dtls_session_timeout_ms(s) == -1);
    CHECK(cs_dtls_session_set_mtu(s, mtu) == CS_OK);
    if (flags & 4) {
        CHECK(cs_dtls_session_start(s) == CS_OK);    /* a server waits: nothing sent */
        CHECK(cs_dtls_session_start(s) == CS_ESTATE && r.sent == 0);
    }
    if (connect_first)
        handshake(s, &r);
    check_session(s, &r, mtu);

    while (size >= 2) {
        size_t len = cs_rd16(data);
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        if (len) {
            /* an exact-size heap copy, so ASan sees any read past the end */
            uint8_t *d = malloc(len);
            CHECK(d);
            memcpy(d, data, len);
            receive(s, &r, d, len, mtu);
            free(d);
        }
        timer(s, &r, mtu);
        data += len;
        size -= len;
    }

    cs_dtls_state_t st = cs_dtls_session_state(s);
    int rc = cs_dtls_session_close(s);
    if (st == CS_DTLS_STATE_FAILED || st == CS_DTLS_STATE_CLOSED)
        CHECK(rc == CS_ESTATE && cs_dtls_session_state(s) == st);
    else
        CHECK(rc == CS_OK && cs_dtls_session_state(s) == CS_DTLS_STATE_CLOSED);
    CHECK(cs_dtls_session_receive(s, (const uint8_t *)"\x16", 1) == CS_ESTATE);
    cs_dtls_session_free(s);
    return 0;
}
