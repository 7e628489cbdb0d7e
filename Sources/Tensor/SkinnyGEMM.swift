// Decode-shaped products: a few activation rows against a large [N, K] weight. OpenBLAS's sgemm streams
// such weights at a third of the memory bandwidth (GUIDE §4); this kernel reads each weight row once for
// all activation rows (4 weight rows x 4 activation rows per inner step, 8-wide SIMD), split over the
// cores by output columns.

import Dispatch

public enum SkinnyGEMM {
    /// Activation-row counts up to this use the kernel; more rows are arithmetic-bound: BLAS.
    static let maxRows = 4
    /// Smaller weights stay in cache: BLAS is as good there.
    nonisolated(unsafe) public static var minWeights = 1 << 16

    /// y: [m, n] = x: [m, k] · w: [n, k]ᵀ (+ bias: [n])
    static func run(x: UnsafePointer<Float>, m: Int, k: Int, w: UnsafePointer<Float>, n: Int,
                    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, threads: Int) {
        let chunks = max(1, min(threads, n / 256))
        let per = (n + chunks - 1) / chunks
        let xs = UInt(bitPattern: x), ws = UInt(bitPattern: w), ys = UInt(bitPattern: y)
        let bs = bias.map { UInt(bitPattern: $0) }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = min(n, lo + per)
            guard lo < hi else { return }
            block(x: UnsafePointer(bitPattern: xs)!, m: m, k: k, w: UnsafePointer(bitPattern: ws)!,
                  bias: bs.map { UnsafePointer(bitPattern: $0)! }, y: UnsafeMutablePointer(bitPattern: ys)!,
                  ldy: n, columns: lo..<hi)
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    static func block(x: UnsafePointer<Float>, m: Int, k: Int, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                      y: UnsafeMutablePointer<Float>, ldy: Int, columns: Range<Int>) {
        let k8 = k & ~7
        var j = columns.lowerBound
        while j < columns.upperBound {
            let nw = min(4, columns.upperBound - j)   // weight rows in this block
            var r = 0
            while r < m {
                let nx = min(4, m - r)                // activation rows in this group
                var acc = [SIMD8<Float>](repeating: .zero, count: 16)
                acc.withUnsafeMutableBufferPointer { a in
                    if nw == 4 && nx == 4 {
                        kernel4x4(x: x + r * k, k: k, k8: k8, w: w + j * k, acc: a.baseAddress!)
                    } else {
                        for wi in 0..<nw {
                            for xi in 0..<nx {
                                let wp = w + (j + wi) * k, xp = x + (r + xi) * k
                                var s = SIMD8<Float>.zero
                                var i = 0
                                while i < k8 { s += load(wp + i) * load(xp + i); i += 8 }
                                a[wi * 4 + xi] = s
                            }
                        }
                    }
                    for wi in 0..<nw {
                        for xi in 0..<nx {
                            var s = a[wi * 4 + xi].sum()
                            let wp = w + (j + wi) * k, xp = x + (r + xi) * k
                            for i in k8..<k { s += wp[i] * xp[i] }
                            y[(r + xi) * ldy + j + wi] = s + (bias?[j + wi] ?? 0)
                        }
                    }
                }
                r += 4
            }
            j += 4
        }
    }

    /// 4 weight rows x 4 activation rows, 16 accumulators of 8 floats.
    @inline(__always)
    static func kernel4x4(x: UnsafePointer<Float>, k: Int, k8: Int, w: UnsafePointer<Float>,
                          acc: UnsafeMutablePointer<SIMD8<Float>>) {
        var a00 = SIMD8<Float>.zero, a01 = a00, a02 = a00, a03 = a00
        var a10 = a00, a11 = a00, a12 = a00, a13 = a00
        var a20 = a00, a21 = a00, a22 = a00, a23 = a00
        var a30 = a00, a31 = a00, a32 = a00, a33 = a00
        let w0 = w, w1 = w + k, w2 = w + 2 * k, w3 = w + 3 * k
        let x0 = x, x1 = x + k, x2 = x + 2 * k, x3 = x + 3 * k
        var i = 0
        while i < k8 {
            let v0 = load(x0 + i), v1 = load(x1 + i), v2 = load(x2 + i), v3 = load(x3 + i)
            var q = load(w0 + i)
            a00 += q * v0; a01 += q * v1; a02 += q * v2; a03 += q * v3
            q = load(w1 + i)
            a10 += q * v0; a11 += q * v1; a12 += q * v2; a13 += q * v3
            q = load(w2 + i)
            a20 += q * v0; a21 += q * v1; a22 += q * v2; a23 += q * v3
            q = load(w3 + i)
            a30 += q * v0; a31 += q * v1; a32 += q * v2; a33 += q * v3
            i += 8
        }
        acc[0] = a00; acc[1] = a01; acc[2] = a02; acc[3] = a03
        acc[4] = a10; acc[5] = a11; acc[6] = a12; acc[7] = a13
        acc[8] = a20; acc[9] = a21; acc[10] = a22; acc[11] = a23
        acc[12] = a30; acc[13] = a31; acc[14] = a32; acc[15] = a33
    }
}
