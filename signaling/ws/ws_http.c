/*
 * ws_http.c — the plain-HTTP half of the front door.
 *
 * Every request that is not a WebSocket upgrade is collected here (method,
 * path, query, a few headers and a body bounded by max_http_body), offered to
 * on_http, and otherwise answered from static_dir or with 404. Responses are
 * written whole with a Content-Length, or, for a streamed body, the headers
 * first and then the body a piece per writeable turn (see stream_writeable),
 * with single byte ranges; then the connection is handed back to lws for the
 * next keep-alive request.
 */
#include "ws_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/common.h"

/* Room for the status line and our headers in front of a response body. */
#define HDR_ROOM 1536
/* A streamed body is read in pieces of this size, and at most this much of it
 * goes out per writeable turn, so downloads share the loop with WebSockets. */
#define STREAM_PIECE ((size_t)64 * 1024)
/* A download whose client has taken nothing for this long is dropped: a
 * paused <video> asks again with a Range when it needs more. */
#define STREAM_STALL_S 60
/* What lws sends per write without a protocol-specific size (its default
 * pt_serv_buf_size). */
#define LWS_DEFAULT_UNIT 4096

/* A streamed body on its way out (see stream_writeable). */
struct http_stream {
    cs_http_stream_t src; /* src.read is NULL when none, and once close() ran */
    uint64_t pos, end;    /* the next byte to write; one past the last */
    unsigned char *buf;   /* LWS_PRE + STREAM_PIECE, from the first turn on */
    size_t have, used;    /* bytes of the current piece in buf; of them sent */
};

struct cs_http_txn {
    int method;   /* LWSHUMETH_* */
    char *path;
    bool path_odd; /* lws split the path (NUL, ';' or '&' in it) */
    char *query;
    char *auth;
    char *ctype;
    char *file_name;
    char *accept;
    char *range;
    char *if_range;
    char *body;
    size_t body_len, body_want;
    bool want_body; /* waiting for LWS_CALLBACK_HTTP_BODY_COMPLETION */
    bool done;      /* answered; any further body is lws draining it */
    struct http_stream st;
};

/* Indexed by LWSHUMETH_*; ":path" (h2 only) is not offered. */
static const char *const method_names[] = {
    "GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD",
};

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char text_plain[] = "text/plain; charset=utf-8";

/* ---- responses -------------------------------------------------------------- */

/* Every response, static or dynamic, forbids sniffing, framing (clickjacking a
 * clinical page), referrers (URLs may carry a consult id) and any script or
 * connection that is not the gateway's own. */
static const struct {
    const char *name, *value;
} security_headers[] = {
    {"x-content-type-options:", "nosniff"},
    {"x-frame-options:", "DENY"},
    {"referrer-policy:", "no-referrer"},
    {"content-security-policy:",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
     "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
     "form-action 'none'; frame-ancestors 'none'"},
};

static int add_header(struct lws *wsi, const char *name, const char *value,
                      unsigned char **p, unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(security_headers); i++)
        if (add_header(wsi, security_headers[i].name, security_headers[i].value, p, end))
            return 1;
    return 0;
}

/* The handler's extra headers that are well formed (see cs_http_header_t). */
static int add_extra_headers(struct lws *wsi, const cs_http_header_t *h, size_t n,
                             unsigned char **p, unsigned char *end)
{
    for (size_t i = 0; h && i < n; i++) {
        size_t nlen = strnlen(h[i].name, sizeof h[i].name);
        size_t vlen = strnlen(h[i].value, sizeof h[i].value);
        if (nlen < 2 || nlen == sizeof h[i].name || vlen == sizeof h[i].value ||
            h[i].name[nlen - 1] != ':' || strcspn(h[i].name, "\r\n ") != nlen ||
            strcspn(h[i].value, "\r\n") != vlen)
            continue;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)h[i].name,
                                        (const unsigned char *)h[i].value, (int)vlen, p, end))
            return 1;
    }
    return 0;
}

/* What a response head carries besides the security headers. */
struct reply {
    unsigned int status;
    const char *ctype;
    uint64_t length;               /* Content-Length */
    bool close;                    /* Connection: close */
    const cs_http_header_t *extra; /* the handler's, may be NULL */
    size_t n_extra;
    char content_range[80];        /* or "" */
    bool accept_ranges;
};

static int add_head(struct lws *wsi, const struct reply *r, unsigned char **p, unsigned char *end)
{
    unsigned int status = r->status < 100 || r->status > 599 ? 500 : r->status;
    return lws_add_http_common_headers(wsi, status, r->ctype, r->length, p, end) ||
           add_security_headers(wsi, p, end) ||
           add_extra_headers(wsi, r->extra, r->n_extra, p, end) ||
           (r->content_range[0] && add_header(wsi, "content-range:", r->content_range, p, end)) ||
           (r->accept_ranges && add_header(wsi, "accept-ranges:", "bytes", p, end)) ||
           add_header(wsi, "cache-control:", "no-store", p, end) ||
           (r->close && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                     (const unsigned char *)"close", 5, p, end)) ||
           lws_finalize_http_header(wsi, p, end);
}

/* The head and body_room bytes of body (0 for HEAD) go out in one lws_write;
 * lws keeps whatever the socket does not take and finishes it before the
 * transaction may complete. With more, a streamed body follows in further
 * writes. */
static int send_response(struct lws *wsi, const struct reply *r, const char *body,
                         size_t body_room, bool more)
{
    unsigned char *buf = malloc(LWS_PRE + HDR_ROOM + body_room);
    if (!buf)
        return -1;
    unsigned char *start = buf + LWS_PRE, *p = start;
    int bad = add_head(wsi, r, &p, start + HDR_ROOM);
    if (!bad && body_room) {
        memcpy(p, body, body_room);
        p += body_room;
    }
    int want = (int)(p - start);
    bad = bad || lws_write(wsi, start, (size_t)want,
                           more ? LWS_WRITE_HTTP_HEADERS : LWS_WRITE_HTTP_FINAL) < want;
    free(buf);
    return bad ? -1 : 0;
}

int cs_ws_http_reply_close(struct lws *wsi, unsigned int status, const char *text)
{
    struct reply r = {.status = status, .ctype = text_plain, .length = strlen(text), .close = true};
    send_response(wsi, &r, text, r.length, false);
    return -1;
}

static int finish(struct lws *wsi)
{
    /* Rebinds the protocol: our pss, and the txn in it, are gone after this. */
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int reply_404(struct lws *wsi, bool head)
{
    struct reply r = {.status = 404, .ctype = text_plain, .length = 10};
    if (send_response(wsi, &r, "not found\n", head ? 0 : r.length, false))
        return -1;
    return finish(wsi);
}

/* ---- static files --------------------------------------------------------------- */

static const char *mime_type(const char *file)
{
    const char *dot = strrchr(file, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < CS_ARRAY_LEN(mime_types); i++)
            if (strcasecmp(dot, mime_types[i].ext) == 0)
                return mime_types[i].type;
    return "application/octet-stream";
}

/* lws already folds "/../" away; this is the last line regardless. */
static bool path_is_safe(const char *path)
{
    if (path[0] != '/' || strchr(path, '\\'))
        return false;
    for (const char *seg = path; seg; seg = strchr(seg + 1, '/'))
        if (seg[1] == '.' && seg[2] == '.' && (seg[3] == '/' || seg[3] == '\0'))
            return false;
    return true;
}

/* Maps the URL path to a regular file under dir; "/" and directories mean
 * their index.html. */
static bool resolve_file(const char *dir, const char *path, char *out, size_t cap)
{
    struct stat st;
    const char *index = path[strlen(path) - 1] == '/' ? "index.html" : "";
    int n = snprintf(out, cap, "%s%s%s", dir, path, index);
    if (n < 0 || (size_t)n >= cap || stat(out, &st) != 0)
        return false;
    if (S_ISDIR(st.st_mode)) {
        int m = snprintf(out + n, cap - (size_t)n, "/index.html");
        if (m < 0 || (size_t)m >= cap - (size_t)n || stat(out, &st) != 0)
            return false;
    }
    return S_ISREG(st.st_mode);
}

static int serve_static(const struct cs_ws_server *s, struct lws *wsi,
                        const struct cs_http_txn *tx)
{
    bool head = tx->method == LWSHUMETH_HEAD;
    char file[PATH_MAX];
    if (tx->path_odd || !path_is_safe(tx->path) ||
        !resolve_file(s->static_dir, tx->path, file, sizeof file))
        return reply_404(wsi, head);

    /* NUL-terminated: lws searches it for a cache-control header. */
    unsigned char hdrs[768] = {0}, *p = hdrs;
    if (add_security_headers(wsi, &p, hdrs + sizeof hdrs - 1))
        return -1;
    int n = lws_serve_http_file(wsi, file, mime_type(file), (const char *)hdrs, (int)(p - hdrs));
    if (n < 0)
        return -1;
    return n > 0 ? finish(wsi) : 0; /* 0: lws streams it, then FILE_COMPLETION */
}

/* ---- streamed bodies ---------------------------------------------------------------- */

/* The handler's close(), once; read() is never called after it. */
static void source_close(cs_http_stream_t *src)
{
    cs_http_stream_t done = *src;
    memset(src, 0, sizeof *src);
    if (done.read && done.close)
        done.close(done.user);
}

static void stream_release(struct http_stream *st)
{
    source_close(&st->src);
    free(st->buf);
    st->buf = NULL;
}

/* lws sends at most this much of one lws_write at once and copies the rest
 * aside until the socket drains it (lws_issue_raw): pieces no larger go
 * straight to the socket. */
static size_t write_unit(struct lws *wsi)
{
    const struct lws_protocols *pr = lws_get_protocol(wsi);
    size_t n = !pr ? 0 : pr->tx_packet_size ? pr->tx_packet_size : pr->rx_buffer_size;
    return n ? n : LWS_DEFAULT_UNIT;
}

static bool stream_fill(struct http_stream *st)
{
    if (!st->buf && !(st->buf = malloc(LWS_PRE + STREAM_PIECE)))
        return false;
    uint64_t left = st->end - st->pos;
    size_t cap = left < STREAM_PIECE ? (size_t)left : STREAM_PIECE;
    long n = st->src.read(st->src.user, st->pos, (char *)st->buf + LWS_PRE, cap);
    if (n <= 0 || (unsigned long)n > cap)
        return false;
    st->have = (size_t)n;
    st->used = 0;
    return true;
}

/*
 * LWS_CALLBACK_HTTP_WRITEABLE while a body is under way: units that lws hands
 * the socket without copying, while the socket takes them, up to STREAM_PIECE
 * a turn; then the loop serves everyone else and we ask to come back. lws
 * calls us only once what it had to keep aside is sent, so a slow client
 * costs our piece and one unit of lws's, never the body. A failed read or
 * write returns -1: lws drops the connection (the client sees a short body)
 * and CLOSED_HTTP releases the stream.
 */
static int stream_writeable(struct lws *wsi, struct cs_http_txn *tx)
{
    struct http_stream *st = &tx->st;
    size_t unit = write_unit(wsi), budget = STREAM_PIECE;
    while (budget > 0 && st->pos < st->end) {
        if (st->used == st->have && !stream_fill(st))
            return -1;
        size_t n = st->have - st->used;
        n = n < unit ? n : unit;
        n = n < budget ? n : budget;
        bool last = st->pos + n == st->end;
        if (lws_write(wsi, st->buf + LWS_PRE + st->used, n,
                      last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
            return -1;
        st->used += n;
        st->pos += n;
        budget -= n;
        if (!last && lws_send_pipe_choked(wsi))
            break;
    }
    if (st->pos == st->end) {
        stream_release(st);
        return finish(wsi);
    }
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, STREAM_STALL_S);
    lws_callback_on_writable(wsi);
    return 0;
}

/* If-Range holds (or is absent): it must equal the handler's strong ETag; a
 * date or a weak tag never does (RFC 9110 §13.1.5), so the whole body goes. */
static bool if_range_holds(const char *if_range, const cs_http_header_t *h, size_t n)
{
    if (!if_range[0])
        return true;
    for (size_t i = 0; i < n; i++)
        if (strncmp(h[i].name, "etag:", sizeof h[i].name) == 0 && h[i].value[0] == '"' &&
            strnlen(h[i].value, sizeof h[i].value) < sizeof h[i].value &&
            strcmp(h[i].value, if_range) == 0)
            return true;
    return false;
}

/* Narrows the stream to what the request asks for and fills the rest of r:
 * 206 for a satisfiable single range, 416 for an unsatisfiable one. */
static void stream_plan(const struct cs_http_txn *tx, const cs_http_response_t *resp,
                        struct http_stream *st, struct reply *r)
{
    uint64_t size = resp->stream.size, first = 0, last = 0;
    int rc = CS_ENOTFOUND;
    st->pos = 0;
    st->end = size;
    r->accept_ranges = resp->stream.ranges;
    if (resp->stream.ranges && resp->status == 200 && tx->method == LWSHUMETH_GET &&
        if_range_holds(tx->if_range, resp->headers, CS_ARRAY_LEN(resp->headers)))
        rc = cs_http_range_parse(tx->range, size, &first, &last);
    if (rc == CS_OK) {
        snprintf(r->content_range, sizeof r->content_range,
                 "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        r->status = 206;
        st->pos = first;
        st->end = last + 1;
    } else if (rc == CS_ELIMIT) {
        snprintf(r->content_range, sizeof r->content_range, "bytes */%" PRIu64, size);
        r->status = 416;
        st->end = 0;
    }
    r->length = st->end - st->pos;
}

/* Sends the head of a streamed response; its body follows on writeable turns. */
static int serve_stream(struct lws *wsi, struct cs_http_txn *tx, const cs_http_response_t *resp,
                        const char *ctype)
{
    struct http_stream *st = &tx->st;
    st->src = resp->stream; /* ours to close from here on, whatever happens */
    struct reply r = {
        .status = (unsigned int)resp->status,
        .ctype = ctype,
        .extra = resp->headers,
        .n_extra = CS_ARRAY_LEN(resp->headers),
    };
    stream_plan(tx, resp, st, &r);
    bool body = tx->method != LWSHUMETH_HEAD && st->pos < st->end;
    if (send_response(wsi, &r, NULL, 0, body))
        return -1;
    if (!body) {
        stream_release(st);
        return finish(wsi);
    }
    /* Everything needed from the request is copied: lws may reuse its header
     * table now, and would drop a transaction holding one for ~6 minutes. */
    lws_http_headers_detach(wsi);
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, STREAM_STALL_S);
    lws_callback_on_writable(wsi);
    return 0;
}

/* ---- requests -------------------------------------------------------------------- */

static void txn_destroy(struct cs_http_txn *tx)
{
    free(tx->path);
    free(tx->query);
    free(tx->auth);
    free(tx->ctype);
    free(tx->file_name);
    free(tx->accept);
    free(tx->range);
    free(tx->if_range);
    free(tx->body);
    stream_release(&tx->st);
    free(tx);
}

static void txn_free(struct cs_ws_pss *pss)
{
    struct cs_http_txn *tx = pss ? pss->tx : NULL;
    if (tx) {
        pss->tx = NULL;
        txn_destroy(tx);
    }
}

static char *copy_header(struct lws *wsi, enum lws_token_indexes h)
{
    int n = lws_hdr_total_length(wsi, h);
    char *out = malloc((size_t)n + 1);
    if (out && lws_hdr_copy(wsi, out, n + 1, h) < 0)
        out[0] = '\0';
    return out;
}

/* A header lws has no token for ("x-file-name:"), or "" when absent. */
static char *copy_custom_header(struct lws *wsi, const char *name)
{
    int nlen = (int)strlen(name);
    int n = lws_hdr_custom_length(wsi, name, nlen);
    char *out = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (out && (n <= 0 || lws_hdr_custom_copy(wsi, out, n + 1, name, nlen) < 0))
        out[0] = '\0';
    return out;
}

/* lws splits the query at '&' into fragments (already %-decoded) and counts
 * one byte per split in the total length; rejoin them with '&'. */
static char *copy_query(struct lws *wsi)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    char *q = malloc((size_t)total + 1);
    if (!q)
        return NULL;
    int off = 0;
    for (int i = 0;; i++) {
        int sep = i > 0;
        int n = off + sep > total ? -1
                                  : lws_hdr_copy_fragment(wsi, q + off + sep, total + 1 - off - sep,
                                                          WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (sep)
            q[off] = '&';
        off += sep + n;
    }
    q[off] = '\0';
    return q;
}

/* Returns 1 with *out set, 0 when absent, -1 when malformed. */
static int content_length(struct lws *wsi, unsigned long long *out)
{
    char buf[32];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return 0;
    int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (n <= 0 || n > 19)
        return -1;
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        *out = *out * 10 + (unsigned long long)(buf[i] - '0');
    }
    return 1;
}

static struct cs_http_txn *txn_new(struct lws *wsi, int method, const char *uri, int ulen)
{
    struct cs_http_txn *tx = calloc(1, sizeof *tx);
    if (!tx)
        return NULL;
    tx->method = method;
    tx->path = strdup(uri);
    tx->path_odd = strlen(uri) != (size_t)ulen;
    tx->query = copy_query(wsi);
    tx->auth = copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    tx->ctype = copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
    tx->file_name = copy_custom_header(wsi, "x-file-name:");
    tx->accept = copy_header(wsi, WSI_TOKEN_HTTP_ACCEPT);
    tx->range = copy_header(wsi, WSI_TOKEN_HTTP_RANGE);
    tx->if_range = copy_header(wsi, WSI_TOKEN_HTTP_IF_RANGE);
    if (!tx->path || !tx->query || !tx->auth || !tx->ctype || !tx->file_name || !tx->accept ||
        !tx->range || !tx->if_range) {
        txn_destroy(tx);
        return NULL;
    }
    return tx;
}

static int dispatch(struct cs_ws_server *s, struct lws *wsi, struct cs_http_txn *tx)
{
    bool head = tx->method == LWSHUMETH_HEAD;
    tx->done = true;
    cs_http_request_t req = {
        .method = method_names[tx->method],
        .path = tx->path,
        .query = tx->query,
        .authorization = tx->auth,
        .content_type = tx->ctype,
        .file_name = tx->file_name,
        .accept = tx->accept,
        .range = tx->range,
        .body = tx->body,
        .body_len = tx->body_len,
    };
    cs_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    int handled = s->cb.on_http ? s->cb.on_http(s->user, &req, &resp) : 0;
    if (handled != 1) {
        free(resp.body);
        source_close(&resp.stream);
        if (s->static_dir && (tx->method == LWSHUMETH_GET || head))
            return serve_static(s, wsi, tx);
        return reply_404(wsi, head);
    }
    /* The handler may fill content_type to the brim, or with a stray CR/LF. */
    char ctype[sizeof resp.content_type + 1];
    size_t clen = strnlen(resp.content_type, sizeof resp.content_type);
    memcpy(ctype, resp.content_type, clen);
    ctype[clen] = '\0';
    bool ctype_ok = clen > 0 && strcspn(ctype, "\r\n") == clen;
    const char *type = ctype_ok ? ctype : "application/octet-stream";
    if (resp.stream.read) {
        free(resp.body); /* a stream wins over a body set by mistake */
        return serve_stream(wsi, tx, &resp, type);
    }
    struct reply r = {
        .status = (unsigned int)resp.status,
        .ctype = type,
        .length = resp.body ? resp.body_len : 0,
        .extra = resp.headers,
        .n_extra = CS_ARRAY_LEN(resp.headers),
    };
    int bad = send_response(wsi, &r, resp.body, head ? 0 : (size_t)r.length, false);
    free(resp.body);
    return bad ? -1 : finish(wsi);
}

static int http_begin(struct cs_ws_server *s, struct lws *wsi, struct cs_ws_pss *pss)
{
    char *uri = NULL;
    int ulen = 0;
    int meth = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    if (!pss || meth < 0 || meth >= (int)CS_ARRAY_LEN(method_names) || !uri)
        return cs_ws_http_reply_close(wsi, 400, "bad request\n");
    /* A request pipelined behind a body still streaming cannot be answered
     * without cutting that body: hang up (CLOSED_HTTP releases the stream). */
    if (pss->tx && pss->tx->st.src.read)
        return -1;
    txn_free(pss);
    pss->tx = txn_new(wsi, meth, uri, ulen);
    if (!pss->tx)
        return cs_ws_http_reply_close(wsi, 500, "out of memory\n");

    unsigned long long cl = 0;
    int has_cl = content_length(wsi, &cl);
    bool has_body_method =
        meth == LWSHUMETH_POST || meth == LWSHUMETH_PUT || meth == LWSHUMETH_PATCH;
    if (has_cl < 0)
        return cs_ws_http_reply_close(wsi, 400, "bad content-length\n");
    /* Without a length lws would wait for a 100 MB body; chunked is not read. */
    if (!has_cl && has_body_method)
        return cs_ws_http_reply_close(wsi, 411, "length required\n");
    if (cl > s->cfg.max_http_body)
        return cs_ws_http_reply_close(wsi, 413, "request body too large\n");
    /* lws reads any declared body; an empty POST still gets BODY_COMPLETION. */
    if (cl > 0 || (has_cl && meth == LWSHUMETH_POST)) {
        struct cs_http_txn *tx = pss->tx;
        tx->body = malloc((size_t)cl + 1);
        if (!tx->body)
            return cs_ws_http_reply_close(wsi, 500, "out of memory\n");
        tx->body[0] = '\0';
        tx->body_want = (size_t)cl;
        tx->want_body = true;
        return 0;
    }
    return dispatch(s, wsi, pss->tx);
}

static int http_body(struct lws *wsi, struct cs_ws_pss *pss, const void *in, size_t len)
{
    struct cs_http_txn *tx = pss ? pss->tx : NULL;
    if (!tx || !tx->want_body || tx->done)
        return 0;
    if (len > tx->body_want - tx->body_len)
        return cs_ws_http_reply_close(wsi, 413, "request body too large\n");
    if (len)
        memcpy(tx->body + tx->body_len, in, len);
    tx->body_len += len;
    tx->body[tx->body_len] = '\0';
    return 0;
}

int cs_ws_http_callback(struct cs_ws_server *s, struct lws *wsi,
                        enum lws_callback_reasons reason, struct cs_ws_pss *pss, void *in,
                        size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_begin(s, wsi, pss);
    case LWS_CALLBACK_HTTP_BODY:
        return http_body(wsi, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!pss || !pss->tx || !pss->tx->want_body || pss->tx->done)
            return 0;
        return dispatch(s, wsi, pss->tx);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss && pss->tx && pss->tx->st.src.read)
            return stream_writeable(wsi, pss->tx);
        return lws_callback_http_dummy(wsi, reason, pss, in, len);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return finish(wsi);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        txn_free(pss);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, pss, in, len);
    }
}
