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
  int m, input; /* channel multiplier; input 1: the gather is the input gradient (dx from dy), 0 the forward */
  float *parts;
} dw_job;

#if defined(__x86_64__)
/* 32 channels in four 8-lane registers, the lanes past the last channel masked off: the one
 * multiply-add step of all three AVX2 kernels, so they share one summation order per lane. */
#define AVX2 __attribute__((target("avx2,fma")))
AVX2 static inline __m256i lanes(int r) {
  r = r > 8 ? 8 : r;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Masks for the r channels left from c0 (all set when r >= 32). */
AVX2 static inline void masks32(int r, __m256i m[4]) {
  m[0] = lanes(r);
  m[1] = lanes(r - 8);
  m[2] = lanes(r - 16);
  m[3] = lanes(r - 24);
}

/* a += p q lane by lane over 32 channels, one FMA a register; `full` skips the masks. */
AVX2 static inline void fma32(__m256 a[4], const float *p, const float *q, const __m256i m[4], int full) {
  if (full) {
    a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(q), a[0]);
    a[1] = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8), _mm256_loadu_ps(q + 8), a[1]);
    a[2] = _mm256_fmadd_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(q + 16), a[2]);
    a[3] = _mm256_fmadd_ps(_mm256_loadu_ps(p + 24), _mm256_loadu_ps(q + 24), a[3]);
  } else {
    a[0] = _mm256_fmadd_ps(_mm256_maskload_ps(p, m[0]), _mm256_maskload_ps(q, m[0]), a[0]);
    a[1] = _mm256_fmadd_ps(_mm256_maskload_ps(p + 8, m[1]), _mm256_maskload_ps(q + 8, m[1]), a[1]);
    a[2] = _mm256_fmadd_ps(_mm256_maskload_ps(p + 16, m[2]), _mm256_maskload_ps(q + 16, m[2]), a[2]);
    a[3] = _mm256_fmadd_ps(_mm256_maskload_ps(p + 24, m[3]), _mm256_maskload_ps(q + 24, m[3]), a[3]);
  }
}

AVX2 static inline void load32(__m256 a[4], const float *p, const __m256i m[4]) {
  for (int i = 0; i < 4; i++) a[i] = _mm256_maskload_ps(p + 8 * i, m[i]);
}

AVX2 static inline void store32(float *p, const __m256i m[4], const __m256 a[4]) {
  for (int i = 0; i < 4; i++) _mm256_maskstore_ps(p + 8 * i, m[i], a[i]);
}
#endif

/* ---- forward and input gradient: one gather, an output row a task ----
 * The forward (input 0) writes out[b, oy, :, :] from x; the input gradient (input 1) writes
 * dx[b, iy, :, :] from dy, gathered over the output pixels whose taps read it, so each dx is
 * written once. Either way a pixel sums source * filter over the taps that join it to the source,
 * rows outer, columns inner, each in increasing tap order: one order whatever the thread count. */
#define MAX_TAPS 64

/* The taps k of one axis joining output position o to a source position, listed in is: the forward
 * reads i = o s + k d - p; the input gradient is read by o' = (o + p - k d) / s; either in [0, n). */
static int axis_taps(int input, int o, int s, int d, int p, int n, int taps, int *ks, int *is) {
  int count = 0;
  for (int k = 0; k < taps; k++) {
    int v = input ? o + p - k * d : o * s + k * d - p;
    if (v < 0 || (input && v % s != 0)) continue;
    if (input) v /= s;
    if (v >= n) continue;
    ks[count] = k;
    is[count++] = v;
  }
  return count;
}

/* Task t's row: its source image, its first output pixel, their widths and channels, its row taps. */
typedef struct {
  const float *src;
  float *out;
  int src_w, out_w, src_c, out_c, nh, khs[MAX_TAPS], rows[MAX_TAPS];
} gather_row;

static void gather_setup(const dw_job *j, int t, gather_row *r) {
  const geom *g = j->g;
  int in = j->input, src_h = in ? g->oh : g->h, out_h = in ? g->h : g->oh, bi = t / out_h, y = t % out_h;
  r->src_w = in ? g->ow : g->w;
  r->out_w = in ? g->w : g->ow;
  r->src_c = in ? g->co : g->ci;
  r->out_c = in ? g->ci : g->co;
  r->src = (in ? j->dy : j->x) + (size_t)bi * src_h * r->src_w * r->src_c;
  r->out = j->out + ((size_t)bi * out_h + y) * r->out_w * r->out_c;
  r->nh = axis_taps(in, y, g->sh, g->dh, g->pt, src_h, g->fh, r->khs, r->rows);
}

/* Inlined twice (input 0 and 1), so each direction's channel loop compiles as its own. */
static inline __attribute__((always_inline)) void gather_row_plain(const dw_job *j, int t, int input) {
  const geom *g = j->g;
  gather_row r;
  gather_setup(j, t, &r);
  int c = g->ci, m = j->m, kws[MAX_TAPS], cols[MAX_TAPS];
  float *o = r.out;
  for (int x = 0; x < r.out_w; x++, o += r.out_c) {
    int nw = axis_taps(input, x, g->sw, g->dw, g->pl, r.src_w, g->fw, kws, cols);
    for (int q = 0; q < r.out_c; q++) o[q] = 0.0f;
    for (int a = 0; a < r.nh; a++)
      for (int b = 0; b < nw; b++) {
        const float *s = r.src + ((size_t)r.rows[a] * r.src_w + cols[b]) * r.src_c, *fk = j->f + ((size_t)r.khs[a] * g->fw + kws[b]) * g->co;
        if (input) /* dx[ci] takes the m outputs ci feeds */
          for (int ci = 0; ci < c; ci++)
            for (int q = 0; q < m; q++) o[ci] += s[ci * m + q] * fk[ci * m + q];
        else
          for (int ci = 0; ci < c; ci++)
            for (int q = 0; q < m; q++) o[ci * m + q] += s[ci] * fk[ci * m + q];
      }
  }
}

#if defined(__x86_64__)
/* Multiplier 1: 32 channels (four registers) a pass over the taps, masked at the end. */
AVX2 static void gather_row_avx2(const dw_job *j, int t) {
  const geom *g = j->g;
  gather_row r;
  gather_setup(j, t, &r);
  int c = g->ci, kws[MAX_TAPS], cols[MAX_TAPS];
  float *o = r.out;
  for (int x = 0; x < r.out_w; x++, o += c) {
    int nw = axis_taps(j->input, x, g->sw, g->dw, g->pl, r.src_w, g->fw, kws, cols);
    for (int c0 = 0; c0 < c; c0 += 32) {
      __m256i mk[4];
      __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      masks32(c - c0, mk);
      for (int ta = 0; ta < r.nh; ta++)
        for (int tb = 0; tb < nw; tb++)
          fma32(a, r.src + ((size_t)r.rows[ta] * r.src_w + cols[tb]) * c + c0, j->f + ((size_t)r.khs[ta] * g->fw + kws[tb]) * c + c0, mk,
                c - c0 >= 32);
      store32(o + c0, mk, a);
    }
  }
}
#endif

static void gather_task(void *ctx, int t) {
  const dw_job *j = ctx;
#if defined(__x86_64__)
  if (use_avx2 && j->m == 1) {
    gather_row_avx2(j, t);
    return;
  }
#endif
  if (j->input)
    gather_row_plain(j, t, 1);
  else
    gather_row_plain(j, t, 0);
}

int dw_forward(const conv_geom *g, const float *x, const float *f, float *out) {
  if (g->fh > MAX_TAPS || g->fw > MAX_TAPS) return 0;
  dw_job j = {.g = g, .x = x, .f = f, .out = out, .m = g->co / g->ci, .input = 0};
  parallel_for(g->b * g->oh, gather_task, &j, 2.0 * g->b * g->oh * g->ow * g->co * g->fh * g->fw);
  return 1;
}

int dw_backprop_input(const conv_geom *g, const float *dy, const float *f, float *dx) {
  if (g->fh > MAX_TAPS || g->fw > MAX_TAPS) return 0;
  dw_job j = {.g = g, .dy = dy, .f = f, .out = dx, .m = g->co / g->ci, .input = 1};
  parallel_for(g->b * g->h, gather_task, &j, 2.0 * g->b * g->oh * g->ow * g->co * g->fh * g->fw);
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
AVX2 void dw_filter_row_avx2(float *pk, const float *x, size_t xstep, const float *dy, int c, int n) {
  for (int c0 = 0; c0 < c; c0 += 32) {
    __m256i mk[4];
    __m256 a[4];
    masks32(c - c0, mk);
    load32(a, pk + c0, mk);
    const float *xi = x + c0, *di = dy + c0;
    if (c - c0 >= 32)
      for (int i = 0; i < n; i++, xi += xstep, di += c) fma32(a, xi, di, mk, 1);
    else
      for (int i = 0; i < n; i++, xi += xstep, di += c) fma32(a, xi, di, mk, 0);
    store32(pk + c0, mk, a);
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
