/*
 * common.h — the shared toolbox every Consilium module may use.
 *
 * Error codes, logging, the clock, random identifiers and a string-keyed hash
 * map. Nothing here knows about signalling, media or the gateway; nothing here
 * uses an external library beyond libc.
 */
#ifndef CS_COMMON_H
#define CS_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors: 0 is success, failures are negative ------------------------ */

enum {
    CS_OK = 0,
    CS_ENOMEM = -1,      /* allocation failed */
    CS_EINVAL = -2,      /* malformed or out-of-range argument or input */
    CS_ENOTFOUND = -3,   /* no such object */
    CS_EPERM = -4,       /* the actor may not do this */
    CS_ESTATE = -5,      /* not allowed in the object's current state */
    CS_ETAKEN = -6,      /* someone else got there first */
    CS_ELIMIT = -7,      /* a configured maximum was reached */
    CS_EIO = -8,         /* operating-system or file error */
    CS_ESTORAGE = -9,    /* the database refused or failed a write */
    CS_EAUTH = -10,      /* missing, malformed or unverifiable credentials */
    CS_EEXPIRED = -11,   /* credentials or object past their validity */
    CS_EEXIST = -12,     /* already exists / already done */
    CS_EAGAIN = -13,     /* temporarily impossible, try later */
    CS_ETOOBIG = -14,    /* input larger than allowed */
    CS_EUNSUPPORTED = -15, /* valid but not supported by this build/config */
};

/* Human-readable text for an error code; never NULL. */
const char *cs_strerror(int err);
/* Stable machine-readable name ("not_found", "taken", ...); never NULL. */
const char *cs_errname(int err);

/* ---- logging ------------------------------------------------------------- */

typedef enum { CS_LOG_DEBUG, CS_LOG_INFO, CS_LOG_WARN, CS_LOG_ERROR } cs_log_level_t;

/* Configure once at start-up; not thread-safe against concurrent logging. */
void cs_log_setup(cs_log_level_t min_level, bool json_lines);
int cs_log_level_parse(const char *s, cs_log_level_t *out);
/*
 * Writes one line to stderr, either "2026-11-22T10:00:00.123Z INFO  [module] text"
 * or a JSON object {"ts":..,"level":..,"module":..,"msg":..}. Thread-safe (one
 * write(2) per line). Never pass tokens, keys or clinical content.
 */
void cs_log(cs_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CS_LOGD(mod, ...) cs_log(CS_LOG_DEBUG, mod, __VA_ARGS__)
#define CS_LOGI(mod, ...) cs_log(CS_LOG_INFO, mod, __VA_ARGS__)
#define CS_LOGW(mod, ...) cs_log(CS_LOG_WARN, mod, __VA_ARGS__)
#define CS_LOGE(mod, ...) cs_log(CS_LOG_ERROR, mod, __VA_ARGS__)

/* ---- time ---------------------------------------------------------------- */

/* Wall-clock milliseconds since the Unix epoch (deadlines survive restarts). */
int64_t cs_now_ms(void);
/* Monotonic milliseconds, for measuring intervals. */
int64_t cs_mono_ms(void);
/* Monotonic microseconds, for latency measurements. */
int64_t cs_mono_us(void);
/* Writes "2026-11-22T10:00:00.123Z" (25 bytes incl. NUL) into out. */
void cs_time_iso8601(int64_t ms, char out[32]);
/* Parses durations such as "90", "90s", "10m", "8h", "7d" into milliseconds. */
int cs_duration_parse(const char *s, int64_t *out_ms);

/* ---- randomness ---------------------------------------------------------- */

/* Fills buf from the kernel's CSPRNG; returns CS_OK or CS_EIO. */
int cs_random_bytes(void *buf, size_t len);
/* A random RFC 4122 version-4 UUID in lower case, 36 chars + NUL. */
int cs_uuid4(char out[37]);
/* len random bytes as 2*len lower-case hex digits + NUL into out. */
int cs_random_hex(char *out, size_t len);

/* SHA-256 of data as 64 lower-case hex digits + NUL. */
int cs_sha256_hex(const void *data, size_t len, char out[65]);
#define CS_SHA1_LEN 20
/* SHA-1 of data (20 raw bytes): FHIR's Attachment.hash and name-based UUIDs,
 * not for anything that must resist collisions. CS_OK or CS_EIO. */
int cs_sha1(const void *data, size_t len, unsigned char out[CS_SHA1_LEN]);
/* base64(HMAC-SHA1(key, data)): 28 characters + NUL (coturn's TURN REST
 * credentials). CS_OK or CS_EIO. */
int cs_hmac_sha1_base64(const void *key, size_t key_len, const void *data, size_t len,
                        char out[29]);

/* ---- strings ------------------------------------------------------------- */

/* strlcpy semantics: always NUL-terminates, returns strlen(src). */
size_t cs_strlcpy(char *dst, const char *src, size_t size);
/* True when s is valid UTF-8 of exactly len bytes with no NUL bytes. */
bool cs_utf8_valid(const char *s, size_t len);
/* The value of a hexadecimal digit (either case), or -1. */
int cs_hex_digit(char c);
/* True for 36 characters shaped as cs_uuid4() writes them (lower-case hex,
 * dashes at 8, 13, 18, 23): the ids of consults, attachments, messages. */
bool cs_uuid_shaped(const char *s);
/* The buffer cs_base64_encode needs for len bytes: 4 * ceil(len / 3)
 * characters and a NUL; 0 when that does not fit in a size_t. */
size_t cs_base64_size(size_t len);
/* Standard base64 of len bytes (RFC 4648 section 4: A-Z a-z 0-9 + /, padded
 * with '=', no line breaks) into out, NUL-terminated. data may be NULL when
 * len is 0. CS_OK; CS_ETOOBIG when cap < cs_base64_size(len) (out is then
 * the empty string when cap > 0). */
int cs_base64_encode(const void *data, size_t len, char *out, size_t cap);
/* The value (0-63) of a base64 character, or -1: the standard alphabet
 * (RFC 4648 section 4, + and /) or, with url, base64url (section 5, - and _).
 * '=' is not a value. */
int cs_base64_value(unsigned char c, bool url);
/* Decodes len characters of unpadded base64url into out (cap bytes),
 * refusing what lenient decoders accept: other characters, an impossible
 * length and non-zero trailing bits (so one value has one spelling). */
bool cs_base64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                         size_t *out_len);

/* ---- string-keyed hash map ---------------------------------------------- */

/*
 * Open-addressing map from NUL-terminated string keys to pointers. The map
 * copies keys and never owns values. Capacity grows by doubling; a map may hold
 * at most max_entries (0 = unlimited) and refuses more with CS_ELIMIT.
 */
typedef struct cs_map cs_map_t;

cs_map_t *cs_map_new(size_t max_entries);
void cs_map_free(cs_map_t *m);
/* Inserts or replaces. */
int cs_map_put(cs_map_t *m, const char *key, void *value);
void *cs_map_get(const cs_map_t *m, const char *key);
/* Removes and returns the value, or NULL when absent. */
void *cs_map_remove(cs_map_t *m, const char *key);
size_t cs_map_size(const cs_map_t *m);
/*
 * Iteration: start with *pos = 0; returns false when done. The map must not be
 * modified during iteration except by cs_map_remove of the current key.
 */
bool cs_map_next(const cs_map_t *m, size_t *pos, const char **key, void **value);

/* ---- network byte order, for the packet parsers ------------------------ */

static inline uint16_t cs_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t cs_rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t cs_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void cs_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void cs_wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void cs_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint64_t cs_rd64(const uint8_t *p)
{
    return (uint64_t)cs_rd32(p) << 32 | cs_rd32(p + 4);
}

static inline void cs_wr64(uint8_t *p, uint64_t v)
{
    cs_wr32(p, (uint32_t)(v >> 32));
    cs_wr32(p + 4, (uint32_t)v);
}

/* ---- misc ---------------------------------------------------------------- */

#define CS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
