/*
 * source.c — the records of a recording's capture files, in order, on one
 * time line, twice.
 *
 * Each file counts arrivals from its own start; its header's start_wall_ms
 * places it against the first readable file (a gateway restart starts a new
 * file, its clock restarted too). A file that cannot be opened is skipped
 * and counted, except one under another master key: that is the whole job's
 * error (CS_EAUTH), since every file of a recording has the same key and
 * the caller configured the wrong one. Pass 2 reads exactly as many records
 * per file as pass 1 did, so both passes see the same recording even if a
 * file were still growing.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

typedef struct {
    cs_pp_source_t base;
    const char *const *paths;
    size_t n;
    uint8_t key[CS_REC_KEY_LEN];
    unsigned pass;
    size_t cur;                      /* input being read */
    cs_capture_reader_t *reader;
    int64_t offset_us;               /* of the current input against the first */
    bool have_first;
    int64_t first_wall_ms;
    uint64_t *records;               /* per input, counted in pass 1 */
    uint64_t read_now;               /* records of the current input this pass */
    uint64_t *sizes;
    uint64_t done_bytes;             /* of inputs finished this pass */
    cs_rec_track_t track;            /* the last declaration handed out */
    cs_pp_source_stats_t st;
} files_source_t;

static void close_reader(files_source_t *f, bool cut)
{
    if (!f->reader)
        return;
    cs_capture_info_t info;
    cs_capture_reader_info(f->reader, &info);
    if (f->pass == 1) {
        f->st.chunks_bad += info.chunks_bad;
        f->st.truncated |= info.truncated;
        /* No end record and no cut chunk: the gateway stopped abruptly
         * (kill -9, power loss) between two chunks, and what it held for
         * the next one (up to a flush period) is lost all the same. */
        if (!info.clean_end && !info.truncated && !cut)
            f->st.unclosed++;
        if (cut)
            f->st.read_errors++;
        f->records[f->cur] = f->read_now;
    }
    cs_capture_reader_free(f->reader);
    f->reader = NULL;
    f->done_bytes += f->sizes[f->cur];
    f->cur++;
}

/* Opens input f->cur (or the next that opens). 1 open, 0 none left, <0 fatal. */
static int open_next(files_source_t *f)
{
    while (f->cur < f->n) {
        int rc = cs_capture_reader_open(f->paths[f->cur], f->key, &f->reader);
        if (rc == CS_EAUTH)
            return CS_EAUTH;
        if (rc == CS_ENOMEM)
            return CS_ENOMEM;
        if (rc == CS_OK) {
            cs_capture_info_t info;
            cs_capture_reader_info(f->reader, &info);
            if (!f->have_first) {
                f->have_first = true;
                f->first_wall_ms = info.start_wall_ms;
            }
            f->offset_us = (info.start_wall_ms - f->first_wall_ms) * 1000;
            f->read_now = 0;
            return 1;
        }
        if (f->pass == 1)
            f->st.inputs_unreadable++;
        f->done_bytes += f->sizes[f->cur];
        f->cur++;
    }
    return 0;
}

static int files_begin(cs_pp_source_t *s, unsigned pass)
{
    files_source_t *f = (files_source_t *)s;
    if (f->reader) {
        cs_capture_reader_free(f->reader);
        f->reader = NULL;
    }
    f->pass = pass;
    f->cur = 0;
    f->done_bytes = 0;
    f->have_first = false;
    return CS_OK;
}

static int files_next(cs_pp_source_t *s, cs_pp_record_t *rec)
{
    files_source_t *f = (files_source_t *)s;
    for (;;) {
        if (!f->reader) {
            int rc = open_next(f);
            if (rc <= 0)
                return rc;
        }
        if (f->pass != 1 && f->read_now >= f->records[f->cur]) {
            close_reader(f, false);
            continue;
        }
        cs_capture_record_t r;
        int rc = cs_capture_reader_next(f->reader, &r);
        if (rc != 1) {
            close_reader(f, rc < 0);
            continue;
        }
        f->read_now++;
        memset(rec, 0, sizeof *rec);
        rec->type = r.type;
        rec->input = (unsigned)f->cur;
        if (r.type == CS_CAP_TRACK) {
            f->track = r.track;     /* r lives on this stack frame */
            rec->track = &f->track;
        }
        rec->track_no = r.track_no;
        rec->arrival_us = r.arrival_us + f->offset_us;
        rec->data = r.data;
        rec->len = r.len;
        return 1;
    }
}

static double files_progress(cs_pp_source_t *s)
{
    files_source_t *f = (files_source_t *)s;
    uint64_t done = f->done_bytes;
    if (f->reader) {
        cs_capture_info_t info;
        cs_capture_reader_info(f->reader, &info);
        done += info.offset < f->sizes[f->cur] ? info.offset : f->sizes[f->cur];
    }
    return f->st.bytes ? (double)done / (double)f->st.bytes : 1.0;
}

static void files_stats(cs_pp_source_t *s, cs_pp_source_stats_t *out)
{
    *out = ((files_source_t *)s)->st;
}

static void files_close(cs_pp_source_t *s)
{
    files_source_t *f = (files_source_t *)s;
    if (f->reader)
        cs_capture_reader_free(f->reader);
    free(f->records);
    free(f->sizes);
    memset(f->key, 0, sizeof f->key);
    free(f);
}

int cs_pp_files_source(const char *const *paths, size_t n, const uint8_t *key,
                       cs_pp_source_t **out)
{
    files_source_t *f = calloc(1, sizeof *f);
    if (!f)
        return CS_ENOMEM;
    f->records = calloc(n ? n : 1, sizeof *f->records);
    f->sizes = calloc(n ? n : 1, sizeof *f->sizes);
    if (!f->records || !f->sizes) {
        files_close(&f->base);
        return CS_ENOMEM;
    }
    f->base = (cs_pp_source_t){files_begin, files_next, files_progress, files_stats, files_close};
    f->paths = paths;
    f->n = n;
    memcpy(f->key, key, CS_REC_KEY_LEN);
    f->st.inputs = (unsigned)n;
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        f->sizes[i] = stat(paths[i], &sb) == 0 ? (uint64_t)sb.st_size : 0;
        f->st.bytes += f->sizes[i];
    }
    *out = &f->base;
    return CS_OK;
}
