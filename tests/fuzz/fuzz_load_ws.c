/*
 * fuzz_load_ws.c — libFuzzer target for the load tool's WebSocket frame
 * parser (tests/load/ws.c), which reads whatever a server sends.
 *
 * Walks arbitrary bytes as a stream of frames from an exact-size heap copy
 * (so ASan catches any read past the end) and checks the contract: only a
 * header length, CS_EAGAIN or CS_EINVAL; a whole frame lies inside the
 * input; a header known on CS_EAGAIN is the one a longer input would give;
 * control frames are whole and short; and the header writer, given what
 * was parsed, writes a header that parses back to the same fields. The
 * same bytes are also checked as a server's answer to the Upgrade request.
 *
 * Build with `make fuzz` (clang, libFuzzer) and run e.g.
 *   build/fuzz/fuzz_load_ws -max_total_time=120 tests/fuzz/corpus/load_ws
 * `make test` replays tests/fuzz/corpus/load_ws/ through the gcc build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "tests/load/ws.h"
#include "tests/load/ws_internal.h"

static void round_trip(const lt_ws_frame_t *f)
{
    uint8_t h[14 + 8];
    size_t n = lt_ws_frame_header(f->opcode, f->payload_len, f->masked ? f->mask : NULL, h);
    CHECK(n >= 2 && n <= 14);
    lt_ws_frame_t g;
    int rc = lt_ws_frame_parse(h, n, &g);
    CHECK(rc == (f->payload_len ? CS_EAGAIN : (int)n));
    CHECK(g.header_len == n && g.payload_len == f->payload_len && g.opcode == f->opcode &&
          g.masked == f->masked && g.fin);
    CHECK(!f->masked || !memcmp(g.mask, f->mask, 4));
    /* The writer uses the shortest length form; the parser accepts longer ones. */
    CHECK(n <= f->header_len);
}

static void check_frame(const uint8_t *buf, size_t len, int rc, const lt_ws_frame_t *f)
{
    CHECK(rc > 0 || rc == CS_EAGAIN || rc == CS_EINVAL);
    if (rc == CS_EINVAL)
        return;
    if (rc == CS_EAGAIN && !f->header_len)
        return;
    CHECK(f->header_len >= 2 && f->header_len <= 14 && f->header_len <= len);
    CHECK(f->opcode <= 2 || (f->opcode >= 8 && f->opcode <= 10));
    CHECK(!(f->opcode & 8) || (f->fin && f->payload_len <= 125));
    CHECK(!(f->payload_len >> 63));
    CHECK(f->fin == ((buf[0] & 0x80) != 0) && f->masked == ((buf[1] & 0x80) != 0));
    if (rc > 0) {
        CHECK((size_t)rc == f->header_len && f->payload_len <= len - f->header_len);
    } else {
        CHECK(f->payload_len > len - f->header_len);
        /* With the payload there, the same header parses whole. */
        if (f->payload_len <= 4096) {
            size_t full = f->header_len + (size_t)f->payload_len;
            uint8_t *more = calloc(1, full);
            CHECK(more);
            memcpy(more, buf, len);
            lt_ws_frame_t g;
            CHECK(lt_ws_frame_parse(more, full, &g) == (int)f->header_len);
            CHECK(g.payload_len == f->payload_len && g.opcode == f->opcode);
            free(more);
        }
    }
    round_trip(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t off = 0;
    for (int frames = 0; frames < 1000; frames++) {
        lt_ws_frame_t f;
        int rc = lt_ws_frame_parse(buf + off, size - off, &f);
        check_frame(buf + off, size - off, rc, &f);
        if (rc <= 0)
            break;
        off += f.header_len + (size_t)f.payload_len;
        CHECK(off <= size);
    }
    /* Every prefix of the input: never a read past its end. */
    for (size_t cut = 0; cut < size && cut < 16; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        CHECK(p);
        memcpy(p, data, cut);
        lt_ws_frame_t f;
        int rc = lt_ws_frame_parse(p, cut, &f);
        check_frame(p, cut, rc, &f);
        free(p);
    }
    /* The same bytes as a server's answer to the Upgrade request. */
    char *head = malloc(size + 1);
    CHECK(head);
    memcpy(head, data, size);
    head[size] = '\0';
    char why[64];
    const char *r = lt_ws_check_response(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", size & 1 ? "janus-protocol" : "",
                                         why, sizeof why);
    CHECK(!r || (strlen(r) > 0 && strlen(r) < 64));
    free(head);
    free(buf);
    return 0;
}
