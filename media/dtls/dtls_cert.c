/*
 * dtls_cert.c — the certificate a peer presents in DTLS-SRTP: generate a
 * self-signed ECDSA P-256 one or load a PEM pair, and its SHA-256 fingerprint
 * in the form SDP's a=fingerprint uses (RFC 8122 §5). Each certificate owns
 * the SSL context its sessions are made from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/common.h"
#include "internal.h"

#define CERT_DAYS 30
#define CERT_BACKDATE_S (24 * 3600)     /* tolerate a peer's clock being behind */

/* Encrypted keys are refused rather than prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static void set_err(int *err, int code)
{
    if (err)
        *err = code;
}

int dtls_cert_digest(const X509 *x509, uint8_t out[32])
{
    unsigned int n = 0;
    if (X509_digest(x509, EVP_sha256(), out, &n) != 1 || n != 32)
        return CS_EIO;
    return CS_OK;
}

static void format_fingerprint(const uint8_t d[32], char out[CS_DTLS_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < 32; i++) {
        out[i * 3] = hex[d[i] >> 4];
        out[i * 3 + 1] = hex[d[i] & 15];
        out[i * 3 + 2] = i == 31 ? '\0' : ':';
    }
}

int cs_dtls_fingerprint_parse(const char *text, uint8_t out[32])
{
    if (!text || !out || strlen(text) != CS_DTLS_FINGERPRINT_LEN)
        return CS_EINVAL;
    for (size_t i = 0; i < 32; i++) {
        const char *p = text + i * 3;
        int hi = cs_hex_digit(p[0]), lo = cs_hex_digit(p[1]);
        if (hi < 0 || lo < 0 || (i < 31 && p[2] != ':'))
            return CS_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return CS_OK;
}

void cs_dtls_cert_free(cs_dtls_cert_t *cert)
{
    if (!cert)
        return;
    SSL_CTX_free(cert->ctx);
    X509_free(cert->x509);
    EVP_PKEY_free(cert->key);
    free(cert);
}

/* Takes ownership of x509 and key; builds the context and the fingerprint. */
static cs_dtls_cert_t *cert_wrap(X509 *x509, EVP_PKEY *key, int *err)
{
    cs_dtls_cert_t *c = calloc(1, sizeof *c);
    if (!c) {
        X509_free(x509);
        EVP_PKEY_free(key);
        set_err(err, CS_ENOMEM);
        return NULL;
    }
    c->x509 = x509;
    c->key = key;
    uint8_t d[32];
    int rc = dtls_cert_digest(x509, d);
    if (rc == CS_OK) {
        format_fingerprint(d, c->fingerprint);
        c->ctx = dtls_ctx_new(x509, key, &rc);
    }
    if (!c->ctx) {
        cs_dtls_cert_free(c);
        set_err(err, rc);
        return NULL;
    }
    set_err(err, CS_OK);
    return c;
}

/* A random positive 64-bit serial (RFC 5280 §4.1.2.2: positive, <= 20 bytes). */
static int set_random_serial(X509 *x)
{
    uint8_t b[8];
    if (cs_random_bytes(b, sizeof b) != CS_OK)
        return CS_EIO;
    b[0] = (uint8_t)((b[0] & 0x7f) | 0x01);
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? CS_OK : CS_EIO;
}

static int fill_self_signed(X509 *x, EVP_PKEY *key)
{
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 || set_random_serial(x) != CS_OK ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -CERT_BACKDATE_S) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 24 * 3600) ||
        X509_set_pubkey(x, key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"consilium", -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
        return CS_EIO;
    return CS_OK;
}

cs_dtls_cert_t *cs_dtls_cert_generate(int *err)
{
    ERR_clear_error();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!key || !x || fill_self_signed(x, key) != CS_OK) {
        EVP_PKEY_free(key);
        X509_free(x);
        ERR_clear_error();
        set_err(err, CS_EIO);
        return NULL;
    }
    return cert_wrap(x, key, err);
}

cs_dtls_cert_t *cs_dtls_cert_load(const char *cert_pem_path, const char *key_pem_path,
                                  int *err)
{
    if (!cert_pem_path || !key_pem_path) {
        set_err(err, CS_EINVAL);
        return NULL;
    }
    FILE *cf = fopen(cert_pem_path, "r");
    FILE *kf = cf ? fopen(key_pem_path, "r") : NULL;
    if (!kf) {
        if (cf)
            fclose(cf);
        set_err(err, CS_EIO);
        return NULL;
    }
    ERR_clear_error();
    X509 *x = PEM_read_X509(cf, NULL, no_passphrase, NULL);
    EVP_PKEY *key = PEM_read_PrivateKey(kf, NULL, no_passphrase, NULL);
    fclose(cf);
    fclose(kf);
    if (!x || !key || X509_check_private_key(x, key) != 1) {
        X509_free(x);
        EVP_PKEY_free(key);
        ERR_clear_error();
        set_err(err, CS_EINVAL);
        return NULL;
    }
    return cert_wrap(x, key, err);
}

void cs_dtls_cert_fingerprint(const cs_dtls_cert_t *cert, char out[CS_DTLS_FINGERPRINT_SIZE])
{
    if (!out)
        return;
    if (!cert) {
        out[0] = '\0';
        return;
    }
    memcpy(out, cert->fingerprint, CS_DTLS_FINGERPRINT_SIZE);
}
