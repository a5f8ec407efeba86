/*
 * NHWC conv2d and its two gradients for the wasm backend's training step, working in place on the
 * wasm heap (the JavaScript passes Float32Array views of the backend's WebAssembly.Memory, so no
 * tensor is copied in or out). Each is im2col over a chunk of output pixels (sized to stay in L2)
 * and one register-blocked GEMM, with AVX2+FMA where the CPU has it (chosen at load) and a plain C
 * loop elsewhere. im2col walks output pixels incrementally (no division per tap); the filter
 * gradient reads the same im2col transposed through the GEMM's strides. Single-threaded on purpose: the ablation runs one process per core.
 *   forward  out[r, co]   = cols[r, k] . W[k, co]             (k = (kh, kw, ci), r = (b, oy, ox))
 *   filter   dW[k, co]   += cols[r, k] . dy[r, co]   (cols read transposed)
 *   input    dcols[r, k]  = dy[r, co] . Wt[co, k], scattered back (col2im) into dx
 * batch_matmul (BatchMatMul, either side transposed) runs on the same GEMM.
 * Results differ from tfjs's by summation order only (tests hold them to 1e-4 of the cpu backend).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "conv.h"

typedef conv_geom geom;

/* C[m x n] (+)= A[m x kk] . B[kk x n]: A(i, k) = a[i * lda + k * ska] (ska = 1 row-major, lda = 1 transposed), B and C row-major. */
typedef void gemm_fn(int m, int n, int kk, const float *a, int lda, int ska, const float *b, int ldb, float *c, int ldc, int accumulate);

static void gemm_plain(int m, int n, int kk, const float *a, int lda, int ska, const float *b, int ldb, float *c, int ldc, int accumulate) {
  for (int i = 0; i < m; i++) {
    float *ci = c + (size_t)i * ldc;
    if (!accumulate) memset(ci, 0, sizeof(float) * (size_t)n);
    for (int k = 0; k < kk; k++) {
      float av = a[(size_t)i * lda + (size_t)k * ska];
      const float *bk = b + (size_t)k * ldb;
      for (int j = 0; j < n; j++) ci[j] += av * bk[j];
    }
  }
}

#if defined(__x86_64__)
/* Lane masks for the last columns of a row: mask_for(r) enables min(r, 8) lanes. */
__attribute__((target("avx2,fma"))) static inline __m256i mask_for(int remaining) {
  int r = remaining > 8 ? 8 : remaining < 0 ? 0 : remaining;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* 4 rows x 16 columns of C in eight registers; MR rows live (1..4), columns masked at the edge. */
#define MICRO(MR)                                                                                         \
  __attribute__((target("avx2,fma"))) static void micro##MR(int n_left, int kk, const float *a, int lda, int ska, \
                                                             const float *b, int ldb, float *c, int ldc, int accumulate) { \
    __m256i m0 = mask_for(n_left), m1 = mask_for(n_left - 8);                                            \
    __m256 acc0[MR], acc1[MR];                                                                            \
    for (int r = 0; r < MR; r++) {                                                                        \
      acc0[r] = accumulate ? _mm256_maskload_ps(c + (size_t)r * ldc, m0) : _mm256_setzero_ps();         \
      acc1[r] = accumulate ? _mm256_maskload_ps(c + (size_t)r * ldc + 8, m1) : _mm256_setzero_ps();     \
    }                                                                                                     \
    for (int k = 0; k < kk; k++) {                                                                        \
      const float *bk = b + (size_t)k * ldb;                                                              \
      __m256 b0 = _mm256_maskload_ps(bk, m0), b1 = _mm256_maskload_ps(bk + 8, m1);                        \
      for (int r = 0; r < MR; r++) {                                                                      \
        __m256 av = _mm256_broadcast_ss(a + (size_t)r * lda + (size_t)k * ska);                                         \
        acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);                                                       \
        acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);                                                       \
      }                                                                                                   \
    }                                                                                                     \
    for (int r = 0; r < MR; r++) {                                                                        \
      _mm256_maskstore_ps(c + (size_t)r * ldc, m0, acc0[r]);                                              \
      _mm256_maskstore_ps(c + (size_t)r * ldc + 8, m1, acc1[r]);                                          \
    }                                                                                                     \
  }
MICRO(1)
MICRO(4)

__attribute__((target("avx2,fma"))) static void gemm_avx2(int m, int n, int kk, const float *a, int lda, int ska, const float *b, int ldb, float *c, int ldc, int accumulate) {
  for (int j = 0; j < n; j += 16) {
    int i = 0;
    for (; i + 4 <= m; i += 4) micro4(n - j, kk, a + (size_t)i * lda, lda, ska, b + j, ldb, c + (size_t)i * ldc + j, ldc, accumulate);
    for (; i < m; i++) micro1(n - j, kk, a + (size_t)i * lda, lda, ska, b + j, ldb, c + (size_t)i * ldc + j, ldc, accumulate);
  }
}
#endif

static gemm_fn *gemm = gemm_plain;

const char *conv_simd(void) {
#if defined(__x86_64__)
  return gemm == gemm_avx2 ? "avx2+fma" : "none";
#else
  return "none";
#endif
}

/* Rows of output pixels per chunk: the chunk's im2col (rows x k floats) stays within ~256 KiB. */
static int chunk_rows(int k) {
  int rows = 65536 / (k > 0 ? k : 1);
  rows = rows < 16 ? 16 : rows;
  return rows & ~3;
}

/* Output pixel r as (image, row, column), advanced one pixel at a time (no division per tap). */
typedef struct {
  int bi, oy, ox;
} pixel;

static pixel pixel_at(const geom *g, int r) {
  return (pixel){r / (g->oh * g->ow), (r / g->ow) % g->oh, r % g->ow};
}

static void next_pixel(const geom *g, pixel *p) {
  if (++p->ox < g->ow) return;
  p->ox = 0;
  if (++p->oy < g->oh) return;
  p->oy = 0;
  p->bi++;
}

/* cols[r, (kh, kw, c)] = x at pixel r's tap (kh, kw), 0 in the padding: rows r0 .. r0 + rows - 1. */
static void im2col(const geom *g, const float *x, int r0, int rows, float *cols) {
  int k = g->fh * g->fw * g->ci, ci = g->ci;
  pixel p = pixel_at(g, r0);
  for (int r = 0; r < rows; r++, next_pixel(g, &p)) {
    float *dst = cols + (size_t)r * k;
    for (int kh = 0; kh < g->fh; kh++) {
      int iy = p.oy * g->sh + kh * g->dh - g->pt;
      for (int kw = 0; kw < g->fw; kw++, dst += ci) {
        int ix = p.ox * g->sw + kw * g->dw - g->pl;
        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
          for (int c = 0; c < ci; c++) dst[c] = 0.0f;
        } else {
          const float *src = x + (((size_t)p.bi * g->h + iy) * g->w + ix) * ci;
          for (int c = 0; c < ci; c++) dst[c] = src[c];
        }
      }
    }
  }
}

/* The transpose of im2col: dx at pixel r's tap (kh, kw) += dcols[r, (kh, kw, c)]. */
static void col2im(const geom *g, const float *dcols, int r0, int rows, float *dx) {
  int k = g->fh * g->fw * g->ci, ci = g->ci;
  pixel p = pixel_at(g, r0);
  for (int r = 0; r < rows; r++, next_pixel(g, &p)) {
    const float *src = dcols + (size_t)r * k;
    for (int kh = 0; kh < g->fh; kh++) {
      int iy = p.oy * g->sh + kh * g->dh - g->pt;
      for (int kw = 0; kw < g->fw; kw++, src += ci) {
        int ix = p.ox * g->sw + kw * g->dw - g->pl;
        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
        float *dst = dx + (((size_t)p.bi * g->h + iy) * g->w + ix) * ci;
        for (int c = 0; c < ci; c++) dst[c] += src[c];
      }
    }
  }
}

void conv_forward(const conv_geom *cg, const float *x, const float *w, const float *bias, int relu, float *out) {
  const geom *g = cg;
  int k = g->fh * g->fw * g->ci, total = g->b * g->oh * g->ow, step = chunk_rows(k);
  float *cols = malloc(sizeof(float) * (size_t)step * k);
  if (!cols) return;
  for (int r0 = 0; r0 < total; r0 += step) {
    int rows = total - r0 < step ? total - r0 : step;
    im2col(g, x, r0, rows, cols);
    float *o = out + (size_t)r0 * g->co;
    gemm(rows, g->co, k, cols, k, 1, w, g->co, o, g->co, 0);
    if (bias || relu)
      for (int r = 0; r < rows; r++)
        for (int j = 0; j < g->co; j++) {
          float v = o[(size_t)r * g->co + j] + (bias ? bias[j] : 0.0f);
          o[(size_t)r * g->co + j] = relu && v < 0.0f ? 0.0f : v;
        }
  }
  free(cols);
}

void conv_backprop_filter(const conv_geom *cg, const float *x, const float *dy, float *dw) {
  const geom *g = cg;
  int k = g->fh * g->fw * g->ci, total = g->b * g->oh * g->ow, step = chunk_rows(k);
  float *cols = malloc(sizeof(float) * (size_t)step * k);
  if (!cols) return;
  memset(dw, 0, sizeof(float) * (size_t)k * g->co);
  for (int r0 = 0; r0 < total; r0 += step) {
    int rows = total - r0 < step ? total - r0 : step;
    im2col(g, x, r0, rows, cols);
    /* dW[k, co] += sum_r cols[r, k] dy[r, co]: cols read transposed (row stride 1, k stride k). */
    gemm(k, g->co, rows, cols, 1, k, dy + (size_t)r0 * g->co, g->co, dw, g->co, 1);
  }
  free(cols);
}

void conv_backprop_input(const conv_geom *cg, const float *dy, const float *w, float *dx) {
  const geom *g = cg;
  int k = g->fh * g->fw * g->ci, total = g->b * g->oh * g->ow, step = chunk_rows(k);
  float *wt = malloc(sizeof(float) * (size_t)k * g->co);
  float *dcols = malloc(sizeof(float) * (size_t)step * k);
  if (!wt || !dcols) goto done;
  for (int kk = 0; kk < k; kk++)
    for (int j = 0; j < g->co; j++) wt[(size_t)j * k + kk] = w[(size_t)kk * g->co + j];
  memset(dx, 0, sizeof(float) * (size_t)g->b * g->h * g->w * g->ci);
  for (int r0 = 0; r0 < total; r0 += step) {
    int rows = total - r0 < step ? total - r0 : step;
    gemm(rows, k, g->co, dy + (size_t)r0 * g->co, g->co, 1, wt, k, dcols, k, 0);
    col2im(g, dcols, r0, rows, dx);
  }
done:
  free(dcols);
  free(wt);
}

void batch_matmul(const float *a, const float *b, float *out, int batch_a, int batch_b, int m, int n, int k, int transpose_a, int transpose_b) {
  int batch = batch_a > batch_b ? batch_a : batch_b;
  float *bt = transpose_b ? malloc(sizeof(float) * (size_t)k * n) : NULL;
  if (transpose_b && !bt) return;
  for (int i = 0; i < batch; i++) {
    const float *ai = a + (size_t)(batch_a == 1 ? 0 : i) * m * k;
    const float *bi = b + (size_t)(batch_b == 1 ? 0 : i) * k * n;
    if (transpose_b) {
      /* The GEMM reads B row-major: lay B^T out as [k x n] once per batch. */
      for (int j = 0; j < n; j++)
        for (int q = 0; q < k; q++) bt[(size_t)q * n + j] = bi[(size_t)j * k + q];
      bi = bt;
    }
    float *oi = out + (size_t)i * m * n;
    if (k == 0) memset(oi, 0, sizeof(float) * (size_t)m * n);
    else gemm(m, n, k, ai, transpose_a ? 1 : k, transpose_a ? m : 1, bi, n, oi, n, 0);
  }
  free(bt);
}

void conv_init(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  /* AVX-512 (8x16 and 4x32 blocks) was tried: 10-15% slower than this per thread CPU time on this
   * machine's cores. MIXSTREAM_NATIVE_SIMD=none forces the plain C loop (tests, comparisons). */
  const char *cap = getenv("MIXSTREAM_NATIVE_SIMD");
  if ((!cap || strcmp(cap, "none") != 0) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) gemm = gemm_avx2;
#endif
}
