import Foundation
import XCTest
@testable import Tokenizers

/// Every corpus string through every reference tokenizer: ids, tokens, ids without special tokens,
/// truncated ids and both decodes must equal what HF `tokenizers` produced
/// (scripts/fixtures/tokenizers/make_expected.py).
final class ParityTests: XCTestCase {
    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try checkRecording(name, file: file, line: line)
    }

    func fixtureNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Fixtures.root.path)
            .filter { FileManager.default.fileExists(atPath: Fixtures.url($0).appendingPathComponent("expected.jsonl").path) }
            .sorted()
    }

    func testGPT2() throws { try check("gpt2") }
    func testBART() throws { try check("bart") }
    func testMiniLM() throws { try check("minilm") }
    func testUnigram() throws { try check("unigram") }
    func testByteFallback() throws { try check("bytefallback") }
    /// The real T5 and Pegasus tokenizer.json files (SentencePieceTests: their spiece.model).
    func testT5() throws { try check("t5") }
    func testPegasus() throws { try check("pegasus") }

    /// Every other fixture folder (component coverage, Precompiled).
    func testOtherFixtures() throws {
        let named: Set = ["gpt2", "bart", "minilm", "unigram", "bytefallback", "t5", "pegasus"]
        let others = try fixtureNames().filter { !named.contains($0) }
        XCTAssertFalse(others.isEmpty, "no component fixtures found")
        for name in others { try check(name) }
    }
}

/// One fixture folder's recording, line by line. `tokenizer` defaults to the folder's tokenizer.json;
/// `expectedFile` and `reference` name another recording (SentencePieceTests: expected_spiece.jsonl, from
/// transformers).
func checkRecording(_ name: String, tokenizer: Tokenizer? = nil, expectedFile: String = "expected.jsonl",
           reference: String = "HF tokenizers", file: StaticString = #filePath, line: UInt = #line) throws {
    let dir = Fixtures.url(name)
    let tok = try tokenizer ?? Tokenizer.load(from: dir.appendingPathComponent("tokenizer.json"))
    let meta = try Fixtures.json(dir.appendingPathComponent("meta.json"))
    let truncLen: Int
    if case .number(let d, _)? = meta["truncation_max_length"] { truncLen = Int(d) } else { truncLen = 12 }
    let expected = try Fixtures.jsonLines(dir.appendingPathComponent(expectedFile))
    let corpus = Fixtures.corpus
    XCTAssertGreaterThanOrEqual(corpus.count, 2000, "corpus too small", file: file, line: line)
    XCTAssertEqual(expected.count, corpus.count, "\(expectedFile) and corpus.jsonl differ in length", file: file, line: line)
    var failures: [String] = []
    var failed = 0
    for (i, exp) in expected.enumerated() where i < corpus.count {
        let text = corpus[i]
        var problems: [String] = []
        do {
            let enc = try tok.encode(text)
            if enc.ids != exp["ids"]?.intArray {
                problems.append("ids\n    got  \(enc.ids)\n    want \(exp["ids"]?.intArray ?? [])\n    toks \(enc.tokens.map(visible))\n    want \(exp["tokens"]?.stringArray?.map(visible) ?? [])")
            } else if let t = exp["tokens"]?.stringArray, enc.tokens != t, !zip(enc.tokens, t).allSatisfy({ $0.utf8.elementsEqual($1.utf8) }) {
                problems.append("tokens\n    got  \(enc.tokens.map(visible))\n    want \(t.map(visible))")
            }
            if let bare = exp["ids_bare"]?.intArray {
                let e = try tok.encode(text, truncation: .none, padding: false)
                if e.ids != bare { problems.append("ids_bare \(e.ids) want \(bare)") }
            }
            let plain = try tok.encode(text, addSpecialTokens: false)
            if plain.ids != exp["ids_plain"]?.intArray { problems.append("ids_plain") }
            let trunc = try tok.encode(text, truncation: .maxLength(truncLen, .right))
            if trunc.ids != exp["ids_trunc"]?.intArray { problems.append("ids_trunc \(trunc.ids) want \(exp["ids_trunc"]?.intArray ?? [])") }
            let ids = exp["ids"]?.intArray ?? []
            let d = tok.decode(ids, skipSpecialTokens: false)
            if let w = exp["decode"]?.stringValue, !d.utf8.elementsEqual(w.utf8) {
                problems.append("decode\n    got  \"\(visible(d))\"\n    want \"\(visible(w))\"")
            }
            let ds = tok.decode(ids, skipSpecialTokens: true)
            if let w = exp["decode_skip"]?.stringValue, !ds.utf8.elementsEqual(w.utf8) {
                problems.append("decode_skip\n    got  \"\(visible(ds))\"\n    want \"\(visible(w))\"")
            }
        } catch {
            problems.append("error \(error)")
        }
        if !problems.isEmpty {
            failed += 1
            if failures.count < 8 { failures.append("#\(i) \"\(visible(String(text.prefix(120))))\": " + problems.joined(separator: "; ")) }
        }
    }
    let summary = "\(name)/\(expectedFile): \(expected.count - failed)/\(expected.count) strings identical to \(reference)"
    print(summary)
    XCTAssertEqual(failed, 0, summary + "\n" + failures.joined(separator: "\n"), file: file, line: line)
}
