import Foundation
import Generation
import Models
import Tensor
import Tokenizers

/// What the service summarizes with: a seq2seq model, its tokenizer and its generation defaults
/// (generation_config.json, then config.json), loaded from one folder.
public final class SummarizationEngine: @unchecked Sendable {
    /// The seq2seq model (BART family or T5) on its backend.
    public let model: any Seq2SeqModel
    /// The model folder's tokenizer.
    public let tokenizer: Tokenizer
    /// The model's generation defaults (generation_config.json, the task's values, `numBeams`).
    public let defaults: GenerationConfig
    /// The name reported in responses (the model spec the operator gave).
    public let name: String
    /// "cpu" or "cuda".
    public let device: String
    /// The weights' type in effect: float32, bfloat16, float16 or int8.
    public let dtype: String
    /// The GPU's name when `device` is "cuda".
    public let gpuName: String?
    /// Why the model runs where it runs (nil: the configuration's reason stands).
    public let deviceReason: String?
    /// config.json's task_specific_params.summarization.prefix ("summarize: " for T5), put before every
    /// text unless a request gives its own `prefix`.
    public let taskPrefix: String

    /// An engine from parts already loaded (tests, and callers that load models themselves).
    public init(model: any Seq2SeqModel, tokenizer: Tokenizer, defaults: GenerationConfig, name: String,
                device: String = "cpu", dtype: String = "float32", gpuName: String? = nil, deviceReason: String? = nil,
                taskPrefix: String = "") {
        self.model = model
        self.tokenizer = tokenizer
        self.defaults = defaults
        self.name = name
        self.device = device
        self.dtype = dtype
        self.gpuName = gpuName
        self.deviceReason = deviceReason
        self.taskPrefix = taskPrefix
    }

    /// Loads the model folder onto `backend` (the CPU's, or a `CUDABackend`, whose tensors are all
    /// `weightType`): its projections and embeddings are held in `weightType` (DTYPE, resolved by
    /// `Placement`); `numBeams` (NUM_BEAMS) replaces the model's default beam count.
    public static func load(folder: URL, name: String, numBeams: Int? = nil, weightType: DType,
                            backend: any Backend, deviceReason: String? = nil) throws -> SummarizationEngine {
        let model = try ModelRegistry.load(folder: folder, backend: backend, weightType: weightType)
        let tokenizer = try Tokenizer.load(from: folder)
        var defaults = try GenerationConfig.model(folder: folder)
        if let n = numBeams { defaults.numBeams = n }
        let gpu = backend as? CUDABackend
        return SummarizationEngine(model: model, tokenizer: tokenizer, defaults: defaults, name: name,
                                   device: gpu == nil ? "cpu" : "cuda", dtype: weightType.userName, gpuName: gpu?.deviceName,
                                   deviceReason: deviceReason, taskPrefix: try SummarizationTask(folder: folder)?.prefix ?? "")
    }

    /// The longest input: the model's positions, or the tokenizer's model_max_length for T5.
    public var maxInputTokens: Int { model.maxInputTokens(tokenizerLimit: tokenizer.modelMaxLength) }

    /// Token ids of `prefix` (nil: the task's) + `text` and whether they were cut to the model's input
    /// limit (as the reference services).
    /// Throws `TokenIdError`, naming the token, when the tokenizer yields an id the model has no embedding for (e.g.
    /// bart-large-cnn: `vocab_size` 50264, `<mask>` = 50264; transformers fails with IndexError there).
    public func inputIds(_ text: String, prefix: String? = nil, truncate: Bool = true) throws -> (ids: [Int], tokens: Int, truncated: Bool) {
        let text = (prefix ?? taskPrefix) + text
        let full = try tokenizer.encode(text, truncation: .none, padding: false).ids
        do { try TokenIdError.check(full, vocabulary: model.vocabularySize) } catch let e as TokenIdError {
            throw e.named(tokenizer.idToToken(e.id))
        }
        if !truncate || full.count <= maxInputTokens { return (full, full.count, false) }
        let cut = try tokenizer.encode(text, truncation: .maxLength(maxInputTokens, .right), padding: false).ids
        return (cut, full.count, true)
    }

    /// Resolves a request's parameters over the model's defaults (transformers' rules).
    public func resolve(_ request: GenerationConfig) throws -> ResolvedGeneration {
        try defaults.resolve(request: request, maxPositions: model.maxPositions)
    }

    /// The text of generated ids, special tokens left out.
    public func text(_ ids: [Int]) -> String { tokenizer.decode(ids, skipSpecialTokens: true) }

    /// What streaming sends next: the ids after the first `from` of `ids` and the text they add to
    /// `emitted` (the text sent so far); nil while that text is not settled (it ends in an incomplete
    /// UTF-8 sequence, or a later token changed earlier text), so concatenated deltas equal the final text.
    public func delta(_ ids: [Int], from: Int, emitted: String) -> (ids: [Int], text: String)? {
        guard ids.count > from else { return nil }
        let text = self.text(ids)
        if text.unicodeScalars.last == "\u{FFFD}" { return nil }
        guard text.utf8.starts(with: emitted.utf8) else { return nil }
        return (Array(ids[from...]), String(text.utf8.dropFirst(emitted.utf8.count))!)
    }

    /// Tokens produced after the decoder start token (forced BOS and EOS included).
    public static func generatedCount(_ ids: [Int]) -> Int { max(0, ids.count - 1) }
}
