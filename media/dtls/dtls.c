/*
 * dtls.c — DTLS-SRTP sessions: the SSL context (DTLS 1.2 only, ECDHE AEAD
 * suites, use_srtp with AES-GCM then AES-CM), a BIO that turns OpenSSL's
 * writes into datagrams for the send callback and hands it one received
 * datagram per read, the handshake and its retransmission timer, the
 * fingerprint check of RFC 5763 §5 and the export of SRTP keying material
 * (RFC 5764 §4.2).
 *
 * Datagram framing: while handshaking, OpenSSL buffers a flight in a buffer
 * BIO above ours and flushes it in writes that never exceed the MTU our BIO
 * reports, so each write reaching us is exactly one datagram.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>

#include "common/common.h"
#include "internal.h"

#define CIPHERS                                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                     \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"                       \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
#define GROUPS "X25519:P-256:P-384"
#define SRTP_PROFILES CS_DTLS_SRTP_PROFILES_DEFAULT
#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp"
#define MISMATCH_REASON "remote fingerprint does not match the SDP"

/* Master key and salt sizes per profile (RFC 3711 §8.2, RFC 7714 §12). */
static const struct {
    uint16_t id;
    size_t key_len, salt_len;
    const char *name;
} profiles[] = {
    {CS_DTLS_SRTP_AEAD_AES_128_GCM, 16, 12, "SRTP_AEAD_AES_128_GCM"},
    {CS_DTLS_SRTP_AES128_CM_SHA1_80, 16, 14, "SRTP_AES128_CM_SHA1_80"},
};

struct cs_dtls_session {
    SSL *ssl;                           /* owns the BIO */
    cs_dtls_role_t role;
    cs_dtls_state_t state;
    cs_dtls_callbacks_t cb;
    void *user;
    uint8_t remote_fp[32];
    bool fp_mismatch;                   /* set by the verify callback */
    const uint8_t *in;                  /* the datagram being fed, until read */
    size_t in_len;
    long mtu;
    char reason[160];
};

bool cs_dtls_is_dtls(const uint8_t *p, size_t len)
{
    return p && len > 0 && p[0] >= 20 && p[0] <= 63;
}

/* ---- the datagram BIO ------------------------------------------------------- */

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int bio_write(BIO *b, const char *data, int len)
{
    cs_dtls_session_t *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!s || len < 0)
        return -1;
    if (len > 0)
        s->cb.send(s->user, (const uint8_t *)data, (size_t)len);
    return len;
}

/* One datagram per read; a datagram larger than the buffer is truncated, as a
 * datagram socket would. Nothing queued: retry later. */
static int bio_read(BIO *b, char *out, int cap)
{
    cs_dtls_session_t *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!s || !s->in || cap <= 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = s->in_len < (size_t)cap ? s->in_len : (size_t)cap;
    memcpy(out, s->in, n);
    s->in = NULL;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)ptr;
    cs_dtls_session_t *s = BIO_get_data(b);
    if (!s)
        return 0;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return s->in ? (long)s->in_len : 0;
    case BIO_CTRL_WPENDING:
        return 0;                       /* every write is sent at once */
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return s->mtu;
    case BIO_CTRL_DGRAM_SET_MTU:
        s->mtu = num;
        return num;
    default:
        return 0;                       /* incl. MTU overhead, timeouts, peers */
    }
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_method_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cs_dtls");
    if (m && BIO_meth_set_create(m, bio_create) && BIO_meth_set_write(m, bio_write) &&
        BIO_meth_set_read(m, bio_read) && BIO_meth_set_ctrl(m, bio_ctrl)) {
        bio_method = m;
        return;
    }
    BIO_meth_free(m);
}

static BIO *bio_new(cs_dtls_session_t *s)
{
    pthread_once(&bio_method_once, bio_method_init);
    BIO *b = bio_method ? BIO_new(bio_method) : NULL;
    if (b)
        BIO_set_data(b, s);
    return b;
}

/* ---- the context -------------------------------------------------------------- */

static bool fingerprint_matches(const cs_dtls_session_t *s, const X509 *x509)
{
    uint8_t d[32];
    return x509 && dtls_cert_digest(x509, d) == CS_OK &&
           CRYPTO_memcmp(d, s->remote_fp, sizeof d) == 0;
}

/* Any certificate, self-signed included, whose fingerprint is the SDP's
 * (RFC 5763 §5); the chain's other members are not looked at. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
    (void)preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    cs_dtls_session_t *s = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!s)
        return 0;
    if (!fingerprint_matches(s, X509_STORE_CTX_get0_cert(xs))) {
        s->fp_mismatch = true;
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    return 1;
}

static int ctx_configure(SSL_CTX *ctx, X509 *x509, EVP_PKEY *key)
{
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* After the handshake a session only waits for a close alert: its
     * 33 KB of record buffers go back until a datagram needs them. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(ctx, GROUPS) != 1 ||
        SSL_CTX_set_tlsext_use_srtp(ctx, SRTP_PROFILES) != 0 /* 0 is success */ ||
        SSL_CTX_use_certificate(ctx, x509) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        return CS_EIO;
    return CS_OK;
}

SSL_CTX *dtls_ctx_new(X509 *x509, EVP_PKEY *key, int *err)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    int rc = ctx ? ctx_configure(ctx, x509, key) : CS_ENOMEM;
    if (rc != CS_OK) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    ERR_clear_error();
    *err = rc;
    return ctx;
}

/* First retransmission after CS_DTLS_INITIAL_TIMEOUT_MS, then doubling. */
static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    (void)ssl;
    if (prev_us == 0)
        return CS_DTLS_INITIAL_TIMEOUT_MS * 1000u;
    if (prev_us >= CS_DTLS_MAX_TIMEOUT_MS * 1000u / 2)
        return CS_DTLS_MAX_TIMEOUT_MS * 1000u;
    return prev_us * 2;
}

/* ---- session: life cycle ------------------------------------------------------- */

static void set_err(int *err, int code)
{
    if (err)
        *err = code;
}

cs_dtls_session_t *cs_dtls_session_new(const cs_dtls_cert_t *cert, cs_dtls_role_t role,
                                       const char *remote_fingerprint_sha256,
                                       const cs_dtls_callbacks_t *cb, void *user, int *err)
{
    uint8_t fp[32];
    if (!cert || !cb || !cb->send || !cb->on_connected || !cb->on_failed ||
        (role != CS_DTLS_ROLE_CLIENT && role != CS_DTLS_ROLE_SERVER) ||
        cs_dtls_fingerprint_parse(remote_fingerprint_sha256, fp) != CS_OK) {
        set_err(err, CS_EINVAL);
        return NULL;
    }
    cs_dtls_session_t *s = calloc(1, sizeof *s);
    if (!s || !(s->ssl = SSL_new(cert->ctx))) {
        free(s);
        ERR_clear_error();
        set_err(err, CS_ENOMEM);
        return NULL;
    }
    BIO *b = bio_new(s);
    if (!b) {
        cs_dtls_session_free(s);
        set_err(err, CS_ENOMEM);
        return NULL;
    }
    SSL_set_bio(s->ssl, b, b);          /* one reference, taken by the SSL */
    SSL_set_app_data(s->ssl, s);
    DTLS_set_timer_cb(s->ssl, timer_cb);
    if (role == CS_DTLS_ROLE_CLIENT)
        SSL_set_connect_state(s->ssl);
    else
        SSL_set_accept_state(s->ssl);
    s->role = role;
    s->cb = *cb;
    s->user = user;
    s->mtu = CS_DTLS_MTU;
    memcpy(s->remote_fp, fp, sizeof fp);
    set_err(err, CS_OK);
    return s;
}

void cs_dtls_session_free(cs_dtls_session_t *s)
{
    if (!s)
        return;
    SSL_free(s->ssl);
    free(s);
}

int cs_dtls_session_set_mtu(cs_dtls_session_t *s, size_t mtu)
{
    if (!s || mtu < 256 || mtu > 1500 || s->state != CS_DTLS_STATE_NEW)
        return CS_EINVAL;
    s->mtu = (long)mtu;
    return CS_OK;
}

/* Each ':'-separated name must be one of profiles[]: OpenSSL knows others
 * (AES-256-GCM, the 32-bit tags) whose keys export_keys could not split. */
static bool profiles_known(const char *list)
{
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ":");
        bool known = false;
        for (size_t i = 0; i < CS_ARRAY_LEN(profiles) && !known; i++)
            known = strlen(profiles[i].name) == n && strncmp(p, profiles[i].name, n) == 0;
        if (!known)
            return false;
        if (!p[n])
            return true;
        p += n + 1;
    }
}

int cs_dtls_session_set_srtp_profiles(cs_dtls_session_t *s, const char *list)
{
    if (!s || !list || s->state != CS_DTLS_STATE_NEW || strlen(list) >= CS_DTLS_SRTP_PROFILES_MAX ||
        !profiles_known(list))
        return CS_EINVAL;
    ERR_clear_error();
    int rc = SSL_set_tlsext_use_srtp(s->ssl, list) == 0 ? CS_OK : CS_EINVAL; /* 0 is success */
    ERR_clear_error();
    return rc;
}

cs_dtls_state_t cs_dtls_session_state(const cs_dtls_session_t *s)
{
    return s ? s->state : CS_DTLS_STATE_FAILED;
}

cs_dtls_role_t cs_dtls_session_role(const cs_dtls_session_t *s)
{
    return s ? s->role : CS_DTLS_ROLE_CLIENT;
}

const char *cs_dtls_session_reason(const cs_dtls_session_t *s)
{
    return s ? s->reason : "";
}

/* ---- session: outcomes ------------------------------------------------------------ */

static int fail(cs_dtls_session_t *s, int code, const char *reason)
{
    ERR_clear_error();
    if (SSL_is_init_finished(s->ssl))
        SSL_shutdown(s->ssl);           /* the peer thinks it is connected: tell it */
    ERR_clear_error();
    s->state = CS_DTLS_STATE_FAILED;
    cs_strlcpy(s->reason, reason, sizeof s->reason);
    s->cb.on_failed(s->user, code, s->reason);
    return code;
}

/* The reason OpenSSL gives for the error that stopped the handshake. */
static int fail_ssl(cs_dtls_session_t *s, const char *what)
{
    if (s->fp_mismatch)
        return fail(s, CS_EAUTH, MISMATCH_REASON);
    const char *why = ERR_reason_error_string(ERR_peek_last_error());
    char reason[sizeof s->reason];
    snprintf(reason, sizeof reason, "%s%s%s", what, why ? ": " : "", why ? why : "");
    return fail(s, CS_EIO, reason);
}

static void closed(cs_dtls_session_t *s, const char *reason)
{
    ERR_clear_error();
    s->state = CS_DTLS_STATE_CLOSED;
    cs_strlcpy(s->reason, reason, sizeof s->reason);
    if (s->cb.on_closed)
        s->cb.on_closed(s->user, s->reason);
}

static int export_keys(cs_dtls_session_t *s, cs_dtls_keys_t *k)
{
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(s->ssl);
    for (size_t i = 0; p && i < CS_ARRAY_LEN(profiles); i++) {
        if (profiles[i].id != p->id)
            continue;
        k->profile_id = profiles[i].id;
        k->profile_name = profiles[i].name;
        k->key_len = profiles[i].key_len;
        k->salt_len = profiles[i].salt_len;
        k->material_len = 2 * (k->key_len + k->salt_len);
        k->is_client = s->role == CS_DTLS_ROLE_CLIENT;
        if (SSL_export_keying_material(s->ssl, k->material, k->material_len, EXPORTER_LABEL,
                                       strlen(EXPORTER_LABEL), NULL, 0, 0) != 1)
            return fail(s, CS_EIO, "exporting the SRTP keying material failed");
        return CS_OK;
    }
    return fail(s, CS_EUNSUPPORTED, "no SRTP protection profile was negotiated");
}

/* The handshake is done: check the fingerprint once more, export, report. */
static int connected(cs_dtls_session_t *s)
{
    if (!fingerprint_matches(s, SSL_get0_peer_certificate(s->ssl)))
        return fail(s, CS_EAUTH, MISMATCH_REASON);
    cs_dtls_keys_t k;
    memset(&k, 0, sizeof k);
    int rc = export_keys(s, &k);
    if (rc == CS_OK) {
        s->state = CS_DTLS_STATE_CONNECTED;
        s->cb.on_connected(s->user, &k);
    }
    OPENSSL_cleanse(&k, sizeof k);
    return rc;
}

/* ---- session: driving ----------------------------------------------------------- */

static int handshake(cs_dtls_session_t *s)
{
    ERR_clear_error();
    int r = SSL_do_handshake(s->ssl);
    if (r == 1)
        return connected(s);
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return CS_OK;
    return fail_ssl(s, "DTLS handshake failed");
}

/* After the handshake: read and drop application data; OpenSSL answers a
 * peer's retransmitted final flight while reading. */
static int drain(cs_dtls_session_t *s)
{
    uint8_t buf[1024];
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(s->ssl, buf, sizeof buf);
        if (n > 0)
            continue;
        int e = SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return CS_OK;
        if (e == SSL_ERROR_ZERO_RETURN)
            closed(s, "the peer sent close_notify");
        else
            closed(s, "the DTLS session failed after the handshake");
        return CS_OK;
    }
}

int cs_dtls_session_start(cs_dtls_session_t *s)
{
    if (!s)
        return CS_EINVAL;
    if (s->state != CS_DTLS_STATE_NEW)
        return CS_ESTATE;
    s->state = CS_DTLS_STATE_HANDSHAKING;
    return s->role == CS_DTLS_ROLE_CLIENT ? handshake(s) : CS_OK;
}

int cs_dtls_session_receive(cs_dtls_session_t *s, const uint8_t *dgram, size_t len)
{
    if (!s || !dgram || len == 0)
        return CS_EINVAL;
    if (len > CS_DTLS_MAX_DATAGRAM)
        return CS_ETOOBIG;
    if (s->state == CS_DTLS_STATE_NEW && s->role == CS_DTLS_ROLE_SERVER)
        s->state = CS_DTLS_STATE_HANDSHAKING;
    if (s->state != CS_DTLS_STATE_HANDSHAKING && s->state != CS_DTLS_STATE_CONNECTED)
        return CS_ESTATE;
    s->in = dgram;
    s->in_len = len;
    int rc = s->state == CS_DTLS_STATE_HANDSHAKING ? handshake(s) : drain(s);
    s->in = NULL;
    return rc;
}

int cs_dtls_session_timeout_ms(const cs_dtls_session_t *s)
{
    struct timeval tv;
    if (!s || s->state != CS_DTLS_STATE_HANDSHAKING || !DTLSv1_get_timeout(s->ssl, &tv))
        return -1;
    long long ms = (long long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int cs_dtls_session_on_timer(cs_dtls_session_t *s)
{
    if (!s)
        return CS_EINVAL;
    if (s->state != CS_DTLS_STATE_HANDSHAKING)
        return CS_OK;
    ERR_clear_error();
    if (DTLSv1_handle_timeout(s->ssl) < 0)
        return fail(s, CS_EIO, "DTLS handshake timed out");
    return CS_OK;
}

int cs_dtls_session_close(cs_dtls_session_t *s)
{
    if (!s)
        return CS_EINVAL;
    if (s->state == CS_DTLS_STATE_FAILED || s->state == CS_DTLS_STATE_CLOSED)
        return CS_ESTATE;
    if (s->state == CS_DTLS_STATE_CONNECTED) {
        ERR_clear_error();
        SSL_shutdown(s->ssl);
        ERR_clear_error();
    }
    s->state = CS_DTLS_STATE_CLOSED;
    cs_strlcpy(s->reason, "closed locally", sizeof s->reason);
    return CS_OK;
}
