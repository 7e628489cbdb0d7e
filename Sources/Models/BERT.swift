// BERT encoders (BertModel) and sentence embeddings as sentence-transformers computes them.
// Reference: transformers 5.24 src/transformers/models/bert/modeling_bert.py (BertEmbeddings, BertLayer);
// sentence-transformers models/Pooling.py (mean pooling under the attention mask) and Normalize.py.
// BERT: word + absolute position + token-type embeddings, embedding LayerNorm, post-norm layers,
// exact-erf GELU, query scaled by head_dim^-0.5, LayerNorm eps from the config (1e-12).
// Inputs are packed without padding ([ΣT, C] with one attention span per input), which is what
// the attention mask of a padded batch computes: each input's result is the input's alone.

import Foundation
import NN
import Tensor

public struct BertConfig: Codable, Sendable {
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: String
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var padTokenId: Int
    public var positionEmbeddingType: String

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", padTokenId = "pad_token_id"
        case positionEmbeddingType = "position_embedding_type"
    }

    /// Defaults are transformers' `BertConfig` defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "bert"
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 30522
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 768
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? 12
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? 12
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 3072
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? 1e-12
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 0
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
        guard modelType == "bert" else {
            throw ModelError.invalidConfig("model_type '\(modelType)' is not bert")
        }
        guard Activation(huggingFace: hiddenAct) != nil else {
            throw ModelError.invalidConfig("unsupported hidden_act '\(hiddenAct)'")
        }
        guard positionEmbeddingType == "absolute" else {
            throw ModelError.invalidConfig("position_embedding_type '\(positionEmbeddingType)' is not supported (only absolute)")
        }
        for (name, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
                              ("intermediate_size", intermediateSize), ("max_position_embeddings", maxPositionEmbeddings),
                              ("type_vocab_size", typeVocabSize)] where value <= 0 {
            throw ModelError.invalidConfig("\(name) must be positive, got \(value)")
        }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw ModelError.invalidConfig("num_attention_heads=\(numAttentionHeads) does not divide hidden_size=\(hiddenSize)")
        }
        guard layerNormEps > 0 else { throw ModelError.invalidConfig("layer_norm_eps must be positive") }
    }
}

/// `embeddings.{word,position,token_type}_embeddings` and `embeddings.LayerNorm`.
struct BertEmbeddings {
    let word, position, tokenType: Embedding   // [V, C], [P, C], [types, C]
    let norm: LayerNorm

    init(_ vb: WeightScope, config: BertConfig) throws {
        let d = config.hiddenSize
        word = Embedding(table: try vb.matrix("word_embeddings.weight", shape: [config.vocabSize, d]))
        position = Embedding(table: try vb.tensor("position_embeddings.weight", shape: [config.maxPositionEmbeddings, d]))
        tokenType = Embedding(table: try vb.tensor("token_type_embeddings.weight", shape: [config.typeVocabSize, d]))
        norm = try LayerNorm(vb.scope("LayerNorm"), dim: d, eps: Float(config.layerNormEps))
    }

    // ids, positions, types: [ΣT] -> [ΣT, C]
    func callAsFunction(ids: [Int], positions: [Int], types: [Int]) -> Tensor {
        norm(word(ids) + position(positions) + tokenType(types))
    }
}

/// `encoder.layer.N`: self-attention (`attention.self.{query,key,value}`, `attention.output.dense`,
/// `attention.output.LayerNorm`) then the feed-forward (`intermediate.dense`, `output.dense`,
/// `output.LayerNorm`), each followed by its residual LayerNorm (post-norm).
struct BertLayer {
    let query, key, value, attentionOutput: Linear
    let attentionNorm: LayerNorm
    let intermediate, output: Linear
    let outputNorm: LayerNorm
    let activation: Activation
    let heads: Int
    let scale: Float

    init(_ vb: WeightScope, config: BertConfig) throws {
        let d = config.hiddenSize, eps = Float(config.layerNormEps)
        let attn = vb.scope("attention")
        query = try Linear(attn.scope("self").scope("query"), inputs: d, outputs: d)
        key = try Linear(attn.scope("self").scope("key"), inputs: d, outputs: d)
        value = try Linear(attn.scope("self").scope("value"), inputs: d, outputs: d)
        attentionOutput = try Linear(attn.scope("output").scope("dense"), inputs: d, outputs: d)
        attentionNorm = try LayerNorm(attn.scope("output").scope("LayerNorm"), dim: d, eps: eps)
        intermediate = try Linear(vb.scope("intermediate").scope("dense"), inputs: d, outputs: config.intermediateSize)
        output = try Linear(vb.scope("output").scope("dense"), inputs: config.intermediateSize, outputs: d)
        outputNorm = try LayerNorm(vb.scope("output").scope("LayerNorm"), dim: d, eps: eps)
        activation = Activation(huggingFace: config.hiddenAct)!
        heads = config.numAttentionHeads
        scale = 1 / Float(d / heads).squareRoot()
    }

    // x: [ΣT, C] packed inputs; spans: one per input (bidirectional) -> [ΣT, C]
    func callAsFunction(_ x: Tensor, spans: [AttentionSpan]) -> Tensor {
        let q = query(x), k = key(x), v = value(x)
        let a = x.backend.attention(query: q, keys: [k], values: [v], spans: spans, heads: heads, scale: scale)
        let h = attentionNorm(x + attentionOutput(a))
        return outputNorm(h + output(intermediate(h).activation(activation)))   // ffn: [ΣT, I] -> [ΣT, C]
    }
}

/// How token states become one sentence vector (sentence-transformers' `Pooling`).
public enum BertPooling: String, Sendable {
    case mean   // pooling_mode_mean_tokens: mean of the token states under the attention mask
    case cls    // pooling_mode_cls_token: the first token's state
    case max    // pooling_mode_max_tokens: element-wise maximum over the tokens
}

public final class BertModel: @unchecked Sendable {
    public let config: BertConfig
    public let backend: any Backend
    let embeddings: BertEmbeddings
    let layers: [BertLayer]

    /// `weightType`: the type projections and embedding tables are held in (DTYPE).
    public convenience init(folder: URL, backend: any Backend, weightType: DType = .f32) throws {
        let config = try ModelRegistry.decodeConfig(BertConfig.self, folder: folder)
        try self.init(config: config, weights: WeightStore(folder: folder, backend: backend, weightType: weightType))
    }

    public init(config: BertConfig, weights: WeightStore) throws {
        self.config = config
        backend = weights.backend
        // Checkpoints of BertFor* heads prefix the encoder's keys with `bert.`; a bare BertModel does not.
        let root = weights.contains("bert.embeddings.word_embeddings.weight") ? weights.root.scope("bert") : weights.root
        embeddings = try BertEmbeddings(root.scope("embeddings"), config: config)
        layers = try (0..<config.numHiddenLayers).map {
            try BertLayer(root.scope("encoder").scope("layer").scope($0), config: config)
        }
    }

    public var hiddenSize: Int { config.hiddenSize }
    public var maxPositions: Int { config.maxPositionEmbeddings }

    /// The last hidden state of every input, packed: inputs[i] occupies rows
    /// `offsets[i]..<offsets[i] + inputs[i].count`. `tokenTypes` default to 0.
    // inputs: B lists of T_i ids -> [ΣT, C]
    public func callAsFunction(_ inputs: [[Int]], tokenTypes: [[Int]]? = nil) -> Tensor {
        var spans: [AttentionSpan] = []
        var positions: [Int] = [], types: [Int] = []
        var start = 0
        for (i, input) in inputs.enumerated() {
            require(!input.isEmpty && input.count <= maxPositions,
                         "input of \(input.count) tokens (1...\(maxPositions) allowed)")
            spans.append(AttentionSpan(queryStart: start, queryCount: input.count, keyIndex: 0, keyStart: start,
                                       keyCount: input.count, causal: false))
            positions += 0..<input.count
            if let tt = tokenTypes?[i] {
                require(tt.count == input.count && tt.allSatisfy { $0 >= 0 && $0 < config.typeVocabSize }, "token types do not match the input or the type vocabulary")
                types += tt
            } else {
                types += repeatElement(0, count: input.count)
            }
            start += input.count
        }
        guard start > 0 else { return Tensor.zeros([0, config.hiddenSize], on: backend) }
        // x: [ΣT, C]
        var x = embeddings(ids: inputs.flatMap { $0 }, positions: positions, types: types)
        for layer in layers { x = layer(x, spans: spans) }
        return x
    }

    /// The last hidden state of each input alone: [T_i, C] per input.
    public func hiddenStates(_ inputs: [[Int]], tokenTypes: [[Int]]? = nil) -> [Tensor] {
        let x = self(inputs, tokenTypes: tokenTypes)
        var start = 0
        return inputs.map { input in
            defer { start += input.count }
            return x.rowSlice(start, input.count)
        }
    }

    /// Sentence vectors: the token states of each input pooled (under its mask: all its tokens, as
    /// inputs are not padded), then L2-normalized when `normalize` (sentence-transformers' Normalize,
    /// which divides by max(‖v‖, 1e-12)).
    // inputs: B lists of T_i ids -> B vectors of C floats
    public func sentenceEmbeddings(_ inputs: [[Int]], pooling: BertPooling = .mean, normalize: Bool = true) -> [[Float]] {
        guard !inputs.isEmpty else { return [] }
        let states = self(inputs).toArray()   // [ΣT, C]
        let c = config.hiddenSize
        var start = 0
        return inputs.map { input in
            defer { start += input.count }
            var v = [Float](repeating: 0, count: c)
            states.withUnsafeBufferPointer { s in
                switch pooling {
                case .cls:
                    for j in 0..<c { v[j] = s[start * c + j] }
                case .max:
                    for j in 0..<c { v[j] = s[start * c + j] }
                    for t in 1..<input.count { for j in 0..<c { v[j] = Swift.max(v[j], s[(start + t) * c + j]) } }
                case .mean:
                    // sum over tokens, then divide by the token count (clamped at 1e-9 as in Pooling.py)
                    for t in 0..<input.count { for j in 0..<c { v[j] += s[(start + t) * c + j] } }
                    let n = Float(Swift.max(input.count, 1))
                    for j in 0..<c { v[j] /= n }
                }
            }
            if normalize {
                var sq: Float = 0
                for x in v { sq += x * x }
                let inv = 1 / Swift.max(sq.squareRoot(), 1e-12)
                for j in 0..<c { v[j] *= inv }
            }
            return v
        }
    }
}
