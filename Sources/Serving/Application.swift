import BrevityKit
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Readiness over the workers: ready when every one is; draining as soon as one is.
struct ServiceState: Sendable {
    let scheduler: BatchScheduler?
    let worker: ExtractiveWorker?
    var isReady: Bool { (scheduler?.isReady ?? true) && (worker?.isReady ?? true) && !isDraining }
    var isDraining: Bool { (scheduler?.isDraining ?? false) || (worker?.isDraining ?? false) }
    var queued: Int { (scheduler?.load.queued ?? 0) + (worker?.load.queued ?? 0) }
    /// The batch scheduler's memory budget and use (the extractive worker holds one text at a time).
    var memory: (budgetBytes: Int?, usedBytes: Int) { scheduler?.memory ?? (nil, 0) }
    /// Why a worker's warm-up failed (the service then stays unready), nil when none did.
    var warmUpError: String? {
        let errors = [scheduler?.warmUpError, worker?.warmUpError].compactMap { $0 }
        return errors.isEmpty ? nil : errors.joined(separator: "; ")
    }
    /// Why the service is not ready: draining, a failed warm-up, or still loading.
    var notReadyReason: String {
        if isDraining { return "draining" }
        return warmUpError ?? "loading"
    }
}

/// The service's routes over its models and their workers; shared by `brevity serve` and the tests.
/// `services` are the workers, to run after the app in a ServiceGroup (so on SIGTERM they drain first).
public func buildApplication(config: ServerConfig, models: ServingModels, logger: Logger? = nil)
    -> (app: some ApplicationProtocol, services: [any Service], scheduler: BatchScheduler?, worker: ExtractiveWorker?, metrics: ServiceMetrics) {
    var log = logger ?? Logger(label: "brevity")
    log.logLevel = config.logLevel
    let metrics = ServiceMetrics()
    let scheduler = models.abstractive.map {
        BatchScheduler(engine: $0, maxBatchRows: config.maxBatchSize, maxConcurrent: config.maxConcurrentBatch,
                       maxQueue: config.maxQueue, requestTimeout: config.requestTimeout,
                       drainTimeout: config.drainTimeout, latencyTarget: config.latencyTarget, observer: metrics, logger: log,
                       memoryBudget: config.maxBatchTokens.map { .tokens($0) } ?? .container, draftTokens: config.draftTokens)
    }
    let worker = models.extractive.map {
        ExtractiveWorker(summarizer: $0.summarizer, name: $0.name, maxQueue: config.maxQueue, requestTimeout: config.requestTimeout,
                         drainTimeout: config.drainTimeout, observer: metrics, logger: log)
    }
    let state = ServiceState(scheduler: scheduler, worker: worker)
    let device = models.device
    let router = Router(context: BrevityContext.self)
    router.middlewares.add(ObservabilityMiddleware(metrics: metrics, logger: log))
    // traces only when an OTLP endpoint is configured: otherwise no middleware, no cost
    let exporter = config.tracing.map { SpanExporter(config: $0, logger: log) }
    if let exporter { router.middlewares.add(TracingMiddleware(exporter: exporter)) }
    if !config.corsOrigins.isEmpty { router.middlewares.add(CORS(origins: config.corsOrigins)) }
    router.middlewares.add(MethodNotAllowedMiddleware(routes: [
        "/": [.get, .post], "/health": [.get], "/ready": [.get], "/metrics": [.get], "/openapi.json": [.get], "/docs": [.get],
        "/summarize": [.post], "/summarize/stream": [.post],
    ]))

    let health = HealthBody(
        status: "ok", model: models.defaultName, device: device, mode: models.defaultMode.rawValue, modes: models.modes.map(\.rawValue),
        models: .init(abstractive: models.abstractive?.name, extractive: models.extractive?.name), reason: models.reason,
        dtype: models.dtype, cpuKernels: RuntimeFacts.cpuKernels, cpuProducts: RuntimeFacts.cpuProducts(dtype: models.dtype),
        supportedModelTypes: RuntimeFacts.supportedModelTypes,
        deviceReason: models.abstractive?.deviceReason ?? (config.deviceReason.isEmpty ? nil : config.deviceReason),
        gpu: models.gpuName, ready: false, memoryBudgetBytes: Nullable(value: nil), memoryUsedBytes: 0, warmupError: nil)
    // /health stays 200 while the process lives (a liveness probe); a failed warm-up shows in "status"
    // ("degraded") and "warmup_error", and /ready answers 503 with the same reason.
    router.get("health") { _, _ in
        var body = health
        body.ready = state.isReady
        // the memory budget and what the texts decoding hold of it (null: no budget)
        let memory = state.memory
        body.memoryBudgetBytes = Nullable(value: memory.budgetBytes)
        body.memoryUsedBytes = memory.usedBytes
        if let why = state.warmUpError {
            body.status = "degraded"
            body.warmupError = why
        }
        return jsonResponse(body)
    }
    router.get("ready") { _, _ in
        let ready = state.isReady
        metrics.ready.set(to: ready ? 1 : 0)
        if ready { return jsonResponse(ReadyBody(ready: true)) }
        return jsonResponse(ReadyBody(ready: false, reason: state.notReadyReason), status: .serviceUnavailable)
    }
    router.get("metrics") { _, _ in
        metrics.queueSize.set(to: Double(state.queued))   // both workers' queues, at scrape time
        let memory = state.memory
        metrics.memoryBudget.set(to: Double(memory.budgetBytes ?? 0))
        metrics.memoryUsed.set(to: Double(memory.usedBytes))
        metrics.ready.set(to: state.isReady ? 1 : 0)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
    let document = OpenAPIDocument.json(maxTexts: config.maxTexts, maxBeams: config.maxBatchSize,
                                        maxPositions: models.abstractive?.model.maxPositions, modes: models.modes,
                                        defaultBeams: models.abstractive?.defaults.numBeams ?? 1)
    router.get("openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: document)))
    }
    // The browser pages: the playground and the interactive API docs (self-contained, CSP: nothing external).
    let playground = ByteBuffer(string: PlaygroundPage.html), docs = ByteBuffer(string: DocsPage.html)
    router.get("/") { _, _ in WebPage.response(playground) }
    router.get("docs") { _, _ in WebPage.response(docs) }

    let inference = router.group()
    if !config.apiKeys.isEmpty { inference.add(middleware: APIKeyMiddleware(keys: Set(config.apiKeys))) }
    if config.ratePerSec > 0 {
        inference.add(middleware: RateLimitMiddleware(limiter: RateLimiter(rate: config.ratePerSec, burst: config.burst), metrics: metrics))
    }
    let abstractive = scheduler.map { SummarizeController(engine: $0.engine, scheduler: $0, metrics: metrics, config: config) }
    SummarizeRoutes(abstractive: abstractive,
                    extractive: worker.map { ExtractiveController(worker: $0, metrics: metrics, device: device) },
                    defaultMode: models.defaultMode, state: state, config: config).addRoutes(to: inference)

    let app = Application(router: router,
                          configuration: .init(address: .hostname(config.host, port: config.port), serverName: "brevity"),
                          logger: log)
    scheduler?.start()
    worker?.start()
    var services: [any Service] = []
    if let worker { services.append(WorkerService(worker, logger: log)) }
    if let scheduler { services.append(WorkerService(scheduler, logger: log)) }
    if let exporter { services.insert(TraceExportService(exporter: exporter), at: 0) }   // the last told to stop
    return (app, services, scheduler, worker, metrics)
}

/// `brevity serve` assembled: the models `config` asks for, loaded (with the fallback and the mode chosen by
/// `ServingModels.load`) and logged, then the application and its workers in one ServiceGroup that stops on
/// SIGTERM or SIGINT.
///
/// The workers are the group's last services, so on SIGTERM they are told first: `/ready` turns 503 and new
/// work is refused while in-flight texts finish; then the HTTP server stops. (Hummingbird's `addServices`
/// would run them inside the application, where its HTTP server is stopped first: a draining instance could
/// then no longer answer `/ready` or refuse work with 503; `DrainTests` holds the order.)
public func buildService(config: ServerConfig, logger: Logger) async throws -> ServiceGroup {
    let models = try await ServingModels.load(config.modelChoice, logger: logger)
    logger.info("serving", metadata: ["model": .string(models.defaultName), "mode": .string(models.defaultMode.rawValue),
                                      "modes": .string(models.modes.map(\.rawValue).joined(separator: ",")),
                                      "reason": .string(models.reason), "device": .string(models.device),
                                      "dtype": .string(models.dtype),
                                      "device_reason": .string(models.abstractive?.deviceReason ?? config.deviceReason),
                                      "cpu_kernels": .string(RuntimeFacts.cpuKernels),
                                      "cpu_products": .string(RuntimeFacts.cpuProducts(dtype: models.dtype)),
                                      "host": .string(config.host), "port": .stringConvertible(config.port)])
    let built = buildApplication(config: config, models: models, logger: logger)
    return ServiceGroup(configuration: .init(services: [built.app] + built.services, gracefulShutdownSignals: [.sigterm, .sigint],
                                             logger: logger))
}

/// An abstractive-only service (the engine's model answers every request).
public func buildApplication(config: ServerConfig, engine: SummarizationEngine, logger: Logger? = nil)
    -> (app: some ApplicationProtocol, scheduler: BatchScheduler, metrics: ServiceMetrics) {
    let built = buildApplication(config: config, models: ServingModels(abstractive: engine, extractive: nil, reason: "the model given"),
                                 logger: logger)
    return (built.app, built.scheduler!, built.metrics)
}
