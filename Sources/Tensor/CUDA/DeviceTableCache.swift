// Small host tables the kernels read (attention's packed spans and row-to-span map, its key and value
// pointer tables), uploaded once and reused while the same bytes come again. Within a decode step every
// layer sends the same spans, and across steps the same cache addresses, so a step uploads one new span
// table instead of four tables a layer. Keyed by content, an entry is right whatever tensor lives at its
// addresses now. Least recently used entries go back to the pool (stream order makes that safe: the
// block's next user is queued after its last reader). Tables looked up since the last `beginLaunch` are
// never evicted: the launch about to read them has not been queued yet. Not thread-safe: the backend calls
// it under its lock. Host-only bookkeeping, tested without a GPU.

public final class DeviceTableCache {
    private var entries: [[UInt8]: (block: DeviceMemoryPool.Block, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    /// The clock when the current launch's lookups began.
    private var launchStart: UInt64 = 1
    /// Most tables kept (more while one launch needs more).
    public let capacity: Int
    public private(set) var hits = 0
    public private(set) var uploads = 0

    public init(capacity: Int = 256) { self.capacity = max(capacity, 1) }

    /// Starts the lookups of one launch: until the next call, what they return stays on the device.
    public func beginLaunch() { launchStart = clock + 1 }

    /// The device address of a table holding `values`: a cached one, else uploaded through `queue` now.
    public func address<T>(of values: [T], on queue: any CUDAQueue) -> UInt64 {
        let key = values.withUnsafeBytes { [UInt8]($0) }
        clock += 1
        if let entry = entries[key] {
            entries[key] = (entry.block, clock)
            hits += 1
            return entry.block.address
        }
        if entries.count >= capacity, let oldest = entries.min(by: { $0.value.used < $1.value.used }), oldest.value.used < launchStart {
            entries[oldest.key] = nil
            queue.pool.give(oldest.value.block)
        }
        let block = queue.upload(values)
        entries[key] = (block, clock)
        uploads += 1
        return block.address
    }

    /// Gives every table back to the pool.
    public func removeAll(from queue: any CUDAQueue) {
        for entry in entries.values { queue.pool.give(entry.block) }
        entries = [:]
    }
}
