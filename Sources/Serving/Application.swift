import Foundation
import Hummingbird
import Logging
import NIOCore

/// The service's routes over an engine and its scheduler; shared by `brevity serve` and the tests.
public func buildApplication(config: ServerConfig, engine: SummarizationEngine, logger: Logger? = nil)
    -> (app: some ApplicationProtocol, scheduler: BatchScheduler, metrics: ServiceMetrics) {
    var log = logger ?? Logger(label: "brevity")
    log.logLevel = config.logLevel
    let metrics = ServiceMetrics()
    let scheduler = BatchScheduler(engine: engine, maxBatchRows: config.maxBatchSize, maxConcurrent: config.maxConcurrentBatch,
                                   maxQueue: config.maxQueue, requestTimeout: config.requestTimeout,
                                   drainTimeout: config.drainTimeout, metrics: metrics, logger: log)
    let router = Router(context: BrevityContext.self)
    router.middlewares.add(ObservabilityMiddleware(metrics: metrics, logger: log))
    if !config.corsOrigins.isEmpty { router.middlewares.add(CORS(origins: config.corsOrigins)) }

    router.get("health") { _, _ in
        jsonResponse(["status": "ok", "model": engine.name, "device": engine.device, "mode": "abstractive"])
    }
    router.get("ready") { _, _ in
        let ready = scheduler.isReady
        metrics.ready.set(to: ready ? 1 : 0)
        if ready { return jsonResponse(["ready": true]) }
        return jsonResponse(["ready": false, "reason": scheduler.isDraining ? "draining" : "loading"], status: .serviceUnavailable)
    }
    router.get("metrics") { _, _ in
        let (queued, _) = scheduler.load
        metrics.queueSize.set(to: Double(queued))
        metrics.ready.set(to: scheduler.isReady ? 1 : 0)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
    router.get("openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
    }
    router.get("docs") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.docsPage)))
    }

    let inference = router.group()
    if !config.apiKeys.isEmpty { inference.add(middleware: APIKeyMiddleware(keys: Set(config.apiKeys))) }
    if config.ratePerSec > 0 {
        inference.add(middleware: RateLimitMiddleware(limiter: RateLimiter(rate: config.ratePerSec, burst: config.burst), metrics: metrics))
    }
    SummarizeController(engine: engine, scheduler: scheduler, metrics: metrics, config: config).addRoutes(to: inference)

    let app = Application(router: router,
                          configuration: .init(address: .hostname(config.host, port: config.port), serverName: "brevity"),
                          logger: log)
    scheduler.start()
    return (app, scheduler, metrics)
}
