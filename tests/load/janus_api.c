/*
 * janus_api.c — the plumbing of Janus's WebSocket API for lt_driver_janus
 * (janus.c): requests tagged with a transaction "<kind>-<n>" so replies are
 * told apart, trickled candidates both ways with those that come too early
 * held back, and the goodbye a participant says after its consult stopped.
 *
 * Threads: the run's one GMainContext thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/load/janus_internal.h"

void lt_jfail(lt_jconsult_t *jc, const char *fmt, ...)
{
    if (!jc || jc->failed)
        return;
    jc->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(jc->why, sizeof jc->why, fmt, ap);
    va_end(ap);
}

uint64_t lt_jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

const char *lt_jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

bool lt_jstarts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *lt_jpc_name(const lt_jpc_t *pc)
{
    return pc->sub ? "subscriber" : "publisher";
}

int lt_jsend(lt_jpart_t *p, json_t *msg, const char *kind)
{
    if (!msg)
        return CS_ENOMEM;
    char tx[48];
    snprintf(tx, sizeof tx, "%s-%u", kind, ++p->tx);
    json_object_set_new(msg, "transaction", json_string(tx));
    if (p->session)
        json_object_set_new(msg, "session_id", json_integer((json_int_t)p->session));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text)
        return CS_ENOMEM;
    int rc = p->ws ? lt_ws_send(p->ws, text, strlen(text)) : CS_ESTATE;
    free(text);
    if (rc < 0)
        lt_jfail(p->jc, "participant %u: cannot send %s to Janus: %s", p->index, kind,
                 cs_strerror(rc));
    return rc;
}

int lt_jplugin(lt_jpc_t *pc, json_t *body, const char *type, const char *sdp, const char *kind)
{
    json_t *m = json_pack("{s:s, s:I, s:o}", "janus", "message", "handle_id",
                          (json_int_t)pc->handle, "body", body);
    if (m && sdp)
        json_object_set_new(m, "jsep", json_pack("{s:s, s:s}", "type", type, "sdp", sdp));
    return lt_jsend(pc->part, m, kind);
}

void lt_jtrickle(lt_jpc_t *pc, const char *candidate)
{
    json_t *cand = *candidate
        ? json_pack("{s:s, s:s, s:i}", "candidate", candidate, "sdpMid", "0", "sdpMLineIndex", 0)
        : json_pack("{s:b}", "completed", 1);
    lt_jsend(pc->part, json_pack("{s:s, s:I, s:o}", "janus", "trickle", "handle_id",
                                 (json_int_t)pc->handle, "candidate", cand), "trickle");
}

void lt_jhold(lt_jcands_t *h, const char *candidate)
{
    if (!*candidate)
        h->done = true;
    else if (h->n < LT_J_CAND_MAX)
        cs_strlcpy(h->c[h->n++], candidate, LT_J_CAND_LEN);
}

void lt_jadd_remote(lt_jpc_t *pc, const char *candidate)
{
    int rc = lt_peer_add_remote_candidate(pc->peer, candidate);
    if (rc < 0 && *candidate)
        CS_LOGD("load", "janus: participant %u %s: candidate refused (%s)", pc->part->index,
                lt_jpc_name(pc), cs_strerror(rc));
}

void lt_jrelease(lt_jpc_t *pc, lt_jcands_t *h, void (*go)(lt_jpc_t *, const char *))
{
    for (size_t i = 0; i < h->n; i++)
        go(pc, h->c[i]);
    h->n = 0;
    if (h->done)
        go(pc, "");
}

/* ---- after the consult: goodbyes ------------------------------------------------------------- */

/* Participants still saying goodbye (process-wide: the runner's one thread). */
static size_t goodbyes;

void lt_jpart_free(lt_jpart_t *p)
{
    if (p->goodbye) {
        g_source_destroy(p->goodbye);
        g_source_unref(p->goodbye);
        goodbyes--;
    }
    if (p->ws)
        lt_ws_free(p->ws);
    free(p);
}

/* Janus runs requests to a plugin on other threads than its own (detach,
 * destroy), and destroys a session at once when its socket closes: so the
 * room's destroy and the leave are answered before the handles are
 * detached, and the socket stays open until the session's destroy is
 * answered (or LT_J_GOODBYE_MS passed). */
static void detach(lt_jpart_t *p, const lt_jpc_t *pc)
{
    if (pc->handle)
        lt_jsend(p, json_pack("{s:s, s:I}", "janus", "detach", "handle_id", (json_int_t)pc->handle),
                 "detach");
}

static void goodbye_detach(lt_jpart_t *p)
{
    detach(p, &p->pub);
    detach(p, &p->sub);
    lt_jsend(p, json_pack("{s:s}", "janus", "destroy"), "destroy");
}

void lt_jgoodbye_reply(lt_jpart_t *p, const char *text, size_t len)
{
    json_t *msg = json_loadb(text, len, 0, NULL);
    const char *kind = lt_jstr(msg, "janus");
    const char *tx = lt_jstr(msg, "transaction");
    if (strcmp(kind, "ack") == 0) {
        /* the answer follows */
    } else if (lt_jstarts(tx, "leave-") || lt_jstarts(tx, "destroyroom-")) {
        if (p->bye_pending > 0 && --p->bye_pending == 0)
            goodbye_detach(p);
    } else if (lt_jstarts(tx, "destroy-") && p->ws) {
        lt_ws_close(p->ws, 1000);
    }
    json_decref(msg);
}

static gboolean goodbye_late(gpointer user)
{
    lt_jpart_free(user);
    return G_SOURCE_REMOVE;
}

/* What a leaving browser page sends: leave, (the room's creator) destroy
 * the room, then detach both handles and destroy the session. */
void lt_jgoodbye(lt_jpart_t *p)
{
    lt_jconsult_t *jc = p->jc;
    if (p->pub.handle && p->join_sent) {
        lt_jplugin(&p->pub, json_pack("{s:s}", "request", "leave"), NULL, NULL, "leave");
        p->bye_pending++;
    }
    if (p->pub.handle && p->index == 0 && jc->room_ready) {
        json_t *body = json_pack("{s:s, s:I}", "request", "destroy", "room", (json_int_t)jc->room);
        lt_jplugin(&p->pub, body, NULL, NULL, "destroyroom");
        p->bye_pending++;
    }
    p->jc = NULL;
    if (p->bye_pending == 0)
        goodbye_detach(p);
    p->goodbye = g_timeout_source_new(LT_J_GOODBYE_MS);
    g_source_set_callback(p->goodbye, goodbye_late, p, NULL);
    g_source_attach(p->goodbye, jc->c->env->ctx);
    goodbyes++;
}

size_t lt_jgoodbyes_left(void)
{
    return goodbyes;
}
