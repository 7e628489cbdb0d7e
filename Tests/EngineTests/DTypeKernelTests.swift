// Weight types and the C kernels: every tier this CPU has x every weight type through
// CPUKernelCheck (against a Double reference over the widened weights on odd shapes, a row's result
// independent of the rows sharing its call) and that check's own failure; many rows against narrow weights;
// conversions and quantization exact to their definitions; BREVITY_CPU_FEATURES parsing.

import Foundation
@testable import Tensor
import XCTest

final class DTypeKernelTests: XCTestCase {
    func random(_ n: Int, seed: inout UInt64) -> [Float] {
        (0..<n).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
    }

    /// `values` as a weight of `type` (float32: a copy of its own), as the kernel check makes them.
    func weight(_ values: [Float], rows: Int, columns: Int, _ type: DType, on b: CPUBackend) -> Tensor {
        CPUKernelCheck.weight(values, rows: rows, columns: columns, type, on: b)
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

    /// The kernels' products against Double on odd shapes and a row's result alone and batched, for every
    /// weight type and every tier this CPU has (Sources/Tensor/CPUKernelCheck.swift, also `brevity cpu-check`).
    func testKernelCheckPassesOnEveryTierThisCPUHas() throws {
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            let lines = try CPUKernelCheck().run(tier: tier)
            // two lines a type, two more a type for the many-row products where oneDNN serves them, and the ops
            let library = CPUBackend(tier: tier).matrixLibrary != nil
            XCTAssertEqual(lines.count, (library ? 4 : 2) * DType.allCases.count + 1, tier.name)
            for line in lines { XCTAssertTrue(line.passed, "\(line)") }
        }
        if CPUTier.supported < .avx512 {
            XCTAssertThrowsError(try CPUKernelCheck().run(tier: .avx512)) { XCTAssertTrue("\($0)".contains("supports"), "\($0)") }
        }
    }

    /// The decode products' tier per weight type: float32 on the default tier, the narrower types on the
    /// CPU's best once their start-up check passes, all on the default when it fails, one tier for all when
    /// BREVITY_CPU_FEATURES sets it. Faked CPUs and checks; this CPU's own choice printed.
    func testProductTiersPerWeightType() {
        var asked: [DType] = []
        let passed = CPUTier.chooseProductTiers(supported: .avx512, detected: .avx2, setting: nil, process: .avx2) { tier, types in
            XCTAssertEqual(tier, .avx512)
            asked = types
            return []
        }
        XCTAssertEqual(asked, [.f16, .bf16, .int8])
        XCTAssertEqual(passed.tiers, [.f32: .avx2, .f16: .avx512, .bf16: .avx512, .int8: .avx512])
        XCTAssertTrue(passed.reason.contains("avx512 passed its start-up check"), passed.reason)
        let failed = CPUTier.chooseProductTiers(supported: .avx512, detected: .avx2, setting: nil, process: .avx2) { _, _ in
            ["avx512 int8 products: ... FAILED"]
        }
        XCTAssertEqual(Set(failed.tiers.values), [.avx2])
        XCTAssertTrue(failed.reason.contains("avx512 failed its start-up check (avx512 int8 products"), failed.reason)
        let set = CPUTier.chooseProductTiers(supported: .avx512, detected: .avx2, setting: "portable", process: .portable) { _, _ in
            XCTFail("no check when the setting decides")
            return []
        }
        XCTAssertEqual(Set(set.tiers.values), [.portable])
        let avx2 = CPUTier.chooseProductTiers(supported: .avx2, detected: .avx2, setting: nil, process: .avx2) { _, _ in
            XCTFail("nothing above the default to check")
            return []
        }
        XCTAssertEqual(Set(avx2.tiers.values), [.avx2])
        XCTAssertEqual(CPUBackend(tier: .portable).productTiers[.int8], .portable, "an explicit tier for every type")
        // the real start-up check, as an AVX-512 CPU runs it for its best tier: this CPU's best passes, two lines a type
        XCTAssertEqual(CPUTier.startUpFailures(CPUTier.supported, [.f16, .bf16, .int8]), [])
        XCTAssertEqual(try CPUKernelCheck().run(tier: CPUTier.supported, types: [.bf16, .int8], everything: false).count, 4)
        if CPUTier.supported < .avx512 {
            XCTAssertEqual(CPUTier.startUpFailures(.avx512, [.int8]), ["avx512 is beyond this CPU"])
        }
        print("this CPU: \(CPUTier.productTiersDescription)")
    }

    /// The check fails a product that is off in one output: that output's error, and the rows that differ
    /// between a call alone and the batch (only the batch's last row carries the error there).
    func testKernelCheckCatchesAWrongProduct() throws {
        let check = CPUKernelCheck { backend, x, w, bias in
            var y = x.linear(w, bias: bias).toArray()
            y[y.count - 1] += 0.01
            return Tensor(y, shape: [x.rows, w.shape[0]], on: backend)
        }
        let lines = try check.run(tier: .portable)
        for type in DType.allCases {
            let products = lines.first { $0.check == "\(type.userName) products" }
            XCTAssertEqual(products?.passed, false, "\(type)")
            let rows = lines.first { $0.check == "\(type.userName) rows alone and batched" }
            XCTAssertEqual(rows?.error, 15, "\(type)")
        }
        XCTAssertEqual(lines.last?.check, "ops")
        XCTAssertEqual(lines.last?.passed, true, "the other ops do not go through the substituted product")
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
        XCTAssertEqual(try CPUTier.fromSetting(nil), CPUTier.detected)
        XCTAssertEqual(try CPUTier.fromSetting(""), CPUTier.detected)
        XCTAssertEqual(try CPUTier.fromSetting("PORTABLE"), .portable)
        XCTAssertThrowsError(try CPUTier.fromSetting("sse9")) { XCTAssertTrue("\($0)".contains("portable, avx2 or avx512"), "\($0)") }
        XCTAssertLessThanOrEqual(CPUTier.detected, .avx2, "AVX-512 is opt-in until verified on hardware")
        XCTAssertEqual(try CPUTier.fromSetting(CPUTier.supported.name), CPUTier.supported)
        if CPUTier.supported < .avx512 {
            XCTAssertThrowsError(try CPUTier.fromSetting("avx512")) { XCTAssertTrue("\($0)".contains("supports"), "\($0)") }
        }
        XCTAssertEqual(DType(userName: "BF16"), .bf16)
        XCTAssertEqual(DType(userName: "float16"), .f16)
        XCTAssertEqual(DType(userName: "int8"), .int8)
        XCTAssertNil(DType(userName: "int4"))
    }
}
