/*
 * jitter.c — per stream, packets put back in sequence order before the
 * depacketiser and decoders see them.
 *
 * The output clock runs CS_PP_HOLD_US behind the arrivals, so a packet is
 * released when its mapped time comes up, not when it arrives: a
 * retransmission that arrived a second late still lands in order, and a gap
 * is given up only when the packet after it is due. Packets live in buffers
 * of one job-wide pool (allocated in blocks, reused, capped) indexed by a
 * ring of CS_PP_JB_SLOTS per stream: no allocation per packet.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void cs_pp_pool_init(cs_pp_pool_t *p)
{
    memset(p, 0, sizeof *p);
}

static int pool_grow(cs_pp_pool_t *p)
{
    if (p->total + CS_PP_POOL_BLOCK > CS_PP_POOL_MAX)
        return CS_ELIMIT;
    if (p->n_blocks == p->cap_blocks) {
        size_t cap = p->cap_blocks ? p->cap_blocks * 2 : 8;
        void **b = realloc(p->blocks, cap * sizeof *b);
        if (!b)
            return CS_ENOMEM;
        p->blocks = b;
        p->cap_blocks = cap;
    }
    cs_pp_pkt_t *block = malloc(sizeof *block * CS_PP_POOL_BLOCK);
    if (!block)
        return CS_ENOMEM;
    p->blocks[p->n_blocks++] = block;
    for (size_t i = 0; i < CS_PP_POOL_BLOCK; i++) {
        block[i].next_free = p->free_list;
        p->free_list = &block[i];
    }
    p->total += CS_PP_POOL_BLOCK;
    return CS_OK;
}

cs_pp_pkt_t *cs_pp_pool_get(cs_pp_pool_t *p)
{
    if (!p->free_list && pool_grow(p) != CS_OK)
        return NULL;
    cs_pp_pkt_t *pkt = p->free_list;
    p->free_list = pkt->next_free;
    pkt->next_free = NULL;
    p->in_use++;
    return pkt;
}

void cs_pp_pool_put(cs_pp_pool_t *p, cs_pp_pkt_t *pkt)
{
    if (!pkt)
        return;
    pkt->next_free = p->free_list;
    p->free_list = pkt;
    p->in_use--;
}

void cs_pp_pool_free(cs_pp_pool_t *p)
{
    for (size_t i = 0; i < p->n_blocks; i++)
        free(p->blocks[i]);
    free(p->blocks);
    memset(p, 0, sizeof *p);
}

#define SLOT(jb, ext) ((jb)->slot[(size_t)(ext) & (CS_PP_JB_SLOTS - 1)])

int cs_pp_jb_init(cs_pp_jb_t *jb)
{
    memset(jb, 0, sizeof *jb);
    jb->slot = calloc(CS_PP_JB_SLOTS, sizeof *jb->slot);
    return jb->slot ? CS_OK : CS_ENOMEM;
}

void cs_pp_jb_reset(cs_pp_jb_t *jb)
{
    jb->started = false;
    jb->released = false;
    jb->count = 0;
}

int cs_pp_jb_push(cs_pp_jb_t *jb, cs_pp_pkt_t *pkt)
{
    int64_t ext = pkt->ext_seq;
    if (!jb->started) {
        jb->started = true;
        jb->next = jb->max = ext;
    } else if (ext < jb->next) {
        /* Before anything was released a reordered first packet moves the
         * start back; afterwards it is too late. */
        if (jb->released || jb->max - ext >= CS_PP_JB_SLOTS)
            return CS_ESTATE;
        jb->next = ext;
    }
    if (ext - jb->next >= CS_PP_JB_SLOTS)
        return CS_ELIMIT;
    if (SLOT(jb, ext))      /* held packets lie within one lap: the same number */
        return CS_EEXIST;
    SLOT(jb, ext) = pkt;
    jb->count++;
    if (ext > jb->max)
        jb->max = ext;
    return CS_OK;
}

cs_pp_pkt_t *cs_pp_jb_pop(cs_pp_jb_t *jb, int64_t horizon_us, uint64_t *lost)
{
    *lost = 0;
    if (!jb->count)
        return NULL;
    int64_t e = jb->next;
    while (e <= jb->max && !SLOT(jb, e))
        e++;
    if (e > jb->max)    /* cannot happen while count > 0 */
        return NULL;
    cs_pp_pkt_t *pkt = SLOT(jb, e);
    if (pkt->rec_us > horizon_us)
        return NULL;
    *lost = (uint64_t)(e - jb->next);
    SLOT(jb, e) = NULL;
    jb->count--;
    jb->next = e + 1;
    jb->released = true;
    return pkt;
}

void cs_pp_jb_free(cs_pp_jb_t *jb, cs_pp_pool_t *pool)
{
    /* A slot holds a packet exactly while it waits (pop clears it). */
    for (size_t i = 0; jb->slot && i < CS_PP_JB_SLOTS; i++)
        cs_pp_pool_put(pool, jb->slot[i]);
    free(jb->slot);
    memset(jb, 0, sizeof *jb);
}
