// The CPU backend's tensor buffers, recycled: a freed buffer goes back to the free list of its size class and
// the next request of that class takes it, so once a decode loop's first steps have run (every shape of a
// step seen), its steps take every activation, logits and scratch tensor from the lists: `fresh` stops
// growing (the CUDA backend's DeviceMemoryPool does the same on the device). Classes go by
// steps of 3/2 and 4/3 (256, 384, 512, 768, 1024, ... bytes: less than half again what is asked); the free
// bytes kept are capped (`limit`: past it a freed buffer goes back to the system), and requests above
// `largest` (weights converted at load) bypass the lists. 64 MiB: `brevity serve` at 8 clients (bart-large-cnn,
// float32) peaked at 1908 MiB with it and 1960 MiB with 256 MiB, where a 32-row step cycles through ~30 MB.

import Foundation

final class HostBufferPool: @unchecked Sendable {
    struct Statistics: Sendable, Equatable {
        /// Buffers obtained from the system, ever.
        var fresh = 0
        /// Requests served from a free list.
        var reuses = 0
        /// Bytes held in the free lists now.
        var cached = 0
    }

    static let smallestClass = 256

    /// Most bytes the free lists keep.
    let limit: Int
    /// Requests above this many bytes are not pooled.
    let largest: Int
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var stats = Statistics()
    private let lock = NSLock()

    init(limit: Int = 64 << 20, largest: Int = 32 << 20) {
        self.limit = limit
        self.largest = largest
    }

    deinit { trim() }

    var statistics: Statistics { lock.lock(); defer { lock.unlock() }; return stats }

    /// The capacity handed out for a request of `bytes`: 256, then alternately x3/2 and x4/3.
    static func sizeClass(_ bytes: Int) -> Int {
        var c = smallestClass
        while c < bytes { c = c & (c - 1) == 0 ? c + c / 2 : c / 3 * 4 }
        return c
    }

    /// A 64-byte-aligned buffer of at least `bytes` and its capacity (pass both back to `give`).
    func take(_ bytes: Int) -> (pointer: UnsafeMutableRawPointer, capacity: Int) {
        let pooled = bytes <= largest
        let size = pooled ? Self.sizeClass(bytes) : bytes
        lock.lock()
        if pooled, let p = free[size]?.popLast() {
            stats.reuses += 1
            stats.cached -= size
            lock.unlock()
            return (p, size)
        }
        stats.fresh += 1
        lock.unlock()
        return (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64), size)
    }

    /// Returns a buffer from `take`: to its free list, or to the system past `limit` or above `largest`.
    func give(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        if capacity <= largest {
            lock.lock()
            if stats.cached + capacity <= limit {
                free[capacity, default: []].append(pointer)
                stats.cached += capacity
                lock.unlock()
                return
            }
            lock.unlock()
        }
        pointer.deallocate()
    }

    /// Returns every cached buffer to the system.
    func trim() {
        lock.lock()
        let all = free
        free.removeAll()
        stats.cached = 0
        lock.unlock()
        for (_, list) in all { for p in list { p.deallocate() } }
    }
}
