/*
 * ice_candidate.c — candidates as SDP text (RFC 8839 §5.1).
 *
 * Remote: libnice's parser is lax (it truncates numbers, needs the "a="
 * prefix, hands a missing tcptype to GLib as NULL) and cannot tell "broken"
 * from "not for us", so each field is checked here first and libnice is
 * handed a canonical line without extensions ("generation", "ufrag",
 * "network-id", and raddr/rport, which checks never use). What we cannot use is
 * CS_EUNSUPPORTED rather than an error: TCP (ice-tcp is off), components
 * other than 1 (rtcp-mux), peer-reflexive candidates (libnice learns those
 * itself) and host names, above all the "<uuid>.local" mDNS names browsers
 * put in place of private addresses. Nothing is resolved: ICE still works
 * with such a browser because its checks reach us and libnice learns its
 * address as a peer-reflexive candidate.
 *
 * Local: libnice writes the line; for NAT 1:1 the host candidate's address is
 * swapped for the public one in a copy made only for writing, so libnice
 * itself knows the candidate by its real address and socket alone.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "internal.h"

#define MAX_TOKENS 40                   /* 8 fixed fields + extension pairs */
#define MAX_FOUNDATION 32

/* the fields before the extensions, in order */
enum {
    F_FOUNDATION, F_COMPONENT, F_TRANSPORT, F_PRIORITY, F_ADDRESS, F_PORT, F_TYP, F_TYPE
};

bool ice_address_parse(const char *s, NiceAddress *out)
{
    NiceAddress tmp;
    if (!s || !*s)
        return false;
    nice_address_init(&tmp);
    if (!nice_address_set_from_string(&tmp, s)) /* numeric only: never resolves */
        return false;
    if (out)
        *out = tmp;
    return true;
}

/* 1 to max characters of ICE's alphabet. */
static bool ice_chars(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max && strspn(s, ICE_CHARS) == n;
}

/* 1 to 10 decimal digits whose value is at most max. */
static bool number(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (n == 10 || s[n] < '0' || s[n] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    if (n == 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* A DNS name (letters, digits, '-', '.'), as a candidate address may be. */
static bool host_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool unspecified(const NiceAddress *addr)
{
    if (addr->s.addr.sa_family == AF_INET)
        return addr->s.ip4.sin_addr.s_addr == 0;
    return addr->s.addr.sa_family == AF_INET6 &&
           IN6_IS_ADDR_UNSPECIFIED(&addr->s.ip6.sin6_addr);
}

/* Copies the attribute value without "a=" and trailing white space into buf
 * and splits it at spaces; the number of tokens, or 0 when malformed. */
static size_t split(const char *line, char buf[CS_ICE_CANDIDATE_MAX], char *tok[MAX_TOKENS])
{
    if (strncmp(line, "a=", 2) == 0)
        line += 2;
    size_t len = strlen(line);
    while (len > 0 && strchr(" \t\r\n", line[len - 1]))
        len--;
    if (len >= CS_ICE_CANDIDATE_MAX || strncmp(line, "candidate:", 10) != 0)
        return 0;
    memcpy(buf, line, len);
    buf[len] = '\0';
    size_t n = 0;
    for (char *p = buf + 10; *p;) {
        if (*p == ' ') {
            *p++ = '\0';
            continue;
        }
        if (n == MAX_TOKENS)
            return 0;
        tok[n++] = p;
        p += strcspn(p, " ");
    }
    return n;
}

/* The grammar: foundation component transport priority address port "typ"
 * type, then name/value pairs. */
static int check_fields(char *tok[], size_t n, uint64_t *port)
{
    uint64_t component, priority;
    if (n < 8 || (n - 8) % 2 != 0 || strcmp(tok[F_TYP], "typ") != 0 ||
        !ice_chars(tok[F_FOUNDATION], MAX_FOUNDATION) ||
        !number(tok[F_COMPONENT], 256, &component) || component == 0 ||
        !number(tok[F_PRIORITY], UINT32_MAX, &priority) || priority == 0 ||
        !number(tok[F_PORT], 65535, port))
        return CS_EINVAL;
    if (strcasecmp(tok[F_TRANSPORT], "udp") != 0)
        return CS_EUNSUPPORTED;         /* TCP (RFC 6544) or an unknown transport */
    if (component != 1)
        return CS_EUNSUPPORTED;         /* RTCP without rtcp-mux */
    if (strcmp(tok[F_TYPE], "host") != 0 && strcmp(tok[F_TYPE], "srflx") != 0 &&
        strcmp(tok[F_TYPE], "relay") != 0)
        return CS_EUNSUPPORTED;         /* prflx, or a type from the future */
    return CS_OK;
}

int ice_candidate_parse(cs_ice_agent_t *a, const char *line, NiceCandidate **out)
{
    char buf[CS_ICE_CANDIDATE_MAX], *tok[MAX_TOKENS];
    uint64_t port = 0;
    size_t n = split(line, buf, tok);
    if (n == 0)
        return CS_EINVAL;
    int rc = check_fields(tok, n, &port);
    if (rc != CS_OK)
        return rc;
    NiceAddress addr;
    if (!ice_address_parse(tok[F_ADDRESS], &addr))
        return host_name(tok[F_ADDRESS]) ? CS_EUNSUPPORTED : CS_EINVAL;
    if (unspecified(&addr) || port == 0)
        return CS_EINVAL;

    char canon[CS_ICE_CANDIDATE_MAX + 2];
    snprintf(canon, sizeof canon, "a=candidate:%s 1 UDP %s %s %s typ %s", tok[F_FOUNDATION],
             tok[F_PRIORITY], tok[F_ADDRESS], tok[F_PORT], tok[F_TYPE]);
    *out = nice_agent_parse_remote_candidate_sdp(a->nice, a->stream, canon);
    return *out ? CS_OK : CS_EINVAL;
}

void ice_candidate_emit(cs_ice_agent_t *a, const NiceCandidate *c)
{
    if (a->doomed || c->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
        c->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
        return;
    NiceCandidate copy = *c;            /* shallow: only read by the writer */
    if (c->type == NICE_CANDIDATE_TYPE_HOST && a->has_public &&
        nice_address_ip_version(&a->public_addr) == nice_address_ip_version(&c->addr)) {
        copy.addr = a->public_addr;
        nice_address_set_port(&copy.addr, nice_address_get_port(&c->addr));
        copy.base_addr = copy.addr;     /* no raddr: the private address stays private */
    }
    gchar *sdp = nice_agent_generate_local_candidate_sdp(a->nice, &copy);
    if (!sdp)
        return;
    const char *value = strncmp(sdp, "a=", 2) == 0 ? sdp + 2 : sdp;
    if (strlen(value) < CS_ICE_CANDIDATE_MAX)
        a->cb.on_candidate(a->user, value);
    g_free(sdp);
}
