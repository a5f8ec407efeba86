/* NHWC conv2d and its gradients on float32 buffers (conv.c); the N-API glue is conv_napi.c. */
#ifndef MIXSTREAM_CONV_H
#define MIXSTREAM_CONV_H
#include <node_api.h>

/* The forward conv's geometry, in the order the JavaScript packs it into an Int32Array. */
typedef struct {
  int b, h, w, ci, fh, fw, co, oh, ow, sh, sw, dh, dw, pt, pl;
} conv_geom;
#define CONV_GEOM_FIELDS 15

void conv_init(void);
/* The kernels return 1, or 0 when they found no memory for their scratch (the output is then not written). */
const char *conv_simd(void);
int conv_forward(const conv_geom *g, const float *x, const float *w, const float *bias, int relu, float *out);
int conv_backprop_filter(const conv_geom *g, const float *x, const float *dy, float *dw);
int conv_backprop_input(const conv_geom *g, const float *dy, const float *w, float *dx);
/* out[i] = op(a[i]) . op(b[i]) for i < max(batchA, batchB) (a batch of 1 broadcasts); a is [m x k] (or [k x m] transposed), b [k x n] (or [n x k]). */
int batch_matmul(const float *a, const float *b, float *out, int batch_a, int batch_b, int m, int n, int k, int transpose_a, int transpose_b);
/* Adds convForward, convBackpropFilter, convBackpropInput, batchMatMul and convSimd to exports; 0 on failure. */
int conv_register(napi_env env, napi_value exports);
#endif
