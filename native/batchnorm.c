/*
 * Batch norm over the last axis of a row-major [rows x c] float32 activation, forward and the whole
 * backward in one kernel each, for the wasm backend (tfjs runs the backward as some fifteen
 * full-size element-wise kernels and reductions per layer). Per-channel sums in float64.
 *   forward   out = (x - mean) * r * scale + offset,             r = 1 / sqrt(var + eps)
 *   backward  dx = dy * r * scale;  doffset = sum dy;  dscale = r * sum (x - mean) dy;
 *             dmean = -r * scale * sum dy;  dvar = -0.5 * r^3 * scale * sum (x - mean) dy
 * (tfjs's FusedBatchNorm gradient, term for term; mean and variance get their own gradients because
 * tf.layers computes them from x with tf.moments).
 */
#include <math.h>
#include <stdlib.h>
#include <node_api.h>
#include "batchnorm.h"
#include "threads.h"

/*
 * Every pass runs over fixed chunks of BN_CHUNK rows on the kernel pool: per-channel sums are
 * float64 partials a chunk, added in chunk order, and the element-wise passes write disjoint rows,
 * so the results do not depend on the thread count. Scratch is kept between calls (grown, never
 * shrunk): no allocation per call.
 */
#define BN_CHUNK 256

static double *bn_scratch(size_t doubles) {
  static _Thread_local double *buf;
  static _Thread_local size_t have;
  if (doubles > have) {
    double *grown = malloc(sizeof(double) * doubles);
    if (!grown) return NULL;
    free(buf);
    buf = grown;
    have = doubles;
  }
  return buf;
}

typedef struct {
  const float *x, *dy, *mean;
  float *out;
  size_t rows, c;
  double *part; /* chunks x (2 c) */
  const float *a, *b, *k; /* element-wise coefficients */
  int pass;
} bn_job;

static size_t bn_chunks(size_t rows) {
  return (rows + BN_CHUNK - 1) / BN_CHUNK;
}

enum { PASS_SUM, PASS_SQDEV, PASS_DYSUMS, PASS_AFFINE, PASS_SCALE, PASS_TRAIN_DX };

static void bn_task(void *ctx, int t) {
  const bn_job *j = ctx;
  size_t c = j->c, r0 = (size_t)t * BN_CHUNK, r1 = r0 + BN_CHUNK < j->rows ? r0 + BN_CHUNK : j->rows;
  double *p0 = j->part + (size_t)t * 2 * c, *p1 = p0 + c;
  const float *x = j->x, *dy = j->dy, *mean = j->mean;
  switch (j->pass) {
    case PASS_SUM:
      for (size_t q = 0; q < c; q++) p0[q] = 0;
      for (size_t i = r0; i < r1; i++)
        for (size_t q = 0; q < c; q++) p0[q] += x[i * c + q];
      break;
    case PASS_SQDEV:
      for (size_t q = 0; q < c; q++) p0[q] = 0;
      for (size_t i = r0; i < r1; i++)
        for (size_t q = 0; q < c; q++) {
          float d = x[i * c + q] - mean[q];
          p0[q] += (double)(d * d);
        }
      break;
    case PASS_DYSUMS:
      for (size_t q = 0; q < c; q++) p0[q] = p1[q] = 0;
      for (size_t i = r0; i < r1; i++)
        for (size_t q = 0; q < c; q++) {
          p0[q] += dy[i * c + q];
          p1[q] += (double)(x[i * c + q] - mean[q]) * dy[i * c + q];
        }
      break;
    case PASS_AFFINE: /* out = (x - mean) * a + b */
      for (size_t i = r0; i < r1; i++)
        for (size_t q = 0; q < c; q++) j->out[i * c + q] = (x[i * c + q] - mean[q]) * j->a[q] + j->b[q];
      break;
    case PASS_SCALE: /* out = dy * a */
      for (size_t i = r0; i < r1; i++)
        for (size_t q = 0; q < c; q++) j->out[i * c + q] = dy[i * c + q] * j->a[q];
      break;
    case PASS_TRAIN_DX: /* out = a dy + k (x - mean) + b */
      for (size_t i = r0; i < r1; i++)
        for (size_t q = 0; q < c; q++) j->out[i * c + q] = j->a[q] * dy[i * c + q] + j->k[q] * (x[i * c + q] - mean[q]) + j->b[q];
      break;
  }
}

static void bn_run(bn_job *j, int pass, double flops_per_element) {
  j->pass = pass;
  parallel_for((int)bn_chunks(j->rows), bn_task, j, flops_per_element * (double)j->rows * (double)j->c);
}

/* Adds the chunks' partials (first `halves` of each chunk's 2c) in chunk order into sum[0..halves*c). */
static void bn_combine(const bn_job *j, int halves, double *sum) {
  size_t c = j->c, chunks = bn_chunks(j->rows);
  for (size_t q = 0; q < (size_t)halves * c; q++) sum[q] = 0;
  for (size_t t = 0; t < chunks; t++) {
    const double *p = j->part + t * 2 * c;
    for (size_t q = 0; q < (size_t)halves * c; q++) sum[q] += p[q];
  }
}

static int bn_forward(const float *x, size_t rows, size_t c, const float *mean, const float *var, const float *scale, const float *offset, double eps, float *out) {
  double *scratch = bn_scratch(c + 2 * c);
  if (!scratch) return 0;
  float *mul = (float *)scratch, *add = mul + c;
  for (size_t q = 0; q < c; q++) {
    /* The same float32 steps as tfjs's kernels: rsqrt of (var + eps), times scale. */
    float r = (float)(1.0 / sqrt((double)(var[q] + (float)eps)));
    mul[q] = r * (scale ? scale[q] : 1.0f);
    add[q] = offset ? offset[q] : 0.0f;
  }
  bn_job j = {.x = x, .mean = mean, .out = out, .rows = rows, .c = c, .a = mul, .b = add};
  bn_run(&j, PASS_AFFINE, 2);
  return 1;
}

static int bn_backward(const float *x, const float *dy, size_t rows, size_t c, const float *mean, const float *var, const float *scale, double eps,
                        float *dx, float *dmean, float *dvar, float *dscale, float *doffset) {
  size_t chunks = bn_chunks(rows);
  double *scratch = bn_scratch(chunks * 2 * c + 2 * c + c);
  if (!scratch) return 0;
  double *sums = scratch + chunks * 2 * c, *sdy = sums, *sxdy = sums + c;
  float *mul = (float *)(sums + 2 * c);
  bn_job j = {.x = x, .dy = dy, .mean = mean, .out = dx, .rows = rows, .c = c, .part = scratch};
  bn_run(&j, PASS_DYSUMS, 4);
  bn_combine(&j, 2, sums);
  for (size_t q = 0; q < c; q++) {
    double r = 1.0 / sqrt((double)var[q] + eps), s = scale ? scale[q] : 1.0;
    mul[q] = (float)(r * s);
    doffset[q] = (float)sdy[q];
    dscale[q] = (float)(r * sxdy[q]);
    dmean[q] = (float)(-r * s * sdy[q]);
    dvar[q] = (float)(-0.5 * r * r * r * s * sxdy[q]);
  }
  j.a = mul;
  bn_run(&j, PASS_SCALE, 1);
  return 1;
}

/*
 * Training mode, forward: the batch's per-channel mean and (biased) variance, as tf.moments gives
 * them (the mean first, then the mean of squared float32 deviations from it), then the output as
 * bn_forward. The moving averages are the caller's.
 */
static int bn_train(const float *x, size_t rows, size_t c, const float *scale, const float *offset, double eps, float *out, float *mean, float *var) {
  size_t chunks = bn_chunks(rows);
  double *scratch = bn_scratch(chunks * 2 * c + c);
  if (!scratch) return 0;
  double *sum = scratch + chunks * 2 * c;
  bn_job j = {.x = x, .rows = rows, .c = c, .part = scratch};
  bn_run(&j, PASS_SUM, 1);
  bn_combine(&j, 1, sum);
  for (size_t q = 0; q < c; q++) mean[q] = (float)(sum[q] / (double)rows);
  j.mean = mean;
  bn_run(&j, PASS_SQDEV, 3);
  bn_combine(&j, 1, sum);
  for (size_t q = 0; q < c; q++) var[q] = (float)(sum[q] / (double)rows);
  return bn_forward(x, rows, c, mean, var, scale, offset, eps, out);
}

/*
 * Training mode, backward, through the batch statistics too (what tfjs runs as the FusedBatchNorm
 * gradient plus tf.moments' gradient, some twenty full-size kernels), with xh = (x - mean) r:
 *   dx = scale r (dy - sum dy / N - xh sum (dy xh) / N);  dscale = sum dy xh;  doffset = sum dy.
 */
static int bn_train_backward(const float *x, const float *dy, size_t rows, size_t c, const float *mean, const float *var, const float *scale,
                              double eps, float *dx, float *dscale, float *doffset) {
  size_t chunks = bn_chunks(rows);
  double *scratch = bn_scratch(chunks * 2 * c + 2 * c + 3 * c);
  if (!scratch) return 0;
  double *sums = scratch + chunks * 2 * c, *sdy = sums, *sxdy = sums + c;
  float *a = (float *)(sums + 2 * c), *b = a + c, *k = b + c;
  bn_job j = {.x = x, .dy = dy, .mean = mean, .out = dx, .rows = rows, .c = c, .part = scratch};
  bn_run(&j, PASS_DYSUMS, 4);
  bn_combine(&j, 2, sums);
  for (size_t q = 0; q < c; q++) {
    double r = 1.0 / sqrt((double)var[q] + eps), s = scale ? scale[q] : 1.0, n = (double)rows;
    doffset[q] = (float)sdy[q];
    dscale[q] = (float)(r * sxdy[q]);
    /* dx = a dy + k (x - mean) + b: a = s r, k = -s r^3 sum (x - mean) dy / N, b = -s r sum dy / N */
    a[q] = (float)(s * r);
    k[q] = (float)(-s * r * r * r * sxdy[q] / n);
    b[q] = (float)(-s * r * sdy[q] / n);
  }
  j.a = a;
  j.b = b;
  j.k = k;
  bn_run(&j, PASS_TRAIN_DX, 5);
  return 1;
}

/* A Float32Array of exactly `need` elements (or null/undefined where `optional`). */
static int f32(napi_env env, napi_value v, size_t need, int optional, float **out) {
  napi_valuetype t;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value buffer;
  if (optional && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
    *out = NULL;
    return 1;
  }
  if (napi_get_typedarray_info(env, v, &type, &length, (void **)out, &buffer, &offset) != napi_ok || type != napi_float32_array || length != need) {
    napi_throw_range_error(env, NULL, "mixstream native: batch norm arrays must be Float32Arrays of rows x c or c elements");
    return 0;
  }
  return 1;
}

static int dims(napi_env env, napi_value vr, napi_value vc, napi_value ve, size_t *rows, size_t *c, double *eps) {
  int64_t r, k;
  if (napi_get_value_int64(env, vr, &r) != napi_ok || napi_get_value_int64(env, vc, &k) != napi_ok || napi_get_value_double(env, ve, eps) != napi_ok || r < 1 || k < 1) {
    napi_throw_range_error(env, NULL, "mixstream native: batch norm needs rows >= 1, c >= 1 and a numeric epsilon");
    return 0;
  }
  *rows = (size_t)r;
  *c = (size_t)k;
  return 1;
}

/* bnForward(x, rows, c, mean, variance, scale | null, offset | null, eps, out) */
static napi_value forward(napi_env env, napi_callback_info cb) {
  size_t argc = 9, rows, c;
  napi_value a[9];
  double eps;
  float *x, *mean, *var, *scale, *offset, *out;
  if (napi_get_cb_info(env, cb, &argc, a, NULL, NULL) != napi_ok || argc < 9 || !dims(env, a[1], a[2], a[7], &rows, &c, &eps)) return NULL;
  if (!f32(env, a[0], rows * c, 0, &x) || !f32(env, a[3], c, 0, &mean) || !f32(env, a[4], c, 0, &var) || !f32(env, a[5], c, 1, &scale) ||
      !f32(env, a[6], c, 1, &offset) || !f32(env, a[8], rows * c, 0, &out))
    return NULL;
  if (!bn_forward(x, rows, c, mean, var, scale, offset, eps, out)) napi_throw_error(env, NULL, "mixstream native: batch norm: out of memory");
  return NULL;
}

/* bnBackward(x, dy, rows, c, mean, variance, scale | null, eps, dx, dmean, dvariance, dscale, doffset) */
static napi_value backward(napi_env env, napi_callback_info cb) {
  size_t argc = 13, rows, c;
  napi_value a[13];
  double eps;
  float *x, *dy, *mean, *var, *scale, *dx, *dmean, *dvar, *dscale, *doffset;
  if (napi_get_cb_info(env, cb, &argc, a, NULL, NULL) != napi_ok || argc < 13 || !dims(env, a[2], a[3], a[7], &rows, &c, &eps)) return NULL;
  if (!f32(env, a[0], rows * c, 0, &x) || !f32(env, a[1], rows * c, 0, &dy) || !f32(env, a[4], c, 0, &mean) || !f32(env, a[5], c, 0, &var) ||
      !f32(env, a[6], c, 1, &scale) || !f32(env, a[8], rows * c, 0, &dx) || !f32(env, a[9], c, 0, &dmean) || !f32(env, a[10], c, 0, &dvar) ||
      !f32(env, a[11], c, 0, &dscale) || !f32(env, a[12], c, 0, &doffset))
    return NULL;
  if (!bn_backward(x, dy, rows, c, mean, var, scale, eps, dx, dmean, dvar, dscale, doffset)) napi_throw_error(env, NULL, "mixstream native: batch norm: out of memory");
  return NULL;
}

/* bnTrain(x, rows, c, scale | null, offset | null, eps, out, mean, variance) */
static napi_value train(napi_env env, napi_callback_info cb) {
  size_t argc = 9, rows, c;
  napi_value a[9];
  double eps;
  float *x, *scale, *offset, *out, *mean, *var;
  if (napi_get_cb_info(env, cb, &argc, a, NULL, NULL) != napi_ok || argc < 9 || !dims(env, a[1], a[2], a[5], &rows, &c, &eps)) return NULL;
  if (!f32(env, a[0], rows * c, 0, &x) || !f32(env, a[3], c, 1, &scale) || !f32(env, a[4], c, 1, &offset) || !f32(env, a[6], rows * c, 0, &out) ||
      !f32(env, a[7], c, 0, &mean) || !f32(env, a[8], c, 0, &var))
    return NULL;
  if (!bn_train(x, rows, c, scale, offset, eps, out, mean, var)) napi_throw_error(env, NULL, "mixstream native: batch norm: out of memory");
  return NULL;
}

/* bnTrainBackward(x, dy, rows, c, mean, variance, scale | null, eps, dx, dscale, doffset) */
static napi_value train_backward(napi_env env, napi_callback_info cb) {
  size_t argc = 11, rows, c;
  napi_value a[11];
  double eps;
  float *x, *dy, *mean, *var, *scale, *dx, *dscale, *doffset;
  if (napi_get_cb_info(env, cb, &argc, a, NULL, NULL) != napi_ok || argc < 11 || !dims(env, a[2], a[3], a[7], &rows, &c, &eps)) return NULL;
  if (!f32(env, a[0], rows * c, 0, &x) || !f32(env, a[1], rows * c, 0, &dy) || !f32(env, a[4], c, 0, &mean) || !f32(env, a[5], c, 0, &var) ||
      !f32(env, a[6], c, 1, &scale) || !f32(env, a[8], rows * c, 0, &dx) || !f32(env, a[9], c, 0, &dscale) || !f32(env, a[10], c, 0, &doffset))
    return NULL;
  if (!bn_train_backward(x, dy, rows, c, mean, var, scale, eps, dx, dscale, doffset)) napi_throw_error(env, NULL, "mixstream native: batch norm: out of memory");
  return NULL;
}

int batchnorm_register(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"bnForward", forward}, {"bnBackward", backward}, {"bnTrain", train}, {"bnTrainBackward", train_backward}};
  napi_value f;
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok || napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return 0;
  return 1;
}
