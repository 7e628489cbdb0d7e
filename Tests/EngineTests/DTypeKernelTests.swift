// Weight types and the C kernels (issue 11): every tier this CPU has x every weight type against a Double
// reference over the widened weights, on odd shapes (tails of 1..15 elements, edge blocks of 1..3 rows);
// a row's result independent of the rows sharing its call; conversions and quantization exact to their
// definitions; BREVITY_CPU_FEATURES parsing.

import Foundation
import Tensor
import XCTest

final class DTypeKernelTests: XCTestCase {
    func random(_ n: Int, seed: inout UInt64) -> [Float] {
        (0..<n).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
    }

    /// `values` as a weight of `type` (float32: a fresh copy, since `weight(from:)` would use the array's
    /// memory in place).
    func weight(_ values: [Float], rows: Int, columns: Int, _ type: DType, on b: CPUBackend) -> Tensor {
        if type == .f32 { return Tensor(values, shape: [rows, columns], on: b) }
        let owner = NSObject()
        let s = values.withUnsafeBytes { b.weight(from: $0.baseAddress!, type: .f32, rows: rows, columns: columns, as: type, owner: owner) }
        return Tensor(shape: [rows, columns], storage: s)
    }

    /// y = x · wᵀ + bias in Double over the weights as stored (widened, scaled): the kernels' exact inputs.
    func reference(_ x: [Float], m: Int, k: Int, _ w: [Float], n: Int, _ bias: [Float]) -> (y: [Double], magnitude: [Double]) {
        var y = [Double](repeating: 0, count: m * n), mag = y
        for r in 0..<m { for c in 0..<n {
            var s = Double(bias[c]), a = abs(Double(bias[c]))
            for i in 0..<k { let p = Double(x[r * k + i]) * Double(w[c * k + i]); s += p; a += abs(p) }
            y[r * n + c] = s
            mag[r * n + c] = a
        } }
        return (y, mag)
    }

    func testEveryTierAndWeightTypeMatchesDoubleOnOddShapes() {
        var seed: UInt64 = 11
        let shapes = [(1, 1, 1), (1, 17, 5), (2, 7, 3), (3, 33, 7), (4, 100, 9), (5, 31, 13), (7, 64, 257), (13, 129, 6), (16, 15, 4),
                      (9, 1100, 19), (32, 520, 11)]   // several k-blocks of the many-row path, with a tail
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            let b = CPUBackend(tier: tier)
            for type in DType.allCases {
                for (m, k, n) in shapes {
                    let x = random(m * k, seed: &seed), values = random(n * k, seed: &seed), bias = random(n, seed: &seed)
                    let w = weight(values, rows: n, columns: k, type, on: b)
                    XCTAssertEqual(w.dtype, type)
                    let stored = w.toArray()   // what the kernel multiplies by
                    let (expected, magnitude) = reference(x, m: m, k: k, stored, n: n, bias)
                    let y = Tensor(x, shape: [m, k], on: b).linear(w, bias: Tensor(bias, shape: [n], on: b)).toArray()
                    var worst = 0.0
                    for i in y.indices { worst = max(worst, abs(Double(y[i]) - expected[i]) / (magnitude[i] + 1e-30)) }
                    // float32 accumulation of k products: relative to Σ|terms|, well under k · 2^-24
                    XCTAssertLessThan(worst, 1e-6 * Double(max(k, 8)), "\(tier.name) \(type) m=\(m) k=\(k) n=\(n)")
                }
            }
        }
    }

    /// The decode-shaped path computes each row with the same instructions whatever shares its call, so a
    /// text's logits do not depend on its batch (issue 11, item 5).
    func testRowResultsDoNotDependOnTheBatch() {
        var seed: UInt64 = 12
        // three k-blocks of the many-row path, the last partial, and a 4-element tail; 300 weight rows: three
        // chunks sharing one packing of the activations, the last partial
        let (k, n) = (1100, 300)
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            let b = CPUBackend(tier: tier)
            for type in DType.allCases {
                let w = weight(random(n * k, seed: &seed), rows: n, columns: k, type, on: b)
                let bias = Tensor(random(n, seed: &seed), shape: [n], on: b)
                let rows = type == .f32 ? SkinnyGEMM.maxRows : 16   // float32 past maxRows goes to BLAS
                let x = random(rows * k, seed: &seed)
                let saved = SkinnyGEMM.minWeights
                SkinnyGEMM.minWeights = 0
                defer { SkinnyGEMM.minWeights = saved }
                let together = Tensor(x, shape: [rows, k], on: b).linear(w, bias: bias).toArray()
                for r in 0..<rows {
                    let alone = Tensor(Array(x[r * k..<(r + 1) * k]), shape: [1, k], on: b).linear(w, bias: bias).toArray()
                    XCTAssertEqual(alone, Array(together[r * n..<(r + 1) * n]), "\(tier.name) \(type) row \(r)")
                }
                if type == .f32 { continue }
                // a batch of 4 against the same rows of the batch of 16
                let four = Tensor(Array(x[4 * k..<8 * k]), shape: [4, k], on: b).linear(w, bias: bias).toArray()
                XCTAssertEqual(four, Array(together[4 * n..<8 * n]), "\(tier.name) \(type) rows 4..<8")
            }
        }
    }

    /// Many rows against a narrow weight: widened block by block into BLAS; the same values as the kernel
    /// path within float32 rounding.
    func testManyRowsAgainstNarrowWeightsUseWidenedBLAS() {
        var seed: UInt64 = 13
        let b = CPUBackend.shared
        let (m, k, n) = (SkinnyGEMM.maxRowsWidened + 9, 48, 600)   // 600 rows: three widened blocks, the last partial
        let x = random(m * k, seed: &seed), values = random(n * k, seed: &seed), bias = random(n, seed: &seed)
        for type in [DType.bf16, .f16, .int8] {
            let w = weight(values, rows: n, columns: k, type, on: b)
            let (expected, magnitude) = reference(x, m: m, k: k, w.toArray(), n: n, bias)
            let y = Tensor(x, shape: [m, k], on: b).linear(w, bias: Tensor(bias, shape: [n], on: b)).toArray()
            for i in y.indices {
                XCTAssertLessThan(abs(Double(y[i]) - expected[i]), 1e-5 * (magnitude[i] + 1e-30), "\(type) at \(i)")
            }
        }
    }

    func testConversionsAndQuantizationFollowTheirDefinitions() {
        var seed: UInt64 = 14
        let b = CPUBackend.shared
        let (rows, columns) = (5, 2 * DType.int8Group + 37)   // two whole groups and a partial one
        var values = random(rows * columns, seed: &seed)
        for i in 0..<columns { values[2 * columns + i] = 0 }   // an all-zero row: scale 0, no NaN
        values[7] = 1e-30                                       // far below bf16/f16 resolution
        let bf = weight(values, rows: rows, columns: columns, .bf16, on: b).toArray()
        let h = weight(values, rows: rows, columns: columns, .f16, on: b).toArray()
        XCTAssertEqual(bf, values.map { Float(bitPattern: UInt32(floatToBFloat16($0)) << 16) })
        XCTAssertEqual(h, values.map { halfToFloat(floatToHalf($0)) })
        let q = weight(values, rows: rows, columns: columns, .int8, on: b).toArray()
        let g = DType.int8Group
        XCTAssertLessThan(g, columns, "the test needs rows of several groups")
        for r in 0..<rows {
            for start in stride(from: r * columns, to: (r + 1) * columns, by: g) {
                let group = start..<min(start + g, (r + 1) * columns)
                let scale = (values[group].map(abs).max() ?? 0) / 127
                for i in group {
                    XCTAssertLessThanOrEqual(abs(q[i] - values[i]), scale / 2 * 1.0001, "row \(r) element \(i)")
                }
                if scale == 0 { XCTAssertEqual(Array(q[group]), Array(values[group])) }
                // the group's largest magnitude is exactly ±127 · scale
                let at = group.max { abs(values[$0]) < abs(values[$1]) }!
                XCTAssertEqual(abs(q[at]), 127 * scale, accuracy: abs(values[at]) * 1e-6)
            }
        }
        // a stored type equal to the wanted one is used in place, no copy
        let halves = values.map(floatToBFloat16)
        halves.withUnsafeBytes { raw in
            let s = b.weight(from: raw.baseAddress!, type: .bf16, rows: rows, columns: columns, as: .bf16, owner: NSObject())
            XCTAssertEqual(UnsafeRawPointer(s.pointer), raw.baseAddress)
        }
        // embedding rows from every type equal the widened table's rows (times the scale)
        for type in DType.allCases {
            let table = weight(values, rows: rows, columns: columns, type, on: b)
            let all = table.toArray()
            let e = table.embedding([4, 0, 4], scale: 2).toArray()
            XCTAssertEqual(e, (Array(all[4 * columns..<5 * columns]) + Array(all[0..<columns]) + Array(all[4 * columns..<5 * columns])).map { $0 * 2 },
                           "\(type)")
        }
    }

    func testCPUFeaturesSetting() throws {
        XCTAssertEqual(try CPUTier.fromEnvironment(nil), CPUTier.detected)
        XCTAssertEqual(try CPUTier.fromEnvironment(""), CPUTier.detected)
        XCTAssertEqual(try CPUTier.fromEnvironment("PORTABLE"), .portable)
        XCTAssertThrowsError(try CPUTier.fromEnvironment("sse9")) { XCTAssertTrue("\($0)".contains("portable, avx2 or avx512"), "\($0)") }
        XCTAssertLessThanOrEqual(CPUTier.detected, .avx2, "AVX-512 is opt-in until verified on hardware")
        XCTAssertEqual(try CPUTier.fromEnvironment(CPUTier.supported.name), CPUTier.supported)
        if CPUTier.supported < .avx512 {
            XCTAssertThrowsError(try CPUTier.fromEnvironment("avx512")) { XCTAssertTrue("\($0)".contains("supports"), "\($0)") }
        }
        XCTAssertEqual(DType(userName: "BF16"), .bf16)
        XCTAssertEqual(DType(userName: "float16"), .f16)
        XCTAssertEqual(DType(userName: "int8"), .int8)
        XCTAssertNil(DType(userName: "int4"))
    }
}
