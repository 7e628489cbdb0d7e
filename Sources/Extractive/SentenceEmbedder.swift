// Sentence embeddings as sentence-transformers computes them for a folder such as all-MiniLM-L6-v2:
// modules.json (Transformer -> Pooling -> Normalize), sentence_bert_config.json (max_seq_length) and
// 1_Pooling/config.json, over a BERT encoder (Models/BERT.swift) and its tokenizer.json.
// Reference: sentence-transformers 6.2 (scripts/fixtures/minilm/make_fixtures.py records its outputs):
// each text is tokenized with truncation at max_seq_length (right), special tokens added, no padding.

import Foundation
import Models
import NN
import Tensor
import Tokenizers

/// What the extractive summarizer needs from a sentence-embedding model.
public protocol SentenceEmbedder: Sendable {
    /// Length of every vector `embed` returns.
    var dimension: Int { get }
    /// Tokens of `text` as the model's tokenizer counts them: no special tokens, no truncation.
    func tokenCount(_ text: String) throws -> Int
    /// One vector per text, in order; each equals the text's vector computed alone.
    func embed(_ texts: [String]) throws -> [[Float]]
}

public struct EmbedderError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A sentence-transformers model folder with a BERT encoder.
public final class SentenceTransformerEmbedder: SentenceEmbedder, @unchecked Sendable {
    public let tokenizer: Tokenizer
    public let model: BertModel
    /// sentence_bert_config.json's `max_seq_length` (special tokens included).
    public let maxSeqLength: Int
    public let pooling: BertPooling
    /// Whether modules.json ends with a Normalize module.
    public let normalize: Bool
    /// sentence_bert_config.json's `do_lower_case`: lowercase the text before tokenizing.
    public let lowercase: Bool
    /// Tokens per forward pass when embedding many texts (inputs are packed, not padded).
    public var batchTokens = 8192

    public var dimension: Int { model.hiddenSize }

    /// Whether `folder` looks like a sentence-transformers model (modules.json or sentence_bert_config.json
    /// beside a BERT config.json).
    public static func isSentenceTransformerFolder(_ folder: URL) -> Bool {
        let fm = FileManager.default
        let has = { fm.fileExists(atPath: folder.appendingPathComponent($0).path) }
        guard has("config.json"), has("modules.json") || has("sentence_bert_config.json") else { return false }
        guard let data = fm.contents(atPath: folder.appendingPathComponent("config.json").path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return json["model_type"] as? String == "bert"
    }

    /// `weightType`: the type the encoder's projections and word embeddings are held in (DTYPE).
    public convenience init(folder: URL, backend: any Backend, weightType: DType = .f32) throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            throw EmbedderError("\(folder.path): no config.json (expected a sentence-transformers model folder)")
        }
        // modules.json: which modules run, and where the pooling configuration lives.
        var poolingDir = folder.appendingPathComponent("1_Pooling")
        var normalize = true
        if let modules = try Self.readJSON(folder.appendingPathComponent("modules.json")) as? [[String: Any]] {
            let types = modules.compactMap { $0["type"] as? String }
            normalize = types.contains { $0.hasSuffix(".Normalize") }
            if let p = modules.first(where: { ($0["type"] as? String)?.hasSuffix(".Pooling") == true })?["path"] as? String {
                poolingDir = folder.appendingPathComponent(p)
            }
            for t in types where !(t.hasSuffix(".Transformer") || t.hasSuffix(".Pooling") || t.hasSuffix(".Normalize")) {
                throw EmbedderError("\(folder.path)/modules.json: module \(t) is not supported (Transformer, Pooling, Normalize)")
            }
        }
        var pooling = BertPooling.mean
        if let p = try Self.readJSON(poolingDir.appendingPathComponent("config.json")) as? [String: Any] {
            let on = { (key: String) in p[key] as? Bool == true }
            let modes = [("pooling_mode_mean_tokens", BertPooling.mean), ("pooling_mode_cls_token", .cls),
                         ("pooling_mode_max_tokens", .max)].filter { on($0.0) }
            let unsupported = ["pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                               "pooling_mode_lasttoken"].filter(on)
            guard modes.count == 1, unsupported.isEmpty else {
                throw EmbedderError("\(poolingDir.path)/config.json: exactly one of mean, cls or max pooling is supported")
            }
            pooling = modes[0].1
        }
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer.load(from: folder) } catch {
            throw EmbedderError("\(folder.path): cannot load the tokenizer: \(error)")
        }
        let model = try ModelRegistry.loadEncoder(folder: folder, backend: backend, weightType: weightType)
        let stConfig = try Self.readJSON(folder.appendingPathComponent("sentence_bert_config.json")) as? [String: Any]
        // sentence-transformers' default without a setting: the tokenizer's model_max_length, capped by the positions.
        var maxLength = stConfig?["max_seq_length"] as? Int ?? tokenizer.modelMaxLength ?? model.maxPositions
        maxLength = min(maxLength, model.maxPositions)
        try self.init(tokenizer: tokenizer, model: model, maxSeqLength: maxLength, pooling: pooling, normalize: normalize,
                      lowercase: stConfig?["do_lower_case"] as? Bool ?? false)
    }

    public init(tokenizer: Tokenizer, model: BertModel, maxSeqLength: Int, pooling: BertPooling = .mean,
                normalize: Bool = true, lowercase: Bool = false) throws {
        guard maxSeqLength >= tokenizer.numSpecialTokensToAdd + 1, maxSeqLength <= model.maxPositions else {
            throw EmbedderError("max_seq_length \(maxSeqLength) outside \(tokenizer.numSpecialTokensToAdd + 1)...\(model.maxPositions)")
        }
        self.tokenizer = tokenizer
        self.model = model
        self.maxSeqLength = maxSeqLength
        self.pooling = pooling
        self.normalize = normalize
        self.lowercase = lowercase
    }

    private static func readJSON(_ url: URL) throws -> Any? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONSerialization.jsonObject(with: data) } catch {
            throw EmbedderError("\(url.path) is not valid JSON: \(error.localizedDescription)")
        }
    }

    /// The ids the model sees for `text`: special tokens added, truncated (right) at max_seq_length, unpadded.
    /// An id the model has no embedding for (a tokenizer larger than the checkpoint) is an `EmbedderError`.
    public func inputIds(_ text: String) throws -> [Int] {
        let ids = try tokenizer.encode(lowercase ? text.lowercased() : text, addSpecialTokens: true,
                                       truncation: .maxLength(maxSeqLength, .right), padding: false).ids
        do { try TokenIdError.check(ids, vocabulary: model.config.vocabSize) } catch let e as TokenIdError {
            throw EmbedderError("\(e.named(tokenizer.idToToken(e.id)))")
        }
        return ids
    }

    public func tokenCount(_ text: String) throws -> Int {
        try tokenizer.encode(text, addSpecialTokens: false, truncation: .none, padding: false).ids.count
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        let inputs = try texts.map(inputIds)
        var result: [[Float]] = []
        result.reserveCapacity(texts.count)
        var start = 0
        while start < inputs.count {
            // a batch: consecutive inputs up to `batchTokens` tokens (at least one input)
            var end = start + 1, tokens = inputs[start].count
            while end < inputs.count && tokens + inputs[end].count <= batchTokens {
                tokens += inputs[end].count
                end += 1
            }
            result += model.sentenceEmbeddings(Array(inputs[start..<end]), pooling: pooling, normalize: normalize)
            start = end
        }
        return result
    }
}
