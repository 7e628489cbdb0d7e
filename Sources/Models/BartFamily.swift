// The BART family's layers and model: BART, mBART and Pegasus share attention, feed-forward blocks and
// the encoder-decoder wiring; they differ in positions, the embedding LayerNorm and where they normalize
// (`BartFamilyLayout`, from each architecture's config: BART.swift, Pegasus.swift).
// Reference: transformers 5.24 models/bart/modeling_bart.py (BartEncoderLayer, BartDecoderLayer).

import Foundation
import NN
import Tensor

/// Where the BART family's members differ.
struct BartFamilyLayout: Sendable {
    enum Positions: Sendable {
        case learned(offset: Int)   // embed_positions.weight [max_position_embeddings + offset, C]
        case sinusoidal             // fixed table from position 0 (Pegasus)
    }
    var positions: Positions
    var embeddingNorm: Bool         // layernorm_embedding after the embeddings
    var preNorm: Bool               // normalize before each block, and a final layer_norm after each stack
}

/// One stack's layer dimensions.
struct BartLayerShape {
    var dim: Int
    var heads: Int
    var ffn: Int
    var activation: Activation
    var preNorm: Bool
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

    init(_ vb: WeightScope, shape: BartLayerShape) throws {
        let d = shape.dim
        selfAttn = try BartAttention(vb.scope("self_attn"), dim: d, heads: shape.heads)
        selfAttnNorm = try LayerNorm(vb.scope("self_attn_layer_norm"), dim: d)
        finalNorm = try LayerNorm(vb.scope("final_layer_norm"), dim: d)
        ffn = try BartFeedForward(vb, dim: d, hidden: shape.ffn, activation: shape.activation)
        preNorm = shape.preNorm
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

    init(_ vb: WeightScope, shape: BartLayerShape) throws {
        let d = shape.dim
        selfAttn = try BartAttention(vb.scope("self_attn"), dim: d, heads: shape.heads)
        crossAttn = try BartAttention(vb.scope("encoder_attn"), dim: d, heads: shape.heads)
        selfAttnNorm = try LayerNorm(vb.scope("self_attn_layer_norm"), dim: d)
        crossAttnNorm = try LayerNorm(vb.scope("encoder_attn_layer_norm"), dim: d)
        finalNorm = try LayerNorm(vb.scope("final_layer_norm"), dim: d)
        ffn = try BartFeedForward(vb, dim: d, hidden: shape.ffn, activation: shape.activation)
        preNorm = shape.preNorm
    }

    // x: [ΣT, C] new tokens of every row; rows[i] = (start, count) in x -> [ΣT, C]
    func callAsFunction(_ x: Tensor, layer: Int, rows: [(start: Int, count: Int)], caches: inout [DecoderCache],
                        encoded: [EncodedInput]) -> Tensor {
        // self-attention over each row's cache plus its new tokens (causal)
        var h = preNorm ? selfAttnNorm(x) : x
        let own = Packing.selfAttention(layer: layer, keys: selfAttn.k(h), values: selfAttn.v(h), rows: rows, caches: &caches)
        var x = x + selfAttn.attend(h, keys: own.keys, values: own.values, spans: own.spans)
        if !preNorm { x = selfAttnNorm(x) }

        // cross-attention over the row's encoder output (keys and values computed once per input)
        h = preNorm ? crossAttnNorm(x) : x
        let cross = Packing.crossAttention(layer: layer, rows: rows, encoded: encoded)
        x = x + crossAttn.attend(h, keys: cross.keys, values: cross.values, spans: cross.spans)
        if !preNorm { x = crossAttnNorm(x) }

        h = preNorm ? finalNorm(x) : x
        x = x + ffn(h)
        return preNorm ? x : finalNorm(x)
    }
}

/// BART, mBART and Pegasus for conditional generation (`BartForConditionalGeneration` is this type).
public final class BartFamilyModel: Seq2SeqModel, @unchecked Sendable {
    public let config: BartConfig
    public let backend: any Backend
    let layout: BartFamilyLayout
    let shared: Tensor                 // [V, C], also the tied lm_head
    let finalLogitsBias: Tensor        // [V]
    let lmHead: Tensor                 // [V, C]
    let encoderPositions, decoderPositions: Embedding   // [maxPos + offset, C]
    let positionOffset: Int
    let encoderEmbeddingNorm, decoderEmbeddingNorm: LayerNorm?  // BART, mBART
    let encoderFinalNorm, decoderFinalNorm: LayerNorm?          // mBART, Pegasus
    let encoderLayers: [BartEncoderLayer]
    let decoderLayers: [BartDecoderLayer]
    let embedScale: Float

    public var modelType: String { config.modelType }
    public var vocabularySize: Int { config.vocabSize }
    public var maxPositions: Int { config.maxPositionEmbeddings }

    /// `weightType`: the type projections and embedding tables are held in (DTYPE).
    public convenience init(folder: URL, backend: any Backend, weightType: DType = .f32) throws {
        let config = try ModelRegistry.decodeConfig(BartConfig.self, folder: folder)
        try self.init(config: config, weights: WeightStore(folder: folder, backend: backend, weightType: weightType))
    }

    public init(config: BartConfig, weights: WeightStore) throws {
        self.config = config
        layout = config.layout
        backend = weights.backend
        let (v, d) = (config.vocabSize, config.dModel)
        // Checkpoints of *ForConditionalGeneration prefix keys with `model.`; a bare BartModel does not.
        let root = weights.contains("model.encoder.layers.0.fc1.weight") || weights.contains("model.shared.weight")
            ? weights.root.scope("model") : weights.root
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
        switch layout.positions {
        case .learned(let offset):
            let p = config.maxPositionEmbeddings + offset
            encoderPositions = Embedding(table: try enc.tensor("embed_positions.weight", shape: [p, d]))
            decoderPositions = Embedding(table: try dec.tensor("embed_positions.weight", shape: [p, d]))
            positionOffset = offset
        case .sinusoidal:
            // transformers 5.24 uses a table stored in the checkpoint and computes it when absent (hub files
            // have none)
            let p = config.maxPositionEmbeddings
            let computed = Tensor(PegasusPositions.table(positions: p, dim: d), shape: [p, d], on: backend)
            func table(_ scope: WeightScope) throws -> Tensor {
                scope.contains("embed_positions.weight") ? try scope.tensor("embed_positions.weight", shape: [p, d]) : computed
            }
            encoderPositions = Embedding(table: try table(enc))
            decoderPositions = Embedding(table: try table(dec))
            positionOffset = 0
        }
        encoderEmbeddingNorm = layout.embeddingNorm ? try LayerNorm(enc.scope("layernorm_embedding"), dim: d) : nil
        decoderEmbeddingNorm = layout.embeddingNorm ? try LayerNorm(dec.scope("layernorm_embedding"), dim: d) : nil
        encoderFinalNorm = layout.preNorm ? try LayerNorm(enc.scope("layer_norm"), dim: d) : nil
        decoderFinalNorm = layout.preNorm ? try LayerNorm(dec.scope("layer_norm"), dim: d) : nil
        let activation = Activation(huggingFace: config.activationFunction)!
        let encoderShape = BartLayerShape(dim: d, heads: config.encoderAttentionHeads, ffn: config.encoderFfnDim,
                                          activation: activation, preNorm: layout.preNorm)
        let decoderShape = BartLayerShape(dim: d, heads: config.decoderAttentionHeads, ffn: config.decoderFfnDim,
                                          activation: activation, preNorm: layout.preNorm)
        encoderLayers = try (0..<config.encoderLayers).map {
            try BartEncoderLayer(enc.scope("layers").scope($0), shape: encoderShape)
        }
        decoderLayers = try (0..<config.decoderLayers).map {
            try BartDecoderLayer(dec.scope("layers").scope($0), shape: decoderShape)
        }
    }

    // MARK: encoder

    public func encode(_ inputs: [[Int]]) -> [EncodedInput] {
        let ids = inputs.flatMap { $0 }
        guard !ids.isEmpty else { return [] }
        // positions restart at 0 for every input (+ BART's learned-position offset)
        let positions = inputs.flatMap { input in input.indices.map { $0 + positionOffset } }
        let spans = Packing.encoderSpans(inputs, limit: maxPositions)
        // x: [ΣS, C]
        var x = shared.embedding(ids, scale: embedScale) + encoderPositions(positions)
        if let norm = encoderEmbeddingNorm { x = norm(x) }
        for layer in encoderLayers { x = layer(x, spans: spans) }
        if let norm = encoderFinalNorm { x = norm(x) }
        // cross-attention keys and values of every decoder layer, once per input
        return Packing.split(x, layers: decoderLayers.count, keys: { decoderLayers[$0].crossAttn.k(x) },
                             values: { decoderLayers[$0].crossAttn.v(x) }, spans: spans)
    }

    // MARK: decoder

    public func makeCache(capacity: Int) -> DecoderCache {
        DecoderCache(layers: decoderLayers.count, width: config.dModel, capacity: capacity, backend: backend)
    }

    public func decode(_ tokens: [[Int]], caches: inout [DecoderCache], encoded: [EncodedInput],
                       allPositions: Bool) -> Tensor {
        let rows = Packing.decoderRows(tokens, caches: caches, encoded: encoded.count, limit: maxPositions)
        // positions continue each sequence's cache (+ BART's learned-position offset)
        let positions = rows.indices.flatMap { i in (0..<rows[i].count).map { caches[i].length + $0 + positionOffset } }
        // x: [ΣT, C]
        var x = shared.embedding(tokens.flatMap { $0 }, scale: embedScale) + decoderPositions(positions)
        if let norm = decoderEmbeddingNorm { x = norm(x) }
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
