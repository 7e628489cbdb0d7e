import BrevityKit
import Extractive
import Foundation
import Hub
import Logging
import Models
import Serving
import Tensor

/// Which models `brevity serve` runs, and why:
/// - `--model` (MODEL_NAME, default facebook/bart-large-cnn) from a folder, the hub cache or a download;
///   when it cannot be had and `--fallback-model` is given, the fallback serves instead (`make serve`
///   falls back to the MiniLM folder fetched from PyPI, so it works with no route to the hub);
/// - a sentence-embedding model makes the service extractive; a seq2seq one abstractive, with extractive
///   summaries too when `--extractive-model` names a sentence-embedding model;
/// - `--mode` picks the default mode when both are there.
/// Errors are messages for the operator (exit 2).
struct ServeModelChoice {
    let config: ServerConfig
    let logger: Logger

    func load() async throws -> ServingModels {
        let resolver = ModelResolver()
        var name = config.model
        var folder: URL
        var reason: String
        do {
            let spec = try ModelSpec.parse(name)
            let cached = resolver.resolveCached(spec) != nil
            folder = try await resolver.resolve(spec)
            reason = spec.isFolder ? "\(name) is the model folder given"
                : cached ? "\(name) was found in the hub cache" : "\(name) was downloaded from the hub"
        } catch {
            guard let fallback = config.fallbackModel else { throw ConfigError("model \(name): \(error)") }
            logger.warning("model unavailable, falling back", metadata: ["model": .string(name), "fallback": .string(fallback),
                                                                          "error": .string("\(error)")])
            do { folder = try await resolver.resolve(fallback) } catch {
                throw ConfigError("model \(name) could not be had, and neither could the fallback \(fallback): \(error)")
            }
            reason = "\(name) could not be had (\(Self.firstLine(error))), so the fallback \(fallback) serves"
            name = fallback
        }

        var abstractive: SummarizationEngine?
        var extractive: ExtractiveModel?
        let (backend, weightType, deviceReason) = try placement(modelType: try? ModelRegistry.modelType(folder: folder))
        if SentenceTransformerEmbedder.isSentenceTransformerFolder(folder) {
            extractive = try loadExtractive(folder, name: name, backend: backend, weightType: weightType)
            reason += "; it is a sentence-embedding model, so summaries are extractive"
            if let deviceReason { reason += " (\(deviceReason))" }
        } else {
            do {
                abstractive = try SummarizationEngine.load(folder: folder, name: name, numBeams: config.numBeams, weightType: weightType,
                                                           backend: backend, deviceReason: deviceReason)
            } catch { throw ConfigError("cannot load model \(name): \(error)") }
            reason += "; it is a seq2seq model, so summaries are abstractive"
            if let e = config.extractiveModel {
                let f: URL
                do { f = try await resolver.resolve(e) } catch { throw ConfigError("extractive model \(e): \(error)") }
                extractive = try loadExtractive(f, name: e, backend: backend, weightType: weightType)
                reason += " (\"mode\": \"extractive\" uses \(e))"
            }
        }
        var defaultMode: SummaryMode? = nil
        if let m = config.mode {
            guard m == .abstractive ? abstractive != nil : extractive != nil else {
                throw ConfigError("--mode \(m.rawValue): the service has no \(m.rawValue) model (\(reason))")
            }
            defaultMode = m
            reason += "; --mode makes \(m.rawValue) the default"
        }
        return ServingModels(abstractive: abstractive, extractive: extractive, defaultMode: defaultMode, reason: reason)
    }

    /// Where the models run (`Placement`): the GPU chosen at start-up when it passes the self-test against
    /// the CPU, else the CPU. With `--device cuda` a GPU that cannot be used is an error; with `auto` the
    /// CPU serves and the reason says why.
    private func placement(modelType: String?) throws -> (backend: any Backend, weightType: DType, reason: String?) {
        let p: Placement
        do {
            p = try Placement.choose(gpu: config.gpu, choice: config.device, foundReason: config.deviceReason,
                                     dtype: config.dtypeGiven ? config.dtype : nil, modelType: modelType)
        } catch { throw ConfigError("--device cuda: \(error)") }
        if let backend = p.backend as? CUDABackend, let gpu = config.gpu {
            logger.info("GPU ready", metadata: ["gpu": .string(gpu.name), "arch": .string(gpu.architecture),
                                                "kernels": .string(backend.gpu.kernelImage), "dtype": .string(p.weightType.userName),
                                                "seconds": .string(String(format: "%.2f", p.gpuSeconds))])
        } else if let (gpu, error) = p.gpuFailure {
            logger.warning("GPU not used", metadata: ["gpu": .string(gpu), "error": .string("\(error)")])
        }
        return (p.backend, p.weightType, config.gpu == nil ? nil : p.reason)
    }

    /// A sentence-embedding model on `backend` (the GPU's when the abstractive model has it, in its type).
    private func loadExtractive(_ folder: URL, name: String, backend: any Backend, weightType: DType) throws -> ExtractiveModel {
        guard SentenceTransformerEmbedder.isSentenceTransformerFolder(folder) else {
            throw ConfigError("\(name) is not a sentence-transformers model (no modules.json or sentence_bert_config.json beside a BERT config.json)")
        }
        do {
            let gpu = backend as? CUDABackend
            return ExtractiveModel(summarizer: ExtractiveSummarizer(embedder: try SentenceTransformerEmbedder(
                folder: folder, backend: backend, weightType: weightType)), name: name, device: gpu == nil ? "cpu" : "cuda",
                gpuName: gpu?.deviceName, dtype: weightType.userName)
        } catch { throw ConfigError("cannot load model \(name): \(error)") }
    }

    static func firstLine(_ error: Error) -> String {
        String("\(error)".split(separator: "\n", maxSplits: 1).first ?? "")
    }
}

extension ModelSpec {
    var isFolder: Bool { if case .folder = self { return true } else { return false } }
}
