// Drafting from the source: a greedy text's next tokens proposed from its own input (summaries copy spans
// of their article) and checked in one decoder pass over several positions. The pass's logits at each
// position are the ones a plain step would compute (a row's result does not depend on the rows beside it,
// docs/architecture.md §5), so keeping the drafted tokens the plain argmax agrees with, plus the model's own
// next token, gives exactly the ids of decoding without drafts.

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

/// What drafting did over a batch's life: decoder passes, tokens proposed and accepted, tokens generated.
public struct DraftStatistics: Sendable, Equatable {
    public var passes = 0
    public var proposed = 0
    public var accepted = 0
    /// Steps where a draft was proposed and not wholly accepted (its rows were rolled back).
    public var rollbacks = 0

    public init() {}
}
