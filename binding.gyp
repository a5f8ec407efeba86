{
  "targets": [
    {
      "target_name": "mixstream",
      "sources": ["native/mixstream.c", "native/conv.c", "native/conv_napi.c", "native/reduce.c", "native/batchnorm.c", "native/pool.c", "native/optim.c", "native/threads.c", "native/depthwise.c"],
      "libraries": ["-lpthread"],
      "cflags": ["-O3", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror=implicit-function-declaration"]
    }
  ]
}
