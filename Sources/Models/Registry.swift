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

        /// "summarizer", "sentence encoder".
        public var name: String { self == .summarizer ? "summarizer" : "sentence encoder" }
    }

    public struct Architecture: Sendable {
        public let role: Role
        /// config.json's bytes, its path (for errors), the checkpoint -> the model
        let build: @Sendable (Data, String, WeightStore) throws -> Any

        static func summarizer<M: ConfiguredModel & Seq2SeqModel>(_ type: M.Type) -> Architecture { of(M.self, role: .summarizer) }
        static func sentenceEncoder<M: ConfiguredModel>(_ type: M.Type) -> Architecture { of(M.self, role: .sentenceEncoder) }

        private static func of<M: ConfiguredModel>(_ type: M.Type, role: Role) -> Architecture {
            Architecture(role: role) { json, path, weights in try M(config: try decode(M.Config.self, json, path: path), weights: weights) }
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
        [Role.summarizer, .sentenceEncoder].map { "\(supported($0).joined(separator: ", ")) (\($0.name)s)" }.joined(separator: "; ")
    }

    public static func supported(_ role: Role) -> [String] {
        architectures.filter { $0.value.role == role }.keys.sorted()
    }

    /// Loads the summarizer in `folder` (config.json + weights) by its `model_type`, its projections and
    /// embedding tables held as `weightType`.
    public static func load(folder: URL, backend: any Backend, weightType: DType = .f32) throws
        -> any Seq2SeqModel {
        try build(folder: folder, role: .summarizer, backend: backend, weightType: weightType) as! any Seq2SeqModel
    }

    /// Loads the sentence encoder in `folder` (extractive mode).
    public static func loadEncoder(folder: URL, backend: any Backend, weightType: DType = .f32) throws
        -> BertModel {
        try build(folder: folder, role: .sentenceEncoder, backend: backend, weightType: weightType) as! BertModel
    }

    /// The `model_type` of config.json in `folder` (BART's when absent, as transformers' BartConfig).
    public static func modelType(folder: URL) throws -> String {
        try modelType(try configData(folder), path: configPath(folder))
    }

    static func modelType(_ json: Data, path: String) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw ModelError.invalidConfig("\(path) is not a JSON object")
        }
        return object["model_type"] as? String ?? "bart"
    }

    static func build(folder: URL, role: Role, backend: any Backend, weightType: DType) throws -> Any {
        let json = try configData(folder), path = configPath(folder)
        let type = try modelType(json, path: path)
        guard let arch = architectures[type] else {
            throw ModelError.unsupported("model_type '\(type)' is not supported (supported: \(supportedDescription))")
        }
        guard arch.role == role else {
            throw ModelError.unsupported("model_type '\(type)' is a \(arch.role.name), not a \(role.name) (supported: \(supportedDescription))")
        }
        return try arch.build(json, path, try WeightStore(folder: folder, backend: backend, weightType: weightType))
    }

    /// config.json in `folder` decoded as `type`.
    public static func decodeConfig<C: Decodable>(_ type: C.Type, folder: URL) throws -> C {
        try decode(type, try configData(folder), path: configPath(folder))
    }

    static func decode<C: Decodable>(_ type: C.Type, _ json: Data, path: String) throws -> C {
        do {
            return try JSONDecoder().decode(type, from: json)
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError.invalidConfig("\(path): \(error)")
        }
    }

    static func configPath(_ folder: URL) -> String { folder.appendingPathComponent("config.json").path }

    static func configData(_ folder: URL) throws -> Data {
        let url = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError.missingFile("config.json (\(folder.path))")
        }
        return data
    }
}
