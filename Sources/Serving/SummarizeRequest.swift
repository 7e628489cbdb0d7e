import BrevityKit
import Foundation

/// A parsed and validated `POST /summarize` body, in either accepted shape:
/// - the originals': `{"texts": [...], "max_length", "min_length", "do_sample", "temperature", "top_p", ...}`
/// - Hugging Face inference: `{"inputs": str | [str], "parameters": {...}}`.
/// Fields left out take the model's generation defaults. Unknown fields are ignored, as the originals'
/// FastAPI and serde models do, so their clients work unchanged.
public struct SummarizeRequest {
    public enum Shape: Sendable { case originals, huggingFace }
    /// The wire names of `truncation`: Brevity's (`truncate` cuts), then the HF inference spec's (one text,
    /// so every cutting strategy cuts it; do_not_truncate leaves a text past the window an error, as
    /// transformers fails on it).
    static let truncationNames: [(name: String, value: SummaryOptions.Truncation)] = [
        ("truncate", .cut), ("chunk", .chunk), ("error", .error),
        ("longest_first", .cut), ("only_first", .cut), ("only_second", .cut), ("do_not_truncate", .error),
    ]

    public var shape: Shape
    public var texts: [String]
    public var generation: GenerationConfig
    public var truncation: SummaryOptions.Truncation
    /// `"mode"`; nil takes the service's default mode.
    public var mode: SummaryMode?
    /// Extractive length: `"num_sentences"` (>= 1) or `"ratio"` of the input's sentences (0 < r <= 1).
    public var numSentences: Int?
    public var ratio: Double?
    /// Extractive: `"strategy"` (position, pacsum, centrality, lead); nil takes the default.
    public var strategy: ExtractiveStrategy?
    /// Abstractive: `"prefix"` put before every text; nil takes the model's task prefix ("summarize: " for
    /// T5), "" turns it off.
    public var prefix: String?
    /// Fields that are not generation parameters but sit beside them.
    static let serviceFields: Set<String> = Set(["texts", "inputs", "parameters", "stream"] + fieldSpecs.map(\.name))
        .subtracting(["generate_parameters"])

    /// The service's own request fields beside transformers' (`GenerationConfig.requestSpecs`): the parser
    /// below checks values against these and the OpenAPI document writes their schemas from them.
    static let fieldSpecs: [RequestFieldSpec] = [
        RequestFieldSpec("truncation", .choice(truncationNames.map(\.name)),
                         description: "Abstractive inputs past the model's window: cut (default), summarize in chunks then summarize the summaries, or 422; the HF inference spec's values: longest_first, only_first and only_second cut, do_not_truncate is 422"),
        RequestFieldSpec("mode", .choice(SummaryMode.allCases.map(\.rawValue)),
                         description: "How summaries are made; left out, the service's default (GET /health says which); 422 when the service has no model for it"),
        RequestFieldSpec("num_sentences", .integer, minimum: 1, maximum: 10_000, description: "Extractive: sentences to keep"),
        RequestFieldSpec("ratio", .number, exclusiveMinimum: 0, maximum: 1,
                         description: "Extractive: the fraction of the input's sentences to keep (not with num_sentences)"),
        RequestFieldSpec("generate_parameters", .object,
                         description: "Generation values with these names, under the ones given directly (huggingface_hub's InferenceClient.summarization sends them as parameters.generate_parameters)"),
        RequestFieldSpec("prefix", .string, maxLength: 1000,
                         description: "Abstractive: text put before every input; left out, the model's task prefix (config.json task_specific_params.summarization.prefix, \"summarize: \" for T5); \"\" for none"),
        RequestFieldSpec("strategy", .choice(ExtractiveStrategy.allCases.map(\.rawValue)),
                         description: "Extractive: how sentences are chosen. position (default): the cleaned document's informative sentences in order, the best on news (BENCHMARKS.md); pacsum: directed centrality over sentence embeddings; centrality: mean cosine with maximal marginal relevance; lead: the first sentences"),
    ]

    static func spec(_ name: String) -> RequestFieldSpec { fieldSpecs.first { $0.name == name }! }

    /// Parses `body`; every problem is an `APIError` naming the field.
    public static func parse(_ body: [UInt8], maxTexts: Int) throws -> SummarizeRequest {
        guard String(validating: body, as: UTF8.self) != nil else { throw APIError.badRequest("the body is not valid UTF-8") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) } catch {
            throw APIError.badRequest("malformed JSON: \(error.localizedDescription)")
        }
        guard let obj = json as? [String: Any] else {
            throw APIError.invalid("body", "expected a JSON object with \"texts\" (or \"inputs\")")
        }
        var req = SummarizeRequest(shape: .originals, texts: [], generation: GenerationConfig(), truncation: .cut)
        var params: [String: Any]
        if let inputs = obj["inputs"], !(inputs is NSNull), obj["texts"] == nil || obj["texts"] is NSNull {
            req.shape = .huggingFace
            if let s = inputs as? String {
                req.texts = [s]
            } else {
                req.texts = try strings(inputs, field: "inputs")
            }
            switch obj["parameters"] {
            case nil, is NSNull: params = [:]
            case let p as [String: Any]: params = p
            default: throw APIError.invalid("parameters", "must be an object")
            }
            try checkTexts(req.texts, field: "inputs", maxTexts: maxTexts)
        } else {
            guard let texts = obj["texts"], !(texts is NSNull) else { throw APIError.invalid("texts", "required: a list of texts to summarize") }
            req.texts = try strings(texts, field: "texts")
            try checkTexts(req.texts, field: "texts", maxTexts: maxTexts)
            params = obj
        }
        // huggingface_hub's InferenceClient.summarization nests generation values here (the HF inference
        // spec's SummarizationParameters); the document lists it in both shapes, so both read it, and a
        // value also given directly wins. Anything but an object or null is refused, never ignored.
        switch params["generate_parameters"] {
        case nil, is NSNull: break
        case let g as [String: Any]: params.merge(g) { direct, _ in direct }
        default:
            throw APIError.invalid(req.shape == .huggingFace ? "parameters.generate_parameters" : "generate_parameters", "must be an object")
        }
        if let t = params["truncation"] ?? obj["truncation"], !(t is NSNull) {
            guard let s = t as? String, let mode = Self.truncationNames.first(where: { $0.name == s })?.value else {
                throw APIError.invalid("truncation", "must be \"truncate\", \"chunk\" or \"error\" (or the HF inference spec's "
                                       + "\"longest_first\", \"only_first\", \"only_second\", \"do_not_truncate\")")
            }
            req.truncation = mode
        }
        if let m = params["mode"] ?? obj["mode"], !(m is NSNull) {
            guard let s = m as? String, let mode = SummaryMode(rawValue: s) else {
                throw APIError.invalid("mode", "must be \"abstractive\" or \"extractive\"")
            }
            req.mode = mode
        }
        if let v = params["num_sentences"], !(v is NSNull) {
            let spec = Self.spec("num_sentences")
            guard let n = v as? NSNumber, !isBool(n), n.doubleValue == n.doubleValue.rounded(), spec.rangeProblem(n.doubleValue) == nil else {
                throw APIError.invalid("num_sentences", "must be an integer from \(Int(spec.minimum!)) to \(Int(spec.maximum!))")
            }
            req.numSentences = n.intValue
        }
        if let v = params["ratio"], !(v is NSNull) {
            let spec = Self.spec("ratio")
            guard let n = v as? NSNumber, !isBool(n), spec.rangeProblem(n.doubleValue) == nil else {
                throw APIError.invalid("ratio", "must be a number in (\(Int(spec.exclusiveMinimum!)), \(Int(spec.maximum!))]: the fraction of the input's sentences to keep")
            }
            if req.numSentences != nil { throw APIError.invalid("ratio", "give num_sentences or ratio, not both") }
            req.ratio = n.doubleValue
        }
        if let v = params["prefix"] ?? obj["prefix"], !(v is NSNull) {
            let most = Self.spec("prefix").maxLength!
            guard let p = v as? String, p.unicodeScalars.count <= most else {
                throw APIError.invalid("prefix", "must be a string of at most \(most) characters (\"\" for none)")
            }
            req.prefix = p
        }
        if let v = params["strategy"] ?? obj["strategy"], !(v is NSNull) {
            guard let name = v as? String, let s = ExtractiveStrategy(rawValue: name) else {
                throw APIError.invalid("strategy", "must be one of \(ExtractiveStrategy.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            req.strategy = s
        }
        var gen: [String: Any] = [:]
        for key in GenerationConfig.requestFields where key != "num_return_sequences" {
            if let v = params[key], !(v is NSNull) { gen[key] = v }
        }
        do { req.generation = try GenerationConfig.request(gen) } catch let GenerationError.invalidParameter(field, why) {
            throw APIError.invalid(field, why)
        }
        // a minimum past the maximum is not an error: transformers warns and decodes to the maximum, as here
        return req
    }

    /// The extractive summary's length: num_sentences, else ratio, else max_new_tokens or max_length as a
    /// token budget (the embedder's tokens) with min_new_tokens or min_length as its minimum, else
    /// `defaultSentences` sentences.
    public func extractiveLength(defaultSentences: Int = 3) -> SummaryLength {
        .requested(sentences: numSentences, ratio: ratio, maxTokens: generation.maxNewTokens ?? generation.maxLength,
                   minTokens: generation.minNewTokens ?? generation.minLength, defaultSentences: defaultSentences)
    }

    /// JSON true/false arrive as NSNumber too (objCType "c").
    private static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    private static func strings(_ v: Any, field: String) throws -> [String] {
        guard let arr = v as? [Any] else { throw APIError.invalid(field, "must be a list of strings") }
        return try arr.enumerated().map { i, x in
            guard let s = x as? String else { throw APIError.invalid("\(field)[\(i)]", "must be a string") }
            return s
        }
    }

    private static func checkTexts(_ texts: [String], field: String, maxTexts: Int) throws {
        if texts.isEmpty { throw APIError.invalid(field, "must hold at least one text") }
        if texts.count > maxTexts {
            throw APIError.invalid(field, "\(texts.count) texts in one request; at most \(maxTexts) are accepted (split the request)")
        }
        // whitespace is text (transformers summarizes it too); only "" is refused, as the schema's minLength says
        for (i, t) in texts.enumerated() where t.isEmpty {
            throw APIError.invalid("\(field)[\(i)]", "must not be empty")
        }
    }
}
