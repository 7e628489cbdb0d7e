// The CUDA simulator's runtime (CUDASimulator.swift), C++ compiled by the toolchain's clang++ together with
// the translated kernels.

enum CUDASimulatorRuntime {
    static let source = #"""
// brevity CUDA simulator runtime: runs CUDA C kernels on the host, one block at a time, every thread of
// the block a fiber on one OS thread, switched only at __syncthreads and warp shuffles. It
// checks what a GPU would not forgive: a barrier some threads of the block never reach, a shuffle by part
// of a warp or with lanes disagreeing on the offset, launch sizes past the limits, and static plus dynamic
// shared memory past 48 KiB (no opt-in attribute is set). Shared memory starts as NaN bytes (0xff).
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif
#include <stdarg.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct brv_sim_dim3 { unsigned x, y, z; };
static brv_sim_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace brv_sim {
enum State { running, atBarrier, atShuffle, finished };
struct Fiber {
#if defined(__x86_64__)
    void *sp;   // the saved stack pointer, callee-saved registers on top
#else
    ucontext_t context;
#endif
    char *stack;
    State state;
    uint64_t shuffleIn, shuffleOut;
    int shuffleOffset;
    unsigned shuffleMask;
};
const size_t stackBytes = 256 * 1024;
const unsigned maxThreads = 1024;
const size_t sharedLimit = 48 * 1024;
static Fiber fibers[maxThreads];
static unsigned current;
static void (*kernel)(void **);
static void **parameters;
static char error[1024];
static bool failed;
// shared memory of the running block: static arrays (one region per declaration) then the dynamic one
static unsigned char sharedArena[256 * 1024];
static size_t staticBytes, dynamicBytes;
static size_t staticOffset[64];
static size_t staticSize[64];

static void fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *format, ...) {
    if (failed) return;
    failed = true;
    va_list args;
    va_start(args, format);
    int n = snprintf(error, sizeof error, "block (%u, %u) thread %u: ", blockIdx.x, blockIdx.y, threadIdx.x);
    vsnprintf(error + n, sizeof error - n, format, args);
    va_end(args);
}

static void entry();

// Fiber switches. On x86-64, a switch saves the callee-saved registers on the stack and swaps stack
// pointers (glibc's swapcontext also makes a system call to save the signal mask, a hundred times slower).
#if defined(__x86_64__)
extern "C" void brv_sim_switch(void **save, void *load);
asm(".text\n.globl brv_sim_switch\n.hidden brv_sim_switch\n.type brv_sim_switch,@function\nbrv_sim_switch:\n"
    "pushq %rbp\npushq %rbx\npushq %r12\npushq %r13\npushq %r14\npushq %r15\n"
    "movq %rsp, (%rdi)\nmovq %rsi, %rsp\n"
    "popq %r15\npopq %r14\npopq %r13\npopq %r12\npopq %rbx\npopq %rbp\nret\n");
static void *scheduler;
static void start(Fiber &f) {
    // entry's return address 16-byte aligned (as after a call), six zeroed registers below it
    void **sp = (void **)((((uintptr_t)f.stack + stackBytes) & ~(uintptr_t)15) - 16);
    sp[0] = (void *)entry;
    sp[1] = nullptr;   // entry's own return address: the end of the stack for an unwinder
    sp -= 6;
    memset(sp, 0, 6 * sizeof(void *));
    f.sp = sp;
}
static void resume(Fiber &f) { brv_sim_switch(&scheduler, f.sp); }
static void suspend(Fiber &f) { brv_sim_switch(&f.sp, scheduler); }
#else
static ucontext_t scheduler;
static void start(Fiber &f) {
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack;
    f.context.uc_stack.ss_size = stackBytes;
    f.context.uc_link = &scheduler;
    makecontext(&f.context, entry, 0);
}
static void resume(Fiber &f) { swapcontext(&scheduler, &f.context); }
static void suspend(Fiber &f) { swapcontext(&f.context, &scheduler); }
#endif

static void yield(State s) {
    Fiber &f = fibers[current];
    f.state = s;
    suspend(f);
    if (failed) {   // the launch was abandoned: park for good
        for (;;) suspend(f);
    }
}

// A thread: the kernel, then back to the scheduler for good.
static void entry() {
    kernel(parameters);
    fibers[current].state = finished;
    for (;;) suspend(fibers[current]);
}

// The static __shared__ declaration `id`: the block's region, `bytes` long, laid out on first use.
static void *staticShared(int id, size_t bytes) {
    if (id < 0 || id >= 64) { fail("more than 64 __shared__ declarations"); return sharedArena; }
    if (staticSize[id] == 0) {
        staticOffset[id] = staticBytes;
        staticSize[id] = bytes;
        staticBytes += (bytes + 15) & ~(size_t)15;
        if (staticBytes + dynamicBytes > sharedLimit)
            fail("%zu bytes of static and %zu of dynamic shared memory: past the %zu a launch may use",
                 staticBytes, dynamicBytes, sharedLimit);
        if (staticBytes + dynamicBytes > sizeof sharedArena) { fail("shared memory past the simulator's arena"); return sharedArena; }
        memset(sharedArena + dynamicBytes + staticOffset[id], 0xff, bytes);
    }
    return sharedArena + dynamicBytes + staticOffset[id];
}

template <typename V> static V shuffleXor(unsigned mask, V v, int offset) {
    static_assert(sizeof(V) <= 8, "shuffle of a value over 8 bytes");
    Fiber &f = fibers[current];
    f.shuffleIn = 0;
    memcpy(&f.shuffleIn, &v, sizeof v);
    f.shuffleOffset = offset;
    f.shuffleMask = mask;
    yield(atShuffle);
    V out;
    memcpy(&out, &fibers[current].shuffleOut, sizeof out);
    return out;
}

// Releases warps whose every lane waits at a shuffle; fails on a shuffle only part of a warp reached.
static bool releaseShuffles(unsigned threads) {
    bool released = false;
    for (unsigned w = 0; w * 32 < threads; w++) {
        unsigned first = w * 32, end = first + 32 < threads ? first + 32 : threads;
        unsigned waiting = 0;
        for (unsigned i = first; i < end; i++) waiting += fibers[i].state == atShuffle;
        if (waiting == 0) continue;
        bool anyRunning = false;
        for (unsigned i = first; i < end; i++) anyRunning |= fibers[i].state == running;
        if (anyRunning) continue;
        threadIdx.x = first;
        if (end - first != 32) {
            fail("a shuffle in warp %u, which has %u threads: a full mask needs 32", w, end - first);
            return false;
        }
        if (waiting != 32) {
            fail("a shuffle reached by %u of the 32 threads of warp %u (the others are at __syncthreads or finished)", waiting, w);
            return false;
        }
        for (unsigned i = first; i < end; i++) {
            if (fibers[i].shuffleMask != 0xffffffffu || fibers[i].shuffleOffset != fibers[first].shuffleOffset) {
                threadIdx.x = i;
                fail("shuffle lanes disagree: mask %#x offset %d, lane 0 offset %d", fibers[i].shuffleMask,
                     fibers[i].shuffleOffset, fibers[first].shuffleOffset);
                return false;
            }
        }
        for (unsigned i = first; i < end; i++) {
            unsigned source = first + (((i - first) ^ (unsigned)fibers[i].shuffleOffset) & 31);
            fibers[i].shuffleOut = fibers[source].shuffleIn;
        }
        for (unsigned i = first; i < end; i++) fibers[i].state = running;
        released = true;
    }
    return released;
}

static void runBlock(unsigned threads) {
    for (unsigned i = 0; i < threads; i++) {
        Fiber &f = fibers[i];
        if (!f.stack && !(f.stack = (char *)malloc(stackBytes))) { fail("no memory for a fiber stack"); return; }
        start(f);
        f.state = running;
    }
    staticBytes = 0;
    memset(staticSize, 0, sizeof staticSize);
    memset(sharedArena, 0xff, dynamicBytes);
    for (;;) {
        for (unsigned i = 0; i < threads && !failed; i++) {
            if (fibers[i].state != running) continue;
            current = i;
            threadIdx.x = i;
            resume(fibers[i]);
        }
        if (failed) return;
        if (releaseShuffles(threads)) continue;
        if (failed) return;
        unsigned done = 0, barrier = 0;
        for (unsigned i = 0; i < threads; i++) { done += fibers[i].state == finished; barrier += fibers[i].state == atBarrier; }
        if (done == threads) return;
        if (barrier + done == threads && done == 0) {
            for (unsigned i = 0; i < threads; i++) fibers[i].state = running;
            continue;
        }
        threadIdx.x = 0;
        fail("__syncthreads reached by %u threads while %u had finished", barrier, done);
        return;
    }
}
}  // namespace brv_sim

extern "C" int brv_sim_launch(void *kernel, unsigned gx, unsigned gy, unsigned block, unsigned dynamicShared,
                              void **parameters, char *error, int capacity) {
    using namespace brv_sim;
    failed = false;
    error[0] = 0;
    if (block == 0 || block > maxThreads) { snprintf(error, capacity, "block of %u threads (1 to 1024)", block); return 1; }
    if (gx == 0 || gy == 0 || gx > 2147483647u || gy > 65535) { snprintf(error, capacity, "grid (%u, %u) outside (1...2^31-1, 1...65535)", gx, gy); return 1; }
    if (dynamicShared > sharedLimit) { snprintf(error, capacity, "%u bytes of dynamic shared memory: past %zu", dynamicShared, sharedLimit); return 1; }
    brv_sim::kernel = (void (*)(void **))kernel;
    brv_sim::parameters = parameters;
    dynamicBytes = (dynamicShared + 15) & ~15u;
    gridDim = {gx, gy, 1};
    blockDim = {block, 1, 1};
    threadIdx = {0, 0, 0};
    for (unsigned y = 0; y < gy && !failed; y++)
        for (unsigned x = 0; x < gx && !failed; x++) {
            blockIdx = {x, y, 0};
            runBlock(block);
        }
    if (failed) { snprintf(error, capacity, "%s", brv_sim::error); return 1; }
    return 0;
}

// CUDA's device functions and types, as the kernels use them.
inline void __syncthreads() { brv_sim::yield(brv_sim::atBarrier); }
template <typename V> inline V __shfl_xor_sync(unsigned mask, V v, int offset) { return brv_sim::shuffleXor(mask, v, offset); }
#define BRV_SIM_STATIC_SHARED(type, name, count, id) type *name = (type *)brv_sim::staticShared(id, sizeof(type) * (count))
#define BRV_SIM_DYNAMIC_SHARED(type, name) type *name = (type *)brv_sim::sharedArena

template <typename A> inline A min(A a, A b) { return b < a ? b : a; }
template <typename A> inline A max(A a, A b) { return a < b ? b : a; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline uint32_t brv_sim_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
inline float brv_sim_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
inline float __int_as_float(int i) { return brv_sim_float((uint32_t)i); }
inline int __float_as_int(float f) { return (int)brv_sim_bits(f); }

// IEEE binary16 and bfloat16 with round-to-nearest-even conversions from float.
struct __half { uint16_t bits; };
struct __nv_bfloat16 { uint16_t bits; };

inline float __half2float(__half h) {
    uint32_t sign = (uint32_t)(h.bits & 0x8000) << 16, exponent = (h.bits >> 10) & 0x1f, mantissa = h.bits & 0x3ff, u;
    if (exponent == 0x1f) u = sign | 0x7f800000 | (mantissa << 13);
    else if (exponent != 0) u = sign | ((exponent + 112) << 23) | (mantissa << 13);
    else if (mantissa == 0) u = sign;
    else {   // subnormal: normalise
        int e = -1;
        do { e++; mantissa <<= 1; } while (!(mantissa & 0x400));
        u = sign | ((uint32_t)(112 - e) << 23) | ((mantissa & 0x3ff) << 13);
    }
    return brv_sim_float(u);
}

inline __half __float2half_rn(float f) {
    const uint32_t u = brv_sim_bits(f);
    uint16_t sign = (u >> 16) & 0x8000;
    uint32_t a = u & 0x7fffffff;
    __half h;
    if (a > 0x7f800000) { h.bits = sign | 0x7e00; return h; }          // NaN
    if (a >= 0x477ff000) { h.bits = sign | 0x7c00; return h; }         // rounds past 65504: inf
    if (a < 0x33000001) { h.bits = sign; return h; }                   // at most half the smallest subnormal
    int exponent = (int)(a >> 23) - 127;
    uint32_t mantissa = (a & 0x7fffff) | 0x800000;
    int shift = exponent < -14 ? 13 + (-14 - exponent) : 13;           // subnormal results drop more bits
    uint32_t kept = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (kept & 1))) kept++;
    // normal: kept includes the implicit bit at 1 << 10; adding the exponent carries a mantissa overflow
    uint32_t bits = exponent < -14 ? kept : ((uint32_t)(exponent + 14) << 10) + kept;
    h.bits = sign | (uint16_t)bits;
    return h;
}

inline float __bfloat162float(__nv_bfloat16 b) { return brv_sim_float((uint32_t)b.bits << 16); }

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u = brv_sim_bits(f);
    __nv_bfloat16 b;
    if ((u & 0x7fffffff) > 0x7f800000) { b.bits = (uint16_t)((u >> 16) | 0x40); return b; }
    u += 0x7fff + ((u >> 16) & 1);
    b.bits = (uint16_t)(u >> 16);
    return b;
}
"""#
}
