/*
 * test_document_fhir.c — the FHIR R4 transaction Bundle of a signed
 * conclusion (gateway/document/fhir_bundle.c) against docs/RECORDS.md, and the
 * SHA-1 and base64 it is built with (common/hash.c, common/strings.c).
 *
 * The Bundle is parsed back with jansson and checked field by field; the PDF
 * attachment is decoded and hashed with OpenSSL directly, not with the
 * functions under test.
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
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/common.h"
#include "document_fixture.h"
#include "gateway/document/document.h"

/* A fake PDF with zero bytes and high bytes inside: the attachment must keep
 * every one of them. */
static const unsigned char PDF[] = "%PDF-1.5\n%\xe2\xe3\xcf\xd3\n\0\x01\x02\xff\xfe\0 binary\n%%EOF\n";
#define PDF_LEN (sizeof PDF - 1)

#define DOC_ID "5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80"
#define CONSULT_ID "0f6c2a9e-7b1d-4e8a-b3c5-2d4f6a8b9c01"
/* uuid5(bb09711b-a7b0-483a-bdd3-27cad9e1f6a1, "encounter:" DOC_ID), computed
 * with Python's uuid module; likewise "condition:". */
#define HL7 "http://terminology.hl7.org/CodeSystem/"
#define ENCOUNTER_URN "urn:uuid:465e669a-4cec-5f6e-8157-20d0d3bfc466"
#define CONDITION_URN "urn:uuid:cd3c1aab-02e8-5fdd-9a9c-5a944a33a761"

/* ---- helpers --------------------------------------------------------------- */

/* The value at a dotted path ("entry.0.resource.class.code"): numbers index
 * arrays, anything else names a key. NULL when absent. */
static json_t *at(json_t *v, const char *path)
{
    char buf[256];
    cs_strlcpy(buf, path, sizeof buf);
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); v && part; part = strtok_r(NULL, ".", &save)) {
        char *end;
        long i = strtol(part, &end, 10);
        v = *end == '\0' && json_is_array(v) ? json_array_get(v, (size_t)i)
                                             : json_object_get(v, part);
    }
    return v;
}

/* The string at path; fails the test when it is not a string. */
static const char *str(json_t *v, const char *path)
{
    json_t *s = at(v, path);
    if (!json_is_string(s))
        fail_msg("%s is not a string", path);
    return json_string_value(s);
}

#define assert_str(v, path, expected) assert_string_equal(str((v), (path)), (expected))

/* path.system and path.<key> (code of a Coding, value of an Identifier). */
static void assert_system_and(json_t *v, const char *path, const char *key, const char *system,
                              const char *expected)
{
    char p[256];
    snprintf(p, sizeof p, "%s.system", path);
    assert_str(v, p, system);
    snprintf(p, sizeof p, "%s.%s", path, key);
    assert_str(v, p, expected);
}

#define assert_coding(v, path, system, code) assert_system_and((v), (path), "code", (system), (code))
#define assert_ident(v, path, system, value) assert_system_and((v), (path), "value", (system), (value))
#define assert_absent(v, path) assert_null(at((v), (path)))

static char *bundle_text(const cs_document_t *d)
{
    char *text = NULL;
    assert_int_equal(cs_document_bundle(d, PDF, PDF_LEN, &text), CS_OK);
    assert_non_null(text);
    return text;
}

static json_t *bundle(const cs_document_t *d)
{
    char *text = bundle_text(d);
    json_error_t err;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        fail_msg("not JSON: %s", err.text);
    free(text);
    return root;
}

/* The entry of the resource of that type; checks there is exactly one. */
static json_t *entry(json_t *root, const char *type)
{
    json_t *found = NULL, *e;
    size_t i;
    json_array_foreach(json_object_get(root, "entry"), i, e) {
        if (!strcmp(str(e, "resource.resourceType"), type)) {
            assert_null(found);
            found = e;
        }
    }
    assert_non_null(found);
    return found;
}

static json_t *resource(json_t *root, const char *type)
{
    return json_object_get(entry(root, type), "resource");
}

/* base64 as OpenSSL decodes it (EVP_DecodeBlock pads its output with zeros
 * for the '=' padding, which is taken off here). */
static unsigned char *b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    unsigned char *out = malloc(n / 4 * 3 + 1);
    assert_non_null(out);
    int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    assert_true(got >= 0);
    size_t pad = n >= 1 && s[n - 1] == '=' ? (n >= 2 && s[n - 2] == '=' ? 2 : 1) : 0;
    *len = (size_t)got - pad;
    return out;
}

/* ---- common: SHA-1 and base64 ------------------------------------------------ */

/* The SHA-1 of len bytes, in hex. */
static const char *sha1_hex(const void *data, size_t len)
{
    static char h[2 * CS_SHA1_LEN + 1];
    unsigned char md[CS_SHA1_LEN];
    assert_int_equal(cs_sha1(data, len, md), CS_OK);
    for (size_t i = 0; i < sizeof md; i++)
        sprintf(h + 2 * i, "%02x", md[i]);
    return h;
}

static void test_sha1_known_answers(void **state)
{
    (void)state;
    /* RFC 3174 section 7.3, tests 1, 2 and 3, and the empty message. */
    assert_string_equal(sha1_hex("abc", 3), "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *t2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_string_equal(sha1_hex(t2, strlen(t2)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    assert_string_equal(sha1_hex(million, 1000000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(million);
    assert_string_equal(sha1_hex("", 0), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void test_base64_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10. */
    static const char *const vectors[][2] = {
        {"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    char out[16];
    for (size_t i = 0; i < CS_ARRAY_LEN(vectors); i++) {
        size_t n = strlen(vectors[i][0]);
        assert_int_equal(cs_base64_size(n), strlen(vectors[i][1]) + 1);
        assert_int_equal(cs_base64_encode(vectors[i][0], n, out, sizeof out), CS_OK);
        assert_string_equal(out, vectors[i][1]);
    }
    /* The last two characters of the alphabet, and zero bytes. */
    const unsigned char bin[] = {0xfb, 0xff, 0xbf, 0x00, 0x00};
    assert_int_equal(cs_base64_encode(bin, sizeof bin, out, sizeof out), CS_OK);
    assert_string_equal(out, "+/+/AAA=");
    assert_int_equal(cs_base64_encode(NULL, 0, out, 1), CS_OK);
    assert_string_equal(out, "");

    /* Bounded: the exact size fits, one byte less is refused and leaves "". */
    assert_int_equal(cs_base64_encode("foobar", 6, out, 9), CS_OK);
    assert_string_equal(out, "Zm9vYmFy");
    assert_int_equal(cs_base64_encode("foobar", 6, out, 8), CS_ETOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(cs_base64_encode("f", 1, out, 0), CS_ETOOBIG);
    assert_int_equal(cs_base64_size(SIZE_MAX), 0);
    assert_int_equal(cs_base64_size(SIZE_MAX / 4 * 3 - 3), SIZE_MAX / 4 * 4 - 3);

    /* Agrees with OpenSSL on every length around the group boundaries. */
    unsigned char data[64];
    char mine[128], theirs[128];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof data; n++) {
        assert_int_equal(cs_base64_encode(data, n, mine, sizeof mine), CS_OK);
        EVP_EncodeBlock((unsigned char *)theirs, data, (int)n);
        assert_string_equal(mine, theirs);
    }
}

/* ---- identifier systems ------------------------------------------------------ */

static void test_systems(void **state)
{
    (void)state;
    char out[64];
    assert_true(cs_document_system_patient("urn:consilium", "district-7", out, sizeof out));
    assert_string_equal(out, "urn:consilium:district-7:patient");
    assert_true(cs_document_system_user("urn:consilium", "regional-centre", out, sizeof out));
    assert_string_equal(out, "urn:consilium:regional-centre:user");
    assert_true(cs_document_system_consult("urn:consilium", out, sizeof out));
    assert_string_equal(out, "urn:consilium:consult");
    assert_true(cs_document_system_organization("urn:example:ehr", out, sizeof out));
    assert_string_equal(out, "urn:example:ehr:organization");

    /* Exactly fitting, one byte short, and NULL arguments. */
    assert_true(cs_document_system_consult("urn:c", out, sizeof "urn:c:consult"));
    assert_false(cs_document_system_consult("urn:c", out, sizeof "urn:c:consult" - 1));
    assert_string_equal(out, "");
    assert_false(cs_document_system_patient("urn:c", NULL, out, sizeof out));
    assert_false(cs_document_system_user(NULL, "t", out, sizeof out));
    assert_false(cs_document_system_organization("urn:c", NULL, 16));
    assert_false(cs_document_system_organization("urn:c", out, 0));
}

/* ---- the Bundle of the fixture --------------------------------------------------- */

static void check_entry(json_t *root, const char *type, const char *full_url,
                        const char *if_none_exist)
{
    json_t *e = entry(root, type);
    assert_str(e, "fullUrl", full_url);
    assert_str(e, "request.method", "POST");
    assert_str(e, "request.url", type);
    assert_str(e, "request.ifNoneExist", if_none_exist);
}

static void check_patient_ref(json_t *ref)
{
    assert_ident(ref, "identifier", "urn:consilium:district-7:patient", "SNILS 112-233-445 95");
    assert_str(ref, "display", "Иван Петрович Сидоров");
}

static void check_signer_ref(json_t *ref)
{
    assert_ident(ref, "identifier", "urn:consilium:regional-centre:user", "dr-ivanov");
    assert_str(ref, "display", "Сергей Иванов");
}

static void check_participant(json_t *p, const char *code, const char *tenant,
                              const char *subject, const char *name, const char *start,
                              const char *end)
{
    char system[64];
    snprintf(system, sizeof system, "urn:consilium:%s:user", tenant);
    assert_int_equal(json_array_size(at(p, "type")), 1);
    assert_coding(p, "type.0.coding.0", HL7 "v3-ParticipationType", code);
    assert_ident(p, "individual.identifier", system, subject);
    assert_str(p, "individual.display", name);
    assert_str(p, "period.start", start);
    assert_str(p, "period.end", end);
}

static void check_encounter(json_t *root)
{
    json_t *r = resource(root, "Encounter");
    assert_int_equal(json_array_size(at(r, "identifier")), 1);
    assert_ident(r, "identifier.0", "urn:consilium:consult", CONSULT_ID);
    assert_str(r, "status", "finished");
    assert_coding(r, "class", HL7 "v3-ActCode", "VR");
    assert_str(r, "class.display", "virtual");
    assert_str(r, "type.0.text", "cardiology consultation");
    assert_coding(r, "priority.coding.0", HL7 "v3-ActPriority", "EM");
    check_patient_ref(at(r, "subject"));

    /* The clinician, the specialist and the interpreter; not the patient. */
    json_t *parts = at(r, "participant");
    assert_int_equal(json_array_size(parts), 3);
    check_participant(at(parts, "0"), "REF", "district-7", "dr-petrova", "Анна Петрова",
                      "2026-11-22T09:30:00.000Z", "2026-11-22T09:55:00.000Z");
    check_participant(at(parts, "1"), "CON", "regional-centre", "dr-ivanov", "Сергей Иванов",
                      "2026-11-22T09:30:20.000Z", "2026-11-22T09:55:00.000Z");
    check_participant(at(parts, "2"), "TRANS", "district-7", "guest-1a2b", "Мария Ким",
                      "2026-11-22T09:31:00.000Z", "2026-11-22T09:53:20.000Z");
    json_t *p;
    size_t i;
    json_array_foreach(parts, i, p) {
        assert_string_not_equal(str(p, "individual.identifier.value"), "guest-3c4d");
        assert_string_not_equal(str(p, "type.0.coding.0.code"), "PART");
    }

    assert_str(r, "period.start", "2026-11-22T09:30:00.000Z");
    assert_str(r, "period.end", "2026-11-22T09:55:00.000Z");
    assert_str(r, "reasonCode.0.text",
               "Боль за грудиной 40 минут, подъём ST в V1–V4. Нужна помощь с тактикой.");
    assert_ident(r, "serviceProvider.identifier", "urn:consilium:organization", "regional-centre");
    assert_int_equal(json_array_size(at(r, "diagnosis")), 1);
    assert_str(r, "diagnosis.0.condition.reference", CONDITION_URN);
    assert_int_equal(json_integer_value(at(r, "diagnosis.0.rank")), 1);
}

static void check_condition(json_t *root)
{
    json_t *r = resource(root, "Condition");
    assert_ident(r, "identifier.0", "urn:consilium:diagnosis", DOC_ID);
    assert_coding(r, "clinicalStatus.coding.0", HL7 "condition-clinical", "active");
    assert_coding(r, "verificationStatus.coding.0", HL7 "condition-ver-status", "confirmed");
    assert_coding(r, "category.0.coding.0", HL7 "condition-category", "encounter-diagnosis");
    assert_coding(r, "code.coding.0", "http://hl7.org/fhir/sid/icd-10", "I21.0");
    assert_absent(r, "code.coding.0.display"); /* ICD-10's own name is not ours to write */
    assert_str(r, "code.text", "Острый трансмуральный инфаркт передней стенки миокарда");
    check_patient_ref(at(r, "subject"));
    assert_str(r, "encounter.reference", ENCOUNTER_URN);
    assert_str(r, "recordedDate", "2026-11-22T10:00:00.000Z");
    check_signer_ref(at(r, "recorder"));
}

static void check_attachment(json_t *a)
{
    assert_str(a, "contentType", "application/pdf");
    assert_str(a, "language", "ru");
    size_t len;
    unsigned char *bytes = b64_decode(str(a, "data"), &len);
    assert_int_equal(len, PDF_LEN);
    assert_memory_equal(bytes, PDF, PDF_LEN);
    free(bytes);
    assert_int_equal(json_integer_value(at(a, "size")), PDF_LEN);

    unsigned char md[SHA_DIGEST_LENGTH];
    char hash[64];
    SHA1(PDF, PDF_LEN, md);
    EVP_EncodeBlock((unsigned char *)hash, md, sizeof md);
    assert_str(a, "hash", hash);
    assert_str(a, "title", "Заключение консультанта: cardiology, Иван Петрович Сидоров");
    assert_str(a, "creation", "2026-11-22T10:00:00.000Z");
}

static void check_document_reference(json_t *root)
{
    json_t *r = resource(root, "DocumentReference");
    assert_ident(r, "masterIdentifier", "urn:ietf:rfc:3986", "urn:uuid:" DOC_ID);
    assert_str(r, "status", "current");
    assert_str(r, "docStatus", "final");
    assert_coding(r, "type.coding.0", "http://loinc.org", "11488-4");
    assert_str(r, "type.coding.0.display", "Consult note");
    assert_str(r, "category.0.text", "Telemedicine consultation");
    check_patient_ref(at(r, "subject"));
    assert_str(r, "date", "2026-11-22T10:00:00.000Z");
    assert_int_equal(json_array_size(at(r, "author")), 2);
    check_signer_ref(at(r, "author.0"));
    assert_ident(r, "author.1.identifier", "urn:consilium:organization", "regional-centre");
    check_signer_ref(at(r, "authenticator"));
    assert_ident(r, "custodian.identifier", "urn:consilium:organization", "district-7");
    assert_absent(r, "relatesTo");
    assert_true(strlen(str(r, "description")) > 0);
    assert_int_equal(json_array_size(at(r, "content")), 1);
    check_attachment(at(r, "content.0.attachment"));
    assert_int_equal(json_array_size(at(r, "context.encounter")), 1);
    assert_str(r, "context.encounter.0.reference", ENCOUNTER_URN);
    assert_str(r, "context.period.start", "2026-11-22T09:30:00.000Z");
    assert_str(r, "context.period.end", "2026-11-22T09:55:00.000Z");
}

static void test_bundle_fixture(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    json_t *root = bundle(&d);
    assert_str(root, "resourceType", "Bundle");
    assert_str(root, "type", "transaction");
    assert_int_equal(json_array_size(at(root, "entry")), 3);
    /* In the order of RECORDS.md: the encounter, the diagnosis, the document. */
    assert_str(root, "entry.0.resource.resourceType", "Encounter");
    assert_str(root, "entry.1.resource.resourceType", "Condition");
    assert_str(root, "entry.2.resource.resourceType", "DocumentReference");

    check_entry(root, "Encounter", ENCOUNTER_URN,
                "identifier=urn:consilium:consult|" CONSULT_ID);
    check_entry(root, "Condition", CONDITION_URN, "identifier=urn:consilium:diagnosis|" DOC_ID);
    check_entry(root, "DocumentReference", "urn:uuid:" DOC_ID,
                "identifier=urn:ietf:rfc:3986|urn:uuid:" DOC_ID);
    check_encounter(root);
    check_condition(root);
    check_document_reference(root);
    json_decref(root);
}

/* Version-5 UUIDs in lower case, for fullUrls. */
static void check_uuid5_urn(const char *urn)
{
    assert_int_equal(strncmp(urn, "urn:uuid:", 9), 0);
    assert_true(cs_uuid_shaped(urn + 9));
    assert_int_equal(urn[9 + 14], '5');
    assert_non_null(strchr("89ab", urn[9 + 19]));
}

static void test_bundle_deterministic(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    char *a = bundle_text(&d);
    char *b = bundle_text(&d);
    assert_string_equal(a, b);
    /* Compact, and UTF-8 written as is (not \u escapes). */
    assert_null(strstr(a, "\n"));
    assert_null(strstr(a, "\": "));
    assert_non_null(strstr(a, "Иван Петрович Сидоров"));
    free(b);

    /* Another document: other fullUrls, each a version-5 UUID. */
    cs_strlcpy(d.id, "0d2f4b6a-8c0e-4a1b-9c3d-5e7f90a1b2c3", sizeof d.id);
    b = bundle_text(&d);
    assert_string_not_equal(a, b);
    json_t *root = bundle(&d);
    check_uuid5_urn(str(root, "entry.0.fullUrl"));
    check_uuid5_urn(str(root, "entry.1.fullUrl"));
    assert_string_not_equal(str(root, "entry.0.fullUrl"), ENCOUNTER_URN);
    assert_string_not_equal(str(root, "entry.0.fullUrl"), str(root, "entry.1.fullUrl"));
    assert_str(root, "entry.2.fullUrl", "urn:uuid:0d2f4b6a-8c0e-4a1b-9c3d-5e7f90a1b2c3");
    json_decref(root);
    free(a);
    free(b);
}

static void test_bundle_amendment(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    cs_strlcpy(d.replaces, DOC_ID, sizeof d.replaces);
    cs_strlcpy(d.id, "9e8d7c6b-5a49-4382-a170-6f5e4d3c2b1a", sizeof d.id);
    json_t *root = bundle(&d);
    json_t *r = resource(root, "DocumentReference");
    assert_str(r, "docStatus", "amended");
    assert_str(r, "status", "current");
    assert_str(r, "masterIdentifier.value", "urn:uuid:9e8d7c6b-5a49-4382-a170-6f5e4d3c2b1a");
    assert_int_equal(json_array_size(at(r, "relatesTo")), 1);
    assert_str(r, "relatesTo.0.code", "replaces");
    assert_ident(r, "relatesTo.0.target.identifier", "urn:ietf:rfc:3986", "urn:uuid:" DOC_ID);
    /* The same consult: the Encounter is found by the same identifier; a new
     * diagnosis and document. */
    check_entry(root, "DocumentReference", "urn:uuid:9e8d7c6b-5a49-4382-a170-6f5e4d3c2b1a",
                "identifier=urn:ietf:rfc:3986|urn:uuid:9e8d7c6b-5a49-4382-a170-6f5e4d3c2b1a");
    assert_str(entry(root, "Encounter"), "request.ifNoneExist",
               "identifier=urn:consilium:consult|" CONSULT_ID);
    assert_str(entry(root, "Condition"), "request.ifNoneExist",
               "identifier=urn:consilium:diagnosis|9e8d7c6b-5a49-4382-a170-6f5e4d3c2b1a");
    json_decref(root);
}

static void test_bundle_in_progress(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    d.consult.state = CS_STATE_IN_PROGRESS;
    d.consult.ended_at = 0;
    d.consult.participants[0].left_at = 0; /* the clinician is still in */
    json_t *root = bundle(&d);
    json_t *r = resource(root, "Encounter");
    assert_str(r, "status", "in-progress");
    assert_str(r, "period.start", "2026-11-22T09:30:00.000Z");
    assert_absent(r, "period.end");
    assert_str(r, "participant.0.period.start", "2026-11-22T09:30:00.000Z");
    assert_absent(r, "participant.0.period.end");
    json_t *dr = resource(root, "DocumentReference");
    assert_str(dr, "context.period.start", "2026-11-22T09:30:00.000Z");
    assert_absent(dr, "context.period.end");
    json_decref(root);

    /* Accepted but never started: the period starts at acceptance. */
    d.consult.started_at = 0;
    root = bundle(&d);
    assert_str(resource(root, "Encounter"), "period.start", "2026-11-22T09:25:00.000Z");
    json_decref(root);
}

static void test_bundle_roles_and_urgency(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    cs_consult_t *c = &d.consult;
    /* A coordinator and a second specialist joined; someone invited never did. */
    fixture_participant(c, "coord-1", "regional-centre", "Ольга Смирнова", CS_ROLE_COORDINATOR,
                        FIXTURE_T0 + 100000, FIXTURE_T0 + 200000);
    fixture_participant(c, "dr-sokolov", "regional-centre", "Пётр Соколов", CS_ROLE_SPECIALIST,
                        FIXTURE_T0 + 300000, 0);
    fixture_participant(c, "dr-absent", "district-7", "Никто", CS_ROLE_CLINICIAN, 0, 0);
    c->urgency = CS_URGENCY_URGENT;
    json_t *root = bundle(&d);
    json_t *r = resource(root, "Encounter");
    assert_str(r, "priority.coding.0.code", "UR");
    json_t *parts = at(r, "participant");
    assert_int_equal(json_array_size(parts), 5);
    assert_str(parts, "3.type.0.coding.0.code", "PART");
    assert_str(parts, "3.individual.identifier.value", "coord-1");
    assert_str(parts, "4.type.0.coding.0.code", "CON");
    assert_str(parts, "4.individual.identifier.value", "dr-sokolov");
    assert_absent(parts, "4.period.end");
    json_decref(root);

    c->urgency = CS_URGENCY_PLANNED;
    /* A left_at before joined_at (a clock stepped back) would break FHIR's
     * per-1 (start <= end): the end is left out. */
    c->participants[2].left_at = c->participants[2].joined_at - 1000;
    root = bundle(&d);
    assert_str(resource(root, "Encounter"), "priority.coding.0.code", "EL");
    assert_str(resource(root, "Encounter"), "participant.2.period.start", "2026-11-22T09:31:00.000Z");
    assert_absent(resource(root, "Encounter"), "participant.2.period.end");
    json_decref(root);
}

static void test_bundle_english(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    cs_strlcpy(d.language, "en", sizeof d.language);
    cs_strlcpy(d.consult.patient.name, "Ivan Sidorov", sizeof d.consult.patient.name);
    json_t *root = bundle(&d);
    json_t *a = at(resource(root, "DocumentReference"), "content.0.attachment");
    assert_str(a, "language", "en");
    assert_str(a, "title", "Consultant's conclusion: cardiology, Ivan Sidorov");
    json_decref(root);
}

/* Quotes, backslashes, line breaks, tabs, Cyrillic and a non-BMP character
 * come back from a parse exactly as they went in. */
static void test_bundle_text_round_trip(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    const char *reason = "Жалобы: \"давит\" \\ за грудиной\nс 09:00\r\n\tЭКГ → ST↑ 😟 </script>";
    const char *name = "Д'Артаньян \"Шарль\" \\ де Бац";
    const char *diagnosis = "Инфаркт \"передней\" стенки\\\nуточнённый";
    cs_strlcpy(d.consult.reason, reason, sizeof d.consult.reason);
    cs_strlcpy(d.consult.patient.name, name, sizeof d.consult.patient.name);
    cs_strlcpy(d.conclusion.diagnosis_text, diagnosis, sizeof d.conclusion.diagnosis_text);
    json_t *root = bundle(&d);
    assert_str(resource(root, "Encounter"), "reasonCode.0.text", reason);
    assert_str(resource(root, "Encounter"), "subject.display", name);
    assert_str(resource(root, "Condition"), "code.text", diagnosis);
    assert_absent(resource(root, "Condition"), "code.coding.0.display");
    char title[512];
    snprintf(title, sizeof title, "Заключение консультанта: cardiology, %s", name);
    assert_str(resource(root, "DocumentReference"), "content.0.attachment.title", title);
    json_decref(root);
}

/* What is not written: an empty reason, a conclusion without a diagnosis code. */
static void test_bundle_optional_parts(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    d.consult.reason[0] = '\0';
    d.conclusion.diagnosis_code[0] = '\0';
    d.consult.patient.name[0] = '\0';
    json_t *root = bundle(&d);
    assert_absent(resource(root, "Encounter"), "reasonCode");
    assert_absent(resource(root, "Encounter"), "subject.display");
    assert_absent(resource(root, "Condition"), "code.coding");
    assert_str(resource(root, "Condition"), "code.text",
               "Острый трансмуральный инфаркт передней стенки миокарда");
    assert_str(resource(root, "DocumentReference"), "content.0.attachment.title",
               "Заключение консультанта: cardiology");
    json_decref(root);
}

static void expect_invalid(const cs_document_t *d)
{
    static char untouched[] = "untouched";
    char *out = untouched; /* set to NULL on failure */
    assert_int_equal(cs_document_bundle(d, PDF, PDF_LEN, &out), CS_EINVAL);
    assert_null(out);
}

/* A copy of d changed by one statement is refused. */
#define INVALID(change) (bad = d, change, expect_invalid(&bad))

static void test_bundle_invalid(void **state)
{
    (void)state;
    cs_document_t d, bad;
    fixture_document(&d);
    char *out = NULL;
    assert_int_equal(cs_document_bundle(NULL, PDF, PDF_LEN, &out), CS_EINVAL);
    assert_int_equal(cs_document_bundle(&d, NULL, PDF_LEN, &out), CS_EINVAL);
    assert_int_equal(cs_document_bundle(&d, PDF, 0, &out), CS_EINVAL);
    assert_int_equal(cs_document_bundle(&d, PDF, PDF_LEN, NULL), CS_EINVAL);
    assert_null(out);

    INVALID(bad.conclusion.summary.signed_at = 0);
    INVALID(bad.id[0] = '\0');
    INVALID(cs_strlcpy(bad.id, "document-1", sizeof bad.id)); /* not a UUID: no urn:uuid */
    INVALID(cs_strlcpy(bad.replaces, "previous", sizeof bad.replaces));
    INVALID(bad.identifier_base[0] = '\0');
    INVALID(cs_strlcpy(bad.identifier_base, "urn:a|b", sizeof bad.identifier_base));
    INVALID(cs_strlcpy(bad.language, "de", sizeof bad.language));
    INVALID(bad.consult.patient.id[0] = '\0');
    INVALID(cs_strlcpy(bad.consult.reason, "bad \xd0 UTF-8", sizeof bad.consult.reason));
    INVALID(cs_strlcpy(bad.consult.reason, "bell \a", sizeof bad.consult.reason));
    INVALID(memset(bad.consult.patient.name, 'x', sizeof bad.consult.patient.name)); /* no NUL */
    INVALID(bad.conclusion.summary.author[0] = '\0');
    INVALID(bad.consult.participants[1].joined_at = -5);
    INVALID(bad.consult.urgency = CS_URGENCY_COUNT);
    INVALID(bad.consult.n_participants = CS_MAX_PARTICIPANTS + 1);
    INVALID(bad.conclusion.summary.signed_at = 253402300800000LL); /* year 10000 */
}

/* jansson's allocations fail after a budget (-1: never), to walk every
 * failure path of the builders. */
static long alloc_budget = -1;

static void *budget_malloc(size_t n)
{
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(n);
}

/* Whichever allocation fails, the answer is CS_ENOMEM with nothing leaked
 * (the sanitizer build checks) and never a partial Bundle. */
static void test_bundle_out_of_memory(void **state)
{
    (void)state;
    cs_document_t d;
    fixture_document(&d);
    cs_strlcpy(d.replaces, "2c4e6a80-b1d3-4f57-8e9a-0b1c2d3e4f50", sizeof d.replaces);
    char *expected = bundle_text(&d);
    json_set_alloc_funcs(budget_malloc, free);
    long budget;
    for (budget = 0; budget < 100000; budget++) {
        alloc_budget = budget;
        char *out = NULL;
        int rc = cs_document_bundle(&d, PDF, PDF_LEN, &out);
        if (rc == CS_OK) {
            assert_string_equal(out, expected);
            free(out);
            break;
        }
        assert_int_equal(rc, CS_ENOMEM);
        assert_null(out);
    }
    alloc_budget = -1;
    json_set_alloc_funcs(malloc, free);
    assert_true(budget > 50); /* many allocations were made to fail */
    assert_true(budget < 100000);
    free(expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_known_answers),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_systems),
        cmocka_unit_test(test_bundle_fixture),
        cmocka_unit_test(test_bundle_deterministic),
        cmocka_unit_test(test_bundle_amendment),
        cmocka_unit_test(test_bundle_in_progress),
        cmocka_unit_test(test_bundle_roles_and_urgency),
        cmocka_unit_test(test_bundle_english),
        cmocka_unit_test(test_bundle_text_round_trip),
        cmocka_unit_test(test_bundle_optional_parts),
        cmocka_unit_test(test_bundle_invalid),
        cmocka_unit_test(test_bundle_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
