/*
 * secrets.c — the generated secrets of an embedded-defaults install (the HS256
 * signing secret), and the small file helpers they need. Secrets are files of
 * mode 0600 in the data folder; their contents are never logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "gateway.h"

int cs_mkdirs(const char *path)
{
    char buf[CS_PATH_MAX];
    if (cs_strlcpy(buf, path, sizeof buf) >= sizeof buf)
        return CS_EINVAL;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) && errno != EEXIST)
            return CS_EIO;
        *p = '/';
    }
    if (mkdir(buf, 0700) && errno != EEXIST)
        return CS_EIO;
    return CS_OK;
}

int cs_file_read(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? CS_ENOTFOUND : CS_EIO;
    size_t n = fread(out, 1, cap - 1, f);
    bool more = fgetc(f) != EOF;
    int err = ferror(f);
    fclose(f);
    if (err)
        return CS_EIO;
    if (more)
        return CS_ETOOBIG;
    out[n] = '\0';
    return CS_OK;
}

int cs_secret_load_or_create(const char *path, size_t len, unsigned char *out, size_t cap,
                             size_t *out_len, char *err, size_t errlen)
{
    char text[1024];
    int rc = cs_file_read(path, text, sizeof text);
    if (rc == CS_ENOTFOUND) {
        char hex[129];
        if (len > 64 || cs_random_hex(hex, len) != CS_OK)
            return CS_EIO;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && errno == EEXIST)
            return cs_secret_load_or_create(path, len, out, cap, out_len, err, errlen);
        if (fd < 0 || write(fd, hex, 2 * len) != (ssize_t)(2 * len) || fsync(fd)) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return CS_EIO;
        }
        close(fd);
        cs_strlcpy(text, hex, sizeof text);
    } else if (rc) {
        snprintf(err, errlen, "cannot read %s: %s", path, cs_strerror(rc));
        return rc;
    }
    size_t n = strcspn(text, "\r\n");
    if (n < 32 || n > cap) {
        snprintf(err, errlen, "%s must hold 32 to %zu bytes of secret", path, cap);
        return CS_EINVAL;
    }
    memcpy(out, text, n);
    *out_len = n;
    return CS_OK;
}
