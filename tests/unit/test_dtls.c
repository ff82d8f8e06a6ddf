/*
 * test_dtls.c — media/dtls: two sessions in one process, wired back to back
 * through their send callbacks, complete the DTLS-SRTP handshake in either
 * role and export the same keying material; a fingerprint that is not the
 * SDP's fails the handshake; lost flights come back through the timer API;
 * garbage never crashes; certificates generate, print and load as SDP and PEM
 * expect; sessions come and go without leaking (run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "common/common.h"
#include "media/dtls/dtls.h"
#include "media/dtls/internal.h"        /* the X509 and key, to write PEM files */

#define QMAX 64

typedef struct {
    uint8_t data[CS_DTLS_MAX_DATAGRAM];
    size_t len;
} dgram_t;

typedef struct {
    cs_dtls_session_t *s;
    dgram_t q[QMAX];                    /* sent, not yet delivered */
    size_t n;
    int drop;                           /* drop this many outgoing datagrams */
    size_t max_len;                     /* largest datagram sent */
    int connected, failed, closed, fail_code;
    char reason[160];
    cs_dtls_keys_t keys;
} peer_t;

static void on_send(void *user, const uint8_t *data, size_t len)
{
    peer_t *p = user;
    if (len > p->max_len)
        p->max_len = len;
    if (p->drop > 0) {
        p->drop--;
        return;
    }
    assert_true(len <= CS_DTLS_MAX_DATAGRAM);
    if (p->n == QMAX)
        return;
    memcpy(p->q[p->n].data, data, len);
    p->q[p->n++].len = len;
}

static void on_connected(void *user, const cs_dtls_keys_t *keys)
{
    peer_t *p = user;
    p->connected++;
    p->keys = *keys;
}

static void on_failed(void *user, int code, const char *reason)
{
    peer_t *p = user;
    p->failed++;
    p->fail_code = code;
    cs_strlcpy(p->reason, reason, sizeof p->reason);
}

static void on_closed(void *user, const char *reason)
{
    peer_t *p = user;
    (void)reason;
    p->closed++;
}

static const cs_dtls_callbacks_t cbs = {on_send, on_connected, on_failed, on_closed};

static void peer_init(peer_t *p, const cs_dtls_cert_t *mine, cs_dtls_role_t role,
                      const char *remote_fp)
{
    memset(p, 0, sizeof *p);
    int err = 1;
    p->s = cs_dtls_session_new(mine, role, remote_fp, &cbs, p, &err);
    assert_non_null(p->s);
    assert_int_equal(err, CS_OK);
}

/* Moves everything `from` sent into `to`; returns how many datagrams. */
static size_t deliver(peer_t *from, peer_t *to)
{
    static dgram_t batch[QMAX];
    size_t n = from->n;
    memcpy(batch, from->q, n * sizeof batch[0]);
    from->n = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = cs_dtls_session_receive(to->s, batch[i].data, batch[i].len);
        assert_true(rc <= 0);
    }
    return n;
}

static bool settled(const peer_t *p)
{
    return p->connected || p->failed || p->closed;
}

static int min_timeout(const peer_t *a, const peer_t *b)
{
    int ta = cs_dtls_session_timeout_ms(a->s), tb = cs_dtls_session_timeout_ms(b->s);
    if (ta < 0)
        return tb;
    return tb < 0 || ta < tb ? ta : tb;
}

/* Delivers until quiet, running the timers for real, for at most 5 s. */
static void run(peer_t *a, peer_t *b)
{
    int64_t end = cs_mono_ms() + 5000;
    while (cs_mono_ms() < end) {
        while (deliver(a, b) + deliver(b, a) > 0) {
        }
        if (settled(a) && settled(b))
            return;
        int t = min_timeout(a, b);
        if (t < 0)
            return;                     /* nothing will ever happen */
        usleep((useconds_t)(t > 50 ? 50 : t) * 1000 + 1000);
        assert_true(cs_dtls_session_on_timer(a->s) <= 0);
        assert_true(cs_dtls_session_on_timer(b->s) <= 0);
    }
}

static cs_dtls_cert_t *cert_a, *cert_b, *cert_c;
static char fp_a[CS_DTLS_FINGERPRINT_SIZE], fp_b[CS_DTLS_FINGERPRINT_SIZE],
    fp_c[CS_DTLS_FINGERPRINT_SIZE];

static int setup(void **state)
{
    (void)state;
    int err;
    cert_a = cs_dtls_cert_generate(&err);
    cert_b = cs_dtls_cert_generate(&err);
    cert_c = cs_dtls_cert_generate(&err);
    if (!cert_a || !cert_b || !cert_c)
        return -1;
    cs_dtls_cert_fingerprint(cert_a, fp_a);
    cs_dtls_cert_fingerprint(cert_b, fp_b);
    cs_dtls_cert_fingerprint(cert_c, fp_c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cs_dtls_cert_free(cert_a);
    cs_dtls_cert_free(cert_b);
    cs_dtls_cert_free(cert_c);
    return 0;
}

/* a is the client with cert_a, b the server with cert_b, each expecting the
 * other's fingerprint unless told otherwise. */
static void pair_init(peer_t *a, peer_t *b, const char *a_expects, const char *b_expects)
{
    peer_init(a, cert_a, CS_DTLS_ROLE_CLIENT, a_expects ? a_expects : fp_b);
    peer_init(b, cert_b, CS_DTLS_ROLE_SERVER, b_expects ? b_expects : fp_a);
    assert_int_equal(cs_dtls_session_start(b->s), CS_OK);
    assert_int_equal(cs_dtls_session_start(a->s), CS_OK);
    assert_int_equal(cs_dtls_session_start(a->s), CS_ESTATE);
}

static void pair_free(peer_t *a, peer_t *b)
{
    cs_dtls_session_free(a->s);
    cs_dtls_session_free(b->s);
}

static void assert_same_keys(const peer_t *client, const peer_t *server)
{
    assert_int_equal(client->connected, 1);
    assert_int_equal(server->connected, 1);
    assert_int_equal(client->failed + server->failed, 0);
    assert_true(client->keys.is_client);
    assert_false(server->keys.is_client);
    assert_int_equal(client->keys.profile_id, CS_DTLS_SRTP_AEAD_AES_128_GCM);
    assert_int_equal(server->keys.profile_id, client->keys.profile_id);
    assert_string_equal(client->keys.profile_name, "SRTP_AEAD_AES_128_GCM");
    assert_int_equal(client->keys.key_len, 16);
    assert_int_equal(client->keys.salt_len, 12);
    assert_int_equal(client->keys.material_len, 56);
    assert_int_equal(server->keys.material_len, 56);
    assert_memory_equal(client->keys.material, server->keys.material, 56);
    static const uint8_t zero[56];
    assert_memory_not_equal(client->keys.material, zero, 56);
    assert_int_equal(cs_dtls_session_state(client->s), CS_DTLS_STATE_CONNECTED);
    assert_int_equal(cs_dtls_session_state(server->s), CS_DTLS_STATE_CONNECTED);
    assert_int_equal(cs_dtls_session_timeout_ms(client->s), -1);
}

static void test_handshake(void **state)
{
    (void)state;
    static peer_t a, b;
    pair_init(&a, &b, NULL, NULL);
    assert_int_equal(cs_dtls_session_role(a.s), CS_DTLS_ROLE_CLIENT);
    assert_int_equal(a.n, 1);           /* the ClientHello */
    assert_int_equal(b.n, 0);
    assert_true(cs_dtls_session_timeout_ms(a.s) > 0);
    run(&a, &b);
    assert_same_keys(&a, &b);
    assert_true(a.max_len <= CS_DTLS_MTU && b.max_len <= CS_DTLS_MTU);

    /* Closing is seen by the other side; a closed session takes nothing. */
    assert_int_equal(cs_dtls_session_close(a.s), CS_OK);
    deliver(&a, &b);
    assert_int_equal(b.closed, 1);
    assert_int_equal(cs_dtls_session_state(b.s), CS_DTLS_STATE_CLOSED);
    static const uint8_t rec[] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 1, 0};
    assert_int_equal(cs_dtls_session_receive(a.s, rec, sizeof rec), CS_ESTATE);
    assert_int_equal(cs_dtls_session_close(a.s), CS_ESTATE);
    pair_free(&a, &b);
}

/* The server made with cert_a this time: each certificate in each role. */
static void test_handshake_roles_swapped(void **state)
{
    (void)state;
    static peer_t a, b;
    peer_init(&a, cert_b, CS_DTLS_ROLE_CLIENT, fp_a);
    peer_init(&b, cert_a, CS_DTLS_ROLE_SERVER, fp_b);
    /* the server need not be started: the ClientHello starts it */
    assert_int_equal(cs_dtls_session_start(a.s), CS_OK);
    run(&a, &b);
    assert_same_keys(&a, &b);
    pair_free(&a, &b);
}

/* A small MTU fragments the certificate flight; every datagram fits. */
static void test_small_mtu(void **state)
{
    (void)state;
    static peer_t a, b;
    peer_init(&a, cert_a, CS_DTLS_ROLE_CLIENT, fp_b);
    peer_init(&b, cert_b, CS_DTLS_ROLE_SERVER, fp_a);
    assert_int_equal(cs_dtls_session_set_mtu(a.s, 300), CS_OK);
    assert_int_equal(cs_dtls_session_set_mtu(b.s, 300), CS_OK);
    assert_int_equal(cs_dtls_session_set_mtu(b.s, 100), CS_EINVAL);
    assert_int_equal(cs_dtls_session_start(a.s), CS_OK);
    assert_int_equal(cs_dtls_session_set_mtu(a.s, 600), CS_EINVAL);
    run(&a, &b);
    assert_same_keys(&a, &b);
    assert_true(a.max_len <= 300 && b.max_len <= 300);
    pair_free(&a, &b);
}

static void assert_mismatch(const peer_t *checker, const peer_t *other)
{
    assert_int_equal(checker->failed, 1);
    assert_int_equal(checker->fail_code, CS_EAUTH);
    assert_string_equal(checker->reason, "remote fingerprint does not match the SDP");
    assert_string_equal(cs_dtls_session_reason(checker->s), checker->reason);
    assert_int_equal(cs_dtls_session_state(checker->s), CS_DTLS_STATE_FAILED);
    assert_int_equal(checker->connected, 0);
    assert_int_equal(other->connected, 0);
}

/* The SDP announced cert_c: whoever sees cert_a or cert_b refuses it, and the
 * other side is told (bad_certificate) rather than left waiting. */
static void test_fingerprint_mismatch(void **state)
{
    (void)state;
    static peer_t a, b;
    pair_init(&a, &b, NULL, fp_c);      /* the server expects cert_c */
    run(&a, &b);
    assert_mismatch(&b, &a);
    assert_int_equal(a.failed, 1);
    assert_int_equal(a.fail_code, CS_EIO);
    pair_free(&a, &b);

    pair_init(&a, &b, fp_c, NULL);      /* the client expects cert_c */
    run(&a, &b);
    assert_mismatch(&a, &b);
    assert_int_equal(b.failed, 1);
    assert_int_equal(cs_dtls_session_receive(a.s, (const uint8_t *)"\x16", 1), CS_ESTATE);
    assert_int_equal(cs_dtls_session_on_timer(a.s), CS_OK);
    pair_free(&a, &b);

    /* lower case in the SDP is the same fingerprint */
    char lower[CS_DTLS_FINGERPRINT_SIZE];
    for (size_t i = 0; i < sizeof lower; i++)
        lower[i] = (char)(fp_b[i] >= 'A' && fp_b[i] <= 'F' ? fp_b[i] + 32 : fp_b[i]);
    pair_init(&a, &b, lower, NULL);
    run(&a, &b);
    assert_same_keys(&a, &b);
    pair_free(&a, &b);
}

/* Lost flights: the ClientHello, then the server's first flight, then the
 * client's second flight; the timers retransmit each. */
static void test_loss_recovered_by_timer(void **state)
{
    (void)state;
    static peer_t a, b;
    peer_init(&a, cert_a, CS_DTLS_ROLE_CLIENT, fp_b);
    peer_init(&b, cert_b, CS_DTLS_ROLE_SERVER, fp_a);
    a.drop = 1;
    assert_int_equal(cs_dtls_session_start(a.s), CS_OK);
    assert_int_equal(a.n, 0);
    run(&a, &b);
    assert_same_keys(&a, &b);
    pair_free(&a, &b);

    peer_init(&a, cert_a, CS_DTLS_ROLE_CLIENT, fp_b);
    peer_init(&b, cert_b, CS_DTLS_ROLE_SERVER, fp_a);
    b.drop = 1;
    assert_int_equal(cs_dtls_session_start(a.s), CS_OK);
    deliver(&a, &b);                    /* ClientHello in, server's flight lost */
    assert_int_equal(b.n, 0);
    a.drop = 1;                         /* and the first retransmission too */
    run(&a, &b);
    assert_same_keys(&a, &b);
    pair_free(&a, &b);
}

/* The server's last flight lost: the client retransmits its own and the
 * connected server answers it again. */
static void test_lost_final_flight(void **state)
{
    (void)state;
    static peer_t a, b;
    pair_init(&a, &b, NULL, NULL);
    deliver(&a, &b);                    /* ClientHello */
    deliver(&b, &a);                    /* ServerHello ... ServerHelloDone */
    deliver(&a, &b);                    /* Certificate ... Finished */
    assert_int_equal(b.connected, 1);
    b.n = 0;                            /* ChangeCipherSpec, Finished: lost */
    assert_int_equal(a.connected, 0);
    run(&a, &b);
    assert_same_keys(&a, &b);
    pair_free(&a, &b);
}

static void feed_garbage(cs_dtls_session_t *s)
{
    uint8_t buf[600];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    static const uint8_t firsts[] = {20, 21, 22, 23, 63, 0, 128, 255};
    for (size_t i = 0; i < CS_ARRAY_LEN(firsts); i++) {
        buf[0] = firsts[i];
        buf[1] = 0xfe;
        buf[2] = 0xfd;
        for (size_t len = 1; len <= sizeof buf; len = len * 2 + 1)
            assert_true(cs_dtls_session_receive(s, buf, len) <= 0);
    }
    uint8_t big[CS_DTLS_MAX_DATAGRAM + 1] = {22};
    assert_int_equal(cs_dtls_session_receive(s, big, sizeof big), CS_ETOOBIG);
    assert_int_equal(cs_dtls_session_receive(s, NULL, 5), CS_EINVAL);
    assert_int_equal(cs_dtls_session_receive(s, buf, 0), CS_EINVAL);
}

static void test_garbage(void **state)
{
    (void)state;
    static peer_t a, b;
    /* into a server waiting for a ClientHello, and a client waiting for the answer */
    pair_init(&a, &b, NULL, NULL);
    feed_garbage(b.s);
    feed_garbage(a.s);
    cs_dtls_session_free(b.s);
    cs_dtls_session_free(a.s);

    /* into a connected pair: dropped, the session stays up */
    pair_init(&a, &b, NULL, NULL);
    run(&a, &b);
    assert_same_keys(&a, &b);
    feed_garbage(a.s);
    feed_garbage(b.s);
    assert_int_equal(cs_dtls_session_state(a.s), CS_DTLS_STATE_CONNECTED);
    assert_int_equal(cs_dtls_session_state(b.s), CS_DTLS_STATE_CONNECTED);
    pair_free(&a, &b);

    /* a client fed before start */
    peer_init(&a, cert_a, CS_DTLS_ROLE_CLIENT, fp_b);
    assert_int_equal(cs_dtls_session_receive(a.s, (const uint8_t *)"\x16", 1), CS_ESTATE);
    cs_dtls_session_free(a.s);
}

static void test_demux(void **state)
{
    (void)state;
    const uint8_t p[] = {19, 20, 22, 63, 64, 128, 0};
    assert_false(cs_dtls_is_dtls(p, 1));
    assert_true(cs_dtls_is_dtls(p + 1, 1));
    assert_true(cs_dtls_is_dtls(p + 2, 1));
    assert_true(cs_dtls_is_dtls(p + 3, 1));
    assert_false(cs_dtls_is_dtls(p + 4, 1));
    assert_false(cs_dtls_is_dtls(p + 5, 1));
    assert_false(cs_dtls_is_dtls(p + 6, 1));
    assert_false(cs_dtls_is_dtls(p + 1, 0));
    assert_false(cs_dtls_is_dtls(NULL, 4));
}

static void test_fingerprint_format(void **state)
{
    (void)state;
    assert_int_equal(strlen(fp_a), 95);
    for (size_t i = 0; i < 95; i++) {
        if (i % 3 == 2)
            assert_int_equal(fp_a[i], ':');
        else
            assert_non_null(strchr("0123456789ABCDEF", fp_a[i]));
    }
    assert_string_not_equal(fp_a, fp_b);
    uint8_t d[32];
    assert_int_equal(cs_dtls_fingerprint_parse(fp_a, d), CS_OK);
    uint8_t want[32];
    assert_int_equal(dtls_cert_digest(cert_a->x509, want), CS_OK);
    assert_memory_equal(d, want, 32);

    char bad[CS_DTLS_FINGERPRINT_SIZE];
    memcpy(bad, fp_a, sizeof bad);
    bad[2] = '-';
    assert_int_equal(cs_dtls_fingerprint_parse(bad, d), CS_EINVAL);
    memcpy(bad, fp_a, sizeof bad);
    bad[4] = 'G';
    assert_int_equal(cs_dtls_fingerprint_parse(bad, d), CS_EINVAL);
    assert_int_equal(cs_dtls_fingerprint_parse("AB:CD", d), CS_EINVAL);
    assert_int_equal(cs_dtls_fingerprint_parse(NULL, d), CS_EINVAL);

    int err = 0;
    const cs_dtls_callbacks_t none = {0};
    assert_null(cs_dtls_session_new(cert_a, CS_DTLS_ROLE_CLIENT, "AB:CD", &cbs, NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_dtls_session_new(cert_a, CS_DTLS_ROLE_CLIENT, fp_b, &none, NULL, &err));
    assert_null(cs_dtls_session_new(NULL, CS_DTLS_ROLE_CLIENT, fp_b, &cbs, NULL, &err));
}

static void write_pem(const char *path, const cs_dtls_cert_t *c, bool key)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (key)
        assert_int_equal(PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_X509(f, c->x509), 1);
    fclose(f);
}

static void test_load_pem(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_dtls_XXXXXX", crt[64], key[64], keyb[64], junk[64];
    assert_non_null(mkdtemp(dir));
    snprintf(crt, sizeof crt, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(keyb, sizeof keyb, "%s/key_b.pem", dir);
    snprintf(junk, sizeof junk, "%s/junk.pem", dir);
    write_pem(crt, cert_a, false);
    write_pem(key, cert_a, true);
    write_pem(keyb, cert_b, true);
    FILE *f = fopen(junk, "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", f);
    fclose(f);

    int err = 1;
    cs_dtls_cert_t *c = cs_dtls_cert_load(crt, key, &err);
    assert_non_null(c);
    assert_int_equal(err, CS_OK);
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    cs_dtls_cert_fingerprint(c, fp);
    assert_string_equal(fp, fp_a);

    /* the loaded certificate does a handshake as cert_a would */
    static peer_t a, b;
    peer_init(&a, c, CS_DTLS_ROLE_CLIENT, fp_b);
    peer_init(&b, cert_b, CS_DTLS_ROLE_SERVER, fp_a);
    cs_dtls_cert_free(c);               /* sessions keep what they need */
    assert_int_equal(cs_dtls_session_start(a.s), CS_OK);
    run(&a, &b);
    assert_same_keys(&a, &b);
    pair_free(&a, &b);

    assert_null(cs_dtls_cert_load(crt, keyb, &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_dtls_cert_load(junk, key, &err));
    assert_int_equal(err, CS_EINVAL);
    assert_null(cs_dtls_cert_load(crt, junk, &err));
    assert_int_equal(err, CS_EINVAL);
    char missing[80];
    snprintf(missing, sizeof missing, "%s/none.pem", dir);
    assert_null(cs_dtls_cert_load(missing, key, &err));
    assert_int_equal(err, CS_EIO);
    assert_null(cs_dtls_cert_load(crt, missing, &err));
    assert_int_equal(err, CS_EIO);

    unlink(crt), unlink(key), unlink(keyb), unlink(junk);
    rmdir(dir);
}

/* Many sessions made and freed, some mid-handshake, some connected; with a
 * certificate freed while its sessions live. ASan reports any leak. */
static void test_many_sessions(void **state)
{
    (void)state;
    int err;
    cs_dtls_cert_t *c = cs_dtls_cert_generate(&err);
    assert_non_null(c);
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    cs_dtls_cert_fingerprint(c, fp);
    static cs_dtls_session_t *ss[300];
    static peer_t sink;
    memset(&sink, 0, sizeof sink);
    for (size_t i = 0; i < CS_ARRAY_LEN(ss); i++) {
        ss[i] = cs_dtls_session_new(c, i % 2 ? CS_DTLS_ROLE_SERVER : CS_DTLS_ROLE_CLIENT,
                                    fp_b, &cbs, &sink, &err);
        assert_non_null(ss[i]);
        if (i % 3 == 0) {
            assert_int_equal(cs_dtls_session_start(ss[i]), CS_OK);
            sink.n = 0;
        }
    }
    cs_dtls_cert_free(c);
    for (size_t i = 0; i < CS_ARRAY_LEN(ss); i++)
        cs_dtls_session_free(ss[i]);

    static peer_t a, b;
    for (int i = 0; i < 20; i++) {
        pair_init(&a, &b, NULL, NULL);
        run(&a, &b);
        assert_same_keys(&a, &b);
        pair_free(&a, &b);
    }
    cs_dtls_session_free(NULL);
    cs_dtls_cert_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_handshake_roles_swapped),
        cmocka_unit_test(test_small_mtu),
        cmocka_unit_test(test_fingerprint_mismatch),
        cmocka_unit_test(test_loss_recovered_by_timer),
        cmocka_unit_test(test_lost_final_flight),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_demux),
        cmocka_unit_test(test_fingerprint_format),
        cmocka_unit_test(test_load_pem),
        cmocka_unit_test(test_many_sessions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
