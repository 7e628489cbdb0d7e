// The emulated stream runs its work later, in order, as a GPU does (CUDAEmulator.swift): a host buffer
// lives until its copy has run, a block given back and handed out again is rewritten only after the work
// queued before, memory goes back to the driver only after the work that reads it, and the backend's host
// side runs ahead of its stream without reading device memory it has not waited for.

import Foundation
import Tensor
import XCTest

final class CUDAEmulatorTests: XCTestCase {
    /// A host buffer that says when it is freed.
    final class Buffer {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int
        init(_ values: [Float]) {
            count = values.count
            pointer = .allocate(capacity: values.count)
            pointer.initialize(from: values, count: values.count)
        }
        deinit {
            pointer.update(repeating: .nan, count: count)   // a copy that ran late would read these
            pointer.deallocate()
        }
    }

    func read(_ gpu: CUDAEmulator, _ block: DeviceMemoryPool.Block, _ count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBytes { gpu.download(block.address, bytes: 4 * count, into: $0.baseAddress!) }
        return out
    }

    func testAHostBufferOutlivesItsAsynchronousCopy() throws {
        let gpu = try CUDAEmulator()
        let block = gpu.take(64)
        gpu.synchronize()
        weak var watched: Buffer?
        gpu.hold()
        do {
            let buffer = Buffer([1, 2, 3, 4])
            watched = buffer
            gpu.upload(buffer.pointer, bytes: 16, to: block.address, keep: buffer)
        }
        XCTAssertEqual(gpu.queued, 1, "the upload waits behind the held stream")
        XCTAssertNotNil(watched, "the stream keeps the host buffer while its copy is queued")
        gpu.resume()
        gpu.synchronize()
        XCTAssertNil(watched, "released at the synchronization")
        XCTAssertEqual(read(gpu, block, 4), [1, 2, 3, 4])
        gpu.pool.give(block)
    }

    func testAReusedBlockIsRewrittenOnlyAfterTheWorkQueuedBeforeIt() throws {
        let gpu = try CUDAEmulator()
        let first = gpu.take(16), copyOut = gpu.take(16)
        gpu.synchronize()
        gpu.hold()
        let a = Buffer([1, 2, 3, 4]), b = Buffer([5, 6, 7, 8])
        gpu.upload(a.pointer, bytes: 16, to: first.address, keep: a)
        gpu.copy(from: first.address, to: copyOut.address, bytes: 16)
        gpu.pool.give(first)                      // the host is done with it; the copy has not run yet
        let again = gpu.take(16)
        XCTAssertEqual(again.address, first.address, "the freed block is handed out again at once")
        gpu.upload(b.pointer, bytes: 16, to: again.address, keep: b)
        XCTAssertEqual(gpu.queued, 3)
        gpu.resume()
        XCTAssertEqual(read(gpu, copyOut, 4), [1, 2, 3, 4], "the copy ran before the block's new contents")
        XCTAssertEqual(read(gpu, again, 4), [5, 6, 7, 8])
        gpu.pool.give(again)
        gpu.pool.give(copyOut)
    }

    func testMemoryGoesBackToTheDriverAfterTheWorkThatReadsIt() throws {
        let gpu = try CUDAEmulator()
        let source = gpu.take(16), kept = gpu.take(16)
        let a = Buffer([9, 8, 7, 6])
        gpu.upload(a.pointer, bytes: 16, to: source.address, keep: a)
        gpu.synchronize()
        gpu.hold()
        gpu.copy(from: source.address, to: kept.address, bytes: 16)
        gpu.pool.give(source)
        gpu.pool.trim()                            // cuMemFree of a block the queued copy still reads
        XCTAssertEqual(gpu.pool.statistics.reserved, 256)
        gpu.resume()
        XCTAssertEqual(read(gpu, kept, 4), [9, 8, 7, 6], "freed only after the copy ran (a copy from freed memory stops the process)")
        gpu.pool.give(kept)
    }

    /// The backend queues a step's work and returns before it has run; its result is right once read.
    func testTheBackendRunsAheadOfItsStream() throws {
        let gpu = try CUDAEmulator()
        let backend = try CUDABackend(stream: gpu, dtype: .f32)
        let x: [Float] = [1, -2, 3, -4, 5, -6]
        let a = Tensor(x, shape: [2, 3], on: backend)
        gpu.synchronize()
        gpu.hold()
        let sum = backend.add(a, a)
        let rows = backend.logSoftmax(sum)
        XCTAssertGreaterThan(gpu.queued, 1, "the operations wait on the stream while the host goes on")
        gpu.resume()
        let got = backend.download(rows)
        let doubled = x.map { 2 * $0 }
        for r in 0..<2 {
            let row = Array(doubled[3 * r..<3 * r + 3]), m = row.max()!
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            for c in 0..<3 { XCTAssertEqual(got[3 * r + c], row[c] - lse, accuracy: 1e-5) }
        }
    }
}
