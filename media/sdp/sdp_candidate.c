/*
 * sdp_candidate.c — RFC 8839 ICE candidates: a=candidate lines inside a
 * description and single candidates trickled through signalling, both ways.
 *
 *   candidate:<foundation> <component> <transport> <priority> <address> <port>
 *             typ <type> [raddr <a>] [rport <p>] *(<ext-name> <ext-value>)
 *
 * Addresses are kept as text: browsers hide host addresses behind mDNS
 * names ("<uuid>.local") that only the ICE agent resolves. Extensions other
 * than raddr, rport, tcptype, generation, ufrag, network-id and network-cost
 * are skipped; a candidate of a transport or type this module does not know
 * is reported as CS_EUNSUPPORTED so the caller can ignore it (RFC 8839 §5.1).
 */
#include "media/sdp/sdp_internal.h"

#include <string.h>

#include "common/common.h"

#define FAIL(err, line, code, ...) cs_sdp_fail(err, line, code, __VA_ARGS__)

static const char *const tcptypes[] = {"", "active", "passive", "so"};

static int extension(cs_sdp_span_t name, cs_sdp_span_t val, cs_sdp_candidate_t *o,
                     cs_sdp_error_t *err, unsigned line)
{
    uint32_t n;
    if (cs_sdp_eq(name, "raddr")) {
        if (cs_sdp_copy(o->raddr, sizeof o->raddr, val))
            return FAIL(err, line, CS_ETOOBIG, "a=candidate raddr is too long");
    } else if (cs_sdp_eq(name, "rport")) {
        if (!cs_sdp_u32(val, 65535, &n))
            return FAIL(err, line, CS_EINVAL, "a=candidate rport is not a number from 0 to 65535");
        o->has_rport = true;
        o->rport = (uint16_t)n;
    } else if (cs_sdp_eq(name, "tcptype")) {
        o->tcptype = CS_SDP_TCP_NONE;
        for (int t = CS_SDP_TCP_ACTIVE; t <= CS_SDP_TCP_SO; t++)
            if (cs_sdp_eq(val, tcptypes[t]))
                o->tcptype = (cs_sdp_tcptype_t)t;
        if (o->tcptype == CS_SDP_TCP_NONE)
            return FAIL(err, line, CS_EINVAL, "a=candidate tcptype is not active, passive or so");
    } else if (cs_sdp_eq(name, "ufrag")) {
        if (!cs_sdp_is_ice_chars(val))
            return FAIL(err, line, CS_EINVAL, "a=candidate ufrag is not made of ICE characters");
        if (cs_sdp_copy(o->ufrag, sizeof o->ufrag, val))
            return FAIL(err, line, CS_ETOOBIG, "a=candidate ufrag is too long");
    } else {
        bool *has;
        uint32_t *dst;
        if (cs_sdp_eq(name, "generation"))
            has = &o->has_generation, dst = &o->generation;
        else if (cs_sdp_eq(name, "network-id"))
            has = &o->has_network_id, dst = &o->network_id;
        else if (cs_sdp_eq(name, "network-cost"))
            has = &o->has_network_cost, dst = &o->network_cost;
        else
            return CS_OK; /* an extension nobody here reads */
        if (!cs_sdp_u32(val, UINT32_MAX, dst))
            return FAIL(err, line, CS_EINVAL, "a=candidate extension value is not a number");
        *has = true;
    }
    return CS_OK;
}

/* The six fields before "typ", and "typ <type>"; *known tells whether the
 * transport and type are ones this module knows. */
static int fixed_fields(cs_sdp_span_t *v, cs_sdp_candidate_t *o, bool *known,
                        cs_sdp_error_t *err, unsigned line)
{
    cs_sdp_span_t f[8];
    for (int i = 0; i < 8; i++)
        if (!cs_sdp_next_word(v, &f[i]))
            return FAIL(err, line, CS_EINVAL, "a=candidate has missing fields");
    uint32_t comp, prio, port;
    if (!cs_sdp_is_ice_chars(f[0]))
        return FAIL(err, line, CS_EINVAL, "a=candidate foundation is not made of ICE characters");
    if (cs_sdp_copy(o->foundation, sizeof o->foundation, f[0]))
        return FAIL(err, line, CS_ETOOBIG, "a=candidate foundation is too long");
    if (!cs_sdp_u32(f[1], 256, &comp) || comp == 0)
        return FAIL(err, line, CS_EINVAL, "a=candidate component is not from 1 to 256");
    if (!cs_sdp_u32(f[3], UINT32_MAX, &prio))
        return FAIL(err, line, CS_EINVAL, "a=candidate priority is not a 32-bit number");
    if (cs_sdp_copy(o->address, sizeof o->address, f[4]))
        return FAIL(err, line, CS_ETOOBIG, "a=candidate address is too long");
    if (!cs_sdp_u32(f[5], 65535, &port))
        return FAIL(err, line, CS_EINVAL, "a=candidate port is not a number from 0 to 65535");
    if (!cs_sdp_eq(f[6], "typ"))
        return FAIL(err, line, CS_EINVAL, "a=candidate has no 'typ' after the port");
    o->component = (uint16_t)comp;
    o->priority = prio;
    o->port = (uint16_t)port;
    bool udp = cs_sdp_ieq(f[2], "udp"), tcp = cs_sdp_ieq(f[2], "tcp");
    o->transport = tcp ? CS_SDP_TRANSPORT_TCP : CS_SDP_TRANSPORT_UDP;
    int type = -1;
    for (int t = CS_SDP_CAND_HOST; t <= CS_SDP_CAND_RELAY; t++)
        if (cs_sdp_eq(f[7], cs_sdp_cand_type_name((cs_sdp_cand_type_t)t)))
            type = t;
    *known = (udp || tcp) && type >= 0;
    o->type = type >= 0 ? (cs_sdp_cand_type_t)type : CS_SDP_CAND_HOST;
    return CS_OK;
}

int cs_sdp_candidate_span(cs_sdp_span_t v, cs_sdp_candidate_t *out, cs_sdp_error_t *err,
                          unsigned line)
{
    memset(out, 0, sizeof *out);
    bool known = false;
    int rc = fixed_fields(&v, out, &known, err, line);
    if (rc)
        return rc;
    cs_sdp_span_t name, val;
    while (cs_sdp_next_word(&v, &name)) {
        if (!cs_sdp_next_word(&v, &val))
            return FAIL(err, line, CS_EINVAL, "a=candidate extension without a value");
        if ((rc = extension(name, val, out, err, line)))
            return rc;
    }
    if (!known)
        return FAIL(err, line, CS_EUNSUPPORTED, "a=candidate of an unknown transport or type");
    return CS_OK;
}

int cs_sdp_attr_candidate(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_media_t *m = c->m;
    cs_sdp_candidate_t cand;
    cs_sdp_error_t scratch;
    int rc = cs_sdp_candidate_span(v, &cand, &scratch, c->line);
    if (rc == CS_EUNSUPPORTED)
        return CS_OK;
    if (rc) {
        if (c->err)
            *c->err = scratch;
        return rc;
    }
    if (m->n_candidates >= CS_SDP_MAX_CANDIDATES)
        return cs_sdp_fail(c->err, c->line, CS_ELIMIT, "more than %d a=candidate in a section",
                           CS_SDP_MAX_CANDIDATES);
    memcpy(&m->candidates[m->n_candidates++], &cand, sizeof cand);
    return CS_OK;
}

int cs_sdp_candidate_parse(const char *text, size_t len, cs_sdp_candidate_t *out,
                           cs_sdp_error_t *err)
{
    cs_sdp_error_t scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    if (!text)
        return FAIL(err, 0, CS_EINVAL, "no candidate");
    if (len > CS_SDP_MAX_LINE)
        return FAIL(err, 0, CS_ETOOBIG, "candidate longer than %d bytes", CS_SDP_MAX_LINE);
    cs_sdp_span_t v = {text, len};
    while (v.n && (v.p[v.n - 1] == '\n' || v.p[v.n - 1] == '\r' || v.p[v.n - 1] == ' '))
        v.n--;
    for (size_t i = 0; i < v.n; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return FAIL(err, 0, CS_EINVAL, "control character in candidate");
    }
    if (v.n >= 2 && memcmp(v.p, "a=", 2) == 0)
        v.p += 2, v.n -= 2;
    if (v.n < 10 || memcmp(v.p, "candidate:", 10) != 0)
        return FAIL(err, 0, CS_EINVAL, "candidate does not start with 'candidate:'");
    v.p += 10, v.n -= 10;
    return cs_sdp_candidate_span(v, out, err, 0);
}

static bool candidate_ok(const cs_sdp_candidate_t *c)
{
    return cs_sdp_is_ice_chars(cs_sdp_span(c->foundation)) &&
           strlen(c->foundation) < sizeof c->foundation && c->component >= 1 &&
           c->component <= 256 && (unsigned)c->type <= CS_SDP_CAND_RELAY &&
           (unsigned)c->transport <= CS_SDP_TRANSPORT_TCP &&
           (unsigned)c->tcptype <= CS_SDP_TCP_SO &&
           memchr(c->address, '\0', sizeof c->address) && cs_sdp_is_word(cs_sdp_span(c->address)) &&
           memchr(c->raddr, '\0', sizeof c->raddr) &&
           (!c->raddr[0] || cs_sdp_is_word(cs_sdp_span(c->raddr))) &&
           memchr(c->ufrag, '\0', sizeof c->ufrag) &&
           (!c->ufrag[0] || cs_sdp_is_ice_chars(cs_sdp_span(c->ufrag)));
}

int cs_sdp_candidate_write(const cs_sdp_candidate_t *c, char *buf, size_t cap)
{
    if (!buf || !cap)
        return CS_ETOOBIG;
    buf[0] = '\0';
    if (!candidate_ok(c))
        return CS_EINVAL;
    cs_sdp_out_t o = {buf, cap, 0, false};
    cs_sdp_out(&o, "candidate:%s %u %s %u %s %u typ %s", c->foundation, c->component,
               c->transport == CS_SDP_TRANSPORT_TCP ? "tcp" : "udp", c->priority, c->address,
               c->port, cs_sdp_cand_type_name(c->type));
    if (c->raddr[0])
        cs_sdp_out(&o, " raddr %s", c->raddr);
    if (c->has_rport)
        cs_sdp_out(&o, " rport %u", c->rport);
    if (c->tcptype != CS_SDP_TCP_NONE)
        cs_sdp_out(&o, " tcptype %s", tcptypes[c->tcptype]);
    if (c->has_generation)
        cs_sdp_out(&o, " generation %u", c->generation);
    if (c->ufrag[0])
        cs_sdp_out(&o, " ufrag %s", c->ufrag);
    if (c->has_network_id)
        cs_sdp_out(&o, " network-id %u", c->network_id);
    if (c->has_network_cost)
        cs_sdp_out(&o, " network-cost %u", c->network_cost);
    return o.over ? CS_ETOOBIG : CS_OK;
}
