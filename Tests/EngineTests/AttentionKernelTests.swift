// The decode-step attention kernel (Sources/CKernels/attention.c) on every tier this CPU has, against a Double
// reference on odd shapes, with and without a relative position bias, over ranges of heads, and through the
// backend against the many-query path (BLAS) that a prefill takes.

import CKernels
import Tensor
import XCTest

final class AttentionKernelTests: XCTestCase {
    func reference(q: [Float], k: [Float], v: [Float], ld: Int, nk: Int, d: Int, scale: Float, bias: [Float]?,
                   radius: Int, position: Int) -> [Double] {
        var s = (0..<nk).map { j -> Double in
            var dot = 0.0
            for i in 0..<d { dot += Double(q[i]) * Double(k[j * ld + i]) }
            var x = dot * Double(scale)
            if let bias { x += Double(bias[radius + min(max(j - position, -radius), radius)]) }
            return x
        }
        let m = s.max()!
        s = s.map { exp($0 - m) }
        let total = s.reduce(0, +)
        return (0..<d).map { i in (0..<nk).reduce(0.0) { $0 + s[$1] / total * Double(v[$1 * ld + i]) } }
    }

    func testOneQueryRowMatchesDoubleOnEveryTier() {
        var g = SystemRandomNumberGenerator()
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            for d in [8, 12, 64, 72, 128] {
                for nk in [1, 5, 8, 9, 60, 257] {
                    for withBias in [false, true] {
                        let ld = d * 3 + 5   // rows of a wider cache (other heads beside this one)
                        let q = (0..<d).map { _ in Float.random(in: -1...1, using: &g) }
                        let k = (0..<nk * ld).map { _ in Float.random(in: -1...1, using: &g) }
                        let v = (0..<nk * ld).map { _ in Float.random(in: -2...2, using: &g) }
                        let radius = 7, position = nk - 1
                        let bias = withBias ? (0...(2 * radius)).map { _ in Float.random(in: -3...3, using: &g) } : nil
                        let scale = 1 / Float(d).squareRoot() * 4   // peaked softmax rows
                        var out = [Float](repeating: .nan, count: d), scratch = [Float](repeating: 0, count: nk)
                        if let bias {
                            bias.withUnsafeBufferPointer { b in
                                brv_attend_row(tier.rawValue, q, k, v, ld, nk, d, 0, 1, scale, b.baseAddress!, 0, radius,
                                               position, &out, &scratch)
                            }
                        } else {
                            brv_attend_row(tier.rawValue, q, k, v, ld, nk, d, 0, 1, scale, nil, 0, radius, position, &out, &scratch)
                        }
                        let expected = reference(q: q, k: k, v: v, ld: ld, nk: nk, d: d, scale: scale, bias: bias,
                                                 radius: radius, position: position)
                        let worst = zip(out, expected).map { abs(Double($0) - $1) }.max()!
                        XCTAssertLessThan(worst, 2e-6, "\(tier.name) d=\(d) nk=\(nk) bias=\(withBias)")
                    }
                }
            }
        }
    }

    /// Query rows over the same keys in one call (a text's beams in cross-attention), scattered among other rows:
    /// each row's result is bit for bit the one brv_attend_row gives it alone, and the other rows are untouched.
    func testRowsSharingKeysGiveEachRowItsResultAlone() {
        var g = SystemRandomNumberGenerator()
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            for (d, nk) in [(8, 1), (24, 13), (64, 37), (20, 9)] {
                let heads = 3, width = heads * d, ld = width + 5, radius = 4, stride = 2 * radius + 1
                let q = (0..<7 * width).map { _ in Float.random(in: -1...1, using: &g) }
                let k = (0..<nk * ld).map { _ in Float.random(in: -1...1, using: &g) }
                let v = (0..<nk * ld).map { _ in Float.random(in: -1...1, using: &g) }
                let table = (0..<heads * stride).map { _ in Float.random(in: -2...2, using: &g) }
                let rows = [5, 0, 3, 6]
                for bias in [nil, table] {
                    var together = [Float](repeating: .nan, count: 7 * width)
                    var scratch = [Float](repeating: 0, count: rows.count * heads * nk)
                    brv_attend_rows(tier.rawValue, rows.count, rows, width, q, k, v, ld, nk, d, 0, heads, 0.3, bias, stride, radius,
                                    nk - 1, &together, &scratch)
                    for r in 0..<7 {
                        let got = Array(together[r * width..<(r + 1) * width])
                        guard rows.contains(r) else { XCTAssertTrue(got.allSatisfy(\.isNaN), "row \(r) untouched"); continue }
                        var alone = [Float](repeating: .nan, count: width)
                        brv_attend_row(tier.rawValue, Array(q[r * width..<(r + 1) * width]), k, v, ld, nk, d, 0, heads, 0.3, bias,
                                       stride, radius, nk - 1, &alone, &scratch)
                        XCTAssertEqual(got.map(\.bitPattern), alone.map(\.bitPattern), "\(tier.name) d=\(d) nk=\(nk) row \(r) bias=\(bias != nil)")
                    }
                }
            }
        }
    }

    /// Several heads in one call, each as the Double reference of its own columns and bias row, and a head's
    /// result the same bit for bit whatever range of heads shares the call.
    func testHeadRangesGiveEachHeadItsOwnResult() {
        var g = SystemRandomNumberGenerator()
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            for d in [8, 24, 20] {
                let heads = 5, width = heads * d, ld = width + 3, nk = 13, radius = 4, stride = 2 * radius + 1
                let q = (0..<width).map { _ in Float.random(in: -1...1, using: &g) }
                let k = (0..<nk * ld).map { _ in Float.random(in: -1...1, using: &g) }
                let v = (0..<nk * ld).map { _ in Float.random(in: -1...1, using: &g) }
                let table = (0..<heads * stride).map { _ in Float.random(in: -2...2, using: &g) }
                var all = [Float](repeating: .nan, count: width), part = [Float](repeating: .nan, count: width)
                var scratch = [Float](repeating: 0, count: heads * nk)
                brv_attend_row(tier.rawValue, q, k, v, ld, nk, d, 0, heads, 0.3, table, stride, radius, nk - 1, &all, &scratch)
                brv_attend_row(tier.rawValue, q, k, v, ld, nk, d, 2, 4, 0.3, table, stride, radius, nk - 1, &part, &scratch)
                XCTAssertEqual(Array(part[2 * d..<4 * d]).map(\.bitPattern), Array(all[2 * d..<4 * d]).map(\.bitPattern), "\(tier.name) d=\(d)")
                XCTAssertTrue(part[..<(2 * d)].allSatisfy(\.isNaN) && part[(4 * d)...].allSatisfy(\.isNaN), "other heads untouched")
                for h in 0..<heads {
                    // head h alone: its columns of q, k and v, its bias row
                    func columns(_ m: [Float]) -> [Float] {
                        var out: [Float] = []
                        for j in 0..<nk {
                            let start: Int = j * ld + h * d
                            out += m[start..<start + d]
                        }
                        return out
                    }
                    let kh = columns(k), vh = columns(v)
                    let expected = reference(q: Array(q[(h * d)..<(h * d + d)]), k: kh, v: vh, ld: d, nk: nk, d: d, scale: 0.3,
                                             bias: Array(table[(h * stride)..<(h * stride + stride)]), radius: radius,
                                             position: nk - 1)
                    for i in 0..<d { XCTAssertEqual(Double(all[h * d + i]), expected[i], accuracy: 2e-6, "\(tier.name) d=\(d) head \(h)") }
                }
            }
        }
    }

    /// A decode row's attention (one query: this kernel) equals the last row of the same keys' causal
    /// many-query attention (BLAS, softmax rows), to float rounding.
    func testOneQueryEqualsTheLastRowOfAManyQuerySpan() {
        var g = SystemRandomNumberGenerator()
        let backend = CPUBackend.shared
        let heads = 4, d = 16, width = heads * d, n = 11
        let x = Tensor((0..<n * width).map { _ in Float.random(in: -1...1, using: &g) }, shape: [n, width], on: backend)
        let kv = Tensor((0..<n * width).map { _ in Float.random(in: -1...1, using: &g) }, shape: [n, width], on: backend)
        let vv = Tensor((0..<n * width).map { _ in Float.random(in: -1...1, using: &g) }, shape: [n, width], on: backend)
        let many = backend.attention(query: x, keys: [kv], values: [vv],
                                     spans: [AttentionSpan(queryStart: 0, queryCount: n, keyIndex: 0, keyCount: n, causal: true)],
                                     heads: heads, scale: 0.25, bias: nil).toArray()
        let last = x.rowSlice(n - 1, 1)
        let one = backend.attention(query: last, keys: [kv], values: [vv],
                                    spans: [AttentionSpan(queryStart: 0, queryCount: 1, keyIndex: 0, keyCount: n, causal: true)],
                                    heads: heads, scale: 0.25, bias: nil).toArray()
        for i in 0..<width { XCTAssertEqual(one[i], many[(n - 1) * width + i], accuracy: 1e-6, "column \(i)") }
    }
}
