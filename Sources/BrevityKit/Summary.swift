import Extractive
import Foundation

/// A summary: its text, and for abstractive models the generated token ids.
public struct Summary: Sendable, Equatable {
    /// The summary, special tokens left out.
    public var text: String
    /// What transformers' `generate` returns for the input alone: the decoder start token first, forced
    /// BOS/EOS included, no padding. Empty for extractive summaries.
    public var tokenIds: [Int]
    /// Tokens of the input (before any cut; the embedder's tokenizer for extractive summaries).
    public var inputTokens: Int
    /// Whether the input was cut to the model's limit.
    public var truncated: Bool
    /// Extractive: the chosen sentences, in document order.
    public var sentences: [ExtractiveSummary.Sentence]
}

/// A piece of a streamed summary: new token ids and the text they add. Concatenated, the texts are the
/// summary's text; greedy and sampled summaries stream a token at a time, a beam search's as its tokens
/// settle (once every beam and finished hypothesis begins with them; the rest when the search ends), an
/// extractive summary in one piece.
public struct SummaryDelta: Sendable, Equatable {
    /// Token ids generated since the previous piece.
    public var tokenIds: [Int]
    /// The text they add to the summary.
    public var text: String

    /// The last piece of a stream once its summary is whole (`text`, `ids`): the ids after the `sent`
    /// already streamed and the text after `emitted` (all of it when `emitted` is not its start); nil when
    /// nothing is left. A beam search's whole summary, an extractive one, or the last characters.
    public static func rest(of text: String, ids: [Int], sent: Int, emitted: String) -> SummaryDelta? {
        let tail = text.utf8.starts(with: emitted.utf8) ? String(text.utf8.dropFirst(emitted.utf8.count))! : text
        let more = Array(ids.dropFirst(min(sent, ids.count)))
        return tail.isEmpty && more.isEmpty ? nil : SummaryDelta(tokenIds: more, text: tail)
    }
}

/// Why a call was refused before any work: an option or a text, named.
public enum SummarizerError: Error, CustomStringConvertible, Equatable {
    /// An option out of range, named as transformers names it ("max_length", "top_p").
    case invalidOption(String, String)
    /// Input `index` cannot be summarized (empty, or too long with `truncation: .error`).
    case invalidText(Int, String)

    /// The field or text and the reason, for a person.
    public var description: String {
        switch self {
        case let .invalidOption(field, why): return "\(field): \(why)"
        case let .invalidText(index, why): return "texts[\(index)]: \(why)"
        }
    }
}
