/*
 * internal.h — what the recorder's files share: the byte layouts of capture
 * and sealed files (documented here once), AES-256-GCM helpers, the capture
 * file writer the writer thread drives, the byte ring, the recorder and
 * session structures, and two hooks the unit tests use.
 *
 * All integers in both file formats are big-endian.
 *
 * ---- capture file (".cap") -------------------------------------------------
 *
 * Header, CAP_HDR_LEN = 164 bytes:
 *     0   8  magic "CSCAPTUR"
 *     8   2  version (1)
 *    10   2  header length (164)
 *    12   8  key id: first 8 bytes of SHA-256(master key)
 *    20   8  start_wall_ms (signed)
 *    28   8  start_mono_us (signed)
 *    36  64  recording id, 1..64 bytes, NUL-padded
 *   100   4  reserved, zero
 *   104  12  wrap nonce (random)
 *   116  32  data key encrypted with AES-256-GCM under the master key,
 *            AAD = bytes 0..104 (so no header field can be altered)
 *   148  16  wrap tag
 *
 * Then chunks, back to back, each:
 *     0   4  magic "CSCK"
 *     4   4  chunk index: 0, 1, 2 ... within the file
 *     8   4  ciphertext length n (<= CAP_CHUNK_MAX)
 *    12   n  ciphertext (AES-256-GCM under the file's data key;
 *            nonce = 4 zero bytes + the index as 8 bytes, unique because
 *            every file has its own data key;
 *            AAD = the 64-byte recording id field + index + n)
 *  12+n  16  tag
 *
 * The plaintext of a chunk is a sequence of records: type (1 byte), body
 * length (2), body:
 *   CAP_REC_TRACK  1: track (2), kind (1), layer (1), payload type (1),
 *                     clock rate (4), then codec, source, member id, name,
 *                     each as a length byte and that many bytes (no NUL,
 *                     shorter than its cs_rec_track_t field).
 *   CAP_REC_PACKET 2: track (2), arrival µs after start_mono_us (8, signed),
 *                     the RTP packet (1..CS_REC_PACKET_MAX bytes).
 *   CAP_REC_END    3: empty; written once when the recording is closed.
 * Every chunk starts with the declarations of the tracks declared so far
 * (then new ones in order), so each chunk reads on its own: a damaged chunk
 * costs its own packets and nothing after it. Readers return a repeated
 * identical declaration once.
 *
 * ---- sealed file (".sealed") -----------------------------------------------
 *
 * Header, SEALED_HDR_LEN = 96 bytes:
 *     0   8  magic "CSSEALED"
 *     8   2  version (1)
 *    10   2  header length (96)
 *    12   4  block size (65536)
 *    16   8  key id
 *    24   8  plaintext size
 *    32   4  flags: bit 0 = finished
 *    36  12  wrap nonce
 *    48  32  wrapped data key, AAD = bytes 0..36 (size and flags included)
 *    80  16  wrap tag
 * The key is wrapped only by cs_sealed_finish: an unfinished file has no
 * readable key at all. Block i (64 KiB of plaintext; the last one short)
 * lies at 96 + i * SEALED_STRIDE: a random nonce (12), ciphertext, tag (16);
 * AAD = i as 8 bytes. Every block below the size is present after finish
 * (holes are written as encrypted zeros).
 */
#ifndef CS_RECORDER_INTERNAL_H
#define CS_RECORDER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "media/recorder/recorder.h"

#define REC_NONCE_LEN 12
#define REC_TAG_LEN 16
#define REC_WRAP_LEN (REC_NONCE_LEN + CS_REC_KEY_LEN + REC_TAG_LEN)

#define CAP_MAGIC "CSCAPTUR"
#define CAP_VERSION 1
#define CAP_HDR_LEN 164
#define CAP_HDR_AAD_LEN 104
#define CAP_RECID_OFF 36
#define CAP_RECID_LEN 64
#define CAP_WRAP_OFF 104
#define CAP_CHUNK_MAGIC "CSCK"
#define CAP_FRAME_LEN 12                  /* magic, index, length */
#define CAP_CHUNK_MAX (256 * 1024)        /* plaintext bytes of one chunk */
#define CAP_FRAME_MAX (CAP_FRAME_LEN + CAP_CHUNK_MAX + REC_TAG_LEN)

enum { CAP_REC_TRACK = 1, CAP_REC_PACKET = 2, CAP_REC_END = 3 };
#define CAP_REC_HDR 3                     /* type + body length */
#define CAP_PACKET_HDR 10                 /* track + arrival */
#define CAP_TRACK_FIXED 9                 /* track, kind, layer, pt, clock rate */
#define CAP_TRACK_MAX (CAP_REC_HDR + CAP_TRACK_FIXED + 4 + (CS_REC_CODEC_MAX - 1) + \
                       (CS_REC_SOURCE_MAX - 1) + 2 * (CS_REC_ID_MAX - 1))
#define CAP_DECL_MAX (CS_REC_MAX_TRACKS * CAP_TRACK_MAX)

#define SEALED_MAGIC "CSSEALED"
#define SEALED_VERSION 1
#define SEALED_HDR_LEN 96
#define SEALED_HDR_AAD_LEN 36
#define SEALED_BLOCK 65536u
#define SEALED_STRIDE (REC_NONCE_LEN + SEALED_BLOCK + REC_TAG_LEN)
#define SEALED_SIZE_MAX (UINT64_C(1) << 40) /* 1 TiB of plaintext */

/* ---- keys.c: AES-256-GCM -------------------------------------------------- */

/* Encrypts len bytes of in to out (may be the same buffer) and writes the
 * tag. CS_OK or CS_EIO (libcrypto failed). */
int rec_gcm_seal(const uint8_t key[CS_REC_KEY_LEN], const uint8_t nonce[REC_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, uint8_t tag[REC_TAG_LEN]);
/* Decrypts and verifies; CS_EAUTH when the tag does not match (out then
 * holds garbage the caller must not use). */
int rec_gcm_open(const uint8_t key[CS_REC_KEY_LEN], const uint8_t nonce[REC_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, const uint8_t tag[REC_TAG_LEN]);
/* wrap = nonce + encrypted data key + tag, with the given nonce. */
int rec_key_wrap(const uint8_t master[CS_REC_KEY_LEN], const uint8_t data_key[CS_REC_KEY_LEN],
                 const uint8_t nonce[REC_NONCE_LEN], const uint8_t *aad, size_t aad_len,
                 uint8_t wrap[REC_WRAP_LEN]);
int rec_key_unwrap(const uint8_t master[CS_REC_KEY_LEN], const uint8_t wrap[REC_WRAP_LEN],
                   const uint8_t *aad, size_t aad_len, uint8_t data_key[CS_REC_KEY_LEN]);
/* Wipes secrets the compiler must not optimise away. */
void rec_wipe(void *p, size_t len);
/* write(2)/pwrite(2) all of it, retrying on EINTR and short writes. off < 0:
 * at the file position. CS_OK or CS_EIO with errno set. */
int rec_write_all(int fd, const void *buf, size_t len, int64_t off);
/* pread(2) len bytes at off, retrying on EINTR and short reads: the bytes
 * read (fewer only at the end of the file), or CS_EIO with errno set. */
long rec_read_all(int fd, void *buf, size_t len, uint64_t off);
/* fsyncs the folder holding path (a new file's entry survives a crash only
 * then), keeping errno of a failure. CS_OK, CS_EINVAL, CS_EIO. */
int rec_sync_dir_of(const char *path);

/* ---- capture_write.c: one capture file being written ----------------------- */

typedef struct {
    int fd;                          /* -1 once closed */
    uint8_t key[CS_REC_KEY_LEN];     /* data key */
    uint8_t recid[CAP_RECID_LEN];    /* the header's field, for the chunks' AAD */
    int64_t start_mono_us;
    uint32_t next_index;
    uint8_t *chunk;                  /* CAP_FRAME_MAX: frame header, plaintext, tag */
    size_t len;                      /* plaintext bytes in the open chunk; 0: none open */
    int64_t first_ms;                /* cs_mono_ms() of the open chunk's first record */
    uint8_t *decl;                   /* encoded declarations so far (CAP_DECL_MAX) */
    size_t decl_len;
    uint64_t bytes;                  /* file size so far */
    uint64_t chunks;                 /* chunks written and synced */
    int os_errno;                    /* of the failure that made a call return CS_EIO */
} cap_writer_t;

/* Whether a record of len bytes makes the open chunk be sealed and written
 * before it (no room left in it). */
static inline bool cap_writer_full_for(const cap_writer_t *w, size_t len)
{
    return w->len && w->len + len > CAP_CHUNK_MAX;
}

/* The header's bytes for a file whose data key and wrap nonce are given:
 * the writer passes random ones; the fuzz target and tests fixed ones. */
int cap_header_build(uint8_t out[CAP_HDR_LEN], const uint8_t master[CS_REC_KEY_LEN],
                     const uint8_t data_key[CS_REC_KEY_LEN], const uint8_t nonce[REC_NONCE_LEN],
                     const char *recording_id, int64_t start_wall_ms, int64_t start_mono_us);
#define CAP_AAD_LEN (CAP_RECID_LEN + 8)
/* A chunk's nonce and AAD, from its index and ciphertext length. */
void cap_chunk_nonce_aad(const uint8_t recid[CAP_RECID_LEN], uint32_t index, uint32_t len,
                         uint8_t nonce[REC_NONCE_LEN], uint8_t aad[CAP_AAD_LEN]);
/* Seals plaintext (len <= CAP_CHUNK_MAX) as chunk index into frame
 * (CAP_FRAME_LEN + len + REC_TAG_LEN bytes). */
int cap_chunk_seal(const uint8_t key[CS_REC_KEY_LEN], const uint8_t recid[CAP_RECID_LEN],
                   uint32_t index, const uint8_t *plain, size_t len, uint8_t *frame);
/* Encodes a track declaration into out (CAP_TRACK_MAX bytes): its length,
 * or CS_EINVAL (a string not terminated in its field, a bad kind). */
int cap_track_encode(const cs_rec_track_t *t, uint16_t track, uint8_t *out);

/* Creates the file (O_EXCL, 0600), writes and syncs the header. CS_EEXIST,
 * CS_EIO (w->os_errno), CS_ENOMEM, CS_EINVAL. */
int cap_writer_create(cap_writer_t *w, const char *path, const uint8_t master[CS_REC_KEY_LEN],
                      const char *recording_id, int64_t start_wall_ms, int64_t start_mono_us);
/* Appends records to the open chunk (starting one at now_ms if none is
 * open, sealing the open one first when the record does not fit). */
int cap_writer_track(cap_writer_t *w, const uint8_t *encoded, size_t len, int64_t now_ms);
int cap_writer_packet(cap_writer_t *w, uint16_t track, int64_t arrival_us, const uint8_t *rtp,
                      size_t len, int64_t now_ms);
/* Seals, writes and fdatasyncs the open chunk (nothing when none is open). */
int cap_writer_flush(cap_writer_t *w);
/* End record, last chunk, fsync, close. */
int cap_writer_finish(cap_writer_t *w);
/* Closes the file as it is and frees the buffers (after an error, or after
 * finish). */
void cap_writer_discard(cap_writer_t *w);

/* ---- ring.c: the bounded byte ring ----------------------------------------- */

/* A record as it waits in the ring: this header, then len bytes. */
typedef struct {
    cs_rec_session_t *s;
    int64_t arrival_us;
    uint32_t len;
    uint16_t track;
    uint8_t type;                    /* CAP_REC_TRACK (bytes: the encoded declaration)
                                        or CAP_REC_PACKET (bytes: the RTP packet) */
} ring_rec_t;

typedef struct {
    uint8_t *buf;
    size_t cap, head, used;          /* head: where the next record goes */
} ring_t;

int ring_init(ring_t *q, size_t cap);
void ring_free(ring_t *q);
/* The bytes a record with len payload bytes takes. */
size_t ring_need(size_t len);
/* Copies a record in; false when it does not fit (nothing written). */
bool ring_put(ring_t *q, const ring_rec_t *h, const void *data);
/* Where the oldest record starts (under the mutex). */
size_t ring_tail(const ring_t *q);
/* The record at *pos: its header, and its payload into data (>= h->len
 * bytes); moves *pos to the next record and returns the bytes it takes.
 * Safe without the mutex for records that are in the used region. */
size_t ring_peek(const ring_t *q, size_t *pos, ring_rec_t *h, void *data, size_t data_cap);
/* Frees the oldest n bytes (whole records). */
void ring_consume(ring_t *q, size_t n);

/* ---- recorder.c / writer.c -------------------------------------------------- */

/* How the writer sleeps, which says when a push must wake it: DEEP (nothing
 * buffered: the first record), TIMED (until a chunk is due: only a ring
 * past wake_bytes), PAUSED (the test hook: never). */
typedef enum { WAIT_NONE, WAIT_DEEP, WAIT_TIMED, WAIT_PAUSED } writer_wait_t;

struct cs_rec_session {
    cs_recorder_t *r;
    atomic_int refs;                 /* the caller's, others', and the writer's own */
    /* under r->mu */
    unsigned n_tracks;
    cs_rec_session_t *next;          /* r->sessions */
    /* any thread */
    atomic_bool closing;             /* set under r->mu: no record of s goes in after it */
    atomic_bool finished;
    atomic_uint_fast64_t packets, dropped, bytes_written, chunks;
    atomic_int error, os_errno;
    /* the writer thread's */
    cap_writer_t file;
    bool failed;
    bool drain;                      /* closing when the writer took its batch (under
                                        r->mu): once that is written, none is left */
};

struct cs_recorder {
    pthread_mutex_t mu;
    pthread_cond_t cond;             /* wakes the writer */
    pthread_t thread;
    uint8_t master[CS_REC_KEY_LEN];
    unsigned flush_ms;
    /* under mu */
    ring_t ring;
    size_t wake_bytes;               /* a timed-waiting writer is woken above this */
    int64_t ring_first_ms;           /* when the oldest record in the ring came */
    writer_wait_t wait;
    bool close_pending, stopping, paused;
    cs_rec_session_t *sessions;      /* open, or closed but not yet finished */
    /* the writer thread's: one record's payload, out of the ring */
    uint8_t scratch[CS_REC_PACKET_MAX];
};
_Static_assert(CAP_TRACK_MAX <= CS_REC_PACKET_MAX, "a declaration fits the writer's scratch");

void *rec_writer_main(void *arg);
/* Drops the writer's or a caller's reference. */
void rec_session_unref(cs_rec_session_t *s);

/* ---- test hooks (unit tests only) ------------------------------------------- */

/* While paused the writer takes nothing from the ring and writes nothing,
 * so a test can fill the ring or swap a session's file underneath. */
void cs_recorder_test_pause(cs_recorder_t *r, bool paused);
/* The file descriptor the writer writes the session to, for a test to dup2
 * another file over it; call only while the writer is paused. */
int cs_rec_session_test_fd(const cs_rec_session_t *s);
/* CPU time the writer thread has used, ns (the benchmark). */
int64_t cs_recorder_writer_cpu_ns(cs_recorder_t *r);

#endif
