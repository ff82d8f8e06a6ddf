/*
 * test_ws_range.c — unit tests for cs_http_range_parse (signaling/ws/ws_range.c):
 * the Range header reduced to one byte range, against RFC 9110 §14.1-14.2 —
 * the three forms, clamping, unsatisfiable ranges, what counts as malformed
 * (several ranges, other units, signs, whitespace, overflow), edge sizes,
 * and that the value is never read past its NUL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "signaling/ws/ws.h"

#define SENTINEL 0xdeadbeefULL

struct ok_case {
    const char *value;
    uint64_t size, first, last;
};

static void expect_ok(const char *value, uint64_t size, uint64_t first, uint64_t last)
{
    uint64_t f = SENTINEL, l = SENTINEL;
    int rc = cs_http_range_parse(value, size, &f, &l);
    if (rc != CS_OK || f != first || l != last)
        print_error("\"%s\" size %llu: rc %d, %llu-%llu\n", value, (unsigned long long)size, rc,
                    (unsigned long long)f, (unsigned long long)l);
    assert_int_equal(rc, CS_OK);
    assert_true(f == first);
    assert_true(l == last);
}

/* A refusal leaves the outputs alone. */
static void expect_rc(const char *value, uint64_t size, int want)
{
    uint64_t f = SENTINEL, l = SENTINEL;
    int rc = cs_http_range_parse(value, size, &f, &l);
    if (rc != want)
        print_error("\"%s\" size %llu: rc %d, want %d\n", value ? value : "(null)",
                    (unsigned long long)size, rc, want);
    assert_int_equal(rc, want);
    assert_true(f == SENTINEL && l == SENTINEL);
}

static void test_range_forms(void **state)
{
    (void)state;
    static const struct ok_case cases[] = {
        /* bytes=a-b, clamped to the end */
        {"bytes=0-0", 10, 0, 0},
        {"bytes=0-9", 10, 0, 9},
        {"bytes=0-99", 5242880, 0, 99},
        {"bytes=3-5", 10, 3, 5},
        {"bytes=9-9", 10, 9, 9},
        {"bytes=9-10", 10, 9, 9},
        {"bytes=2-18446744073709551615", 10, 2, 9},
        {"bytes=007-0008", 10, 7, 8}, /* leading zeros are digits like any */
        /* bytes=a- */
        {"bytes=0-", 10, 0, 9},
        {"bytes=9-", 10, 9, 9},
        {"bytes=1048576-", 5242880, 1048576, 5242879},
        /* bytes=-n: the last n bytes, or all of them */
        {"bytes=-1", 10, 9, 9},
        {"bytes=-3", 10, 7, 9},
        {"bytes=-10", 10, 0, 9},
        {"bytes=-11", 10, 0, 9},
        {"bytes=-18446744073709551615", 10, 0, 9},
        {"bytes=-500", 5242880, 5242380, 5242879},
        /* the unit is case-insensitive; OWS around the value and commas */
        {"BYTES=1-2", 10, 1, 2},
        {"Bytes=1-2", 10, 1, 2},
        {" \tbytes=1-2", 10, 1, 2},
        {"bytes=1-2 \t", 10, 1, 2},
        {"bytes=1-2,", 10, 1, 2},
        {"bytes=1-2 , ", 10, 1, 2},
        {"bytes=,1-2", 10, 1, 2},
        {"bytes=, \t,1-2,,", 10, 1, 2},
        /* edge sizes */
        {"bytes=0-", 1, 0, 0},
        {"bytes=-1", 1, 0, 0},
        {"bytes=0-5", 1, 0, 0},
        {"bytes=18446744073709551614-", UINT64_MAX, 18446744073709551614ULL,
         18446744073709551614ULL},
        {"bytes=0-18446744073709551615", UINT64_MAX, 0, 18446744073709551614ULL},
        {"bytes=-18446744073709551615", UINT64_MAX, 0, 18446744073709551614ULL},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++)
        expect_ok(cases[i].value, cases[i].size, cases[i].first, cases[i].last);
}

static void test_range_unsatisfiable(void **state)
{
    (void)state;
    expect_rc("bytes=10-", 10, CS_ELIMIT);
    expect_rc("bytes=10-20", 10, CS_ELIMIT);
    expect_rc("bytes=11-11", 10, CS_ELIMIT);
    expect_rc("bytes=5242880-", 5242880, CS_ELIMIT);
    expect_rc("bytes=18446744073709551615-", 10, CS_ELIMIT);
    expect_rc("bytes=18446744073709551615-", UINT64_MAX, CS_ELIMIT);
    expect_rc("bytes=-0", 10, CS_ELIMIT);
    expect_rc("bytes=-000", 10, CS_ELIMIT);
    /* An empty body has no byte to give. */
    expect_rc("bytes=0-", 0, CS_ELIMIT);
    expect_rc("bytes=0-0", 0, CS_ELIMIT);
    expect_rc("bytes=-5", 0, CS_ELIMIT);
    expect_rc("bytes=-0", 0, CS_ELIMIT);
}

static void test_range_not_usable(void **state)
{
    (void)state;
    static const char *const bad[] = {
        NULL, "", " ", "bytes", "bytes=", "bytes= ", "bytes=,", "bytes=, ,",
        /* several ranges are ignored, however good each one is */
        "bytes=0-1,2-3", "bytes=0-1, 2-3", "bytes=-1,0-", "bytes=0-0,0-0",
        /* another unit, or a unit that only starts like ours */
        "items=0-5", "byte=0-5", "bytesx=0-5", "bytes0-5", "xbytes=0-5", "bytes:0-5",
        /* whitespace where the grammar has none */
        "bytes =0-5", "bytes= 0-5", "bytes=0 -5", "bytes=0- 5", "bytes=0-5 6", "bytes=- 5",
        "bytes=1 0-20", "bytes=10-2 0",
        /* signs, missing or extra parts, other characters */
        "bytes=+1-2", "bytes=1-+2", "bytes=-+5", "bytes=--5", "bytes=-", "bytes=--",
        "bytes=1", "bytes=1--", "bytes=1-2-", "bytes=1-2-3", "bytes=a-b", "bytes=0x10-",
        "bytes=1.5-2", "bytes=1-2;x", "bytes=1-2\r\n", "bytes=1-2\x01", "bytes=\xff",
        "bytes=1-2 x", "=0-5", "bytes==0-5",
        /* last before first is invalid, not empty */
        "bytes=5-4", "bytes=1-0",
        /* numbers past 2^64-1 are refused, not wrapped or clamped */
        "bytes=18446744073709551616-", "bytes=0-18446744073709551616",
        "bytes=-18446744073709551616", "bytes=99999999999999999999-",
        "bytes=0-99999999999999999999999999999999", "bytes=-000018446744073709551616",
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++) {
        expect_rc(bad[i], 100, CS_ENOTFOUND);
        expect_rc(bad[i], 0, CS_ENOTFOUND); /* malformed comes before unsatisfiable */
    }
    uint64_t x;
    assert_int_equal(cs_http_range_parse("bytes=0-1", 10, NULL, &x), CS_EINVAL);
    assert_int_equal(cs_http_range_parse("bytes=0-1", 10, &x, NULL), CS_EINVAL);
}

/* Every first/last/size up to 12 against the RFC's definition: a range is
 * satisfiable when its first byte exists, and ends at its last or the body's. */
static void test_range_small_grid(void **state)
{
    (void)state;
    char v[64];
    for (uint64_t size = 0; size <= 12; size++)
        for (uint64_t a = 0; a <= 12; a++) {
            for (uint64_t b = 0; b <= 12; b++) {
                snprintf(v, sizeof v, "bytes=%llu-%llu", (unsigned long long)a,
                         (unsigned long long)b);
                if (b < a)
                    expect_rc(v, size, CS_ENOTFOUND);
                else if (a >= size)
                    expect_rc(v, size, CS_ELIMIT);
                else
                    expect_ok(v, size, a, b < size ? b : size - 1);
            }
            snprintf(v, sizeof v, "bytes=%llu-", (unsigned long long)a);
            if (a >= size)
                expect_rc(v, size, CS_ELIMIT);
            else
                expect_ok(v, size, a, size - 1);
            snprintf(v, sizeof v, "bytes=-%llu", (unsigned long long)a);
            if (a == 0 || size == 0)
                expect_rc(v, size, CS_ELIMIT);
            else
                expect_ok(v, size, a >= size ? 0 : size - a, size - 1);
        }
}

/* Each value ends exactly at the end of a readable page, its NUL the page's
 * last byte, with an unmapped page after it: a read past the NUL faults. */
static void test_range_stops_at_nul(void **state)
{
    (void)state;
    long pg = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
    static const char *const values[] = {
        "", "b", "bytes", "bytes=", "bytes=1", "bytes=1-", "bytes=1-2", "bytes=-",
        "bytes=-5", "bytes=1-2,", "bytes=1-2 ", "bytes=1-2, ", "bytes=18446744073709551615",
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(values); i++) {
        size_t n = strlen(values[i]) + 1;
        char *v = map + pg - n;
        memcpy(v, values[i], n);
        uint64_t f, l;
        int rc = cs_http_range_parse(v, 10, &f, &l);
        assert_true(rc == CS_OK || rc == CS_ENOTFOUND || rc == CS_ELIMIT);
    }
    munmap(map, (size_t)pg * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_forms),
        cmocka_unit_test(test_range_unsatisfiable),
        cmocka_unit_test(test_range_not_usable),
        cmocka_unit_test(test_range_small_grid),
        cmocka_unit_test(test_range_stops_at_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
