/* plots/heatmap: see heatmap.h. */
#include "heatmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int heatmap_level(size_t nnz, size_t n)
{
    if (nnz == 0) return 0;
    if (nnz >= n) return 4;
    if (3 * nnz <= n) return 1;
    if (3 * nnz <= 2 * n) return 2;
    return 3;
}

static const char *const SHADE_UTF8[2][5] = {{" ", "\u2591", "\u2592", "\u2593", "\u2588"}, {" ", ".", ":", "#", "@"}};

static int cells(const char *s)
{
    int c = 0;
    for (; *s; s++) c += ((unsigned char)*s & 0xC0) != 0x80;
    return c;
}

int heatmap_legend(char *buf, size_t n, int rows, int cols, int w, int h, CanvasMode mode, int width)
{
    const char *const *g = SHADE_UTF8[mode == CANVAS_ASCII];
    int gr = rows < h - 1 ? rows : h - 1, gc = cols < w ? cols : w;
    int cr = gr > 0 ? (rows + gr - 1) / gr : 0, cc = gc > 0 ? (cols + gc - 1) / gc : 0;
    char v[3][256];
    snprintf(v[0], sizeof v[0], "live share per cell (%dx%d weights): ' ' none %s <=1/3 %s <=2/3 %s <all %s all", cr, cc,
             g[1], g[2], g[3], g[4]);
    snprintf(v[1], sizeof v[1], "cell %dx%d: %s<=1/3 %s<=2/3 %s<all %sall live", cr, cc, g[1], g[2], g[3], g[4]);
    snprintf(v[2], sizeof v[2], "%s<=1/3 %s<=2/3 %s<all %sall", g[1], g[2], g[3], g[4]);
    for (int i = 0; i < 3; i++)
        if (cells(v[i]) <= width) {
            snprintf(buf, n, "%s", v[i]);
            return cells(v[i]);
        }
    if (n) buf[0] = '\0';
    return 0;
}

TpStatus heatmap_render(CanvasText *out, const char *name, const uint8_t *mask, int rows, int cols, int w, int h,
                        CanvasMode mode)
{
    static const uint32_t shade[2][5] = {{' ', 0x2591, 0x2592, 0x2593, 0x2588}, {' ', '.', ':', '#', '@'}};
    memset(out, 0, sizeof *out);
    if (rows < 0 || cols < 0 || (rows && cols && !mask))
        return err_set(TP_EINVAL, "heatmap: bad matrix %dx%d", rows, cols);
    Canvas c;
    TpStatus st = canvas_init(&c, w, h, mode);
    if (st != TP_OK) return st;
    size_t n = (size_t)rows * (size_t)cols, nnz = 0;
    int gr = rows < h - 1 ? rows : h - 1, gc = cols < w ? cols : w;
    size_t *count = NULL;
    int *colmap = NULL;
    if (n && gr > 0) {
        count = calloc((size_t)gr * (size_t)gc, sizeof *count);
        colmap = malloc((size_t)cols * sizeof *colmap);
        if (!count || !colmap) {
            st = err_set(TP_ENOMEM, "heatmap: out of memory");
            goto done;
        }
        /* column j of the matrix falls in grid column k when k*cols/gc <= j < (k+1)*cols/gc */
        for (int k = 0; k < gc; k++) {
            int a = (int)((long long)k * cols / gc), b = (int)((long long)(k + 1) * cols / gc);
            for (int j = a; j < b; j++) colmap[j] = k;
        }
    }
    for (int i = 0, gi = 0; i < rows; i++) {
        const uint8_t *row = mask + (size_t)i * (size_t)cols;
        size_t row_nnz = 0;
        if (count) {
            while (gi + 1 < gr && i >= (int)((long long)(gi + 1) * rows / gr)) gi++;
            size_t *crow = count + (size_t)gi * (size_t)gc;
            for (int j = 0; j < cols; j++)
                if (row[j]) crow[colmap[j]]++, row_nnz++;
        } else {
            for (int j = 0; j < cols; j++) row_nnz += row[j] != 0;
        }
        nnz += row_nnz;
    }
    char head[512];
    if (n)
        snprintf(head, sizeof head, "%s  %dx%d  density %.1f%%  nnz %zu", name ? name : "", rows, cols,
                 100.0 * (double)nnz / (double)n, nnz);
    else
        snprintf(head, sizeof head, "%s  empty matrix", name ? name : "");
    canvas_puts(&c, 0, 0, head, 0);
    for (int gi = 0; count && gi < gr; gi++) {
        size_t nr = (size_t)((long long)(gi + 1) * rows / gr - (long long)gi * rows / gr);
        for (int k = 0; k < gc; k++) {
            size_t nc = (size_t)((long long)(k + 1) * cols / gc - (long long)k * cols / gc);
            int lv = heatmap_level(count[(size_t)gi * (size_t)gc + (size_t)k], nr * nc);
            canvas_put(&c, k, 1 + gi, shade[mode == CANVAS_ASCII][lv], (uint8_t)(HEATMAP_TAG_LEVEL + lv));
        }
    }
    st = canvas_render(&c, out);
done:
    free(count);
    free(colmap);
    canvas_free(&c);
    return st;
}
