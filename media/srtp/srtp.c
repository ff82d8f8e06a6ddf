/*
 * srtp.c — media/srtp: profiles, DTLS-SRTP key splitting and in-place
 * SRTP/SRTCP over libsrtp2. See srtp.h for the contract.
 */
#include "srtp.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "common/common.h"

#define RTP_HEADER_MIN 12
#define RTCP_HEADER_MIN 8
#define SRTCP_INDEX_LEN 4

struct cs_srtp_session {
    srtp_t ctx;
    cs_srtp_profile_t profile;
    bool outbound;
};

/* ---- profiles ----------------------------------------------------------------- */

typedef struct {
    cs_srtp_profile_t profile;
    const char *name;
    size_t key_len, salt_len, tag_len;
} profile_info_t;

static const profile_info_t profiles[] = {
    { CS_SRTP_AES128_CM_SHA1_80, "SRTP_AES128_CM_SHA1_80", 16, 14, 10 },
    { CS_SRTP_AEAD_AES_128_GCM, "SRTP_AEAD_AES_128_GCM", 16, 12, 16 },
};

static const profile_info_t *profile_info(cs_srtp_profile_t profile)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(profiles); i++)
        if (profiles[i].profile == profile)
            return &profiles[i];
    return NULL;
}

size_t cs_srtp_key_len(cs_srtp_profile_t profile)
{
    const profile_info_t *p = profile_info(profile);
    return p ? p->key_len : 0;
}

size_t cs_srtp_salt_len(cs_srtp_profile_t profile)
{
    const profile_info_t *p = profile_info(profile);
    return p ? p->salt_len : 0;
}

size_t cs_srtp_key_salt_len(cs_srtp_profile_t profile)
{
    return cs_srtp_key_len(profile) + cs_srtp_salt_len(profile);
}

size_t cs_srtp_material_len(cs_srtp_profile_t profile)
{
    return 2 * cs_srtp_key_salt_len(profile);
}

size_t cs_srtp_overhead(cs_srtp_profile_t profile, bool rtcp)
{
    const profile_info_t *p = profile_info(profile);
    if (!p)
        return 0;
    return p->tag_len + (rtcp ? SRTCP_INDEX_LEN : 0);
}

int cs_srtp_profile_parse(const char *name, cs_srtp_profile_t *out)
{
    if (!name || !out)
        return CS_EINVAL;
    for (size_t i = 0; i < CS_ARRAY_LEN(profiles); i++) {
        if (strcmp(profiles[i].name, name) == 0) {
            *out = profiles[i].profile;
            return CS_OK;
        }
    }
    return CS_EUNSUPPORTED;
}

int cs_srtp_profile_from_id(uint16_t id, cs_srtp_profile_t *out)
{
    if (!out)
        return CS_EINVAL;
    const profile_info_t *p = profile_info((cs_srtp_profile_t)id);
    if (!p)
        return CS_EUNSUPPORTED;
    *out = p->profile;
    return CS_OK;
}

const char *cs_srtp_profile_name(cs_srtp_profile_t profile)
{
    const profile_info_t *p = profile_info(profile);
    return p ? p->name : "unknown";
}

/*
 * RFC 5764 §4.2: client_write_key[k] | server_write_key[k] |
 * client_write_salt[s] | server_write_salt[s].
 */
int cs_srtp_split_keys(cs_srtp_profile_t profile, const uint8_t *material, size_t len,
                       bool we_are_client, uint8_t *local_key_salt, uint8_t *remote_key_salt)
{
    const profile_info_t *p = profile_info(profile);
    if (!p || !material || !local_key_salt || !remote_key_salt)
        return CS_EINVAL;
    size_t k = p->key_len, s = p->salt_len;
    if (len != 2 * (k + s))
        return CS_EINVAL;
    const uint8_t *client_key = material, *server_key = material + k;
    const uint8_t *client_salt = material + 2 * k, *server_salt = client_salt + s;
    uint8_t *client_out = we_are_client ? local_key_salt : remote_key_salt;
    uint8_t *server_out = we_are_client ? remote_key_salt : local_key_salt;
    memcpy(client_out, client_key, k);
    memcpy(client_out + k, client_salt, s);
    memcpy(server_out, server_key, k);
    memcpy(server_out + k, server_salt, s);
    return CS_OK;
}

/* ---- library and sessions ----------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = CS_EIO;
/*
 * A session kept for the life of the process. Debian's libsrtp2 uses NSS,
 * and each cipher holds an NSS context: when the last one closes NSS shuts
 * down and the next session starts it again (measured: 1.7 ms a session
 * instead of 12 us). The anchor keeps one context open.
 */
static srtp_t anchor;

static void set_crypto(srtp_policy_t *pol, cs_srtp_profile_t profile);

static void init_libsrtp(void)
{
    if (srtp_init() != srtp_err_status_ok)
        return;
    uint8_t zero[CS_SRTP_MAX_KEY_SALT_LEN] = { 0 };
    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    set_crypto(&pol, CS_SRTP_AEAD_AES_128_GCM);
    pol.ssrc.type = ssrc_any_outbound;
    pol.key = zero;
    if (srtp_create(&anchor, &pol) != srtp_err_status_ok)
        return;
    init_result = CS_OK;
}

int cs_srtp_global_init(void)
{
    if (pthread_once(&init_once, init_libsrtp) != 0)
        return CS_EIO;
    return init_result;
}

/* libsrtp's status as a CS_E* code. */
static int map_status(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return CS_OK;
    case srtp_err_status_auth_fail:
        return CS_EAUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
    case srtp_err_status_pkt_idx_old:
        return CS_EEXIST;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_pkt_idx_adv:
    case srtp_err_status_bad_mki:
        return CS_EINVAL;
    case srtp_err_status_alloc_fail:
        return CS_ENOMEM;
    default:
        return CS_EIO;
    }
}

/* Fills the crypto policies of both RTP and RTCP for the profile. */
static void set_crypto(srtp_policy_t *pol, cs_srtp_profile_t profile)
{
    if (profile == CS_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
    }
}

static int create_ctx(cs_srtp_session_t *s, const profile_info_t *p, const uint8_t *key,
                      const uint8_t *salt, unsigned window)
{
    uint8_t key_salt[CS_SRTP_MAX_KEY_SALT_LEN];
    memcpy(key_salt, key, p->key_len);
    memcpy(key_salt + p->key_len, salt, p->salt_len);

    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    set_crypto(&pol, p->profile);
    pol.ssrc.type = s->outbound ? ssrc_any_outbound : ssrc_any_inbound;
    pol.key = key_salt;
    pol.window_size = window ? window : CS_SRTP_REPLAY_WINDOW;
    pol.allow_repeat_tx = s->outbound ? 1 : 0;
    pol.next = NULL;

    int rc = map_status(srtp_create(&s->ctx, &pol));
    explicit_bzero(key_salt, sizeof(key_salt));
    if (rc == CS_OK)
        return CS_OK;
    s->ctx = NULL;
    return rc == CS_ENOMEM || rc == CS_EINVAL ? rc : CS_EIO;
}

cs_srtp_session_t *cs_srtp_session_new_window(cs_srtp_profile_t profile, const uint8_t *key,
                                              const uint8_t *salt, bool outbound,
                                              unsigned window, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    const profile_info_t *p = profile_info(profile);
    if (!p || !key || !salt ||
        (window != 0 && (window < CS_SRTP_REPLAY_WINDOW_MIN || window > CS_SRTP_REPLAY_WINDOW_MAX))) {
        *err = CS_EINVAL;
        return NULL;
    }
    if ((*err = cs_srtp_global_init()) != CS_OK)
        return NULL;
    cs_srtp_session_t *s = calloc(1, sizeof(*s));
    if (!s) {
        *err = CS_ENOMEM;
        return NULL;
    }
    s->profile = profile;
    s->outbound = outbound;
    if ((*err = create_ctx(s, p, key, salt, window)) != CS_OK) {
        free(s);
        return NULL;
    }
    return s;
}

cs_srtp_session_t *cs_srtp_session_new(cs_srtp_profile_t profile, const uint8_t *key,
                                       const uint8_t *salt, bool outbound, int *err)
{
    return cs_srtp_session_new_window(profile, key, salt, outbound, 0, err);
}

void cs_srtp_session_free(cs_srtp_session_t *s)
{
    if (!s)
        return;
    if (s->ctx)
        srtp_dealloc(s->ctx);
    free(s);
}

cs_srtp_profile_t cs_srtp_session_profile(const cs_srtp_session_t *s)
{
    return s->profile;
}

bool cs_srtp_session_outbound(const cs_srtp_session_t *s)
{
    return s->outbound;
}

/* ---- packets --------------------------------------------------------------------- */

/* The checks every packet call shares before libsrtp sees the buffer. */
static int check_packet(const cs_srtp_session_t *s, const uint8_t *buf, size_t len,
                        size_t min_len, bool want_outbound, size_t *out_len)
{
    if (!s || !s->ctx || !buf || !out_len || s->outbound != want_outbound)
        return CS_EINVAL;
    if (len > CS_SRTP_MAX_PACKET)
        return CS_ETOOBIG;
    if (len < min_len || (buf[0] >> 6) != 2)
        return CS_EINVAL;
    return CS_OK;
}

static int protect_any(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t cap,
                       size_t *out_len, bool rtcp)
{
    int rc = check_packet(s, buf, len, rtcp ? RTCP_HEADER_MIN : RTP_HEADER_MIN, true, out_len);
    if (rc != CS_OK)
        return rc;
    if (cap < len + cs_srtp_overhead(s->profile, rtcp))
        return CS_ETOOBIG;
    int n = (int)len;
    srtp_err_status_t st = rtcp ? srtp_protect_rtcp(s->ctx, buf, &n)
                                : srtp_protect(s->ctx, buf, &n);
    if (st != srtp_err_status_ok)
        return map_status(st);
    if (n < 0 || (size_t)n > cap)   /* libsrtp kept to the documented overhead */
        return CS_EIO;
    *out_len = (size_t)n;
    return CS_OK;
}

static int unprotect_any(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t *out_len,
                         bool rtcp)
{
    if (!s)
        return CS_EINVAL;
    size_t min = (rtcp ? RTCP_HEADER_MIN : RTP_HEADER_MIN) + cs_srtp_overhead(s->profile, rtcp);
    int rc = check_packet(s, buf, len, min, false, out_len);
    if (rc != CS_OK)
        return rc;
    int n = (int)len;
    srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp(s->ctx, buf, &n)
                                : srtp_unprotect(s->ctx, buf, &n);
    if (st != srtp_err_status_ok)
        return map_status(st);
    if (n < 0 || (size_t)n > len)
        return CS_EIO;
    *out_len = (size_t)n;
    return CS_OK;
}

int cs_srtp_protect(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t cap, size_t *out_len)
{
    return protect_any(s, buf, len, cap, out_len, false);
}

int cs_srtp_unprotect(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t *out_len)
{
    return unprotect_any(s, buf, len, out_len, false);
}

int cs_srtp_protect_rtcp(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t cap,
                         size_t *out_len)
{
    return protect_any(s, buf, len, cap, out_len, true);
}

int cs_srtp_unprotect_rtcp(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t *out_len)
{
    return unprotect_any(s, buf, len, out_len, true);
}
