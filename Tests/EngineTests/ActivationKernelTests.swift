// The element-wise kernels (Sources/CKernels/activations.c) on every tier this CPU has, against Double
// references: GELU over its whole range (including the negative tail, where it is tiny) and log-softmax over
// odd lengths with -inf entries; an element's result does not depend on where it sits in the array.

import CKernels
import Foundation
import Tensor
import XCTest

final class ActivationKernelTests: XCTestCase {
    func gelu(_ x: Double) -> Double { 0.5 * x * erfc(-x / 2.0.squareRoot()) }

    func testGeluMatchesDoubleOnEveryTier() {
        var x: [Float] = [0, -0.0, 1e-30, -1e-30, 100, -100, 1e6, -1e6, .infinity, -.infinity]
        var v: Float = -12
        while v < 12 { x.append(v); v += 0.00037 }
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            var y = [Float](repeating: .nan, count: x.count)
            brv_gelu(tier.rawValue, x, &y, x.count)
            var worstRelative = 0.0, worstAbsolute = 0.0
            for (xi, yi) in zip(x, y) where xi.isFinite {
                let ref = gelu(Double(xi)), err = abs(Double(yi) - ref)
                if abs(ref) > 1e-6 { worstRelative = max(worstRelative, err / abs(ref)) }
                worstAbsolute = max(worstAbsolute, err / max(1, abs(Double(xi))))
            }
            // 2e-6 measured (x near -4.9, where z² rounds); libm's 1 + erff form reaches 6.7% relative there
            XCTAssertLessThan(worstRelative, 4e-6, tier.name)
            XCTAssertLessThan(worstAbsolute, 1e-6, tier.name)
            XCTAssertEqual(y[8], .infinity, tier.name)   // GELU(-inf) is -inf · 0: NaN, as in torch
        }
    }

    func testGeluOfAnElementDoesNotDependOnItsPlace() {
        let x: [Float] = (0..<37).map { Float($0) * 0.37 - 7 }
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            var whole = [Float](repeating: 0, count: x.count)
            brv_gelu(tier.rawValue, x, &whole, x.count)
            for n in 1...x.count {   // every length: elements in the vector body and in the padded tail
                var part = [Float](repeating: 0, count: n)
                brv_gelu(tier.rawValue, Array(x[(x.count - n)...]), &part, n)
                XCTAssertEqual(part, Array(whole[(x.count - n)...]), "\(tier.name) n=\(n)")
            }
        }
    }

    /// n scores in [-20, 20), multiples of 0.001, from a linear congruential sequence.
    func scores(_ n: Int, _ seed: inout UInt64) -> [Float] {
        (0..<n).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 40000) / 1000 - 20
        }
    }

    func testLogSoftmaxMatchesDoubleOnEveryTier() {
        var seed: UInt64 = 17
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            for n in [1, 2, 7, 8, 9, 15, 1000, 50265] {
                var x = scores(n, &seed)
                if n > 2 { x[1] = -.infinity; x[n - 1] = -.infinity }
                var out = [Float](repeating: .nan, count: n)
                brv_log_softmax(tier.rawValue, x, &out, n)
                let m = Double(x.max()!)
                let lse = m + log(x.reduce(0.0) { $0 + exp(Double($1) - m) })
                for i in 0..<n {
                    if x[i] == -.infinity { XCTAssertEqual(out[i], -.infinity); continue }
                    XCTAssertEqual(Double(out[i]), Double(x[i]) - lse, accuracy: 4e-6, "\(tier.name) n=\(n) i=\(i)")
                }
                // what the generation loop calls: the same values
                var row = [Float](repeating: 0, count: n)
                x.withUnsafeBufferPointer { xs in
                    row.withUnsafeMutableBufferPointer { logSoftmaxRow(xs.baseAddress!, into: $0.baseAddress!, count: n, tier: tier) }
                }
                XCTAssertEqual(row, out, "\(tier.name) n=\(n)")
            }
        }
    }

    /// The attention rows' softmax (prefill and encoder spans) against Double, with masked (-inf) scores, and
    /// on AVX2 and up equal bit for bit to the decode kernel's: one query over keys whose scores are the row
    /// (d = 8, the query a unit vector, scale 1), whose probabilities brv_attend_row leaves in its scratch.
    func testSoftmaxMatchesDoubleAndTheDecodeKernelOnEveryTier() {
        var seed: UInt64 = 29
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            for n in [1, 2, 7, 8, 9, 15, 64, 701] {
                var x = scores(n, &seed)
                if n > 2 { x[1] = -.infinity }
                var p = x
                brv_softmax(tier.rawValue, &p, n)
                let m = Double(x.max()!)
                let total = x.reduce(0.0) { $0 + exp(Double($1) - m) }
                for i in 0..<n {
                    XCTAssertEqual(Double(p[i]), exp(Double(x[i]) - m) / total, accuracy: 1e-6 * max(1, Double(p[i])),
                                   "\(tier.name) n=\(n) i=\(i)")
                }
                // the portable decode kernel scales each value by p·(1/sum) as it goes, leaving exps in scratch
                guard tier >= .avx2, !x.contains(-.infinity) else { continue }
                // key j = (x[j], 0, ..., 0) and q = (1, 0, ..., 0): score j is x[j] exactly
                let d = 8
                var k = [Float](repeating: 0, count: n * d)
                for j in 0..<n { k[j * d] = x[j] }
                var q = [Float](repeating: 0, count: d)
                q[0] = 1
                var out = [Float](repeating: 0, count: d), scratch = [Float](repeating: .nan, count: n)
                brv_attend_row(tier.rawValue, q, k, k, d, n, d, 0, 1, 1, nil, 0, 0, n - 1, &out, &scratch)
                XCTAssertEqual(scratch.map(\.bitPattern), p.map(\.bitPattern), "\(tier.name) n=\(n)")
            }
        }
    }
}
