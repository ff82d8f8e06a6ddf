/*
 * capture_write.c — writing one capture file: its header, the records, and
 * sealing chunks (the byte layout is documented in internal.h).
 *
 * Only the recorder's writer thread calls these after cs_recorder_open has
 * created the file, so nothing here locks. A chunk is built in place in one
 * buffer (frame header, plaintext, tag), encrypted in place and written with
 * one write(2), so a crash leaves at most one partial chunk at the end.
 */
#include "media/recorder/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cap_header_build(uint8_t out[CAP_HDR_LEN], const uint8_t master[CS_REC_KEY_LEN],
                     const uint8_t data_key[CS_REC_KEY_LEN], const uint8_t nonce[REC_NONCE_LEN],
                     const char *recording_id, int64_t start_wall_ms, int64_t start_mono_us)
{
    size_t n = recording_id ? strnlen(recording_id, CAP_RECID_LEN + 1) : 0;
    if (n == 0 || n > CAP_RECID_LEN)
        return CS_EINVAL;
    memset(out, 0, CAP_HDR_LEN);
    memcpy(out, CAP_MAGIC, 8);
    cs_wr16(out + 8, CAP_VERSION);
    cs_wr16(out + 10, CAP_HDR_LEN);
    cs_rec_key_id(master, out + 12);
    cs_wr64(out + 20, (uint64_t)start_wall_ms);
    cs_wr64(out + 28, (uint64_t)start_mono_us);
    memcpy(out + CAP_RECID_OFF, recording_id, n);
    return rec_key_wrap(master, data_key, nonce, out, CAP_HDR_AAD_LEN, out + CAP_WRAP_OFF);
}

void cap_chunk_nonce_aad(const uint8_t recid[CAP_RECID_LEN], uint32_t index, uint32_t len,
                         uint8_t nonce[REC_NONCE_LEN], uint8_t aad[CAP_AAD_LEN])
{
    memset(nonce, 0, REC_NONCE_LEN);
    cs_wr64(nonce + 4, index);
    memcpy(aad, recid, CAP_RECID_LEN);
    cs_wr32(aad + CAP_RECID_LEN, index);
    cs_wr32(aad + CAP_RECID_LEN + 4, len);
}

int cap_chunk_seal(const uint8_t key[CS_REC_KEY_LEN], const uint8_t recid[CAP_RECID_LEN],
                   uint32_t index, const uint8_t *plain, size_t len, uint8_t *frame)
{
    if (len > CAP_CHUNK_MAX)
        return CS_EINVAL;
    uint8_t nonce[REC_NONCE_LEN], aad[CAP_AAD_LEN];
    cap_chunk_nonce_aad(recid, index, (uint32_t)len, nonce, aad);
    memcpy(frame, CAP_CHUNK_MAGIC, 4);
    cs_wr32(frame + 4, index);
    cs_wr32(frame + 8, (uint32_t)len);
    return rec_gcm_seal(key, nonce, aad, sizeof aad, plain, len, frame + CAP_FRAME_LEN,
                        frame + CAP_FRAME_LEN + len);
}

/* A string field as a length byte and its bytes; -1 when it has no NUL
 * within its field. */
static int put_str(uint8_t *out, const char *s, size_t field)
{
    size_t n = strnlen(s, field);
    if (n == field)
        return -1;
    out[0] = (uint8_t)n;
    memcpy(out + 1, s, n);
    return (int)n + 1;
}

int cap_track_encode(const cs_rec_track_t *t, uint16_t track, uint8_t *out)
{
    if (!t || (t->kind != CS_REC_AUDIO && t->kind != CS_REC_VIDEO) || track >= CS_REC_MAX_TRACKS)
        return CS_EINVAL;
    uint8_t *p = out + CAP_REC_HDR;
    cs_wr16(p, track);
    p[2] = (uint8_t)t->kind;
    p[3] = t->layer;
    p[4] = t->payload_type;
    cs_wr32(p + 5, t->clock_rate);
    p += CAP_TRACK_FIXED;
    const struct {
        const char *s;
        size_t field;
    } strs[] = {{t->codec, sizeof t->codec},
                {t->source, sizeof t->source},
                {t->member_id, sizeof t->member_id},
                {t->name, sizeof t->name}};
    for (size_t i = 0; i < CS_ARRAY_LEN(strs); i++) {
        int n = put_str(p, strs[i].s, strs[i].field);
        if (n < 0)
            return CS_EINVAL;
        p += n;
    }
    size_t len = (size_t)(p - out);
    out[0] = CAP_REC_TRACK;
    cs_wr16(out + 1, (uint16_t)(len - CAP_REC_HDR));
    return (int)len;
}

static int write_header(cap_writer_t *w, const uint8_t master[CS_REC_KEY_LEN],
                        const char *recording_id, int64_t start_wall_ms, int64_t start_mono_us)
{
    uint8_t hdr[CAP_HDR_LEN], nonce[REC_NONCE_LEN];
    if (cs_random_bytes(w->key, sizeof w->key) || cs_random_bytes(nonce, sizeof nonce))
        return CS_EIO;
    int rc = cap_header_build(hdr, master, w->key, nonce, recording_id, start_wall_ms,
                              start_mono_us);
    if (rc)
        return rc;
    memcpy(w->recid, hdr + CAP_RECID_OFF, CAP_RECID_LEN);
    if (rec_write_all(w->fd, hdr, sizeof hdr, -1) || fdatasync(w->fd))
        return CS_EIO;
    w->bytes = CAP_HDR_LEN;
    return CS_OK;
}

int cap_writer_create(cap_writer_t *w, const char *path, const uint8_t master[CS_REC_KEY_LEN],
                      const char *recording_id, int64_t start_wall_ms, int64_t start_mono_us)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->start_mono_us = start_mono_us;
    size_t idn = recording_id ? strnlen(recording_id, CAP_RECID_LEN + 1) : 0;
    if (!path || idn == 0 || idn > CAP_RECID_LEN)
        return CS_EINVAL;
    w->chunk = malloc(CAP_FRAME_MAX);
    w->decl = malloc(CAP_DECL_MAX);
    if (!w->chunk || !w->decl) {
        cap_writer_discard(w);
        return CS_ENOMEM;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        int rc = errno == EEXIST ? CS_EEXIST : CS_EIO;
        w->os_errno = errno;
        cap_writer_discard(w);
        return rc;
    }
    int rc = write_header(w, master, recording_id, start_wall_ms, start_mono_us);
    if (rc == CS_OK)
        rc = rec_sync_dir_of(path);
    if (rc) {
        w->os_errno = errno;
        cap_writer_discard(w);
        unlink(path);   /* ours (O_EXCL), and useless without its header */
    }
    return rc;
}

/* Makes room for a record of len bytes in the open chunk, opening one
 * (with the declarations so far) when none is. */
static int make_room(cap_writer_t *w, size_t len, int64_t now_ms)
{
    if (cap_writer_full_for(w, len)) {
        int rc = cap_writer_flush(w);
        if (rc)
            return rc;
    }
    if (w->len == 0) {
        memcpy(w->chunk + CAP_FRAME_LEN, w->decl, w->decl_len);
        w->len = w->decl_len;
        w->first_ms = now_ms;
    }
    return CS_OK;
}

int cap_writer_track(cap_writer_t *w, const uint8_t *encoded, size_t len, int64_t now_ms)
{
    if (w->fd < 0)
        return CS_ESTATE;
    if (w->decl_len + len > CAP_DECL_MAX)
        return CS_ELIMIT;
    int rc = make_room(w, len, now_ms);
    if (rc)
        return rc;
    memcpy(w->chunk + CAP_FRAME_LEN + w->len, encoded, len);
    w->len += len;
    memcpy(w->decl + w->decl_len, encoded, len);
    w->decl_len += len;
    return CS_OK;
}

int cap_writer_packet(cap_writer_t *w, uint16_t track, int64_t arrival_us, const uint8_t *rtp,
                      size_t len, int64_t now_ms)
{
    if (w->fd < 0)
        return CS_ESTATE;
    if (len == 0 || len > CS_REC_PACKET_MAX)
        return CS_EINVAL;
    size_t need = CAP_REC_HDR + CAP_PACKET_HDR + len;
    int rc = make_room(w, need, now_ms);
    if (rc)
        return rc;
    uint8_t *p = w->chunk + CAP_FRAME_LEN + w->len;
    p[0] = CAP_REC_PACKET;
    cs_wr16(p + 1, (uint16_t)(CAP_PACKET_HDR + len));
    cs_wr16(p + 3, track);
    cs_wr64(p + 5, (uint64_t)(arrival_us - w->start_mono_us));
    memcpy(p + CAP_REC_HDR + CAP_PACKET_HDR, rtp, len);
    w->len += need;
    return CS_OK;
}

int cap_writer_flush(cap_writer_t *w)
{
    if (w->fd < 0)
        return CS_ESTATE;
    if (w->len == 0)
        return CS_OK;
    if (w->next_index == UINT32_MAX)
        return CS_ELIMIT;
    int rc = cap_chunk_seal(w->key, w->recid, w->next_index, w->chunk + CAP_FRAME_LEN, w->len,
                            w->chunk);
    if (rc)
        return rc;
    size_t n = CAP_FRAME_LEN + w->len + REC_TAG_LEN;
    if (rec_write_all(w->fd, w->chunk, n, -1) || fdatasync(w->fd)) {
        w->os_errno = errno;
        return CS_EIO;
    }
    w->bytes += n;
    w->chunks++;
    w->next_index++;
    w->len = 0;
    return CS_OK;
}

int cap_writer_finish(cap_writer_t *w)
{
    if (w->fd < 0)
        return CS_ESTATE;
    int rc = make_room(w, CAP_REC_HDR, cs_mono_ms());
    if (rc)
        return rc;
    uint8_t *p = w->chunk + CAP_FRAME_LEN + w->len;
    p[0] = CAP_REC_END;
    cs_wr16(p + 1, 0);
    w->len += CAP_REC_HDR;
    rc = cap_writer_flush(w);
    if (rc)
        return rc;
    if (fsync(w->fd) || close(w->fd)) {
        w->os_errno = errno;
        w->fd = -1;
        return CS_EIO;
    }
    w->fd = -1;
    return CS_OK;
}

void cap_writer_discard(cap_writer_t *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->chunk);
    free(w->decl);
    w->chunk = w->decl = NULL;
    rec_wipe(w->key, sizeof w->key);
}
