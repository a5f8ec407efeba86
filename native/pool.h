/* MaxPoolGrad for the wasm backend (pool.c). */
#ifndef MIXSTREAM_POOL_H
#define MIXSTREAM_POOL_H
#include <node_api.h>
/* Adds maxPoolGrad to exports; 0 on failure. */
int pool_register(napi_env env, napi_value exports);
#endif
