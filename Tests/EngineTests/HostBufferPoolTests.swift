// The CPU backend's recycled tensor buffers (Sources/Tensor/HostBufferPool.swift): size classes, reuse, the
// cap on cached bytes and the bypass for large requests; and a generation whose second run takes every
// buffer from the free lists (nothing allocated inside the decode loop once its shapes
// have been seen), with the same ids.

import Foundation
@testable import Generation
import Models
@testable import Tensor
import XCTest

final class HostBufferPoolTests: XCTestCase {
    func testSizeClassesHoldTheRequestWithLessThanHalfAgain() {
        for (bytes, size) in [(1, 256), (256, 256), (257, 384), (384, 384), (385, 512), (513, 768), (769, 1024), (1025, 1536)] {
            XCTAssertEqual(HostBufferPool.sizeClass(bytes), size, "\(bytes)")
        }
        for bytes in [1, 255, 256, 257, 1000, 4097, 1 << 20, (1 << 20) + 1, 33_554_431] {
            let c = HostBufferPool.sizeClass(bytes)
            XCTAssertGreaterThanOrEqual(c, bytes)
            XCTAssertLessThan(Double(c), Double(max(bytes, 256)) * 1.5 + 1, "\(bytes)")
        }
    }

    func testAFreedBufferServesTheNextRequestOfItsClass() {
        let pool = HostBufferPool(limit: 1 << 20, largest: 1 << 16)
        let (a, ca) = pool.take(1000)
        XCTAssertEqual(ca, 1024)
        XCTAssertEqual(Int(bitPattern: a) % 64, 0)
        pool.give(a, capacity: ca)
        XCTAssertEqual(pool.statistics, .init(fresh: 1, reuses: 0, cached: 1024))
        let (b, cb) = pool.take(900)   // same class
        XCTAssertEqual(b, a)
        XCTAssertEqual(cb, 1024)
        let (c, cc) = pool.take(2000)  // another class: fresh
        XCTAssertNotEqual(c, a)
        XCTAssertEqual(pool.statistics, .init(fresh: 2, reuses: 1, cached: 0))
        pool.give(b, capacity: cb)
        pool.give(c, capacity: cc)
        pool.trim()
        XCTAssertEqual(pool.statistics.cached, 0)
    }

    func testCachedBytesStayUnderTheLimitAndLargeRequestsBypass() {
        let pool = HostBufferPool(limit: 4096, largest: 8192)
        let taken = (0..<6).map { _ in pool.take(1024) }
        for (p, c) in taken { pool.give(p, capacity: c) }
        XCTAssertEqual(pool.statistics.cached, 4096, "four kept, two returned to the system")
        let (big, capacity) = pool.take(10_000)
        XCTAssertEqual(capacity, 10_000, "above `largest`: the exact size, not a class")
        pool.give(big, capacity: capacity)
        XCTAssertEqual(pool.statistics.cached, 4096)
        XCTAssertEqual(pool.statistics.fresh, 7)
    }

    /// A beam search run twice on a backend of its own: the second run finds every buffer in the free lists.
    func testASecondGenerationAllocatesNoBuffers() throws {
        let folder = Fixtures.bart.appendingPathComponent("bart-tiny")
        let backend = CPUBackend()
        let model = try BartForConditionalGeneration(folder: folder, backend: backend)
        let defaults = try GenerationConfig.model(folder: folder)
        let setting = try XCTUnwrap(GenerateSetting.load("bart-tiny").first { (($0.params["num_beams"] as? NSNumber)?.intValue ?? 1) > 1 })
        let config = try defaults.resolve(request: GenerationConfig.lenient(setting.params), maxPositions: model.maxPositions)
        let inputs = Array(setting.inputs.prefix(3))
        let configs = Array(repeating: config, count: inputs.count)
        let first = try generate(model: model, inputs: inputs, configs: configs, maxBatchSize: inputs.count)
        let warm = backend.bufferStatistics
        let second = try generate(model: model, inputs: inputs, configs: configs, maxBatchSize: inputs.count)
        let after = backend.bufferStatistics
        XCTAssertEqual(second, first)
        XCTAssertEqual(first, Array(setting.expected.prefix(inputs.count)), "transformers' ids")
        XCTAssertEqual(after.fresh, warm.fresh, "buffers allocated by the second run")
        XCTAssertGreaterThan(after.reuses - warm.reuses, 100 * inputs.count, "the second run's buffers came from the lists")
    }
}
