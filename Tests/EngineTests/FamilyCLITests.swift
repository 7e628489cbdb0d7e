// `brevity summarize` on whole model folders of the other families, text in and text out: T5 with the real
// T5 tokenizer (tokenizer.json) and its task prefix, Pegasus with the real SentencePiece model and no
// tokenizer.json (as google/pegasus-cnn_dailymail ships). Tiny random weights of the real vocabularies;
// the expected ids and texts are transformers 5.24's (scripts/fixtures/seq2seq/make_fixtures.py):
// prefix + text tokenized with truncation to model_max_length, generate() in float32, decoded without
// special tokens.

import Foundation
import TestSupport
import XCTest

final class FamilyCLITests: XCTestCase {
    func summarize(_ model: URL, _ args: [String], texts: [String]) throws -> (status: Int32, lines: [[String: Any]], err: String) {
        try summarize(model, args, lines: try texts.map { String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self) })
    }

    /// `brevity summarize --format jsonl` with these input lines; the output lines parsed.
    func summarize(_ model: URL, _ args: [String], lines stdin: [String]) throws -> (status: Int32, lines: [[String: Any]], err: String) {
        let p = Process()
        p.executableURL = try brevityBinary()
        p.arguments = ["summarize", "--model", model.path, "--max-batch-size", "3"] + args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        inPipe.fileHandleForWriting.write(Data((stdin.joined(separator: "\n") + "\n").utf8))
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = try String(decoding: out, as: UTF8.self).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        return (p.terminationStatus, lines, String(decoding: err, as: UTF8.self))
    }

    /// Every recorded request of `name`'s expected.json through the CLI: token ids and text equal.
    func checkRequests(_ name: String) throws {
        let folder = Fixtures.seq2seq.appendingPathComponent(name)
        let expected = try Fixtures.json(folder.appendingPathComponent("expected.json"))
        var checked = 0
        for request in expected["requests"] as! [[String: Any]] {
            let params = String(decoding: try JSONSerialization.data(withJSONObject: request["params"]!), as: UTF8.self)
            // the task's prefix is the default; a request recorded without it says so with --prefix ""
            var args = ["--params", params]
            if let prefix = request["prefix"] as? String, prefix.isEmpty, name.hasPrefix("t5") { args += ["--prefix", ""] }
            let cases = request["cases"] as! [[String: Any]]
            let r = try summarize(folder, args, texts: cases.map { $0["text"] as! String })
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertEqual(r.lines.count, cases.count, "\(name) \(request["name"]!)")
            for (line, c) in zip(r.lines, cases) {
                XCTAssertEqual(ints(line["token_ids"]), ints(c["output_ids"]), "\(name) \(request["name"]!): \(c["text"]!)")
                XCTAssertEqual(line["text"] as? String, c["summary"] as? String, "\(name) \(request["name"]!)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
        print("\(name): \(checked) summaries through brevity summarize identical to transformers")
    }

    func testT5FolderWithTaskPrefixEqualsTransformers() throws { try checkRequests("t5-e2e") }

    func testPegasusFolderWithOnlySpieceModelEqualsTransformers() throws { try checkRequests("pegasus-e2e") }

    /// Every family's tiny model through the CLI with pre-tokenized inputs: FLAN-T5's gated feed-forward
    /// and untied head, T5's relative buckets, Pegasus' sinusoidal positions, each on three recorded settings
    /// (the folder gets the T5 tokenizer only to decode; inputs are ids).
    func testTinyModelsOfEveryFamilyThroughTheCLI() throws {
        for name in ["pegasus-tiny", "t5-tiny", "flan-t5-tiny"] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-family-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let src = Fixtures.seq2seq.appendingPathComponent(name)
            for f in try FileManager.default.contentsOfDirectory(atPath: src.path) where f.hasSuffix(".json") || f.hasSuffix(".safetensors") {
                try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
            }
            try FileManager.default.copyItem(at: Fixtures.seq2seq.appendingPathComponent("t5-e2e/tokenizer.json"),
                                             to: dir.appendingPathComponent("tokenizer.json"))
            for setting in try GenerateSetting.load(name) where ["defaults", "greedy_penalties", "beam3_early_false"].contains(setting.name) {
                let params = String(decoding: try JSONSerialization.data(withJSONObject: setting.params), as: UTF8.self)
                let stdin = try setting.inputs.map { String(decoding: try JSONSerialization.data(withJSONObject: ["input_ids": $0]), as: UTF8.self) }
                let r = try summarize(dir, ["--params", params], lines: stdin)
                XCTAssertEqual(r.status, 0, r.err)
                XCTAssertEqual(r.lines.map { ints($0["token_ids"]) }, setting.expected.map { $0[0] }, "\(name) \(setting.name)")
            }
        }
    }
}
