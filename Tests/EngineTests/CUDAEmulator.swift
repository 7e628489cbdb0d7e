// A host emulator behind `CUDAQueue`, for testing `CUDABackend` without a GPU: "device" addresses are
// host allocations, copies are memcpy, cuBLAS's GEMM is a column-major loop (float accumulation, the
// result rounded to the type), and the kernels are CUDAKernelSource's own CUDA C run by the simulator
// (CUDASimulator.swift): every thread of a block, with its barriers, warp shuffles and shared memory.
// Every launch is checked against the kernel's parameters as declared in the CUDA source. What this
// cannot test: the driver, cuBLAS and the GPU's own math library (NVRTC compiles the source in
// CUDAKernelTests; the GPU check runs it).
//
// Like a stream, it is asynchronous: every operation is queued and a worker thread runs the queue in
// order, so the host goes on before its work has run. An upload reads its host buffer when the worker
// reaches it, so the buffer must live until then (`keep`, held until the next synchronization, as
// CUDAStream holds it); `download` and `synchronize` wait for the queue. Memory given back to the driver
// is freed in stream order (cuMemFree waits for the device), and every copy checks that its bytes lie in
// memory still allocated. `hold()` stops the worker so tests can queue work behind it.

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
    private let worker = StreamWorker()
    private let memory = EmulatedMemory()
    /// Host buffers read by queued uploads, released at the next synchronization.
    private var pendingHost: [AnyObject] = []

    init() throws {
        simulator = try CUDASimulator.brevityKernels.get()
        let (worker, memory) = (self.worker, self.memory)
        pool = DeviceMemoryPool(allocate: { bytes in
            let a = UInt64(UInt(bitPattern: UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 256)))
            worker.enqueue { memory.allocations[a] = bytes }   // known to the stream's checks in stream order
            return a
        }, release: { address in
            // freed once the work queued before it has run (cuMemFree waits for the device)
            worker.enqueue { memory.free(address) }
        })
    }

    deinit {
        pool.trim()
        worker.resume()
        worker.drain()
        worker.finish()
    }

    /// Stops running the queue until `resume`: work queued meanwhile waits, as on a busy GPU.
    func hold() { worker.hold() }
    func resume() { worker.resume() }
    /// Operations queued and not yet run.
    var queued: Int { worker.queued }

    func enter() {}
    func take(_ bytes: Int) -> DeviceMemoryPool.Block { try! pool.take(max(bytes, 1)) }
    func upload(_ source: UnsafeRawPointer, bytes: Int, to address: UInt64, keep: AnyObject) {
        pendingHost.append(keep)
        let memory = memory
        worker.enqueue { memory.raw(address, bytes, "upload").copyMemory(from: source, byteCount: bytes) }
    }
    func copy(from source: UInt64, to destination: UInt64, bytes: Int) {
        let memory = memory
        worker.enqueue {
            memory.raw(destination, bytes, "copy destination").copyMemory(from: memory.raw(source, bytes, "copy source"), byteCount: bytes)
        }
    }
    func zero(_ address: UInt64, bytes: Int) {
        let memory = memory
        worker.enqueue { memory.raw(address, bytes, "zero").initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
    }
    func download(_ address: UInt64, bytes: Int, into destination: UnsafeMutableRawPointer) {
        let memory = memory
        worker.enqueue { destination.copyMemory(from: memory.raw(address, bytes, "download"), byteCount: bytes) }
        synchronize()
    }
    func synchronize() {
        worker.drain()
        synchronizations += 1
        pendingHost.removeAll()
    }

    func gemm(_ plan: GemmPlan, w: UInt64, x: UInt64, y: UInt64, type: DType) {
        let memory = memory
        worker.enqueue { memory.gemm(plan, w: w, x: x, y: y, type: type) }
    }

    /// The kernel's own CUDA C, run by the simulator; a launch the GPU would refuse or fault on stops the
    /// test process naming it, as a failed launch stops the real backend (CUDAStream.must).
    func launch(_ name: String, grid: (Int, Int), block: Int, sharedBytes: Int, _ arguments: KernelArguments) {
        if let wrong = arguments.check(against: name) { fatalError("emulator: \(wrong)") }
        launches[name, default: 0] += 1
        let simulator = simulator
        worker.enqueue {
            do { try simulator.launch(name, grid: grid, block: block, sharedBytes: sharedBytes, arguments) } catch {
                fatalError("emulator: \(error)")
            }
        }
    }
}

/// The emulated device's memory: host allocations, and which are live (touched on the stream's thread only).
final class EmulatedMemory: @unchecked Sendable {
    /// Base address -> bytes of every allocation not yet freed.
    var allocations: [UInt64: Int] = [:]

    func free(_ address: UInt64) {
        allocations[address] = nil
        UnsafeMutableRawPointer(bitPattern: UInt(address))!.deallocate()
    }

    /// The memory of `bytes` at `address`; stops the test process when they are not inside one live
    /// allocation (device memory used after it went back to the driver, or past a block's end).
    func raw(_ address: UInt64, _ bytes: Int, _ what: String) -> UnsafeMutableRawPointer {
        if bytes > 0, !allocations.contains(where: { address >= $0.key && address + UInt64(bytes) <= $0.key + UInt64($0.value) }) {
            fatalError("emulator: \(what) of \(bytes) bytes at \(address) is outside every live allocation")
        }
        return UnsafeMutableRawPointer(bitPattern: UInt(address))!
    }

    /// y = w · x as cuBLAS's column-major GemmEx: float accumulation, the result rounded to the type.
    func gemm(_ plan: GemmPlan, w: UInt64, x: UInt64, y: UInt64, type: DType) {
        let size = type.byteSize
        let (pw, px, py) = (raw(w, 1, "gemm w"), raw(x, 1, "gemm x"), raw(y, 1, "gemm y"))
        func load(_ p: UnsafeMutableRawPointer, _ i: Int) -> Float {
            var v: Float = 0
            type.widen(p + i * size, count: 1, into: &v)
            return v
        }
        for j in 0..<plan.n {
            for i in 0..<plan.m {
                var s: Float = 0
                for l in 0..<plan.k {
                    let a = load(pw, plan.transposeA ? l + i * plan.lda : i + l * plan.lda)
                    let b = load(px, plan.transposeB ? j + l * plan.ldb : l + j * plan.ldb)
                    s += a * b
                }
                type.narrow(&s, count: 1, into: py + (i + j * plan.ldc) * size)
            }
        }
    }
}

/// A stream's order on the host: one thread runs queued closures first in, first out.
final class StreamWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var work: [() -> Void] = []
    private var running = false, held = false, finished = false

    init() {
        // the thread holds the worker until `finish` ends its loop
        let thread = Thread { self.loop() }
        thread.name = "emulated CUDA stream"
        thread.start()
    }

    var queued: Int { condition.lock(); defer { condition.unlock() }; return work.count }

    func enqueue(_ job: @escaping () -> Void) {
        condition.lock()
        work.append(job)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until everything queued so far has run. Waiting on a held stream would never end: a test's mistake.
    func drain() {
        condition.lock()
        precondition(!held || work.isEmpty, "emulator: synchronize while the stream is held")
        while !work.isEmpty || running { condition.wait() }
        condition.unlock()
    }

    func hold() { condition.lock(); held = true; condition.unlock() }
    func resume() { condition.lock(); held = false; condition.broadcast(); condition.unlock() }

    /// Ends the thread once the queue is empty.
    func finish() {
        condition.lock()
        held = false
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        while true {
            while (work.isEmpty || held) && !finished { condition.wait() }
            if work.isEmpty { break }
            let job = work.removeFirst()
            running = true
            condition.unlock()
            job()
            condition.lock()
            running = false
            condition.broadcast()
        }
        condition.unlock()
    }
}
