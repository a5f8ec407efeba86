/*
 * MaxPoolGrad for the wasm backend (NHWC, dilation 1): each window's dy goes to the window's first
 * strict maximum in row-major order, the cpu backend's rule, so ties (every zero of a relu) land
 * where they do on cpu. tfjs-backend-wasm's kernel was the largest of simple-cnn's step.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "pool.h"

typedef struct {
  int b, h, w, c, oh, ow, fh, fw, sh, sw, pt, pl;
} pool_geom;

/* One window's channels [ch0, ch0 + n): the first strict maximum's pixel (iy * w + ix) per channel, -1 where none. */
static void window_argmax_plain(const pool_geom *g, const float *img, int y0, int y1, int x0, int x1, int ch0, int n, int32_t *at) {
  for (int l = 0; l < n; l++) {
    float best = -INFINITY;
    int32_t where = -1;
    for (int iy = y0; iy < y1; iy++)
      for (int ix = x0; ix < x1; ix++) {
        float v = img[((int64_t)iy * g->w + ix) * g->c + ch0 + l];
        int gt = v > best;
        best = gt ? v : best;
        where = gt ? iy * g->w + ix : where;
      }
    at[l] = where;
  }
}

#if defined(__x86_64__)
/*
 * The same for 8 channels at once, compare and blend (no branch to mispredict on random data),
 * then dy added at the maxima as masked vector adds over the window (adding 0 elsewhere changes no
 * value: dx never holds -0), in the scalar scatter's order.
 */
__attribute__((target("avx2"))) static void window_grad8(const pool_geom *g, const float *img, float *dimg, const float *d, int y0, int y1, int x0,
                                                        int x1, int ch0) {
  __m256 best = _mm256_set1_ps(-INFINITY);
  __m256i where = _mm256_set1_epi32(-1);
  for (int iy = y0; iy < y1; iy++)
    for (int ix = x0; ix < x1; ix++) {
      __m256 v = _mm256_loadu_ps(img + ((int64_t)iy * g->w + ix) * g->c + ch0);
      __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
      best = _mm256_blendv_ps(best, v, gt);
      where = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(where), _mm256_castsi256_ps(_mm256_set1_epi32(iy * g->w + ix)), gt));
    }
  __m256 dv = _mm256_loadu_ps(d + ch0);
  for (int iy = y0; iy < y1; iy++)
    for (int ix = x0; ix < x1; ix++) {
      __m256 hit = _mm256_castsi256_ps(_mm256_cmpeq_epi32(where, _mm256_set1_epi32(iy * g->w + ix)));
      float *o = dimg + ((int64_t)iy * g->w + ix) * g->c + ch0;
      _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), _mm256_and_ps(hit, dv)));
    }
}
#endif

static void max_pool_grad(const pool_geom *g, const float *x, const float *dy, float *dx) {
  int avx2 = 0;
#if defined(__x86_64__)
  avx2 = __builtin_cpu_supports("avx2");
#endif
  int32_t at[8];
  int64_t image = (int64_t)g->h * g->w * g->c;
  memset(dx, 0, sizeof(float) * (size_t)g->b * image);
  for (int bi = 0; bi < g->b; bi++) {
    const float *img = x + bi * image;
    float *dimg = dx + bi * image;
    for (int oy = 0; oy < g->oh; oy++) {
      int y0 = oy * g->sh - g->pt, y1 = y0 + g->fh;
      y0 = y0 < 0 ? 0 : y0;
      y1 = y1 > g->h ? g->h : y1;
      for (int ox = 0; ox < g->ow; ox++) {
        int x0 = ox * g->sw - g->pl, x1 = x0 + g->fw;
        x0 = x0 < 0 ? 0 : x0;
        x1 = x1 > g->w ? g->w : x1;
        const float *d = dy + (((int64_t)bi * g->oh + oy) * g->ow + ox) * g->c;
        for (int ch0 = 0; ch0 < g->c; ch0 += 8) {
          int n = g->c - ch0 < 8 ? g->c - ch0 : 8;
#if defined(__x86_64__)
          if (avx2 && n == 8) {
            window_grad8(g, img, dimg, d, y0, y1, x0, x1, ch0);
            continue;
          }
#endif
          window_argmax_plain(g, img, y0, y1, x0, x1, ch0, n, at);
          for (int l = 0; l < n; l++)
            if (at[l] >= 0) dimg[(int64_t)at[l] * g->c + ch0 + l] += d[ch0 + l];
        }
      }
    }
  }
}

/* maxPoolGrad(geom Int32Array[12]: b h w c oh ow fh fw sh sw padTop padLeft, x, dy, dx) */
static napi_value max_pool_grad_napi(napi_env env, napi_callback_info cb) {
  size_t argc = 4, len[4], off;
  napi_value a[4], buf;
  napi_typedarray_type t[4];
  void *p[4];
  if (napi_get_cb_info(env, cb, &argc, a, NULL, NULL) != napi_ok || argc < 4) goto bad;
  for (int i = 0; i < 4; i++)
    if (napi_get_typedarray_info(env, a[i], &t[i], &len[i], &p[i], &buf, &off) != napi_ok) goto bad;
  if (t[0] != napi_int32_array || len[0] != 12 || t[1] != napi_float32_array || t[2] != napi_float32_array || t[3] != napi_float32_array) goto bad;
  const int32_t *q = p[0];
  for (int i = 0; i < 12; i++)
    if (q[i] < (i >= 10 ? 0 : 1)) goto bad;
  pool_geom g = {q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11]};
  size_t nx = (size_t)g.b * g.h * g.w * g.c, ny = (size_t)g.b * g.oh * g.ow * g.c;
  if (len[1] != nx || len[2] != ny || len[3] != nx) goto bad;
  max_pool_grad(&g, p[1], p[2], p[3]);
  return NULL;
bad:
  napi_throw_range_error(env, NULL, "mixstream native: maxPoolGrad(geom Int32Array(12), x, dy, dx) with lengths matching the geometry");
  return NULL;
}

int pool_register(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "maxPoolGrad", NAPI_AUTO_LENGTH, max_pool_grad_napi, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, "maxPoolGrad", fn) == napi_ok;
}
