// Device memory for the CUDA backend: blocks in power-of-two size classes (from 256 bytes), a freed block
// returning to its class's free list for the next request of that class. After the first decode steps
// have run, a step takes every buffer from the lists and the driver is not called inside the decode loop.
// The driver calls are closures, so the bookkeeping is tested without a GPU.

import Foundation

public final class DeviceMemoryPool: @unchecked Sendable {
    public typealias Address = UInt64

    /// A block handed out: its address and the capacity of its size class.
    public struct Block: Sendable, Equatable {
        public let address: Address
        public let capacity: Int
    }

    public struct Statistics: Sendable, Equatable {
        /// Bytes obtained from the driver and not yet returned to it.
        public var reserved = 0
        /// Bytes in blocks handed out and not given back.
        public var inUse = 0
        /// Calls to the driver's allocator, ever.
        public var driverAllocations = 0
        /// Requests served from a free list.
        public var reuses = 0
    }

    static let smallestClass = 256

    private let allocate: (Int) throws -> Address
    private let release: (Address) -> Void
    private var free: [Int: [Address]] = [:]
    private var stats = Statistics()
    private let lock = NSLock()
    /// Most bytes the pool may reserve (nil: the driver decides).
    public let limit: Int?

    public init(limit: Int? = nil, allocate: @escaping (Int) throws -> Address, release: @escaping (Address) -> Void) {
        self.limit = limit
        self.allocate = allocate
        self.release = release
    }

    deinit { trim() }

    public var statistics: Statistics { lock.lock(); defer { lock.unlock() }; return stats }

    /// The size class of a request: the next power of two, at least 256 bytes.
    public static func sizeClass(_ bytes: Int) -> Int {
        var c = smallestClass
        while c < bytes { c <<= 1 }
        return c
    }

    /// A block of at least `bytes`: reused from its class's free list, else from the driver (after giving
    /// back the cached blocks of other classes when the limit or the driver says memory is short).
    public func take(_ bytes: Int) throws -> Block {
        guard bytes >= 0 else { throw CUDAError.unusable("device allocation of \(bytes) bytes") }
        let size = Self.sizeClass(bytes)
        lock.lock()
        defer { lock.unlock() }
        if let address = free[size]?.popLast() {
            stats.inUse += size
            stats.reuses += 1
            return Block(address: address, capacity: size)
        }
        if let limit, stats.reserved + size > limit { trimLocked() }
        if let limit, stats.reserved + size > limit {
            throw CUDAError.unusable("device memory pool: \(size) more bytes would pass the limit of \(limit) (\(stats.inUse) in use)")
        }
        let address: Address
        do { address = try allocate(size) } catch {
            // the driver is short: give back what is cached and try once more
            trimLocked()
            address = try allocate(size)
        }
        stats.reserved += size
        stats.inUse += size
        stats.driverAllocations += 1
        return Block(address: address, capacity: size)
    }

    /// Returns a block to its class's free list (the memory stays reserved for reuse).
    public func give(_ block: Block) {
        lock.lock()
        free[block.capacity, default: []].append(block.address)
        stats.inUse -= block.capacity
        lock.unlock()
    }

    /// Returns every cached (free) block to the driver.
    public func trim() {
        lock.lock()
        trimLocked()
        lock.unlock()
    }

    private func trimLocked() {
        for (size, addresses) in free {
            for a in addresses { release(a) }
            stats.reserved -= size * addresses.count
        }
        free.removeAll()
    }
}
