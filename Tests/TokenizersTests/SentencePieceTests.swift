import Foundation
import XCTest
@testable import Tokenizers

/// A folder with only spiece.model (+ tokenizer_config.json, special_tokens_map.json) must tokenize as
/// transformers 5.24's AutoTokenizer converts it (expected_spiece.jsonl, scripts/fixtures/tokenizers/make_expected.py);
/// broken protobuf is an error, never a crash.
final class SentencePieceTests: XCTestCase {
    /// A temporary folder holding the fixture's spiece.model and configs, without tokenizer.json.
    func spieceFolder(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-spiece-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["spiece.model", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: Fixtures.url("\(name)/\(f)"), to: dir.appendingPathComponent(f))
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func checkSpiece(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tok = try Tokenizer.load(from: try spieceFolder(name))
        try checkRecording(name, tokenizer: tok, expectedFile: "expected_spiece.jsonl",
                           reference: "transformers 5.24 converting spiece.model", file: file, line: line)
    }

    func testT5FromSpieceModel() throws { try checkSpiece("t5") }
    func testPegasusFromSpieceModel() throws { try checkSpiece("pegasus") }

    /// Vocabulary size, first ids and added tokens as spiece_meta.json recorded them from transformers.
    func testLayoutMatchesTransformers() throws {
        for name in ["t5", "pegasus"] {
            let tok = try Tokenizer.load(from: try spieceFolder(name))
            let meta = try Fixtures.json(Fixtures.url("\(name)/spiece_meta.json"))
            guard case .number(let len, _)? = meta["len"], case .array(let head)? = meta["vocab_head"],
                  let added = meta["added_tokens"]?.stringArray else { return XCTFail("\(name): spiece_meta.json") }
            XCTAssertEqual(tok.vocabSize, Int(len), name)
            for (i, pair) in head.enumerated() { XCTAssertEqual(tok.idToToken(i), pair.stringArray?.first, "\(name) id \(i)") }
            var want: [String] = []
            for (id, t) in tok.added.tokens.sorted(by: { $0.key < $1.key }) {
                XCTAssertTrue(t.special && !t.normalized, "\(name): \(t.content)")
                want.append("\(id) \(t.content)")
            }
            XCTAssertEqual(want, added, name)
            let mml: Int? = { if case .number(let d, _)? = meta["model_max_length"] { return Int(d) } else { return nil } }()
            XCTAssertEqual(tok.modelMaxLength, mml, name)
        }
    }

    /// tokenizer.json wins over spiece.model; a .model file path reads the configs beside it.
    func testLoadingOrder() throws {
        let fromJSON = try Tokenizer.load(from: Fixtures.url("pegasus"))
        XCTAssertEqual(fromJSON.tokenToId("<mask_1>"), 2, "the published tokenizer.json")
        let dir = try spieceFolder("pegasus")
        let fromModel = try Tokenizer.load(from: dir.appendingPathComponent("spiece.model"))
        XCTAssertEqual(fromModel.tokenToId("<mask_1>"), 3, "transformers 5.24's conversion with mask_token <mask_2>")
        XCTAssertEqual(fromModel.modelMaxLength, 1024)
        XCTAssertEqual(try fromModel.encode("Hello world.").ids, try Tokenizer.load(from: dir).encode("Hello world.").ids)
    }

    func testUnsupportedClassIsRefused() throws {
        let dir = try spieceFolder("t5")
        let config = dir.appendingPathComponent("tokenizer_config.json")
        try Data(#"{"tokenizer_class": "AlbertTokenizer"}"#.utf8).write(to: config)
        XCTAssertThrowsError(try Tokenizer.load(from: dir)) { XCTAssertTrue("\($0)".contains("\"AlbertTokenizer\" is not supported"), "\($0)") }
        try FileManager.default.removeItem(at: config)
        XCTAssertThrowsError(try Tokenizer.load(from: dir)) { XCTAssertTrue("\($0)".contains("tokenizer_class"), "\($0)") }
        let modelConfig = dir.appendingPathComponent("config.json")
        try Data(#"{"model_type": "bart"}"#.utf8).write(to: modelConfig)
        XCTAssertThrowsError(try Tokenizer.load(from: dir)) { XCTAssertTrue("\($0)".contains("\"bart\" (config.json) is not supported"), "\($0)") }
        try FileManager.default.removeItem(at: modelConfig)
        try Data(#"{"tokenizer_class": "T5TokenizerFast", "extra_ids": 3}"#.utf8).write(to: config)
        let tok = try Tokenizer.load(from: dir)
        XCTAssertEqual(tok.vocabSize, 32003)
        XCTAssertEqual(tok.tokenToId("<extra_id_0>"), 32002)
    }

    /// Without tokenizer_config.json, config.json's model_type picks the class (as for google/pegasus-cnn_dailymail);
    /// transformers 5.24 then uses PegasusConverter's defaults: <mask_1>=2, <mask_2>=3, model_max_length unset.
    func testModelTypeFromConfigJSON() throws {
        let dir = try spieceFolder("pegasus")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer_config.json"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("special_tokens_map.json"))
        try Data(#"{"model_type": "pegasus"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        let tok = try Tokenizer.load(from: dir)
        XCTAssertEqual(tok.vocabSize, 96103)
        XCTAssertEqual(tok.tokenToId("<mask_1>"), 2)
        XCTAssertEqual(tok.tokenToId("<mask_2>"), 3)
        XCTAssertNil(tok.modelMaxLength)
        XCTAssertEqual(try tok.encode("<mask_1> hi <unk_5>").ids, [2, 9800, 110, 7, 1])
    }

    func testTruncatedRealModelIsAnError() throws {
        let dir = try spieceFolder("t5")
        let url = dir.appendingPathComponent("spiece.model")
        let data = try Data(contentsOf: url)
        // cuts inside the first piece and inside normalizer_spec (the last field, holding the 237 kB charsmap);
        // a cut between two pieces is a valid, shorter ModelProto
        for cut in [1, 2, data.count - 200_000, data.count - 1000, data.count - 1] {
            try data.prefix(cut).write(to: url)
            XCTAssertThrowsError(try Tokenizer.load(from: dir), "cut at \(cut)") {
                let m = "\($0)"
                XCTAssertTrue(m.hasPrefix("spiece.model: ") && m.contains("byte"), m)
            }
        }
    }

    // MARK: Hand-made models

    /// protobuf encoding for the tests
    enum PB {
        static func varint(_ v: UInt64) -> [UInt8] {
            var v = v
            var out: [UInt8] = []
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            out.append(UInt8(v))
            return out
        }
        static func key(_ field: Int, _ wire: UInt8) -> [UInt8] { varint(UInt64(field) << 3 | UInt64(wire)) }
        static func bytes(_ field: Int, _ b: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(b.count)) + b }
        static func string(_ field: Int, _ s: String) -> [UInt8] { bytes(field, Array(s.utf8)) }
        static func int(_ field: Int, _ v: Int64) -> [UInt8] { key(field, 0) + varint(UInt64(bitPattern: v)) }
        static func float(_ field: Int, _ f: Float) -> [UInt8] {
            let b = f.bitPattern
            return key(field, 5) + (0..<4).map { UInt8(truncatingIfNeeded: b >> (8 * $0)) }
        }
        static func piece(_ s: String, _ score: Float, type: Int64? = nil) -> [UInt8] {
            bytes(1, string(1, s) + float(2, score) + (type.map { int(3, $0) } ?? []))
        }
    }

    /// A small Unigram model with unknown fields of every wire type, pad_id -1 (a 10-byte varint) and no charsmap.
    static let tiny: [UInt8] = {
        var m: [UInt8] = []
        m += PB.piece("<pad>", 0, type: 3) + PB.piece("</s>", 0, type: 3) + PB.piece("<unk>", 0, type: 2)
        for (p, s) in [("▁", -2), ("▁hello", -3), ("▁world", -3.5), ("h", -5), ("e", -5), ("l", -5), ("o", -5),
                       ("w", -5.5), ("r", -5.5), ("d", -5.5)] as [(String, Float)] {
            m += PB.piece(p, s)
        }
        var trainer = PB.string(1, "corpus.txt") + PB.int(3, 1) + PB.int(4, 13) + PB.float(10, 0.9995) + PB.int(11, 1 << 40)
        trainer += PB.key(99, 1) + [1, 2, 3, 4, 5, 6, 7, 8]  // unknown fixed64
        trainer += PB.int(40, 2) + PB.int(41, -1) + PB.int(42, 1) + PB.int(43, -1) + PB.string(45, "<unk>")
        m += PB.bytes(2, trainer)
        m += PB.bytes(3, PB.string(1, "identity") + PB.int(3, 1) + PB.int(4, 1) + PB.int(5, 1))
        m += PB.bytes(5, PB.string(1, "identity"))  // denormalizer_spec, not read
        return m
    }()

    func build(_ bytes: [UInt8], _ family: SentencePieceTokenizers.Family = .t5, config: String = #"{"extra_ids": 2}"#) throws -> Tokenizer {
        let model = try SentencePieceModel(bytes: bytes)
        return try SentencePieceTokenizers.build(model, family: family, settings: .init(config: try JSONValue.parse(config), map: nil),
                                                 name: "spiece.model")
    }

    func testTinyModel() throws {
        let m = try SentencePieceModel(bytes: Self.tiny)
        XCTAssertEqual(m.pieces.count, 13)
        XCTAssertEqual(m.pieces[2].type, .unknown)
        XCTAssertEqual(m.pieces[4].score, -3)
        XCTAssertEqual(m.trainer.unkId, 2)
        XCTAssertEqual(m.trainer.padId, -1)
        XCTAssertEqual(m.trainer.bosId, -1)
        XCTAssertEqual(m.trainer.vocabSize, 13)
        XCTAssertEqual(m.normalizer.name, "identity")
        let t5 = try build(Self.tiny)
        XCTAssertEqual(t5.vocabSize, 15)
        XCTAssertEqual(t5.tokenToId("<extra_id_1>"), 13)
        XCTAssertEqual(t5.tokenToId("<extra_id_0>"), 14)
        let e = try t5.encode("hello  world<extra_id_0>x")
        XCTAssertEqual(e.tokens, ["▁hello", "▁world", "<extra_id_0>", "▁", "x", "</s>"])
        XCTAssertEqual(e.ids, [4, 5, 14, 3, 2, 1])
        // as transformers 5.24 does with the same model (made with sentencepiece_model_pb2)
        XCTAssertEqual(t5.decode(e.ids), "hello world<extra_id_0> <unk></s>")
        XCTAssertEqual(t5.decode(e.ids, skipSpecialTokens: true), "hello world ")
        // Pegasus: pad, eos, mask_2, mask_1, <unk_2>..<unk_4>, then the pieces after the first two
        let pegasus = try build(Self.tiny, .pegasus, config: #"{"offset": 5, "mask_token": "<mask_2>", "mask_token_sent": "<mask_1>"}"#)
        XCTAssertEqual((0..<8).map { pegasus.idToToken($0) }, ["<pad>", "</s>", "<mask_2>", "<mask_1>", "<unk_2>", "<unk_3>", "<unk_4>", "<unk>"])
        XCTAssertEqual(try pegasus.encode("hello  world ").ids, [9, 10, 8, 1])
    }

    /// As transformers 5.24 merges the two files (each expectation checked there with this model).
    func testSpecialTokensFromConfigAndMap() throws {
        func tok(_ config: String, _ map: String?) throws -> Tokenizer {
            try SentencePieceTokenizers.build(try SentencePieceModel(bytes: Self.tiny), family: .t5,
                                              settings: .init(config: try JSONValue.parse(config), map: try map.map(JSONValue.parse)),
                                              name: "spiece.model")
        }
        // the map's eos_token wins over the config's ...
        XCTAssertEqual(try tok(#"{"extra_ids": 2, "eos_token": "</s>"}"#, #"{"eos_token": "<pad>"}"#).encode("hello").ids, [4, 0])
        // ... unless the config has added_tokens_decoder
        XCTAssertEqual(try tok(#"{"extra_ids": 2, "eos_token": "</s>", "added_tokens_decoder": {}}"#, #"{"eos_token": "<pad>"}"#)
            .encode("hello").ids, [4, 1])
        // the config's additional_special_tokens are added (a new one after the vocabulary), the map's are not
        let t = try tok(#"{"extra_ids": 2, "additional_special_tokens": ["<foo>", "▁world"]}"#, #"{"additional_special_tokens": ["<bar>"]}"#)
        XCTAssertEqual(t.tokenToId("<foo>"), 15)
        XCTAssertNil(t.tokenToId("<bar>"))
        XCTAssertEqual(try t.encode("x<foo>▁world").ids, [3, 2, 15, 5, 1])
        XCTAssertEqual(t.decode([3, 2, 15, 5, 1], skipSpecialTokens: true), "", "▁world is special too")
    }

    func expectError(_ bytes: [UInt8], _ needle: String, family: SentencePieceTokenizers.Family = .t5, config: String = #"{"extra_ids": 2}"#,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try build(bytes, family, config: config), file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains(needle), "error \"\(e)\" does not mention \"\(needle)\"", file: file, line: line)
        }
    }

    func testMalformedProtobuf() {
        expectError([], "no pieces")
        expectError([0x0A, 0x80], "byte 1: truncated varint")
        expectError([0x0A, 0x05, 0x01], "byte 1: length 5 runs past the end of the message (1 bytes left)")
        expectError([0x0F], "invalid wire type 7")
        expectError([0x02, 0x00], "invalid field number 0")
        expectError(PB.key(7, 3), "groups (wire type 3)")
        expectError(PB.key(7, 0) + [UInt8](repeating: 0xFF, count: 10) + [0x01], "byte 1: varint overflows 64 bits")
        expectError(PB.key(7, 1) + [1, 2, 3], "truncated 64-bit field")
        expectError(PB.key(1, 0) + [1], "field pieces has wire type 0, expected 2")
        expectError(PB.bytes(1, PB.key(1, 0) + [1]), "spiece.model: pieces[0]: byte 3: field piece has wire type 0, expected 2")
        expectError(PB.piece("a", 0) + PB.bytes(1, PB.bytes(1, [0xFF, 0xFE])), "pieces[1]: byte 13: field piece is not valid UTF-8")
        expectError(PB.bytes(1, PB.string(1, "a") + PB.key(2, 5) + [0, 0]), "truncated 32-bit field")
        expectError(Self.tiny + PB.bytes(2, PB.int(3, 2)), "model_type BPE is not supported")
        expectError(Self.tiny + PB.bytes(3, PB.bytes(2, [1, 2, 3])), "precompiled_charsmap: charsmap too short")
        expectError(Self.tiny + PB.bytes(3, PB.bytes(2, [0xFF, 0xFF, 0, 0, 1, 2, 3, 4])), "exceeds the charsmap")
        expectError(PB.piece("a", 0) + PB.piece("b", 0), "model.unk_id: 2 is not in the vocabulary", config: #"{"extra_ids": 0}"#)
        expectError(PB.piece("<pad>", 0) + PB.piece("</s>", 0) + PB.piece("<unk>", -1), "no piece \"<unk>\" with score 0",
                    family: .pegasus, config: "{}")
    }

    /// Every truncation and many single-byte changes of a valid model: an error or a working tokenizer, never a crash.
    func testMutatedModelsNeverCrash() {
        var built = 0, refused = 0
        func attempt(_ bytes: [UInt8]) {
            do {
                let tok = try build(bytes)
                _ = try tok.encode("hello world, dlrow olleh")
                built += 1
            } catch is TokenizerError {
                refused += 1
            } catch {
                XCTFail("unexpected error type: \(error)")
            }
        }
        for cut in 0..<Self.tiny.count { attempt(Array(Self.tiny.prefix(cut))) }
        for i in Self.tiny.indices {
            for v: UInt8 in [0x00, 0x7F, 0x80, 0xFF] where Self.tiny[i] != v {
                var b = Self.tiny
                b[i] = v
                attempt(b)
            }
        }
        XCTAssertGreaterThan(built, 0)
        XCTAssertGreaterThan(refused, Self.tiny.count)
    }
}
