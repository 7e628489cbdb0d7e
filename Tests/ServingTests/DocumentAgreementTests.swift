import Foundation
import Generation
import XCTest
@testable import Serving

/// The OpenAPI document and the request parser must agree (issue 15, part 5's check): every request field
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
        return try SummarizeRequest.parse(Array(try JSONSerialization.data(withJSONObject: body)), maxTexts: ServerConfig().maxTexts)
    }

    /// nil when accepted, else the field the error names.
    func refusal(_ fields: [String: Any]) -> String? {
        do { _ = try parse(fields); return nil } catch let e as APIError { return e.field ?? "?" } catch { return "?" }
    }

    func testEveryDocumentedFieldIsReadAndEveryReadFieldIsDocumented() throws {
        let documented = Set(try generationProperties().keys)
        let read = Set(GenerationConfig.requestFields.filter { $0 != "num_return_sequences" })
            .union(SummarizeRequest.serviceFields.subtracting(["texts", "inputs", "parameters", "stream"]))
            .union(["generate_parameters"])
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
