/*
 * hist.c — the latency histogram of media.h: log-linear buckets, exact to the
 * microsecond below 64 µs, then 32 buckets per power of two (a bucket is
 * 1/32 of its octave, about 3 %) up to 2^26 µs (67 s), and one bucket for
 * anything longer. A value costs a count-leading-zeros and an increment, so
 * a receiver can add every packet; quantiles walk the fixed array.
 */
#include <math.h>

#include "tests/load/media.h"

#define EXACT 64                        /* values 0..63 have a bucket each */
#define SUB_BITS 5                      /* 32 buckets per octave */
#define FIRST_OCTAVE 6                  /* 2^6 = EXACT */
#define LAST_OCTAVE 25                  /* 2^25 .. 2^26 - 1 µs */
#define OVERFLOW (EXACT + (LAST_OCTAVE - FIRST_OCTAVE + 1) * (1 << SUB_BITS))

_Static_assert(OVERFLOW < LT_HIST_BUCKETS, "histogram buckets");

static size_t bucket_of(uint64_t us)
{
    if (us < EXACT)
        return (size_t)us;
    int octave = 63 - __builtin_clzll(us);
    if (octave > LAST_OCTAVE)
        return OVERFLOW;
    size_t sub = (size_t)(us >> (octave - SUB_BITS)) & ((1u << SUB_BITS) - 1);
    return EXACT + (size_t)(octave - FIRST_OCTAVE) * (1u << SUB_BITS) + sub;
}

/* The largest value that falls in bucket i (UINT64_MAX for the overflow). */
static uint64_t upper_edge(size_t i)
{
    if (i < EXACT)
        return i;
    if (i >= OVERFLOW)
        return UINT64_MAX;
    size_t octave = FIRST_OCTAVE + (i - EXACT) / (1u << SUB_BITS);
    uint64_t sub = (i - EXACT) % (1u << SUB_BITS);
    uint64_t width = (uint64_t)1 << (octave - SUB_BITS);
    return ((uint64_t)1 << octave) + (sub + 1) * width - 1;
}

void lt_hist_add(lt_hist_t *h, uint64_t us)
{
    h->b[bucket_of(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

void lt_hist_merge(lt_hist_t *into, const lt_hist_t *from)
{
    for (size_t i = 0; i < LT_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

/* Never above the largest value seen: the top bucket's edge would overstate it. */
uint64_t lt_hist_quantile(const lt_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);   /* the nearest-rank method */
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (size_t i = 0; i < LT_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t edge = upper_edge(i);
            return edge < h->max_us ? edge : h->max_us;
        }
    }
    return h->max_us;
}
