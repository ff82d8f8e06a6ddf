/*
 * hostile.c — the attacker of consilium-load --hostile (see hostile.h):
 * each turn sends one datagram of the next kind, alternating between the
 * victim's own address (lt_peer_send_raw, on its selected pair) and a
 * socket of its own on another port, and reads what the server answers
 * that socket (a DTLS handshake from it is followed as far as the server
 * lets it go).
 *
 * The datagrams are built here by hand on purpose: they must be wrong in
 * exact ways (a length that runs past the end, a tag that does not
 * authenticate, a MESSAGE-INTEGRITY made with the wrong password), which
 * the project's own builders refuse to write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/common.h"
#include "media/dtls/dtls.h"
#include "tests/load/addr.h"
#include "tests/load/hostile.h"

#define DGRAM_MAX 1300
#define REPLAY_SLOTS 64          /* the victim's last SRTP packets, for replays */
#define DTLS_LIFE_US 3000000     /* a handshake from the other port, at most */
#define MAX_BEHIND_US 100000     /* a late turn sends at most this much backlog */
#define RTCP_VARIANTS 10

typedef struct {
    uint8_t b[DGRAM_MAX];
    size_t len;
} dgram_t;

struct lt_hostile {
    lt_peer_t *victim;
    cs_dtls_cert_t *cert;        /* not the one the victim's SDP announced */
    int fd;                      /* the other port */
    lt_peer_ice_t ice;           /* remote_len 0 until the victim's pair is known (resolve) */
    int64_t interval_us, next_us;
    uint64_t turn, rng;
    dgram_t replay[REPLAY_SLOTS];
    size_t n_replay, replay_next;
    cs_dtls_session_t *dtls;     /* a handshake from the other port */
    int64_t dtls_until_us;
    bool dtls_via_victim;        /* while a ClientHello is sent from the victim's address */
    lt_hostile_stats_t st;
};

static const char *const kind_names[LT_HOSTILE_KINDS] = {
    "random", "stranger", "replay", "forged_srtp", "bad_rtcp", "dtls", "stun",
};

const char *lt_hostile_kind_name(lt_hostile_kind_t k)
{
    return (unsigned)k < LT_HOSTILE_KINDS ? kind_names[k] : "?";
}

static uint32_t next_rand(lt_hostile_t *h)
{
    h->rng ^= h->rng << 13;     /* xorshift64: fast; seeded per run and consult */
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return (uint32_t)(h->rng >> 32);
}

static void fill_random(lt_hostile_t *h, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)next_rand(h);
}

/* ---- the two ways out ------------------------------------------------------------------------ */

static int send_stranger(lt_hostile_t *h, const uint8_t *b, size_t len)
{
    if (sendto(h->fd, b, len, 0, (const struct sockaddr *)&h->ice.remote, h->ice.remote_len) < 0)
        return CS_EIO;
    return (int)len;
}

static bool send_either(lt_hostile_t *h, const uint8_t *b, size_t len, bool via_victim)
{
    return (via_victim ? lt_peer_send_raw(h->victim, b, len) : send_stranger(h, b, len)) >= 0;
}

/* ---- the victim's SRTP, copied as it is sent -------------------------------------------------- */

static void on_tap(void *user, const uint8_t *srtp, size_t len)
{
    lt_hostile_t *h = user;
    if (len > DGRAM_MAX || len < 12)
        return;
    dgram_t *d = &h->replay[h->replay_next];
    memcpy(d->b, srtp, len);
    d->len = len;
    h->replay_next = (h->replay_next + 1) % REPLAY_SLOTS;
    if (h->n_replay < REPLAY_SLOTS)
        h->n_replay++;
}

static const dgram_t *latest(const lt_hostile_t *h)
{
    return h->n_replay ? &h->replay[(h->replay_next + REPLAY_SLOTS - 1) % REPLAY_SLOTS] : NULL;
}

/* ---- the kinds -------------------------------------------------------------------------------- */

/* Random bytes whose first byte falls in each demultiplexing range in turn
 * (RFC 7983: STUN 0–3, DTLS 20–63, RTP/RTCP 128–191) or anywhere. */
static bool attack_random(lt_hostile_t *h, bool via_victim)
{
    static const uint8_t lo[4] = {0, 20, 128, 0}, span[4] = {4, 44, 64, 255};
    uint8_t b[DGRAM_MAX];
    size_t len = 1 + next_rand(h) % 1200;
    fill_random(h, b, len);
    unsigned r = (unsigned)(h->turn / LT_HOSTILE_KINDS) % 4;
    b[0] = (uint8_t)(lo[r] + next_rand(h) % span[r]);
    if (r == 2 && len > 1 && next_rand(h) % 2)
        b[1] = (uint8_t)(200 + next_rand(h) % 7);  /* looks like RTCP */
    return send_either(h, b, len, via_victim);
}

static bool attack_replay(lt_hostile_t *h, bool via_victim)
{
    if (!h->n_replay)
        return false;
    const dgram_t *d = &h->replay[next_rand(h) % h->n_replay];
    return send_either(h, d->b, d->len, via_victim);
}

/* The latest packet's fixed header (its SSRC and payload type), a sequence
 * number a little or far ahead, then random payload and tag: if the server
 * moved its replay window before authenticating, the real packets that
 * follow would be dropped as old. */
static bool attack_forged(lt_hostile_t *h, bool via_victim)
{
    const dgram_t *d = latest(h);
    if (!d)
        return false;
    uint8_t b[DGRAM_MAX];
    memcpy(b, d->b, 12);
    b[0] = 0x80;                                /* no padding, extension or CSRCs */
    unsigned seq = cs_rd16(d->b + 2);
    unsigned ahead = next_rand(h) % 2 ? 1 + next_rand(h) % 64 : 1000 + next_rand(h) % 40000;
    cs_wr16(b + 2, (uint16_t)(seq + ahead));
    size_t len = 12 + 20 + next_rand(h) % 900;
    fill_random(h, b + 12, len - 12);
    return send_either(h, b, len, via_victim);
}

/* One RTCP datagram, valid SRTCP around it, wrong inside. */
static size_t bad_rtcp(lt_hostile_t *h, uint8_t *b, uint32_t ssrc)
{
    unsigned v = (unsigned)(h->turn / LT_HOSTILE_KINDS) % RTCP_VARIANTS;
    memset(b, 0, 64);
    cs_wr32(b + 4, ssrc);
    switch (v) {
    case 0:  /* an SR whose length claims 12 words; 7 are there */
        b[0] = 0x80; b[1] = 200; cs_wr16(b + 2, 12);
        return 28;
    case 1:  /* an RR counting 31 report blocks; none are there */
        b[0] = 0x80 | 31; b[1] = 201; cs_wr16(b + 2, 1);
        return 8;
    case 2:  /* a valid RR, then a PLI without its media SSRC */
        b[0] = 0x80; b[1] = 201; cs_wr16(b + 2, 1);
        b[8] = 0x81; b[9] = 206; cs_wr16(b + 10, 1); cs_wr32(b + 12, ssrc);
        return 16;
    case 3:  /* a NACK with no FCI */
        b[0] = 0x81; b[1] = 205; cs_wr16(b + 2, 2); cs_wr32(b + 8, ssrc ^ 1);
        return 12;
    case 4:  /* a REMB announcing 255 SSRCs, carrying one */
        b[0] = 0x8f; b[1] = 206; cs_wr16(b + 2, 5);
        memcpy(b + 12, "REMB", 4);
        b[16] = 255; b[17] = 0x3f; b[18] = 0xff; b[19] = 0xff;
        cs_wr32(b + 20, ssrc);
        return 24;
    case 5:  /* a valid RR and three stray bytes */
        b[0] = 0x80; b[1] = 201; cs_wr16(b + 2, 1);
        b[8] = 0x80; b[9] = 202; b[10] = 0;
        return 11;
    case 6:  /* a valid RR, then a header alone whose length runs past the end */
        b[0] = 0x80; b[1] = 201; cs_wr16(b + 2, 1);
        b[8] = 0x81; b[9] = 205; cs_wr16(b + 10, 5);
        return 12;
    case 7:  /* an SDES CNAME whose length runs past the end */
        b[0] = 0x81; b[1] = 202; cs_wr16(b + 2, 2);
        b[8] = 1; b[9] = 200; b[10] = 'x'; b[11] = 'y';
        return 12;
    case 8:  /* a BYE of 31 sources, one present */
        b[0] = 0x80 | 31; b[1] = 203; cs_wr16(b + 2, 1);
        return 8;
    default: /* an APP claiming 0xffff words */
        b[0] = 0x80; b[1] = 204; cs_wr16(b + 2, 0xffff);
        memcpy(b + 8, "name", 4);
        return 12;
    }
}

static bool attack_rtcp(lt_hostile_t *h)
{
    const dgram_t *d = latest(h);
    uint32_t ssrc = d ? cs_rd32(d->b + 8) : next_rand(h);
    uint8_t b[64];
    size_t len = bad_rtcp(h, b, ssrc);
    return lt_peer_send_rtcp_bytes(h->victim, b, len) >= 0;
}

/* ---- DTLS with a certificate the SDP did not announce ----------------------------------------- */

static void dtls_send(void *user, const uint8_t *data, size_t len)
{
    lt_hostile_t *h = user;
    send_either(h, data, len, h->dtls_via_victim);
}

static void dtls_connected(void *user, const cs_dtls_keys_t *keys)
{
    (void)keys;
    ((lt_hostile_t *)user)->st.dtls_completed++;
}

static void dtls_failed(void *user, int code, const char *reason)
{
    (void)user, (void)code, (void)reason;
}

static bool attack_dtls(lt_hostile_t *h, bool via_victim, int64_t now)
{
    static const cs_dtls_callbacks_t cb = {dtls_send, dtls_connected, dtls_failed, NULL};
    if (h->dtls)
        via_victim = true;      /* the other port's handshake is still going */
    int err = 0;
    /* Our side checks the server's real fingerprint, so a handshake the
     * server carries through to the end is seen to get there. */
    cs_dtls_session_t *s = cs_dtls_session_new(h->cert, CS_DTLS_ROLE_CLIENT,
                                                h->ice.remote_fingerprint, &cb, h, &err);
    if (!s)
        return false;
    h->dtls_via_victim = via_victim;
    int rc = cs_dtls_session_start(s);    /* sends the ClientHello */
    h->dtls_via_victim = false;           /* only a running session sends later: the other port's */
    if (via_victim || rc < 0) {
        /* From the victim's address the answers go to the victim; the
         * ClientHello is the attack there. */
        cs_dtls_session_free(s);
        return rc >= 0;
    }
    h->dtls = s;
    h->dtls_until_us = now + DTLS_LIFE_US;
    return true;
}

static void dtls_tick(lt_hostile_t *h, int64_t now)
{
    if (!h->dtls)
        return;
    if (now >= h->dtls_until_us || cs_dtls_session_state(h->dtls) != CS_DTLS_STATE_HANDSHAKING) {
        cs_dtls_session_free(h->dtls);
        h->dtls = NULL;
        return;
    }
    if (cs_dtls_session_timeout_ms(h->dtls) == 0)
        cs_dtls_session_on_timer(h->dtls);
}

/* ---- STUN with wrong credentials -------------------------------------------------------------- */

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static size_t stun_attr(uint8_t *b, size_t at, uint16_t type, const void *v, size_t n)
{
    cs_wr16(b + at, type);
    cs_wr16(b + at + 2, (uint16_t)n);
    memcpy(b + at + 4, v, n);
    size_t padded = (n + 3) & ~(size_t)3;
    memset(b + at + 4 + n, 0, padded - n);
    return at + 4 + padded;
}

/* A Binding request as a controlling agent sends it (RFC 8445 §7.1.1), with
 * a MESSAGE-INTEGRITY that no password makes — as made with a wrong one —
 * and a correct FINGERPRINT, so the server takes it for STUN and must check
 * the credentials. Variant 0: the right USERNAME; 1: a wrong one; 2: the
 * right one and USE-CANDIDATE (a nomination). */
static size_t build_stun(lt_hostile_t *h, uint8_t *b, unsigned variant)
{
    char user[2 * CS_ICE_UFRAG_MAX + 2];
    if (variant == 1)
        snprintf(user, sizeof user, "%s:evil", h->ice.remote_ufrag);
    else
        snprintf(user, sizeof user, "%s:%s", h->ice.remote_ufrag, h->ice.local_ufrag);
    cs_wr16(b, 0x0001);
    cs_wr32(b + 4, 0x2112a442);
    fill_random(h, b + 8, 12);
    size_t at = 20;
    at = stun_attr(b, at, 0x0006, user, strlen(user));
    uint8_t prio[4], tie[8], mac[20];
    cs_wr32(prio, 0x6e0001ff);
    fill_random(h, tie, sizeof tie);
    at = stun_attr(b, at, 0x0024, prio, sizeof prio);
    at = stun_attr(b, at, 0x802a, tie, sizeof tie);
    if (variant == 2)
        at = stun_attr(b, at, 0x0025, "", 0);
    fill_random(h, mac, sizeof mac);
    cs_wr16(b + 2, (uint16_t)(at + 24 - 20));   /* the length as MESSAGE-INTEGRITY sees it */
    at = stun_attr(b, at, 0x0008, mac, sizeof mac);
    cs_wr16(b + 2, (uint16_t)(at + 8 - 20));
    uint8_t fp[4];
    cs_wr32(fp, crc32_of(b, at) ^ 0x5354554eu);
    return stun_attr(b, at, 0x8028, fp, sizeof fp);
}

static bool attack_stun(lt_hostile_t *h, bool via_victim)
{
    uint8_t b[256];
    size_t len = build_stun(h, b, (unsigned)(h->turn / LT_HOSTILE_KINDS) % 3);
    return send_either(h, b, len, via_victim);
}

/* ---- life and turns --------------------------------------------------------------------------- */

static int resolve(lt_hostile_t *h)
{
    return lt_peer_state(h->victim) == LT_PEER_CONNECTED ? lt_peer_ice(h->victim, &h->ice)
                                                         : CS_ESTATE;
}

static void read_answers(lt_hostile_t *h)
{
    uint8_t b[2048];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(h->fd, b, sizeof b, 0);
        if (n <= 0)
            return;
        if (b[0] < 4) {
            h->st.answers_stun++;
            if (n >= 20 && b[0] == 0x01 && b[1] == 0x01)
                h->st.answers_stun_success++;
        } else if (b[0] >= 20 && b[0] < 64) {
            h->st.answers_dtls++;
        } else {
            h->st.answers_other++;
        }
        if (h->dtls && cs_dtls_is_dtls(b, (size_t)n))
            cs_dtls_session_receive(h->dtls, b, (size_t)n);
    }
}

static void attack(lt_hostile_t *h, int64_t now)
{
    lt_hostile_kind_t k = (lt_hostile_kind_t)(h->turn % LT_HOSTILE_KINDS);
    /* Each kind alternates between the victim's address and the other port. */
    bool via_victim = (h->turn / LT_HOSTILE_KINDS) % 2 == 0;
    bool sent = false;
    switch (k) {
    case LT_HOSTILE_RANDOM:   sent = attack_random(h, true); break;
    case LT_HOSTILE_STRANGER: sent = attack_random(h, false); break;
    case LT_HOSTILE_REPLAY:   sent = attack_replay(h, via_victim); break;
    case LT_HOSTILE_FORGED:   sent = attack_forged(h, true); break;
    case LT_HOSTILE_RTCP:     sent = attack_rtcp(h); break;
    case LT_HOSTILE_DTLS:     sent = attack_dtls(h, via_victim, now); break;
    case LT_HOSTILE_STUN:     sent = attack_stun(h, via_victim); break;
    default: break;
    }
    if (sent)
        h->st.sent[k]++;
    h->turn++;
}

int64_t lt_hostile_poll(lt_hostile_t *h, int64_t now_us)
{
    if (!h->ice.remote_len && resolve(h))
        return now_us + 20000;
    read_answers(h);
    dtls_tick(h, now_us);
    if (h->next_us == 0 || h->next_us < now_us - MAX_BEHIND_US)
        h->next_us = now_us;
    while (h->next_us <= now_us) {
        attack(h, now_us);
        h->next_us += h->interval_us;
    }
    return h->dtls && h->next_us > now_us + 10000 ? now_us + 10000 : h->next_us;
}

lt_hostile_t *lt_hostile_new(lt_peer_t *victim, const char *bind_address, double pps,
                             uint64_t seed, int *err)
{
    *err = CS_EINVAL;
    if (!victim || pps <= 0 || pps > 1e6)
        return NULL;
    struct sockaddr_storage ss;
    socklen_t ss_len;
    if (lt_addr_parse(bind_address ? bind_address : "127.0.0.1", 0, &ss, &ss_len) != CS_OK)
        return NULL;
    lt_hostile_t *h = calloc(1, sizeof *h);
    if (!h) {
        *err = CS_ENOMEM;
        return NULL;
    }
    h->victim = victim;
    h->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    h->interval_us = (int64_t)(1e6 / pps);
    if (h->interval_us < 1)
        h->interval_us = 1;
    h->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
    int rc = 0;
    if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&ss, ss_len) < 0 ||
        !(h->cert = cs_dtls_cert_generate(&rc))) {
        *err = h->fd < 0 || !rc ? CS_EIO : rc;
        lt_hostile_free(h);
        return NULL;
    }
    lt_peer_set_tap(victim, on_tap, h);
    *err = CS_OK;
    return h;
}

void lt_hostile_free(lt_hostile_t *h)
{
    if (!h)
        return;
    if (h->cert)                /* only then was the tap set */
        lt_peer_set_tap(h->victim, NULL, NULL);
    cs_dtls_session_free(h->dtls);
    cs_dtls_cert_free(h->cert);
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}

void lt_hostile_stats_add(const lt_hostile_t *h, lt_hostile_stats_t *sum)
{
    for (size_t k = 0; k < LT_HOSTILE_KINDS; k++)
        sum->sent[k] += h->st.sent[k];
    sum->answers_stun += h->st.answers_stun;
    sum->answers_stun_success += h->st.answers_stun_success;
    sum->answers_dtls += h->st.answers_dtls;
    sum->answers_other += h->st.answers_other;
    sum->dtls_completed += h->st.dtls_completed;
}
