/*
 * fuzz.h — what every libFuzzer target here shares: the entry point's
 * prototype (replay.c calls it too) and CHECK, which turns a broken
 * invariant into a crash the fuzzer reports.
 */
#ifndef CS_FUZZ_H
#define CS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

#endif
