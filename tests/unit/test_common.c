/* test_common.c — the shared toolbox: map, durations, UTF-8, ids, config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "gateway/config.h"

static void test_map(void **state)
{
    (void)state;
    cs_map_t *m = cs_map_new(1000);
    char key[32];
    static int values[2000];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(cs_map_put(m, key, &values[i]), CS_OK);
    }
    assert_int_equal(cs_map_put(m, "one-too-many", &values[0]), CS_ELIMIT);
    assert_int_equal(cs_map_size(m), 1000);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        assert_ptr_equal(cs_map_remove(m, key), &values[i]);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_ptr_equal(cs_map_get(m, key), i % 2 ? &values[i] : NULL);
    }
    /* Replacing keeps the count; iteration visits every live entry once. */
    assert_int_equal(cs_map_put(m, "k1", &values[1500]), CS_OK);
    size_t pos = 0, n = 0;
    void *v;
    while (cs_map_next(m, &pos, NULL, &v))
        n++;
    assert_int_equal(n, 500);
    assert_int_equal(cs_map_size(m), 500);
    cs_map_free(m);
    cs_map_free(NULL);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(cs_duration_parse("90", &ms), CS_OK);
    assert_int_equal(ms, 90000);
    assert_int_equal(cs_duration_parse("10m", &ms), CS_OK);
    assert_int_equal(ms, 600000);
    assert_int_equal(cs_duration_parse("7d", &ms), CS_OK);
    assert_int_equal(ms, 7 * 86400000LL);
    assert_int_equal(cs_duration_parse("250ms", &ms), CS_OK);
    assert_int_equal(ms, 250);
    assert_int_equal(cs_duration_parse("-1s", &ms), CS_EINVAL);
    assert_int_equal(cs_duration_parse("5 m", &ms), CS_EINVAL);
    assert_int_equal(cs_duration_parse("99999999999999999d", &ms), CS_EINVAL);
    assert_int_equal(cs_duration_parse("", &ms), CS_EINVAL);
}

static void test_utf8_and_ids(void **state)
{
    (void)state;
    assert_true(cs_utf8_valid("Привет", strlen("Привет")));
    assert_false(cs_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(cs_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(cs_utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_false(cs_utf8_valid("a\0b", 3));
    char id[37], id2[37];
    assert_int_equal(cs_uuid4(id), CS_OK);
    assert_int_equal(cs_uuid4(id2), CS_OK);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4');
    assert_string_not_equal(id, id2);
    char hex[65];
    assert_int_equal(cs_sha256_hex("abc", 3, hex), CS_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(cs_errname(CS_ETAKEN), "taken");
    assert_string_equal(cs_errname(-999), "unknown");
}

static void test_config(void **state)
{
    (void)state;
    cs_config_t cfg;
    char err[256];
    cs_config_defaults(&cfg);
    assert_string_equal(cfg.listen_address, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_int_equal(cfg.deadline_ms[CS_URGENCY_EMERGENCY], 2 * 3600000LL);
    assert_int_equal(cs_config_validate(&cfg, err, sizeof err), CS_OK);
    const char text[] = "# a deployment\nlisten.port = 9443 # trailing comment\n"
                        "routes.kirov = vologda, perm\n\nqueue.urgent.warn=1h\n";
    assert_int_equal(cs_config_parse(&cfg, text, strlen(text), "t.conf", err, sizeof err), CS_OK);
    assert_int_equal(cfg.listen_port, 9443);
    assert_int_equal(cfg.n_routes, 2);
    assert_string_equal(cfg.routes[1].to, "perm");
    assert_int_equal(cfg.warn_ms[CS_URGENCY_URGENT], 3600000);
    const char bad[] = "listen.port = 1\nlisten.port = 70000\n";
    assert_int_equal(cs_config_parse(&cfg, bad, strlen(bad), "t.conf", err, sizeof err), CS_EINVAL);
    assert_non_null(strstr(err, "t.conf:2:"));
    assert_int_equal(cs_config_set(&cfg, "no.such", "1", err, sizeof err), CS_EINVAL);
    assert_non_null(strstr(err, "no.such"));
    assert_int_equal(cs_config_set(&cfg, "log.format", "xml", err, sizeof err), CS_EINVAL);
    assert_int_equal(cs_config_set(&cfg, "routes.kirov", "kirov", err, sizeof err), CS_EINVAL);
    /* Plain http away from loopback needs an explicit insecure. */
    cs_config_set(&cfg, "listen.address", "0.0.0.0", err, sizeof err);
    assert_int_equal(cs_config_validate(&cfg, err, sizeof err), CS_EINVAL);
    assert_non_null(strstr(err, "insecure"));
    cs_config_set(&cfg, "insecure", "true", err, sizeof err);
    assert_int_equal(cs_config_validate(&cfg, err, sizeof err), CS_OK);
    cs_config_set(&cfg, "tls.cert", "/x.pem", err, sizeof err);
    assert_int_equal(cs_config_validate(&cfg, err, sizeof err), CS_EINVAL);
    cs_config_defaults(&cfg);
    cs_config_set(&cfg, "queue.planned.warn", "30d", err, sizeof err);
    assert_int_equal(cs_config_validate(&cfg, err, sizeof err), CS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_utf8_and_ids),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
