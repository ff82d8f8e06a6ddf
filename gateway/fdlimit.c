/*
 * fdlimit.c — reconciles limits.max_connections with the process's open-files
 * limit (RLIMIT_NOFILE) at start, before anything opens a file.
 *
 * A gateway started by systemd or a login shell usually gets a soft limit of
 * 1024 whatever max_connections says. Past it accept() fails with EMFILE, and
 * so do the media core's sockets, recordings and SQLite: a flood of idle
 * connections would then break consults in progress. So, as careful servers
 * do, we raise the soft limit towards the hard one as far as the connections
 * plus a reserve for everything else need, and when the hard limit is too low
 * we accept fewer connections (the rest get the usual 1013) and say so once.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/common.h"
#include "gateway.h"

#define MOD "gateway"

/*
 * The reserve: what the process needs besides one descriptor per WebSocket.
 * - START_FDS (plus one per media worker) are opened at start, before any
 *   connection: stdio, /dev/urandom, both SQLite databases with their WAL
 *   and shared-memory files, lws's pipe and listening sockets, the eventfds
 *   of the loop and of each media worker (19 measured with two workers).
 * - LATER_FDS (plus POSTPROC_FDS per post-processing worker) are opened while
 *   running whatever the connections: the outbox's HTTP connection, a
 *   recording's capture and key files, post-processing's capture files of up
 *   to 8 participants, its sealed output and libav's own.
 * - MEDIA_FDS for each participant in a call: measured 4 (one UDP socket per
 *   ICE address, three on a host with IPv4, IPv6 and another address, and the
 *   ICE agent's eventfd). Not every connection is in a call (clinicians wait
 *   in queues, specialists on standby, coordinators watch), so we keep room
 *   for one connection in CONNECTIONS_PER_CALLER: half a descriptor each.
 * - HTTP_FDS plus one per HTTP_SHARE connections for the sockets the
 *   front door holds besides open WebSockets: HTTP requests (/healthz, an
 *   upload), upgrades in progress, refused or closing WebSockets in their
 *   close handshake.
 * With the default 20000 connections that is 31,000-odd descriptors, far
 * below the usual hard limit (524288 on Debian).
 */
#define START_FDS 32u
#define LATER_FDS 32u
#define POSTPROC_FDS 16u
#define MEDIA_FDS 4u
#define CONNECTIONS_PER_CALLER 8u
#define HTTP_FDS 32u
#define HTTP_SHARE 16u

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* Descriptors of the media of c connections' callers. */
static uint64_t media_fds(uint64_t c)
{
    return MEDIA_FDS * ceil_div(c, CONNECTIONS_PER_CALLER);
}

uint64_t cs_fdlimit_reserve(const cs_fdlimit_in_t *in, int64_t connections)
{
    uint64_t c = connections > 0 ? (uint64_t)connections : 0;
    return in->start_fds + in->later_fds + media_fds(c) + HTTP_FDS + ceil_div(c, HTTP_SHARE);
}

void cs_fdlimit_input(const cs_config_t *cfg, cs_fdlimit_in_t *in)
{
    uint64_t workers = (uint64_t)cfg->media_workers;
    if (workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (uint64_t)n : 1;
    }
    if (workers > CS_MEDIA_MAX_WORKERS)
        workers = CS_MEDIA_MAX_WORKERS;
    in->max_connections = cfg->max_connections;
    in->start_fds = START_FDS + workers;
    in->later_fds = LATER_FDS + POSTPROC_FDS * (uint64_t)cfg->recording_workers;
}

/* The most connections (at most `most`) that fit in limit with their reserve. */
static int64_t connections_within(const cs_fdlimit_in_t *in, uint64_t limit, int64_t most)
{
    uint64_t fixed = cs_fdlimit_reserve(in, 0);
    if (limit <= fixed)
        return 0;
    /* About c * (1 + 4/8 + 1/16) <= limit - fixed; the roundings up are then
     * settled by stepping down. */
    uint64_t c = (limit - fixed) * 16 / 25;
    if (c > (uint64_t)most)
        c = (uint64_t)most;
    while (c > 0 && c + cs_fdlimit_reserve(in, (int64_t)c) > limit)
        c--;
    return (int64_t)c;
}

void cs_fdlimit_plan(const cs_fdlimit_in_t *in, cs_fdlimit_plan_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t soft = in->soft, hard = in->hard < in->soft ? in->soft : in->hard;
    int64_t c = in->max_connections > 0 ? in->max_connections : 0;
    out->wanted = (uint64_t)c + cs_fdlimit_reserve(in, c);
    out->new_soft = soft;
    out->max_connections = c;
    if (soft >= out->wanted) {
        /* already enough: never lower a limit someone raised on purpose */
    } else if (hard >= out->wanted) {
        out->new_soft = out->wanted;
    } else {
        out->new_soft = hard;
        out->max_connections = connections_within(in, hard, c);
    }
    uint64_t c_eff = (uint64_t)out->max_connections;
    if (out->new_soft == CS_FDLIMIT_UNLIMITED) {
        out->reserve = CS_FDLIMIT_UNLIMITED;
        out->ws_fd_ceiling = 0;
        return;
    }
    /* new_soft >= c_eff + its reserve in every branch, unless nothing fits */
    out->reserve = out->new_soft - c_eff;
    uint64_t later = in->later_fds + media_fds(c_eff);
    out->ws_fd_ceiling = out->new_soft > later ? out->new_soft - later : 0;
}

static uint64_t from_rlim(rlim_t v)
{
    return v == RLIM_INFINITY ? CS_FDLIMIT_UNLIMITED : (uint64_t)v;
}

static void limit_text(uint64_t v, char *out, size_t size)
{
    if (v == CS_FDLIMIT_UNLIMITED)
        snprintf(out, size, "unlimited");
    else
        snprintf(out, size, "%llu", (unsigned long long)v);
}

int cs_app_fdlimit(cs_config_t *cfg, cs_fdlimit_plan_t *out, char *err, size_t errlen)
{
    cs_fdlimit_in_t in;
    cs_fdlimit_plan_t plan;
    cs_fdlimit_input(cfg, &in);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(err, errlen, "cannot read the open-files limit (RLIMIT_NOFILE)");
        return CS_EIO;
    }
    in.soft = from_rlim(rl.rlim_cur);
    in.hard = from_rlim(rl.rlim_max);
    cs_fdlimit_plan(&in, &plan);
    if (plan.new_soft != in.soft) {
        rl.rlim_cur = plan.new_soft == CS_FDLIMIT_UNLIMITED ? RLIM_INFINITY : (rlim_t)plan.new_soft;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) { /* e.g. a sandbox: live with what we have */
            in.hard = in.soft;
            cs_fdlimit_plan(&in, &plan);
        }
    }
    if (out)
        *out = plan;
    char have[32], hard[32];
    limit_text(plan.new_soft, have, sizeof have);
    limit_text(in.hard, hard, sizeof hard);
    if (plan.max_connections < 1) {
        snprintf(err, errlen,
                 "the open-files limit (%s) is too low to run: at least %llu are needed; raise "
                 "it with LimitNOFILE= in the systemd unit or ulimit -n",
                 have, (unsigned long long)(1 + cs_fdlimit_reserve(&in, 1)));
        return CS_ELIMIT;
    }
    cfg->max_connections = plan.max_connections;
    if (plan.max_connections < in.max_connections)
        CS_LOGW(MOD,
                "the open-files limit %s is too low for limits.max_connections = %lld (it needs "
                "%llu): accepting at most %lld connections, keeping %llu descriptors for media, "
                "recordings, HTTP and the databases; raise it with LimitNOFILE=%llu in the "
                "systemd unit (or ulimit -n %llu before starting)",
                have, (long long)in.max_connections, (unsigned long long)plan.wanted,
                (long long)plan.max_connections, (unsigned long long)plan.reserve,
                (unsigned long long)plan.wanted, (unsigned long long)plan.wanted);
    else
        CS_LOGI(MOD, "open files: limits.max_connections = %lld needs %llu descriptors with the "
                "reserve for media, recordings, HTTP and the databases; soft limit %s, hard %s",
                (long long)plan.max_connections, (unsigned long long)plan.wanted, have, hard);
    return CS_OK;
}
