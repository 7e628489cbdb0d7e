import Foundation
import Generation

/// A parsed and validated `POST /summarize` body, in either accepted shape:
/// - the originals': `{"texts": [...], "max_length", "min_length", "do_sample", "temperature", "top_p", ...}`
/// - Hugging Face inference: `{"inputs": str | [str], "parameters": {...}}`.
/// Fields left out take the model's generation defaults. Unknown fields are ignored, as the originals'
/// FastAPI and serde models do, so their clients work unchanged.
public struct SummarizeRequest {
    public enum Shape: Sendable { case originals, huggingFace }
    public enum Truncation: String, Sendable { case truncate, chunk, error }

    public var shape: Shape
    public var texts: [String]
    public var generation: GenerationConfig
    public var truncation: Truncation
    /// Fields that are not generation parameters but sit beside them.
    static let serviceFields: Set<String> = ["texts", "inputs", "parameters", "truncation", "mode", "stream"]

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
        var req = SummarizeRequest(shape: .originals, texts: [], generation: GenerationConfig(), truncation: .truncate)
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
        if let t = params["truncation"] ?? obj["truncation"], !(t is NSNull) {
            guard let s = t as? String, let mode = Truncation(rawValue: s) else {
                throw APIError.invalid("truncation", "must be \"truncate\", \"chunk\" or \"error\"")
            }
            req.truncation = mode
        }
        var gen: [String: Any] = [:]
        for key in GenerationConfig.requestFields where key != "num_return_sequences" {
            if let v = params[key], !(v is NSNull) { gen[key] = v }
        }
        do { req.generation = try GenerationConfig.request(gen) } catch let GenerationError.invalidParameter(field, why) {
            throw APIError.invalid(field, why)
        }
        if let lo = req.generation.minLength, let hi = req.generation.maxLength, lo > hi {
            throw APIError.invalid("min_length", "must not exceed max_length (\(lo) > \(hi))")
        }
        if let lo = req.generation.minNewTokens, let hi = req.generation.maxNewTokens, lo > hi {
            throw APIError.invalid("min_new_tokens", "must not exceed max_new_tokens (\(lo) > \(hi))")
        }
        return req
    }

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
        for (i, t) in texts.enumerated() where t.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) {
            throw APIError.invalid("\(field)[\(i)]", "must not be empty")
        }
    }
}
