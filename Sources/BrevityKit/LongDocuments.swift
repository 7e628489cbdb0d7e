import Extractive
import Foundation

// Long documents (`truncation: chunk`) on every surface: a text past the model's window is cut at sentence
// boundaries into pieces that fit, the pieces are summarized in one batch, and their joined summaries are
// summarized again while there is more than one (map-reduce). `ChunkedSummary` holds one text's rounds as
// a value that each runner drives with its own decoding: the service's scheduler, the library's worker,
// the command's batches.

/// One text's map-reduce: `nextRound` gives the pieces to summarize, `finish` takes their summaries, until
/// `result` is set.
public struct ChunkedSummary: Sendable {
    /// Rounds at most: summaries that stop shrinking end after this many.
    public static let maxRounds = 6
    let chunker: Chunker
    private var text: String
    /// Rounds finished so far.
    public private(set) var rounds = 0
    /// The summary's ids, and whether it came from more than one piece in the last round.
    public private(set) var result: (ids: [Int], truncated: Bool)?

    /// The rounds of `text` on `engine`'s model, each piece taking `prefix` (nil: the model's task prefix).
    public init(text: String, engine: SummarizationEngine, prefix: String?) {
        self.text = text
        chunker = Chunker(engine: engine, prefix: prefix)
    }

    /// The input ids of this round's pieces (each within the model's window), in order.
    public func nextRound() throws -> [[Int]] {
        try chunker.chunks(text).map { try chunker.engine.inputIds($0, prefix: chunker.prefix).ids }
    }

    /// Every round, decoded by `decode` (each piece's summary ids, in order), for runners that decode
    /// synchronously (the library's worker, the command's batches): the result.
    public mutating func summarize(decoding decode: ([[Int]]) throws -> [[Int]]) throws -> (ids: [Int], truncated: Bool) {
        while result == nil { finish(round: try decode(try nextRound())) }
        return result!
    }

    /// This round's summaries, one per piece of `nextRound`: the result when one piece was left or the
    /// rounds are spent, else their texts joined are the next round's text.
    public mutating func finish(round summaries: [[Int]]) {
        rounds += 1
        if summaries.count == 1 || rounds == Self.maxRounds {
            result = (summaries.first ?? [], summaries.count > 1)
            return
        }
        text = summaries.map { chunker.engine.text($0).trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: " ")
    }
}

/// Cuts a long document into pieces that fit the model's input window, at sentence boundaries
/// (`truncation: "chunk"`). A sentence longer than the window is cut between words of the original text
/// (a single word longer than the window between characters): every piece is a span of the input, so
/// nothing is lost or repeated whatever the tokenizer's decoding does.
public struct Chunker: Sendable {
    /// The model whose tokenizer and window the pieces fit.
    public let engine: SummarizationEngine
    /// The request's text prefix (nil: the task's), counted in every piece.
    public var prefix: String?

    /// A chunker for `engine`'s window, counting `prefix` (nil: the model's task prefix) in every piece.
    public init(engine: SummarizationEngine, prefix: String? = nil) {
        self.engine = engine
        self.prefix = prefix
    }

    /// Pieces whose token counts (special tokens included) fit `engine.maxInputTokens`.
    public func chunks(_ text: String) throws -> [String] {
        var out: [String] = []
        var current = ""
        for sentence in Self.sentences(text) {
            let candidate = current.isEmpty ? sentence : current + " " + sentence
            if try fits(candidate) {
                current = candidate
                continue
            }
            if !current.isEmpty { out.append(current) }
            current = sentence
            if try !fits(current) {
                // a single sentence past the window: pieces of it, the last one carried on
                let pieces = try cut(current[...])
                out += pieces.dropLast()
                current = pieces.last ?? ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out.isEmpty ? [text] : out
    }

    func fits(_ text: some StringProtocol) throws -> Bool {
        try engine.inputIds(String(text), prefix: prefix, truncate: false).tokens <= engine.maxInputTokens
    }

    /// Spans of `text` that fit, in order, separated at whitespace: each the longest run of whole words
    /// that fits (binary search over word ends); a word that alone does not fit is cut at the longest
    /// prefix that does (at least one character).
    func cut(_ text: Substring) throws -> [String] {
        var out: [String] = []
        var rest = text.drop(while: \.isWhitespace)
        while !rest.isEmpty {
            if try fits(rest) {
                out.append(String(rest))
                break
            }
            var ends: [String.Index] = []   // where each word of `rest` ends
            var i = rest.startIndex
            while i < rest.endIndex {
                let next = rest.index(after: i)
                if !rest[i].isWhitespace && (next == rest.endIndex || rest[next].isWhitespace) { ends.append(next) }
                i = next
            }
            var end = try longest(ends, in: rest)
            if end == nil {
                // the first word alone is too long: its longest prefix that fits, bounded by how many
                // characters `maxInputTokens` tokens can hold (a token is at most a few dozen characters)
                let word = rest.prefix { !$0.isWhitespace }
                let bound = min(word.count, engine.maxInputTokens * 64)
                var cuts: [String.Index] = []
                var j = word.startIndex
                for _ in 0..<bound { j = word.index(after: j); cuts.append(j) }
                end = try longest(cuts, in: rest) ?? word.index(after: word.startIndex)
            }
            out.append(String(rest[..<end!]))
            rest = rest[end!...].drop(while: \.isWhitespace)
        }
        return out
    }

    /// The last of `ends` (increasing) whose prefix of `text` fits, or nil when none does.
    private func longest(_ ends: [String.Index], in text: Substring) throws -> String.Index? {
        var lo = 0, hi = ends.count - 1, best: String.Index? = nil
        while lo <= hi {
            let mid = (lo + hi) / 2
            if try fits(text[..<ends[mid]]) { best = ends[mid]; lo = mid + 1 } else { hi = mid - 1 }
        }
        return best
    }

    /// Sentences by Extractive's segmenter (abbreviations, initials, decimals, quotes, CJK stops, paragraphs).
    public static func sentences(_ text: String) -> [String] { segmenter.split(text) }

    static let segmenter = SentenceSegmenter()
}

