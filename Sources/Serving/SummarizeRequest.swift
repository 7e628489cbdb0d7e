import BrevityKit
import Foundation

/// A parsed and validated `POST /summarize` body, in either accepted shape:
/// - the originals': `{"texts": [...], "max_length", "min_length", "do_sample", "temperature", "top_p", ...}`
/// - Hugging Face inference: `{"inputs": str | [str], "parameters": {...}}`.
/// Fields left out take the model's generation defaults. Unknown fields are ignored, as the originals'
/// FastAPI and serde models do, so their clients work unchanged.
@dynamicMemberLookup
public struct SummarizeRequest {
    public enum Shape: Sendable { case originals, huggingFace }

    public var shape: Shape
    public var texts: [String]
    /// What is asked of every text (BrevityKit's one list of fields); `req.numBeams` reads it.
    public var request: SummaryRequest

    public subscript<T>(dynamicMember path: KeyPath<SummaryRequest, T>) -> T { request[keyPath: path] }

    /// `generate_parameters`: a container of generation values, not a field of its own (the HF inference
    /// spec's SummarizationParameters; huggingface_hub's InferenceClient.summarization sends them there).
    static let generateParameters = RequestFieldSpec(
        "generate_parameters", .object,
        description: "Generation values with these names, under the ones given directly (huggingface_hub's InferenceClient.summarization sends them as parameters.generate_parameters)")
    /// Fields the Hugging Face shape may also give beside `inputs` rather than in `parameters`.
    static let topLevelInHuggingFace: Set<String> = ["truncation", "mode", "prefix", "strategy"]

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
        var req = SummarizeRequest(shape: .originals, texts: [], request: SummaryRequest())
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
        // generation values nested here (both shapes read it, as the document lists it in both); a value
        // also given directly wins. Anything but an object or null is refused, never ignored.
        switch params["generate_parameters"] {
        case nil, is NSNull: break
        case let g as [String: Any]: params.merge(g) { direct, _ in direct }
        default:
            throw APIError.invalid(req.shape == .huggingFace ? "parameters.generate_parameters" : "generate_parameters", "must be an object")
        }
        for field in SummaryRequest.fields {
            let name = field.spec.name
            let raw = params[name] ?? (topLevelInHuggingFace.contains(name) ? obj[name] : nil)
            if let raw { try read(raw, field, into: &req.request) }
        }
        try validated(req.request)
        // a minimum past the maximum is not an error: transformers warns and decodes to the maximum, as here
        return req
    }

    /// `brevity summarize --params`: transformers' generation values, strictly (an unknown name is an error).
    public static func generationParameters(_ json: [String: Any]) throws -> SummaryRequest {
        let known = SummaryRequest.fields.filter(\.isGeneration)
        for key in json.keys.sorted() where !known.contains(where: { $0.spec.name == key }) {
            throw APIError.invalid(key, "unknown parameter (known: \(known.map(\.spec.name).joined(separator: ", ")))")
        }
        var request = SummaryRequest()
        for field in known { if let raw = json[field.spec.name] { try read(raw, field, into: &request) } }
        try validated(request)
        return request
    }

    /// `raw` (JSON null leaves the field out) as a value of the field's kind, set in `request`.
    static func read(_ raw: Any, _ field: SummaryRequest.Field, into request: inout SummaryRequest) throws {
        if raw is NSNull { return }
        let spec = field.spec
        // JSON true/false and numbers both arrive as NSNumber
        let n = raw as? NSNumber
        let number = n.flatMap { isBool($0) ? nil : $0 }
        let boolean = n.flatMap { isBool($0) ? SummaryRequest.FieldValue.boolean($0.boolValue) : nil }
        let string = (raw as? String).map { SummaryRequest.FieldValue.string($0) }
        let value: SummaryRequest.FieldValue?
        switch spec.kind {
        case .integer: value = number.flatMap(integer)
        case .number: value = number.map { .number($0.doubleValue) }
        case .boolean: value = boolean
        case .string, .choice: value = string
        case .booleanOrNever: value = boolean ?? string
        case .object: value = nil
        }
        guard let value else { throw APIError.invalid(spec.name, "must be \(spec.expected), got \(raw)") }
        if let why = field.set(value, in: &request) { throw APIError.invalid(spec.name, why) }
    }

    /// An integer: a literal exactly (up to 2^63 - 1), or an integral double below 2^63 in magnitude.
    private static func integer(_ n: NSNumber) -> SummaryRequest.FieldValue? {
        if n.stringValue == String(n.int64Value) { return .integer(n.int64Value) }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 9223372036854775808.0 else { return nil }
        return .integer(Int64(d))
    }

    /// The request's one check (`SummaryRequest.validate`), as a 422 naming the field.
    private static func validated(_ request: SummaryRequest) throws {
        do { try request.validate() } catch let SummarizerError.invalidOption(field, why) { throw APIError.invalid(field, why) }
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
