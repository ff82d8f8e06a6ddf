/*
 * pdf.c — a signed conclusion as a PDF consult note (cs_document_pdf): A4,
 * 20 mm margins, DejaVu Sans (it has Cyrillic), text selectable, the font
 * subset embedded. The words and the texts made of them are pdf_labels.c's.
 *
 * The document is first turned into a list of blocks: a heading, a
 * "label  value" row, a row of the participants table, a free-text paragraph.
 * Each block holds ready-made pango layouts, so text is shaped and wrapped
 * once. Then the list is flowed onto pages twice: once without drawing, only
 * to count the pages (every footer says "page N of M"), and once drawing onto
 * cairo's PDF surface. Long text (findings and recommendations reach 8000
 * bytes, a reason 4 KiB) breaks between lines across pages, under its
 * section's "… (continued)"; a heading never ends a page; table rows and the
 * signature block are kept whole.
 *
 * What users typed reaches pango as plain text, never as markup (a finding
 * may say "<5 mmol/l & falling"), read within the bounds of its field and
 * repaired if it is not valid UTF-8.
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "pdf_internal.h"

/* A4 in points: cairo's PDF surface measures in points (1/72 inch). */
#define PAGE_W 595.276
#define PAGE_H 841.890
#define MARGIN 56.693 /* 20 mm */
#define CONTENT_W (PAGE_W - 2 * MARGIN)
#define CONTENT_BOTTOM (PAGE_H - MARGIN)
#define FOOTER_Y (PAGE_H - MARGIN + 10) /* the footer lives in the bottom margin */
#define LABEL_W 138.0    /* the label column of "label  value" rows */
#define RULE_SPACE 5.0   /* a hairline and the space around it */
#define BODY_LEADING 1.6 /* points between lines of body text, above the font's own */

#define PDF_CELLS_MAX 4
/* The code, not the document, decides how many blocks there are: 36 with
 * every optional row and CS_MAX_PARTICIPANTS participants. */
#define PDF_BLOCKS_MAX 40
/* The participants table: where each column starts, and its width. */
static const double col_x[PDF_CELLS_MAX] = {0, 168, 258, 362};
static const double col_w[PDF_CELLS_MAX] = {162, 94, 98, CONTENT_W - 362};

/* Grey levels, 0 black: labels are quieter than what they label. */
#define INK 0.0
#define QUIET 0.38
#define RULE_GRAY 0.55

/* The styles of text: font and grey. */
typedef enum {
    S_BODY, S_LABEL, S_COLUMN, S_SMALL, S_CENTRE, S_TITLE, S_SUBTITLE, S_HEADING, S_COUNT
} style_t;
static const struct {
    const char *font;
    double gray;
} styles[S_COUNT] = {
    [S_BODY] = {"DejaVu Sans 10", INK},          [S_LABEL] = {"DejaVu Sans 10", QUIET},
    [S_COLUMN] = {"DejaVu Sans Bold 8.5", QUIET}, [S_SMALL] = {"DejaVu Sans 8", QUIET},
    [S_CENTRE] = {"DejaVu Sans Bold 11", INK},   [S_TITLE] = {"DejaVu Sans Bold 17", INK},
    [S_SUBTITLE] = {"DejaVu Sans 11.5", QUIET},   [S_HEADING] = {"DejaVu Sans Bold 11", INK},
};

typedef struct {
    PangoLayout *layout;
    double x; /* from the left margin */
    double gray;
} pdf_cell_t;

typedef struct {
    pdf_cell_t cell[PDF_CELLS_MAX];
    int n_cells;
    double gap;          /* space above it, dropped at the top of a page */
    double height;       /* of its tallest cell */
    bool split;          /* its last cell may break between lines across pages */
    bool keep_with_next; /* never the last thing on a page (headings, rules) */
    bool rule;           /* a hairline under it */
    PangoLayout *cont;   /* its section's "… (continued)", for a page it goes on to */
} pdf_block_t;

typedef struct {
    const cs_document_t *doc;
    const cs_pdf_labels_t *lb;
    PangoContext *ctx;
    PangoFontDescription *font[S_COUNT];
    pdf_block_t block[PDF_BLOCKS_MAX];
    int n_blocks;
    PangoLayout *cont[PDF_BLOCKS_MAX]; /* one per heading, owned here */
    int n_cont;
    PangoLayout *section;              /* the current section's, or NULL */
    PangoLayout *footer;               /* who the pages are about */
    int err;                           /* the first failure while building */
} pdf_doc_t;

/* ---- blocks --------------------------------------------------------------- */

/* pango wants valid UTF-8: invalid bytes become U+FFFD, so a corrupt field
 * shows as "�" instead of upsetting pango. */
static void set_text(PangoLayout *layout, const char *s, size_t len)
{
    if (g_utf8_validate(s, (gssize)len, NULL)) {
        pango_layout_set_text(layout, s, (int)len);
        return;
    }
    gchar *valid = g_utf8_make_valid(s, (gssize)len);
    pango_layout_set_text(layout, valid, -1);
    g_free(valid);
}

static PangoLayout *layout_new(const pdf_doc_t *d, const char *s, size_t len, style_t style,
                               double width)
{
    PangoLayout *l = pango_layout_new(d->ctx);
    pango_layout_set_font_description(l, d->font[style]);
    pango_layout_set_width(l, (int)(width * PANGO_SCALE));
    /* WORD_CHAR: a "word" wider than its column (an id, a URL) still wraps */
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    if (style == S_BODY || style == S_LABEL)
        pango_layout_set_spacing(l, (int)(BODY_LEADING * PANGO_SCALE));
    set_text(l, s, len);
    return l;
}

static double height_of(PangoLayout *l)
{
    int h;
    pango_layout_get_size(l, NULL, &h);
    return (double)h / PANGO_SCALE;
}

static pdf_block_t *block_new(pdf_doc_t *d, double gap)
{
    if (d->n_blocks == PDF_BLOCKS_MAX) {
        d->err = CS_ENOMEM; /* cannot happen: see PDF_BLOCKS_MAX */
        return NULL;
    }
    pdf_block_t *b = &d->block[d->n_blocks++];
    memset(b, 0, sizeof *b);
    b->gap = gap;
    b->cont = d->section;
    return b;
}

/* A cell of block b (none when b is NULL); empty text shows as "—". */
static pdf_cell_t *cell_add(pdf_doc_t *d, pdf_block_t *b, const char *s, size_t len,
                            style_t style, double x, double width)
{
    if (!b || b->n_cells == PDF_CELLS_MAX)
        return NULL;
    if (!len) {
        s = d->lb->none;
        len = strlen(s);
    }
    pdf_cell_t *c = &b->cell[b->n_cells++];
    c->layout = layout_new(d, s, len, style, width);
    c->x = x;
    c->gray = styles[style].gray;
    if (height_of(c->layout) > b->height)
        b->height = height_of(c->layout);
    return c;
}

static void align_right(pdf_cell_t *c)
{
    if (c)
        pango_layout_set_alignment(c->layout, PANGO_ALIGN_RIGHT);
}

/* A section's heading; what follows it, up to the next, belongs to it. */
static void heading(pdf_doc_t *d, const char *title)
{
    d->section = NULL;
    pdf_block_t *b = block_new(d, 16);
    cell_add(d, b, title, strlen(title), S_HEADING, 0, CONTENT_W);
    if (!b)
        return;
    b->keep_with_next = b->rule = true;
    cs_pdf_text_t t = {.n = 0};
    cs_pdf_continued(d->lb, title, &t);
    d->section = d->cont[d->n_cont++] = layout_new(d, t.s, t.n, S_HEADING, CONTENT_W);
}

/* "label   value": the value wraps in its column and may go on over a page
 * break. */
static void field(pdf_doc_t *d, const char *label, const char *value, size_t len)
{
    pdf_block_t *b = block_new(d, 3.5);
    cell_add(d, b, label, strlen(label), S_LABEL, 0, LABEL_W - 10);
    if (cell_add(d, b, value, len, S_BODY, LABEL_W, CONTENT_W - LABEL_W))
        b->split = true;
}

static void paragraph(pdf_doc_t *d, const char *s, size_t len)
{
    pdf_block_t *b = block_new(d, 5);
    if (cell_add(d, b, s, len, S_BODY, 0, CONTENT_W))
        b->split = true;
}

/* ---- the parts of the document -------------------------------------------- */

/* The centres as a letterhead (requesting left, consulting right), then the
 * title. */
static void part_header(pdf_doc_t *d)
{
    const cs_consult_t *c = &d->doc->consult;
    const cs_pdf_labels_t *lb = d->lb;
    const char *other = cs_pdf_consulting_centre(c);
    const double half = CONTENT_W / 2;

    pdf_block_t *captions = block_new(d, 0), *names = block_new(d, 1);
    cell_add(d, captions, lb->requesting_centre, strlen(lb->requesting_centre), S_SMALL, 0,
             half - 6);
    cell_add(d, names, CS_PDF_FIELD(c->tenant), S_CENTRE, 0, half - 6);
    if (other) {
        align_right(cell_add(d, captions, lb->consulting_centre, strlen(lb->consulting_centre),
                             S_SMALL, half, half));
        align_right(cell_add(d, names, other, strnlen(other, CS_TENANT_MAX), S_CENTRE, half, half));
    }
    if (names)
        names->rule = true;
    cell_add(d, block_new(d, 16), lb->title, strlen(lb->title), S_TITLE, 0, CONTENT_W);
    cell_add(d, block_new(d, 2), lb->subtitle, strlen(lb->subtitle), S_SUBTITLE, 0, CONTENT_W);
}

/* A section of "label  value" rows: the patient, the consultation. */
static void part_rows(pdf_doc_t *d, const char *title, const cs_pdf_row_t *rows, int n)
{
    heading(d, title);
    for (int i = 0; i < n; i++)
        field(d, rows[i].label, rows[i].value, rows[i].len);
}

static void participant_row(pdf_doc_t *d, const cs_participant_t *p, int64_t held_on)
{
    const char *role = cs_pdf_role(d->lb, p->role);
    cs_pdf_text_t when = {.n = 0};
    cs_pdf_presence(d->lb, p, held_on, &when);
    pdf_block_t *b = block_new(d, 4);
    if (p->name[0])
        cell_add(d, b, CS_PDF_FIELD(p->name), S_BODY, col_x[0], col_w[0]);
    else
        cell_add(d, b, CS_PDF_FIELD(p->subject), S_BODY, col_x[0], col_w[0]);
    cell_add(d, b, role, strlen(role), S_BODY, col_x[1], col_w[1]);
    cell_add(d, b, CS_PDF_FIELD(p->tenant), S_BODY, col_x[2], col_w[2]);
    cell_add(d, b, when.s, when.n, S_BODY, col_x[3], col_w[3]);
}

/* Everyone who joined, in the order listed; the table's header stays with
 * its first row. */
static void part_participants(pdf_doc_t *d)
{
    const cs_consult_t *c = &d->doc->consult;
    const cs_pdf_labels_t *lb = d->lb;
    int n = c->n_participants < 0 ? 0 : c->n_participants;
    if (n > CS_MAX_PARTICIPANTS)
        n = CS_MAX_PARTICIPANTS;
    int64_t held_on = c->started_at > 0 ? c->started_at : c->created_at;

    heading(d, lb->participants);
    const char *cols[PDF_CELLS_MAX] = {lb->col_name, lb->col_role, lb->col_centre, lb->col_time};
    pdf_block_t *head = block_new(d, 4);
    for (int i = 0; i < PDF_CELLS_MAX; i++)
        cell_add(d, head, cols[i], strlen(cols[i]), S_COLUMN, col_x[i], col_w[i]);
    if (head)
        head->keep_with_next = head->rule = true;
    int shown = 0;
    for (int i = 0; i < n; i++) {
        if (c->participants[i].joined_at > 0) {
            participant_row(d, &c->participants[i], held_on);
            shown++;
        }
    }
    if (!shown)
        paragraph(d, "", 0); /* "—" */
}

static void part_conclusion(pdf_doc_t *d)
{
    const cs_conclusion_t *k = &d->doc->conclusion;
    cs_pdf_text_t dx = {.n = 0};
    cs_pdf_diagnosis(k, &dx);

    heading(d, d->lb->findings);
    paragraph(d, CS_PDF_FIELD(k->findings));
    heading(d, d->lb->diagnosis);
    paragraph(d, dx.s, dx.n);
    heading(d, d->lb->recommendations);
    paragraph(d, CS_PDF_FIELD(k->recommendations));
}

/* Who signed, when, and which document this is: under a rule, kept whole. */
static void part_signature(pdf_doc_t *d)
{
    cs_pdf_text_t t = {.n = 0};
    cs_pdf_signature(d->lb, d->doc, &t);
    d->section = NULL; /* it follows the recommendations but is not one */
    pdf_block_t *rule = block_new(d, 22);
    if (rule)
        rule->keep_with_next = rule->rule = true;
    cell_add(d, block_new(d, 2), t.s, t.n, S_BODY, 0, CONTENT_W);

    cs_pdf_text_t who = {.n = 0};
    cs_pdf_patient_line(&d->doc->consult.patient, &who);
    d->footer = layout_new(d, who.s, who.n, S_SMALL, CONTENT_W * 0.62);
    pango_layout_set_ellipsize(d->footer, PANGO_ELLIPSIZE_END);
}

/* ---- flowing blocks onto pages ---------------------------------------------- */

typedef struct {
    const pdf_doc_t *d;
    cairo_t *cr; /* NULL while only counting pages */
    int page, pages;
    double y;    /* where the next block may start */
    bool fresh;  /* nothing on this page yet */
} pdf_flow_t;

static void draw_layout(cairo_t *cr, PangoLayout *l, double x, double y, double gray)
{
    cairo_set_source_rgb(cr, gray, gray, gray);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, l);
}

static void draw_rule(cairo_t *cr, double y)
{
    cairo_set_source_rgb(cr, RULE_GRAY, RULE_GRAY, RULE_GRAY);
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, MARGIN, y);
    cairo_line_to(cr, MARGIN + CONTENT_W, y);
    cairo_stroke(cr);
}

/* The patient on the left, "Page N of M" on the right, under a rule. */
static void draw_footer(const pdf_flow_t *f)
{
    cs_pdf_text_t t = {.n = 0};
    cs_pdf_page(f->d->lb, f->page, f->pages, &t);
    PangoLayout *right = layout_new(f->d, t.s, t.n, S_SMALL, CONTENT_W * 0.35);
    pango_layout_set_alignment(right, PANGO_ALIGN_RIGHT);
    draw_rule(f->cr, FOOTER_Y);
    draw_layout(f->cr, f->d->footer, MARGIN, FOOTER_Y + 4, QUIET);
    draw_layout(f->cr, right, MARGIN + CONTENT_W * 0.65, FOOTER_Y + 4, QUIET);
    g_object_unref(right);
}

/* Ends the page; the next starts with `cont` ("Findings (continued)") when
 * a section goes on over the break. */
static void new_page(pdf_flow_t *f, PangoLayout *cont)
{
    if (f->cr) {
        draw_footer(f);
        cairo_show_page(f->cr);
    }
    f->page++;
    f->y = MARGIN;
    f->fresh = true;
    if (cont) {
        if (f->cr) {
            draw_layout(f->cr, cont, MARGIN, f->y, QUIET);
            draw_rule(f->cr, f->y + height_of(cont) + RULE_SPACE / 2);
        }
        f->y += height_of(cont) + RULE_SPACE + 5;
        f->fresh = false;
    }
}

/* Draws the first n cells of b at the flow's y (when drawing); returns the
 * height of the tallest. */
static double draw_cells(const pdf_flow_t *f, const pdf_block_t *b, int n)
{
    double h = 0;
    for (int i = 0; i < n; i++) {
        if (f->cr)
            draw_layout(f->cr, b->cell[i].layout, MARGIN + b->cell[i].x, f->y, b->cell[i].gray);
        if (height_of(b->cell[i].layout) > h)
            h = height_of(b->cell[i].layout);
    }
    return h;
}

static double first_line_bottom(PangoLayout *l)
{
    PangoLayoutIter *it = pango_layout_get_iter(l);
    PangoRectangle r;
    pango_layout_iter_get_line_extents(it, NULL, &r);
    pango_layout_iter_free(it);
    return (double)(r.y + r.height) / PANGO_SCALE;
}

/* What of block i must fit where it starts: a splittable block's first line
 * and its label, all of anything else; for a block kept with the next, that
 * too. */
static double need(const pdf_doc_t *d, int i)
{
    const pdf_block_t *b = &d->block[i];
    double h = b->height;
    if (b->split && b->n_cells) {
        h = first_line_bottom(b->cell[b->n_cells - 1].layout);
        for (int c = 0; c < b->n_cells - 1; c++)
            if (height_of(b->cell[c].layout) > h)
                h = height_of(b->cell[c].layout);
    }
    if (b->rule)
        h += RULE_SPACE;
    if (b->keep_with_next && i + 1 < d->n_blocks)
        h += d->block[i + 1].gap + need(d, i + 1);
    return h;
}

/* The last cell of a splittable block, line by line (pango's line iterator):
 * a line that would cross the bottom margin starts the next page. The other
 * cells (a label) are drawn beside its first line. */
static void flow_split(pdf_flow_t *f, const pdf_block_t *b)
{
    const pdf_cell_t *c = &b->cell[b->n_cells - 1];
    double bottom = f->y + draw_cells(f, b, b->n_cells - 1);
    double top = f->y, from = 0; /* layout y `from` lands on page y `top` */
    bool first = true;
    PangoLayoutIter *it = pango_layout_get_iter(c->layout);
    do {
        PangoRectangle r;
        pango_layout_iter_get_line_extents(it, NULL, &r);
        double line_top = (double)r.y / PANGO_SCALE;
        double line_end = (double)(r.y + r.height) / PANGO_SCALE;
        if (!first && top + (line_end - from) > CONTENT_BOTTOM) {
            new_page(f, b->cont);
            top = bottom = f->y;
            from = line_top;
        }
        first = false;
        if (f->cr) {
            double baseline = (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE;
            cairo_set_source_rgb(f->cr, c->gray, c->gray, c->gray);
            cairo_move_to(f->cr, MARGIN + c->x + (double)r.x / PANGO_SCALE, top + baseline - from);
            pango_cairo_show_layout_line(f->cr, pango_layout_iter_get_line_readonly(it));
        }
        if (top + (line_end - from) > bottom)
            bottom = top + (line_end - from);
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    f->y = bottom;
}

static void flow_block(pdf_flow_t *f, int i)
{
    const pdf_block_t *b = &f->d->block[i];
    double gap = f->fresh ? 0 : b->gap;
    if (!f->fresh && f->y + gap + need(f->d, i) > CONTENT_BOTTOM) {
        new_page(f, b->cont);
        gap = 0;
    }
    f->y += gap;
    if (b->split && b->n_cells) {
        flow_split(f, b);
    } else {
        f->y += draw_cells(f, b, b->n_cells);
    }
    if (b->rule) {
        if (f->cr)
            draw_rule(f->cr, f->y + RULE_SPACE / 2);
        f->y += RULE_SPACE;
    }
    f->fresh = false;
}

/* Lays every block out and returns the number of pages; with a cairo
 * context, also draws them, each page ending with its footer. */
static int flow(const pdf_doc_t *d, cairo_t *cr, int pages)
{
    pdf_flow_t f = {.d = d, .cr = cr, .page = 1, .pages = pages, .y = MARGIN, .fresh = true};
    for (int i = 0; i < d->n_blocks; i++)
        flow_block(&f, i);
    if (cr) {
        draw_footer(&f);
        cairo_show_page(cr);
    }
    return f.page;
}

/* ---- the PDF surface ------------------------------------------------------ */

/* cairo writes the PDF into an in-memory stream (open_memstream), which
 * fails only when it cannot grow. */
static cairo_status_t mem_write(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                       : CAIRO_STATUS_WRITE_ERROR;
}

/* Metadata is written as given: like the pages' text, it must be valid UTF-8. */
static void set_meta(cairo_surface_t *surface, cairo_pdf_metadata_t key, const cs_pdf_text_t *t)
{
    gchar *valid = g_utf8_make_valid(t->s, (gssize)t->n);
    cairo_pdf_surface_set_metadata(surface, key, valid);
    g_free(valid);
}

/* Title, author (the signer), creator, and as creation date the signing:
 * the document was made when it was signed, whenever it is rendered. */
static void set_metadata(const pdf_doc_t *d, cairo_surface_t *surface)
{
    cs_pdf_text_t title = {.n = 0}, author = {.n = 0};
    char when[CS_PDF_TIME_MAX];
    cs_pdf_title(d->lb, &d->doc->consult.patient, &title);
    cs_pdf_signer(&d->doc->conclusion.summary, &author);
    set_meta(surface, CAIRO_PDF_METADATA_TITLE, &title);
    set_meta(surface, CAIRO_PDF_METADATA_AUTHOR, &author);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, d->lb->subtitle);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Consilium");
    if (cs_pdf_iso_utc(d->doc->conclusion.summary.signed_at, when))
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, when);
}

/* Draws the pages into a malloc'd PDF (*out, *len). */
static int render(const pdf_doc_t *d, int pages, unsigned char **out, size_t *len)
{
    char *data = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&data, &size);
    if (!mem)
        return CS_ENOMEM;
    cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(mem_write, mem, PAGE_W, PAGE_H);
    cairo_status_t status = cairo_surface_status(surface);
    if (status == CAIRO_STATUS_SUCCESS) {
        set_metadata(d, surface);
        cairo_t *cr = cairo_create(surface);
        flow(d, cr, pages);
        status = cairo_status(cr);
        cairo_destroy(cr);
        cairo_surface_finish(surface);
        if (status == CAIRO_STATUS_SUCCESS)
            status = cairo_surface_status(surface);
    }
    cairo_surface_destroy(surface);
    if (fclose(mem) != 0 && status == CAIRO_STATUS_SUCCESS)
        status = CAIRO_STATUS_WRITE_ERROR;
    if (status != CAIRO_STATUS_SUCCESS) {
        free(data);
        return status == CAIRO_STATUS_WRITE_ERROR || status == CAIRO_STATUS_NO_MEMORY ? CS_ENOMEM
                                                                                     : CS_EIO;
    }
    *out = (unsigned char *)data;
    *len = size;
    return CS_OK;
}

/* ---- setting up and tearing down -------------------------------------------- */

/*
 * Pango measures for print: 72 units per inch (so "10" is 10 pt) and
 * unhinted metrics, so text is placed where it will be printed. The font map
 * is pango's default for this thread (each thread has its own): its caches
 * of fonts found and faces loaded make a render about five times faster than
 * with a fresh map, and change nothing in the result.
 */
static void doc_open(pdf_doc_t *d)
{
    d->ctx = pango_font_map_create_context(pango_cairo_font_map_get_default());
    pango_cairo_context_set_resolution(d->ctx, 72);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(d->ctx, fo);
    cairo_font_options_destroy(fo);
    pango_context_set_round_glyph_positions(d->ctx, FALSE);
    pango_context_set_language(d->ctx, pango_language_from_string(d->doc->language));
    for (int i = 0; i < S_COUNT; i++)
        d->font[i] = pango_font_description_from_string(styles[i].font);
}

static void doc_close(pdf_doc_t *d)
{
    for (int i = 0; i < d->n_blocks; i++)
        for (int c = 0; c < d->block[i].n_cells; c++)
            g_object_unref(d->block[i].cell[c].layout);
    for (int i = 0; i < d->n_cont; i++)
        g_object_unref(d->cont[i]);
    if (d->footer)
        g_object_unref(d->footer);
    for (int i = 0; i < S_COUNT; i++)
        pango_font_description_free(d->font[i]);
    g_object_unref(d->ctx);
}

int cs_document_pdf(const cs_document_t *doc, unsigned char **out, size_t *len)
{
    if (!doc || !out || !len)
        return CS_EINVAL;
    const cs_pdf_labels_t *lb = cs_pdf_labels(doc->language);
    if (!lb)
        return CS_EINVAL;
    pdf_doc_t *d = calloc(1, sizeof *d);
    if (!d)
        return CS_ENOMEM;
    d->doc = doc;
    d->lb = lb;
    doc_open(d);
    cs_pdf_row_t rows[CS_PDF_ROWS_MAX];
    part_header(d);
    part_rows(d, lb->patient, rows, cs_pdf_patient_rows(lb, &doc->consult.patient, rows));
    part_rows(d, lb->consultation, rows, cs_pdf_consult_rows(lb, &doc->consult, rows));
    part_participants(d);
    part_conclusion(d);
    part_signature(d);

    int rc = d->err;
    if (rc == CS_OK)
        rc = render(d, flow(d, NULL, 0), out, len);
    doc_close(d);
    free(d);
    return rc;
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * For LeakSanitizer (make SANITIZE=address,undefined), in every program that
 * renders a PDF: fontconfig, under pango, keeps its configuration and the
 * font patterns it matched for the life of the process (pango's per-thread
 * font map caches them) and links a pattern's values by offsets LeakSanitizer
 * cannot follow; fontconfig 2.14 also loses 288 bytes parsing its
 * configuration, once. None of it grows with the number of documents
 * rendered; anything of ours, pango's or cairo's left behind is still
 * reported. The sanitizer runtime looks this hook up by name.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}
#endif
