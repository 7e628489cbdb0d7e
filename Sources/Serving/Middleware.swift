import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Outermost middleware: request ids, JSON errors, per-route request metrics and one structured log
/// line per request.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = BrevityContext
    let metrics: ServiceMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let incoming = request.headers[.xRequestId].flatMap { $0.count <= 128 && !$0.isEmpty ? $0 : nil }
        context.requestId = incoming ?? UUID().uuidString.lowercased()
        let t0 = DispatchTime.now().uptimeNanoseconds
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = errorResponse(error)
        }
        response.headers[.xRequestId] = context.requestId
        // /summarize, /summarize/stream and POST / watch their connection for disconnects and read past the
        // request doing so: the connection cannot carry another request, whatever the outcome.
        let summarizing = request.uri.path == "/summarize" || request.uri.path == "/summarize/stream"
            || (request.uri.path == "/" && request.method == .post)
        if summarizing { response.headers[.connection] = "close" }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let route = context.endpointPath ?? "unmatched"
        metrics.requests(route: route, status: Int(response.status.code)).increment()
        if summarizing { metrics.requestDuration.record(seconds) }
        logger.info("request", metadata: [
            "request_id": .string(context.requestId), "method": .string(request.method.rawValue),
            "path": .string(request.uri.path), "route": .string(route), "status": .stringConvertible(response.status.code),
            "duration_ms": .string(String(format: "%.1f", seconds * 1000)), "client": .string(context.clientKey),
        ])
        return response
    }
}

/// Any error as `{"error": {"type", "field", "message"}}`.
func errorResponse(_ error: Error) -> Response {
    let api: APIError
    switch error {
    case let e as HTTPError:
        let type: String
        switch e.status {
        case .contentTooLarge: type = "payload_too_large"
        case .notFound: type = "not_found"
        case .methodNotAllowed: type = "method_not_allowed"
        default: type = e.status.code < 500 ? "bad_request" : "internal"
        }
        var message = e.body ?? e.status.reasonPhrase
        if e.status == .contentTooLarge { message = "the request body is larger than the limit" }
        api = APIError(status: e.status, type: type, field: nil, message: message,
                       headers: e.headers.map { ($0.name, $0.value) })
    default:
        api = .from(error)
    }
    var response = jsonResponse(ErrorBody(error: api), status: api.status)
    for (name, value) in api.headers { response.headers[name] = value }
    return response
}

/// Bearer API keys on the inference routes (`--api-key`); health, readiness and metrics stay open.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = BrevityContext
    let keys: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty else { return try await next(request, context) }
        guard let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer ") else {
            throw APIError(status: .unauthorized, type: "unauthorized", field: nil,
                           message: "an API key is required: send Authorization: Bearer <key>",
                           headers: [(.wwwAuthenticate, "Bearer")])
        }
        let key = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard keys.contains(key) else {
            throw APIError(status: .unauthorized, type: "unauthorized", field: nil, message: "the API key is not valid",
                           headers: [(.wwwAuthenticate, "Bearer error=\"invalid_token\"")])
        }
        var context = context
        context.apiKey = key
        return try await next(request, context)
    }
}

/// Per-client token buckets: `rate` requests a second with bursts of `burst`; 429 with Retry-After and
/// the RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers) when a bucket is empty.
final class RateLimiter: @unchecked Sendable {
    let rate: Double
    let burst: Double
    private var buckets: [String: (tokens: Double, at: Double)] = [:]
    private let lock = NSLock()

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(burst)
    }

    /// Takes a token for `client` at time `now` (seconds); returns whether it was allowed, the tokens left
    /// and the seconds until the next token.
    func take(_ client: String, now: Double) -> (allowed: Bool, remaining: Int, retryAfter: Double) {
        lock.lock()
        defer { lock.unlock() }
        var b = buckets[client] ?? (burst, now)
        b.tokens = min(burst, b.tokens + (now - b.at) * rate)
        b.at = now
        let allowed = b.tokens >= 1
        if allowed { b.tokens -= 1 }
        buckets[client] = b
        if buckets.count > 10_000 {   // forget clients whose buckets have refilled
            buckets = buckets.filter { min(burst, $0.value.tokens + (now - $0.value.at) * rate) < burst }
        }
        return (allowed, Int(b.tokens), b.tokens >= 1 ? 0 : (1 - b.tokens) / rate)
    }
}

struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = BrevityContext
    let limiter: RateLimiter
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        let r = limiter.take(context.clientKey, now: now)
        let reset = String(Int((Double(limiter.burst) - Double(r.remaining)) / limiter.rate).clamped(0, 86400))
        let headers: [(HTTPField.Name, String)] = [
            (.rateLimitLimit, String(Int(limiter.burst))), (.rateLimitRemaining, String(r.remaining)), (.rateLimitReset, reset),
        ]
        guard r.allowed else {
            metrics.rateLimited.increment()
            let retry = max(1, Int(r.retryAfter.rounded(.up)))
            throw APIError(status: .tooManyRequests, type: "rate_limited", field: nil,
                           message: "rate limit of \(limiter.rate) requests/s (burst \(Int(limiter.burst))) exceeded; retry in \(retry) s",
                           headers: headers + [(.retryAfter, String(retry))])
        }
        var response = try await next(request, context)
        for (n, v) in headers { response.headers[n] = v }
        return response
    }
}

extension Comparable {
    func clamped(_ lo: Self, _ hi: Self) -> Self { min(max(self, lo), hi) }
}

extension HTTPField.Name {
    static let xRequestId = Self("X-Request-Id")!
    static let xQueueTime = Self("X-Queue-Time")!
    static let xInferenceTime = Self("X-Inference-Time")!
    static let rateLimitLimit = Self("RateLimit-Limit")!
    static let rateLimitRemaining = Self("RateLimit-Remaining")!
    static let rateLimitReset = Self("RateLimit-Reset")!
}

/// CORS for the configured origins (`--cors-origin`, `*` for any): preflight answers and the headers a
/// browser needs to read responses, error responses included. Hummingbird's `CORSMiddleware` is not used:
/// it takes a list of origins only as variadic literals (`.oneOf`), not the list read at start-up, and
/// answers a preflight from an unlisted origin with 204 where this refuses it with 403 (RouterTests).
struct CORS: RouterMiddleware {
    typealias Context = BrevityContext
    let origins: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed: String? = origins.contains("*") ? "*" : (origins.contains(origin) ? origin : nil)
        var response: Response
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            response = Response(status: allowed == nil ? .forbidden : .noContent)
            if allowed != nil {
                response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
                response.headers[.accessControlAllowHeaders] = "Accept, Authorization, Content-Type, Origin, X-Request-Id"
                response.headers[.accessControlMaxAge] = "600"
            }
        } else {
            // errors become their JSON responses here, so that a page on an allowed origin can read them
            do { response = try await next(request, context) } catch { response = errorResponse(error) }
        }
        if let allowed {
            response.headers[.accessControlAllowOrigin] = allowed
            response.headers[.accessControlExposeHeaders] = "X-Request-Id, X-Queue-Time, X-Inference-Time, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
            if allowed != "*" { response.headers[.vary] = "Origin" }
        }
        return response
    }
}
