// T5 v1.0, T5 v1.1 and FLAN-T5 (T5ForConditionalGeneration).
// Reference: transformers 5.24 src/transformers/models/t5/modeling_t5.py and configuration_t5.py.
// Pre-norm blocks with RMS norm (no bias, eps 1e-6), linears without biases, no position embeddings: a
// relative position bias over log-spaced buckets (bidirectional in the encoder, causal in the decoder),
// owned by each stack's first layer and added in every layer's self-attention; cross-attention has none.
// No query scaling. Feed-forward relu (v1.0) or gated ("gated-gelu": gelu_new(wi_0 x) · wi_1 x). The
// decoder output is scaled by d_model^-0.5 before the head unless config.json says
// tie_word_embeddings false (v1.1 / FLAN-T5, which also ship their own lm_head).

import Foundation
import NN
import Tensor

public struct T5Config: Decodable, Sendable {
    public var vocabSize: Int
    public var dModel: Int
    public var dKV: Int
    public var dFF: Int
    public var numLayers: Int
    public var numDecoderLayers: Int
    public var numHeads: Int
    public var relativeAttentionNumBuckets: Int
    public var relativeAttentionMaxDistance: Int
    public var layerNormEpsilon: Double
    public var feedForwardProj: String
    /// transformers 5.x derives this from tie_word_embeddings (absent counts as true).
    public var scaleDecoderOutputs: Bool
    public var padTokenId: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", dKV = "d_kv", dFF = "d_ff", numLayers = "num_layers"
        case numDecoderLayers = "num_decoder_layers", numHeads = "num_heads"
        case relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance"
        case layerNormEpsilon = "layer_norm_epsilon", feedForwardProj = "feed_forward_proj"
        case tieWordEmbeddings = "tie_word_embeddings", scaleDecoderOutputs = "scale_decoder_outputs"
        case padTokenId = "pad_token_id", modelType = "model_type"
    }

    /// Defaults are transformers' T5Config defaults (t5-small's shape).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "t5"
        guard type == "t5" else { throw ModelError.invalidConfig("model_type '\(type)' is not t5") }
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 32128
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? 512
        dKV = try c.decodeIfPresent(Int.self, forKey: .dKV) ?? 64
        dFF = try c.decodeIfPresent(Int.self, forKey: .dFF) ?? 2048
        numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 6
        numDecoderLayers = try c.decodeIfPresent(Int.self, forKey: .numDecoderLayers) ?? numLayers
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 8
        relativeAttentionNumBuckets = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionNumBuckets) ?? 32
        relativeAttentionMaxDistance = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionMaxDistance) ?? 128
        layerNormEpsilon = try c.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? 1e-6
        feedForwardProj = try c.decodeIfPresent(String.self, forKey: .feedForwardProj) ?? "relu"
        let tied = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
        scaleDecoderOutputs = try c.decodeIfPresent(Bool.self, forKey: .scaleDecoderOutputs) ?? (tied != false)
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 0
        guard activation != nil else {
            throw ModelError.invalidConfig("feed_forward_proj '\(feedForwardProj)' is not '<act>' or 'gated-<act>' with a supported activation")
        }
        for (name, value) in [("vocab_size", vocabSize), ("d_model", dModel), ("d_kv", dKV), ("d_ff", dFF),
                              ("num_layers", numLayers), ("num_decoder_layers", numDecoderLayers), ("num_heads", numHeads),
                              ("relative_attention_num_buckets", relativeAttentionNumBuckets),
                              ("relative_attention_max_distance", relativeAttentionMaxDistance)] where value <= 0 {
            throw ModelError.invalidConfig("\(name) must be positive, got \(value)")
        }
        guard relativeAttentionNumBuckets >= 4, relativeAttentionMaxDistance <= 1 << 16 else {
            throw ModelError.invalidConfig("relative_attention_num_buckets must be at least 4 and relative_attention_max_distance at most 65536")
        }
        guard layerNormEpsilon > 0 else { throw ModelError.invalidConfig("layer_norm_epsilon must be positive") }
    }

    /// "gated-gelu" and friends multiply the activated wi_0 by wi_1.
    public var isGated: Bool { feedForwardProj.split(separator: "-").first == "gated" }

    /// The feed-forward activation ("gated-gelu" is gelu_new, the tanh form, for backwards compatibility).
    public var activation: Activation? {
        let parts = feedForwardProj.split(separator: "-")
        guard parts.count == 1 || (parts.count == 2 && parts[0] == "gated") else { return nil }
        return feedForwardProj == "gated-gelu" ? .geluTanh : Activation(huggingFace: String(parts.last!))
    }

    var innerDim: Int { numHeads * dKV }
}

/// T5's bucket of a relative position (key - query), computed in float32 as transformers does
/// (T5Attention._relative_position_bucket).
enum T5Buckets {
    static func bucket(_ relative: Int, bidirectional: Bool, buckets: Int, maxDistance: Int) -> Int {
        var n = buckets, result = 0, r = relative
        if bidirectional {
            n /= 2
            if r > 0 { result += n }
            r = abs(r)
        } else {
            r = -min(r, 0)
        }
        let maxExact = n / 2
        if r < maxExact { return result + r }
        let scaled = logf(Float(r) / Float(maxExact)) / Float(log(Double(maxDistance) / Double(maxExact)))
            * Float(n - maxExact)
        return result + min(maxExact + Int(scaled), n - 1)
    }

    /// The bias per head and clamped distance: relative_attention_bias [buckets, heads] ->
    /// [heads, 2·maxDistance + 1] (from maxDistance on, every distance shares the last bucket of its side).
    static func table(_ weight: Tensor, heads: Int, bidirectional: Bool, buckets: Int, maxDistance: Int,
                      on backend: any Backend) -> RelativePositionBias {
        let w = weight.toArray(), width = 2 * maxDistance + 1
        var out = [Float](repeating: 0, count: heads * width)
        for d in -maxDistance...maxDistance {
            let b = bucket(d, bidirectional: bidirectional, buckets: buckets, maxDistance: maxDistance)
            for h in 0..<heads { out[h * width + d + maxDistance] = w[b * heads + h] }
        }
        return RelativePositionBias(table: Tensor(out, shape: [heads, width], on: backend), radius: maxDistance)
    }
}

/// q/k/v/o projections without biases, no query scaling.
struct T5Attention {
    let q, k, v, o: Linear
    let heads: Int

    init(_ vb: WeightScope, dim: Int, inner: Int, heads: Int) throws {
        q = try Linear(vb.scope("q"), inputs: dim, outputs: inner, bias: false)
        k = try Linear(vb.scope("k"), inputs: dim, outputs: inner, bias: false)
        v = try Linear(vb.scope("v"), inputs: dim, outputs: inner, bias: false)
        o = try Linear(vb.scope("o"), inputs: inner, outputs: dim, bias: false)
        self.heads = heads
    }

    // query: [Nq, C]; keys/values: [S_i, inner] per span -> [Nq, C]
    func attend(_ query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan], bias: RelativePositionBias?) -> Tensor {
        o(query.backend.attention(query: q(query), keys: keys, values: values, spans: spans, heads: heads, scale: 1, bias: bias))
    }
}

/// `DenseReluDense`: wo(act(wi x)), or wo(act(wi_0 x) · wi_1 x) when gated.
struct T5FeedForward {
    let wi: Linear
    let wiLinear: Linear?
    let wo: Linear
    let activation: Activation

    init(_ vb: WeightScope, config: T5Config) throws {
        let (d, f) = (config.dModel, config.dFF)
        if config.isGated {
            wi = try Linear(vb.scope("wi_0"), inputs: d, outputs: f, bias: false)
            wiLinear = try Linear(vb.scope("wi_1"), inputs: d, outputs: f, bias: false)
        } else {
            wi = try Linear(vb.scope("wi"), inputs: d, outputs: f, bias: false)
            wiLinear = nil
        }
        wo = try Linear(vb.scope("wo"), inputs: f, outputs: d, bias: false)
        activation = config.activation!
    }

    // x: [N, C] -> [N, C]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let a = wi(x).activation(activation)
        return wo(wiLinear.map { a * $0(x) } ?? a)
    }
}

struct T5EncoderBlock {
    let attention: T5Attention
    let attentionNorm, ffnNorm: RMSNorm
    let ffn: T5FeedForward

    init(_ vb: WeightScope, config: T5Config) throws {
        let eps = Float(config.layerNormEpsilon)
        attention = try T5Attention(vb.scope("layer.0.SelfAttention"), dim: config.dModel, inner: config.innerDim, heads: config.numHeads)
        attentionNorm = try RMSNorm(vb.scope("layer.0.layer_norm"), dim: config.dModel, eps: eps)
        ffn = try T5FeedForward(vb.scope("layer.1.DenseReluDense"), config: config)
        ffnNorm = try RMSNorm(vb.scope("layer.1.layer_norm"), dim: config.dModel, eps: eps)
    }

    // x: [ΣS, C] packed inputs -> [ΣS, C]
    func callAsFunction(_ x: Tensor, spans: [AttentionSpan], bias: RelativePositionBias) -> Tensor {
        let h = attentionNorm(x)
        let x = x + attention.attend(h, keys: [attention.k(h)], values: [attention.v(h)], spans: spans, bias: bias)
        return x + ffn(ffnNorm(x))
    }
}

struct T5DecoderBlock {
    let selfAttention, crossAttention: T5Attention
    let selfNorm, crossNorm, ffnNorm: RMSNorm
    let ffn: T5FeedForward

    init(_ vb: WeightScope, config: T5Config) throws {
        let (d, eps) = (config.dModel, Float(config.layerNormEpsilon))
        selfAttention = try T5Attention(vb.scope("layer.0.SelfAttention"), dim: d, inner: config.innerDim, heads: config.numHeads)
        selfNorm = try RMSNorm(vb.scope("layer.0.layer_norm"), dim: d, eps: eps)
        crossAttention = try T5Attention(vb.scope("layer.1.EncDecAttention"), dim: d, inner: config.innerDim, heads: config.numHeads)
        crossNorm = try RMSNorm(vb.scope("layer.1.layer_norm"), dim: d, eps: eps)
        ffn = try T5FeedForward(vb.scope("layer.2.DenseReluDense"), config: config)
        ffnNorm = try RMSNorm(vb.scope("layer.2.layer_norm"), dim: d, eps: eps)
    }

    // x: [ΣT, C] new tokens of every row; rows[i] = (start, count) in x -> [ΣT, C]
    func callAsFunction(_ x: Tensor, layer: Int, rows: [(start: Int, count: Int)], caches: inout [DecoderCache],
                        encoded: [EncodedInput], bias: RelativePositionBias) -> Tensor {
        var h = selfNorm(x)
        let own = Packing.selfAttention(layer: layer, keys: selfAttention.k(h), values: selfAttention.v(h), rows: rows, caches: &caches)
        var x = x + selfAttention.attend(h, keys: own.keys, values: own.values, spans: own.spans, bias: bias)

        h = crossNorm(x)
        let cross = Packing.crossAttention(layer: layer, rows: rows, encoded: encoded)
        x = x + crossAttention.attend(h, keys: cross.keys, values: cross.values, spans: cross.spans, bias: nil)
        return x + ffn(ffnNorm(x))
    }
}

public final class T5ForConditionalGeneration: Seq2SeqModel, @unchecked Sendable {
    public let config: T5Config
    public let backend: any Backend
    let shared: Tensor                  // [V, C]
    let lmHead: Tensor                  // [V, C]: lm_head.weight when the checkpoint has it, else shared
    let encoderBias, decoderBias: RelativePositionBias
    let encoderBlocks: [T5EncoderBlock]
    let decoderBlocks: [T5DecoderBlock]
    let encoderFinalNorm, decoderFinalNorm: RMSNorm

    public var modelType: String { "t5" }
    public var vocabularySize: Int { config.vocabSize }
    /// T5 has no position table: this is Brevity's bound on one sequence (inputs are cut earlier, at the
    /// tokenizer's model_max_length; see `positionsAreRelative`).
    public var maxPositions: Int { Self.sequenceBound }
    public var positionsAreRelative: Bool { true }
    public static let sequenceBound = 16_384

    public convenience init(folder: URL, backend: any Backend, weightType: DType = .f32) throws {
        let config = try ModelRegistry.decodeConfig(T5Config.self, folder: folder)
        try self.init(config: config, weights: WeightStore(folder: folder, backend: backend, weightType: weightType))
    }

    public init(config: T5Config, weights: WeightStore) throws {
        self.config = config
        backend = weights.backend
        let (v, d) = (config.vocabSize, config.dModel)
        let root = weights.root
        shared = try root.matrix("shared.weight", shape: [v, d], aliases: ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"])
        // transformers ties lm_head to shared only when the checkpoint lacks it (or holds the same values).
        lmHead = weights.contains("lm_head.weight") ? try root.matrix("lm_head.weight", shape: [v, d]) : shared
        let enc = root.scope("encoder"), dec = root.scope("decoder")
        let bucketsShape = [config.relativeAttentionNumBuckets, config.numHeads]
        encoderBias = T5Buckets.table(
            try enc.tensor("block.0.layer.0.SelfAttention.relative_attention_bias.weight", shape: bucketsShape),
            heads: config.numHeads, bidirectional: true, buckets: config.relativeAttentionNumBuckets,
            maxDistance: config.relativeAttentionMaxDistance, on: backend)
        decoderBias = T5Buckets.table(
            try dec.tensor("block.0.layer.0.SelfAttention.relative_attention_bias.weight", shape: bucketsShape),
            heads: config.numHeads, bidirectional: false, buckets: config.relativeAttentionNumBuckets,
            maxDistance: config.relativeAttentionMaxDistance, on: backend)
        encoderBlocks = try (0..<config.numLayers).map { try T5EncoderBlock(enc.scope("block").scope($0), config: config) }
        decoderBlocks = try (0..<config.numDecoderLayers).map { try T5DecoderBlock(dec.scope("block").scope($0), config: config) }
        let eps = Float(config.layerNormEpsilon)
        encoderFinalNorm = try RMSNorm(enc.scope("final_layer_norm"), dim: d, eps: eps)
        // v1.0's d_model^-0.5 on the decoder output, folded into the final norm's weight
        let finalNorm = try RMSNorm(dec.scope("final_layer_norm"), dim: d, eps: eps)
        let scale = config.scaleDecoderOutputs ? 1 / Float(d).squareRoot() : 1
        decoderFinalNorm = scale == 1 ? finalNorm
            : RMSNorm(weight: Tensor(finalNorm.weight.toArray().map { $0 * scale }, shape: [d], on: backend), eps: eps)
    }

    // MARK: encoder

    public func encode(_ inputs: [[Int]]) -> [EncodedInput] {
        let ids = inputs.flatMap { $0 }
        guard !ids.isEmpty else { return [] }
        let spans = Packing.encoderSpans(inputs, limit: maxPositions)
        // x: [ΣS, C]
        var x = shared.embedding(ids)
        for block in encoderBlocks { x = block(x, spans: spans, bias: encoderBias) }
        x = encoderFinalNorm(x)
        // cross-attention keys and values of every decoder layer, once per input: [ΣS, inner]
        return Packing.split(x, layers: decoderBlocks.count, keys: { decoderBlocks[$0].crossAttention.k(x) },
                             values: { decoderBlocks[$0].crossAttention.v(x) }, spans: spans)
    }

    // MARK: decoder

    public func makeCache(capacity: Int) -> DecoderCache {
        DecoderCache(layers: decoderBlocks.count, width: config.innerDim, capacity: capacity, backend: backend)
    }

    public func decode(_ tokens: [[Int]], caches: inout [DecoderCache], encoded: [EncodedInput],
                       allPositions: Bool) -> Tensor {
        let rows = Packing.decoderRows(tokens, caches: caches, encoded: encoded.count, limit: maxPositions)
        // x: [ΣT, C]; the decoder scales the final hidden state instead of the embeddings
        var x = shared.embedding(tokens.flatMap { $0 })
        for (l, block) in decoderBlocks.enumerated() {
            x = block(x, layer: l, rows: rows, caches: &caches, encoded: encoded, bias: decoderBias)
        }
        for i in caches.indices { caches[i].commit(rows[i].count) }
        x = decoderFinalNorm(x)
        if !allPositions { x = x.gatherRows(rows.map { $0.start + $0.count - 1 }) }
        // logits: [rows or ΣT, V]
        return x.linear(lmHead, bias: nil)
    }
}
