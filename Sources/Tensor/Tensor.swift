// A tensor: a shape over contiguous row-major storage owned by one backend. Activations are float32;
// weights may be stored as f16, bf16 or int8 with per-row scales (`DType`), chosen once at load.
// Model code calls these methods and never names a backend or a type: each op runs on the backend that
// owns the operands and picks the kernel for their types (docs/architecture.md, candle's pattern).

public final class TensorStorage: @unchecked Sendable {
    public let backend: any Backend
    /// Host address on the CPU backend, device address elsewhere.
    public let pointer: UnsafeMutableRawPointer
    /// Number of elements.
    public let count: Int
    public let dtype: DType
    /// int8 only: float32 scales, one per `DType.int8Group` elements of each row ([rows, groups]).
    public let scales: TensorStorage?
    private let release: (UnsafeMutableRawPointer) -> Void

    public init(backend: any Backend, pointer: UnsafeMutableRawPointer, count: Int, dtype: DType = .f32,
                scales: TensorStorage? = nil, release: @escaping (UnsafeMutableRawPointer) -> Void) {
        require(dtype != .int8 || scales != nil, "int8 storage needs its scales")
        self.backend = backend
        self.pointer = pointer
        self.count = count
        self.dtype = dtype
        self.scales = scales
        self.release = release
    }

    deinit { release(pointer) }

    /// Host view of float32 storage (CPU backend only).
    public var floats: UnsafeMutablePointer<Float> { pointer.assumingMemoryBound(to: Float.self) }

}

public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    public internal(set) var storage: TensorStorage

    public init(shape: [Int], storage: TensorStorage) {
        require(shape.reduce(1, *) <= storage.count, "shape \(shape) exceeds storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    public var backend: any Backend { storage.backend }
    public var dtype: DType { storage.dtype }
    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    /// Rows and columns of the tensor seen as a matrix [rows, lastDim].
    public var rows: Int { shape.count <= 1 ? 1 : count / shape[shape.count - 1] }
    public var columns: Int { shape.last ?? 1 }

    public static func zeros(_ shape: [Int], on backend: any Backend) -> Tensor {
        Tensor(shape: shape, storage: backend.allocate(count: shape.reduce(1, *), zeroed: true))
    }

    public init(_ values: [Float], shape: [Int], on backend: any Backend) {
        require(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        let storage = values.withUnsafeBufferPointer { backend.upload($0) }
        self.init(shape: shape, storage: storage)
    }

    /// The values as float32 (weights widened, int8 scaled).
    public func toArray() -> [Float] { backend.download(self) }

    /// The values as float32 lent to `body`: a CPU float32 tensor's own storage (no copy; a decode step's
    /// logits are rows x V floats), anything else downloaded first.
    public func withHostFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        if storage.backend is CPUBackend && dtype == .f32 {
            return try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: storage.floats, count: count)) }
        }
        return try toArray().withUnsafeBufferPointer(body)
    }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        require(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, storage: storage)
    }

    /// Copy-on-write: a tensor about to be written in place gets its own storage when shared.
    public mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = backend.copy(storage, count: storage.count)
        }
    }

    /// Whether this tensor alone holds its storage (a write would not copy it).
    public mutating func holdsStorageAlone() -> Bool { isKnownUniquelyReferenced(&storage) }

    /// Like `makeUnique`, but a shared storage is replaced by a copy of its first `rows` rows only
    /// (the rest left uninitialized): a KV cache copies what it holds, not its capacity.
    public mutating func makeUnique(keepingRows rows: Int) {
        if !isKnownUniquelyReferenced(&storage) {
            let fresh = backend.allocate(count: storage.count, zeroed: false)
            if rows > 0 { backend.copyRows(from: self, row: 0, into: fresh, row: 0, rows: rows, width: columns) }
            storage = fresh
        }
    }

    /// Writes `source`'s rows into rows `at..<at+source.rows` of this matrix, in place (after copy-on-write).
    public mutating func setRows(at row: Int, from source: Tensor, sourceRow: Int = 0, rowCount: Int? = nil) {
        let n = rowCount ?? source.rows - sourceRow
        require(columns == source.columns && row + n <= rows && sourceRow + n <= source.rows, "setRows: \(n) rows of \(source.shape) from \(sourceRow) into \(shape) at \(row)")
        makeUnique()
        backend.copyRows(from: source, row: sourceRow, into: storage, row: row, rows: n, width: columns)
    }
}

// MARK: - ops (dispatched to the owning backend)

public extension Tensor {
    /// x: [N, K], weight: [M, K], bias: [M] -> [N, M]
    func linear(_ weight: Tensor, bias: Tensor?) -> Tensor { backend.linear(self, weight: weight, bias: bias) }
    static func + (a: Tensor, b: Tensor) -> Tensor { a.backend.add(a, b) }
    /// Element-wise product.
    static func * (a: Tensor, b: Tensor) -> Tensor { a.backend.multiply(a, b) }
    func layerNorm(weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        backend.layerNorm(self, weight: weight, bias: bias, eps: eps)
    }
    func rmsNorm(weight: Tensor, eps: Float) -> Tensor { backend.rmsNorm(self, weight: weight, eps: eps) }
    func activation(_ kind: Activation) -> Tensor { backend.activation(self, kind) }
    /// table: [V, C] gathered at ids -> [ids.count, C], times scale
    func embedding(_ ids: [Int], scale: Float = 1) -> Tensor { backend.embedding(ids, table: self, scale: scale) }
    /// Rows of a [N, C] matrix -> [rows.count, C]
    func gatherRows(_ rows: [Int]) -> Tensor { backend.gatherRows(self, rows: rows) }
    /// Rows `start..<start+count` as a new [count, C] matrix.
    func rowSlice(_ start: Int, _ count: Int) -> Tensor { backend.gatherRows(self, rows: Array(start..<start + count)) }
    /// Row-wise log-softmax of a [N, V] matrix.
    func logSoftmax() -> Tensor { backend.logSoftmax(self) }
}
