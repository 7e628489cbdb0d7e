// Extractive summaries: whole sentences of the input. The default strategy picks by position
// (Strategies.swift); `centrality`, the first selector, works as follows:
//
// 0. Remove page furniture (DocumentCleaner) and segment the text into sentences (SentenceSegmenter).
// 2. Embed each sentence alone (so no document is too long for the encoder; a sentence longer than the
//    encoder's window is embedded from its first max_seq_length tokens).
// 3. Centrality of sentence i: its mean cosine similarity to the other sentences (weighted degree
//    centrality; with unit vectors, the similarity to the document centroid without itself), rescaled
//    to [0, 1] over the document.
// 4. Maximal marginal relevance (Carbonell & Goldstein 1998): repeatedly take the sentence maximizing
//    λ·centrality − (1−λ)·max cosine to the sentences already taken, until the length is reached;
//    ties go to the earlier sentence, so the result is deterministic. Near-duplicates of a chosen
//    sentence (cosine >= 0.98) are never chosen, so a summary can be shorter than asked.
// 5. Return the chosen sentences in document order.

import Foundation

/// How long a summary is.
public enum SummaryLength: Sendable, Equatable {
    /// At most this many sentences (all of them when the document has fewer).
    case sentences(Int)
    /// Sentences whose token counts (the embedder's tokenizer, no special tokens) add up to at most this;
    /// empty when no sentence fits. The position strategy fills it to the middle of [max/4, max].
    case tokens(Int)
    /// A token budget with the request's minimum: the position strategy fills the summary to the middle of
    /// [minimum, maximum], never past maximum; the others treat it as `tokens(maximum)`.
    case tokenRange(minimum: Int, maximum: Int)

    /// The token budget of `tokens` and `tokenRange` (nil for the count-shaped lengths).
    var maximumTokens: Int? {
        switch self {
        case let .tokens(t), let .tokenRange(_, t): return t
        case .sentences, .ratio: return nil
        }
    }
    /// This fraction of the document's sentences, rounded, at least one: 0 < ratio <= 1.
    case ratio(Double)

    /// The length a request asks for, as the service and the library read it: `sentences`, else `ratio`,
    /// else `maxTokens` as a token budget with `minTokens` as its minimum, else `defaultSentences`.
    public static func requested(sentences: Int?, ratio: Double?, maxTokens: Int?, minTokens: Int?,
                                 defaultSentences: Int = 3) -> SummaryLength {
        if let n = sentences { return .sentences(n) }
        if let r = ratio { return .ratio(r) }
        if let t = maxTokens {
            if let lo = minTokens { return .tokenRange(minimum: min(lo, t), maximum: t) }
            return .tokens(t)
        }
        return .sentences(defaultSentences)
    }
}

public struct ExtractiveSummary: Sendable, Equatable {
    public struct Sentence: Sendable, Equatable {
        /// Position among the document's sentences, from 0.
        public var index: Int
        public var text: String
        public var tokens: Int
    }

    /// The chosen sentences in document order, joined by a space (nothing after a CJK full stop).
    public var text: String
    public var sentences: [Sentence]
    /// Tokens of the whole input (the embedder's tokenizer, no special tokens).
    public var inputTokens: Int
    /// Sentences the input was segmented into.
    public var inputSentences: Int
}

public enum ExtractiveError: Error, CustomStringConvertible, Equatable {
    case invalidLength(String)

    public var description: String {
        switch self { case let .invalidLength(m): return m }
    }
}

public struct ExtractiveSummarizer: Sendable {
    public let embedder: any SentenceEmbedder
    public var segmenter: SentenceSegmenter
    /// MMR's λ: 1 ranks by centrality alone, lower values penalize redundancy more.
    public var lambda: Double
    /// A sentence this similar (cosine) to one already chosen is a near-duplicate and never chosen.
    public var duplicateSimilarity: Double = 0.98
    public var cleaner = DocumentCleaner()

    public init(embedder: any SentenceEmbedder, segmenter: SentenceSegmenter = SentenceSegmenter(), lambda: Double = 0.7) {
        self.embedder = embedder
        self.segmenter = segmenter
        self.lambda = lambda
    }

    public func summarize(_ text: String, length: SummaryLength, strategy: ExtractiveStrategy = .default) throws -> ExtractiveSummary {
        switch length {
        case let .sentences(n) where n < 1: throw ExtractiveError.invalidLength("sentences must be at least 1, got \(n)")
        case let .tokens(n) where n < 1: throw ExtractiveError.invalidLength("tokens must be at least 1, got \(n)")
        case let .tokenRange(lo, hi) where hi < 1 || lo < 0:
            throw ExtractiveError.invalidLength("token range must have a maximum of at least 1 and a minimum of at least 0, got \(lo)...\(hi)")
        case let .ratio(r) where !(r > 0 && r <= 1): throw ExtractiveError.invalidLength("ratio must be in (0, 1], got \(r)")
        default: break
        }
        let sentences = segmenter.segment(cleaner.clean(text))
        let inputTokens = try embedder.tokenCount(text)
        guard !sentences.isEmpty else {
            return ExtractiveSummary(text: "", sentences: [], inputTokens: inputTokens, inputSentences: 0)
        }
        let texts = sentences.map(\.text)
        let tokens = try texts.map(embedder.tokenCount)
        let chosen: [Int]
        switch strategy {
        case .position:
            switch length {
            case let .tokens(t): chosen = PositionSelector.budget(texts, tokens: tokens, maximum: t, minimum: nil)
            case let .tokenRange(lo, hi): chosen = PositionSelector.budget(texts, tokens: tokens, maximum: hi, minimum: min(lo, hi))
            default: chosen = PositionSelector.count(texts, tokens: tokens, Self.count(length, of: texts.count))
            }
        case .lead:
            chosen = Self.inOrder(Array(texts.indices), tokens: tokens, length: length)
        case .pacsum:
            let scores = PacSumSelector.scores(try embedder.embed(texts).map(unit))
            let ranked = texts.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            chosen = Self.inOrder(ranked, tokens: tokens, length: length).sorted()
        case .centrality:
            let vectors = try embedder.embed(texts).map(unit)
            chosen = select(vectors: vectors, tokens: tokens, length: length).sorted()
        }
        var joined = ""
        for i in chosen {
            if !joined.isEmpty && !(joined.last.map(SentenceSegmenter.fullStops.contains) ?? false) { joined += " " }
            joined += texts[i]
        }
        return ExtractiveSummary(text: joined,
                                 sentences: chosen.map { .init(index: $0, text: texts[$0], tokens: tokens[$0]) },
                                 inputTokens: inputTokens, inputSentences: sentences.count)
    }

    /// Sentences a count-shaped length asks for out of `n`.
    static func count(_ length: SummaryLength, of n: Int) -> Int {
        switch length {
        case let .sentences(k): return min(k, n)
        case let .ratio(r): return min(n, max(1, Int((r * Double(n)).rounded())))
        case .tokens, .tokenRange: return n
        }
    }

    /// The first sentences of `ranked` that the length allows (a token budget skips what does not fit).
    static func inOrder(_ ranked: [Int], tokens: [Int], length: SummaryLength) -> [Int] {
        guard let budget = length.maximumTokens else { return Array(ranked.prefix(count(length, of: ranked.count))) }
        var used = 0, out: [Int] = []
        for i in ranked where used + tokens[i] <= budget {
            out.append(i)
            used += tokens[i]
        }
        return out
    }

    /// Indices of the chosen sentences, in the order MMR picked them.
    func select(vectors: [[Float]], tokens: [Int], length: SummaryLength) -> [Int] {
        let n = vectors.count
        let centrality = Self.centrality(vectors)
        let maxCount = Self.count(length, of: n), budget = length.maximumTokens ?? Int.max
        var chosen: [Int] = []
        var redundancy = [Double](repeating: 0, count: n)   // max cosine to a chosen sentence
        var taken = [Bool](repeating: false, count: n)
        var used = 0
        while chosen.count < maxCount {
            var best = -1, bestScore = -Double.infinity
            for i in 0..<n where !taken[i] && tokens[i] <= budget - used && redundancy[i] < duplicateSimilarity {
                let score = lambda * centrality[i] - (chosen.isEmpty ? 0 : (1 - lambda) * redundancy[i])
                if score > bestScore { best = i; bestScore = score }
            }
            guard best >= 0 else { break }
            chosen.append(best)
            taken[best] = true
            used += tokens[best]
            for i in 0..<n where !taken[i] { redundancy[i] = max(redundancy[i], dot(vectors[i], vectors[best])) }
        }
        return chosen
    }

    /// Mean cosine similarity of each sentence to the others, rescaled to [0, 1] (all 1 when equal).
    static func centrality(_ vectors: [[Float]]) -> [Double] {
        let n = vectors.count, d = vectors.first?.count ?? 0
        guard n > 1 else { return [Double](repeating: 1, count: n) }
        var sum = [Double](repeating: 0, count: d)
        for v in vectors { for j in 0..<d { sum[j] += Double(v[j]) } }
        let raw = vectors.map { v -> Double in
            var s = 0.0, self2 = 0.0
            for j in 0..<d { s += Double(v[j]) * sum[j]; self2 += Double(v[j]) * Double(v[j]) }
            return (s - self2) / Double(n - 1)
        }
        let lo = raw.min()!, hi = raw.max()!
        return hi - lo > 1e-12 ? raw.map { ($0 - lo) / (hi - lo) } : raw.map { _ in 1 }
    }
}

func dot(_ a: [Float], _ b: [Float]) -> Double {
    var s = 0.0
    for j in a.indices { s += Double(a[j]) * Double(b[j]) }
    return s
}

/// The vector scaled to unit length (unchanged when zero), so dot products are cosines.
private func unit(_ v: [Float]) -> [Float] {
    var sq: Float = 0
    for x in v { sq += x * x }
    guard sq > 0 else { return v }
    let inv = 1 / sq.squareRoot()
    return v.map { $0 * inv }
}
