import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

// OpenTelemetry traces over OTLP/HTTP (JSON encoding, https://opentelemetry.io/docs/specs/otlp/): one
// server span per request and, for an abstractive summary, its children (tokenize; per text queue wait,
// encode, decode; detokenize). Configured by the standard variables and off when no endpoint is set: then
// no middleware is installed and a request pays nothing. Written here rather than taken from swift-otel,
// whose gRPC and protobuf packages would add minutes to every fresh build (CI's budget is 30).

/// The OTEL_* variables Brevity reads.
public struct TraceConfig: Sendable, Equatable {
    /// Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else
    /// OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces".
    public var endpoint: String
    /// OTEL_SERVICE_NAME (default "brevity").
    public var serviceName = "brevity"
    /// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
    public var sampler = Sampler.parentBased(root: .ratio(1))

    public enum Sampler: Sendable, Equatable {
        /// Sampled when the trace id's low 63 bits fall below `ratio` of their range (1: always, 0: never).
        case ratio(Double)
        /// An incoming `traceparent`'s sampled flag decides; `root` decides for requests without one.
        indirect case parentBased(root: Sampler)
    }

    /// Tracing as the environment asks, nil when off (no endpoint, or OTEL_SDK_DISABLED=true). A value it
    /// cannot use is an error naming the variable.
    public static func from(environment env: [String: String]) throws -> TraceConfig? {
        if env["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return nil }
        let endpoint: String
        if let e = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !e.isEmpty {
            endpoint = e
        } else if let e = env["OTEL_EXPORTER_OTLP_ENDPOINT"], !e.isEmpty {
            endpoint = (e.hasSuffix("/") ? String(e.dropLast()) : e) + "/v1/traces"
        } else {
            return nil
        }
        guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT: \(endpoint) is not an http(s) URL")
        }
        if let p = env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] ?? env["OTEL_EXPORTER_OTLP_PROTOCOL"], !p.isEmpty, p != "http/json" {
            throw ConfigError("OTEL_EXPORTER_OTLP_PROTOCOL=\(p): Brevity exports http/json (OTLP over HTTP, JSON encoding)")
        }
        var c = TraceConfig(endpoint: endpoint)
        if let n = env["OTEL_SERVICE_NAME"], !n.isEmpty { c.serviceName = n }
        let arg = env["OTEL_TRACES_SAMPLER_ARG"].flatMap { $0.isEmpty ? nil : $0 }
        func ratio() throws -> Double {
            guard let a = arg else { return 1 }
            guard let r = Double(a), (0...1).contains(r) else { throw ConfigError("OTEL_TRACES_SAMPLER_ARG=\(a): expected a ratio in 0...1") }
            return r
        }
        switch env["OTEL_TRACES_SAMPLER"].flatMap({ $0.isEmpty ? nil : $0 }) ?? "parentbased_always_on" {
        case "always_on": c.sampler = .ratio(1)
        case "always_off": c.sampler = .ratio(0)
        case "traceidratio": c.sampler = .ratio(try ratio())
        case "parentbased_always_on": c.sampler = .parentBased(root: .ratio(1))
        case "parentbased_always_off": c.sampler = .parentBased(root: .ratio(0))
        case "parentbased_traceidratio": c.sampler = .parentBased(root: .ratio(try ratio()))
        case let s:
            throw ConfigError("OTEL_TRACES_SAMPLER=\(s): expected always_on, always_off, traceidratio, parentbased_always_on, "
                              + "parentbased_always_off or parentbased_traceidratio")
        }
        return c
    }

    /// Whether a trace is recorded: `parent` is an incoming `traceparent`'s sampled flag (nil: none).
    func samples(traceId: [UInt8], parent: Bool?) -> Bool {
        func decide(_ s: Sampler) -> Bool {
            switch s {
            case .ratio(let r):
                if r >= 1 { return true }
                if r <= 0 { return false }
                let low = traceId.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & (UInt64.max >> 1)
                return Double(low) < r * Double(UInt64.max >> 1)
            case .parentBased(let root): return parent ?? decide(root)
            }
        }
        return decide(sampler)
    }
}

/// A W3C `traceparent` (https://www.w3.org/TR/trace-context/): version 00, a 16-byte trace id, the
/// caller's 8-byte span id, flags (bit 0: sampled).
struct TraceParent: Equatable {
    var traceId: [UInt8]
    var spanId: [UInt8]
    var sampled: Bool

    /// nil for anything but a well-formed value with non-zero ids (the spec: then start a new trace).
    init?(_ header: String) {
        let parts = header.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", let version = UInt8(parts[0], radix: 16),
              version == 0 ? parts.count == 4 : true,
              let t = hexBytes(parts[1], count: 16), let s = hexBytes(parts[2], count: 8), let f = hexBytes(parts[3], count: 1),
              t.contains(where: { $0 != 0 }), s.contains(where: { $0 != 0 }) else { return nil }
        (traceId, spanId, sampled) = (t, s, f[0] & 1 == 1)
    }

    init(traceId: [UInt8], spanId: [UInt8], sampled: Bool) { (self.traceId, self.spanId, self.sampled) = (traceId, spanId, sampled) }

    var header: String { "00-\(hex(traceId))-\(hex(spanId))-\(sampled ? "01" : "00")" }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

private func hexBytes(_ s: Substring, count: Int) -> [UInt8]? {
    guard s.count == count * 2, s.allSatisfy(\.isHexDigit), s == s.lowercased() else { return nil }
    var out: [UInt8] = [], i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return out
}

func randomIds(_ count: Int) -> [UInt8] {
    var g = SystemRandomNumberGenerator()
    while true {
        let b = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &g) }
        if b.contains(where: { $0 != 0 }) { return b }
    }
}

/// Wall-clock nanoseconds since the Unix epoch (span times).
func unixNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// One finished span as OTLP carries it.
struct SpanRecord: Sendable {
    enum Kind: Int { case internalSpan = 1, server = 2 }
    enum Value: Sendable {
        case string(String), int(Int), double(Double), bool(Bool)
    }
    var traceId: [UInt8]
    var spanId: [UInt8]
    var parentSpanId: [UInt8]?
    var name: String
    var kind: Kind
    var start: UInt64
    var end: UInt64
    var attributes: [(String, Value)] = []
    var error = false

    var json: [String: Any] {
        var s: [String: Any] = [
            "traceId": hex(traceId), "spanId": hex(spanId), "name": name, "kind": kind.rawValue,
            "startTimeUnixNano": String(start), "endTimeUnixNano": String(max(start, end)),
            "attributes": attributes.map { k, v -> [String: Any] in
                let value: [String: Any]
                switch v {
                case .string(let x): value = ["stringValue": x]
                case .int(let x): value = ["intValue": String(x)]
                case .double(let x): value = ["doubleValue": x.isFinite ? x : 0]
                case .bool(let x): value = ["boolValue": x]
                }
                return ["key": k, "value": value]
            },
        ]
        if let p = parentSpanId { s["parentSpanId"] = hex(p) }
        if error { s["status"] = ["code": 2] }
        return s
    }
}

/// A sampled request's trace: its server span's ids and the spans recorded under it. Handlers reach it
/// through `RequestTrace.current` (set by `TracingMiddleware` for the request's task and its children).
final class RequestTrace: @unchecked Sendable {
    @TaskLocal static var current: RequestTrace?

    let traceId: [UInt8]
    let spanId: [UInt8]
    private let lock = NSLock()
    private var children: [SpanRecord] = []
    private var attributes: [(String, SpanRecord.Value)] = []

    init(traceId: [UInt8], spanId: [UInt8]) { (self.traceId, self.spanId) = (traceId, spanId) }

    /// A child of the server span, from `start` to `end` (Unix nanoseconds).
    func child(_ name: String, start: UInt64, end: UInt64, _ attributes: [(String, SpanRecord.Value)] = []) {
        let s = SpanRecord(traceId: traceId, spanId: randomIds(8), parentSpanId: spanId, name: name, kind: .internalSpan,
                           start: start, end: end, attributes: attributes)
        lock.withLock { children.append(s) }
    }

    /// Attributes for the server span itself.
    func annotate(_ more: [(String, SpanRecord.Value)]) { lock.withLock { attributes += more } }

    // A streamed response's span ends with its stream, not when the handler returns: the handler holds
    // the trace, the stream's writer releases it.
    private var held = false, releasedAt: UInt64?, onRelease: ((UInt64) -> Void)?

    /// The server span stays open past the handler's return, until `release()`.
    func hold() { lock.withLock { held = true } }

    /// The held span ends now.
    func release() {
        let end = unixNanos()
        let fire = lock.withLock { () -> ((UInt64) -> Void)? in
            guard releasedAt == nil else { return nil }
            releasedAt = end
            return onRelease
        }
        fire?(end)
    }

    /// Runs `body` with the end time now when the trace is not held, else once it is released.
    func whenEnded(_ body: @escaping (UInt64) -> Void) {
        let now: UInt64? = lock.withLock {
            if !held { return unixNanos() }
            if let r = releasedAt { return r }
            onRelease = body
            return nil
        }
        if let now { body(now) }
    }

    func take() -> (children: [SpanRecord], attributes: [(String, SpanRecord.Value)]) { lock.withLock { (children, attributes) } }
}

/// Collects finished spans and POSTs them to the collector in batches, at most every `interval` seconds;
/// past `capacity` waiting spans new ones are dropped (counted in the log), so a collector that is down
/// never holds memory or requests.
final class SpanExporter: @unchecked Sendable {
    let config: TraceConfig
    let logger: Logger
    let interval: Double
    let capacity: Int
    private let lock = NSLock()
    private var waiting: [SpanRecord] = []
    private var dropped = 0
    private let http = HTTPClient(eventLoopGroupProvider: .singleton)

    init(config: TraceConfig, logger: Logger, interval: Double = 0.5, capacity: Int = 8192) {
        (self.config, self.logger, self.interval, self.capacity) = (config, logger, interval, capacity)
    }

    func export(_ spans: [SpanRecord]) {
        lock.withLock {
            let room = max(0, capacity - waiting.count)
            waiting += spans.prefix(room)
            dropped += spans.count - min(room, spans.count)
        }
    }

    /// Sends what is waiting (one request); failures are logged and the spans dropped.
    func flush() async {
        let (spans, lost) = lock.withLock { () -> ([SpanRecord], Int) in
            defer { waiting = []; dropped = 0 }
            return (waiting, dropped)
        }
        if lost > 0 { logger.warning("trace spans dropped: the export queue was full", metadata: ["spans": "\(lost)"]) }
        guard !spans.isEmpty else { return }
        let body: [String: Any] = ["resourceSpans": [[
            "resource": ["attributes": [
                ["key": "service.name", "value": ["stringValue": config.serviceName]],
                ["key": "telemetry.sdk.name", "value": ["stringValue": "brevity"]],
                ["key": "telemetry.sdk.language", "value": ["stringValue": "swift"]],
            ]],
            "scopeSpans": [["scope": ["name": "brevity"], "spans": spans.map(\.json)]],
        ]]]
        do {
            var request = HTTPClientRequest(url: config.endpoint)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            let response = try await http.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 1 << 20)
            if response.status.code >= 300 {
                logger.warning("trace export refused", metadata: ["status": "\(response.status.code)", "spans": "\(spans.count)"])
            }
        } catch {
            logger.warning("trace export failed", metadata: ["error": "\(error)", "spans": "\(spans.count)"])
        }
    }

    func shutdown() async { try? await http.shutdown() }
}

/// The exporter's loop as a service: it sends every `interval`, and once more on shutdown (it is the group's
/// first service, so the last told: the workers drain and their requests' spans are in by then).
struct TraceExportService: Service {
    let exporter: SpanExporter

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(nanoseconds: UInt64(exporter.interval * 1e9))
                await exporter.flush()
            }
        }
        await exporter.flush()
        await exporter.shutdown()
    }
}

/// The server span of every request (installed only when tracing is on): an incoming `traceparent`
/// continues its trace, the sampler decides, and the response carries the server span's `traceparent`.
/// Attributes follow the HTTP semantic conventions; a streamed response's span ends with its stream.
struct TracingMiddleware: RouterMiddleware {
    typealias Context = BrevityContext
    let exporter: SpanExporter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let incoming = request.headers[.traceparent].flatMap(TraceParent.init)
        let traceId = incoming?.traceId ?? randomIds(16)
        let spanId = randomIds(8)
        let sampled = exporter.config.samples(traceId: traceId, parent: incoming?.sampled)
        let start = unixNanos()
        let trace = sampled ? RequestTrace(traceId: traceId, spanId: spanId) : nil
        var response: Response
        do {
            response = try await RequestTrace.$current.withValue(trace) { try await next(request, context) }
        } catch {
            response = errorResponse(error)
        }
        response.headers[.traceparent] = TraceParent(traceId: traceId, spanId: spanId, sampled: sampled).header
        guard let trace else { return response }
        let route = context.endpointPath ?? request.uri.path
        var attributes: [(String, SpanRecord.Value)] = [
            ("http.request.method", .string(request.method.rawValue)), ("url.path", .string(request.uri.path)),
            ("http.route", .string(route)), ("http.response.status_code", .int(Int(response.status.code))),
            ("url.scheme", .string("http")),
        ]
        if let ua = request.headers[.userAgent] { attributes.append(("user_agent.original", .string(ua))) }
        if let peer = context.remoteAddress?.ipAddress { attributes.append(("client.address", .string(peer))) }
        if !context.requestId.isEmpty { attributes.append(("brevity.request_id", .string(context.requestId))) }
        let name = "\(request.method.rawValue) \(route)", parent = incoming?.spanId, failed = response.status.code >= 500
        trace.whenEnded { [exporter] end in
            let (children, extra) = trace.take()
            var server = SpanRecord(traceId: traceId, spanId: spanId, parentSpanId: parent, name: name, kind: .server,
                                    start: start, end: end, attributes: attributes + extra)
            server.error = failed
            exporter.export(children + [server])
        }
        return response
    }
}

extension HTTPField.Name {
    static let traceparent = Self("traceparent")!
}
