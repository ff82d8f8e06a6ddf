/*
 * fuzz_attachment.c — libFuzzer target: an upload's untrusted parts. The
 * input is split at its first NUL into an X-File-Name header value and the
 * file's bytes (checked against each allowed type). Decoding must never read
 * past the header or write past the name, and whatever it accepts must be a
 * name we are willing to show: 1-127 bytes of valid UTF-8, no control
 * characters, no path separators.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t hlen = nul ? (size_t)(nul - data) : size;
    char *header = malloc(hlen + 1);
    if (!header)
        return 0;
    memcpy(header, data, hlen);
    header[hlen] = '\0';
    char name[CS_FILE_NAME_MAX];
    if (cs_attachment_name_decode(header, name)) {
        size_t n = strlen(name);
        CHECK(n > 0 && n < CS_FILE_NAME_MAX && cs_utf8_valid(name, n) && !strpbrk(name, "/\\"));
        for (size_t i = 0; i < n; i++)
            CHECK((unsigned char)name[i] >= 0x20 && name[i] != 0x7f);
    }
    const uint8_t *body = nul ? nul + 1 : data + size;
    size_t blen = nul ? size - hlen - 1 : 0;
    for (size_t i = 0; i < cs_attachment_types_n; i++)
        (void)cs_attachment_bytes_are(cs_attachment_types[i], body, blen);
    free(header);
    return 0;
}
