// One sequence extended a token at a time, greedy or sampled, as transformers' `_sample` does both:
// processed raw logits, then the argmax (first on ties) or, with do_sample, a draw from the softmax.

import Foundation
import Tensor

public struct SingleSequenceSearch: Sendable {
    public private(set) var tokens: [Int]
    public let maxLength: Int
    public let eos: Set<Int>
    public let sample: Bool
    var rng: SeededGenerator
    public private(set) var isDone = false

    public init(startToken: Int, config c: ResolvedGeneration) {
        tokens = [startToken]
        maxLength = c.maxLength
        eos = Set(c.eosTokenIds)
        sample = c.doSample
        rng = SeededGenerator(seed: c.seed)
    }

    /// `scores`: the processed scores of the next token. Returns the chosen token.
    @discardableResult
    public mutating func step(scores: UnsafeBufferPointer<Float>) -> Int {
        let token = sample ? draw(scores) : argmax(scores)
        step(chosen: token)
        return token
    }

    /// Appends a token chosen outside (the argmax of the processed scores, found without forming them all).
    public mutating func step(chosen token: Int) {
        require(!isDone, "a single-sequence search stepped after it finished")
        tokens.append(token)
        isDone = eos.contains(token) || tokens.count >= maxLength
    }

    private func argmax(_ s: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<s.count where s[i] > s[best] { best = i }
        return best
    }

    private mutating func draw(_ s: UnsafeBufferPointer<Float>) -> Int {
        let m = s.max() ?? 0
        var probs = s.map { Double(expf($0 - m)) }
        let total = probs.reduce(0, +)
        let u = rng.nextUnit() * total
        var acc = 0.0
        for i in probs.indices {
            acc += probs[i]
            if u < acc && probs[i] > 0 { return i }
        }
        probs.removeAll()
        return argmax(s)
    }
}
