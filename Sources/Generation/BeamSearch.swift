// Beam search for one input, step by step, as transformers 5.24 `GenerationMixin._beam_search` does it
// (generation/utils.py): float32 scores, top 2·num_beams candidates over num_beams·V, finished
// hypotheses kept in num_beams slots scored sum_logprobs / generated_length ** length_penalty, and the
// early-stopping heuristics of `_check_early_stop_heuristic`. The caller runs the model and hands each
// step the best candidates of the running beams' processed log-probabilities (`offerProcessedRow`).

import Foundation
import Tensor

public struct BeamSearch: Sendable {
    public struct Hypothesis: Sendable {
        public var tokens: [Int]
        public var score: Float
        public var finished: Bool
    }

    public let numBeams: Int
    public let maxLength: Int
    public let lengthPenalty: Float
    public let earlyStopping: EarlyStopping
    public let eos: Set<Int>
    /// Candidates kept each step: 2·num_beams (one more per extra EOS id).
    public let beamsToKeep: Int
    let promptLength = 1

    /// Running beams (each starts with the decoder start token) and their summed log-probabilities.
    public private(set) var running: [[Int]]
    public private(set) var runningScores: [Float]
    /// The best finished hypotheses so far, best first (`num_beams` slots).
    public private(set) var finished: [Hypothesis]
    var heuristicUnsatisfied = true
    public private(set) var isDone = false

    public init(startToken: Int, config c: ResolvedGeneration) {
        numBeams = c.numBeams
        maxLength = c.maxLength
        lengthPenalty = c.lengthPenalty
        earlyStopping = c.earlyStopping
        eos = Set(c.eosTokenIds)
        beamsToKeep = max(2, 1 + c.eosTokenIds.count) * c.numBeams
        running = Array(repeating: [startToken], count: c.numBeams)
        runningScores = [0] + Array(repeating: -1e9, count: c.numBeams - 1)
        finished = Array(repeating: Hypothesis(tokens: [startToken], score: -1e9, finished: false), count: c.numBeams)
    }

    public var currentLength: Int { running[0].count }

    /// One step from the top `beamsToKeep` of (running score + processed log-probability) over numBeams·V,
    /// indexed beam · V + token (every beam's row offered to `top`, with `runningScores[b]` as its base).
    /// Returns, for each new running beam, the index of the beam it continues (to reorder KV caches).
    public mutating func step(top: TopKList, vocabulary v: Int) -> [Int] {
        require(!isDone && top.k == beamsToKeep && top.count == min(beamsToKeep, numBeams * v),
                "beam search: stepped after finishing, or not every candidate offered")
        let curLen = currentLength
        let cands = top.values, indices = top.indices   // descending, ties by lower index
        var seqs: [[Int]] = [], origins: [Int] = [], hits: [Bool] = []
        for index in indices {
            let (b, t) = (index / v, index % v)
            seqs.append(running[b] + [t])
            origins.append(b)
            hits.append(eos.contains(t) || curLen + 1 >= maxLength)
        }

        // next running beams: the best candidates that did not stop
        let runScores = cands.indices.map { cands[$0] + (hits[$0] ? -1e9 : 0) }
        let next = stableTop(runScores, count: numBeams)
        let newOrigins = next.map { origins[$0] }
        running = next.map { seqs[$0] }
        runningScores = next.map { runScores[$0] }

        // finished hypotheses: candidates ranked within the first num_beams that stopped
        let allFinishedBefore = finished.allSatisfy(\.finished)
        let divisor = Float(pow(Double(curLen + 1 - promptLength), Double(lengthPenalty)))
        var merged = finished
        for j in cands.indices {
            var s = cands[j] / divisor
            if allFinishedBefore && earlyStopping == .on { s += -1e9 }
            if !heuristicUnsatisfied { s += -1e9 }
            let didFinish = hits[j] && j < numBeams
            if !didFinish { s += -1e9 }
            merged.append(Hypothesis(tokens: seqs[j], score: s, finished: didFinish))
        }
        finished = stableTop(merged.map(\.score), count: numBeams).map { merged[$0] }

        // stopping (per input, exactly as the batch loop decides for it)
        let newLen = curLen + 1
        let bestLength = earlyStopping == .never && lengthPenalty > 0 ? maxLength - promptLength : newLen - promptLength
        let bestPossible = runningScores[0] / Float(pow(Double(bestLength), Double(lengthPenalty)))
        let minScore = finished.map(\.score).min()!
        let canImprove = finished.contains { bestPossible > ($0.finished ? minScore : -1e9) }
        heuristicUnsatisfied = heuristicUnsatisfied && canImprove
        let allFinished = finished.allSatisfy(\.finished)
        isDone = !heuristicUnsatisfied || (allFinished && earlyStopping == .on) || hits.allSatisfy { $0 }
        return newOrigins
    }

    /// The tokens every sequence this search can still return begins with: the longest common prefix of the
    /// running beams and the finished hypotheses (every later hypothesis extends a running beam, and the
    /// result is the best finished one). It only grows, and it is a prefix of `results(1)[0]`: the settled
    /// part of a beam search's summary, streamed as it settles. The decoder start token at least.
    public var settledPrefix: [Int] {
        if isDone { return finished[0].tokens }
        var prefix = running[0]
        for tokens in running.dropFirst() + finished.filter(\.finished).map(\.tokens) {
            let common = zip(prefix, tokens).prefix { $0 == $1 }.count
            prefix.removeLast(prefix.count - common)
        }
        return prefix
    }

    /// The best `count` finished hypotheses (best first).
    public func results(_ count: Int) -> [[Int]] { finished.prefix(count).map(\.tokens) }
}

/// Indices of the `count` largest values, descending; ties keep the lower index first.
func stableTop(_ values: [Float], count: Int) -> [Int] {
    Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(count))
}
