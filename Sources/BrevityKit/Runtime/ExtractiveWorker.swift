import Extractive
import Foundation
import Logging

/// Extractive summaries on their own thread, never on Swift's cooperative pool: texts wait in
/// a bounded queue and are summarized one after another (each one embeds all its sentences in one
/// batched encoder pass). Results go back through AsyncThrowingStreams, as the batch scheduler's do.
///
/// Its life cycle is `BatchScheduler`'s: `drain()` refuses new work, lets work in flight finish within
/// `drainTimeout`, then fails what is left with `unavailable`; `stop()` ends it at once.
public final class ExtractiveWorker: @unchecked Sendable {
    /// One text's summary and its times.
    public struct Outcome: Sendable {
        /// The chosen sentences and their text.
        public var summary: ExtractiveSummary
        /// Seconds the text waited in the queue.
        public var queueSeconds: Double
        /// Seconds its summary took.
        public var inferenceSeconds: Double
    }

    /// A queued text: what to summarize and where its outcome goes.
    struct Pending {
        let text: String
        let length: SummaryLength
        let strategy: ExtractiveStrategy
        let continuation: AsyncThrowingStream<Outcome, Error>.Continuation
    }

    /// The sentence-embedding summarizer it runs.
    public let summarizer: ExtractiveSummarizer
    /// The model name reported in responses.
    public let name: String
    /// Seconds `drain()` lets work in flight finish.
    public let drainTimeout: Double
    let observer: any RuntimeObserver
    let logger: Logger
    let warmsUp: Bool
    let queue: WorkQueue<Pending>

    /// A worker with the service's limits; `observer` hears its events, `warmUp` runs a first summary
    /// before it takes work.
    public init(summarizer: ExtractiveSummarizer, name: String, maxQueue: Int, requestTimeout: Double, drainTimeout: Double,
                observer: any RuntimeObserver = SilentObserver(), logger: Logger, warmUp: Bool = true) {
        self.summarizer = summarizer
        self.name = name
        self.drainTimeout = drainTimeout
        self.observer = observer
        self.logger = logger
        self.warmsUp = warmUp
        queue = WorkQueue(maxQueue: maxQueue, requestTimeout: requestTimeout, observer: observer) { job, error in
            job.continuation.finish(throwing: error)
        }
    }

    /// A worker for a program's own calls (the library's `Summarizer`): no request timeout, no warm-up,
    /// warnings only in the log.
    public convenience init(summarizer: ExtractiveSummarizer, name: String) {
        self.init(summarizer: summarizer, name: name, maxQueue: RuntimeDefaults.unboundedQueue, requestTimeout: RuntimeDefaults.noTimeout,
                  drainTimeout: 0, logger: RuntimeDefaults.quietLogger, warmUp: false)
    }

    /// True once a warm-up summary has run, until draining starts.
    public var isReady: Bool { queue.isReady }
    /// True once draining started: new work is refused.
    public var isDraining: Bool { queue.isDraining }
    /// Why the service is not ready when its warm-up failed (nil otherwise).
    public var warmUpError: String? { queue.warmUpError }
    /// Texts waiting plus the one being summarized.
    public var load: (queued: Int, active: Int) { queue.load }

    /// Starts the worker thread (a warm-up first); idempotent.
    public func start() {
        queue.start(name: "brevity-extractive") { [self] in loop() }
    }

    /// Queues texts together (all or none); each gets a stream that yields one outcome. Throws `RuntimeError`
    /// (`overloaded`, `unavailable`) when the queue is full or the worker is draining.
    public func submit(_ items: [(text: String, length: SummaryLength)], strategy: ExtractiveStrategy = .default) throws -> [(id: Int, result: AsyncThrowingStream<Outcome, Error>)] {
        start()
        let submitted: [(id: Int, stream: AsyncThrowingStream<Outcome, Error>)] = try queue.submit(items) { item, cont in
            Pending(text: item.text, length: item.length, strategy: strategy, continuation: cont)
        }
        return submitted.map { ($0.id, $0.stream) }
    }

    /// Cancels a text that has not started (its client went away); one being summarized finishes.
    public func cancel(_ id: Int) { queue.cancel(id) }

    // MARK: Life cycle

    /// Graceful shutdown, as `BatchScheduler.drain()`.
    public func drain() async {
        await queue.drain(timeout: drainTimeout, logger: logger, what: "extractive work")
    }

    /// Refuses new work from now on.
    public func setDraining() { queue.setDraining() }

    /// Ends at once: what waits fails with `unavailable`; the text being summarized finishes.
    public func stop() { queue.stop() }

    // MARK: The worker thread

    private func loop() {
        let outcome = warmUp()
        queue.finishWarmUp(outcome)
        if case .failed = outcome { return }
        // one text at a time, in queue order
        while let taken = queue.take(fits: { _, running in running.isEmpty }) {
            for entry in taken.admitted { summarize(entry) }
        }
    }

    private func summarize(_ entry: WorkQueue<Pending>.Entry) {
        let job = entry.job
        let waited = Double(entry.started - entry.enqueued) / 1e9
        observer.started(waited: waited)
        do {
            let summary = try summarizer.summarize(job.text, length: job.length, strategy: job.strategy)
            let secs = Double(DispatchTime.now().uptimeNanoseconds - entry.started) / 1e9
            observer.finished(seconds: secs)
            guard queue.complete(entry.id) != nil else { return }
            job.continuation.yield(Outcome(summary: summary, queueSeconds: waited, inferenceSeconds: secs))
            job.continuation.finish()
        } catch {
            queue.fail(entry.id, error)
        }
    }

    /// One short summary so the first request does not pay for first-use costs; the outcome decides readiness.
    private func warmUp() -> WorkQueue<Pending>.Readiness {
        guard warmsUp else { return .ready }
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            _ = try summarizer.summarize("Brevity warms up. It embeds two sentences.", length: .sentences(1), strategy: .centrality)
            logger.info("extractive warm-up done", metadata: ["seconds": "\(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)"])
            return .ready
        } catch {
            logger.error("extractive warm-up failed; the service stays unready", metadata: ["error": "\(error)"])
            return .failed("the extractive warm-up failed: \(error)")
        }
    }
}
