/*
 * main.c — the `consilium` command: run the gateway, mint a token, print the
 * configuration.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway.h"

static const char usage[] =
    "usage: consilium [run] [options]         start the gateway\n"
    "       consilium token --role ROLE --tenant T --name NAME [--subject S]\n"
    "                       [--specialty S]... [--patient-id ID] [--ttl 8h] [--alg HS256|ES256]\n"
    "                       [options]\n"
    "       consilium config [options]        print every configuration key with its value\n"
    "\n"
    "options (all commands):\n"
    "  -c, --config FILE     read settings from FILE (key = value lines)\n"
    "  -s, --set KEY=VALUE   override one setting (repeatable; see `consilium config`)\n"
    "  -d, --data-dir DIR    same as --set data_dir=DIR\n"
    "  -l, --listen ADDR     same as --set listen.address=ADDR\n"
    "  -p, --port N          same as --set listen.port=N\n"
    "      --insecure        same as --set insecure=true\n"
    "      --demo            same as --set demo=true (print demo sign-in links)\n"
    "      --log-json        same as --set log.format=json\n"
    "  -h, --help            this text\n"
    "  -V, --version         print the version\n";

enum { OPT_INSECURE = 256, OPT_DEMO, OPT_LOG_JSON, OPT_ROLE, OPT_TENANT, OPT_NAME, OPT_SUBJECT,
       OPT_SPECIALTY, OPT_TTL, OPT_ALG, OPT_PATIENT_ID };

static const struct option options[] = {
    {"config", required_argument, NULL, 'c'},  {"set", required_argument, NULL, 's'},
    {"data-dir", required_argument, NULL, 'd'}, {"listen", required_argument, NULL, 'l'},
    {"port", required_argument, NULL, 'p'},     {"insecure", no_argument, NULL, OPT_INSECURE},
    {"demo", no_argument, NULL, OPT_DEMO},      {"log-json", no_argument, NULL, OPT_LOG_JSON},
    {"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
    {"role", required_argument, NULL, OPT_ROLE}, {"tenant", required_argument, NULL, OPT_TENANT},
    {"name", required_argument, NULL, OPT_NAME}, {"subject", required_argument, NULL, OPT_SUBJECT},
    {"specialty", required_argument, NULL, OPT_SPECIALTY}, {"ttl", required_argument, NULL, OPT_TTL},
    {"alg", required_argument, NULL, OPT_ALG},  {"patient-id", required_argument, NULL, OPT_PATIENT_ID},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *role, *tenant, *name, *subject, *ttl, *alg, *patient_id;
    const char *specialties[CS_MAX_SPECIALTIES + 1];
    int n_specialties;
} token_args_t;

static int fail(const char *msg)
{
    fprintf(stderr, "consilium: %s\n", msg);
    return 2;
}

/* Settings apply in order: defaults, then the file, then each override. */
static int parse_args(int argc, char **argv, cs_config_t *cfg, token_args_t *tok)
{
    char err[512];
    const char *file = NULL;
    /* First pass: find --config, so the file applies before the overrides. */
    for (int i = 1; i < argc - 1; i++)
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
            file = argv[i + 1];
    if (file && cs_config_load(cfg, file, err, sizeof err))
        return fail(err);
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:s:d:l:p:hV", options, NULL)) != -1) {
        const char *key = NULL, *value = optarg;
        char kv[1024];
        switch (opt) {
        case 'c': continue;
        case 's': {
            cs_strlcpy(kv, optarg, sizeof kv);
            char *eq = strchr(kv, '=');
            if (!eq)
                return fail("--set takes KEY=VALUE");
            *eq = '\0';
            key = kv, value = eq + 1;
            break;
        }
        case 'd': key = "data_dir"; break;
        case 'l': key = "listen.address"; break;
        case 'p': key = "listen.port"; break;
        case OPT_INSECURE: key = "insecure", value = "true"; break;
        case OPT_DEMO: key = "demo", value = "true"; break;
        case OPT_LOG_JSON: key = "log.format", value = "json"; break;
        case 'h': fputs(usage, stdout); exit(0);
        case 'V': printf("consilium %s\n", CS_VERSION); exit(0);
        case OPT_ROLE: tok->role = optarg; continue;
        case OPT_TENANT: tok->tenant = optarg; continue;
        case OPT_NAME: tok->name = optarg; continue;
        case OPT_SUBJECT: tok->subject = optarg; continue;
        case OPT_TTL: tok->ttl = optarg; continue;
        case OPT_ALG: tok->alg = optarg; continue;
        case OPT_PATIENT_ID: tok->patient_id = optarg; continue;
        case OPT_SPECIALTY:
            if (tok->n_specialties == CS_MAX_SPECIALTIES)
                return fail("too many --specialty options");
            tok->specialties[tok->n_specialties++] = optarg;
            continue;
        default: fputs(usage, stderr); return 2;
        }
        if (cs_config_set(cfg, key, value, err, sizeof err))
            return fail(err);
    }
    return 0;
}

/* A subject from a display name when none is given: "Dr Ivanova" → "dr-ivanova". */
static void subject_from_name(const char *name, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c))
            out[n++] = (char)tolower(c);
        else if (n > 0 && out[n - 1] != '-' && c < 0x80)
            out[n++] = '-';
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (n == 0)
        cs_random_hex(stpcpy(out, "user-"), 4);
}

static int build_identity(const token_args_t *t, cs_identity_t *id, int64_t *ttl)
{
    memset(id, 0, sizeof *id);
    if (!t->role || !t->tenant || !t->name)
        return fail("token needs --role, --tenant and --name");
    if (cs_role_parse(t->role, &id->role))
        return fail("--role must be clinician, specialist, coordinator, patient or interpreter");
    if (!cs_slug_valid(t->tenant, CS_TENANT_MAX))
        return fail("--tenant must be lower-case letters, digits, '-' or '_'");
    if (strlen(t->name) >= CS_NAME_MAX || (t->subject && strlen(t->subject) >= CS_SUBJECT_MAX))
        return fail("--name or --subject is too long");
    cs_strlcpy(id->tenant, t->tenant, sizeof id->tenant);
    cs_strlcpy(id->name, t->name, sizeof id->name);
    if (t->subject)
        cs_strlcpy(id->subject, t->subject, sizeof id->subject);
    else
        subject_from_name(t->name, id->subject, sizeof id->subject);
    for (int i = 0; i < t->n_specialties; i++) {
        if (!cs_slug_valid(t->specialties[i], CS_SPECIALTY_MAX))
            return fail("--specialty must be lower-case letters, digits, '-' or '_'");
        cs_strlcpy(id->specialties[id->n_specialties++], t->specialties[i], CS_SPECIALTY_MAX);
    }
    if (id->role == CS_ROLE_SPECIALIST && id->n_specialties == 0)
        return fail("a specialist token needs at least one --specialty");
    if (t->patient_id) {
        if (id->role != CS_ROLE_PATIENT || !t->patient_id[0] ||
            strlen(t->patient_id) >= CS_PATIENT_ID_MAX)
            return fail("--patient-id is for --role patient, at most 63 bytes");
        cs_strlcpy(id->patient_id, t->patient_id, sizeof id->patient_id);
    }
    if (cs_duration_parse(t->ttl ? t->ttl : "8h", ttl) || *ttl <= 0)
        return fail("--ttl must be a duration such as 30m, 8h, 2d");
    return 0;
}

static int cmd_token(const cs_config_t *cfg, const token_args_t *t)
{
    cs_identity_t id;
    int64_t ttl;
    int rc = build_identity(t, &id, &ttl);
    if (rc)
        return rc;
    char err[512];
    cs_auth_t *auth = cs_app_auth_from_config(cfg, err, sizeof err);
    if (!auth)
        return fail(err);
    char *token = NULL;
    rc = cs_auth_mint(auth, &id, cs_now_ms(), ttl, t->alg ? t->alg : "HS256", &token);
    cs_auth_free(auth);
    if (rc)
        return fail(rc == CS_EUNSUPPORTED ? "no signing key configured for that --alg"
                                          : "could not mint the token");
    printf("%s\n", token);
    free(token);
    return 0;
}

static int cmd_run(const cs_config_t *cfg)
{
    char err[512];
    cs_log_level_t level = CS_LOG_INFO;
    cs_log_level_parse(cfg->log_level, &level);
    cs_log_setup(level, strcmp(cfg->log_format, "json") == 0);
    if (cs_config_validate(cfg, err, sizeof err))
        return fail(err);
    cs_app_t app;
    if (cs_app_start(&app, cfg, err, sizeof err)) {
        CS_LOGE("gateway", "%s", err);
        return 1;
    }
    if (cfg->demo)
        cs_app_print_demo_links(&app);
    int rc = cs_app_run(&app);
    cs_app_free(&app);
    CS_LOGI("gateway", "stopped");
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *cmd = "run";
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv[1] = argv[0];
        argv++, argc--;
    }
    cs_config_t cfg;
    cs_config_defaults(&cfg);
    token_args_t tok = {0};
    int rc = parse_args(argc, argv, &cfg, &tok);
    if (rc)
        return rc;
    if (!strcmp(cmd, "run"))
        return cmd_run(&cfg);
    if (!strcmp(cmd, "token"))
        return cmd_token(&cfg, &tok);
    if (!strcmp(cmd, "config")) {
        cs_config_print(&cfg, stdout, true);
        return 0;
    }
    fprintf(stderr, "consilium: unknown command '%s'\n%s", cmd, usage);
    return 2;
}
