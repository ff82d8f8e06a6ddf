/*
 * recorder_fixture.h — what the unit tests of media/recorder share: the
 * master keys, a fresh folder per test under /tmp (removed with everything
 * in it), a 64 KiB tmpfs in it standing in for a full disk, a recorder, and
 * waiting for the writer thread.
 *
 * Test-only; include after cmocka.h.
 */
#ifndef CS_TEST_RECORDER_FIXTURE_H
#define CS_TEST_RECORDER_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "media/recorder/internal.h"
#include "media/recorder/recorder.h"

static const uint8_t KEY[CS_REC_KEY_LEN] = "consilium-test-master-key-32-by";
static const uint8_t OTHER_KEY[CS_REC_KEY_LEN] = "another-master-key-of-32-bytes!";

typedef struct {
    char dir[64];
    char path[160];                  /* the test's main file, when it has one */
    bool mounted;                    /* <dir>/full is a tmpfs */
    cs_recorder_t *rec;              /* freed with the fixture, when set */
} fx_t;

/* A fixture with a new folder made from tmpl ("/tmp/...-XXXXXX"). */
static inline fx_t *fx_new(const char *tmpl)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    cs_strlcpy(f->dir, tmpl, sizeof f->dir);
    assert_non_null(mkdtemp(f->dir));
    return f;
}

static inline int fx_rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    return remove(p);
}

static inline void full_path(const fx_t *f, char *out, size_t cap)
{
    snprintf(out, cap, "%s/full", f->dir);
}

/* Frees the recorder, unmounts the full disk and removes the folder. */
static inline int fx_free(fx_t *f)
{
    cs_recorder_free(f->rec);
    if (f->mounted) {
        char full[96];
        full_path(f, full, sizeof full);
        umount2(full, MNT_DETACH);   /* even with a file still open after a failure */
    }
    int rc = nftw(f->dir, fx_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

/* Makes <dir>/full (into full) and mounts a 64 KiB tmpfs on it where that
 * is allowed (root); says whether it did. */
static inline bool fx_full_disk(fx_t *f, char *full, size_t cap)
{
    full_path(f, full, cap);
    assert_int_equal(mkdir(full, 0700), 0);
    f->mounted = mount("tmpfs", full, "tmpfs", 0, "size=64k") == 0;
    return f->mounted;
}

/* ring_bytes, flush_ms 0: the defaults. */
static inline cs_recorder_t *new_recorder(const uint8_t *key, size_t ring_bytes,
                                          unsigned flush_ms)
{
    cs_recorder_config_t cfg = {.ring_bytes = ring_bytes, .flush_ms = flush_ms,
                                .master_key = key};
    int err = -1;
    cs_recorder_t *r = cs_recorder_new(&cfg, &err);
    assert_non_null(r);
    assert_int_equal(err, CS_OK);
    return r;
}

/* Until the session has at least chunks chunks written and, with finished,
 * is finished. */
static inline void wait_stats(cs_rec_session_t *s, cs_rec_session_stats_t *st, bool finished,
                              uint64_t chunks)
{
    for (int i = 0; i < 20000; i++) {   /* a hang fails after 20 s, not a timing check */
        cs_rec_session_stats(s, st);
        if ((!finished || st->finished) && st->chunks >= chunks)
            return;
        usleep(1000);
    }
    fail_msg("the writer never got there");
}

#endif
