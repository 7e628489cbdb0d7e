import Foundation

// SentencePiece models (`spiece.model`, a serialized `sentencepiece.ModelProto`) and the tokenizers that
// transformers 5.24 builds from them when a folder has no tokenizer.json: `T5Tokenizer.__init__` and
// `PegasusTokenizer.__init__` (models/t5, models/pegasus) fed by `TokenizersBackend._convert_from_sentencepiece`
// and the converters' `convert_from_spm` (convert_slow_tokenizer.py).

/// The fields of sentencepiece_model.proto that a tokenizer needs; field numbers and defaults as declared there.
struct SentencePieceModel {
    enum PieceType: Int32 { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }
    enum ModelType: Int32 { case unigram = 1, bpe = 2, word = 3, char = 4 }

    /// `ModelProto.SentencePiece`: piece = 1, score = 2, type = 3.
    struct Piece {
        var piece = ""
        var score: Float = 0
        var type = PieceType.normal
    }

    /// `TrainerSpec` (ModelProto field 2).
    struct TrainerSpec {
        var modelType = ModelType.unigram  // 3
        var vocabSize: Int32 = 8000        // 4
        var byteFallback = false           // 35
        var unkId: Int32 = 0               // 40
        var bosId: Int32 = 1               // 41
        var eosId: Int32 = 2               // 42
        var padId: Int32 = -1              // 43
        var unkPiece = "<unk>"             // 45
        var bosPiece = "<s>"               // 46
        var eosPiece = "</s>"              // 47
        var padPiece = "<pad>"             // 48
    }

    /// `NormalizerSpec` (ModelProto field 3).
    struct NormalizerSpec {
        var name = ""                          // 1
        var precompiledCharsmap: [UInt8] = []  // 2
        var addDummyPrefix = true              // 3
        var removeExtraWhitespaces = true      // 4
        var escapeWhitespaces = true           // 5
    }

    var pieces: [Piece] = []          // 1, repeated
    var trainer = TrainerSpec()       // 2
    var normalizer = NormalizerSpec() // 3

    /// Parses a serialized ModelProto. `name` prefixes error messages.
    /// As protobuf does: unknown fields are skipped, a repeated embedded message appends, a singular one
    /// met twice merges, and an enum value the schema does not list leaves the field as it was (proto2).
    init(bytes: [UInt8], name: String = "spiece.model") throws {
        var r = ProtoReader(bytes[...], context: name)
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1:
                let index = pieces.count
                pieces.append(try Self.piece(r.message(wire, field: "pieces"), context: "\(name): pieces[\(index)]"))
            case 2: try Self.trainerSpec(r.message(wire, field: "trainer_spec"), into: &trainer, context: "\(name): trainer_spec")
            case 3: try Self.normalizerSpec(r.message(wire, field: "normalizer_spec"), into: &normalizer, context: "\(name): normalizer_spec")
            default: try r.skip(wire)
            }
        }
    }

    private static func piece(_ bytes: ArraySlice<UInt8>, context: String) throws -> Piece {
        var p = Piece()
        var r = ProtoReader(bytes, context: context)
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1: p.piece = try r.string(wire, field: "piece")
            case 2: p.score = try r.float(wire, field: "score")
            case 3: if let t = PieceType(rawValue: try r.int32(wire, field: "type")) { p.type = t }
            default: try r.skip(wire)
            }
        }
        return p
    }

    private static func trainerSpec(_ bytes: ArraySlice<UInt8>, into t: inout TrainerSpec, context: String) throws {
        var r = ProtoReader(bytes, context: context)
        while let (number, wire) = try r.nextField() {
            switch number {
            case 3: if let m = ModelType(rawValue: try r.int32(wire, field: "model_type")) { t.modelType = m }
            case 4: t.vocabSize = try r.int32(wire, field: "vocab_size")
            case 35: t.byteFallback = try r.bool(wire, field: "byte_fallback")
            case 40: t.unkId = try r.int32(wire, field: "unk_id")
            case 41: t.bosId = try r.int32(wire, field: "bos_id")
            case 42: t.eosId = try r.int32(wire, field: "eos_id")
            case 43: t.padId = try r.int32(wire, field: "pad_id")
            case 45: t.unkPiece = try r.string(wire, field: "unk_piece")
            case 46: t.bosPiece = try r.string(wire, field: "bos_piece")
            case 47: t.eosPiece = try r.string(wire, field: "eos_piece")
            case 48: t.padPiece = try r.string(wire, field: "pad_piece")
            default: try r.skip(wire)
            }
        }
    }

    private static func normalizerSpec(_ bytes: ArraySlice<UInt8>, into n: inout NormalizerSpec, context: String) throws {
        var r = ProtoReader(bytes, context: context)
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1: n.name = try r.string(wire, field: "name")
            case 2: n.precompiledCharsmap = try r.data(wire, field: "precompiled_charsmap")
            case 3: n.addDummyPrefix = try r.bool(wire, field: "add_dummy_prefix")
            case 4: n.removeExtraWhitespaces = try r.bool(wire, field: "remove_extra_whitespaces")
            case 5: n.escapeWhitespaces = try r.bool(wire, field: "escape_whitespaces")
            default: try r.skip(wire)
            }
        }
    }
}

/// tokenizer.json's stand-in for a folder that has only `spiece.model`: the tokenizer transformers 5.24 builds
/// for the folder's `tokenizer_class` (tokenizer_config.json), else for config.json's `model_type` as
/// AutoTokenizer maps it. Only T5Tokenizer and PegasusTokenizer are built; transformers 5.24 itself refuses a
/// spiece.model whose class it does not know (TokenizersBackend does not read spiece.model).
enum SentencePieceTokenizers {
    enum Family: String { case t5 = "T5Tokenizer", pegasus = "PegasusTokenizer" }

    /// models/auto/tokenization_auto.py's entries for the two classes
    static let modelTypes: [String: Family] = [
        "t5": .t5, "mt5": .t5, "switch_transformers": .t5, "musicgen": .t5, "musicgen_melody": .t5, "pegasus": .pegasus,
    ]

    static let replacement: Unicode.Scalar = "\u{2581}"  // ▁

    /// `config`: tokenizer_config.json; `modelConfig`: config.json.
    static func load(model url: URL, config: JSONValue?, specialTokensMap: JSONValue?, modelConfig: JSONValue?) throws -> Tokenizer {
        let name = url.lastPathComponent
        let family = try self.family(config, modelConfig: modelConfig, modelName: name)
        let data: [UInt8]
        do { data = [UInt8](try Data(contentsOf: url)) } catch {
            throw TokenizerError("\(url.path): cannot read (\(error.localizedDescription))")
        }
        let model = try SentencePieceModel(bytes: data, name: name)
        let settings = Settings(config: config, map: specialTokensMap)
        let tok = try build(model, family: family, settings: settings, name: name)
        tok.apply(config: config)
        return tok
    }

    static func family(_ config: JSONValue?, modelConfig: JSONValue?, modelName: String) throws -> Family {
        guard case .string(let cls)? = config?["tokenizer_class"] else {
            if case .string(let type)? = modelConfig?["model_type"] {
                guard let f = modelTypes[type] else {
                    throw TokenizerError("\(modelName) without tokenizer.json: model_type \"\(type)\" (config.json) is not supported "
                                         + "(only T5Tokenizer and PegasusTokenizer are converted); provide a tokenizer.json")
                }
                return f
            }
            throw TokenizerError("\(modelName) without tokenizer.json: tokenizer_config.json's tokenizer_class or config.json's "
                                 + "model_type must say which tokenizer it is (T5Tokenizer or PegasusTokenizer)")
        }
        let base = cls.hasSuffix("Fast") ? String(cls.dropLast(4)) : cls
        guard let f = Family(rawValue: base) else {
            throw TokenizerError("\(modelName) without tokenizer.json: tokenizer_class \"\(cls)\" is not supported "
                                 + "(only T5Tokenizer and PegasusTokenizer are converted); provide a tokenizer.json")
        }
        return f
    }

    /// tokenizer_config.json and special_tokens_map.json as transformers 5.24's `from_pretrained` merges them:
    /// a token is a string or an AddedToken object (`{"content": ...}`); special_tokens_map.json's named tokens
    /// override the config's unless the config has `added_tokens_decoder` (then the map is not read); extra
    /// tokens come from the config's `additional_special_tokens` and `extra_special_tokens` and the map's
    /// `extra_special_tokens` (its `additional_special_tokens` are not added).
    struct Settings {
        let config: JSONValue?
        let map: JSONValue?

        init(config: JSONValue?, map: JSONValue?) {
            self.config = config
            self.map = config?["added_tokens_decoder"] == nil ? map : nil
        }

        /// The token named `key`: `d` when neither file gives it, nil when it is given as null.
        func token(_ key: String, default d: String) -> String? {
            for source in [map, config] {
                guard let v = source?[key] else { continue }
                if v.isNull { return nil }
                if let s = Self.tokenString(v) { return s }
            }
            return d
        }

        var extraTokens: [String] {
            var out: [String] = []
            for (source, key) in [(config, "additional_special_tokens"), (config, "extra_special_tokens"), (map, "extra_special_tokens")] {
                switch source?[key] {
                case .array(let items)?: out += items.compactMap(Self.tokenString)
                case .object(let pairs)?: out += pairs.compactMap { Self.tokenString($0.1) }
                default: break
                }
            }
            return out
        }

        func int(_ key: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
            guard let v = config?[key], !v.isNull else { return d }
            guard case .number(let x, _) = v, x == x.rounded(), x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                throw TokenizerError("tokenizer_config.json: \(key) must be an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(x)
        }

        static func tokenString(_ v: JSONValue) -> String? {
            if case .string(let s) = v { return s }
            if case .string(let s)? = v["content"] { return s }
            return nil
        }
    }

    static func build(_ m: SentencePieceModel, family: Family, settings: Settings, name: String) throws -> Tokenizer {
        guard m.trainer.modelType == .unigram else {
            let type = String(describing: m.trainer.modelType).uppercased()
            throw TokenizerError("\(name): model_type \(type) is not supported (\(family.rawValue) builds a Unigram model)")
        }
        guard !m.pieces.isEmpty else { throw TokenizerError("\(name): the model has no pieces") }
        let charsmap = m.normalizer.precompiledCharsmap.isEmpty
            ? nil : try PrecompiledCharsmap(bytes: m.normalizer.precompiledCharsmap, path: "\(name): normalizer_spec.precompiled_charsmap")
        let decoder = Decoder.metaspace(replacement: replacement, prependScheme: .always)
        var vocab: [(String, Double)]
        let unkId: Int
        let normalizer: Normalizer?
        let preTokenizer: PreTokenizer
        let eos: String
        var specials: [String]
        switch family {
        case .t5:
            // T5Converter.convert_from_spm: the pieces, then <extra_id_{n-1}> ... <extra_id_0> scored 0.
            let extraIds = try settings.int("extra_ids", default: 100, range: 0...100_000)
            vocab = m.pieces.map { ($0.piece, Double($0.score)) }
            vocab += (0..<extraIds).reversed().map { ("<extra_id_\($0)>", 0.0) }
            unkId = 2  // T5Tokenizer.__init__ passes unk_id=2 whatever trainer_spec.unk_id says
            normalizer = charsmap.map { .precompiled($0) }
            preTokenizer = .sequence([.whitespaceSplit, .metaspace(replacement: replacement, prepend: .always, split: true)])
            eos = settings.token("eos_token", default: "</s>") ?? "</s>"
            specials = [settings.token("pad_token", default: "<pad>"), eos, settings.token("unk_token", default: "<unk>")]
                .compactMap { $0 }
            specials += settings.extraTokens
            specials += (0..<extraIds).map { "<extra_id_\($0)>" }
        case .pegasus:
            // PegasusConverter.convert_from_spm: pad, eos, mask_token, mask_token_sent (each as given, defaults
            // <mask_1> and <mask_2> there), <unk_2> ... <unk_{offset-1}> scored -100, then the pieces after the
            // model's first two. With the hub's tokenizer_config (mask_token <mask_2>) this puts <mask_2> at 2
            // and <mask_1> at 3, the reverse of the published tokenizer.json; transformers 5.24 does the same.
            let offset = try settings.int("offset", default: 103, range: 0...100_000)
            // (a token given as null is the string "None" there, as Python's str(None))
            let pad = settings.token("pad_token", default: "<pad>")
            let eosToken = settings.token("eos_token", default: "</s>")
            eos = eosToken ?? "</s>"
            vocab = [(pad ?? "None", 0), (eosToken ?? "None", 0)]
            let mask = settings.token("mask_token", default: "<mask_1>")
            let maskSent = settings.token("mask_token_sent", default: "<mask_2>")
            if let mask { vocab.append((mask, 0)) }
            if let maskSent, maskSent != mask { vocab.append((maskSent, 0)) }
            if offset > 2 { vocab += (2..<offset).map { ("<unk_\($0)>", -100.0) } }
            vocab += m.pieces.dropFirst(2).map { ($0.piece, Double($0.score)) }
            // PegasusTokenizer.__init__: unk_id = vocab.index((unk_token, 0.0), 1)
            let unk = settings.token("unk_token", default: "<unk>") ?? "None"
            guard let u = vocab.indices.dropFirst().first(where: { vocab[$0].0.utf8.elementsEqual(unk.utf8) && vocab[$0].1 == 0 }) else {
                throw TokenizerError("\(name): no piece \"\(unk)\" with score 0 after the first for the unknown token")
            }
            unkId = u
            let spaces = Normalizer.replace(pattern: .regex(try RegexPattern(" {2,}", path: "normalizer")), content: " ")
            if let charsmap {
                normalizer = .sequence([.precompiled(charsmap), spaces])
            } else {
                normalizer = .sequence([.replace(pattern: .regex(try RegexPattern("\n", path: "normalizer")), content: " "), spaces])
            }
            preTokenizer = .metaspace(replacement: replacement, prepend: .always, split: true)
            // The class's own defaults name the special tokens (mask_token <mask_2>, mask_token_sent <mask_1>).
            specials = [pad, eosToken, settings.token("unk_token", default: "<unk>"),
                        settings.token("mask_token", default: "<mask_2>"), settings.token("mask_token_sent", default: "<mask_1>")]
                .compactMap { $0 }
            if offset > 2 { specials += (2..<offset).map { "<unk_\($0)>" } }
            specials += settings.extraTokens
        }
        let unigram = try UnigramModel(pieces: vocab, unkId: unkId, byteFallback: false)
        // Special tokens keep their vocabulary id; one the vocabulary lacks gets the next id, as add_tokens does.
        var added: [AddedToken] = []
        var seen: Set<RawKey> = []
        var next = vocab.count
        for s in specials where !s.isEmpty && !seen.contains(RawKey(s)) {
            seen.insert(RawKey(s))
            let id: Int
            if let v = unigram.tokenToId(s) { id = v } else { id = next; next += 1 }
            added.append(AddedToken(id: id, content: s, normalized: false, special: true))
        }
        guard let eosId = added.first(where: { $0.content.utf8.elementsEqual(eos.utf8) })?.id else {
            throw TokenizerError("\(name): no id for the end-of-sequence token \"\(eos)\"")
        }
        let post = PostProcessor.template(single: [.sequence, .special(eos)], specials: [eos: [Token(id: eosId, value: eos)]])
        return Tokenizer(normalizer: normalizer, preTokenizer: preTokenizer, model: .unigram(unigram), postProcessor: post,
                         decoder: decoder, addedTokens: added, truncation: nil, cleanUp: false)
    }
}
