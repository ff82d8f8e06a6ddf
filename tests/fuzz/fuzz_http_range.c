/*
 * fuzz_http_range.c — libFuzzer target for cs_http_range_parse
 * (signaling/ws/ws_range.c), the Range header of a request for a streamed
 * body. The input's first 8 bytes are the body's size (little-endian, fewer
 * bytes mean a smaller number); the rest, up to a NUL, is the header value,
 * copied into a buffer of exactly its length so ASan catches a read past it.
 *
 * Checked on every input: only the documented codes; an accepted range lies
 * inside the body and reads back the same when written as "bytes=a-b"; a
 * refusal writes nothing; whether a value is usable at all never depends on
 * the size.
 *
 * Build with `make fuzz` and run e.g.
 *   build/fuzz/fuzz_http_range -max_len=256 tests/fuzz/corpus/http_range
 * `make test` replays tests/fuzz/corpus/http_range/ through the gcc build.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "signaling/ws/ws.h"

#define UNTOUCHED 0x5a5a5a5a5a5a5a5aULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t body = 0;
    size_t nsize = size < 8 ? size : 8;
    for (size_t i = 0; i < nsize; i++)
        body |= (uint64_t)data[i] << (8 * i);
    const uint8_t *text = data + nsize;
    const uint8_t *nul = memchr(text, 0, size - nsize);
    size_t len = nul ? (size_t)(nul - text) : size - nsize;
    char *value = malloc(len + 1);
    if (!value)
        return 0;
    memcpy(value, text, len);
    value[len] = '\0';

    uint64_t first = UNTOUCHED, last = UNTOUCHED;
    int rc = cs_http_range_parse(value, body, &first, &last);
    CHECK(rc == CS_OK || rc == CS_ENOTFOUND || rc == CS_ELIMIT);
    if (rc == CS_OK) {
        CHECK(body > 0 && first <= last && last < body);
        char again[64];
        snprintf(again, sizeof again, "bytes=%" PRIu64 "-%" PRIu64, first, last);
        uint64_t f2 = 0, l2 = 0;
        CHECK(cs_http_range_parse(again, body, &f2, &l2) == CS_OK && f2 == first && l2 == last);
    } else {
        CHECK(first == UNTOUCHED && last == UNTOUCHED);
    }
    /* Malformed is malformed whatever the size: only satisfiability moves. */
    uint64_t f3, l3;
    CHECK((cs_http_range_parse(value, 0, &f3, &l3) == CS_ENOTFOUND) == (rc == CS_ENOTFOUND));
    CHECK((cs_http_range_parse(value, UINT64_MAX, &f3, &l3) == CS_ENOTFOUND) ==
          (rc == CS_ENOTFOUND));
    free(value);
    return 0;
}
