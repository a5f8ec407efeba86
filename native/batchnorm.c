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

static int bn_forward(const float *x, size_t rows, size_t c, const float *mean, const float *var, const float *scale, const float *offset, double eps, float *out) {
  float *mul = malloc(sizeof(float) * c), *add = malloc(sizeof(float) * c);
  int ok = mul && add;
  if (!ok) goto done;
  for (size_t j = 0; j < c; j++) {
    /* The same float32 steps as tfjs's kernels: rsqrt of (var + eps), times scale. */
    float r = (float)(1.0 / sqrt((double)(var[j] + (float)eps)));
    mul[j] = r * (scale ? scale[j] : 1.0f);
    add[j] = offset ? offset[j] : 0.0f;
  }
  for (size_t i = 0; i < rows; i++) {
    const float *xi = x + i * c;
    float *oi = out + i * c;
    for (size_t j = 0; j < c; j++) oi[j] = (xi[j] - mean[j]) * mul[j] + add[j];
  }
done:
  free(mul);
  free(add);
  return ok;
}

static int bn_backward(const float *x, const float *dy, size_t rows, size_t c, const float *mean, const float *var, const float *scale, double eps,
                        float *dx, float *dmean, float *dvar, float *dscale, float *doffset) {
  double *sdy = calloc(c, sizeof(double)), *sxdy = calloc(c, sizeof(double));
  float *mul = malloc(sizeof(float) * c);
  int ok = sdy && sxdy && mul;
  if (!ok) goto done;
  for (size_t i = 0; i < rows; i++) {
    const float *xi = x + i * c, *gi = dy + i * c;
    for (size_t j = 0; j < c; j++) {
      sdy[j] += gi[j];
      sxdy[j] += (double)(xi[j] - mean[j]) * gi[j];
    }
  }
  for (size_t j = 0; j < c; j++) {
    double r = 1.0 / sqrt((double)var[j] + eps), s = scale ? scale[j] : 1.0;
    mul[j] = (float)(r * s);
    doffset[j] = (float)sdy[j];
    dscale[j] = (float)(r * sxdy[j]);
    dmean[j] = (float)(-r * s * sdy[j]);
    dvar[j] = (float)(-0.5 * r * r * r * s * sxdy[j]);
  }
  for (size_t i = 0; i < rows; i++) {
    const float *gi = dy + i * c;
    float *di = dx + i * c;
    for (size_t j = 0; j < c; j++) di[j] = gi[j] * mul[j];
  }
done:
  free(sdy);
  free(sxdy);
  free(mul);
  return ok;
}

/*
 * Training mode, forward: the batch's per-channel mean and (biased) variance, as tf.moments gives
 * them (the mean first, then the mean of squared float32 deviations from it), then the output as
 * bn_forward. The moving averages are the caller's.
 */
static int bn_train(const float *x, size_t rows, size_t c, const float *scale, const float *offset, double eps, float *out, float *mean, float *var) {
  double *acc = calloc(c, sizeof(double));
  if (!acc) return 0;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < c; j++) acc[j] += x[i * c + j];
  for (size_t j = 0; j < c; j++) {
    mean[j] = (float)(acc[j] / (double)rows);
    acc[j] = 0;
  }
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < c; j++) {
      float d = x[i * c + j] - mean[j];
      acc[j] += (double)(d * d);
    }
  for (size_t j = 0; j < c; j++) var[j] = (float)(acc[j] / (double)rows);
  free(acc);
  return bn_forward(x, rows, c, mean, var, scale, offset, eps, out);
}

/*
 * Training mode, backward, through the batch statistics too (what tfjs runs as the FusedBatchNorm
 * gradient plus tf.moments' gradient, some twenty full-size kernels), with xh = (x - mean) r:
 *   dx = scale r (dy - sum dy / N - xh sum (dy xh) / N);  dscale = sum dy xh;  doffset = sum dy.
 */
static int bn_train_backward(const float *x, const float *dy, size_t rows, size_t c, const float *mean, const float *var, const float *scale,
                              double eps, float *dx, float *dscale, float *doffset) {
  double *sdy = calloc(c, sizeof(double)), *sxdy = calloc(c, sizeof(double));
  float *a = malloc(sizeof(float) * c), *b = malloc(sizeof(float) * c), *k = malloc(sizeof(float) * c);
  int ok = sdy && sxdy && a && b && k;
  if (!ok) goto done;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < c; j++) {
      sdy[j] += dy[i * c + j];
      sxdy[j] += (double)(x[i * c + j] - mean[j]) * dy[i * c + j];
    }
  for (size_t j = 0; j < c; j++) {
    double r = 1.0 / sqrt((double)var[j] + eps), s = scale ? scale[j] : 1.0, n = (double)rows;
    doffset[j] = (float)sdy[j];
    dscale[j] = (float)(r * sxdy[j]);
    /* dx = a dy + k (x - mean) + b: a = s r, k = -s r^3 sum (x - mean) dy / N, b = -s r sum dy / N */
    a[j] = (float)(s * r);
    k[j] = (float)(-s * r * r * r * sxdy[j] / n);
    b[j] = (float)(-s * r * sdy[j] / n);
  }
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < c; j++) dx[i * c + j] = a[j] * dy[i * c + j] + k[j] * (x[i * c + j] - mean[j]) + b[j];
done:
  free(sdy);
  free(sxdy);
  free(a);
  free(b);
  free(k);
  return ok;
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
