import Foundation

/// Cuts a long document into pieces that fit the model's input window, at sentence boundaries
/// (`truncation: "chunk"`). A sentence longer than the window is cut at the window's token boundary.
struct Chunker {
    let engine: SummarizationEngine

    /// Pieces whose token counts (special tokens included) fit `engine.maxInputTokens`.
    func chunks(_ text: String) throws -> [String] {
        let limit = engine.maxInputTokens
        var out: [String] = []
        var current = ""
        for sentence in Self.sentences(text) {
            let candidate = current.isEmpty ? sentence : current + " " + sentence
            if try engine.inputIds(candidate, truncate: false).tokens <= limit {
                current = candidate
                continue
            }
            if !current.isEmpty { out.append(current) }
            current = sentence
            // a single sentence past the window: keep cutting its head off
            while try engine.inputIds(current, truncate: false).tokens > limit {
                let head = engine.text(try engine.inputIds(current).ids)
                out.append(head)
                current = String(current.dropFirst(min(current.count, max(1, head.count))))
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if current.isEmpty { break }
            }
        }
        if !current.isEmpty { out.append(current) }
        return out.isEmpty ? [text] : out
    }

    /// Sentences: a run ends after . ! ? (or 。！？) and any closing quotes or brackets, before whitespace;
    /// paragraph breaks end one too.
    static func sentences(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var out: [String] = []
        var start = 0
        var i = 0
        func emit(_ end: Int) {
            let s = String(String.UnicodeScalarView(scalars[start..<end])).trimmingCharacters(in: .whitespacesAndNewlines)
            if !s.isEmpty { out.append(s) }
            start = end
        }
        while i < scalars.count {
            let c = scalars[i]
            if c == "\n", i + 1 < scalars.count, scalars[i + 1] == "\n" { emit(i); i += 2; continue }
            if "。！？".unicodeScalars.contains(c) { emit(i + 1); i += 1; continue }
            if c == "." || c == "!" || c == "?" {
                var j = i + 1
                while j < scalars.count, "\"'”’)]".unicodeScalars.contains(scalars[j]) { j += 1 }
                if j == scalars.count || scalars[j].properties.isWhitespace {
                    // not after a single capital (initials) or a number like "3." in "3.5"
                    let prev = i > 0 ? scalars[i - 1] : " "
                    let prev2 = i > 1 ? scalars[i - 2] : " "
                    let initial = c == "." && prev.properties.isUppercase && (prev2 == " " || prev2 == ".")
                    if !initial && !(c == "." && Self.isAbbreviation(scalars, before: i)) { emit(j); i = j; continue }
                }
            }
            i += 1
        }
        emit(scalars.count)
        return out
    }
}

extension Chunker {
    static let abbreviations: Set<String> = ["mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e",
                                             "u.s", "u.k", "inc", "ltd", "co", "corp", "no", "gen", "gov", "sen", "rep", "mt", "ft", "approx"]

    /// Whether the word ending at `i` (a period) is a common abbreviation ("Mr.", "e.g.").
    static func isAbbreviation(_ s: [Unicode.Scalar], before i: Int) -> Bool {
        var k = i
        while k > 0, !s[k - 1].properties.isWhitespace, s[k - 1] != "(" && s[k - 1] != "\"" { k -= 1 }
        let word = String(String.UnicodeScalarView(s[k..<i])).lowercased()
        return abbreviations.contains(word)
    }
}

/// The texts one HTTP request queued, so a disconnect can cancel all of them (and refuse later rounds).
final class RequestCancellation: @unchecked Sendable {
    let scheduler: BatchScheduler
    private let lock = NSLock()
    private var ids: [Int] = []
    private var cancelled = false

    init(scheduler: BatchScheduler) { self.scheduler = scheduler }

    /// Records queued ids; false (and they are cancelled) when the client is already gone.
    func register(_ new: [Int]) -> Bool {
        lock.lock()
        ids += new
        let gone = cancelled
        lock.unlock()
        if gone { for id in new { scheduler.cancel(id) } }
        return !gone
    }

    func cancelAll() {
        lock.lock()
        cancelled = true
        let all = ids
        lock.unlock()
        for id in all { scheduler.cancel(id) }
    }
}
