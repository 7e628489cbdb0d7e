// cuLaunchKernel's `kernelParams`: an array of addresses, one per parameter, each pointing at the value
// with the parameter's C type and size. Every value sits in its own 8-byte slot (little-endian, so a
// 4-byte int or float is read from the slot's first bytes). Host-only: tested without a GPU.

public struct KernelArguments: Sendable, Equatable {
    /// A kernel parameter with its C type.
    public enum Value: Sendable, Equatable {
        case pointer(UInt64)     // T *
        case int32(Int32)        // int
        case int64(Int64)        // long
        case float(Float)        // float
    }

    /// A parameter's C type as the driver sees it.
    public enum Kind: Sendable, Equatable { case pointer, int32, int64, float }

    public private(set) var values: [Value] = []

    public var kinds: [Kind] {
        values.map {
            switch $0 {
            case .pointer: return .pointer
            case .int32: return .int32
            case .int64: return .int64
            case .float: return .float
            }
        }
    }

    /// Checks these arguments against `kernel`'s parameters in CUDAKernelSource (`kernel` with or without
    /// its type suffix).
    public func check(against kernel: String) -> String? {
        var base = kernel
        for suffix in ["_f32", "_f16", "_bf16"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        guard let expected = CUDAKernelSource.signatures[base] else { return "no kernel \(kernel)" }
        return expected == kinds ? nil : "\(kernel) takes \(expected), given \(kinds)"
    }

    public init(_ values: [Value] = []) { self.values = values }

    public mutating func append(_ v: Value) { values.append(v) }

    /// The 8-byte slots as the driver reads them.
    public var slots: [UInt64] {
        values.map {
            switch $0 {
            case let .pointer(p): return p
            case let .int32(v): return UInt64(UInt32(bitPattern: v))
            case let .int64(v): return UInt64(bitPattern: v)
            case let .float(v): return UInt64(v.bitPattern)
            }
        }
    }

    /// Calls `body` with the parameter address array (valid only during the call).
    public func withParameters<R>(_ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>?) throws -> R) rethrows -> R {
        var slots = self.slots
        return try slots.withUnsafeMutableBufferPointer { s in
            var addresses: [UnsafeMutableRawPointer?] = (0..<s.count).map { UnsafeMutableRawPointer(s.baseAddress! + $0) }
            return try addresses.withUnsafeMutableBufferPointer { try body($0.baseAddress) }
        }
    }
}

/// y[rows, outputs] = x[rows, inputs] · w[outputs, inputs]ᵀ with every matrix row-major, as cuBLAS's
/// column-major C[m, n] = op(A)[m, k] · op(B)[k, n]: a row-major [r, c] matrix is the column-major [c, r]
/// one, so Yᶜ[outputs, rows] = (Wᶜ)ᵀ · Xᶜ, A = w transposed (lda = inputs), B = x (ldb = inputs).
public struct GemmPlan: Sendable, Equatable {
    public let transposeA: Bool
    public let transposeB: Bool
    public let m, n, k, lda, ldb, ldc: Int

    public init(rows: Int, inputs: Int, outputs: Int) {
        transposeA = true
        transposeB = false
        m = outputs
        n = rows
        k = inputs
        lda = inputs
        ldb = inputs
        ldc = outputs
    }

    /// cuBLAS takes 32-bit sizes.
    public var fitsInt32: Bool { [m, n, k, lda, ldb, ldc].allSatisfy { $0 <= Int(Int32.max) } }
}
