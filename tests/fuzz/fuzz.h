/*
 * fuzz.h — what every libFuzzer target here shares: the entry point's
 * prototype (replay.c calls it too), CHECK, which turns a broken invariant
 * into a crash the fuzzer reports, and the base64url writer of the targets
 * that sign their own tokens.
 */
#ifndef CS_FUZZ_H
#define CS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/* Unpadded base64url of len bytes at out + at (cap bytes in all); returns
 * the new end. */
static inline size_t fuzz_put_b64url(char *out, size_t at, size_t cap, const void *data, size_t len)
{
    CHECK(cs_base64_encode(data, len, out + at, cap - at) == CS_OK);
    size_t end = at + strlen(out + at);
    while (end > at && out[end - 1] == '=')
        end--;
    for (size_t i = at; i < end; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[end] = '\0';
    return end;
}

#endif
