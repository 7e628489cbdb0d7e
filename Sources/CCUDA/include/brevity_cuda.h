// The CUDA driver API, cuBLASLt and NVRTC, loaded with dlopen at run time: building Brevity needs no CUDA
// SDK, and a machine without a GPU runs the CPU backend. Only the entry points Brevity calls are declared,
// with the types of the CUDA 12/13 headers (ABI-stable across both).
#ifndef BREVITY_CUDA_H
#define BREVITY_CUDA_H

#include <stddef.h>
#include <stdint.h>

typedef int brv_CUresult;                 // CUresult: 0 = CUDA_SUCCESS
typedef int brv_CUdevice;
typedef unsigned long long brv_CUdeviceptr;
typedef void *brv_CUcontext;
typedef void *brv_CUmodule;
typedef void *brv_CUfunction;
typedef void *brv_CUstream;
typedef void *brv_CUgraph;
typedef void *brv_CUgraphExec;
typedef int brv_nvrtcResult;              // 0 = NVRTC_SUCCESS
typedef void *brv_nvrtcProgram;
typedef int brv_cublasStatus;             // 0 = CUBLAS_STATUS_SUCCESS
typedef void *brv_cublasHandle;

/// CUdevice_attribute values used here.
enum {
    BRV_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    BRV_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
};

typedef struct {
    brv_CUresult (*cuInit)(unsigned int flags);
    brv_CUresult (*cuDriverGetVersion)(int *version);
    brv_CUresult (*cuDeviceGetCount)(int *count);
    brv_CUresult (*cuDeviceGet)(brv_CUdevice *device, int ordinal);
    brv_CUresult (*cuDeviceGetName)(char *name, int len, brv_CUdevice device);
    brv_CUresult (*cuDeviceGetAttribute)(int *value, int attribute, brv_CUdevice device);
    brv_CUresult (*cuDeviceTotalMem)(size_t *bytes, brv_CUdevice device);
    brv_CUresult (*cuDevicePrimaryCtxRetain)(brv_CUcontext *context, brv_CUdevice device);
    brv_CUresult (*cuCtxSetCurrent)(brv_CUcontext context);
    brv_CUresult (*cuCtxSynchronize)(void);
    brv_CUresult (*cuMemAlloc)(brv_CUdeviceptr *pointer, size_t bytes);
    brv_CUresult (*cuMemFree)(brv_CUdeviceptr pointer);
    brv_CUresult (*cuMemcpyHtoD)(brv_CUdeviceptr dst, const void *src, size_t bytes);
    brv_CUresult (*cuMemcpyDtoH)(void *dst, brv_CUdeviceptr src, size_t bytes);
    brv_CUresult (*cuMemcpyHtoDAsync)(brv_CUdeviceptr dst, const void *src, size_t bytes, brv_CUstream stream);
    brv_CUresult (*cuMemcpyDtoHAsync)(void *dst, brv_CUdeviceptr src, size_t bytes, brv_CUstream stream);
    brv_CUresult (*cuMemcpyDtoDAsync)(brv_CUdeviceptr dst, brv_CUdeviceptr src, size_t bytes, brv_CUstream stream);
    brv_CUresult (*cuMemsetD8Async)(brv_CUdeviceptr dst, unsigned char value, size_t bytes, brv_CUstream stream);
    brv_CUresult (*cuStreamCreate)(brv_CUstream *stream, unsigned int flags);
    brv_CUresult (*cuStreamSynchronize)(brv_CUstream stream);
    brv_CUresult (*cuModuleLoadData)(brv_CUmodule *module, const void *image);
    brv_CUresult (*cuModuleGetFunction)(brv_CUfunction *function, brv_CUmodule module, const char *name);
    brv_CUresult (*cuLaunchKernel)(brv_CUfunction f, unsigned int gridX, unsigned int gridY, unsigned int gridZ,
                                   unsigned int blockX, unsigned int blockY, unsigned int blockZ,
                                   unsigned int sharedBytes, brv_CUstream stream, void **params, void **extra);
    brv_CUresult (*cuGetErrorString)(brv_CUresult error, const char **message);
} brv_cuda_driver;

/// cuBLAS values used here (cublas_api.h, library_types.h).
enum {
    BRV_CUBLAS_OP_N = 0,
    BRV_CUBLAS_OP_T = 1,
    BRV_CUDA_R_32F = 0,
    BRV_CUDA_R_16F = 2,
    BRV_CUDA_R_16BF = 14,
    BRV_CUBLAS_COMPUTE_32F = 68,          // float accumulation, no TF32 or half down-conversion
    BRV_CUBLAS_GEMM_DEFAULT = -1,
    BRV_CUBLAS_DEFAULT_MATH = 0,
};

typedef struct {
    brv_cublasStatus (*cublasCreate)(brv_cublasHandle *handle);
    brv_cublasStatus (*cublasDestroy)(brv_cublasHandle handle);
    brv_cublasStatus (*cublasSetStream)(brv_cublasHandle handle, brv_CUstream stream);
    brv_cublasStatus (*cublasSetMathMode)(brv_cublasHandle handle, int mode);
    brv_cublasStatus (*cublasGemmEx)(brv_cublasHandle handle, int transa, int transb, int m, int n, int k,
                                     const void *alpha, const void *A, int Atype, int lda, const void *B, int Btype,
                                     int ldb, const void *beta, void *C, int Ctype, int ldc, int computeType, int algo);
    const char *(*cublasGetStatusString)(brv_cublasStatus status);
} brv_cublas;

typedef struct {
    brv_nvrtcResult (*nvrtcVersion)(int *major, int *minor);
    brv_nvrtcResult (*nvrtcCreateProgram)(brv_nvrtcProgram *program, const char *source, const char *name,
                                          int headers, const char *const *headerSources,
                                          const char *const *headerNames);
    brv_nvrtcResult (*nvrtcCompileProgram)(brv_nvrtcProgram program, int options, const char *const *optionList);
    brv_nvrtcResult (*nvrtcGetCUBINSize)(brv_nvrtcProgram program, size_t *size);
    brv_nvrtcResult (*nvrtcGetCUBIN)(brv_nvrtcProgram program, char *cubin);
    brv_nvrtcResult (*nvrtcGetPTXSize)(brv_nvrtcProgram program, size_t *size);
    brv_nvrtcResult (*nvrtcGetPTX)(brv_nvrtcProgram program, char *ptx);
    brv_nvrtcResult (*nvrtcGetProgramLogSize)(brv_nvrtcProgram program, size_t *size);
    brv_nvrtcResult (*nvrtcGetProgramLog)(brv_nvrtcProgram program, char *log);
    brv_nvrtcResult (*nvrtcDestroyProgram)(brv_nvrtcProgram *program);
    const char *(*nvrtcGetErrorString)(brv_nvrtcResult result);
} brv_nvrtc;

/// Opens the first library of `names` (NULL-terminated) that loads and resolves every symbol of `symbols`
/// into `table` (an array of function pointers in the same order). Returns 0, or -1 with `error` naming
/// what was tried and what was missing.
int brv_load_library(const char *const *names, const char *const *symbols, void **table, size_t count,
                     char *error, size_t errorSize, char *loaded, size_t loadedSize);

/// The driver API from libcuda.so.1 (the NVIDIA driver's library); NULL with `error` when absent.
const brv_cuda_driver *brv_cuda_driver_load(char *error, size_t errorSize);

/// NVRTC: `path` when given (a wheel's libnvrtc.so.12), else libnvrtc.so.13, .so.12, .so; NULL with `error`.
const brv_nvrtc *brv_nvrtc_load(const char *path, char *error, size_t errorSize, char *loaded, size_t loadedSize);

/// cuBLAS: `path` when given (BREVITY_CUBLAS), else libcublas.so.13, .so.12 (and the CUDA toolkit's lib64
/// folder); NULL with `error`.
const brv_cublas *brv_cublas_load(const char *path, char *error, size_t errorSize, char *loaded, size_t loadedSize);

#endif
