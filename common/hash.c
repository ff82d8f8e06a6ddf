/* hash.c — SHA-256 as lower-case hex, through libcrypto's digest API. */
#include "common.h"

#include <openssl/evp.h>
#include <stdio.h>

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
