/*
 * http_test_server.h — a tiny HTTP/1.1 server for unit tests of HTTP
 * clients: one thread, a listening socket on 127.0.0.1 (a port the kernel
 * picks), one request per connection (answers carry Connection: close).
 *
 * Every request is recorded (method, path, raw header lines, body) before it
 * is answered, so a test can look at what a client sent even when the answer
 * never comes. Answers come from a script (answer i to request i, the last
 * one repeated) or from a handler function. An answer with status 0 is never
 * sent: the connection is held until the client gives up or the server stops,
 * which is how a hanging record system is played.
 *
 *   hts_server_t s;
 *   hts_start(&s);                          s.url is "http://127.0.0.1:<port>"
 *   hts_script(&s, 0, (hts_reply_t){201, NULL, "{}", NULL});
 *   ... the client under test talks to s.url ...
 *   hts_wait_requests(&s, 1, 5000);
 *   const hts_request_t *rq = hts_request(&s, 0);
 *   char *ct = hts_header(rq, "content-type");
 *   hts_stop(&s);
 *
 * Header-only, for one test binary each: every function is static inline.
 * Include it after <cmocka.h> (hts_find_request fails the test). Never
 * listens on anything but loopback.
 */
#ifndef CS_TESTS_UNIT_HTTP_TEST_SERVER_H
#define CS_TESTS_UNIT_HTTP_TEST_SERVER_H

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTS_MAX 32                   /* requests recorded and script lines */
#define HTS_HEAD_MAX 65536
#define HTS_BODY_MAX (8 * 1024 * 1024)
#define HTS_TICK_MS 20               /* how often a blocked server looks at its stop flag */

typedef struct {
    char method[16];
    char path[1024];
    char *headers; /* the header lines as received, each ending "\r\n" */
    char *body;    /* NUL-terminated; body_len bytes */
    size_t body_len;
} hts_request_t;

typedef struct {
    int status;               /* 0: never answer */
    const char *headers;      /* extra header lines, each ending "\r\n", or NULL */
    const char *body;         /* NULL: empty */
    const char *content_type; /* NULL: application/fhir+json */
} hts_reply_t;

/* Chooses the answer to request number index; runs on the server thread.
 * Whatever out points to must stay valid until the next call. */
typedef void (*hts_handler_t)(const hts_request_t *rq, int index, hts_reply_t *out, void *user);

typedef struct {
    char url[64]; /* "http://127.0.0.1:<port>" */
    uint16_t port;
    hts_handler_t handler; /* NULL: the script */
    void *user;
    /* private */
    int fd;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    hts_reply_t script[HTS_MAX];
    int n_script;
    hts_request_t requests[HTS_MAX];
    int n_requests; /* all requests seen; the first HTS_MAX are recorded */
} hts_server_t;

/* ---- reading a request ------------------------------------------------------- */

/* The value of the first header called name (any case), trimmed; malloc'd,
 * or NULL when absent. */
static inline char *hts_header(const hts_request_t *rq, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *line = rq->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = eol;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            return strndup(v, (size_t)(e - v));
        }
        line = eol + 2;
    }
    return NULL;
}


/* Waits for fd to be readable; false when stopping or on error. */
static inline bool hts_readable(hts_server_t *s, int fd)
{
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, HTS_TICK_MS);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
    return false;
}

static inline size_t hts_content_length(const char *headers)
{
    hts_request_t tmp = {.headers = (char *)headers};
    char *v = hts_header(&tmp, "content-length");
    size_t n = v ? (size_t)strtoull(v, NULL, 10) : 0;
    free(v);
    return n;
}

static inline bool hts_parse_head(char *buf, size_t head_len, hts_request_t *rq)
{
    char *line_end = strstr(buf, "\r\n");
    if (!line_end || sscanf(buf, "%15s %1023s", rq->method, rq->path) != 2)
        return false;
    rq->headers = strndup(line_end + 2, head_len - (size_t)(line_end + 2 - buf));
    return rq->headers != NULL;
}

/* Reads one request from fd into *rq; false when the client went away. */
static inline bool hts_read_request(hts_server_t *s, int fd, hts_request_t *rq)
{
    char *buf = malloc(HTS_HEAD_MAX + 1);
    size_t len = 0;
    char *end = NULL;
    bool ok = false;
    while (buf && !end && len < HTS_HEAD_MAX && hts_readable(s, fd)) {
        ssize_t n = recv(fd, buf + len, HTS_HEAD_MAX - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (end && hts_parse_head(buf, (size_t)(end - buf) + 2, rq)) {
        size_t want = hts_content_length(rq->headers), have = len - (size_t)(end + 4 - buf);
        if (want <= HTS_BODY_MAX && (rq->body = malloc(want + 1))) {
            memcpy(rq->body, end + 4, have < want ? have : want);
            while (have < want && hts_readable(s, fd)) {
                ssize_t n = recv(fd, rq->body + have, want - have, 0);
                if (n <= 0)
                    break;
                have += (size_t)n;
            }
            rq->body[want] = '\0';
            rq->body_len = want;
            ok = have >= want;
        }
    }
    free(buf);
    return ok;
}

/* ---- answering ------------------------------------------------------------------ */

static inline bool hts_send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static inline void hts_answer(int fd, const hts_reply_t *r)
{
    size_t body_len = r->body ? strlen(r->body) : 0;
    char *head = NULL;
    int n = asprintf(&head,
                     "HTTP/1.1 %d Scripted\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     r->status, r->content_type ? r->content_type : "application/fhir+json",
                     body_len, r->headers ? r->headers : "");
    if (n > 0 && hts_send_all(fd, head, (size_t)n) && body_len)
        hts_send_all(fd, r->body, body_len);
    free(head);
}

/* Holds the connection until the client closes it or the server stops. */
static inline void hts_hold(hts_server_t *s, int fd)
{
    char sink[512];
    while (hts_readable(s, fd) && recv(fd, sink, sizeof sink, 0) > 0) {
    }
}

static inline void hts_choose(hts_server_t *s, const hts_request_t *rq, int index,
                              hts_reply_t *out)
{
    if (s->handler) {
        s->handler(rq, index, out, s->user);
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (s->n_script > 0)
        *out = s->script[index < s->n_script ? index : s->n_script - 1];
    else
        *out = (hts_reply_t){.status = 500};
    pthread_mutex_unlock(&s->mu);
}

static inline void hts_serve(hts_server_t *s, int fd)
{
    hts_request_t rq;
    memset(&rq, 0, sizeof rq);
    if (!hts_read_request(s, fd, &rq)) {
        free(rq.headers);
        free(rq.body);
        return;
    }
    pthread_mutex_lock(&s->mu);
    int index = s->n_requests++;
    bool keep = index < HTS_MAX;
    if (keep)
        s->requests[index] = rq;
    pthread_mutex_unlock(&s->mu);
    hts_reply_t reply;
    hts_choose(s, keep ? &s->requests[index] : &rq, index, &reply);
    if (reply.status == 0)
        hts_hold(s, fd);
    else
        hts_answer(fd, &reply);
    if (!keep) {
        free(rq.headers);
        free(rq.body);
    }
}

static inline void *hts_main(void *arg)
{
    hts_server_t *s = arg;
    while (hts_readable(s, s->fd)) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        hts_serve(s, c);
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

/* ---- the test's side --------------------------------------------------------------- */

static inline int hts_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Starts listening; 0 or -1. s->handler and s->user may be set before or
 * after (before the first request). */
static inline int hts_start(hts_server_t *s)
{
    hts_handler_t handler = s->handler;
    void *user = s->user;
    memset(s, 0, sizeof *s);
    s->handler = handler;
    s->user = user;
    atomic_init(&s->stop, false);
    if ((s->fd = hts_listen(&s->port)) < 0)
        return -1;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)s->port);
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, hts_main, s) != 0) {
        close(s->fd);
        pthread_mutex_destroy(&s->mu);
        return -1;
    }
    return 0;
}

/* Stops the thread (within HTS_TICK_MS or so) and frees what was recorded. */
static inline void hts_stop(hts_server_t *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    int n = s->n_requests < HTS_MAX ? s->n_requests : HTS_MAX;
    for (int i = 0; i < n; i++) {
        free(s->requests[i].headers);
        free(s->requests[i].body);
    }
    pthread_mutex_destroy(&s->mu);
}

/* The answer to request number index (the last scripted one also answers
 * every later request). */
static inline void hts_script(hts_server_t *s, int index, hts_reply_t reply)
{
    pthread_mutex_lock(&s->mu);
    if (index >= 0 && index < HTS_MAX) {
        s->script[index] = reply;
        if (index >= s->n_script)
            s->n_script = index + 1;
    }
    pthread_mutex_unlock(&s->mu);
}

static inline int hts_count(hts_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n_requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* True once n requests have arrived, false after timeout_ms. */
static inline bool hts_wait_requests(hts_server_t *s, int n, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 5) {
        if (hts_count(s) >= n)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
    }
    return false;
}

/* Request number index; NULL when it has not arrived (or was not recorded).
 * A recorded request never changes, so the pointer stays valid until hts_stop. */
static inline const hts_request_t *hts_request(hts_server_t *s, int index)
{
    pthread_mutex_lock(&s->mu);
    const hts_request_t *rq = index >= 0 && index < s->n_requests && index < HTS_MAX
                                  ? &s->requests[index]
                                  : NULL;
    pthread_mutex_unlock(&s->mu);
    return rq;
}

/* The n-th request (from 0) whose path is path; fails the test when absent. */
static inline const hts_request_t *hts_find_request(hts_server_t *s, const char *path, int n)
{
    for (int i = 0, seen = 0; i < hts_count(s); i++) {
        const hts_request_t *rq = hts_request(s, i);
        if (rq && strcmp(rq->path, path) == 0 && seen++ == n)
            return rq;
    }
    fail_msg("no request %d to %s", n, path);
    return NULL;
}

/* The value of name in an application/x-www-form-urlencoded body, decoded
 * ("+" is a space, %XX a byte); malloc'd, or NULL when absent or malformed. */
static inline char *hts_form_value(const char *form, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = form; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
            continue;
        const char *v = p + nlen + 1;
        size_t len = strcspn(v, "&"), o = 0;
        char *out = malloc(len + 1);
        for (size_t i = 0; out && i < len; i++) {
            if (v[i] != '%') {
                out[o++] = v[i] == '+' ? ' ' : v[i];
                continue;
            }
            char hex[3] = {i + 2 < len ? v[i + 1] : 0, i + 2 < len ? v[i + 2] : 0, 0};
            if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1])) {
                free(out);
                return NULL;
            }
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (out)
            out[o] = '\0';
        return out;
    }
    return NULL;
}

/* A loopback port nobody listens on (bound, then closed). 0 on failure. */
static inline uint16_t hts_closed_port(void)
{
    uint16_t port = 0;
    int fd = hts_listen(&port);
    if (fd < 0)
        return 0;
    close(fd);
    return port;
}

/* Unsets the proxy variables libcurl and other clients honour, so a test's
 * requests go to the test server and nowhere else. */
static inline void hts_no_proxy(void)
{
    const char *names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                           "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

#endif
