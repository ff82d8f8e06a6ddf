/*
 * router_buffer.c — the retransmission ring of an incoming stream and the
 * life cycle of a published track's memory.
 *
 * A ring holds the last CS_ROUTER_RTX_BUFFER packets of one stream as
 * received (after RTX unwrapping): slot headers indexed by sequence number
 * and stamped with the stream's epoch (a restart invalidates them all), so a
 * subscriber's NACK is answered by one lookup and one rewrite, and the
 * packets themselves packed in a byte ring. A slot is valid while its bytes
 * have not been written over, which its position tells in O(1). The byte
 * ring starts small and doubles (forgetting what it held, once) whenever it
 * wraps twice within a second, so its memory follows the stream's bitrate:
 * a second of history is what a NACK can still use.
 */
#include "media/router/internal.h"

#include <stdlib.h>
#include <string.h>

_Static_assert((CS_ROUTER_RTX_BUFFER & (CS_ROUTER_RTX_BUFFER - 1)) == 0,
               "CS_ROUTER_RTX_BUFFER must be a power of 2");
_Static_assert(CS_ROUTER_PACKET_MAX <= UINT16_MAX, "slot lengths are 16 bits");
_Static_assert((CS_ROUTER_RTX_BYTES_MIN & (CS_ROUTER_RTX_BYTES_MIN - 1)) == 0 &&
                   CS_ROUTER_RTX_BYTES_MIN >= 8 * CS_ROUTER_PACKET_MAX &&
                   CS_ROUTER_RTX_BYTES_MAX <= (1u << 30),
               "the byte ring is a power of 2, holds several packets and far less than 2^32");

#define RING_WINDOW_US 1000000      /* history worth keeping */

int rt_ring_new(rt_ring_t *ring)
{
    *ring = (rt_ring_t){0};
    ring->slots = calloc(CS_ROUTER_RTX_BUFFER, sizeof *ring->slots);
    ring->data = malloc(CS_ROUTER_RTX_BYTES_MIN);
    ring->cap = CS_ROUTER_RTX_BYTES_MIN;
    if (ring->slots && ring->data)
        return CS_OK;
    rt_ring_free(ring);
    return CS_ENOMEM;
}

void rt_ring_free(rt_ring_t *ring)
{
    free(ring->slots);
    free(ring->data);
    *ring = (rt_ring_t){0};
}

static bool intact(const rt_ring_t *ring, const rt_slot_t *s)
{
    return ring->head - s->pos <= ring->cap;
}

/* Twice as many bytes when a second no longer fits. What the old bytes held
 * is given up (head jumps past every stored position); when the memory is
 * not there the ring goes on as it was. */
static void grow(rt_ring_t *ring)
{
    uint8_t *bigger = malloc((size_t)ring->cap * 2);
    if (!bigger)
        return;
    free(ring->data);
    ring->data = bigger;
    ring->cap *= 2;
    ring->head += 2 * ring->cap;
    ring->head &= ~(ring->cap - 1);
}

void rt_ring_put(rt_in_t *in, uint16_t seq, const uint8_t *buf, size_t len, int64_t now)
{
    rt_ring_t *ring = &in->ring;
    if (!ring->slots || len == 0 || len > CS_ROUTER_PACKET_MAX)
        return;
    uint32_t off = ring->head & (ring->cap - 1);
    if (off + len > ring->cap) {
        ring->head += ring->cap - off;          /* packets never straddle the end */
        off = 0;
    }
    if (off == 0) {                             /* a new lap */
        if (ring->wrap_us && now - ring->wrap_us < RING_WINDOW_US &&
            ring->cap < CS_ROUTER_RTX_BYTES_MAX)
            grow(ring);
        ring->wrap_us = now;
    }
    memcpy(ring->data + off, buf, len);
    ring->slots[seq & (CS_ROUTER_RTX_BUFFER - 1)] =
        (rt_slot_t){.epoch = in->epoch, .len = (uint16_t)len, .seq = seq, .pos = ring->head};
    ring->head += (uint32_t)len;
}

/* The packet with this sequence number, or NULL when it was never stored,
 * has been written over by newer ones or is from before a restart. */
const uint8_t *rt_ring_get(const rt_in_t *in, uint16_t seq, size_t *len)
{
    const rt_ring_t *ring = &in->ring;
    if (!ring->slots)
        return NULL;
    const rt_slot_t *s = &ring->slots[seq & (CS_ROUTER_RTX_BUFFER - 1)];
    if (!s->len || s->seq != seq || s->epoch != in->epoch || !intact(ring, s))
        return NULL;
    if (len)
        *len = s->len;
    return ring->data + (s->pos & (ring->cap - 1));
}

/* A stream whose source restarted (new SSRC): forget what was received, keep
 * the memory; the new epoch makes the ring's packets stale (no clearing) and
 * tells subscribers to resynchronise. */
void rt_in_reset(rt_in_t *in)
{
    cs_rtp_seqtrack_init(&in->seq);
    cs_rtp_jitter_init(&in->jitter);
    in->have_max = false;
    in->n_nacks = 0;
    in->have_sr = false;
    in->st_expected = in->st_received = 0;
    in->epoch++;
}

/* The stream's media SSRC is now ssrc (announced or learned). */
void rt_in_bind(rt_track_t *t, rt_in_t *in, uint32_t ssrc)
{
    rt_in_reset(in);
    in->ssrc = ssrc;
    in->has_ssrc = true;
    /* Firefox announces FID pairs but not which rid each belongs to. */
    for (unsigned i = 0; i < t->n_fid; i++)
        if (t->fid[i][0] == ssrc) {
            in->rtx_ssrc = t->fid[i][1];
            in->has_rtx = true;
        }
}

void rt_track_release(rt_track_t *t)
{
    for (unsigned l = 0; l < CS_ROUTER_MAX_LAYERS; l++)
        rt_ring_free(&t->layers[l].ring);
    uint8_t slot = t->slot;
    struct cs_router_member *owner = t->owner;
    memset(t, 0, sizeof *t);
    t->slot = slot;
    t->owner = owner;
}
