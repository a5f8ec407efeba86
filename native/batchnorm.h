/* Batch norm forward and backward over the last axis (batchnorm.c). */
#ifndef MIXSTREAM_BATCHNORM_H
#define MIXSTREAM_BATCHNORM_H
#include <node_api.h>
/* Adds bnForward and bnBackward to exports; 0 on failure. */
int batchnorm_register(napi_env env, napi_value exports);
#endif
