import Foundation
import Logging

/// What the service's workers (BatchScheduler, ExtractiveWorker) share: a bounded queue of texts with
/// their result streams, cancellations for the worker thread to act on, and a life cycle: the thread
/// starts once, is ready after its warm-up, and on graceful shutdown refuses new work, lets what is in
/// flight finish within a timeout, then stops. `cond` guards every field; the worker thread waits on it.
final class WorkQueue<Job>: @unchecked Sendable {
    /// A queued text: its id, when it was queued, when it must be done, and where its results go.
    struct Entry {
        let id: Int
        let job: Job
        let enqueued: UInt64
        let deadline: UInt64
    }

    let cond = NSCondition()
    var pending: [Entry] = []
    var cancelled: Set<Int> = []
    /// Texts the worker is busy with (set by the worker thread).
    var active = 0
    var stopping = false
    var ready = false
    var draining = false
    private var started = false
    private var loopDone = false
    private var nextId = 0
    let maxQueue: Int
    let requestTimeout: Double

    init(maxQueue: Int, requestTimeout: Double) {
        self.maxQueue = maxQueue
        self.requestTimeout = requestTimeout
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        cond.lock()
        defer { cond.unlock() }
        return try body()
    }

    var isReady: Bool { locked { ready && !draining } }
    var isDraining: Bool { locked { draining } }
    var load: (queued: Int, active: Int) { locked { (pending.count, active) } }

    /// Runs `body` on a thread of its own, once.
    func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let first = locked { () -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        let t = Thread {
            body()
            self.locked { self.loopDone = true; self.active = 0 }
        }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
    }

    /// Queues `count` jobs together (all or none), each made from its id; 503 when draining or full.
    func enqueue(_ count: Int, _ make: (Int) -> Job) throws -> [Int] {
        try locked {
            if draining || stopping { throw APIError.unavailable("the service is shutting down") }
            if pending.count + count > maxQueue {
                throw APIError.overloaded("the queue is full (\(pending.count) texts waiting, at most \(maxQueue))", retryAfter: 2)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            let deadline = now + UInt64(requestTimeout * 1e9)
            let ids = (0..<count).map { _ in nextId += 1; return nextId }
            pending += ids.map { Entry(id: $0, job: make($0), enqueued: now, deadline: deadline) }
            cond.signal()
            return ids
        }
    }

    /// Queues one job per item (all or none), each with a result stream of its own; a consumer that stops
    /// listening before the stream finishes cancels its text.
    func submit<Item, Element>(_ items: [Item], _ make: (Item, AsyncThrowingStream<Element, Error>.Continuation) -> Job) throws
        -> [(id: Int, stream: AsyncThrowingStream<Element, Error>)] {
        var streams: [AsyncThrowingStream<Element, Error>] = []
        let ids = try enqueue(items.count) { id in
            let (stream, cont) = AsyncThrowingStream<Element, Error>.makeStream()
            cont.onTermination = { [weak self] reason in
                if case .cancelled = reason { self?.cancel(id) }
            }
            let job = make(items[streams.count], cont)
            streams.append(stream)
            return job
        }
        return Array(zip(ids, streams))
    }

    func cancel(_ id: Int) {
        locked { cancelled.insert(id); cond.signal() }
    }

    func setReady() { locked { ready = true } }

    func setDraining() {
        locked { draining = true; cond.signal() }
    }

    /// Graceful shutdown: refuse work, wait until nothing is queued or active (at most `timeout` seconds),
    /// then stop the thread and wait for it to end.
    func drain(timeout: Double, logger: Logger, what: String) async {
        setDraining()
        logger.info("draining: finishing in-flight \(what)", metadata: ["timeout_s": "\(timeout)"])
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            let (q, a) = load
            if q == 0 && a == 0 { break }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        locked { stopping = true; cond.signal() }
        while !locked({ loopDone || !started }) { try? await Task.sleep(nanoseconds: 10_000_000) }
        logger.info("\(what) stopped")
    }
}
