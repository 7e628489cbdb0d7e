// Models by `model_type`: config.json is decoded once into the architecture's own config, and adding an
// architecture is one line in `architectures`.

import Foundation
import NN
import Tensor

public enum ModelError: Error, CustomStringConvertible {
    case invalidConfig(String)
    case missingFile(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case let .invalidConfig(m): return "invalid config.json: \(m)"
        case let .missingFile(m): return "model folder is missing \(m)"
        case let .unsupported(m): return m
        }
    }
}

/// An architecture built from its decoded config and the checkpoint's weights.
public protocol ConfiguredModel {
    associatedtype Config: Decodable
    init(config: Config, weights: WeightStore) throws
}

extension BartFamilyModel: ConfiguredModel {}
extension T5ForConditionalGeneration: ConfiguredModel {}
extension BertModel: ConfiguredModel {}

public enum ModelRegistry {
    /// What a model type is for.
    public enum Role: String, Sendable {
        case summarizer          // encoder-decoder generation (abstractive mode)
        case sentenceEncoder     // sentence embeddings (extractive mode)
    }

    public struct Architecture: Sendable {
        public let role: Role
        let build: @Sendable (Data, WeightStore) throws -> Any

        static func summarizer<M: ConfiguredModel & Seq2SeqModel>(_ type: M.Type) -> Architecture {
            Architecture(role: .summarizer) { json, weights in try M(config: try decode(M.Config.self, json), weights: weights) }
        }
        static func sentenceEncoder<M: ConfiguredModel>(_ type: M.Type) -> Architecture {
            Architecture(role: .sentenceEncoder) { json, weights in try M(config: try decode(M.Config.self, json), weights: weights) }
        }
    }

    public static let architectures: [String: Architecture] = [
        "bart": .summarizer(BartFamilyModel.self),
        "mbart": .summarizer(BartFamilyModel.self),
        "pegasus": .summarizer(BartFamilyModel.self),
        "t5": .summarizer(T5ForConditionalGeneration.self),
        "bert": .sentenceEncoder(BertModel.self),
    ]

    /// "bart, mbart, pegasus, t5 (summarizers); bert (sentence encoders)".
    public static var supportedDescription: String {
        func names(_ role: Role) -> String {
            architectures.filter { $0.value.role == role }.keys.sorted().joined(separator: ", ")
        }
        return "\(names(.summarizer)) (summarizers); \(names(.sentenceEncoder)) (sentence encoders)"
    }

    public static func supported(_ role: Role) -> [String] {
        architectures.filter { $0.value.role == role }.keys.sorted()
    }

    /// Loads the summarizer in `folder` (config.json + weights) by its `model_type`, its projections and
    /// embedding tables held as `weightType`.
    public static func load(folder: URL, backend: any Backend = CPUBackend.shared, weightType: DType = .f32) throws
        -> any Seq2SeqModel {
        try build(folder: folder, role: .summarizer, backend: backend, weightType: weightType) as! any Seq2SeqModel
    }

    /// Loads the sentence encoder in `folder` (extractive mode).
    public static func loadEncoder(folder: URL, backend: any Backend = CPUBackend.shared, weightType: DType = .f32) throws
        -> BertModel {
        try build(folder: folder, role: .sentenceEncoder, backend: backend, weightType: weightType) as! BertModel
    }

    /// The `model_type` of config.json in `folder` (BART's when absent, as transformers' BartConfig).
    public static func modelType(folder: URL) throws -> String {
        let json = try configData(folder)
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw ModelError.invalidConfig("\(folder.appendingPathComponent("config.json").path) is not a JSON object")
        }
        return object["model_type"] as? String ?? "bart"
    }

    static func build(folder: URL, role: Role, backend: any Backend, weightType: DType) throws -> Any {
        let type = try modelType(folder: folder)
        guard let arch = architectures[type] else {
            throw ModelError.unsupported("model_type '\(type)' is not supported (supported: \(supportedDescription))")
        }
        guard arch.role == role else {
            throw ModelError.unsupported("model_type '\(type)' is a \(arch.role == .summarizer ? "summarizer" : "sentence encoder"), not a \(role == .summarizer ? "summarizer" : "sentence encoder") (supported: \(supportedDescription))")
        }
        let json = try configData(folder)
        return try arch.build(json, try WeightStore(folder: folder, backend: backend, weightType: weightType))
    }

    /// config.json in `folder` decoded as `type`.
    public static func decodeConfig<C: Decodable>(_ type: C.Type, folder: URL) throws -> C {
        try decode(type, try configData(folder), path: folder.appendingPathComponent("config.json").path)
    }

    static func decode<C: Decodable>(_ type: C.Type, _ json: Data, path: String = "config.json") throws -> C {
        do {
            return try JSONDecoder().decode(type, from: json)
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError.invalidConfig("\(path): \(error)")
        }
    }

    static func configData(_ folder: URL) throws -> Data {
        let url = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError.missingFile("config.json (\(folder.path))")
        }
        return data
    }
}
