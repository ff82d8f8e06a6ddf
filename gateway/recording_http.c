/*
 * recording_http.c — serving a consult's recordings:
 *   GET /api/recordings/<file id>        the WebM, decrypted as it streams,
 *                                        with byte ranges (a <video> seeks)
 *   GET /api/recordings/<file id>/link   a URL with a short-lived capability
 *                                        (?access=...) for a <video> element,
 *                                        which cannot send an Authorization header
 * for the consult's participants and its centre's coordinators; anyone else,
 * an unknown id or a file not ready is 404. Every request is written to the
 * consult's audit trail as recording_accessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "recording_internal.h"

#define PREFIX "/api/recordings/"
#define LINK_TTL_MS (10 * 60 * 1000)

bool cs_recordings_path(const char *path)
{
    return !strncmp(path, PREFIX, strlen(PREFIX));
}

/* The value of "access=" in a decoded query ("a=1&access=..."), or NULL. */
static const char *access_param(const char *query, char *out, size_t cap)
{
    for (const char *p = query; *p; p += strcspn(p, "&"), p += *p == '&') {
        size_t n = strcspn(p, "&");
        if (n <= 7 || n - 7 >= cap || strncmp(p, "access=", 7))
            continue;
        memcpy(out, p + 7, n - 7);
        out[n - 7] = '\0';
        return out;
    }
    return NULL;
}

static void forget_expired_links(cs_app_recording_t *ar, int64_t now)
{
    size_t pos = 0;
    const char *key;
    void *v;
    while (cs_map_next(ar->links, &pos, &key, &v)) {
        if (((rec_link_t *)v)->expires_at > now)
            continue;
        char copy[80];
        cs_strlcpy(copy, key, sizeof copy);
        free(cs_map_remove(ar->links, copy));
    }
}

/* Who asks: by the Authorization header, or (for the file itself) by a link's
 * capability, which names one file. 0 or an HTTP error reply (1). */
static int identify(cs_app_t *app, const cs_http_request_t *req, const char *file_id,
                    bool allow_link, cs_identity_t *who, cs_http_response_t *resp)
{
    int64_t now = cs_now_ms();
    char cap[80];
    if (allow_link && !req->authorization[0] && access_param(req->query, cap, sizeof cap)) {
        rec_link_t *l = cs_map_get(app->recording->links, cap);
        if (!l || l->expires_at <= now || strcmp(l->file_id, file_id))
            return cs_http_error_reply(resp, 401, CS_EEXPIRED,
                                       "this link has expired: open the recording again");
        *who = l->who;
        return 0;
    }
    int rc = cs_server_authenticate(app->server, req->authorization, now, who);
    if (rc)
        return cs_http_error_reply(resp, 401, rc == CS_EEXPIRED ? CS_EEXPIRED : CS_EAUTH,
                                   rc == CS_EEXPIRED
                                       ? "your sign-in has expired"
                                       : "sign in first (Authorization: Bearer or Invite)");
    return 0;
}

/* The file when who may read it and it is ready; else a 404 (or 503) reply. */
static int find_readable(cs_app_t *app, const char *file_id, const cs_identity_t *who,
                         cs_recfile_row_t *row, cs_http_response_t *resp)
{
    int rc = cs_uuid_shaped(file_id) ? cs_storage_recfile_get(app->storage, file_id, row)
                                     : CS_ENOTFOUND;
    if (rc && rc != CS_ENOTFOUND)
        return cs_http_error_reply(resp, 503, CS_ESTORAGE, "the recording could not be read");
    if (rc == CS_OK)
        rc = cs_app_may_see_consult(app, who, row->consult_id);
    if (rc == CS_ENOMEM)
        return cs_http_error_reply(resp, 503, CS_ENOMEM, "the recording could not be read");
    /* Another centre's recording answers exactly like a missing one. */
    if (rc || row->file.state != CS_RECFILE_READY)
        return cs_http_error_reply(resp, 404, CS_ENOTFOUND, "no such recording");
    return 0;
}

static long stream_read(void *user, uint64_t offset, char *buf, size_t cap)
{
    long n = cs_sealed_read(user, offset, buf, cap);
    return n > 0 ? n : -1;   /* the server asks only inside the size: 0 is damage too */
}

static void stream_close(void *user)
{
    cs_sealed_free(user);
}

static int serve_file(cs_app_t *app, const cs_http_request_t *req, const char *file_id,
                      cs_http_response_t *resp)
{
    cs_app_recording_t *ar = app->recording;
    cs_identity_t who;
    cs_recfile_row_t row;
    if (identify(app, req, file_id, true, &who, resp) || find_readable(app, file_id, &who, &row, resp))
        return 1;
    char dir[CS_PATH_MAX], path[CS_PATH_MAX + 32];
    if (!rec_file_dir(ar, row.consult_id, file_id, dir, sizeof dir))
        return cs_http_error_reply(resp, 500, CS_ETOOBIG, "recording.dir is too long");
    snprintf(path, sizeof path, "%s/recording.webm.sealed", dir);
    cs_sealed_t *f = NULL;
    int rc = cs_sealed_open(path, ar->key, &f);
    if (rc) {
        CS_LOGE("recording", "recording %s cannot be opened: %s", file_id, cs_strerror(rc));
        return cs_http_error_reply(resp, 500, rc == CS_EAUTH ? CS_EAUTH : CS_EIO,
                                   "the recording could not be decrypted");
    }
    char detail[200];
    snprintf(detail, sizeof detail, "%s bytes %.60s", file_id,
             req->range[0] && strcspn(req->range, "\r\n") == strlen(req->range) ? req->range
                                                                                 : "all");
    rec_audit(ar, row.consult_id, &who, "recording_accessed", detail);
    ar->reads++;
    resp->status = 200;
    cs_strlcpy(resp->content_type, "video/webm", sizeof resp->content_type);
    cs_strlcpy(resp->headers[0].name, "etag:", sizeof resp->headers[0].name);
    snprintf(resp->headers[0].value, sizeof resp->headers[0].value, "\"%s\"", file_id);
    /* Cache-Control: no-store comes with every dynamic response (signaling/ws). */
    resp->stream = (cs_http_stream_t){.read = stream_read,
                                      .close = stream_close,
                                      .user = f,
                                      .size = cs_sealed_size(f),
                                      .ranges = true};
    return 1;
}

static int make_link(cs_app_t *app, const cs_http_request_t *req, const char *file_id,
                     cs_http_response_t *resp)
{
    cs_app_recording_t *ar = app->recording;
    cs_identity_t who;
    cs_recfile_row_t row;
    if (identify(app, req, file_id, false, &who, resp) ||
        find_readable(app, file_id, &who, &row, resp))
        return 1;
    int64_t now = cs_now_ms();
    forget_expired_links(ar, now);
    rec_link_t *l = calloc(1, sizeof *l);
    char cap[65];
    if (!l || cs_random_hex(cap, 32) != CS_OK) {
        free(l);
        return cs_http_error_reply(resp, 500, CS_ENOMEM, "no link could be made; try again");
    }
    cs_strlcpy(l->file_id, file_id, sizeof l->file_id);
    l->who = who;
    l->expires_at = now + LINK_TTL_MS;
    if (cs_map_put(ar->links, cap, l) != CS_OK) {
        free(l);
        return cs_http_error_reply(resp, 503, CS_ELIMIT, "too many links now; try again soon");
    }
    char *json = NULL;
    if (asprintf(&json, "{\"url\": \"" PREFIX "%s?access=%s\", \"expires_at\": %lld}", file_id,
                 cap, (long long)l->expires_at) < 0)
        json = NULL;
    return cs_http_json_reply(resp, 200, json);
}

int cs_recordings_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp)
{
    if (!app->recording)
        return cs_http_error_reply(resp, 404, CS_ENOTFOUND, "recording is not enabled");
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
        return cs_http_error_reply(resp, 405, CS_EUNSUPPORTED, "GET a recording here");
    const char *rest = req->path + strlen(PREFIX);
    char id[CS_ID_MAX];
    size_t n = strcspn(rest, "/");
    if (n >= sizeof id || (rest[n] && strcmp(rest + n, "/link")))
        return cs_http_error_reply(resp, 404, CS_ENOTFOUND, "no such recording");
    memcpy(id, rest, n);
    id[n] = '\0';
    return rest[n] ? make_link(app, req, id, resp) : serve_file(app, req, id, resp);
}
