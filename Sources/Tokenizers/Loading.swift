import Foundation

// Loading a tokenizer from a tokenizer.json file or a model folder (tokenizer.json, else a SentencePiece
// spiece.model, else the legacy vocab.json + merges.txt or vocab.txt), with tokenizer_config.json's settings.

extension Tokenizer {
    /// `url` is a tokenizer.json file, a SentencePiece `.model` file (read with the tokenizer_config.json
    /// beside it), or a folder holding one of them (or legacy vocabulary files).
    public static func load(from url: URL) throws -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw TokenizerError("\(url.path): no such file or folder")
        }
        if !isDir.boolValue {
            guard url.pathExtension == "model" else { return try fromFile(url, config: nil) }
            let folder = url.deletingLastPathComponent()
            return try sentencePiece(url, folder: folder, config: try readConfig(folder.appendingPathComponent("tokenizer_config.json")))
        }
        let config = try readConfig(url.appendingPathComponent("tokenizer_config.json"))
        let tj = url.appendingPathComponent("tokenizer.json")
        let spiece = url.appendingPathComponent("spiece.model")
        let tok: Tokenizer
        if FileManager.default.fileExists(atPath: tj.path) {
            tok = try fromFile(tj, config: config)
        } else if FileManager.default.fileExists(atPath: spiece.path) {
            tok = try sentencePiece(spiece, folder: url, config: config)
        } else if FileManager.default.fileExists(atPath: url.appendingPathComponent("merges.txt").path) {
            tok = try LegacyTokenizers.byteLevelBPE(folder: url, config: config)
        } else if FileManager.default.fileExists(atPath: url.appendingPathComponent("vocab.txt").path) {
            tok = try LegacyTokenizers.wordPiece(folder: url, config: config)
        } else {
            throw TokenizerError("\(url.path): no tokenizer.json, spiece.model, vocab.json + merges.txt or vocab.txt in this folder")
        }
        return tok
    }

    /// A SentencePiece model converted as transformers 5.24 converts it for the folder's tokenizer_class
    /// (or config.json's model_type); `config` is the folder's tokenizer_config.json.
    static func sentencePiece(_ model: URL, folder: URL, config: JSONValue?) throws -> Tokenizer {
        let map = try readConfig(folder.appendingPathComponent("special_tokens_map.json"))
        let modelConfig = try readConfig(folder.appendingPathComponent("config.json"))
        return try SentencePieceTokenizers.load(model: model, config: config, specialTokensMap: map, modelConfig: modelConfig)
    }

    static func fromFile(_ url: URL, config: JSONValue?) throws -> Tokenizer {
        let data: [UInt8]
        do { data = [UInt8](try Data(contentsOf: url)) } catch {
            throw TokenizerError("\(url.path): cannot read (\(error.localizedDescription))")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(data: data) } catch {
            throw TokenizerError("\(url.lastPathComponent): \(error)")
        }
        let tok: Tokenizer
        do { tok = try Tokenizer(json: json) } catch let e as TokenizerError {
            throw TokenizerError("\(url.lastPathComponent): \(e.message)")
        }
        tok.apply(config: config)
        return tok
    }

    static func readConfig(_ url: URL) throws -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONValue.parse(data: [UInt8](data)) } catch {
            throw TokenizerError("\(url.lastPathComponent): \(error)")
        }
    }

    func apply(config: JSONValue?) {
        guard let config else { return }
        if case .bool(let b)? = config["clean_up_tokenization_spaces"] { cleanUpTokenizationSpaces = b }
        if case .number(let d, _)? = config["model_max_length"], d < 1e12 { modelMaxLength = Int(d) }
    }
}

enum LegacyTokenizers {
    /// vocab.json + merges.txt as transformers' GPT-2/RoBERTa/BART fast tokenizers build them: ByteLevel
    /// pre-tokenizer and decoder; RoBERTa post-processing when `<s>` and `</s>` are in the vocabulary.
    static func byteLevelBPE(folder: URL, config: JSONValue?) throws -> Tokenizer {
        let vocabURL = folder.appendingPathComponent("vocab.json")
        guard let vdata = FileManager.default.contents(atPath: vocabURL.path) else {
            throw TokenizerError("\(folder.path): merges.txt without vocab.json")
        }
        let vocab: JSONValue
        do { vocab = try JSONValue.parse(data: [UInt8](vdata)) } catch { throw TokenizerError("vocab.json: \(error)") }
        let mtext: String
        do { mtext = try String(contentsOf: folder.appendingPathComponent("merges.txt"), encoding: .utf8) } catch {
            throw TokenizerError("merges.txt: cannot read (\(error.localizedDescription))")
        }
        var merges: [JSONValue] = []
        for (i, line) in byteLines(mtext).enumerated() {
            if i == 0 && line.utf8.starts(with: "#version".utf8) { continue }
            if line.isEmpty { continue }
            merges.append(.string(line))
        }
        let model = Cfg(.object([("type", .string("BPE")), ("vocab", vocab), ("merges", .array(merges))]), path: "model")
        let bpe = try BPEModel(model)
        let addPrefix: Bool
        if case .bool(let b)? = config?["add_prefix_space"] { addPrefix = b } else { addPrefix = false }
        var added: [AddedToken] = []
        var post: PostProcessor? = nil
        // RoBERTa/BART special tokens when the vocabulary has them, else GPT-2's <|endoftext|>.
        let roberta = bpe.tokenToId("<s>") != nil && bpe.tokenToId("</s>") != nil
        let specials: [(String, Bool)] = roberta
            ? [("<s>", false), ("<pad>", false), ("</s>", false), ("<unk>", false), ("<mask>", true)]
            : [("<|endoftext|>", false)]
        for (s, lstrip) in specials {
            if let id = bpe.tokenToId(s) {
                added.append(AddedToken(id: id, content: s, singleWord: false, lstrip: lstrip, rstrip: false, normalized: false, special: true))
            }
        }
        if let cls = bpe.tokenToId("<s>"), let sep = bpe.tokenToId("</s>") {
            post = .roberta(sep: Token(id: sep, value: "</s>"), cls: Token(id: cls, value: "<s>"))
        } else {
            post = .byteLevel
        }
        let tok = Tokenizer(normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: addPrefix, useRegex: true), model: .bpe(bpe),
                            postProcessor: post, decoder: .byteLevel, addedTokens: added, truncation: nil, cleanUp: false)
        tok.apply(config: config)
        return tok
    }

    /// vocab.txt as transformers' BertTokenizerFast builds it.
    static func wordPiece(folder: URL, config: JSONValue?) throws -> Tokenizer {
        let text: String
        do { text = try String(contentsOf: folder.appendingPathComponent("vocab.txt"), encoding: .utf8) } catch {
            throw TokenizerError("vocab.txt: cannot read (\(error.localizedDescription))")
        }
        var vocab: [RawKey: Int] = [:]
        var i = 0
        // One token a line (transformers' load_vocab: line.rstrip("\n")); a trailing newline ends the file.
        var lines = byteLines(text)
        if lines.last == "" { lines.removeLast() }
        for l in lines {
            if vocab[RawKey(l)] == nil { vocab[RawKey(l)] = i }
            i += 1
        }
        guard vocab[RawKey("[UNK]")] != nil else { throw TokenizerError("vocab.txt: no [UNK] token") }
        let lower: Bool
        if case .bool(let b)? = config?["do_lower_case"] { lower = b } else { lower = true }
        var stripAccents: Bool? = nil
        if case .bool(let b)? = config?["strip_accents"] { stripAccents = b }
        var chinese = true
        if case .bool(let b)? = config?["tokenize_chinese_chars"] { chinese = b }
        let wp = WordPieceModel(vocab: vocab, unkToken: "[UNK]")
        var added: [AddedToken] = []
        for s in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            if let id = vocab[RawKey(s)] { added.append(AddedToken(id: id, content: s, normalized: false, special: true)) }
        }
        var post: PostProcessor? = nil
        if let cls = vocab[RawKey("[CLS]")], let sep = vocab[RawKey("[SEP]")] {
            post = .template(single: [.special("[CLS]"), .sequence, .special("[SEP]")],
                             specials: ["[CLS]": [Token(id: cls, value: "[CLS]")], "[SEP]": [Token(id: sep, value: "[SEP]")]])
        }
        let tok = Tokenizer(normalizer: .bert(cleanText: true, handleChineseChars: chinese, stripAccents: stripAccents, lowercase: lower),
                            preTokenizer: .bert, model: .wordPiece(wp), postProcessor: post,
                            decoder: .wordPiece(prefix: "##", cleanup: true), addedTokens: added, truncation: nil, cleanUp: false)
        tok.apply(config: config)
        return tok
    }
}

/// Lines split on the newline byte (a trailing "\r" removed), never on grapheme clusters.
func byteLines(_ text: String) -> [String] {
    text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
        let l = line.last == 0x0D ? line.dropLast() : line[...]
        return String(decoding: l, as: UTF8.self)
    }
}
