/*
 * attachments.c — the files doctors show each other (an ECG, an X-ray, a
 * discharge letter), over HTTP beside the WebSocket:
 *
 *   POST /api/attachments                    upload; 201 with the record
 *   GET  /api/attachments/<id>               the bytes, to whoever may see them
 *
 * Both take the same credentials as hello (Authorization: Bearer <token> or
 * Invite <code>). A file is checked to be what it claims (its first bytes),
 * stored in the database unbound, and bound to a consult when a request or a
 * chat message names it; who may read it is the consult engine's decision.
 * Errors are JSON {"error": {"code", "message"}} with the signalling codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway.h"

#define PREFIX "/api/attachments"
/* Unbound uploads live this long, and are looked for this often. */
#define UNBOUND_TTL_MS (24 * 3600 * 1000LL)
#define PRUNE_EVERY_MS (60 * 1000LL)

/* The first bytes of each allowed type: a PNG named .jpg is refused, and
 * nothing is stored that a browser would sniff as something else. */
bool cs_attachment_bytes_are(const char *type, const unsigned char *b, size_t n)
{
    if (!strcmp(type, "image/jpeg"))
        return n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff;
    if (!strcmp(type, "image/png"))
        return n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);
    if (!strcmp(type, "image/webp"))
        return n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4);
    if (!strcmp(type, "application/pdf"))
        return n >= 5 && !memcmp(b, "%PDF-", 5);
    return false;
}

/* The media type without parameters, lower-cased, into out; false if too long. */
static bool media_type(const char *header, char *out, size_t size)
{
    size_t n = strcspn(header, ";");
    while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = header[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[n] = '\0';
    return true;
}

/* The display name from the X-File-Name header: percent-encoded UTF-8 (as
 * encodeURIComponent writes it), decoded here and not by the HTTP library so
 * that every byte is checked: 1–127 bytes of UTF-8 without control
 * characters; path separators become '_' (it is a label only). */
bool cs_attachment_name_decode(const char *encoded, char out[CS_FILE_NAME_MAX])
{
    size_t n = 0;
    for (const char *p = encoded; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = cs_hex_digit(p[1]), lo = hi < 0 ? -1 : cs_hex_digit(p[2]);
            if (lo < 0)
                return false;
            c = hi * 16 + lo;
            p += 2;
        }
        if (n + 1 >= CS_FILE_NAME_MAX || c < 0x20 || c == 0x7f)
            return false;
        out[n++] = c == '/' || c == '\\' ? '_' : (char)c;
    }
    out[n] = '\0';
    return n > 0 && cs_utf8_valid(out, n);
}

static int upload(cs_app_t *app, const cs_identity_t *who, const cs_http_request_t *req,
                  cs_http_response_t *resp)
{
    cs_attachment_t a;
    memset(&a, 0, sizeof a);
    if (!cs_attachment_name_decode(req->file_name, a.ref.name))
        return cs_http_error_reply(resp, 400, CS_EINVAL,
                           "X-File-Name must be the file's name, percent-encoded, 1-127 bytes");
    if (!media_type(req->content_type, a.ref.type, sizeof a.ref.type) ||
        !cs_attachment_type_allowed(a.ref.type))
        return cs_http_error_reply(resp, 400, CS_EINVAL,
                           "Content-Type must be image/jpeg, image/png, image/webp or "
                           "application/pdf");
    if (!req->body || req->body_len == 0)
        return cs_http_error_reply(resp, 400, CS_EINVAL, "the file is empty");
    if (req->body_len > (size_t)app->cfg.attachment_max_bytes)
        return cs_http_error_reply(resp, 413, CS_ETOOBIG, "the file is larger than attachments.max_bytes");
    if (!cs_attachment_bytes_are(a.ref.type, (const unsigned char *)req->body, req->body_len))
        return cs_http_error_reply(resp, 400, CS_EINVAL, "the file's content is not of its Content-Type");
    a.ref.size = (int64_t)req->body_len;
    cs_strlcpy(a.owner, who->subject, sizeof a.owner);
    cs_strlcpy(a.owner_tenant, who->tenant, sizeof a.owner_tenant);
    a.created_at = cs_now_ms();
    int rc = cs_uuid4(a.ref.id);
    if (!rc)
        rc = cs_sha256_hex(req->body, req->body_len, a.sha256);
    if (!rc)
        rc = cs_storage_put_attachment(app->storage, &a, req->body, req->body_len,
                                       (int)app->cfg.attachment_max_unbound);
    if (rc == CS_ELIMIT)
        return cs_http_error_reply(resp, 429, CS_ELIMIT,
                           "too many files uploaded and not yet sent; send or wait for them");
    if (rc)
        return cs_http_error_reply(resp, 503, CS_ESTORAGE, "the file could not be saved; try again");
    CS_LOGI("attachments", "stored %s (%s, %lld bytes) for %s/%s", a.ref.id, a.ref.type,
            (long long)a.ref.size, who->tenant, who->subject);
    char *body = cs_proto_encode_attachment(&a.ref, a.sha256);
    return body ? cs_http_json_reply(resp, 201, body) : cs_http_error_reply(resp, 500, CS_ENOMEM, "out of memory");
}

static int download(cs_app_t *app, const cs_identity_t *who, const char *id,
                    cs_http_response_t *resp)
{
    cs_attachment_t a;
    void *data = NULL;
    size_t len = 0;
    int rc = cs_storage_get_attachment(app->storage, id, &a);
    /* Someone else's file answers exactly like a missing one. */
    if (rc == CS_ENOTFOUND || (rc == CS_OK && !cs_engine_may_read_attachment(app->engine, who, &a)))
        return cs_http_error_reply(resp, 404, CS_ENOTFOUND, "no such attachment");
    if (rc == CS_OK)
        rc = cs_storage_read_attachment(app->storage, id, &data, &len);
    if (rc)
        return cs_http_error_reply(resp, rc == CS_ENOMEM ? 500 : 503, rc == CS_ENOMEM ? CS_ENOMEM : CS_ESTORAGE,
                           "the file could not be read; try again");
    resp->status = 200;
    cs_strlcpy(resp->content_type, a.ref.type, sizeof resp->content_type);
    resp->body = data;
    resp->body_len = len;
    return 1;
}

int cs_attachments_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp)
{
    const char *rest = req->path + strlen(PREFIX);
    bool collection = rest[0] == '\0';
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (collection ? strcmp(req->method, "POST") : !get)
        return cs_http_error_reply(resp, 405, CS_EUNSUPPORTED,
                           collection ? "POST a file here" : "GET an attachment here");
    cs_identity_t who;
    int rc = cs_server_authenticate(app->server, req->authorization, cs_now_ms(), &who);
    if (rc)
        return cs_http_error_reply(resp, 401, rc == CS_EEXPIRED ? CS_EEXPIRED : CS_EAUTH,
                           rc == CS_EEXPIRED ? "your sign-in has expired"
                                             : "sign in first (Authorization: Bearer or Invite)");
    if (collection)
        return upload(app, &who, req, resp);
    if (rest[0] != '/' || !cs_uuid_shaped(rest + 1))
        return cs_http_error_reply(resp, 404, CS_ENOTFOUND, "no such attachment");
    return download(app, &who, rest + 1, resp);
}

void cs_attachments_prune(cs_app_t *app, int64_t now_ms)
{
    if (now_ms - app->attachments_pruned_at < PRUNE_EVERY_MS)
        return;
    app->attachments_pruned_at = now_ms;
    int n = cs_storage_prune_attachments(app->storage, now_ms - UNBOUND_TTL_MS);
    if (n > 0)
        CS_LOGI("attachments", "deleted %d unsent uploads older than a day", n);
    else if (n < 0)
        CS_LOGW("attachments", "could not delete old unsent uploads: %s", cs_strerror(n));
}
