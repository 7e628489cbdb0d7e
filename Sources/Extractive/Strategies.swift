// How an extractive summary picks its sentences (`"strategy"`). Measured on 100 CNN/DailyMail articles
// against their human highlights (bench/quality, BENCHMARKS.md): on news, where a sentence stands beats
// what the embeddings say about it, so `position` is the default; the embedding-based selectors stay
// selectable for text that is not written lead-first.
// - position: the document cleaned (DocumentCleaner), then its eligible sentences in order (at least 6
//   tokens, not a photo caption, not a question, not a repeat of an earlier sentence, 70% of the same
//   words counting as a repeat; the others after them), a sentence past 50 tokens giving way to the next one when it is 0.2 of a rank per extra token
//   longer. A token budget is filled to the middle of [min_length, max_length] (min_length defaulting to a
//   quarter of max_length), never past max_length. No embeddings are computed.
// - pacsum: directed centrality (Zheng and Lapata 2019, "Sentence Centrality Revisited"): cosine edges
//   above the document's minimum, each sentence scored by its edges to later sentences minus twice its
//   edges to earlier ones; the best in order of score.
// - centrality: mean cosine to the other sentences with maximal marginal relevance (λ 0.7), the first
//   selector Brevity had.
// - lead: the first sentences of the cleaned document.

import Foundation

public enum ExtractiveStrategy: String, Sendable, CaseIterable {
    case position, pacsum, centrality, lead

    public static let `default` = ExtractiveStrategy.position
}

enum PositionSelector {
    static let minTokens = 6
    static let longTokens = 50
    static let longPenalty = 0.2
    static let caption = try! NSRegularExpression(
        pattern: #"\((?:pictured|left|right|above|below|centre|center|top|bottom|inset)\b[^)]*\)"#, options: [.caseInsensitive])

    static func isCaption(_ s: String) -> Bool {
        caption.firstMatch(in: s, range: NSRange(s.startIndex..<s.endIndex, in: s)) != nil
    }

    static func isQuestion(_ s: String) -> Bool {
        var t = Substring(s)
        while let last = t.last, "\"'”’)»".contains(last) { t = t.dropLast() }
        return t.last == "?"
    }

    /// Word-set Jaccard similarity with an earlier sentence at which a sentence is a repeat.
    static let nearDuplicate = 0.7
    static let edgePunctuation = CharacterSet(charactersIn: ".,;:!?\"'()[]“”‘’")

    /// Lowercased words without the punctuation at their edges.
    static func words(_ s: String) -> Set<String> {
        Set(s.lowercased().split(whereSeparator: \.isWhitespace).map { $0.trimmingCharacters(in: edgePunctuation) }.filter { !$0.isEmpty })
    }

    /// Eligible sentences in document order, then the others in document order. A repeat is a sentence
    /// equal to an earlier one (case and spacing ignored) or sharing 70% of its words with one (captions
    /// restating the story).
    static func order(_ texts: [String], tokens: [Int]) -> [Int] {
        var seen = Set<String>(), eligible: [Int] = [], rest: [Int] = []
        let sets = texts.map(words)
        for (i, s) in texts.enumerated() {
            let key = s.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let repeated = seen.contains(key) || (0..<i).contains { j in
                !sets[i].isEmpty && !sets[j].isEmpty
                    && Double(sets[i].intersection(sets[j]).count) / Double(sets[i].union(sets[j]).count) >= nearDuplicate
            }
            if tokens[i] >= minTokens && !isCaption(s) && !isQuestion(s) && !repeated { eligible.append(i) } else { rest.append(i) }
            seen.insert(key)
        }
        return eligible + rest
    }

    /// `k` sentences: the first k + 1 of `order`, the k best by rank and length.
    static func count(_ texts: [String], tokens: [Int], _ k: Int) -> [Int] {
        let window = Array(order(texts, tokens: tokens).prefix(k + 1))
        let score = window.enumerated().map { r, i in -Double(r) - longPenalty * Double(max(0, tokens[i] - longTokens)) }
        let best = window.indices.sorted { score[$0] != score[$1] ? score[$0] > score[$1] : $0 < $1 }.prefix(k)
        return best.map { window[$0] }.sorted()
    }

    /// Sentences in order until the summary holds the middle of [minimum, maximum] tokens.
    static func budget(_ texts: [String], tokens: [Int], maximum: Int, minimum: Int?) -> [Int] {
        let lo = minimum.map(Double.init) ?? Double(maximum) / 4
        let target = (lo + Double(maximum)) / 2
        var used = 0, out: [Int] = []
        for i in order(texts, tokens: tokens) {
            if Double(used) >= target { break }
            if used + tokens[i] > maximum {
                if out.isEmpty { continue } else { break }
            }
            out.append(i)
            used += tokens[i]
        }
        return out.sorted()
    }
}

enum PacSumSelector {
    static let lambdaEarlier = -2.0
    static let lambdaLater = 1.0

    /// Directed centrality of each sentence (unit vectors): edges above the minimum similarity.
    static func scores(_ vectors: [[Float]]) -> [Double] {
        let n = vectors.count
        guard n > 1 else { return [Double](repeating: 0, count: n) }
        var sim = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        var lo = Double.infinity
        for i in 0..<n {
            for j in (i + 1)..<n {
                let s = dot(vectors[i], vectors[j])
                sim[i][j] = s
                sim[j][i] = s
                lo = min(lo, s)
            }
        }
        return (0..<n).map { i in
            var earlier = 0.0, later = 0.0
            for j in 0..<n where j != i {
                let e = max(sim[i][j] - lo, 0)
                if j < i { earlier += e } else { later += e }
            }
            return lambdaEarlier * earlier + lambdaLater * later
        }
    }
}
