// The simulator that runs the CUDA kernels' source on the host (CUDASimulator.swift): its translation, the
// faults it reports as a GPU would (a barrier or shuffle not every thread reaches, shared memory past the
// limit), its half and bfloat16 rounding against DType's, and the attention kernel at its largest span.

import Foundation
import Tensor
import XCTest

final class CUDASimulatorTests: XCTestCase {
    /// Runs `body` on host memory holding `values`, as "device" pointers.
    private func withDevice<T>(_ values: [T], _ body: (UInt64) throws -> Void) rethrows -> [T] {
        var copy = values
        try copy.withUnsafeMutableBytes { try body(UInt64(UInt(bitPattern: $0.baseAddress!))) }
        return copy
    }

    func testTranslationGivesEveryKernelATrampolineAndRewritesSharedMemory() throws {
        let text = try CUDASimulator.translate(CUDAKernelSource.source)
        XCTAssertFalse(text.contains("__shared__ float"), "every __shared__ declaration rewritten")
        XCTAssertFalse(text.contains("#include <cuda_fp16.h>"))
        XCTAssertTrue(text.contains("BRV_SIM_DYNAMIC_SHARED(float, scores);"))
        XCTAssertEqual(text.components(separatedBy: "BRV_SIM_STATIC_SHARED(float, partial, 32,").count - 1, 2, "block_sum and block_max")
        let simulator = try CUDASimulator.brevityKernels.get()
        for name in CUDAKernelCheck.entryPoints {
            // a launch of an unknown name is an error; every entry point is found (0 threads is refused later)
            XCTAssertThrowsError(try simulator.launch(name, grid: (1, 1), block: 0, sharedBytes: 0, KernelArguments())) { error in
                XCTAssertFalse("\(error)".contains("no kernel"), "\(name): \(error)")
            }
        }
        XCTAssertThrowsError(try simulator.launch("nonexistent_f32", grid: (1, 1), block: 32, sharedBytes: 0, KernelArguments()))
        XCTAssertThrowsError(try CUDASimulator.translate("__shared__ float2 pair;"), "a form it does not know")
    }

    func testFaultsAreErrorsNamingBlockAndThread() throws {
        let simulator = try CUDASimulator(source: """
        extern "C" __global__ void early_exit(float *y) {   // half the block leaves before the barrier
            if (threadIdx.x >= 64) return;
            __syncthreads();
            y[threadIdx.x] = 1.f;
        }
        extern "C" __global__ void split_shuffle(float *y) {  // lanes 0-15 shuffle, 16-31 wait at the barrier
            float v = threadIdx.x;
            if ((threadIdx.x & 31) < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
            __syncthreads();
            y[threadIdx.x] = v;
        }
        extern "C" __global__ void reverse(float *y, int n) {   // y reversed through shared memory
            __shared__ float tile[256];
            tile[threadIdx.x] = y[blockIdx.x * n + threadIdx.x];
            __syncthreads();
            y[blockIdx.x * n + threadIdx.x] = tile[n - 1 - threadIdx.x];
        }
        extern "C" __global__ void butterfly(float *y) {   // sum over a warp by shuffles
            float v = y[threadIdx.x];
            for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
            y[threadIdx.x] = v;
        }
        extern "C" __global__ void big(float *y, int n) {
            __shared__ float table[8192];
            extern __shared__ float rest[];
            table[threadIdx.x] = 0.f;
            rest[threadIdx.x] = 0.f;
            y[threadIdx.x] = table[threadIdx.x] + rest[threadIdx.x] + n;
        }
        """)
        var y = [Float](repeating: 0, count: 512)
        func run(_ name: String, block: Int, grid: Int = 1, shared: Int = 0, _ more: [KernelArguments.Value] = []) -> String? {
            var message: String?
            y = withDevice(y) { address in
                do { try simulator.launch(name, grid: (grid, 1), block: block, sharedBytes: shared, KernelArguments([.pointer(address)] + more)) }
                catch { message = "\(error)" }
            }
            return message
        }
        XCTAssertEqual(run("early_exit", block: 128), "early_exit: block (0, 0) thread 0: __syncthreads reached by 64 threads while 64 had finished")
        XCTAssertEqual(run("split_shuffle", block: 64),
                       "split_shuffle: block (0, 0) thread 0: a shuffle reached by 16 of the 32 threads of warp 0 (the others are at __syncthreads or finished)")
        XCTAssertEqual(run("butterfly", block: 48), "butterfly: block (0, 0) thread 32: a shuffle in warp 1, which has 16 threads: a full mask needs 32")
        XCTAssertEqual(run("big", block: 32, shared: 16 * 1024 + 16, [.int32(1)]),
                       "big: block (0, 0) thread 0: 32768 bytes of static and 16400 of dynamic shared memory: past the 49152 a launch may use")
        XCTAssertNil(run("big", block: 32, shared: 16 * 1024, [.int32(1)]))
        XCTAssertEqual(y[0], 1)
        XCTAssertEqual(run("butterfly", block: 1025), "butterfly: block of 1025 threads (1 to 1024)")

        // what runs right: shared memory within a block, barriers across blocks, a warp's butterfly sum
        y = (0..<512).map(Float.init)
        XCTAssertNil(run("reverse", block: 256, grid: 2, [.int32(256)]))
        XCTAssertEqual(Array(y[0..<3]), [255, 254, 253])
        XCTAssertEqual(Array(y[256..<259]), [511, 510, 509])
        y = (0..<512).map { Float($0 % 7) }
        XCTAssertNil(run("butterfly", block: 64))
        XCTAssertEqual(y[0], Float((0..<32).map { $0 % 7 }.reduce(0, +)))
        XCTAssertEqual(y[63], Float((32..<64).map { $0 % 7 }.reduce(0, +)))
    }

    func testHalfAndBFloat16RoundingEqualsDType() throws {
        // the simulator's __float2half_rn / __float2bfloat16_rn and back, on ties, subnormals, overflow, NaN
        // and random values, against DType.narrow and widen (IEEE round to nearest even, like the GPU's)
        let simulator = try CUDASimulator.brevityKernels.get()
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e-8, 2.98e-8, 5.96e-8, 6.0e-8, 6.1e-5, 6.09e-5,
                               .infinity, -.infinity, .nan, .greatestFiniteMagnitude, Float(bitPattern: 0x3f80_8000),
                               Float(bitPattern: 0x3f81_8000), Float(bitPattern: 0x3f80_1000), Float(bitPattern: 0x3f80_3000),
                               Float(bitPattern: 0x7f7f_ffff), Float(bitPattern: 1)]
        var g = SystemRandomNumberGenerator()
        for _ in 0..<4000 { values.append(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &g))) }
        for e in -30...20 { for _ in 0..<20 { values.append(Float.random(in: 1..<2, using: &g) * powf(2, Float(e)) * (Bool.random() ? 1 : -1)) } }
        for type in [DType.f16, .bf16] {
            let n = values.count
            var narrowed = [UInt16](repeating: 0, count: n), back = [Float](repeating: 0, count: n)
            values.withUnsafeBytes { x in
                narrowed = withDevice(narrowed) { y in
                    try! simulator.launch("from_f32_\(type.kernelSuffix)", grid: (4, 1), block: 256, sharedBytes: 0,
                                          KernelArguments([.pointer(UInt64(UInt(bitPattern: x.baseAddress!))), .pointer(y), .int64(Int64(n))]))
                }
            }
            narrowed.withUnsafeBytes { x in
                back = withDevice(back) { y in
                    try! simulator.launch("to_f32_\(type.kernelSuffix)", grid: (4, 1), block: 256, sharedBytes: 0,
                                          KernelArguments([.pointer(UInt64(UInt(bitPattern: x.baseAddress!))), .pointer(y), .int64(Int64(n))]))
                }
            }
            var expected = [UInt16](repeating: 0, count: n), widened = [Float](repeating: 0, count: n)
            values.withUnsafeBufferPointer { type.narrow($0.baseAddress!, count: n, into: &expected) }
            expected.withUnsafeBytes { type.widen($0.baseAddress!, count: n, into: &widened) }
            var wrong = 0
            for i in 0..<n {
                let same = values[i].isNaN ? narrowed[i] & 0x7fff > (type == .f16 ? 0x7c00 : 0x7f80) : narrowed[i] == expected[i]
                if !same || back[i].bitPattern != widened[i].bitPattern && !values[i].isNaN {
                    wrong += 1
                    if wrong < 5 { XCTFail("\(type) \(values[i]) (\(String(values[i].bitPattern, radix: 16))): \(String(narrowed[i], radix: 16)) vs \(String(expected[i], radix: 16))") }
                }
            }
            XCTAssertEqual(wrong, 0, "\(type)")
        }
    }

    func testAttentionAtItsLargestSpanFitsTheSharedMemoryOfALaunch() throws {
        // one query over CUDABackend.maxAttentionKeys keys: the scores row and the reductions' partials share
        // the 48 KiB a launch may use without an opt-in
        let keys = CUDABackend.maxAttentionKeys, width = 8
        let backend = try CUDABackend(stream: CUDAEmulator(), dtype: .f32)
        let cpu = CPUBackend()
        var g = SystemRandomNumberGenerator()
        let q = (0..<width).map { _ in Float.random(in: -1...1, using: &g) }
        let k = (0..<keys * width).map { _ in Float.random(in: -1...1, using: &g) }
        let v = (0..<keys * width).map { _ in Float.random(in: -1...1, using: &g) }
        func run(_ b: Backend) -> [Float] {
            let span = AttentionSpan(queryStart: 0, queryCount: 1, keyIndex: 0, keyCount: keys, causal: false)
            return b.attention(query: Tensor(q, shape: [1, width], on: b), keys: [Tensor(k, shape: [keys, width], on: b)],
                               values: [Tensor(v, shape: [keys, width], on: b)], spans: [span], heads: 2, scale: 0.5).toArray()
        }
        XCTAssertLessThanOrEqual(maxAbsDiff(run(backend), run(cpu)), 1e-5)
    }
}
