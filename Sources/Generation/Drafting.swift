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
    /// first occurrence there: `k` of them after a match of 3 or more tokens, k/2 (at least 1) after a
    /// shorter one, which is more often the wrong place; every drafted token costs a row of the pass.
    /// Chosen with k on the replay of bart-large-cnn's own summaries of 100 CNN/DailyMail articles
    /// (BENCHMARKS.md, "Drafting from the source").
    public static let source = DraftProposer { tokens, source, k in sourceLookup(tokens: tokens, source: source, k: k) }

    public static func sourceLookup(tokens: [Int], source: [Int], k: Int, longest: Int = 4) -> [Int] {
        guard k > 0, !source.isEmpty else { return [] }
        for n in stride(from: min(longest, tokens.count), through: 1, by: -1) {
            let suffix = tokens.suffix(n)
            var i = 0
            while i + n < source.count {
                if source[i..<(i + n)].elementsEqual(suffix) {
                    let count = n >= 3 ? k : max(1, k / 2)
                    return Array(source[(i + n)..<min(i + n + count, source.count)])
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

    /// What happened after `earlier`, a copy of these statistics taken before.
    public func since(_ earlier: DraftStatistics) -> DraftStatistics {
        var d = DraftStatistics()
        d.passes = passes - earlier.passes; d.textPasses = textPasses - earlier.textPasses; d.steps = steps - earlier.steps
        d.proposed = proposed - earlier.proposed; d.accepted = accepted - earlier.accepted; d.rollbacks = rollbacks - earlier.rollbacks
        return d
    }

    /// These statistics and `other`'s, summed.
    public func adding(_ other: DraftStatistics) -> DraftStatistics {
        var d = self
        d.passes += other.passes; d.textPasses += other.textPasses; d.steps += other.steps
        d.proposed += other.proposed; d.accepted += other.accepted; d.rollbacks += other.rollbacks
        return d
    }
}
