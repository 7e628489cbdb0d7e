import Foundation
import BrevityKit
import Logging

/// Every setting of `brevity serve`. The originals' environment variables (MODEL_NAME, NUM_BEAMS, DTYPE,
/// MAX_CONCURRENT_BATCH, RATE_PER_SEC, PORT, LOG_LEVEL) work unchanged; the rest are BREVITY_* variables
/// and flags; flags win over the environment.
public struct ServerConfig: Sendable {
    public var model = "facebook/bart-large-cnn"
    public var host = "0.0.0.0"
    public var port = 8000
    /// NUM_BEAMS: overrides the model's beam count when set.
    public var numBeams: Int?
    /// DTYPE: the weights' storage type (float32, bfloat16, float16, int8); nil (`auto`) takes the device's
    /// default (`Placement.weightType`: float32 on the CPU, float16 on a GPU, bfloat16 for T5 there).
    public var dtype: DType?
    /// DEVICE / --device: cpu, cuda or auto (CUDA when a usable GPU and backend are there, else the CPU).
    public var device = DeviceChoice.auto
    /// Why the device in use was chosen (set at start-up; logged and in /health).
    public var deviceReason = ""
    /// The GPU chosen at start-up (nil: the CPU).
    public var gpu: CUDADevice?
    /// MAX_CONCURRENT_BATCH: texts decoding together at most.
    public var maxConcurrentBatch = 16
    /// Decoder rows (sequences x beams) in one step at most.
    public var maxBatchSize = 64
    /// Texts waiting for a place in the batch at most; beyond it requests get 503.
    public var maxQueue = 256
    /// BREVITY_MAX_BATCH_TOKENS / --max-batch-tokens: the memory budget in tokens (decoder positions of
    /// every row plus source tokens of every text, `MemoryBudget`); nil derives it from the container's
    /// memory limit when there is one.
    public var maxBatchTokens: Int?
    /// Texts in one request at most (422 beyond).
    public var maxTexts = 32
    /// BREVITY_DRAFT_TOKENS / --draft-tokens: tokens proposed from the input that a greedy text's decoder
    /// pass checks (0: none); a request's `draft_tokens` wins.
    public var draftTokens = RuntimeDefaults.draftTokens
    /// OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER[_ARG]); nil: off.
    public var tracing: TraceConfig?
    /// RATE_PER_SEC: requests per second per client (0: no limit), with a burst.
    public var ratePerSec: Double = 0
    public var rateBurst: Int?
    public var logLevel: Logger.Level = .info
    /// Seconds a request may take, queue included (504 beyond).
    public var requestTimeout: Double = 300
    /// How long an admitted request may take (BREVITY_LATENCY_TARGET / --latency-target): `client` (15 s,
    /// the default), a number of seconds, `auto` (1.75x its time on an idle server, at least that time + 2 s)
    /// or `none`. Requests the scheduler predicts would miss it get 503 with Retry-After at once instead of
    /// waiting.
    public var latencyTarget = LatencyTarget.default
    /// Seconds a 503 for overload waits before it is sent (BREVITY_SHED_DELAY / --shed-delay, default 1; 0
    /// sends it at once): clients that retry at once without reading Retry-After (hey, naive loops) then
    /// cannot turn shedding into a busy loop that takes the CPU from the work admitted.
    public var shedDelay: Double = 1
    /// Seconds in-flight work may take to finish on SIGTERM.
    public var drainTimeout: Double = 30
    public var apiKeys: [String] = []
    public var corsOrigins: [String] = []
    public var maxBodySize = 1 << 20
    /// Served instead of `model` when that cannot be had (not cached and no download): BREVITY_FALLBACK_MODEL.
    public var fallbackModel: String?
    /// A sentence-embedding model for `"mode": "extractive"` beside a seq2seq model: BREVITY_EXTRACTIVE_MODEL.
    public var extractiveModel: String?
    /// The mode of requests without `"mode"` when both are served (default abstractive): BREVITY_MODE.
    public var mode: SummaryMode?

    public init() {}

    public var burst: Int { rateBurst ?? max(1, Int((ratePerSec * 2).rounded(.up))) }

    /// Reads the environment over the defaults, then `validate`s; errors name the variable. The variables
    /// are parsed here (types only) and `--flags` by the command; `validate` is the one check of both.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> ServerConfig {
        var c = ServerConfig()
        func int(_ k: String) throws -> Int? {
            guard let v = env[k], !v.isEmpty else { return nil }
            guard let n = Int(v.trimmingCharacters(in: .whitespaces)) else { throw ConfigError("\(k)=\(v): expected an integer") }
            return n
        }
        func double(_ k: String) throws -> Double? {
            guard let v = env[k], !v.isEmpty else { return nil }
            guard let n = Double(v.trimmingCharacters(in: .whitespaces)) else { throw ConfigError("\(k)=\(v): expected a number") }
            return n
        }
        if let m = env["MODEL_NAME"] ?? env["BREVITY_MODEL"], !m.isEmpty { c.model = m }
        if let h = env["BREVITY_HOST"], !h.isEmpty { c.host = h }
        c.port = try int("PORT") ?? c.port
        c.numBeams = try int("NUM_BEAMS")
        if let d = env["DTYPE"], !d.isEmpty { try c.setDType(d) }
        if let d = env["DEVICE"], !d.isEmpty {
            guard let choice = Placement.parseDevice(d) else { throw ConfigError("DEVICE=\(d): expected auto, cpu or cuda") }
            c.device = choice
        }
        c.maxConcurrentBatch = try int("MAX_CONCURRENT_BATCH") ?? c.maxConcurrentBatch
        c.maxBatchSize = try int("BREVITY_MAX_BATCH_SIZE") ?? c.maxBatchSize
        c.maxQueue = try int("BREVITY_MAX_QUEUE") ?? c.maxQueue
        c.maxBatchTokens = try int("BREVITY_MAX_BATCH_TOKENS") ?? c.maxBatchTokens
        c.maxTexts = try int("BREVITY_MAX_TEXTS") ?? c.maxTexts
        c.draftTokens = try int("BREVITY_DRAFT_TOKENS") ?? c.draftTokens
        c.tracing = try TraceConfig.from(environment: env)
        c.ratePerSec = try double("RATE_PER_SEC") ?? c.ratePerSec
        c.rateBurst = try int("BREVITY_RATE_BURST")
        if let l = env["LOG_LEVEL"], !l.isEmpty { c.logLevel = try parseLogLevel(l) }
        c.requestTimeout = try double("BREVITY_REQUEST_TIMEOUT") ?? c.requestTimeout
        if let t = env["BREVITY_LATENCY_TARGET"], !t.isEmpty { c.latencyTarget = try parseLatencyTarget(t, name: "BREVITY_LATENCY_TARGET") }
        c.shedDelay = try double("BREVITY_SHED_DELAY") ?? c.shedDelay
        c.drainTimeout = try double("BREVITY_DRAIN_TIMEOUT") ?? c.drainTimeout
        if let k = env["BREVITY_API_KEYS"], !k.isEmpty { c.apiKeys = k.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let o = env["BREVITY_CORS_ORIGINS"], !o.isEmpty { c.corsOrigins = o.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        c.maxBodySize = try int("BREVITY_MAX_BODY_SIZE") ?? c.maxBodySize
        if let f = env["BREVITY_FALLBACK_MODEL"], !f.isEmpty { c.fallbackModel = f }
        if let e = env["BREVITY_EXTRACTIVE_MODEL"], !e.isEmpty { c.extractiveModel = e }
        if let m = env["BREVITY_MODE"], !m.isEmpty { c.mode = try parseMode(m, name: "BREVITY_MODE") }
        try c.validate()
        return c
    }

    /// The one check of every numeric setting, however it was given (environment or flag): the error names
    /// both ("NUM_BEAMS / --num-beams must be at least 1, got 0").
    public func validate() throws {
        let atLeastOne: [(String, String, Int?)] = [
            ("NUM_BEAMS", "--num-beams", numBeams), ("MAX_CONCURRENT_BATCH", "--max-concurrent-batch", maxConcurrentBatch),
            ("BREVITY_MAX_BATCH_SIZE", "--max-batch-size", maxBatchSize), ("BREVITY_MAX_QUEUE", "--max-queue", maxQueue),
            ("BREVITY_MAX_BATCH_TOKENS", "--max-batch-tokens", maxBatchTokens), ("BREVITY_MAX_TEXTS", "--max-texts", maxTexts),
            ("BREVITY_RATE_BURST", "--rate-burst", rateBurst), ("BREVITY_MAX_BODY_SIZE", "--max-body-size", maxBodySize),
        ]
        for (variable, flag, value) in atLeastOne {
            if let value, value < 1 { throw ConfigError("\(variable) / \(flag) must be at least 1, got \(value)") }
        }
        guard (0...65535).contains(port) else { throw ConfigError("PORT / --port must be in 0...65535, got \(port)") }
        guard (0...SummaryRequest.maxDraftTokens).contains(draftTokens) else {
            throw ConfigError("BREVITY_DRAFT_TOKENS / --draft-tokens must be in 0...\(SummaryRequest.maxDraftTokens), got \(draftTokens)")
        }
        let seconds: [(String, String, Double, Bool)] = [   // (…, value, may be 0)
            ("RATE_PER_SEC", "--rate-per-sec", ratePerSec, true), ("BREVITY_REQUEST_TIMEOUT", "--request-timeout", requestTimeout, false),
            ("BREVITY_SHED_DELAY", "--shed-delay", shedDelay, true), ("BREVITY_DRAIN_TIMEOUT", "--drain-timeout", drainTimeout, true),
        ]
        for (variable, flag, value, zero) in seconds where !value.isFinite || value < 0 || (!zero && value == 0) {
            throw ConfigError("\(variable) / \(flag) must be a number \(zero ? ">= 0" : "> 0"), got \(value)")
        }
    }

    /// The models this configuration asks for, as `ServingModels.load` takes them.
    public var modelChoice: ModelChoice {
        ModelChoice(model: model, fallbackModel: fallbackModel, extractiveModel: extractiveModel, mode: mode, numBeams: numBeams,
                    device: device, gpu: gpu, deviceReason: deviceReason, dtype: dtype)
    }

    /// DTYPE or --dtype, parsed once (`Placement.parseDType`).
    public mutating func setDType(_ s: String) throws {
        do { dtype = try Placement.parseDType(s) } catch { throw ConfigError("\(error)") }
    }

    /// The weights' type on a GPU or the CPU: DTYPE when given, else the device's default.
    public func weightType(onGPU: Bool, modelType: String? = nil) -> DType {
        Placement.weightType(requested: dtype, onGPU: onGPU, modelType: modelType)
    }

    public static func parseLatencyTarget(_ s: String, name: String = "--latency-target") throws -> LatencyTarget {
        guard let t = LatencyTarget.parse(s) else {
            throw ConfigError("\(name)=\(s): expected auto, auto:<factor >= 1>, none, or a number of seconds > 0")
        }
        return t
    }

    public static func parseMode(_ s: String, name: String = "--mode") throws -> SummaryMode {
        guard let m = SummaryMode(rawValue: s.lowercased()) else { throw ConfigError("\(name)=\(s): expected abstractive or extractive") }
        return m
    }

    public static func parseLogLevel(_ s: String) throws -> Logger.Level {
        switch s.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "notice": return .notice
        case "warn", "warning": return .warning
        case "error": return .error
        case "critical": return .critical
        default: throw ConfigError("LOG_LEVEL=\(s): expected trace, debug, info, notice, warning, error or critical")
        }
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
