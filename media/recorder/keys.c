/*
 * keys.c — the recorder's cryptography: the master key's id, AES-256-GCM
 * sealing and opening (libcrypto EVP), and wrapping a file's data key
 * under the master key. Also the write and read loops and the folder sync
 * both file formats use.
 *
 * A context is made per call: calls come once per 256 KiB chunk or 64 KiB
 * block, where the allocation is lost in the cipher's own cost, and no
 * object has to carry OpenSSL state across threads.
 */
#include "media/recorder/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

void cs_rec_key_id(const uint8_t master_key[CS_REC_KEY_LEN], uint8_t id[CS_REC_KEY_ID_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(master_key, CS_REC_KEY_LEN, md, &n, EVP_sha256(), NULL) || n != 32) {
        /* Only a broken libcrypto gets here; an all-zero id matches no file. */
        memset(id, 0, CS_REC_KEY_ID_LEN);
        return;
    }
    memcpy(id, md, CS_REC_KEY_ID_LEN);
}

void rec_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}

static EVP_CIPHER_CTX *gcm_ctx(bool enc, const uint8_t *key, const uint8_t *nonce)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return NULL;
    int ok = enc ? EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce)
                 : EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce);
    if (!ok) {
        EVP_CIPHER_CTX_free(c);
        return NULL;
    }
    return c;
}

/* EVP takes int lengths; our buffers are far below INT_MAX, but say so. */
static bool fits_int(size_t a, size_t b)
{
    return a <= INT_MAX && b <= INT_MAX;
}

int rec_gcm_seal(const uint8_t key[CS_REC_KEY_LEN], const uint8_t nonce[REC_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, uint8_t tag[REC_TAG_LEN])
{
    if (!fits_int(aad_len, len))
        return CS_EINVAL;
    EVP_CIPHER_CTX *c = gcm_ctx(true, key, nonce);
    if (!c)
        return CS_EIO;
    uint8_t fin[REC_TAG_LEN];   /* GCM's final step writes no bytes */
    int n = 0, ok = 1;
    if (aad_len)
        ok = EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len);
    if (ok && len)
        ok = EVP_EncryptUpdate(c, out, &n, in, (int)len);
    if (ok)
        ok = EVP_EncryptFinal_ex(c, fin, &n);
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, REC_TAG_LEN, tag);
    EVP_CIPHER_CTX_free(c);
    return ok ? CS_OK : CS_EIO;
}

int rec_gcm_open(const uint8_t key[CS_REC_KEY_LEN], const uint8_t nonce[REC_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, const uint8_t tag[REC_TAG_LEN])
{
    if (!fits_int(aad_len, len))
        return CS_EINVAL;
    EVP_CIPHER_CTX *c = gcm_ctx(false, key, nonce);
    if (!c)
        return CS_EIO;
    uint8_t t[REC_TAG_LEN];
    memcpy(t, tag, sizeof t);   /* the ctrl call takes a non-const pointer */
    uint8_t fin[REC_TAG_LEN];
    int n = 0, ok = 1;
    if (aad_len)
        ok = EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len);
    if (ok && len)
        ok = EVP_DecryptUpdate(c, out, &n, in, (int)len);
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, REC_TAG_LEN, t);
    int rc = ok ? CS_OK : CS_EIO;
    if (ok && EVP_DecryptFinal_ex(c, fin, &n) <= 0)
        rc = CS_EAUTH;
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int rec_key_wrap(const uint8_t master[CS_REC_KEY_LEN], const uint8_t data_key[CS_REC_KEY_LEN],
                 const uint8_t nonce[REC_NONCE_LEN], const uint8_t *aad, size_t aad_len,
                 uint8_t wrap[REC_WRAP_LEN])
{
    memcpy(wrap, nonce, REC_NONCE_LEN);
    return rec_gcm_seal(master, nonce, aad, aad_len, data_key, CS_REC_KEY_LEN,
                        wrap + REC_NONCE_LEN, wrap + REC_NONCE_LEN + CS_REC_KEY_LEN);
}

int rec_key_unwrap(const uint8_t master[CS_REC_KEY_LEN], const uint8_t wrap[REC_WRAP_LEN],
                   const uint8_t *aad, size_t aad_len, uint8_t data_key[CS_REC_KEY_LEN])
{
    int rc = rec_gcm_open(master, wrap, aad, aad_len, wrap + REC_NONCE_LEN, CS_REC_KEY_LEN,
                          data_key, wrap + REC_NONCE_LEN + CS_REC_KEY_LEN);
    if (rc != CS_OK)
        rec_wipe(data_key, CS_REC_KEY_LEN);
    return rc;
}

int rec_write_all(int fd, const void *buf, size_t len, int64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return CS_EIO;
        }
        p += n;
        len -= (size_t)n;
        if (off >= 0)
            off += n;
    }
    return CS_OK;
}

long rec_read_all(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return CS_EIO;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long)got;
}

/* A new file's directory entry survives a crash only once the directory
 * is synced too. */
int rec_sync_dir_of(const char *path)
{
    char copy[PATH_MAX];
    if (cs_strlcpy(copy, path, sizeof copy) >= sizeof copy)
        return CS_EINVAL;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return CS_EIO;
    int rc = fsync(fd) == 0 ? CS_OK : CS_EIO;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}
