/* CHECK(call): an N-API call that must succeed, else a JavaScript error naming it and NULL back. */
#ifndef MIXSTREAM_NAPI_CHECK_H
#define MIXSTREAM_NAPI_CHECK_H
#include <node_api.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, NULL, "mixstream native: N-API call failed: " #call);    \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

#endif
