import BrevityKit
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Tensor
import XCTest
@testable import Serving

/// DTYPE reaches the engine and is reported: the originals' values and aliases parse, an
/// unknown one is a start-up error, and /health says which type the weights are held in.
final class DTypeServiceTests: XCTestCase {
    func testDTypeValuesParseAndUnknownOnesAreErrors() throws {
        // one parse (Placement.parseDType) for the service, the commands and the library; auto is the device's default
        for (value, expected) in [("fp16", DType.f16), ("float16", .f16), ("BF16", .bf16), ("bfloat16", .bf16),
                                  ("fp32", .f32), ("auto", nil), ("AUTO", nil), ("", nil), ("int8", .int8)] as [(String, DType?)] {
            XCTAssertEqual(try Placement.parseDType(value), expected, value)
            XCTAssertEqual(try ServerConfig.fromEnvironment(["DTYPE": value]).dtype, expected, value)
        }
        XCTAssertEqual(try ServerConfig.fromEnvironment(["DTYPE": "auto"]).weightType(onGPU: false), .f32, "auto on the CPU")
        XCTAssertThrowsError(try ServerConfig.fromEnvironment(["DTYPE": "int4"])) { error in
            XCTAssertTrue("\(error)".contains("DTYPE=int4") && "\(error)".contains("int8"), "\(error)")
        }
        XCTAssertThrowsError(try Placement.parseDType("fp8"))
        XCTAssertEqual(try ServerConfig.fromEnvironment(["DEVICE": "CPU"]).device, .cpu)
        XCTAssertEqual(try ServerConfig.fromEnvironment([:]).device, .auto)
        XCTAssertThrowsError(try ServerConfig.fromEnvironment(["DEVICE": "tpu"])) { XCTAssertTrue("\($0)".contains("DEVICE=tpu"), "\($0)") }
    }

    func testHealthReportsTheDTypeInEffectAndTheServiceAnswers() async throws {
        let engine = try SummarizationEngine.load(folder: ServingFixtures.folder, name: "summarizer-tiny", weightType: .bf16, backend: CPUBackend.shared)
        XCTAssertEqual(engine.dtype, "bfloat16")
        let (app, scheduler, _) = buildApplication(config: testConfig { $0.deviceReason = "--device cpu" }, engine: engine)
        try await waitReady(scheduler)
        try await app.test(.router) { client in
            let h = json(try await client.execute(uri: "/health", method: .get).body) as? [String: Any]
            XCTAssertEqual(h?["dtype"] as? String, "bfloat16")
            XCTAssertEqual(h?["cpu_kernels"] as? String, CPUBackend.shared.tier.name)
            XCTAssertEqual(h?["cpu_products"] as? String, MatrixLibrary.products(.bf16))
            XCTAssertTrue((h?["cpu_products"] as? String)?.contains("bfloat16") == true, "\(h?["cpu_products"] ?? "none")")
            XCTAssertEqual(h?["device_reason"] as? String, "--device cpu")
            XCTAssertEqual(h?["device"] as? String, "cpu")
            let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                             body: body(["texts": ServingFixtures.expected.texts]))
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let summaries = (json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]]
            XCTAssertEqual(summaries?.count, ServingFixtures.expected.texts.count)
            XCTAssertTrue(summaries?.allSatisfy { ($0["generated_tokens"] as? Int ?? 0) > 0 } ?? false)
        }
    }

    func testDTypeDefaultsToFloat16OnAGPUUnlessGiven() throws {
        var c = try ServerConfig.fromEnvironment([:])
        XCTAssertEqual(c.weightType(onGPU: false), .f32)
        XCTAssertEqual(c.weightType(onGPU: true), .f16)
        c = try ServerConfig.fromEnvironment(["DTYPE": "bf16"])
        XCTAssertEqual(c.weightType(onGPU: true), .bf16)
        XCTAssertEqual(c.weightType(onGPU: false), .bf16)
        c = try ServerConfig.fromEnvironment(["DTYPE": "auto"])
        XCTAssertEqual(c.weightType(onGPU: true), .f16)
        XCTAssertEqual(c.weightType(onGPU: false), .f32)
        // int8 is refused by the CUDA backend at start-up (auto then serves on the CPU)
        XCTAssertEqual(try ServerConfig.fromEnvironment(["DTYPE": "int8"]).weightType(onGPU: true), .int8)
        // T5 on a GPU defaults to bfloat16 (float16 overflows in v1.1/FLAN-T5), a given DTYPE still wins
        XCTAssertEqual(c.weightType(onGPU: true, modelType: "t5"), .bf16)
        XCTAssertEqual(c.weightType(onGPU: false, modelType: "t5"), .f32)
        XCTAssertEqual(c.weightType(onGPU: true, modelType: "pegasus"), .f16)
        XCTAssertEqual(try ServerConfig.fromEnvironment(["DTYPE": "fp16"]).weightType(onGPU: true, modelType: "t5"), .f16)
    }
}
