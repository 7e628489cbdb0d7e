// The engine's worker pool (Sources/CKernels/pool.c through Parallel): every index runs exactly once, whatever
// the count, with several threads submitting at once, and with jobs started from inside a task.

import CKernels
import Foundation
@testable import Tensor
import XCTest

final class ParallelTests: XCTestCase {
    /// Runs `count` indices, each adding its own mark, and returns how many times each ran.
    private func runs(_ count: Int) -> [Int] {
        var marks = [Int](repeating: 0, count: count)
        marks.withUnsafeMutableBufferPointer { m in
            let base = m.baseAddress!
            Parallel.forEach(count) { i in base[i] += 1 }
        }
        return marks
    }

    func testEveryIndexRunsExactlyOnce() {
        for count in [0, 1, 2, 3, 7, 64, 1000, 4097] {
            for _ in 0..<50 {
                let r = runs(count)
                XCTAssertEqual(r, [Int](repeating: 1, count: count), "count \(count)")
            }
        }
        // the pool counts the cores the process may use (affinity, a cgroup quota): one worker per core
        // besides the caller, and the backend splits its work as many ways
        let cores = Int(brv_cpu_count())
        XCTAssertTrue((1...ProcessInfo.processInfo.activeProcessorCount).contains(cores), "\(cores) cores")
        XCTAssertEqual(Int(brv_pool_workers()), cores - 1)
        XCTAssertEqual(CPUBackend().threads, cores)
    }

    func testSeveralThreadsSubmittingAtOnce() {
        // 4 threads x 200 jobs at once: a job that finds the pool busy runs on its own thread, and none is lost
        let bad = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        bad.initialize(repeating: 0, count: 4)
        defer { bad.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for j in 0..<200 {
                let count = 1 + (t * 37 + j * 11) % 300
                if runs(count) != [Int](repeating: 1, count: count) { bad[t] += 1 }
            }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: bad, count: 4)), [0, 0, 0, 0])
    }

    func testJobsStartedFromInsideATask() {
        // a task that starts its own job (the pool is busy: it runs there); sums checked per outer index
        let outer = 8, inner = 100
        var sums = [Int](repeating: 0, count: outer)
        sums.withUnsafeMutableBufferPointer { s in
            let base = s.baseAddress!
            Parallel.forEach(outer) { o in
                var marks = [Int](repeating: 0, count: inner)
                marks.withUnsafeMutableBufferPointer { m in
                    let mb = m.baseAddress!
                    Parallel.forEach(inner) { i in mb[i] += i }
                }
                base[o] = marks.reduce(0, +)
            }
        }
        XCTAssertEqual(sums, [Int](repeating: inner * (inner - 1) / 2, count: outer))
    }

    func testChunksAndStridedCoverTheirRanges() {
        for (count, grain, threads) in [(10, 1, 2), (1000, 7, 3), (5, 10, 4), (257, 1, 16)] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { h in
                let base = h.baseAddress!
                Parallel.chunks(count, grain: grain, threads: threads) { r in for i in r { base[i] += 1 } }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: count), "chunks \(count) \(grain) \(threads)")
        }
        for (count, workers) in [(10, 2), (3, 8), (1000, 3)] {
            var owner = [Int](repeating: -1, count: count)
            owner.withUnsafeMutableBufferPointer { o in
                let base = o.baseAddress!
                Parallel.strided(count, workers: workers) { w, i in base[i] = w }
            }
            let n = min(workers, count)
            XCTAssertEqual(owner, (0..<count).map { $0 % n }, "strided \(count) \(workers)")
        }
    }
}
