// WordPiece (HF `models/wordpiece`): greedy longest-match-first with a continuation prefix; a word
// with any unmatched part, or longer than `max_input_chars_per_word` scalars, becomes the unknown token.
// WordLevel (HF `models/wordlevel`): one id per word.

final class WordPieceModel: @unchecked Sendable {
    let vocab: [RawKey: Int]
    let vocabR: [Int: String]
    let unkToken: String
    let prefix: String
    let maxInputCharsPerWord: Int

    init(_ c: Cfg) throws {
        var vocab: [RawKey: Int] = [:]
        var vocabR: [Int: String] = [:]
        for (tok, idCfg) in try c.req("vocab").object() {
            let id = try idCfg.int()
            vocab[RawKey(tok)] = id
            vocabR[id] = tok
        }
        self.vocab = vocab
        self.vocabR = vocabR
        unkToken = try c.string("unk_token", default: "[UNK]")
        prefix = try c.string("continuing_subword_prefix", default: "##")
        maxInputCharsPerWord = try c.int("max_input_chars_per_word", default: 100)
        guard vocab[RawKey(unkToken)] != nil else { throw TokenizerError("model.unk_token: \"\(unkToken)\" is not in the vocabulary") }
    }

    init(vocab: [RawKey: Int], unkToken: String, prefix: String = "##", maxInputCharsPerWord: Int = 100) {
        self.vocab = vocab
        var r: [Int: String] = [:]
        for (k, v) in vocab { r[v] = k.s }
        vocabR = r
        self.unkToken = unkToken
        self.prefix = prefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    func tokenToId(_ t: String) -> Int? { vocab[RawKey(t)] }
    func idToToken(_ id: Int) -> String? { vocabR[id] }
    var vocabSize: Int { vocab.count }

    func tokenize(_ word: String) -> [Token] {
        let scalars = Array(word.unicodeScalars)
        let unk = Token(id: vocab[RawKey(unkToken)]!, value: unkToken)
        if scalars.count > maxInputCharsPerWord { return [unk] }
        if let id = vocab[RawKey(word)] { return [Token(id: id, value: word)] }
        var out: [Token] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Token? = nil
            while start < end {
                var sub = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { sub = prefix + sub }
                if let id = vocab[RawKey(sub)] { found = Token(id: id, value: sub); break }
                end -= 1
            }
            guard let tok = found else { return [unk] }
            out.append(tok)
            start = end
        }
        return out
    }
}

final class WordLevelModel: @unchecked Sendable {
    let vocab: [RawKey: Int]
    let vocabR: [Int: String]
    let unkToken: String

    init(_ c: Cfg) throws {
        var vocab: [RawKey: Int] = [:]
        var vocabR: [Int: String] = [:]
        for (tok, idCfg) in try c.req("vocab").object() {
            let id = try idCfg.int()
            vocab[RawKey(tok)] = id
            vocabR[id] = tok
        }
        self.vocab = vocab
        self.vocabR = vocabR
        unkToken = try c.string("unk_token", default: "<unk>")
    }

    func tokenToId(_ t: String) -> Int? { vocab[RawKey(t)] }
    func idToToken(_ id: Int) -> String? { vocabR[id] }
    var vocabSize: Int { vocab.count }

    func tokenize(_ word: String) throws -> [Token] {
        if let id = vocab[RawKey(word)] { return [Token(id: id, value: word)] }
        guard let uid = vocab[RawKey(unkToken)] else {
            throw TokenizerError("model.unk_token: \"\(unkToken)\" is not in the vocabulary")
        }
        return [Token(id: uid, value: unkToken)]
    }
}
