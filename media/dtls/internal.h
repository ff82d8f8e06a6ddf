/* internal.h — what the dtls module's two files share: the certificate's
 * layout and the SSL context every session of one certificate is made from. */
#ifndef CS_DTLS_INTERNAL_H
#define CS_DTLS_INTERNAL_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dtls.h"

struct cs_dtls_cert {
    X509 *x509;
    EVP_PKEY *key;
    SSL_CTX *ctx;                       /* holds its own references to x509 and key */
    char fingerprint[CS_DTLS_FINGERPRINT_SIZE];
};

/* dtls.c: a DTLS 1.2 context for DTLS-SRTP using this certificate; NULL on
 * failure (*err set). */
SSL_CTX *dtls_ctx_new(X509 *x509, EVP_PKEY *key, int *err);

/* dtls_cert.c: SHA-256 of a certificate's DER; CS_OK or CS_EIO. */
int dtls_cert_digest(const X509 *x509, uint8_t out[32]);

#endif
