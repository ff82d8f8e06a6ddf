/*
 * test_sdp_errors.c — what media/sdp refuses, and how: every malformed line
 * and every bound (line length, total size, sections, codecs, candidates,
 * extensions, ssrcs, rids) gives a code and a message naming the line and
 * attribute, never quoting a secret. Also: trickled candidates both ways,
 * a=fmtp helpers, truncated input at every length, and the writer's refusals
 * (small buffers, fields that would not parse back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/sdp/sdp.h"
#include "tests/unit/sdp/fixture.h"

#define HEAD "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
#define AUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
#define FP32 "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3D:AF:FC:02:A5:7A:42:4B:71:D7:26:6E"

static cs_sdp_t *sdp;
static cs_sdp_error_t err;

static int setup(void **state)
{
    (void)state;
    sdp = malloc(sizeof *sdp);
    return sdp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(sdp);
    return 0;
}

/* Parses an exact-size heap copy, so a read past the end is caught under ASan. */
static int parse_n(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = cs_sdp_parse(copy, len, sdp, &err);
    free(copy);
    return rc;
}

static void expect_n(const char *text, size_t len, int code, unsigned line, const char *msg)
{
    int rc = parse_n(text, len);
    if (rc != code || err.code != code || (line && err.line != line) ||
        (msg && !strstr(err.message, msg)))
        fail_msg("expected %d at line %u \"%s\", got %d at line %u \"%s\" for:\n%.300s", code, line,
                 msg ? msg : "", rc, err.line, err.message, text);
    if (line) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "line %u: ", line);
        assert_memory_equal(err.message, prefix, strlen(prefix));
    }
}

static void expect(const char *text, int code, unsigned line, const char *msg)
{
    expect_n(text, strlen(text), code, line, msg);
}

/* ---- malformed lines ---------------------------------------------------------- */

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned line;
        const char *msg;
    } cases[] = {
        {"o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", 1, "first line must be v=0"},
        {"v=1\r\n", 1, "first line must be v=0"},
        {" v=0\r\n", 1, "first line must be v=0"},
        {HEAD "hello\r\n", 5, "expected a line type letter and '='"},
        {HEAD "A=foo\r\n", 5, "expected a line type letter and '='"},
        {HEAD "a\r\n", 5, "expected a line type letter and '='"},
        {HEAD "x=1\r\n", 5, "unknown line type 'x='"},
        {HEAD "v=0\r\n", 5, "v= may only be the first line"},
        {HEAD AUDIO "s=again\r\n", 8, "s= inside a media section"},
        {"v=0\r\ns=-\r\nt=0 0\r\n", 0, "missing o= line"},
        {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n", 0, "missing s= line"},
        {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", 0, "missing t= line"},
        {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n" AUDIO, 4, "m= before the session's"},
        {"v=0\r\no=- 1 1 IN IP4\r\n", 2, "o= has missing fields"},
        {"v=0\r\no=- 1\r\n", 2, "o= line has missing fields"},
        {"v=0\r\no=- 1 1 IN IP5 0.0.0.0\r\n", 2, "o= address type is not IP4 or IP6"},
        {"v=0\r\no=- 1 1 XX IP4 0.0.0.0\r\n", 2, "o= network type is not IN"},
        {"v=0\r\no=- x 1 IN IP4 0.0.0.0\r\n", 2, "o= session id and version must be numbers"},
        {"v=0\r\no=- 1 1 IN IP4 0.0.0.0 extra\r\n", 2, "o= line has extra fields"},
        {HEAD "o=- 1 1 IN IP4 0.0.0.0\r\n", 5, "more than one o= line"},
        {HEAD "s=again\r\n", 5, "more than one s= line"},
        {HEAD "m=audio,video 9 RTP/AVP 0\r\n", 5, "m= media is not a short token"},
        {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 x\r\n", 4, "t= must be two numbers"},
        {HEAD "c=IN IP4\r\n", 5, "c= has missing fields"},
        {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", 5, "m= line needs media, port, protocol and formats"},
        {HEAD "m=audio 70000 UDP/TLS/RTP/SAVPF 0\r\n", 5, "m= port is not a number from 0 to 65535"},
        {HEAD "m=audio 9/0 UDP/TLS/RTP/SAVPF 0\r\n", 5, "m= port is not a number"},
        {HEAD "m=audio -9 UDP/TLS/RTP/SAVPF 0\r\n", 5, "m= port is not a number"},
        {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 128\r\n", 5, "m= payload type is not a number from 0 to 127"},
        {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF opus\r\n", 5, "m= payload type is not a number"},
        {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 0 8 0\r\n", 5, "m= line repeats a payload type"},
        {HEAD AUDIO "a=rtpmap:128 opus/48000/2\r\n", 8, "a=rtpmap payload type is not a number from 0 to 127"},
        {HEAD AUDIO "a=rtpmap:111 opus\r\n", 8, "a=rtpmap encoding is not name/clock[/channels]"},
        {HEAD AUDIO "a=rtpmap:111 opus/0\r\n", 8, "a=rtpmap encoding is not"},
        {HEAD AUDIO "a=rtpmap:111 opus/48000/0\r\n", 8, "a=rtpmap encoding is not"},
        {HEAD AUDIO "a=rtpmap:111 /48000\r\n", 8, "a=rtpmap encoding is not"},
        {HEAD AUDIO "a=rtpmap:111 opus/48000/2 x\r\n", 8, "a=rtpmap needs one encoding"},
        {HEAD AUDIO "a=fmtp:300 useinbandfec=1\r\n", 8, "a=fmtp payload type is not a number"},
        {HEAD AUDIO "a=rtcp-fb:111\r\n", 8, "a=rtcp-fb without a feedback type"},
        {HEAD AUDIO "a=rtcp-fb:x nack\r\n", 8, "a=rtcp-fb payload type is not a number"},
        {HEAD "a=fingerprint:sha-256 " FP32 ":00\r\n", 5, "a=fingerprint has the wrong length for its hash"},
        {HEAD "a=fingerprint:sha-1 " FP32 "\r\n", 5, "a=fingerprint has the wrong length"},
        {HEAD "a=fingerprint:sha-256 4AAD:B9\r\n", 5, "a=fingerprint is not colon-separated hex"},
        {HEAD "a=fingerprint:sha-256 4A:AD:\r\n", 5, "a=fingerprint is not colon-separated hex"},
        {HEAD "a=fingerprint:sha-256 4A-AD-B9\r\n", 5, "a=fingerprint is not colon-separated hex"},
        {HEAD "a=fingerprint:sha-256\r\n", 5, "a=fingerprint needs a hash name and a value"},
        {HEAD "a=fingerprint:sha-256 " FP32 " x\r\n", 5, "a=fingerprint needs a hash name and a value"},
        {HEAD "a=setup:maybe\r\n", 5, "a=setup is not actpass, active, passive or holdconn"},
        {HEAD "a=ice-ufrag:a_b\r\n", 5, "a=ice-ufrag is not made of ICE characters"},
        {HEAD "a=ice-ufrag:\r\n", 5, "a=ice-ufrag is not made of ICE characters"},
        {HEAD AUDIO "a=mid:1\r\n", 8, "more than one a=mid in a section"},
        {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a,b\r\n", 6, "a=mid is not a token"},
        {HEAD AUDIO AUDIO, 0, "two m= sections have the same a=mid"},
        {HEAD "a=group:BUNDLE 0 9\r\n" AUDIO, 0, "a=group:BUNDLE names a mid no m= section has"},
        {HEAD "a=group:BUNDLE 0 0\r\n", 5, "a=group:BUNDLE repeats a mid"},
        {HEAD "a=group:\r\n", 5, "a=group without semantics"},
        {HEAD "a=msid-semantic:\r\n", 5, "a=msid-semantic without a semantic token"},
        {HEAD AUDIO "a=extmap:0 urn:x\r\n", 8, "a=extmap id is not from 1 to 255"},
        {HEAD AUDIO "a=extmap:256 urn:x\r\n", 8, "a=extmap id is not from 1 to 255"},
        {HEAD AUDIO "a=extmap:1/sideways urn:x\r\n", 8, "a=extmap direction is not a direction"},
        {HEAD AUDIO "a=extmap:1\r\n", 8, "a=extmap needs an id and a URI"},
        {HEAD AUDIO "a=extmap:1 urn:x\r\na=extmap:1 urn:y\r\n", 9, "a=extmap repeats an id"},
        {HEAD AUDIO "a=msid:\r\n", 8, "a=msid without a stream id"},
        {HEAD AUDIO "a=ssrc:abc cname:x\r\n", 8, "a=ssrc id is not a 32-bit number"},
        {HEAD AUDIO "a=ssrc:4294967296 cname:x\r\n", 8, "a=ssrc id is not a 32-bit number"},
        {HEAD AUDIO "a=ssrc:1\r\n", 8, "a=ssrc without an attribute"},
        {HEAD AUDIO "a=ssrc:1 cname:\r\n", 8, "a=ssrc cname is empty"},
        {HEAD AUDIO "a=ssrc:1 msid:\r\n", 8, "a=ssrc msid without a stream id"},
        {HEAD AUDIO "a=ssrc-group:FID\r\n", 8, "a=ssrc-group without ssrcs"},
        {HEAD AUDIO "a=ssrc-group:FID 1 x\r\n", 8, "a=ssrc-group ssrc is not a 32-bit number"},
        {HEAD AUDIO "a=ssrc-group:\r\n", 8, "a=ssrc-group without semantics"},
        {HEAD AUDIO "a=rid:q sideways\r\n", 8, "a=rid direction is not send or recv"},
        {HEAD AUDIO "a=rid:q\r\n", 8, "a=rid needs an id and a direction"},
        {HEAD AUDIO "a=rid:q! send\r\n", 8, "a=rid id is not letters, digits, '-' or '_'"},
        {HEAD AUDIO "a=rid:q send\r\na=rid:q recv\r\n", 9, "a=rid repeats an id"},
        {HEAD AUDIO "a=simulcast:send\r\n", 8, "a=simulcast direction without a stream list"},
        {HEAD AUDIO "a=simulcast:up q\r\n", 8, "a=simulcast direction is not send or recv"},
        {HEAD AUDIO "a=simulcast:send q;;f\r\n", 8, "a=simulcast has an empty or malformed rid"},
        {HEAD AUDIO "a=simulcast:send ~\r\n", 8, "a=simulcast has an empty or malformed rid"},
        {HEAD AUDIO "a=simulcast:send q,\r\n", 8, "a=simulcast has an empty or malformed rid"},
        {HEAD AUDIO "a=simulcast:send q recv h send f\r\n", 8, "a=simulcast repeats a direction"},
        {HEAD AUDIO "a=simulcast:\r\n", 8, "a=simulcast without a direction"},
        {HEAD AUDIO "a=simulcast:send q;~q\r\n", 8, "a=simulcast repeats a rid"},
        {HEAD AUDIO "a=simulcast:send q,h recv h\r\n", 8, "a=simulcast repeats a rid"},
        {HEAD AUDIO "a=candidate:1 1 udp 2113937151 192.0.2.1 5000 typ\r\n", 8,
         "a=candidate has missing fields"},
        {HEAD AUDIO "a=candidate:1 1 udp 2113937151 192.0.2.1\r\n", 8, "a=candidate has missing fields"},
        {HEAD AUDIO "a=candidate:\r\n", 8, "a=candidate has missing fields"},
        {HEAD AUDIO "a=candidate:1 1 udp 2113937151 192.0.2.1 70000 typ host\r\n", 8,
         "a=candidate port is not a number from 0 to 65535"},
        {HEAD AUDIO "a=candidate:1 0 udp 2113937151 192.0.2.1 5000 typ host\r\n", 8,
         "a=candidate component is not from 1 to 256"},
        {HEAD AUDIO "a=candidate:1 1 udp 4294967296 192.0.2.1 5000 typ host\r\n", 8,
         "a=candidate priority is not a 32-bit number"},
        {HEAD AUDIO "a=candidate:1 1 udp 1 192.0.2.1 5000 type host\r\n", 8,
         "a=candidate has no 'typ' after the port"},
        {HEAD AUDIO "a=candidate:1 1 udp 1 192.0.2.1 5000 typ host generation\r\n", 8,
         "a=candidate extension without a value"},
        {HEAD AUDIO "a=candidate:1 1 tcp 1 192.0.2.1 5000 typ host tcptype sideways\r\n", 8,
         "a=candidate tcptype is not active, passive or so"},
        {HEAD AUDIO "a=candidate:1 1 udp 1 192.0.2.1 5000 typ srflx raddr 192.0.2.2 rport x\r\n", 8,
         "a=candidate rport is not a number"},
        {HEAD AUDIO "a=candidate:a-b 1 udp 1 192.0.2.1 5000 typ host\r\n", 8,
         "a=candidate foundation is not made of ICE characters"},
        {HEAD AUDIO "a=candidate:1 1 udp 1 192.0.2.1 5000 typ host generation -1\r\n", 8,
         "a=candidate extension value is not a number"},
        {HEAD "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:70000\r\n", 6,
         "a=sctp-port is not a number from 0 to 65535"},
        {HEAD "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=max-message-size:x\r\n", 6,
         "a=max-message-size is not a number"},
        {HEAD "a=:value\r\n", 5, "a= line without an attribute name"},
        {HEAD "a=mid:0\x01\r\n", 5, "control character"},
        {HEAD "a=mid:0\rx\r\n", 5, "control character"},
        {HEAD "s=-", 5, "last line has no line ending (truncated input?)"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++)
        expect(cases[i].text, CS_EINVAL, cases[i].line, cases[i].msg);
}

/* Secrets in malformed lines never reach the message. */
static void test_no_secrets_in_messages(void **state)
{
    (void)state;
    static const char *const secret[] = {
        HEAD "a=ice-pwd:Secret-Password-42!\r\n",
        HEAD "a=ice-ufrag:Secret Ufrag\r\n",
        HEAD "a=fingerprint:sha-256 Secret:" FP32 "\r\n",
        HEAD "a=fingerprint:sha-256 4A:AD:B9:B1:3F:Secret\r\n",
        HEAD AUDIO "a=candidate:Secret! 1 udp 1 192.0.2.1 5000 typ host\r\n",
        HEAD AUDIO "a=candidate:1 1 udp 1 192.0.2.1 5000 typ host ufrag Secret!\r\n",
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(secret); i++) {
        assert_int_equal(parse_n(secret[i], strlen(secret[i])), CS_EINVAL);
        assert_null(strstr(err.message, "Secret"));
        assert_null(strstr(err.message, "4A:AD"));
    }
}

static void test_nul_and_sizes(void **state)
{
    (void)state;
    static const char nul[] = HEAD "a=mid:0\0x\r\n";
    expect_n(nul, sizeof nul - 1, CS_EINVAL, 5, "NUL byte");
    expect_n("", 0, CS_EINVAL, 0, "empty description");
    assert_int_equal(cs_sdp_parse(NULL, 10, sdp, &err), CS_EINVAL);
    /* Over the total bound: refused before anything is read. */
    char *big = malloc(CS_SDP_MAX_SIZE + 1);
    memset(big, 'x', CS_SDP_MAX_SIZE + 1);
    expect_n(big, CS_SDP_MAX_SIZE + 1, CS_ETOOBIG, 0, "description longer than 65536 bytes");
    free(big);
}

static void test_line_length(void **state)
{
    (void)state;
    char text[2048];
    int n = snprintf(text, sizeof text, HEAD "a=x-long:");
    memset(text + n, 'y', CS_SDP_MAX_LINE - 9);
    memcpy(text + n + CS_SDP_MAX_LINE - 9, "\r\n", 3);
    expect(text, CS_OK, 0, NULL); /* exactly 1024 bytes: fine */
    memcpy(text + n + CS_SDP_MAX_LINE - 9, "y\r\n", 4);
    expect(text, CS_ETOOBIG, 5, "line longer than 1024 bytes");
}

/* ---- bounds ------------------------------------------------------------------ */

/* HEAD, prefix, then `count` copies of pattern with each '#' replaced by
 * first + the copy's index. */
static char *repeat(const char *prefix, const char *pattern, int first, int count)
{
    size_t cap = (strlen(pattern) + 16) * (size_t)count + strlen(prefix) + 256, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t, cap, HEAD "%s", prefix);
    for (int i = 0; i < count; i++)
        for (const char *p = pattern; *p; p++)
            n += *p == '#' ? (size_t)snprintf(t + n, cap - n, "%d", first + i)
                           : (size_t)snprintf(t + n, cap - n, "%c", *p);
    return t;
}

static void bound(const char *prefix, const char *pattern, int first, int max, const char *msg)
{
    char *ok = repeat(prefix, pattern, first, max), *over = repeat(prefix, pattern, first, max + 1);
    expect(ok, CS_OK, 0, NULL);
    expect(over, CS_ELIMIT, 0, msg);
    free(ok);
    free(over);
}

static void test_bounds(void **state)
{
    (void)state;
    char line[512];
    bound("", "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:m#\r\n", 0, CS_SDP_MAX_MEDIA,
          "more than 32 m= sections");
    bound(AUDIO, "a=candidate:# 1 udp 1 192.0.2.1 # typ host\r\n", 0, CS_SDP_MAX_CANDIDATES,
          "more than 32 a=candidate in a section");
    bound(AUDIO, "a=extmap:# urn:x-#\r\n", 1, CS_SDP_MAX_EXTMAPS,
          "more than 24 a=extmap in a section");
    bound(AUDIO, "a=ssrc:# cname:c#\r\n", 0, CS_SDP_MAX_SSRCS,
          "more than 16 a=ssrc ids in a section");
    bound(AUDIO, "a=ssrc-group:FID # #\r\n", 0, CS_SDP_MAX_SSRC_GROUPS,
          "more than 8 a=ssrc-group in a section");
    bound(AUDIO, "a=rid:r# send\r\n", 0, CS_SDP_MAX_RIDS, "more than 8 a=rid in a section");

    /* 48 payload types fit on an m= line, 49 do not. */
    int n = snprintf(line, sizeof line, HEAD "m=video 9 UDP/TLS/RTP/SAVPF");
    for (int i = 0; i < CS_SDP_MAX_CODECS; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %d", 64 + i);
    snprintf(line + n, sizeof line - (size_t)n, "\r\n");
    expect(line, CS_OK, 0, NULL);
    snprintf(line + n, sizeof line - (size_t)n, " 20\r\n");
    expect(line, CS_ELIMIT, 5, "m= line has more than 48 payload types");

    expect(HEAD AUDIO "a=simulcast:send 1;2;3;4;5;6;7;8\r\n", CS_OK, 0, NULL);
    expect(HEAD AUDIO "a=simulcast:send 1;2;3;4;5;6;7;8;9\r\n", CS_ELIMIT, 8,
           "a=simulcast has more than 8 streams");
    expect(HEAD AUDIO "a=simulcast:recv 1,2,3,4\r\n", CS_OK, 0, NULL);
    expect(HEAD AUDIO "a=simulcast:recv 1,2,3,4,5\r\n", CS_ELIMIT, 8, "more than 4 alternatives");
    expect(HEAD AUDIO "a=ssrc-group:SIM 1 2 3 4 5 6 7 8\r\n", CS_OK, 0, NULL);
    expect(HEAD AUDIO "a=ssrc-group:SIM 1 2 3 4 5 6 7 8 9\r\n", CS_ELIMIT, 8,
           "a=ssrc-group has more than 8 ssrcs");
    expect(HEAD "a=group:BUNDLE 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33\r\n", CS_ELIMIT, 5,
           "a=group:BUNDLE names more than 32 mids");
}

static void test_field_lengths(void **state)
{
    (void)state;
    char text[1024];
    char mid[40], pwd[140], fmtp[260];
    memset(mid, 'm', sizeof mid);
    memset(pwd, 'p', sizeof pwd);
    memset(fmtp, 'f', sizeof fmtp);
    snprintf(text, sizeof text, HEAD "m=audio 9 RTP/AVP 0\r\na=mid:%.32s\r\n", mid);
    expect(text, CS_OK, 0, NULL);
    snprintf(text, sizeof text, HEAD "m=audio 9 RTP/AVP 0\r\na=mid:%.33s\r\n", mid);
    expect(text, CS_ETOOBIG, 6, "a=mid is longer than 32 bytes");
    snprintf(text, sizeof text, HEAD "a=ice-pwd:%.129s\r\n", pwd);
    expect(text, CS_ETOOBIG, 5, "a=ice-pwd is longer than 128 bytes");
    snprintf(text, sizeof text, HEAD "m=audio 9 RTP/AVP 0\r\na=fmtp:0 %.255s\r\n", fmtp);
    expect(text, CS_OK, 0, NULL);
    snprintf(text, sizeof text, HEAD "m=audio 9 RTP/AVP 0\r\na=fmtp:0 %.256s\r\n", fmtp);
    expect(text, CS_ETOOBIG, 6, "a=fmtp is longer than 255 bytes");
    snprintf(text, sizeof text, HEAD "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 %.64s 9 typ host\r\n",
             fmtp);
    expect(text, CS_ETOOBIG, 6, "a=candidate address is too long");
}

/* ---- what is skipped, not refused ------------------------------------------------ */

static void test_skipped(void **state)
{
    (void)state;
    static const char text[] =
        HEAD "t=1 2\r\ni=session info\r\nb=AS:100\r\nk=prompt\r\nz=0 0\r\n"
        "a=x-vendor:anything at all\r\na=rtpmap:96 VP8/90000\r\na=candidate:junk\r\n"
        "a=mid:session-level-is-ignored\r\na=group:LS 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP6 ::\r\nb=TIAS:64000\r\n"
        "a=mid:0 \t \r\na=rtcp-mux  \r\na=rtcp:9 IN IP4 0.0.0.0\r\na=rtcp-xr:rcvr-rtt=all\r\n"
        "a=rtpmap:96 VP8/90000\r\na=fmtp:97 apt=96\r\na=rtcp-fb:111 nack sli\r\n"
        "a=extmap:4096 urn:negotiated\r\na=fingerprint:md5 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B\r\n"
        "a=ice-options:trickle unknown-option\r\na=ssrc:5 label:plan-b\r\n"
        "a=candidate:1 1 udp 1 192.0.2.1 9 typ host unknown-ext value\r\n"
        "\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
        "a=rtpmap:5000 nonsense\r\na=fmtp:webrtc-datachannel max-message-size=100000\r\n"
        "a=rtcp-fb:* nack\r\n";
    expect(text, CS_OK, 0, NULL);
    assert_string_equal(sdp->media[0].mid, "0"); /* trailing blanks trimmed */
    assert_true(sdp->media[0].rtcp_mux);
    assert_int_equal(sdp->media[0].n_codecs, 1);
    assert_int_equal(sdp->media[0].codecs[0].fb, 0);
    assert_int_equal(sdp->media[0].n_extmaps, 0);
    assert_int_equal(sdp->media[0].transport.fingerprint.hash, CS_SDP_HASH_NONE);
    assert_int_equal(sdp->media[0].transport.ice_options, CS_SDP_ICE_TRICKLE);
    assert_int_equal(sdp->media[0].n_ssrcs, 0);
    assert_int_equal(sdp->media[0].n_candidates, 1);
    assert_true(sdp->media[0].conn_ip6);
    assert_false(sdp->has_bundle);
    assert_int_equal(sdp->time_stop, 0); /* the first t= line counts */
    assert_int_equal(sdp->media[1].n_codecs, 0);
}

/* Every prefix of a real offer: no crash, no read past the end, and a line
 * cut in the middle is reported as truncated. */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    size_t len;
    char *text = fixture_load("chromium-offer-simulcast.sdp", &len);
    for (size_t n = 1; n < len; n++) {
        int rc = parse_n(text, n);
        if (text[n - 1] != '\n') {
            assert_int_equal(rc, CS_EINVAL);
            assert_non_null(strstr(err.message, "truncated input"));
        } else if (rc != CS_OK) {
            assert_int_equal(err.line, 0); /* a whole-description check */
        }
    }
    assert_int_equal(parse_n(text, len), CS_OK);
    free(text);
}

/* ---- trickled candidates ------------------------------------------------------ */

static void test_candidate_trickle(void **state)
{
    (void)state;
    cs_sdp_candidate_t c;
    char out[256];
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"candidate:1952713458 1 udp 2113937151 053dfcd3-bff0-4e94-849d-0f087b3a77cf.local 55471 "
         "typ host generation 0 ufrag ttJp network-id 1 network-cost 999",
         NULL},
        {"a=candidate:2 1 UDP 1694498815 203.0.113.7 50000 typ srflx raddr 0.0.0.0 rport 0\r\n",
         "candidate:2 1 udp 1694498815 203.0.113.7 50000 typ srflx raddr 0.0.0.0 rport 0"},
        {"candidate:3 2 udp 16777215 198.51.100.20 3478 typ relay raddr 203.0.113.7 rport 50000", NULL},
        {"candidate:4 1 TCP 1518280447 2001:db8::10 9 typ host tcptype active",
         "candidate:4 1 tcp 1518280447 2001:db8::10 9 typ host tcptype active"},
        {"candidate:5 1 tcp 1 192.0.2.1 9 typ prflx tcptype so x-ignored 1",
         "candidate:5 1 tcp 1 192.0.2.1 9 typ prflx tcptype so"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(ok); i++) {
        if (cs_sdp_candidate_parse(ok[i].in, strlen(ok[i].in), &c, &err) != CS_OK)
            fail_msg("%s: %s", ok[i].in, err.message);
        assert_int_equal(cs_sdp_candidate_write(&c, out, sizeof out), CS_OK);
        assert_string_equal(out, ok[i].out ? ok[i].out : ok[i].in);
    }
    assert_int_equal(cs_sdp_candidate_parse(ok[0].in, strlen(ok[0].in), &c, NULL), CS_OK);
    assert_string_equal(c.ufrag, "ttJp");
    assert_int_equal(c.network_id, 1);
    /* Too small a buffer, at every size. */
    size_t need = strlen(ok[0].in);
    for (size_t cap = 0; cap <= need; cap++) {
        memset(out, '#', sizeof out);
        assert_int_equal(cs_sdp_candidate_write(&c, out, cap), CS_ETOOBIG);
        assert_true(cap == 0 || memchr(out, '\0', cap));
        assert_int_equal(out[cap], '#');
    }
    assert_int_equal(cs_sdp_candidate_write(&c, out, need + 1), CS_OK);
    c.foundation[0] = '\0';
    assert_int_equal(cs_sdp_candidate_write(&c, out, sizeof out), CS_EINVAL);

    static const char unknown_type[] = "candidate:1 1 udp 1 192.0.2.1 9 typ x-relay";
    static const char unknown_transport[] = "candidate:1 1 dccp 1 192.0.2.1 9 typ host";
    assert_int_equal(cs_sdp_candidate_parse(unknown_type, strlen(unknown_type), &c, &err),
                     CS_EUNSUPPORTED);
    assert_int_equal(cs_sdp_candidate_parse(unknown_transport, strlen(unknown_transport), &c, &err),
                     CS_EUNSUPPORTED);
    static const char *const bad[] = {"", "candidate:", "1 1 udp 1 192.0.2.1 9 typ host",
                                      "candidate:1 1 udp 1 192.0.2.1 9 typ host\x01",
                                      "a=candidate:1 1 udp 1 192.0.2.1 99999 typ host"};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++)
        assert_int_equal(cs_sdp_candidate_parse(bad[i], strlen(bad[i]), &c, &err), CS_EINVAL);
    assert_int_equal(cs_sdp_candidate_parse(NULL, 0, &c, &err), CS_EINVAL);
}

/* ---- a=fmtp helpers ------------------------------------------------------------- */

static void test_fmtp_helpers(void **state)
{
    (void)state;
    cs_sdp_fmtp_t f;
    cs_sdp_fmtp_parse("", &f);
    assert_int_equal(f.apt, -1);
    assert_int_equal(f.useinbandfec, -1);
    assert_int_equal(f.packetization_mode, -1);
    assert_false(f.has_profile_level_id);
    cs_sdp_fmtp_parse(" minptime=10 ; useinbandfec = 1;usedtx=1;stereo=0;maxplaybackrate=24000", &f);
    assert_int_equal(f.minptime, 10);
    assert_int_equal(f.useinbandfec, 1);
    assert_int_equal(f.usedtx, 1);
    assert_int_equal(f.stereo, 0);
    assert_int_equal(f.maxplaybackrate, 24000);
    cs_sdp_fmtp_parse("PROFILE-LEVEL-ID=42E01F;Packetization-Mode=1;level-asymmetry-allowed=1", &f);
    assert_true(f.has_profile_level_id);
    assert_int_equal(f.profile_level_id, 0x42e01f);
    assert_int_equal(f.packetization_mode, 1);
    assert_true(f.level_asymmetry_allowed);
    cs_sdp_fmtp_parse("apt=128;useinbandfec=2;profile-level-id=42e01;packetization-mode=3", &f);
    assert_int_equal(f.apt, -1);
    assert_int_equal(f.useinbandfec, -1);
    assert_false(f.has_profile_level_id);
    assert_int_equal(f.packetization_mode, -1);
    cs_sdp_fmtp_parse("apt=96;rtx-time=3000", &f);
    assert_int_equal(f.apt, 96);
    cs_sdp_fmtp_parse("0-15", &f);
    assert_int_equal(f.apt, -1);
    cs_sdp_fmtp_parse("profile-level-id=42zz1f", &f);
    assert_false(f.has_profile_level_id);
}

/* ---- the writer's refusals ------------------------------------------------------- */

static void test_writer_small_buffers(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("firefox-offer-simulcast.sdp");
    char *out = malloc(CS_SDP_MAX_SIZE);
    size_t len, got;
    assert_int_equal(cs_sdp_write(s, out, CS_SDP_MAX_SIZE, &len, NULL), CS_OK);
    for (size_t cap = 0; cap <= len; cap++) {
        memset(out, '#', len + 1);
        got = 99;
        assert_int_equal(cs_sdp_write(s, cap ? out : NULL, cap, &got, &err), CS_ETOOBIG);
        assert_string_equal(err.message, "output buffer too small");
        assert_int_equal(got, 0);
        if (cap)
            assert_int_equal(out[0], '\0');
        assert_int_equal(out[cap], cap ? '#' : out[cap]);
    }
    assert_int_equal(cs_sdp_write(s, out, len + 1, &got, &err), CS_OK);
    assert_int_equal(got, len);
    free(out);
    free(s);
}

static void test_writer_invalid_fields(void **state)
{
    (void)state;
    char out[16384];
    static const char base[] = HEAD AUDIO "a=rtpmap:111 opus/48000/2\r\na=ssrc:1 cname:c\r\n"
                                          "a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n";
    expect(base, CS_OK, 0, NULL);
    cs_sdp_media_t *m = &sdp->media[0];

    strcpy(m->mid, "a b");
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    assert_string_equal(err.message, "m= section 1: a=mid is not valid");
    expect(base, CS_OK, 0, NULL);
    strcpy(m->codecs[0].fmtp, "x=1\r\na=injected");
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    assert_string_equal(err.message, "m= section 1: a=fmtp is not valid");
    expect(base, CS_OK, 0, NULL);
    memset(m->mid, 'x', sizeof m->mid); /* no NUL */
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    expect(base, CS_OK, 0, NULL);
    m->transport.fingerprint.hash = CS_SDP_HASH_SHA256;
    m->transport.fingerprint.len = 20;
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    assert_string_equal(err.message, "a=fingerprint length does not match its hash");
    expect(base, CS_OK, 0, NULL);
    m->ssrcs[0].cname[0] = '\0';
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    expect(base, CS_OK, 0, NULL);
    strcpy(m->candidates[0].address, "");
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    assert_string_equal(err.message, "m= section 1: candidate 1 is not valid");
    expect(base, CS_OK, 0, NULL);
    m->n_codecs = CS_SDP_MAX_CODECS + 1;
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    expect(base, CS_OK, 0, NULL);
    m->n_codecs = 0;
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    assert_string_equal(err.message, "m= section 1 has no payload types");
    expect(base, CS_OK, 0, NULL);
    m->has_simulcast = true;
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_EINVAL);
    expect(base, CS_OK, 0, NULL);
    strcpy(sdp->name, "tab\tis fine");
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, &err), CS_OK);
    sdp->n_media = CS_SDP_MAX_MEDIA + 1;
    assert_int_equal(cs_sdp_write(sdp, out, sizeof out, NULL, NULL), CS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_no_secrets_in_messages),
        cmocka_unit_test(test_nul_and_sizes),
        cmocka_unit_test(test_line_length),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_field_lengths),
        cmocka_unit_test(test_skipped),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_candidate_trickle),
        cmocka_unit_test(test_fmtp_helpers),
        cmocka_unit_test(test_writer_small_buffers),
        cmocka_unit_test(test_writer_invalid_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
