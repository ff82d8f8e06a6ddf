/*
 * test_recorder_capture.c — media/recorder capture files end to end: what
 * the recorder writes reads back identical (tracks, packets, times, the end
 * record); another master key is refused (CS_EAUTH), other files are not
 * capture files (CS_EINVAL); a file cut at every byte reads everything
 * before the cut and reports the cut; a damaged, removed, duplicated or
 * moved chunk is skipped and counted while the others read; a malformed
 * record inside an authentic chunk costs the rest of that chunk only;
 * opening checks its arguments and the limits (tracks, packet sizes).
 * (Crash copies and a full disk: test_recorder_ring.c, with the writer.)
 *
 * Each test works in a fresh folder under /tmp.
 *
 * With CS_CAPTURE_SEEDS=DIR in the environment, main() writes the fuzz
 * seeds (tests/fuzz/corpus/capture/) under the fuzz target's key instead of
 * running the tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/recorder_fixture.h"

#define START_MONO INT64_C(5000000000)
#define START_WALL INT64_C(1790000000000)
#define NTRACKS 6

/* ---- fixture ----------------------------------------------------------------- */

/* Packet lengths go up to len_mod: small where a test reads a file once
 * per byte of it. */
static size_t len_mod = CS_REC_PACKET_MAX;

static int setup(void **state)
{
    fx_t *f = fx_new("/tmp/cs-test-capture-XXXXXX");
    snprintf(f->path, sizeof f->path, "%s/a.cap", f->dir);
    f->rec = new_recorder(KEY, 0, 50);
    len_mod = CS_REC_PACKET_MAX;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    return fx_free(*state);
}

/* ---- helpers ------------------------------------------------------------------ */

static void make_track(cs_rec_track_t *t, int i)
{
    memset(t, 0, sizeof *t);
    t->kind = i % 2 ? CS_REC_VIDEO : CS_REC_AUDIO;
    t->layer = (uint8_t)(i % 3);
    t->payload_type = (uint8_t)(96 + i);
    t->clock_rate = i % 2 ? 90000 : 48000;
    strcpy(t->codec, i % 2 ? "VP8" : "opus");
    strcpy(t->source, i % 2 ? "camera" : "microphone");
    snprintf(t->member_id, sizeof t->member_id, "member-%d", i / 2);
    snprintf(t->name, sizeof t->name, "Фельдшер Анна %d", i);
}

static size_t pkt_len(int i)
{
    return 1 + (size_t)(i * 37) % len_mod;
}

static void pkt_fill(uint8_t *b, size_t len, int i)
{
    for (size_t k = 0; k < len; k++)
        b[k] = (uint8_t)(i * 131 + (int)k * 7);
}

static int64_t pkt_arrival(int i)
{
    return START_MONO + (int64_t)i * 1000 + i % NTRACKS;
}

static cs_rec_session_t *open_session(fx_t *f, const char *path)
{
    cs_rec_session_t *s = NULL;
    assert_int_equal(cs_recorder_open(f->rec, path, "rec-0001", START_WALL, START_MONO, &s),
                     CS_OK);
    cs_rec_track_t t;
    for (int i = 0; i < NTRACKS; i++) {
        make_track(&t, i);
        assert_int_equal(cs_recorder_add_track(s, &t), i);
    }
    return s;
}

static void push_range(cs_rec_session_t *s, int from, int to)
{
    uint8_t b[CS_REC_PACKET_MAX];
    for (int i = from; i < to; i++) {
        size_t n = pkt_len(i);
        pkt_fill(b, n, i);
        assert_int_equal(cs_recorder_push(s, (uint16_t)(i % NTRACKS), pkt_arrival(i), b, n),
                         CS_OK);
    }
}

static void finish(cs_rec_session_t *s, cs_rec_session_stats_t *st)
{
    cs_recorder_close(s);
    wait_stats(s, st, true, 0);
    cs_rec_session_release(s);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(*len ? *len : 1);
    assert_int_equal(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

/* What a read gave: packet indices seen (by content), and the info. */
typedef struct {
    int tracks, packets, ends;
    int first, last;          /* packet indices, -1 none */
    bool in_order;
    uint64_t offset_after[8192];  /* info.offset after each packet */
    cs_capture_info_t info;
} readout_t;

static void check_track(const cs_capture_record_t *rec, int n)
{
    cs_rec_track_t want;
    make_track(&want, n);
    assert_int_equal(rec->track.track, n);
    assert_int_equal(rec->track.kind, want.kind);
    assert_int_equal(rec->track.layer, want.layer);
    assert_int_equal(rec->track.payload_type, want.payload_type);
    assert_int_equal(rec->track.clock_rate, want.clock_rate);
    assert_string_equal(rec->track.codec, want.codec);
    assert_string_equal(rec->track.source, want.source);
    assert_string_equal(rec->track.member_id, want.member_id);
    assert_string_equal(rec->track.name, want.name);
}

/* Packets carry their index in their time; each must be exactly as pushed. */
static int check_packet(const cs_capture_record_t *rec)
{
    int i = (int)(rec->arrival_us / 1000);
    assert_int_equal(rec->arrival_us, pkt_arrival(i) - START_MONO);
    assert_int_equal(rec->track_no, i % NTRACKS);
    assert_int_equal(rec->len, pkt_len(i));
    uint8_t b[CS_REC_PACKET_MAX];
    pkt_fill(b, rec->len, i);
    assert_memory_equal(rec->data, b, rec->len);
    return i;
}

static void read_all(cs_capture_reader_t *r, readout_t *o)
{
    memset(o, 0, sizeof *o);
    o->first = o->last = -1;
    o->in_order = true;
    cs_capture_record_t rec;
    int rc;
    while ((rc = cs_capture_reader_next(r, &rec)) == 1) {
        if (rec.type == CS_CAP_TRACK) {
            check_track(&rec, o->tracks++);
        } else if (rec.type == CS_CAP_PACKET) {
            assert_true(rec.track_no < o->tracks);
            int i = check_packet(&rec);
            if (o->last >= 0 && i != o->last + 1)
                o->in_order = false;
            if (o->first < 0)
                o->first = i;
            o->last = i;
            cs_capture_info_t in;
            cs_capture_reader_info(r, &in);
            if (o->packets < (int)CS_ARRAY_LEN(o->offset_after))
                o->offset_after[o->packets] = in.offset;
            o->packets++;
        } else {
            assert_int_equal(rec.type, CS_CAP_END);
            o->ends++;
        }
    }
    assert_int_equal(rc, 0);
    cs_capture_reader_info(r, &o->info);
    assert_true(o->info.offset <= o->info.file_size);
    assert_true(o->info.bytes_skipped <= o->info.file_size);
}

static void read_mem(const uint8_t *b, size_t len, readout_t *o)
{
    cs_capture_reader_t *r = NULL;
    assert_int_equal(cs_capture_reader_open_mem(b, len, KEY, &r), CS_OK);
    read_all(r, o);
    cs_capture_reader_free(r);
}

static void read_path(const char *path, readout_t *o)
{
    cs_capture_reader_t *r = NULL;
    assert_int_equal(cs_capture_reader_open(path, KEY, &r), CS_OK);
    read_all(r, o);
    cs_capture_reader_free(r);
}

/* Start offsets of the chunks of a file (walks the framing). */
static size_t chunk_starts(const uint8_t *b, size_t len, size_t *starts, size_t max)
{
    size_t n = 0, pos = CAP_HDR_LEN;
    while (pos + CAP_FRAME_LEN <= len && n < max) {
        assert_memory_equal(b + pos, CAP_CHUNK_MAGIC, 4);
        starts[n++] = pos;
        pos += CAP_FRAME_LEN + cs_rd32(b + pos + 8) + REC_TAG_LEN;
    }
    assert_int_equal(pos, len);
    return n;
}

/* Three flushed chunks of small packets [0,40), [40,80), [80,120) and a
 * last one with the end record: the file's bytes, and where the four
 * chunks start. */
static uint8_t *write_three_chunks(fx_t *f, size_t *len, size_t starts[4])
{
    cs_rec_session_stats_t st;
    len_mod = 60;
    cs_rec_session_t *s = open_session(f, f->path);
    for (int c = 0; c < 3; c++) {
        cs_recorder_test_pause(f->rec, true);
        push_range(s, c * 40, c * 40 + 40);
        cs_recorder_test_pause(f->rec, false);
        wait_stats(s, &st, false, (uint64_t)c + 1);
    }
    finish(s, &st);
    assert_int_equal(st.chunks, 4);
    uint8_t *b = slurp(f->path, len);
    assert_int_equal(chunk_starts(b, *len, starts, 4), 4);
    return b;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    fx_t *f = *state;
    enum { N = 3000 };
    cs_rec_session_t *s = open_session(f, f->path);
    push_range(s, 0, N);
    cs_rec_session_stats_t st;
    finish(s, &st);
    assert_int_equal(st.packets, N);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.error, CS_OK);
    assert_true(st.chunks >= 10);   /* 2.4 MB in chunks of at most 256 KiB */

    readout_t *o = malloc(sizeof *o);
    read_path(f->path, o);
    assert_int_equal(o->tracks, NTRACKS);
    assert_int_equal(o->packets, N);
    assert_true(o->in_order);
    assert_int_equal(o->ends, 1);
    assert_string_equal(o->info.recording_id, "rec-0001");
    assert_int_equal(o->info.start_wall_ms, START_WALL);
    assert_int_equal(o->info.chunks_ok, st.chunks);
    assert_int_equal(o->info.chunks_bad, 0);
    assert_int_equal(o->info.bytes_skipped, 0);
    assert_false(o->info.truncated);
    assert_true(o->info.clean_end);
    assert_int_equal(o->info.file_size, st.bytes_written);
    assert_int_equal(o->info.offset, o->info.file_size);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, st.bytes_written);
    assert_int_equal(sb.st_mode & 0777, 0600);
    free(o);
}

static void test_wrong_key_and_not_capture(void **state)
{
    fx_t *f = *state;
    cs_rec_session_t *s = open_session(f, f->path);
    push_range(s, 0, 10);
    cs_rec_session_stats_t st;
    finish(s, &st);
    size_t len;
    uint8_t *b = slurp(f->path, &len);
    cs_capture_reader_t *r = (cs_capture_reader_t *)1;
    assert_int_equal(cs_capture_reader_open(f->path, OTHER_KEY, &r), CS_EAUTH);
    assert_null(r);
    assert_int_equal(cs_capture_reader_open_mem(b, len, OTHER_KEY, &r), CS_EAUTH);

    /* Every header field is in the wrap's AAD. */
    for (size_t off = 12; off < CAP_HDR_LEN; off += 7) {
        b[off] ^= 0x10;
        int rc = cs_capture_reader_open_mem(b, len, KEY, &r);
        assert_true(rc == CS_EAUTH || rc == CS_EINVAL);
        b[off] ^= 0x10;
    }
    b[9] = 2;   /* a newer version */
    assert_int_equal(cs_capture_reader_open_mem(b, len, KEY, &r), CS_EUNSUPPORTED);
    b[9] = 0;
    assert_int_equal(cs_capture_reader_open_mem(b, len, KEY, &r), CS_EINVAL);
    b[9] = 1;
    for (size_t cut = 0; cut < CAP_HDR_LEN; cut++)
        assert_int_equal(cs_capture_reader_open_mem(b, cut, KEY, &r), CS_EINVAL);

    static const char text[] = "RIFF....WEBPVP8 this is not a capture file at all, not even close";
    assert_int_equal(cs_capture_reader_open_mem((const uint8_t *)text, sizeof text, KEY, &r),
                     CS_EINVAL);
    uint8_t zeros[4096] = {0};
    assert_int_equal(cs_capture_reader_open_mem(zeros, sizeof zeros, KEY, &r), CS_EINVAL);
    assert_int_equal(cs_capture_reader_open_mem(NULL, 0, KEY, &r), CS_EINVAL);
    char other[160];
    snprintf(other, sizeof other, "%s/missing.cap", f->dir);
    assert_int_equal(cs_capture_reader_open(other, KEY, &r), CS_EIO);
    assert_int_equal(cs_capture_reader_open(f->dir, KEY, &r), CS_EIO);
    free(b);
}

static void test_truncated_at_every_cut(void **state)
{
    fx_t *f = *state;
    size_t len, starts[4];
    uint8_t *b = write_three_chunks(f, &len, starts);
    readout_t *full = malloc(sizeof *full), *o = malloc(sizeof *o);
    read_mem(b, len, full);
    assert_int_equal(full->packets, 120);
    assert_true(full->info.clean_end);

    for (size_t cut = CAP_HDR_LEN; cut < len; cut++) {
        uint8_t *copy = malloc(cut);   /* exact size: ASan sees any overread */
        memcpy(copy, b, cut);
        read_mem(copy, cut, o);
        free(copy);
        int want = 0;
        while (want < full->packets && full->offset_after[want] <= cut)
            want++;
        bool boundary = false;
        for (size_t k = 0; k < 4; k++)
            boundary |= starts[k] == cut;
        assert_int_equal(o->packets, want);
        assert_true(o->in_order && (want == 0 || o->first == 0));
        assert_int_equal(o->info.truncated, !boundary && cut > CAP_HDR_LEN);
        assert_int_equal(o->info.chunks_bad, 0);
        assert_false(o->info.clean_end);
        assert_int_equal(o->info.offset, cut);
    }
    free(full);
    free(o);
    free(b);
}

static void test_damaged_middle_chunk(void **state)
{
    fx_t *f = *state;
    size_t len, starts[4];
    uint8_t *b = write_three_chunks(f, &len, starts);
    size_t c1 = starts[1], c1_len = starts[2] - starts[1];
    readout_t *o = malloc(sizeof *o);
    /* magic, index, length, ciphertext (start, middle, end), tag */
    size_t spots[] = {c1, c1 + 2, c1 + 5, c1 + 9, c1 + 10, c1 + 12, c1 + c1_len / 2,
                      c1 + c1_len - 17, c1 + c1_len - 1};
    for (size_t k = 0; k < CS_ARRAY_LEN(spots); k++) {
        for (uint8_t flip = 1; flip; flip = (uint8_t)(flip << 1)) {
            b[spots[k]] ^= flip;
            read_mem(b, len, o);
            b[spots[k]] ^= flip;
            assert_int_equal(o->packets, 80);   /* chunks 0 and 2 */
            assert_int_equal(o->first, 0);
            assert_int_equal(o->last, 119);
            assert_false(o->in_order);          /* 40..79 are missing */
            assert_int_equal(o->info.chunks_bad, 1);
            assert_int_equal(o->info.chunks_ok, 3);
            assert_int_equal(o->info.bytes_skipped, c1_len);
            assert_false(o->info.truncated);
            assert_true(o->info.clean_end);
            assert_int_equal(o->tracks, NTRACKS);
        }
    }
    free(o);
    free(b);
}

/* The first chunk damaged: every chunk repeats the declarations, so the
 * later ones still read with their tracks. */
static void test_damaged_first_chunk(void **state)
{
    fx_t *f = *state;
    size_t len, starts[4];
    uint8_t *b = write_three_chunks(f, &len, starts);
    b[starts[0] + CAP_FRAME_LEN + 5] ^= 0x80;
    readout_t *o = malloc(sizeof *o);
    read_mem(b, len, o);
    assert_int_equal(o->tracks, NTRACKS);
    assert_int_equal(o->packets, 80);
    assert_int_equal(o->first, 40);
    assert_true(o->in_order);
    assert_int_equal(o->info.chunks_bad, 1);
    assert_int_equal(o->info.bytes_skipped, starts[1] - starts[0]);
    assert_true(o->info.clean_end);
    free(o);
    free(b);
}

/* Chunks cut out, repeated or swapped are seen through their indices. */
static void test_chunks_moved(void **state)
{
    fx_t *f = *state;
    size_t len, st[4];
    uint8_t *b = write_three_chunks(f, &len, st);
    size_t l1 = st[2] - st[1];
    uint8_t *c = malloc(len + l1);
    readout_t *o = malloc(sizeof *o);

    memcpy(c, b, st[1]);   /* chunk 1 removed */
    memcpy(c + st[1], b + st[2], len - st[2]);
    read_mem(c, len - l1, o);
    assert_int_equal(o->packets, 80);
    assert_int_equal(o->info.chunks_bad, 1);
    assert_int_equal(o->info.bytes_skipped, 0);

    memcpy(c, b, st[2]);   /* chunk 1 twice */
    memcpy(c + st[2], b + st[1], l1);
    memcpy(c + st[2] + l1, b + st[2], len - st[2]);
    read_mem(c, len + l1, o);
    assert_int_equal(o->packets, 120);
    assert_true(o->in_order);
    assert_int_equal(o->info.chunks_bad, 1);
    assert_int_equal(o->info.bytes_skipped, l1);

    size_t l2 = st[3] - st[2];   /* chunks 1 and 2 swapped */
    memcpy(c, b, st[1]);
    memcpy(c + st[1], b + st[2], l2);
    memcpy(c + st[1] + l2, b + st[1], l1);
    memcpy(c + st[3], b + st[3], len - st[3]);
    read_mem(c, len, o);
    assert_int_equal(o->packets, 80);   /* 0 and 2 (1 is now out of order) */
    assert_int_equal(o->last, 119);
    assert_int_equal(o->info.chunks_bad, 2);
    assert_true(o->info.clean_end);
    free(o);
    free(c);
    free(b);
}

/* ---- hand-made chunks: malformed records in authentic chunks --------------- */

typedef struct {
    uint8_t buf[8192];
    size_t len;
    uint8_t key[CS_REC_KEY_LEN];
    uint32_t index;
} forge_t;

static void forge_start(forge_t *g, const uint8_t *master)
{
    uint8_t nonce[REC_NONCE_LEN] = {1, 2, 3};
    memset(g->key, 0x5c, sizeof g->key);
    assert_int_equal(cap_header_build(g->buf, master, g->key, nonce, "forged", START_WALL, 0),
                     CS_OK);
    g->len = CAP_HDR_LEN;
    g->index = 0;
}

static void forge_chunk(forge_t *g, const uint8_t *plain, size_t n)
{
    uint8_t recid[CAP_RECID_LEN] = "forged";
    assert_int_equal(cap_chunk_seal(g->key, recid, g->index++, plain, n, g->buf + g->len),
                     CS_OK);
    g->len += CAP_FRAME_LEN + n + REC_TAG_LEN;
}

static size_t put_packet(uint8_t *p, uint16_t track, int i, size_t len)
{
    p[0] = CAP_REC_PACKET;
    cs_wr16(p + 1, (uint16_t)(CAP_PACKET_HDR + len));
    cs_wr16(p + 3, track);
    cs_wr64(p + 5, (uint64_t)(pkt_arrival(i) - START_MONO));
    pkt_fill(p + 13, len, i);
    return 13 + len;
}

static void test_malformed_records(void **state)
{
    (void)state;
    forge_t *g = malloc(sizeof *g);
    readout_t *o = malloc(sizeof *o);
    uint8_t good[1024], bad[4096];
    cs_rec_track_t t;
    size_t n0 = 0;
    for (int i = 0; i < 2; i++) {
        make_track(&t, i);
        n0 += (size_t)cap_track_encode(&t, (uint16_t)i, good + n0);
    }
    /* each bad chunk: packet 6 (fine), then the malformed record, then packet 7 */
    const struct {
        uint8_t rec[16];
        size_t len;
    } cases[] = {
        {{9, 0, 0}, 3},                                  /* unknown type */
        {{CAP_REC_PACKET, 0x40, 0x00, 0, 0}, 5},          /* body past the chunk */
        {{CAP_REC_PACKET, 0, 11, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 14}, /* track 256 */
        {{CAP_REC_PACKET, 0, 11, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 14}, /* undeclared */
        {{CAP_REC_PACKET, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 13},    /* empty packet */
        {{CAP_REC_END, 0, 1, 0}, 4},                     /* end with a body */
        {{CAP_REC_TRACK, 0, 2, 0, 0}, 5},                /* short declaration */
        {{CAP_REC_PACKET, 0}, 2},                        /* cut header */
    };
    for (size_t k = 0; k <= CS_ARRAY_LEN(cases) + 1; k++) {
        forge_start(g, KEY);
        size_t n = n0 + put_packet(good + n0, 0, 0, pkt_len(0));
        forge_chunk(g, good, n);
        size_t m = put_packet(bad, 0, 6, pkt_len(6));
        if (k < CS_ARRAY_LEN(cases)) {
            memcpy(bad + m, cases[k].rec, cases[k].len);
            m += cases[k].len;
        } else if (k == CS_ARRAY_LEN(cases)) {   /* too long a packet */
            m += put_packet(bad + m, 0, 1, CS_REC_PACKET_MAX + 1);
        } else {                                /* a conflicting declaration */
            make_track(&t, 3);
            m += (size_t)cap_track_encode(&t, 1, bad + m);
        }
        m += put_packet(bad + m, 1, 7, pkt_len(7));
        forge_chunk(g, bad, m);
        n = put_packet(bad, 1, 13, pkt_len(13));
        forge_chunk(g, bad, n);
        read_mem(g->buf, g->len, o);
        assert_int_equal(o->tracks, 2);
        assert_int_equal(o->packets, 3);   /* 0, 6, 13: not 7 */
        assert_int_equal(o->first, 0);
        assert_int_equal(o->last, 13);
        assert_int_equal(o->info.chunks_ok, 2);
        assert_int_equal(o->info.chunks_bad, 1);
        assert_true(o->info.bytes_skipped > 0);
        assert_false(o->info.truncated);
    }
    free(o);
    free(g);
}

/* ---- crash, full disk, limits -------------------------------------------------- */

static void test_open_and_limits(void **state)
{
    fx_t *f = *state;
    cs_rec_session_t *s = NULL;
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/folder.cap", f->dir);
    assert_int_equal(cs_recorder_open(f->rec, path, "r", 0, 0, &s), CS_EIO);
    char id[80];
    memset(id, 'x', 65);
    id[65] = '\0';
    assert_int_equal(cs_recorder_open(f->rec, f->path, id, 0, 0, &s), CS_EINVAL);
    assert_int_equal(cs_recorder_open(f->rec, f->path, "", 0, 0, &s), CS_EINVAL);
    id[64] = '\0';
    assert_int_equal(cs_recorder_open(f->rec, f->path, id, 0, 0, &s), CS_OK);
    cs_rec_session_t *s2 = NULL;
    assert_int_equal(cs_recorder_open(f->rec, f->path, "r", 0, 0, &s2), CS_EEXIST);

    cs_rec_track_t t;
    make_track(&t, 0);
    uint8_t b[CS_REC_PACKET_MAX + 1] = {0};
    assert_int_equal(cs_recorder_push(s, 0, 0, b, 10), CS_EINVAL);   /* no track yet */
    t.kind = 7;
    assert_int_equal(cs_recorder_add_track(s, &t), CS_EINVAL);
    make_track(&t, 0);
    memset(t.codec, 'x', sizeof t.codec);   /* not terminated */
    assert_int_equal(cs_recorder_add_track(s, &t), CS_EINVAL);
    make_track(&t, 0);
    t.track = 77;   /* ignored: the session numbers */
    for (int i = 0; i < CS_REC_MAX_TRACKS; i++)
        assert_int_equal(cs_recorder_add_track(s, &t), i);
    assert_int_equal(cs_recorder_add_track(s, &t), CS_ELIMIT);
    assert_int_equal(cs_recorder_push(s, 255, 0, b, 1), CS_OK);
    assert_int_equal(cs_recorder_push(s, 256, 0, b, 1), CS_EINVAL);
    assert_int_equal(cs_recorder_push(s, 0, 0, b, 0), CS_EINVAL);
    assert_int_equal(cs_recorder_push(s, 0, 0, b, CS_REC_PACKET_MAX), CS_OK);
    assert_int_equal(cs_recorder_push(s, 0, 0, b, CS_REC_PACKET_MAX + 1), CS_EINVAL);
    assert_int_equal(cs_recorder_push(s, 0, 0, NULL, 5), CS_EINVAL);
    cs_recorder_close(s);
    cs_recorder_close(s);   /* idempotent */
    assert_int_equal(cs_recorder_push(s, 0, 0, b, 5), CS_ESTATE);
    assert_int_equal(cs_recorder_add_track(s, &t), CS_ESTATE);
    cs_rec_session_stats_t st;
    wait_stats(s, &st, true, 0);
    assert_int_equal(st.packets, 2);
    cs_rec_session_release(s);

    cs_capture_info_t info;
    cs_capture_reader_t *r = NULL;
    assert_int_equal(cs_capture_reader_open(f->path, KEY, &r), CS_OK);
    cs_capture_record_t rec;
    int tracks = 0, packets = 0, rc;
    while ((rc = cs_capture_reader_next(r, &rec)) == 1) {
        tracks += rec.type == CS_CAP_TRACK;
        packets += rec.type == CS_CAP_PACKET;
    }
    assert_int_equal(rc, 0);
    cs_capture_reader_info(r, &info);
    assert_int_equal(tracks, CS_REC_MAX_TRACKS);
    assert_int_equal(packets, 2);
    assert_true(info.clean_end);
    assert_int_equal(strlen(info.recording_id), 64);
    cs_capture_reader_free(r);

    cs_recorder_config_t cfg = {.master_key = NULL};
    int err = 0;
    assert_null(cs_recorder_new(&cfg, &err));
    assert_int_equal(err, CS_EINVAL);
    cfg.master_key = KEY;
    cfg.ring_bytes = 100;   /* smaller than one packet */
    assert_null(cs_recorder_new(&cfg, &err));
    assert_int_equal(err, CS_EINVAL);
}

/* ---- fuzz seeds ------------------------------------------------------------------- */

/* tests/fuzz/fuzz_capture.c reads with this key. */
static const uint8_t FUZZ_KEY[CS_REC_KEY_LEN] = "consilium-fuzz-capture-key-0001";

static int put_seed(const char *dir, const char *name, const uint8_t *b, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(b, 1, len, fp) != len || fclose(fp)) {
        perror(path);
        return 1;
    }
    return 0;
}

/* A real recording under the fuzz key, and damaged copies of it. */
static int write_seeds(const char *dir)
{
    fx_t f = {.rec = new_recorder(FUZZ_KEY, 0, 20)};
    snprintf(f.path, sizeof f.path, "%s/.seed-tmp.cap", dir);
    unlink(f.path);
    size_t len, st[4];
    uint8_t *b = write_three_chunks(&f, &len, st);
    cs_recorder_free(f.rec);
    unlink(f.path);
    int bad = put_seed(dir, "valid.cap", b, len);
    bad |= put_seed(dir, "header_only.cap", b, CAP_HDR_LEN);
    bad |= put_seed(dir, "cut_in_header.cap", b, CAP_HDR_LEN - 20);
    bad |= put_seed(dir, "cut_in_frame.cap", b, st[3] + 7);
    bad |= put_seed(dir, "cut_in_chunk.cap", b, st[2] + (st[3] - st[2]) / 2);
    b[st[1] + 40] ^= 0x20;
    bad |= put_seed(dir, "flipped_chunk.cap", b, len);
    b[st[1] + 40] ^= 0x20;
    b[st[2] + 10] ^= 0x01;
    bad |= put_seed(dir, "bad_length.cap", b, len);
    b[st[2] + 10] ^= 0x01;
    bad |= put_seed(dir, "chunk_missing.cap", b, st[1]);
    memcpy(b + st[1], b + st[2], len - st[2]);
    bad |= put_seed(dir, "chunk_removed.cap", b, len - (st[2] - st[1]));
    free(b);
    forge_t *g = malloc(sizeof *g);
    uint8_t plain[512];
    cs_rec_track_t t;
    make_track(&t, 1);
    size_t m = (size_t)cap_track_encode(&t, 0, plain);
    m += put_packet(plain + m, 0, 1, pkt_len(1));
    forge_start(g, FUZZ_KEY);
    forge_chunk(g, plain, m);
    plain[m] = 9;   /* an unknown record type */
    plain[m + 1] = plain[m + 2] = 0;
    forge_chunk(g, plain, m + 3);
    bad |= put_seed(dir, "bad_record.cap", g->buf, g->len);
    /* plaintext records, for the target's second reading: declarations and
     * packets in one chunk, more packets and the end in the next */
    m = 0;
    for (int i = 0; i < 2; i++) {
        make_track(&t, i);
        m += (size_t)cap_track_encode(&t, (uint16_t)i, g->buf + m);
    }
    for (int i = 0; i < 4; i++)
        m += put_packet(g->buf + m, (uint16_t)(i % 2), i, pkt_len(i) % 40 + 1);
    memcpy(g->buf + m, "|CUT|", 5);
    m += 5;
    m += put_packet(g->buf + m, 1, 5, 12);
    g->buf[m++] = CAP_REC_END;
    g->buf[m++] = 0;
    g->buf[m++] = 0;
    bad |= put_seed(dir, "plain_records.bin", g->buf, m);
    free(g);
    return bad;
}

int main(void)
{
    const char *seeds = getenv("CS_CAPTURE_SEEDS");
    if (seeds)
        return write_seeds(seeds);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_and_not_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_at_every_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_middle_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_first_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunks_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_and_limits, setup, teardown),
    };
    return cmocka_run_group_tests_name("recorder_capture", tests, NULL, NULL);
}
