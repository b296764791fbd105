/* thumbnail - BRIEF.md's worked example.
 *
 * Trigger: an object created in bucket "images" under "uploads/" ending in
 * ".jpg".  The handler reads the object, decodes it with libjpeg, scales it
 * to fit 320x320 keeping the aspect ratio (area averaging: every source
 * pixel contributes to the destination pixel it overlaps, weighted by the
 * overlap, the right filter for downscaling), encodes JPEG quality 85,
 * writes it to "thumbnails/<name>" in the same bucket, and writes a
 * document to collection "images":
 *   {"id", "image_id", "original_key", "thumbnail_key", "original_size",
 *    "width", "height", "processed_at", "remaining_ms"}
 * (width/height are the thumbnail's; original_size is the upload's byte
 * length).  Images smaller than 320x320 are re-encoded at their size.  A
 * corrupt JPEG fails with a typed error (and so is retried, then
 * dead-lettered); an upload deleted before its job ran is skipped.
 *
 * The collection "images" need not exist: doc_insert creates it on the
 * first thumbnail (with the default rules: service_role only; an app that
 * serves it to clients creates it first with its own rules).
 *
 * The thumbnail write is itself a storage event (bucket images, created),
 * but its key starts with "thumbnails/", so the trigger below does not see
 * it: no thumbnail of a thumbnail, no loop.
 *
 * Large photos are decoded with libjpeg's DCT scaling (1/2, 1/4 or 1/8,
 * keeping at least twice the thumbnail size) before the area resize: the
 * same result within rounding, several times faster, less memory.  Images
 * over MAX_PIXELS (after that scaling) are refused, a bound against small
 * files that declare huge dimensions. */
#include <basalt/function.h>

#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SIDE 320
#define MAX_PIXELS (64L * 1000 * 1000)
#define KEY_MAX 1024 /* storage keys: st_path.h ST_KEY_MAX */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

/* Decode to packed RGB (or grey), possibly DCT-scaled: *w x *h is the
 * decoded size, *ow x *oh the image's own; caller frees *px. */
static int decode(const unsigned char *data, size_t len, unsigned char **px, int *w, int *h, int *ow, int *oh,
                  int *comp, char *why)
{
    struct jpeg_decompress_struct d;
    jerr e;
    unsigned char *volatile out = NULL;
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    if (setjmp(e.jb)) {
        snprintf(why, 200, "%s", e.msg);
        jpeg_destroy_decompress(&d);
        free(out);
        return -1;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    if (d.num_components != 1)
        d.out_color_space = JCS_RGB;
    /* DCT scaling: the smallest 1/n that keeps both sides >= 2 * MAX_SIDE
     * (or the full size when the image is already small). */
    d.scale_num = 1;
    d.scale_denom = 1;
    for (unsigned n = 8; n > 1; n /= 2) {
        if (d.image_width / n >= 2 * MAX_SIDE && d.image_height / n >= 2 * MAX_SIDE) {
            d.scale_denom = n;
            break;
        }
    }
    jpeg_start_decompress(&d);
    if ((long)d.output_width * (long)d.output_height > MAX_PIXELS) {
        snprintf(why, 200, "image too large (%ux%u)", d.output_width, d.output_height);
        jpeg_destroy_decompress(&d);
        return -1;
    }
    size_t stride = (size_t)d.output_width * (size_t)d.output_components;
    out = malloc(stride * d.output_height);
    if (!out) {
        snprintf(why, 200, "out of memory");
        jpeg_destroy_decompress(&d);
        return -1;
    }
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = out + stride * d.output_scanline;
        jpeg_read_scanlines(&d, &row, 1);
    }
    *ow = (int)d.image_width;
    *oh = (int)d.image_height;
    *w = (int)d.output_width;
    *h = (int)d.output_height;
    *comp = d.output_components;
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    *px = out;
    return 0;
}

/* Area-averaging resize of a comp-channel image. */
static unsigned char *area_resize(const unsigned char *src, int sw, int sh, int comp, int dw, int dh)
{
    unsigned char *dst = malloc((size_t)dw * (size_t)dh * (size_t)comp);
    double *acc = calloc((size_t)comp, sizeof *acc);
    if (!dst || !acc) {
        free(dst);
        free(acc);
        return NULL;
    }
    double sx = (double)sw / dw, sy = (double)sh / dh;
    for (int y = 0; y < dh; y++) {
        double y0 = y * sy, y1 = (y + 1) * sy;
        for (int x = 0; x < dw; x++) {
            double x0 = x * sx, x1 = (x + 1) * sx, wsum = 0;
            memset(acc, 0, (size_t)comp * sizeof *acc);
            for (int yy = (int)y0; yy < sh && yy < y1; yy++) {
                double wy = (yy + 1 < y1 ? yy + 1 : y1) - (yy > y0 ? yy : y0);
                for (int xx = (int)x0; xx < sw && xx < x1; xx++) {
                    double wx = (xx + 1 < x1 ? xx + 1 : x1) - (xx > x0 ? xx : x0);
                    double wgt = wx * wy;
                    const unsigned char *p = src + ((size_t)yy * (size_t)sw + (size_t)xx) * (size_t)comp;
                    for (int c = 0; c < comp; c++)
                        acc[c] += p[c] * wgt;
                    wsum += wgt;
                }
            }
            unsigned char *q = dst + ((size_t)y * (size_t)dw + (size_t)x) * (size_t)comp;
            for (int c = 0; c < comp; c++) {
                double v = wsum > 0 ? acc[c] / wsum + 0.5 : 0;
                q[c] = (unsigned char)(v > 255 ? 255 : v);
            }
        }
    }
    free(acc);
    return dst;
}

static int encode(const unsigned char *px, int w, int h, int comp, unsigned char **out, unsigned long *outlen, char *why)
{
    struct jpeg_compress_struct c;
    jerr e;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    *out = NULL;
    *outlen = 0;
    if (setjmp(e.jb)) {
        snprintf(why, 200, "%s", e.msg);
        jpeg_destroy_compress(&c);
        return -1;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, out, outlen);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comp;
    c.in_color_space = comp == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 85, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * (size_t)w * (size_t)comp);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return 0;
}

static void json_escape(const char *s, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 2 < cap; i++) {
        char ch = s[i];
        if (ch == '"' || ch == '\\')
            out[j++] = '\\';
        out[j++] = (unsigned char)ch < 0x20 ? ' ' : ch;
    }
    out[j] = '\0';
}

static int fail(basalt_ctx *ctx, basalt_response *res, const char *type, const char *msg)
{
    ctx->host->log(ctx, BASALT_LOG_WARN, "%s: %s", type, msg);
    ctx->host->error(res, 500, type, msg);
    return BASALT_ERROR;
}

static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    if (ev->kind != BASALT_EVENT_STORAGE)
        return ctx->host->error(res, 400, "WrongEvent", "thumbnail only handles storage events"), BASALT_ERROR;
    const basalt_storage_event *s = ev->storage;
    void *data = NULL;
    size_t len = 0;
    char *ctype = NULL;
    int rc = ctx->host->object_read(ctx, s->bucket, s->name, &data, &len, &ctype);
    ctx->host->free(ctype);
    if (rc == BASALT_ENOTFOUND) { /* deleted before this job ran: nothing to do */
        basalt_log(ctx, "thumbnail %s: the object is gone, skipped", s->name);
        return BASALT_OK;
    }
    if (rc != BASALT_OK)
        return fail(ctx, res, "ReadFailed", "could not read the uploaded object");
    size_t original_size = len;
    unsigned char *px = NULL, *small = NULL, *jpg = NULL;
    unsigned long jlen = 0;
    int w, h, ow, oh, comp;
    char why[200] = "";
    if (decode(data, len, &px, &w, &h, &ow, &oh, &comp, why) != 0) {
        ctx->host->free(data);
        return fail(ctx, res, "DecodeFailed", why);
    }
    ctx->host->free(data);
    /* the target size from the image's own dimensions (exact aspect) */
    int tw = ow, th = oh;
    if (ow > MAX_SIDE || oh > MAX_SIDE) {
        if (ow >= oh) {
            tw = MAX_SIDE;
            th = (int)((double)oh * MAX_SIDE / ow + 0.5);
        } else {
            th = MAX_SIDE;
            tw = (int)((double)ow * MAX_SIDE / oh + 0.5);
        }
        if (tw < 1)
            tw = 1;
        if (th < 1)
            th = 1;
    }
    small = (tw == w && th == h) ? px : area_resize(px, w, h, comp, tw, th);
    if (!small) {
        free(px);
        return fail(ctx, res, "ResizeFailed", "out of memory");
    }
    rc = encode(small, tw, th, comp, &jpg, &jlen, why);
    if (small != px)
        free(small);
    free(px);
    if (rc != 0) {
        free(jpg);
        return fail(ctx, res, "EncodeFailed", why);
    }
    const char *base = strrchr(s->name, '/');
    base = base ? base + 1 : s->name;
    char thumb_key[KEY_MAX + 16];
    int kl = snprintf(thumb_key, sizeof thumb_key, "thumbnails/%s", base);
    if (kl < 0 || kl > KEY_MAX) {
        free(jpg);
        return fail(ctx, res, "NameTooLong", "the thumbnail key would be longer than 1024 bytes");
    }
    rc = ctx->host->object_write(ctx, s->bucket, thumb_key, jpg, jlen, "image/jpeg");
    free(jpg);
    if (rc != BASALT_OK)
        return fail(ctx, res, "WriteFailed", "could not write the thumbnail");
    char id[KEY_MAX + 1], orig[2 * KEY_MAX + 1], tk[2 * KEY_MAX + 40], now[40];
    /* image id: the original name without directory and extension */
    snprintf(id, sizeof id, "%s", base);
    char *dot = strrchr(id, '.');
    if (dot)
        *dot = '\0';
    char id_esc[2 * KEY_MAX + 1];
    json_escape(id, id_esc, sizeof id_esc);
    json_escape(s->name, orig, sizeof orig);
    json_escape(thumb_key, tk, sizeof tk);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char doc[8 * KEY_MAX + 512];
    snprintf(doc, sizeof doc,
             "{\"id\":\"%s\",\"image_id\":\"%s\",\"original_key\":\"%s\",\"thumbnail_key\":\"%s\","
             "\"original_size\":%lld,\"original_width\":%d,\"original_height\":%d,\"width\":%d,\"height\":%d,"
             "\"processed_at\":\"%s\",\"remaining_ms\":%lld}",
             id_esc, id_esc, orig, tk, (long long)original_size, ow, oh, tw, th, now, (long long)basalt_remaining_ms(ctx));
    rc = ctx->host->doc_insert(ctx, "images", doc, NULL);
    if (rc == BASALT_EEXISTS) { /* re-upload or retry: refresh the metadata */
        rc = ctx->host->doc_update(ctx, "images", id, doc, NULL);
    }
    if (rc != BASALT_OK)
        return fail(ctx, res, "MetadataFailed", "could not write the images document");
    basalt_log(ctx, "thumbnail %s: %dx%d -> %dx%d", s->name, ow, oh, tw, th);
    return BASALT_OK;
}

static const basalt_trigger triggers[] = {
    BASALT_ON_STORAGE("images", BASALT_CREATED, "uploads/", ".jpg"),
};

BASALT_FUNCTION(.name = "thumbnail", .description = "320x320 JPEG thumbnails of uploads/*.jpg in bucket images",
                .triggers = triggers, .ntriggers = BASALT_COUNT(triggers), .timeout_ms = 30000, .concurrency = 2,
                .handle = handle);
