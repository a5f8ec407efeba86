/*
 * Worker threads for the conv and matmul kernels. parallel_for hands out task numbers under one
 * mutex; the caller works through them too and returns once every task has finished. Each kernel
 * gives every task its own outputs and keeps each output's summation order, so the results are the
 * same bit for bit whatever the thread count (tests hold 1 thread against 2). The count is set from
 * JavaScript (setThreads): an ablation running one process per core keeps 1, one training run alone
 * takes every core.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <node_api.h>
#include "napi_check.h"
#include "threads.h"

#define MAX_THREADS 64

/*
 * Tasks are handed out without a lock: `state` packs the job's generation (high 32 bits) and its
 * next task (low 32), and a thread claims task i by a compare-and-swap from (gen, i) to (gen, i + 1),
 * so a worker still finishing one job can never claim a task of the next. The mutex only guards
 * sleeping and waking. (The former pool took every task under one mutex: on a machine whose cores
 * are shared, a holder preempted with it held stalled every other thread, and a kernel that split
 * its work into exactly one task a thread waited for the slowest, descheduled one.)
 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* Held by the thread whose job the pool runs: a second caller (a worker_thread training too) runs its tasks itself. */
static pthread_mutex_t caller = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, finished_cv = PTHREAD_COND_INITIALIZER;
static task_fn *job_fn;
static void *job_ctx;
static int job_n, threads = 1, started;
static _Atomic uint64_t state;  /* (generation << 32) | next task */
static atomic_int job_done;     /* tasks of the current job finished */
static atomic_int sleepers;     /* workers asleep on `work` */
static atomic_int caller_asleep; /* the caller sleeps on finished_cv */
/* Spin budget (microseconds) before sleeping; halved each time a spin ends without work, so a busy
 * machine (where spinning takes a core from someone else, and counts as our CPU time) stops spinning. */
static _Atomic int spin_us = 100;
#define SPIN_MAX_US 100
#define SPIN_MIN_US 0

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static inline void relax(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

/* Runs tasks of generation `gen` while there are any; returns how many this thread ran. */
static int take_tasks(uint32_t gen) {
  int ran = 0;
  for (;;) {
    uint64_t s = atomic_load_explicit(&state, memory_order_acquire);
    if ((uint32_t)(s >> 32) != gen || (int)(uint32_t)s >= job_n) return ran;
    if (!atomic_compare_exchange_weak_explicit(&state, &s, s + 1, memory_order_acq_rel, memory_order_acquire)) continue;
    job_fn(job_ctx, (int)(uint32_t)s);
    ran++;
    if (atomic_fetch_add(&job_done, 1) + 1 == job_n && atomic_load(&caller_asleep)) {
      pthread_mutex_lock(&mu);
      pthread_cond_signal(&finished_cv);
      pthread_mutex_unlock(&mu);
    }
  }
}

/*
 * Worker `index` (0-based) helps only while index < threads - 1 (a lowered count leaves the rest
 * asleep). Between jobs it spins up to spin_us, yielding the core every few hundred pauses, then sleeps.
 */
static void *worker(void *arg) {
  int index = (int)(intptr_t)arg;
  uint32_t seen = (uint32_t)(atomic_load(&state) >> 32);
  for (;;) {
    uint32_t gen = (uint32_t)(atomic_load_explicit(&state, memory_order_acquire) >> 32);
    if (gen != seen) {
      seen = gen;
      if (index < threads - 1) take_tasks(gen);
      continue;
    }
    int budget = atomic_load(&spin_us);
    double until = now_us() + budget;
    int woke = 0;
    for (int i = 1; budget > 0; i++) {
      if ((uint32_t)(atomic_load_explicit(&state, memory_order_acquire) >> 32) != seen) {
        woke = 1;
        break;
      }
      relax();
      if ((i & 255) == 0) {
        if (now_us() > until) break;
        sched_yield();
      }
    }
    if (woke) {
      if (budget < SPIN_MAX_US) atomic_store(&spin_us, budget * 2 > SPIN_MAX_US ? SPIN_MAX_US : budget * 2 + 1);
      continue;
    }
    if (budget > SPIN_MIN_US) atomic_store(&spin_us, budget / 2);
    pthread_mutex_lock(&mu);
    atomic_fetch_add(&sleepers, 1);
    while ((uint32_t)(atomic_load(&state) >> 32) == seen) pthread_cond_wait(&work, &mu);
    atomic_fetch_sub(&sleepers, 1);
    pthread_mutex_unlock(&mu);
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
  job_fn = fn;
  job_ctx = ctx;
  job_n = n;
  atomic_store(&job_done, 0);
  uint32_t gen = (uint32_t)(atomic_load(&state) >> 32) + 1;
  atomic_store(&state, (uint64_t)gen << 32);
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&work);
    pthread_mutex_unlock(&mu);
  }
  take_tasks(gen);
  /* Every task is claimed; wait for the ones other threads still run: spin briefly, then sleep. */
  for (int i = 1; atomic_load(&job_done) < n && i < 4096; i++) relax();
  if (atomic_load(&job_done) < n) {
    pthread_mutex_lock(&mu);
    atomic_store(&caller_asleep, 1);
    while (atomic_load(&job_done) < n) pthread_cond_wait(&finished_cv, &mu);
    atomic_store(&caller_asleep, 0);
    pthread_mutex_unlock(&mu);
  }
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
