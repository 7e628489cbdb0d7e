// The extractive summarizer on the news-style articles in Tests/Fixtures/extractive/: summaries consist
// of whole input sentences, respect the requested length, keep document order and are deterministic;
// with the real all-MiniLM-L6-v2 embeddings and with a lexical stand-in that needs no model.

@testable import Extractive
import Foundation
import XCTest

/// Bag of words hashed into 64 dimensions (FNV-1a): a deterministic embedder with no model.
struct HashingEmbedder: SentenceEmbedder {
    let dimension = 64

    func words(_ text: String) -> [Substring] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }
    }

    func tokenCount(_ text: String) throws -> Int { words(text).count }

    func embed(_ texts: [String]) throws -> [[Float]] {
        texts.map { text in
            var v = [Float](repeating: 0, count: dimension)
            for w in words(text) {
                var h: UInt64 = 0xcbf29ce484222325
                for b in w.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
                v[Int(h % UInt64(dimension))] += 1
            }
            return v
        }
    }
}

final class SummarizerTests: XCTestCase {
    static let lengths: [SummaryLength] = [.sentences(1), .sentences(3), .sentences(100), .tokens(40), .tokens(120),
                                           .tokenRange(minimum: 30, maximum: 130), .ratio(0.3), .ratio(1)]

    func articles() throws -> [(name: String, text: String)] {
        let urls = try articleURLs()
        XCTAssertGreaterThanOrEqual(urls.count, 20)
        return try urls.map { ($0.lastPathComponent, try String(contentsOf: $0, encoding: .utf8)) }
    }

    /// Every property the issue asks of a summary, for every article, length and strategy.
    func checkArticles(_ summarizer: ExtractiveSummarizer) throws {
        let segmenter = SentenceSegmenter()
        for (name, text) in try articles() {
            let sentences = segmenter.split(text)
            for length in Self.lengths {
              for strategy in ExtractiveStrategy.allCases {
                let what = "\(name) \(length) \(strategy)"
                let s = try summarizer.summarize(text, length: length, strategy: strategy)
                XCTAssertEqual(s.inputSentences, sentences.count, what)
                XCTAssertEqual(s.inputTokens, try summarizer.embedder.tokenCount(text), what)
                // whole input sentences, in document order, no sentence twice
                XCTAssertEqual(s.sentences.map(\.index), s.sentences.map(\.index).sorted(), what)
                XCTAssertEqual(Set(s.sentences.map(\.index)).count, s.sentences.count, what)
                for x in s.sentences {
                    XCTAssertEqual(x.text, sentences[x.index], what)
                    XCTAssertTrue(text.contains(x.text), what)
                    XCTAssertEqual(x.tokens, try summarizer.embedder.tokenCount(x.text), what)
                }
                var joined = ""
                for x in s.sentences { if !joined.isEmpty && !"。！？｡．".contains(joined.last!) { joined += " " }; joined += x.text }
                XCTAssertEqual(s.text, joined, what)
                // the requested length
                switch length {
                case let .sentences(n):
                    XCTAssertEqual(s.sentences.count, min(n, sentences.count), what)
                case let .tokens(n), let .tokenRange(_, n):
                    XCTAssertLessThanOrEqual(s.sentences.reduce(0) { $0 + $1.tokens }, n, what)
                    XCTAssertFalse(s.sentences.isEmpty, "\(what): some sentence fits")
                case let .ratio(r):
                    XCTAssertEqual(s.sentences.count, max(1, Int((r * Double(sentences.count)).rounded())), what)
                }
                // deterministic (checked for two lengths: each summary embeds the whole article again)
                if length == .sentences(3) || length == .tokens(40) {
                    XCTAssertEqual(try summarizer.summarize(text, length: length, strategy: strategy), s, what)
                }
              }
            }
        }
    }

    func testArticlesWithMiniLM() throws {
        let summarizer = ExtractiveSummarizer(embedder: try MiniLM.embedder())
        try checkArticles(summarizer)
        let text = try String(contentsOf: MiniLM.fixtures.appendingPathComponent("extractive/01-waterfront.txt"), encoding: .utf8)
        print("01-waterfront, 3 sentences:", try summarizer.summarize(text, length: .sentences(3)).text)
    }

    func testArticlesWithLexicalEmbedder() throws {
        try checkArticles(ExtractiveSummarizer(embedder: HashingEmbedder()))
    }

    /// A document far past the encoder's 256-token window is summarized, sentence by sentence.
    func testLongDocumentIsNotRefused() throws {
        let embedder = try MiniLM.embedder()
        let one = try String(contentsOf: MiniLM.fixtures.appendingPathComponent("extractive/21-longread.txt"), encoding: .utf8)
        let text = (1...6).map { "Part \($0).\n\n" + one }.joined(separator: "\n\n") + "\n\n"
            + String(repeating: "An endless sentence with no stop at all and many words ", count: 60) + "ends here."
        let s = try ExtractiveSummarizer(embedder: embedder).summarize(text, length: .sentences(5))
        XCTAssertGreaterThan(s.inputTokens, 3000)
        XCTAssertEqual(s.sentences.count, 5)
        XCTAssertEqual(Set(s.sentences.map(\.text)).count, 5, "repeated sentences are chosen once")
    }

    func testNearDuplicatesAreNotChosenTwice() throws {
        let text = "The bridge will close on Monday for repairs. The bridge will close on Monday for repairs. "
            + "Traffic will be diverted through the tunnel. Repairs on the bridge start Monday. The mayor approved the plan."
        for embedder in [HashingEmbedder() as any SentenceEmbedder] + ((try? MiniLM.embedder()).map { [$0] } ?? []) {
            let s = try ExtractiveSummarizer(embedder: embedder).summarize(text, length: .sentences(3))
            XCTAssertFalse(s.sentences.map(\.index).contains(0) && s.sentences.map(\.index).contains(1), "\(s.sentences)")
        }
    }

    func testMMRPenalizesRedundancy() {
        // by centrality alone the two nearly parallel sentences 1 and 2 are taken; with a strong penalty the
        // second pick is sentence 3, less central but different from sentence 1
        let vectors = unitRows([[1, 0, 0], [0.99, 0.14, 0], [0.9, 0, 0.44], [0.5, 0.5, 0.7], [0, 1, 0]])
        let tokens = [5, 5, 5, 5, 5]
        var s = ExtractiveSummarizer(embedder: HashingEmbedder(), lambda: 1)
        XCTAssertEqual(s.select(vectors: vectors, tokens: tokens, length: .sentences(2)), [1, 2])
        s.lambda = 0.5
        XCTAssertEqual(s.select(vectors: vectors, tokens: tokens, length: .sentences(2)), [1, 3])
    }

    func testTokenBudgetSkipsSentencesThatDoNotFit() {
        let vectors = unitRows([[1, 0], [0.9, 0.43], [0.5, 0.87]])
        let s = ExtractiveSummarizer(embedder: HashingEmbedder())
        XCTAssertEqual(s.select(vectors: vectors, tokens: [50, 10, 10], length: .tokens(20)).sorted(), [1, 2])
        XCTAssertEqual(s.select(vectors: vectors, tokens: [50, 60, 70], length: .tokens(20)), [])
    }

    func testEdgeCasesAndValidation() throws {
        let s = ExtractiveSummarizer(embedder: HashingEmbedder())
        let empty = try s.summarize("   \n\n ", length: .sentences(3))
        XCTAssertEqual(empty.text, "")
        XCTAssertEqual(empty.inputSentences, 0)
        let one = try s.summarize("Only one sentence here", length: .ratio(0.1))
        XCTAssertEqual(one.sentences.map(\.index), [0])
        for bad in [SummaryLength.sentences(0), .tokens(0), .ratio(0), .ratio(1.5), .ratio(.nan)] {
            XCTAssertThrowsError(try s.summarize("A sentence.", length: bad), "\(bad)")
        }
        let zh = try s.summarize("第一句话。第二句话！第三句话？", length: .sentences(3))
        XCTAssertEqual(zh.text, "第一句话。第二句话！第三句话？")
    }
}

func unitRows(_ rows: [[Float]]) -> [[Float]] {
    rows.map { r in let n = r.reduce(0) { $0 + $1 * $1 }.squareRoot(); return r.map { $0 / n } }
}
