// BART and mBART (BartForConditionalGeneration / MBartForConditionalGeneration): their config.json.
// Reference: transformers 5.24 src/transformers/models/bart/modeling_bart.py and models/mbart/modeling_mbart.py.
// BART: post-norm layers, exact-erf GELU, learned positions offset by 2, `layernorm_embedding`, tied
// `lm_head` plus `final_logits_bias`, query scaled by head_dim^-0.5, LayerNorm eps 1e-5.
// mBART: the same with pre-norm layers and a final `layer_norm` after each stack.
// The layers and the model are the BART family's (BartFamily.swift), shared with Pegasus.

import Foundation
import NN
import Tensor

/// config.json of bart, mbart and pegasus checkpoints (the same keys; Pegasus' special ids differ).
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

    /// The model types this config describes.
    public static let modelTypes = ["bart", "mbart", "pegasus"]

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

    /// Defaults are transformers' BartConfig / MBartConfig / PegasusConfig defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "bart"
        guard Self.modelTypes.contains(modelType) else {
            throw ModelError.invalidConfig("model_type '\(modelType)' is not one of \(Self.modelTypes.joined(separator: ", "))")
        }
        let pegasus = modelType == "pegasus"
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
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? (pegasus ? 0 : 1)
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
        eosTokenId = try? c.decodeIfPresent(Int.self, forKey: .eosTokenId)
        decoderStartTokenId = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
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

    /// How the BART family's stacks differ by model type.
    var layout: BartFamilyLayout {
        switch modelType {
        case "pegasus":
            return BartFamilyLayout(positions: .sinusoidal, embeddingNorm: false, preNorm: true)
        case "mbart":
            return BartFamilyLayout(positions: .learned(offset: 2), embeddingNorm: true, preNorm: true)
        default:
            return BartFamilyLayout(positions: .learned(offset: 2), embeddingNorm: true, preNorm: false)
        }
    }
}

/// BART and mBART checkpoints are the BART family's model.
public typealias BartForConditionalGeneration = BartFamilyModel
