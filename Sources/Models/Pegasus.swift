// Pegasus (PegasusForConditionalGeneration): the BART family's layers with pre-norm blocks, a final
// LayerNorm after each stack, no embedding LayerNorm, and fixed sinusoidal positions from 0.
// Reference: transformers 5.24 src/transformers/models/pegasus/modeling_pegasus.py
// (PegasusSinusoidalPositionalEmbedding). Its config.json has BART's keys (BartConfig, model_type pegasus):
// google/pegasus-* set scale_embedding true and activation_function relu.

import Foundation
import Tensor

enum PegasusPositions {
    /// [positions, dim]: not interleaved, sin in the first ceil(dim/2) features and cos in the rest, both at
    /// pos / 10000^(2·(j/2)/dim) over the original feature index j (sin at even j, cos at odd j); computed in
    /// double and rounded to float as transformers' numpy table is.
    static func table(positions: Int, dim: Int) -> [Float] {
        let sinCount = (dim + 1) / 2
        var out = [Float](repeating: 0, count: positions * dim)
        for pos in 0..<positions {
            for j in 0..<dim {
                let angle = Double(pos) / pow(10000, Double(2 * (j / 2)) / Double(dim))
                if j % 2 == 0 { out[pos * dim + j / 2] = Float(sin(angle)) }
                else { out[pos * dim + sinCount + j / 2] = Float(cos(angle)) }
            }
        }
        return out
    }
}
