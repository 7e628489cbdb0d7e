import Extractive
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

    /// Sentences by Extractive's segmenter (abbreviations, initials, decimals, quotes, CJK stops, paragraphs).
    static func sentences(_ text: String) -> [String] { segmenter.split(text) }

    static let segmenter = SentenceSegmenter()
}

/// The texts one request queued, so a client that goes away cancels all of them (in the batch scheduler
/// or the extractive worker).
final class RequestCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var queued: [(id: Int, cancel: @Sendable (Int) -> Void)] = []
    private var cancelled = false

    init() {}

    /// Records queued ids and how to cancel them; false (and they are cancelled) when the client is already gone.
    func register(_ ids: [Int], _ cancel: @escaping @Sendable (Int) -> Void) -> Bool {
        lock.lock()
        queued += ids.map { ($0, cancel) }
        let gone = cancelled
        lock.unlock()
        if gone { for id in ids { cancel(id) } }
        return !gone
    }

    func cancelAll() {
        lock.lock()
        cancelled = true
        let all = queued
        lock.unlock()
        for q in all { q.cancel(q.id) }
    }
}
