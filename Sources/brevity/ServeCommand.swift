import ArgumentParser
import BrevityKit
import Foundation
import Tensor
import Hub
import Logging
import Serving
import ServiceLifecycle

/// `brevity serve`: the HTTP service. Environment variables (MODEL_NAME, NUM_BEAMS, DTYPE,
/// MAX_CONCURRENT_BATCH, RATE_PER_SEC, PORT, LOG_LEVEL, BREVITY_*) set defaults; flags win.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve GET /health, POST /summarize and the rest of the API over HTTP."
    )

    @Option(help: "Model folder or hub id org/name[@revision] (MODEL_NAME, default facebook/bart-large-cnn).") var model: String?
    @Option(help: "Served instead when --model cannot be had: no cache and no download (BREVITY_FALLBACK_MODEL).") var fallbackModel: String?
    @Option(help: "Sentence-embedding model for \"mode\": \"extractive\" beside a seq2seq model (BREVITY_EXTRACTIVE_MODEL).") var extractiveModel: String?
    @Option(help: "Default mode when both are served: abstractive or extractive (BREVITY_MODE).") var mode: String?
    @Option(help: "Address to bind (BREVITY_HOST, default 0.0.0.0).") var host: String?
    @Option(help: "Port (PORT, default 8000).") var port: Int?
    @Option(help: "Beam count replacing the model's default (NUM_BEAMS).") var numBeams: Int?
    @Option(help: "Weights' type: float32, bfloat16, float16, int8 (DTYPE; auto = float32 on the CPU).") var dtype: String?
    @Option(help: "cpu, cuda or auto: CUDA when usable, else the CPU, with the reason logged (DEVICE, default auto).") var device: String?
    @Option(help: "Texts decoding together at most (MAX_CONCURRENT_BATCH, default 16).") var maxConcurrentBatch: Int?
    @Option(help: "Decoder rows (sequences x beams) per step at most (BREVITY_MAX_BATCH_SIZE, default 64).") var maxBatchSize: Int?
    @Option(help: "Texts waiting at most; beyond, 503 (BREVITY_MAX_QUEUE, default 256).") var maxQueue: Int?
    @Option(help: "Memory budget in tokens: decoder positions of every row (num_beams x max_length) plus input tokens of every text decoding; a text that would exceed it waits, one larger than it gets 503 (BREVITY_MAX_BATCH_TOKENS; default: derived from the container's memory limit, else none). /health reports it in bytes.") var maxBatchTokens: Int?
    @Option(help: "Texts in one request at most (BREVITY_MAX_TEXTS, default 32).") var maxTexts: Int?
    @Option(help: "Tokens proposed from the input that a greedy text's decoder pass checks, 0 for none; never changes a summary; a request's draft_tokens wins, and beam searches draft only when it asks (BREVITY_DRAFT_TOKENS, default 6).")
    var draftTokens: Int?
    @Option(help: "Requests per second per client, 0 for none (RATE_PER_SEC).") var ratePerSec: Double?
    @Option(help: "Rate-limit burst (BREVITY_RATE_BURST, default 2 x rate).") var rateBurst: Int?
    @Option(help: "Seconds a request may take (BREVITY_REQUEST_TIMEOUT, default 300).") var requestTimeout: Double?
    @Option(help: "How long an admitted request may take: client (15 s, inside the 20 s clients such as hey wait), seconds, auto (1.75x its time on an idle server, at least that time + 2 s), auto:<factor>, or none; requests predicted to miss it get 503 with Retry-After (BREVITY_LATENCY_TARGET, default client).")
    var latencyTarget: String?
    @Option(help: "Seconds an overload 503 waits before it is sent, so clients that retry at once cannot busy-loop (BREVITY_SHED_DELAY, default 1).")
    var shedDelay: Double?
    @Option(help: "Seconds to finish in-flight work on SIGTERM (BREVITY_DRAIN_TIMEOUT, default 30).") var drainTimeout: Double?
    @Option(help: "API key required as a Bearer token on the inference routes; repeatable (BREVITY_API_KEYS, comma-separated).")
    var apiKey: [String] = []
    @Option(help: "CORS allowed origin, or * for any; repeatable (BREVITY_CORS_ORIGINS).") var corsOrigin: [String] = []
    @Option(help: "Largest request body in bytes (BREVITY_MAX_BODY_SIZE, default 1 MiB).") var maxBodySize: Int?
    @Option(help: "trace, debug, info, notice, warning, error, critical (LOG_LEVEL).") var logLevel: String?

    func resolvedConfig() throws -> ServerConfig {
        var c = try ServerConfig.fromEnvironment()
        if let model { c.model = model }
        if let fallbackModel { c.fallbackModel = fallbackModel }
        if let extractiveModel { c.extractiveModel = extractiveModel }
        if let mode { c.mode = try ServerConfig.parseMode(mode) }
        if let host { c.host = host }
        if let port { c.port = port }
        if let numBeams { c.numBeams = numBeams }
        if let dtype { try c.setDType(dtype) }
        if let device {
            guard let choice = Placement.parseDevice(device) else { throw ConfigError("--device \(device): expected auto, cpu or cuda") }
            c.device = choice
        }
        if let maxConcurrentBatch { c.maxConcurrentBatch = maxConcurrentBatch }
        if let maxBatchSize { c.maxBatchSize = maxBatchSize }
        if let maxQueue { c.maxQueue = maxQueue }
        if let maxBatchTokens { c.maxBatchTokens = maxBatchTokens }
        if let maxTexts { c.maxTexts = maxTexts }
        if let draftTokens { c.draftTokens = draftTokens }
        if let ratePerSec { c.ratePerSec = ratePerSec }
        if let rateBurst { c.rateBurst = rateBurst }
        if let requestTimeout { c.requestTimeout = requestTimeout }
        if let latencyTarget { c.latencyTarget = try ServerConfig.parseLatencyTarget(latencyTarget) }
        if let shedDelay { c.shedDelay = shedDelay }
        if let drainTimeout { c.drainTimeout = drainTimeout }
        if !apiKey.isEmpty { c.apiKeys = apiKey }
        if !corsOrigin.isEmpty { c.corsOrigins = corsOrigin }
        if let maxBodySize { c.maxBodySize = maxBodySize }
        if let logLevel { c.logLevel = try ServerConfig.parseLogLevel(logLevel) }
        try c.validate()
        if let problem = EngineEnvironment.cpuFeaturesProblem() { throw ConfigError(problem) }
        // --device cuda without a usable GPU (or, in this build, without the CUDA backend) stops here
        do {
            let (gpu, reason) = try c.device.resolve()
            c.gpu = gpu
            c.deviceReason = reason
        } catch { throw ConfigError("--device cuda: \(error)") }
        return c
    }

    func run() async throws {
        let config: ServerConfig
        do { config = try resolvedConfig() } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = config.logLevel
            return h
        }
        var logger = Logger(label: "brevity")
        logger.logLevel = config.logLevel
        let service: ServiceGroup
        do { service = try await buildService(config: config, logger: logger) } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        try await service.run()
    }
}
