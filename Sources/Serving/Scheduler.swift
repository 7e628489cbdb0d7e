import Foundation
import Generation
import Logging
import ServiceLifecycle

/// Continuous batching (issue 4): texts of every request share decoder steps. New texts join between
/// steps (their encoder passes run together), finished and cancelled ones leave. The step loop runs on
/// its own thread, never on Swift's cooperative pool (two threads here) where it would starve the HTTP
/// server; results go back through AsyncThrowingStreams.
///
/// As a `Service` it drains on graceful shutdown: it stops admitting work (`isDraining`), lets the work in
/// flight finish within `drainTimeout`, then fails what is left and stops the thread.
public final class BatchScheduler: Service, @unchecked Sendable {
    public enum Event: Sendable {
        /// The text entered the batch after waiting `queueSeconds`.
        case started(queueSeconds: Double)
        /// The text's tokens so far (greedy and sampling only), decoder start token first.
        case progress([Int])
        /// Generation finished: the sequences, best first, and the seconds since `started`.
        case finished(sequences: [[Int]], inferenceSeconds: Double)
    }

    public struct Item: Sendable {
        public var inputIds: [Int]
        public var config: ResolvedGeneration
        public var stream: Bool
        public init(inputIds: [Int], config: ResolvedGeneration, stream: Bool = false) {
            self.inputIds = inputIds
            self.config = config
            self.stream = stream
        }
    }

    /// A queued text: what to generate and where its events go.
    struct Pending {
        let item: Item
        let continuation: AsyncThrowingStream<Event, Error>.Continuation
    }
    typealias Job = WorkQueue<Pending>.Entry

    public let engine: SummarizationEngine
    public let maxBatchRows: Int
    public let maxConcurrent: Int
    public let maxQueue: Int
    public let requestTimeout: Double
    public let drainTimeout: Double
    let metrics: ServiceMetrics
    let logger: Logger

    let queue: WorkQueue<Pending>

    public init(engine: SummarizationEngine, maxBatchRows: Int, maxConcurrent: Int, maxQueue: Int,
                requestTimeout: Double, drainTimeout: Double, metrics: ServiceMetrics, logger: Logger) {
        self.engine = engine
        self.maxBatchRows = maxBatchRows
        self.maxConcurrent = maxConcurrent
        self.maxQueue = maxQueue
        self.requestTimeout = requestTimeout
        self.drainTimeout = drainTimeout
        self.metrics = metrics
        self.logger = logger
        queue = WorkQueue(maxQueue: maxQueue, requestTimeout: requestTimeout)
    }

    /// True once the model is loaded and a warm-up generation has run, until draining starts.
    public var isReady: Bool { queue.isReady }
    public var isDraining: Bool { queue.isDraining }
    /// Texts waiting plus texts decoding.
    public var load: (queued: Int, active: Int) { queue.load }

    /// Starts the step thread (a warm-up generation first); idempotent.
    public func start() {
        queue.start(name: "brevity-scheduler") { [self] in loop() }
    }

    /// Queues texts together (all or none); each gets its own event stream. Throws `APIError` 503 when the
    /// queue is full or the service is draining.
    public func submit(_ items: [Item]) throws -> [(id: Int, events: AsyncThrowingStream<Event, Error>)] {
        start()
        let submitted: [(id: Int, stream: AsyncThrowingStream<Event, Error>)] = try queue.submit(items) { item, cont in
            Pending(item: item, continuation: cont)
        }
        return submitted.map { ($0.id, $0.stream) }
    }

    /// Cancels a text (its client went away): it leaves the queue, or the batch before the next step.
    public func cancel(_ id: Int) { queue.cancel(id) }

    // MARK: Service

    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await queue.drain(timeout: drainTimeout, logger: logger, what: "generation")
    }

    /// Refuses new work from now on; /ready answers 503.
    public func setDraining() { queue.setDraining() }

    // MARK: The step loop (its own thread)

    private func loop() {
        warmUp()
        var batch = DecodingBatch(model: engine.model)
        var jobs: [Int: (job: Job, startedAt: UInt64)] = [:]
        while true {
            // 1. take what is waiting, within the limits
            let q = queue
            q.cond.lock()
            while q.pending.isEmpty && jobs.isEmpty && q.cancelled.isEmpty && !q.stopping { q.cond.wait() }
            if q.stopping {
                let left = q.pending
                q.pending.removeAll()
                q.cond.unlock()
                for j in left { j.continuation.finish(throwing: APIError.unavailable("the service shut down before this text started")) }
                for (_, j) in jobs { j.job.continuation.finish(throwing: APIError.unavailable("the service shut down during generation (drain timeout)")) }
                break
            }
            let toCancel = q.cancelled
            q.cancelled.removeAll()
            q.pending.removeAll { j in
                guard toCancel.contains(j.id) else { return false }
                j.continuation.finish(throwing: CancellationError())
                return true
            }
            var rows = jobs.values.reduce(0) { $0 + $1.job.rows }   // a beam search widens to num_beams rows
            var admitted: [Job] = []
            while let j = q.pending.first, jobs.count + admitted.count < maxConcurrent,
                  rows + j.rows <= maxBatchRows || (jobs.isEmpty && admitted.isEmpty) {
                q.pending.removeFirst()
                admitted.append(j)
                rows += j.rows
            }
            q.active = jobs.count + admitted.count
            q.cond.unlock()

            // 2. cancelled and expired texts leave the batch
            let now = DispatchTime.now().uptimeNanoseconds
            for id in toCancel where jobs[id] != nil {
                batch.drop(id: id)
                jobs[id]!.job.continuation.finish(throwing: CancellationError())
                jobs[id] = nil
                metrics.disconnects.increment()
                logger.debug("cancelled text left the batch", metadata: ["text_id": "\(id)"])
            }
            for (id, j) in jobs where j.job.deadline < now {
                batch.drop(id: id)
                j.job.continuation.finish(throwing: APIError.timeout("generation exceeded the request timeout"))
                jobs[id] = nil
            }
            var live: [Job] = []
            for j in admitted {
                if j.deadline < now {
                    j.continuation.finish(throwing: APIError.timeout("the request waited longer than its timeout"))
                } else {
                    live.append(j)
                }
            }

            // 3. new texts: one encoder pass for all of them
            if !live.isEmpty {
                do {
                    try batch.add(live.map { GenerationRequest(id: $0.id, inputIds: $0.item.inputIds, config: $0.item.config) })
                    for j in live {
                        let waited = Double(now - j.enqueued) / 1e9
                        metrics.queueDuration.record(waited)
                        j.continuation.yield(.started(queueSeconds: waited))
                        jobs[j.id] = (j, now)
                    }
                } catch {
                    for j in live { j.continuation.finish(throwing: APIError.invalid("texts", "\(error)")) }
                }
            }

            // 4. one decoder step for everyone
            if !batch.isEmpty {
                metrics.batchSize.record(Double(batch.rowCount))
                let finished = batch.step()
                let t = DispatchTime.now().uptimeNanoseconds
                for r in finished {
                    guard let j = jobs.removeValue(forKey: r.id) else { continue }
                    j.job.continuation.yield(.finished(sequences: r.sequences, inferenceSeconds: Double(t - j.startedAt) / 1e9))
                    j.job.continuation.finish()
                }
                for (id, j) in jobs where j.job.item.stream {
                    if let p = batch.progress(id: id) { j.job.continuation.yield(.progress(p)) }
                }
            }
            q.locked { q.active = jobs.count }
        }
    }

    /// One short generation so the first request does not pay for first-use costs; then ready.
    private func warmUp() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            var req = GenerationConfig()
            req.maxNewTokens = 3
            req.minLength = 0
            req.minNewTokens = 0
            req.numBeams = 1
            req.doSample = false
            let config = try engine.resolve(req)
            let ids = try engine.inputIds("Brevity warms up.").ids
            _ = try generate(model: engine.model, inputs: [ids], configs: [config], maxBatchSize: 1)
            logger.info("warm-up generation done", metadata: ["seconds": "\(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)"])
        } catch {
            logger.error("warm-up generation failed: \(error)")
        }
        queue.setReady()
    }
}

extension WorkQueue.Entry where Job == BatchScheduler.Pending {
    var item: BatchScheduler.Item { job.item }
    var continuation: AsyncThrowingStream<BatchScheduler.Event, Error>.Continuation { job.continuation }
    /// Decoder rows the text takes: a beam search widens to num_beams rows.
    var rows: Int { max(1, job.item.config.numBeams) }
}
