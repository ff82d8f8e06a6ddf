/*
 * peer.c — one participant's transport: the ICE agent, the DTLS handshake
 * over it, the SRTP sessions keyed from it, and the demultiplexing of what
 * arrives (RFC 7983 §7: first byte 20..63 DTLS, 128..191 RTP/RTCP); the
 * gateway's answer to an offer and the client side's remote description
 * share the steps that make the DTLS session and set the ICE credentials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "media/rtp/rtp.h"
#include "media/srtp/srtp.h"
#include "peer.h"

struct cs_peer {
    cs_peer_callbacks_t cb;
    void *user;
    const cs_dtls_cert_t *cert;
    cs_ice_agent_t *ice;
    cs_dtls_session_t *dtls;
    cs_srtp_session_t *srtp_in, *srtp_out;
    cs_peer_state_t state;
    bool terminal;              /* DTLS failed or closed: no recovery */
    bool gathering_started;
    bool described;             /* client: a local description was written */
    bool answering;             /* client: the last remote description was an offer */
    bool dtls_started;
    cs_dtls_role_t dtls_role;
    cs_sdp_fingerprint_t remote_fp;
    char remote_ufrag[CS_SDP_UFRAG_MAX], remote_pwd[CS_SDP_PWD_MAX];
    cs_sdp_fingerprint_t local_fp;
    uint64_t session_id, session_version;
    char srtp_profiles[CS_DTLS_SRTP_PROFILES_MAX]; /* "" = the default */
    cs_peer_stats_t stats;
};

const char *cs_peer_state_name(cs_peer_state_t s)
{
    static const char *const names[] = {"new", "connecting", "connected", "failed", "closed"};
    return (unsigned)s < CS_ARRAY_LEN(names) ? names[s] : "unknown";
}

/* ICE failing is not final (an ICE restart can recover it); DTLS failing is. */
static void set_state(cs_peer_t *p, cs_peer_state_t st, const char *reason)
{
    if (p->state == st || p->terminal)
        return;
    p->state = st;
    p->cb.on_state(p->user, st, reason ? reason : "");
}

/* ---- DTLS ---------------------------------------------------------------- */

/* Wipes key material; volatile so the compiler cannot drop the stores. */
static void wipe(void *buf, size_t len)
{
    volatile uint8_t *b = buf;
    while (len--)
        *b++ = 0;
}

static void dtls_send(void *user, const uint8_t *data, size_t len)
{
    cs_peer_t *p = user;
    /* Losing a flight is fine: DTLS retransmits. */
    if (cs_ice_agent_send(p->ice, data, len) == CS_OK) {
        p->stats.tx_datagrams++;
        p->stats.tx_bytes += len;
    }
}

static void dtls_connected(void *user, const cs_dtls_keys_t *keys)
{
    cs_peer_t *p = user;
    cs_srtp_profile_t profile;
    uint8_t local[CS_SRTP_MAX_KEY_SALT_LEN], remote[CS_SRTP_MAX_KEY_SALT_LEN];
    int rc = cs_srtp_profile_from_id(keys->profile_id, &profile);
    if (!rc)
        rc = cs_srtp_split_keys(profile, keys->material, keys->material_len, keys->is_client,
                                local, remote);
    if (!rc) {
        size_t kl = cs_srtp_key_len(profile);
        p->srtp_out = cs_srtp_session_new(profile, local, local + kl, true, &rc);
        if (p->srtp_out)
            p->srtp_in = cs_srtp_session_new(profile, remote, remote + kl, false, &rc);
    }
    wipe(local, sizeof local);
    wipe(remote, sizeof remote);
    if (rc || !p->srtp_in) {
        set_state(p, CS_PEER_FAILED, "could not set up SRTP");
        p->terminal = true;
        return;
    }
    cs_strlcpy(p->stats.srtp_profile, cs_srtp_profile_name(profile), sizeof p->stats.srtp_profile);
    set_state(p, CS_PEER_CONNECTED, p->stats.srtp_profile);
}

static void dtls_failed(void *user, int code, const char *reason)
{
    (void)code;
    cs_peer_t *p = user;
    char why[160];
    snprintf(why, sizeof why, "DTLS: %s", reason ? reason : "handshake failed");
    set_state(p, CS_PEER_FAILED, why);
    p->terminal = true;
}

static void dtls_closed(void *user, const char *reason)
{
    (void)reason;
    cs_peer_t *p = user;
    set_state(p, CS_PEER_CLOSED, "the browser closed DTLS");
    p->terminal = true;
}

static void start_dtls(cs_peer_t *p)
{
    if (p->dtls_started || !p->dtls)
        return;
    p->dtls_started = true;
    /* As the DTLS server the browser's ClientHello may have arrived (and
     * started the handshake) before our side saw ICE complete. */
    if (cs_dtls_session_state(p->dtls) != CS_DTLS_STATE_NEW)
        return;
    int rc = cs_dtls_session_start(p->dtls);
    if (rc && p->state != CS_PEER_FAILED)
        set_state(p, CS_PEER_FAILED, "DTLS could not start");
}

/* ---- ICE ----------------------------------------------------------------- */

static void ice_candidate(void *user, const char *candidate)
{
    cs_peer_t *p = user;
    p->cb.on_candidate(p->user, candidate);
}

static void ice_gathering_done(void *user)
{
    cs_peer_t *p = user;
    p->cb.on_candidate(p->user, "");
}

static void ice_state(void *user, cs_ice_state_t st)
{
    cs_peer_t *p = user;
    switch (st) {
    case CS_ICE_STATE_CONNECTED:
        /* After an ICE restart DTLS and SRTP carry on over the new pair. */
        if (p->state == CS_PEER_FAILED && p->srtp_out)
            set_state(p, CS_PEER_CONNECTED, NULL);
        start_dtls(p);
        break;
    case CS_ICE_STATE_FAILED:
        set_state(p, CS_PEER_FAILED, "ICE failed (no working path, or consent lost)");
        break;
    default:
        break;
    }
}

static void on_srtp(cs_peer_t *p, uint8_t *buf, size_t len)
{
    size_t out = 0;
    if (!p->srtp_in) {
        p->stats.dropped_other++;
        return;
    }
    if (cs_rtp_is_rtcp(buf, len)) {
        if (cs_srtp_unprotect_rtcp(p->srtp_in, buf, len, &out)) {
            p->stats.dropped_srtp++;
            return;
        }
        if (p->cb.on_rtcp)
            p->cb.on_rtcp(p->user, buf, out);
    } else {
        if (cs_srtp_unprotect(p->srtp_in, buf, len, &out)) {
            p->stats.dropped_srtp++;
            return;
        }
        if (p->cb.on_rtp)
            p->cb.on_rtp(p->user, buf, out);
    }
}

static void ice_data(void *user, uint8_t *buf, size_t len)
{
    cs_peer_t *p = user;
    p->stats.rx_datagrams++;
    p->stats.rx_bytes += len;
    if (len == 0 || p->terminal)
        return;
    if (cs_dtls_is_dtls(buf, len)) {
        if (p->dtls)
            cs_dtls_session_receive(p->dtls, buf, len);
    } else if (buf[0] >= 128 && buf[0] <= 191) {
        on_srtp(p, buf, len);
    } else {
        p->stats.dropped_other++;
    }
}

/* ---- lifecycle ------------------------------------------------------------ */

cs_peer_t *cs_peer_new(void *main_context, const cs_peer_config_t *cfg,
                       const cs_peer_callbacks_t *cb, void *user, int *err)
{
    int rc = CS_EINVAL;
    cs_peer_t *p = NULL;
    if (!main_context || !cfg || !cfg->cert || !cb || !cb->on_candidate || !cb->on_state)
        goto fail;
    rc = CS_ENOMEM;
    if (!(p = calloc(1, sizeof *p)))
        goto fail;
    p->cb = *cb;
    p->user = user;
    p->cert = cfg->cert;
    rc = CS_EINVAL;
    if (cfg->srtp_profiles && cs_strlcpy(p->srtp_profiles, cfg->srtp_profiles,
                                         sizeof p->srtp_profiles) >= sizeof p->srtp_profiles)
        goto fail;
    static const cs_ice_callbacks_t ice_cb = {ice_candidate, ice_gathering_done, ice_state,
                                              ice_data};
    if (!(p->ice = cs_ice_agent_new(main_context, &cfg->ice, &ice_cb, p, &rc)))
        goto fail;
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    cs_dtls_cert_fingerprint(cfg->cert, fp);
    p->local_fp.hash = CS_SDP_HASH_SHA256;
    p->local_fp.len = 32;
    if ((rc = cs_dtls_fingerprint_parse(fp, p->local_fp.value)))
        goto fail;
    uint8_t r[8];
    if (cs_random_bytes(r, sizeof r) == CS_OK)
        memcpy(&p->session_id, r, sizeof r);
    p->session_id &= 0x3fffffffffffffffULL; /* positive in a signed 64-bit parser */
    p->session_version = 1;
    return p;
fail:
    cs_peer_free(p);
    if (err)
        *err = rc;
    return NULL;
}

void cs_peer_free(cs_peer_t *p)
{
    if (!p)
        return;
    cs_ice_agent_free(p->ice);
    cs_dtls_session_free(p->dtls);
    cs_srtp_session_free(p->srtp_in);
    cs_srtp_session_free(p->srtp_out);
    free(p);
}

/* The transport parameters of an offer: those of its first bundled section. */
static const cs_sdp_transport_t *offer_transport(const cs_sdp_t *offer)
{
    for (unsigned i = 0; i < offer->n_media; i++) {
        const cs_sdp_media_t *m = &offer->media[i];
        if (m->transport.ice_ufrag[0] && (!offer->has_bundle || cs_sdp_in_bundle(offer, m->mid)))
            return &m->transport;
    }
    return offer->transport.ice_ufrag[0] ? &offer->transport : NULL;
}

static void fingerprint_text(const cs_sdp_fingerprint_t *fp, char out[CS_DTLS_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (unsigned i = 0; i < fp->len && i < 32; i++) {
        if (i)
            out[o++] = ':';
        out[o++] = hex[fp->value[i] >> 4];
        out[o++] = hex[fp->value[i] & 15];
    }
    out[o] = '\0';
}

bool cs_peer_same_transport(const cs_peer_t *p, const cs_sdp_t *offer)
{
    if (p->terminal)
        return false;
    const cs_sdp_transport_t *t = offer_transport(offer);
    if (!p->dtls || !t)
        return true; /* nothing to compare yet; cs_peer_answer judges the offer */
    return p->remote_fp.len == t->fingerprint.len &&
           memcmp(p->remote_fp.value, t->fingerprint.value, t->fingerprint.len) == 0;
}

static int fail_answer(cs_sdp_error_t *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        err->line = 0;
        cs_strlcpy(err->message, msg, sizeof err->message);
    }
    return code;
}

/* The remote fingerprint: SHA-256, and the same on every renegotiation. */
static int check_fingerprint(const cs_peer_t *p, const cs_sdp_fingerprint_t *fp,
                             const char **why)
{
    *why = "the offer has no sha-256 DTLS fingerprint";
    if (fp->hash != CS_SDP_HASH_SHA256 || fp->len != 32)
        return CS_EUNSUPPORTED;
    *why = "the DTLS fingerprint may not change";
    if (p->dtls && (p->remote_fp.len != fp->len || memcmp(p->remote_fp.value, fp->value, fp->len)))
        return CS_EUNSUPPORTED;
    return CS_OK;
}

/* The first remote description: the DTLS session, set up but not started
 * until ICE works. */
static int make_dtls(cs_peer_t *p, const cs_sdp_fingerprint_t *remote, cs_dtls_role_t role)
{
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    fingerprint_text(remote, fp);
    static const cs_dtls_callbacks_t dcb = {dtls_send, dtls_connected, dtls_failed, dtls_closed};
    int rc;
    cs_dtls_session_t *d = cs_dtls_session_new(p->cert, role, fp, &dcb, p, &rc);
    if (!d)
        return rc;
    if (p->srtp_profiles[0] && (rc = cs_dtls_session_set_srtp_profiles(d, p->srtp_profiles))) {
        cs_dtls_session_free(d);
        return rc;
    }
    p->dtls = d;
    p->dtls_role = role;
    p->remote_fp = *remote;
    return CS_OK;
}

/* A generation's remote ICE credentials. */
static int set_credentials(cs_peer_t *p, const char *ufrag, const char *pwd)
{
    int rc = cs_ice_agent_set_remote_credentials(p->ice, ufrag, pwd);
    if (rc)
        return rc;
    cs_strlcpy(p->remote_ufrag, ufrag, sizeof p->remote_ufrag);
    cs_strlcpy(p->remote_pwd, pwd, sizeof p->remote_pwd);
    return CS_OK;
}

/* A remote description was taken: the local one moves to a new version. */
static void remote_taken(cs_peer_t *p)
{
    p->session_version++;
    if (p->state == CS_PEER_NEW)
        set_state(p, CS_PEER_CONNECTING, NULL);
}

int cs_peer_add_sdp_candidates(cs_peer_t *p, const cs_sdp_t *sdp)
{
    if (!p || !sdp)
        return CS_EINVAL;
    if (!p->remote_ufrag[0] && !p->described)
        return CS_ESTATE;
    int taken = 0;
    for (unsigned i = 0; i < sdp->n_media && i < CS_SDP_MAX_MEDIA; i++) {
        const cs_sdp_media_t *m = &sdp->media[i];
        for (unsigned k = 0; k < m->n_candidates && k < CS_SDP_MAX_CANDIDATES; k++) {
            char line[CS_ICE_CANDIDATE_MAX];
            if (cs_sdp_candidate_write(&m->candidates[k], line, sizeof line) == CS_OK &&
                cs_ice_agent_add_remote_candidate(p->ice, line) == CS_OK)
                taken++;
        }
    }
    return taken;
}

int cs_peer_answer(cs_peer_t *p, const cs_sdp_t *offer, cs_sdp_t *answer, cs_sdp_error_t *err)
{
    if (!p || !offer || !answer)
        return CS_EINVAL;
    if (p->terminal)
        return fail_answer(err, CS_ESTATE, "the media session has ended");
    const cs_sdp_transport_t *t = offer_transport(offer);
    if (!t || !t->ice_pwd[0])
        return fail_answer(err, CS_EINVAL, "the offer has no ICE credentials");
    const char *why;
    int rc = check_fingerprint(p, &t->fingerprint, &why);
    if (rc)
        return fail_answer(err, rc, why);

    cs_sdp_local_t local;
    memset(&local, 0, sizeof local);
    bool restart = p->remote_ufrag[0] &&
                   (strcmp(p->remote_ufrag, t->ice_ufrag) || strcmp(p->remote_pwd, t->ice_pwd));
    char ufrag[CS_ICE_UFRAG_MAX], pwd[CS_ICE_PWD_MAX];
    cs_ice_agent_local_credentials(p->ice, ufrag, pwd);
    cs_strlcpy(local.ice_ufrag, ufrag, sizeof local.ice_ufrag);
    cs_strlcpy(local.ice_pwd, pwd, sizeof local.ice_pwd);
    local.fingerprint = p->local_fp;
    local.session_id = p->session_id;
    local.session_version = p->session_version;
    local.trickle = true;
    local.extmap_allow_mixed = offer->extmap_allow_mixed;
    rc = cs_sdp_answer(offer, &local, answer, err);
    if (rc)
        return rc;
    /* Credentials of the answer: after a restart, the new ones. The offer was
     * accepted above first, so a refused one restarts nothing (the browser
     * rolls it back and keeps using the current generation). */
    if (restart) {
        if (cs_ice_agent_restart(p->ice) != CS_OK)
            return fail_answer(err, CS_EINVAL, "ICE restart failed");
        p->gathering_started = false;   /* the new generation gathers at the next tick */
        cs_ice_agent_local_credentials(p->ice, ufrag, pwd);
        cs_strlcpy(local.ice_ufrag, ufrag, sizeof local.ice_ufrag);
        cs_strlcpy(local.ice_pwd, pwd, sizeof local.ice_pwd);
        if ((rc = cs_sdp_answer(offer, &local, answer, err)))
            return rc;
    }
    /* We answer actpass and active with passive (the browser is the DTLS
     * client), passive with active. */
    cs_dtls_role_t role =
        t->setup == CS_SDP_SETUP_PASSIVE ? CS_DTLS_ROLE_CLIENT : CS_DTLS_ROLE_SERVER;
    if (!p->dtls && (rc = make_dtls(p, &t->fingerprint, role)))
        return fail_answer(err, rc, "could not create the DTLS session");
    if ((!p->remote_ufrag[0] || restart) && (rc = set_credentials(p, t->ice_ufrag, t->ice_pwd)))
        return fail_answer(err, rc, "unusable ICE credentials");
    remote_taken(p);
    cs_peer_add_sdp_candidates(p, offer);   /* non-trickle browsers */
    return CS_OK;
}

/* ---- the client side -------------------------------------------------------- */

int cs_peer_local_transport(cs_peer_t *p, cs_peer_local_t *out)
{
    if (!p || !out)
        return CS_EINVAL;
    if (p->terminal)
        return CS_ESTATE;
    int rc = cs_ice_agent_local_credentials(p->ice, out->ice_ufrag, out->ice_pwd);
    if (rc)
        return rc;
    fingerprint_text(&p->local_fp, out->fingerprint);
    out->setup = !p->answering                      ? CS_SDP_SETUP_ACTPASS
                 : p->dtls_role == CS_DTLS_ROLE_CLIENT ? CS_SDP_SETUP_ACTIVE
                                                       : CS_SDP_SETUP_PASSIVE;
    p->described = true;
    return CS_OK;
}

/* Our DTLS role from the remote a=setup (RFC 5763 §5, RFC 8842 §5): the
 * other side of whichever it took; an answer to our actpass must take one. */
static int role_for(const cs_peer_remote_t *r, cs_dtls_role_t *role)
{
    bool chose = r->setup == CS_SDP_SETUP_ACTIVE || r->setup == CS_SDP_SETUP_PASSIVE;
    if (r->we_offered ? !chose : r->setup == CS_SDP_SETUP_HOLDCONN)
        return CS_EINVAL;
    *role = r->setup == CS_SDP_SETUP_ACTIVE ? CS_DTLS_ROLE_SERVER : CS_DTLS_ROLE_CLIENT;
    return CS_OK;
}

int cs_peer_set_remote(cs_peer_t *p, const cs_peer_remote_t *r)
{
    if (!p || !r || !r->ice_ufrag || !r->ice_pwd)
        return CS_EINVAL;
    if (p->terminal)
        return CS_ESTATE;
    const char *why;
    int rc = check_fingerprint(p, &r->fingerprint, &why);
    if (rc)
        return rc;
    if (p->remote_ufrag[0]) {           /* a renegotiation */
        if (strcmp(p->remote_ufrag, r->ice_ufrag) || strcmp(p->remote_pwd, r->ice_pwd))
            return CS_ESTATE;
        p->answering = !r->we_offered;
        return CS_OK;
    }
    cs_dtls_role_t role;
    if ((rc = role_for(r, &role)) || (rc = make_dtls(p, &r->fingerprint, role)))
        return rc;
    if ((rc = set_credentials(p, r->ice_ufrag, r->ice_pwd))) {
        cs_dtls_session_free(p->dtls);
        p->dtls = NULL;
        return rc;
    }
    p->answering = !r->we_offered;
    remote_taken(p);
    return CS_OK;
}

/* Gathering starts after the answer (or, client side, the description) has
 * been handed out, so no candidate reaches the other side before what makes
 * it meaningful. */
static void start_gathering(cs_peer_t *p)
{
    if (p->gathering_started || (!p->remote_ufrag[0] && !p->described))
        return;
    p->gathering_started = true;
    if (cs_ice_agent_gather(p->ice) != CS_OK)
        set_state(p, CS_PEER_FAILED, "could not gather ICE candidates");
}

int cs_peer_add_remote_candidate(cs_peer_t *p, const char *candidate)
{
    if (!p || !candidate)
        return CS_EINVAL;
    if (!p->remote_ufrag[0] && !p->described)
        return CS_ESTATE;
    if (!candidate[0]) {
        cs_ice_agent_remote_gathering_done(p->ice);
        return CS_OK;
    }
    return cs_ice_agent_add_remote_candidate(p->ice, candidate);
}

static int send_protected(cs_peer_t *p, uint8_t *buf, size_t len, size_t cap, bool rtcp)
{
    if (!p || p->terminal || !p->srtp_out)
        return CS_ESTATE;
    size_t out = 0;
    int rc = rtcp ? cs_srtp_protect_rtcp(p->srtp_out, buf, len, cap, &out)
                  : cs_srtp_protect(p->srtp_out, buf, len, cap, &out);
    if (rc)
        return rc;
    rc = cs_ice_agent_send(p->ice, buf, out);
    if (rc != CS_OK)
        return rc;
    p->stats.tx_datagrams++;
    p->stats.tx_bytes += out;
    return (int)out;
}

int cs_peer_send_rtp(cs_peer_t *p, uint8_t *buf, size_t len, size_t cap)
{
    return send_protected(p, buf, len, cap, false);
}

int cs_peer_send_rtcp(cs_peer_t *p, uint8_t *buf, size_t len, size_t cap)
{
    return send_protected(p, buf, len, cap, true);
}

int cs_peer_send_raw(cs_peer_t *p, const uint8_t *buf, size_t len)
{
    if (!p || p->terminal)
        return CS_ESTATE;
    int rc = cs_ice_agent_send(p->ice, buf, len);
    return rc == CS_OK ? (int)len : rc;
}

void cs_peer_tick(cs_peer_t *p, int64_t now_us)
{
    (void)now_us;
    if (!p)
        return;
    start_gathering(p);
    if (p->dtls && cs_dtls_session_state(p->dtls) == CS_DTLS_STATE_HANDSHAKING &&
        cs_dtls_session_timeout_ms(p->dtls) == 0)
        cs_dtls_session_on_timer(p->dtls);
}

cs_peer_state_t cs_peer_state(const cs_peer_t *p)
{
    return p ? p->state : CS_PEER_CLOSED;
}

int cs_peer_remote_address(const cs_peer_t *p, struct sockaddr_storage *out, socklen_t *len)
{
    return p ? cs_ice_agent_remote_address(p->ice, out, len) : CS_ESTATE;
}

void cs_peer_stats(const cs_peer_t *p, cs_peer_stats_t *out)
{
    *out = p->stats;
    cs_ice_agent_selected_pair(p->ice, out->selected_pair, sizeof out->selected_pair);
}
