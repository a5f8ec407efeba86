/* Column sums for the wasm backend's leading-axis Sum and Mean (reduce.c). */
#ifndef MIXSTREAM_REDUCE_H
#define MIXSTREAM_REDUCE_H
#include <node_api.h>
/* Adds sumRows to exports; 0 on failure. */
int reduce_register(napi_env env, napi_value exports);
#endif
