import BrevityKit
import Foundation
import Generation
import XCTest
@testable import Serving

/// The OpenAPI document and the request parser must agree: every request field
/// the document lists is one the server reads and every field the server reads is listed; each numeric
/// bound the document states is where the parser starts refusing, naming the field; each enum value is
/// accepted and a value outside it refused. A limit or field changed on one side only fails here.
final class DocumentAgreementTests: XCTestCase {
    /// The document with model-dependent bounds fixed (positions 1024) and the default server limits.
    func generationProperties() throws -> [String: [String: Any]] {
        let text = OpenAPIDocument.json(maxTexts: ServerConfig().maxTexts, maxBeams: ServerConfig().maxBatchSize, maxPositions: 1024)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let schemas = try XCTUnwrap((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let gen = try XCTUnwrap(schemas["GenerationParameters"] as? [String: Any])
        return try XCTUnwrap(gen["properties"] as? [String: [String: Any]])
    }

    func parse(_ fields: [String: Any]) throws -> SummarizeRequest {
        var body = fields
        body["texts"] = ["A text to summarize."]
        return try parseBody(body)
    }

    func parseBody(_ body: [String: Any]) throws -> SummarizeRequest {
        try SummarizeRequest.parse(Array(try JSONSerialization.data(withJSONObject: body)), maxTexts: ServerConfig().maxTexts)
    }

    /// nil when accepted, else the field the error names.
    func refusal(_ fields: [String: Any]) -> String? {
        bodyRefusal(fields.merging(["texts": ["A text to summarize."]]) { _, text in text })
    }

    func bodyRefusal(_ body: [String: Any]) -> String? {
        do { _ = try parseBody(body); return nil } catch let e as APIError { return e.field ?? "?" } catch { return "?" }
    }

    // MARK: Every field as every JSON type

    /// One value of each JSON type; a number that is not an integer, so an integer field refuses it.
    static let jsonTypes: [(name: String, value: Any)] = [
        ("null", NSNull()), ("boolean", true), ("integer", 3), ("number", 0.5), ("string", "x"), ("array", [1]),
        ("object", ["k": 1]),
    ]

    /// The JSON types `schema` admits: its "type" list, an enum's or a const's values, each "oneOf" branch.
    /// An integer is a number too (JSON Schema).
    static func admitted(_ schema: [String: Any]) -> Set<String> {
        var types = Set((schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? [])
        for v in (schema["enum"] as? [Any] ?? []) + (schema["const"].map { [$0] } ?? []) {
            types.insert(v is NSNull ? "null" : v is String ? "string" : "other")
        }
        for branch in schema["oneOf"] as? [[String: Any]] ?? [] { types.formUnion(admitted(branch)) }
        if types.contains("number") { types.insert("integer") }
        return types
    }

    /// A value of JSON type `type` that `schema` takes: within its bounds, from its enum.
    static func validValue(_ type: String, _ schema: [String: Any]) -> Any? {
        let lo = (schema["minimum"] as? NSNumber)?.doubleValue, open = (schema["exclusiveMinimum"] as? NSNumber)?.doubleValue
        switch type {
        case "null": return NSNull()
        case "boolean": return false
        case "integer": return lo.map { Int($0) } ?? open.map { Int($0) + 1 } ?? 1
        case "number": return (lo ?? open ?? 0) + 0.5
        case "string":
            let values = ((schema["enum"] as? [Any]) ?? []) + (schema["const"].map { [$0] } ?? [])
                + ((schema["oneOf"] as? [[String: Any]]) ?? []).compactMap { $0["const"] }
            return values.first { $0 is String } ?? "x"
        case "object": return [String: Any]()
        default: return nil
        }
    }

    /// Each request field the document lists, sent as each JSON type, in both shapes (the originals' flat body
    /// and the Hugging Face "parameters"): a type the document admits is taken (with a value within its
    /// bounds); any other is refused naming the field, never ignored. Both routes read bodies with this parser.
    func testEveryFieldAsEveryJSONTypeIsTakenOrRefusedAsTheDocumentSays() throws {
        var refused = 0, taken = 0
        for (field, schema) in try generationProperties() {
            let admits = Self.admitted(schema)
            XCTAssertTrue(admits.contains("null"), "\(field): every field may be null (left out)")
            for (type, sample) in Self.jsonTypes {
                let value: Any = (admits.contains(type) ? Self.validValue(type, schema) : sample) ?? sample
                let bodies: [(shape: String, body: [String: Any])] = [
                    ("originals", ["texts": ["A text to summarize."], field: value]),
                    ("huggingFace", ["inputs": "A text to summarize.", "parameters": [field: value]]),
                ]
                for (shape, body) in bodies {
                    let got = bodyRefusal(body)
                    if admits.contains(type) {
                        XCTAssertNil(got, "\(shape): \(field) as \(type) (\(value)) is admitted by the document but refused")
                        taken += 1
                    } else {
                        XCTAssertTrue(got == field || got == "parameters.\(field)",
                                      "\(shape): \(field) as \(type) must be refused naming it, got \(got ?? "accepted")")
                        refused += 1
                    }
                }
            }
        }
        // the bodies' own fields: texts a list of strings, inputs a string or a list, parameters an object
        for (type, value) in Self.jsonTypes {
            let texts = bodyRefusal(["texts": type == "array" ? ["A text."] : value])
            XCTAssertEqual(texts, type == "array" ? nil : "texts", "texts as \(type)")
            let inputs = bodyRefusal(["inputs": type == "array" ? ["A text."] : value])
            // a null "inputs" is no input at all: the body lacks its texts, which the error names
            XCTAssertEqual(inputs, ["array", "string"].contains(type) ? nil : type == "null" ? "texts" : "inputs", "inputs as \(type)")
            let parameters = bodyRefusal(["inputs": "A text.", "parameters": type == "object" ? [String: Any]() : value])
            XCTAssertEqual(parameters, ["object", "null"].contains(type) ? nil : "parameters", "parameters as \(type)")
        }
        XCTAssertGreaterThan(refused, 100)
        XCTAssertGreaterThan(taken, 50)
    }

    /// generate_parameters' values apply in both shapes, under the ones given directly.
    func testGenerateParametersApplyUnderDirectValuesInBothShapes() throws {
        let nested: [String: Any] = ["max_new_tokens": 7, "num_beams": 2]
        let originals = try parseBody(["texts": ["A text."], "num_beams": 3, "generate_parameters": nested])
        let huggingFace = try parseBody(["inputs": "A text.", "parameters": ["num_beams": 3, "generate_parameters": nested]])
        for req in [originals, huggingFace] {
            XCTAssertEqual(req.generation.maxNewTokens, 7)
            XCTAssertEqual(req.generation.numBeams, 3, "a value given directly wins")
        }
        XCTAssertEqual(bodyRefusal(["texts": ["A text."], "generate_parameters": ["max_new_tokens": "7"]]), "max_new_tokens")
    }

    func testEveryDocumentedFieldIsReadAndEveryReadFieldIsDocumented() throws {
        let documented = Set(try generationProperties().keys)
        // what the reader takes (SummaryRequest.fields; SummaryRequestFieldTests checks each lands where it is read)
        let read = Set(SummaryRequest.fields.map(\.spec.name)).union(["generate_parameters"])
        XCTAssertEqual(documented.subtracting(read), [], "documented but not read by the server")
        XCTAssertEqual(read.subtracting(documented), [], "read by the server but not in the document")
    }

    func testNumericBoundsAreWhereTheParserRefuses() throws {
        var checked = 0
        for (field, schema) in try generationProperties() {
            let types = (schema["type"] as? [String]) ?? []
            let integer = types.contains("integer")
            guard integer || types.contains("number") else { continue }
            // a value just past a bound is refused naming the field; the bound itself is accepted
            if let lo = (schema["minimum"] as? NSNumber)?.doubleValue {
                XCTAssertNil(refusal([field: integer ? Int(lo) : lo]), "\(field) = \(lo) (the minimum) refused")
                XCTAssertEqual(refusal([field: integer ? Int(lo) - 1 : lo - 0.5]), field, "\(field) below its minimum \(lo)")
                checked += 1
            }
            if let lo = (schema["exclusiveMinimum"] as? NSNumber)?.doubleValue {
                XCTAssertEqual(refusal([field: integer ? Int(lo) : lo]), field, "\(field) = \(lo) (exclusive minimum) accepted")
                XCTAssertNil(refusal([field: integer ? Int(lo) + 1 : lo + 0.25]), "\(field) above its exclusive minimum refused")
                checked += 1
            }
            // num_beams and the two length maxima depend on --max-batch-size and the model (SummarizeController
            // and the engine check them); seed's maximum is Int64.max (nothing past it is an Int)
            if let hi = (schema["maximum"] as? NSNumber)?.doubleValue, hi < 1e16, field != "num_beams", field != "max_length",
               field != "max_new_tokens" {
                XCTAssertNil(refusal([field: integer ? Int(hi) : hi]), "\(field) = \(hi) (the maximum) refused")
                XCTAssertEqual(refusal([field: integer ? Int(hi) + 1 : hi + 0.5]), field, "\(field) above its maximum \(hi)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
    }

    func testEnumValuesAreAcceptedAndOthersRefused() throws {
        var checked = 0
        for (field, schema) in try generationProperties() {
            guard let values = schema["enum"] as? [Any] else { continue }
            for v in values where !(v is NSNull) {
                XCTAssertNil(refusal([field: v]), "\(field) = \(v) is in the document's enum but refused")
                checked += 1
            }
            if values.contains(where: { $0 is String }) {
                XCTAssertEqual(refusal([field: "not-a-documented-value"]), field, "\(field): a value outside the enum accepted")
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
        // the prefix's documented length bound
        let maxLength = try XCTUnwrap(try generationProperties()["prefix"]?["maxLength"] as? Int)
        XCTAssertNil(refusal(["prefix": String(repeating: "p", count: maxLength)]))
        XCTAssertEqual(refusal(["prefix": String(repeating: "p", count: maxLength + 1)]), "prefix")
    }
}
