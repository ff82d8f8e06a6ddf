/*
 * test_proto_notes.c — the wire format of chat, attachments and conclusions:
 * chat.send / chat.history / conclusion.save / conclusion.sign /
 * conclusion.get and consult.request's attachments decode with every bound
 * checked; messages, histories, conclusions and the consult's new fields
 * encode as docs/PROTOCOL.md shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
#define A1 "\"3f2a9c1e-0000-4000-8000-000000000001\""
#define A2 "\"3f2a9c1e-0000-4000-8000-000000000002\""
#define DIAG(code, text) "\"diagnosis\":{\"code\":\"" code "\",\"text\":\"" text "\"}"

static void refused(const char *json, const char *field)
{
    assert_int_equal(decode(json), CS_EINVAL);
    assert_string_equal(err.field, field);
}

static void test_chat_send(void **state)
{
    (void)state;
    assert_int_equal(decode("{\"type\":\"chat.send\"," ID ",\"text\":\"line 1\\nline 2\"}"), CS_OK);
    assert_int_equal(msg.type, CS_MSG_CHAT_SEND);
    assert_string_equal(msg.u.chat_send.text, "line 1\nline 2");
    assert_int_equal(msg.u.chat_send.n_attachments, 0);
    /* attachments alone, text absent or empty */
    assert_int_equal(decode("{\"type\":\"chat.send\"," ID ",\"attachments\":[" A1 "," A2 "]}"), CS_OK);
    assert_int_equal(msg.u.chat_send.n_attachments, 2);
    assert_string_equal(msg.u.chat_send.attachments[1], "3f2a9c1e-0000-4000-8000-000000000002");
    assert_int_equal(decode("{\"type\":\"chat.send\"," ID ",\"text\":\"\",\"attachments\":[" A1 "]}"), CS_OK);

    refused("{\"type\":\"chat.send\"," ID "}", "text");
    refused("{\"type\":\"chat.send\"," ID ",\"text\":\"\"}", "text");
    refused("{\"type\":\"chat.send\"," ID ",\"text\":5}", "text");
    refused("{\"type\":\"chat.send\"," ID ",\"text\":\"a\\u0001b\"}", "text");
    refused("{\"type\":\"chat.send\"," ID ",\"text\":\"x\",\"attachments\":" A1 "}", "attachments");
    refused("{\"type\":\"chat.send\"," ID ",\"text\":\"x\",\"attachments\":[\"../../etc/passwd\"]}",
            "attachments");
    refused("{\"type\":\"chat.send\"," ID ",\"text\":\"x\",\"attachments\":[" A1 "," A1 "]}",
            "attachments");
    refused("{\"type\":\"chat.send\"," ID ",\"attachments\":[" A1 "," A2 "," A1 "," A2 "," A1 "]}",
            "attachments");

    /* 4,000 bytes fit, 4,001 do not */
    char *big = malloc(CS_CHAT_TEXT_MAX + 128);
    assert_non_null(big);
    for (int len = CS_CHAT_TEXT_MAX - 1; len <= CS_CHAT_TEXT_MAX; len++) {
        int n = snprintf(big, 128, "{\"type\":\"chat.send\"," ID ",\"text\":\"");
        memset(big + n, 'a', (size_t)len);
        strcpy(big + n + len, "\"}");
        if (len < CS_CHAT_TEXT_MAX)
            assert_int_equal(decode(big), CS_OK);
        else
            refused(big, "text");
    }
    free(big);
}

static void test_chat_history(void **state)
{
    (void)state;
    assert_int_equal(decode("{\"type\":\"chat.history\"," ID "}"), CS_OK);
    assert_int_equal(msg.type, CS_MSG_CHAT_HISTORY);
    assert_int_equal(msg.u.chat_history.before_seq, 0);
    assert_int_equal(decode("{\"type\":\"chat.history\"," ID ",\"before_seq\":201}"), CS_OK);
    assert_int_equal(msg.u.chat_history.before_seq, 201);
    refused("{\"type\":\"chat.history\"," ID ",\"before_seq\":0}", "before_seq");
    refused("{\"type\":\"chat.history\"," ID ",\"before_seq\":\"5\"}", "before_seq");
    refused("{\"type\":\"chat.history\",\"consult_id\":\"x\"}", "consult_id");
}

static void test_request_attachments(void **state)
{
    (void)state;
    const char *base = "{\"type\":\"consult.request\",\"patient\":{\"id\":\"p\",\"name\":\"n\","
                       "\"birth_date\":\"1950-01-01\"},\"specialty\":\"cardiology\","
                       "\"urgency\":\"urgent\",\"reason\":\"r\"";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s}", base);
    assert_int_equal(decode(buf), CS_OK);
    assert_int_equal(msg.u.request.n_attachments, 0);
    snprintf(buf, sizeof buf, "%s,\"attachments\":[" A1 "]}", base);
    assert_int_equal(decode(buf), CS_OK);
    assert_int_equal(msg.u.request.n_attachments, 1);
    snprintf(buf, sizeof buf, "%s,\"attachments\":[" A1 "," A2 "," A1 "," A2 "," A1 "," A2 "," A1
                              "," A2 "," A1 "]}", base);
    refused(buf, "attachments");
    snprintf(buf, sizeof buf, "%s,\"attachments\":[1]}", base);
    refused(buf, "attachments");
}

static void test_conclusion_save(void **state)
{
    (void)state;
    assert_int_equal(decode("{\"type\":\"conclusion.save\"," ID ",\"findings\":\"ST up\\nV2-V4\","
                            DIAG("I21.0", "Acute MI") ",\"recommendations\":\"PCI\"}"), CS_OK);
    assert_int_equal(msg.type, CS_MSG_CONCLUSION_SAVE);
    assert_string_equal(msg.u.conclusion_save.draft.findings, "ST up\nV2-V4");
    assert_string_equal(msg.u.conclusion_save.draft.diagnosis_code, "I21.0");
    assert_string_equal(msg.u.conclusion_save.draft.diagnosis_text, "Acute MI");
    assert_string_equal(msg.u.conclusion_save.draft.recommendations, "PCI");
    /* an empty draft is a draft */
    assert_int_equal(decode("{\"type\":\"conclusion.save\"," ID ",\"findings\":\"\"," DIAG("", "")
                            ",\"recommendations\":\"\"}"), CS_OK);

    static const char *const bad_codes[] = {"i21", "I2", "I21.000", "21.0", "I21.", "II1", "I21-0"};
    char buf[512];
    for (size_t i = 0; i < CS_ARRAY_LEN(bad_codes); i++) {
        snprintf(buf, sizeof buf, "{\"type\":\"conclusion.save\"," ID ",\"findings\":\"f\","
                 "\"diagnosis\":{\"code\":\"%s\",\"text\":\"t\"},\"recommendations\":\"r\"}",
                 bad_codes[i]);
        refused(buf, "diagnosis.code");
    }
    refused("{\"type\":\"conclusion.save\"," ID "," DIAG("I21", "t") ",\"recommendations\":\"r\"}",
            "findings");
    refused("{\"type\":\"conclusion.save\"," ID ",\"findings\":\"f\"," DIAG("I21", "t") "}",
            "recommendations");
    refused("{\"type\":\"conclusion.save\"," ID ",\"findings\":\"f\",\"recommendations\":\"r\"}",
            "diagnosis");
    refused("{\"type\":\"conclusion.save\"," ID ",\"findings\":\"f\",\"diagnosis\":{\"code\":\"I21\"},"
            "\"recommendations\":\"r\"}", "diagnosis.text");
    refused("{\"type\":\"conclusion.save\"," ID ",\"findings\":\"f\",\"diagnosis\":{\"code\":\"I21\","
            "\"text\":\"a\\nb\"},\"recommendations\":\"r\"}", "diagnosis.text");
}

static void test_conclusion_sign_and_get(void **state)
{
    (void)state;
    assert_int_equal(decode("{\"type\":\"conclusion.sign\"," ID ",\"version\":3}"), CS_OK);
    assert_int_equal(msg.type, CS_MSG_CONCLUSION_SIGN);
    assert_int_equal(msg.u.conclusion_sign.version, 3);
    refused("{\"type\":\"conclusion.sign\"," ID "}", "version");
    refused("{\"type\":\"conclusion.sign\"," ID ",\"version\":0}", "version");
    refused("{\"type\":\"conclusion.sign\"," ID ",\"version\":1.5}", "version");
    refused("{\"type\":\"conclusion.sign\"," ID ",\"version\":99999999999}", "version");
    assert_int_equal(decode("{\"type\":\"conclusion.get\"," ID "}"), CS_OK);
    assert_int_equal(msg.type, CS_MSG_CONCLUSION_GET);
}

static void test_icd10(void **state)
{
    (void)state;
    assert_true(cs_icd10_valid("I21"));
    assert_true(cs_icd10_valid("I21.0"));
    assert_true(cs_icd10_valid("S72.00"));
    assert_false(cs_icd10_valid(""));
    assert_false(cs_icd10_valid("I21.0 "));
    assert_false(cs_icd10_valid(NULL));
    assert_true(cs_attachment_type_allowed("application/pdf"));
    assert_false(cs_attachment_type_allowed("text/html"));
}

static json_t *parsed(char *text)
{
    assert_non_null(text);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

static void test_encode_notes(void **state)
{
    (void)state;
    cs_chat_message_t m;
    memset(&m, 0, sizeof m);
    strcpy(m.id, "c81d0000-0000-4000-8000-000000000000");
    strcpy(m.consult_id, "9b2c1f7e-3d0a-4c55-8e0b-0f3a6f1d2c44");
    m.seq = 3;
    m.at = 1763800123000;
    strcpy(m.from, "petrova");
    strcpy(m.from_name, "Фельдшер Анна Петрова");
    m.from_role = CS_ROLE_CLINICIAN;
    strcpy(m.text, "ECG \"14:05\"");
    m.n_attachments = 1;
    strcpy(m.attachments[0].id, "3f2a9c1e-0000-4000-8000-000000000001");
    strcpy(m.attachments[0].name, "ECG.png");
    strcpy(m.attachments[0].type, "image/png");
    m.attachments[0].size = 183422;
    json_t *j = parsed(cs_proto_encode_chat_message(&m));
    assert_string_equal(json_string_value(json_object_get(j, "type")), "chat.message");
    json_t *jm = json_object_get(j, "message");
    assert_int_equal(json_integer_value(json_object_get(jm, "seq")), 3);
    assert_string_equal(json_string_value(json_object_get(jm, "text")), "ECG \"14:05\"");
    assert_string_equal(json_string_value(json_object_get(json_object_get(jm, "from"), "role")),
                        "clinician");
    json_t *att = json_array_get(json_object_get(jm, "attachments"), 0);
    assert_int_equal(json_integer_value(json_object_get(att, "size")), 183422);
    json_decref(j);

    j = parsed(cs_proto_encode_chat_history("h1", m.consult_id, &m, 1));
    assert_string_equal(json_string_value(json_object_get(j, "id")), "h1");
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 1);
    json_decref(j);

    cs_conclusion_t *k = calloc(1, sizeof *k);
    assert_non_null(k);
    strcpy(k->consult_id, m.consult_id);
    k->summary.status = CS_CONCLUSION_DRAFT;
    k->summary.version = 2;
    k->summary.updated_at = 1763800900000;
    strcpy(k->summary.author, "ivanova");
    strcpy(k->summary.author_name, "Dr Elena Ivanova");
    strcpy(k->diagnosis_code, "I21.0");
    strcpy(k->findings, "f");
    j = parsed(cs_proto_encode_conclusion("g", m.consult_id, k));
    json_t *jk = json_object_get(j, "conclusion");
    assert_string_equal(json_string_value(json_object_get(jk, "status")), "draft");
    assert_int_equal(json_integer_value(json_object_get(jk, "version")), 2);
    assert_true(json_is_null(json_object_get(jk, "signed_at")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(jk, "diagnosis"), "code")), "I21.0");
    json_decref(j);
    j = parsed(cs_proto_encode_conclusion("g", m.consult_id, NULL));
    assert_true(json_is_null(json_object_get(j, "conclusion")));
    json_decref(j);

    /* The consult carries its attachments and the conclusion's summary. */
    cs_consult_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    strcpy(c->id, m.consult_id);
    c->n_attachments = 1;
    c->attachments[0] = m.attachments[0];
    j = parsed(cs_proto_encode_ok_with("r", c, NULL, k));
    json_t *jc = json_object_get(j, "consult");
    assert_int_equal(json_array_size(json_object_get(jc, "attachments")), 1);
    assert_true(json_is_null(json_object_get(jc, "conclusion")));
    assert_non_null(json_object_get(j, "conclusion"));
    assert_null(json_object_get(j, "message"));
    json_decref(j);
    c->conclusion = k->summary;
    c->conclusion.status = CS_CONCLUSION_SIGNED;
    c->conclusion.signed_at = 1763801000000;
    j = parsed(cs_proto_encode_consult("consult.updated", c));
    jc = json_object_get(json_object_get(j, "consult"), "conclusion");
    assert_string_equal(json_string_value(json_object_get(jc, "status")), "signed");
    assert_int_equal(json_integer_value(json_object_get(jc, "signed_at")), 1763801000000);
    assert_string_equal(json_string_value(json_object_get(json_object_get(jc, "author"), "name")),
                        "Dr Elena Ivanova");
    assert_null(json_object_get(jc, "findings")); /* the text goes only with conclusion.get */
    json_decref(j);
    free(c);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_send),
        cmocka_unit_test(test_chat_history),
        cmocka_unit_test(test_request_attachments),
        cmocka_unit_test(test_conclusion_save),
        cmocka_unit_test(test_conclusion_sign_and_get),
        cmocka_unit_test(test_icd10),
        cmocka_unit_test(test_encode_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
