/* NHWC depthwise conv2d and its gradients, and the ReLU / clip gradient masks (depthwise.c). */
#ifndef MIXSTREAM_DEPTHWISE_H
#define MIXSTREAM_DEPTHWISE_H
#include <stddef.h>
#include <node_api.h>
#include "conv.h"

/* Geometry as conv_geom, with co = ci * channel multiplier; the filter is [fh, fw, ci, m]. */
int dw_forward(const conv_geom *g, const float *x, const float *f, float *out);
int dw_backprop_input(const conv_geom *g, const float *dy, const float *f, float *dx);
int dw_backprop_filter(const conv_geom *g, const float *x, const float *dy, float *df);
void act_forward(const float *x, float *out, size_t n, float lo, float hi, int relu);
void grad_mask(const float *x, const float *dy, float *dx, size_t n, float lo, float hi, int relu);
#if defined(__x86_64__)
void dw_filter_row_avx2(float *pk, const float *x, size_t xstep, const float *dy, int c, int n);
#endif
/* Adds dwForward, dwBackpropInput, dwBackpropFilter and gradMask to exports; 0 on failure. */
int depthwise_register(napi_env env, napi_value exports);
#endif
