// `brevity cpu-check` end to end: every tier this CPU has passes, one line (or JSON object) per check, and
// a tier that is unknown or beyond this CPU exits 2 with a message naming it.

import Foundation
import Tensor
import TestSupport
import XCTest

final class CPUCheckCLITests: XCTestCase {
    func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try brevityBinary()
        p.arguments = ["cpu-check"] + args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func testEveryTierOfThisCPUPasses() throws {
        let tiers = CPUTier.allCases.filter { $0 <= CPUTier.supported }
        let text = try run([])
        XCTAssertEqual(text.status, 0, text.err)
        XCTAssertTrue(text.out.hasPrefix("cpu: "), text.out)
        let checks = 2 * DType.allCases.count + 1
        for tier in tiers {
            let lines = text.out.split(separator: "\n").filter { $0.hasPrefix(tier.name + " ") }
            // two more lines a type where oneDNN runs the many-row products (not for the portable reference)
            let library = CPUBackend(tier: tier).matrixLibrary != nil
            XCTAssertEqual(lines.count, checks + (library ? 2 * DType.allCases.count : 0), "\(tier.name): \(text.out)")
            XCTAssertTrue(lines.allSatisfy { $0.hasSuffix(" ok") }, text.out)
        }
        let json = try run(["--json", "--tier", "portable"])
        XCTAssertEqual(json.status, 0, json.err)
        let objects = try json.out.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(objects.count, checks)
        XCTAssertTrue(objects.allSatisfy { $0["tier"] as? String == "portable" && $0["passed"] as? Bool == true }, json.out)
    }

    /// A CPU OpenBLAS does not know gets its SSE3 "Prescott" kernels (faked here): brevity says so, restarts once
    /// with OPENBLAS_CORETYPE set from the CPU's features, and sends the many-row products to oneDNN.
    func testOpenBLASFallbackRestartsWithTheCoreTheFeaturesCallFor() throws {
        guard CPUTier.supported >= .avx2, let fix = OpenBLASCore.coreType(for: CPUTier.supported) else {
            throw XCTSkip("no OpenBLAS family above Prescott for this CPU")
        }
        let r = try run(["--tier", "portable"], environment: ["BREVITY_FAKE_OPENBLAS_CORE": "Prescott"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("OpenBLAS chose its Prescott kernels (by CPU model number) on a CPU with \(CPUTier.supported.name)"), r.err)
        XCTAssertTrue(r.err.contains("OPENBLAS_CORETYPE=\(fix) fits it: restarting with it"), r.err)
        XCTAssertEqual(r.err.components(separatedBy: "restarting").count, 2, "one restart: \(r.err)")
        XCTAssertTrue(r.out.contains("openblas: Prescott, restarted from Prescott with OPENBLAS_CORETYPE=\(fix)"), r.out)
        if CPUBackend.shared.matrixLibrary != nil {
            XCTAssertTrue(r.out.contains("many-row products: float32 onednn"), r.out)
        }
        // a user's own OPENBLAS_CORETYPE stands: no restart
        let own = try run(["--tier", "portable"], environment: ["BREVITY_FAKE_OPENBLAS_CORE": "Prescott", "OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(own.status, 0, own.err)
        XCTAssertFalse(own.err.contains("restarting"), own.err)
    }

    /// BREVITY_MATRIX_LIBRARY picks what runs the many-row products; a value it does not know is named, not ignored.
    func testMatrixLibrarySettingIsFollowedOrNamed() throws {
        let none = try run(["--tier", "portable"], environment: ["BREVITY_MATRIX_LIBRARY": "none"])
        XCTAssertTrue(none.out.contains("many-row products: float32 openblas") && none.out.contains("BREVITY_MATRIX_LIBRARY=none"), none.out)
        let unknown = try run(["--tier", "portable"], environment: ["BREVITY_MATRIX_LIBRARY": "fastest"])
        XCTAssertEqual(unknown.status, 0, unknown.err)
        XCTAssertTrue(unknown.out.contains("BREVITY_MATRIX_LIBRARY=fastest is not one of auto, onednn, none, openblas"), unknown.out)
        if CPUBackend.shared.matrixLibrary != nil {
            let forced = try run(["--tier", "portable"], environment: ["BREVITY_MATRIX_LIBRARY": "onednn"])
            XCTAssertTrue(forced.out.contains("many-row products: float32 onednn"), forced.out)
        }
    }

    func testUnknownOrUnsupportedTierExits2() throws {
        let unknown = try run(["--tier", "sse9"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.contains("--tier sse9: expected portable, avx2 or avx512"), unknown.err)
        if CPUTier.supported < .avx512 {
            let beyond = try run(["--tier", "avx512"])
            XCTAssertEqual(beyond.status, 2)
            XCTAssertTrue(beyond.err.contains("this CPU supports"), beyond.err)
        }
    }
}
