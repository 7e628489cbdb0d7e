import BrevityKit
import Logging
import ServiceLifecycle

/// A runtime worker (the batch scheduler, the extractive worker) as a ServiceLifecycle service: it runs
/// until graceful shutdown (SIGTERM), then drains: new work is refused, work in flight finishes within the
/// worker's drain timeout, what is left fails with 503.
struct WorkerService: Service {
    let name: String
    let start: @Sendable () -> Void
    let drain: @Sendable () async -> Void
    let logger: Logger

    init(_ scheduler: BatchScheduler, logger: Logger) {
        name = "scheduler"
        start = { scheduler.start() }
        drain = { await scheduler.drain() }
        self.logger = logger
    }

    init(_ worker: ExtractiveWorker, logger: Logger) {
        name = "extractive worker"
        start = { worker.start() }
        drain = { await worker.drain() }
        self.logger = logger
    }

    func run() async throws {
        start()
        do {
            try await gracefulShutdown()
        } catch {
            logger.info("\(name) task cancelled before a graceful shutdown; draining now", metadata: ["error": "\(error)"])
        }
        await drain()
    }
}
