/*
 * sdp_streams.c — the attributes that describe a section's RTP streams:
 * a=ssrc (cname, msid), a=ssrc-group (FID for RTX, SIM), a=rid (RFC 8851)
 * and a=simulcast (RFC 8853).
 *
 * The router needs these to tell a sender's layers and retransmissions
 * apart; everything else an a=ssrc line may carry (label, mslabel) is legacy
 * Plan B and is skipped.
 */
#include "media/sdp/sdp_internal.h"

#include <string.h>

#include "common/common.h"

#define FAIL(c, code, ...) cs_sdp_fail((c)->err, (c)->line, code, __VA_ARGS__)

static cs_sdp_ssrc_t *ssrc_entry(cs_sdp_ctx_t *c, uint32_t id, int *rc)
{
    cs_sdp_media_t *m = c->m;
    for (unsigned i = 0; i < m->n_ssrcs; i++)
        if (m->ssrcs[i].ssrc == id)
            return &m->ssrcs[i];
    if (m->n_ssrcs >= CS_SDP_MAX_SSRCS) {
        *rc = FAIL(c, CS_ELIMIT, "more than %d a=ssrc ids in a section", CS_SDP_MAX_SSRCS);
        return NULL;
    }
    cs_sdp_ssrc_t *e = &m->ssrcs[m->n_ssrcs++];
    e->ssrc = id;
    return e;
}

int cs_sdp_attr_ssrc(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_span_t idw, name;
    uint32_t id;
    if (!cs_sdp_next_word(&v, &idw) || !cs_sdp_u32(idw, UINT32_MAX, &id))
        return FAIL(c, CS_EINVAL, "a=ssrc id is not a 32-bit number");
    v = cs_sdp_skip_space(v);
    cs_sdp_split(&v, ':', &name);
    if (!name.n)
        return FAIL(c, CS_EINVAL, "a=ssrc without an attribute");
    int rc = CS_OK;
    if (cs_sdp_eq(name, "cname")) {
        if (!v.n)
            return FAIL(c, CS_EINVAL, "a=ssrc cname is empty");
        cs_sdp_ssrc_t *e = ssrc_entry(c, id, &rc);
        if (e && cs_sdp_copy(e->cname, sizeof e->cname, v))
            rc = FAIL(c, CS_ETOOBIG, "a=ssrc cname is too long");
    } else if (cs_sdp_eq(name, "msid")) {
        cs_sdp_span_t stream, track = {"", 0};
        if (!cs_sdp_next_word(&v, &stream))
            return FAIL(c, CS_EINVAL, "a=ssrc msid without a stream id");
        cs_sdp_next_word(&v, &track);
        cs_sdp_ssrc_t *e = ssrc_entry(c, id, &rc);
        if (e && (cs_sdp_copy(e->stream, sizeof e->stream, stream) ||
                  cs_sdp_copy(e->track, sizeof e->track, track)))
            rc = FAIL(c, CS_ETOOBIG, "a=ssrc msid id is too long");
    }
    return rc;
}

int cs_sdp_attr_ssrc_group(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_media_t *m = c->m;
    cs_sdp_span_t sem, w;
    if (!cs_sdp_next_word(&v, &sem) || !cs_sdp_is_token(sem))
        return FAIL(c, CS_EINVAL, "a=ssrc-group without semantics");
    if (m->n_ssrc_groups >= CS_SDP_MAX_SSRC_GROUPS)
        return FAIL(c, CS_ELIMIT, "more than %d a=ssrc-group in a section",
                    CS_SDP_MAX_SSRC_GROUPS);
    cs_sdp_ssrc_group_t *g = &m->ssrc_groups[m->n_ssrc_groups];
    if (cs_sdp_copy(g->semantics, sizeof g->semantics, sem))
        return FAIL(c, CS_ETOOBIG, "a=ssrc-group semantics are too long");
    while (cs_sdp_next_word(&v, &w)) {
        if (g->n_ssrcs >= CS_SDP_MAX_GROUP_SSRCS)
            return FAIL(c, CS_ELIMIT, "a=ssrc-group has more than %d ssrcs",
                        CS_SDP_MAX_GROUP_SSRCS);
        if (!cs_sdp_u32(w, UINT32_MAX, &g->ssrcs[g->n_ssrcs++]))
            return FAIL(c, CS_EINVAL, "a=ssrc-group ssrc is not a 32-bit number");
    }
    if (!g->n_ssrcs)
        return FAIL(c, CS_EINVAL, "a=ssrc-group without ssrcs");
    m->n_ssrc_groups++;
    return CS_OK;
}

int cs_sdp_attr_rid(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_media_t *m = c->m;
    cs_sdp_span_t id, dir;
    if (!cs_sdp_next_word(&v, &id) || !cs_sdp_next_word(&v, &dir))
        return FAIL(c, CS_EINVAL, "a=rid needs an id and a direction");
    if (!cs_sdp_rid_valid(id))
        return FAIL(c, CS_EINVAL, "a=rid id is not letters, digits, '-' or '_'");
    if (!cs_sdp_eq(dir, "send") && !cs_sdp_eq(dir, "recv"))
        return FAIL(c, CS_EINVAL, "a=rid direction is not send or recv");
    if (m->n_rids >= CS_SDP_MAX_RIDS)
        return FAIL(c, CS_ELIMIT, "more than %d a=rid in a section", CS_SDP_MAX_RIDS);
    cs_sdp_rid_t *r = &m->rids[m->n_rids];
    if (cs_sdp_copy(r->id, sizeof r->id, id))
        return FAIL(c, CS_ETOOBIG, "a=rid id is too long");
    for (unsigned i = 0; i < m->n_rids; i++)
        if (strcmp(m->rids[i].id, r->id) == 0)
            return FAIL(c, CS_EINVAL, "a=rid repeats an id");
    r->direction = cs_sdp_eq(dir, "send") ? CS_SDP_RID_SEND : CS_SDP_RID_RECV;
    if (cs_sdp_copy(r->params, sizeof r->params, cs_sdp_skip_space(v)))
        return FAIL(c, CS_ETOOBIG, "a=rid restrictions are too long");
    m->n_rids++;
    return CS_OK;
}

/* RFC 8853 §5.1: a rid appears at most once in an a=simulcast line. */
static bool sim_has(const cs_sdp_media_t *m, const char *rid)
{
    const cs_sdp_sim_list_t *lists[2] = {&m->sim_send, &m->sim_recv};
    for (int l = 0; l < 2; l++)
        for (unsigned i = 0; i < lists[l]->n_streams; i++)
            for (unsigned j = 0; j < lists[l]->streams[i].n_alts; j++)
                if (!strcmp(lists[l]->streams[i].alts[j].rid, rid))
                    return true;
    return false;
}

/* One simulcast stream: "h" or "~h" alternatives joined by ','. */
static int sim_stream(cs_sdp_ctx_t *c, cs_sdp_span_t s, cs_sdp_sim_stream_t *st)
{
    cs_sdp_span_t alt;
    for (bool more = true; more;) {
        more = cs_sdp_split(&s, ',', &alt);
        if (st->n_alts >= CS_SDP_MAX_ALTS)
            return FAIL(c, CS_ELIMIT, "a=simulcast stream has more than %d alternatives",
                        CS_SDP_MAX_ALTS);
        cs_sdp_sim_alt_t *a = &st->alts[st->n_alts++];
        if (alt.n && alt.p[0] == '~') {
            a->paused = true;
            alt.p++, alt.n--;
        }
        if (!cs_sdp_rid_valid(alt))
            return FAIL(c, CS_EINVAL, "a=simulcast has an empty or malformed rid");
        char rid[CS_SDP_RID_MAX];
        if (cs_sdp_copy(rid, sizeof rid, alt))
            return FAIL(c, CS_ETOOBIG, "a=simulcast rid is too long");
        if (sim_has(c->m, rid))
            return FAIL(c, CS_EINVAL, "a=simulcast repeats a rid");
        memcpy(a->rid, rid, sizeof rid);
    }
    return CS_OK;
}

/* A stream list: streams joined by ';'. Drafts wrote "rid=" before it. */
static int sim_list(cs_sdp_ctx_t *c, cs_sdp_span_t s, cs_sdp_sim_list_t *l)
{
    cs_sdp_span_t stream;
    if (s.n > 4 && memcmp(s.p, "rid=", 4) == 0)
        s.p += 4, s.n -= 4;
    for (bool more = true; more;) {
        more = cs_sdp_split(&s, ';', &stream);
        if (l->n_streams >= CS_SDP_MAX_RIDS)
            return FAIL(c, CS_ELIMIT, "a=simulcast has more than %d streams", CS_SDP_MAX_RIDS);
        int rc = sim_stream(c, stream, &l->streams[l->n_streams++]);
        if (rc)
            return rc;
    }
    return CS_OK;
}

int cs_sdp_attr_simulcast(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_media_t *m = c->m;
    cs_sdp_span_t dir, list;
    bool seen_send = false, seen_recv = false;
    /* A later a=simulcast replaces an earlier one. */
    memset(&m->sim_send, 0, sizeof m->sim_send);
    memset(&m->sim_recv, 0, sizeof m->sim_recv);
    m->has_simulcast = true;
    while (cs_sdp_next_word(&v, &dir)) {
        bool send = cs_sdp_eq(dir, "send");
        if (!send && !cs_sdp_eq(dir, "recv"))
            return FAIL(c, CS_EINVAL, "a=simulcast direction is not send or recv");
        if (send ? seen_send : seen_recv)
            return FAIL(c, CS_EINVAL, "a=simulcast repeats a direction");
        *(send ? &seen_send : &seen_recv) = true;
        if (!cs_sdp_next_word(&v, &list))
            return FAIL(c, CS_EINVAL, "a=simulcast direction without a stream list");
        int rc = sim_list(c, list, send ? &m->sim_send : &m->sim_recv);
        if (rc)
            return rc;
    }
    if (!seen_send && !seen_recv)
        return FAIL(c, CS_EINVAL, "a=simulcast without a direction");
    return CS_OK;
}
