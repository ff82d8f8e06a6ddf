/*
 * ws_http.c — the plain-HTTP half of the front door.
 *
 * Every request that is not a WebSocket upgrade is collected here (method,
 * path, query, Authorization and a body bounded by max_http_body), offered to
 * on_http, and otherwise answered from static_dir or with 404. Responses are
 * written whole with a Content-Length, and the connection is handed back to
 * lws for the next keep-alive request.
 */
#include "ws_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/common.h"

/* Room for the status line and our headers in front of a response body. */
#define HDR_ROOM 1536

struct cs_http_txn {
    int method;   /* LWSHUMETH_* */
    char *path;
    bool path_odd; /* lws split the path (NUL, ';' or '&' in it) */
    char *query;
    char *auth;
    char *ctype;
    char *file_name;
    char *accept;
    char *body;
    size_t body_len, body_want;
    bool want_body; /* waiting for LWS_CALLBACK_HTTP_BODY_COMPLETION */
    bool done;      /* answered; any further body is lws draining it */
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

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++) {
        const char *v = security_headers[i].value;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)security_headers[i].name,
                                        (const unsigned char *)v, (int)strlen(v), p, end))
            return 1;
    }
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

/* Headers and body go out in one lws_write; lws keeps whatever the socket does
 * not take and finishes it before the transaction may complete. */
static int send_response(struct lws *wsi, bool head, unsigned int status, const char *ctype,
                         const char *body, size_t len, bool close,
                         const cs_http_header_t *extra, size_t n_extra)
{
    size_t body_room = head ? 0 : len;
    unsigned char *buf = malloc(LWS_PRE + HDR_ROOM + body_room);
    if (!buf)
        return -1;
    unsigned char *start = buf + LWS_PRE, *p = start, *end = start + HDR_ROOM;
    if (status < 100 || status > 599)
        status = 500;
    int bad = lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
              add_security_headers(wsi, &p, end) ||
              add_extra_headers(wsi, extra, n_extra, &p, end) ||
              lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                          (const unsigned char *)"no-store", 8, &p, end) ||
              (close && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                     (const unsigned char *)"close", 5, &p, end)) ||
              lws_finalize_http_header(wsi, &p, end);
    if (!bad && body_room) {
        memcpy(p, body, body_room);
        p += body_room;
    }
    int want = (int)(p - start);
    bad = bad || lws_write(wsi, start, (size_t)want, LWS_WRITE_HTTP_FINAL) < want;
    free(buf);
    return bad ? -1 : 0;
}

int cs_ws_http_reply_close(struct lws *wsi, unsigned int status, const char *text)
{
    send_response(wsi, false, status, text_plain, text, strlen(text), true, NULL, 0);
    return -1;
}

static int finish(struct lws *wsi)
{
    /* Rebinds the protocol: our pss, and the txn in it, are gone after this. */
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int reply_404(struct lws *wsi, bool head)
{
    if (send_response(wsi, head, 404, text_plain, "not found\n", 10, false, NULL, 0))
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

/* ---- requests -------------------------------------------------------------------- */

static void txn_free(struct cs_ws_pss *pss)
{
    struct cs_http_txn *tx = pss ? pss->tx : NULL;
    if (!tx)
        return;
    pss->tx = NULL;
    free(tx->path);
    free(tx->query);
    free(tx->auth);
    free(tx->ctype);
    free(tx->file_name);
    free(tx->accept);
    free(tx->body);
    free(tx);
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
    if (!tx->path || !tx->query || !tx->auth || !tx->ctype || !tx->file_name || !tx->accept) {
        free(tx->accept);
        free(tx->file_name);
        free(tx->path);
        free(tx->query);
        free(tx->auth);
        free(tx->ctype);
        free(tx);
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
        .body = tx->body,
        .body_len = tx->body_len,
    };
    cs_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    int handled = s->cb.on_http ? s->cb.on_http(s->user, &req, &resp) : 0;
    if (handled != 1) {
        free(resp.body);
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
    int r = send_response(wsi, head, (unsigned int)resp.status,
                          ctype_ok ? ctype : "application/octet-stream", resp.body,
                          resp.body ? resp.body_len : 0, false, resp.headers,
                          CS_ARRAY_LEN(resp.headers));
    free(resp.body);
    return r ? -1 : finish(wsi);
}

static int http_begin(struct cs_ws_server *s, struct lws *wsi, struct cs_ws_pss *pss)
{
    char *uri = NULL;
    int ulen = 0;
    int meth = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    if (!pss || meth < 0 || meth >= (int)CS_ARRAY_LEN(method_names) || !uri)
        return cs_ws_http_reply_close(wsi, 400, "bad request\n");
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
