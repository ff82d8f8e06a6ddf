/*
 * bench_document.c — CPU to render one signed conclusion as a PDF
 * (cs_document_pdf): pango shaping and wrapping the text, laying it out on
 * pages twice (count, then draw), and cairo writing the PDF with its font
 * subset. This happens once per signing, on the signalling thread's side of
 * the outbox, so it bounds how long a signing takes.
 *
 * Renders the Russian fixture (tests/unit/document_fixture.h) N times after
 * one warm-up (the first call loads fontconfig's configuration and the
 * font), then the same with findings and recommendations at their maximum
 * size (several pages). Prints milliseconds per document.
 *
 *   build/bench/bench_document [N]      (default 200)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "gateway/document/document.h"
#include "tests/unit/document_fixture.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Cyrillic words and numbered lines up to nearly the field's size. */
static void fill_note(char *out, size_t cap)
{
    static const char *const words[] = {"давление", "пульс", "динамика", "контроль", "терапия",
                                        "обследование", "повторить", "назначение", "ритм"};
    size_t n = 0;
    for (int w = 0;; w++) {
        char piece[64];
        if (w % 15 == 0)
            snprintf(piece, sizeof piece, "%s%d.", w ? "\n" : "", w / 15 + 1);
        else
            snprintf(piece, sizeof piece, " %s", words[w % CS_ARRAY_LEN(words)]);
        size_t len = strlen(piece);
        if (n + len >= cap)
            break;
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
}

static void run(const char *what, const cs_document_t *d, int n)
{
    unsigned char *pdf = NULL;
    size_t len = 0;
    int rc = cs_document_pdf(d, &pdf, &len); /* warm-up, not timed */
    if (rc != CS_OK) {
        fprintf(stderr, "bench_document: render failed: %s\n", cs_strerror(rc));
        exit(1);
    }
    free(pdf);
    size_t total = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (cs_document_pdf(d, &pdf, &len) != CS_OK) {
            fprintf(stderr, "bench_document: render %d failed\n", i);
            exit(1);
        }
        total += len;
        free(pdf);
    }
    double dt = now_s() - t0;
    printf("document pdf%s: %.2f ms per document (%d documents, %.0f KiB each)\n", what,
           dt * 1000 / n, n, (double)total / n / 1024);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n <= 0)
        n = 200;
    cs_document_t *d = malloc(sizeof *d);
    if (!d)
        return 1;
    fixture_document(d);
    run("", d, n);
    fill_note(d->conclusion.findings, sizeof d->conclusion.findings);
    fill_note(d->conclusion.recommendations, sizeof d->conclusion.recommendations);
    run(" (8000-byte findings and recommendations)", d, n / 4 > 0 ? n / 4 : 1);
    free(d);
    return 0;
}
