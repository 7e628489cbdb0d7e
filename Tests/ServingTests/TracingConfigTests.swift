// OpenTelemetry's configuration and W3C trace context, read as the specifications say (the spans
// themselves are received by Tests/Clients/otlp_trace_test.py from a running server).

import XCTest

@testable import Serving

final class TracingConfigTests: XCTestCase {
    func testTheStandardVariables() throws {
        XCTAssertNil(try TraceConfig.from(environment: [:]), "off without an endpoint")
        XCTAssertNil(try TraceConfig.from(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"]))
        let c = try XCTUnwrap(TraceConfig.from(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"]))
        XCTAssertEqual(c.endpoint, "http://collector:4318/v1/traces")
        XCTAssertEqual(c.serviceName, "brevity")
        XCTAssertEqual(c.sampler, .parentBased(root: .ratio(1)), "the specification's default")
        let t = try XCTUnwrap(TraceConfig.from(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b:2/traces",
            "OTEL_SERVICE_NAME": "summaries", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25",
        ]))
        XCTAssertEqual(t.endpoint, "https://b:2/traces", "the traces endpoint is taken as is")
        XCTAssertEqual(t.serviceName, "summaries")
        XCTAssertEqual(t.sampler, .parentBased(root: .ratio(0.25)))
        let bad: [[String: String]] = [
            ["OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"],
            ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1", "OTEL_TRACES_SAMPLER": "sometimes"],
            ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"],
            ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"],
        ]
        for env in bad {
            XCTAssertThrowsError(try TraceConfig.from(environment: env), "\(env)") { XCTAssertTrue("\($0)".contains("OTEL_"), "\($0)") }
        }
        // and `brevity serve` reads them with its other settings
        XCTAssertEqual(try ServerConfig.fromEnvironment(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"]).tracing?.endpoint, "http://c:4318/v1/traces")
        XCTAssertNil(try ServerConfig.fromEnvironment([:]).tracing)
    }

    func testSamplers() {
        let ids = (0..<2000).map { _ in randomIds(16) }
        func share(_ s: TraceConfig.Sampler, parent: Bool? = nil) -> Double {
            let c = TraceConfig(endpoint: "http://c", sampler: s)
            return Double(ids.filter { c.samples(traceId: $0, parent: parent) }.count) / Double(ids.count)
        }
        XCTAssertEqual(share(.ratio(1)), 1)
        XCTAssertEqual(share(.ratio(0)), 0)
        XCTAssertEqual(share(.ratio(0.25)), 0.25, accuracy: 0.05)
        XCTAssertEqual(share(.parentBased(root: .ratio(0)), parent: true), 1, "a sampled parent wins")
        XCTAssertEqual(share(.parentBased(root: .ratio(1)), parent: false), 0, "an unsampled parent wins")
        XCTAssertEqual(share(.parentBased(root: .ratio(0.25))), 0.25, accuracy: 0.05, "no parent: the root sampler")
        let id = ids[0]
        let c = TraceConfig(endpoint: "http://c", sampler: .ratio(0.5))
        XCTAssertEqual(c.samples(traceId: id, parent: nil), c.samples(traceId: id, parent: nil), "decided by the trace id alone")
    }

    func testTraceParent() throws {
        let p = try XCTUnwrap(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        XCTAssertEqual(hex(p.traceId), "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(hex(p.spanId), "00f067aa0ba902b7")
        XCTAssertTrue(p.sampled)
        XCTAssertEqual(p.header, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        XCTAssertFalse(try XCTUnwrap(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")).sampled)
        XCTAssertNotNil(TraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"), "a later version's extra fields")
        for bad in ["", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
                    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"] {
            XCTAssertNil(TraceParent(bad), bad)
        }
    }
}
