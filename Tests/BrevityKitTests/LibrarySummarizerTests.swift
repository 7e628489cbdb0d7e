// The library's Summarizer against transformers' outputs (Tests/Fixtures/summarizer-tiny/expected.json,
// made by scripts/fixtures/) and against the extractive summarizer it wraps.

@testable import BrevityKit
import Extractive
import Foundation
import Generation
import TestSupport
import XCTest

final class LibrarySummarizerTests: XCTestCase {
    static let folder = TestPaths.fixtures.appendingPathComponent("summarizer-tiny")

    struct Expected {
        let texts: [String]
        let outputs: [String: [(text: String, ids: [Int], inputTokens: Int)]]
        let params: [String: [String: Any]]
    }

    static let expected: Expected = {
        let j = try! JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json"))) as! [String: Any]
        var outputs: [String: [(text: String, ids: [Int], inputTokens: Int)]] = [:]
        var params: [String: [String: Any]] = [:]
        for (name, v) in j["settings"] as! [String: Any] {
            let s = v as! [String: Any]
            params[name] = s["params"] as? [String: Any]
            outputs[name] = (s["outputs"] as! [[String: Any]]).map {
                ($0["text"] as! String, ($0["token_ids"] as! [NSNumber]).map(\.intValue), ($0["input_tokens"] as! NSNumber).intValue)
            }
        }
        return Expected(texts: j["texts"] as! [String], outputs: outputs, params: params)
    }()

    func summarizer() throws -> Summarizer { try Summarizer(folder: Self.folder, device: "cpu") }

    /// Each setting of the fixture, through the typed options, gives transformers' ids for every text,
    /// with all twelve texts decoding together (at most 5 at a time, so inputs join mid-way).
    func testSummariesEqualTransformers() async throws {
        let s = try summarizer()
        XCTAssertEqual(s.mode, .abstractive)
        XCTAssertEqual(s.device, "cpu")
        XCTAssertEqual(s.dtype, "float32")
        let settings: [String: SummaryRequest] = [
            "defaults": SummaryRequest(),
            "greedy": SummaryRequest(maxLength: 12, numBeams: 1),
            "beams3": { var o = SummaryRequest(maxLength: 16, minLength: 5, numBeams: 3)
                        o.noRepeatNgramSize = 2; o.lengthPenalty = 1.0; return o }(),
            "originals": SummaryRequest(maxLength: 18, minLength: 6, doSample: false),
        ]
        XCTAssertEqual(Set(settings.keys), Set(Self.expected.outputs.keys), "every fixture setting is checked")
        for (name, var options) in settings {
            options.maxBatchSize = 5
            let got = try await s.summarize(Self.expected.texts, options: options)
            let want = Self.expected.outputs[name]!
            XCTAssertEqual(got.count, want.count)
            for (g, w) in zip(got, want) {
                XCTAssertEqual(g.tokenIds, w.ids, name)
                XCTAssertEqual(g.text, w.text, name)
                // the fixture counts what the model took (its 64 positions); a Summary the text's own tokens
                let limit = s.engine!.maxInputTokens
                XCTAssertEqual(min(g.inputTokens, limit), w.inputTokens, name)
                XCTAssertEqual(g.truncated, g.inputTokens > limit, name)
            }
        }
        let one = try await s.summarize(Self.expected.texts[3], options: SummaryRequest(maxLength: 12, numBeams: 1))
        XCTAssertEqual(one.tokenIds, Self.expected.outputs["greedy"]![3].ids)
    }

    /// A greedy stream arrives in several pieces whose texts add up to the summary and whose ids follow
    /// the decoder start token; a beam search's as its tokens settle.
    func testStreamAddsUpToTheSummary() async throws {
        let s = try summarizer()
        for (name, options) in [("greedy", SummaryRequest(maxLength: 12, numBeams: 1)), ("beams3", {
            var o = SummaryRequest(maxLength: 16, minLength: 5, numBeams: 3)
            o.noRepeatNgramSize = 2; o.lengthPenalty = 1.0; return o }())] {
            for i in [0, 5] {
                var pieces: [SummaryDelta] = []
                for try await d in s.stream(Self.expected.texts[i], options: options) { pieces.append(d) }
                let want = Self.expected.outputs[name]![i]
                XCTAssertEqual(pieces.map(\.text).joined(), want.text, "\(name) \(i)")
                XCTAssertEqual([want.ids[0]] + pieces.flatMap(\.tokenIds), want.ids, "\(name) \(i)")
                // greedy streams a token a step; a beam search its settled tokens (BeamStreamingTests), then the rest
                if name == "greedy" { XCTAssertGreaterThan(pieces.count, 2, "greedy streams as it goes") }
            }
        }
    }

    /// Bad options and texts are errors naming the field, before any work.
    func testErrorsNameTheField() async throws {
        let s = try summarizer()
        func expect(_ options: SummaryRequest, _ want: SummarizerError, texts: [String] = ["a text"],
                    line: UInt = #line) async {
            do {
                _ = try await s.summarize(texts, options: options)
                XCTFail("no error", line: line)
            } catch { XCTAssertEqual(error as? SummarizerError, want, "\(error)", line: line) }
        }
        await expect(SummaryRequest(topP: 1.5), .invalidOption("top_p", "must be in [0, 1], got 1.5"))
        await expect(SummaryRequest(numBeams: 0), .invalidOption("num_beams", "must be >= 1, got 0"))
        await expect(SummaryRequest(maxLength: 1), .invalidOption("max_length", "must be >= 2, got 1"))
        await expect(SummaryRequest(numBeams: 2, doSample: true),
                     .invalidOption("do_sample", "beam sampling (do_sample with num_beams > 1) is not supported"))
        await expect(SummaryRequest(), .invalidText(1, "must not be empty"), texts: ["fine", ""])
        var strict = SummaryRequest()
        strict.truncation = .error
        let long = String(repeating: "The council met again. ", count: 200)
        do {
            _ = try await s.summarize(long, options: strict)
            XCTFail("no error")
        } catch let SummarizerError.invalidText(0, why) {
            XCTAssertTrue(why.contains("exceed the model's limit"), why)
        }
        // the same text is cut by default, as the services do
        let cut = try await s.summarize(long)
        XCTAssertTrue(cut.truncated)
        XCTAssertGreaterThan(cut.inputTokens, s.engine!.maxInputTokens)

        var stream = s.stream("x", options: SummaryRequest(temperature: -1)).makeAsyncIterator()
        do { _ = try await stream.next(); XCTFail("no error") } catch {
            XCTAssertEqual(error as? SummarizerError, .invalidOption("temperature", "must be > 0, got -1.0"))
        }
        XCTAssertThrowsError(try Summarizer(folder: Self.folder, device: "gpu"))
        XCTAssertThrowsError(try Summarizer(folder: Self.folder, device: "cpu", dtype: "int4")) {
            XCTAssertTrue("\($0)".contains("DTYPE=int4"), "\($0)")
        }
        XCTAssertThrowsError(try Summarizer(folder: TestPaths.fixtures, device: "cpu"), "not a model folder")
    }

    /// A cancelled call stops with CancellationError and the summarizer goes on serving; a stream left
    /// early stops its work too.
    func testCancellation() async throws {
        let s = try summarizer()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await s.summarize(Self.expected.texts)
        }
        do { _ = try await task.value; XCTFail("not cancelled") } catch { XCTAssertTrue(error is CancellationError, "\(error)") }
        for try await _ in s.stream(Self.expected.texts[0], options: SummaryRequest(maxLength: 12, numBeams: 1)) { break }
        let after = try await s.summarize(Self.expected.texts[2], options: SummaryRequest(maxLength: 12, numBeams: 1))
        XCTAssertEqual(after.tokenIds, Self.expected.outputs["greedy"]![2].ids)
    }

    /// Calls made at once run on one runtime (their texts share decoder steps) and each still gets
    /// transformers' ids for its own setting; a summarizer that goes away stops its runtime's thread.
    func testConcurrentCallsShareTheRuntimeAndItEndsWithTheSummarizer() async throws {
        weak var runtime: BatchScheduler?
        do {
            let s = try summarizer()
            runtime = s.scheduler
            let settings: [(String, SummaryRequest)] = [
                ("greedy", SummaryRequest(maxLength: 12, numBeams: 1)),
                ("originals", SummaryRequest(maxLength: 18, minLength: 6, doSample: false)),
                ("defaults", SummaryRequest()),
            ]
            try await withThrowingTaskGroup(of: (String, [Summary]).self) { group in
                for (name, options) in settings {
                    group.addTask { (name, try await s.summarize(Self.expected.texts, options: options)) }
                }
                for try await (name, got) in group {
                    XCTAssertEqual(got.map(\.tokenIds), Self.expected.outputs[name]!.map(\.ids), name)
                }
            }
            XCTAssertEqual(s.scheduler?.load.queued, 0)
            XCTAssertEqual(s.scheduler?.load.active, 0)
        }
        // the thread held the scheduler; stopped, it lets go
        let end = Date().addingTimeInterval(5)
        while runtime != nil && Date() < end { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertNil(runtime, "the runtime outlived its summarizer")
    }

    /// A sentence-transformers folder makes an extractive summarizer: its summaries are the extractive
    /// summarizer's, and a stream gives the whole summary in one piece.
    func testExtractive() async throws {
        let folder = try TestPaths.miniLMFolder()
        let s = try Summarizer(folder: folder, device: "cpu")
        XCTAssertEqual(s.mode, .extractive)
        let text = "The council met on Tuesday. It approved the budget for schools. Roads will be repaired in spring. "
            + "The mayor thanked the staff. Critics said the plan was late. A vote on taxes comes next month."
        let direct = try s.extractor!.summarize(text, length: .sentences(2), strategy: .centrality)
        let got = try await s.summarize(text, options: SummaryRequest(length: .sentences(2), strategy: .centrality))
        XCTAssertEqual(got.text, direct.text)
        XCTAssertEqual(got.sentences, direct.sentences)
        XCTAssertEqual(got.sentences.count, 2)
        XCTAssertTrue(got.tokenIds.isEmpty)
        // the service's rule: max_length as a token budget when no length is given, else three sentences
        let budget = try await s.summarize(text, options: SummaryRequest(maxLength: 12, minLength: 4))
        XCTAssertEqual(budget.text, try s.extractor!.summarize(text, length: .tokenRange(minimum: 4, maximum: 12)).text)
        let three = try await s.summarize(text)
        XCTAssertEqual(three.sentences.count, 3)
        var pieces: [String] = []
        for try await d in s.stream(text) { pieces.append(d.text) }
        XCTAssertEqual(pieces, [three.text])
    }
}
