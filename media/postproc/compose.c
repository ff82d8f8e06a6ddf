/*
 * compose.c — the picture of one output frame: where each tile goes, each
 * participant's picture resampled into it, and the band with their name.
 *
 * The resampler is separable with precomputed taps: a tent filter whose
 * width follows the scale factor, so growing is bilinear and shrinking
 * averages every source pixel that falls in an output pixel (no aliasing
 * when a 720p camera becomes a small tile). Edges repeat the border pixel.
 * Weights are Q8 integers summing to exactly one; the vertical pass keeps
 * eight fractional bits for the horizontal one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define Q 8             /* weights: 1 is 256 */
#define ONE (1 << Q)

/* ---- layout ---------------------------------------------------------------------- */

static void grid_shape(int n, int *cols, int *rows)
{
    int c = 1;
    while (c * c < n)
        c++;
    *cols = c;
    *rows = (n + c - 1) / c;
    if (n == 2) {
        *cols = 2;
        *rows = 1;
    }
}

void cs_pp_grid(int n, int w, int h, cs_pp_rect_t *cells)
{
    if (n <= 0)
        return;
    int cols, rows;
    grid_shape(n, &cols, &rows);
    int cw = (w / cols) & ~1, ch = (h / rows) & ~1;
    int y0 = ((h - rows * ch) / 2) & ~1;
    for (int i = 0; i < n; i++) {
        int row = i / cols, col = i % cols;
        /* A last row that is not full is centred. */
        int in_row = row == rows - 1 ? n - row * cols : cols;
        int x0 = ((w - in_row * cw) / 2) & ~1;
        cells[i] = (cs_pp_rect_t){x0 + col * cw, y0 + row * ch, cw, ch};
    }
}

cs_pp_rect_t cs_pp_fit(int src_w, int src_h, const cs_pp_rect_t *cell)
{
    cs_pp_rect_t r = *cell;
    if (src_w <= 0 || src_h <= 0)
        return r;
    /* Compare cross products rather than ratios: exact in integers. */
    if ((int64_t)src_w * cell->h > (int64_t)src_h * cell->w) {
        r.h = (int)((int64_t)cell->w * src_h / src_w) & ~1;
    } else {
        r.w = (int)((int64_t)cell->h * src_w / src_h) & ~1;
    }
    if (r.w < 2)
        r.w = 2;
    if (r.h < 2)
        r.h = 2;
    r.x = cell->x + ((cell->w - r.w) / 2 & ~1);
    r.y = cell->y + ((cell->h - r.h) / 2 & ~1);
    return r;
}

/* ---- the resampler --------------------------------------------------------------------- */

static void filter_free(cs_pp_filter_t *f)
{
    free(f->start);
    free(f->weight);
    memset(f, 0, sizeof *f);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Weights of output pixel i into row (taps values), summing to ONE. */
static int filter_taps(const cs_pp_filter_t *f, int i, double s, int span, uint16_t *row)
{
    double scale = (double)f->src / f->dst;
    double c = (i + 0.5) * scale - 0.5;
    int first = (int)floor(c - s) + 1;
    int start = clampi(first, 0, f->src - f->taps);
    double acc[f->taps];
    memset(acc, 0, sizeof acc);
    double sum = 0;
    for (int k = 0; k < span; k++) {
        int j = first + k;
        double w = 1.0 - fabs(j - c) / s;
        if (w <= 0)
            continue;
        acc[clampi(j, 0, f->src - 1) - start] += w;
        sum += w;
    }
    int total = 0, big = 0;
    for (int k = 0; k < f->taps; k++) {
        row[k] = (uint16_t)lround(sum > 0 ? acc[k] / sum * ONE : 0);
        total += row[k];
        if (row[k] > row[big])
            big = k;
    }
    row[big] = (uint16_t)(row[big] + ONE - total);
    return start;
}

/* Narrows every row to the fewest taps that hold all non-zero weights (a
 * tent 2.67 pixels wide covers 3 pixels, not the 4 first allotted). */
static void filter_narrow(cs_pp_filter_t *f)
{
    int need = 1;
    for (int i = 0; i < f->dst; i++) {
        const uint16_t *w = f->weight + (size_t)i * f->taps;
        int a = 0, b = f->taps - 1;
        while (a < b && !w[a])
            a++;
        while (b > a && !w[b])
            b--;
        if (b - a + 1 > need)
            need = b - a + 1;
    }
    if (need == f->taps)
        return;
    for (int i = 0; i < f->dst; i++) {
        const uint16_t *w = f->weight + (size_t)i * f->taps;
        int a = 0;
        while (a < f->taps - 1 && !w[a])
            a++;
        int start = f->start[i] + a;
        if (start > f->src - need)
            start = f->src - need;
        uint16_t row[need];
        for (int k = 0; k < need; k++) {
            int old = start + k - f->start[i];
            row[k] = old >= 0 && old < f->taps ? w[old] : 0;
        }
        /* In place: row i of the narrow table never passes row i of the old. */
        memcpy(f->weight + (size_t)i * need, row, sizeof row);
        f->start[i] = start;
    }
    f->taps = need;
}

static int filter_build(cs_pp_filter_t *f, int src, int dst)
{
    if (f->src == src && f->dst == dst && f->start)
        return CS_OK;
    filter_free(f);
    double s = src > dst ? (double)src / dst : 1.0;   /* tent half-width in source pixels */
    int span = (int)ceil(2 * s) + 1;
    f->src = src;
    f->dst = dst;
    f->taps = span < src ? span : src;
    f->start = malloc(sizeof *f->start * (size_t)dst);
    f->weight = malloc(sizeof *f->weight * (size_t)dst * (size_t)f->taps);
    if (!f->start || !f->weight) {
        filter_free(f);
        return CS_ENOMEM;
    }
    for (int i = 0; i < dst; i++)
        f->start[i] = filter_taps(f, i, s, span, f->weight + (size_t)i * f->taps);
    filter_narrow(f);
    return CS_OK;
}

/*
 * One output row, vertically: the weighted sum of the source rows under it
 * (Q8 weights of Q8 pixels fit 16 bits, since the weights sum to one). The
 * fixed 16-wide blocks let the compiler use SIMD at -O2.
 */
static void vertical(const cs_pp_filter_t *fy, int y, const uint8_t *src, int stride, int w,
                     uint16_t *restrict acc)
{
    const uint16_t *wt = fy->weight + (size_t)y * fy->taps;
    const uint8_t *row = src + (size_t)fy->start[y] * stride;
    memset(acc, 0, sizeof *acc * (size_t)w);
    for (int k = 0; k < fy->taps; k++) {
        uint16_t wk = wt[k];
        if (!wk)
            continue;
        const uint8_t *restrict r = row + (size_t)k * stride;
        int x = 0;
        for (; x + 16 <= w; x += 16)
            for (int j = 0; j < 16; j++)
                acc[x + j] = (uint16_t)(acc[x + j] + wk * r[x + j]);
        for (; x < w; x++)
            acc[x] = (uint16_t)(acc[x] + wk * r[x]);
    }
}

/* One output row, horizontally, from a vertical result (Q8); the common
 * tap counts get loops of their own. */
#define HLOOP(EXPR)                                                                                \
    for (int x = 0; x < n; x++, w += taps) {                                                       \
        const uint16_t *p = in + start[x];                                                         \
        out[x] = (uint8_t)(((EXPR) + ONE * ONE / 2) >> (2 * Q));                                   \
    }

static void horizontal(const cs_pp_filter_t *fx, const uint16_t *restrict in,
                       uint8_t *restrict out)
{
    const int taps = fx->taps, n = fx->dst, *start = fx->start;
    const uint16_t *w = fx->weight;
    switch (taps) {
    case 2:
        HLOOP((uint32_t)w[0] * p[0] + (uint32_t)w[1] * p[1])
        break;
    case 3:
        HLOOP((uint32_t)w[0] * p[0] + (uint32_t)w[1] * p[1] + (uint32_t)w[2] * p[2])
        break;
    case 4:
        HLOOP((uint32_t)w[0] * p[0] + (uint32_t)w[1] * p[1] + (uint32_t)w[2] * p[2] +
              (uint32_t)w[3] * p[3])
        break;
    default:
        for (int x = 0; x < n; x++, w += taps) {
            const uint16_t *p = in + start[x];
            uint32_t acc = 0;
            for (int k = 0; k < taps; k++)
                acc += (uint32_t)w[k] * p[k];
            out[x] = (uint8_t)((acc + ONE * ONE / 2) >> (2 * Q));
        }
    }
}

static void scale_plane(const cs_pp_filter_t *fx, const cs_pp_filter_t *fy, const uint8_t *src,
                        int sstride, uint16_t *tmp, uint8_t *dst, int dstride)
{
    for (int y = 0; y < fy->dst; y++) {
        vertical(fy, y, src, sstride, fx->src, tmp);
        horizontal(fx, tmp, dst + (size_t)y * dstride);
    }
}

int cs_pp_scale(cs_pp_scaler_t *s, const cs_pp_image_t *src, cs_pp_image_t *dst,
                const cs_pp_rect_t *r)
{
    if (r->w < 2 || r->h < 2 || r->x < 0 || r->y < 0 || r->x + r->w > dst->w ||
        r->y + r->h > dst->h || ((r->x | r->y | r->w | r->h) & 1))
        return CS_EINVAL;
    int rc;
    if ((rc = filter_build(&s->x, src->w, r->w)) != CS_OK ||
        (rc = filter_build(&s->y, src->h, r->h)) != CS_OK ||
        (rc = filter_build(&s->cx, src->w / 2, r->w / 2)) != CS_OK ||
        (rc = filter_build(&s->cy, src->h / 2, r->h / 2)) != CS_OK)
        return rc;
    if ((size_t)src->w > s->tmp_cap) {
        uint16_t *t = realloc(s->tmp, sizeof *t * (size_t)src->w);
        if (!t)
            return CS_ENOMEM;
        s->tmp = t;
        s->tmp_cap = (size_t)src->w;
    }
    int cw = dst->w / 2;
    scale_plane(&s->x, &s->y, src->y, src->w, s->tmp,
                dst->y + (size_t)r->y * dst->w + r->x, dst->w);
    size_t coff = (size_t)(r->y / 2) * cw + r->x / 2;
    scale_plane(&s->cx, &s->cy, src->u, src->w / 2, s->tmp, dst->u + coff, cw);
    scale_plane(&s->cx, &s->cy, src->v, src->w / 2, s->tmp, dst->v + coff, cw);
    return CS_OK;
}

void cs_pp_scaler_free(cs_pp_scaler_t *s)
{
    filter_free(&s->x);
    filter_free(&s->y);
    filter_free(&s->cx);
    filter_free(&s->cy);
    free(s->tmp);
    memset(s, 0, sizeof *s);
}

/* ---- the name band -------------------------------------------------------------------------- */

#define DIM 90      /* of 256: what is left of the picture under the band */

void cs_pp_band(cs_pp_image_t *dst, const cs_pp_rect_t *r, const uint8_t *alpha)
{
    for (int y = 0; y < r->h; y++) {
        uint8_t *p = dst->y + (size_t)(r->y + y) * dst->w + r->x;
        const uint8_t *a = alpha ? alpha + (size_t)y * r->w : NULL;
        for (int x = 0; x < r->w; x++) {
            int v = 16 + ((p[x] - 16) * DIM >> 8);
            if (a && a[x])
                v += (235 - v) * a[x] / 255;
            p[x] = (uint8_t)v;
        }
    }
    /* Chroma towards grey: a neutral band, and no colour at all under the
     * text (the most opaque of the four pixels each chroma sample covers). */
    int cw = dst->w / 2;
    for (int y = 0; y < r->h / 2; y++) {
        size_t off = (size_t)(r->y / 2 + y) * cw + r->x / 2;
        const uint8_t *a0 = alpha ? alpha + (size_t)(2 * y) * r->w : NULL;
        for (int x = 0; x < r->w / 2; x++) {
            int keep = DIM;
            if (a0) {
                int a = a0[2 * x] > a0[2 * x + 1] ? a0[2 * x] : a0[2 * x + 1];
                int b = a0[r->w + 2 * x] > a0[r->w + 2 * x + 1] ? a0[r->w + 2 * x]
                                                                  : a0[r->w + 2 * x + 1];
                keep = DIM * (255 - (a > b ? a : b)) / 255;
            }
            dst->u[off + x] = (uint8_t)(128 + (dst->u[off + x] - 128) * keep / 256);
            dst->v[off + x] = (uint8_t)(128 + (dst->v[off + x] - 128) * keep / 256);
        }
    }
}
