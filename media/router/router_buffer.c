/*
 * router_buffer.c — the retransmission ring of an incoming stream and the
 * life cycle of a published track's memory.
 *
 * A ring holds the last CS_ROUTER_RTX_BUFFER packets of one stream as
 * received (after RTX unwrapping), in slots indexed by sequence number and
 * stamped with the stream's epoch (a restart invalidates them all), so a
 * subscriber's NACK is answered by one lookup and one rewrite. The slots are
 * allocated once when a negotiation creates the track; storing a packet is
 * a copy into its slot.
 */
#include "media/router/internal.h"

#include <stdlib.h>
#include <string.h>

_Static_assert((CS_ROUTER_RTX_BUFFER & (CS_ROUTER_RTX_BUFFER - 1)) == 0,
               "CS_ROUTER_RTX_BUFFER must be a power of 2");
_Static_assert(CS_ROUTER_PACKET_MAX <= UINT16_MAX, "slot lengths are 16 bits");

int rt_ring_new(rt_ring_t *ring)
{
    ring->slots = calloc(CS_ROUTER_RTX_BUFFER, sizeof *ring->slots);
    ring->data = malloc((size_t)CS_ROUTER_RTX_BUFFER * CS_ROUTER_PACKET_MAX);
    if (ring->slots && ring->data)
        return CS_OK;
    rt_ring_free(ring);
    return CS_ENOMEM;
}

void rt_ring_free(rt_ring_t *ring)
{
    free(ring->slots);
    free(ring->data);
    ring->slots = NULL;
    ring->data = NULL;
}

void rt_ring_put(rt_in_t *in, uint16_t seq, const uint8_t *buf, size_t len)
{
    if (!in->ring.slots || len == 0 || len > CS_ROUTER_PACKET_MAX)
        return;
    unsigned i = seq & (CS_ROUTER_RTX_BUFFER - 1);
    memcpy(in->ring.data + (size_t)i * CS_ROUTER_PACKET_MAX, buf, len);
    in->ring.slots[i] = (rt_slot_t){.epoch = in->epoch, .len = (uint16_t)len, .seq = seq};
}

/* The packet with this sequence number, or NULL when it was never stored,
 * has been overwritten by a newer one or is from before a restart. */
const uint8_t *rt_ring_get(const rt_in_t *in, uint16_t seq, size_t *len)
{
    if (!in->ring.slots)
        return NULL;
    unsigned i = seq & (CS_ROUTER_RTX_BUFFER - 1);
    const rt_slot_t *s = &in->ring.slots[i];
    if (!s->len || s->seq != seq || s->epoch != in->epoch)
        return NULL;
    if (len)
        *len = s->len;
    return in->ring.data + (size_t)i * CS_ROUTER_PACKET_MAX;
}

/* A stream whose source restarted (new SSRC): forget what was received, keep
 * the memory; the new epoch makes the ring's packets stale (no clearing of
 * 750 KiB) and tells subscribers to resynchronise. */
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
