import Extractive
import Foundation
import Generation

/// Everything a caller may ask of a summary, on every surface: the library's ``Summarizer``, `brevity
/// summarize` and the service's `POST /summarize` all build one. Generation values have transformers'
/// names and nil keeps the model's `generation_config.json` value.
///
/// ```swift
/// var request = SummaryRequest(maxLength: 60, minLength: 10)
/// request.numBeams = 2
/// ```
///
/// ``fields`` is the one list of the wire fields: the service's JSON reader, `--params` and the OpenAPI
/// document are written from it, and ``validate()`` is the one check of every value however it arrived.
@dynamicMemberLookup
public struct SummaryRequest: Sendable, Equatable {
    /// transformers' generation parameters (`request.numBeams` reads `request.parameters.numBeams`); nil
    /// keeps the model's value.
    public var parameters = GenerationParameters()
    /// Text put before each input (nil: the model's task prefix, "summarize: " for T5; "" for none).
    public var prefix: String?
    /// An input longer than the model takes is cut to fit (the services' rule), summarized in pieces, or refused.
    public var truncation: Truncation = .cut
    /// Abstractive or extractive; nil takes what the model (or the service's default) makes.
    public var mode: SummaryMode?
    /// Extractive: how long. `num_sentences` and `ratio` on the wire; nil takes `maxNewTokens` or
    /// `maxLength` as a token budget with the minimum, else three sentences.
    public var length: SummaryLength?
    /// Extractive: how sentences are chosen (nil: `ExtractiveStrategy.default`, position).
    public var strategy: ExtractiveStrategy?
    /// Abstractive: drafted tokens a decoder pass checks (0: none; nil: the runtime's setting, which drafts
    /// for greedy decoding only). Drafting never changes the summary, only how many passes make it.
    public var draftTokens: Int?
    /// Inputs decoding together at most when one call gives several (the library's; the service batches
    /// by its own limits).
    public var maxBatchSize = 8

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

        /// The wire names of `truncation`: Brevity's (`truncate` cuts), then the Hugging Face inference
        /// spec's (one text, so every cutting strategy cuts it; `do_not_truncate` leaves a text past the
        /// window an error, as transformers fails on it).
        public static let wireNames: [(name: String, value: Truncation)] = [
            ("truncate", .cut), ("chunk", .chunk), ("error", .error),
            ("longest_first", .cut), ("only_first", .cut), ("only_second", .cut), ("do_not_truncate", .error),
        ]
    }

    /// A request with the most used values given; the others are set as properties.
    public init(maxLength: Int? = nil, minLength: Int? = nil, numBeams: Int? = nil, doSample: Bool? = nil,
                temperature: Double? = nil, topP: Double? = nil, length: SummaryLength? = nil,
                strategy: ExtractiveStrategy? = nil) {
        parameters.maxLength = maxLength
        parameters.minLength = minLength
        parameters.numBeams = numBeams
        parameters.doSample = doSample
        parameters.temperature = temperature
        parameters.topP = topP
        self.length = length
        self.strategy = strategy
    }

    /// The one check of a request's values, however they arrived (a JSON body, `--params`, a library
    /// caller): each field within its ``fields`` bounds, and the rules that hold whatever the model's
    /// defaults. The error names the field as the wire does ("top_p").
    public func validate() throws {
        for field in Self.fields {
            guard let value = field.read(self), let why = field.problem(value) else { continue }
            throw SummarizerError.invalidOption(field.spec.name, why)
        }
        if let why = GenerationConfig.beamSamplingProblem(doSample: parameters.doSample ?? false, beams: parameters.numBeams ?? 1) {
            throw SummarizerError.invalidOption("do_sample", why)
        }
        guard maxBatchSize >= 1 else { throw SummarizerError.invalidOption("max_batch_size", "must be at least 1") }
    }

    /// A generation parameter: `request.numBeams = 2`.
    public subscript<T>(dynamicMember path: WritableKeyPath<GenerationParameters, T>) -> T {
        get { parameters[keyPath: path] }
        set { parameters[keyPath: path] = newValue }
    }

    /// The generation values this request sets, over which the model's defaults are resolved.
    public var generation: GenerationConfig { GenerationConfig(parameters: parameters) }

    /// The extractive length asked for: `length`, else `maxNewTokens` or `maxLength` as a budget of the
    /// embedder's tokens with `minNewTokens` or `minLength` as its minimum, else three sentences.
    public var extractiveLength: SummaryLength {
        length ?? .requested(sentences: nil, ratio: nil, maxTokens: parameters.maxNewTokens ?? parameters.maxLength,
                             minTokens: parameters.minNewTokens ?? parameters.minLength)
    }
}

/// The library's earlier name for ``SummaryRequest``.
@available(*, deprecated, renamed: "SummaryRequest")
public typealias SummaryOptions = SummaryRequest

// MARK: - The fields

extension SummaryRequest {
    /// A value as a request gives it: the service's JSON reader makes one of the field's kind.
    public enum FieldValue: Sendable, Equatable {
        /// An integer (exact up to 2^63 - 1).
        case integer(Int64)
        /// A number.
        case number(Double)
        /// true or false.
        case boolean(Bool)
        /// A string (also the names of a choice, and early_stopping's "never").
        case string(String)

        var number: Double? {
            switch self {
            case let .integer(n): return Double(n)
            case let .number(d): return d
            case .boolean, .string: return nil
            }
        }
    }

    /// One wire field: its name, JSON type and bounds, and where the request keeps it.
    public struct Field: @unchecked Sendable {
        /// Name, type, bounds and description.
        public let spec: RequestFieldSpec
        /// A transformers generation parameter, kept in `parameters` (the ones `brevity summarize --params` takes).
        public let isGeneration: Bool
        let assign: (inout SummaryRequest, FieldValue) -> String?
        let read: (SummaryRequest) -> FieldValue?

        /// Sets the field in `request` from `value` (of the field's kind); the reason when it cannot hold
        /// it (a name that is not one of a choice's, a value of another kind). Bounds are `validate`'s.
        public func set(_ value: FieldValue, in request: inout SummaryRequest) -> String? { assign(&request, value) }

        /// Why `value` is out of the field's bounds, or nil.
        func problem(_ value: FieldValue) -> String? {
            if case let .string(s) = value, let most = spec.maxLength, s.unicodeScalars.count > most {
                return "must be a string of at most \(most) characters, got \(s.unicodeScalars.count)"
            }
            guard let v = value.number else { return nil }
            guard v.isFinite else { return "must be a finite number, got \(v)" }
            if spec.kind == .integer, spec.maximum == nil, abs(v) > RequestFieldSpec.largestInteger {
                return "must be an integer below 10^15, got \(RequestFieldSpec.format(v))"
            }
            return spec.rangeProblem(v)
        }
    }

    /// The most drafted tokens a request or the runtime may ask a pass to check.
    public static let maxDraftTokens = 32

    /// Every field a request may give on the wire, in the order the service reads and documents them:
    /// transformers' generation parameters, then Brevity's own.
    public static let fields: [Field] = [
        .integer("num_beams", \.numBeams, minimum: 1),
        .integer("max_length", \.maxLength, minimum: 2),   // the decoder start token and one more
        .integer("min_length", \.minLength, minimum: 0),
        .integer("max_new_tokens", \.maxNewTokens, minimum: 1),
        .integer("min_new_tokens", \.minNewTokens, minimum: 0),
        .number("length_penalty", \.lengthPenalty),
        .integer("no_repeat_ngram_size", \.noRepeatNgramSize, minimum: 0),
        Field(spec: RequestFieldSpec("early_stopping", .booleanOrNever), isGeneration: true,
              assign: { r, v in
                  switch v {
                  case let .boolean(b): r.earlyStopping = b ? .on : .off
                  case .string("never"): r.earlyStopping = .never
                  default: return "must be true, false or \"never\""
                  }
                  return nil
              },
              read: { r in r.earlyStopping.map { $0 == .never ? .string("never") : .boolean($0 == .on) } }),
        .number("repetition_penalty", \.repetitionPenalty, exclusiveMinimum: 0),
        Field(spec: RequestFieldSpec("do_sample", .boolean), isGeneration: true,
              assign: { r, v in
                  guard case let .boolean(b) = v else { return "must be true or false" }
                  r.doSample = b
                  return nil
              },
              read: { r in r.doSample.map { .boolean($0) } }),
        .number("temperature", \.temperature, exclusiveMinimum: 0),
        .integer("top_k", \.topK, minimum: 0),
        .number("top_p", \.topP, minimum: 0, maximum: 1),
        // 2^63 - 1: an integer literal exactly, or an integral double below 2^63
        Field(spec: RequestFieldSpec("seed", .integer, minimum: 0, maximum: Double(Int64.max)), isGeneration: true,
              assign: { r, v in
                  guard case let .integer(n) = v, n >= 0 else { return "must be an integer in 0...2^63-1" }
                  r.seed = UInt64(n)
                  return nil
              },
              read: { r in r.seed.map { $0 > UInt64(Int64.max) ? .number(Double($0)) : .integer(Int64($0)) } }),
        .choice("truncation", Truncation.wireNames, \.truncation,
                description: "Abstractive inputs past the model's window: cut (default), summarize in chunks then summarize the summaries, or 422; the HF inference spec's values: longest_first, only_first and only_second cut, do_not_truncate is 422"),
        .choice("mode", SummaryMode.allCases.map { ($0.rawValue, $0) }, \.mode,
                description: "How summaries are made; left out, the service's default (GET /health says which); 422 when the service has no model for it"),
        Field(spec: RequestFieldSpec("num_sentences", .integer, minimum: 1, maximum: 10_000, description: "Extractive: sentences to keep"),
              isGeneration: false,
              assign: { r, v in
                  guard case let .integer(n) = v else { return "must be an integer" }
                  if case .ratio = r.length { return "give num_sentences or ratio, not both" }
                  r.length = .sentences(Int(clamping: n))
                  return nil
              },
              read: { r in if case let .sentences(n) = r.length { return .integer(Int64(n)) } else { return nil } }),
        Field(spec: RequestFieldSpec("ratio", .number, exclusiveMinimum: 0, maximum: 1,
                                     description: "Extractive: the fraction of the input's sentences to keep (not with num_sentences)"),
              isGeneration: false,
              assign: { r, v in
                  guard let d = v.number else { return "must be a number" }
                  if case .sentences = r.length { return "give num_sentences or ratio, not both" }
                  r.length = .ratio(d)
                  return nil
              },
              read: { r in if case let .ratio(d) = r.length { return .number(d) } else { return nil } }),
        Field(spec: RequestFieldSpec("prefix", .string, maxLength: 1000,
                                     description: "Abstractive: text put before every input; left out, the model's task prefix (config.json task_specific_params.summarization.prefix, \"summarize: \" for T5); \"\" for none"),
              isGeneration: false,
              assign: { r, v in
                  guard case let .string(s) = v else { return "must be a string (\"\" for none)" }
                  r.prefix = s
                  return nil
              },
              read: { r in r.prefix.map { .string($0) } }),
        Field(spec: RequestFieldSpec("draft_tokens", .integer, minimum: 0, maximum: Double(SummaryRequest.maxDraftTokens),
                                     description: "Abstractive: tokens proposed from the input that one decoder pass checks (0: none); left out, the service's setting (--draft-tokens), which drafts for greedy decoding only. Never changes the summary: ids are those of decoding without drafts"),
              isGeneration: false,
              assign: { r, v in
                  guard case let .integer(n) = v else { return "must be an integer" }
                  r.draftTokens = Int(clamping: n)
                  return nil
              },
              read: { r in r.draftTokens.map { .integer(Int64($0)) } }),
        .choice("strategy", ExtractiveStrategy.allCases.map { ($0.rawValue, $0) }, \.strategy,
                description: "Extractive: how sentences are chosen. position (default): the cleaned document's informative sentences in order, the best on news (BENCHMARKS.md); pacsum: directed centrality over sentence embeddings; centrality: mean cosine with maximal marginal relevance; lead: the first sentences"),
    ]
}

extension SummaryRequest.Field {
    /// A transformers integer parameter kept at `path` of the parameters.
    static func integer(_ name: String, _ path: WritableKeyPath<GenerationParameters, Int?>, minimum: Double? = nil) -> Self {
        let path = (\SummaryRequest.parameters).appending(path: path)
        return Self(spec: RequestFieldSpec(name, .integer, minimum: minimum), isGeneration: true,
             assign: { r, v in
                 guard case let .integer(n) = v else { return "must be an integer" }
                 r[keyPath: path] = Int(n)
                 return nil
             },
             read: { r in r[keyPath: path].map { .integer(Int64($0)) } })
    }

    /// A transformers number parameter.
    static func number(_ name: String, _ path: WritableKeyPath<GenerationParameters, Double?>,
                       minimum: Double? = nil, exclusiveMinimum: Double? = nil, maximum: Double? = nil) -> Self {
        let path = (\SummaryRequest.parameters).appending(path: path)
        return Self(spec: RequestFieldSpec(name, .number, minimum: minimum, exclusiveMinimum: exclusiveMinimum, maximum: maximum),
             isGeneration: true,
             assign: { r, v in
                 guard let d = v.number else { return "must be a number" }
                 r[keyPath: path] = d
                 return nil
             },
             read: { r in r[keyPath: path].map { .number($0) } })
    }

    /// One of `names`' strings, each naming a value kept at `path`.
    static func choice<T: Equatable>(_ name: String, _ names: [(name: String, value: T)], _ path: WritableKeyPath<SummaryRequest, T?>,
                                     description: String) -> Self {
        let kind = RequestFieldSpec.Kind.choice(names.map(\.name))
        return Self(spec: RequestFieldSpec(name, kind, description: description), isGeneration: false,
                    assign: { r, v in
                        guard case let .string(s) = v, let value = names.first(where: { $0.name == s })?.value else {
                            return "must be one of " + names.map { RequestFieldSpec.quote($0.name) }.joined(separator: ", ")
                        }
                        r[keyPath: path] = value
                        return nil
                    },
                    read: { r in r[keyPath: path].flatMap { v in names.first { $0.value == v }.map { .string($0.name) } } })
    }

    /// A choice whose value always has one (truncation: `.cut` when left out).
    static func choice<T: Equatable>(_ name: String, _ names: [(name: String, value: T)], _ path: WritableKeyPath<SummaryRequest, T>,
                                     description: String) -> Self {
        let optional = choice(name, names, \SummaryRequest.[optional: path], description: description)
        return Self(spec: optional.spec, isGeneration: false, assign: optional.assign, read: { _ in nil })
    }
}

private extension SummaryRequest {
    /// `path`'s value as an optional (set only with a value).
    subscript<T>(optional path: WritableKeyPath<SummaryRequest, T>) -> T? {
        get { self[keyPath: path] }
        set { if let newValue { self[keyPath: path] = newValue } }
    }
}
