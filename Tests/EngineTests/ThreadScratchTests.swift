// Per-thread scratch (brv_thread_scratch in Sources/CKernels/heap.c), which the decode step's products and
// attention take instead of allocating each call: reused while big enough, grown when not, one per thread and
// slot, refused for an unknown slot.

import CKernels
import Foundation
import XCTest

final class ThreadScratchTests: XCTestCase {
    func testASlotIsReusedUntilItMustGrowAndSlotsAreApart() {
        let slot = Int32(BRV_SCRATCH_ATTENTION)
        guard let a = brv_thread_scratch(slot, 1000) else { return XCTFail("no scratch") }
        XCTAssertEqual(UInt(bitPattern: a) % 64, 0, "64-byte aligned")
        a.storeBytes(of: 0x5A5A, as: UInt16.self)
        XCTAssertEqual(brv_thread_scratch(slot, 10), a, "a smaller need reuses the block")
        XCTAssertEqual(brv_thread_scratch(slot, 1000), a)
        // a bigger need grows it, writable to its end
        guard let b = brv_thread_scratch(slot, 1 << 20) else { return XCTFail("no grown scratch") }
        b.storeBytes(of: 7, toByteOffset: (1 << 20) - 8, as: UInt64.self)
        XCTAssertEqual(brv_thread_scratch(slot, 1 << 19), b)
        // the other slots are other blocks
        let pack = brv_thread_scratch(Int32(BRV_SCRATCH_PACK), 1000)
        XCTAssertNotNil(pack)
        XCTAssertNotEqual(pack, b)
        XCTAssertNil(brv_thread_scratch(Int32(BRV_SCRATCH_SLOTS), 16), "unknown slot")
        XCTAssertNil(brv_thread_scratch(-1, 16), "unknown slot")
    }

    func testEachThreadHasItsOwn() {
        let slot = Int32(BRV_SCRATCH_GEMM)
        let mine = UInt(bitPattern: brv_thread_scratch(slot, 4096))
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var values: [UInt] = []
            func add(_ v: UInt) { lock.lock(); values.append(v); lock.unlock() }
        }
        let collected = Collected(), done = DispatchGroup()
        for _ in 0..<4 {
            done.enter()
            Thread.detachNewThread {
                let p = UInt(bitPattern: brv_thread_scratch(slot, 4096))
                // the thread's own block, kept for its next call
                let again = UInt(bitPattern: brv_thread_scratch(slot, 100))
                collected.add(p == again ? p : 0)
                done.leave()
            }
        }
        done.wait()
        let theirs = collected.values
        XCTAssertEqual(theirs.count, 4)
        XCTAssertFalse(theirs.contains(0), "a thread's block changed between its calls")
        XCTAssertFalse(theirs.contains(mine), "another thread got this thread's block")
    }
}
