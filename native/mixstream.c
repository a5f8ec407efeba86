/*
 * mixstream's optional native addon: the hot loops of src/core (image.ts, mix.ts) in C, each
 * giving the same bytes as its JavaScript (the tests compare the two bit for bit):
 *   resize  the 8-bit bilinear resize (same float64 maths, same order, no fused multiply-add), 4.5x;
 *   lookup  byte image -> float32 through a 256-entry table (the brightness delta is in the table),
 *           mirrored when augment flipped it;
 *   blend   Mixup's blend, in float32 arithmetic;
 *   paste   CutMix's "own image with the partner's box", every byte written once;
 *   crc32c  TFRecord's checksum with SSE 4.2's crc32 instruction (x86-64 CPUs that have it);
 *   conv*   the wasm backend's conv2d and its gradients on the wasm heap (conv.c, conv_napi.c);
 *   sumRows the wasm backend's Sum / Mean over leading axes (reduce.c);
 *   bn*     batch norm forward and its whole backward in one kernel each (batchnorm.c);
 *   maxPoolGrad  the wasm backend's MaxPoolGrad (pool.c).
 * Synchronous on the calling thread (resize runs on the decode workers, the rest on the main
 * thread). Built at install by scripts/build-native.mjs; without it the JavaScript runs.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "conv.h"
#include "reduce.h"
#include "batchnorm.h"
#include "pool.h"
#include "optim.h"
#include "threads.h"
#include "depthwise.h"

#include "napi_check.h"

static int array_arg(napi_env env, napi_value value, napi_typedarray_type expected, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok || type != expected) {
    napi_throw_type_error(env, NULL, expected == napi_uint8_array ? "mixstream native: expected a Uint8Array" : "mixstream native: expected a Float32Array");
    return 0;
  }
  return 1;
}

static int bytes_arg(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  return array_arg(env, value, napi_uint8_array, (void **)data, length);
}

static int int_arg(napi_env env, napi_value value, int32_t *out) {
  if (napi_get_value_int32(env, value, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "mixstream native: expected an integer");
    return 0;
  }
  return 1;
}

/* Half-pixel-centre bilinear taps, as taps() in src/core/image.ts (weights rounded to float32). */
static void taps(int in, int out, int *i0, int *i1, double *w) {
  double scale = (double)in / (double)out;
  for (int o = 0; o < out; o++) {
    double f = fmin(fmax((o + 0.5) * scale - 0.5, 0.0), (double)(in - 1));
    int lo = (int)floor(f);
    i0[o] = lo;
    i1[o] = lo + 1 < in ? lo + 1 : in - 1;
    w[o] = (double)(float)(f - lo);
  }
}

static void interpolate_row(const uint8_t *src, const int *at0, const int *at1, const double *wx, int span, double *dst) {
  for (int i = 0; i < span; i++) {
    double a = src[at0[i]];
    dst[i] = a + ((double)src[at1[i]] - a) * wx[i];
  }
}

/* resize(src, height, width, channels, outHeight, outWidth, out): resizeBytes into `out`. */
static napi_value resize(napi_env env, napi_callback_info cb) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  uint8_t *src, *out;
  size_t src_length, out_length;
  int32_t height, width, channels, out_height, out_width;
  if (argc < 7 || !bytes_arg(env, argv[0], &src, &src_length) || !int_arg(env, argv[1], &height) || !int_arg(env, argv[2], &width) ||
      !int_arg(env, argv[3], &channels) || !int_arg(env, argv[4], &out_height) || !int_arg(env, argv[5], &out_width) ||
      !bytes_arg(env, argv[6], &out, &out_length))
    return NULL;
  if (height < 1 || width < 1 || channels < 1 || out_height < 1 || out_width < 1 || (size_t)height * width * channels > src_length ||
      (size_t)out_height * out_width * channels > out_length) {
    napi_throw_range_error(env, NULL, "mixstream native: resize sizes do not match the buffers");
    return NULL;
  }
  int span = out_width * channels;
  size_t row = (size_t)width * channels;
  /* One block for the taps and the two interpolated rows: doubles first, then ints. */
  double *block = malloc(sizeof(double) * ((size_t)out_height + out_width + 3 * (size_t)span) + sizeof(int) * (2 * (size_t)out_height + 2 * (size_t)out_width + 2 * (size_t)span));
  if (!block) {
    napi_throw_error(env, NULL, "mixstream native: out of memory");
    return NULL;
  }
  double *wy = block, *wxo = wy + out_height, *wx = wxo + out_width, *upper = wx + span, *lower = upper + span;
  int *yi0 = (int *)(lower + span), *yi1 = yi0 + out_height, *xi0 = yi1 + out_height, *xi1 = xi0 + out_width, *at0 = xi1 + out_width, *at1 = at0 + span;
  taps(height, out_height, yi0, yi1, wy);
  taps(width, out_width, xi0, xi1, wxo);
  for (int x = 0, o = 0; x < out_width; x++)
    for (int k = 0; k < channels; k++, o++) {
      at0[o] = xi0[x] * channels + k;
      at1[o] = xi1[x] * channels + k;
      wx[o] = wxo[x];
    }
  int upper_row = -1, lower_row = -1;
  uint8_t *o = out;
  for (int y = 0; y < out_height; y++) {
    int r0 = yi0[y], r1 = yi1[y];
    if (r0 != upper_row) {
      if (r0 == lower_row) {
        double *swap = lower;
        lower = upper;
        upper = swap;
        upper_row = lower_row;
        lower_row = -1;
      } else {
        interpolate_row(src + r0 * row, at0, at1, wx, span, upper);
        upper_row = r0;
      }
    }
    if (r1 != lower_row) {
      interpolate_row(src + r1 * row, at0, at1, wx, span, lower);
      lower_row = r1;
    }
    double w = wy[y];
    for (int i = 0; i < span; i++) {
      double top = upper[i];
      *o++ = (uint8_t)(int)(top + (lower[i] - top) * w + 0.5);
    }
  }
  free(block);
  return NULL;
}

/*
 * lookup(src, table, dst, offset, height, width, channels, flipH, flipV): a byte image written as
 * float32 at dst[offset...] through a 256-entry table (value / 255 with the brightness delta in
 * it), mirrored as asked.
 */
static napi_value lookup(napi_env env, napi_callback_info cb) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  uint8_t *src;
  float *table, *dst;
  size_t src_length, table_length, dst_length;
  int32_t v[6]; /* offset, height, width, channels, flipH, flipV */
  if (argc < 9 || !bytes_arg(env, argv[0], &src, &src_length) || !array_arg(env, argv[1], napi_float32_array, (void **)&table, &table_length) ||
      !array_arg(env, argv[2], napi_float32_array, (void **)&dst, &dst_length))
    return NULL;
  for (int i = 0; i < 6; i++)
    if (!int_arg(env, argv[3 + i], &v[i])) return NULL;
  int offset = v[0], height = v[1], width = v[2], channels = v[3], flip_h = v[4], flip_v = v[5];
  size_t row = (size_t)width * channels;
  if (table_length != 256 || offset < 0 || height < 0 || width < 0 || channels < 1 || row * height != src_length || (size_t)offset + src_length > dst_length) {
    napi_throw_range_error(env, NULL, "mixstream native: lookup needs a 256-entry table, the image's shape and room in dst");
    return NULL;
  }
  for (int y = 0; y < height; y++) {
    const uint8_t *s = src + (size_t)(flip_v ? height - 1 - y : y) * row;
    float *d = dst + offset + (size_t)y * row;
    if (!flip_h) {
      for (size_t i = 0; i < row; i++) d[i] = table[s[i]];
    } else if (channels == 3) {
      for (const uint8_t *p = s + row - 3; p >= s; p -= 3, d += 3) d[0] = table[p[0]], d[1] = table[p[1]], d[2] = table[p[2]];
    } else {
      for (const uint8_t *p = s + row - channels; p >= s; p -= channels, d += channels)
        for (int k = 0; k < channels; k++) d[k] = table[p[k]];
    }
  }
  return NULL;
}

/*
 * blend(x, y, dst, lambda): dst[i] = l * x[i] + m * y[i] in float32 arithmetic, with l and m
 * lambda and 1 - lambda rounded to float32, as blendInto does in JavaScript (with Math.fround).
 * The three are Float32Arrays of one length; dst may be x.
 */
static napi_value blend(napi_env env, napi_callback_info cb) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  float *x, *y, *dst;
  size_t x_length, y_length, dst_length;
  double lambda;
  if (argc < 4 || !array_arg(env, argv[0], napi_float32_array, (void **)&x, &x_length) || !array_arg(env, argv[1], napi_float32_array, (void **)&y, &y_length) ||
      !array_arg(env, argv[2], napi_float32_array, (void **)&dst, &dst_length))
    return NULL;
  if (napi_get_value_double(env, argv[3], &lambda) != napi_ok) {
    napi_throw_type_error(env, NULL, "mixstream native: blend's lambda must be a number");
    return NULL;
  }
  if (x_length != y_length || x_length != dst_length) {
    napi_throw_range_error(env, NULL, "mixstream native: blend needs arrays of one length");
    return NULL;
  }
  double mu = 1 - lambda;
  float l = (float)lambda, m = (float)mu;
  for (size_t i = 0; i < x_length; i++) dst[i] = l * x[i] + m * y[i];
  return NULL;
}

/*
 * paste(own, partner, dst, height, width, pixelBytes, y0, y1, x0, x1): dst = own with the box of
 * rows [y0, y1) and columns [x0, x1) taken from partner (CutMix), every byte written once.
 */
static napi_value paste(napi_env env, napi_callback_info cb) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  uint8_t *own, *partner, *dst;
  size_t own_length, partner_length, dst_length;
  int32_t v[7]; /* height, width, pixelBytes, y0, y1, x0, x1 */
  if (argc < 10 || !bytes_arg(env, argv[0], &own, &own_length) || !bytes_arg(env, argv[1], &partner, &partner_length) || !bytes_arg(env, argv[2], &dst, &dst_length))
    return NULL;
  for (int i = 0; i < 7; i++)
    if (!int_arg(env, argv[3 + i], &v[i])) return NULL;
  int height = v[0], width = v[1], pixel = v[2], y0 = v[3], y1 = v[4], x0 = v[5], x1 = v[6];
  size_t row = (size_t)width * pixel, image = row * height;
  if (height < 0 || width < 0 || pixel < 1 || image > own_length || image > partner_length || image > dst_length || y0 < 0 || y1 < y0 ||
      y1 > height || x0 < 0 || x1 < x0 || x1 > width) {
    napi_throw_range_error(env, NULL, "mixstream native: paste sizes or box do not match the buffers");
    return NULL;
  }
  if (y0 == y1 || x0 == x1) {
    memcpy(dst, own, image);
    return NULL;
  }
  memcpy(dst, own, (size_t)y0 * row);
  size_t left = (size_t)x0 * pixel, box = (size_t)(x1 - x0) * pixel, right = row - left - box;
  for (int y = y0; y < y1; y++) {
    size_t at = (size_t)y * row;
    memcpy(dst + at, own + at, left);
    memcpy(dst + at + left, partner + at + left, box);
    memcpy(dst + at + left + box, own + at + left + box, right);
  }
  memcpy(dst + (size_t)y1 * row, own + (size_t)y1 * row, (size_t)(height - y1) * row);
  return NULL;
}

/* ---------------------------------------------------------------- CRC-32C */

#if defined(__x86_64__)
#include <nmmintrin.h>

/* CRC-32C with SSE 4.2's crc32 instruction, 8 bytes a step (registered only where the CPU has it). */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n) {
  uint64_t c = ~crc;
  for (; n > 0 && ((uintptr_t)p & 7) != 0; n--) c = _mm_crc32_u8((uint32_t)c, *p++);
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  for (; n > 0; n--) c = _mm_crc32_u8((uint32_t)c, *p++);
  return ~(uint32_t)c;
}

/* crc32c(bytes, start, end, crc): as crc32c() in src/core/crc32c.ts, an unsigned 32-bit number. */
static napi_value crc32c(napi_env env, napi_callback_info cb) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  uint8_t *bytes;
  size_t length;
  int64_t start, end;
  uint32_t crc;
  if (argc < 4 || !bytes_arg(env, argv[0], &bytes, &length)) return NULL;
  if (napi_get_value_int64(env, argv[1], &start) != napi_ok || napi_get_value_int64(env, argv[2], &end) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &crc) != napi_ok || start < 0 || end < start || (size_t)end > length) {
    napi_throw_range_error(env, NULL, "mixstream native: crc32c needs 0 <= start <= end <= length and a 32-bit crc");
    return NULL;
  }
  napi_value result;
  CHECK(napi_create_uint32(env, crc32c_sse42(crc, bytes + start, (size_t)(end - start)), &result));
  return result;
}
#endif

NAPI_MODULE_INIT() {
  napi_value fn;
  static const struct { const char *name; napi_callback fn; } exported[] = {{"resize", resize}, {"lookup", lookup}, {"blend", blend}, {"paste", paste}};
  for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++)
    if (napi_create_function(env, exported[i].name, NAPI_AUTO_LENGTH, exported[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, exported[i].name, fn) != napi_ok)
      return NULL;
  if (!conv_register(env, exports) || !reduce_register(env, exports) || !batchnorm_register(env, exports) || !pool_register(env, exports) ||
      !optim_register(env, exports) || !threads_register(env, exports) || !depthwise_register(env, exports))
    return NULL;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2") &&
      (napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, crc32c, NULL, &fn) != napi_ok || napi_set_named_property(env, exports, "crc32c", fn) != napi_ok))
    return NULL;
#endif
  return exports;
}
