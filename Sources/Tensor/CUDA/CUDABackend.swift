// The CUDA backend: the `Backend` contract on one GPU. Every tensor it makes (activations, weights, KV
// caches) is held in one floating type, DTYPE (float16 by default on a GPU, bfloat16 or float32), because
// cuBLAS takes both operands of a product in one type; products accumulate in float32 (no TF32), and the
// kernels (CUDAKernelSource.swift) compute in float32. Log-softmax returns float32. Everything is queued
// on one stream (CUDAStream.swift); only `download` waits for the GPU.
// Reference for the semantics: CPUBackend.swift, op for op; `BackendSelfTest` compares the two at start-up.

import Foundation

public final class CUDABackend: Backend, @unchecked Sendable {
    public let name = "cuda"
    public let gpu: any CUDAQueue
    /// The type of every tensor this backend makes except log-softmax's float32 output.
    public let dtype: DType
    /// Threads per block of the row kernels (a multiple of 32, at most 1024).
    static let rowThreads = 256
    /// Most keys one attention span may have: the kernel keeps a row of scores (4 bytes a key) in the 48 KiB
    /// of shared memory a launch may use without an opt-in, beside block_max's and block_sum's 32 partials.
    public static let maxAttentionKeys = (48 * 1024 - 2 * 32 * 4) / 4

    /// Attention's span and pointer tables, uploaded once per content (DeviceTableCache.swift).
    let tables = DeviceTableCache()

    public init(stream: any CUDAQueue, dtype: DType) throws {
        guard dtype != .int8 else {
            throw CUDAError.unusable("DTYPE int8 runs on the CPU only; on a GPU use float16, bfloat16 or float32")
        }
        gpu = stream
        self.dtype = dtype
    }

    deinit { locked { tables.removeAll(from: gpu) } }

    /// Attention tables uploaded, and those found already on the device.
    public var tableStatistics: (uploads: Int, hits: Int) { locked { (tables.uploads, tables.hits) } }

    /// The GPU's name, for /health and the logs.
    public var deviceName: String { gpu.deviceName }

    // MARK: helpers

    @inline(__always) static func address(_ s: TensorStorage) -> UInt64 { UInt64(UInt(bitPattern: s.pointer)) }
    @inline(__always) static func address(_ t: Tensor) -> UInt64 { address(t.storage) }

    /// Runs `body` with the context current and the stream to ourselves.
    @inline(__always) func locked<R>(_ body: () -> R) -> R {
        gpu.lock.lock()
        defer { gpu.lock.unlock() }
        gpu.enter()
        return body()
    }

    func storage(count: Int, type: DType, zeroed: Bool) -> TensorStorage {
        let bytes = max(count * type.byteSize, 4)
        let block = gpu.take(bytes)
        if zeroed { gpu.zero(block.address, bytes: bytes) }
        let pool = gpu.pool
        return TensorStorage(backend: self, pointer: UnsafeMutableRawPointer(bitPattern: UInt(block.address))!, count: count,
                             dtype: type, release: { _ in pool.give(block) })
    }

    private func empty(_ shape: [Int], type: DType? = nil) -> Tensor {
        Tensor(shape: shape, storage: storage(count: shape.reduce(1, *), type: type ?? dtype, zeroed: false))
    }

    func kernel(_ name: String) -> String { "\(name)_\(dtype.kernelSuffix)" }

    func requireOwn(_ tensors: Tensor..., op: String) {
        for t in tensors {
            require(t.backend === self && t.dtype == dtype, "\(op): a \(t.dtype) tensor of backend \(t.backend.name) on the CUDA backend in \(dtype)")
        }
    }

    /// A grid for the grid-stride element-wise kernels.
    private static func elementGrid(_ n: Int) -> (Int, Int) { (max(1, min((n + 255) / 256, 65_535)), 1) }

    // MARK: memory

    public func allocate(count: Int, zeroed: Bool) -> TensorStorage {
        locked { storage(count: count, type: dtype, zeroed: zeroed) }
    }

    public func upload(_ values: UnsafeBufferPointer<Float>) -> TensorStorage {
        locked {
            let s = storage(count: values.count, type: dtype, zeroed: false)
            let box = HostBox(bytes: values.count * dtype.byteSize)
            if let base = values.baseAddress { dtype.narrow(base, count: values.count, into: box.pointer) }
            gpu.upload(box.pointer, bytes: box.bytes, to: Self.address(s), keep: box)
            return s
        }
    }

    public func download(_ tensor: Tensor) -> [Float] {
        locked {
            let type = tensor.dtype, n = tensor.count
            let box = HostBox(bytes: n * type.byteSize)
            gpu.download(Self.address(tensor), bytes: box.bytes, into: box.pointer)
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                if n > 0 { type.widen(box.pointer, count: n, into: buf.baseAddress!) }
                count = n
            }
        }
    }

    /// Every tensor is held in the backend's one type: the kernels take operands of one type.
    public func heldType(_ requested: DType) -> DType { dtype }

    /// Checkpoint bytes converted on the host to this backend's type, then copied once to the device.
    public func weight(from source: UnsafeRawPointer, type sourceType: DType, rows: Int, columns: Int, as target: DType,
                       owner: AnyObject) -> TensorStorage {
        require(target == dtype, "weight: \(target.userName) asked of the CUDA backend in \(dtype.userName) (ask heldType)")
        let count = rows * columns, type = dtype
        return locked {
            let s = storage(count: count, type: type, zeroed: false)
            if sourceType == type {
                gpu.upload(source, bytes: count * type.byteSize, to: Self.address(s), keep: owner)
            } else {
                let box = HostBox(bytes: count * type.byteSize)
                CPUBackend.convertRows(source, type: sourceType, rows: rows, columns: columns, into: box.pointer, as: type,
                                       scales: nil, threads: CPUBackend.cores)
                gpu.upload(box.pointer, bytes: box.bytes, to: Self.address(s), keep: box)
            }
            // loading: the host copies need not wait for the next step
            gpu.synchronize()
            return s
        }
    }

    public func copy(_ storage: TensorStorage, count: Int) -> TensorStorage {
        locked {
            let s = self.storage(count: count, type: storage.dtype, zeroed: false)
            gpu.copy(from: Self.address(storage), to: Self.address(s), bytes: count * storage.dtype.byteSize)
            return s
        }
    }

    public func copyRows(from source: Tensor, row sourceRow: Int, into destination: TensorStorage, row: Int, rows: Int,
                         width: Int) {
        require(source.dtype == destination.dtype, "copyRows: \(source.dtype) into \(destination.dtype)")
        require((sourceRow + rows) * width <= source.storage.count && (row + rows) * width <= destination.count,
                "copyRows: rows outside the storage")
        let b = source.dtype.byteSize
        locked {
            gpu.copy(from: Self.address(source) + UInt64(sourceRow * width * b), to: Self.address(destination) + UInt64(row * width * b),
                     bytes: rows * width * b)
        }
    }

    // MARK: ops

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let k = x.columns, n = x.rows, m = weight.shape[0]
        require(weight.rank == 2 && weight.shape[1] == k, "linear: x \(x.shape) vs weight \(weight.shape)")
        requireOwn(x, weight, op: "linear")
        if let bias { requireOwn(bias, op: "linear"); require(bias.count == m, "linear: bias of \(bias.count) for \(m) outputs") }
        var outShape = x.shape
        outShape[outShape.count - 1] = m
        return locked {
            let y = empty(outShape)
            guard n > 0 else { return y }
            let plan = GemmPlan(rows: n, inputs: k, outputs: m)
            require(plan.fitsInt32, "linear: \(n) x \(k) x \(m) is past cuBLAS's 32-bit sizes")
            gpu.gemm(plan, w: Self.address(weight), x: Self.address(x), y: Self.address(y), type: dtype)
            if let bias {
                gpu.launch(kernel("bias_act"), grid: Self.elementGrid(n * m), block: 256, sharedBytes: 0, KernelArguments([
                    .pointer(Self.address(y)), .pointer(Self.address(bias)), .int64(Int64(n * m)), .int32(Int32(m)), .int32(-1)]))
            }
            return y
        }
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise("add", a, b, op: "add") }

    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise("mul", a, b, op: "multiply") }

    /// y = a ∘ b element by element with kernel `name` (add, mul).
    private func elementwise(_ name: String, _ a: Tensor, _ b: Tensor, op: String) -> Tensor {
        require(a.count == b.count, "\(op): \(a.shape) vs \(b.shape)")
        requireOwn(a, b, op: op)
        return locked {
            let y = empty(a.shape)
            gpu.launch(kernel(name), grid: Self.elementGrid(a.count), block: 256, sharedBytes: 0, KernelArguments([
                .pointer(Self.address(a)), .pointer(Self.address(b)), .pointer(Self.address(y)), .int64(Int64(a.count))]))
            return y
        }
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
        let c = x.columns
        require(weight.count == c, "rmsNorm: weight vs width \(c)")
        requireOwn(x, weight, op: "rmsNorm")
        return locked {
            let y = empty(x.shape)
            gpu.launch(kernel("rms_norm"), grid: (x.rows, 1), block: Self.rowThreads, sharedBytes: 0, KernelArguments([
                .pointer(Self.address(x)), .pointer(Self.address(weight)), .pointer(Self.address(y)), .int32(Int32(c)), .float(eps)]))
            return y
        }
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let c = x.columns
        require(weight.count == c && bias.count == c, "layerNorm: weight/bias vs width \(c)")
        requireOwn(x, weight, bias, op: "layerNorm")
        return locked {
            let y = empty(x.shape)
            gpu.launch(kernel("layer_norm"), grid: (x.rows, 1), block: Self.rowThreads, sharedBytes: 0, KernelArguments([
                .pointer(Self.address(x)), .pointer(Self.address(weight)), .pointer(Self.address(bias)), .pointer(Self.address(y)),
                .int32(Int32(c)), .float(eps)]))
            return y
        }
    }

    /// The kernels' activation codes (CUDAKernelSource `activate`).
    static func code(_ kind: Activation) -> Int32 {
        switch kind {
        case .gelu: return 0
        case .geluTanh: return 1
        case .relu: return 2
        case .silu: return 3
        case .tanh: return 4
        }
    }

    public func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
        requireOwn(x, op: "activation")
        return locked {
            let y = empty(x.shape)
            gpu.copy(from: Self.address(x), to: Self.address(y), bytes: x.count * dtype.byteSize)
            gpu.launch(kernel("bias_act"), grid: Self.elementGrid(x.count), block: 256, sharedBytes: 0, KernelArguments([
                .pointer(Self.address(y)), .pointer(0), .int64(Int64(x.count)), .int32(Int32(max(x.columns, 1))), .int32(Self.code(kind))]))
            return y
        }
    }

    public func embedding(_ ids: [Int], table: Tensor, scale: Float) -> Tensor {
        let c = table.columns, v = table.rows
        requireOwn(table, op: "embedding")
        // ids are checked with errors at the API boundary; this guards the kernel against a bug
        for id in ids { require(id >= 0 && id < v, "embedding: id \(id) outside [0, \(v))") }
        return locked {
            let y = empty([ids.count, c])
            guard !ids.isEmpty else { return y }
            let device = gpu.upload(ids.map { Int32($0) })
            gpu.launch(kernel("embed"), grid: (ids.count, 1), block: Self.rowThreads, sharedBytes: 0, KernelArguments([
                .pointer(device.address), .pointer(Self.address(table)), .float(scale), .pointer(0), .pointer(0),
                .pointer(Self.address(y)), .int32(Int32(c))]))
            gpu.pool.give(device)   // the next user of the block is queued after this launch
            return y
        }
    }

    public func gatherRows(_ x: Tensor, rows: [Int]) -> Tensor {
        requireOwn(x, op: "gatherRows")
        require(rows.allSatisfy { $0 >= 0 && $0 < x.rows }, "gatherRows: rows inside the matrix")
        let c = x.columns
        return locked {
            let y = empty([rows.count, c])
            guard !rows.isEmpty else { return y }
            let device = gpu.upload(rows.map { Int32($0) })
            gpu.launch(kernel("gather_rows"), grid: (rows.count, 1), block: Self.rowThreads, sharedBytes: 0, KernelArguments([
                .pointer(Self.address(x)), .pointer(device.address), .pointer(Self.address(y)), .int32(Int32(c))]))
            gpu.pool.give(device)
            return y
        }
    }

    /// Row-wise log-softmax in float32 (the output is float32 whatever DTYPE is).
    public func logSoftmax(_ x: Tensor) -> Tensor {
        requireOwn(x, op: "logSoftmax")
        return locked {
            let y = empty(x.shape, type: .f32)
            gpu.launch(kernel("log_softmax"), grid: (x.rows, 1), block: 1024, sharedBytes: 0, KernelArguments([
                .pointer(Self.address(x)), .pointer(0), .pointer(Self.address(y)), .int32(Int32(x.columns))]))
            return y
        }
    }

    public func attention(query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan], heads: Int,
                          scale: Float, bias: RelativePositionBias?) -> Tensor {
        let width = query.columns, d = width / heads
        require(d * heads == width, "attention: width \(width) not divisible by \(heads) heads")
        require(keys.count == values.count, "attention: \(keys.count) key sets, \(values.count) value sets")
        requireOwn(query, op: "attention")
        if let bias {
            requireOwn(bias.table, op: "attention")
            require(bias.table.rows == heads, "attention: relative bias for \(bias.table.rows) heads, \(heads) given")
        }
        for (k, v) in zip(keys, values) {
            requireOwn(k, v, op: "attention")
            require(k.columns == width && v.columns == width && k.rows == v.rows, "attention: keys \(k.shape) values \(v.shape) vs width \(width)")
        }
        let packed: PackedSpans
        do { packed = try PackedSpans(spans, queryRows: query.rows, keyRows: keys.map(\.rows)) } catch {
            preconditionFailure("attention: \(error)")
        }
        require(packed.maxKeys <= Self.maxAttentionKeys, "attention: \(packed.maxKeys) keys in one span (at most \(Self.maxAttentionKeys))")
        return locked {
            let out = empty(query.shape)
            guard query.rows > 0 else { return out }
            tables.beginLaunch()
            let table = tables.address(of: packed.table, on: gpu), rowSpan = tables.address(of: packed.rowSpan, on: gpu)
            let k = tables.address(of: keys.map { Self.address($0) }, on: gpu), v = tables.address(of: values.map { Self.address($0) }, on: gpu)
            gpu.launch(kernel("attention"), grid: (query.rows, heads), block: 128, sharedBytes: packed.maxKeys * 4, KernelArguments([
                .pointer(Self.address(query)), .pointer(k), .pointer(v), .pointer(table), .pointer(rowSpan),
                .pointer(Self.address(out)), .int32(Int32(width)), .int32(Int32(d)), .float(scale),
                .pointer(bias.map { Self.address($0.table) } ?? 0), .int32(Int32(bias?.radius ?? 0))]))
            return out
        }
    }
}

extension CUDABackend {
    /// Most candidates a row the device kernel keeps (MAX_CHOICES in CUDAKernelSource; a test holds them
    /// equal): beam search keeps 2 · num_beams; a larger k is chosen on the host.
    public static let maxChoices = 64

    public var ranksOnDevice: Bool { true }

    /// The top-k on the device (kernel choose_tokens): three small uploads, one launch, and one download of k
    /// candidates a row plus the excluded columns' values, instead of rows x V values.
    public func topK(_ logits: Tensor, rows: [TopKRow], k: Int) -> [TopKRowResult] {
        requireOwn(logits, op: "topK")
        guard k >= 1, k <= Self.maxChoices, !rows.isEmpty, logits.columns > 0 else { return hostTopK(logits, rows: rows, k: k) }
        let v = logits.columns
        checkTopKRows(rows, logitsRows: logits.rows, vocabulary: v)
        var table: [Int32] = [], bases: [Float] = [], touched: [Int32] = []
        for r in rows {
            table += [Int32(r.row), r.logSoftmax ? 1 : 0, Int32(touched.count), Int32(r.excluded.count)]
            bases.append(r.offset)
            touched += r.excluded.map { Int32($0) }
        }
        require(touched.count < Int(Int32.max), "topK: \(touched.count) touched tokens")
        let stride = 3 + 2 * k, count = rows.count * stride + touched.count
        let out = [Float](unsafeUninitializedCapacity: count) { buffer, n in
            locked {
                let t = gpu.upload(table), b = gpu.upload(bases), s = gpu.upload(touched.isEmpty ? [0] : touched)
                let o = gpu.take(count * 4)
                gpu.launch(kernel("choose_tokens"), grid: (rows.count, 1), block: Self.rowThreads, sharedBytes: 0, KernelArguments([
                    .pointer(Self.address(logits)), .int32(Int32(v)), .pointer(t.address), .pointer(b.address), .pointer(s.address),
                    .int32(Int32(k)), .pointer(o.address)]))
                gpu.download(o.address, bytes: count * 4, into: buffer.baseAddress!)
                for block in [t, b, s, o] { gpu.pool.give(block) }
            }
            n = count
        }
        var touchedAt = rows.count * stride
        return rows.indices.map { i in
            let o = i * stride, n = Int(out[o + 2])
            let result = TopKRowResult(max: out[o], lse: out[o + 1], values: Array(out[(o + 3)..<(o + 3 + n)]),
                                      indices: (0..<n).map { Int(Int32(bitPattern: out[o + 3 + k + $0].bitPattern)) },
                                      excludedValues: Array(out[touchedAt..<(touchedAt + rows[i].excluded.count)]))
            touchedAt += rows[i].excluded.count
            return result
        }
    }
}

public enum CUDAStartup {
    /// Where `choice` runs when it found `gpu`: the backend opened and self-tested in `dtype`; when that
    /// fails, `cuda` throws the reason and `auto` returns it (the caller serves on the CPU and says why).
    public static func place(_ gpu: CUDADevice, choice: DeviceChoice, dtype: DType) throws -> Result<CUDABackend, Error> {
        do { return .success(try open(gpu, dtype: dtype)) } catch {
            if choice == .cuda { throw error }
            return .failure(error)
        }
    }

    /// The backend on `device` in `dtype`, checked op by op against the CPU backend before it is used.
    public static func open(_ device: CUDADevice, dtype: DType) throws -> CUDABackend {
        let backend = try CUDABackend(stream: CUDAStream(device: device), dtype: dtype)
        do { try BackendSelfTest(type: dtype).run(backend) } catch {
            throw CUDAError.unusable("\(device.name) failed the start-up self-test against the CPU in \(dtype.userName): \(error)")
        }
        return backend
    }
}
