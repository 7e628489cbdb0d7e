// The engine's worker pool (see brv_parallel in brevity_kernels.h). A decode step makes ~100 parallel calls of
// 0.1-1 ms each; Dispatch woke a sleeping worker through the kernel for every one (try_to_wake_up and the
// context switch: ~7% of a float32 beam-4 profile on two cores). These workers spin a while between calls
// before they sleep (as many of them as the last job could use; the others sleep at once).
//
// One job at a time. Its state is one 64-bit word, (count << 32) | next: a thread claims index `next` by
// compare-and-swap on the whole word, so a claim succeeds only for the job the word describes, and that job
// cannot end (its caller waits until `done` reaches `count`) before the claimed index has run, which keeps
// fn and ctx valid while it runs.

#define _GNU_SOURCE
#include "brevity_kernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_WORKERS 63
/// How long an idle worker spins before it sleeps (the gap between two parallel calls of a decode step is
/// tens of microseconds; between two steps, a millisecond or less).
#define SPIN_NS 200000

static struct {
    pthread_once_t once;
    int workers;
    atomic_flag busy;
    _Atomic uint64_t state;       // (count << 32) | next
    _Atomic uint64_t published;   // jobs published so far (what sleepers wait for)
    _Atomic int64_t done;
    _Atomic int sleepers;
    _Atomic int64_t width;        // the last job's count: workers 0..<width-1 spin between jobs, the rest sleep
    brv_task fn;
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} pool = {PTHREAD_ONCE_INIT, 0, ATOMIC_FLAG_INIT, 0, 0, 0, 0, 0, NULL, NULL, PTHREAD_MUTEX_INITIALIZER,
          PTHREAD_COND_INITIALIZER};

static inline int has_work(uint64_t s) { return (uint32_t)s < (uint32_t)(s >> 32); }

/// Claims and runs indices of the current job until none is left.
static void drain(void) {
    uint64_t s = atomic_load(&pool.state);
    while (has_work(s)) {
        if (atomic_compare_exchange_weak(&pool.state, &s, s + 1)) {
            pool.fn(pool.ctx, (ptrdiff_t)(uint32_t)s);
            atomic_fetch_add(&pool.done, 1);
            s = atomic_load(&pool.state);
        }
    }
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *worker(void *arg) {
    const int64_t id = (int64_t)(intptr_t)arg;
    for (;;) {
        drain();
        // spin for new work (only as many workers as the last job could use), then sleep until a job is published
        uint64_t seen = atomic_load(&pool.published), start = now_ns();
        int found = 0;
        for (unsigned n = 1; !found && id + 1 < atomic_load(&pool.width); n++) {
            if (has_work(atomic_load(&pool.state)) || atomic_load(&pool.published) != seen) found = 1;
            else if ((n & 255) == 0 && now_ns() - start > SPIN_NS) break;
            else CPU_RELAX();
        }
        if (found) continue;
        pthread_mutex_lock(&pool.lock);
        atomic_fetch_add(&pool.sleepers, 1);
        while (!has_work(atomic_load(&pool.state)) && atomic_load(&pool.published) == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        atomic_fetch_sub(&pool.sleepers, 1);
        pthread_mutex_unlock(&pool.lock);
    }
    return NULL;
}

/// The cores this process may use: its CPU affinity, capped by a cgroup CPU quota (a container's `--cpus`,
/// a Kubernetes CPU limit), rounded up.
int brv_cpu_count(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) cores = CPU_COUNT(&set);
    long long quota = -1, period = 0;
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");   // cgroup v2: "max 100000" or "200000 100000"
    if (f) {
        char q[32];
        if (fscanf(f, "%31s %lld", q, &period) == 2 && q[0] != 'm') quota = atoll(q);
        fclose(f);
    } else if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {   // cgroup v1
        if (fscanf(f, "%lld", &quota) != 1) quota = -1;
        fclose(f);
        if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
            if (fscanf(f, "%lld", &period) != 1) period = 0;
            fclose(f);
        }
    }
    if (quota > 0 && period > 0) {
        long limit = (long)((quota + period - 1) / period);
        if (limit >= 1 && limit < cores) cores = limit;
    }
#endif
    return cores > 1 ? (int)cores : 1;
}

static void start(void) {
    int n = brv_cpu_count() - 1;
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 8u << 20);
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, worker, (void *)(intptr_t)pool.workers) == 0) pool.workers++;
    }
    pthread_attr_destroy(&attr);
}

int brv_pool_workers(void) {
    pthread_once(&pool.once, start);
    return pool.workers;
}

void brv_parallel(ptrdiff_t count, brv_task fn, void *ctx) {
    if (count <= 0) return;
    pthread_once(&pool.once, start);
    // one index, no workers, a count the state word cannot hold, or the pool busy (another thread's job, or
    // a job started from inside a task): the caller runs every index itself
    if (count == 1 || pool.workers == 0 || count > (ptrdiff_t)UINT32_MAX || atomic_flag_test_and_set(&pool.busy)) {
        for (ptrdiff_t i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store(&pool.width, (int64_t)count);
    atomic_store(&pool.done, 0);
    atomic_store(&pool.state, (uint64_t)count << 32);   // next = 0: the job is open
    atomic_fetch_add(&pool.published, 1);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    drain();
    while (atomic_load(&pool.done) < count) CPU_RELAX();
    atomic_flag_clear(&pool.busy);
}
