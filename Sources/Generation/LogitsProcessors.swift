// Logits processors, each as transformers' `generation/logits_process.py` defines it, applied to one
// row of scores given that row's decoder sequence (start token included). Order (transformers'
// `_get_logits_processor`): repetition penalty, no-repeat n-gram, min length, min new tokens, forced BOS,
// forced EOS; then, when sampling, temperature, top-k, top-p.

public protocol LogitsProcessor: Sendable {
    func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int])
    /// The tokens `process` reads or writes for `sequence` in a row of `vocabulary` scores, ascending, when
    /// it touches only some (a decode step then forms only their scores); nil when it may touch any.
    func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]?
}

public extension LogitsProcessor {
    func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? { nil }
}

/// Distinct ids of `tokens` inside 0..<vocabulary, ascending.
func tokenSet(_ tokens: [Int], vocabulary: Int) -> [Int] {
    Set(tokens.filter { $0 >= 0 && $0 < vocabulary }).sorted()
}

public struct RepetitionPenalty: LogitsProcessor {
    public let penalty: Float
    public init(_ penalty: Float) { self.penalty = penalty }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        for t in tokenSet(sequence, vocabulary: scores.count) {
            let s = scores[t]
            scores[t] = s < 0 ? s * penalty : s / penalty
        }
    }
    public func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? { tokenSet(sequence, vocabulary: vocabulary) }
}

/// Bans every token that would repeat an n-gram of the sequence.
public struct NoRepeatNGram: LogitsProcessor {
    public let n: Int
    public init(_ n: Int) { self.n = n }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence s: [Int]) {
        for t in banned(s, vocabulary: scores.count) { scores[t] = -.infinity }
    }
    public func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? {
        tokenSet(banned(sequence, vocabulary: vocabulary), vocabulary: vocabulary)
    }

    /// The tokens that would complete an n-gram already in `s` (the last n-1 tokens followed by them).
    func banned(_ s: [Int], vocabulary: Int) -> [Int] {
        let len = s.count
        guard n >= 1, len >= n else { return [] }
        let prefixStart = len - n + 1   // the last n-1 tokens
        var out: [Int] = []
        for i in 0...(len - n) {
            var match = true
            for j in 0..<(n - 1) where s[i + j] != s[prefixStart + j] { match = false; break }
            if match, s[i + n - 1] >= 0, s[i + n - 1] < vocabulary { out.append(s[i + n - 1]) }
        }
        return out
    }
}

/// EOS masked while the sequence (start token included) is shorter than `minLength`.
public struct MinLength: LogitsProcessor {
    public let minLength: Int
    public let eos: [Int]
    public init(_ minLength: Int, eos: [Int]) { self.minLength = minLength; self.eos = eos }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        if sequence.count < minLength { for e in eos where e >= 0 && e < scores.count { scores[e] = -.infinity } }
    }
    public func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? {
        sequence.count < minLength ? tokenSet(eos, vocabulary: vocabulary) : []
    }
}

/// EOS masked while fewer than `minNewTokens` tokens follow the `promptLength` prompt tokens.
public struct MinNewTokens: LogitsProcessor {
    public let promptLength: Int
    public let minNewTokens: Int
    public let eos: [Int]
    public init(promptLength: Int, minNewTokens: Int, eos: [Int]) {
        self.promptLength = promptLength; self.minNewTokens = minNewTokens; self.eos = eos
    }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        if sequence.count - promptLength < minNewTokens {
            for e in eos where e >= 0 && e < scores.count { scores[e] = -.infinity }
        }
    }
    public func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? {
        sequence.count - promptLength < minNewTokens ? tokenSet(eos, vocabulary: vocabulary) : []
    }
}

/// Only `token` at the first generated position (sequence length 1).
public struct ForcedBOS: LogitsProcessor {
    public let token: Int
    public init(_ token: Int) { self.token = token }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        guard sequence.count == 1 else { return }
        for i in scores.indices { scores[i] = -.infinity }
        scores[token] = 0
    }
    public func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? { sequence.count == 1 ? nil : [] }
}

/// Only EOS when the next token is the last one `maxLength` allows.
public struct ForcedEOS: LogitsProcessor {
    public let maxLength: Int
    public let eos: [Int]
    public init(maxLength: Int, eos: [Int]) { self.maxLength = maxLength; self.eos = eos }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        guard sequence.count == maxLength - 1 else { return }
        for i in scores.indices { scores[i] = -.infinity }
        for e in eos { scores[e] = 0 }
    }
    public func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? {
        sequence.count == maxLength - 1 ? nil : []
    }
}

public struct Temperature: LogitsProcessor {
    public let temperature: Float
    public init(_ temperature: Float) { self.temperature = temperature }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        for i in scores.indices { scores[i] = scores[i] / temperature }
    }
}

/// Keeps the scores >= the k-th largest (ties kept).
public struct TopK: LogitsProcessor {
    public let k: Int
    public init(_ k: Int, minTokensToKeep: Int = 1) { self.k = max(k, minTokensToKeep) }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        let k = min(self.k, scores.count)
        let threshold = scores.sorted(by: >)[k - 1]
        for i in scores.indices where scores[i] < threshold { scores[i] = -.infinity }
    }
}

/// Nucleus filtering as transformers: ascending sort, cumulative softmax, drop while <= 1 - p.
public struct TopP: LogitsProcessor {
    public let p: Float
    public let minTokensToKeep: Int
    public init(_ p: Float, minTokensToKeep: Int = 1) { self.p = p; self.minTokensToKeep = minTokensToKeep }
    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        let order = scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        let m = scores.max() ?? 0
        var sum: Float = 0
        var probs = order.map { i -> Float in let e = expf(scores[i] - m); sum += e; return e }
        var cumulative: Float = 0
        var remove = [Bool](repeating: false, count: order.count)
        for j in probs.indices {
            probs[j] /= sum
            cumulative += probs[j]
            remove[j] = cumulative <= 1 - p
        }
        for j in max(0, order.count - minTokensToKeep)..<order.count { remove[j] = false }
        for (j, i) in order.enumerated() where remove[j] { scores[i] = -.infinity }
    }
}

public struct LogitsProcessorList: Sendable {
    public var processors: [any LogitsProcessor]

    public init(_ processors: [any LogitsProcessor]) { self.processors = processors }

    /// The processors transformers' `generate` builds for `config` (decoder prompt of 1 token).
    public init(_ c: ResolvedGeneration) {
        var p: [any LogitsProcessor] = []
        if c.repetitionPenalty != 1 { p.append(RepetitionPenalty(c.repetitionPenalty)) }
        if c.noRepeatNgramSize > 0 { p.append(NoRepeatNGram(c.noRepeatNgramSize)) }
        if c.minLength > 0 && !c.eosTokenIds.isEmpty { p.append(MinLength(c.minLength, eos: c.eosTokenIds)) }
        if c.minNewTokens > 0 && !c.eosTokenIds.isEmpty {
            p.append(MinNewTokens(promptLength: 1, minNewTokens: c.minNewTokens, eos: c.eosTokenIds))
        }
        if let bos = c.forcedBosTokenId { p.append(ForcedBOS(bos)) }
        if let eos = c.forcedEosTokenIds { p.append(ForcedEOS(maxLength: c.maxLength, eos: eos)) }
        if c.doSample {
            let keep = c.numBeams > 1 ? c.eosTokenIds.count + 1 : 1
            if c.temperature != 1 { p.append(Temperature(c.temperature)) }
            if c.topK != 0 { p.append(TopK(c.topK, minTokensToKeep: keep)) }
            if c.topP < 1 { p.append(TopP(c.topP, minTokensToKeep: keep)) }
        }
        processors = p
    }

    public func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        for p in processors { p.process(scores, sequence: sequence) }
    }

    /// Every processor's touched tokens, ascending; nil when one may touch any.
    public func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? {
        var all: [Int] = []
        for p in processors {
            guard let t = p.touchedTokens(sequence: sequence, vocabulary: vocabulary) else { return nil }
            all += t
        }
        return processors.count > 1 ? Set(all).sorted() : all
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
