/* A small pool of worker threads for the conv and matmul kernels (threads.c). */
#ifndef MIXSTREAM_THREADS_H
#define MIXSTREAM_THREADS_H
#include <node_api.h>

typedef void task_fn(void *ctx, int task);
/*
 * Runs fn(ctx, i) for every i < n on the pool and the calling thread; returns when all are done.
 * `flops`: the job's size; a small one runs on the calling thread alone (waking the pool costs more).
 */
void parallel_for(int n, task_fn *fn, void *ctx, double flops);
/* Threads a kernel may use, the calling one included (1: no pool). */
int pool_threads(void);
/* Adds setThreads and getThreads to exports; 0 on failure. */
int threads_register(napi_env env, napi_value exports);
#endif
