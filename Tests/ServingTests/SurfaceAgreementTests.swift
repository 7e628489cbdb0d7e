// One request, one result, on every surface: the library's Summarizer, `brevity summarize` and the HTTP
// stream give the same token ids for the same request, field by field. They share one pipeline
// (SummarizationEngine.prepare, BatchScheduler.summarize); this test is what keeps a surface from
// growing its own reading of a field.

import BrevityKit
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import XCTest
@testable import Serving

final class SurfaceAgreementTests: XCTestCase {
    /// Every request field that changes an abstractive summary, each in a request of its own (the rest at
    /// the model's defaults), as the body writes it and as the library's options hold it.
    static let requests: [(name: String, body: [String: Any], options: SummaryRequest)] = {
        func o(_ set: (inout SummaryRequest) -> Void) -> SummaryRequest { var x = SummaryRequest(); set(&x); return x }
        return [
            ("defaults", [:], SummaryRequest()),
            ("max_length", ["max_length": 9], o { $0.maxLength = 9 }),
            ("min_length", ["min_length": 14, "max_length": 20], o { $0.minLength = 14; $0.maxLength = 20 }),
            ("max_new_tokens", ["max_new_tokens": 7], o { $0.maxNewTokens = 7 }),
            ("min_new_tokens", ["min_new_tokens": 12, "max_new_tokens": 16], o { $0.minNewTokens = 12; $0.maxNewTokens = 16 }),
            ("num_beams", ["num_beams": 3, "max_length": 14], o { $0.numBeams = 3; $0.maxLength = 14 }),
            ("length_penalty", ["num_beams": 2, "length_penalty": 2.5, "max_length": 16], o { $0.numBeams = 2; $0.lengthPenalty = 2.5; $0.maxLength = 16 }),
            ("no_repeat_ngram_size", ["no_repeat_ngram_size": 1, "num_beams": 1, "max_length": 16],
             o { $0.noRepeatNgramSize = 1; $0.numBeams = 1; $0.maxLength = 16 }),
            ("early_stopping", ["num_beams": 3, "early_stopping": false, "max_length": 16],
             o { $0.numBeams = 3; $0.earlyStopping = false; $0.maxLength = 16 }),
            ("repetition_penalty", ["repetition_penalty": 1.8, "num_beams": 1, "max_length": 16],
             o { $0.repetitionPenalty = 1.8; $0.numBeams = 1; $0.maxLength = 16 }),
            ("sampling", ["do_sample": true, "num_beams": 1, "temperature": 0.7, "top_k": 20, "top_p": 0.9, "seed": 7, "max_length": 16],
             o { $0.doSample = true; $0.numBeams = 1; $0.temperature = 0.7; $0.topK = 20; $0.topP = 0.9; $0.seed = 7; $0.maxLength = 16 }),
            ("prefix", ["prefix": "summarize: ", "num_beams": 1, "max_length": 12], o { $0.prefix = "summarize: "; $0.numBeams = 1; $0.maxLength = 12 }),
            ("truncation", ["truncation": "chunk", "num_beams": 1, "max_length": 12], o { $0.truncation = .chunk; $0.numBeams = 1; $0.maxLength = 12 }),
        ]
    }()

    /// Two of the fixture's texts and one past the model's window (what truncation acts on).
    static let texts = [ServingFixtures.expected.texts[0], ServingFixtures.expected.texts[5],
                        (0..<14).map { "Sentence number \($0) tells the council about the budget." }.joined(separator: " ")]

    /// `brevity summarize` over JSON lines with the request's generation values as --params and its
    /// prefix and truncation as flags: each line's token_ids.
    func cli(_ body: [String: Any]) throws -> [[Int]] {
        var params = body
        var args = ["summarize", "--model", ServingFixtures.folder.path]
        if let p = params.removeValue(forKey: "prefix") as? String { args += ["--prefix", p] }
        if let t = params.removeValue(forKey: "truncation") as? String { args += ["--truncation", t == "chunk" ? "chunk" : "cut"] }
        args += ["--params", String(decoding: try JSONSerialization.data(withJSONObject: params), as: UTF8.self)]
        let p = Process()
        p.executableURL = try brevityBinary()
        p.arguments = args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        (p.standardInput, p.standardOutput, p.standardError) = (inPipe, outPipe, errPipe)
        try p.run()
        for t in Self.texts { inPipe.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: ["text": t]) + Data("\n".utf8)) }
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile(), err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err, as: UTF8.self))
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["token_ids"] as? [Int]) ?? []
        }
    }

    /// POST /summarize/stream: each text's token_ids, the decoder start token (never streamed) first.
    func http(_ client: any TestClientProtocol, _ body: [String: Any], start: Int) async throws -> [[Int]] {
        var request = body
        request["texts"] = Array(Self.texts.prefix(body["truncation"] as? String == "chunk" ? 2 : 3))   // chunk does not stream
        let r = try await client.execute(uri: "/summarize/stream", method: .post, headers: jsonHeaders, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: request)))
        XCTAssertEqual(r.status, .ok)
        var ids = [[Int]](repeating: [start], count: (request["texts"] as! [String]).count)
        for block in String(buffer: r.body).components(separatedBy: "\n\n") {
            let lines = block.split(separator: "\n")
            guard lines.first == "event: token", let data = lines.first(where: { $0.hasPrefix("data: ") }),
                  let event = try JSONSerialization.jsonObject(with: Data(data.dropFirst(6).utf8)) as? [String: Any] else {
                XCTAssertFalse(block.contains("event: error"), block)
                continue
            }
            ids[event["index"] as! Int] += event["token_ids"] as! [Int]
        }
        return ids
    }

    func testEveryRequestFieldGivesTheSameIdsFromTheLibraryTheCommandAndHTTP() async throws {
        let summarizer = try Summarizer(folder: ServingFixtures.folder, device: "cpu")
        let (app, scheduler, _) = buildApplication(config: testConfig(), engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        try await app.test(.router) { client in
            var seen: [String: [[Int]]] = [:]
            for (name, body, options) in Self.requests {
                let library = try await summarizer.summarize(Self.texts, options: options).map(\.tokenIds)
                XCTAssertEqual(try cli(body), library, "\(name): brevity summarize")
                let streamed = try await http(client, body, start: library[0][0])
                XCTAssertEqual(streamed, Array(library.prefix(streamed.count)), "\(name): POST /summarize/stream")
                seen[name] = library
            }
            // the fields act: each changes some summary from the defaults' (else agreeing would prove
            // little). Not the minimum lengths: this model never ends before its maximum, so a minimum
            // cannot show here (EngineTests check that processor against transformers).
            for (name, ids) in seen where !["defaults", "min_length", "min_new_tokens"].contains(name) {
                XCTAssertNotEqual(ids, seen["defaults"], "\(name) changed nothing")
            }
        }
    }
}
