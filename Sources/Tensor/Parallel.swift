// Work split over the cores: products by output columns (OpenBLAS itself runs single-threaded inside
// these workers), element-wise ops by chunks, attention by heads. Each index is computed by exactly one thread with the same operations
// as the serial loop, so results do not depend on the split. The threads are the engine's worker pool
// (brv_parallel, Sources/CKernels/pool.c): the caller plus one worker per other core, which spin between the
// ~100 parallel calls of a decode step instead of being woken through the kernel for each.

import CKernels

public enum Parallel {
    /// Runs `body(i)` once for every i in `0..<count` on the caller and the pool's workers; returns when all
    /// have run. A call made while another runs (another thread's, or one from inside a task) runs serially.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { p in
                brv_parallel(count, { ctx, i in ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(i) }, p)
            }
        }
    }

    /// Runs `body` over `0..<count` in contiguous chunks of at least `grain` indices, at most `threads` at once.
    static func chunks(_ count: Int, grain: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let n = max(1, min(threads, count / max(1, grain)))
        if n == 1 { body(0..<count); return }
        let per = (count + n - 1) / n
        forEach(n) { c in
            let lo = c * per, hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body(worker, index)` for every index in `0..<count` on `workers` threads (index i on worker
    /// i % workers), so each worker can own scratch memory.
    static func strided(_ count: Int, workers: Int, _ body: (Int, Int) -> Void) {
        let n = max(1, min(workers, count))
        if n == 1 { for i in 0..<count { body(0, i) }; return }
        forEach(n) { w in
            var i = w
            while i < count { body(w, i); i += n }
        }
    }
}
