/* Optimizer updates for the wasm backend (optim.c). */
#ifndef MIXSTREAM_OPTIM_H
#define MIXSTREAM_OPTIM_H
#include <node_api.h>
/* Adds adamUpdate to exports; 0 on failure. */
int optim_register(napi_env env, napi_value exports);
#endif
