import Extractive
import Foundation
import Logging
import ServiceLifecycle

/// Extractive summaries (issue 6) on their own thread, never on Swift's cooperative pool: texts wait in
/// a bounded queue and are summarized one after another (each one embeds all its sentences in one
/// batched encoder pass). Results go back through AsyncThrowingStreams, as the batch scheduler's do.
///
/// As a `Service` it drains on graceful shutdown like `BatchScheduler`: new work is refused, work in
/// flight finishes within `drainTimeout`, then what is left fails with 503.
public final class ExtractiveWorker: Service, @unchecked Sendable {
    public struct Outcome: Sendable {
        public var summary: ExtractiveSummary
        public var queueSeconds: Double
        public var inferenceSeconds: Double
    }

    struct Job {
        let id: Int
        let text: String
        let length: SummaryLength
        let enqueued: UInt64
        let deadline: UInt64
        let continuation: AsyncThrowingStream<Outcome, Error>.Continuation
    }

    public let summarizer: ExtractiveSummarizer
    /// The model name reported in responses.
    public let name: String
    public let maxQueue: Int
    public let requestTimeout: Double
    public let drainTimeout: Double
    let metrics: ServiceMetrics
    let logger: Logger

    private let cond = NSCondition()
    private var pending: [Job] = []
    private var cancelled: Set<Int> = []
    private var running = false
    private var nextId = 0
    private var started = false
    private var stopping = false
    private var loopDone = false
    private var _ready = false
    private var _draining = false

    public init(summarizer: ExtractiveSummarizer, name: String, maxQueue: Int, requestTimeout: Double, drainTimeout: Double,
                metrics: ServiceMetrics, logger: Logger) {
        self.summarizer = summarizer
        self.name = name
        self.maxQueue = maxQueue
        self.requestTimeout = requestTimeout
        self.drainTimeout = drainTimeout
        self.metrics = metrics
        self.logger = logger
    }

    /// True once a warm-up summary has run, until draining starts.
    public var isReady: Bool { cond.lock(); defer { cond.unlock() }; return _ready && !_draining }
    public var isDraining: Bool { cond.lock(); defer { cond.unlock() }; return _draining }
    /// Texts waiting plus the one being summarized.
    public var load: (queued: Int, active: Int) { cond.lock(); defer { cond.unlock() }; return (pending.count, running ? 1 : 0) }

    /// Starts the worker thread (a warm-up first); idempotent.
    public func start() {
        cond.lock()
        defer { cond.unlock() }
        guard !started else { return }
        started = true
        let t = Thread { [self] in self.loop() }
        t.name = "brevity-extractive"
        t.stackSize = 8 << 20
        t.start()
    }

    /// Queues texts together (all or none); each gets a stream that yields one outcome. Throws `APIError`
    /// 503 when the queue is full or the service is draining.
    public func submit(_ items: [(text: String, length: SummaryLength)]) throws -> [(id: Int, result: AsyncThrowingStream<Outcome, Error>)] {
        start()
        cond.lock()
        defer { cond.unlock() }
        if _draining || stopping { throw APIError.unavailable("the service is shutting down") }
        if pending.count + items.count > maxQueue {
            throw APIError.overloaded("the queue is full (\(pending.count) texts waiting, at most \(maxQueue))", retryAfter: 2)
        }
        let now = DispatchTime.now().uptimeNanoseconds
        let deadline = now + UInt64(requestTimeout * 1e9)
        var out: [(Int, AsyncThrowingStream<Outcome, Error>)] = []
        for item in items {
            nextId += 1
            let id = nextId
            let (stream, cont) = AsyncThrowingStream<Outcome, Error>.makeStream()
            cont.onTermination = { [weak self] reason in
                if case .cancelled = reason { self?.cancel(id) }
            }
            pending.append(Job(id: id, text: item.text, length: item.length, enqueued: now, deadline: deadline, continuation: cont))
            out.append((id, stream))
        }
        metrics.queueSize.set(to: Double(pending.count))
        cond.signal()
        return out
    }

    /// Cancels a text that has not started (its client went away); one being summarized finishes.
    public func cancel(_ id: Int) {
        cond.lock()
        cancelled.insert(id)
        cond.signal()
        cond.unlock()
    }

    // MARK: Service

    public func run() async throws {
        start()
        try? await gracefulShutdown()
        setDraining()
        logger.info("draining extractive work", metadata: ["timeout_s": "\(drainTimeout)"])
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(drainTimeout * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            let (q, a) = load
            if q == 0 && a == 0 { break }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        stopLoop()
        while !isLoopDone { try? await Task.sleep(nanoseconds: 10_000_000) }
    }

    /// Refuses new work from now on.
    public func setDraining() {
        cond.lock()
        _draining = true
        cond.signal()
        cond.unlock()
    }

    private func stopLoop() {
        cond.lock()
        stopping = true
        cond.signal()
        cond.unlock()
    }

    private var isLoopDone: Bool { cond.lock(); defer { cond.unlock() }; return loopDone || !started }

    // MARK: The worker thread

    private func loop() {
        warmUp()
        while true {
            cond.lock()
            while pending.isEmpty && !stopping { cond.wait() }
            if stopping {
                let left = pending
                pending.removeAll()
                loopDone = true
                cond.unlock()
                for j in left { j.continuation.finish(throwing: APIError.unavailable("the service shut down before this text started")) }
                return
            }
            let job = pending.removeFirst()
            let wasCancelled = cancelled.remove(job.id) != nil
            running = !wasCancelled
            metrics.queueSize.set(to: Double(pending.count))
            cond.unlock()

            let start = DispatchTime.now().uptimeNanoseconds
            if wasCancelled {
                job.continuation.finish(throwing: CancellationError())
                metrics.disconnects.increment()
                continue
            }
            if job.deadline < start {
                job.continuation.finish(throwing: APIError.timeout("the request waited longer than its timeout"))
            } else {
                let waited = Double(start - job.enqueued) / 1e9
                metrics.queueDuration.record(waited)
                do {
                    let summary = try summarizer.summarize(job.text, length: job.length)
                    let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    metrics.inferenceDuration.record(secs)
                    job.continuation.yield(Outcome(summary: summary, queueSeconds: waited, inferenceSeconds: secs))
                    job.continuation.finish()
                } catch {
                    job.continuation.finish(throwing: error)
                }
            }
            cond.lock()
            running = false
            cond.unlock()
        }
    }

    /// One short summary so the first request does not pay for first-use costs; then ready.
    private func warmUp() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            _ = try summarizer.summarize("Brevity warms up. It embeds two sentences.", length: .sentences(1))
            logger.info("extractive warm-up done", metadata: ["seconds": "\(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)"])
        } catch {
            logger.error("extractive warm-up failed: \(error)")
        }
        cond.lock()
        _ready = true
        cond.unlock()
    }
}
