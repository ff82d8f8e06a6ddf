/* random.c — identifiers and secrets from the kernel's CSPRNG. */
#include "common.h"

#include <stdio.h>
#include <sys/random.h>

int cs_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0)
            return CS_EIO;
        p += n;
        len -= (size_t)n;
    }
    return CS_OK;
}

int cs_uuid4(char out[37])
{
    unsigned char b[16];
    int rc = cs_random_bytes(b, sizeof b);
    if (rc)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return CS_OK;
}

int cs_random_hex(char *out, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    if (len > sizeof b)
        return CS_EINVAL;
    int rc = cs_random_bytes(b, len);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * len] = '\0';
    return CS_OK;
}
