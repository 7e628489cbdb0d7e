import Foundation
import Hummingbird
import NIOCore

// Every JSON response body as a type, encoded with Codable (snake_case keys, as the OpenAPI document's
// schemas name them): `POST /summarize` in either request shape, the stream's events, errors, `/health`
// and `/ready`.

/// One summary: abstractive ones count their generated tokens, extractive ones their sentences.
struct SummaryBody: Encodable {
    var text: String
    var inputTokens: Int
    var generatedTokens: Int?
    var truncated: Bool
    var inputSentences: Int?
    var sentences: [Sentence]?

    struct Sentence: Encodable {
        var index: Int
        var text: String
        var tokens: Int
    }
}

/// `POST /summarize`'s answer in the request's shape: the originals' object, or the Hugging Face list of
/// `{summary_text}`. The stream's `result` event carries the same.
enum SummarizeBody: Encodable {
    case originals(summaries: [SummaryBody], model: String, device: String, mode: String, latencyMs: Double)
    case huggingFace([SummaryBody])

    private struct Originals: Encodable {
        var summaries: [SummaryBody]
        var model: String
        var device: String
        var mode: String
        var latencyMs: Double
    }

    private struct HFSummary: Encodable { var summaryText: String }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .originals(summaries, model, device, mode, latency):
            try c.encode(Originals(summaries: summaries, model: model, device: device, mode: mode, latencyMs: latency))
        case let .huggingFace(summaries):
            try c.encode(summaries.map { HFSummary(summaryText: $0.text) })
        }
    }
}

/// A stream's `token` event: new ids of text `index` and the text they add.
struct TokenEvent: Encodable {
    var index: Int
    var tokenIds: [Int]
    var text: String
}

/// `{"error": {"type", "field", "message"}}`, `field` null when the error names none.
struct ErrorBody: Encodable {
    var error: APIError

    private enum Keys: String, CodingKey { case type, field, message }

    func encode(to encoder: Encoder) throws {
        var outer = encoder.container(keyedBy: CodingKeys.self)
        var e = outer.nestedContainer(keyedBy: Keys.self, forKey: .error)
        try e.encode(error.type, forKey: .type)
        try e.encode(error.field, forKey: .field)   // null, not left out
        try e.encode(error.message, forKey: .message)
    }

    private enum CodingKeys: String, CodingKey { case error }
}

/// `GET /health`: the originals' fields (status, model, device), then which mode serves and why, the
/// hardware facts, readiness and the memory budget.
struct HealthBody: Encodable {
    var status: String
    var model: String
    var device: String
    var mode: String
    var modes: [String]
    var models: Models
    var reason: String
    /// The weights' type in effect (DTYPE).
    var dtype: String
    /// The CPU kernels' instruction set, and what runs the many-row products (the encoder) and why.
    var cpuKernels: String
    var cpuProducts: String
    var supportedModelTypes: [String: String]
    var deviceReason: String?
    var gpu: String?
    var ready: Bool
    /// null when there is no budget (written, not left out).
    var memoryBudgetBytes: Nullable<Int>
    var memoryUsedBytes: Int
    var warmupError: String?

    struct Models: Encodable {
        var abstractive: String?
        var extractive: String?
    }
}

/// `GET /ready`: `reason` when not ready.
struct ReadyBody: Encodable {
    var ready: Bool
    var reason: String?
}

/// A value written as JSON null when absent (Codable leaves nil optionals out).
struct Nullable<T: Encodable>: Encodable {
    var value: T?

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}

/// The one encoder of response bodies.
let responseEncoder: JSONEncoder = {
    let e = JSONEncoder()
    e.keyEncodingStrategy = .convertToSnakeCase
    e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]   // the same bytes for the same body
    return e
}()

func jsonData(_ value: some Encodable) -> Data {
    (try? responseEncoder.encode(value)) ?? Data("{}".utf8)
}

func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jsonData(value))))
}

/// One Server-Sent Event whose data is `value` as JSON.
func sse(_ event: String, _ value: some Encodable) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeString("event: \(event)\ndata: ")
    b.writeBytes(jsonData(value))
    b.writeString("\n\n")
    return b
}
