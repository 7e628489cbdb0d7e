// A host emulator behind `CUDAQueue`, for testing `CUDABackend` without a GPU: "device" addresses are
// host allocations, copies are memcpy, cuBLAS's GEMM is a column-major loop, and each kernel of
// CUDAKernelSource.swift is re-stated in Swift from its CUDA C (element loads widened to float, stores
// rounded to the type, float accumulation). Every launch is checked against the kernel's parameters as
// declared in the CUDA source. What this cannot test is the CUDA C itself: NVRTC compiles it
// (CUDAKernelTests) and the GPU check runs it.

import Foundation
import Tensor

final class CUDAEmulator: CUDAQueue, @unchecked Sendable {
    let deviceName = "emulated GPU"
    let kernelImage = "host emulation"
    let lock = NSRecursiveLock()
    let pool: DeviceMemoryPool
    private(set) var launches: [String: Int] = [:]
    private(set) var synchronizations = 0

    init() {
        pool = DeviceMemoryPool(allocate: { bytes in
            UInt64(UInt(bitPattern: UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 256)))
        }, release: { UnsafeMutableRawPointer(bitPattern: UInt($0))!.deallocate() })
    }

    func enter() {}
    func take(_ bytes: Int) -> DeviceMemoryPool.Block { try! pool.take(max(bytes, 1)) }
    func upload(_ source: UnsafeRawPointer, bytes: Int, to address: UInt64, keep: AnyObject) {
        raw(address).copyMemory(from: source, byteCount: bytes)
    }
    func copy(from source: UInt64, to destination: UInt64, bytes: Int) {
        raw(destination).copyMemory(from: raw(source), byteCount: bytes)
    }
    func zero(_ address: UInt64, bytes: Int) { raw(address).initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
    func download(_ address: UInt64, bytes: Int, into destination: UnsafeMutableRawPointer) {
        destination.copyMemory(from: raw(address), byteCount: bytes)
        synchronize()
    }
    func synchronize() { synchronizations += 1 }

    private func raw(_ a: UInt64) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(a))! }

    /// Element i of type t at address a, as float.
    private func load(_ a: UInt64, _ i: Int, _ t: DType) -> Float {
        var v: Float = 0
        t.widen(raw(a) + i * t.byteSize, count: 1, into: &v)
        return v
    }
    private func store(_ a: UInt64, _ i: Int, _ t: DType, _ v: Float) {
        var x = v
        t.narrow(&x, count: 1, into: raw(a) + i * t.byteSize)
    }
    private func int32(_ a: UInt64, _ i: Int) -> Int { Int(raw(a).load(fromByteOffset: 4 * i, as: Int32.self)) }

    func gemm(_ plan: GemmPlan, w: UInt64, x: UInt64, y: UInt64, type: DType) {
        for j in 0..<plan.n {
            for i in 0..<plan.m {
                var s: Float = 0
                for l in 0..<plan.k {
                    let a = load(w, plan.transposeA ? l + i * plan.lda : i + l * plan.lda, type)
                    let b = load(x, plan.transposeB ? j + l * plan.ldb : l + j * plan.ldb, type)
                    s += a * b
                }
                store(y, i + j * plan.ldc, type, s)
            }
        }
    }

    func launch(_ name: String, grid: (Int, Int), block: Int, sharedBytes: Int, _ arguments: KernelArguments) {
        if let wrong = arguments.check(against: name) { fatalError("emulator: \(wrong)") }
        precondition(block % 32 == 0 && block <= 1024, "\(name): block of \(block) threads")
        launches[name, default: 0] += 1
        let t: DType = name.hasSuffix("_bf16") ? .bf16 : name.hasSuffix("_f16") ? .f16 : .f32
        let base = String(name.dropLast(t.kernelSuffix.count + 1))
        let s = arguments.slots
        func f(_ i: Int) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: s[i])) }
        func n(_ i: Int) -> Int { Int(Int32(truncatingIfNeeded: s[i])) }
        func activate(_ v: Float, _ kind: Int) -> Float {
            switch kind {
            case 0: return 0.5 * v * (1 + erff(v * 0.70710678118654752))
            case 1: return 0.5 * v * (1 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            case 2: return max(v, 0)
            case 3: return v / (1 + expf(-v))
            default: return tanhf(v)
            }
        }
        switch base {
        case "embed":   // ids, table, scale, pos, positions, y, C
            let c = n(6)
            for r in 0..<grid.0 {
                let id = int32(s[0], r)
                for k in 0..<c {
                    var v = load(s[1], id * c + k, t) * f(2)
                    if s[4] != 0 { v += load(s[4], int32(s[3], r) * c + k, t) }
                    store(s[5], r * c + k, t, v)
                }
            }
        case "add":     // a, b, y, n
            for i in 0..<Int(Int64(bitPattern: s[3])) { store(s[2], i, t, load(s[0], i, t) + load(s[1], i, t)) }
        case "layer_norm":   // x, w, b, y, C, eps
            let c = n(4)
            for r in 0..<grid.0 {
                var sum: Float = 0
                for k in 0..<c { sum += load(s[0], r * c + k, t) }
                let mean = sum / Float(c)
                var q: Float = 0
                for k in 0..<c { let d = load(s[0], r * c + k, t) - mean; q += d * d }
                let rstd = 1 / (q / Float(c) + f(5)).squareRoot()
                for k in 0..<c {
                    store(s[3], r * c + k, t, (load(s[0], r * c + k, t) - mean) * rstd * load(s[1], k, t) + load(s[2], k, t))
                }
            }
        case "bias_act":     // y, bias, n, C, kind
            let count = Int(Int64(bitPattern: s[2])), c = n(3), kind = n(4)
            for i in 0..<count {
                let v = load(s[0], i, t) + (s[1] != 0 ? load(s[1], i % c, t) : 0)
                store(s[0], i, t, kind < 0 ? v : activate(v, kind))
            }
        case "mul":          // a, b, y, n
            for i in 0..<Int(Int64(bitPattern: s[3])) { store(s[2], i, t, load(s[0], i, t) * load(s[1], i, t)) }
        case "rms_norm":     // x, w, y, C, eps
            let c = n(3)
            for r in 0..<grid.0 {
                var q: Float = 0
                for k in 0..<c { let v = load(s[0], r * c + k, t); q += v * v }
                let rstd = 1 / (q / Float(c) + f(4)).squareRoot()
                for k in 0..<c { store(s[2], r * c + k, t, load(s[1], k, t) * (load(s[0], r * c + k, t) * rstd)) }
            }
        case "attention":    // q, keys, values, spans, rowSpan, out, width, headDim, scale, bias, radius
            let width = n(6), d = n(7), scale = f(8), radius = n(10)
            precondition(grid.1 * d == width, "attention: \(grid.1) heads of \(d) for width \(width)")
            for r in 0..<grid.0 {
                let span = int32(s[4], r)
                let sp = (0..<6).map { int32(s[3], 6 * span + $0) }
                let (qStart, qCount, kIndex, kStart, kCount, causal) = (sp[0], sp[1], sp[2], sp[3], sp[4], sp[5])
                precondition(sharedBytes >= 4 * kCount, "attention: shared memory for \(kCount) keys")
                let visible = causal != 0 ? kCount - qCount + (r - qStart) + 1 : kCount
                let keys = raw(s[1]).load(fromByteOffset: 8 * kIndex, as: UInt64.self)
                let values = raw(s[2]).load(fromByteOffset: 8 * kIndex, as: UInt64.self)
                for h in 0..<grid.1 {
                    var scores = [Float](repeating: 0, count: visible)
                    for k in 0..<visible {
                        var dot: Float = 0
                        for i in 0..<d { dot += load(s[0], r * width + h * d + i, t) * load(keys, (kStart + k) * width + h * d + i, t) }
                        scores[k] = dot * scale
                        if s[9] != 0 {
                            let position = kCount - qCount + (r - qStart)
                            scores[k] += load(s[9], h * (2 * radius + 1) + radius + min(max(k - position, -radius), radius), t)
                        }
                    }
                    let m = scores.max()!
                    var z: Float = 0
                    for k in 0..<visible { scores[k] = expf(scores[k] - m); z += scores[k] }
                    for i in 0..<d {
                        var acc: Float = 0
                        for k in 0..<visible { acc += scores[k] * load(values, (kStart + k) * width + h * d + i, t) }
                        store(s[5], r * width + h * d + i, t, acc / z)
                    }
                }
            }
        case "log_softmax":  // x, bias, out (float), V
            let v = n(3)
            for r in 0..<grid.0 {
                let row = (0..<v).map { load(s[0], r * v + $0, t) + (s[1] != 0 ? load(s[1], $0, t) : 0) }
                let m = row.max()!
                let lse = logf(row.reduce(0) { $0 + expf($1 - m) })
                for i in 0..<v { store(s[2], r * v + i, .f32, row[i] - m - lse) }
            }
        case "gather_rows":  // x, rows, y, C
            let c = n(3), b = t.byteSize
            for r in 0..<grid.0 { raw(s[2] + UInt64(r * c * b)).copyMemory(from: raw(s[0] + UInt64(int32(s[1], r) * c * b)), byteCount: c * b) }
        default:
            fatalError("emulator: no emulation of \(name)")
        }
    }
}
