/*
 * rtp_seq.c — what a receiver keeps per source to report loss and jitter:
 * 16-bit sequence arithmetic, the extended-sequence tracker of RFC 3550
 * Appendix A.1 (probation for new sources, limits on dropout and misorder),
 * and the interarrival jitter estimator of §6.4.1 / A.8.
 */
#include "rtp.h"

#include <string.h>

#include "common/common.h"

#define SEQ_MOD 65536u

int32_t cs_rtp_seq_diff(uint16_t a, uint16_t b)
{
    uint16_t d = (uint16_t)(a - b);
    return d < 0x8000 ? (int32_t)d : (int32_t)d - 65536;
}

bool cs_rtp_seq_newer(uint16_t a, uint16_t b)
{
    return cs_rtp_seq_diff(a, b) > 0;
}

/* ---- extended sequence numbers (RFC 3550 A.1) ------------------------------- */

void cs_rtp_seqtrack_init(cs_rtp_seqtrack_t *t)
{
    memset(t, 0, sizeof *t);
    t->bad_seq = SEQ_MOD + 1;
}

/* A.1 init_seq(): the source (re)starts at seq. */
static void restart(cs_rtp_seqtrack_t *t, uint16_t seq)
{
    t->base_seq = seq;
    t->max_seq = seq;
    t->bad_seq = SEQ_MOD + 1;   /* so seq == bad_seq is false */
    t->cycles = 0;
    t->received = 0;
    t->received_prior = 0;
    t->expected_prior = 0;
}

/* Places a packet that is not the new highest in the cycle it belongs to. */
static int64_t ext_of_old(const cs_rtp_seqtrack_t *t, uint16_t seq)
{
    return (int64_t)cs_rtp_seqtrack_ext_max(t) -
           (int64_t)(uint16_t)(t->max_seq - seq);
}

/* During probation: MIN_SEQUENTIAL packets in a row confirm the source. */
static cs_rtp_seq_result_t probation(cs_rtp_seqtrack_t *t, uint16_t seq, int64_t *ext)
{
    *ext = -1;
    if (seq == (uint16_t)(t->max_seq + 1)) {
        t->probation--;
        t->max_seq = seq;
        if (t->probation == 0) {
            restart(t, seq);
            t->received++;
            *ext = seq;
            return CS_RTP_SEQ_NEW;
        }
    } else {
        t->probation = CS_RTP_MIN_SEQUENTIAL - 1;
        t->max_seq = seq;
    }
    return CS_RTP_SEQ_PROBATION;
}

cs_rtp_seq_result_t cs_rtp_seqtrack_update(cs_rtp_seqtrack_t *t, uint16_t seq, int64_t *ext)
{
    int64_t dummy;
    if (!ext)
        ext = &dummy;
    if (!t->started) {
        /* A.1: init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL. */
        restart(t, seq);
        t->max_seq = (uint16_t)(seq - 1);
        t->probation = CS_RTP_MIN_SEQUENTIAL;
        t->started = true;
    }
    if (t->probation)
        return probation(t, seq, ext);

    uint16_t udelta = (uint16_t)(seq - t->max_seq);
    cs_rtp_seq_result_t res;
    if (udelta == 0) {
        res = CS_RTP_SEQ_OLD;             /* duplicate of the highest */
    } else if (udelta < CS_RTP_MAX_DROPOUT) {
        if (seq < t->max_seq)             /* in order with a permissible gap */
            t->cycles += SEQ_MOD;
        t->max_seq = seq;
        res = CS_RTP_SEQ_NEW;
    } else if (udelta <= SEQ_MOD - CS_RTP_MAX_MISORDER) {
        /* A very large jump: believe it only if the next packet follows it. */
        if (seq != t->bad_seq) {
            t->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
            *ext = -1;
            return CS_RTP_SEQ_BAD;
        }
        restart(t, seq);
        res = CS_RTP_SEQ_RESET;
    } else {
        res = CS_RTP_SEQ_OLD;             /* reordered within MAX_MISORDER */
    }
    t->received++;
    *ext = res == CS_RTP_SEQ_OLD ? ext_of_old(t, seq) : (int64_t)cs_rtp_seqtrack_ext_max(t);
    return res;
}

uint64_t cs_rtp_seqtrack_ext_max(const cs_rtp_seqtrack_t *t)
{
    return t->cycles + t->max_seq;
}

uint64_t cs_rtp_seqtrack_expected(const cs_rtp_seqtrack_t *t)
{
    if (!t->started || t->probation)
        return 0;
    return cs_rtp_seqtrack_ext_max(t) - t->base_seq + 1;
}

/* ---- interarrival jitter (RFC 3550 §6.4.1, A.8) ---------------------------------- */

void cs_rtp_jitter_init(cs_rtp_jitter_t *j)
{
    memset(j, 0, sizeof *j);
}

void cs_rtp_jitter_update(cs_rtp_jitter_t *j, uint32_t rtp_ts, uint32_t arrival_ts)
{
    /* Transit times wrap with the 32-bit clocks; only their difference matters,
     * and it is small, so a signed 32-bit view of it is exact. */
    uint32_t transit = arrival_ts - rtp_ts;
    if (!j->started) {
        j->started = true;
        j->transit = transit;
        return;
    }
    int64_t d = (int32_t)(transit - j->transit);
    j->transit = transit;
    if (d < 0)
        d = -d;
    /* J += (|D| - J) / 16, with J kept as J*16: J16 += |D| - round(J16 / 16). */
    int64_t next = (int64_t)j->jitter_q4 + d - (((int64_t)j->jitter_q4 + 8) >> 4);
    j->jitter_q4 = next > UINT32_MAX ? UINT32_MAX : (uint32_t)next;
}

uint32_t cs_rtp_jitter_get(const cs_rtp_jitter_t *j)
{
    return j->jitter_q4 >> 4;
}

uint32_t cs_rtp_time_to_ts(uint64_t us, uint32_t clock_rate)
{
    /* Split so that us * clock_rate cannot overflow for wall-clock times. */
    uint64_t whole = (us / 1000000) * clock_rate;
    uint64_t part = (us % 1000000) * clock_rate / 1000000;
    return (uint32_t)(whole + part);
}
