/*
 * log.c — one line per event on stderr, plain text or JSON lines.
 *
 * Each line is formatted into a stack buffer and written with a single write(2)
 * so lines from different threads never interleave.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static cs_log_level_t log_min = CS_LOG_INFO;
static bool log_json = false;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cs_log_setup(cs_log_level_t min_level, bool json_lines)
{
    log_min = min_level;
    log_json = json_lines;
}

int cs_log_level_parse(const char *s, cs_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (cs_log_level_t)i;
            return CS_OK;
        }
    }
    return CS_EINVAL;
}

/* Appends s to buf as JSON string content; returns the new length. */
static size_t json_escape(char *buf, size_t len, size_t cap, const char *s)
{
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", c);
        } else {
            buf[len++] = (char)c;
        }
    }
    return len;
}

void cs_log(cs_log_level_t level, const char *module, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char ts[32];
    cs_time_iso8601(cs_now_ms(), ts);
    char line[2600];
    size_t n;
    if (log_json) {
        n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"", ts,
                             level_names[level]);
        n = json_escape(line, n, sizeof line, module);
        n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
        n = json_escape(line, n, sizeof line, msg);
        n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");
    } else {
        n = (size_t)snprintf(line, sizeof line, "%s %-5s [%s] %s\n", ts, level_names[level], module,
                             msg);
    }
    if (n >= sizeof line)
        n = sizeof line - 1;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
