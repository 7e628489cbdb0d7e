// One GPU as the CUDA backend uses it: the device's primary context, one stream that every copy and
// launch goes to (so work runs in the order it was issued and a freed block's next user waits for its
// last one), the kernels compiled by NVRTC for the device and loaded as a module, cuBLAS on the same
// stream, and the memory pool. Driver errors stop the process with the failing call named: the backend's
// operations cannot throw (the `Backend` contract), and the start-up self-test catches an unusable GPU
// before a request is taken.

import CCUDA
import Foundation

/// What `CUDABackend` asks of a GPU: memory, copies, launches and products, all in stream order. A
/// `CUDAStream` does it on a device; the tests put a host emulator of the kernels behind it.
public protocol CUDAQueue: AnyObject, Sendable {
    var deviceName: String { get }
    /// The kernels' image: "sm_90" (a cubin), "compute_90" (PTX), or what an emulator says.
    var kernelImage: String { get }
    var pool: DeviceMemoryPool { get }
    /// Serializes the backend's operations.
    var lock: NSRecursiveLock { get }
    /// Makes the queue's context current on the calling thread.
    func enter()
    func take(_ bytes: Int) -> DeviceMemoryPool.Block
    /// Host -> device in stream order; `keep` (the host buffer) lives until the next synchronization.
    func upload(_ source: UnsafeRawPointer, bytes: Int, to address: UInt64, keep: AnyObject)
    func copy(from source: UInt64, to destination: UInt64, bytes: Int)
    func zero(_ address: UInt64, bytes: Int)
    /// Device -> host: waits for everything queued before it.
    func download(_ address: UInt64, bytes: Int, into destination: UnsafeMutableRawPointer)
    func synchronize()
    func launch(_ name: String, grid: (Int, Int), block: Int, sharedBytes: Int, _ arguments: KernelArguments)
    /// y[rows, outputs] = x · wᵀ in `type`, float accumulation.
    func gemm(_ plan: GemmPlan, w: UInt64, x: UInt64, y: UInt64, type: DType)
}

extension CUDAQueue {
    /// Small host arrays (ids, row tables, pointer tables) as a device block, given back after use.
    func upload<T>(_ values: [T]) -> DeviceMemoryPool.Block {
        let box = HostBox(values)
        let block = take(box.bytes)
        upload(box.pointer, bytes: box.bytes, to: block.address, keep: box)
        return block
    }
}

public final class CUDAStream: CUDAQueue, @unchecked Sendable {
    public let device: CUDADevice
    public var deviceName: String { device.name }
    let driver: brv_cuda_driver
    let blas: brv_cublas
    let context: brv_CUcontext?
    let stream: brv_CUstream?
    let handle: brv_cublasHandle?
    private let functions: [String: brv_CUfunction]
    public let pool: DeviceMemoryPool
    /// Host buffers read by copies still queued on the stream: kept alive until the next synchronization.
    private var pendingHost: [AnyObject] = []
    /// Serializes the backend's operations (the cuBLAS handle and the pending list are not thread-safe).
    public let lock = NSRecursiveLock()
    /// The kernels' image: a cubin for the device, or PTX the driver finishes.
    public let kernelImage: String

    /// What the stream was given, ever: the host-side work a decode step costs (`summarize --bench-repeat`).
    public struct Counts: Sendable, Equatable {
        public var launches = 0, gemms = 0, uploads = 0, copies = 0, synchronizations = 0
    }
    public private(set) var counts = Counts()

    /// Opens `device`, compiles (or reads from the disk cache) the kernels for it, and loads cuBLAS.
    public init(device: CUDADevice, compiler: NVRTCCompiler? = nil, cublasPath: String? = EngineSettings.current.cublasPath) throws {
        self.device = device
        let drv = try CUDADevice.driver()
        driver = drv
        let b = try Self.loadCUBLAS(path: cublasPath).api
        blas = b.pointee
        var dev: brv_CUdevice = 0, ctx: brv_CUcontext?, s: brv_CUstream?, h: brv_cublasHandle?
        try CUDADevice.check(drv, drv.cuDeviceGet(&dev, Int32(device.ordinal)), "cuDeviceGet")
        try CUDADevice.check(drv, drv.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        try CUDADevice.check(drv, drv.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        try CUDADevice.check(drv, drv.cuStreamCreate(&s, 0), "cuStreamCreate")
        context = ctx
        stream = s
        let bl = b.pointee
        let status = bl.cublasCreate(&h)
        guard status == 0, let h else { throw CUDAError.unusable("cublasCreate failed: status \(status)") }
        handle = h
        _ = bl.cublasSetStream(h, s)
        _ = bl.cublasSetMathMode(h, Int32(BRV_CUBLAS_DEFAULT_MATH))   // no TF32: float32 products stay float32
        let api = drv
        pool = DeviceMemoryPool(allocate: { bytes in
            var p: brv_CUdeviceptr = 0
            try CUDADevice.check(api, api.cuMemAlloc(&p, bytes), "cuMemAlloc(\(bytes))")
            return p
        }, release: { _ = api.cuMemFree($0) })

        // kernels: a cubin for the device's architecture, else PTX for the newest this NVRTC knows
        let nvrtc = try compiler ?? NVRTCCompiler()
        var image: NVRTCCompiler.Output?, imageArch = ""
        var failures: [String] = []
        for arch in [device.architecture, "compute_\(device.capability.major)\(device.capability.minor)", "compute_90", "compute_80"] {
            do { image = try nvrtc.compile(CUDAKernelSource.source, name: "brevity_kernels.cu", arch: arch); imageArch = arch; break }
            catch { failures.append("\(arch): \(error)") }
        }
        guard let image else { throw CUDAError.unusable("NVRTC \(nvrtc.version.major).\(nvrtc.version.minor) made no image for \(device.architecture): \(failures.joined(separator: "; "))") }
        kernelImage = imageArch
        var bytes = image.image
        if image.isPTX { bytes.append(0) }
        var module: brv_CUmodule?
        try bytes.withUnsafeBytes { try CUDADevice.check(drv, drv.cuModuleLoadData(&module, $0.baseAddress), "cuModuleLoadData") }
        var table: [String: brv_CUfunction] = [:]
        for name in CUDAKernelCheck.entryPoints {
            var f: brv_CUfunction?
            try CUDADevice.check(drv, drv.cuModuleGetFunction(&f, module, name), "cuModuleGetFunction(\(name))")
            table[name] = f
        }
        functions = table
    }

    /// cuBLAS from `path` (BREVITY_CUBLAS), else libcublas.so.13 / .12: its entry points and the file loaded.
    static func loadCUBLAS(path: String?) throws -> (api: UnsafePointer<brv_cublas>, library: String) {
        var error = [CChar](repeating: 0, count: 2048), loaded = [CChar](repeating: 0, count: 512)
        guard let b = brv_cublas_load(path, &error, error.count, &loaded, loaded.count) else {
            throw CUDAError.libraryMissing("cuBLAS", tried: String(cString: error))
        }
        return (b, String(cString: loaded))
    }

    /// A driver failure inside an operation: the GPU is in an unknown state, so the process stops, naming it.
    func must(_ code: brv_CUresult, _ call: @autoclosure () -> String) {
        guard code != 0 else { return }
        do { try CUDADevice.check(driver, code, call()) } catch { fatalError("CUDA backend: \(error)") }
    }

    /// Makes the context current on the calling thread (cheap; Swift tasks hop between threads).
    public func enter() { must(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent") }

    // MARK: memory

    public func take(_ bytes: Int) -> DeviceMemoryPool.Block {
        do { return try pool.take(max(bytes, 1)) } catch { fatalError("CUDA backend: \(error)") }
    }

    /// Host -> device, queued on the stream; `keep` (the host buffer) lives until the next synchronization.
    public func upload(_ source: UnsafeRawPointer, bytes: Int, to address: UInt64, keep: AnyObject) {
        guard bytes > 0 else { return }
        counts.uploads += 1
        must(driver.cuMemcpyHtoDAsync(address, source, bytes, stream), "cuMemcpyHtoDAsync(\(bytes))")
        pendingHost.append(keep)
    }

    public func copy(from source: UInt64, to destination: UInt64, bytes: Int) {
        guard bytes > 0 else { return }
        counts.copies += 1
        must(driver.cuMemcpyDtoDAsync(destination, source, bytes, stream), "cuMemcpyDtoDAsync(\(bytes))")
    }

    public func zero(_ address: UInt64, bytes: Int) {
        must(driver.cuMemsetD8Async(address, 0, bytes, stream), "cuMemsetD8Async(\(bytes))")
    }

    /// Device -> host: waits for everything queued before it.
    public func download(_ address: UInt64, bytes: Int, into destination: UnsafeMutableRawPointer) {
        if bytes > 0 { must(driver.cuMemcpyDtoHAsync(destination, address, bytes, stream), "cuMemcpyDtoHAsync(\(bytes))") }
        synchronize()
    }

    public func synchronize() {
        counts.synchronizations += 1
        must(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
        pendingHost.removeAll(keepingCapacity: true)
    }

    // MARK: launches

    public func launch(_ name: String, grid: (Int, Int), block: Int, sharedBytes: Int, _ arguments: KernelArguments) {
        guard let f = functions[name] else { fatalError("CUDA backend: no kernel \(name)") }
        if let wrong = arguments.check(against: name) { fatalError("CUDA backend: \(wrong)") }
        guard grid.0 > 0, grid.1 > 0 else { return }
        counts.launches += 1
        let code = arguments.withParameters { params in
            driver.cuLaunchKernel(f, UInt32(grid.0), UInt32(grid.1), 1, UInt32(block), 1, 1, UInt32(sharedBytes),
                                  stream, params, nil)
        }
        must(code, "cuLaunchKernel(\(name), grid \(grid), block \(block))")
    }

    /// y[rows, outputs] = x · wᵀ through cuBLAS in `type`, float accumulation.
    public func gemm(_ plan: GemmPlan, w: UInt64, x: UInt64, y: UInt64, type: DType) {
        var alpha: Float = 1, beta: Float = 0
        counts.gemms += 1
        let t = Int32(type.cudaDataType)
        let status = blas.cublasGemmEx(handle, Int32(plan.transposeA ? BRV_CUBLAS_OP_T : BRV_CUBLAS_OP_N),
                                       Int32(plan.transposeB ? BRV_CUBLAS_OP_T : BRV_CUBLAS_OP_N),
                                       Int32(plan.m), Int32(plan.n), Int32(plan.k), &alpha,
                                       UnsafeRawPointer(bitPattern: UInt(w)), t, Int32(plan.lda),
                                       UnsafeRawPointer(bitPattern: UInt(x)), t, Int32(plan.ldb), &beta,
                                       UnsafeMutableRawPointer(bitPattern: UInt(y)), t, Int32(plan.ldc),
                                       Int32(BRV_CUBLAS_COMPUTE_32F), Int32(BRV_CUBLAS_GEMM_DEFAULT))
        if status != 0 {
            let text = blas.cublasGetStatusString(status).map { String(cString: $0) } ?? "status \(status)"
            fatalError("CUDA backend: cublasGemmEx(m \(plan.m), n \(plan.n), k \(plan.k)) failed: \(text)")
        }
    }
}

/// A host array's bytes with a stable address, kept alive by the stream until its copy has run.
public final class HostBox {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int

    init<T>(_ values: [T]) {
        bytes = MemoryLayout<T>.stride * values.count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
        values.withUnsafeBytes { if bytes > 0 { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes) } }
    }

    init(bytes: Int) {
        self.bytes = bytes
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
    }

    deinit { pointer.deallocate() }
}

extension DType {
    /// cudaDataType_t of a floating type (the CUDA backend holds no int8).
    public var cudaDataType: Int32 {
        switch self {
        case .f32: return Int32(BRV_CUDA_R_32F)
        case .f16: return Int32(BRV_CUDA_R_16F)
        case .bf16: return Int32(BRV_CUDA_R_16BF)
        case .int8: return -1
        }
    }

    /// The kernels' name suffix for activations of this type.
    public var kernelSuffix: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .int8: return "i8"
        }
    }
}
