/* test_fdlimit.c — the open-files limit against limits.max_connections
 * (gateway/fdlimit.c): the plan on numbers, and the real setrlimit in child
 * processes (the limit is per process, so the test runner's stays as is). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "gateway/gateway.h"

/* Two media workers and one post-processing worker: 32 + 2 at start,
 * 32 + 16 later; 32 more for HTTP, so 114 before any connection. */
static cs_fdlimit_in_t input(uint64_t soft, uint64_t hard, int64_t connections)
{
    cs_fdlimit_in_t in = {.soft = soft, .hard = hard, .max_connections = connections,
                          .start_fds = 34, .later_fds = 48};
    return in;
}

static void test_reserve(void **state)
{
    (void)state;
    cs_fdlimit_in_t in = input(0, 0, 0);
    assert_int_equal(cs_fdlimit_reserve(&in, 0), 114);
    /* 4 per caller (one connection in 8), 1 per 16 connections for HTTP */
    assert_int_equal(cs_fdlimit_reserve(&in, 1), 114 + 4 + 1);
    assert_int_equal(cs_fdlimit_reserve(&in, 8), 114 + 4 + 1);
    assert_int_equal(cs_fdlimit_reserve(&in, 9), 114 + 8 + 1);
    assert_int_equal(cs_fdlimit_reserve(&in, 20000), 114 + 10000 + 1250);
}

static void test_input_from_config(void **state)
{
    (void)state;
    cs_config_t cfg;
    cs_config_defaults(&cfg);
    cfg.media_workers = 3;
    cfg.recording_workers = 2;
    cs_fdlimit_in_t in;
    cs_fdlimit_input(&cfg, &in);
    assert_int_equal(in.max_connections, 20000);
    assert_int_equal(in.start_fds, 32 + 3);
    assert_int_equal(in.later_fds, 32 + 2 * 16);
    /* 0 workers: one per core, as the engine counts them */
    cfg.media_workers = 0;
    cs_fdlimit_input(&cfg, &in);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(in.start_fds, 32 + (uint64_t)(cores < 1 ? 1 : cores > 64 ? 64 : cores));
}

/* Debian's usual 1024 soft, 524288 hard: raised as far as needed, no further. */
static void test_raised_as_needed(void **state)
{
    (void)state;
    cs_fdlimit_in_t in = input(1024, 524288, 20000);
    cs_fdlimit_plan_t p;
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.wanted, 20000 + 114 + 10000 + 1250);
    assert_int_equal(p.new_soft, 31364);
    assert_int_equal(p.max_connections, 20000);
    assert_int_equal(p.reserve, 11364);
    /* the front door keeps below what is opened later: 48 and the media */
    assert_int_equal(p.ws_fd_ceiling, 31364 - 48 - 10000);

    /* a hard limit without a bound: the same */
    in.hard = CS_FDLIMIT_UNLIMITED;
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.new_soft, 31364);
    assert_int_equal(p.max_connections, 20000);
}

/* A soft limit already large enough is never lowered. */
static void test_enough_already(void **state)
{
    (void)state;
    cs_fdlimit_in_t in = input(600000, 1000000, 20000);
    cs_fdlimit_plan_t p;
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.new_soft, 600000);
    assert_int_equal(p.max_connections, 20000);
    assert_int_equal(p.reserve, 580000);
    assert_int_equal(p.ws_fd_ceiling, 600000 - 48 - 10000);

    in = input(256, 256, 5); /* a small gateway in a small limit */
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.wanted, 5 + 114 + 4 + 1);
    assert_int_equal(p.new_soft, 256);
    assert_int_equal(p.max_connections, 5);

    in = input(CS_FDLIMIT_UNLIMITED, CS_FDLIMIT_UNLIMITED, 20000);
    cs_fdlimit_plan(&in, &p);
    assert_true(p.new_soft == CS_FDLIMIT_UNLIMITED);
    assert_int_equal(p.max_connections, 20000);
    assert_true(p.reserve == CS_FDLIMIT_UNLIMITED);
    assert_int_equal(p.ws_fd_ceiling, 0); /* no ceiling */
}

/* A hard limit of 512: up to it, and the connections that fit. */
static void test_lowered(void **state)
{
    (void)state;
    cs_fdlimit_in_t in = input(512, 512, 20000);
    cs_fdlimit_plan_t p;
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.wanted, 31364);
    assert_int_equal(p.new_soft, 512);
    /* 254 + 114 + 4 * 32 + 16 = 512; 255 would need 513 */
    assert_int_equal(p.max_connections, 254);
    assert_int_equal(p.reserve, 258);
    assert_int_equal(p.ws_fd_ceiling, 512 - 48 - 128);

    in = input(256, 512, 300); /* soft below hard: raised to the hard limit */
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.new_soft, 512);
    assert_int_equal(p.max_connections, 254);

    in = input(1024, 20000, 20000);
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.new_soft, 20000);
    assert_true(p.max_connections > 12000 && p.max_connections < 20000);

    in = input(100, 100, 20000); /* below the fixed part: not one */
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.max_connections, 0);
    in = input(119, 119, 20000); /* 1 + 114 + 4 + 1 = 120 */
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.max_connections, 0);
    in = input(120, 120, 20000);
    cs_fdlimit_plan(&in, &p);
    assert_int_equal(p.max_connections, 1);
}

/* For every hard limit: the most connections that fit, never more than
 * configured, never fewer as the limit grows, and the ceiling leaves the
 * later descriptors free. */
static void test_lowered_everywhere(void **state)
{
    (void)state;
    int64_t prev = 0;
    for (uint64_t hard = 64; hard <= 40000; hard += 7) {
        cs_fdlimit_in_t in = input(hard, hard, 20000);
        cs_fdlimit_plan_t p;
        cs_fdlimit_plan(&in, &p);
        int64_t c = p.max_connections;
        assert_true(c >= prev);
        assert_true(c <= 20000);
        assert_true(p.new_soft == hard); /* soft = hard: up to it, never lowered */
        if (c > 0)
            assert_true((uint64_t)c + cs_fdlimit_reserve(&in, c) <= hard);
        if (c < 20000)
            assert_true((uint64_t)c + 1 + cs_fdlimit_reserve(&in, c + 1) > hard);
        if (c > 0)
            assert_true(p.ws_fd_ceiling >= (uint64_t)c + in.start_fds + 32 &&
                        p.ws_fd_ceiling <= hard);
        prev = c;
    }
    assert_int_equal(prev, 20000);
}

/* ---- the real limit, in a child process --------------------------------- */

static int set_nofile(rlim_t soft, rlim_t hard)
{
    struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static rlim_t soft_now(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 0;
}

/* Runs fn in a child; its exit status is the number of the check that failed. */
static int in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        cs_log_setup(CS_LOG_ERROR, false);
        _exit(fn());
    }
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void config_for(cs_config_t *cfg, int64_t connections)
{
    cs_config_defaults(cfg);
    cfg->max_connections = connections;
    cfg->media_workers = 2;
    cfg->recording_workers = 1;
}

static int child_lowered(void)
{
    if (set_nofile(300, 300))
        return 1;
    cs_config_t cfg;
    config_for(&cfg, 20000);
    cs_fdlimit_plan_t p;
    char err[256] = "";
    if (cs_app_fdlimit(&cfg, &p, err, sizeof err) != CS_OK)
        return 2;
    /* (300 - 114) * 16 / 25 = 119: 119 + 114 + 60 + 8 = 301; 118 fits */
    if (cfg.max_connections != 118 || p.max_connections != 118)
        return 3;
    if (soft_now() != 300 || p.new_soft != 300)
        return 4;
    return 0;
}

static int child_raised(void)
{
    if (set_nofile(200, 4096))
        return 1;
    cs_config_t cfg;
    config_for(&cfg, 1000);
    cs_fdlimit_plan_t p;
    char err[256] = "";
    if (cs_app_fdlimit(&cfg, &p, err, sizeof err) != CS_OK)
        return 2;
    /* 1000 + 114 + 4 * 125 + 63 */
    if (soft_now() != 1677 || p.new_soft != 1677)
        return 3;
    if (cfg.max_connections != 1000)
        return 4;
    return 0;
}

static int child_too_low(void)
{
    if (set_nofile(64, 64))
        return 1;
    cs_config_t cfg;
    config_for(&cfg, 20000);
    char err[256] = "";
    if (cs_app_fdlimit(&cfg, NULL, err, sizeof err) != CS_ELIMIT)
        return 2;
    if (!strstr(err, "ulimit -n") || !strstr(err, "LimitNOFILE"))
        return 3;
    if (cfg.max_connections != 20000) /* left alone: the gateway does not start */
        return 4;
    return 0;
}

static void test_real_limit(void **state)
{
    (void)state;
    assert_int_equal(in_child(child_lowered), 0);
    assert_int_equal(in_child(child_raised), 0);
    assert_int_equal(in_child(child_too_low), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_input_from_config),
        cmocka_unit_test(test_raised_as_needed),
        cmocka_unit_test(test_enough_already),
        cmocka_unit_test(test_lowered),
        cmocka_unit_test(test_lowered_everywhere),
        cmocka_unit_test(test_real_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
