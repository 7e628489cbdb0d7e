// glibc's heap tuned for a decode loop (see brv_heap_tune in brevity_kernels.h).

#include "brevity_kernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int brv_heap_tune(size_t mmapThreshold, size_t trimThreshold) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, (int)mmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trimThreshold) == 1 ? 0 : -1;
#else
    (void)mmapThreshold;
    (void)trimThreshold;
    return -1;
#endif
}

// MARK: - per-thread scratch

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    void *block[BRV_SCRATCH_SLOTS];
    size_t size[BRV_SCRATCH_SLOTS];
} scratch_set;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_release(void *p) {
    scratch_set *s = p;
    for (int i = 0; i < BRV_SCRATCH_SLOTS; i++) free(s->block[i]);
    free(s);
}

static void scratch_init(void) { (void)pthread_key_create(&scratch_key, scratch_release); }

void *brv_thread_scratch(int slot, size_t bytes) {
    if (slot < 0 || slot >= BRV_SCRATCH_SLOTS) return NULL;
    (void)pthread_once(&scratch_once, scratch_init);
    scratch_set *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (bytes == 0) bytes = 1;
    if (s->size[slot] < bytes) {
        // grow by half again at least, so a slowly growing need (KV caches' length) reallocates rarely
        size_t grown = s->size[slot] + s->size[slot] / 2;
        size_t want = (bytes > grown ? bytes : grown) + 63;
        want &= ~(size_t)63;
        void *p = NULL;
        if (posix_memalign(&p, 64, want) != 0) return NULL;
        free(s->block[slot]);
        s->block[slot] = p;
        s->size[slot] = want;
    }
    return s->block[slot];
}
