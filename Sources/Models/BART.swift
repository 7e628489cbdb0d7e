// BART and mBART (BartForConditionalGeneration / MBartForConditionalGeneration).
// Reference: transformers 5.24 src/transformers/models/bart/modeling_bart.py and models/mbart/modeling_mbart.py.
// BART: post-norm layers, exact-erf GELU, learned positions offset by 2, `layernorm_embedding`, tied
// `lm_head` plus `final_logits_bias`, query scaled by head_dim^-0.5, LayerNorm eps 1e-5.
// mBART: the same with pre-norm layers and a final `layer_norm` after each stack.

import Foundation
import NN
import Tensor

public struct BartConfig: Codable, Sendable {
    public var modelType: String
    public var vocabSize: Int
    public var dModel: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var encoderAttentionHeads: Int
    public var decoderAttentionHeads: Int
    public var encoderFfnDim: Int
    public var decoderFfnDim: Int
    public var maxPositionEmbeddings: Int
    public var activationFunction: String
    public var scaleEmbedding: Bool
    public var padTokenId: Int
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var decoderStartTokenId: Int?
    public var tieWordEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", dModel = "d_model"
        case encoderLayers = "encoder_layers", decoderLayers = "decoder_layers"
        case encoderAttentionHeads = "encoder_attention_heads", decoderAttentionHeads = "decoder_attention_heads"
        case encoderFfnDim = "encoder_ffn_dim", decoderFfnDim = "decoder_ffn_dim"
        case maxPositionEmbeddings = "max_position_embeddings", activationFunction = "activation_function"
        case scaleEmbedding = "scale_embedding", padTokenId = "pad_token_id", bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id", decoderStartTokenId = "decoder_start_token_id"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "bart"
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 50265
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? 1024
        encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? 12
        decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers) ?? 12
        encoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .encoderAttentionHeads) ?? 16
        decoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .decoderAttentionHeads) ?? 16
        encoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .encoderFfnDim) ?? 4096
        decoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .decoderFfnDim) ?? 4096
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 1024
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? "gelu"
        scaleEmbedding = try c.decodeIfPresent(Bool.self, forKey: .scaleEmbedding) ?? false
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 1
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
        eosTokenId = try? c.decodeIfPresent(Int.self, forKey: .eosTokenId)
        decoderStartTokenId = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        guard ["bart", "mbart"].contains(modelType) else {
            throw ModelError.invalidConfig("model_type '\(modelType)' is not bart or mbart")
        }
        guard Activation(huggingFace: activationFunction) != nil else {
            throw ModelError.invalidConfig("unsupported activation_function '\(activationFunction)'")
        }
        for (name, value) in [("vocab_size", vocabSize), ("d_model", dModel), ("encoder_layers", encoderLayers),
                              ("decoder_layers", decoderLayers), ("max_position_embeddings", maxPositionEmbeddings),
                              ("encoder_ffn_dim", encoderFfnDim), ("decoder_ffn_dim", decoderFfnDim)] where value <= 0 {
            throw ModelError.invalidConfig("\(name) must be positive, got \(value)")
        }
        for (name, heads) in [("encoder_attention_heads", encoderAttentionHeads),
                              ("decoder_attention_heads", decoderAttentionHeads)]
            where heads <= 0 || dModel % heads != 0 {
            throw ModelError.invalidConfig("\(name)=\(heads) does not divide d_model=\(dModel)")
        }
    }

    /// mBART normalizes before each block and after each stack.
    public var preNorm: Bool { modelType == "mbart" }
}

/// Multi-head attention with q/k/v/out projections (`self_attn`, `encoder_attn`).
struct BartAttention {
    let q, k, v, out: Linear
    let heads: Int
    let scale: Float

    init(_ vb: WeightScope, dim: Int, heads: Int) throws {
        q = try Linear(vb.scope("q_proj"), inputs: dim, outputs: dim)
        k = try Linear(vb.scope("k_proj"), inputs: dim, outputs: dim)
        v = try Linear(vb.scope("v_proj"), inputs: dim, outputs: dim)
        out = try Linear(vb.scope("out_proj"), inputs: dim, outputs: dim)
        self.heads = heads
        scale = 1 / Float(dim / heads).squareRoot()
    }

    // query: [Nq, C]; keys/values: [S_i, C] per span -> [Nq, C]
    func attend(_ query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan]) -> Tensor {
        let a = query.backend.attention(query: q(query), keys: keys, values: values, spans: spans, heads: heads, scale: scale)
        return out(a)
    }
}

struct BartFeedForward {
    let fc1, fc2: Linear
    let activation: Activation

    init(_ vb: WeightScope, dim: Int, hidden: Int, activation: Activation) throws {
        fc1 = try Linear(vb.scope("fc1"), inputs: dim, outputs: hidden)
        fc2 = try Linear(vb.scope("fc2"), inputs: hidden, outputs: dim)
        self.activation = activation
    }

    // x: [N, C] -> [N, C]
    func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).activation(activation)) }
}

struct BartEncoderLayer {
    let selfAttn: BartAttention
    let selfAttnNorm, finalNorm: LayerNorm
    let ffn: BartFeedForward
    let preNorm: Bool

    init(_ vb: WeightScope, config: BartConfig) throws {
        let d = config.dModel
        selfAttn = try BartAttention(vb.scope("self_attn"), dim: d, heads: config.encoderAttentionHeads)
        selfAttnNorm = try LayerNorm(vb.scope("self_attn_layer_norm"), dim: d)
        finalNorm = try LayerNorm(vb.scope("final_layer_norm"), dim: d)
        ffn = try BartFeedForward(vb, dim: d, hidden: config.encoderFfnDim,
                                  activation: Activation(huggingFace: config.activationFunction)!)
        preNorm = config.preNorm
    }

    // x: [ΣS, C] packed inputs; spans: one per input -> [ΣS, C]
    func callAsFunction(_ x: Tensor, spans: [AttentionSpan]) -> Tensor {
        var h = preNorm ? selfAttnNorm(x) : x
        let k = selfAttn.k(h), v = selfAttn.v(h)
        var x = x + selfAttn.attend(h, keys: [k], values: [v], spans: spans)
        if !preNorm { x = selfAttnNorm(x) }
        h = preNorm ? finalNorm(x) : x
        x = x + ffn(h)
        return preNorm ? x : finalNorm(x)
    }
}

struct BartDecoderLayer {
    let selfAttn, crossAttn: BartAttention
    let selfAttnNorm, crossAttnNorm, finalNorm: LayerNorm
    let ffn: BartFeedForward
    let preNorm: Bool

    init(_ vb: WeightScope, config: BartConfig) throws {
        let d = config.dModel
        selfAttn = try BartAttention(vb.scope("self_attn"), dim: d, heads: config.decoderAttentionHeads)
        crossAttn = try BartAttention(vb.scope("encoder_attn"), dim: d, heads: config.decoderAttentionHeads)
        selfAttnNorm = try LayerNorm(vb.scope("self_attn_layer_norm"), dim: d)
        crossAttnNorm = try LayerNorm(vb.scope("encoder_attn_layer_norm"), dim: d)
        finalNorm = try LayerNorm(vb.scope("final_layer_norm"), dim: d)
        ffn = try BartFeedForward(vb, dim: d, hidden: config.decoderFfnDim,
                                  activation: Activation(huggingFace: config.activationFunction)!)
        preNorm = config.preNorm
    }

    // x: [ΣT, C] new tokens of every row; rows[i] = (start, count) in x -> [ΣT, C]
    func callAsFunction(_ x: Tensor, layer: Int, rows: [(start: Int, count: Int)], caches: inout [DecoderCache],
                        encoded: [EncodedInput]) -> Tensor {
        // self-attention over each row's cache plus its new tokens (causal)
        var h = preNorm ? selfAttnNorm(x) : x
        let k = selfAttn.k(h), v = selfAttn.v(h)
        var spans: [AttentionSpan] = []
        for (i, row) in rows.enumerated() {
            caches[i].write(layer: layer, keys: k, values: v, sourceRow: row.start, count: row.count)
            spans.append(AttentionSpan(queryStart: row.start, queryCount: row.count, keyIndex: i,
                                       keyCount: caches[i].length + row.count, causal: true))
        }
        let layerCaches = caches.map { $0.layer(layer) }
        var x = x + selfAttn.attend(h, keys: layerCaches.map(\.keys), values: layerCaches.map(\.values), spans: spans)
        if !preNorm { x = selfAttnNorm(x) }

        // cross-attention over the row's encoder output (keys and values computed once per input)
        h = preNorm ? crossAttnNorm(x) : x
        spans = rows.enumerated().map { i, row in
            AttentionSpan(queryStart: row.start, queryCount: row.count, keyIndex: i, keyCount: encoded[i].length,
                          causal: false)
        }
        x = x + crossAttn.attend(h, keys: encoded.map { $0.crossKeys[layer] }, values: encoded.map { $0.crossValues[layer] },
                                 spans: spans)
        if !preNorm { x = crossAttnNorm(x) }

        h = preNorm ? finalNorm(x) : x
        x = x + ffn(h)
        return preNorm ? x : finalNorm(x)
    }
}

public final class BartForConditionalGeneration: Seq2SeqModel, @unchecked Sendable {
    public let config: BartConfig
    public let backend: any Backend
    let shared: Tensor                 // [V, C], also the tied lm_head
    let finalLogitsBias: Tensor        // [V]
    let lmHead: Tensor                 // [V, C]
    let encoderPositions, decoderPositions: Embedding   // [maxPos + 2, C]
    let encoderEmbeddingNorm, decoderEmbeddingNorm: LayerNorm
    let encoderFinalNorm, decoderFinalNorm: LayerNorm?  // mBART only
    let encoderLayers: [BartEncoderLayer]
    let decoderLayers: [BartDecoderLayer]
    let embedScale: Float

    public var modelType: String { config.modelType }
    public var vocabularySize: Int { config.vocabSize }
    public var maxPositions: Int { config.maxPositionEmbeddings }

    /// `weightType`: the type projections and embedding tables are held in (DTYPE).
    public convenience init(folder: URL, backend: any Backend = CPUBackend.shared, weightType: DType = .f32) throws {
        let config = try BartConfig.load(from: folder)
        try self.init(config: config, weights: WeightStore(folder: folder, backend: backend, weightType: weightType))
    }

    public init(config: BartConfig, weights: WeightStore) throws {
        self.config = config
        backend = weights.backend
        let (v, d, p) = (config.vocabSize, config.dModel, config.maxPositionEmbeddings + 2)
        // Checkpoints of BartForConditionalGeneration prefix keys with `model.`; a bare BartModel does not.
        let root = weights.contains("model.encoder.embed_positions.weight") ? weights.root.scope("model") : weights.root
        let m = root.prefix
        // Tied copies are often absent: the shared table may be stored under any of its names.
        shared = try root.matrix("shared.weight", shape: [v, d], aliases: [
            m + "encoder.embed_tokens.weight", m + "decoder.embed_tokens.weight", "lm_head.weight"])
        lmHead = config.tieWordEmbeddings || !weights.contains("lm_head.weight")
            ? shared : try weights.root.matrix("lm_head.weight", shape: [v, d])
        finalLogitsBias = weights.contains("final_logits_bias")
            ? try weights.tensor("final_logits_bias", shape: [1, v]).reshaped([v])
            : Tensor.zeros([v], on: backend)
        embedScale = config.scaleEmbedding ? Float(d).squareRoot() : 1
        let enc = root.scope("encoder"), dec = root.scope("decoder")
        encoderPositions = Embedding(table: try enc.tensor("embed_positions.weight", shape: [p, d]))
        decoderPositions = Embedding(table: try dec.tensor("embed_positions.weight", shape: [p, d]))
        encoderEmbeddingNorm = try LayerNorm(enc.scope("layernorm_embedding"), dim: d)
        decoderEmbeddingNorm = try LayerNorm(dec.scope("layernorm_embedding"), dim: d)
        encoderFinalNorm = config.preNorm ? try LayerNorm(enc.scope("layer_norm"), dim: d) : nil
        decoderFinalNorm = config.preNorm ? try LayerNorm(dec.scope("layer_norm"), dim: d) : nil
        encoderLayers = try (0..<config.encoderLayers).map {
            try BartEncoderLayer(enc.scope("layers").scope($0), config: config)
        }
        decoderLayers = try (0..<config.decoderLayers).map {
            try BartDecoderLayer(dec.scope("layers").scope($0), config: config)
        }
    }

    // MARK: encoder

    public func encode(_ inputs: [[Int]]) -> [EncodedInput] {
        let ids = inputs.flatMap { $0 }
        guard !ids.isEmpty else { return [] }
        // positions restart at 0 for every input (+2: BART's learned-position offset)
        let positions = inputs.flatMap { input in input.indices.map { $0 + 2 } }
        var spans: [AttentionSpan] = []
        var start = 0
        for input in inputs {
            require(!input.isEmpty && input.count <= maxPositions,
                         "input of \(input.count) tokens (1...\(maxPositions) allowed)")
            spans.append(AttentionSpan(queryStart: start, queryCount: input.count, keyIndex: 0, keyStart: start,
                                       keyCount: input.count, causal: false))
            start += input.count
        }
        // x: [ΣS, C]
        var x = shared.embedding(ids, scale: embedScale) + encoderPositions(positions)
        x = encoderEmbeddingNorm(x)
        for layer in encoderLayers { x = layer(x, spans: spans) }
        if let norm = encoderFinalNorm { x = norm(x) }
        // cross-attention keys and values of every decoder layer, once per input
        let crossK = decoderLayers.map { $0.crossAttn.k(x) }, crossV = decoderLayers.map { $0.crossAttn.v(x) }
        return spans.map { s in
            EncodedInput(length: s.queryCount, hidden: x.rowSlice(s.queryStart, s.queryCount),
                         crossKeys: crossK.map { $0.rowSlice(s.queryStart, s.queryCount) },
                         crossValues: crossV.map { $0.rowSlice(s.queryStart, s.queryCount) })
        }
    }

    // MARK: decoder

    public func makeCache(capacity: Int) -> DecoderCache {
        DecoderCache(layers: decoderLayers.count, width: config.dModel, capacity: capacity, backend: backend)
    }

    public func decode(_ tokens: [[Int]], caches: inout [DecoderCache], encoded: [EncodedInput],
                       allPositions: Bool) -> Tensor {
        require(tokens.count == caches.count && tokens.count == encoded.count, "decode: rows, caches and encoded inputs differ in number")
        var rows: [(start: Int, count: Int)] = []
        var positions: [Int] = []
        var start = 0
        for (i, t) in tokens.enumerated() {
            require(!t.isEmpty && caches[i].length + t.count <= maxPositions,
                         "decoder sequence longer than max_position_embeddings (\(maxPositions))")
            rows.append((start, t.count))
            positions += (0..<t.count).map { caches[i].length + $0 + 2 }
            start += t.count
        }
        // x: [ΣT, C]
        var x = shared.embedding(tokens.flatMap { $0 }, scale: embedScale) + decoderPositions(positions)
        x = decoderEmbeddingNorm(x)
        for (l, layer) in decoderLayers.enumerated() {
            x = layer(x, layer: l, rows: rows, caches: &caches, encoded: encoded)
        }
        for i in caches.indices { caches[i].commit(rows[i].count) }
        if let norm = decoderFinalNorm { x = norm(x) }
        if !allPositions { x = x.gatherRows(rows.map { $0.start + $0.count - 1 }) }
        // logits: [rows or ΣT, V]
        return x.linear(lmHead, bias: finalLogitsBias)
    }
}
