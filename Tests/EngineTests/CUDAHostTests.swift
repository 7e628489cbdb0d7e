// The CUDA backend's host-side bookkeeping without a GPU: the device memory pool over a fake
// driver, attention spans packed for the kernel, and the cache of uploaded tables.

import Tensor
import XCTest

final class CUDAHostTests: XCTestCase {
    /// A fake driver: addresses from a counter, live blocks tracked, an optional capacity.
    final class FakeDriver: @unchecked Sendable {
        var next: UInt64 = 0x1000
        var live: [UInt64: Int] = [:]
        var capacity = Int.max
        var used: Int { live.values.reduce(0, +) }

        func allocate(_ bytes: Int) throws -> UInt64 {
            guard used + bytes <= capacity else { throw CUDAError.driver(call: "cuMemAlloc", code: 2, message: "out of memory") }
            defer { next += UInt64(bytes) }
            live[next] = bytes
            return next
        }

        func free(_ a: UInt64) { XCTAssertNotNil(live.removeValue(forKey: a), "double free of \(a)") }
    }

    func testPoolReusesBlocksSoASteadyLoopAllocatesNothing() throws {
        let driver = FakeDriver()
        let pool = DeviceMemoryPool(allocate: driver.allocate, release: driver.free)
        XCTAssertEqual(DeviceMemoryPool.sizeClass(1), 256)
        XCTAssertEqual(DeviceMemoryPool.sizeClass(257), 512)
        XCTAssertEqual(DeviceMemoryPool.sizeClass(4096), 4096)
        // one "decode step": the same sizes taken and given back, ten times
        let sizes = [4096 * 4, 1024 * 4, 50264 * 4, 300, 300]
        for step in 0..<10 {
            let blocks = try sizes.map { try pool.take($0) }
            XCTAssertEqual(Set(blocks.map(\.address)).count, blocks.count, "step \(step): a block handed out twice")
            for (b, s) in zip(blocks, sizes) { XCTAssertGreaterThanOrEqual(b.capacity, s) }
            blocks.forEach(pool.give)
        }
        let s = pool.statistics
        XCTAssertEqual(s.driverAllocations, sizes.count, "only the first step reaches the driver")
        XCTAssertEqual(s.reuses, sizes.count * 9)
        XCTAssertEqual(s.inUse, 0)
        XCTAssertEqual(s.reserved, driver.used)
        pool.trim()
        XCTAssertEqual(driver.used, 0)
        XCTAssertEqual(pool.statistics.reserved, 0)
    }

    func testPoolGivesCachedBlocksBackWhenMemoryIsShort() throws {
        let driver = FakeDriver()
        driver.capacity = 8192
        let pool = DeviceMemoryPool(allocate: driver.allocate, release: driver.free)
        let a = try pool.take(4096), b = try pool.take(2048)
        pool.give(a)
        pool.give(b)
        // 8192 does not fit beside the 6144 cached: the cache is returned to the driver first
        let big = try pool.take(8192)
        XCTAssertEqual(big.capacity, 8192)
        XCTAssertEqual(driver.used, 8192)
        XCTAssertThrowsError(try pool.take(256))   // truly out of memory: the driver's error
        pool.give(big)

        let limited = DeviceMemoryPool(limit: 1024, allocate: FakeDriver().allocate, release: { _ in })
        XCTAssertNoThrow(try limited.take(1024))
        XCTAssertThrowsError(try limited.take(1)) { XCTAssertTrue("\($0)".contains("limit of 1024"), "\($0)") }
        XCTAssertThrowsError(try pool.take(-1))
    }

    func testSpansArePackedAndCheckedForTheKernel() throws {
        // two encoder inputs (5 and 3 tokens) packed into 8 query rows over one key set of 8 rows
        let enc = [AttentionSpan(queryStart: 0, queryCount: 5, keyIndex: 0, keyStart: 0, keyCount: 5, causal: false),
                   AttentionSpan(queryStart: 5, queryCount: 3, keyIndex: 0, keyStart: 5, keyCount: 3, causal: false)]
        let p = try PackedSpans(enc, queryRows: 8, keyRows: [8])
        XCTAssertEqual(p.rowSpan, [0, 0, 0, 0, 0, 1, 1, 1])
        XCTAssertEqual(p.table, [0, 5, 0, 0, 5, 0, 5, 3, 0, 5, 3, 0])
        XCTAssertEqual(p.maxKeys, 5)
        // decoder step: one new row per sequence, each over its own cache
        let dec = (0..<3).map { AttentionSpan(queryStart: $0, queryCount: 1, keyIndex: $0, keyCount: 4 + $0, causal: true) }
        XCTAssertEqual(try PackedSpans(dec, queryRows: 3, keyRows: [10, 10, 10]).maxKeys, 6)
        // what the kernel could not survive is refused here
        let bad: [([AttentionSpan], Int, [Int], String)] = [
            ([enc[0]], 8, [8], "query row 5 is in no span"),
            (enc + [enc[1]], 8, [8], "overlap"),
            ([AttentionSpan(queryStart: 0, queryCount: 2, keyIndex: 1, keyCount: 2, causal: false)], 2, [8], "key set 1"),
            ([AttentionSpan(queryStart: 0, queryCount: 2, keyIndex: 0, keyStart: 7, keyCount: 2, causal: false)], 2, [8], "out of range"),
            ([AttentionSpan(queryStart: 0, queryCount: 3, keyIndex: 0, keyCount: 2, causal: true)], 3, [8], "causal"),
        ]
        for (spans, rows, keys, needle) in bad {
            XCTAssertThrowsError(try PackedSpans(spans, queryRows: rows, keyRows: keys)) { XCTAssertTrue("\($0)".contains(needle), "\($0)") }
        }
    }

    func testTablesAreUploadedOncePerContentAndTheLeastRecentGoBackToThePool() throws {
        let gpu = try CUDAEmulator()
        let cache = DeviceTableCache(capacity: 2)
        func read(_ a: UInt64, _ n: Int) -> [Int32] {
            gpu.synchronize()   // the uploads run on the emulated stream
            return (0..<n).map { UnsafeRawPointer(bitPattern: UInt(a))!.load(fromByteOffset: 4 * $0, as: Int32.self) }
        }
        /// One table for a launch of its own.
        func table<T>(_ values: [T]) -> UInt64 {
            cache.beginLaunch()
            return cache.address(of: values, on: gpu)
        }
        let a = table([Int32(1), 2, 3])
        XCTAssertEqual(table([Int32(1), 2, 3]), a, "the same bytes: the same table")
        XCTAssertEqual(read(a, 3), [1, 2, 3])
        let b = table([UInt64(7)])
        XCTAssertNotEqual(a, b)
        _ = table([Int32(1), 2, 3])   // a is now the most recent
        let c = table([Int32(9)])     // full: b, the least recent, goes back
        XCTAssertEqual(read(c, 1), [9])
        XCTAssertEqual(table([Int32(1), 2, 3]), a)
        XCTAssertEqual(gpu.pool.statistics.inUse, 2 * 256)
        XCTAssertEqual([cache.uploads, cache.hits], [3, 3])
        _ = table([UInt64(7)])        // b again: uploaded anew, c goes back
        XCTAssertEqual([cache.uploads, cache.hits], [4, 3])
        XCTAssertEqual(gpu.pool.statistics.inUse, 2 * 256)
        cache.removeAll(from: gpu)
        XCTAssertEqual(gpu.pool.statistics.inUse, 0)

        // one launch's tables stay while it needs more than the capacity: none is handed out twice
        cache.beginLaunch()
        let four = (0..<4).map { cache.address(of: [Int32($0), 100], on: gpu) }
        XCTAssertEqual(Set(four).count, 4)
        XCTAssertEqual(four.map { read($0, 2) }, (0..<4).map { [Int32($0), 100] })
        cache.beginLaunch()
        _ = cache.address(of: [Int32(5)], on: gpu)   // the next launch may evict the last one's
        XCTAssertEqual(gpu.pool.statistics.inUse, 4 * 256)
        cache.removeAll(from: gpu)
    }
}
