/*
 * Adam's per-variable update for the wasm backend (MixstreamAdam, src/backend/fusedAdam.ts): value,
 * both moments and the bias correction in one pass over the heap. Every operation is the float32
 * one tfjs's chain of kernels performs, in the same order and without fused multiply-adds
 * (-ffp-contract=off; AVX's division and square root are correctly rounded), so the result is the
 * JavaScript loop's bit for bit, about ten times faster.
 */
#include <math.h>
#include <stddef.h>
#include <node_api.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "napi_check.h"
#include "optim.h"

/* h: beta1, beta2, 1 - beta1, 1 - beta2, epsilon, -learningRate, 1 - accBeta1, 1 - accBeta2 (float32 each). */
static void adam_plain(size_t from, size_t n, const float *h, const float *x, const float *m, const float *v, const float *g, float *nx,
                       float *nm, float *nv) {
  const float b1 = h[0], b2 = h[1], ob1 = h[2], ob2 = h[3], eps = h[4], step = h[5], c1 = h[6], c2 = h[7];
  for (size_t i = from; i < n; i++) {
    float gi = g[i];
    float mi = m[i] * b1 + gi * ob1;
    float vi = v[i] * b2 + (gi * gi) * ob2;
    nm[i] = mi;
    nv[i] = vi;
    nx[i] = ((mi / c1) / (sqrtf(vi / c2) + eps)) * step + x[i];
  }
}

#if defined(__x86_64__)
__attribute__((target("avx"))) static size_t adam_avx(size_t n, const float *h, const float *x, const float *m, const float *v,
                                                        const float *g, float *nx, float *nm, float *nv) {
  const __m256 b1 = _mm256_set1_ps(h[0]), b2 = _mm256_set1_ps(h[1]), ob1 = _mm256_set1_ps(h[2]), ob2 = _mm256_set1_ps(h[3]),
               eps = _mm256_set1_ps(h[4]), step = _mm256_set1_ps(h[5]), c1 = _mm256_set1_ps(h[6]), c2 = _mm256_set1_ps(h[7]);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 gi = _mm256_loadu_ps(g + i);
    __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(gi, ob1));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(gi, gi), ob2));
    _mm256_storeu_ps(nm + i, mi);
    _mm256_storeu_ps(nv + i, vi);
    __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, c2)), eps);
    _mm256_storeu_ps(nx + i, _mm256_add_ps(_mm256_mul_ps(_mm256_div_ps(_mm256_div_ps(mi, c1), den), step), _mm256_loadu_ps(x + i)));
  }
  return i;
}
#endif

/* adamUpdate(h Float32Array(8), x, m, v, g, nx, nm, nv): all eight the same length but h. */
static napi_value adam_napi(napi_env env, napi_callback_info cb) {
  size_t argc = 8, len[8], off;
  napi_value a[8], buf;
  napi_typedarray_type t[8];
  void *p[8];
  CHECK(napi_get_cb_info(env, cb, &argc, a, NULL, NULL));
  if (argc < 8) goto bad;
  for (int i = 0; i < 8; i++) {
    if (napi_get_typedarray_info(env, a[i], &t[i], &len[i], &p[i], &buf, &off) != napi_ok || t[i] != napi_float32_array) goto bad;
    if (i > 1 && len[i] != len[1]) goto bad;
  }
  if (len[0] != 8) goto bad;
  size_t n = len[1], done = 0;
  const float *h = p[0];
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx")) done = adam_avx(n, h, p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
#endif
  adam_plain(done, n, h, p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
  return NULL;
bad:
  napi_throw_range_error(env, NULL, "mixstream native: adamUpdate(hyper Float32Array(8), x, m, v, g, nx, nm, nv) with x..nv Float32Arrays of one length");
  return NULL;
}

int optim_register(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "adamUpdate", NAPI_AUTO_LENGTH, adam_napi, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, "adamUpdate", fn) == napi_ok;
}
