/*
 * recorder.h — capture of a consultation's media to encrypted files, and the
 * encrypted files themselves.
 *
 * Capture. One process-wide cs_recorder_t owns a bounded ring and a writer
 * thread. Media workers hand it RTP packets (already SRTP-decrypted) with
 * cs_recorder_push(), which copies the packet into the ring under a short
 * mutex and never touches the disk: when the ring is full the packet is
 * dropped and counted, and the call goes on. The writer thread appends the
 * records to the recording's capture file in AES-256-GCM chunks and flushes
 * and fsyncs a chunk about once a second (flush_ms), so a kill -9 or a power
 * loss costs at most that much.
 *
 * Capture files (".cap") are append-only: a header (magic, version, the id of
 * the master key, the per-file data key wrapped by the master key, the
 * recording id, the start time) and then chunks, each authenticated on its own
 * (its index and the recording id are in the AAD, so chunks cannot be
 * reordered, dropped from the middle or moved between files unseen). Reading
 * skips a damaged chunk and detects a truncated last one; both are reported.
 *
 * Sealed files (".sealed") hold the post-processed result: random-access,
 * AES-256-GCM in fixed 64 KiB blocks, so an HTTP range request decrypts only
 * the blocks it needs and a muxer may seek back and rewrite its header.
 *
 * Keys: a 32-byte master key from the configuration. Each file gets a fresh
 * random 32-byte data key, wrapped (AES-256-GCM) by the master key; the
 * header names the master key by an id (the first 8 bytes of its SHA-256), so
 * a file under another key is refused with CS_EAUTH, not misread.
 *
 * Threads: cs_recorder_push() and cs_rec_session_retain/release are safe from
 * any thread; everything else is for one thread at a time (the gateway's).
 * Readers and sealed files are single-threaded objects.
 */
#ifndef CS_MEDIA_RECORDER_H
#define CS_MEDIA_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_REC_KEY_LEN 32      /* master and data keys, bytes */
#define CS_REC_KEY_ID_LEN 8
#define CS_REC_ID_MAX 65       /* recording ids, member ids, names (with NUL) */
#define CS_REC_CODEC_MAX 16    /* "opus", "VP8", "H264" */
#define CS_REC_SOURCE_MAX 16   /* "microphone", "camera", "screen" */
#define CS_REC_MAX_TRACKS 256  /* track numbers in one capture file: 0..255 */
#define CS_REC_PACKET_MAX 1600 /* largest RTP packet recorded */

typedef enum { CS_REC_AUDIO = 0, CS_REC_VIDEO = 1 } cs_rec_kind_t;

/* One recorded stream: a track of a member (one simulcast layer of it). */
typedef struct {
    uint16_t track;                 /* number in its file, < CS_REC_MAX_TRACKS */
    cs_rec_kind_t kind;
    uint8_t layer;                  /* simulcast layer, 0 the lowest; 0 without simulcast */
    uint8_t payload_type;           /* of the media packets (RTX already unwrapped) */
    uint32_t clock_rate;            /* 48000 for Opus, 90000 for video */
    char codec[CS_REC_CODEC_MAX];
    char source[CS_REC_SOURCE_MAX];
    char member_id[CS_REC_ID_MAX];
    char name[CS_REC_ID_MAX];       /* display name, shown on the composed video */
} cs_rec_track_t;

/* Fills id with the first CS_REC_KEY_ID_LEN bytes of SHA-256(master_key). */
void cs_rec_key_id(const uint8_t master_key[CS_REC_KEY_LEN], uint8_t id[CS_REC_KEY_ID_LEN]);

/* ---- capture ------------------------------------------------------------ */

typedef struct {
    size_t ring_bytes;                  /* bytes of packets in flight; 0: 8 MiB */
    unsigned flush_ms;                  /* chunk period; 0: 1000 */
    const uint8_t *master_key;          /* CS_REC_KEY_LEN bytes, copied; required */
} cs_recorder_config_t;

typedef struct cs_recorder cs_recorder_t;
typedef struct cs_rec_session cs_rec_session_t;

/* Starts the writer thread. NULL with *err (CS_EINVAL, CS_ENOMEM, CS_EIO). */
cs_recorder_t *cs_recorder_new(const cs_recorder_config_t *cfg, int *err);
/* Closes every open session as cs_recorder_close would (writing what is
 * queued), stops the thread and frees. Sessions still retained elsewhere must
 * not be used after this. NULL is safe. */
void cs_recorder_free(cs_recorder_t *r);

/*
 * Creates the capture file at path (O_EXCL, mode 0600; the folder must
 * exist) and writes its header synchronously, so a missing folder, a full
 * disk or an existing file is an error here (CS_EIO, CS_EEXIST) and not a
 * silent loss later. start_mono_us is the cs_mono_us() that arrival times
 * are measured against; start_wall_ms the wall clock at that instant.
 * The session starts with one reference, the caller's.
 */
int cs_recorder_open(cs_recorder_t *r, const char *path, const char *recording_id,
                     int64_t start_wall_ms, int64_t start_mono_us, cs_rec_session_t **out);
/* Declares a track before its first packet (any thread; ordered with the
 * packets through the ring). The session numbers its tracks: returns the
 * track number (>= 0; t->track is ignored), or CS_EINVAL, CS_ESTATE (closed
 * or failed), CS_ELIMIT (ring full, or CS_REC_MAX_TRACKS declared). */
int cs_recorder_add_track(cs_rec_session_t *s, const cs_rec_track_t *t);
/* One RTP packet of a declared track, arrival_us on the cs_mono_us() clock.
 * Never blocks on disk. CS_ELIMIT (ring full: dropped and counted),
 * CS_ESTATE (closed or failed), CS_EINVAL (unknown track, bad length). */
int cs_recorder_push(cs_rec_session_t *s, uint16_t track, int64_t arrival_us,
                     const uint8_t *rtp, size_t len);
/* References for other threads (a media worker's tap). The session's memory
 * lives until the last release and the writer has finished with it.
 * Releasing does not close: a session never closed is finished by
 * cs_recorder_free. */
void cs_rec_session_retain(cs_rec_session_t *s);
void cs_rec_session_release(cs_rec_session_t *s);
/* Asks the writer to write what is queued, an end record, fsync and close
 * the file; later pushes get CS_ESTATE. Does not release the caller's
 * reference. Idempotent. */
void cs_recorder_close(cs_rec_session_t *s);

typedef struct {
    uint64_t packets;        /* records taken into the ring */
    uint64_t dropped;        /* packets refused because the ring was full */
    uint64_t bytes_written;  /* file size so far */
    uint64_t chunks;         /* chunks written and fsynced */
    int error;               /* first write error (CS_EIO ...), CS_OK while none */
    int os_errno;            /* its errno (ENOSPC for a full disk), 0 */
    bool finished;           /* closed and the file complete on disk; also set
                                once the writer has let go of a failed file
                                (error then says it lacks its end) */
} cs_rec_session_stats_t;
void cs_rec_session_stats(cs_rec_session_t *s, cs_rec_session_stats_t *out);

/* ---- reading a capture file --------------------------------------------- */

typedef enum { CS_CAP_TRACK, CS_CAP_PACKET, CS_CAP_END } cs_capture_record_type_t;

typedef struct {
    cs_capture_record_type_t type;
    cs_rec_track_t track;           /* CS_CAP_TRACK */
    uint16_t track_no;              /* CS_CAP_PACKET */
    int64_t arrival_us;             /* CS_CAP_PACKET: µs after the file's start */
    const uint8_t *data;            /* CS_CAP_PACKET: valid until the next call */
    size_t len;
} cs_capture_record_t;

typedef struct {
    char recording_id[CS_REC_ID_MAX];
    int64_t start_wall_ms;
    uint64_t file_size;
    uint64_t offset;                /* bytes consumed so far (progress) */
    uint64_t chunks_ok;
    uint64_t chunks_bad;            /* failed authentication or framing: skipped */
    uint64_t bytes_skipped;
    bool truncated;                 /* the last chunk was cut short */
    bool clean_end;                 /* an end record was read */
} cs_capture_info_t;

typedef struct cs_capture_reader cs_capture_reader_t;

/* CS_EIO (cannot read), CS_EINVAL (not a capture file, bad header),
 * CS_EAUTH (another master key, or the wrapped key does not authenticate),
 * CS_EUNSUPPORTED (newer version), CS_ENOMEM. */
int cs_capture_reader_open(const char *path, const uint8_t master_key[CS_REC_KEY_LEN],
                           cs_capture_reader_t **out);
/* The same over bytes in memory (borrowed for the reader's life): fuzzing, tests. */
int cs_capture_reader_open_mem(const uint8_t *data, size_t len,
                               const uint8_t master_key[CS_REC_KEY_LEN],
                               cs_capture_reader_t **out);
/* 1 and *rec filled; 0 at the end of the file; CS_EIO on a read error.
 * Damaged chunks are skipped (counted in the info), never returned. */
int cs_capture_reader_next(cs_capture_reader_t *r, cs_capture_record_t *rec);
void cs_capture_reader_info(const cs_capture_reader_t *r, cs_capture_info_t *out);
void cs_capture_reader_free(cs_capture_reader_t *r);

/* ---- sealed files --------------------------------------------------------- */

typedef struct cs_sealed cs_sealed_t;

/* A new sealed file for writing (O_EXCL, 0600). CS_EIO, CS_EEXIST, CS_ENOMEM. */
int cs_sealed_create(const char *path, const uint8_t master_key[CS_REC_KEY_LEN],
                     cs_sealed_t **out);
/* Writes anywhere (a muxer seeking back); the file grows as needed, a hole
 * reads as zeros. Created files only. CS_EIO (errno kept for
 * cs_sealed_errno; the file then stays failed: later writes and finish
 * return CS_EIO too), CS_ESTATE (opened for reading, or finished),
 * CS_EINVAL (past 1 TiB), CS_ENOMEM. */
int cs_sealed_write(cs_sealed_t *f, uint64_t offset, const void *buf, size_t len);
/* Writes the final header (plaintext size, authenticated) and fsyncs. A file
 * never finished is refused by cs_sealed_open (CS_EINVAL). Once finished,
 * finishing again is CS_OK and the object reads like an opened one. */
int cs_sealed_finish(cs_sealed_t *f);
/* An existing, finished file for reading. CS_EIO, CS_EINVAL, CS_EAUTH,
 * CS_ENOMEM. */
int cs_sealed_open(const char *path, const uint8_t master_key[CS_REC_KEY_LEN],
                   cs_sealed_t **out);
/* Plaintext bytes read (short only at the end), 0 at or past the end,
 * CS_EIO, CS_EAUTH (a block fails authentication: tampered or damaged). */
long cs_sealed_read(cs_sealed_t *f, uint64_t offset, void *buf, size_t len);
uint64_t cs_sealed_size(const cs_sealed_t *f);
int cs_sealed_errno(const cs_sealed_t *f);
/* Closes without finishing a created file (it stays unreadable). */
void cs_sealed_free(cs_sealed_t *f);

#endif
