/*
 * ring.c — the recorder's bounded byte ring: records (a small header and
 * the packet's bytes) laid end to end in one fixed buffer, wrapping around.
 *
 * Not thread-safe by itself: the recorder's mutex guards every call that
 * changes head or used. The writer reads the used region without the
 * mutex (ring_peek, from a tail taken under the mutex) because producers
 * only ever write into the free part, and it gives the bytes back with
 * ring_consume under the mutex.
 */
#include "media/recorder/internal.h"

#include <stdlib.h>
#include <string.h>

#define RING_ALIGN 8

int ring_init(ring_t *q, size_t cap)
{
    memset(q, 0, sizeof *q);
    if (cap < ring_need(CS_REC_PACKET_MAX))
        return CS_EINVAL;
    q->buf = malloc(cap);
    if (!q->buf)
        return CS_ENOMEM;
    q->cap = cap;
    return CS_OK;
}

void ring_free(ring_t *q)
{
    free(q->buf);
    memset(q, 0, sizeof *q);
}

size_t ring_need(size_t len)
{
    return (sizeof(ring_rec_t) + len + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1);
}

static void copy_in(ring_t *q, size_t pos, const void *src, size_t n)
{
    size_t first = q->cap - pos < n ? q->cap - pos : n;
    memcpy(q->buf + pos, src, first);
    memcpy(q->buf, (const uint8_t *)src + first, n - first);
}

static void copy_out(const ring_t *q, size_t pos, void *dst, size_t n)
{
    size_t first = q->cap - pos < n ? q->cap - pos : n;
    memcpy(dst, q->buf + pos, first);
    memcpy((uint8_t *)dst + first, q->buf, n - first);
}

static size_t wrap(const ring_t *q, size_t pos)
{
    return pos >= q->cap ? pos - q->cap : pos;
}

bool ring_put(ring_t *q, const ring_rec_t *h, const void *data)
{
    size_t need = ring_need(h->len);
    if (need > q->cap - q->used)
        return false;
    copy_in(q, q->head, h, sizeof *h);
    if (h->len)
        copy_in(q, wrap(q, q->head + sizeof *h), data, h->len);
    q->head = wrap(q, q->head + need);
    q->used += need;
    return true;
}

size_t ring_tail(const ring_t *q)
{
    return wrap(q, q->head + q->cap - q->used);
}

size_t ring_peek(const ring_t *q, size_t *pos, ring_rec_t *h, void *data, size_t data_cap)
{
    copy_out(q, *pos, h, sizeof *h);
    size_t n = h->len <= data_cap ? h->len : data_cap;
    if (n)
        copy_out(q, wrap(q, *pos + sizeof *h), data, n);
    size_t need = ring_need(h->len);
    *pos = wrap(q, *pos + need);
    return need;
}

void ring_consume(ring_t *q, size_t n)
{
    q->used -= n <= q->used ? n : q->used;
}
