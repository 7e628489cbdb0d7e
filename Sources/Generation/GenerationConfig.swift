// Generation parameters with transformers' names. Defaults come from the model's generation_config.json
// (or, without one, the generation fields of its config.json), then transformers' global defaults; a
// request (BrevityKit's SummaryRequest, its fields and their checks) overrides any of them. `resolve` applies transformers' length rules (max_new_tokens,
// min_new_tokens, the default max_length of 20 new tokens).

import Foundation
import Tensor

/// A beam search's stopping rule: JSON true, false or "never"; a Bool literal is `.on` or `.off`.
public enum EarlyStopping: Equatable, Sendable, ExpressibleByBooleanLiteral {
    case on, off, never

    public init(booleanLiteral value: Bool) { self = value ? .on : .off }
}

/// What a request may set, with transformers' names (BrevityKit's `SummaryRequest` holds one; its field
/// table gives each its wire name and bounds). nil keeps the model's value.
public struct GenerationParameters: Equatable, Sendable {
    /// Longest sequence in tokens, the decoder start token included (`max_length`).
    public var maxLength: Int?
    /// Tokens generated after the decoder start token (`max_new_tokens`; wins over `maxLength`).
    public var maxNewTokens: Int?
    /// Shortest sequence in tokens, the decoder start token included (`min_length`).
    public var minLength: Int?
    /// The fewest tokens generated after the decoder start token (`min_new_tokens`).
    public var minNewTokens: Int?
    /// Beams of the beam search; 1 is greedy (`num_beams`).
    public var numBeams: Int?
    /// The exponent of the length a finished beam's score is divided by (`length_penalty`).
    public var lengthPenalty: Double?
    /// A beam search's stopping rule (`early_stopping`: true, false or "never").
    public var earlyStopping: EarlyStopping?
    /// No n-gram of this size appears twice (`no_repeat_ngram_size`; 0 allows repeats).
    public var noRepeatNgramSize: Int?
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
    /// Makes sampling repeatable (the same seed gives the same sequence).
    public var seed: UInt64?

    public init() {}
}

/// A model's generation values (or a request's, in `parameters`), with transformers' names: the parameters
/// a request may set, plus what only the model gives (its special tokens, `num_return_sequences`).
/// `config.maxLength` reads `config.parameters.maxLength`.
@dynamicMemberLookup
public struct GenerationConfig: Equatable, Sendable {
    public var parameters = GenerationParameters()
    public var numReturnSequences: Int?
    public var forcedBosTokenId: Int?
    public var forcedEosTokenId: [Int]?
    public var eosTokenId: [Int]?
    public var padTokenId: Int?
    public var decoderStartTokenId: Int?

    public init() {}

    /// The generation values of a request (nothing of the model's).
    public init(parameters: GenerationParameters) { self.parameters = parameters }

    public subscript<T>(dynamicMember path: WritableKeyPath<GenerationParameters, T>) -> T {
        get { parameters[keyPath: path] }
        set { parameters[keyPath: path] = newValue }
    }

    /// transformers' rule on sampling with beams (beam sampling is not supported here): the reason, or nil.
    /// A request's own values are checked with it (`SummaryRequest.validate`), and so are the resolved ones.
    public static func beamSamplingProblem(doSample: Bool, beams: Int) -> String? {
        doSample && beams > 1 ? "beam sampling (do_sample with num_beams > 1) is not supported" : nil
    }

    /// A model's defaults: generation_config.json when present, else the generation fields of config.json.
    public static func model(folder: URL) throws -> GenerationConfig {
        let gen = folder.appendingPathComponent("generation_config.json")
        let cfg = folder.appendingPathComponent("config.json")
        var c = GenerationConfig()
        if let data = FileManager.default.contents(atPath: gen.path) {
            c = try lenient(try jsonObject(data, gen.path))
            // special tokens missing from generation_config.json still come from config.json
            if let data = FileManager.default.contents(atPath: cfg.path) {
                let m = try lenient(try jsonObject(data, cfg.path))
                c.eosTokenId = c.eosTokenId ?? m.eosTokenId
                c.padTokenId = c.padTokenId ?? m.padTokenId
                c.decoderStartTokenId = c.decoderStartTokenId ?? m.decoderStartTokenId
            }
        } else if let data = FileManager.default.contents(atPath: cfg.path) {
            c = try lenient(try jsonObject(data, cfg.path))
        } else {
            throw GenerationError.invalidParameter("model", "no config.json in \(folder.path)")
        }
        // config.json's task_specific_params.summarization (t5-small, bart-large-cnn) over the model's
        // defaults, as transformers 4.x's summarization pipeline applied them
        if let task = try SummarizationTask(folder: folder) { c = c.overridden(by: task.generation) }
        return c
    }

    /// Reads the known fields of a config file, ignoring the others (and nulls).
    public static func lenient(_ j: [String: Any]) throws -> GenerationConfig {
        var c = GenerationConfig()
        func i(_ k: String) -> Int? { (j[k] as? NSNumber).flatMap { isBool($0) ? nil : $0.intValue } }
        func d(_ k: String) -> Double? { (j[k] as? NSNumber).flatMap { isBool($0) ? nil : $0.doubleValue } }
        func ids(_ k: String) -> [Int]? {
            if let n = i(k) { return [n] }
            return (j[k] as? [NSNumber])?.map(\.intValue)
        }
        c.maxLength = i("max_length"); c.maxNewTokens = i("max_new_tokens")
        c.minLength = i("min_length"); c.minNewTokens = i("min_new_tokens")
        c.numBeams = i("num_beams"); c.numReturnSequences = i("num_return_sequences")
        c.lengthPenalty = d("length_penalty"); c.noRepeatNgramSize = i("no_repeat_ngram_size")
        c.repetitionPenalty = d("repetition_penalty")
        c.doSample = (j["do_sample"] as? NSNumber).map(\.boolValue)
        c.temperature = d("temperature"); c.topK = i("top_k"); c.topP = d("top_p")
        c.forcedBosTokenId = i("forced_bos_token_id"); c.forcedEosTokenId = ids("forced_eos_token_id")
        c.eosTokenId = ids("eos_token_id"); c.padTokenId = i("pad_token_id")
        c.decoderStartTokenId = i("decoder_start_token_id")
        if let e = j["early_stopping"], !(e is NSNull) { c.earlyStopping = try parseEarlyStopping(e, field: "early_stopping") }
        return c
    }

    /// `other`'s set fields over this one's.
    public func overridden(by other: GenerationConfig) -> GenerationConfig {
        var c = self
        c.maxLength = other.maxLength ?? c.maxLength
        c.maxNewTokens = other.maxNewTokens ?? c.maxNewTokens
        c.minLength = other.minLength ?? c.minLength
        c.minNewTokens = other.minNewTokens ?? c.minNewTokens
        c.numBeams = other.numBeams ?? c.numBeams
        c.numReturnSequences = other.numReturnSequences ?? c.numReturnSequences
        c.lengthPenalty = other.lengthPenalty ?? c.lengthPenalty
        c.earlyStopping = other.earlyStopping ?? c.earlyStopping
        c.noRepeatNgramSize = other.noRepeatNgramSize ?? c.noRepeatNgramSize
        c.repetitionPenalty = other.repetitionPenalty ?? c.repetitionPenalty
        c.doSample = other.doSample ?? c.doSample
        c.temperature = other.temperature ?? c.temperature
        c.topK = other.topK ?? c.topK
        c.topP = other.topP ?? c.topP
        c.seed = other.seed ?? c.seed
        c.forcedBosTokenId = other.forcedBosTokenId ?? c.forcedBosTokenId
        c.forcedEosTokenId = other.forcedEosTokenId ?? c.forcedEosTokenId
        c.eosTokenId = other.eosTokenId ?? c.eosTokenId
        c.padTokenId = other.padTokenId ?? c.padTokenId
        c.decoderStartTokenId = other.decoderStartTokenId ?? c.decoderStartTokenId
        return c
    }

    /// transformers' `generate` rules applied to `request` over this model config.
    /// `maxPositions`: the model's max_position_embeddings.
    public func resolve(request: GenerationConfig = GenerationConfig(), maxPositions: Int) throws -> ResolvedGeneration {
        let hasDefaultMaxLength = request.maxLength == nil && self.maxLength == nil
        let c = overridden(by: request)
        let prompt = 1   // the decoder starts from decoder_start_token_id alone
        var r = ResolvedGeneration()
        r.eosTokenIds = c.eosTokenId ?? []
        r.padTokenId = c.padTokenId ?? r.eosTokenIds.first ?? 1
        guard let start = c.decoderStartTokenId ?? r.eosTokenIds.first else {
            throw GenerationError.invalidParameter("decoder_start_token_id", "not set by the model")
        }
        r.decoderStartTokenId = start
        if let n = c.maxNewTokens {
            // bounded before the sum: a request's Int.max must be a 422, not an overflow
            guard n <= maxPositions else {
                throw GenerationError.invalidParameter("max_new_tokens", "\(n) exceeds the model's \(maxPositions) positions")
            }
            // transformers ignores max_length beside max_new_tokens; one out of range is still refused
            if let given = request.maxLength, given <= prompt || given - 1 > maxPositions {
                throw GenerationError.invalidParameter("max_length", "\(given) is outside 2...\(maxPositions + 1) (the model's positions + 1)")
            }
            r.maxLength = n + prompt
        } else if hasDefaultMaxLength {
            r.maxLength = min(20 + prompt, maxPositions)
        } else {
            r.maxLength = c.maxLength!
        }
        r.minLength = c.minNewTokens.map { $0 > Int.max - prompt ? Int.max : $0 + prompt } ?? c.minLength ?? 0
        r.minNewTokens = c.minNewTokens ?? 0
        r.numBeams = c.numBeams ?? 1
        r.numReturnSequences = c.numReturnSequences ?? 1
        r.lengthPenalty = Float(c.lengthPenalty ?? 1)
        r.earlyStopping = c.earlyStopping ?? .off
        r.noRepeatNgramSize = c.noRepeatNgramSize ?? 0
        r.repetitionPenalty = Float(c.repetitionPenalty ?? 1)
        r.doSample = c.doSample ?? false
        r.temperature = Float(c.temperature ?? 1)
        r.topK = c.topK ?? 50
        r.topP = Float(c.topP ?? 1)
        r.seed = c.seed ?? 0
        r.forcedBosTokenId = c.forcedBosTokenId
        r.forcedEosTokenIds = c.forcedEosTokenId
        // validation (transformers raises on the same)
        guard r.maxLength > prompt else {
            throw GenerationError.invalidParameter("max_length", "must exceed the decoder prompt length (1), got \(r.maxLength)")
        }
        guard r.maxLength - 1 <= maxPositions else {
            throw GenerationError.invalidParameter("max_length", "\(r.maxLength) exceeds the model's \(maxPositions) positions + 1")
        }
        if r.numReturnSequences > r.numBeams && !r.doSample {
            throw GenerationError.invalidParameter("num_return_sequences",
                                                   "\(r.numReturnSequences) is larger than num_beams (\(r.numBeams))")
        }
        if let why = Self.beamSamplingProblem(doSample: r.doSample, beams: r.numBeams) {
            throw GenerationError.invalidParameter("do_sample", why)
        }
        if r.doSample && r.numReturnSequences > 1 {
            throw GenerationError.invalidParameter("num_return_sequences", "more than one sampled sequence is not supported")
        }
        return r
    }
}

/// Every parameter decided: what one request generates with.
public struct ResolvedGeneration: Equatable, Sendable {
    public var maxLength = 21
    public var minLength = 0
    public var minNewTokens = 0
    public var numBeams = 1
    public var numReturnSequences = 1
    public var lengthPenalty: Float = 1
    public var earlyStopping: EarlyStopping = .off
    public var noRepeatNgramSize = 0
    public var repetitionPenalty: Float = 1
    public var doSample = false
    public var temperature: Float = 1
    public var topK = 50
    public var topP: Float = 1
    public var seed: UInt64 = 0
    public var forcedBosTokenId: Int?
    public var forcedEosTokenIds: [Int]?
    public var eosTokenIds: [Int] = [2]
    public var padTokenId = 1
    public var decoderStartTokenId = 2

    public init() {}
}

extension ResolvedGeneration {
    /// The special ids the search writes or masks must index the model's logits.
    public func checkTokenIds(vocabulary v: Int) throws {
        let named: [(String, [Int])] = [("decoder_start_token_id", [decoderStartTokenId]), ("eos_token_id", eosTokenIds),
                                        ("forced_bos_token_id", forcedBosTokenId.map { [$0] } ?? []),
                                        ("forced_eos_token_id", forcedEosTokenIds ?? [])]
        for (field, ids) in named {
            if let bad = ids.first(where: { $0 < 0 || $0 >= v }) {
                throw GenerationError.invalidParameter(field, "\(bad) is outside the model's vocabulary of \(v)")
            }
        }
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String, String)
    case inputTooLong(Int, Int)
    /// Input `input` of a batch holds a token id the model has no embedding for.
    case tokenOutOfVocabulary(input: Int, TokenIdError)

    public var description: String {
        switch self {
        case let .tokenOutOfVocabulary(input, e): return "input \(input): \(e)"
        case let .invalidParameter(field, why): return "invalid generation parameter '\(field)': \(why)"
        case let .inputTooLong(n, max): return "input of \(n) tokens exceeds the model's \(max) positions"
        }
    }
}

// MARK: - JSON helpers

// JSONSerialization gives true/false as NSNumber of objCType "c" (Bool) on Linux and Darwin alike.
private func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

private func jsonObject(_ data: Data, _ path: String) throws -> [String: Any] {
    guard let j = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw GenerationError.invalidParameter(path, "not a JSON object")
    }
    return j
}

private func parseEarlyStopping(_ v: Any, field: String) throws -> EarlyStopping {
    if let n = v as? NSNumber, isBool(n) { return n.boolValue ? .on : .off }
    if let s = v as? String, s == "never" { return .never }
    throw GenerationError.invalidParameter(field, "must be true, false or \"never\", got \(v)")
}
