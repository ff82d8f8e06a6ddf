/*
 * test_proto.c — the signalling wire format: every client message decodes,
 * every malformed one is refused naming the field, and the server's messages
 * encode to the JSON docs/PROTOCOL.md shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/common.h"
#include "signaling/proto/proto.h"

static cs_msg_t msg;
static cs_proto_error_t err;

static int decode(const char *json)
{
    return cs_proto_decode(json, strlen(json), &msg, &err);
}

#define ID "\"consult_id\":\"9b2c1f7e-3d0a-4c55-8e0b-0f3a6f1d2c44\""

static void test_every_message_decodes(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        cs_msg_type_t type;
    } ok[] = {
        {"{\"type\":\"hello\",\"token\":\"a.b.c\"}", CS_MSG_HELLO},
        {"{\"type\":\"hello\",\"invite\":\"abcd\"}", CS_MSG_HELLO},
        {"{\"type\":\"ping\"}", CS_MSG_PING},
        {"{\"type\":\"sync\",\"extra\":[1,2]}", CS_MSG_SYNC},
        {"{\"type\":\"presence.set\",\"status\":\"busy\"}", CS_MSG_PRESENCE_SET},
        {"{\"type\":\"consult.cancel\"," ID "}", CS_MSG_CONSULT_CANCEL},
        {"{\"type\":\"consult.accept\"," ID "}", CS_MSG_CONSULT_ACCEPT},
        {"{\"type\":\"consult.decline\"," ID "}", CS_MSG_CONSULT_DECLINE},
        {"{\"type\":\"consult.assign\"," ID ",\"specialist\":\"iv\"}", CS_MSG_CONSULT_ASSIGN},
        {"{\"type\":\"consult.route\"," ID ",\"tenant\":\"vologda\"}", CS_MSG_CONSULT_ROUTE},
        {"{\"type\":\"consult.invite\"," ID ",\"role\":\"patient\",\"name\":\"I\"}", CS_MSG_CONSULT_INVITE},
        {"{\"type\":\"consult.join\"," ID "}", CS_MSG_CONSULT_JOIN},
        {"{\"type\":\"consult.leave\"," ID "}", CS_MSG_CONSULT_LEAVE},
        {"{\"type\":\"consult.end\"," ID "}", CS_MSG_CONSULT_END},
        {"{\"type\":\"consult.history\"," ID "}", CS_MSG_CONSULT_HISTORY},
        {"{\"type\":\"media.offer\"," ID ",\"sdp\":\"v=0\\r\\n\"}", CS_MSG_MEDIA_OFFER},
        {"{\"type\":\"media.candidate\"," ID ",\"candidate\":\"\"}", CS_MSG_MEDIA_CANDIDATE},
        {"{\"type\":\"media.leave\"," ID "}", CS_MSG_MEDIA_LEAVE},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(ok); i++) {
        assert_int_equal(decode(ok[i].json), CS_OK);
        assert_int_equal(msg.type, ok[i].type);
    }
}

static void test_request_fields(void **state)
{
    (void)state;
    assert_int_equal(decode("{\"type\":\"consult.request\",\"id\":\"r1\",\"patient\":{\"id\":\"P1\","
                            "\"name\":\"Иван Сидоров\",\"birth_date\":\"1956-03-02\"},"
                            "\"specialty\":\"cardiology\",\"urgency\":\"emergency\","
                            "\"reason\":\"line one\\nline two\"}"),
                     CS_OK);
    assert_string_equal(msg.req_id, "r1");
    assert_string_equal(msg.u.request.patient.name, "Иван Сидоров");
    assert_int_equal(msg.u.request.urgency, CS_URGENCY_EMERGENCY);
    assert_int_equal(msg.u.request.mode, CS_MODE_REALTIME);
    assert_string_equal(msg.u.request.reason, "line one\nline two");
}

static void expect_field(const char *json, const char *field)
{
    assert_int_equal(decode(json), CS_EINVAL);
    assert_string_equal(err.field, field);
}

static void expect_invalid(const char *json, int code, const char *needle)
{
    assert_int_equal(decode(json), code);
    assert_int_equal(err.code, code);
    if (needle && !strstr(err.message, needle))
        fail_msg("'%s' does not mention '%s'", err.message, needle);
}

static void test_media_fields(void **state)
{
    (void)state;
    assert_int_equal(decode("{\"type\":\"media.offer\"," ID ",\"sdp\":\"v=0\\r\\na=x\\r\\n\","
                            "\"sources\":{\"0\":\"microphone\",\"1\":\"camera\",\"2\":\"screen\"}}"),
                     CS_OK);
    assert_string_equal(msg.u.media_offer.sdp, "v=0\r\na=x\r\n");
    assert_int_equal(msg.u.media_offer.n_sources, 3);
    assert_string_equal(msg.u.media_offer.sources[1].mid, "1");
    assert_int_equal(msg.u.media_offer.sources[2].source, CS_SOURCE_SCREEN);
    expect_field("{\"type\":\"media.offer\"," ID "}", "sdp");
    expect_field("{\"type\":\"media.offer\"," ID ",\"sdp\":\"v=0\",\"sources\":[1]}", "sources");
    expect_field("{\"type\":\"media.offer\"," ID ",\"sdp\":\"v=0\",\"sources\":{\"0\":\"tv\"}}",
                 "sources");
    expect_field("{\"type\":\"media.offer\"," ID ",\"sdp\":\"v=0\",\"sources\":{\"\":\"camera\"}}",
                 "sources");
    expect_field("{\"type\":\"media.offer\"," ID ",\"sdp\":\"v=0\\u0001\"}", "sdp");
    expect_field("{\"type\":\"media.candidate\"," ID "}", "candidate");
    expect_field("{\"type\":\"media.candidate\"," ID ",\"candidate\":5}", "candidate");
    /* An SDP longer than the bound is refused, not truncated. */
    size_t cap = CS_OFFER_SDP_MAX + 200;
    char *big = malloc(cap);
    int n = snprintf(big, cap, "{\"type\":\"media.offer\"," ID ",\"sdp\":\"");
    memset(big + n, 'a', CS_OFFER_SDP_MAX);
    strcpy(big + n + CS_OFFER_SDP_MAX, "\"}");
    expect_invalid(big, CS_EINVAL, "sdp");
    free(big);
}

static void test_refusals_name_the_field(void **state)
{
    (void)state;
    expect_invalid("{nope", CS_EINVAL, "malformed");
    expect_invalid("[1,2]", CS_EINVAL, "object");
    expect_invalid("{\"id\":\"x\"}", CS_EINVAL, "type");
    expect_invalid("{\"type\":\"teleport\",\"id\":\"k\"}", CS_EUNSUPPORTED, "unknown");
    assert_string_equal(err.req_id, "k");
    expect_invalid("{\"type\":\"hello\"}", CS_EINVAL, "token");
    expect_invalid("{\"type\":\"hello\",\"token\":\"a\",\"invite\":\"b\"}", CS_EINVAL, "exactly one");
    expect_invalid("{\"type\":\"presence.set\",\"status\":\"offline\"}", CS_EINVAL, "status");
    expect_invalid("{\"type\":\"presence.set\",\"status\":7}", CS_EINVAL, "status");
    expect_invalid("{\"type\":\"consult.accept\",\"consult_id\":\"../../etc\"}", CS_EINVAL, "consult_id");
    expect_invalid("{\"type\":\"consult.route\"," ID ",\"tenant\":\"Vologda\"}", CS_EINVAL, "tenant");
    expect_invalid("{\"type\":\"consult.invite\"," ID ",\"role\":\"coordinator\",\"name\":\"x\"}",
                   CS_EINVAL, "role");
    expect_invalid("{\"type\":\"consult.invite\"," ID ",\"role\":\"patient\"}", CS_EINVAL, "name");
    expect_invalid("{\"type\":\"consult.request\",\"patient\":{\"id\":\"1\",\"name\":\"n\","
                   "\"birth_date\":\"2023-02-29\"},\"specialty\":\"c\",\"urgency\":\"urgent\","
                   "\"reason\":\"r\"}",
                   CS_EINVAL, "birth_date");
    expect_invalid("{\"type\":\"consult.request\",\"patient\":{\"id\":\"1\",\"name\":\"n\","
                   "\"birth_date\":\"2020-02-29\"},\"specialty\":\"c\",\"urgency\":5,\"reason\":\"r\"}",
                   CS_EINVAL, "urgency");
    expect_invalid("{\"type\":\"consult.request\",\"patient\":\"x\"}", CS_EINVAL, "patient");
    expect_invalid("{\"type\":\"ping\",\"id\":\"a\\u0001\"}", CS_EINVAL, "id");
    expect_invalid("{\"type\":\"ping\",\"type\":\"sync\"}", CS_EINVAL, "malformed");
    expect_invalid("{\"type\":\"ping\",\"id\":\"\\u0000\"}", CS_EINVAL, NULL);
    /* A name with a control character, a reason too long, nesting too deep. */
    expect_invalid("{\"type\":\"consult.invite\"," ID ",\"role\":\"patient\",\"name\":\"a\\u0007\"}",
                   CS_EINVAL, "name");
    char *big = malloc(CS_REASON_MAX + 300);
    strcpy(big, "{\"type\":\"consult.request\",\"patient\":{\"id\":\"1\",\"name\":\"n\",\"birth_date\":"
                "\"2020-02-29\"},\"specialty\":\"c\",\"urgency\":\"urgent\",\"reason\":\"");
    size_t n = strlen(big);
    memset(big + n, 'x', CS_REASON_MAX);
    strcpy(big + n + CS_REASON_MAX, "\"}");
    expect_invalid(big, CS_EINVAL, "reason");
    free(big);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(cs_proto_decode(deep, sizeof deep, &msg, &err), CS_EINVAL);
    /* The offending field is named by its full path, for clients to mark it. */
    expect_field("{\"type\":\"consult.request\",\"patient\":{\"name\":\"n\",\"birth_date\":\"2020-02-29\"}}",
                 "patient.id");
    expect_field("{\"type\":\"ping\",\"id\":7}", "id");
    expect_field("{\"type\":\"presence.set\",\"status\":\"x\"}", "status");
    expect_field("{\"id\":\"x\"}", "type");
    assert_int_equal(decode("{nope"), CS_EINVAL);
    assert_string_equal(err.field, "");
    /* Not NUL-terminated input is read only up to its length. */
    const char exact[] = {'{', '}'};
    assert_int_equal(cs_proto_decode(exact, sizeof exact, &msg, &err), CS_EINVAL);
}

static void test_vocabulary(void **state)
{
    (void)state;
    cs_state_t st;
    assert_int_equal(cs_state_parse("in_progress", &st), CS_OK);
    assert_int_equal(st, CS_STATE_IN_PROGRESS);
    assert_string_equal(cs_state_name(CS_STATE_EXPIRED), "expired");
    assert_int_equal(cs_state_parse("In_progress", &st), CS_EINVAL);
    cs_escalation_t esc;
    assert_int_equal(cs_escalation_parse("overdue", &esc), CS_OK);
    assert_int_equal(esc, CS_ESCALATION_OVERDUE);
    assert_int_equal(cs_escalation_parse("late", &esc), CS_EINVAL);
    assert_true(cs_slug_valid("kirov-2", CS_TENANT_MAX));
    assert_false(cs_slug_valid("-kirov", CS_TENANT_MAX));
    assert_false(cs_slug_valid("", CS_TENANT_MAX));
    assert_false(cs_slug_valid("Kirov", CS_TENANT_MAX));
    assert_false(cs_slug_valid("abcd", 4));
    assert_true(cs_date_valid("2000-02-29"));
    assert_false(cs_date_valid("1900-02-29"));
    assert_false(cs_date_valid("2021-13-01"));
    assert_false(cs_date_valid("2021-1-01"));
}

static void test_encode_consult(void **state)
{
    (void)state;
    cs_consult_t c;
    memset(&c, 0, sizeof c);
    strcpy(c.id, "9b2c1f7e-3d0a-4c55-8e0b-0f3a6f1d2c44");
    strcpy(c.tenant, "kirov");
    strcpy(c.patient.name, "Иван \"Ваня\" Сидоров");
    strcpy(c.specialty, "cardiology");
    strcpy(c.clinician, "petrova");
    strcpy(c.clinician_name, "Анна");
    c.state = CS_STATE_OFFERED;
    c.created_at = 1763800000000;
    c.n_participants = 1;
    strcpy(c.participants[0].subject, "petrova");
    strcpy(c.participants[0].tenant, "kirov");
    char *s = cs_proto_encode_consult("consult.updated", &c);
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    assert_non_null(j);
    json_t *cj = json_object_get(j, "consult");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "consult.updated");
    assert_string_equal(json_string_value(json_object_get(cj, "state")), "offered");
    assert_true(json_is_null(json_object_get(cj, "specialist")));
    assert_true(json_is_null(json_object_get(cj, "routed_to")));
    assert_true(json_is_null(json_object_get(cj, "accepted_at")));
    assert_int_equal(json_integer_value(json_object_get(cj, "created_at")), 1763800000000);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cj, "patient"), "name")),
                        "Иван \"Ваня\" Сидоров");
    assert_int_equal(json_array_size(json_object_get(cj, "participants")), 1);
    json_decref(j);
    free(s);
    s = cs_proto_encode_error("r9", CS_ETAKEN, NULL, NULL);
    assert_string_equal(s, "{\"type\":\"error\",\"code\":\"taken\",\"message\":\"already taken by "
                           "someone else\",\"id\":\"r9\"}");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_message_decodes),
        cmocka_unit_test(test_request_fields),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_media_fields),
        cmocka_unit_test(test_vocabulary),
        cmocka_unit_test(test_encode_consult),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
