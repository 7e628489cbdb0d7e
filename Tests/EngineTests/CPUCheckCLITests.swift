// `brevity cpu-check` end to end: every tier this CPU has passes, one line (or JSON object) per check, and
// a tier that is unknown or beyond this CPU exits 2 with a message naming it.

import Foundation
import Tensor
import TestSupport
import XCTest

final class CPUCheckCLITests: XCTestCase {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try brevityBinary()
        p.arguments = ["cpu-check"] + args
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
            XCTAssertEqual(lines.count, checks, "\(tier.name): \(text.out)")
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
