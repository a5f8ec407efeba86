/*
 * Worker threads for the conv and matmul kernels. parallel_for hands out task numbers under one
 * mutex; the caller works through them too and returns once every task has finished. Each kernel
 * gives every task its own outputs and keeps each output's summation order, so the results are the
 * same bit for bit whatever the thread count (tests hold 1 thread against 2). The count is set from
 * JavaScript (setThreads): an ablation running one process per core keeps 1, one training run alone
 * takes every core.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <node_api.h>
#include "napi_check.h"
#include "threads.h"

#define MAX_THREADS 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* Held by the thread whose job the pool runs: a second caller (a worker_thread training too) runs its tasks itself. */
static pthread_mutex_t caller = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, finished_cv = PTHREAD_COND_INITIALIZER;
static task_fn *job_fn;
static void *job_ctx;
static int job_n, job_next, job_done, threads = 1, started;
/* Bumped (under mu) for every job: what spinning workers watch. */
static atomic_uint generation;

/* Runs tasks of the current job while there are any; called and returns with mu held. */
static void take_tasks(void) {
  while (job_next < job_n) {
    int i = job_next++;
    task_fn *fn = job_fn;
    void *ctx = job_ctx;
    pthread_mutex_unlock(&mu);
    fn(ctx, i);
    pthread_mutex_lock(&mu);
    if (++job_done == job_n) pthread_cond_signal(&finished_cv);
  }
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/*
 * Worker `index` (0-based) helps only while index < threads - 1 (a lowered count leaves the rest
 * asleep). Between jobs it spins for SPIN_US before it sleeps: a training step calls the kernels
 * back to back, and a wake-up from sleep takes longer than many of their tasks.
 */
#define SPIN_US 200.0
static void *worker(void *arg) {
  int index = (int)(intptr_t)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    if (job_next < job_n && index < threads - 1) {
      take_tasks();
      continue;
    }
    unsigned seen = atomic_load(&generation);
    pthread_mutex_unlock(&mu);
    double until = now_us() + SPIN_US;
    for (int i = 1; atomic_load(&generation) == seen; i++) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 0 && now_us() > until) break;
    }
    pthread_mutex_lock(&mu);
    while (atomic_load(&generation) == seen) pthread_cond_wait(&work, &mu);
  }
  return NULL;
}

int pool_threads(void) {
  return threads;
}

/* Below this many flops a job runs on one thread: measured on simple-cnn's step, whose convolutions (7-9 MFLOP) lose more to waking the pool than they gain. */
#define PARALLEL_MIN_FLOPS 16e6

void parallel_for(int n, task_fn *fn, void *ctx, double flops) {
  if (threads <= 1 || n <= 1 || flops < PARALLEL_MIN_FLOPS || pthread_mutex_trylock(&caller) != 0) {
    for (int i = 0; i < n; i++) fn(ctx, i);
    return;
  }
  pthread_mutex_lock(&mu);
  job_fn = fn;
  job_ctx = ctx;
  job_n = n;
  job_next = 0;
  job_done = 0;
  atomic_fetch_add(&generation, 1);
  pthread_cond_broadcast(&work);
  take_tasks();
  while (job_done < job_n) pthread_cond_wait(&finished_cv, &mu);
  job_n = 0; /* no job: workers sleep */
  job_next = 0;
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&caller);
}

/* setThreads(n): 1..64 threads for the kernels (the calling one included); returns the count in use. */
static napi_value set_threads(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value arg, out;
  int32_t n;
  CHECK(napi_get_cb_info(env, cb, &argc, &arg, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, arg, &n) != napi_ok || n < 1 || n > MAX_THREADS) {
    napi_throw_range_error(env, NULL, "mixstream native: setThreads(n) needs an integer from 1 to 64");
    return NULL;
  }
  pthread_mutex_lock(&mu);
  /* Workers are started once and kept (idle ones sleep); fewer threads in use leaves the rest asleep. */
  while (started < n - 1) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, (void *)(intptr_t)started) != 0) break;
    pthread_detach(t);
    started++;
  }
  threads = started + 1 < n ? started + 1 : n;
  pthread_mutex_unlock(&mu);
  CHECK(napi_create_int32(env, threads, &out));
  return out;
}

static napi_value get_threads(napi_env env, napi_callback_info cb) {
  napi_value out;
  CHECK(napi_create_int32(env, threads, &out));
  return out;
}

int threads_register(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, set_threads, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, "setThreads", fn) == napi_ok &&
         napi_create_function(env, "getThreads", NAPI_AUTO_LENGTH, get_threads, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, "getThreads", fn) == napi_ok;
}
