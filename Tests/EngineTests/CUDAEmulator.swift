// A host emulator behind `CUDAQueue`, for testing `CUDABackend` without a GPU: "device" addresses are
// host allocations, copies are memcpy, cuBLAS's GEMM is a column-major loop (float accumulation, the
// result rounded to the type), and the kernels are CUDAKernelSource's own CUDA C run by the simulator
// (CUDASimulator.swift): every thread of a block, with its barriers, warp shuffles and shared memory.
// Every launch is checked against the kernel's parameters as declared in the CUDA source. What this
// cannot test: the driver, cuBLAS and the GPU's own math library (NVRTC compiles the source in
// CUDAKernelTests; the GPU check runs it).

import Foundation
import Tensor

final class CUDAEmulator: CUDAQueue, @unchecked Sendable {
    let deviceName = "emulated GPU"
    let kernelImage = "host emulation"
    let lock = NSRecursiveLock()
    let pool: DeviceMemoryPool
    private(set) var launches: [String: Int] = [:]
    private(set) var synchronizations = 0
    private let simulator: CUDASimulator

    init() throws {
        simulator = try CUDASimulator.brevityKernels.get()
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

    /// The kernel's own CUDA C, run by the simulator; a launch the GPU would refuse or fault on stops the
    /// test process naming it, as a failed launch stops the real backend (CUDAStream.must).
    func launch(_ name: String, grid: (Int, Int), block: Int, sharedBytes: Int, _ arguments: KernelArguments) {
        if let wrong = arguments.check(against: name) { fatalError("emulator: \(wrong)") }
        launches[name, default: 0] += 1
        do { try simulator.launch(name, grid: grid, block: block, sharedBytes: sharedBytes, arguments) } catch {
            fatalError("emulator: \(error)")
        }
    }
}
