/*
 * ice_send.c — the datagram path out, batched: an agent whose selected pair
 * is a plain UDP one (host, server- or peer-reflexive; not a TURN relay,
 * whose framing is libnice's) queues what it sends in its context's batch,
 * and the batch leaves just before the context next polls, with one
 * sendmmsg per socket. A media worker forwarding a burst of packets to a
 * subscriber thus makes one system call instead of one per packet, and
 * skips libnice's per-send lock and lookups.
 *
 * Why this is safe to do beside libnice: the socket is libnice's (the
 * selected pair's base socket), read only by libnice; sending on it with the
 * pair's remote address is what nice_agent_send does for such a pair.
 * Consent (RFC 7675) is still libnice's: when it is lost the component
 * fails, the agent drops its raw path and sends go back through libnice,
 * which refuses them. A pair change refreshes the path. An agent flushes
 * the batch before it is freed, so nothing queued outlives its socket.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/common.h"
#include "internal.h"

#define BATCH_PACKETS 64
#define BATCH_BYTES (BATCH_PACKETS * 1500)

typedef struct {
    int fd;                             /* -1 once sent */
    socklen_t to_len;
    const struct sockaddr_storage *to;  /* the agent's: it flushes before it changes or goes */
    uint32_t off, len;                  /* in the arena */
} queued_t;

typedef struct {
    GSource source;                     /* first: GLib allocates the whole struct */
    cs_ice_batch_t *batch;
} flush_source_t;

struct cs_ice_batch {
    GMainContext *ctx;
    GSource *flusher;
    size_t n, used;
    queued_t q[BATCH_PACKETS];
    uint8_t arena[BATCH_BYTES];
    uint64_t syscalls, datagrams, dropped;
};

/* Sends the k messages of one socket; what the socket refuses is dropped,
 * as a full socket buffer drops a datagram anyway. */
static void send_socket(cs_ice_batch_t *b, int fd, struct mmsghdr *m, unsigned k)
{
    unsigned done = 0;
    while (done < k) {
        int rc = sendmmsg(fd, m + done, k - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        b->syscalls++;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            b->dropped += k - done;     /* EAGAIN, ENOBUFS, an unreachable port */
            return;
        }
        done += (unsigned)rc;
        b->datagrams += (unsigned)rc;
    }
}

void cs_ice_batch_flush(cs_ice_batch_t *b)
{
    if (!b || b->n == 0)
        return;
    struct mmsghdr m[BATCH_PACKETS];
    struct iovec v[BATCH_PACKETS];
    for (size_t i = 0; i < b->n; i++) {
        int fd = b->q[i].fd;
        if (fd < 0)
            continue;
        unsigned k = 0;
        for (size_t j = i; j < b->n; j++) {
            queued_t *e = &b->q[j];
            if (e->fd != fd)
                continue;
            v[k] = (struct iovec){b->arena + e->off, e->len};
            m[k] = (struct mmsghdr){.msg_hdr = {.msg_name = (void *)e->to, .msg_namelen = e->to_len,
                                                .msg_iov = &v[k], .msg_iovlen = 1}};
            e->fd = -1;
            k++;
        }
        send_socket(b, fd, m, k);
    }
    b->n = b->used = 0;
}

int ice_batch_queue(cs_ice_batch_t *b, int fd, const struct sockaddr_storage *to,
                    socklen_t to_len, const uint8_t *buf, size_t len)
{
    if (len > BATCH_BYTES)
        return CS_ETOOBIG;
    if (b->n == BATCH_PACKETS || b->used + len > BATCH_BYTES)
        cs_ice_batch_flush(b);
    queued_t *e = &b->q[b->n++];
    e->fd = fd;
    e->to = to;
    e->to_len = to_len;
    e->off = (uint32_t)b->used;
    e->len = (uint32_t)len;
    memcpy(b->arena + b->used, buf, len);
    b->used += len;
    return CS_OK;
}

/* Runs before every poll of the context: what the iteration queued leaves. */
static gboolean flush_prepare(GSource *s, gint *timeout)
{
    cs_ice_batch_flush(((flush_source_t *)s)->batch);
    *timeout = -1;
    return FALSE;
}

static gboolean flush_check(GSource *s)
{
    (void)s;
    return FALSE;
}

static gboolean flush_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
    (void)s, (void)cb, (void)data;
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = {flush_prepare, flush_check, flush_dispatch, NULL, NULL, NULL};

cs_ice_batch_t *cs_ice_batch_new(void *main_context, int *err)
{
    cs_ice_batch_t *b = main_context ? malloc(sizeof *b) : NULL;
    if (!b) {
        if (err)
            *err = main_context ? CS_ENOMEM : CS_EINVAL;
        return NULL;
    }
    memset(b, 0, offsetof(cs_ice_batch_t, arena));
    b->ctx = main_context;
    b->flusher = g_source_new(&flush_funcs, sizeof(flush_source_t));
    ((flush_source_t *)b->flusher)->batch = b;
    /* First in line: GLib stops preparing sources of a lower priority
     * than one already found ready, and this one must always run. */
    g_source_set_priority(b->flusher, G_PRIORITY_HIGH);
    g_source_attach(b->flusher, b->ctx);
    return b;
}

void cs_ice_batch_free(cs_ice_batch_t *b)
{
    if (!b)
        return;
    cs_ice_batch_flush(b);
    g_source_destroy(b->flusher);
    g_source_unref(b->flusher);
    free(b);
}

void cs_ice_batch_stats(const cs_ice_batch_t *b, cs_ice_batch_stats_t *out)
{
    *out = (cs_ice_batch_stats_t){0};
    if (b)
        *out = (cs_ice_batch_stats_t){b->syscalls, b->datagrams, b->dropped};
}
