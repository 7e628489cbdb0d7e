// `brevity summarize` end to end: ids equal to transformers' generate, and bad
// input exiting non-zero with a message naming the problem. Runs the `brevity` binary that `swift test`
// builds beside the test bundle (skipped when it is absent, a failure under CI).

import Foundation
import TestSupport
import XCTest

final class SummarizeCLITests: XCTestCase {
    var binary: URL!
    var modelDir: URL!

    override func setUpWithError() throws {
        binary = try brevityBinary()
        // bart-tiny plus a BART tokenizer (its ids exceed the tiny vocabulary: inputs are given as ids)
        modelDir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: modelDir, withIntermediateDirectories: true)
        let src = Fixtures.bart.appendingPathComponent("bart-tiny")
        for f in ["config.json", "generation_config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: modelDir.appendingPathComponent(f))
        }
        try FileManager.default.copyItem(
            at: Fixtures.bart.deletingLastPathComponent().appendingPathComponent("tokenizers/bart/tokenizer.json"),
            to: modelDir.appendingPathComponent("tokenizer.json"))
    }

    override func tearDownWithError() throws { if let modelDir { try? FileManager.default.removeItem(at: modelDir) } }

    func run(_ args: [String], stdin: String, environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = ["summarize"] + args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        inPipe.fileHandleForWriting.write(Data(stdin.utf8))
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func testTokenIdsEqualTransformersInInputOrder() throws {
        let j = try Fixtures.json(Fixtures.bart.appendingPathComponent("bart-tiny/generate.json"))
        for name in ["defaults", "beam4_early_true", "greedy_penalties"] {
            let s = (j["settings"] as! [[String: Any]]).first { $0["name"] as! String == name }!
            var params = s["params"] as! [String: Any]
            params["forced_bos_token_id"] = nil     // the model's own defaults, not request fields
            params["forced_eos_token_id"] = nil
            let cases = s["cases"] as! [[String: Any]]
            let stdin = cases.map { c -> String in
                String(decoding: try! JSONSerialization.data(withJSONObject: ["input_ids": c["input_ids"]!]), as: UTF8.self)
            }.joined(separator: "\n") + "\n"
            let paramsJSON = String(decoding: try JSONSerialization.data(withJSONObject: params), as: UTF8.self)
            let r = try run(["--model", modelDir.path, "--params", paramsJSON, "--max-batch-size", "3"], stdin: stdin)
            XCTAssertEqual(r.status, 0, r.err)
            let lines = r.out.split(separator: "\n")
            XCTAssertEqual(lines.count, cases.count)
            for (line, c) in zip(lines, cases) {
                let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                XCTAssertEqual(ints(obj["token_ids"]), ((c["sequences"] as! [Any]).map(ints))[0], name)
                XCTAssertNotNil(obj["text"] as? String)
            }
        }
    }

    /// `--bench-encoder` times the encoder alone: no summaries written, one JSON line of timings.
    func testBenchEncoderTimesTheEncoderAlone() throws {
        let stdin = "{\"input_ids\": [0, 10, 11, 12, 2]}\n{\"input_ids\": [0, 13, 2]}\n"
        let r = try run(["--model", modelDir.path, "--bench-encoder", "--bench-repeat", "3"], stdin: stdin)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "", "no summaries")
        let line = try XCTUnwrap(r.err.split(separator: "\n").last)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(obj["encoder"] as? Bool, true)
        XCTAssertEqual(ints(obj["tokens"]), [5, 3])
        let times = try XCTUnwrap(obj["bench_seconds"] as? [Double])
        XCTAssertEqual(times.count, 3)
        XCTAssertTrue(times.allSatisfy { $0 > 0 })
        XCTAssertEqual(obj["median"] as? Double, times.sorted()[1])
    }

    /// `--bench-repeat` on generation: timings, a run's search steps (summed over texts), decoder passes and
    /// tokens generated, and the median time per step and per pass.
    func testBenchReportsDecoderStepsAndTimePerStep() throws {
        let stdin = "{\"input_ids\": [0, 10, 11, 12, 2]}\n{\"input_ids\": [0, 13, 2]}\n"
        // min_length = max_length: both beams searches run to the end, 7 steps after the start token
        let r = try run(["--model", modelDir.path, "--bench-repeat", "2", "--params", "{\"num_beams\": 2, \"min_length\": 8, \"max_length\": 8}"],
                        stdin: stdin)
        XCTAssertEqual(r.status, 0, r.err)
        let line = try XCTUnwrap(r.err.split(separator: "\n").last)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(obj["steps"] as? Int, 14, "7 beam steps for each of the two texts")
        XCTAssertEqual(obj["passes"] as? Int, 7, "beam searches draft only when asked: one pass a step, both texts in it")
        XCTAssertEqual(obj["tokens"] as? Int, 14)
        XCTAssertEqual(obj["draft_tokens"] as? Int, 0)
        let median = try XCTUnwrap(obj["median"] as? Double), perStep = try XCTUnwrap(obj["ms_per_step"] as? Double)
        XCTAssertEqual(perStep, median * 1000 / 14, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(obj["ms_per_pass"] as? Double), median * 1000 / 7, accuracy: 1e-9)
        XCTAssertNil(obj["per_step"], "stream counts only on a GPU")
    }

    /// `--draft-tokens` (and BREVITY_DRAFT_TOKENS) never change the ids, greedy or beam; the bench line says
    /// what drafted (no more passes than steps); values out of range are refused naming the flag or variable.
    func testDraftTokensLeaveTheIdsAsTheyAre() throws {
        let stdin = "{\"input_ids\": [0, 10, 11, 12, 10, 11, 13, 2]}\n{\"input_ids\": [0, 13, 14, 2]}\n"
        for params in ["{\"num_beams\": 1, \"max_length\": 12}", "{\"num_beams\": 3, \"max_length\": 12}"] {
            let plain = try run(["--model", modelDir.path, "--params", params, "--draft-tokens", "0"], stdin: stdin)
            XCTAssertEqual(plain.status, 0, plain.err)
            for flags in [["--draft-tokens", "4"], ["--draft-tokens", "32"], []] {
                let drafted = try run(["--model", modelDir.path, "--params", params, "--bench-repeat", "1"] + flags, stdin: stdin)
                XCTAssertEqual(drafted.status, 0, drafted.err)
                XCTAssertEqual(drafted.out, plain.out, "\(params) \(flags)")
                let line = try XCTUnwrap(drafted.err.split(separator: "\n").last)
                let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let passes = try XCTUnwrap(obj["passes"] as? Int), steps = try XCTUnwrap(obj["steps"] as? Int)
                XCTAssertLessThanOrEqual(passes, steps)
                XCTAssertEqual(obj["draft_tokens"] as? Int, flags.isEmpty ? (params.contains("\"num_beams\": 1") ? 6 : 0) : Int(flags[1]))
            }
            let env = try run(["--model", modelDir.path, "--params", params], stdin: stdin, environment: ["BREVITY_DRAFT_TOKENS": "3"])
            XCTAssertEqual(env.out, plain.out)
        }
        for bad in ["-1", "33", "x"] {
            let r = try run(["--model", modelDir.path, "--draft-tokens", bad], stdin: stdin)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.err.contains("--draft-tokens"), r.err)
        }
        let r = try run(["--model", modelDir.path], stdin: stdin, environment: ["BREVITY_DRAFT_TOKENS": "lots"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("BREVITY_DRAFT_TOKENS=lots"), r.err)
    }

    func testBadInputExitsNonZeroNamingTheProblem() throws {
        let ok = "{\"input_ids\": [0, 10, 11, 2]}\n"
        let cases: [([String], String, String)] = [
            (["--params", "{\"num_beam\": 2}"], ok, "num_beam"),                // unknown parameter
            (["--params", "{\"num_beams\": \"2\"}"], ok, "num_beams"),          // wrong type
            (["--params", "{\"top_p\": 2}"], ok, "top_p"),                      // out of range
            (["--params", "{\"max_length\": 100000}"], ok, "max_length"),       // beyond the positions
            (["--params", "not json"], ok, "--params"),
            ([], "{\"text\": 5}\n", "text"),                                      // wrong field type
            ([], "{\"txt\": \"a\"}\n", "txt"),                                    // unknown field
            ([], "nonsense\n", "line 1"),
            ([], "{\"input_ids\": [0, 99999, 2]}\n", "99999"),                    // id outside the vocabulary
            (["--bench-encoder"], ok, "--bench-repeat"),                           // nothing to time
        ]
        for (args, stdin, needle) in cases {
            let r = try run(["--model", modelDir.path] + args, stdin: stdin)
            XCTAssertNotEqual(r.status, 0, "\(args) \(stdin)")
            XCTAssertTrue(r.err.contains(needle), "stderr '\(r.err)' should name '\(needle)'")
        }
        // a model folder missing a file
        for missing in ["model.safetensors", "config.json", "tokenizer.json"] {
            try FileManager.default.moveItem(at: modelDir.appendingPathComponent(missing),
                                             to: modelDir.appendingPathComponent(missing + ".away"))
            let r = try run(["--model", modelDir.path], stdin: ok)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.err.contains(missing) || (missing == "tokenizer.json" && r.err.contains("tokenizer")),
                          "stderr '\(r.err)' should name \(missing)")
            try FileManager.default.moveItem(at: modelDir.appendingPathComponent(missing + ".away"),
                                             to: modelDir.appendingPathComponent(missing))
        }
    }
}
