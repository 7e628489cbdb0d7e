// Decode-shaped products: a few activation rows against a large [N, K] weight. OpenBLAS's sgemm streams
// such weights at a third of the memory bandwidth (docs/architecture.md), and it has no bf16/f16/int8
// weights at all; the C kernels (Sources/CKernels/gemm.c) read each weight row once for all activation
// rows, widening it in registers. Here: the instruction-set tier and the split over the cores by output
// columns.

import CKernels
import Foundation

public enum CPUTier: Int32, Sendable, Comparable, CaseIterable {
    case portable = 0, avx2 = 1, avx512 = 2

    public static func < (a: CPUTier, b: CPUTier) -> Bool { a.rawValue < b.rawValue }

    public var name: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    /// What this CPU supports (the tests run every tier up to it).
    public static let supported = CPUTier(rawValue: brv_cpu_tier()) ?? .portable

    /// The tier of the other ops and of float32 products unless told otherwise: avx2 at most. The AVX-512
    /// kernels passed `brevity cpu-check` on an AVX-512 Xeon, but ran float32 at 8 x beam 4 slower there;
    /// the narrower types take them (productTiers) after a start-up check, the rest on `BREVITY_CPU_FEATURES=avx512`.
    public static let detected = min(supported, .avx2)

    /// The process's tier: the `cpuFeatures` setting (BREVITY_CPU_FEATURES) when valid, else `detected` (an
    /// invalid value is reported by the commands at start-up through `fromSetting`).
    public static let process = (try? fromSetting(EngineSettings.fixedNow.cpuFeatures)) ?? detected

    /// The tier of the decode-shaped products of each weight type, and why. `BREVITY_CPU_FEATURES` sets one
    /// tier for all. Otherwise float32 stays on `detected` (on an AVX-512 Xeon the avx512 kernels were slower
    /// for float32 at 8 x beam 4, 9.85 against 7.95 s), and the narrower types take the best tier this CPU has
    /// once its products pass CPUKernelCheck in this process (on that Xeon avx512 was faster for bfloat16 and
    /// int8 in every case, and `brevity cpu-check` passed there); a tier that fails stays unused.
    public static let productTiers = chooseProductTiers(
        supported: supported, detected: detected, setting: EngineSettings.fixedNow.cpuFeatures,
        process: process, failures: startUpFailures)

    /// The start-up check of a tier's products of `types` (CPUKernelCheck's products and rows lines): the lines
    /// that failed, empty when it passes. It builds its own backend, never `CPUBackend.shared`, so it can run
    /// while that is being made.
    static func startUpFailures(_ tier: CPUTier, _ types: [DType]) -> [String] {
        guard let lines = try? CPUKernelCheck().run(tier: tier, types: types, everything: false) else {
            return ["\(tier.name) is beyond this CPU"]
        }
        return lines.filter { !$0.passed }.map(\.description)
    }

    /// productTiers' rule, given the CPU's tiers, BREVITY_CPU_FEATURES (`setting`, parsed as `process`) and the
    /// start-up check (`failures`: the failed lines of a tier's products of some types).
    static func chooseProductTiers(supported: CPUTier, detected: CPUTier, setting: String?, process: CPUTier,
                                   failures: (CPUTier, [DType]) -> [String]) -> (tiers: [DType: CPUTier], reason: String) {
        let all = { (t: CPUTier) in Dictionary(uniqueKeysWithValues: DType.allCases.map { ($0, t) }) }
        if let setting, !setting.isEmpty { return (all(process), "BREVITY_CPU_FEATURES=\(setting)") }
        guard supported > detected else { return (all(detected), "the best tier this CPU has") }
        let failed = failures(supported, DType.allCases.filter { $0 != .f32 })
        guard failed.isEmpty else {
            return (all(detected), "\(supported.name) failed its start-up check (\(failed.joined(separator: "; ")))")
        }
        var tiers = all(supported)
        tiers[.f32] = detected
        return (tiers, "\(supported.name) passed its start-up check; float32 on \(detected.name), faster for it")
    }

    /// "float32 avx2, float16 avx512, ...: why", for logs and /health.
    public static var productTiersDescription: String {
        DType.allCases.map { "\($0.userName) \((productTiers.tiers[$0] ?? detected).name)" }.joined(separator: ", ")
            + ": \(productTiers.reason)"
    }

    /// The `cpuFeatures` setting, `BREVITY_CPU_FEATURES` (portable, avx2, avx512), picks the tier, for tests
    /// and comparisons; a tier above what the CPU has is refused (it would fault), as is an unknown name.
    public static func fromSetting(_ value: String?) throws -> CPUTier {
        guard let value, !value.isEmpty else { return detected }
        return try named(value, setting: "BREVITY_CPU_FEATURES=")
    }

    /// The tier called `name` (any case), refused when unknown or above what this CPU supports; errors
    /// begin with `setting` (`BREVITY_CPU_FEATURES=`, `--tier `) and the name.
    public static func named(_ name: String, setting: String) throws -> CPUTier {
        guard let asked = allCases.first(where: { $0.name == name.lowercased() }) else {
            throw TensorError.invalid("\(setting)\(name): expected portable, avx2 or avx512")
        }
        guard asked <= supported else {
            throw TensorError.invalid("\(setting)\(name): this CPU supports \(supported.name) at most")
        }
        return asked
    }
}

public enum TensorError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case let .invalid(m): return m
        }
    }
}

public enum SkinnyGEMM {
    /// Activation-row counts up to this use the kernels for float32 weights; more rows go to BLAS. Other
    /// weight types use the kernels up to `maxRowsWidened` rows, then BLAS over widened blocks. Measured
    /// here (AVX2, two Zen 3 cores, k 1024, 900 MB of weights): the kernel beats sgemm up to 32 rows (95 vs
    /// 82 GFLOP/s at 32), ties at 48 and is ~10% behind at 64 (98 vs 107). Up to 64 rows (the service's
    /// default rows per step) the kernel is kept all the same: a row's result then does not depend on how
    /// many rows share the step, in float32 as in the other types.
    nonisolated(unsafe) public static var maxRows = 64
    nonisolated(unsafe) public static var maxRowsWidened = 64
    /// Smaller float32 weights stay in cache: BLAS is as good there.
    nonisolated(unsafe) public static var minWeights = 1 << 16

    /// y: [m, ldy] columns 0..<n = x: [m, k] · w: [n, k]ᵀ (+ bias: [n]), weights of `dtype` (int8: times
    /// their group scales, [n, groups]).
    static func run(tier: CPUTier, x: UnsafePointer<Float>, m: Int, k: Int, w: UnsafeRawPointer, dtype: DType,
                    scales: UnsafePointer<Float>?, n: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                    threads: Int) {
        // Up to the tier's sweep rows (memory-bound: 4, AVX2 7): one contiguous chunk per thread, whole 4-row
        // blocks, at least 256 rows each, so each thread's weight stream stays sequential. More rows (compute-bound): chunks of 128
        // rows claimed as threads free up, so a core slowed by a neighbour does not hold up the step (two
        // Zen 3 cores, bart-large-cnn's step at 32 rows: ~10% faster than halves), over activations packed
        // once for all chunks.
        let chunks: Int, per: Int
        if m > Int(brv_gemm_sweep_rows(tier.rawValue)) && threads > 1 {
            per = 128
            chunks = (n + per - 1) / per
        } else {
            chunks = max(1, min(threads, n / 256))
            per = ((n + chunks - 1) / chunks + 3) & ~3
        }
        // the packed activations in this thread's scratch (no allocation once the first steps have run); when
        // that cannot grow, each chunk packs its own
        let packed = brv_gemm_pack_size(tier.rawValue, m, k)
        let xpack = packed > 0 ? brv_thread_scratch(Int32(BRV_SCRATCH_PACK), packed * 4)?.assumingMemoryBound(to: Float.self) : nil
        if let xpack { brv_gemm_pack(tier.rawValue, x, m, k, xpack) }
        let xs = UInt(bitPattern: x), ws = UInt(bitPattern: w), ys = UInt(bitPattern: y)
        let ps = xpack.map { UInt(bitPattern: $0) }
        let ss = scales.map { UInt(bitPattern: $0) }, bs = bias.map { UInt(bitPattern: $0) }
        let code = dtype.kernelCode
        let body = { (c: Int) in
            let lo = c * per, hi = min(n, lo + per)
            guard lo < hi else { return }
            brv_gemm(tier.rawValue, code, UnsafePointer(bitPattern: xs), ps.flatMap { UnsafePointer(bitPattern: $0) },
                     m, k, UnsafeRawPointer(bitPattern: ws), ss.flatMap { UnsafePointer(bitPattern: $0) },
                     bs.flatMap { UnsafePointer(bitPattern: $0) }, UnsafeMutablePointer(bitPattern: ys), n, lo, hi)
        }
        Parallel.forEach(chunks, body)
    }
}
