{
  "targets": [
    {
      "target_name": "mixstream",
      "sources": ["native/mixstream.c"],
      "cflags": ["-O3", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
