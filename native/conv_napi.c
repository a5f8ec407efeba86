/*
 * N-API glue for conv.c. Every call takes the geometry as an Int32Array of CONV_GEOM_FIELDS and
 * Float32Array views (of the wasm heap, in practice); each view's length is checked against the
 * geometry first, since a wrong length would otherwise read or write past a tensor into the heap.
 */
#include <stdint.h>
#include <node_api.h>
#include "conv.h"

#include "napi_check.h"

static int floats(napi_env env, napi_value v, size_t need, float **data, const char *what) {
  napi_typedarray_type type;
  size_t length, offset;
  napi_value buffer;
  if (napi_get_typedarray_info(env, v, &type, &length, (void **)data, &buffer, &offset) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  if (length != need) {
    napi_throw_range_error(env, NULL, what);
    return 0;
  }
  return 1;
}

static int geometry(napi_env env, napi_value v, conv_geom *g) {
  napi_typedarray_type type;
  size_t length, offset;
  napi_value buffer;
  int32_t *p;
  if (napi_get_typedarray_info(env, v, &type, &length, (void **)&p, &buffer, &offset) != napi_ok || type != napi_int32_array || length != CONV_GEOM_FIELDS) {
    napi_throw_type_error(env, NULL, "mixstream native: conv geometry must be an Int32Array of 15");
    return 0;
  }
  for (size_t i = 0; i < CONV_GEOM_FIELDS; i++)
    if (p[i] < (i >= 13 ? 0 : 1)) {
      napi_throw_range_error(env, NULL, "mixstream native: conv geometry has a non-positive size");
      return 0;
    }
  *g = (conv_geom){p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
  return 1;
}

#define SIZES(g)                                                        \
  size_t nx = (size_t)(g).b * (g).h * (g).w * (g).ci;                   \
  size_t nw = (size_t)(g).fh * (g).fw * (g).ci * (g).co;                \
  size_t ny = (size_t)(g).b * (g).oh * (g).ow * (g).co

/* convForward(geom, x, w, bias | null, relu, out) */
static napi_value forward(napi_env env, napi_callback_info cb) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  conv_geom g;
  float *x, *w, *bias = NULL, *out;
  napi_valuetype biasType;
  int32_t relu;
  if (argc < 6 || !geometry(env, argv[0], &g)) return NULL;
  SIZES(g);
  CHECK(napi_typeof(env, argv[3], &biasType));
  if (!floats(env, argv[1], nx, &x, "mixstream native: convForward x") || !floats(env, argv[2], nw, &w, "mixstream native: convForward filter") ||
      (biasType != napi_null && biasType != napi_undefined && !floats(env, argv[3], (size_t)g.co, &bias, "mixstream native: convForward bias")) ||
      napi_get_value_int32(env, argv[4], &relu) != napi_ok || !floats(env, argv[5], ny, &out, "mixstream native: convForward out"))
    return NULL;
  if (!conv_forward(&g, x, w, bias, relu, out)) napi_throw_error(env, NULL, "mixstream native: convForward: out of memory for its scratch buffers");
  return NULL;
}

/* convBackpropFilter(geom, x, dy, dw) */
static napi_value filter(napi_env env, napi_callback_info cb) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  conv_geom g;
  float *x, *dy, *dw;
  if (argc < 4 || !geometry(env, argv[0], &g)) return NULL;
  SIZES(g);
  if (!floats(env, argv[1], nx, &x, "mixstream native: convBackpropFilter x") || !floats(env, argv[2], ny, &dy, "mixstream native: convBackpropFilter dy") ||
      !floats(env, argv[3], nw, &dw, "mixstream native: convBackpropFilter dw"))
    return NULL;
  if (!conv_backprop_filter(&g, x, dy, dw)) napi_throw_error(env, NULL, "mixstream native: convBackpropFilter: out of memory for its scratch buffers");
  return NULL;
}

/* convBackpropInput(geom, dy, w, dx) */
static napi_value input(napi_env env, napi_callback_info cb) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  conv_geom g;
  float *dy, *w, *dx;
  if (argc < 4 || !geometry(env, argv[0], &g)) return NULL;
  SIZES(g);
  if (!floats(env, argv[1], ny, &dy, "mixstream native: convBackpropInput dy") || !floats(env, argv[2], nw, &w, "mixstream native: convBackpropInput filter") ||
      !floats(env, argv[3], nx, &dx, "mixstream native: convBackpropInput dx"))
    return NULL;
  if (!conv_backprop_input(&g, dy, w, dx)) napi_throw_error(env, NULL, "mixstream native: convBackpropInput: out of memory for its scratch buffers");
  return NULL;
}

/* batchMatMul(a, b, out, dims Int32Array[7]: batchA batchB m n k transposeA transposeB) */
static napi_value matmul(napi_env env, napi_callback_info cb) {
  size_t argc = 4, len, offset;
  napi_value argv[4], buffer;
  napi_typedarray_type type;
  int32_t *d;
  float *a, *b, *out;
  CHECK(napi_get_cb_info(env, cb, &argc, argv, NULL, NULL));
  if (argc < 4 || napi_get_typedarray_info(env, argv[3], &type, &len, (void **)&d, &buffer, &offset) != napi_ok || type != napi_int32_array || len != 7 ||
      d[0] < 1 || d[1] < 1 || (d[0] != d[1] && d[0] != 1 && d[1] != 1) || d[2] < 1 || d[3] < 1 || d[4] < 0) {
    napi_throw_range_error(env, NULL, "mixstream native: batchMatMul dims must be [batchA, batchB, m, n, k, transposeA, transposeB], batches equal or 1");
    return NULL;
  }
  int batch = d[0] > d[1] ? d[0] : d[1];
  if (!floats(env, argv[0], (size_t)d[0] * d[2] * d[4], &a, "mixstream native: batchMatMul a") || !floats(env, argv[1], (size_t)d[1] * d[4] * d[3], &b, "mixstream native: batchMatMul b") ||
      !floats(env, argv[2], (size_t)batch * d[2] * d[3], &out, "mixstream native: batchMatMul out"))
    return NULL;
  if (!batch_matmul(a, b, out, d[0], d[1], d[2], d[3], d[4], d[5] != 0, d[6] != 0)) napi_throw_error(env, NULL, "mixstream native: batchMatMul: out of memory for its scratch buffers");
  return NULL;
}

int conv_register(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } exported[] = {{"convForward", forward}, {"convBackpropFilter", filter}, {"convBackpropInput", input}, {"batchMatMul", matmul}};
  napi_value v;
  conv_init();
  for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++)
    if (napi_create_function(env, exported[i].name, NAPI_AUTO_LENGTH, exported[i].fn, NULL, &v) != napi_ok ||
        napi_set_named_property(env, exports, exported[i].name, v) != napi_ok)
      return 0;
  return napi_create_string_utf8(env, conv_simd(), NAPI_AUTO_LENGTH, &v) == napi_ok && napi_set_named_property(env, exports, "convSimd", v) == napi_ok;
}
