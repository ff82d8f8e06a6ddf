/* hash.c — SHA-1, SHA-256 as hex and HMAC-SHA1 as base64, through libcrypto. */
#include "common.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

int cs_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
        return CS_EIO;
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return CS_OK;
}

int cs_sha1(const void *data, size_t len, unsigned char out[CS_SHA1_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha1(), NULL) || n != CS_SHA1_LEN)
        return CS_EIO;
    memcpy(out, md, CS_SHA1_LEN);
    return CS_OK;
}

int cs_hmac_sha1_base64(const void *key, size_t key_len, const void *data, size_t len,
                        char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha1(), key, (int)key_len, data, len, md, &n) || n != 20)
        return CS_EIO;
    if (EVP_EncodeBlock((unsigned char *)out, md, (int)n) != 28)
        return CS_EIO;
    return CS_OK;
}
