/*
 * test_document_pdf.c — unit tests of the conclusion's PDF (gateway/document/
 * pdf.c), read back the way a person or a record system would: the text
 * poppler's pdftotext extracts, pdfinfo's page count and metadata, a page
 * rasterised by pdftoppm, and the word boxes (pdftotext -bbox) to see that
 * nothing is drawn over the margins or the footer.
 *
 * Covers the fixture in Russian and in English, pagination of findings and
 * recommendations at their maximum size (every line present, page N of M),
 * user text that looks like markup, an amendment, a consult still in
 * progress, broken fields (invalid UTF-8, no NUL, out-of-range enums), and
 * the argument checks. Needs poppler-utils (.ci/install-deps --test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "gateway/document/document.h"
#include "document_fixture.h"

/* The page geometry pdf.c promises: A4, 20 mm margins, footer below. */
#define PAGE_W 595.276
#define PAGE_H 841.890
#define MARGIN 56.693

typedef struct {
    char path[64];     /* the PDF, written to /tmp */
    unsigned char *pdf;
    size_t len;
    char *text;        /* pdftotext -layout, runs of spaces squeezed to one */
} rendered_t;

/* Everything a shell command prints; the command must succeed. */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t got;
    while ((got = fread(s + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            s = realloc(s, cap);
            assert_non_null(s);
        }
    }
    s[n] = '\0';
    int status = pclose(p);
    if (status != 0)
        fail_msg("command failed (%d): %s", status, cmd);
    return s;
}

static void squeeze_spaces(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++)
        if (!(*r == ' ' && w > s && w[-1] == ' '))
            *w++ = *r;
    *w = '\0';
}

static void render(const cs_document_t *d, rendered_t *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(cs_document_pdf(d, &r->pdf, &r->len), CS_OK);
    assert_non_null(r->pdf);
    assert_true(r->len > 1000 && r->len < 4 * 1024 * 1024);
    assert_memory_equal(r->pdf, "%PDF-", 5);
    size_t end = r->len;
    while (end > 0 && (r->pdf[end - 1] == '\n' || r->pdf[end - 1] == '\r'))
        end--;
    assert_true(end >= 5);
    assert_memory_equal(r->pdf + end - 5, "%%EOF", 5);

    strcpy(r->path, "/tmp/cs-test-pdf-XXXXXX");
    int fd = mkstemp(r->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, r->pdf, r->len), (ssize_t)r->len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "pdftotext -layout %s -", r->path);
    r->text = run(cmd);
    squeeze_spaces(r->text);
}

static void done(rendered_t *r)
{
    unlink(r->path);
    free(r->pdf);
    free(r->text);
}

#define assert_has(hay, needle)                                                                    \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("missing \"%s\" in:\n%s", (needle), (hay));                                   \
    } while (0)

#define assert_lacks(hay, needle)                                                                  \
    do {                                                                                           \
        if (strstr((hay), (needle)))                                                               \
            fail_msg("unexpected \"%s\" in:\n%s", (needle), (hay));                                \
    } while (0)

static int pdf_pages(const rendered_t *r, char **info_out)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "pdfinfo %s", r->path);
    char *info = run(cmd);
    const char *p = strstr(info, "\nPages:");
    assert_non_null(p);
    int pages = atoi(p + 7);
    if (info_out)
        *info_out = info;
    else
        free(info);
    return pages;
}

/* Every word lies inside the text area or in the footer band below it, and
 * none crosses the right margin: nothing is cut off or drawn over. */
static void assert_words_inside(const rendered_t *r)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "pdftotext -bbox %s -", r->path);
    char *html = run(cmd);
    int words = 0;
    for (const char *p = html; (p = strstr(p, "<word ")) != NULL; p++) {
        double x0, y0, x1, y1;
        assert_int_equal(sscanf(p, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"", &x0,
                                &y0, &x1, &y1),
                         4);
        bool body = y1 <= PAGE_H - MARGIN + 1, footer = y0 >= PAGE_H - MARGIN + 4;
        if (!(body || footer) || x0 < MARGIN - 1 || x1 > PAGE_W - MARGIN + 1 || y0 < MARGIN - 1 ||
            y1 > PAGE_H - 20)
            fail_msg("word outside the text area: %.80s", p);
        words++;
    }
    assert_true(words > 50);
    free(html);
}

static cs_document_t *fixture(void)
{
    cs_document_t *d = malloc(sizeof *d);
    assert_non_null(d);
    fixture_document(d);
    return d;
}

static void test_fixture_in_russian(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    rendered_t r;
    render(d, &r);
    assert_has(r.text, "Заключение консультанта");
    assert_has(r.text, "Телемедицинская консультация");
    assert_has(r.text, "district-7");
    assert_has(r.text, "regional-centre");
    assert_has(r.text, "Иван Петрович Сидоров");
    assert_has(r.text, "02.03.1956");
    assert_has(r.text, "SNILS 112-233-445 95");
    assert_has(r.text, "экстренная");
    assert_has(r.text, "видеоконсультация");
    assert_has(r.text, "Боль за грудиной 40 минут");
    /* requested 12:20, held 12:30–12:55, signed 13:00 Moscow time */
    assert_has(r.text, "22.11.2026 12:20 (UTC+03:00)");
    assert_has(r.text, "22.11.2026 12:30 – 12:55 (UTC+03:00)");
    assert_has(r.text, "Сергей Иванов");
    assert_has(r.text, "Мария Ким");
    assert_has(r.text, "переводчик");
    assert_has(r.text, "консультант");
    assert_has(r.text, "12:31 – 12:53"); /* the interpreter was there from +1 to +23 min */
    assert_has(r.text, "Данные обследования");
    assert_has(r.text, "Тропонин I 2,4 нг/мл.");
    assert_has(r.text, "Диагноз (МКБ-10)");
    assert_has(r.text, "I21.0");
    assert_has(r.text, "Острый трансмуральный инфаркт");
    assert_has(r.text, "Рекомендации");
    assert_has(r.text, "2. Аспирин 250 мг разжевать, клопидогрел 300 мг.");
    assert_has(r.text, "Подписано электронно: Сергей Иванов (regional-centre), "
                       "22.11.2026 13:00 (UTC+03:00)");
    assert_has(r.text, "Документ: 5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80");
    assert_has(r.text, "Версия: 3");
    assert_has(r.text, "Страница 1 из 1");
    assert_lacks(r.text, "Заменяет документ");
    assert_lacks(r.text, "1970");

    char *info;
    assert_int_equal(pdf_pages(&r, &info), 1);
    assert_has(info, "Заключение консультанта — Иван Петрович Сидоров");
    assert_has(info, "Author:");
    assert_has(info, "Сергей Иванов");
    assert_has(info, "Consilium");
    assert_has(info, "595.276 x 841.89 pts (A4)");
    /* the creation date is the signing time, whenever it is rendered */
    assert_has(info, "Nov 22 13:00:00 2026");
    free(info);
    assert_words_inside(&r);
    done(&r);
    free(d);
}

static void test_page_draws_something(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    rendered_t r;
    render(d, &r);
    char png[80], cmd[256];
    snprintf(png, sizeof png, "%s-page", r.path);
    snprintf(cmd, sizeof cmd, "pdftoppm -r 40 -png -singlefile -f 1 -l 1 %s %s", r.path, png);
    free(run(cmd));
    strcat(png, ".png");
    FILE *f = fopen(png, "rb");
    assert_non_null(f);
    unsigned char head[8];
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    unlink(png);
    assert_true(size > 2048);
    done(&r);
    free(d);
}

static void test_english(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    strcpy(d->language, "en");
    rendered_t r;
    render(d, &r);
    assert_has(r.text, "Consultant's conclusion");
    assert_has(r.text, "Telemedicine consultation");
    assert_has(r.text, "Date of birth 1956-03-02");
    assert_has(r.text, "emergency");
    assert_has(r.text, "video consultation");
    assert_has(r.text, "2026-11-22 12:30 – 12:55 (UTC+03:00)");
    assert_has(r.text, "interpreter");
    assert_has(r.text, "Diagnosis (ICD-10)");
    assert_has(r.text, "Recommendations");
    assert_has(r.text, "Signed electronically: Сергей Иванов (regional-centre), "
                       "2026-11-22 13:00 (UTC+03:00)");
    assert_has(r.text, "Document: 5b0e8c3a-1f2d-4c55-9a7e-3d9f6b2a1c80");
    assert_has(r.text, "Version: 3");
    assert_has(r.text, "Page 1 of 1");
    assert_lacks(r.text, "Страница");
    assert_lacks(r.text, "Заключение");
    done(&r);
    free(d);
}

/* Lines "<tag> N: word word …" up to nearly cap-1 bytes, then `last`.
 * Returns the number of numbered lines. */
static int fill_note(char *out, size_t cap, const char *tag, const char *last)
{
    static const char *const words[] = {"давление", "пульс",      "динамика", "контроль",
                                        "терапия",  "обследование", "повторить", "назначение",
                                        "кардиолог", "ритм",       "сегмент",  "наблюдение"};
    size_t n = 0, reserve = strlen(last) + 2;
    int lines = 0, w = 0;
    char piece[64];
    for (;;) {
        if (w % 17 == 0)
            snprintf(piece, sizeof piece, "%s%s %d:", lines ? "\n" : "", tag, lines + 1);
        else
            snprintf(piece, sizeof piece, " %s", words[w % CS_ARRAY_LEN(words)]);
        if (n + strlen(piece) + reserve > cap - 1)
            break;
        if (w % 17 == 0)
            lines++;
        memcpy(out + n, piece, strlen(piece));
        n += strlen(piece);
        w++;
    }
    n += (size_t)snprintf(out + n, cap - n, " %s", last);
    assert_true(n >= cap - 40 && n <= cap - 1);
    return lines;
}

static void test_long_texts_paginate(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    int findings = fill_note(d->conclusion.findings, sizeof d->conclusion.findings, "запись",
                             "конец данных обследования");
    int recs = fill_note(d->conclusion.recommendations, sizeof d->conclusion.recommendations,
                         "пункт", "последняя строка рекомендаций");
    rendered_t r;
    render(d, &r);
    int pages = pdf_pages(&r, NULL);
    assert_true(pages >= 2);
    char s[64];
    for (int i = 1; i <= findings; i++) {
        snprintf(s, sizeof s, "запись %d:", i);
        assert_has(r.text, s);
    }
    for (int i = 1; i <= recs; i++) {
        snprintf(s, sizeof s, "пункт %d:", i);
        assert_has(r.text, s);
    }
    assert_has(r.text, "конец данных обследования");
    assert_has(r.text, "последняя строка рекомендаций");
    assert_has(r.text, "Страница 1 из");
    assert_has(r.text, "Страница 2 из");
    snprintf(s, sizeof s, "Страница %d из %d", pages, pages);
    assert_has(r.text, s);
    /* the signature block comes after the last recommendation */
    assert_true(strstr(r.text, "Подписано электронно") >
                strstr(r.text, "последняя строка рекомендаций"));
    assert_words_inside(&r);
    done(&r);
    free(d);
}

static void test_user_text_is_not_markup(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    strcpy(d->conclusion.findings, "Калий <b>&amp; 3,1 ммоль/л <i>ниже</i> нормы & <span");
    strcpy(d->consult.patient.name, "O'Brien <Тест> & Co");
    rendered_t r;
    render(d, &r);
    assert_has(r.text, "Калий <b>&amp; 3,1 ммоль/л <i>ниже</i> нормы & <span");
    assert_has(r.text, "O'Brien <Тест> & Co");
    done(&r);
    free(d);
}

static void test_amendment(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    strcpy(d->replaces, "a1b2c3d4-0000-4000-8000-000000000001");
    d->conclusion.summary.version = 5;
    rendered_t r;
    render(d, &r);
    assert_has(r.text, "Заменяет документ: a1b2c3d4-0000-4000-8000-000000000001");
    assert_has(r.text, "Версия: 5");
    done(&r);
    free(d);
}

static void test_consult_in_progress(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    d->consult.ended_at = 0;
    d->consult.state = CS_STATE_IN_PROGRESS;
    for (int i = 0; i < d->consult.n_participants; i++)
        d->consult.participants[i].left_at = 0;
    d->consult.participants[2].joined_at = 0; /* never came: not listed */
    rendered_t r;
    render(d, &r);
    assert_has(r.text, "с 22.11.2026 12:30 (UTC+03:00), идёт");
    assert_has(r.text, "с 12:30");
    assert_lacks(r.text, "1970");
    assert_lacks(r.text, "Мария Ким");
    done(&r);
    free(d);
}

static void test_broken_fields_do_not_crash(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    strcpy(d->conclusion.findings, "до \xff\xfe середина \xd0 после \xc3\x28 конец");
    memset(d->consult.patient.name, 'N', sizeof d->consult.patient.name); /* no NUL */
    memset(d->consult.specialty, 0xd0, sizeof d->consult.specialty);      /* cut characters */
    memset(d->conclusion.diagnosis_code, 'X', sizeof d->conclusion.diagnosis_code);
    d->consult.urgency = (cs_urgency_t)77;
    d->consult.mode = (cs_mode_t)-3;
    d->consult.participants[0].role = (cs_role_t)42;
    d->consult.n_participants = 1000;
    d->consult.created_at = INT64_MAX;
    d->conclusion.summary.signed_at = -5;
    strcpy(d->consult.patient.birth_date, "1956-02-30");
    rendered_t r;
    render(d, &r);
    assert_has(r.text, "до");
    assert_has(r.text, "середина");
    assert_has(r.text, "конец");
    assert_has(r.text, "1956-02-30"); /* not a date: shown as given */
    assert_has(r.text, "NNNNNNNN");
    assert_lacks(r.text, "1970");
    done(&r);
    free(d);
}

/* The same document renders to the same bytes: nothing of the moment of
 * rendering gets in (the creation date is the signing time). */
static void test_renders_alike_twice(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    assert_int_equal(cs_document_pdf(d, &a, &alen), CS_OK);
    assert_int_equal(cs_document_pdf(d, &b, &blen), CS_OK);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    free(a);
    free(b);
    free(d);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    cs_document_t *d = fixture();
    unsigned char sentinel[1];
    unsigned char *out = sentinel;
    size_t len = 7;
    assert_int_equal(cs_document_pdf(NULL, &out, &len), CS_EINVAL);
    assert_int_equal(cs_document_pdf(d, NULL, &len), CS_EINVAL);
    assert_int_equal(cs_document_pdf(d, &out, NULL), CS_EINVAL);
    assert_ptr_equal(out, sentinel);
    strcpy(d->language, "de");
    assert_int_equal(cs_document_pdf(d, &out, &len), CS_EINVAL);
    d->language[0] = '\0';
    assert_int_equal(cs_document_pdf(d, &out, &len), CS_EINVAL);
    memset(d->language, 'r', sizeof d->language); /* no NUL */
    assert_int_equal(cs_document_pdf(d, &out, &len), CS_EINVAL);
    assert_ptr_equal(out, sentinel);
    assert_int_equal(len, 7);
    free(d);
}

int main(int argc, char **argv)
{
    /* GLib 2.74's slice allocator hands pango's objects out of slabs, which
     * would hide a leaked layout from LeakSanitizer: one malloc each. GLib
     * reads G_SLICE before main() runs, hence the exec. */
    (void)argc;
    if (!getenv("G_SLICE")) {
        setenv("G_SLICE", "always-malloc", 1);
        execv("/proc/self/exe", argv);
    }
    /* times are shown in the local zone with its offset: make it known */
    if (access("/usr/share/zoneinfo/Europe/Moscow", R_OK) == 0)
        setenv("TZ", "Europe/Moscow", 1);
    else
        setenv("TZ", "MSK-3", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_in_russian),
        cmocka_unit_test(test_page_draws_something),
        cmocka_unit_test(test_english),
        cmocka_unit_test(test_long_texts_paginate),
        cmocka_unit_test(test_user_text_is_not_markup),
        cmocka_unit_test(test_amendment),
        cmocka_unit_test(test_consult_in_progress),
        cmocka_unit_test(test_broken_fields_do_not_crash),
        cmocka_unit_test(test_renders_alike_twice),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
