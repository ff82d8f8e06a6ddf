/*
 * test_load_hist.c — the load tool's latency histogram (tests/load/hist.c):
 * quantiles of known distributions are exact below 64 µs and within one
 * bucket (1/32 of the octave) above, never above the largest value seen;
 * merging equals adding everything to one histogram; values past the last
 * octave land in the overflow bucket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/load/media.h"

/* The width of the bucket holding v: 1 below 64, then 1/32 of v's power of two. */
static uint64_t width_at(uint64_t v)
{
    if (v < 64)
        return 1;
    int octave = 63 - __builtin_clzll(v);
    return (uint64_t)1 << (octave - 5);
}

static void assert_near(uint64_t got, uint64_t truth)
{
    assert_true(got >= truth);
    assert_true(got < truth + width_at(truth));
}

static void test_empty(void **state)
{
    (void)state;
    lt_hist_t h = {0};
    assert_int_equal(lt_hist_quantile(&h, 0.5), 0);
    assert_int_equal(lt_hist_quantile(&h, 1.0), 0);
}

static void test_exact_below_64(void **state)
{
    (void)state;
    lt_hist_t h = {0};
    for (uint64_t v = 0; v < 64; v++)
        lt_hist_add(&h, v);
    assert_int_equal(h.count, 64);
    assert_int_equal(h.sum_us, 63 * 64 / 2);
    assert_int_equal(h.max_us, 63);
    assert_int_equal(lt_hist_quantile(&h, 0.0), 0);
    assert_int_equal(lt_hist_quantile(&h, 0.5), 31);   /* the 32nd of 64 */
    assert_int_equal(lt_hist_quantile(&h, 0.75), 47);
    assert_int_equal(lt_hist_quantile(&h, 1.0), 63);
    assert_int_equal(lt_hist_quantile(&h, 7.0), 63);   /* clamped to 1 */
}

/* 1 .. 100000 µs, each once: the q-quantile is q * 100000. */
static void test_uniform(void **state)
{
    (void)state;
    lt_hist_t *h = calloc(1, sizeof *h);
    assert_non_null(h);
    for (uint64_t v = 1; v <= 100000; v++)
        lt_hist_add(h, v);
    const double qs[] = {0.01, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        assert_near(lt_hist_quantile(h, qs[i]), (uint64_t)(qs[i] * 100000 + 0.5));
    assert_int_equal(lt_hist_quantile(h, 1.0), 100000);
    assert_int_equal(h->max_us, 100000);
    free(h);
}

/* 99 % at 250 µs, 1 % at 9 ms: p50 and p99 are 250's bucket, p99.5 is 9 ms. */
static void test_two_values(void **state)
{
    (void)state;
    lt_hist_t h = {0};
    for (int i = 0; i < 990; i++)
        lt_hist_add(&h, 250);
    for (int i = 0; i < 10; i++)
        lt_hist_add(&h, 9000);
    assert_near(lt_hist_quantile(&h, 0.5), 250);
    assert_near(lt_hist_quantile(&h, 0.99), 250);
    assert_int_equal(lt_hist_quantile(&h, 0.995), 9000);  /* never above the max */
    assert_int_equal(h.sum_us, 990 * 250 + 10 * 9000);
}

/* Geometric spread over the whole range (1 µs .. 60 s), each bucket's edge. */
static void test_bucket_edges(void **state)
{
    (void)state;
    for (uint64_t v = 1; v <= 60000000; v = v * 3 / 2 + 1) {
        lt_hist_t h = {0};
        lt_hist_add(&h, v);
        lt_hist_add(&h, 60000000);
        assert_near(lt_hist_quantile(&h, 0.5), v);
    }
}

static void test_overflow(void **state)
{
    (void)state;
    lt_hist_t h = {0};
    lt_hist_add(&h, 10);
    lt_hist_add(&h, 100000000);            /* 100 s */
    lt_hist_add(&h, UINT64_MAX / 4);
    assert_int_equal(lt_hist_quantile(&h, 0.3), 10);
    assert_int_equal(lt_hist_quantile(&h, 1.0), UINT64_MAX / 4);
    assert_int_equal(lt_hist_quantile(&h, 0.6), UINT64_MAX / 4);  /* overflow: the max */
}

static void test_merge(void **state)
{
    (void)state;
    lt_hist_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *all = calloc(1, sizeof *all);
    assert_true(a && b && all);
    uint32_t x = 1;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        uint64_t v = (x >> 8) % 50000;
        lt_hist_add(i % 3 ? a : b, v);
        lt_hist_add(all, v);
    }
    lt_hist_merge(a, b);
    assert_memory_equal(a, all, sizeof *a);
    lt_hist_t empty = {0};
    lt_hist_merge(a, &empty);
    assert_memory_equal(a, all, sizeof *a);
    free(a);
    free(b);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_exact_below_64),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_two_values),
        cmocka_unit_test(test_bucket_edges),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
