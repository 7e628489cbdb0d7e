// `brevity embed` end to end: one {"embedding": [...]} per {"text": ...} line, in
// order, equal to sentence-transformers; bad input exits non-zero naming the line. Runs the `brevity`
// binary that `swift test` builds beside the test bundle (skipped when it is absent, a failure under CI).

import Foundation
import TestSupport
import XCTest

final class EmbedCLITests: XCTestCase {
    var binary: URL!

    override func setUpWithError() throws {
        binary = try brevityBinary()
    }

    func run(_ args: [String], stdin: String, raw: Data? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = ["embed"] + args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        inPipe.fileHandleForWriting.write(raw ?? Data(stdin.utf8))
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func embeddings(_ out: String) throws -> [[Float]] {
        try out.split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertEqual(Array(o.keys), ["embedding"])
            return floats(o["embedding"])
        }
    }

    func testEmbeddingsInInputOrderMatchSentenceTransformers() throws {
        let model = try MiniLM.folder().path
        let items = (try MiniLM.json("minilm/embeddings.json")["items"] as! [[String: Any]])
        let chosen = [0, 6, 17, 40, 55, 63, 74, 1].map { items[$0] }   // short, empty, CJK, truncated, ...
        let lines = chosen.map { item in
            String(decoding: try! JSONSerialization.data(withJSONObject: ["text": item["text"]!]), as: UTF8.self)
        }
        // a blank line is skipped; a small batch size splits the inputs over several passes
        let stdin = lines[0..<3].joined(separator: "\n") + "\n  \n" + lines[3...].joined(separator: "\n") + "\n"
        let r = try run(["--model", model, "--format", "jsonl", "--batch-size", "3"], stdin: stdin)
        XCTAssertEqual(r.status, 0, r.err)
        let got = try embeddings(r.out)
        XCTAssertEqual(got.count, chosen.count)
        for (i, item) in chosen.enumerated() where i < got.count {
            XCTAssertEqual(got[i].count, 384)
            XCTAssertGreaterThanOrEqual(cosine(got[i], floats(item["embedding"])), 0.9999, "line \(i + 1)")
        }
    }

    func testTextFormat() throws {
        let model = try MiniLM.folder().path
        let r = try run(["--model", model, "--format", "text"], stdin: "A man is eating food.\nParis is the capital of France.\n")
        XCTAssertEqual(r.status, 0, r.err)
        let items = (try MiniLM.json("minilm/embeddings.json")["items"] as! [[String: Any]])
        let got = try embeddings(r.out)
        XCTAssertEqual(got.count, 2)
        XCTAssertGreaterThanOrEqual(cosine(got[0], floats(items[1]["embedding"])), 0.9999)
    }

    func testBadInputNamesTheLine() throws {
        let model = try MiniLM.folder().path
        for (stdin, message) in [("{\"text\": \"ok\"}\n{\"txt\": \"x\"}\n", "line 2: missing field \"text\""),
                                 ("{\"text\": \"ok\"}\n{\"text\": \"fine\"}\nnot json\n", "line 3:"),
                                 ("{\"text\": 5}\n", "line 1: field \"text\" must be a string"),
                                 ("[1, 2]\n", "line 1: expected a JSON object")] {
            let r = try run(["--model", model], stdin: stdin)
            XCTAssertEqual(r.status, 1, stdin)
            XCTAssertTrue(r.err.contains(message), "\(r.err) lacks \(message)")
            // the lines before the bad one were written
            XCTAssertEqual(try embeddings(r.out).count, stdin.components(separatedBy: "\n").firstIndex { !$0.contains("\"text\": \"") } ?? 0)
        }
        let bytes = try run(["--model", model, "--format", "text"], stdin: "", raw: Data([0x6F, 0x6B, 0x0A, 0xFF, 0x0A]))
        XCTAssertEqual(bytes.status, 1)
        XCTAssertTrue(bytes.err.contains("line 2: invalid UTF-8"), bytes.err)
        XCTAssertEqual(try embeddings(bytes.out).count, 1)
    }

    func testMissingModelExits2() throws {
        let r = try run(["--model", "/nonexistent/model"], stdin: "{\"text\": \"x\"}\n")
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("model '/nonexistent/model' not found"), r.err)
        // a folder that is not a sentence-transformers model
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let notModel = try run(["--model", empty.path], stdin: "{\"text\": \"x\"}\n")
        XCTAssertEqual(notModel.status, 2)
        XCTAssertTrue(notModel.err.contains("cannot load model"), notModel.err)
        XCTAssertNotEqual(try run(["--model", "x", "--batch-size", "0"], stdin: "").status, 0)
    }
}
