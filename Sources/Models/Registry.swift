// Models by `model_type`: adding an architecture is one line in `architectures`.

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

public enum ModelRegistry {
    public static let architectures: [String: (URL, any Backend, DType) throws -> any Seq2SeqModel] = [
        "bart": { try BartForConditionalGeneration(folder: $0, backend: $1, weightType: $2) },
        "mbart": { try BartForConditionalGeneration(folder: $0, backend: $1, weightType: $2) },
    ]

    /// Loads the model in `folder` (config.json + safetensors) by its `model_type`, its projections and
    /// embedding tables held as `weightType`.
    public static func load(folder: URL, backend: any Backend = CPUBackend.shared, weightType: DType = .f32) throws
        -> any Seq2SeqModel {
        let json = try readConfigJSON(folder)
        let type = json["model_type"] as? String ?? "bart"
        guard let make = architectures[type] else {
            throw ModelError.unsupported("model_type '\(type)' is not supported (known: \(architectures.keys.sorted().joined(separator: ", ")))")
        }
        return try make(folder, backend, weightType)
    }

    static func readConfigJSON(_ folder: URL) throws -> [String: Any] {
        let url = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError.missingFile("config.json (\(folder.path))")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.invalidConfig("\(url.path) is not a JSON object")
        }
        return json
    }
}

extension BartConfig {
    public static func load(from folder: URL) throws -> BartConfig {
        let url = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError.missingFile("config.json (\(folder.path))")
        }
        do {
            return try JSONDecoder().decode(BartConfig.self, from: data)
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError.invalidConfig("\(url.path): \(error)")
        }
    }
}
