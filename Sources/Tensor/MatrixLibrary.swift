// Many-row products (the encoder over a document, cross-attention keys and values, steps past
// SkinnyGEMM.maxRows) through oneDNN, which picks its kernels by the CPU's feature flags: AVX2, AVX-512, and
// the dot-product and matrix units (AVX512-BF16, AMX) for bfloat16. Opened at run time (Sources/CKernels/dnnl.c);
// where it is missing or fails its start-up check, OpenBLAS keeps the work, and the reason is kept for the log
// and /health.
//
// Batch invariance (docs/architecture.md §5): oneDNN's kernels give a row different roundings depending on
// the product's row count and the row's place in it (measured on AVX2: most row counts differ from each other,
// and 2 to 4 places of a 32, 128 or 256-row product differ from the rest). So every shape runs as matmuls of
// one fixed row count, its tile (the last padded with zeros), chosen at the shape's first call as the largest
// tile whose every place gives a row the same result (Sources/CKernels/dnnl.c); a shape with none goes to
// OpenBLAS. A row's result then depends on nothing but its own inputs.
//
// Which products: bfloat16 weights natively wherever oneDNN has bfloat16 on this CPU (AVX512-BF16, AMX).
// float32 (and the types widened to it) where oneDNN beats OpenBLAS: on AVX-512 CPUs, and wherever OpenBLAS
// chose kernels below the CPU (OpenBLASCore). On two Zen cores (AVX2) OpenBLAS's Haswell sgemm ran 68-74
// GFLOP/s against oneDNN's 52-66 in tiles, so AVX2 CPUs keep float32 on OpenBLAS. BREVITY_MATRIX_LIBRARY=onednn
// sends every many-row product to oneDNN, =none (or openblas) none.

import CKernels
import Foundation

public final class MatrixLibrary: @unchecked Sendable {
    /// The largest tile dnnl.c tries (rows per oneDNN call); the padding costs less than a tile a product.
    public static let largestTile = 192

    /// The library's instruction set ("avx2", "avx512_core_amx", ...) and version.
    public let isa: String
    public let version: String
    /// The weight types whose products run here natively (float32 everywhere; bfloat16 where oneDNN has it
    /// on this CPU and it passed `check`); other types are widened to float32 block by block.
    public let nativeTypes: Set<DType>
    /// Types oneDNN has but that failed `check` at start-up, with the reason.
    public let dropped: [DType: String]
    /// Whether float32 products, and the types widened to float32, run here (else on OpenBLAS), and why.
    public let takesFloat32: Bool
    public let float32Reason: String

    /// Weight rows widened to float32 per call for the types oneDNN does not take natively.
    static let widenBlock = 1024

    init(isa: String, version: String, nativeTypes: Set<DType>, dropped: [DType: String], takesFloat32: Bool,
         float32Reason: String) {
        self.isa = isa
        self.version = version
        self.nativeTypes = nativeTypes
        self.dropped = dropped
        self.takesFloat32 = takesFloat32
        self.float32Reason = float32Reason
    }

    /// What the process uses: oneDNN when it opens and passes `check`, else nil with `unavailableReason`.
    /// BREVITY_MATRIX_LIBRARY: auto (the default, see above), onednn (every many-row product), none or openblas
    /// (none: for comparisons).
    public static var process: MatrixLibrary? { opened.library }

    /// Why `process` is nil (empty when it is not).
    public static var unavailableReason: String { opened.reason }

    /// "oneDNN 2.6.3 avx2 from FILE", or why it is not used: for `brevity cpu-check` (make dist's check reads
    /// it to see the tarball's own copy opened).
    public static var summary: String {
        guard let library = process else { return unavailableReason }
        return "oneDNN \(library.version) \(library.isa) from \(String(cString: brv_dnnl_file()))"
    }

    private static let opened: (library: MatrixLibrary?, reason: String) = {
        let setting = EngineSettings.fixedNow.matrixLibrary?.lowercased() ?? "auto"
        if setting == "none" || setting == "openblas" { return (nil, "BREVITY_MATRIX_LIBRARY=\(setting)") }
        guard setting == "auto" || setting == "onednn" || setting.isEmpty else {
            return (nil, "BREVITY_MATRIX_LIBRARY=\(setting) is not one of auto, onednn, none, openblas: oneDNN not used")
        }
        let (library, reason) = open()
        guard let library else { return (nil, reason) }
        if setting == "onednn" { return (library.taking(float32: true, because: "BREVITY_MATRIX_LIBRARY=onednn"), "") }
        if let mismatch = OpenBLASCore.processMismatch { return (library.taking(float32: true, because: mismatch.reason), "") }
        if CPUTier.supported >= .avx512 {
            return (library.taking(float32: true, because: "AVX-512: oneDNN's float32 kernels over OpenBLAS's"), "")
        }
        return (library.taking(float32: false, because: "AVX2: OpenBLAS's \(OpenBLASCore.name) sgemm is faster here"), "")
    }()

    /// This library with float32 products taken (or left to OpenBLAS) for `reason`: a copy.
    public func taking(float32: Bool, because reason: String) -> MatrixLibrary {
        MatrixLibrary(isa: isa, version: version, nativeTypes: nativeTypes, dropped: dropped, takesFloat32: float32,
                      float32Reason: reason)
    }

    /// Opens oneDNN and checks its products against a Double reference: the library (float32 left to
    /// OpenBLAS until `taking`), or nil with the reason.
    static func open() -> (library: MatrixLibrary?, reason: String) {
        var error = [CChar](repeating: 0, count: 512)
        guard brv_dnnl_load(nil, Int32(CPUBackend.cores), &error, error.count) == 0 else {
            return (nil, "oneDNN not available: " + String(cString: error))
        }
        let version = String(cString: brv_dnnl_version())
        if let problem = check(.f32) { return (nil, "oneDNN \(version) failed its check: \(problem)") }
        var native: Set<DType> = [.f32], dropped: [DType: String] = [:]
        if brv_dnnl_supports(Int32(BRV_MM_BF16)) != 0 {
            if let problem = check(.bf16) { dropped[.bf16] = problem } else { native.insert(.bf16) }
        }
        return (MatrixLibrary(isa: String(cString: brv_dnnl_isa()), version: version, nativeTypes: native, dropped: dropped,
                              takesFloat32: false, float32Reason: ""), "")
    }

    /// Products run here so far, and shapes sent back to OpenBLAS because no tile computed their rows alike.
    public static var statistics: (products: Int, refusedShapes: Int) {
        (Int(brv_dnnl_products()), Int(brv_dnnl_variant_shapes()))
    }

    /// Whether products of `type` weights run here.
    public func takes(_ type: DType) -> Bool {
        type != .f32 && nativeTypes.contains(type) || takesFloat32
    }

    /// How products of `type` weights run, for logs and /health: "onednn 2.6.3 avx2 (float32)", widened, or on
    /// OpenBLAS, and why.
    public func describe(_ type: DType) -> String {
        guard takes(type) else {
            return Self.blas(type) + "; \(float32Reason) (oneDNN \(version) \(isa) loaded)"
                + (dropped[type].map { "; \(type.userName) on oneDNN failed its check: \($0)" } ?? "")
        }
        let how = nativeTypes.contains(type) ? type.userName : "\(type.userName) widened to float32"
        let refused = Int(brv_dnnl_variant_shapes())
        return "onednn \(version) \(isa) (\(how))" + (type == .f32 || !nativeTypes.contains(type) ? "; \(float32Reason)" : "")
            + (refused > 0 ? "; \(refused) shapes on openblas (rows not computed alike)" : "")
    }

    static func blas(_ type: DType) -> String {
        "openblas \(OpenBLASCore.name) (\(type == .f32 ? "float32" : "\(type.userName) widened to float32"))"
            + (OpenBLASCore.processMismatch.map { "; \($0.reason)" } ?? "")
    }

    /// How this process runs many-row products of `type` weights, and why: for the start-up log and /health.
    public static func manyRows(_ type: DType) -> String {
        guard let library = process else { return "\(blas(type)); \(unavailableReason)" }
        return library.describe(type)
    }

    /// Both kinds of products of `type` weights in this process: "decode kernels avx2; many rows openblas ...".
    public static func products(_ type: DType) -> String {
        "decode kernels \((CPUTier.productTiers.tiers[type] ?? CPUTier.detected).name) (\(CPUTier.productTiers.reason)); many rows \(manyRows(type))"
    }

    /// The check of one native type on odd shapes (tails, several tiles): against Double over the values as the
    /// product sees them (bfloat16-rounded activations and weights), bound k · 1e-6 of Σ|terms| for float32
    /// and 2^-8 (bfloat16 activations) for bfloat16. Returns the first problem, nil when it passes.
    static func check(_ type: DType) -> String? {
        var rng = SplitMix(seed: 0xD11)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() >> 40) / Float(1 << 23) - 1 } }
        let narrow = { (v: Float) -> Float in type == .bf16 ? bfloat16Rounded(v) : v }
        for (m, k, n) in [(1, 64, 48), (70, 33, 17), (largestTile + 5, 100, 130), (2 * largestTile + 1, 1024, 64)] {
            let x = values(m * k).map(narrow), w = values(n * k).map(narrow), bias = values(n)
            var y = [Float](repeating: .nan, count: m * n)
            guard run(type, m: m, n: n, k: k, x: x, w: w, bias: bias, y: &y) else {
                return "\(type.userName) \(m)x\(k)x\(n): oneDNN refused the product"
            }
            let e = CPUKernelCheck.relativeError(x: x, w: w, bias: bias, y: y, m: m, k: k, n: n)
            let bound = type == .bf16 ? 1.0 / 256 : 1e-6 * Double(max(k, 8))
            if !(e <= bound) { return "\(type.userName) \(m)x\(k)x\(n): off by \(e) of Σ|terms| (bound \(bound))" }
        }
        return nil
    }

    /// y = x · wᵀ + bias for float32 arrays (bfloat16 types: rounded on the way in), through the C entry point.
    private static func run(_ type: DType, m: Int, n: Int, k: Int, x: [Float], w: [Float], bias: [Float], y: inout [Float]) -> Bool {
        if type == .f32 {
            return y.withUnsafeMutableBufferPointer { yp in
                brv_dnnl_matmul(Int32(BRV_MM_F32), m, n, k, x, w, nil, nil, bias, yp.baseAddress, n) == 0
            }
        }
        let xb = x.map(floatToBFloat16), wb = w.map(floatToBFloat16)
        return y.withUnsafeMutableBufferPointer { yp in
            brv_dnnl_matmul(Int32(BRV_MM_BF16), m, n, k, xb, wb, nil, nil, bias, yp.baseAddress, n) == 0
        }
    }

    /// y: [rows, n] = x: [rows, k] · w: [n, k]ᵀ + bias, or false when oneDNN refused (nothing usable written):
    /// float32 weights directly, bfloat16 ones natively where `nativeTypes` has them (activations rounded to
    /// bfloat16 as transformers' bf16 models compute), other types widened to float32 `widenBlock` rows at a time.
    func linear(rows: Int, k: Int, n: Int, x: UnsafePointer<Float>, weight: TensorStorage, bias: UnsafePointer<Float>?,
                y: UnsafeMutablePointer<Float>, backend: CPUBackend) -> Bool {
        let type = weight.dtype
        guard takes(type) else { return false }
        if type == .f32 {
            return brv_dnnl_matmul(Int32(BRV_MM_F32), rows, n, k, x, weight.pointer, nil, nil, bias, y, n) == 0
        }
        if type == .bf16 && nativeTypes.contains(.bf16) {
            let xb = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * k)
            defer { xb.deallocate() }
            let xs = UInt(bitPattern: x), xbs = UInt(bitPattern: xb)
            Parallel.chunks(rows, grain: max(1, (1 << 14) / max(k, 1)), threads: backend.threads) { range in
                let src = UnsafePointer<Float>(bitPattern: xs)!, dst = UnsafeMutablePointer<UInt16>(bitPattern: xbs)!
                DType.bf16.narrow(src + range.lowerBound * k, count: range.count * k, into: dst + range.lowerBound * k)
            }
            return brv_dnnl_matmul(Int32(BRV_MM_BF16), rows, n, k, xb, weight.pointer, nil, nil, bias, y, n) == 0
        }
        // widened blocks of weight rows (block boundaries fixed by the weight, whatever the rows)
        let block = min(Self.widenBlock, n)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * k)
        defer { scratch.deallocate() }
        let ss = UInt(bitPattern: scratch)
        for j in stride(from: 0, to: n, by: block) {
            let count = min(block, n - j)
            Parallel.chunks(count, grain: max(1, (1 << 14) / max(k, 1)), threads: backend.threads) { range in
                let dst = UnsafeMutablePointer<Float>(bitPattern: ss)!
                for r in range { backend.widenRow(weight, j + r, columns: k, into: dst + r * k) }
            }
            if brv_dnnl_matmul(Int32(BRV_MM_F32), rows, count, k, x, scratch, nil, nil, bias.map { $0 + j },
                               y + j, n) != 0 {
                return false
            }
        }
        return true
    }
}
