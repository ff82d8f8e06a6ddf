/*
 * sqlite_lock.c — holds the write lock of a SQLite database for a while, as
 * a backup, a long checkpoint or someone in the sqlite3 shell would, so the
 * integration tests can show what the gateway does meanwhile
 * (tests/integration/sqlite-busy.test.js). No sqlite3 shell is needed.
 *
 *   build/tools/sqlite_lock DB MODE MS
 *
 *   MODE  immediate  BEGIN IMMEDIATE: other writers wait, readers go on
 *         exclusive  BEGIN EXCLUSIVE (the same as immediate in WAL mode)
 *   MS    how long to hold it, in milliseconds; SIGTERM or SIGINT ends it early
 *
 * Prints "locked" once it holds the lock and "released <ms held>" when it has
 * let go (nothing is written: the transaction is rolled back). Waits up to
 * 10 s for the lock itself when someone else holds it. Exit status 0 when it
 * held and released the lock, 1 when it could not take it, 2 on bad usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define TAKE_TIMEOUT_MS 10000

static int usage(void)
{
    fputs("usage: sqlite_lock DB immediate|exclusive MS\n", stderr);
    return 2;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until ms have passed or a stop signal arrives (blocked in set, so
 * one sent before we wait is not lost). */
static void hold(const sigset_t *set, long long ms)
{
    long long end = mono_ms() + ms;
    for (;;) {
        long long left = end - mono_ms();
        if (left <= 0)
            return;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                              .tv_nsec = (long)(left % 1000) * 1000000};
        /* EINTR (some other signal) waits on. */
        if (sigtimedwait(set, NULL, &ts) > 0 || errno == EAGAIN)
            return;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return usage();
    const char *begin;
    if (!strcmp(argv[2], "immediate"))
        begin = "BEGIN IMMEDIATE";
    else if (!strcmp(argv[2], "exclusive"))
        begin = "BEGIN EXCLUSIVE";
    else
        return usage();
    char *end = NULL;
    long long ms = strtoll(argv[3], &end, 10);
    if (!*argv[3] || *end || ms < 0)
        return usage();

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);

    sqlite3 *db = NULL;
    /* Never create: a wrong path must fail, not lock an empty new file. */
    int rc = sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, TAKE_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, begin, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite_lock: %s on %s: %s\n", begin, argv[1],
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return 1;
    }
    long long t0 = mono_ms();
    printf("locked\n");
    fflush(stdout);
    hold(&stop, ms);
    rc = sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    long long held = mono_ms() - t0;
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite_lock: ROLLBACK failed\n");
        return 1;
    }
    printf("released %lld\n", held);
    fflush(stdout);
    return 0;
}
