// The memory budget (--max-batch-tokens): a text reserves rows x max_length decoder positions plus its
// source tokens when it joins the batch, the batch never holds more than the budget, a text larger than
// the whole budget is refused, and a container's limit gives the budget when none is set.

@testable import BrevityKit
import Foundation
import Generation
import Logging
import Tensor
import TestSupport
import XCTest

final class MemoryBudgetTests: XCTestCase {
    /// Records the widest decoder step and the most memory held while texts decode.
    final class Widest: RuntimeObserver, @unchecked Sendable {
        let lock = NSLock()
        var rows = 0
        var used = 0
        weak var scheduler: BatchScheduler?
        func stepped(rows: Int) {
            let held = scheduler?.memory.usedBytes ?? 0
            lock.lock(); self.rows = max(self.rows, rows); used = max(used, held); lock.unlock()
        }
    }

    func testTheBatchNeverHoldsMoreThanTheBudget() async throws {
        let engine = try SummarizationEngine.load(folder: LibrarySummarizerTests.folder, name: "tiny", weightType: .f32, backend: CPUBackend.shared)
        var request = GenerationConfig()
        request.numBeams = 1
        request.maxLength = 20
        let config = try engine.resolve(request)
        let texts = Array(LibrarySummarizerTests.expected.texts.prefix(6))
        let prepared = try engine.prepare(texts, prefix: nil, truncation: .cut)
        let costs = prepared.map { MemoryBudget.tokens(rows: 1, maxLength: 20, sourceTokens: $0.inputIds.count) }
        // room for the two largest texts together, not three of any
        let sorted = costs.sorted()
        let budget = sorted[sorted.count - 1] + sorted[sorted.count - 2]
        XCTAssertLessThan(budget, sorted[0] + sorted[1] + sorted[2])
        let widest = Widest()
        let scheduler = BatchScheduler(engine: engine, maxBatchRows: 64, maxConcurrent: 16, maxQueue: 64, requestTimeout: 60, drainTimeout: 0,
                                       latencyTarget: .unbounded, observer: widest, logger: Logger(label: "test"), warmUp: false,
                                       memoryBudget: .tokens(budget))
        widest.scheduler = scheduler
        defer { scheduler.stop() }
        XCTAssertEqual(scheduler.memory.budgetBytes, budget * scheduler.bytesPerToken)
        let results = try await scheduler.summarize(prepared, config: config)
        // the budget held: two texts at a time at most, and they did run two at a time
        XCTAssertEqual(widest.rows, 2, "two texts fit the budget together")
        XCTAssertLessThanOrEqual(widest.used, budget * scheduler.bytesPerToken)
        XCTAssertGreaterThan(widest.used, 0)
        XCTAssertEqual(scheduler.memory.usedBytes, 0, "finished texts give their memory back")
        // and the summaries are what they are without a budget
        let free = BatchScheduler(engine: engine, maxConcurrent: 16, maxBatchRows: 64)
        defer { free.stop() }
        let unbounded = try await free.summarize(prepared, config: config)
        XCTAssertEqual(results.map(\.ids), unbounded.map(\.ids))

        // a text larger than the whole budget is refused, never queued
        let small = BatchScheduler(engine: engine, maxBatchRows: 64, maxConcurrent: 16, maxQueue: 64, requestTimeout: 60, drainTimeout: 0,
                                   latencyTarget: .unbounded, logger: Logger(label: "test"), warmUp: false, memoryBudget: .tokens(costs[0] - 1))
        defer { small.stop() }
        XCTAssertThrowsError(try small.submit([.init(inputIds: prepared[0].inputIds, config: config)])) { error in
            guard case RuntimeError.unavailable(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("memory budget"), why)
        }
        XCTAssertEqual(small.load.queued, 0)
    }

    func testBytesPerTokenIsAKeyAndAValuePerDecoderLayerPlusTheEncoderRow() throws {
        let engine = try SummarizationEngine.load(folder: LibrarySummarizerTests.folder, name: "tiny", weightType: .f32, backend: CPUBackend.shared)
        let cache = engine.model.makeCache(capacity: 1)
        let scheduler = BatchScheduler(engine: engine, maxConcurrent: 1, maxBatchRows: 1)
        defer { scheduler.stop() }
        let width = cache.layer(0).keys.columns
        XCTAssertEqual(cache.bytesPerPosition, cache.layerCount * 2 * width * 4)
        XCTAssertEqual(scheduler.bytesPerToken, cache.layerCount * 2 * width * 4 + width * 4)
        XCTAssertEqual(MemoryBudget.tokens(rows: 4, maxLength: 60, sourceTokens: 700), 2 * 4 * 60 + 700, "beams fork: twice")
        XCTAssertEqual(MemoryBudget.tokens(rows: 1, maxLength: 60, sourceTokens: 700), 60 + 700)
    }

    /// cgroup v2 (the process's own cgroup, else the root), v1 (its memory controller's path), "max" and
    /// v1's huge "unlimited" value, and no cgroup files at all.
    func testContainerLimitsAreReadFromCgroupV2AndV1() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        func limit(_ selfCgroup: String) throws -> Int? {
            try write("self-cgroup", selfCgroup)
            return MemoryBudget.containerLimitBytes(cgroupRoot: root.appendingPathComponent("fs").path,
                                                    selfCgroup: root.appendingPathComponent("self-cgroup").path)
        }
        XCTAssertNil(try limit("0::/\n"), "no cgroup files")
        try write("fs/kubepods/pod1/memory.max", "2147483648\n")
        XCTAssertEqual(try limit("0::/kubepods/pod1\n"), 2_147_483_648)
        try write("fs/memory.max", "max\n")
        XCTAssertNil(try limit("0::/\n"), "v2 max: no limit")
        try FileManager.default.removeItem(at: root.appendingPathComponent("fs"))
        try write("fs/memory/docker/abc/memory.limit_in_bytes", "1073741824\n")
        XCTAssertEqual(try limit("12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n"), 1_073_741_824)
        try write("fs/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n")
        XCTAssertNil(try limit("11:memory:/docker/abc\n"), "v1's unlimited value")

        let budget = MemoryBudget.derived(limitBytes: 4 << 30, residentBytes: 2 << 30, bytesPerToken: 98_304)
        XCTAssertEqual(budget.tokens, ((4 << 30) - (2 << 30) - MemoryBudget.overheadBytes) / 98_304)
        XCTAssertEqual(MemoryBudget.derived(limitBytes: 1 << 30, residentBytes: 2 << 30, bytesPerToken: 10).tokens, 0)
        XCTAssertNotNil(MemoryBudget.residentBytes())
    }
}
