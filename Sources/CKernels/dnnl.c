// oneDNN matmuls through dlopen (see brevity_dnnl.h). Built against oneDNN 2.x's headers (Debian's libdnnl-dev)
// when they are present; without them every call reports that oneDNN is not available.

#define _GNU_SOURCE   // dladdr
#include "brevity_dnnl.h"
#include "brevity_kernels.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#define BRV_HAS_DNNL 1
#else
#define BRV_HAS_DNNL 0
#endif

#if BRV_HAS_DNNL

// The entry points used, resolved from the library (their types from the header).
#define BRV_DNNL_SYMBOLS(X) \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_wait) X(dnnl_memory_desc_init_by_strides) \
    X(dnnl_matmul_desc_init) X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy) \
    X(dnnl_primitive_attr_set_output_scales) X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy) \
    X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute) X(dnnl_memory_create) \
    X(dnnl_memory_set_data_handle) X(dnnl_get_effective_cpu_isa) X(dnnl_version)

static struct {
#define BRV_FIELD(name) __typeof__(&name) name;
    BRV_DNNL_SYMBOLS(BRV_FIELD)
#undef BRV_FIELD
} api;

static const char *const symbolNames[] = {
#define BRV_NAME(name) #name,
    BRV_DNNL_SYMBOLS(BRV_NAME)
#undef BRV_NAME
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static char versionText[32];

/// A cached primitive: one (type, tile, n, k, ldy, bias) shape, with memory objects whose handles are set per call.
typedef struct {
    int type, hasBias;
    ptrdiff_t tile, n, k, ldy;
    dnnl_primitive_t primitive;
    dnnl_memory_t src, weights, bias, dst, scales;
} entry;

#define MAX_ENTRIES 512
static entry entries[MAX_ENTRIES];
static int entryCount;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int variantShapes;   // shapes refused because their rows were not computed alike
static long productsRun;    // products computed here

/// The tile chosen for a (type, n, k, ldy, bias) shape: its primitive, or NULL when no candidate computes its
/// rows alike (or oneDNN refused the shape).
typedef struct {
    int type, hasBias;
    ptrdiff_t n, k, ldy;
    entry *chosen;
} choice;

static choice choices[MAX_ENTRIES];
static int choiceCount;

/// Rows per call, tried largest first: the largest whose primitive computes every place of its tile alike is
/// kept (measured on two Zen cores, float32: 128 and 256 give 2 and 4 places other roundings, 192, 96 and 64
/// none; 192 and 96 run at 64-66 GFLOP/s, 64 at 48-65).
static const ptrdiff_t tileCandidates[] = {192, 128, 96, 64, 32, 16};

static dnnl_data_type_t activationType(int type) {
    return type == BRV_MM_BF16 ? dnnl_bf16 : type == BRV_MM_S8 ? dnnl_s8 : dnnl_f32;
}

/// A matmul of `tile` x k by k x n (weights [n, k] row-major: strides 1, k) into tile x n (rows ldy apart), or
/// NULL when oneDNN refuses it. Called with the lock held.
static entry *primitive(int type, ptrdiff_t tile, ptrdiff_t n, ptrdiff_t k, ptrdiff_t ldy, int hasBias) {
    for (int i = 0; i < entryCount; i++) {
        entry *e = &entries[i];
        if (e->type == type && e->tile == tile && e->n == n && e->k == k && e->ldy == ldy && e->hasBias == hasBias)
            return e;
    }
    if (entryCount == MAX_ENTRIES) return NULL;
    dnnl_memory_desc_t srcMd, weightsMd, biasMd, dstMd;
    dnnl_dims_t srcDims = {tile, k}, srcStrides = {k, 1};
    dnnl_dims_t weightsDims = {k, n}, weightsStrides = {1, k};
    dnnl_dims_t biasDims = {1, n}, biasStrides = {n, 1};
    dnnl_dims_t dstDims = {tile, n}, dstStrides = {ldy, 1};
    dnnl_data_type_t at = activationType(type);
    if (api.dnnl_memory_desc_init_by_strides(&srcMd, 2, srcDims, at, srcStrides) != dnnl_success
        || api.dnnl_memory_desc_init_by_strides(&weightsMd, 2, weightsDims, at, weightsStrides) != dnnl_success
        || api.dnnl_memory_desc_init_by_strides(&biasMd, 2, biasDims, dnnl_f32, biasStrides) != dnnl_success
        || api.dnnl_memory_desc_init_by_strides(&dstMd, 2, dstDims, dnnl_f32, dstStrides) != dnnl_success)
        return NULL;
    dnnl_matmul_desc_t desc;
    if (api.dnnl_matmul_desc_init(&desc, &srcMd, &weightsMd, hasBias ? &biasMd : NULL, &dstMd) != dnnl_success)
        return NULL;
    dnnl_primitive_attr_t attr = NULL;
    if (api.dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    float runtime = DNNL_RUNTIME_F32_VAL;
    // int8: one output scale per column (the weight row's), given at each call
    if (type == BRV_MM_S8 && api.dnnl_primitive_attr_set_output_scales(attr, 1, 1 << 1, &runtime) != dnnl_success) {
        api.dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t status = api.dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    api.dnnl_primitive_attr_destroy(attr);
    if (status != dnnl_success) return NULL;
    entry e = {.type = type, .hasBias = hasBias, .tile = tile, .n = n, .k = k, .ldy = ldy};
    status = api.dnnl_primitive_create(&e.primitive, pd);
    api.dnnl_primitive_desc_destroy(pd);
    if (status != dnnl_success) return NULL;
    dnnl_memory_desc_t scalesMd;
    dnnl_dims_t scalesDims = {n}, scalesStrides = {1};
    api.dnnl_memory_desc_init_by_strides(&scalesMd, 1, scalesDims, dnnl_f32, scalesStrides);
    if (api.dnnl_memory_create(&e.src, &srcMd, engine, DNNL_MEMORY_NONE) != dnnl_success
        || api.dnnl_memory_create(&e.weights, &weightsMd, engine, DNNL_MEMORY_NONE) != dnnl_success
        || api.dnnl_memory_create(&e.bias, &biasMd, engine, DNNL_MEMORY_NONE) != dnnl_success
        || api.dnnl_memory_create(&e.dst, &dstMd, engine, DNNL_MEMORY_NONE) != dnnl_success
        || api.dnnl_memory_create(&e.scales, &scalesMd, engine, DNNL_MEMORY_NONE) != dnnl_success) {
        api.dnnl_primitive_destroy(e.primitive);   // (memory objects of a failed entry are leaked: never seen)
        return NULL;
    }
    entries[entryCount] = e;
    return &entries[entryCount++];
}

/// One tile: the primitive over x (tile rows), y (tile rows, ldy apart). Called with the lock held.
static int runTile(entry *e, const void *x, const void *w, const float *ws, const float *bias, float *y) {
    api.dnnl_memory_set_data_handle(e->src, (void *)x);
    api.dnnl_memory_set_data_handle(e->weights, (void *)w);
    api.dnnl_memory_set_data_handle(e->dst, y);
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->weights}, {DNNL_ARG_DST, e->dst}};
    int count = 3;
    if (e->hasBias) {
        api.dnnl_memory_set_data_handle(e->bias, (void *)bias);
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->bias};
    }
    if (e->type == BRV_MM_S8) {
        api.dnnl_memory_set_data_handle(e->scales, (void *)ws);
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_OUTPUT_SCALES, e->scales};
    }
    if (api.dnnl_primitive_execute(e->primitive, stream, count, args) != dnnl_success) return -1;
    return api.dnnl_stream_wait(stream) == dnnl_success ? 0 : -1;
}

static size_t activationSize(int type) { return type == BRV_MM_BF16 ? 2 : type == BRV_MM_S8 ? 1 : 4; }

/// Whether every row of a tile gives the same result for the same inputs: `row` (k elements) in all `tile`
/// places against the caller's weights. Called with the lock held, once per primitive.
static int rowsAlike(entry *e, const void *row, const void *w, const float *ws, const float *bias) {
    const size_t es = activationSize(e->type);
    char *x = malloc((size_t)e->tile * (size_t)e->k * es);
    float *y = malloc((size_t)e->tile * (size_t)e->ldy * sizeof(float));
    int alike = x && y;
    if (alike) {
        for (ptrdiff_t r = 0; r < e->tile; r++) memcpy(x + (size_t)r * (size_t)e->k * es, row, (size_t)e->k * es);
        alike = runTile(e, x, w, ws, bias, y) == 0;
        for (ptrdiff_t r = 1; r < e->tile && alike; r++)
            alike = memcmp(y, y + r * e->ldy, (size_t)e->n * sizeof(float)) == 0;
    }
    free(x);
    free(y);
    return alike;
}

/// The primitive of a shape: its tile chosen at first use (see tileCandidates), checked with the first row of
/// x. Called with the lock held; *refused is set when no tile computes its rows alike.
static entry *chosenPrimitive(int type, ptrdiff_t n, ptrdiff_t k, ptrdiff_t ldy, const void *x, const void *w,
                              const float *ws, const float *bias, int *refused) {
    const int hasBias = bias != NULL;
    *refused = 0;
    for (int i = 0; i < choiceCount; i++) {
        choice *c = &choices[i];
        if (c->type == type && c->n == n && c->k == k && c->ldy == ldy && c->hasBias == hasBias) {
            *refused = c->chosen == NULL;
            return c->chosen;
        }
    }
    entry *chosen = NULL;
    int made = 0;
    for (size_t t = 0; t < sizeof tileCandidates / sizeof tileCandidates[0] && !chosen; t++) {
        entry *e = primitive(type, tileCandidates[t], n, k, ldy, hasBias);
        if (!e) continue;
        made = 1;
        if (rowsAlike(e, x, w, ws, bias)) chosen = e;
    }
    if (!made) return NULL;   // oneDNN refused the shape: not recorded, so a later call may try again
    if (!chosen) { variantShapes++; *refused = 1; }
    if (choiceCount < MAX_ENTRIES)
        choices[choiceCount++] = (choice){.type = type, .hasBias = hasBias, .n = n, .k = k, .ldy = ldy, .chosen = chosen};
    return chosen;
}

int brv_dnnl_matmul(int type, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const void *x, const void *w,
                    const float *xs, const float *ws, const float *bias, float *y, ptrdiff_t ldy) {
    if (!engine || m < 0 || n < 1 || k < 1 || ldy < n || (type == BRV_MM_S8 && (!xs || !ws))) return -1;
    if (m == 0) return 0;
    // int8's bias is added after the row scales (below), not by oneDNN
    const float *inner = type == BRV_MM_S8 ? NULL : bias;
    pthread_mutex_lock(&lock);
    int refused = 0;
    entry *e = chosenPrimitive(type, n, k, ldy, x, w, ws, inner, &refused);
    int status = refused ? -2 : e ? 0 : -1;
    const ptrdiff_t tile = e ? e->tile : 1;
    const size_t es = activationSize(type);
    ptrdiff_t full = m / tile * tile;
    for (ptrdiff_t r = 0; r < full && status == 0; r += tile)
        status = runTile(e, (const char *)x + (size_t)r * (size_t)k * es, w, ws, inner, y + r * ldy);
    if (status == 0 && full < m) {
        // the last rows through zero-padded scratch laid out as the tile (rows k and ldy apart)
        ptrdiff_t rest = m - full;
        char *xpad = calloc((size_t)tile * (size_t)k, es);
        float *ypad = malloc((size_t)tile * (size_t)ldy * sizeof(float));
        if (!xpad || !ypad) {
            status = -1;
        } else {
            memcpy(xpad, (const char *)x + (size_t)full * (size_t)k * es, (size_t)rest * (size_t)k * es);
            status = runTile(e, xpad, w, ws, inner, ypad);
            if (status == 0)
                for (ptrdiff_t r = 0; r < rest; r++) memcpy(y + (full + r) * ldy, ypad + r * ldy, (size_t)n * sizeof(float));
        }
        free(xpad);
        free(ypad);
    }
    if (status == 0) productsRun++;
    pthread_mutex_unlock(&lock);
    if (status == 0 && type == BRV_MM_S8)
        for (ptrdiff_t r = 0; r < m; r++) {
            float *row = y + r * ldy;
            const float s = xs[r];
            if (bias) for (ptrdiff_t j = 0; j < n; j++) row[j] = row[j] * s + bias[j];
            else for (ptrdiff_t j = 0; j < n; j++) row[j] *= s;
        }
    return status;
}

int brv_dnnl_variant_shapes(void) {
    pthread_mutex_lock(&lock);
    int count = variantShapes;
    pthread_mutex_unlock(&lock);
    return count;
}

long brv_dnnl_products(void) {
    pthread_mutex_lock(&lock);
    long count = productsRun;
    pthread_mutex_unlock(&lock);
    return count;
}

int brv_dnnl_supports(int type) {
    if (!engine) return 0;
    pthread_mutex_lock(&lock);
    entry *e = primitive(type, 16, 16, 64, 16, 0);
    pthread_mutex_unlock(&lock);
    return e != NULL;   // (made, not checked: the callers' check runs it)
}

static const char *isaName(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

/// The folder of the running executable, with a trailing slash, into `out` ("" when unknown).
static void executableFolder(char *out, size_t size) {
    out[0] = 0;
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0) { out[0] = 0; return; }
    out[n] = 0;
    char *slash = strrchr(out, '/');
    if (slash) slash[1] = 0; else out[0] = 0;
}

static int loadStatus = 1;   // 1: not tried
static char loadError[512], fileText[4096];
static pthread_mutex_t loadLock = PTHREAD_MUTEX_INITIALIZER;

static int load(const char *path, int threads) {
    if (threads > 0 && !getenv("OMP_NUM_THREADS")) {
        char value[16];
        snprintf(value, sizeof value, "%d", threads);
        setenv("OMP_NUM_THREADS", value, 0);
    }
    // make dist's layout (bin/brevity, lib/libdnnl.so.2 with libgomp and libOpenCL beside it: they resolve
    // through the binary's DT_RPATH $ORIGIN/../lib), then lib/ or the library beside the binary, then the system's
    char folder[4096], dist[4200], beside[4200], lib[4200];
    executableFolder(folder, sizeof folder);
    snprintf(dist, sizeof dist, "%s../lib/libdnnl.so.2", folder);
    snprintf(beside, sizeof beside, "%slib/libdnnl.so.2", folder);
    snprintf(lib, sizeof lib, "%slibdnnl.so.2", folder);
    const char *candidates[] = {path, path ? NULL : dist, path ? NULL : beside, path ? NULL : lib,
                                path ? NULL : "libdnnl.so.2"};
    enum { FIRST_FILE = 1, SYSTEM = 4 };   // candidates FIRST_FILE..<SYSTEM are tried only when the file exists
    void *handle = NULL;
    size_t used = 0;
    for (size_t c = 0; c < sizeof candidates / sizeof candidates[0] && !handle; c++) {
        if (!candidates[c] || (c >= FIRST_FILE && c < SYSTEM && access(candidates[c], R_OK) != 0)) continue;
        handle = dlopen(candidates[c], RTLD_NOW | RTLD_LOCAL);
        if (!handle && used < sizeof loadError) {
            const char *why = dlerror();
            used += (size_t)snprintf(loadError + used, sizeof loadError - used, "%s%s", used ? "; " : "",
                                     why ? why : candidates[c]);
        }
    }
    if (!handle) return -1;
    void **table = (void **)&api;
    for (size_t i = 0; i < sizeof symbolNames / sizeof symbolNames[0]; i++) {
        table[i] = dlsym(handle, symbolNames[i]);
        if (!table[i]) {
            snprintf(loadError, sizeof loadError, "libdnnl.so.2 lacks %s", symbolNames[i]);
            return -1;
        }
    }
    const dnnl_version_t *v = api.dnnl_version();
    if (!v || v->major != DNNL_VERSION_MAJOR) {
        snprintf(loadError, sizeof loadError, "libdnnl is version %d, built for %d", v ? v->major : -1, DNNL_VERSION_MAJOR);
        return -1;
    }
    snprintf(versionText, sizeof versionText, "%d.%d.%d", v->major, v->minor, v->patch);
    Dl_info info;
    if (dladdr((void *)api.dnnl_version, &info) && info.dli_fname) {
        char *real = realpath(info.dli_fname, NULL);
        snprintf(fileText, sizeof fileText, "%s", real ? real : info.dli_fname);
        free(real);
    }
    if (api.dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        engine = NULL;
        snprintf(loadError, sizeof loadError, "oneDNN has no CPU engine");
        return -1;
    }
    if (api.dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        engine = NULL;
        snprintf(loadError, sizeof loadError, "oneDNN could not make a CPU stream");
        return -1;
    }
    return 0;
}

int brv_dnnl_load(const char *path, int threads, char *error, size_t error_size) {
    pthread_mutex_lock(&loadLock);
    if (loadStatus == 1) loadStatus = load(path, threads);
    pthread_mutex_unlock(&loadLock);
    if (loadStatus != 0 && error && error_size) snprintf(error, error_size, "%s", loadError);
    return loadStatus;
}

const char *brv_dnnl_isa(void) { return engine ? isaName(api.dnnl_get_effective_cpu_isa()) : "none"; }

const char *brv_dnnl_version(void) { return versionText; }

const char *brv_dnnl_file(void) { return fileText; }

#else   // built without oneDNN's headers

int brv_dnnl_load(const char *path, int threads, char *error, size_t error_size) {
    (void)path; (void)threads;
    if (error && error_size) snprintf(error, error_size, "built without oneDNN's headers (libdnnl-dev)");
    return -1;
}

const char *brv_dnnl_isa(void) { return "none"; }

const char *brv_dnnl_version(void) { return ""; }

const char *brv_dnnl_file(void) { return ""; }

int brv_dnnl_matmul(int type, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const void *x, const void *w,
                    const float *xs, const float *ws, const float *bias, float *y, ptrdiff_t ldy) {
    (void)type; (void)m; (void)n; (void)k; (void)x; (void)w; (void)xs; (void)ws; (void)bias; (void)y; (void)ldy;
    return -1;
}

int brv_dnnl_supports(int type) { (void)type; return 0; }

int brv_dnnl_variant_shapes(void) { return 0; }

long brv_dnnl_products(void) { return 0; }

#endif
