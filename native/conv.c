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
#include "threads.h"
#include <stdatomic.h>

typedef conv_geom geom;

/*
 * Scratch buffers kept from call to call (grown, never shrunk): a fresh malloc of a few hundred
 * KiB per kernel call is an mmap, page faults on every page, then an munmap. One per use, since a
 * kernel may need two at once, and per thread (a worker thread training beside the main one has its own).
 */
enum { SCRATCH_COLS, SCRATCH_W, SCRATCH_B, SCRATCH_PARTS, SCRATCH_COUNT };
static float *scratch(int slot, size_t bytes) {
  static _Thread_local float *buffers[SCRATCH_COUNT];
  static _Thread_local size_t sizes[SCRATCH_COUNT];
  if (bytes > sizes[slot]) {
    float *grown = malloc(bytes);
    if (!grown) return NULL;
    free(buffers[slot]);
    buffers[slot] = grown;
    sizes[slot] = bytes;
  }
  return buffers[slot];
}

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

/* MR rows x 8 columns, one register a row: for n <= 8 (a first conv's 8 filters), where micro4 would leave half its lanes idle. */
#define NARROW(MR)                                                                                                  \
  __attribute__((target("avx2,fma"))) static void narrow##MR(int n_left, int kk, const float *a, int lda, int ska, \
                                                              const float *b, int ldb, float *c, int ldc, int accumulate) { \
    __m256i m0 = mask_for(n_left);                                                                                  \
    __m256 acc[MR];                                                                                                 \
    for (int r = 0; r < MR; r++) acc[r] = accumulate ? _mm256_maskload_ps(c + (size_t)r * ldc, m0) : _mm256_setzero_ps(); \
    for (int k = 0; k < kk; k++) {                                                                                  \
      __m256 b0 = _mm256_maskload_ps(b + (size_t)k * ldb, m0);                                                      \
      for (int r = 0; r < MR; r++) acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (size_t)r * lda + (size_t)k * ska), b0, acc[r]); \
    }                                                                                                               \
    for (int r = 0; r < MR; r++) _mm256_maskstore_ps(c + (size_t)r * ldc, m0, acc[r]);                             \
  }
NARROW(1)
NARROW(12)

__attribute__((target("avx2,fma"))) static void gemm_avx2(int m, int n, int kk, const float *a, int lda, int ska, const float *b, int ldb, float *c, int ldc, int accumulate) {
  for (int j = 0; j < n; j += 16) {
    int i = 0;
    if (n - j <= 8) {
      for (; i + 12 <= m; i += 12) narrow12(n - j, kk, a + (size_t)i * lda, lda, ska, b + j, ldb, c + (size_t)i * ldc + j, ldc, accumulate);
      for (; i < m; i++) narrow1(n - j, kk, a + (size_t)i * lda, lda, ska, b + j, ldb, c + (size_t)i * ldc + j, ldc, accumulate);
      continue;
    }
    for (; i + 4 <= m; i += 4) micro4(n - j, kk, a + (size_t)i * lda, lda, ska, b + j, ldb, c + (size_t)i * ldc + j, ldc, accumulate);
    for (; i < m; i++) micro1(n - j, kk, a + (size_t)i * lda, lda, ska, b + j, ldb, c + (size_t)i * ldc + j, ldc, accumulate);
  }
}

/*
 * The packed GEMM (AVX2+FMA): B laid out once as 16-column panels [n/16][kk][16] (zero-padded),
 * A packed per (KC x MC) block into 6-row panels [m/6][kc][6] in the thread's scratch, and a 6 x 16
 * register block (twelve accumulators, enough to cover the FMA latency on two ports) whose B
 * micro-panel (kc x 16 floats, 16 KiB) stays in L1 while it walks the A block in L2. Each C element
 * is still one FMA chain in k order from 0 (or from C when accumulating), as the unpacked kernels
 * above: the results are the same bits, packed or not, whatever the blocking or thread count.
 */
/* Register block: 6 x 16 with AVX2 (default), 12 x 32 where the CPU has AVX-512 (chosen at load). */
static int pk_mr = 6, pk_nr = 16;
#define PK_MR pk_mr
#define PK_NR pk_nr
#define PK_KC 256
#define PK_MC 288 /* 48 panels of 6 (24 of 12): an A block of 288 x 256 floats (288 KiB) in L2 (1.25 MiB a core here) */

/* bp[jp][k][16] = B(k, jp * 16 + j) with B(k, j) = b[k * sbk + j * sbj], zero past n. */
static void pack_b(int kk, int n, const float *b, size_t sbk, size_t sbj, float *bp) {
  for (int j0 = 0; j0 < n; j0 += PK_NR) {
    int w = n - j0 < PK_NR ? n - j0 : PK_NR;
    float *dst = bp + (size_t)(j0 / PK_NR) * kk * PK_NR;
    if (sbj == 1)
      for (int k = 0; k < kk; k++, dst += PK_NR) {
        const float *src = b + (size_t)k * sbk + j0;
        memcpy(dst, src, sizeof(float) * (size_t)w);
        for (int j = w; j < PK_NR; j++) dst[j] = 0.0f;
      }
    else
      for (int k = 0; k < kk; k++, dst += PK_NR)
        for (int j = 0; j < PK_NR; j++) dst[j] = j < w ? b[(size_t)k * sbk + (size_t)(j0 + j) * sbj] : 0.0f;
  }
}

/* ap[ip][k][6] = A(i0 + ip * 6 + r, k0 + k), zero past row m. */
static void pack_a(int i0, int mc, int m, int k0, int kc, const float *a, int lda, int ska, float *ap) {
  for (int p = 0; p < mc; p += PK_MR, ap += (size_t)kc * PK_MR) {
    int rows = m - (i0 + p) < PK_MR ? m - (i0 + p) : PK_MR;
    const float *src = a + (size_t)(i0 + p) * lda + (size_t)k0 * ska;
    if (ska == 1 && rows == PK_MR && PK_MR == 12) {
      float *d = ap;
      for (int k = 0; k < kc; k++, d += 12)
        for (int r = 0; r < 12; r++) d[r] = src[(size_t)r * lda + k];
    } else if (ska == 1 && rows == PK_MR && PK_MR == 6) {
      const float *r0 = src, *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda, *r4 = r3 + lda, *r5 = r4 + lda;
      float *d = ap;
      for (int k = 0; k < kc; k++, d += PK_MR) {
        d[0] = r0[k];
        d[1] = r1[k];
        d[2] = r2[k];
        d[3] = r3[k];
        d[4] = r4[k];
        d[5] = r5[k];
      }
    } else if (lda == 1 && rows == PK_MR) {
      float *d = ap;
      for (int k = 0; k < kc; k++, d += PK_MR) memcpy(d, src + (size_t)k * ska, sizeof(float) * PK_MR);
    } else {
      float *d = ap;
      for (int k = 0; k < kc; k++, d += PK_MR)
        for (int r = 0; r < PK_MR; r++) d[r] = r < rows ? src[(size_t)r * lda + (size_t)k * ska] : 0.0f;
    }
  }
}

__attribute__((target("avx2,fma"))) static void kernel6x16(int kc, const float *ap, const float *bp, float *c, int ldc, int mr, int nr, int accumulate) {
  __m256i m0 = mask_for(nr), m1 = mask_for(nr - 8);
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
  if (accumulate) {
#define LOAD_ROW(r)                                                                   \
  if (r < mr) {                                                                       \
    c##r##0 = _mm256_maskload_ps(c + (size_t)r * ldc, m0);                           \
    c##r##1 = _mm256_maskload_ps(c + (size_t)r * ldc + 8, m1);                       \
  }
    LOAD_ROW(0) LOAD_ROW(1) LOAD_ROW(2) LOAD_ROW(3) LOAD_ROW(4) LOAD_ROW(5)
#undef LOAD_ROW
  }
  for (int k = 0; k < kc; k++, ap += 6, bp += 16) {
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), a;
    a = _mm256_broadcast_ss(ap + 0);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
  }
  if (mr == 6 && nr >= 16) {
    _mm256_storeu_ps(c, c00);
    _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + (size_t)ldc, c10);
    _mm256_storeu_ps(c + (size_t)ldc + 8, c11);
    _mm256_storeu_ps(c + (size_t)2 * ldc, c20);
    _mm256_storeu_ps(c + (size_t)2 * ldc + 8, c21);
    _mm256_storeu_ps(c + (size_t)3 * ldc, c30);
    _mm256_storeu_ps(c + (size_t)3 * ldc + 8, c31);
    _mm256_storeu_ps(c + (size_t)4 * ldc, c40);
    _mm256_storeu_ps(c + (size_t)4 * ldc + 8, c41);
    _mm256_storeu_ps(c + (size_t)5 * ldc, c50);
    _mm256_storeu_ps(c + (size_t)5 * ldc + 8, c51);
    return;
  }
#define STORE_ROW(r)                                                \
  if (r < mr) {                                                     \
    _mm256_maskstore_ps(c + (size_t)r * ldc, m0, c##r##0);         \
    _mm256_maskstore_ps(c + (size_t)r * ldc + 8, m1, c##r##1);     \
  }
  STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
#undef STORE_ROW
}

/* The same with AVX-512: 12 rows x 32 columns, 24 of the 32 zmm registers as accumulators. */
__attribute__((target("avx512f"))) static void kernel12x32(int kc, const float *ap, const float *bp, float *c, int ldc, int mr, int nr, int accumulate) {
  __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << (nr > 0 ? nr : 0)) - 1);
  __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
  __m512 acc[24];
#pragma GCC unroll 12
  for (int r = 0; r < 12; r++) {
    if (accumulate && r < mr) {
      acc[2 * r] = _mm512_maskz_loadu_ps(m0, c + (size_t)r * ldc);
      acc[2 * r + 1] = _mm512_maskz_loadu_ps(m1, c + (size_t)r * ldc + 16);
    } else
      acc[2 * r] = acc[2 * r + 1] = _mm512_setzero_ps();
  }
  for (int k = 0; k < kc; k++, ap += 12, bp += 32) {
    __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
#pragma GCC unroll 12
    for (int r = 0; r < 12; r++) {
      __m512 a = _mm512_set1_ps(ap[r]);
      acc[2 * r] = _mm512_fmadd_ps(a, b0, acc[2 * r]);
      acc[2 * r + 1] = _mm512_fmadd_ps(a, b1, acc[2 * r + 1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < 12; r++)
    if (r < mr) {
      _mm512_mask_storeu_ps(c + (size_t)r * ldc, m0, acc[2 * r]);
      _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, m1, acc[2 * r + 1]);
    }
}

/* C[m x n] (+)= A . B with B packed by pack_b (all kk rows); A(i, k) = a[i * lda + k * ska]. */
__attribute__((target("avx2,fma"))) static int gemm_pb(int m, int n, int kk, const float *a, int lda, int ska, const float *bp, float *c, int ldc, int accumulate);
#endif

static gemm_fn *gemm = gemm_plain;


#if defined(__x86_64__)
static float *pack_scratch(size_t floats) {
  static _Thread_local float *buf;
  static _Thread_local size_t have;
  if (floats > have) {
    float *grown = aligned_alloc(64, ((sizeof(float) * floats + 63) / 64) * 64);
    if (!grown) return NULL;
    free(buf);
    buf = grown;
    have = floats;
  }
  return buf;
}

__attribute__((target("avx2,fma"))) static int gemm_pb(int m, int n, int kk, const float *a, int lda, int ska, const float *bp, float *c, int ldc, int accumulate) {
  float *ap = pack_scratch((size_t)PK_MC * PK_KC);
  if (!ap) return 0;
  for (int k0 = 0; k0 < kk; k0 += PK_KC) {
    int kc = kk - k0 < PK_KC ? kk - k0 : PK_KC, acc = accumulate || k0 > 0;
    for (int i0 = 0; i0 < m; i0 += PK_MC) {
      int mc = m - i0 < PK_MC ? m - i0 : PK_MC;
      pack_a(i0, mc, m, k0, kc, a, lda, ska, ap);
      for (int j0 = 0; j0 < n; j0 += PK_NR) {
        const float *b = bp + (size_t)(j0 / PK_NR) * kk * PK_NR + (size_t)k0 * PK_NR;
        int nr = n - j0 < PK_NR ? n - j0 : PK_NR;
        for (int p = 0; p < mc; p += PK_MR) {
          int mr = mc - p < PK_MR ? mc - p : PK_MR;
          if (PK_NR == 32)
            kernel12x32(kc, ap + (size_t)p * kc, b, c + (size_t)(i0 + p) * ldc + j0, ldc, mr, nr, acc);
          else
            kernel6x16(kc, ap + (size_t)p * kc, b, c + (size_t)(i0 + p) * ldc + j0, ldc, mr, nr, acc);
        }
      }
    }
  }
  return 1;
}
#endif

const char *conv_simd(void) {
#if defined(__x86_64__)
  return gemm == gemm_avx2 ? (pk_nr == 32 ? "avx2+fma, avx512 packed GEMM" : "avx2+fma") : "none";
#else
  return "none";
#endif
}

/* Rows of output pixels per chunk: the chunk's im2col (rows x k floats) stays within ~256 KiB where k allows. */
static int chunk_rows(int k) {
  int rows = 65536 / (k > 0 ? k : 1);
  /* At least 96 rows (16 register blocks): with fewer, a deep layer's packed W (3x3x512x512: 9 MiB)
   * streams from memory once per 16-row chunk, and that traffic cost as much as the arithmetic. */
  rows = rows < 96 ? 96 : rows;
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

/*
 * cols[r, (kh, kw, c)] = x at pixel r's tap (kh, kw), 0 in the padding: rows r0 .. r0 + rows - 1.
 * A filter row that lies inside the image (dilation 1) is fw * ci contiguous floats of x: one copy.
 */
static void im2col(const geom *g, const float *x, int r0, int rows, float *cols) {
  int k = g->fh * g->fw * g->ci, ci = g->ci, span = g->fw * ci;
  pixel p = pixel_at(g, r0);
  for (int r = 0; r < rows; r++, next_pixel(g, &p)) {
    float *dst = cols + (size_t)r * k;
    int ix0 = p.ox * g->sw - g->pl;
    int inside = g->dw == 1 && ix0 >= 0 && ix0 + g->fw <= g->w;
    for (int kh = 0; kh < g->fh; kh++) {
      int iy = p.oy * g->sh + kh * g->dh - g->pt;
      if (iy < 0 || iy >= g->h) {
        memset(dst, 0, sizeof(float) * (size_t)span);
        dst += span;
        continue;
      }
      const float *row = x + ((size_t)p.bi * g->h + iy) * g->w * ci;
      if (inside) {
        memcpy(dst, row + (size_t)ix0 * ci, sizeof(float) * (size_t)span);
        dst += span;
        continue;
      }
      for (int kw = 0; kw < g->fw; kw++, dst += ci) {
        int ix = ix0 + kw * g->dw;
        if (ix < 0 || ix >= g->w) memset(dst, 0, sizeof(float) * (size_t)ci);
        else memcpy(dst, row + (size_t)ix * ci, sizeof(float) * (size_t)ci);
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

/* Rows of output pixels per task: chunk_rows(k), cut so that every thread gets at least two. */
static int task_rows(int k, int total) {
  int step = chunk_rows(k), t = pool_threads();
  if (t > 1) {
    int fair = ((total + 2 * t - 1) / (2 * t) + 3) & ~3;
    if (fair < step) step = fair < 16 ? 16 : fair;
  }
  return step;
}

typedef struct {
  const geom *g;
  const float *x, *w, *bias, *dy;
  float *out;
  int relu, k, total, step;
  float *cols; /* the filter gradient's partial sums, one [k x co] a chunk */
  int mstep;
  const float *bp; /* the packed B shared by every task (forward: W; input gradient: W^T), NULL: unpacked kernels */
  int packed;      /* the packed GEMM runs (AVX2+FMA) */
  int pointwise;   /* 1x1, stride 1, no padding: x's rows are the im2col, dx's rows the dcols */
  atomic_int failed; /* a task found no memory for its scratch */
} conv_job;

static int is_pointwise(const geom *g) {
  return g->fh == 1 && g->fw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h && g->ow == g->w;
}

/* Filter-gradient chunks: at least 256 rows, so each chunk's partial dW (k x co) is small beside its work (k x co x rows). */
static int filter_rows(int k) {
  int rows = chunk_rows(k);
  return rows < 256 ? 256 : rows;
}

/* Chunk t's first row and row count, with its im2col in this thread's scratch (NULL when out of memory). */
static float *chunk_cols(const conv_job *j, int t, int *r0, int *rows) {
  *r0 = t * j->step;
  *rows = j->total - *r0 < j->step ? j->total - *r0 : j->step;
  if (j->pointwise) return (float *)j->x + (size_t)*r0 * j->k;
  float *cols = scratch(SCRATCH_COLS, sizeof(float) * (size_t)j->step * j->k);
  if (cols) im2col(j->g, j->x, *r0, *rows, cols);
  return cols;
}

/* Forward, one chunk of output rows: im2col, GEMM, bias and relu, into its own rows of out. */
static void forward_task(void *ctx, int t) {
  conv_job *j = ctx;
  const geom *g = j->g;
  int r0, rows;
  float *cols = chunk_cols(j, t, &r0, &rows);
  if (!cols) {
    atomic_store(&j->failed, 1);
    return;
  }
  float *o = j->out + (size_t)r0 * g->co;
#if defined(__x86_64__)
  if (j->packed) {
    if (!gemm_pb(rows, g->co, j->k, cols, j->k, 1, j->bp, o, g->co, 0)) atomic_store(&j->failed, 1);
  } else
#endif
    gemm(rows, g->co, j->k, cols, j->k, 1, j->w, g->co, o, g->co, 0);
  if (j->bias || j->relu)
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < g->co; c++) {
        float v = o[(size_t)r * g->co + c] + (j->bias ? j->bias[c] : 0.0f);
        o[(size_t)r * g->co + c] = j->relu && v < 0.0f ? 0.0f : v;
      }
}

int conv_forward(const conv_geom *cg, const float *x, const float *w, const float *bias, int relu, float *out) {
  int k = cg->fh * cg->fw * cg->ci, total = cg->b * cg->oh * cg->ow;
  conv_job j = {.g = cg, .x = x, .w = w, .bias = bias, .out = out, .relu = relu, .k = k, .total = total, .step = task_rows(k, total)};
  j.pointwise = is_pointwise(cg);
#if defined(__x86_64__)
  if (gemm == gemm_avx2) {
    float *bp = scratch(SCRATCH_W, sizeof(float) * (size_t)k * ((cg->co + PK_NR - 1) / PK_NR * PK_NR));
    if (!bp) return 0;
    pack_b(k, cg->co, w, (size_t)cg->co, 1, bp);
    j.bp = bp;
    j.packed = 1;
  }
#endif
  parallel_for((total + j.step - 1) / j.step, forward_task, &j, 2.0 * total * k * cg->co);
  return !atomic_load(&j.failed);
}

/*
 * Filter gradient, chunk t of the rows: its im2col, then its own partial dW = cols^T . dy (the
 * chunks are fixed by k alone, so the thread count changes no sum).
 */
static void filter_task(void *ctx, int t) {
  conv_job *j = ctx;
  const geom *g = j->g;
  int r0, rows;
  float *cols = chunk_cols(j, t, &r0, &rows);
  if (!cols) {
    atomic_store(&j->failed, 1);
    return;
  }
  const float *dyr = j->dy + (size_t)r0 * g->co;
  float *part = j->cols + (size_t)t * j->k * g->co;
#if defined(__x86_64__)
  if (j->packed) {
    float *bp = scratch(SCRATCH_B, sizeof(float) * (size_t)rows * ((g->co + PK_NR - 1) / PK_NR * PK_NR));
    if (!bp) {
      atomic_store(&j->failed, 1);
      return;
    }
    pack_b(rows, g->co, dyr, (size_t)g->co, 1, bp);
    if (!gemm_pb(j->k, g->co, rows, cols, 1, j->k, bp, part, g->co, 0)) atomic_store(&j->failed, 1);
    return;
  }
#endif
  gemm(j->k, g->co, rows, cols, 1, j->k, dyr, g->co, part, g->co, 0);
}

int conv_backprop_filter(const conv_geom *cg, const float *x, const float *dy, float *dw) {
  int k = cg->fh * cg->fw * cg->ci, total = cg->b * cg->oh * cg->ow, step = filter_rows(k), chunks = (total + step - 1) / step;
  size_t size = (size_t)k * cg->co;
  conv_job j = {.g = cg, .x = x, .dy = dy, .k = k, .total = total, .step = step, .pointwise = is_pointwise(cg)};
#if defined(__x86_64__)
  j.packed = gemm == gemm_avx2;
#endif
  j.cols = scratch(SCRATCH_PARTS, sizeof(float) * size * (size_t)chunks);
  if (!j.cols) return 0;
  parallel_for(chunks, filter_task, &j, 2.0 * total * k * cg->co);
  if (atomic_load(&j.failed)) return 0;
  /* dW = the chunks' partial sums added in chunk order. */
  memcpy(dw, j.cols, sizeof(float) * size);
  for (int c = 1; c < chunks; c++) {
    const float *p = j.cols + (size_t)c * size;
    for (size_t i = 0; i < size; i++) dw[i] += p[i];
  }
  return 1;
}

/* Input gradient, images [t * per, ...): dcols = dy . W^T a chunk at a time, scattered into that image's dx (images never overlap). */
static void input_task(void *ctx, int t) {
  conv_job *j = ctx;
  const geom *g = j->g;
  int pixels = g->oh * g->ow, per = j->mstep;
  int first = t * per * pixels, last = (t + 1) * per * pixels < j->total ? (t + 1) * per * pixels : j->total;
  float *dcols = scratch(SCRATCH_COLS, sizeof(float) * (size_t)j->step * j->k);
  if (!dcols) {
    atomic_store(&j->failed, 1);
    return;
  }
  size_t image = (size_t)g->h * g->w * g->ci;
  if (!j->pointwise) memset(j->out + (size_t)t * per * image, 0, sizeof(float) * image * (size_t)((last - first) / pixels));
  for (int r0 = first; r0 < last; r0 += j->step) {
    int rows = last - r0 < j->step ? last - r0 : j->step;
    /* 1x1, stride 1, no padding: the rows of dcols are dx's own (written whole, no scatter). */
    float *dst = j->pointwise ? j->out + (size_t)r0 * j->k : dcols;
#if defined(__x86_64__)
    if (j->packed) {
      if (!gemm_pb(rows, j->k, g->co, j->dy + (size_t)r0 * g->co, g->co, 1, j->bp, dst, j->k, 0)) {
        atomic_store(&j->failed, 1);
        return;
      }
    } else
#endif
      gemm(rows, j->k, g->co, j->dy + (size_t)r0 * g->co, g->co, 1, j->w, j->k, dst, j->k, 0);
    if (!j->pointwise) col2im(g, dcols, r0, rows, j->out);
  }
}

int conv_backprop_input(const conv_geom *cg, const float *dy, const float *w, float *dx) {
  int k = cg->fh * cg->fw * cg->ci, total = cg->b * cg->oh * cg->ow;
  conv_job j = {.g = cg, .dy = dy, .out = dx, .k = k, .total = total, .step = chunk_rows(k), .pointwise = is_pointwise(cg)};
#if defined(__x86_64__)
  if (gemm == gemm_avx2) {
    /* W^T [co x k] packed straight from W [k x co]. */
    float *bp = scratch(SCRATCH_W, sizeof(float) * (size_t)cg->co * ((k + PK_NR - 1) / PK_NR * PK_NR));
    if (!bp) return 0;
    pack_b(cg->co, k, w, 1, (size_t)cg->co, bp);
    j.bp = bp;
    j.packed = 1;
  }
#endif
  if (!j.packed) {
    float *wt = scratch(SCRATCH_W, sizeof(float) * (size_t)k * cg->co);
    if (!wt) return 0;
    for (int kk = 0; kk < k; kk++)
      for (int c = 0; c < cg->co; c++) wt[(size_t)c * k + kk] = w[(size_t)kk * cg->co + c];
    j.w = wt;
  }
  /* One image a task: images never share dx, and many small tasks keep both cores busy when one is shared with other load. */
  j.mstep = 1;
  parallel_for((cg->b + j.mstep - 1) / j.mstep, input_task, &j, 2.0 * total * k * cg->co);
  return !atomic_load(&j.failed);
}

/* dst[q * n + j] = src[j * k + q]: B^T laid out row-major, in 16 x 16 tiles so reads and writes both stay in cache lines. */
static void transpose(const float *src, int n, int k, float *dst) {
  for (int j0 = 0; j0 < n; j0 += 16)
    for (int q0 = 0; q0 < k; q0 += 16) {
      int j1 = j0 + 16 < n ? j0 + 16 : n, q1 = q0 + 16 < k ? q0 + 16 : k;
      for (int q = q0; q < q1; q++)
        for (int j = j0; j < j1; j++) dst[(size_t)q * n + j] = src[(size_t)j * k + q];
    }
}

void conv_init(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  /* AVX-512 (8x16 and 4x32 blocks) was tried on the unpacked kernels: 10-15% slower per thread CPU
   * time on this machine's cores (their loads, not the FMAs, were the limit). MIXSTREAM_NATIVE_SIMD=none
   * forces the plain C loop (tests, comparisons). */
  const char *cap = getenv("MIXSTREAM_NATIVE_SIMD");
  if ((!cap || strcmp(cap, "none") != 0) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) gemm = gemm_avx2;
  /* The packed GEMM's 12 x 32 AVX-512 block: 141-149 GFLOP per CPU-second on one core here against
   * 92 for the 6 x 16 AVX2 one (L1-resident panels). Each element is the same FMA chain in k order,
   * so the results are the AVX2 path's bits. MIXSTREAM_NATIVE_SIMD=avx2 keeps the AVX2 block. */
  if (gemm == gemm_avx2 && (!cap || strcmp(cap, "avx2") != 0) && __builtin_cpu_supports("avx512f")) {
    pk_mr = 12;
    pk_nr = 32;
  }
#endif
}

typedef struct {
  const float *a, *b;
  float *out;
  int batch_a, batch_b, m, n, k, transpose_a, transpose_b, parts, mstep, nstep;
} matmul_job;

/* Part t of one product: a block of its output's rows (or, when they are few, of its columns). */
static void matmul_task(void *ctx, int t) {
  const matmul_job *j = ctx;
  int i = t / j->parts, part = t % j->parts;
  const float *ai = j->a + (size_t)(j->batch_a == 1 ? 0 : i) * j->m * j->k;
  const float *bi = j->b + (size_t)(j->batch_b == 1 ? 0 : i) * j->k * j->n;
  float *oi = j->out + (size_t)i * j->m * j->n;
  int r0 = j->mstep ? part * j->mstep : 0, rows = j->mstep ? (j->m - r0 < j->mstep ? j->m - r0 : j->mstep) : j->m;
  int c0 = j->nstep ? part * j->nstep : 0, cols = j->nstep ? (j->n - c0 < j->nstep ? j->n - c0 : j->nstep) : j->n;
  int lda = j->transpose_a ? 1 : j->k, ska = j->transpose_a ? j->m : 1;
  gemm(rows, cols, j->k, ai + (size_t)r0 * lda, lda, ska, bi + c0, j->n, oi + (size_t)r0 * j->n + c0, j->n, 0);
}

int batch_matmul(const float *a, const float *b, float *out, int batch_a, int batch_b, int m, int n, int k, int transpose_a, int transpose_b) {
  int batch = batch_a > batch_b ? batch_a : batch_b, t = pool_threads();
  if (k == 0) {
    memset(out, 0, sizeof(float) * (size_t)batch * m * n);
    return 1;
  }
  if (transpose_b) {
    /* The GEMM reads B row-major: lay each B^T out as [k x n]. */
    float *bt = scratch(SCRATCH_B, sizeof(float) * (size_t)batch_b * k * n);
    if (!bt) return 0;
    for (int i = 0; i < batch_b; i++) transpose(b + (size_t)i * k * n, n, k, bt + (size_t)i * k * n);
    b = bt;
  }
  matmul_job j = {a, b, out, batch_a, batch_b, m, n, k, transpose_a, 0, 1, 0, 0};
  /* Enough parts for every thread: rows in blocks of 4 where there are many, else columns in blocks of 16. */
  int want = batch >= 2 * t ? 1 : (2 * t + batch - 1) / batch;
  if (want > 1 && m >= 8 * want) {
    j.mstep = ((m + want - 1) / want + 3) & ~3;
    j.parts = (m + j.mstep - 1) / j.mstep;
  } else if (want > 1 && n >= 32 * want) {
    j.nstep = ((n + want - 1) / want + 15) & ~15;
    j.parts = (n + j.nstep - 1) / j.nstep;
  }
  parallel_for(batch * j.parts, matmul_task, &j, 2.0 * batch * m * n * k);
  return 1;
}
