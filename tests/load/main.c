/*
 * main.c — the consilium-load command line: reads the options into a run
 * configuration, runs the scenario, prints the summary and writes the JSON.
 * Exit 0 when every consult (and every churn replacement) became ready and
 * none failed later, 1 otherwise, 2 on a usage error. tests/load/README.md
 * is the manual.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/load/driver.h"
#include "tests/load/report.h"

static const char usage_text[] =
    "usage: consilium-load [--target consilium|janus] [--url URL] [options]\n"
    "  --target consilium|janus   server to drive (consilium)\n"
    "  --url URL                  ws://127.0.0.1:8080/ws (consilium), ws://127.0.0.1:8188 (janus)\n"
    "  --secret FILE              consilium: HS256 secret, <data_dir>/jwt-secret (required)\n"
    "  --tenant T                 consilium: the synthetic users' centre (load)\n"
    "  --specialty S              consilium: one specialty for every consult (default: one per consult)\n"
    "  --consults N (1)  --participants M (2, at most 8)\n"
    "  --ramp SECONDS (0: as fast as possible, at most 20 consults setting up at once)\n"
    "  --warmup SECONDS (2)  --duration SECONDS (10)  the steady window, after every consult is ready\n"
    "  --churn PER_SECOND (0)     end a random ready consult and start another, during the window\n"
    "  --video WxH@FPS:KBPS (640x360@30:600)  --audio-kbps K (32)  --no-video  --no-audio\n"
    "  --decode-every K (10)      in consults 0, K, 2K... each participant decodes one audio\n"
    "                             and one video stream it receives; 0: none\n"
    "  --srtp-profile NAME        e.g. SRTP_AES128_CM_SHA1_80 (default: as Chromium)\n"
    "  --bind ADDR (127.0.0.1)    --server-pid PID (sample its CPU and memory)\n"
    "  --hostile PPS (0)          attack each consult's first participant at PPS datagrams\n"
    "                             a second: random UDP, replayed and forged SRTP, bad RTCP,\n"
    "                             DTLS of another certificate, STUN with wrong credentials\n"
    "  --setup-timeout SECONDS (30)  --json FILE  --quiet\n";

enum {
    O_TARGET = 256, O_URL, O_SECRET, O_TENANT, O_SPECIALTY, O_CONSULTS, O_PARTICIPANTS, O_RAMP,
    O_WARMUP, O_DURATION, O_CHURN, O_VIDEO, O_AUDIO_KBPS, O_NO_VIDEO, O_NO_AUDIO, O_DECODE_EVERY,
    O_SRTP, O_BIND, O_SERVER_PID, O_HOSTILE, O_SETUP_TIMEOUT, O_JSON, O_QUIET, O_HELP,
};

static const struct option options[] = {
    {"target", required_argument, NULL, O_TARGET},
    {"url", required_argument, NULL, O_URL},
    {"secret", required_argument, NULL, O_SECRET},
    {"tenant", required_argument, NULL, O_TENANT},
    {"specialty", required_argument, NULL, O_SPECIALTY},
    {"consults", required_argument, NULL, O_CONSULTS},
    {"participants", required_argument, NULL, O_PARTICIPANTS},
    {"ramp", required_argument, NULL, O_RAMP},
    {"warmup", required_argument, NULL, O_WARMUP},
    {"duration", required_argument, NULL, O_DURATION},
    {"churn", required_argument, NULL, O_CHURN},
    {"video", required_argument, NULL, O_VIDEO},
    {"audio-kbps", required_argument, NULL, O_AUDIO_KBPS},
    {"no-video", no_argument, NULL, O_NO_VIDEO},
    {"no-audio", no_argument, NULL, O_NO_AUDIO},
    {"decode-every", required_argument, NULL, O_DECODE_EVERY},
    {"srtp-profile", required_argument, NULL, O_SRTP},
    {"bind", required_argument, NULL, O_BIND},
    {"server-pid", required_argument, NULL, O_SERVER_PID},
    {"hostile", required_argument, NULL, O_HOSTILE},
    {"setup-timeout", required_argument, NULL, O_SETUP_TIMEOUT},
    {"json", required_argument, NULL, O_JSON},
    {"quiet", no_argument, NULL, O_QUIET},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static int usage(const char *why, const char *arg)
{
    if (why)
        fprintf(stderr, "consilium-load: %s%s%s\n", why, arg ? ": " : "", arg ? arg : "");
    fputs(usage_text, stderr);
    return 2;
}

/* A whole number in [lo, hi]. */
static bool parse_uint(const char *s, long lo, long hi, unsigned *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Seconds (a decimal number) in [lo, hi]. */
static bool parse_secs(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* WxH@FPS:KBPS */
static bool parse_video(const char *s, lt_run_config_t *c)
{
    int w, h, fps, kbps, n = 0;
    if (sscanf(s, "%dx%d@%d:%d%n", &w, &h, &fps, &kbps, &n) != 4 || s[n] || w < 16 || h < 16 ||
        w > 3840 || h > 2160 || w % 2 || h % 2 || fps < 1 || fps > 60 || kbps < 10 || kbps > 20000)
        return false;
    c->width = w;
    c->height = h;
    c->fps = fps;
    c->video_kbps = kbps;
    return true;
}

static void defaults(lt_run_config_t *c)
{
    *c = (lt_run_config_t){
        .target = "consilium", .tenant = "load", .consults = 1, .participants = 2, .warmup_s = 2,
        .duration_s = 10, .setup_timeout_s = 30, .width = 640, .height = 360, .fps = 30,
        .video_kbps = 600, .audio_kbps = 32, .audio = true, .video = true, .decode_every = 10,
        .bind_address = "127.0.0.1",
    };
}

/* One option into c; false when its value is wrong. */
static bool apply(lt_run_config_t *c, int opt, const char *a)
{
    unsigned u;
    switch (opt) {
    case O_TARGET: c->target = a; return strcmp(a, "consilium") == 0 || strcmp(a, "janus") == 0;
    case O_URL: c->url = a; return strncmp(a, "ws://", 5) == 0;
    case O_SECRET: c->secret_file = a; return true;
    case O_TENANT: c->tenant = a; return *a;
    case O_SPECIALTY: c->specialty = a; return *a;
    case O_CONSULTS: return parse_uint(a, 1, 100000, &c->consults);
    case O_PARTICIPANTS: return parse_uint(a, 2, LT_MAX_PARTICIPANTS, &c->participants);
    case O_RAMP: return parse_secs(a, 0, 86400, &c->ramp_s);
    case O_WARMUP: return parse_secs(a, 0, 86400, &c->warmup_s);
    case O_DURATION: return parse_secs(a, 0.1, 7 * 86400, &c->duration_s);
    case O_CHURN: return parse_secs(a, 0, 1000, &c->churn_per_s);
    case O_VIDEO: return parse_video(a, c);
    case O_AUDIO_KBPS:
        if (!parse_uint(a, 6, 510, &u))
            return false;
        c->audio_kbps = (int)u;
        return true;
    case O_NO_VIDEO: c->video = false; return true;
    case O_NO_AUDIO: c->audio = false; return true;
    case O_DECODE_EVERY: return parse_uint(a, 0, 1000000, &c->decode_every);
    case O_SRTP: c->srtp_profile = a; return *a;
    case O_BIND: c->bind_address = a; return *a;
    case O_SERVER_PID:
        if (!parse_uint(a, 1, 1 << 30, &u))
            return false;
        c->server_pid = (int)u;
        return true;
    case O_HOSTILE: return parse_secs(a, 0, 100000, &c->hostile_pps);
    case O_SETUP_TIMEOUT: return parse_secs(a, 1, 3600, &c->setup_timeout_s);
    case O_JSON: c->json_path = a; return *a;
    case O_QUIET: c->quiet = true; return true;
    default: return false;
    }
}

int main(int argc, char **argv)
{
    lt_run_config_t cfg;
    defaults(&cfg);
    int opt, li = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, &li)) != -1) {
        if (opt == O_HELP) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (opt == '?')
            return usage("unknown option or missing value", argv[optind - 1]);
        if (!apply(&cfg, opt, optarg)) {
            char why[64];
            snprintf(why, sizeof why, "bad value for --%s", options[li].name);
            return usage(why, optarg);
        }
    }
    if (optind < argc)
        return usage("unexpected argument", argv[optind]);
    bool janus = strcmp(cfg.target, "janus") == 0;
    if (!cfg.url)
        cfg.url = janus ? "ws://127.0.0.1:8188" : "ws://127.0.0.1:8080/ws";
    if (!janus && !cfg.secret_file)
        return usage("--secret FILE is required with --target consilium", NULL);
    if (!cfg.audio && !cfg.video)
        return usage("--no-audio and --no-video leave nothing to send", NULL);
    cs_log_setup(CS_LOG_WARN, false);

    lt_results_t res = {0};
    int rc = lt_scenario_run(&cfg, &res);
    if (!cfg.quiet)
        lt_report_print(stdout, &cfg, &res);
    if (cfg.json_path) {
        char err[256];
        if (lt_report_write_json(cfg.json_path, &cfg, &res, err, sizeof err)) {
            fprintf(stderr, "consilium-load: %s\n", err);
            rc = 1;
        }
    }
    lt_results_free(&res);
    return rc;
}
