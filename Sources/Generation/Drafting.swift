// Drafting from the source: a text's next tokens proposed from its own input (summaries copy spans of their
// article) and checked in one decoder pass over several positions. The pass's logits at each position are
// the ones a plain step would compute (a row's result does not depend on the rows beside it,
// docs/architecture.md §5), so keeping the drafted tokens the plain search agrees with, plus the model's own
// next token, gives exactly the ids of decoding without drafts. A greedy text keeps drafted tokens while the
// argmax equals them; a beam search takes further steps from one pass while every beam it keeps continues
// its parent's draft (`DecodingBatch.advanceDraftedBeams`).

import Tensor

/// Proposes up to `k` tokens to follow `tokens` (the output so far, decoder start token first) for a text
/// whose encoder input is `source`.
public struct DraftProposer: Sendable {
    let propose: @Sendable (_ tokens: [Int], _ source: [Int], _ k: Int) -> [Int]

    public init(_ propose: @escaping @Sendable (_ tokens: [Int], _ source: [Int], _ k: Int) -> [Int]) { self.propose = propose }

    /// The output's longest suffix (4 tokens down to 1) found in the source, and the tokens that follow its
    /// first occurrence there.
    public static let source = DraftProposer { tokens, source, k in sourceLookup(tokens: tokens, source: source, k: k) }

    public static func sourceLookup(tokens: [Int], source: [Int], k: Int, longest: Int = 4) -> [Int] {
        guard k > 0, !source.isEmpty else { return [] }
        for n in stride(from: min(longest, tokens.count), through: 1, by: -1) {
            let suffix = tokens.suffix(n)
            var i = 0
            while i + n < source.count {
                if source[i..<(i + n)].elementsEqual(suffix) {
                    return Array(source[(i + n)..<min(i + n + k, source.count)])
                }
                i += 1
            }
        }
        return []
    }
}

/// What drafting did over a batch's life.
public struct DraftStatistics: Sendable, Equatable {
    /// Decoder passes (calls of the model's decoder).
    public var passes = 0
    /// Passes summed over the texts in them: a text's passes per step is `textPasses / steps`.
    public var textPasses = 0
    /// Search steps decided, summed over texts: tokens for a greedy text, beam-search steps for a beam text
    /// (what a plain run takes a pass for each).
    public var steps = 0
    /// Drafted tokens fed, and of those the ones whose logits a step used.
    public var proposed = 0
    public var accepted = 0
    /// Text passes where a draft was fed and not wholly used (its positions were rolled back).
    public var rollbacks = 0

    public init() {}
}
