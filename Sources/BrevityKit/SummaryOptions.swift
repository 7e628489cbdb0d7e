import Extractive
import Foundation
import Generation

/// How to summarize: transformers' generation parameters (abstractive models; nil keeps the model's
/// `generation_config.json` value, as `POST /summarize` does) and the extractive length and strategy.
///
/// ```swift
/// var options = SummaryOptions(maxLength: 60, minLength: 10)
/// options.numBeams = 2
/// ```
public struct SummaryOptions: Sendable, Equatable {
    /// Longest summary in tokens, the decoder start token included (transformers' `max_length`).
    public var maxLength: Int?
    /// Shortest summary in tokens, the decoder start token included (`min_length`).
    public var minLength: Int?
    /// Tokens generated after the decoder start token (win over `maxLength` / `minLength`).
    public var maxNewTokens: Int?
    /// The fewest tokens generated after the decoder start token (`min_new_tokens`).
    public var minNewTokens: Int?
    /// Beams of the beam search; 1 is greedy (`num_beams`).
    public var numBeams: Int?
    /// The exponent of the length a finished beam's score is divided by (`length_penalty`).
    public var lengthPenalty: Double?
    /// No n-gram of this size appears twice in a summary (`no_repeat_ngram_size`; 0 allows repeats).
    public var noRepeatNgramSize: Int?
    /// `true` stops a beam search once `numBeams` hypotheses are done, `false` uses transformers' heuristic.
    public var earlyStopping: Bool?
    /// Scores of tokens already generated are divided (or multiplied, when negative) by this (`repetition_penalty`).
    public var repetitionPenalty: Double?
    /// Sampling instead of a search (one beam only), with `temperature`, `topK`, `topP` and `seed`.
    public var doSample: Bool?
    /// Sampling: logits are divided by this (> 0).
    public var temperature: Double?
    /// Sampling: only the k likeliest tokens (0 for all).
    public var topK: Int?
    /// Sampling: only the likeliest tokens whose probabilities add up to p (nucleus sampling, 0...1).
    public var topP: Double?
    /// Makes sampling repeatable (the same seed gives the same summary).
    public var seed: UInt64?
    /// Text put before each input (nil: the model's task prefix, "summarize: " for T5; "" for none).
    public var prefix: String?
    /// An input longer than the model takes is cut to fit (the services' rule), summarized in pieces, or refused.
    public var truncation: Truncation = .cut
    /// Inputs decoding together at most when several are given.
    public var maxBatchSize = 8

    /// Extractive: how long (nil: `maxNewTokens` or `maxLength` as a token budget with the minimum, else
    /// three sentences, as the service reads a request).
    public var length: SummaryLength?
    /// Extractive: how sentences are chosen.
    public var strategy: ExtractiveStrategy = .default

    /// What happens to an input longer than the model takes.
    public enum Truncation: String, Sendable, Equatable {
        /// Cut to the model's limit, as transformers' pipeline and the original services do.
        case cut
        /// Cut at sentence boundaries into pieces that fit, the pieces summarized and their summaries
        /// summarized again (map-reduce, ``ChunkedSummary``), as the service's `truncation: "chunk"`.
        /// Not with ``Summarizer/stream(_:options:)`` for an input that needs it.
        case chunk
        /// Refused with ``SummarizerError/invalidText(_:_:)``.
        case error
    }

    /// Options with the most used values given; the others are set as properties.
    public init(maxLength: Int? = nil, minLength: Int? = nil, numBeams: Int? = nil, doSample: Bool? = nil,
                temperature: Double? = nil, topP: Double? = nil, length: SummaryLength? = nil,
                strategy: ExtractiveStrategy = .default) {
        self.maxLength = maxLength
        self.minLength = minLength
        self.numBeams = numBeams
        self.doSample = doSample
        self.temperature = temperature
        self.topP = topP
        self.length = length
        self.strategy = strategy
    }

    /// The generation request, checked where every request's values are (`GenerationConfig.validateRequest`),
    /// so errors name the same fields as the service's (transformers' names: "max_length", "top_p", ...).
    func generation() throws -> GenerationConfig {
        var c = GenerationConfig()
        c.maxLength = maxLength; c.minLength = minLength
        c.maxNewTokens = maxNewTokens; c.minNewTokens = minNewTokens
        c.numBeams = numBeams; c.lengthPenalty = lengthPenalty
        c.noRepeatNgramSize = noRepeatNgramSize; c.earlyStopping = earlyStopping.map { $0 ? .on : .off }
        c.repetitionPenalty = repetitionPenalty; c.doSample = doSample
        c.temperature = temperature; c.topK = topK; c.topP = topP; c.seed = seed
        do { try c.validateRequest() } catch let GenerationError.invalidParameter(field, why) {
            throw SummarizerError.invalidOption(field, why)
        }
        return c
    }

    /// The extractive length these options ask for.
    var extractiveLength: SummaryLength {
        length ?? .requested(sentences: nil, ratio: nil, maxTokens: maxNewTokens ?? maxLength,
                             minTokens: minNewTokens ?? minLength)
    }
}

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
/// summary's text; greedy and sampled summaries stream a token at a time, a beam search's arrives when
/// the search ends (its best beam is known only then), an extractive summary in one piece.
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
