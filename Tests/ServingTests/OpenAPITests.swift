import Foundation
import XCTest
@testable import Serving

/// GET /openapi.json is a valid OpenAPI 3.1 document describing every route.
final class OpenAPITests: XCTestCase {
    func document() throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
    }

    func testStructureAndReferences() throws {
        let doc = try document()
        XCTAssertEqual(doc["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(doc["paths"] as? [String: [String: Any]])
        XCTAssertEqual(Set(paths.keys), ["/", "/health", "/ready", "/summarize", "/summarize/stream", "/metrics", "/openapi.json", "/docs"])
        for (path, item) in paths {
            for (method, op) in item {
                let o = try XCTUnwrap(op as? [String: Any], "\(method) \(path)")
                XCTAssertNotNil(o["responses"] as? [String: Any], "\(method) \(path) has responses")
                XCTAssertNotNil(o["operationId"] as? String)
            }
        }
        // POST / is POST /summarize's operation under its own id
        let root = try XCTUnwrap(paths["/"]?["post"] as? [String: Any])
        let summarize = try XCTUnwrap(paths["/summarize"]?["post"] as? [String: Any])
        XCTAssertEqual(root["operationId"] as? String, "summarize_root")
        XCTAssertEqual(NSDictionary(dictionary: try XCTUnwrap(root["requestBody"] as? [String: Any])),
                       NSDictionary(dictionary: try XCTUnwrap(summarize["requestBody"] as? [String: Any])))
        XCTAssertEqual(NSDictionary(dictionary: try XCTUnwrap(root["responses"] as? [String: Any])),
                       NSDictionary(dictionary: try XCTUnwrap(summarize["responses"] as? [String: Any])))
        // every $ref resolves
        func refs(_ v: Any) -> [String] {
            if let d = v as? [String: Any] { return (d["$ref"] as? String).map { [$0] } ?? d.values.flatMap(refs) }
            if let a = v as? [Any] { return a.flatMap(refs) }
            return []
        }
        for ref in refs(doc) {
            XCTAssertTrue(ref.hasPrefix("#/"), ref)
            var node: Any? = doc
            for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] }
            XCTAssertNotNil(node, "unresolved \(ref)")
        }
    }

    /// The Python `openapi-spec-validator` (on the development and CI machines' image) when present.
    func testValidatesWithOpenAPISpecValidator() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-openapi-\(getpid()).json")
        try Data(OpenAPIDocument.json.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys\ntry:\n import openapi_spec_validator as v\nexcept ImportError:\n sys.exit(3)\nimport json\nv.validate(json.load(open(sys.argv[1])))", file.path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus == 3 { throw XCTSkip("openapi-spec-validator is not installed") }
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
