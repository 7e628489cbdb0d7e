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
