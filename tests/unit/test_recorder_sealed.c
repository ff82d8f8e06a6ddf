/*
 * test_recorder_sealed.c — media/recorder sealed files: sizes around the
 * 64 KiB block (0, 1, 65535, 65536, 65537) and a multi-megabyte file read
 * back identical; writes in random order, overwrites and a muxer's seek
 * back; holes read as zeros; reads at every block edge; a rewritten block
 * gets a new nonce; a tampered block fails with CS_EAUTH and only that
 * block; a changed header, swapped blocks, a cut or grown file and another
 * master key are refused; an unfinished file is refused (CS_EINVAL); a
 * full disk fails the write with its errno.
 *
 * The full disk is a 64 KiB tmpfs mounted in the test's folder (root); if
 * mounting is not allowed, RLIMIT_FSIZE stands in (EFBIG instead of
 * ENOSPC, the same failing pwrite).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include "tests/unit/recorder_fixture.h"

#define B SEALED_BLOCK

static int setup(void **state)
{
    fx_t *f = fx_new("/tmp/cs-test-sealed-XXXXXX");
    snprintf(f->path, sizeof f->path, "%s/out.sealed", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    return fx_free(*state);
}

/* ---- helpers ------------------------------------------------------------------ */

static uint8_t patt(uint64_t off, unsigned salt)
{
    return (uint8_t)((off * 131 + salt) ^ (off >> 9));
}

static void fill(uint8_t *b, uint64_t off, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++)
        b[i] = patt(off + i, salt);
}

static cs_sealed_t *create(const char *path)
{
    cs_sealed_t *s = NULL;
    assert_int_equal(cs_sealed_create(path, KEY, &s), CS_OK);
    return s;
}

static cs_sealed_t *open_ok(const char *path)
{
    cs_sealed_t *s = NULL;
    assert_int_equal(cs_sealed_open(path, KEY, &s), CS_OK);
    return s;
}

static void write_seq(cs_sealed_t *s, uint64_t size, size_t step, unsigned salt)
{
    uint8_t *b = malloc(step);
    for (uint64_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? (size_t)(size - off) : step;
        fill(b, off, n, salt);
        assert_int_equal(cs_sealed_write(s, off, b, n), CS_OK);
    }
    free(b);
}

/* Reads [off, off+len) and compares with want (the whole plaintext). */
static void check_read(cs_sealed_t *s, const uint8_t *want, uint64_t size, uint64_t off,
                       size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    long n = cs_sealed_read(s, off, b, len);
    size_t expect = off >= size ? 0 : (size - off < len ? (size_t)(size - off) : len);
    assert_int_equal(n, (long)expect);
    if (expect)
        assert_memory_equal(b, want + off, expect);
    free(b);
}

static uint64_t disk_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

static void poke(const char *path, uint64_t off, uint8_t x)
{
    int fd = open(path, O_RDWR);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
    c ^= x;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_sizes(void **state)
{
    fx_t *f = *state;
    const uint64_t sizes[] = {0, 1, B - 1, B, B + 1, 3 * B + 100};
    for (size_t k = 0; k < CS_ARRAY_LEN(sizes); k++) {
        uint64_t size = sizes[k];
        snprintf(f->path, sizeof f->path, "%s/size%zu.sealed", f->dir, k);
        cs_sealed_t *s = create(f->path);
        write_seq(s, size, 10007, 1);
        assert_int_equal(cs_sealed_size(s), size);
        assert_int_equal(cs_sealed_finish(s), CS_OK);
        assert_int_equal(cs_sealed_finish(s), CS_OK);   /* idempotent */
        cs_sealed_free(s);
        uint64_t blocks = (size + B - 1) / B;
        assert_int_equal(disk_size(f->path),   /* the last block stored short */
                         SEALED_HDR_LEN + size + blocks * (REC_NONCE_LEN + REC_TAG_LEN));
        struct stat sb;
        assert_int_equal(stat(f->path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);

        uint8_t *want = malloc(size + 1);
        fill(want, 0, size, 1);
        s = open_ok(f->path);
        assert_int_equal(cs_sealed_size(s), size);
        check_read(s, want, size, 0, size);
        check_read(s, want, size, 0, size + 1000);   /* short at the end */
        check_read(s, want, size, size, 10);          /* 0 at the end */
        check_read(s, want, size, size + B, 10);
        uint8_t one;
        assert_int_equal(cs_sealed_write(s, 0, &one, 1), CS_ESTATE);   /* read-only */
        cs_sealed_free(s);
        free(want);
    }
}

static void test_block_edges(void **state)
{
    fx_t *f = *state;
    const uint64_t size = 4 * B + 123;
    cs_sealed_t *s = create(f->path);
    write_seq(s, size, B, 2);   /* whole blocks: no read-modify-write */
    assert_int_equal(cs_sealed_finish(s), CS_OK);
    cs_sealed_free(s);
    uint8_t *want = malloc(size);
    fill(want, 0, size, 2);
    s = open_ok(f->path);
    const size_t lens[] = {1, 2, 3, 4, 100, B - 1, B, B + 1, 2 * B + 5};
    for (uint64_t edge = 0; edge <= 5 * B; edge += B)
        for (int d = -3; d <= 3; d++)
            for (size_t k = 0; k < CS_ARRAY_LEN(lens); k++)
                if ((int64_t)edge + d >= 0)
                    check_read(s, want, size, (uint64_t)((int64_t)edge + d), lens[k]);
    cs_sealed_free(s);
    free(want);
}

static void test_random_order_and_overwrite(void **state)
{
    fx_t *f = *state;
    const uint64_t size = 1 << 20;
    uint8_t *want = calloc(1, size), *piece = malloc(3 * B);
    cs_sealed_t *s = create(f->path);
    /* pieces of odd lengths, written in a scrambled order */
    enum { PIECES = 97 };
    uint64_t starts[PIECES + 1];
    for (int i = 0; i <= PIECES; i++)
        starts[i] = size * (uint64_t)i / PIECES + (i && i < PIECES ? (uint64_t)(i * 7919) % 500 : 0);
    uint32_t lcg = 12345;
    int order[PIECES];
    for (int i = 0; i < PIECES; i++)
        order[i] = i;
    for (int i = PIECES - 1; i > 0; i--) {
        lcg = lcg * 1103515245 + 12345;
        int j = (int)(lcg >> 16) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < PIECES; k++) {
        int i = order[k];
        size_t n = (size_t)(starts[i + 1] - starts[i]);
        fill(piece, starts[i], n, 3);
        assert_int_equal(cs_sealed_write(s, starts[i], piece, n), CS_OK);
        memcpy(want + starts[i], piece, n);
    }
    /* overwrites across block edges, and a muxer going back to its header */
    const uint64_t over[][2] = {{B - 10, 20}, {5 * B, 3 * B}, {7, 3}, {size - 1, 1}, {0, 64}};
    for (size_t k = 0; k < CS_ARRAY_LEN(over); k++) {
        fill(piece, over[k][0], (size_t)over[k][1], 40 + (unsigned)k);
        assert_int_equal(cs_sealed_write(s, over[k][0], piece, (size_t)over[k][1]), CS_OK);
        memcpy(want + over[k][0], piece, (size_t)over[k][1]);
        check_read(s, want, size, over[k][0] > 5 ? over[k][0] - 5 : 0, 300);   /* while writing */
    }
    assert_int_equal(cs_sealed_finish(s), CS_OK);
    assert_int_equal(cs_sealed_write(s, 0, piece, 1), CS_ESTATE);
    check_read(s, want, size, 0, size);   /* the same object, after finish */
    cs_sealed_free(s);
    s = open_ok(f->path);
    check_read(s, want, size, 0, size);
    for (uint64_t off = 3; off < size; off += 40961)
        check_read(s, want, size, off, 5000);
    cs_sealed_free(s);
    free(piece);
    free(want);
}

static void test_holes_and_nonces(void **state)
{
    fx_t *f = *state;
    const uint64_t far = 5 * B + 7, size = far + 10;
    uint8_t *want = calloc(1, size), ten[10], n1[REC_NONCE_LEN], n2[REC_NONCE_LEN];
    cs_sealed_t *s = create(f->path);
    fill(ten, 0, 10, 4);
    assert_int_equal(cs_sealed_write(s, 0, ten, 10), CS_OK);
    memcpy(want, ten, 10);
    fill(ten, far, 10, 4);
    assert_int_equal(cs_sealed_write(s, far, ten, 10), CS_OK);   /* block 0 goes to disk */
    memcpy(want + far, ten, 10);
    check_read(s, want, size, 0, size);   /* holes are zeros while writing too */
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(pread(fd, n1, sizeof n1, SEALED_HDR_LEN), sizeof n1);
    assert_int_equal(cs_sealed_write(s, 3, ten, 1), CS_OK);   /* block 0 again */
    want[3] = ten[0];
    assert_int_equal(cs_sealed_write(s, 2 * B, ten, 0), CS_OK);
    assert_int_equal(cs_sealed_finish(s), CS_OK);
    assert_int_equal(pread(fd, n2, sizeof n2, SEALED_HDR_LEN), sizeof n2);
    assert_memory_not_equal(n1, n2, sizeof n1);   /* a fresh nonce per write of a block */
    close(fd);
    cs_sealed_free(s);
    s = open_ok(f->path);
    assert_int_equal(cs_sealed_size(s), size);
    check_read(s, want, size, 0, size);
    check_read(s, want, size, 2 * B + 17, 40);
    cs_sealed_free(s);
    free(want);
}

static void test_tamper(void **state)
{
    fx_t *f = *state;
    const uint64_t size = 4 * B;
    cs_sealed_t *s = create(f->path);
    write_seq(s, size, 5000, 5);
    assert_int_equal(cs_sealed_finish(s), CS_OK);
    cs_sealed_free(s);
    uint8_t *want = malloc(size), buf[100];
    fill(want, 0, size, 5);
    const uint64_t b2 = SEALED_HDR_LEN + 2 * (uint64_t)SEALED_STRIDE;
    const uint64_t spots[] = {b2, b2 + REC_NONCE_LEN + 1000, b2 + SEALED_STRIDE - 1};
    for (size_t k = 0; k < CS_ARRAY_LEN(spots); k++) {
        poke(f->path, spots[k], 0x04);
        s = open_ok(f->path);
        assert_int_equal(cs_sealed_read(s, 2 * B + 10, buf, sizeof buf), CS_EAUTH);
        assert_int_equal(cs_sealed_read(s, 2 * B - 50, buf, sizeof buf), CS_EAUTH);
        check_read(s, want, size, 0, 2 * B);   /* the others still read */
        check_read(s, want, size, 3 * B, B);
        cs_sealed_free(s);
        poke(f->path, spots[k], 0x04);
    }
    cs_sealed_t *o = NULL;
    for (uint64_t off = 16; off < SEALED_HDR_LEN; off += 5) {   /* key id, size, flags, wrap */
        poke(f->path, off, 0x01);
        int rc = cs_sealed_open(f->path, KEY, &o);
        assert_true(rc == CS_EAUTH || rc == CS_EINVAL);
        poke(f->path, off, 0x01);
    }
    assert_int_equal(cs_sealed_open(f->path, OTHER_KEY, &o), CS_EAUTH);
    assert_null(o);

    /* blocks 0 and 1 swapped: each is authentic, but not at that place */
    int fd = open(f->path, O_RDWR);
    uint8_t *blk = malloc(2 * SEALED_STRIDE);
    assert_int_equal(pread(fd, blk, 2 * SEALED_STRIDE, SEALED_HDR_LEN), 2 * SEALED_STRIDE);
    assert_int_equal(pwrite(fd, blk + SEALED_STRIDE, SEALED_STRIDE, SEALED_HDR_LEN),
                     SEALED_STRIDE);
    assert_int_equal(pwrite(fd, blk, SEALED_STRIDE, SEALED_HDR_LEN + SEALED_STRIDE),
                     SEALED_STRIDE);
    s = open_ok(f->path);
    assert_int_equal(cs_sealed_read(s, 0, buf, sizeof buf), CS_EAUTH);
    assert_int_equal(cs_sealed_read(s, B, buf, sizeof buf), CS_EAUTH);
    cs_sealed_free(s);
    assert_int_equal(ftruncate(fd, (off_t)disk_size(f->path) - 1), 0);   /* cut */
    assert_int_equal(cs_sealed_open(f->path, KEY, &o), CS_EINVAL);
    assert_int_equal(ftruncate(fd, (off_t)disk_size(f->path) + 2), 0);   /* grown */
    assert_int_equal(cs_sealed_open(f->path, KEY, &o), CS_EINVAL);
    close(fd);
    free(blk);
    free(want);
}

static void test_unfinished_and_states(void **state)
{
    fx_t *f = *state;
    cs_sealed_t *s = create(f->path), *o = NULL;
    write_seq(s, 3 * B + 5, 777, 6);
    cs_sealed_free(s);   /* never finished: as after a crash */
    assert_int_equal(cs_sealed_open(f->path, KEY, &o), CS_EINVAL);
    assert_int_equal(cs_sealed_create(f->path, KEY, &o), CS_EEXIST);
    char path[160];
    snprintf(path, sizeof path, "%s/missing/x.sealed", f->dir);
    assert_int_equal(cs_sealed_create(path, KEY, &o), CS_EIO);
    snprintf(path, sizeof path, "%s/missing.sealed", f->dir);
    assert_int_equal(cs_sealed_open(path, KEY, &o), CS_EIO);
    snprintf(path, sizeof path, "%s/text.sealed", f->dir);
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 100; i++)
        fputs("not a sealed file\n", fp);
    fclose(fp);
    assert_int_equal(cs_sealed_open(path, KEY, &o), CS_EINVAL);
    assert_null(o);

    snprintf(path, sizeof path, "%s/big.sealed", f->dir);
    s = create(path);
    uint8_t b[16] = {0};
    assert_int_equal(cs_sealed_write(s, SEALED_SIZE_MAX, b, 1), CS_EINVAL);
    assert_int_equal(cs_sealed_write(s, UINT64_MAX - 2, b, 16), CS_EINVAL);
    assert_int_equal(cs_sealed_write(s, SEALED_SIZE_MAX - 16, b, 16), CS_OK);
    assert_int_equal(cs_sealed_size(s), SEALED_SIZE_MAX);
    cs_sealed_free(s);   /* unfinished: nothing of 1 TiB is ever written */
    assert_true(disk_size(path) < 4 * SEALED_STRIDE);
}

static void test_multi_megabyte(void **state)
{
    fx_t *f = *state;
    const uint64_t size = 8u << 20;
    cs_sealed_t *s = create(f->path);
    write_seq(s, size, 1316, 7);   /* muxer-sized writes (188 * 7) */
    uint8_t head[64];
    fill(head, 0, sizeof head, 99);   /* then back to rewrite its header */
    assert_int_equal(cs_sealed_write(s, 0, head, sizeof head), CS_OK);
    assert_int_equal(cs_sealed_finish(s), CS_OK);
    cs_sealed_free(s);
    uint8_t *want = malloc(size);
    fill(want, 0, size, 7);
    memcpy(want, head, sizeof head);
    s = open_ok(f->path);
    assert_int_equal(cs_sealed_size(s), size);
    check_read(s, want, size, 0, size);
    check_read(s, want, size, size - 100000, 200000);
    cs_sealed_free(s);
    free(want);
}

static void test_full_disk(void **state)
{
    fx_t *f = *state;
    char full[96];
    fx_full_disk(f, full, sizeof full);
    struct rlimit old;
    if (!f->mounted) {
        struct rlimit lim = {.rlim_cur = 64 * 1024, .rlim_max = RLIM_INFINITY};
        signal(SIGXFSZ, SIG_IGN);
        getrlimit(RLIMIT_FSIZE, &old);
        lim.rlim_max = old.rlim_max;
        setrlimit(RLIMIT_FSIZE, &lim);
    }
    print_message("full disk: %s\n", f->mounted ? "a 64 KiB tmpfs" : "RLIMIT_FSIZE");
    snprintf(f->path, sizeof f->path, "%s/x.sealed", full);
    cs_sealed_t *s = create(f->path);
    uint8_t b[4096] = {1};
    int rc = CS_OK;
    uint64_t off = 0;
    for (; off < (1u << 20) && rc == CS_OK; off += sizeof b)
        rc = cs_sealed_write(s, off, b, sizeof b);
    assert_int_equal(rc, CS_EIO);
    assert_int_equal(cs_sealed_errno(s), f->mounted ? ENOSPC : EFBIG);
    assert_true(off <= 3 * B);
    assert_int_equal(cs_sealed_write(s, 0, b, 1), CS_EIO);   /* sticky */
    assert_int_equal(cs_sealed_finish(s), CS_EIO);
    cs_sealed_free(s);
    if (!f->mounted)
        setrlimit(RLIMIT_FSIZE, &old);
    cs_sealed_t *o = NULL;
    assert_int_equal(cs_sealed_open(f->path, KEY, &o), CS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_order_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holes_and_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_and_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_megabyte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
    };
    return cmocka_run_group_tests_name("recorder_sealed", tests, NULL, NULL);
}
