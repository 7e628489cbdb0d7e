import Foundation
import Generation
import Logging

/// Continuous batching: texts of every request share decoder steps. New texts join between
/// steps (their encoder passes run together), finished and cancelled ones leave. The step loop runs on
/// its own thread, never on Swift's cooperative pool (two threads here) where it would starve the HTTP
/// server; results go back through AsyncThrowingStreams.
///
/// It serves every surface: the service's routes, the library's `Summarizer` and `brevity summarize`.
/// Admission is the caller's policy (`latencyTarget`: the service sheds load, the library waits). On
/// shutdown, `drain()` stops admitting work (`isDraining`), lets the work in flight finish within
/// `drainTimeout`, then fails what is left and stops the thread; `stop()` ends it at once.
public final class BatchScheduler: @unchecked Sendable {
    /// What a submitted text's stream yields.
    public enum Event: Sendable {
        /// The text entered the batch after waiting `queueSeconds`.
        case started(queueSeconds: Double)
        /// The text's tokens so far (greedy and sampling only), decoder start token first.
        case progress([Int])
        /// Generation finished: the sequences, best first, the seconds since `started`, and what it took.
        case finished(sequences: [[Int]], inferenceSeconds: Double, run: TextRun)
    }

    /// What a text's run took inside the batch (for traces): its encoder pass (shared with the texts
    /// admitted with it) and its decoder passes.
    public struct TextRun: Sendable, Equatable {
        /// Seconds of the encoder pass it was in; the rest of its inference seconds decoded.
        public var encodeSeconds = 0.0
        /// Decoder passes it was in, search steps decided (tokens, for a greedy text), and drafted tokens
        /// fed and of those used.
        public var passes = 0, steps = 0, draftedTokens = 0, acceptedTokens = 0

        /// Nothing yet.
        public init() {}

        /// Both runs' figures summed (a chunked text's rounds).
        public func adding(_ o: TextRun) -> TextRun {
            var r = self
            r.encodeSeconds += o.encodeSeconds; r.passes += o.passes; r.steps += o.steps
            r.draftedTokens += o.draftedTokens; r.acceptedTokens += o.acceptedTokens
            return r
        }
    }

    /// A text to decode.
    public struct Item: Sendable {
        /// The encoder's input ids.
        public var inputIds: [Int]
        /// The generation values it decodes with.
        public var config: ResolvedGeneration
        /// Whether its stream hears `progress` after each step.
        public var stream: Bool
        /// Drafted tokens a decoder pass checks for it (0: none); nil takes the scheduler's `draftTokens`.
        public var draftTokens: Int?
        /// A text as the fields say.
        public init(inputIds: [Int], config: ResolvedGeneration, stream: Bool = false, draftTokens: Int? = nil) {
            self.inputIds = inputIds
            self.config = config
            self.stream = stream
            self.draftTokens = draftTokens
        }
    }

    /// A queued text: what to generate and where its events go.
    struct Pending {
        let item: Item
        let continuation: AsyncThrowingStream<Event, Error>.Continuation
        /// When it should be done (uptime seconds) by the latency target; infinity when unbounded.
        let due: Double
        /// Seconds from queueing to its finish as the plan predicted them when it was admitted (nan when
        /// no plan was made: an unbounded target).
        let predicted: Double
    }
    typealias Job = WorkQueue<Pending>.Entry

    /// The model, tokenizer and generation defaults it decodes with.
    public let engine: SummarizationEngine
    /// Decoder rows (texts × beams) at most in one step.
    public let maxBatchRows: Int
    /// Texts decoding together at most.
    public let maxConcurrent: Int
    /// Texts waiting at most; more are refused with `overloaded`.
    public let maxQueue: Int
    /// Seconds a text may wait and run before it fails with `timeout`.
    public let requestTimeout: Double
    /// Seconds `drain()` lets work in flight finish.
    public let drainTimeout: Double
    /// The admission policy: how late an admitted text may finish.
    public let latencyTarget: LatencyTarget
    let observer: any RuntimeObserver
    let logger: Logger
    /// Whether the thread runs a warm-up generation (and seeds the latency model) before taking work.
    let warmsUp: Bool
    /// Where the memory budget comes from; the budget itself is the planner's (`memoryTokens`).
    let memoryChoice: MemoryBudgetChoice
    /// Bytes a budget token holds for this model (`MemoryBudget.bytesPerToken`).
    public let bytesPerToken: Int
    /// Drafted tokens a greedy text's decoder pass checks unless its request says otherwise (0: none):
    /// drafting from the source (`DecodingBatch`), exact by construction. Beam searches draft only when
    /// their request asks.
    public let draftTokens: Int

    let queue: WorkQueue<Pending>
    /// Measured step times, planned lengths and each running text's steps done; read and written under
    /// the queue's lock only (the step thread records, request handlers plan).
    private var planner: AdmissionPlanner
    private var stepsDone: [Int: Int] = [:]
    /// Tokens each streaming text has been sent (the step thread's alone): progress goes out when it grows.
    private var streamed: [Int: Int] = [:]
    /// Seconds of the encoder pass each running text was in (the step loop's alone).
    private var encodeSeconds: [Int: Double] = [:]

    /// A scheduler with the service's limits and admission policy; `observer` hears its events, `warmUp`
    /// runs a first generation (and measures steps for the latency plan) before it takes work.
    public init(engine: SummarizationEngine, maxBatchRows: Int, maxConcurrent: Int, maxQueue: Int,
                requestTimeout: Double, drainTimeout: Double, latencyTarget: LatencyTarget = .default,
                observer: any RuntimeObserver = SilentObserver(), logger: Logger, warmUp: Bool = true,
                memoryBudget: MemoryBudgetChoice = .none, draftTokens: Int = RuntimeDefaults.draftTokens) {
        self.draftTokens = draftTokens
        self.engine = engine
        self.maxBatchRows = maxBatchRows
        self.maxConcurrent = maxConcurrent
        self.maxQueue = maxQueue
        self.requestTimeout = requestTimeout
        self.drainTimeout = drainTimeout
        self.latencyTarget = latencyTarget
        self.observer = observer
        self.logger = logger
        self.warmsUp = warmUp
        memoryChoice = memoryBudget
        // a cross-attention source token holds a key and a value per decoder layer plus its encoder row,
        // a decoder position a key and a value per layer: the larger of the two, counted for both
        let cache = engine.model.makeCache(capacity: 1)
        bytesPerToken = cache.bytesPerPosition + cache.bytesPerPosition / max(1, 2 * cache.layerCount)
        planner = AdmissionPlanner(maxRows: maxBatchRows, maxConcurrent: maxConcurrent, target: latencyTarget)
        if case .tokens(let n) = memoryBudget { planner.memoryTokens = n }
        queue = WorkQueue(maxQueue: maxQueue, requestTimeout: requestTimeout, observer: observer) { job, error in
            job.continuation.finish(throwing: error)
        }
    }

    /// A runtime for a program's own calls (the library's `Summarizer`, `brevity summarize`): it waits
    /// instead of shedding, has no request timeout and no warm-up, and logs warnings only.
    public convenience init(engine: SummarizationEngine, maxConcurrent: Int, maxBatchRows: Int,
                            draftTokens: Int = RuntimeDefaults.draftTokens) {
        self.init(engine: engine, maxBatchRows: max(1, maxBatchRows), maxConcurrent: max(1, maxConcurrent), maxQueue: RuntimeDefaults.unboundedQueue,
                  requestTimeout: RuntimeDefaults.noTimeout, drainTimeout: 0, latencyTarget: .unbounded, logger: RuntimeDefaults.quietLogger,
                  warmUp: false, draftTokens: draftTokens)
    }

    /// True once the model is loaded and a warm-up generation has run, until draining starts.
    public var isReady: Bool { queue.isReady }
    /// True once draining started: new work is refused.
    public var isDraining: Bool { queue.isDraining }
    /// Why the service is not ready when its warm-up failed (nil otherwise).
    public var warmUpError: String? { queue.warmUpError }
    /// Texts waiting plus texts decoding.
    public var load: (queued: Int, active: Int) { queue.load }

    /// The memory budget (nil: none, or not yet derived from the container's limit) and what the texts
    /// decoding hold of it, in bytes.
    public var memory: (budgetBytes: Int?, usedBytes: Int) {
        queue.withLock {
            (planner.memoryTokens.map { $0 * bytesPerToken },
             queue.runningEntries.reduce(0) { $0 + memoryTokens($1.item) } * bytesPerToken)
        }
    }

    /// What a text holds while it decodes (`MemoryBudget.tokens`).
    func memoryTokens(_ item: Item) -> Int {
        MemoryBudget.tokens(rows: item.config.numBeams, maxLength: item.config.maxLength, sourceTokens: item.inputIds.count)
    }

    /// Starts the step thread (a warm-up generation first); idempotent.
    public func start() {
        queue.start(name: "brevity-scheduler") { [self] in loop() }
    }

    /// Queues texts together (all or none); each gets its own event stream. Throws `RuntimeError`:
    /// `unavailable` when draining, `overloaded` when the queue is full or the texts could not be answered
    /// within their latency target (with when the batch is expected to have room).
    public func submit(_ items: [Item]) throws -> [(id: Int, events: AsyncThrowingStream<Event, Error>)] {
        start()
        var due = Double.infinity, predicted: [Double] = [], made = 0
        let submitted: [(id: Int, stream: AsyncThrowingStream<Event, Error>)] = try queue.submit(items, admit: { pending, running in
            (due, predicted) = try admit(items, pending: pending, running: running)
        }) { item, cont in
            defer { made += 1 }
            return Pending(item: item, continuation: cont, due: due, predicted: made < predicted.count ? predicted[made] : .nan)
        }
        return submitted.map { ($0.id, $0.stream) }
    }

    /// Cancels a text (its client went away): it leaves the queue, or the batch before the next step.
    public func cancel(_ id: Int) { queue.cancel(id) }

    // MARK: Admission (under the queue's lock)

    /// The time (uptime seconds) new texts should be done by; throws `overloaded` when the plan says they
    /// would not be, unless nothing else is waiting or running (an idle server always takes work).
    private func admit(_ items: [Item], pending: [Job], running: [Job]) throws -> (due: Double, predicted: [Double]) {
        if let budget = planner.memoryTokens, let big = items.map(memoryTokens).max(), big > budget {
            throw RuntimeError.unavailable("a text needs \(big) tokens of memory (num_beams x max_length + its input tokens), more than "
                                           + "the whole memory budget of \(budget) tokens (--max-batch-tokens); ask for fewer beams or a "
                                           + "smaller max_length, or send a shorter text")
        }
        let now = Self.uptime()
        let new = items.map { planned($0, steps: 0, encode: true, due: .infinity) }
        let budget = planner.budget(new)
        guard budget.isFinite else { return (.infinity, []) }
        // plan to finish within 90% of the target: the plan cannot see the HTTP work beside the decoder
        // nor the step-to-step variance, and the target is the promise
        let due = now + budget * Self.planningShare
        if pending.isEmpty && running.isEmpty {
            let alone = planner.finishTimes(running: [], waiting: [], new: new, now: now)
            logger.debug("admitted on an idle server", metadata: ["budget_s": "\(budget)"])
            return (due, alone.map { $0 - now })
        }
        let finish = planner.finishTimes(running: running.map { planned($0.item, steps: stepsDone[$0.id] ?? 0, encode: false, due: $0.job.due) },
                                         waiting: pending.map { planned($0.item, steps: 0, encode: true, due: $0.job.due) },
                                         new: new.map { var text = $0; text.due = due; return text },
                                         now: now)
        let last = finish.max() ?? now
        logger.debug("admission plan", metadata: ["budget_s": "\(budget)", "expected_s": "\(last - now)",
                                                  "waiting": "\(pending.count)", "running": "\(running.count)"])
        if last > due {
            observer.shed()
            let retry = min(3600, max(1, Int((last - due).rounded(.up))))
            throw RuntimeError.overloaded(String(format: "the server cannot answer this request within its latency target of %.1f s "
                                             + "(about %.1f s expected at the current load); retry in %d s", budget, last - now, retry),
                                      retryAfter: retry)
        }
        return (due, finish.map { $0 - now })
    }

    /// A text for the plan: its rows, the steps it is expected to take from here, and its input to encode.
    private func planned(_ item: Item, steps done: Int, encode: Bool, due: Double) -> PlannedText {
        let allowed = Double(max(1, item.config.maxLength - 1))
        return PlannedText(rows: max(1, item.config.numBeams),
                           steps: max(1, (allowed * planner.model.plannedFraction).rounded(.up) - Double(done)),
                           encodeTokens: encode ? item.inputIds.count : 0, due: due, memory: memoryTokens(item))
    }

    static func uptime() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// The share of its latency target a request is planned to finish within (the rest is headroom).
    static let planningShare = 0.9

    // MARK: Life cycle

    /// Graceful shutdown: refuses new work, lets what is queued and running finish within `drainTimeout`,
    /// then fails what is left and waits for the thread to end. Runs to the end even when cancelled.
    public func drain() async {
        await queue.drain(timeout: drainTimeout, logger: logger, what: "generation")
    }

    /// Refuses new work from now on (the service's /ready then answers 503).
    public func setDraining() { queue.setDraining() }

    /// Ends at once: what waits or runs fails with `unavailable`; the thread ends after its current step.
    public func stop() { queue.stop() }

    // MARK: The step loop (its own thread)

    private func loop() {
        let outcome = warmUp()
        if case .ready = outcome { deriveMemoryBudget() }
        queue.finishWarmUp(outcome)
        if case .failed = outcome { return }
        var batch = DecodingBatch(model: engine.model)
        batch.draftTokens = draftTokens
        while let taken = queue.take(fits: admits) {
            // 1. texts that left (cancelled, expired) leave the batch; their streams have ended
            for id in taken.left {
                batch.drop(id: id)
                queue.withLock { stepsDone[id] = nil }
                streamed[id] = nil
                encodeSeconds[id] = nil
                logger.debug("text left the batch", metadata: ["text_id": "\(id)"])
            }
            // 2. new texts: one encoder pass for all of them
            if !taken.admitted.isEmpty { encode(taken.admitted, into: &batch) }
            // 3. one decoder step for everyone
            if !batch.isEmpty { step(&batch) }
        }
    }

    /// The policy `take` applies (under the lock): the latency plan over the texts running (those just
    /// admitted included), within the row and concurrency limits.
    private func admits(_ candidate: Job, running: [Int: Job]) -> Bool {
        let plan = running.values.map { planned($0.item, steps: stepsDone[$0.id] ?? 0, encode: stepsDone[$0.id] == nil, due: $0.job.due) }
        return planner.fits(planned(candidate.item, steps: 0, encode: true, due: candidate.job.due), running: plan, now: Self.uptime())
    }

    private func encode(_ admitted: [Job], into batch: inout DecodingBatch) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            try batch.add(admitted.map {
                GenerationRequest(id: $0.id, inputIds: $0.item.inputIds, config: $0.item.config, draftTokens: $0.item.draftTokens)
            })
        } catch {
            for j in admitted { queue.fail(j.id, RuntimeError.invalid(field: "texts", "\(error)")) }
            return
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        for j in admitted { encodeSeconds[j.id] = Double(t1 - t0) / 1e9 }
        let alone = batch.count == 1
        queue.withLock {
            planner.recordEncode(tokens: admitted.reduce(0) { $0 + $1.item.inputIds.count }, seconds: Double(t1 - t0) / 1e9, alone: alone)
            for j in admitted { stepsDone[j.id] = 0 }
        }
        for j in admitted {
            let waited = Double(j.started - j.enqueued) / 1e9
            observer.started(waited: waited)
            j.continuation.yield(.started(queueSeconds: waited))
        }
    }

    private func step(_ batch: inout DecodingBatch) {
        let rows = batch.rowCount
        let alone = batch.count == 1
        observer.stepped(rows: rows)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let before = batch.draftStatistics
        let finished = batch.step()
        let t = DispatchTime.now().uptimeNanoseconds
        let pass = batch.draftStatistics.since(before)
        observer.decoded(texts: pass.textPasses, steps: pass.steps, drafted: pass.proposed, used: pass.accepted)
        let ids = batch.ids
        // finished texts leave the running set (nil: cancelled or expired meanwhile)
        let done = finished.map { (result: $0, entry: queue.complete($0.id)) }
        queue.withLock {
            planner.recordStep(rows: rows, seconds: Double(t - t0) / 1e9, alone: alone)
            for id in ids { stepsDone[id, default: 0] += 1 }
            for d in done {
                let used = (stepsDone.removeValue(forKey: d.result.id) ?? 0) + 1
                if let j = d.entry {
                    planner.model.recordLength(used: used, allowed: j.item.config.maxLength - 1)
                    planner.recordOutcome(predicted: j.job.predicted, actual: Double(t - j.enqueued) / 1e9)
                }
            }
        }
        for d in done {
            guard let j = d.entry else { continue }
            let r = d.result
            logger.debug("text finished", metadata: ["text_id": "\(r.id)", "seconds": "\(Double(t - j.enqueued) / 1e9)",
                                                     "late_s": "\(Double(t) / 1e9 - j.job.due)"])
            let seconds = Double(t - j.started) / 1e9
            observer.finished(seconds: seconds)
            var run = TextRun()
            run.encodeSeconds = encodeSeconds.removeValue(forKey: r.id) ?? 0
            run.passes = r.statistics.textPasses
            run.steps = r.statistics.steps
            run.draftedTokens = r.statistics.proposed
            run.acceptedTokens = r.statistics.accepted
            j.continuation.yield(.finished(sequences: r.sequences, inferenceSeconds: seconds, run: run))
            j.continuation.finish()
        }
        for d in done { streamed[d.result.id] = nil }
        // a beam search's settled tokens may stay the same for many steps: only news goes out
        for id in ids {
            guard let j = queue.runningEntry(id), j.item.stream, let p = batch.progress(id: id), p.count > streamed[id, default: 1] else { continue }
            streamed[id] = p.count
            j.continuation.yield(.progress(p))
        }
    }

    /// `MemoryBudgetChoice.container`: the container's limit less what the process holds now (weights
    /// loaded and touched by the warm-up) less the fixed overhead; logged either way.
    private func deriveMemoryBudget() {
        switch memoryChoice {
        case .none: return
        case .tokens(let n):
            logger.info("memory budget", metadata: ["tokens": "\(n)", "bytes": "\(n * bytesPerToken)", "source": "--max-batch-tokens"])
        case .container:
            guard let limit = MemoryBudget.containerLimitBytes() else {
                logger.info("no container memory limit: no memory budget (set --max-batch-tokens for one)")
                return
            }
            let resident = MemoryBudget.residentBytes() ?? 0
            let budget = MemoryBudget.derived(limitBytes: limit, residentBytes: resident, bytesPerToken: bytesPerToken)
            queue.withLock { planner.memoryTokens = budget.tokens }
            let meta: Logger.Metadata = ["tokens": "\(budget.tokens)", "bytes": "\(budget.bytes)", "container_limit": "\(limit)",
                                         "resident": "\(resident)", "overhead": "\(MemoryBudget.overheadBytes)"]
            if budget.tokens == 0 {
                logger.error("the container's memory limit leaves nothing for texts beyond the weights; every text is refused", metadata: meta)
            } else {
                logger.info("memory budget from the container's limit", metadata: meta)
            }
        }
    }

    /// A first generation so the first request does not pay for first-use costs, then a few measured
    /// steps at one row and at a wider batch to seed the latency model; the outcome decides readiness.
    private func warmUp() -> WorkQueue<Pending>.Readiness {
        guard warmsUp else { return .ready }
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            var req = GenerationConfig()
            req.maxNewTokens = 4
            req.minNewTokens = 4
            req.minLength = 0
            req.numBeams = 1
            req.doSample = false
            let config = try engine.resolve(req)
            let ids = try engine.inputIds("Brevity warms up.").ids
            _ = try generate(model: engine.model, inputs: [ids], configs: [config], maxBatchSize: 1)
            for rows in Set([1, min(8, maxBatchRows)]).sorted() {
                var batch = DecodingBatch(model: engine.model)
                let e0 = DispatchTime.now().uptimeNanoseconds
                try batch.add((0..<rows).map { GenerationRequest(id: $0, inputIds: ids, config: config) })
                let e1 = DispatchTime.now().uptimeNanoseconds
                queue.withLock { planner.recordEncode(tokens: rows * ids.count, seconds: Double(e1 - e0) / 1e9, alone: true) }
                for _ in 0..<3 where !batch.isEmpty {
                    let s0 = DispatchTime.now().uptimeNanoseconds
                    let n = batch.rowCount
                    _ = batch.step()
                    let s1 = DispatchTime.now().uptimeNanoseconds
                    queue.withLock { planner.recordStep(rows: n, seconds: Double(s1 - s0) / 1e9, alone: true) }
                }
            }
            logger.info("warm-up generation done", metadata: [
                "seconds": "\(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)",
                "step_ms_1_row": "\(queue.withLock { planner.model.stepSeconds(rows: 1) } * 1000)",
                "latency_target": "\(latencyTarget.description)",
            ])
            return .ready
        } catch {
            logger.error("warm-up generation failed; the service stays unready", metadata: ["error": "\(error)"])
            return .failed("the warm-up generation failed: \(error)")
        }
    }
}

extension WorkQueue.Entry where Job == BatchScheduler.Pending {
    var item: BatchScheduler.Item { job.item }
    var continuation: AsyncThrowingStream<BatchScheduler.Event, Error>.Continuation { job.continuation }
    /// Decoder rows the text takes: a beam search widens to num_beams rows.
    var rows: Int { max(1, job.item.config.numBeams) }
}
