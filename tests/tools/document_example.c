/*
 * document_example.c — prints the FHIR R4 transaction Bundle of the test
 * fixture's signed conclusion (tests/unit/document_fixture.h) to stdout, for
 * looking at it and for feeding it to an independent FHIR validator
 * (tests/integration/fhir-bundle.test.js).
 *
 *   build/tools/document_example [--amend] [--in-progress] [--en] [--real-pdf]
 *
 *   --amend        the document is an amendment: it replaces an earlier one
 *   --in-progress  the consult had not ended at signing
 *   --en           the document is in English (patient name in Latin letters)
 *   --real-pdf     attach the PDF cs_document_pdf renders, not a small fake one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway/document/document.h"
#include "tests/unit/document_fixture.h"

/* A few bytes shaped like a PDF: enough for a Bundle, not for a reader. */
static const char FAKE_PDF[] = "%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
                               "1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                               "trailer\n<< /Root 1 0 R >>\n%%EOF\n";

/* The document --amend replaces. */
#define EARLIER_DOCUMENT "2c4e6a80-b1d3-4f57-8e9a-0b1c2d3e4f50"
/* The amendment's own id (an amendment is a new document). */
#define AMENDMENT_DOCUMENT "7d9f1b3c-5e7a-4c2e-9f4b-6a8c0e2f4a6b"

static int usage(void)
{
    fputs("usage: document_example [--amend] [--in-progress] [--en] [--real-pdf]\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    bool amend = false, in_progress = false, english = false, real_pdf = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--amend"))
            amend = true;
        else if (!strcmp(argv[i], "--in-progress"))
            in_progress = true;
        else if (!strcmp(argv[i], "--en"))
            english = true;
        else if (!strcmp(argv[i], "--real-pdf"))
            real_pdf = true;
        else
            return usage();
    }
    (void)fixture_participant; /* the fixture's helper, not needed here */

    static cs_document_t doc;
    fixture_document(&doc);
    if (amend) {
        cs_strlcpy(doc.id, AMENDMENT_DOCUMENT, sizeof doc.id);
        cs_strlcpy(doc.replaces, EARLIER_DOCUMENT, sizeof doc.replaces);
    }
    if (in_progress) {
        doc.consult.state = CS_STATE_IN_PROGRESS;
        doc.consult.ended_at = 0;
        doc.consult.updated_at = doc.conclusion.summary.signed_at;
        for (int i = 0; i < doc.consult.n_participants; i++)
            doc.consult.participants[i].left_at = 0; /* everyone is still in */
    }
    if (english) {
        cs_strlcpy(doc.language, "en", sizeof doc.language);
        cs_strlcpy(doc.consult.patient.name, "Ivan Petrovich Sidorov", sizeof doc.consult.patient.name);
    }

    unsigned char *pdf = (unsigned char *)FAKE_PDF;
    size_t pdf_len = sizeof FAKE_PDF - 1;
    unsigned char *rendered = NULL;
    if (real_pdf) {
        int rc = cs_document_pdf(&doc, &rendered, &pdf_len);
        if (rc != CS_OK) {
            fprintf(stderr, "document_example: cs_document_pdf failed: %s (%s)\n", cs_strerror(rc),
                    cs_errname(rc));
            return 1;
        }
        pdf = rendered;
    }

    char *json = NULL;
    int rc = cs_document_bundle(&doc, pdf, pdf_len, &json);
    free(rendered);
    if (rc != CS_OK) {
        fprintf(stderr, "document_example: cs_document_bundle failed: %s (%s)\n", cs_strerror(rc),
                cs_errname(rc));
        return 1;
    }
    bool ok = puts(json) >= 0 && fflush(stdout) == 0;
    free(json);
    if (!ok) {
        perror("document_example: stdout");
        return 1;
    }
    return 0;
}
