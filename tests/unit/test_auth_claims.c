/*
 * test_auth_claims.c — unit tests for signaling/auth: how cs_auth_verify
 * checks a correctly signed token's claims — exp, nbf and iat against the
 * clock and the leeway, missing claims, claims of the wrong type, bad values
 * and length bounds, and the configured issuer and audience.
 */

#include "tests/unit/auth_test_keys.h"

/* ---- time ----------------------------------------------------------------- */

static void test_expired(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    cs_identity_t id = specialist();
    char *tok = NULL;
    assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, "HS256", &tok), CS_OK);
    expect_at(a, tok, NOW + 59999, CS_OK, NULL);
    /* Refused on or after exp (RFC 7519 §4.1.4). */
    expect_at(a, tok, NOW + 60000, CS_EEXPIRED, "token expired");
    expect_at(a, tok, NOW + 86400000, CS_EEXPIRED, "token expired");
    free(tok);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 1))),
                CS_EEXPIRED, "token expired");
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(0))), CS_EEXPIRED,
                "token expired");
    cs_auth_free(a);
}

static void test_not_yet_valid(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 120))),
                CS_EEXPIRED, "token not yet valid");
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 1))),
                CS_EEXPIRED, "token not yet valid");
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(0))), CS_OK, NULL);
    /* iat in the future is not our business, but it must be a number. */
    expect_free(a, claims_token(with(base_claims(), "iat", json_integer(NOW_S + 999))), CS_OK,
                NULL);
    cs_auth_free(a);
}

static void test_leeway(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, NULL, NULL, NULL, NULL, 30000);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 10))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 29))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 30))),
                CS_EEXPIRED, "token expired");
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(NOW_S - 40))),
                CS_EEXPIRED, "token expired");
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 20))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 30))), CS_OK,
                NULL);
    expect_free(a, claims_token(with(base_claims(), "nbf", json_integer(NOW_S + 31))),
                CS_EEXPIRED, "token not yet valid");
    /* expires_at is the token's exp, without the leeway. */
    char *tok = claims_token(with(base_claims(), "exp", json_integer(NOW_S - 10)));
    cs_identity_t id;
    assert_int_equal(cs_auth_verify(a, tok, NOW, &id, NULL), CS_OK);
    assert_int_equal(id.expires_at, NOW - 10000);
    free(tok);
    cs_auth_free(a);
}

/* ---- claims --------------------------------------------------------------- */

static void test_missing_claims(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    static const struct {
        const char *claim, *why;
    } cases[] = {
        {"sub", "sub claim is missing or not a string"},
        {"name", "name claim is missing or not a string"},
        {"role", "role claim is missing or not a string"},
        {"tenant", "tenant claim is missing or not a string"},
        {"exp", "exp claim is missing or not an integer"},
        {"specialties", "specialist token lists no specialties"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++)
        expect_free(a, claims_token(without(base_claims(), cases[i].claim)), CS_EAUTH,
                    cases[i].why);
    /* iat is optional; specialties too for everyone but specialists. */
    expect_free(a, claims_token(without(base_claims(), "iat")), CS_OK, NULL);
    expect_free(a,
                claims_token(without(with(base_claims(), "role", json_string("patient")),
                                     "specialties")),
                CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "specialties", json_array())), CS_EAUTH,
                "specialist token lists no specialties");
    cs_auth_free(a);
}

static void test_wrong_types(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    static const struct {
        const char *claim, *json, *why;
    } cases[] = {
        {"sub", "5", "sub claim is missing or not a string"},
        {"sub", "[\"u-1\"]", "sub claim is missing or not a string"},
        {"name", "null", "name claim is missing or not a string"},
        {"name", "{}", "name claim is missing or not a string"},
        {"role", "1", "role claim is missing or not a string"},
        {"role", "[\"specialist\"]", "role claim is missing or not a string"},
        {"tenant", "true", "tenant claim is missing or not a string"},
        {"specialties", "\"cardiology\"", "specialties claim is not an array of strings"},
        {"specialties", "null", "specialties claim is not an array of strings"},
        {"specialties", "{\"a\":\"cardiology\"}", "specialties claim is not an array of strings"},
        {"specialties", "[1]", "specialties claim is not an array of strings"},
        {"specialties", "[\"cardiology\",[\"x\"]]", "specialties claim is not an array of strings"},
        {"exp", "\"1795003600\"", "exp claim is missing or not an integer"},
        {"exp", "1795003600.5", "exp claim is missing or not an integer"},
        {"exp", "1.7950036e9", "exp claim is missing or not an integer"},
        {"exp", "null", "exp claim is missing or not an integer"},
        {"exp", "-1", "exp claim is out of range"},
        {"exp", "253402300800", "exp claim is out of range"},
        {"exp", "9223372036854775807", "exp claim is out of range"},
        {"exp", "-9223372036854775808", "exp claim is out of range"},
        {"nbf", "\"0\"", "nbf claim is not an integer"},
        {"nbf", "-5", "nbf claim is out of range"},
        {"nbf", "9223372036854775807", "nbf claim is out of range"},
        {"iat", "\"now\"", "iat claim is not an integer"},
        {"iat", "1e3", "iat claim is not an integer"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        expect_free(a, claims_token(with(base_claims(), cases[i].claim, v)), CS_EAUTH,
                    cases[i].why);
    }
    /* Numbers jansson cannot hold fail to parse at all. */
    char p[256];
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"name\":\"n\",\"role\":\"patient\",\"tenant\":\"t\","
                          "\"exp\":99999999999999999999999}");
    expect_free(a, hs_token(p), CS_EAUTH, "token signature or payload is invalid");
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"name\":\"n\",\"role\":\"patient\",\"tenant\":\"t\","
                          "\"exp\":1e999}");
    expect_free(a, hs_token(p), CS_EAUTH, "token signature or payload is invalid");
    /* The last second we accept. */
    expect_free(a, claims_token(with(base_claims(), "exp", json_integer(253402300799LL))),
                CS_OK, NULL);
    cs_auth_free(a);
}

static void test_bad_values(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char s63[64], s64[65], s127[128], s128[129];
    memset(s63, 'a', 63), s63[63] = '\0';
    memset(s64, 'a', 64), s64[64] = '\0';
    memset(s127, 'a', 127), s127[127] = '\0';
    memset(s128, 'a', 128), s128[128] = '\0';
    static const struct {
        const char *claim, *value, *why;
    } cases[] = {
        {"role", "xyzzy", "role claim is not a known role"},
        {"role", "Specialist", "role claim is not a known role"},
        {"role", "specialist ", "role claim is not a known role"},
        {"role", "", "role claim is empty or not valid UTF-8"},
        {"role", "xyzzy-xyzzy-xyzzy-xyzzy-xyzzy-xyzzy", "role claim is too long"},
        {"tenant", "Xyzzy", "tenant claim is not a valid slug"},
        {"tenant", "north centre", "tenant claim is not a valid slug"},
        {"tenant", "-xyzzy", "tenant claim is not a valid slug"},
        {"tenant", "_xyzzy", "tenant claim is not a valid slug"},
        {"tenant", "xyzzy/..", "tenant claim is not a valid slug"},
        {"tenant", "", "tenant claim is empty or not valid UTF-8"},
        {"sub", "", "sub claim is empty or not valid UTF-8"},
        {"name", "", "name claim is empty or not valid UTF-8"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++)
        expect_free(a, claims_token(with(base_claims(), cases[i].claim,
                                         json_string(cases[i].value))),
                    CS_EAUTH, cases[i].why);
    /* Length bounds: CS_*_MAX include the NUL. */
    expect_free(a, claims_token(with(base_claims(), "name", json_string(s127))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "name", json_string(s128))), CS_EAUTH,
                "name claim is too long");
    expect_free(a, claims_token(with(base_claims(), "sub", json_string(s127))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "sub", json_string(s128))), CS_EAUTH,
                "sub claim is too long");
    expect_free(a, claims_token(with(base_claims(), "tenant", json_string(s63))), CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "tenant", json_string(s64))), CS_EAUTH,
                "tenant claim is too long");
    expect_free(a, claims_token(with(base_claims(), "specialties", json_pack("[s]", s63))),
                CS_OK, NULL);
    expect_free(a, claims_token(with(base_claims(), "specialties", json_pack("[s]", s64))),
                CS_EAUTH, "specialties claim holds a specialty that is too long");
    expect_free(a,
                claims_token(with(base_claims(), "specialties", json_pack("[s,s]", "ok", "Xy"))),
                CS_EAUTH, "specialties claim holds an invalid slug");
    expect_free(a, claims_token(with(base_claims(), "specialties", json_pack("[s]", ""))),
                CS_EAUTH, "specialties claim holds an invalid slug");
    /* At most CS_MAX_SPECIALTIES. */
    json_t *eight = json_pack("[s,s,s,s,s,s,s,s]", "a", "b", "c", "d", "e", "f", "g", "h");
    expect_free(a, claims_token(with(base_claims(), "specialties", json_deep_copy(eight))),
                CS_OK, NULL);
    json_array_append_new(eight, json_string("i"));
    expect_free(a, claims_token(with(base_claims(), "specialties", eight)), CS_EAUTH,
                "specialties claim lists too many specialties");
    /* UTF-8 names are fine; an escaped NUL never gets through. */
    expect_free(a, claims_token(with(base_claims(), "name", json_string("José Ç 医生"))), CS_OK,
                NULL);
    expect_free(a, hs_token("{\"sub\":\"a\\u0000b\",\"name\":\"n\",\"role\":\"patient\","
                            "\"tenant\":\"t\",\"exp\":1795003600}"),
                CS_EAUTH, NULL);
    cs_auth_free(a);
}

/* ---- iss / aud ------------------------------------------------------------ */

/* patient_id: optional, for patients only, bounded, and it round-trips. */
static void test_patient_id(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    json_t *patient = with(without(base_claims(), "specialties"), "role", json_string("patient"));
    char *tok = claims_token(with(patient, "patient_id", json_string("SNILS 112-233-445 95")));
    cs_identity_t id;
    assert_int_equal(cs_auth_verify(a, tok, NOW, &id, NULL), CS_OK);
    assert_string_equal(id.patient_id, "SNILS 112-233-445 95");
    free(tok);
    expect_free(a, claims_token(with(base_claims(), "patient_id", json_string("P-1"))), CS_EAUTH,
                "patient_id claim is only for the patient role");
    patient = with(without(base_claims(), "specialties"), "role", json_string("patient"));
    expect_free(a, claims_token(with(patient, "patient_id", json_integer(7))), CS_EAUTH,
                "patient_id claim is missing or not a string");
    char longer[CS_PATIENT_ID_MAX + 1];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    patient = with(without(base_claims(), "specialties"), "role", json_string("patient"));
    expect_free(a, claims_token(with(patient, "patient_id", json_string(longer))), CS_EAUTH,
                "patient_id claim is too long");
    /* Minted and read back. */
    cs_identity_t in = {.role = CS_ROLE_PATIENT}, out;
    strcpy(in.subject, "p-1");
    strcpy(in.name, "Иван Сидоров");
    strcpy(in.tenant, "district-7");
    strcpy(in.patient_id, "MRN-0042");
    char *minted = NULL;
    assert_int_equal(cs_auth_mint(a, &in, NOW, 60000, "HS256", &minted), CS_OK);
    assert_int_equal(cs_auth_verify(a, minted, NOW, &out, NULL), CS_OK);
    assert_string_equal(out.patient_id, "MRN-0042");
    free(minted);
    in.role = CS_ROLE_CLINICIAN;
    assert_int_equal(cs_auth_mint(a, &in, NOW, 60000, "HS256", &minted), CS_EINVAL);
    cs_auth_free(a);
}

static void test_issuer_audience(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, NULL, NULL, "https://idp.north", "consilium", 0);
    json_t *ok = with(with(base_claims(), "iss", json_string("https://idp.north")), "aud",
                      json_string("consilium"));
    expect_free(a, claims_token(json_deep_copy(ok)), CS_OK, NULL);
    expect_free(a,
                claims_token(with(json_deep_copy(ok), "aud",
                                  json_pack("[s,s]", "pacs", "consilium"))),
                CS_OK, NULL);
    const char *iss_why = "iss claim does not name the configured issuer";
    const char *aud_why = "aud claim does not name the configured audience";
    expect_free(a, claims_token(without(json_deep_copy(ok), "iss")), CS_EAUTH, iss_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "iss", json_string("https://xyzzy"))),
                CS_EAUTH, iss_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "iss", json_integer(1))), CS_EAUTH,
                iss_why);
    expect_free(a, claims_token(without(json_deep_copy(ok), "aud")), CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_string("xyzzy"))),
                CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_string("Consilium"))),
                CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_pack("[s]", "xyzzy"))),
                CS_EAUTH, aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_array())), CS_EAUTH,
                aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_pack("[i]", 1))), CS_EAUTH,
                aud_why);
    expect_free(a, claims_token(with(json_deep_copy(ok), "aud", json_integer(7))), CS_EAUTH,
                aud_why);
    json_decref(ok);
    /* Unconfigured (NULL or ""): not checked, whatever the token says. */
    cs_auth_t *b = make_auth(SECRET, NULL, NULL, "", NULL, 0);
    expect_free(b, claims_token(with(base_claims(), "iss", json_integer(1))), CS_OK, NULL);
    expect_free(b, claims_token(with(base_claims(), "aud", json_string("xyzzy"))), CS_OK, NULL);
    cs_auth_free(b);
    /* Tokens we mint carry the configured iss and aud. */
    cs_auth_t *c = make_auth(SECRET, keys.pub, keys.priv, "https://idp.north", "consilium", 0);
    roundtrip(c, "HS256");
    roundtrip(c, "ES256");
    cs_auth_free(c);
    cs_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_leeway),
        cmocka_unit_test(test_missing_claims),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_issuer_audience),
        cmocka_unit_test(test_patient_id),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
