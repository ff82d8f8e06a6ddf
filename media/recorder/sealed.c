/*
 * sealed.c — sealed files: random-access AES-256-GCM in 64 KiB blocks at a
 * fixed stride (layout in internal.h), for the post-processed recording a
 * muxer writes (and seeks back into) and an HTTP range request reads.
 *
 * One plaintext block is cached: writes go into it and it is encrypted and
 * written out only when another block is needed, so a sequential writer
 * encrypts each block once. Every write of a block takes a fresh random
 * nonce (a block rewritten in place must never reuse one). While writing,
 * every block is stored full; cs_sealed_finish fills the blocks never
 * written with encrypted zeros, stores the last block at its real length,
 * cuts the file there and only then wraps the data key into the header with
 * the final size in the AAD: a file that never reached finish has no
 * usable key, and a finished one can be neither cut nor extended unseen.
 */
#include "media/recorder/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NO_BLOCK UINT64_MAX

struct cs_sealed {
    int fd;
    bool writing, finished;
    int err;                         /* sticky CS_EIO of a failed write */
    int os_errno;
    char *path;                      /* writing: its folder is synced at finish */
    uint8_t master[CS_REC_KEY_LEN];  /* writing: the key is wrapped at finish */
    uint8_t key[CS_REC_KEY_LEN];
    uint64_t size;                   /* plaintext bytes */
    uint64_t cached;                 /* block in plain, or NO_BLOCK */
    bool dirty;
    uint8_t *plain;                  /* SEALED_BLOCK */
    uint8_t *io;                     /* SEALED_STRIDE */
    uint8_t *stored;                 /* writing: bitmap of blocks on disk */
    size_t stored_len;               /* bytes of the bitmap */
};

static uint64_t block_count(uint64_t size)
{
    return (size + SEALED_BLOCK - 1) / SEALED_BLOCK;
}

static uint64_t file_length(uint64_t size)
{
    uint64_t n = block_count(size);
    if (n == 0)
        return SEALED_HDR_LEN;
    return SEALED_HDR_LEN + (n - 1) * SEALED_STRIDE + REC_NONCE_LEN +
           (size - (n - 1) * SEALED_BLOCK) + REC_TAG_LEN;
}

/* Created and not finished yet: blocks are stored full, the bitmap says
 * which are on disk. */
static bool filling(const cs_sealed_t *f)
{
    return f->writing && !f->finished;
}

/* The plaintext length block i is stored with. */
static size_t stored_len(const cs_sealed_t *f, uint64_t i)
{
    if (filling(f))
        return SEALED_BLOCK;
    uint64_t rest = f->size - i * SEALED_BLOCK;
    return rest < SEALED_BLOCK ? (size_t)rest : SEALED_BLOCK;
}

static bool is_stored(const cs_sealed_t *f, uint64_t i)
{
    return i / 8 < f->stored_len && (f->stored[i / 8] >> (i % 8) & 1);
}

static int mark_stored(cs_sealed_t *f, uint64_t i)
{
    if (i / 8 >= f->stored_len) {
        size_t n = f->stored_len ? f->stored_len : 64;
        while (n <= i / 8)
            n *= 2;
        uint8_t *b = realloc(f->stored, n);
        if (!b)
            return CS_ENOMEM;
        memset(b + f->stored_len, 0, n - f->stored_len);
        f->stored = b;
        f->stored_len = n;
    }
    f->stored[i / 8] |= (uint8_t)(1u << (i % 8));
    return CS_OK;
}

static int fail(cs_sealed_t *f, int err)
{
    f->os_errno = err;
    f->err = CS_EIO;
    return CS_EIO;
}

static int store_block(cs_sealed_t *f, uint64_t i, const uint8_t *plain, size_t len)
{
    uint8_t aad[8];
    cs_wr64(aad, i);
    if (cs_random_bytes(f->io, REC_NONCE_LEN))
        return fail(f, EIO);
    int rc = rec_gcm_seal(f->key, f->io, aad, sizeof aad, plain, len, f->io + REC_NONCE_LEN,
                          f->io + REC_NONCE_LEN + len);
    if (rc)
        return fail(f, EIO);
    if (rec_write_all(f->fd, f->io, REC_NONCE_LEN + len + REC_TAG_LEN,
                      (int64_t)(SEALED_HDR_LEN + i * SEALED_STRIDE)))
        return fail(f, errno);
    return mark_stored(f, i);
}

/* Block i from disk into plain: CS_EAUTH when it does not authenticate. */
static int load_block(cs_sealed_t *f, uint64_t i, size_t len)
{
    size_t want = REC_NONCE_LEN + len + REC_TAG_LEN;
    long got = rec_read_all(f->fd, f->io, want, SEALED_HDR_LEN + i * SEALED_STRIDE);
    if (got < 0 || (size_t)got < want) {
        f->os_errno = got < 0 ? errno : EIO;
        return got < 0 ? CS_EIO : CS_EAUTH;   /* cut short: damaged */
    }
    uint8_t aad[8];
    cs_wr64(aad, i);
    int rc = rec_gcm_open(f->key, f->io, aad, sizeof aad, f->io + REC_NONCE_LEN, len, f->plain,
                          f->io + REC_NONCE_LEN + len);
    if (rc == CS_OK && len < SEALED_BLOCK)
        memset(f->plain + len, 0, SEALED_BLOCK - len);
    return rc;
}

static int flush_cache(cs_sealed_t *f)
{
    if (!f->dirty)
        return CS_OK;
    int rc = store_block(f, f->cached, f->plain, SEALED_BLOCK);
    if (rc == CS_OK)
        f->dirty = false;
    return rc;
}

/* Makes plain hold block i. */
static int cache_block(cs_sealed_t *f, uint64_t i)
{
    if (f->cached == i)
        return CS_OK;
    int rc = flush_cache(f);
    if (rc)
        return rc;
    f->cached = NO_BLOCK;
    bool present = filling(f) ? is_stored(f, i) : i < block_count(f->size);
    if (!present) {
        memset(f->plain, 0, SEALED_BLOCK);
    } else if ((rc = load_block(f, i, stored_len(f, i))) != CS_OK) {
        if (filling(f))
            return fail(f, rc == CS_EAUTH ? EBADMSG : f->os_errno);
        return rc;
    }
    f->cached = i;
    return CS_OK;
}

/* ---- creating and writing ---------------------------------------------------- */

static void header_fixed(uint8_t h[SEALED_HDR_LEN], const uint8_t master[CS_REC_KEY_LEN],
                         uint64_t size, bool finished)
{
    memset(h, 0, SEALED_HDR_LEN);
    memcpy(h, SEALED_MAGIC, 8);
    cs_wr16(h + 8, SEALED_VERSION);
    cs_wr16(h + 10, SEALED_HDR_LEN);
    cs_wr32(h + 12, SEALED_BLOCK);
    cs_rec_key_id(master, h + 16);
    cs_wr64(h + 24, size);
    cs_wr32(h + 32, finished ? 1 : 0);
}

static cs_sealed_t *sealed_new(void)
{
    cs_sealed_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fd = -1;
    f->cached = NO_BLOCK;
    f->plain = malloc(SEALED_BLOCK);
    f->io = malloc(SEALED_STRIDE);
    if (!f->plain || !f->io) {
        cs_sealed_free(f);
        return NULL;
    }
    return f;
}

int cs_sealed_create(const char *path, const uint8_t master_key[CS_REC_KEY_LEN],
                     cs_sealed_t **out)
{
    if (!path || !master_key || !out)
        return CS_EINVAL;
    *out = NULL;
    cs_sealed_t *f = sealed_new();
    if (!f || !(f->path = strdup(path))) {
        cs_sealed_free(f);
        return CS_ENOMEM;
    }
    f->writing = true;
    memcpy(f->master, master_key, CS_REC_KEY_LEN);
    if (cs_random_bytes(f->key, sizeof f->key)) {
        cs_sealed_free(f);
        return CS_EIO;
    }
    f->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        int rc = errno == EEXIST ? CS_EEXIST : CS_EIO;
        cs_sealed_free(f);
        return rc;
    }
    uint8_t h[SEALED_HDR_LEN];
    header_fixed(h, master_key, 0, false);
    if (rec_write_all(f->fd, h, sizeof h, 0)) {
        cs_sealed_free(f);
        unlink(path);
        return CS_EIO;
    }
    *out = f;
    return CS_OK;
}

int cs_sealed_write(cs_sealed_t *f, uint64_t offset, const void *buf, size_t len)
{
    if (!f || (!buf && len))
        return CS_EINVAL;
    if (!filling(f))
        return CS_ESTATE;
    if (f->err)
        return f->err;
    if (offset > SEALED_SIZE_MAX || len > SEALED_SIZE_MAX - offset)
        return CS_EINVAL;
    const uint8_t *p = buf;
    while (len > 0) {
        uint64_t i = offset / SEALED_BLOCK;
        size_t in = (size_t)(offset % SEALED_BLOCK);
        size_t n = SEALED_BLOCK - in < len ? SEALED_BLOCK - in : len;
        int rc;
        if (n == SEALED_BLOCK && f->cached != i) {
            /* A whole block: what it held before does not matter. */
            if ((rc = flush_cache(f)) != CS_OK)
                return rc;
            f->cached = i;
        } else if ((rc = cache_block(f, i)) != CS_OK) {
            return rc;
        }
        memcpy(f->plain + in, p, n);
        f->dirty = true;
        p += n;
        offset += n;
        len -= n;
        if (offset > f->size)
            f->size = offset;
    }
    return CS_OK;
}

/* Blocks never written become encrypted zeros; the last block is stored
 * at its real length. */
static int complete_blocks(cs_sealed_t *f)
{
    uint64_t n = block_count(f->size);
    int rc = flush_cache(f);
    if (rc || n == 0)
        return rc;
    memset(f->plain, 0, SEALED_BLOCK);
    f->cached = NO_BLOCK;
    for (uint64_t i = 0; i + 1 < n; i++)
        if (!is_stored(f, i) && (rc = store_block(f, i, f->plain, SEALED_BLOCK)))
            return rc;
    if ((rc = cache_block(f, n - 1)))
        return rc;
    size_t last = (size_t)(f->size - (n - 1) * SEALED_BLOCK);
    return store_block(f, n - 1, f->plain, last);
}

int cs_sealed_finish(cs_sealed_t *f)
{
    if (!f)
        return CS_EINVAL;
    if (!f->writing)
        return CS_ESTATE;
    if (f->finished)
        return CS_OK;
    if (f->err)
        return f->err;
    int rc = complete_blocks(f);
    if (rc)
        return rc;
    if (ftruncate(f->fd, (off_t)file_length(f->size)))
        return fail(f, errno);
    uint8_t h[SEALED_HDR_LEN], nonce[REC_NONCE_LEN];
    header_fixed(h, f->master, f->size, true);
    if (cs_random_bytes(nonce, sizeof nonce) ||
        rec_key_wrap(f->master, f->key, nonce, h, SEALED_HDR_AAD_LEN, h + SEALED_HDR_AAD_LEN))
        return fail(f, EIO);
    if (fsync(f->fd) || rec_write_all(f->fd, h, sizeof h, 0) || fsync(f->fd))
        return fail(f, errno);
    if (rec_sync_dir_of(f->path))
        return fail(f, errno);
    f->finished = true;
    f->cached = NO_BLOCK;   /* the last block's stored length changed */
    rec_wipe(f->master, sizeof f->master);
    return CS_OK;
}

/* ---- opening and reading ------------------------------------------------------ */

static int check_header(cs_sealed_t *f, const uint8_t master[CS_REC_KEY_LEN])
{
    uint8_t h[SEALED_HDR_LEN], id[CS_REC_KEY_ID_LEN];
    long n = rec_read_all(f->fd, h, sizeof h, 0);
    if (n < 0)
        return CS_EIO;
    if ((size_t)n < sizeof h || memcmp(h, SEALED_MAGIC, 8) || cs_rd16(h + 8) != SEALED_VERSION ||
        cs_rd16(h + 10) != SEALED_HDR_LEN || cs_rd32(h + 12) != SEALED_BLOCK)
        return CS_EINVAL;
    if (cs_rd32(h + 32) != 1)
        return CS_EINVAL;   /* never finished (or flags we do not know) */
    cs_rec_key_id(master, id);
    if (memcmp(id, h + 16, sizeof id))
        return CS_EAUTH;
    int rc = rec_key_unwrap(master, h + SEALED_HDR_AAD_LEN, h, SEALED_HDR_AAD_LEN, f->key);
    if (rc)
        return rc == CS_EAUTH ? CS_EAUTH : CS_EIO;
    f->size = cs_rd64(h + 24);
    struct stat st;
    if (fstat(f->fd, &st))
        return CS_EIO;
    /* Authenticated size; the file must be exactly as long as it says. */
    if (f->size > SEALED_SIZE_MAX || (uint64_t)st.st_size != file_length(f->size))
        return CS_EINVAL;
    return CS_OK;
}

int cs_sealed_open(const char *path, const uint8_t master_key[CS_REC_KEY_LEN],
                   cs_sealed_t **out)
{
    if (!path || !master_key || !out)
        return CS_EINVAL;
    *out = NULL;
    cs_sealed_t *f = sealed_new();
    if (!f)
        return CS_ENOMEM;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = f->fd < 0 ? CS_EIO : check_header(f, master_key);
    if (rc) {
        cs_sealed_free(f);
        return rc;
    }
    *out = f;
    return CS_OK;
}

long cs_sealed_read(cs_sealed_t *f, uint64_t offset, void *buf, size_t len)
{
    if (!f || (!buf && len))
        return CS_EINVAL;
    if (offset >= f->size)
        return 0;
    if (len > f->size - offset)
        len = (size_t)(f->size - offset);
    if (len > LONG_MAX)
        len = LONG_MAX;
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        uint64_t i = offset / SEALED_BLOCK;
        size_t in = (size_t)(offset % SEALED_BLOCK);
        size_t n = SEALED_BLOCK - in < len - done ? SEALED_BLOCK - in : len - done;
        int rc = cache_block(f, i);
        if (rc)
            return rc;
        memcpy(p + done, f->plain + in, n);
        done += n;
        offset += n;
    }
    return (long)done;
}

uint64_t cs_sealed_size(const cs_sealed_t *f)
{
    return f ? f->size : 0;
}

int cs_sealed_errno(const cs_sealed_t *f)
{
    return f ? f->os_errno : 0;
}

void cs_sealed_free(cs_sealed_t *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    rec_wipe(f->master, sizeof f->master);
    rec_wipe(f->key, sizeof f->key);
    if (f->plain)
        rec_wipe(f->plain, SEALED_BLOCK);
    free(f->plain);
    free(f->io);
    free(f->stored);
    free(f->path);
    free(f);
}
