import Foundation

// The tokenizer pipeline (HF `tokenizer/mod.rs`): added tokens -> normalizer -> pre-tokenizer ->
// model -> truncation -> post-processor; and decoding back to text.

enum Model {
    case bpe(BPEModel)
    case wordPiece(WordPieceModel)
    case wordLevel(WordLevelModel)
    case unigram(UnigramModel)

    static func load(_ c: Cfg) throws -> Model {
        var type = try c.opt("type")?.string()
        if type == nil {
            // serde's untagged fallback: infer from the fields present.
            if c.opt("merges") != nil { type = "BPE" }
            else if case .array? = c.opt("vocab")?.value { type = "Unigram" }
            else if c.opt("max_input_chars_per_word") != nil || c.opt("continuing_subword_prefix") != nil { type = "WordPiece" }
            else { type = "WordLevel" }
        }
        switch type! {
        case "BPE": return .bpe(try BPEModel(c))
        case "WordPiece": return .wordPiece(try WordPieceModel(c))
        case "WordLevel": return .wordLevel(try WordLevelModel(c))
        case "Unigram": return .unigram(try UnigramModel(c))
        default: throw TokenizerError("\(c.path).type: unsupported model type \"\(type!)\"")
        }
    }

    func tokenize(_ s: String) throws -> [Token] {
        switch self {
        case .bpe(let m): return m.tokenize(s)
        case .wordPiece(let m): return m.tokenize(s)
        case .wordLevel(let m): return try m.tokenize(s)
        case .unigram(let m): return try m.tokenize(s)
        }
    }

    func tokenToId(_ t: String) -> Int? {
        switch self {
        case .bpe(let m): return m.tokenToId(t)
        case .wordPiece(let m): return m.tokenToId(t)
        case .wordLevel(let m): return m.tokenToId(t)
        case .unigram(let m): return m.tokenToId(t)
        }
    }

    func idToToken(_ id: Int) -> String? {
        switch self {
        case .bpe(let m): return m.idToToken(id)
        case .wordPiece(let m): return m.idToToken(id)
        case .wordLevel(let m): return m.idToToken(id)
        case .unigram(let m): return m.idToToken(id)
        }
    }

    var vocabSize: Int {
        switch self {
        case .bpe(let m): return m.vocabSize
        case .wordPiece(let m): return m.vocabSize
        case .wordLevel(let m): return m.vocab.count
        case .unigram(let m): return m.vocabSize
        }
    }
}

public struct Encoding: Equatable, Sendable {
    public var ids: [Int]
    public var tokens: [String]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int]
    /// Whether truncation removed tokens.
    public var truncated: Bool
}

public enum TruncationDirection: String, Sendable { case left, right }

/// Truncation of one encode: tokenizer.json's own setting, none, or an explicit limit.
public enum Truncation: Sendable, Equatable {
    case fromFile
    case none
    case maxLength(Int, TruncationDirection)
}

/// tokenizer.json's `padding` (HF `PaddingParams`); a single text pads only with a fixed length
/// or `pad_to_multiple_of`.
public struct PaddingParams: Sendable {
    public var fixedLength: Int?
    public var multipleOf: Int?
    public var left: Bool
    public var padId: Int
    public var padToken: String
}

public final class Tokenizer: @unchecked Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: Model
    let postProcessor: PostProcessor?
    let decoder: Decoder?
    var added = AddedVocabulary()
    /// Truncation configured in tokenizer.json (`truncation.max_length`), applied by default.
    public let defaultTruncation: (maxLength: Int, direction: TruncationDirection)?
    /// Padding configured in tokenizer.json, applied by default as HF `Tokenizer.encode` does.
    public let defaultPadding: PaddingParams?
    /// transformers' `clean_up_tokenization_spaces` from tokenizer_config.json (default false).
    public var cleanUpTokenizationSpaces: Bool
    /// `model_max_length` from tokenizer_config.json, when given.
    public var modelMaxLength: Int?

    init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: Model, postProcessor: PostProcessor?,
         decoder: Decoder?, addedTokens: [AddedToken], truncation: (Int, TruncationDirection)?,
         padding: PaddingParams? = nil, cleanUp: Bool) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.defaultTruncation = truncation
        self.defaultPadding = padding
        self.cleanUpTokenizationSpaces = cleanUp
        for t in addedTokens { added.add(t, normalizer: normalizer) }
        added.build()
    }

    /// The longest padding tokenizer.json may ask for (`{"Fixed": n}`, `pad_to_multiple_of`).
    public static let maxPaddedLength = 1 << 20

    /// Parses a tokenizer.json document.
    public convenience init(json: JSONValue) throws {
        let root = Cfg(json, path: "")
        guard case .object = json else { throw TokenizerError("tokenizer.json: expected a JSON object at the top level") }
        let model = try Model.load(try root.req("model"))
        var addedTokens: [AddedToken] = []
        for t in try root.opt("added_tokens")?.array() ?? [] {
            let content = try t.req("content").string()
            let id = try t.req("id").int()
            let special = try t.bool("special", default: false)
            addedTokens.append(AddedToken(
                id: id, content: content, singleWord: try t.bool("single_word", default: false),
                lstrip: try t.bool("lstrip", default: false), rstrip: try t.bool("rstrip", default: false),
                normalized: try t.bool("normalized", default: !special), special: special))
        }
        var truncation: (Int, TruncationDirection)? = nil
        if let tr = root.opt("truncation") {
            let dir = try tr.string("direction", default: "Right")
            truncation = (try tr.req("max_length").int(), dir == "Left" ? .left : .right)
        }
        var padding: PaddingParams? = nil
        if let p = root.opt("padding") {
            var fixed: Int? = nil
            let strategy = try p.req("strategy")
            // every encoding is padded to these lengths: bounded, so that a file cannot make each encode
            // allocate terabytes
            func length(_ c: Cfg) throws -> Int {
                let n = try c.int()
                guard n >= 0 && n <= Tokenizer.maxPaddedLength else {
                    throw c.fail("\(n) is not a length from 0 to \(Tokenizer.maxPaddedLength)")
                }
                return n
            }
            if let f = strategy.opt("Fixed") { fixed = try length(f) }
            else if case .string(let s) = strategy.value, s == "BatchLongest" {}
            else { throw strategy.fail("expected \"BatchLongest\" or {\"Fixed\": n}") }
            padding = PaddingParams(fixedLength: fixed, multipleOf: try p.opt("pad_to_multiple_of").map(length),
                                    left: try p.string("direction", default: "Right") == "Left",
                                    padId: try p.int("pad_id", default: 0), padToken: try p.string("pad_token", default: "[PAD]"))
        }
        self.init(normalizer: try root.opt("normalizer").map(Normalizer.load),
                  preTokenizer: try root.opt("pre_tokenizer").map(PreTokenizer.load),
                  model: model,
                  postProcessor: try root.opt("post_processor").map(PostProcessor.load),
                  decoder: try root.opt("decoder").map(Decoder.load),
                  addedTokens: addedTokens, truncation: truncation, padding: padding, cleanUp: false)
    }

    // MARK: Encoding

    /// Encodes one text as HF `Tokenizer.encode` does: tokenizer.json's truncation and padding apply
    /// unless overridden. Truncation keeps room for the special tokens when they are added.
    public func encode(_ text: String, addSpecialTokens: Bool = true, truncation: Truncation = .fromFile,
                       padding: Bool = true) throws -> Encoding {
        var splits = added.extractAndNormalize(text, normalizer: normalizer)
        preTokenizer?.preTokenize(&splits)
        var tokens: [Token] = []
        tokens.reserveCapacity(splits.count * 2)
        for sp in splits {
            if let t = sp.tokens { tokens.append(contentsOf: t) } else { tokens.append(contentsOf: try model.tokenize(sp.text)) }
        }
        var truncated = false
        let limit: (Int, TruncationDirection)?
        switch truncation {
        case .fromFile: limit = defaultTruncation
        case .none: limit = nil
        case .maxLength(let m, let d): limit = (m, d)
        }
        if let (max, dir) = limit {
            let n = addSpecialTokens ? (postProcessor?.addedTokens ?? 0) : 0
            guard max >= n else {
                throw TokenizerError("truncation: max_length \(max) is smaller than the \(n) special tokens added")
            }
            let budget = max - n
            if tokens.count > budget {
                truncated = true
                tokens = dir == .right ? Array(tokens.prefix(budget)) : Array(tokens.suffix(budget))
            }
        }
        if let pp = postProcessor { tokens = pp.process(tokens, addSpecialTokens: addSpecialTokens) }
        var mask = [Int](repeating: 1, count: tokens.count)
        if padding, let p = defaultPadding {
            var target = p.fixedLength ?? tokens.count
            if let m = p.multipleOf, m > 0, target % m > 0 { target += m - target % m }
            if target > tokens.count {
                let pad = [Token](repeating: Token(id: p.padId, value: p.padToken), count: target - tokens.count)
                let zeros = [Int](repeating: 0, count: pad.count)
                if p.left { tokens = pad + tokens; mask = zeros + mask } else { tokens += pad; mask += zeros }
            }
        }
        return Encoding(ids: tokens.map(\.id), tokens: tokens.map(\.value), attentionMask: mask, truncated: truncated)
    }

    // MARK: Decoding

    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false, cleanUpTokenizationSpaces: Bool? = nil) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = added.decodeString(id) ?? model.idToToken(id) else { continue }
            if skipSpecialTokens && added.isSpecial(t) { continue }
            tokens.append(t)
        }
        var text = decoder.map { $0.decodeChain(tokens).joined() } ?? tokens.joined(separator: " ")
        if cleanUpTokenizationSpaces ?? self.cleanUpTokenizationSpaces { text = transformersCleanUp(text) }
        return text
    }

    // MARK: Vocabulary

    public func tokenToId(_ token: String) -> Int? { added.byContent[RawKey(token)] ?? model.tokenToId(token) }

    public func idToToken(_ id: Int) -> String? { added.tokens[id]?.content ?? model.idToToken(id) }

    /// The vocabulary size including added tokens (as `len(tokenizer)` in transformers).
    public var vocabSize: Int {
        var n = model.vocabSize
        for id in added.tokens.keys where model.idToToken(id) == nil { n += 1 }
        return n
    }

    public var specialTokenIds: Set<Int> { Set(added.tokens.values.filter(\.special).map(\.id)) }

    /// Number of special tokens the post-processor adds to one sequence.
    public var numSpecialTokensToAdd: Int { postProcessor?.addedTokens ?? 0 }
}
