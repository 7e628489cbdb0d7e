// CPU backend ops against plain reference loops (Double accumulation).

import CKernels
import Foundation
import Tensor
import XCTest

final class TensorTests: XCTestCase {
    let b = CPUBackend.shared

    func random(_ n: Int, seed: inout UInt64) -> [Float] {
        (0..<n).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
    }

    func naiveLinear(_ x: [Float], m: Int, k: Int, _ w: [Float], n: Int, _ bias: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for r in 0..<m { for c in 0..<n {
            var s: Double = Double(bias[c])
            for i in 0..<k { s += Double(x[r * k + i]) * Double(w[c * k + i]) }
            y[r * n + c] = Float(s)
        } }
        return y
    }

    func testLinearBLASAndSkinnyKernelAgree() {
        var seed: UInt64 = 1
        let saved = SkinnyGEMM.minWeights
        defer { SkinnyGEMM.minWeights = saved; CPUBackend.skinnyEnabled = true }
        SkinnyGEMM.minWeights = 0
        for (m, n, k) in [(1, 37, 19), (2, 64, 64), (3, 129, 70), (4, 300, 128), (4, 5, 8), (5, 33, 40), (17, 40, 24)] {
            let x = random(m * k, seed: &seed), w = random(n * k, seed: &seed), bias = random(n, seed: &seed)
            let expected = naiveLinear(x, m: m, k: k, w, n: n, bias)
            for skinny in [false, true] {
                CPUBackend.skinnyEnabled = skinny
                let y = Tensor(x, shape: [m, k], on: b).linear(Tensor(w, shape: [n, k], on: b), bias: Tensor(bias, shape: [n], on: b))
                XCTAssertEqual(y.shape, [m, n])
                assertClose(y.toArray(), expected, tolerance: 1e-4, "linear m=\(m) n=\(n) k=\(k) skinny=\(skinny)")
            }
        }
    }

    func testLayerNormGeluLogSoftmax() {
        var seed: UInt64 = 2
        let (n, c) = (3, 10)
        let x = random(n * c, seed: &seed).map { $0 * 3 }, w = random(c, seed: &seed), bias = random(c, seed: &seed)
        let y = Tensor(x, shape: [n, c], on: b).layerNorm(weight: Tensor(w, shape: [c], on: b), bias: Tensor(bias, shape: [c], on: b), eps: 1e-5).toArray()
        var expected: [Float] = []
        for r in 0..<n {
            let row = x[r * c..<(r + 1) * c].map(Double.init)
            let mean = row.reduce(0, +) / Double(c)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            expected += (0..<c).map { Float((row[$0] - mean) / (v + 1e-5).squareRoot() * Double(w[$0]) + Double(bias[$0])) }
        }
        assertClose(y, expected, tolerance: 1e-5, "layerNorm")
        let g = Tensor([-3, -1, 0, 0.5, 2], shape: [5], on: b).activation(.gelu).toArray()
        // torch.nn.functional.gelu (exact erf)
        assertClose(g, [-0.0040496, -0.15865526, 0, 0.34573123, 1.9544997], tolerance: 1e-6, "gelu")
        let ls = Tensor([1, 2, 3, -.infinity], shape: [1, 4], on: b).logSoftmax().toArray()
        assertClose(ls, [-2.4076059, -1.4076059, -0.4076059, -.infinity], tolerance: 1e-6, "logSoftmax")
    }

    func testAttentionSpansMatchNaive() {
        var seed: UInt64 = 3
        let heads = 2, d = 4, width = heads * d
        // two sequences: 3 causal queries over 5 keys, and 1 query over 2 keys
        let q = random(4 * width, seed: &seed), k1 = random(5 * width, seed: &seed), v1 = random(5 * width, seed: &seed)
        let k2 = random(2 * width, seed: &seed), v2 = random(2 * width, seed: &seed)
        let spans = [AttentionSpan(queryStart: 0, queryCount: 3, keyIndex: 0, keyCount: 5, causal: true),
                     AttentionSpan(queryStart: 3, queryCount: 1, keyIndex: 1, keyCount: 2, causal: false)]
        let out = b.attention(query: Tensor(q, shape: [4, width], on: b),
                              keys: [Tensor(k1, shape: [5, width], on: b), Tensor(k2, shape: [2, width], on: b)],
                              values: [Tensor(v1, shape: [5, width], on: b), Tensor(v2, shape: [2, width], on: b)],
                              spans: spans, heads: heads, scale: 0.5).toArray()
        var expected = [Float](repeating: 0, count: 4 * width)
        for (qi, keys, values, visible) in [(0, k1, v1, 3), (1, k1, v1, 4), (2, k1, v1, 5), (3, k2, v2, 2)] {
            for h in 0..<heads {
                var s = (0..<visible).map { j in (0..<d).reduce(0.0) { $0 + Double(q[qi * width + h * d + $1]) * Double(keys[j * width + h * d + $1]) } * 0.5 }
                let mx = s.max()!
                s = s.map { exp($0 - mx) }
                let z = s.reduce(0, +)
                for e in 0..<d {
                    expected[qi * width + h * d + e] = Float((0..<visible).reduce(0.0) { $0 + s[$1] / z * Double(values[$1 * width + h * d + e]) })
                }
            }
        }
        assertClose(out, expected, tolerance: 1e-5, "attention")
    }

    /// Both attention paths: many small spans (one head per core) and large ones (BLAS scores, softmax rows
    /// split over the cores), causal and not, with key offsets; against Double loops.
    func testAttentionSmallAndLargeSpansMatchNaive() { checkAttentionPaths(radius: nil) }

    /// The same with T5's relative position bias (radius 20: the long spans clamp most distances).
    func testAttentionWithRelativeBiasMatchesNaive() { checkAttentionPaths(radius: 20) }

    func checkAttentionPaths(radius: Int?) {
        var seed: UInt64 = 11
        let heads = 4, d = 32, width = heads * d
        // (queries, keys, key offset, causal): 40 short sentences, then two long inputs and a causal prompt
        var shapes: [(Int, Int, Int, Bool)] = (0..<40).map { (5 + $0 % 13, 5 + $0 % 13, 0, false) }
        shapes += [(200, 200, 0, false), (1, 180, 3, false), (90, 120, 7, true), (150, 150, 0, true)]
        let totalQ = shapes.reduce(0) { $0 + $1.0 }
        let q = random(totalQ * width, seed: &seed)
        var keys: [[Float]] = [], values: [[Float]] = [], spans: [AttentionSpan] = []
        var start = 0
        for (i, (nq, nk, off, causal)) in shapes.enumerated() {
            keys.append(random((nk + off) * width, seed: &seed))
            values.append(random((nk + off) * width, seed: &seed))
            spans.append(AttentionSpan(queryStart: start, queryCount: nq, keyIndex: i, keyStart: off, keyCount: nk, causal: causal))
            start += nq
        }
        let table = radius.map { random(heads * (2 * $0 + 1), seed: &seed).map { $0 * 3 } }
        let bias = radius.map { RelativePositionBias(table: Tensor(table!, shape: [heads, 2 * $0 + 1], on: b), radius: $0) }
        func biasAt(_ h: Int, _ distance: Int) -> Double {
            guard let r = radius, let table else { return 0 }
            return Double(table[h * (2 * r + 1) + r + min(max(distance, -r), r)])
        }
        let out = b.attention(query: Tensor(q, shape: [totalQ, width], on: b),
                              keys: zip(keys, shapes).map { Tensor($0, shape: [$1.1 + $1.2, width], on: b) },
                              values: zip(values, shapes).map { Tensor($0, shape: [$1.1 + $1.2, width], on: b) },
                              spans: spans, heads: heads, scale: 0.25, bias: bias).toArray()
        var expected = [Float](repeating: 0, count: totalQ * width)
        for span in spans {
            let kk = keys[span.keyIndex], vv = values[span.keyIndex]
            for j in 0..<span.queryCount {
                let qi = span.queryStart + j
                let visible = span.causal ? span.keyCount - span.queryCount + j + 1 : span.keyCount
                for h in 0..<heads {
                    let position = span.keyCount - span.queryCount + j
                    var s = (0..<visible).map { t in
                        (0..<d).reduce(0.0) { $0 + Double(q[qi * width + h * d + $1]) * Double(kk[(span.keyStart + t) * width + h * d + $1]) } * 0.25
                            + biasAt(h, t - position)
                    }
                    let mx = s.max()!
                    s = s.map { exp($0 - mx) }
                    let z = s.reduce(0, +)
                    for e in 0..<d {
                        expected[qi * width + h * d + e] = Float((0..<visible).reduce(0.0) { $0 + s[$1] / z * Double(vv[(span.keyStart + $1) * width + h * d + e]) })
                    }
                }
            }
        }
        assertClose(out, expected, tolerance: 1e-5, "attention")
        // the same call again gives the same bits (the split over cores does not change the arithmetic)
        let again = b.attention(query: Tensor(q, shape: [totalQ, width], on: b),
                                keys: zip(keys, shapes).map { Tensor($0, shape: [$1.1 + $1.2, width], on: b) },
                                values: zip(values, shapes).map { Tensor($0, shape: [$1.1 + $1.2, width], on: b) },
                                spans: spans, heads: heads, scale: 0.25, bias: bias).toArray()
        XCTAssertEqual(again, out)
    }

    func testRMSNormAndMultiplyMatchLoops() {
        var seed: UInt64 = 9
        let x = random(5 * 37, seed: &seed).map { $0 * 4 }, w = random(37, seed: &seed), y = random(5 * 37, seed: &seed)
        let normed = Tensor(x, shape: [5, 37], on: b).rmsNorm(weight: Tensor(w, shape: [37], on: b), eps: 1e-6).toArray()
        var expected: [Float] = []
        for r in 0..<5 {
            let row = x[r * 37..<(r + 1) * 37].map(Double.init)
            let rstd = 1 / (row.reduce(0) { $0 + $1 * $1 } / 37 + 1e-6).squareRoot()
            expected += row.enumerated().map { Float(Double(w[$0]) * $1 * rstd) }
        }
        assertClose(normed, expected, tolerance: 1e-5, "rmsNorm")
        let product = (Tensor(x, shape: [5, 37], on: b) * Tensor(y, shape: [5, 37], on: b)).toArray()
        XCTAssertEqual(product, zip(x, y).map { $0 * $1 })
    }

    func testParallelGeluEqualsOneSerialCall() {
        var seed: UInt64 = 5
        let x = random(300_003, seed: &seed).map { $0 * 6 }
        let y = Tensor(x, shape: [300_003], on: b).activation(.gelu).toArray()
        var serial = [Float](repeating: 0, count: x.count)
        brv_gelu(b.tier.rawValue, x, &serial, x.count)
        XCTAssertEqual(y, serial)
    }
}
