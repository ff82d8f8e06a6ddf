/*
 * label.c — a line of text rasterised to an alpha mask: the participants'
 * names on a recording's composed video.
 *
 * Lives with the PDF renderer because this module owns the text stack
 * (cairo, pango, DejaVu Sans with Cyrillic); media/postproc asks for labels
 * through a callback and needs no font library of its own.
 */
#include <pango/pangocairo.h>
#include <string.h>

#include "common/common.h"
#include "document.h"

int cs_document_label(const char *text, int width, int height, uint8_t *alpha)
{
    if (!text || width <= 0 || height <= 0 || !alpha)
        return CS_EINVAL;
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_A8, width, height);
    if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(sf);
        return CS_ENOMEM;
    }
    cairo_t *cr = cairo_create(sf);
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *font = pango_font_description_from_string("DejaVu Sans");
    int rc = layout && font ? CS_OK : CS_ENOMEM;
    if (rc == CS_OK) {
        /* The band is the label's height; the text fills about 70% of it. */
        pango_font_description_set_absolute_size(font, height * 0.62 * PANGO_SCALE);
        pango_layout_set_font_description(layout, font);
        pango_layout_set_width(layout, (width - height / 2) * PANGO_SCALE);
        pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
        pango_layout_set_single_paragraph_mode(layout, TRUE);
        pango_layout_set_text(layout, text, -1);
        int tw, th;
        pango_layout_get_pixel_size(layout, &tw, &th);
        cairo_move_to(cr, height / 4.0, (height - th) / 2.0);
        cairo_set_source_rgba(cr, 1, 1, 1, 1);
        pango_cairo_show_layout(cr, layout);
        cairo_surface_flush(sf);
        const unsigned char *px = cairo_image_surface_get_data(sf);
        int stride = cairo_image_surface_get_stride(sf);
        for (int y = 0; y < height; y++)
            memcpy(alpha + (size_t)y * (size_t)width, px + (size_t)y * (size_t)stride,
                   (size_t)width);
    }
    if (font)
        pango_font_description_free(font);
    if (layout)
        g_object_unref(layout);
    cairo_destroy(cr);
    cairo_surface_destroy(sf);
    return rc;
}
