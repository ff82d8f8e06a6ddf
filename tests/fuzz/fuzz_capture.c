/*
 * fuzz_capture.c — libFuzzer target for media/recorder's capture reader.
 *
 * Every input is read twice, from an exact-size heap copy:
 *  1. as a capture file, under the fixed master key the seeds were written
 *     with (tests/unit/test_recorder_capture.c writes them): the header
 *     checks, chunk framing, resynchronisation after damage, truncation;
 *  2. as the plaintext of up to 16 chunks (the input split at "|CUT|"),
 *     sealed under a fixed data key behind a valid header, so the record
 *     parser inside authentic chunks is reached too (no mutation of a
 *     ciphertext ever authenticates).
 * The contract checked on both: only the documented codes; every record
 * returned is well-formed (a declared track, 1..CS_REC_PACKET_MAX bytes,
 * terminated strings, each track declared once); reading ends at the end
 * of the input with the counters inside it; in (2) every chunk is counted
 * once, read or abandoned, and nothing is truncated.
 *
 * Build with `make fuzz` (clang, libFuzzer) and run e.g.
 *   build/fuzz/fuzz_capture -max_total_time=300 tests/fuzz/corpus/capture
 * `make test` replays tests/fuzz/corpus/capture/ through the gcc build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "media/recorder/internal.h"
#include "media/recorder/recorder.h"

/* The key test_recorder_capture.c writes the seeds under. */
static const uint8_t FUZZ_KEY[CS_REC_KEY_LEN] = "consilium-fuzz-capture-key-0001";
#define SEP "|CUT|"
#define MAX_PIECES 16

static void check_track(const cs_rec_track_t *t)
{
    CHECK(t->track < CS_REC_MAX_TRACKS);
    CHECK(t->kind == CS_REC_AUDIO || t->kind == CS_REC_VIDEO);
    CHECK(strnlen(t->codec, sizeof t->codec) < sizeof t->codec);
    CHECK(strnlen(t->source, sizeof t->source) < sizeof t->source);
    CHECK(strnlen(t->member_id, sizeof t->member_id) < sizeof t->member_id);
    CHECK(strnlen(t->name, sizeof t->name) < sizeof t->name);
}

/* Reads everything; returns the info. */
static void read_all(const uint8_t *buf, size_t size, cs_capture_info_t *info, bool *opened)
{
    cs_capture_reader_t *r = NULL;
    int rc = cs_capture_reader_open_mem(buf, size, FUZZ_KEY, &r);
    CHECK(rc == CS_OK || rc == CS_EINVAL || rc == CS_EAUTH || rc == CS_EUNSUPPORTED);
    *opened = rc == CS_OK;
    if (rc != CS_OK) {
        CHECK(r == NULL);
        return;
    }
    static bool declared[CS_REC_MAX_TRACKS];
    memset(declared, 0, sizeof declared);
    cs_capture_record_t rec;
    bool ended = false;
    size_t n = 0;
    unsigned sum = 0;
    while ((rc = cs_capture_reader_next(r, &rec)) == 1) {
        CHECK(++n <= size);   /* a record takes at least 3 bytes of the input */
        if (rec.type == CS_CAP_TRACK) {
            check_track(&rec.track);
            CHECK(!declared[rec.track.track]);
            declared[rec.track.track] = true;
        } else if (rec.type == CS_CAP_PACKET) {
            CHECK(rec.track_no < CS_REC_MAX_TRACKS && declared[rec.track_no]);
            CHECK(rec.data && rec.len >= 1 && rec.len <= CS_REC_PACKET_MAX);
            sum += rec.data[0] + rec.data[rec.len - 1];   /* ASan sees the ends */
        } else {
            CHECK(rec.type == CS_CAP_END);
            ended = true;
        }
        cs_capture_info_t mid;
        cs_capture_reader_info(r, &mid);
        CHECK(mid.offset <= size);
    }
    (void)sum;
    CHECK(rc == 0);
    CHECK(cs_capture_reader_next(r, &rec) == 0);   /* and stays at the end */
    cs_capture_reader_info(r, info);
    CHECK(info->file_size == size && info->offset == size);
    CHECK(info->bytes_skipped <= size);
    CHECK(info->clean_end == ended);
    CHECK(strlen(info->recording_id) >= 1 && strlen(info->recording_id) < CS_REC_ID_MAX);
    cs_capture_reader_free(r);
}

/* The input as the plaintext of chunks behind a valid header. */
static void as_plaintext(const uint8_t *data, size_t size)
{
    static const uint8_t data_key[CS_REC_KEY_LEN] = "fixed-data-key-of-the-fuzz-targ";
    static const uint8_t nonce[REC_NONCE_LEN] = {7, 7, 7};
    size_t cap = CAP_HDR_LEN + size + MAX_PIECES * (CAP_FRAME_LEN + REC_TAG_LEN);
    uint8_t *file = malloc(cap);
    CHECK(file);
    CHECK(cap_header_build(file, FUZZ_KEY, data_key, nonce, "fuzz", 1, 2) == CS_OK);
    size_t len = CAP_HDR_LEN, pieces = 0;
    const uint8_t *p = data, *end = data + size;
    while (pieces < MAX_PIECES) {
        const uint8_t *cut = pieces + 1 < MAX_PIECES
                                 ? memmem(p, (size_t)(end - p), SEP, strlen(SEP)) : NULL;
        size_t n = (size_t)((cut ? cut : end) - p);
        if (n > CAP_CHUNK_MAX)
            n = CAP_CHUNK_MAX;
        uint8_t recid[CAP_RECID_LEN] = "fuzz";
        CHECK(cap_chunk_seal(data_key, recid, (uint32_t)pieces, p, n, file + len) == CS_OK);
        len += CAP_FRAME_LEN + n + REC_TAG_LEN;
        pieces++;
        if (!cut)
            break;
        p = cut + strlen(SEP);
    }
    uint8_t *exact = malloc(len);
    CHECK(exact);
    memcpy(exact, file, len);
    free(file);
    cs_capture_info_t info;
    bool opened;
    read_all(exact, len, &info, &opened);
    CHECK(opened);
    CHECK(info.chunks_ok + info.chunks_bad == pieces);
    CHECK(!info.truncated && info.bytes_skipped <= size);
    free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    cs_capture_info_t info;
    bool opened;
    read_all(size ? buf : NULL, size, &info, &opened);
    if (opened)
        CHECK(info.chunks_ok + info.chunks_bad >= (info.clean_end ? 1 : 0));
    free(buf);
    as_plaintext(data, size);
    return 0;
}
