/*
 * document_fixture.h — one realistic signed conclusion as a cs_document_t, in
 * Russian, for the tests of the PDF and FHIR renderings: a routed cardiology
 * consult with a clinician, the specialist, an interpreter and the patient.
 */
#ifndef CS_TEST_DOCUMENT_FIXTURE_H
#define CS_TEST_DOCUMENT_FIXTURE_H

#include <string.h>

#include "common/common.h"
#include "gateway/document/document.h"

#define FIXTURE_T0 1795339800000LL /* 2026-11-22T09:30:00.000Z */

static void fixture_participant(cs_consult_t *c, const char *subject, const char *tenant,
                                const char *name, cs_role_t role, int64_t joined, int64_t left)
{
    cs_participant_t *p = &c->participants[c->n_participants++];
    cs_strlcpy(p->subject, subject, sizeof p->subject);
    cs_strlcpy(p->tenant, tenant, sizeof p->tenant);
    cs_strlcpy(p->name, name, sizeof p->name);
    p->role = role;
    p->joined_at = joined;
    p->left_at = left;
}

static void fixture_document(cs_document_t *d)
{
    memset(d, 0, sizeof *d);
    cs_strlcpy(d->id, "5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80", sizeof d->id);
    cs_strlcpy(d->language, "ru", sizeof d->language);
    cs_strlcpy(d->identifier_base, "urn:consilium", sizeof d->identifier_base);

    cs_consult_t *c = &d->consult;
    cs_strlcpy(c->id, "0f6c2a9e-7b1d-4e8a-b3c5-2d4f6a8b9c01", sizeof c->id);
    cs_strlcpy(c->tenant, "district-7", sizeof c->tenant);
    cs_strlcpy(c->routed_to, "regional-centre", sizeof c->routed_to);
    cs_strlcpy(c->patient.id, "SNILS 112-233-445 95", sizeof c->patient.id);
    cs_strlcpy(c->patient.name, "Иван Петрович Сидоров", sizeof c->patient.name);
    cs_strlcpy(c->patient.birth_date, "1956-03-02", sizeof c->patient.birth_date);
    cs_strlcpy(c->specialty, "cardiology", sizeof c->specialty);
    c->urgency = CS_URGENCY_EMERGENCY;
    c->mode = CS_MODE_REALTIME;
    cs_strlcpy(c->reason, "Боль за грудиной 40 минут, подъём ST в V1–V4. Нужна помощь с тактикой.",
               sizeof c->reason);
    c->state = CS_STATE_ENDED;
    cs_strlcpy(c->clinician, "dr-petrova", sizeof c->clinician);
    cs_strlcpy(c->clinician_name, "Анна Петрова", sizeof c->clinician_name);
    cs_strlcpy(c->specialist, "dr-ivanov", sizeof c->specialist);
    cs_strlcpy(c->specialist_tenant, "regional-centre", sizeof c->specialist_tenant);
    cs_strlcpy(c->specialist_name, "Сергей Иванов", sizeof c->specialist_name);
    c->created_at = FIXTURE_T0 - 600000;
    c->accepted_at = FIXTURE_T0 - 300000;
    c->started_at = FIXTURE_T0;
    c->ended_at = FIXTURE_T0 + 1500000;
    c->updated_at = c->ended_at;
    fixture_participant(c, "dr-petrova", "district-7", "Анна Петрова", CS_ROLE_CLINICIAN,
                        FIXTURE_T0, FIXTURE_T0 + 1500000);
    fixture_participant(c, "dr-ivanov", "regional-centre", "Сергей Иванов", CS_ROLE_SPECIALIST,
                        FIXTURE_T0 + 20000, FIXTURE_T0 + 1500000);
    fixture_participant(c, "guest-1a2b", "district-7", "Мария Ким", CS_ROLE_INTERPRETER,
                        FIXTURE_T0 + 60000, FIXTURE_T0 + 1400000);
    fixture_participant(c, "guest-3c4d", "district-7", "Иван Петрович Сидоров", CS_ROLE_PATIENT,
                        FIXTURE_T0 + 30000, FIXTURE_T0 + 1500000);

    cs_conclusion_t *k = &d->conclusion;
    cs_strlcpy(k->consult_id, c->id, sizeof k->consult_id);
    k->summary.status = CS_CONCLUSION_SIGNED;
    k->summary.version = 3;
    k->summary.updated_at = FIXTURE_T0 + 1800000;
    k->summary.signed_at = FIXTURE_T0 + 1800000;
    cs_strlcpy(k->summary.author, "dr-ivanov", sizeof k->summary.author);
    cs_strlcpy(k->summary.author_tenant, "regional-centre", sizeof k->summary.author_tenant);
    cs_strlcpy(k->summary.author_name, "Сергей Иванов", sizeof k->summary.author_name);
    cs_strlcpy(k->findings,
               "ЭКГ: синусовый ритм 92 в минуту, подъём сегмента ST 3 мм в отведениях V1–V4.\n"
               "АД 150/90 мм рт. ст., ЧСС 92. Тропонин I 2,4 нг/мл.",
               sizeof k->findings);
    cs_strlcpy(k->diagnosis_code, "I21.0", sizeof k->diagnosis_code);
    cs_strlcpy(k->diagnosis_text, "Острый трансмуральный инфаркт передней стенки миокарда",
               sizeof k->diagnosis_text);
    cs_strlcpy(k->recommendations,
               "1. Тромболизис на месте (тенектеплаза по весу), если перевод в ЧКВ-центр дольше 120 минут.\n"
               "2. Аспирин 250 мг разжевать, клопидогрел 300 мг.\n"
               "3. Перевод в региональный сосудистый центр санавиацией.",
               sizeof k->recommendations);
}

#endif
