// Building blocks with their checkpoint names: Linear, LayerNorm, Embedding.

import Tensor

public struct Linear: @unchecked Sendable {
    public let weight: Tensor   // [out, in]
    public let bias: Tensor?    // [out]

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    /// `<scope>.weight` [out, in] and `<scope>.bias` [out].
    public init(_ vb: WeightScope, inputs: Int, outputs: Int, bias: Bool = true) throws {
        weight = try vb.matrix("weight", shape: [outputs, inputs])
        self.bias = bias ? try vb.tensor("bias", shape: [outputs]) : nil
    }

    // x: [N, in] -> [N, out]
    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight, bias: bias) }
}

public struct LayerNorm: @unchecked Sendable {
    public let weight: Tensor   // [C]
    public let bias: Tensor     // [C]
    public let eps: Float

    public init(_ vb: WeightScope, dim: Int, eps: Float = 1e-5) throws {
        weight = try vb.tensor("weight", shape: [dim])
        bias = try vb.tensor("bias", shape: [dim])
        self.eps = eps
    }

    // x: [N, C] -> [N, C]
    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

public struct Embedding: @unchecked Sendable {
    public let table: Tensor    // [V, C]
    public let scale: Float

    public init(table: Tensor, scale: Float = 1) {
        self.table = table
        self.scale = scale
    }

    // ids: [N] -> [N, C]
    public func callAsFunction(_ ids: [Int]) -> Tensor { table.embedding(ids, scale: scale) }
}

/// T5's layer norm: RMS scaling and a weight, no mean and no bias.
public struct RMSNorm: @unchecked Sendable {
    public let weight: Tensor   // [C]
    public let eps: Float

    public init(_ vb: WeightScope, dim: Int, eps: Float = 1e-6) throws {
        weight = try vb.tensor("weight", shape: [dim])
        self.eps = eps
    }

    public init(weight: Tensor, eps: Float) {
        self.weight = weight
        self.eps = eps
    }

    // x: [N, C] -> [N, C]
    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight, eps: eps) }
}
