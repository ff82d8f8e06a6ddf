/*
 * ice.c — the agent: one libnice NiceAgent with one stream of one component,
 * set up for WebRTC (RFC 5245 full ICE, controlled unless configured
 * controlling, trickle, consent
 * freshness, UDP only); its signals turned into the module's callbacks;
 * remote credentials and the candidates that wait for them; restarts; the
 * datagram path.
 *
 * What libnice 0.1.21 does that shapes this file (read in its sources):
 *
 * - A connectivity check takes the remote ufrag/pwd from the stream when it
 *   is sent. A remote candidate added before the credentials gets checks with
 *   an empty ufrag and password, which the peer refuses, and its pairs do not
 *   recover when the credentials come (tried: still CONNECTING seconds
 *   later). So remote candidates wait here for the credentials. (Checks the
 *   peer sends meanwhile are answered, kept and replayed by libnice itself.)
 * - nice_agent_restart_stream() makes new local credentials, forgets the
 *   remote ones, the remote candidates and the check list, but keeps the
 *   selected pair (its remote candidate is put aside) and the addresses that
 *   media is accepted from. nice_agent_send() only needs a selected pair, so
 *   media keeps flowing both ways on the old pair while the new checks run;
 *   the component says GATHERING meanwhile (CHECKING here) and CONNECTED or
 *   READY once a new pair is nominated. Consent for the old pair is renewed
 *   only by answered checks, which need the new remote credentials: if they
 *   do not come within libnice's consent timeout (10 s after the last answer,
 *   not RFC 7675's 30 s) the old pair loses consent and the state is FAILED.
 * - A stream gathers once: after a restart nice_agent_gather_candidates()
 *   does nothing, so cs_ice_agent_gather hands out the local candidates again
 *   for the new generation.
 * - libnice's timers hold only weak references to the agent, its dispose
 *   removes the socket sources and drops signals not yet emitted, and
 *   attaching a NULL receive callback removes the pending I/O idle source:
 *   after detach() and the last g_object_unref nothing of libnice's reaches
 *   us. (nice_agent_close_async only releases TURN allocations; none here.)
 *   One leak is libnice's: an agent freed with its STUN server's address not
 *   yet looked at (within two iterations of the context after gathering
 *   starts) leaves its 16-byte lookup record behind.
 * - nice_agent_peer_candidate_gathering_done() records the fact and nothing
 *   reads it yet; it is called anyway for later versions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nice/interfaces.h>

#include "common/common.h"
#include "internal.h"

#define MAX_UDP_PAYLOAD 65507

const char *cs_ice_state_name(cs_ice_state_t s)
{
    static const char *const names[] = {"new", "checking", "connected", "failed", "closed"};
    return (unsigned)s < CS_ARRAY_LEN(names) ? names[s] : "unknown";
}

/* ---- freeing, also from inside a callback -------------------------------------------- */

static void queue_clear(cs_ice_agent_t *a)
{
    for (size_t i = 0; i < a->n_queued; i++)
        nice_candidate_free(a->queued[i]);
    a->n_queued = 0;
}

/* Cuts every path from libnice to us: signal handlers and the receiver. */
static void detach(cs_ice_agent_t *a)
{
    g_signal_handlers_disconnect_by_data(a->nice, a);
    if (a->stream)
        nice_agent_attach_recv(a->nice, a->stream, 1, a->ctx, NULL, NULL);
}

/* libnice may still be on the stack (emitting a signal, delivering a
 * datagram); it holds its own reference to the NiceAgent for that long. */
static void destroy(cs_ice_agent_t *a)
{
    queue_clear(a);
    cs_ice_batch_flush(a->batch);       /* before libnice closes the sockets */
    if (a->nice)
        g_object_unref(a->nice);
    free(a);
}

void ice_enter(cs_ice_agent_t *a)
{
    a->busy++;
}

bool ice_leave(cs_ice_agent_t *a)
{
    if (--a->busy > 0 || !a->doomed)
        return false;
    destroy(a);
    return true;
}

void cs_ice_agent_free(cs_ice_agent_t *a)
{
    if (!a || a->doomed)
        return;
    a->doomed = true;
    detach(a);
    if (a->busy == 0)
        destroy(a);
}

/* ---- from libnice -------------------------------------------------------------------- */

/* The batched path (ice_send.c) for the selected pair, when it is plain
 * UDP; otherwise sends go through libnice. */
static void raw_path(cs_ice_agent_t *a)
{
    NiceCandidate *l = NULL, *r = NULL;
    cs_ice_batch_flush(a->batch);       /* what is queued points at raw_to */
    a->raw_fd = -1;
    if (!a->batch || !nice_agent_get_selected_pair(a->nice, a->stream, 1, &l, &r) ||
        l->type == NICE_CANDIDATE_TYPE_RELAYED || l->transport != NICE_CANDIDATE_TRANSPORT_UDP)
        return;
    GSocket *sock = nice_agent_get_selected_socket(a->nice, a->stream, 1);
    if (!sock)
        return;
    int fd = g_socket_get_fd(sock);
    g_object_unref(sock);               /* libnice keeps its own reference */
    if (cs_ice_agent_remote_address(a, &a->raw_to, &a->raw_to_len) == CS_OK)
        a->raw_fd = fd;
}

static void set_state(cs_ice_agent_t *a, cs_ice_state_t s)
{
    if (a->doomed || a->state == s)
        return;
    a->state = s;
    ice_enter(a);
    a->cb.on_state(a->user, s);
    ice_leave(a);
}

static void on_component_state(NiceAgent *nice, guint stream, guint component, guint state,
                               gpointer user)
{
    (void)nice, (void)stream, (void)component;
    cs_ice_agent_t *a = user;
    switch (state) {
    case NICE_COMPONENT_STATE_GATHERING:
    case NICE_COMPONENT_STATE_CONNECTING:
        set_state(a, CS_ICE_STATE_CHECKING);
        break;
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
        a->has_pair = true;             /* so on_state may send at once */
        raw_path(a);
        set_state(a, CS_ICE_STATE_CONNECTED);
        break;
    case NICE_COMPONENT_STATE_FAILED:
        a->raw_fd = -1;                 /* consent lost: libnice refuses sends */
        set_state(a, CS_ICE_STATE_FAILED);
        break;
    default:                            /* DISCONNECTED: where libnice starts */
        break;
    }
}

static void on_selected_pair(NiceAgent *nice, guint stream, guint component,
                             NiceCandidate *local, NiceCandidate *remote, gpointer user)
{
    (void)nice, (void)stream, (void)component, (void)local, (void)remote;
    cs_ice_agent_t *a = user;
    a->has_pair = true;
    raw_path(a);
}

/* Candidates found before this generation asked for them are handed out by
 * cs_ice_agent_gather with the others. */
static void on_new_candidate(NiceAgent *nice, NiceCandidate *c, gpointer user)
{
    (void)nice;
    cs_ice_agent_t *a = user;
    if (a->doomed || !a->gather_asked)
        return;
    ice_enter(a);
    ice_candidate_emit(a, c);
    ice_leave(a);
}

static void on_gathering_done(NiceAgent *nice, guint stream, gpointer user)
{
    (void)nice, (void)stream;
    cs_ice_agent_t *a = user;
    a->nice_gathered = true;
    if (a->doomed || !a->gather_asked)
        return;
    ice_enter(a);
    a->cb.on_gathering_done(a->user);
    ice_leave(a);
}

/* libnice's buffer is its own: one copy, so the callee may decrypt in place. */
static void on_recv(NiceAgent *nice, guint stream, guint component, guint len, gchar *buf,
                    gpointer user)
{
    (void)nice, (void)stream, (void)component;
    cs_ice_agent_t *a = user;
    if (a->doomed || !a->cb.on_data || len == 0 || len > sizeof a->scratch)
        return;
    memcpy(a->scratch, buf, len);
    ice_enter(a);
    a->cb.on_data(a->user, a->scratch, len);
    ice_leave(a);
}

/* ---- making one ---------------------------------------------------------------------- */

typedef struct {
    NiceAddress local[CS_ICE_MAX_ADDRESSES];
    char stun_ip[64];                   /* "" when none */
    guint stun_port;
} config_t;

/* "192.0.2.1:3478" or "[2001:db8::1]:3478": an IP literal, never a name. */
static int stun_parse(const char *s, config_t *c)
{
    const char *host = s, *colon;
    size_t host_len;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return CS_EINVAL;
        host = s + 1;
        host_len = (size_t)(end - host);
        colon = end + 1;
    } else {
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
            return CS_EINVAL;
        host_len = (size_t)(colon - s);
    }
    char *tail;
    unsigned long port = strtoul(colon + 1, &tail, 10);
    if (host_len == 0 || host_len >= sizeof c->stun_ip || colon[1] < '0' ||
        colon[1] > '9' || *tail || port == 0 || port > 65535)
        return CS_EINVAL;
    memcpy(c->stun_ip, host, host_len);
    c->stun_ip[host_len] = '\0';
    c->stun_port = (guint)port;
    return ice_address_parse(c->stun_ip, NULL) ? CS_OK : CS_EINVAL;
}

static int config_parse(const cs_ice_config_t *cfg, config_t *c, cs_ice_agent_t *a)
{
    memset(c, 0, sizeof *c);
    if (cfg->n_addresses > CS_ICE_MAX_ADDRESSES)
        return CS_EINVAL;
    for (size_t i = 0; i < cfg->n_addresses; i++)
        if (!ice_address_parse(cfg->addresses[i], &c->local[i]))
            return CS_EINVAL;
    /* both 0 (any port) or 1 <= min <= max */
    if ((cfg->port_min == 0) != (cfg->port_max == 0) || cfg->port_min > cfg->port_max)
        return CS_EINVAL;
    if (cfg->public_address) {
        if (!ice_address_parse(cfg->public_address, &a->public_addr))
            return CS_EINVAL;
        a->has_public = true;
    }
    return cfg->stun_server ? stun_parse(cfg->stun_server, c) : CS_OK;
}

/* libnice's own choice when no address is given: every interface but
 * loopback. A machine without any (a bare container) gets 127.0.0.1. */
static bool have_interfaces(void)
{
    GList *ips = nice_interfaces_get_local_ips(FALSE);
    bool any = ips != NULL;
    g_list_free_full(ips, g_free);
    return any;
}

static int setup(cs_ice_agent_t *a, const cs_ice_config_t *cfg, const config_t *c)
{
    /* Regular nomination, as browsers do when they control (RFC 8445
     * dropped aggressive nomination); for the controlled gateway it only
     * matters if a role conflict ever makes it controlling. */
    a->nice = nice_agent_new_full(a->ctx, NICE_COMPATIBILITY_RFC5245,
                                  NICE_AGENT_OPTION_ICE_TRICKLE |
                                      NICE_AGENT_OPTION_CONSENT_FRESHNESS |
                                      NICE_AGENT_OPTION_REGULAR_NOMINATION);
    if (!a->nice)
        return CS_ENOMEM;
    /* Debian's libnice has UPnP, which would hold gathering back for its
     * timeout and probe the LAN's router. */
    g_object_set(a->nice, "controlling-mode", cfg->controlling ? TRUE : FALSE, "ice-udp", TRUE,
                 "ice-tcp", FALSE, "upnp", FALSE, NULL);
    if (c->stun_ip[0])
        g_object_set(a->nice, "stun-server", c->stun_ip, "stun-server-port", c->stun_port,
                     NULL);
    for (size_t i = 0; i < cfg->n_addresses; i++)
        if (!nice_agent_add_local_address(a->nice, (NiceAddress *)&c->local[i]))
            return CS_ENOMEM;
    if (cfg->n_addresses == 0 && !have_interfaces()) {
        NiceAddress lo;
        ice_address_parse("127.0.0.1", &lo);
        if (!nice_agent_add_local_address(a->nice, &lo))
            return CS_ENOMEM;
    }
    if (!(a->stream = nice_agent_add_stream(a->nice, 1)))
        return CS_ENOMEM;
    if (cfg->port_min)
        nice_agent_set_port_range(a->nice, a->stream, 1, cfg->port_min, cfg->port_max);
    g_signal_connect(a->nice, "component-state-changed", G_CALLBACK(on_component_state), a);
    g_signal_connect(a->nice, "new-selected-pair-full", G_CALLBACK(on_selected_pair), a);
    g_signal_connect(a->nice, "new-candidate-full", G_CALLBACK(on_new_candidate), a);
    g_signal_connect(a->nice, "candidate-gathering-done", G_CALLBACK(on_gathering_done), a);
    /* Without a receiver libnice reads nothing, STUN included. */
    if (!nice_agent_attach_recv(a->nice, a->stream, 1, a->ctx, on_recv, a))
        return CS_EIO;
    return CS_OK;
}

cs_ice_agent_t *cs_ice_agent_new(void *main_context, const cs_ice_config_t *cfg,
                                 const cs_ice_callbacks_t *cb, void *user, int *err)
{
    int rc = CS_EINVAL;
    cs_ice_agent_t *a = NULL;
    config_t c;
    if (!main_context || !cfg || !cb || !cb->on_candidate || !cb->on_gathering_done ||
        !cb->on_state)
        goto fail;
    rc = CS_ENOMEM;
    if (!(a = calloc(1, sizeof *a)))
        goto fail;
    a->ctx = main_context;
    a->raw_fd = -1;
    a->batch = cfg->batch;
    a->cb = *cb;
    a->user = user;
    a->state = CS_ICE_STATE_NEW;
    if ((rc = config_parse(cfg, &c, a)) != CS_OK || (rc = setup(a, cfg, &c)) != CS_OK)
        goto fail;
    if (err)
        *err = CS_OK;
    return a;
fail:
    if (a && a->nice)
        detach(a);
    if (a)
        destroy(a);
    if (err)
        *err = rc;
    return NULL;
}

/* ---- credentials and candidates ------------------------------------------------------ */

int cs_ice_agent_local_credentials(const cs_ice_agent_t *a, char ufrag[CS_ICE_UFRAG_MAX],
                                   char pwd[CS_ICE_PWD_MAX])
{
    gchar *u = NULL, *p = NULL;
    if (!a || !ufrag || !pwd)
        return CS_EINVAL;
    if (!nice_agent_get_local_credentials(a->nice, a->stream, &u, &p)) {
        g_free(u);
        g_free(p);
        return CS_EIO;
    }
    bool fits = strlen(u) < CS_ICE_UFRAG_MAX && strlen(p) < CS_ICE_PWD_MAX;
    int rc = fits ? CS_OK : CS_ETOOBIG;
    if (rc == CS_OK) {
        cs_strlcpy(ufrag, u, CS_ICE_UFRAG_MAX);
        cs_strlcpy(pwd, p, CS_ICE_PWD_MAX);
    }
    g_free(u);
    g_free(p);
    return rc;
}

/* What waited for the credentials goes to libnice in one list. */
static int apply_queued(cs_ice_agent_t *a)
{
    GSList *list = NULL;
    for (size_t i = a->n_queued; i > 0; i--)
        list = g_slist_prepend(list, a->queued[i - 1]);
    int n = list ? nice_agent_set_remote_candidates(a->nice, a->stream, 1, list) : 0;
    g_slist_free(list);
    queue_clear(a);                     /* libnice made its own copies */
    return n < 0 ? CS_EIO : CS_OK;
}

int cs_ice_agent_set_remote_credentials(cs_ice_agent_t *a, const char *ufrag,
                                        const char *pwd)
{
    if (!a || !ufrag || !pwd || !ufrag[0] || !pwd[0] || strlen(ufrag) >= CS_ICE_UFRAG_MAX ||
        strlen(pwd) >= CS_ICE_PWD_MAX || strspn(ufrag, ICE_CHARS) != strlen(ufrag) ||
        strspn(pwd, ICE_CHARS) != strlen(pwd))
        return CS_EINVAL;
    if (a->have_remote)                 /* other ones need a restart first */
        return strcmp(ufrag, a->remote_ufrag) == 0 && strcmp(pwd, a->remote_pwd) == 0
                   ? CS_OK
                   : CS_ESTATE;
    ice_enter(a);
    int rc = CS_EIO;
    if (nice_agent_set_remote_credentials(a->nice, a->stream, ufrag, pwd)) {
        a->have_remote = true;
        cs_strlcpy(a->remote_ufrag, ufrag, sizeof a->remote_ufrag);
        cs_strlcpy(a->remote_pwd, pwd, sizeof a->remote_pwd);
        rc = apply_queued(a);
    }
    ice_leave(a);
    return rc;
}

int cs_ice_agent_add_remote_candidate(cs_ice_agent_t *a, const char *candidate)
{
    NiceCandidate *c = NULL;
    if (!a || !candidate)
        return CS_EINVAL;
    int rc = ice_candidate_parse(a, candidate, &c);
    if (rc != CS_OK)
        return rc;
    if (a->n_remote == CS_ICE_MAX_REMOTE_CANDIDATES) {
        nice_candidate_free(c);
        return CS_ELIMIT;
    }
    a->n_remote++;
    if (!a->have_remote) {
        a->queued[a->n_queued++] = c;
        return CS_OK;
    }
    GSList one = {c, NULL};
    ice_enter(a);
    int n = nice_agent_set_remote_candidates(a->nice, a->stream, 1, &one);
    nice_candidate_free(c);
    ice_leave(a);
    return n > 0 ? CS_OK : CS_EINVAL;
}

void cs_ice_agent_remote_gathering_done(cs_ice_agent_t *a)
{
    if (a)
        nice_agent_peer_candidate_gathering_done(a->nice, a->stream);
}

/* ---- gathering and restarts ---------------------------------------------------------- */

/* A later generation: the same local candidates, told again. */
static void replay(cs_ice_agent_t *a)
{
    GSList *list = nice_agent_get_local_candidates(a->nice, a->stream, 1);
    for (GSList *i = list; i && !a->doomed; i = i->next)
        ice_candidate_emit(a, i->data);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    /* Still gathering (a STUN answer pending): libnice's signal will say it. */
    if (a->nice_gathered && !a->doomed)
        a->cb.on_gathering_done(a->user);
}

int cs_ice_agent_gather(cs_ice_agent_t *a)
{
    if (!a)
        return CS_EINVAL;
    if (a->gather_asked)
        return CS_ESTATE;
    a->gather_asked = true;
    int rc = CS_OK;
    ice_enter(a);
    if (a->nice_gathering) {
        replay(a);
    } else {
        a->nice_gathering = true;       /* before: candidates are signalled inside */
        if (!nice_agent_gather_candidates(a->nice, a->stream)) {
            a->nice_gathering = a->gather_asked = false;
            rc = CS_EIO;                /* no address, or no free port in the range */
        }
    }
    ice_leave(a);
    return rc;
}

int cs_ice_agent_restart(cs_ice_agent_t *a)
{
    if (!a)
        return CS_EINVAL;
    queue_clear(a);
    a->n_remote = 0;
    a->have_remote = a->gather_asked = false;
    a->remote_ufrag[0] = a->remote_pwd[0] = '\0';
    ice_enter(a);
    int rc = nice_agent_restart_stream(a->nice, a->stream) ? CS_OK : CS_EIO;
    ice_leave(a);
    return rc;
}

/* ---- data ---------------------------------------------------------------------------- */

int cs_ice_agent_send(cs_ice_agent_t *a, const uint8_t *buf, size_t len)
{
    if (!a || !buf || len == 0)
        return CS_EINVAL;
    if (len > MAX_UDP_PAYLOAD)
        return CS_ETOOBIG;
    if (!a->has_pair)
        return CS_ESTATE;
    if (a->raw_fd >= 0)
        return ice_batch_queue(a->batch, a->raw_fd, &a->raw_to, a->raw_to_len, buf, len);
    GOutputVector v = {buf, len};
    NiceOutputMessage m = {&v, 1};
    GError *e = NULL;
    if (nice_agent_send_messages_nonblocking(a->nice, a->stream, 1, &m, 1, NULL, &e) == 1)
        return CS_OK;
    int rc = CS_EAGAIN;
    if (e && (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ||
              g_error_matches(e, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)))
        rc = CS_ESTATE;                 /* consent lost (RFC 7675 §5.1): stop sending */
    else if (e && !g_error_matches(e, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        rc = CS_EIO;
    if (e)
        g_error_free(e);
    return rc;
}

cs_ice_state_t cs_ice_agent_state(const cs_ice_agent_t *a)
{
    return a ? a->state : CS_ICE_STATE_CLOSED;
}

static const char *type_name(NiceCandidateType t)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    return (unsigned)t < CS_ARRAY_LEN(names) ? names[t] : "?";
}

static void endpoint(const NiceAddress *addr, char out[NICE_ADDRESS_STRING_LEN + 8])
{
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(addr, ip);
    bool v6 = nice_address_ip_version(addr) == 6;
    snprintf(out, NICE_ADDRESS_STRING_LEN + 8, "%s%s%s:%u", v6 ? "[" : "", ip,
             v6 ? "]" : "", nice_address_get_port(addr));
}

int cs_ice_agent_remote_address(const cs_ice_agent_t *a, struct sockaddr_storage *out,
                                socklen_t *len)
{
    NiceCandidate *l = NULL, *r = NULL;
    if (!a || !a->has_pair || !nice_agent_get_selected_pair(a->nice, a->stream, 1, &l, &r))
        return CS_ESTATE;
    memset(out, 0, sizeof *out);
    nice_address_copy_to_sockaddr(&r->addr, (struct sockaddr *)out);
    *len = nice_address_ip_version(&r->addr) == 6 ? sizeof(struct sockaddr_in6)
                                                  : sizeof(struct sockaddr_in);
    return CS_OK;
}

void cs_ice_agent_selected_pair(const cs_ice_agent_t *a, char *buf, size_t cap)
{
    NiceCandidate *l = NULL, *r = NULL;
    if (!buf || cap == 0)
        return;
    buf[0] = '\0';
    if (!a || !a->has_pair || !nice_agent_get_selected_pair(a->nice, a->stream, 1, &l, &r))
        return;
    char le[NICE_ADDRESS_STRING_LEN + 8], re[NICE_ADDRESS_STRING_LEN + 8];
    endpoint(&l->addr, le);
    endpoint(&r->addr, re);
    snprintf(buf, cap, "%s %s -> %s (%s/%s)",
             l->transport == NICE_CANDIDATE_TRANSPORT_UDP ? "udp" : "tcp", le, re,
             type_name(l->type), type_name(r->type));
}
