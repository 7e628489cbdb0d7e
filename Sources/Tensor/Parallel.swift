// Work split over the cores: products by output columns (OpenBLAS itself runs single-threaded inside
// these workers), element-wise ops by chunks, attention by heads. Each index is computed by exactly one thread with the same operations
// as the serial loop, so results do not depend on the split.

import Dispatch

enum Parallel {
    /// Runs `body` over `0..<count` in contiguous chunks of at least `grain` indices, at most `threads` at once.
    static func chunks(_ count: Int, grain: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let n = max(1, min(threads, count / max(1, grain)))
        if n == 1 { body(0..<count); return }
        let per = (count + n - 1) / n
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: n) { c in
                let lo = c * per, hi = min(count, lo + per)
                if lo < hi { box.value(lo..<hi) }
            }
        }
    }

    /// Runs `body(worker, index)` for every index in `0..<count` on `workers` threads (index i on worker
    /// i % workers), so each worker can own scratch memory.
    static func strided(_ count: Int, workers: Int, _ body: (Int, Int) -> Void) {
        let n = max(1, min(workers, count))
        if n == 1 { for i in 0..<count { body(0, i) }; return }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: n) { w in
                var i = w
                while i < count { box.value(w, i); i += n }
            }
        }
    }
}

/// A value handed to concurrentPerform's workers; the caller guarantees they touch disjoint memory.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
