import Foundation
import Logging

/// What the runtime's workers (BatchScheduler, ExtractiveWorker) share: a bounded queue of texts with
/// their result streams, the texts the worker is running, and a life cycle: the thread starts once, is
/// ready after its warm-up (or reports why its warm-up failed), and on graceful shutdown refuses new work,
/// lets what is in flight finish within a timeout, then stops.
///
/// A worker's loop is its policy only: `take` hands it the texts that fit (and the running ones that were
/// cancelled or expired, already failed), `complete` and `fail` end a running text. Every error a client
/// sees for a text that never reached the worker (cancelled, expired, shut down) is raised here.
/// `cond` guards every field; the worker thread waits on it.
final class WorkQueue<Job>: @unchecked Sendable {
    /// A queued text: its id, when it was queued, when it must be done, and where its results go;
    /// `started` is set when the worker takes it.
    struct Entry {
        let id: Int
        let job: Job
        let enqueued: UInt64
        let deadline: UInt64
        var started: UInt64 = 0
    }

    /// What `take` hands the worker.
    struct Taken {
        /// Texts to start now, in queue order (they are running from now on).
        var admitted: [Entry] = []
        /// Running texts that left: cancelled by their client or past their deadline, already failed.
        var left: [Int] = []
    }

    /// Where the worker is in its life: loading (warm-up running), ready, or failed (the warm-up's error).
    enum Readiness: Equatable {
        case loading
        case ready
        case failed(String)
    }

    private let cond = NSCondition()
    private var pending: [Entry] = []
    private var running: [Int: Entry] = [:]
    private var cancelled: Set<Int> = []
    private var stopping = false
    private var draining = false
    private var readiness = Readiness.loading
    private var started = false
    private var loopDone = false
    private var nextId = 0
    let maxQueue: Int
    let requestTimeout: Double
    /// Ends a text's stream with an error (never called with the lock held).
    private let failJob: (Job, Error) -> Void
    private let observer: any RuntimeObserver

    init(maxQueue: Int, requestTimeout: Double, observer: any RuntimeObserver, fail: @escaping (Job, Error) -> Void) {
        self.maxQueue = maxQueue
        self.requestTimeout = requestTimeout
        self.observer = observer
        self.failJob = fail
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        cond.lock()
        defer { cond.unlock() }
        return try body()
    }

    var isReady: Bool { locked { readiness == .ready && !draining } }
    var isDraining: Bool { locked { draining } }
    /// Why the warm-up failed (nil while loading, once ready, or when it did not fail).
    var warmUpError: String? {
        if case .failed(let why) = locked({ readiness }) { return why }
        return nil
    }
    var load: (queued: Int, active: Int) { locked { (pending.count, running.count) } }

    /// Runs `body` on a thread of its own, once.
    func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let first = locked { () -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        let t = Thread {
            body()
            self.locked { self.loopDone = true }
        }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
    }

    // MARK: Submission (request handlers)

    /// Queues `count` jobs together (all or none), each made from its id; 503 when draining, full, or
    /// when `admit` (run under the lock with the texts waiting and running) refuses them.
    func enqueue(_ count: Int, admit: (_ pending: [Entry], _ running: [Entry]) throws -> Void = { _, _ in },
                 _ make: (Int) -> Job) throws -> [Int] {
        try locked {
            if draining || stopping { throw RuntimeError.unavailable("the service is shutting down") }
            if pending.count + count > maxQueue {
                throw RuntimeError.overloaded("the queue is full (\(pending.count) texts waiting, at most \(maxQueue))", retryAfter: 2)
            }
            try admit(pending, Array(running.values))
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
    func submit<Item, Element>(_ items: [Item], admit: (_ pending: [Entry], _ running: [Entry]) throws -> Void = { _, _ in },
                               _ make: (Item, AsyncThrowingStream<Element, Error>.Continuation) -> Job) throws
        -> [(id: Int, stream: AsyncThrowingStream<Element, Error>)] {
        var streams: [AsyncThrowingStream<Element, Error>] = []
        let ids = try enqueue(items.count, admit: admit) { id in
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

    /// A client went away: a waiting text fails now; a running one leaves at the worker's next `take`.
    /// Ids that are done already are ignored.
    func cancel(_ id: Int) {
        let waiting: Entry? = locked {
            if let i = pending.firstIndex(where: { $0.id == id }) { return pending.remove(at: i) }
            if running[id] != nil { cancelled.insert(id); cond.signal() }
            return nil
        }
        if let waiting {
            observer.cancelled()
            failJob(waiting.job, CancellationError())
        }
    }

    // MARK: The worker thread

    /// Waits until there is something to do (texts waiting, running, or cancelled), then hands over:
    /// running texts that were cancelled or are past their deadline (failed here), and the waiting texts
    /// `fits` accepts, in queue order (`fits` sees each candidate and the running texts, those admitted
    /// before it included; the first refusal ends the wave, so no text overtakes an earlier one). Waiting
    /// texts past their deadline fail.
    /// Nil once the queue stops: every text waiting or running has failed with 503.
    func take(fits: (_ candidate: Entry, _ running: [Int: Entry]) -> Bool) -> Taken? {
        var failures: [(Job, Error)] = []
        defer { for (job, error) in failures { failJob(job, error) } }
        cond.lock()
        defer { cond.unlock() }
        while pending.isEmpty && running.isEmpty && !stopping { cond.wait() }
        if stopping {
            failures += pending.map { ($0.job, RuntimeError.unavailable("the service shut down before this text started")) }
            failures += running.values.map { ($0.job, RuntimeError.unavailable("the service shut down during generation (drain timeout)")) }
            pending.removeAll()
            running.removeAll()
            return nil
        }
        var taken = Taken()
        let now = DispatchTime.now().uptimeNanoseconds
        for id in cancelled {
            guard let e = running.removeValue(forKey: id) else { continue }
            observer.cancelled()
            failures.append((e.job, CancellationError()))
            taken.left.append(id)
        }
        cancelled.removeAll()
        for (id, e) in running where e.deadline < now {
            running[id] = nil
            failures.append((e.job, RuntimeError.timeout("generation exceeded the request timeout")))
            taken.left.append(id)
        }
        pending.removeAll { e in
            guard e.deadline < now else { return false }
            failures.append((e.job, RuntimeError.timeout("the request waited longer than its timeout")))
            return true
        }
        while var head = pending.first, fits(head, running) {
            pending.removeFirst()
            head.started = now
            running[head.id] = head
            taken.admitted.append(head)
        }
        return taken
    }

    /// The texts running; call under the lock (`withLock`).
    var runningEntries: Dictionary<Int, Entry>.Values { running.values }

    /// A running text (nil once it has left).
    func runningEntry(_ id: Int) -> Entry? { locked { running[id] } }

    /// A running text is done: it leaves the running set (nil when it had left already, cancelled or expired).
    func complete(_ id: Int) -> Entry? {
        locked { running.removeValue(forKey: id) }
    }

    /// A running text failed: it leaves and its stream ends with `error`.
    func fail(_ id: Int, _ error: Error) {
        if let e = complete(id) { failJob(e.job, error) }
    }

    /// Reads or updates worker state kept under the queue's lock (e.g. the scheduler's latency model).
    func withLock<T>(_ body: () throws -> T) rethrows -> T { try locked(body) }

    // MARK: Life cycle

    /// The warm-up is over: ready, or failed with the reason (`/ready` answers 503 and says it).
    func finishWarmUp(_ outcome: Readiness) { locked { readiness = outcome } }

    func setDraining() {
        locked { draining = true; cond.signal() }
    }

    /// Stops at once: what waits or runs fails with `unavailable`, and the thread ends (the library's
    /// summarizer going away). Does not wait for the thread.
    func stop() {
        locked { draining = true; stopping = true; cond.signal() }
    }

    /// Graceful shutdown: refuse work, wait until nothing is queued or running (at most `timeout` seconds),
    /// then stop the thread and wait for it to end. Runs to the end even when its task is cancelled.
    func drain(timeout: Double, logger: Logger, what: String) async {
        setDraining()
        logger.info("draining: finishing in-flight \(what)", metadata: ["timeout_s": "\(timeout)"])
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            let (q, a) = load
            if q == 0 && a == 0 { break }
            await pause(milliseconds: 20)
        }
        locked { stopping = true; cond.signal() }
        while !locked({ loopDone || !started }) { await pause(milliseconds: 10) }
        logger.info("\(what) stopped")
    }
}

/// Sleeps `milliseconds`; a cancelled task does not cut the sleep short into a busy loop (the shutdown
/// paths that use it must run to their end).
func pause(milliseconds: Int) async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) { c.resume() }
    }
}
