/*
 * sumRows: the column sums of a row-major [rows x cols] float32 matrix, times `scale`: the wasm
 * backend's Sum and Mean over leading axes (batch norm's statistics and gradients reduce NHWC over
 * [0, 1, 2]), which tfjs-backend-wasm runs as a full transpose followed by a row reduction.
 * Accumulates in float64, so it is at least as exact as the cpu backend's float32 running sum.
 */
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "reduce.h"

static int sum_rows(const float *x, size_t rows, size_t cols, double scale, float *out) {
  double *acc = calloc(cols, sizeof(double));
  if (!acc) return 0;
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    for (size_t c = 0; c < cols; c++) acc[c] += row[c];
  }
  for (size_t c = 0; c < cols; c++) out[c] = (float)(acc[c] * scale);
  free(acc);
  return 1;
}

/* sumRows(x, rows, cols, out, scale): out.length == cols, x.length == rows * cols. */
static napi_value sum_rows_napi(napi_env env, napi_callback_info cb) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, cb, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_error(env, NULL, "mixstream native: sumRows(x, rows, cols, out, scale)");
    return NULL;
  }
  napi_typedarray_type tx, to;
  size_t nx, no, off;
  napi_value buf;
  float *x, *out;
  int64_t rows, cols;
  double scale;
  if (napi_get_typedarray_info(env, argv[0], &tx, &nx, (void **)&x, &buf, &off) != napi_ok || tx != napi_float32_array ||
      napi_get_typedarray_info(env, argv[3], &to, &no, (void **)&out, &buf, &off) != napi_ok || to != napi_float32_array) {
    napi_throw_type_error(env, NULL, "mixstream native: sumRows needs Float32Arrays");
    return NULL;
  }
  if (napi_get_value_int64(env, argv[1], &rows) != napi_ok || napi_get_value_int64(env, argv[2], &cols) != napi_ok ||
      napi_get_value_double(env, argv[4], &scale) != napi_ok || rows < 0 || cols < 1 || (size_t)cols != no || (size_t)(rows * cols) != nx) {
    napi_throw_range_error(env, NULL, "mixstream native: sumRows lengths do not match rows x cols");
    return NULL;
  }
  if (!sum_rows(x, (size_t)rows, (size_t)cols, scale, out)) napi_throw_error(env, NULL, "mixstream native: sumRows: out of memory");
  return NULL;
}

int reduce_register(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "sumRows", NAPI_AUTO_LENGTH, sum_rows_napi, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, "sumRows", fn) == napi_ok;
}
