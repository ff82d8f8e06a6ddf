/*
 * test_auth_mint.c — unit tests for signaling/auth: minting tokens and
 * verifying them back (HS256, ES256, every role), cs_auth_new's checks of its
 * configuration (HS256 secret, ES256 PEM keys, leeway) and the argument
 * checks of cs_auth_mint and cs_auth_verify.
 */

#include "tests/unit/auth_test_keys.h"

/* ---- helpers -------------------------------------------------------------- */

static int new_err(const cs_auth_config_t *cfg)
{
    int err = 1;
    cs_auth_t *a = cs_auth_new(cfg, &err);
    cs_auth_free(a);
    return a ? CS_OK : err;
}

/* The claims of a token, unverified, for inspecting what was minted. */
static json_t *payload_of(const char *tok)
{
    const char *p = strchr(tok, '.') + 1;
    size_t n = (size_t)(strchr(p, '.') - p);
    char *b64 = calloc(n + 4, 1);
    unsigned char *raw = calloc(n + 4, 1);
    for (size_t i = 0; i < n; i++)
        b64[i] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i];
    while (n % 4)
        b64[n++] = '=';
    assert_true(EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n) > 0);
    json_t *c = json_loads((const char *)raw, 0, NULL);
    assert_true(json_is_object(c));
    free(b64);
    free(raw);
    return c;
}

/* ---- round trips ------------------------------------------------------------ */

static void test_roundtrip_hs256(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    roundtrip(a, "HS256");
    cs_auth_free(a);
}

static void test_roundtrip_es256(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(NULL, keys.pub, keys.priv, NULL, NULL, 0);
    roundtrip(a, "ES256");
    cs_auth_free(a);
    /* Verification needs only the public key. */
    cs_auth_t *signer = make_auth(NULL, NULL, keys.priv, NULL, NULL, 0);
    cs_auth_t *verifier = make_auth(NULL, keys.pub, NULL, NULL, NULL, 0);
    cs_identity_t in = specialist(), out;
    char *tok = NULL;
    assert_int_equal(cs_auth_mint(signer, &in, NOW, 60000, "ES256", &tok), CS_OK);
    assert_int_equal(cs_auth_verify(verifier, tok, NOW, &out, NULL), CS_OK);
    assert_same_identity(&out, &in, NOW + 60000);
    free(tok);
    cs_auth_free(signer);
    cs_auth_free(verifier);
}

static void test_roundtrip_every_role(void **state)
{
    (void)state;
    cs_auth_t *a = make_auth(SECRET, keys.pub, keys.priv, NULL, NULL, 0);
    for (int r = 0; r < CS_ROLE_COUNT; r++) {
        cs_identity_t in = specialist(), out;
        in.role = (cs_role_t)r;
        in.n_specialties = r == CS_ROLE_SPECIALIST ? 1 : 0;
        char *tok = NULL;
        assert_int_equal(cs_auth_mint(a, &in, NOW + 1, 1, r % 2 ? "ES256" : "HS256", &tok),
                         CS_OK);
        /* ttl 1 ms rounds exp up to the next second, never down to now. */
        assert_int_equal(cs_auth_verify(a, tok, NOW + 1, &out, NULL), CS_OK);
        assert_same_identity(&out, &in, NOW + 1000);
        /* The claims minted: no specialties claim when there are none. */
        json_t *c = payload_of(tok);
        assert_int_equal(json_object_size(c), in.n_specialties ? 7 : 6);
        assert_int_equal(json_integer_value(json_object_get(c, "iat")), NOW_S);
        assert_int_equal(json_integer_value(json_object_get(c, "exp")), NOW_S + 1);
        assert_string_equal(json_string_value(json_object_get(c, "role")), cs_role_name(in.role));
        json_decref(c);
        free(tok);
    }
    cs_auth_free(a);
}

static void test_roundtrip_hand_built(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    /* Unknown claims and headers are ignored; typ is optional. */
    json_t *c = with(base_claims(), "extra", json_pack("{s:i}", "x", 1));
    char *payload = json_dumps(c, JSON_COMPACT);
    char *tok = hs_token_hdr("{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload);
    cs_identity_t out;
    assert_int_equal(cs_auth_verify(a, tok, NOW, &out, NULL), CS_OK);
    assert_string_equal(out.subject, "u-1");
    assert_string_equal(out.name, "Dr Ana Souza");
    assert_int_equal(out.role, CS_ROLE_SPECIALIST);
    assert_string_equal(out.tenant, "north");
    assert_int_equal(out.n_specialties, 2);
    assert_string_equal(out.specialties[1], "peds-cardiology");
    assert_int_equal(out.expires_at, (NOW_S + 3600) * 1000);
    free(tok);
    free(payload);
    json_decref(c);
    /* A clinician may carry specialties too. */
    expect_free(a, claims_token(with(base_claims(), "role", json_string("clinician"))), CS_OK,
                NULL);
    cs_auth_free(a);
}

/* ---- configuration -------------------------------------------------------- */

static void test_new_secret(void **state)
{
    (void)state;
    cs_auth_config_t cfg = {.hs256_secret = SECRET, .hs256_secret_len = 31};
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.hs256_secret_len = 0;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.hs256_secret_len = 32;
    assert_int_equal(new_err(&cfg), CS_OK);
    assert_null(cs_auth_new(NULL, NULL));
    int err = 0;
    assert_null(cs_auth_new(NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    /* No key at all. */
    cs_auth_config_t none = {.issuer = "x"};
    assert_int_equal(new_err(&none), CS_EINVAL);
    /* Leeway must be sane. */
    cfg.leeway_ms = -1;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.leeway_ms = 86400001;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    cfg.leeway_ms = 86400000;
    assert_int_equal(new_err(&cfg), CS_OK);
    /* The secret is copied: the caller may wipe theirs. */
    unsigned char mine[SECRET_LEN];
    memcpy(mine, SECRET, SECRET_LEN);
    cfg.hs256_secret = mine;
    cfg.leeway_ms = 0;
    cs_auth_t *a = cs_auth_new(&cfg, &err);
    assert_non_null(a);
    memset(mine, 0, sizeof mine);
    expect_free(a, claims_token(base_claims()), CS_OK, NULL);
    cs_auth_free(a);
    cs_auth_free(NULL);
}

static void test_new_pem(void **state)
{
    (void)state;
    static const char garbage_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                      "bm90IGEga2V5IGF0IGFsbA==\n"
                                      "-----END PUBLIC KEY-----\n";
    struct {
        const char *pub, *priv;
        int want;
    } cases[] = {
        {keys.pub, NULL, CS_OK},
        {NULL, keys.priv, CS_OK},
        {keys.pub, keys.priv, CS_OK},
        {garbage_pem, NULL, CS_EINVAL},
        {"", NULL, CS_EINVAL},
        {"not a pem", NULL, CS_EINVAL},
        {NULL, "not a pem", CS_EINVAL},
        {keys.p384_pub, NULL, CS_EINVAL},    /* wrong curve */
        {keys.ed25519_pub, NULL, CS_EINVAL}, /* not EC */
        {keys.priv, NULL, CS_EINVAL},        /* private where public belongs */
        {NULL, keys.pub, CS_EINVAL},         /* public where private belongs */
        {keys.pub, keys.other_priv, CS_EINVAL}, /* not a pair */
        {NULL, keys.encrypted_priv, CS_EINVAL}, /* refused, never prompts */
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        cs_auth_config_t cfg = {.es256_public_pem = cases[i].pub,
                                .es256_private_pem = cases[i].priv};
        if (new_err(&cfg) != cases[i].want)
            fail_msg("case %zu: wanted %d", i, cases[i].want);
    }
    /* A bad PEM fails even when the HS256 secret is fine. */
    cs_auth_config_t cfg = {.hs256_secret = SECRET,
                            .hs256_secret_len = SECRET_LEN,
                            .es256_public_pem = garbage_pem};
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    /* A PEM with a truncated body. */
    char *cut = strndup(keys.pub, strlen(keys.pub) / 2);
    cfg.es256_public_pem = cut;
    assert_int_equal(new_err(&cfg), CS_EINVAL);
    free(cut);
}

/* ---- minting -------------------------------------------------------------- */

static void test_mint_unsupported(void **state)
{
    (void)state;
    cs_auth_t *hs = hs_auth();
    cs_auth_t *pub_only = make_auth(NULL, keys.pub, NULL, NULL, NULL, 0);
    cs_identity_t id = specialist();
    char *tok = (char *)"unset";
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "ES256", &tok), CS_EUNSUPPORTED);
    assert_null(tok);
    assert_int_equal(cs_auth_mint(pub_only, &id, NOW, 60000, "ES256", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(pub_only, &id, NOW, 60000, "HS256", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "none", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "hs256", &tok), CS_EUNSUPPORTED);
    assert_int_equal(cs_auth_mint(hs, &id, NOW, 60000, "HS512", &tok), CS_EUNSUPPORTED);
    assert_null(tok);
    cs_auth_free(hs);
    cs_auth_free(pub_only);
}

static void test_mint_invalid(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char *tok = NULL;
    cs_identity_t id = specialist();
    assert_int_equal(cs_auth_mint(a, &id, NOW, 0, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, -5, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, -1, 60000, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, INT64_MAX, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, NULL, NOW, 60000, "HS256", &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, NULL, &tok), CS_EINVAL);
    assert_int_equal(cs_auth_mint(a, &id, NOW, 60000, "HS256", NULL), CS_EINVAL);
    assert_int_equal(cs_auth_mint(NULL, &id, NOW, 60000, "HS256", &tok), CS_EINVAL);
    assert_null(tok);

    /* Never mint what verify would refuse. */
    cs_identity_t bad[8];
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++)
        bad[i] = specialist();
    bad[0].subject[0] = '\0';
    bad[1].name[0] = '\0';
    strcpy(bad[2].tenant, "North");
    bad[3].n_specialties = 0;
    bad[4].n_specialties = CS_MAX_SPECIALTIES + 1;
    strcpy(bad[5].specialties[1], "bad slug");
    bad[6].role = CS_ROLE_COUNT;
    memset(bad[7].name, 'a', sizeof bad[7].name); /* not NUL-terminated */
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++) {
        if (cs_auth_mint(a, &bad[i], NOW, 60000, "HS256", &tok) != CS_EINVAL)
            fail_msg("identity %zu was minted", i);
        assert_null(tok);
    }
    /* Longest fields and most specialties still fit and verify. */
    cs_identity_t big = specialist(), out;
    memset(big.subject, 'x', CS_SUBJECT_MAX - 1);
    memset(big.name, '"', CS_NAME_MAX - 1); /* each escaped in JSON */
    memset(big.tenant, 't', CS_TENANT_MAX - 1);
    for (int i = 0; i < CS_MAX_SPECIALTIES; i++) {
        memset(big.specialties[i], 'a' + i, CS_SPECIALTY_MAX - 1);
        big.specialties[i][CS_SPECIALTY_MAX - 1] = '\0';
    }
    big.n_specialties = CS_MAX_SPECIALTIES;
    assert_int_equal(cs_auth_mint(a, &big, NOW, 60000, "HS256", &tok), CS_OK);
    assert_int_equal(cs_auth_verify(a, tok, NOW, &out, NULL), CS_OK);
    assert_same_identity(&out, &big, NOW + 60000);
    free(tok);
    cs_auth_free(a);
}

static void test_verify_args(void **state)
{
    (void)state;
    cs_auth_t *a = hs_auth();
    char *tok = claims_token(base_claims());
    cs_identity_t id;
    const char *why = NULL;
    assert_int_equal(cs_auth_verify(NULL, tok, NOW, &id, &why), CS_EINVAL);
    assert_non_null(why);
    assert_int_equal(cs_auth_verify(a, tok, NOW, NULL, &why), CS_EINVAL);
    /* why is optional. */
    assert_int_equal(cs_auth_verify(a, tok, NOW, &id, NULL), CS_OK);
    assert_int_equal(cs_auth_verify(a, "x", NOW, &id, NULL), CS_EAUTH);
    free(tok);
    cs_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_hs256),
        cmocka_unit_test(test_roundtrip_es256),
        cmocka_unit_test(test_roundtrip_every_role),
        cmocka_unit_test(test_roundtrip_hand_built),
        cmocka_unit_test(test_new_secret),
        cmocka_unit_test(test_new_pem),
        cmocka_unit_test(test_mint_unsupported),
        cmocka_unit_test(test_mint_invalid),
        cmocka_unit_test(test_verify_args),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
