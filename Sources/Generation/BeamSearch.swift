// Beam search for one input, step by step, as transformers 5.24 `GenerationMixin._beam_search` does it
// (generation/utils.py): float32 scores, top 2·num_beams candidates over num_beams·V, finished
// hypotheses kept in num_beams slots scored sum_logprobs / generated_length ** length_penalty, and the
// early-stopping heuristics of `_check_early_stop_heuristic`. The caller runs the model and hands each
// step the processed log-probabilities of the running beams.

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
    let beamsToKeep: Int
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

    /// One step. `logProbs[b]` holds beam b's processed log-probabilities (V each, laid out beam after beam).
    /// Returns, for each new running beam, the index of the beam it continues (to reorder KV caches).
    public mutating func step(logProbs: UnsafeBufferPointer<Float>, vocabulary v: Int) -> [Int] {
        require(!isDone && logProbs.count == numBeams * v, "beam search: stepped after finishing, or logits of the wrong size")
        let curLen = currentLength
        // top-k over num_beams·V of (running score + log-prob)
        var top = TopKSelector(k: beamsToKeep)
        for b in 0..<numBeams {
            let base = runningScores[b]
            for t in 0..<v { top.offer(base + logProbs[b * v + t], index: b * v + t) }
        }
        let cands = top.sorted()   // descending, ties by lower index
        var seqs: [[Int]] = [], origins: [Int] = [], hits: [Bool] = []
        for c in cands {
            let (b, t) = (c.index / v, c.index % v)
            seqs.append(running[b] + [t])
            origins.append(b)
            hits.append(eos.contains(t) || curLen + 1 >= maxLength)
        }

        // next running beams: the best candidates that did not stop
        let runScores = cands.indices.map { cands[$0].value + (hits[$0] ? -1e9 : 0) }
        let next = stableTop(runScores, count: numBeams)
        let newOrigins = next.map { origins[$0] }
        running = next.map { seqs[$0] }
        runningScores = next.map { runScores[$0] }

        // finished hypotheses: candidates ranked within the first num_beams that stopped
        let allFinishedBefore = finished.allSatisfy(\.finished)
        let divisor = Float(pow(Double(curLen + 1 - promptLength), Double(lengthPenalty)))
        var merged = finished
        for j in cands.indices {
            var s = cands[j].value / divisor
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

    /// The best `count` finished hypotheses (best first).
    public func results(_ count: Int) -> [[Int]] { finished.prefix(count).map(\.tokens) }
}

/// Indices of the `count` largest values, descending; ties keep the lower index first.
func stableTop(_ values: [Float], count: Int) -> [Int] {
    Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(count))
}

/// Streaming top-k: keeps the k largest (value, index) pairs; ties prefer the lower index.
struct TopKSelector {
    struct Entry { var value: Float; var index: Int }
    let k: Int
    private(set) var entries: [Entry] = []   // kept sorted descending

    init(k: Int) {
        self.k = k
        entries.reserveCapacity(k + 1)
    }

    @inline(__always)
    mutating func offer(_ value: Float, index: Int) {
        if entries.count == k {
            let last = entries[k - 1]
            // strictly better, or equal with a lower index (indices arrive ascending, so never)
            guard value > last.value || (value == last.value && index < last.index) else { return }
            entries.removeLast()
        }
        var pos = entries.count
        while pos > 0 {
            let e = entries[pos - 1]
            if e.value > value || (e.value == value && e.index < index) { break }
            pos -= 1
        }
        entries.insert(Entry(value: value, index: index), at: pos)
    }

    func sorted() -> [Entry] { entries }
}
