/*
 * NHWC depthwise conv2d, its two gradients, and the masks of ReLU / clip gradients, for the wasm
 * backend's training step, in place on the wasm heap. tfjs-backend-wasm runs the forward on
 * XNNPACK (one thread, 128-bit SIMD without FMA) and has no gradients: ours ran them as depthwise
 * convolutions with dy as a 112x112 "filter", over half of a MobileNetV2 step at 224 px.
 *   forward  out[b, oy, ox, c*m + q]  = sum_(kh, kw) x[b, iy, ix, c] f[kh, kw, c, q]
 *   input    dx[b, iy, ix, c]         = sum over the taps that read (iy, ix): dy f   (gathered, so each dx is written once)
 *   filter   df[kh, kw, c, q]         = sum_(b, oy, ox) x dy, a partial sum per image added in image order
 * with iy = oy sh + kh dh - pt. Threads take whole output rows (forward, input) or images (filter),
 * so every output keeps one summation order whatever the thread count. Channel multiplier 1 runs
 * 8 channels a register with AVX2+FMA where the CPU has it; other multipliers take the plain loop.
 * Relu and ClipByValue forward run here too, threaded (tfjs-backend-wasm runs them on one thread).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "conv.h"
#include "depthwise.h"
#include "napi_check.h"
#include "threads.h"

typedef conv_geom geom;
static int use_avx2;

/* First and one-past-last tap k with 0 <= o*s + k*d - p < n. */
static void tap_range(int o, int s, int d, int p, int n, int taps, int *k0, int *k1) {
  int a = 0, b = taps;
  while (a < b && o * s + a * d - p < 0) a++;
  while (b > a && o * s + (b - 1) * d - p >= n) b--;
  *k0 = a;
  *k1 = b;
}

typedef struct {
  const geom *g;
  const float *x, *f, *dy;
  float *out;
  int m;
  float *parts;
} dw_job;

/* ---- forward ---- */
static void fwd_row_plain(const dw_job *j, int bi, int oy) {
  const geom *g = j->g;
  int c = g->ci, m = j->m, co = g->co, kh0, kh1;
  tap_range(oy, g->sh, g->dh, g->pt, g->h, g->fh, &kh0, &kh1);
  float *o = j->out + (((size_t)bi * g->oh + oy) * g->ow) * co;
  for (int ox = 0; ox < g->ow; ox++, o += co) {
    int kw0, kw1;
    tap_range(ox, g->sw, g->dw, g->pl, g->w, g->fw, &kw0, &kw1);
    for (int q = 0; q < co; q++) o[q] = 0.0f;
    for (int kh = kh0; kh < kh1; kh++) {
      int iy = oy * g->sh + kh * g->dh - g->pt;
      for (int kw = kw0; kw < kw1; kw++) {
        int ix = ox * g->sw + kw * g->dw - g->pl;
        const float *xi = j->x + (((size_t)bi * g->h + iy) * g->w + ix) * c;
        const float *fk = j->f + ((size_t)kh * g->fw + kw) * co;
        for (int ci = 0; ci < c; ci++)
          for (int q = 0; q < m; q++) o[ci * m + q] += xi[ci] * fk[ci * m + q];
      }
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static inline __m256i lanes(int r) {
  r = r > 8 ? 8 : r;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Multiplier 1: 32 channels (four registers) a pass over the taps, masked at the end. */
__attribute__((target("avx2,fma"))) static void fwd_row_avx2(const dw_job *j, int bi, int oy) {
  const geom *g = j->g;
  int c = g->ci, kh0, kh1;
  tap_range(oy, g->sh, g->dh, g->pt, g->h, g->fh, &kh0, &kh1);
  float *o = j->out + (((size_t)bi * g->oh + oy) * g->ow) * c;
  const float *xb = j->x + (size_t)bi * g->h * g->w * c;
  for (int ox = 0; ox < g->ow; ox++, o += c) {
    int kw0, kw1;
    tap_range(ox, g->sw, g->dw, g->pl, g->w, g->fw, &kw0, &kw1);
    for (int c0 = 0; c0 < c; c0 += 32) {
      __m256i m0 = lanes(c - c0), m1 = lanes(c - c0 - 8), m2 = lanes(c - c0 - 16), m3 = lanes(c - c0 - 24);
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int kh = kh0; kh < kh1; kh++) {
        int iy = oy * g->sh + kh * g->dh - g->pt;
        for (int kw = kw0; kw < kw1; kw++) {
          int ix = ox * g->sw + kw * g->dw - g->pl;
          const float *xi = xb + ((size_t)iy * g->w + ix) * c + c0, *fk = j->f + ((size_t)kh * g->fw + kw) * c + c0;
          if (c - c0 >= 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xi), _mm256_loadu_ps(fk), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 8), _mm256_loadu_ps(fk + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 16), _mm256_loadu_ps(fk + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 24), _mm256_loadu_ps(fk + 24), a3);
          } else {
            a0 = _mm256_fmadd_ps(_mm256_maskload_ps(xi, m0), _mm256_maskload_ps(fk, m0), a0);
            a1 = _mm256_fmadd_ps(_mm256_maskload_ps(xi + 8, m1), _mm256_maskload_ps(fk + 8, m1), a1);
            a2 = _mm256_fmadd_ps(_mm256_maskload_ps(xi + 16, m2), _mm256_maskload_ps(fk + 16, m2), a2);
            a3 = _mm256_fmadd_ps(_mm256_maskload_ps(xi + 24, m3), _mm256_maskload_ps(fk + 24, m3), a3);
          }
        }
      }
      _mm256_maskstore_ps(o + c0, m0, a0);
      _mm256_maskstore_ps(o + c0 + 8, m1, a1);
      _mm256_maskstore_ps(o + c0 + 16, m2, a2);
      _mm256_maskstore_ps(o + c0 + 24, m3, a3);
    }
  }
}
#endif

static void fwd_task(void *ctx, int t) {
  const dw_job *j = ctx;
  int bi = t / j->g->oh, oy = t % j->g->oh;
#if defined(__x86_64__)
  if (use_avx2 && j->m == 1) {
    fwd_row_avx2(j, bi, oy);
    return;
  }
#endif
  fwd_row_plain(j, bi, oy);
}

int dw_forward(const conv_geom *g, const float *x, const float *f, float *out) {
  dw_job j = {.g = g, .x = x, .f = f, .out = out, .m = g->co / g->ci};
  parallel_for(g->b * g->oh, fwd_task, &j, 2.0 * g->b * g->oh * g->ow * g->co * g->fh * g->fw);
  return 1;
}

/* ---- input gradient: dx row (bi, iy), gathered over the output pixels whose taps read it ---- */
/* The taps k of one axis that reach input i from an output o = (i + p - k d) / s in [0, n). */
static int taps_reaching(int i, int s, int d, int p, int n, int taps, int *ks, int *os) {
  int count = 0;
  for (int k = 0; k < taps; k++) {
    int v = i + p - k * d;
    if (v < 0 || v % s != 0 || v / s >= n) continue;
    ks[count] = k;
    os[count++] = v / s;
  }
  return count;
}

#define MAX_TAPS 64
static void input_row_plain(const dw_job *j, int bi, int iy) {
  const geom *g = j->g;
  int c = g->ci, m = j->m, co = g->co, khs[MAX_TAPS], oys[MAX_TAPS], kws[MAX_TAPS], oxs[MAX_TAPS];
  int nh = taps_reaching(iy, g->sh, g->dh, g->pt, g->oh, g->fh, khs, oys);
  float *d = j->out + (((size_t)bi * g->h + iy) * g->w) * c;
  for (int ix = 0; ix < g->w; ix++, d += c) {
    int nw = taps_reaching(ix, g->sw, g->dw, g->pl, g->ow, g->fw, kws, oxs);
    for (int ci = 0; ci < c; ci++) d[ci] = 0.0f;
    for (int a = 0; a < nh; a++)
      for (int b = 0; b < nw; b++) {
        const float *dyp = j->dy + (((size_t)bi * g->oh + oys[a]) * g->ow + oxs[b]) * co;
        const float *fk = j->f + ((size_t)khs[a] * g->fw + kws[b]) * co;
        for (int ci = 0; ci < c; ci++)
          for (int q = 0; q < m; q++) d[ci] += dyp[ci * m + q] * fk[ci * m + q];
      }
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void input_row_avx2(const dw_job *j, int bi, int iy) {
  const geom *g = j->g;
  int c = g->ci, khs[MAX_TAPS], oys[MAX_TAPS], kws[MAX_TAPS], oxs[MAX_TAPS];
  int nh = taps_reaching(iy, g->sh, g->dh, g->pt, g->oh, g->fh, khs, oys);
  float *d = j->out + (((size_t)bi * g->h + iy) * g->w) * c;
  const float *dyb = j->dy + (size_t)bi * g->oh * g->ow * c;
  for (int ix = 0; ix < g->w; ix++, d += c) {
    int nw = taps_reaching(ix, g->sw, g->dw, g->pl, g->ow, g->fw, kws, oxs);
    for (int c0 = 0; c0 < c; c0 += 32) {
      __m256i m0 = lanes(c - c0), m1 = lanes(c - c0 - 8), m2 = lanes(c - c0 - 16), m3 = lanes(c - c0 - 24);
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int a = 0; a < nh; a++)
        for (int b = 0; b < nw; b++) {
          const float *dyp = dyb + ((size_t)oys[a] * g->ow + oxs[b]) * c + c0, *fk = j->f + ((size_t)khs[a] * g->fw + kws[b]) * c + c0;
          if (c - c0 >= 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(dyp), _mm256_loadu_ps(fk), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(dyp + 8), _mm256_loadu_ps(fk + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(dyp + 16), _mm256_loadu_ps(fk + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(dyp + 24), _mm256_loadu_ps(fk + 24), a3);
          } else {
            a0 = _mm256_fmadd_ps(_mm256_maskload_ps(dyp, m0), _mm256_maskload_ps(fk, m0), a0);
            a1 = _mm256_fmadd_ps(_mm256_maskload_ps(dyp + 8, m1), _mm256_maskload_ps(fk + 8, m1), a1);
            a2 = _mm256_fmadd_ps(_mm256_maskload_ps(dyp + 16, m2), _mm256_maskload_ps(fk + 16, m2), a2);
            a3 = _mm256_fmadd_ps(_mm256_maskload_ps(dyp + 24, m3), _mm256_maskload_ps(fk + 24, m3), a3);
          }
        }
      _mm256_maskstore_ps(d + c0, m0, a0);
      _mm256_maskstore_ps(d + c0 + 8, m1, a1);
      _mm256_maskstore_ps(d + c0 + 16, m2, a2);
      _mm256_maskstore_ps(d + c0 + 24, m3, a3);
    }
  }
}
#endif

static void input_task(void *ctx, int t) {
  const dw_job *j = ctx;
  int bi = t / j->g->h, iy = t % j->g->h;
#if defined(__x86_64__)
  if (use_avx2 && j->m == 1) {
    input_row_avx2(j, bi, iy);
    return;
  }
#endif
  input_row_plain(j, bi, iy);
}

int dw_backprop_input(const conv_geom *g, const float *dy, const float *f, float *dx) {
  if (g->fh > MAX_TAPS || g->fw > MAX_TAPS) return 0;
  dw_job j = {.g = g, .dy = dy, .f = f, .out = dx, .m = g->co / g->ci};
  parallel_for(g->b * g->h, input_task, &j, 2.0 * g->b * g->oh * g->ow * g->co * g->fh * g->fw);
  return 1;
}

/* ---- filter gradient: image t's partial df, row by row, each tap's channels held in registers over the row ---- */
static void filter_task(void *ctx, int t) {
  const dw_job *j = ctx;
  const geom *g = j->g;
  int c = g->ci, m = j->m, co = g->co;
  size_t fsize = (size_t)g->fh * g->fw * co;
  float *p = j->parts + (size_t)t * fsize;
  memset(p, 0, sizeof(float) * fsize);
  const float *xb = j->x + (size_t)t * g->h * g->w * c, *dyb = j->dy + (size_t)t * g->oh * g->ow * co;
  for (int oy = 0; oy < g->oh; oy++) {
    int kh0, kh1;
    tap_range(oy, g->sh, g->dh, g->pt, g->h, g->fh, &kh0, &kh1);
    for (int kh = kh0; kh < kh1; kh++) {
      int iy = oy * g->sh + kh * g->dh - g->pt;
      for (int kw = 0; kw < g->fw; kw++) {
        /* the output columns whose tap kw lies inside the image */
        int ox0 = 0, ox1 = g->ow;
        while (ox0 < ox1 && ox0 * g->sw + kw * g->dw - g->pl < 0) ox0++;
        while (ox1 > ox0 && (ox1 - 1) * g->sw + kw * g->dw - g->pl >= g->w) ox1--;
        float *pk = p + ((size_t)kh * g->fw + kw) * co;
        const float *dyr = dyb + (size_t)oy * g->ow * co;
        const float *xr = xb + (size_t)iy * g->w * c;
        size_t xstep = (size_t)g->sw * c;
#if defined(__x86_64__)
        if (use_avx2 && m == 1) {
          dw_filter_row_avx2(pk, xr + ((size_t)ox0 * g->sw + kw * g->dw - g->pl) * c, xstep, dyr + (size_t)ox0 * c, c, ox1 - ox0);
          continue;
        }
#endif
        for (int ox = ox0; ox < ox1; ox++) {
          const float *xi = xr + ((size_t)ox * g->sw + kw * g->dw - g->pl) * c, *di = dyr + (size_t)ox * co;
          for (int ci = 0; ci < c; ci++)
            for (int q = 0; q < m; q++) pk[ci * m + q] += xi[ci] * di[ci * m + q];
        }
      }
    }
  }
}

#if defined(__x86_64__)
/* pk[c] += sum over n pixels of x[i * xstep + c] dy[i * c + c], 32 channels at a time in registers. */
__attribute__((target("avx2,fma"))) void dw_filter_row_avx2(float *pk, const float *x, size_t xstep, const float *dy, int c, int n) {
  for (int c0 = 0; c0 < c; c0 += 32) {
    __m256i m0 = lanes(c - c0), m1 = lanes(c - c0 - 8), m2 = lanes(c - c0 - 16), m3 = lanes(c - c0 - 24);
    __m256 a0 = _mm256_maskload_ps(pk + c0, m0), a1 = _mm256_maskload_ps(pk + c0 + 8, m1), a2 = _mm256_maskload_ps(pk + c0 + 16, m2),
           a3 = _mm256_maskload_ps(pk + c0 + 24, m3);
    const float *xi = x + c0, *di = dy + c0;
    if (c - c0 >= 32)
      for (int i = 0; i < n; i++, xi += xstep, di += c) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xi), _mm256_loadu_ps(di), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 8), _mm256_loadu_ps(di + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 16), _mm256_loadu_ps(di + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 24), _mm256_loadu_ps(di + 24), a3);
      }
    else
      for (int i = 0; i < n; i++, xi += xstep, di += c) {
        a0 = _mm256_fmadd_ps(_mm256_maskload_ps(xi, m0), _mm256_maskload_ps(di, m0), a0);
        a1 = _mm256_fmadd_ps(_mm256_maskload_ps(xi + 8, m1), _mm256_maskload_ps(di + 8, m1), a1);
        a2 = _mm256_fmadd_ps(_mm256_maskload_ps(xi + 16, m2), _mm256_maskload_ps(di + 16, m2), a2);
        a3 = _mm256_fmadd_ps(_mm256_maskload_ps(xi + 24, m3), _mm256_maskload_ps(di + 24, m3), a3);
      }
    _mm256_maskstore_ps(pk + c0, m0, a0);
    _mm256_maskstore_ps(pk + c0 + 8, m1, a1);
    _mm256_maskstore_ps(pk + c0 + 16, m2, a2);
    _mm256_maskstore_ps(pk + c0 + 24, m3, a3);
  }
}
#endif

int dw_backprop_filter(const conv_geom *g, const float *x, const float *dy, float *df) {
  size_t fsize = (size_t)g->fh * g->fw * g->co;
  static _Thread_local float *parts;
  static _Thread_local size_t have;
  size_t need = fsize * (size_t)g->b;
  if (need > have) {
    float *grown = malloc(sizeof(float) * need);
    if (!grown) return 0;
    free(parts);
    parts = grown;
    have = need;
  }
  dw_job j = {.g = g, .x = x, .dy = dy, .m = g->co / g->ci, .parts = parts};
  parallel_for(g->b, filter_task, &j, 2.0 * g->b * g->oh * g->ow * g->co * g->fh * g->fw);
  memcpy(df, parts, sizeof(float) * fsize);
  for (int b = 1; b < g->b; b++) {
    const float *p = parts + (size_t)b * fsize;
    for (size_t i = 0; i < fsize; i++) df[i] += p[i];
  }
  return 1;
}

/* ---- masks: dx = dy where lo <= x <= hi (clip) or x > 0 (relu), else 0; NaN x passes NaN as tfjs's step does ---- */
typedef struct {
  const float *x, *dy;
  float *dx;
  size_t n;
  float lo, hi;
  int relu;
} mask_job;
#define MASK_CHUNK 65536
static void mask_task(void *ctx, int t) {
  const mask_job *j = ctx;
  size_t a = (size_t)t * MASK_CHUNK, b = a + MASK_CHUNK < j->n ? a + MASK_CHUNK : j->n;
  const float *x = j->x, *dy = j->dy;
  float *dx = j->dx;
  /* Branch-free, so the loops vectorise: both sides are read, the mask picks one. */
  if (j->relu)
    for (size_t i = a; i < b; i++) {
      /* dy times step(x), as tfjs computes it: -0 for a negative dy, NaN for an infinite dy or a NaN x. */
      float v = x[i], m = v > 0.0f ? 1.0f : (v != v ? v : 0.0f);
      dx[i] = dy[i] * m;
    }
  else {
    float lo = j->lo, hi = j->hi;
    for (size_t i = a; i < b; i++) {
      float v = x[i], d = dy[i];
      dx[i] = (v >= lo) & (v <= hi) ? d : 0.0f;
    }
  }
}

void grad_mask(const float *x, const float *dy, float *dx, size_t n, float lo, float hi, int relu) {
  mask_job j = {x, dy, dx, n, lo, hi, relu};
  parallel_for((int)((n + MASK_CHUNK - 1) / MASK_CHUNK), mask_task, &j, 8.0 * (double)n);
}

/* ---- activations: out = relu(x) (relu 1) or clip(x, lo, hi); NaN stays NaN ---- */
static void act_task(void *ctx, int t) {
  const mask_job *j = ctx;
  size_t a = (size_t)t * MASK_CHUNK, b = a + MASK_CHUNK < j->n ? a + MASK_CHUNK : j->n;
  const float *x = j->x;
  float *out = j->dx;
  if (j->relu)
    for (size_t i = a; i < b; i++) {
      float v = x[i];
      out[i] = v > 0.0f ? v : (v != v ? v : 0.0f); /* relu(-0) = +0, as tfjs's max(x, 0) */
    }
  else {
    float lo = j->lo, hi = j->hi;
    for (size_t i = a; i < b; i++) {
      float v = x[i];
      out[i] = v < lo ? lo : (v > hi ? hi : v);
    }
  }
}

void act_forward(const float *x, float *out, size_t n, float lo, float hi, int relu) {
  mask_job j = {x, NULL, out, n, lo, hi, relu};
  parallel_for((int)((n + MASK_CHUNK - 1) / MASK_CHUNK), act_task, &j, 8.0 * (double)n);
}

void depthwise_init(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const char *cap = getenv("MIXSTREAM_NATIVE_SIMD");
  use_avx2 = (!cap || strcmp(cap, "none") != 0) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
}

/* ---- N-API ---- */
static int f32(napi_env env, napi_value v, size_t need, float **data, const char *what) {
  napi_typedarray_type type;
  size_t length, offset;
  napi_value buffer;
  if (napi_get_typedarray_info(env, v, &type, &length, (void **)data, &buffer, &offset) != napi_ok || type != napi_float32_array || length != need) {
    napi_throw_range_error(env, NULL, what);
    return 0;
  }
  return 1;
}

static int dw_geometry(napi_env env, napi_value v, conv_geom *g) {
  napi_typedarray_type type;
  size_t length, offset;
  napi_value buffer;
  int32_t *p;
  if (napi_get_typedarray_info(env, v, &type, &length, (void **)&p, &buffer, &offset) != napi_ok || type != napi_int32_array || length != CONV_GEOM_FIELDS) {
    napi_throw_type_error(env, NULL, "mixstream native: depthwise geometry must be an Int32Array of 15");
    return 0;
  }
  for (size_t i = 0; i < CONV_GEOM_FIELDS; i++)
    if (p[i] < (i >= 13 ? 0 : 1)) {
      napi_throw_range_error(env, NULL, "mixstream native: depthwise geometry has a non-positive size");
      return 0;
    }
  *g = (conv_geom){p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
  if (g->co % g->ci != 0 || g->fh > MAX_TAPS || g->fw > MAX_TAPS) {
    napi_throw_range_error(env, NULL, "mixstream native: depthwise output channels must be a multiple of the input's, filters at most 64 taps");
    return 0;
  }
  return 1;
}

#define DW_SIZES(g)                                                  \
  size_t nx = (size_t)(g).b * (g).h * (g).w * (g).ci;                \
  size_t nf = (size_t)(g).fh * (g).fw * (g).co;                      \
  size_t ny = (size_t)(g).b * (g).oh * (g).ow * (g).co

/* dwForward(geom, x, filter, out); dwBackpropInput(geom, dy, filter, dx); dwBackpropFilter(geom, x, dy, df) */
static napi_value js_forward(napi_env env, napi_callback_info cb) {
  size_t argc = 4;
  napi_value a[4];
  conv_geom g;
  float *x, *f, *out;
  CHECK(napi_get_cb_info(env, cb, &argc, a, NULL, NULL));
  if (argc < 4 || !dw_geometry(env, a[0], &g)) return NULL;
  DW_SIZES(g);
  if (!f32(env, a[1], nx, &x, "mixstream native: dwForward x") || !f32(env, a[2], nf, &f, "mixstream native: dwForward filter") ||
      !f32(env, a[3], ny, &out, "mixstream native: dwForward out"))
    return NULL;
  dw_forward(&g, x, f, out);
  return NULL;
}

static napi_value js_input(napi_env env, napi_callback_info cb) {
  size_t argc = 4;
  napi_value a[4];
  conv_geom g;
  float *dy, *f, *dx;
  CHECK(napi_get_cb_info(env, cb, &argc, a, NULL, NULL));
  if (argc < 4 || !dw_geometry(env, a[0], &g)) return NULL;
  DW_SIZES(g);
  if (!f32(env, a[1], ny, &dy, "mixstream native: dwBackpropInput dy") || !f32(env, a[2], nf, &f, "mixstream native: dwBackpropInput filter") ||
      !f32(env, a[3], nx, &dx, "mixstream native: dwBackpropInput dx"))
    return NULL;
  dw_backprop_input(&g, dy, f, dx);
  return NULL;
}

static napi_value js_filter(napi_env env, napi_callback_info cb) {
  size_t argc = 4;
  napi_value a[4];
  conv_geom g;
  float *x, *dy, *df;
  CHECK(napi_get_cb_info(env, cb, &argc, a, NULL, NULL));
  if (argc < 4 || !dw_geometry(env, a[0], &g)) return NULL;
  DW_SIZES(g);
  if (!f32(env, a[1], nx, &x, "mixstream native: dwBackpropFilter x") || !f32(env, a[2], ny, &dy, "mixstream native: dwBackpropFilter dy") ||
      !f32(env, a[3], nf, &df, "mixstream native: dwBackpropFilter df"))
    return NULL;
  if (!dw_backprop_filter(&g, x, dy, df)) napi_throw_error(env, NULL, "mixstream native: dwBackpropFilter: out of memory for its partial sums");
  return NULL;
}

/* gradMask(x, dy, dx, lo, hi, relu): relu 1 gives ReLU's gradient (lo, hi unused), 0 clip's. */
static napi_value js_mask(napi_env env, napi_callback_info cb) {
  size_t argc = 6;
  napi_value a[6];
  napi_typedarray_type type;
  size_t n, offset;
  napi_value buffer;
  float *x, *dy, *dx;
  double lo, hi;
  int32_t relu;
  CHECK(napi_get_cb_info(env, cb, &argc, a, NULL, NULL));
  if (argc < 6 || napi_get_typedarray_info(env, a[0], &type, &n, (void **)&x, &buffer, &offset) != napi_ok || type != napi_float32_array ||
      napi_get_value_double(env, a[3], &lo) != napi_ok || napi_get_value_double(env, a[4], &hi) != napi_ok || napi_get_value_int32(env, a[5], &relu) != napi_ok) {
    napi_throw_type_error(env, NULL, "mixstream native: gradMask(x, dy, dx, lo, hi, relu)");
    return NULL;
  }
  if (!f32(env, a[1], n, &dy, "mixstream native: gradMask dy") || !f32(env, a[2], n, &dx, "mixstream native: gradMask dx")) return NULL;
  grad_mask(x, dy, dx, n, (float)lo, (float)hi, relu);
  return NULL;
}

/* actForward(x, out, lo, hi, relu): relu 1 gives max(x, 0), 0 clip(x, lo, hi). */
static napi_value js_act(napi_env env, napi_callback_info cb) {
  size_t argc = 5;
  napi_value a[5];
  napi_typedarray_type type;
  size_t n, offset;
  napi_value buffer;
  float *x, *out;
  double lo, hi;
  int32_t relu;
  CHECK(napi_get_cb_info(env, cb, &argc, a, NULL, NULL));
  if (argc < 5 || napi_get_typedarray_info(env, a[0], &type, &n, (void **)&x, &buffer, &offset) != napi_ok || type != napi_float32_array ||
      napi_get_value_double(env, a[2], &lo) != napi_ok || napi_get_value_double(env, a[3], &hi) != napi_ok || napi_get_value_int32(env, a[4], &relu) != napi_ok) {
    napi_throw_type_error(env, NULL, "mixstream native: actForward(x, out, lo, hi, relu)");
    return NULL;
  }
  if (!f32(env, a[1], n, &out, "mixstream native: actForward out")) return NULL;
  act_forward(x, out, n, (float)lo, (float)hi, relu);
  return NULL;
}

int depthwise_register(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"dwForward", js_forward}, {"dwBackpropInput", js_input}, {"dwBackpropFilter", js_filter}, {"gradMask", js_mask}, {"actForward", js_act}};
  napi_value f;
  depthwise_init();
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok || napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return 0;
  return 1;
}
