// Long documents (truncation "chunk", map-reduce) from all three surfaces, one result: the library's
// Summarizer, `brevity summarize --truncation chunk` and POST /summarize give the same summary of a text
// past the window, token for token where the surface reports ids; chunking changes the summary (it is not
// the cut one); and the surfaces refuse what they cannot do (streaming a chunked text, a long text with
// truncation error) naming the field.

import BrevityKit
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import XCTest
@testable import Serving

final class ChunkingSurfacesTests: XCTestCase {
    static let long = (0..<14).map { "Sentence number \($0) tells the council about the budget for schools and roads." }
        .joined(separator: " ")
    static let params: [String: Any] = ["num_beams": 2, "max_length": 12, "no_repeat_ngram_size": 2]

    func options(_ truncation: SummaryRequest.Truncation) -> SummaryRequest {
        var o = SummaryRequest(maxLength: 12, numBeams: 2)
        o.noRepeatNgramSize = 2
        o.truncation = truncation
        return o
    }

    /// `brevity summarize` on one JSON line: its {"text", "token_ids"}, or the exit status and message.
    func cli(_ args: [String], text: String) throws -> (status: Int32, line: [String: Any]?, err: String) {
        let p = Process()
        p.executableURL = try brevityBinary()
        p.arguments = ["summarize", "--model", ServingFixtures.folder.path] + args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        (p.standardInput, p.standardOutput, p.standardError) = (inPipe, outPipe, errPipe)
        try p.run()
        inPipe.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: ["text": text]) + Data("\n".utf8))
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile(), err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, try? JSONSerialization.jsonObject(with: out) as? [String: Any], String(decoding: err, as: UTF8.self))
    }

    func testOneLongDocumentGivesOneSummaryOnEverySurface() async throws {
        let summarizer = try Summarizer(folder: ServingFixtures.folder, device: "cpu")
        let library = try await summarizer.summarize(Self.long, options: options(.chunk))
        let cut = try await summarizer.summarize(Self.long, options: options(.cut))
        XCTAssertGreaterThan(library.inputTokens, 2 * ServingFixtures.engine.maxInputTokens, "the text spans several windows")
        XCTAssertNotEqual(library.tokenIds, cut.tokenIds, "chunking summarizes the whole text, not its first window")
        XCTAssertFalse(library.text.isEmpty)

        // the command line reports ids
        let paramsJSON = String(decoding: try JSONSerialization.data(withJSONObject: Self.params), as: UTF8.self)
        let chunked = try cli(["--truncation", "chunk", "--params", paramsJSON], text: Self.long)
        XCTAssertEqual(chunked.status, 0, chunked.err)
        XCTAssertEqual((chunked.line?["token_ids"] as? [NSNumber])?.map(\.intValue), library.tokenIds)
        XCTAssertEqual(chunked.line?["text"] as? String, library.text)
        let cutLine = try cli(["--params", paramsJSON], text: Self.long)
        XCTAssertEqual((cutLine.line?["token_ids"] as? [NSNumber])?.map(\.intValue), cut.tokenIds, "cut stays the default")
        let refused = try cli(["--truncation", "error", "--params", paramsJSON], text: Self.long)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.err.contains("exceed the model's limit"), refused.err)

        // HTTP reports the text
        let (app, scheduler, _) = buildApplication(config: testConfig(), engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        try await app.test(.router) { client in
            var request = Self.params
            request["texts"] = [Self.long]
            request["truncation"] = "chunk"
            let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(request))
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let summary = ((json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]])?.first
            XCTAssertEqual(summary?["text"] as? String, library.text)
            XCTAssertEqual(summary?["truncated"] as? Bool, library.truncated)
            XCTAssertEqual(summary?["input_tokens"] as? Int, library.inputTokens)
        }
    }

    func testStreamingAChunkedTextIsRefusedNamingTruncation() async throws {
        let summarizer = try Summarizer(folder: ServingFixtures.folder, device: "cpu")
        do {
            for try await _ in summarizer.stream(Self.long, options: options(.chunk)) {}
            XCTFail("streamed")
        } catch let SummarizerError.invalidOption(field, _) { XCTAssertEqual(field, "truncation") }
        // a text that fits streams as usual with chunk
        var text = ""
        for try await piece in summarizer.stream("The council met on Tuesday.", options: options(.chunk)) { text += piece.text }
        let whole = try await summarizer.summarize("The council met on Tuesday.", options: options(.chunk))
        XCTAssertEqual(text, whole.text)
    }
}
