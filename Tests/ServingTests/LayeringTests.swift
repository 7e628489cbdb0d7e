// The service is an adapter over BrevityKit: its sources import BrevityKit and the server stack
// (Hummingbird, HTTP types, NIO, metrics, logging, lifecycle, and AsyncHTTPClient for the OTLP trace
// exporter), never an engine target, so every summary
// it serves goes through the runtime the library and the command use.

import Foundation
import TestSupport
import XCTest

final class LayeringTests: XCTestCase {
    static let serverStack: Set<String> = ["BrevityKit", "Foundation", "Hummingbird", "HTTPTypes", "NIOCore", "Logging",
                                           "Prometheus", "ServiceLifecycle", "AsyncHTTPClient"]

    func testServingImportsBrevityKitAndTheServerStackOnly() throws {
        let folder = TestPaths.repoRoot.appendingPathComponent("Sources/Serving")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 10)
        var imported: Set<String> = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), words[..<i].allSatisfy({ $0.hasPrefix("@") }), i + 1 < words.count else { continue }
                let module = String(words[words.count - 1].split(separator: ".")[0])
                imported.insert(module)
                XCTAssertTrue(Self.serverStack.contains(module), "Sources/Serving/\(file) imports \(module)")
            }
        }
        XCTAssertTrue(imported.contains("BrevityKit"))
    }
}
