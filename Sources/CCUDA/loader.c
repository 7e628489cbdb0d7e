// dlopen/dlsym for the CUDA libraries (see brevity_cuda.h). Nothing here runs unless asked: a CPU-only
// machine never opens them.

#include "brevity_cuda.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

int brv_load_library(const char *const *names, const char *const *symbols, void **table, size_t count,
                     char *error, size_t errorSize, char *loaded, size_t loadedSize) {
    size_t used = 0;
    if (errorSize) error[0] = 0;
    for (const char *const *name = names; *name; name++) {
        void *handle = dlopen(*name, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *why = dlerror();
            used += (size_t)snprintf(error + (used < errorSize ? used : errorSize),
                                     used < errorSize ? errorSize - used : 0, "%s%s: %s",
                                     used ? "; " : "", *name, why ? why : "cannot open");
            continue;
        }
        size_t i = 0;
        for (; i < count; i++) {
            table[i] = dlsym(handle, symbols[i]);
            if (!table[i]) break;
        }
        if (i == count) {
            if (loadedSize) snprintf(loaded, loadedSize, "%s", *name);
            return 0;
        }
        used += (size_t)snprintf(error + (used < errorSize ? used : errorSize), used < errorSize ? errorSize - used : 0,
                                 "%s%s lacks %s", used ? "; " : "", *name, symbols[i]);
        dlclose(handle);
    }
    return -1;
}

// The driver exports versioned entry points; the _v2 names are the ones the 12/13 headers map to.
static const char *const driverSymbols[] = {
    "cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName", "cuDeviceGetAttribute",
    "cuDeviceTotalMem_v2", "cuDevicePrimaryCtxRetain", "cuCtxSetCurrent", "cuCtxSynchronize", "cuMemAlloc_v2",
    "cuMemFree_v2", "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2",
    "cuMemcpyDtoDAsync_v2", "cuMemsetD8Async",
    "cuStreamCreate", "cuStreamSynchronize", "cuModuleLoadData", "cuModuleGetFunction", "cuLaunchKernel",
    "cuGetErrorString",
};

static const char *const nvrtcSymbols[] = {
    "nvrtcVersion", "nvrtcCreateProgram", "nvrtcCompileProgram", "nvrtcGetCUBINSize", "nvrtcGetCUBIN",
    "nvrtcGetPTXSize", "nvrtcGetPTX", "nvrtcGetProgramLogSize", "nvrtcGetProgramLog", "nvrtcDestroyProgram",
    "nvrtcGetErrorString",
};

static const char *const cublasSymbols[] = {
    "cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2", "cublasSetMathMode", "cublasGemmEx",
    "cublasGetStatusString",
};

_Static_assert(sizeof(brv_cublas) == sizeof(cublasSymbols) / sizeof(cublasSymbols[0]) * sizeof(void *),
               "one symbol per cuBLAS entry");
_Static_assert(sizeof(brv_cuda_driver) == sizeof(driverSymbols) / sizeof(driverSymbols[0]) * sizeof(void *),
               "one symbol per driver entry");
_Static_assert(sizeof(brv_nvrtc) == sizeof(nvrtcSymbols) / sizeof(nvrtcSymbols[0]) * sizeof(void *),
               "one symbol per NVRTC entry");

static brv_cuda_driver driver;
static int driverState;   // 0 not tried, 1 loaded, -1 failed
static char driverError[1024];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

const brv_cuda_driver *brv_cuda_driver_load(char *error, size_t errorSize) {
    pthread_mutex_lock(&lock);
    if (driverState == 0) {
        static const char *const names[] = {"libcuda.so.1", "libcuda.so", NULL};
        char loaded[256];
        driverState = brv_load_library(names, driverSymbols, (void **)&driver,
                                       sizeof(driverSymbols) / sizeof(driverSymbols[0]), driverError,
                                       sizeof(driverError), loaded, sizeof(loaded)) == 0 ? 1 : -1;
    }
    pthread_mutex_unlock(&lock);
    if (driverState == 1) return &driver;
    if (errorSize) snprintf(error, errorSize, "%s", driverError);
    return NULL;
}

// `path` alone when given (an environment variable's file), else `defaults`, into `table`, under the lock.
static int load_given_or_defaults(const char *path, const char *const *defaults, const char *const *symbols,
                                  void **table, size_t count, char *error, size_t errorSize, char *loaded,
                                  size_t loadedSize) {
    const char *given[] = {path, NULL};
    pthread_mutex_lock(&lock);
    int ok = brv_load_library(path ? given : defaults, symbols, table, count, error, errorSize, loaded, loadedSize);
    pthread_mutex_unlock(&lock);
    return ok;
}

const brv_nvrtc *brv_nvrtc_load(const char *path, char *error, size_t errorSize, char *loaded, size_t loadedSize) {
    static brv_nvrtc table[1];
    static const char *const defaults[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so",
                                           "/usr/local/cuda/lib64/libnvrtc.so.13", "/usr/local/cuda/lib64/libnvrtc.so.12", NULL};
    return load_given_or_defaults(path, defaults, nvrtcSymbols, (void **)table, sizeof(nvrtcSymbols) / sizeof(nvrtcSymbols[0]),
                                  error, errorSize, loaded, loadedSize) == 0 ? table : NULL;
}

const brv_cublas *brv_cublas_load(const char *path, char *error, size_t errorSize, char *loaded, size_t loadedSize) {
    static brv_cublas table[1];
    static const char *const defaults[] = {"libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
                                           "/usr/local/cuda/lib64/libcublas.so.12", NULL};
    return load_given_or_defaults(path, defaults, cublasSymbols, (void **)table, sizeof(cublasSymbols) / sizeof(cublasSymbols[0]),
                                  error, errorSize, loaded, loadedSize) == 0 ? table : NULL;
}
