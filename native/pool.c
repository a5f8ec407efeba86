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
#include "pool.h"

typedef struct {
  int b, h, w, c, oh, ow, fh, fw, sh, sw, pt, pl;
} pool_geom;

static void max_pool_grad(const pool_geom *g, const float *x, const float *dy, float *dx) {
  float *best = malloc(sizeof(float) * (size_t)g->c);
  int64_t *at = malloc(sizeof(int64_t) * (size_t)g->c);
  if (!best || !at) goto done;
  memset(dx, 0, sizeof(float) * (size_t)g->b * g->h * g->w * g->c);
  for (int bi = 0; bi < g->b; bi++)
    for (int oy = 0; oy < g->oh; oy++) {
      int y0 = oy * g->sh - g->pt, y1 = y0 + g->fh;
      y0 = y0 < 0 ? 0 : y0;
      y1 = y1 > g->h ? g->h : y1;
      for (int ox = 0; ox < g->ow; ox++) {
        int x0 = ox * g->sw - g->pl, x1 = x0 + g->fw;
        x0 = x0 < 0 ? 0 : x0;
        x1 = x1 > g->w ? g->w : x1;
        for (int ch = 0; ch < g->c; ch++) {
          best[ch] = -INFINITY;
          at[ch] = -1;
        }
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++) {
            int64_t base = (((int64_t)bi * g->h + iy) * g->w + ix) * g->c;
            const float *px = x + base;
            for (int ch = 0; ch < g->c; ch++)
              if (px[ch] > best[ch]) {
                best[ch] = px[ch];
                at[ch] = base + ch;
              }
          }
        const float *d = dy + (((int64_t)bi * g->oh + oy) * g->ow + ox) * g->c;
        for (int ch = 0; ch < g->c; ch++)
          if (at[ch] >= 0) dx[at[ch]] += d[ch];
      }
    }
done:
  free(best);
  free(at);
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
