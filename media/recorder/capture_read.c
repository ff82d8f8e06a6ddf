/*
 * capture_read.c — reading a capture file back (layout in internal.h), from
 * a file or from memory, for post-processing and for the fuzzer.
 *
 * The file is untrusted input: every length is checked against what is
 * left before it is used, and the reader owns two fixed buffers (one frame,
 * one track table) allocated at open, nothing per record. A chunk that
 * fails its framing or authentication starts a "bad run": the reader looks
 * for the next chunk magic and tries again there, and the run is counted
 * once (or as many chunks as the indices say are missing) when a good chunk
 * ends it. A run that starts with a chunk reaching past the end of the file
 * is a cut, not damage: `truncated`. A malformed record inside an
 * authenticated chunk (only a writer bug or a forged key could make one)
 * abandons the rest of that chunk.
 */
#include "media/recorder/internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CAP_MIN_FRAME (CAP_FRAME_LEN + CAP_REC_HDR + REC_TAG_LEN)
#define SCAN_MIN 256
#define SCAN_MAX 65536
#define RUN_BUDGET_BASE (UINT64_C(16) << 20)

enum { TRY_OK, TRY_BAD, TRY_CUT };

struct cs_capture_reader {
    int fd;                          /* -1: reading mem */
    const uint8_t *mem;
    uint64_t size;
    uint8_t key[CS_REC_KEY_LEN];
    uint8_t recid[CAP_RECID_LEN];
    uint64_t pos;                    /* where the next chunk is looked for */
    uint8_t *buf;                    /* one frame, decrypted in place */
    size_t buf_cap;                  /* CAP_FRAME_MAX, or less for a smaller file */
    uint32_t cur_index, cur_len;     /* of the chunk try_chunk authenticated */
    size_t rec_pos;                  /* next record in the chunk's plaintext */
    bool in_chunk;
    int64_t last_index;              /* of the last good chunk; -1 before the first */
    uint64_t good_end;               /* where the last good chunk (or the header) ended */
    bool in_run;
    uint64_t run_start, run_cut;     /* run_cut: first cut candidate, UINT64_MAX none */
    uint64_t run_budget;             /* bytes bad runs may still decrypt */
    bool declared[CS_REC_MAX_TRACKS];
    cs_rec_track_t tracks[CS_REC_MAX_TRACKS];
    cs_capture_info_t info;
};

/* Up to n bytes at off; fewer only at the end. CS_EIO on a read error. */
static long read_at(cs_capture_reader_t *r, uint64_t off, uint8_t *dst, size_t n)
{
    if (off >= r->size)
        return 0;
    if (n > r->size - off)
        n = (size_t)(r->size - off);
    if (r->fd < 0) {
        memcpy(dst, r->mem + off, n);
        return (long)n;
    }
    return rec_read_all(r->fd, dst, n, off);
}

/* ---- opening -------------------------------------------------------------- */

static bool recid_valid(const uint8_t *f, char out[CS_REC_ID_MAX])
{
    size_t n = strnlen((const char *)f, CAP_RECID_LEN);
    if (n == 0)
        return false;
    for (size_t i = n; i < CAP_RECID_LEN; i++)
        if (f[i])
            return false;
    memcpy(out, f, n);
    out[n] = '\0';
    return true;
}

static int parse_header(cs_capture_reader_t *r, const uint8_t master[CS_REC_KEY_LEN])
{
    uint8_t h[CAP_HDR_LEN], id[CS_REC_KEY_ID_LEN];
    long n = read_at(r, 0, h, sizeof h);
    if (n < 0)
        return (int)n;
    if (n < 8 || memcmp(h, CAP_MAGIC, 8))
        return CS_EINVAL;
    if (n < 12)
        return CS_EINVAL;
    unsigned version = cs_rd16(h + 8);
    if (version > CAP_VERSION)
        return CS_EUNSUPPORTED;
    if (version == 0 || cs_rd16(h + 10) != CAP_HDR_LEN || n < CAP_HDR_LEN ||
        cs_rd32(h + 100) != 0 || !recid_valid(h + CAP_RECID_OFF, r->info.recording_id))
        return CS_EINVAL;
    cs_rec_key_id(master, id);
    if (memcmp(id, h + 12, sizeof id))
        return CS_EAUTH;
    int rc = rec_key_unwrap(master, h + CAP_WRAP_OFF, h, CAP_HDR_AAD_LEN, r->key);
    if (rc)
        return rc == CS_EAUTH ? CS_EAUTH : CS_EIO;
    memcpy(r->recid, h + CAP_RECID_OFF, CAP_RECID_LEN);
    r->info.start_wall_ms = (int64_t)cs_rd64(h + 20);
    r->pos = r->good_end = r->info.offset = CAP_HDR_LEN;
    return CS_OK;
}

static int reader_open(cs_capture_reader_t *r, const uint8_t *master, cs_capture_reader_t **out)
{
    r->last_index = -1;
    r->info.file_size = r->size;
    r->run_budget = RUN_BUDGET_BASE + (r->size < UINT64_MAX / 16 ? 16 * r->size : r->size);
    /* No frame is longer than the file: small files get small buffers. */
    r->buf_cap = r->size < CAP_FRAME_MAX ? (size_t)r->size : CAP_FRAME_MAX;
    if (r->buf_cap < SCAN_MIN)
        r->buf_cap = SCAN_MIN;
    r->buf = malloc(r->buf_cap);
    int rc = r->buf ? parse_header(r, master) : CS_ENOMEM;
    if (rc) {
        cs_capture_reader_free(r);
        return rc;
    }
    *out = r;
    return CS_OK;
}

int cs_capture_reader_open(const char *path, const uint8_t master_key[CS_REC_KEY_LEN],
                           cs_capture_reader_t **out)
{
    if (!path || !master_key || !out)
        return CS_EINVAL;
    *out = NULL;
    cs_capture_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return CS_ENOMEM;
    struct stat st;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0 || fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
        cs_capture_reader_free(r);
        return CS_EIO;
    }
    r->size = (uint64_t)st.st_size;
    return reader_open(r, master_key, out);
}

int cs_capture_reader_open_mem(const uint8_t *data, size_t len,
                               const uint8_t master_key[CS_REC_KEY_LEN],
                               cs_capture_reader_t **out)
{
    if ((!data && len) || !master_key || !out)
        return CS_EINVAL;
    *out = NULL;
    cs_capture_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return CS_ENOMEM;
    r->fd = -1;
    r->mem = data;
    r->size = len;
    return reader_open(r, master_key, out);
}

void cs_capture_reader_free(cs_capture_reader_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    rec_wipe(r->key, sizeof r->key);
    free(r->buf);
    free(r);
}

void cs_capture_reader_info(const cs_capture_reader_t *r, cs_capture_info_t *out)
{
    if (r && out)
        *out = r->info;
}

/* ---- finding and checking chunks -------------------------------------------- */

/* Within a bad run, an index a chunk at pos could have: above the last
 * good one, and no further above it than the bytes since could hold
 * chunks (a random "CSCK" in damaged bytes rarely passes). */
static bool index_plausible(const cs_capture_reader_t *r, uint64_t pos, uint32_t index)
{
    int64_t gap = (int64_t)index - r->last_index - 1;
    if (!r->in_run)
        return gap >= 0;
    return gap >= 0 && (uint64_t)gap <= (pos - r->good_end) / CAP_MIN_FRAME;
}

/* A forged file could put a plausible frame header every few bytes and
 * make each cost a decryption of up to 256 KiB: decryption inside bad runs
 * is paid from a budget linear in the file's size. */
static bool pay(cs_capture_reader_t *r, size_t total)
{
    if (!r->in_run)
        return true;
    if (total > r->run_budget)
        return false;
    r->run_budget -= total;
    return true;
}

static int try_chunk(cs_capture_reader_t *r, uint64_t pos)
{
    uint8_t *h = r->buf;
    long n = read_at(r, pos, h, CAP_FRAME_LEN);
    if (n < 0)
        return (int)n;
    if (n < 4)
        return memcmp(h, CAP_CHUNK_MAGIC, (size_t)n) ? TRY_BAD : TRY_CUT;
    if (memcmp(h, CAP_CHUNK_MAGIC, 4))
        return TRY_BAD;
    if (n < CAP_FRAME_LEN)
        return TRY_CUT;
    uint32_t index = cs_rd32(h + 4), len = cs_rd32(h + 8);
    if (len > CAP_CHUNK_MAX || !index_plausible(r, pos, index))
        return TRY_BAD;
    size_t total = CAP_FRAME_LEN + len + REC_TAG_LEN;
    if (total > r->size - pos)
        return TRY_CUT;
    if (!pay(r, total))
        return TRY_BAD;
    n = read_at(r, pos, r->buf, total);
    if (n < 0 || (size_t)n != total)
        return CS_EIO;   /* the file shrank under us */
    uint8_t nonce[REC_NONCE_LEN], aad[CAP_AAD_LEN];
    cap_chunk_nonce_aad(r->recid, index, len, nonce, aad);
    uint8_t *ct = r->buf + CAP_FRAME_LEN;
    int rc = rec_gcm_open(r->key, nonce, aad, sizeof aad, ct, len, ct, ct + len);
    if (rc == CS_EAUTH)
        return TRY_BAD;
    if (rc)
        return CS_EIO;
    r->cur_index = index;
    r->cur_len = len;
    return TRY_OK;
}

/* Where the chunk magic next starts at or after from, counting a prefix
 * of it at the very end (a chunk header cut short); -1 when nowhere.
 * From a file, windows grow from small, so finding a near magic reads
 * little. */
static int64_t find_magic(cs_capture_reader_t *r, uint64_t from)
{
    size_t win = SCAN_MIN;
    while (from < r->size) {
        const uint8_t *w = r->mem ? r->mem + from : r->buf;
        long n = r->mem ? (long)(r->size - from) : read_at(r, from, r->buf, win);
        if (n < 0)
            return n;
        if (win * 2 <= r->buf_cap && win < SCAN_MAX)
            win *= 2;
        const uint8_t *hit = memmem(w, (size_t)n, CAP_CHUNK_MAGIC, 4);
        if (hit)
            return (int64_t)(from + (uint64_t)(hit - w));
        if (from + (uint64_t)n == r->size) {
            for (size_t k = n < 3 ? (size_t)n : 3; k > 0; k--)
                if (!memcmp(w + (size_t)n - k, CAP_CHUNK_MAGIC, k))
                    return (int64_t)(r->size - k);
            return -1;
        }
        if (n < 4)
            return CS_EIO;   /* a short read before the end: the file shrank */
        from += (uint64_t)n - 3;   /* a magic across the windows' edge */
    }
    return -1;
}

static void accept_chunk(cs_capture_reader_t *r)
{
    uint64_t missing = (uint64_t)((int64_t)r->cur_index - r->last_index - 1);
    if (r->in_run) {
        r->info.chunks_bad += missing ? missing : 1;
        r->info.bytes_skipped += r->pos - r->run_start;
        r->in_run = false;
    } else {
        r->info.chunks_bad += missing;
    }
    r->last_index = r->cur_index;
    r->pos += CAP_FRAME_LEN + (uint64_t)r->cur_len + REC_TAG_LEN;
    r->good_end = r->info.offset = r->pos;
    r->rec_pos = 0;
    r->in_chunk = true;
}

/* Nothing good after the run: a cut if a candidate reached past the end. */
static void end_run(cs_capture_reader_t *r)
{
    if (r->run_cut != UINT64_MAX) {
        r->info.truncated = true;
        if (r->run_cut > r->run_start)
            r->info.chunks_bad++;
    } else {
        r->info.chunks_bad++;
    }
    r->info.bytes_skipped += r->size - r->run_start;
    r->in_run = false;
    r->pos = r->info.offset = r->size;
}

/* 1: a chunk is ready, 0: end of file, CS_EIO. */
static int load_chunk(cs_capture_reader_t *r)
{
    while (r->pos < r->size) {
        int res = try_chunk(r, r->pos);
        if (res < 0)
            return res;
        if (res == TRY_OK) {
            accept_chunk(r);
            return 1;
        }
        if (!r->in_run) {
            r->in_run = true;
            r->run_start = r->pos;
            r->run_cut = UINT64_MAX;
        }
        if (res == TRY_CUT && r->run_cut == UINT64_MAX)
            r->run_cut = r->pos;
        int64_t q = find_magic(r, r->pos + 1);
        if (q < -1)
            return (int)q;
        if (q < 0) {
            end_run(r);
            return 0;
        }
        r->pos = (uint64_t)q;
    }
    return 0;
}

/* ---- records ---------------------------------------------------------------- */

static const uint8_t *get_str(const uint8_t *p, const uint8_t *end, char *dst, size_t field)
{
    if (!p || p >= end)
        return NULL;
    size_t n = p[0];
    if (n >= field || n > (size_t)(end - p - 1) || memchr(p + 1, 0, n))
        return NULL;
    memcpy(dst, p + 1, n);
    dst[n] = '\0';
    return p + 1 + n;
}

/* 1: a new declaration, 0: a repeat of one we have, -1: malformed. */
static int read_track(cs_capture_reader_t *r, const uint8_t *b, size_t len,
                      cs_capture_record_t *rec)
{
    cs_rec_track_t t;
    memset(&t, 0, sizeof t);
    if (len < CAP_TRACK_FIXED)
        return -1;
    t.track = cs_rd16(b);
    if (t.track >= CS_REC_MAX_TRACKS || b[2] > CS_REC_VIDEO)
        return -1;
    t.kind = b[2] == CS_REC_AUDIO ? CS_REC_AUDIO : CS_REC_VIDEO;
    t.layer = b[3];
    t.payload_type = b[4];
    t.clock_rate = cs_rd32(b + 5);
    const uint8_t *end = b + len, *p = b + CAP_TRACK_FIXED;
    p = get_str(p, end, t.codec, sizeof t.codec);
    p = get_str(p, end, t.source, sizeof t.source);
    p = get_str(p, end, t.member_id, sizeof t.member_id);
    p = get_str(p, end, t.name, sizeof t.name);
    if (p != end)
        return -1;
    if (r->declared[t.track])
        return memcmp(&r->tracks[t.track], &t, sizeof t) ? -1 : 0;
    r->declared[t.track] = true;
    r->tracks[t.track] = t;
    rec->type = CS_CAP_TRACK;
    rec->track = t;
    return 1;
}

static int read_packet(cs_capture_reader_t *r, const uint8_t *b, size_t len,
                       cs_capture_record_t *rec)
{
    if (len <= CAP_PACKET_HDR || len - CAP_PACKET_HDR > CS_REC_PACKET_MAX)
        return -1;
    uint16_t track = cs_rd16(b);
    if (track >= CS_REC_MAX_TRACKS || !r->declared[track])
        return -1;
    rec->type = CS_CAP_PACKET;
    rec->track_no = track;
    rec->arrival_us = (int64_t)cs_rd64(b + 2);
    rec->data = b + CAP_PACKET_HDR;
    rec->len = len - CAP_PACKET_HDR;
    return 1;
}

/* The rest of the chunk from the record at rec_pos is lost. */
static void abandon_chunk(cs_capture_reader_t *r)
{
    r->info.chunks_bad++;
    r->info.bytes_skipped += r->cur_len - r->rec_pos;
    r->in_chunk = false;
}

/* 1: a record, 0: the chunk is done (read or abandoned). */
static int next_record(cs_capture_reader_t *r, cs_capture_record_t *rec)
{
    const uint8_t *plain = r->buf + CAP_FRAME_LEN;
    while (r->in_chunk && r->rec_pos < r->cur_len) {
        size_t left = r->cur_len - r->rec_pos;
        const uint8_t *p = plain + r->rec_pos;
        size_t blen = left >= CAP_REC_HDR ? cs_rd16(p + 1) : 0;
        int rc = -1;
        if (left >= CAP_REC_HDR && blen <= left - CAP_REC_HDR) {
            const uint8_t *body = p + CAP_REC_HDR;
            if (p[0] == CAP_REC_TRACK)
                rc = read_track(r, body, blen, rec);
            else if (p[0] == CAP_REC_PACKET)
                rc = read_packet(r, body, blen, rec);
            else if (p[0] == CAP_REC_END && blen == 0) {
                rec->type = CS_CAP_END;
                r->info.clean_end = true;
                rc = 1;
            }
        }
        if (rc < 0) {
            abandon_chunk(r);
            return 0;
        }
        r->rec_pos += CAP_REC_HDR + blen;
        if (r->rec_pos == r->cur_len) {   /* counted now: a caller may stop at the end */
            r->info.chunks_ok++;
            r->in_chunk = false;
        }
        if (rc == 1)
            return 1;
    }
    if (r->in_chunk) {   /* an empty chunk */
        r->info.chunks_ok++;
        r->in_chunk = false;
    }
    return 0;
}

int cs_capture_reader_next(cs_capture_reader_t *r, cs_capture_record_t *rec)
{
    if (!r || !rec)
        return CS_EINVAL;
    memset(rec, 0, sizeof *rec);
    for (;;) {
        if (r->in_chunk) {
            if (next_record(r, rec))
                return 1;
            continue;
        }
        int rc = load_chunk(r);
        if (rc <= 0)
            return rc;
    }
}
